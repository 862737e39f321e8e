/*
 * `ktune bench`: how good the dispatch choices are.  For sizes spread over
 * the tuned range (tuned and untuned), times side by side, interleaved, in
 * one run: the dispatched call, every available variant, and so the
 * per-size best; prints per op the ratio dispatched/best (geometric mean
 * and worst) and dispatched against each fixed variant over the sweep.
 */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_overhead.h"
#include "kt_cli.h"
#include "kt_measure.h"
#include "kt_tune.h"

static const char bench_help[] =
    "usage: ktune bench [--ops LIST] [--sizes SPEC | --random N [--seed S]] [--variants]\n"
    "                   [--quick] [--db PATH] [--json] | --overhead | --switch\n\n"
    "Times, side by side in one run, the dispatched call of each operation, every\n"
    "variant available here, and so the per-size best, at sizes spread over the\n"
    "tuned range (and between tuned sizes).  Prints dispatched/best per size, its\n"
    "geometric mean and worst case, and each fixed variant against dispatch.  The\n"
    "per-size best is picked on half of the rounds and timed on the other half.\n\n"
    "  --ops LIST     operations, comma-separated (default: all)\n"
    "  --sizes SPEC   sizes: list and/or geometric ranges, e.g. 1e3,1e6 or 1:2^26:4\n"
    "                 (squares and cubes for matrix ops), and shapes MxN or MxNxK,\n"
    "                 e.g. 8x6,100x7x33 (a missing dimension repeats the last given;\n"
    "                 a vector op takes M)"
    "                 (default: 1 to 2^26 by 4x, plus the midpoints)\n"
    "  --random N     instead: N sizes per operation drawn at random (seeded) within\n"
    "                 the default tuning range, so never the tuned grid\n"
    "  --seed S       the seed of --random (default 1)\n"
    "  --variants     also print every variant's time at every size\n"
    "  --quick        fewer, shorter samples\n"
    "  --db PATH      the tuning database dispatch reads (default: KTUNE_DB or XDG)\n"
    "  --json         machine-readable output\n"
    "  --overhead     measure dispatch overhead (entry point vs direct call) and exit\n"
    "  --switch       measure the cost of switching thread runtimes (OpenMP threads vs\n"
    "                 OpenBLAS threads, each right after the other) and exit\n"
    "Exit status: 0 success, 1 failure, 2 bad command line.\n";

/*
 * Puts random shapes of op in the order of a sweep: by shape family (the
 * aspect ratio in half octaves, as the tuner's choices group them), then
 * by work.  The skip of a variant far behind at the previous shape of the
 * family predicts its time from there, which holds only between shapes of
 * one aspect, in growing order: drawn order skipped threads:t=2 at
 * 15724x26x485 for being 8x behind at 20x13x19, and so judged dispatch
 * against fixed variants that were not the best (gemm_f32 "0.79").
 */
static void sort_by_family(kt_op_id op, kt_shape *s, size_t n) {
    for (size_t i = 0; i < n; i++) s[i].family = (int)kt_shape_family(kt_ops[op].ndims, s[i].d);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0; j--) {
            kt_shape *a = &s[j - 1], *b = &s[j];
            if (a->family < b->family ||
                (a->family == b->family && kt_ops[op].flops(a->d) <= kt_ops[op].flops(b->d)))
                break;
            kt_shape x = *a;
            *a = *b, *b = x;
        }
}

/*
 * The shapes of --sizes: each comma-separated item a size or a range of
 * sizes (kt_sizes_parse: each size n stands for n, n x n or n x n x n), or
 * a shape MxN or MxNxK of single sizes, a missing dimension repeating the
 * last given.  Returns 0, or -1 with the reason in err.
 */
static int parse_shapes(const char *spec, kt_shape **out, size_t *count, char *err,
                        size_t errlen) {
    char *copy = strdup(spec);
    kt_shape *v = NULL;
    size_t n = 0, cap = 0;
    int rc = copy ? 0 : -1;
    if (!copy) snprintf(err, errlen, "out of memory");
    for (char *save = NULL, *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && !rc;
         tok = strtok_r(NULL, ",", &save)) {
        size_t d[3] = {0, 0, 0}, nd = 0, *list = NULL, len = 0;
        if (strchr(tok, 'x')) {
            size_t tl = strlen(tok);
            if (tok[0] == 'x' || tok[tl - 1] == 'x' || strstr(tok, "xx")) {
                snprintf(err, errlen, "bad shape '%.40s'", tok);
                rc = -1;
            }
            for (char *s2 = NULL, *part = rc ? NULL : strtok_r(tok, "x", &s2); part && !rc;
                 part = strtok_r(NULL, "x", &s2)) {
                if (nd == 3) {
                    snprintf(err, errlen, "a shape has at most three dimensions");
                    rc = -1;
                } else if (strchr(part, ':') ||
                           (!kt_sizes_parse_msg(part, &list, &len, err, errlen) && len != 1)) {
                    snprintf(err, errlen, "a shape takes single sizes, not the range '%.40s'",
                             part);
                    rc = -1;
                } else if (!list) {
                    rc = -1; /* kt_sizes_parse_msg said why */
                } else {
                    d[nd++] = list[0];
                }
                free(list);
                list = NULL;
            }
            if (!rc && nd == 0) {
                snprintf(err, errlen, "bad shape '%.40s'", tok);
                rc = -1;
            }
            for (size_t i = nd; !rc && i < 3; i++) d[i] = d[nd - 1];
            len = 1;
        } else if (kt_sizes_parse_msg(tok, &list, &len, err, errlen)) {
            rc = -1;
        }
        if (!rc && n + len > cap) {
            cap = 2 * (n + len);
            kt_shape *nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
            } else {
                v = nv;
            }
        }
        for (size_t i = 0; !rc && i < len; i++) {
            size_t x = list ? list[i] : 0;
            v[n++] = list ? (kt_shape){{x, x, x}, 0} : (kt_shape){{d[0], d[1], d[2]}, 0};
        }
        free(list);
    }
    free(copy);
    if (rc) {
        free(v);
        return -1;
    }
    *out = v;
    *count = n;
    return 0;
}

/*
 * Default sweep of op: the tuner's default shapes and, between consecutive
 * shapes of one family, their geometric midpoints (sizes never tuned).
 */
static size_t default_shapes(kt_op_id op, kt_shape **out) {
    kt_shape *g;
    size_t n = kt_tune_default_grid(op, 0, &g);
    kt_shape *v = malloc((2 * n + 1) * sizeof *v);
    size_t m = 0;
    if (!v) {
        free(g);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        v[m++] = g[i];
        if (i + 1 < n && g[i + 1].family == g[i].family) {
            kt_shape mid = g[i];
            for (int d = 0; d < 3; d++)
                mid.d[d] = (size_t)llround(sqrt((double)g[i].d[d] * (double)g[i + 1].d[d]) * 1.1);
            v[m++] = mid;
        }
    }
    free(g);
    *out = v;
    return m;
}

double kt_bench_switch(int rounds); /* tuner/bench_switch.c */

#define KT_MAX_BENCH 256 /* candidates at one size */

/* Bytes one problem needs (inputs and output), to stay well inside RAM. */
static double problem_bytes(kt_op_id op, const size_t dims[3]) { return kt_ops[op].bytes(dims); }

int kt_cmd_bench(int argc, char **argv) {
    static const struct option opts[] = {
        {"ops", required_argument, NULL, 'o'}, {"sizes", required_argument, NULL, 's'},
        {"variants", no_argument, NULL, 'v'},  {"quick", no_argument, NULL, 'q'},
        {"db", required_argument, NULL, 'd'},  {"json", no_argument, NULL, 'j'},
        {"overhead", no_argument, NULL, 'O'},  {"help", no_argument, NULL, 'h'},
        {"switch", no_argument, NULL, 'S'},    {"random", required_argument, NULL, 'r'},
        {"seed", required_argument, NULL, 'e'},
        {NULL, 0, NULL, 0}};
    int selected[KT_OP_MAX], json = 0, quick = 0, show_variants = 0, overhead = 0, c;
    long nrandom = 0;
    uint64_t seed = 1;
    const char *ops = "all", *sizes_spec = NULL, *bad;
    kt_shape *sizes = NULL;
    size_t nsizes = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': ops = optarg; break;
        case 's': sizes_spec = optarg; break;
        case 'v': show_variants = 1; break;
        case 'O': overhead = 1; break;
        case 'S': kt_init(); kt_bench_switch(21); return KT_EXIT_OK;
        case 'q': quick = 1; break;
        case 'r': {
            char *end;
            nrandom = strtol(optarg, &end, 10);
            if (*end || nrandom < 1 || nrandom > 1000)
                return kt_cli_error(KT_EXIT_USAGE, "bench", "--random takes 1 to 1000, not '%s'",
                                    optarg);
            break;
        }
        case 'e': {
            char *end;
            seed = strtoull(optarg, &end, 0);
            if (*end || !*optarg)
                return kt_cli_error(KT_EXIT_USAGE, "bench", "--seed takes a number, not '%s'",
                                    optarg);
            break;
        }
        case 'd': setenv("KTUNE_DB", optarg, 1); break;
        case 'j': json = 1; break;
        case 'h': fputs(bench_help, stdout); return KT_EXIT_OK;
        default:
            return kt_cli_error(KT_EXIT_USAGE, "bench", "bad option '%s' (see --help)",
                                argv[optind - 1]);
        }
    }
    if (optind < argc)
        return kt_cli_error(KT_EXIT_USAGE, "bench", "unexpected argument '%s'", argv[optind]);
    if (overhead) return kt_bench_overhead(json);
    if (kt_ops_parse(ops, selected, &bad))
        return kt_cli_error(KT_EXIT_USAGE, "bench", "unknown operation '%s' (see ktune list)", bad);
    char err[256];
    if (sizes_spec && parse_shapes(sizes_spec, &sizes, &nsizes, err, sizeof err))
        return kt_cli_error(KT_EXIT_USAGE, "bench", "--sizes: %s", err);
    kt_init();
    kt_mopts mo = kt_mopts_default(quick);
    mo.decide = 0; /* every candidate over every round: two halves to pick and to judge */
    mo.min_samples = mo.max_samples = quick ? 8 : 16;
    double ram = (double)kt_cpu_get()->ram;
    json_t *jops = json_array();
    int rc = KT_EXIT_OK;

    for (int op = 0; op < (int)kt_op_count(); op++) {
        if (!selected[op]) continue;
        const kt_op *d = &kt_ops[op];
        /* candidates: dispatched first, then every usable variant */
        size_t nv = 1;
        kt_mresult *res = calloc(kt_variants_len() + 1, sizeof *res);
        kt_mresult *sub = calloc(kt_variants_len() + 1, sizeof *sub);
        size_t *map = calloc(kt_variants_len() + 1, sizeof *map);
        double *prev = calloc(kt_variants_len() + 1, sizeof *prev), prev_best = 0;
        double *logsum = calloc(kt_variants_len() + 1, sizeof *logsum);
        int *cnt = calloc(kt_variants_len() + 1, sizeof *cnt);
        if (!res || !logsum || !cnt || !sub || !map || !prev) {
            free(res), free(logsum), free(cnt), free(sub), free(map), free(prev);
            rc = kt_cli_error(KT_EXIT_FAIL, "bench", "out of memory");
            break;
        }
        for (size_t i = 0, n = kt_variants_len(); i < n; i++) {
            const kt_variant *v = kt_variant_at(i);
            if ((int)v->op == op && !(v->flags & KT_VF_TEST) && kt_variant_usable(v, NULL, 0))
                res[nv++].v = v;
        }
        /* the shapes: --sizes (in sweep order), --random, else the default sweep */
        kt_shape *shp = NULL;
        size_t nshp = 0;
        if (sizes_spec) {
            shp = malloc(nsizes * sizeof *shp);
            if (shp) memcpy(shp, sizes, nsizes * sizeof *shp);
            nshp = shp ? nsizes : 0;
            sort_by_family((kt_op_id)op, shp, nshp);
        } else if (nrandom > 0) {
            kt_shape *g;
            size_t ng = kt_tune_nominal_grid((kt_op_id)op, &g);
            shp = malloc((size_t)nrandom * sizeof *shp);
            kt_rng rng;
            kt_rng_seed(&rng, seed + (uint64_t)op);
            nshp = shp && g ? kt_tune_draw_sizes((kt_op_id)op, g, ng, &rng, (size_t)nrandom, shp)
                            : 0;
            free(g);
            sort_by_family((kt_op_id)op, shp, nshp);
        } else {
            nshp = default_shapes((kt_op_id)op, &shp);
        }
        json_t *jsizes = json_array();
        double ratio_log = 0, worst = 0;
        size_t measured = 0;
        char worst_at[48] = "";
        if (!json) {
            printf("%s: dispatched vs per-size best (%s)\n", d->name,
                   quick ? "quick" : "interleaved medians");
            printf("%14s  %-14s %10s  %-14s %10s  %6s\n", d->dim_names, "dispatched to", "time",
                   "best", "time", "ratio");
        }
        for (size_t k = 0; k < nshp; k++) {
            size_t *dims = shp[k].d;
            char label[48];
            if (d->ndims == 1) snprintf(label, sizeof label, "%zu", dims[0]);
            else if (d->ndims == 2) snprintf(label, sizeof label, "%zux%zu", dims[0], dims[1]);
            else snprintf(label, sizeof label, "%zux%zux%zu", dims[0], dims[1], dims[2]);
            if (problem_bytes((kt_op_id)op, dims) > ram / 4) continue;
            kt_dispatch_info di;
            kt_dispatch_explain(d->name, dims, &di);
            /*
             * As in the tuner (kt_tuner_skip_factor): a variant of a compute-bound op
             * or a sort far behind at the previous shape of the family, whose call
             * would now take over 20 ms, is not timed again (a scalar gemm at n = 2048
             * would take minutes, qsort at 2^27 half a minute); it leaves the
             * comparison from there on.
             */
            double skip_f = kt_tuner_skip_factor((kt_op_id)op);
            size_t nsub = 0;
            for (size_t i = 0; i < nv; i++) {
                int skip = 0;
                if (skip_f > 0 && i && k && shp[k - 1].family == shp[k].family &&
                    prev[i] > 0 && prev_best > 0) {
                    double wr = d->flops(dims) / d->flops(shp[k - 1].d);
                    skip = prev[i] > skip_f * prev_best && prev[i] * wr > 0.02;
                }
                if (skip) {
                    res[i].status = KT_EUNAVAIL;
                    res[i].samples = 0;
                    prev[i] = INFINITY;
                    snprintf(res[i].error, sizeof res[i].error, "not timed: over %gx behind",
                             skip_f);
                } else {
                    sub[nsub] = res[i];
                    map[nsub++] = i;
                }
            }
            if (kt_measure((kt_op_id)op, dims, sub, nsub, &mo, 0x5eed + k) != KT_OK) {
                rc = kt_cli_error(KT_EXIT_FAIL, "bench", "%s %s: %s", d->name, label,
                                  kt_last_error());
                continue;
            }
            for (size_t j = 0; j < nsub; j++) res[map[j]] = sub[j];
            prev_best = INFINITY;
            for (size_t i = 0; i < nv; i++) {
                if (res[i].status == KT_OK && res[i].samples) prev[i] = res[i].median_s;
                if (i && res[i].status == KT_OK && res[i].samples && prev[i] < prev_best)
                    prev_best = prev[i];
            }
            /*
             * The per-size best is picked on the even rounds and timed on the odd
             * ones, the dispatched call too: the minimum over noisy candidates is
             * biased low, so it is never the yardstick.
             */
            size_t best = 0;
            double best_even = INFINITY, half[KT_MAX_BENCH];
            for (size_t i = 0; i < nv && i < KT_MAX_BENCH; i++) {
                half[i] = res[i].status == KT_OK && res[i].samples
                              ? kt_rounds_half_median(res[i].rounds, res[i].nrounds, 1)
                              : NAN;
                double e = i && res[i].status == KT_OK && res[i].samples
                               ? kt_rounds_half_median(res[i].rounds, res[i].nrounds, 0)
                               : NAN;
                if (e < best_even) best_even = e, best = i;
            }
            if (!best || !isfinite(half[best]) || !isfinite(half[0])) continue;
            double ratio = half[0] / half[best];
            ratio_log += log(ratio);
            measured++;
            if (ratio > worst) worst = ratio, snprintf(worst_at, sizeof worst_at, "%s", label);
            for (size_t i = 1; i < nv && i < KT_MAX_BENCH; i++)
                if (isfinite(half[i])) {
                    logsum[i] += log(half[i] / half[0]);
                    cnt[i]++;
                }
            char t1[24], t2[24];
            if (!json) {
                printf("%14s  %-14s %10s  %-14s %10s  %6.3f\n", label, di.variant,
                       kt_cli_time(half[0], t1, sizeof t1), res[best].v->name,
                       kt_cli_time(half[best], t2, sizeof t2), ratio);
                if (show_variants) {
                    for (size_t i = 0; i < nv; i++) {
                        double thr = !strcmp(d->unit, "GB/s") ? d->bytes(dims) / res[i].median_s / 1e9
                                                             : d->flops(dims) / res[i].median_s / 1e9;
                        if (res[i].status != KT_OK)
                            printf("%14s%-16s failed: %.40s\n", "", i ? res[i].v->name : "dispatched",
                                   res[i].error);
                        else {
                            char kern[32] = "";
                            if (res[i].kernel_s == res[i].kernel_s) /* GPU: kernel alone */
                                snprintf(kern, sizeof kern, " [kernel %s]",
                                         kt_cli_time(res[i].kernel_s, t2, sizeof t2));
                            printf("%14s%-16s %10s  +-%4.1f%%  %7.2f %-7s %5.2fx%s%s\n", "",
                                   i ? res[i].v->name : "(dispatched)",
                                   kt_cli_time(res[i].median_s, t1, sizeof t1),
                                   100 * res[i].spread, thr, d->unit,
                                   res[i].median_s / res[best].median_s,
                                   res[i].raced_out ? " raced" : "", kern);
                        }
                    }
                }
            }
            json_t *jv = json_array();
            for (size_t i = 0; i < nv; i++)
                json_array_append_new(
                    jv, json_pack("{s:s, s:f, s:f, s:f, s:i, s:b, s:f}", "variant",
                                  i ? res[i].v->name : "dispatched", "median_s", res[i].median_s,
                                  "spread", res[i].spread, "min_s", res[i].min_s, "samples",
                                  res[i].samples, "raced_out", res[i].raced_out, "warmup_s",
                                  res[i].warmup_s));
            json_array_append_new(
                jsizes, json_pack("{s:s, s:s, s:f, s:s, s:f, s:f, s:o}", "shape", label,
                                  "dispatched_to", di.variant, "dispatched_s", half[0],
                                  "best", res[best].v->name, "best_s", half[best], "ratio", ratio,
                                  "variants", jv));
        }
        double geo = measured ? exp(ratio_log / (double)measured) : NAN;
        json_t *jfixed = json_object();
        if (!json && measured) {
            printf("  dispatched/best: geometric mean %.3f, worst %.3f (%s)\n", geo, worst,
                   worst_at);
            printf("  each fixed variant over the sweep (time / dispatched, geometric mean):\n   ");
        }
        int col = 3;
        for (size_t i = 1; i < nv; i++) {
            if (!cnt[i]) continue;
            double g = exp(logsum[i] / cnt[i]);
            json_object_set_new(jfixed, res[i].v->name, json_real(g));
            if (!json) {
                char cell[48];
                int w = snprintf(cell, sizeof cell, " %s %.2fx", res[i].v->name, g);
                if (col + w > 78) printf("\n   "), col = 3;
                fputs(cell, stdout);
                col += w;
            }
        }
        if (!json) printf("\n\n");
        json_array_append_new(jops, json_pack("{s:s, s:o, s:f, s:f, s:s, s:o}", "op", d->name,
                                              "sizes", jsizes, "geomean_ratio", geo, "worst_ratio",
                                              worst, "worst_at", worst_at,
                                              "fixed_vs_dispatched", jfixed));
        free(res), free(logsum), free(cnt), free(shp), free(sub), free(map), free(prev);
    }
    free(sizes);
    if (json) {
        int r = kt_cli_json_out(json_pack("{s:s, s:o}", "fingerprint", kt_fingerprint(), "ops", jops));
        return rc ? rc : r;
    }
    json_decref(jops);
    return rc;
}
