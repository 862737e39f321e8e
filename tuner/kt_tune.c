/* The tuner; see kt_tune.h and DESIGN.md "Tuning" for the method. */
#include "config.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kt_db.h"
#include "kt_measure.h"
#include "kt_tune.h"

#define KT_MAX_CAND 128

static size_t add(kt_shape *v, size_t n, size_t m_, size_t n_, size_t k_, int fam) {
    v[n] = (kt_shape){{m_, n_, k_}, fam};
    return n + 1;
}

size_t kt_tune_default_grid(kt_op_id op, int quick, kt_shape **out) {
    kt_shape *v = malloc(64 * sizeof *v);
    size_t n = 0;
    if (!v) return 0;
    switch (kt_ops[op].ndims) {
    case 1: {
        size_t top = quick ? (size_t)1 << 25 : (size_t)1 << 27, step = quick ? 8 : 4;
        for (size_t s = 1; s <= top; s *= step) n = add(v, n, s, s, s, 0);
        break;
    }
    case 2:
        for (size_t s = 4; s <= (quick ? 4096u : 16384u); s *= 4) n = add(v, n, s, s, 0, 0);
        n = add(v, n, 16384, 256, 0, 1); /* tall */
        if (!quick) n = add(v, n, 262144, 64, 0, 1);
        n = add(v, n, 256, 16384, 0, 2); /* wide */
        if (!quick) n = add(v, n, 64, 262144, 0, 2);
        break;
    default:
        for (size_t s = 4; s <= (quick ? 512u : 2048u); s *= 2) n = add(v, n, s, s, s, 0);
        n = add(v, n, 512, 512, 32, 1); /* skinny k: rank-32 update */
        if (!quick) n = add(v, n, 2048, 2048, 32, 1);
        n = add(v, n, 4096, 32, 256, 2); /* tall and skinny */
        if (!quick) n = add(v, n, 16384, 32, 512, 2);
        n = add(v, n, 24, 40, 64, 3); /* small rectangles */
        n = add(v, n, 100, 7, 33, 3);
        break;
    }
    *out = v;
    return n;
}

/* State of one tuning pass. */
typedef struct tuner {
    const kt_tune_opts *o;
    kt_tune_report *rep;
    kt_db *db;
    int64_t machine, run;
    kt_mopts mo;
    double start, ram;
    size_t steps_done, steps_total;
    const kt_variant *cand[KT_MAX_CAND];
    size_t ncand;
    char invalid[KT_MAX_CAND][KT_DB_ERROR_MAX]; /* validation failure per candidate */
    int skip[KT_MAX_CAND];                       /* not measured at this shape (far behind) */
} tuner;

static int stopping(tuner *t) {
    if (t->o->stop && *t->o->stop) return t->rep->stopped = 1;
    if (t->o->budget_s > 0 && kt_now() - t->start > t->o->budget_s) return t->rep->stopped = 2;
    return 0;
}

static int name_in_list(const char *name, const char *list) {
    size_t len = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        if (l == len && strncmp(p, name, len) == 0) return 1;
        p += l + (end ? 1 : 0);
    }
    return 0;
}

static void progress(tuner *t, const char *op, size_t n, const char *winner, double med) {
    if (!t->o->progress) return;
    double el = kt_now() - t->start;
    double eta = t->steps_done ? el / (double)t->steps_done *
                                     (double)(t->steps_total > t->steps_done
                                                  ? t->steps_total - t->steps_done
                                                  : 0)
                               : 0;
    if (t->o->progress == 2) {
        int w = 30, fill = t->steps_total ? (int)(w * t->steps_done / t->steps_total) : 0;
        if (fill > w) fill = w;
        fprintf(stderr, "\r[%.*s%*s] %3d%% %-15s n=%-10zu ETA %3.0f s ",
                fill, "##############################", w - fill, "",
                t->steps_total ? (int)(100 * t->steps_done / t->steps_total) : 0, op, n, eta);
    } else {
        fprintf(stderr, "tune: %s n=%zu: %s %.3g us (%zu/%zu, %.0f s)\n", op, n,
                winner ? winner : "-", med * 1e6, t->steps_done, t->steps_total, el);
    }
}

static void pack(kt_op_id op, const size_t dims[3], kt_db_measurement *m) {
    size_t mnk[3];
    kt_db_dims_pack(kt_ops[op].ndims, dims, mnk);
    m->m = mnk[0], m->n = mnk[1], m->k = mnk[2];
}

/*
 * Measures every candidate of op at dims that has no current measurement
 * (or all of them with --force), interleaved, and stores each result.
 * Returns the index of the point's winner among the candidates (-1 none).
 */
static int measure_point(tuner *t, kt_op_id op, const size_t dims[3], double *med,
                         kt_status *err) {
    kt_mresult res[KT_MAX_CAND];
    size_t idx[KT_MAX_CAND], nm = 0;
    *err = KT_OK;
    for (size_t i = 0; i < t->ncand; i++) {
        med[i] = INFINITY;
        kt_db_measurement m = {.machine = t->machine, .version = t->cand[i]->version};
        snprintf(m.op, sizeof m.op, "%s", kt_ops[op].name);
        snprintf(m.variant, sizeof m.variant, "%s", t->cand[i]->name);
        pack(op, dims, &m);
        if (t->invalid[i][0]) {
            /* recorded as failed at every size: never chosen */
            m.run = t->run;
            m.valid = 0;
            m.median_s = m.spread = m.min_s = m.kernel_s = m.gflops = m.gbs = NAN;
            snprintf(m.error, sizeof m.error, "%s", t->invalid[i]);
            if ((*err = kt_db_measurement_put(t->db, &m)) != KT_OK) return -1;
            continue;
        }
        if (!t->o->force && kt_db_measurement_get(t->db, &m) == KT_OK) {
            if (m.valid) med[i] = m.median_s;
            t->rep->reused++;
            continue;
        }
        if (t->skip[i]) continue;
        res[nm] = (kt_mresult){.v = t->cand[i]};
        idx[nm++] = i;
    }
    if (nm) {
        if ((*err = kt_measure(op, dims, res, nm, &t->mo, 0x7e57ull + dims[0])) != KT_OK)
            return -1;
        for (size_t j = 0; j < nm; j++) {
            kt_mresult *r = &res[j];
            size_t i = idx[j];
            kt_db_measurement m = {.machine = t->machine, .version = r->v->version,
                                   .run = t->run};
            snprintf(m.op, sizeof m.op, "%s", kt_ops[op].name);
            snprintf(m.variant, sizeof m.variant, "%s", r->v->name);
            pack(op, dims, &m);
            m.samples = r->samples;
            m.valid = r->status == KT_OK && r->samples > 0;
            m.median_s = m.valid ? r->median_s : NAN;
            m.spread = m.valid ? r->spread : NAN;
            m.min_s = m.valid ? r->min_s : NAN;
            m.kernel_s = r->kernel_s;
            m.gflops = m.valid ? kt_ops[op].flops(dims) / r->median_s / 1e9 : NAN;
            m.gbs = m.valid ? kt_ops[op].bytes(dims) / r->median_s / 1e9 : NAN;
            if (!m.valid) snprintf(m.error, sizeof m.error, "run failed: %s", r->error);
            if ((*err = kt_db_measurement_put(t->db, &m)) != KT_OK) return -1;
            if (m.valid) med[i] = m.median_s;
            t->rep->measured++;
        }
    }
    int best = -1;
    for (size_t i = 0; i < t->ncand; i++)
        if (med[i] < INFINITY && (best < 0 || med[i] < med[best])) best = (int)i;
    return best;
}

/* Candidates of op: usable, matching --variants, test variants only when named. */
static void pick_candidates(tuner *t, kt_op_id op) {
    t->ncand = 0;
    for (size_t i = 0, n = kt_variants_len(); i < n && t->ncand < KT_MAX_CAND; i++) {
        const kt_variant *v = kt_variant_at(i);
        if (v->op != op) continue;
        if (t->o->variants ? !name_in_list(v->name, t->o->variants) : (v->flags & KT_VF_TEST))
            continue;
        if (!kt_variant_usable(v, NULL, 0)) continue;
        t->cand[t->ncand++] = v;
    }
}

/* Validates every candidate once (fresh inputs, odd sizes, poisoned guards). */
static void validate_all(tuner *t) {
    for (size_t i = 0; i < t->ncand; i++) {
        char msg[KT_DB_ERROR_MAX - 32];
        t->invalid[i][0] = '\0';
        if (kt_validate(t->cand[i], 70000, 0xfeedull + i, msg, sizeof msg) != KT_OK) {
            snprintf(t->invalid[i], sizeof t->invalid[i], "validation failed: %s", msg);
            t->rep->invalid++;
            kt_log(KT_LOG_WARN, "%s", t->invalid[i]);
        }
    }
}

/* Tie within noise goes to the cheaper variant (DESIGN.md, tuning point 7). */
static int cmp_choice(const void *a, const void *b) {
    const kt_db_choice *x = a, *y = b;
    return (x->median_s > y->median_s) - (x->median_s < y->median_s);
}

typedef struct keep_ctx {
    kt_op_id op;
} keep_ctx;

/* Only valid measurements of the registry's current version drive choices. */
static int keep_current(void *ctx, const kt_db_measurement *me) {
    keep_ctx *k = ctx;
    const kt_variant *v = kt_variant_lookup(k->op, me->variant);
    return me->valid && v && v->version == me->version && !(v->flags & KT_VF_TEST);
}

/* The threads a variant uses, by name. */
static int threads_of(kt_op_id op, const char *name) {
    const kt_variant *v = kt_variant_lookup(op, name);
    return v ? v->threads : 1;
}

/* The cost rank of a variant by name (ties go to the lower). */
static int cost_of(kt_op_id op, const char *name) {
    const kt_variant *v = kt_variant_lookup(op, name);
    return v ? v->cost : 1000;
}

/*
 * Recomputes the choices of op from everything stored: per size, variants
 * ranked by median; a cheaper variant within noise of the fastest takes
 * rank 1.  Planted test variants count only when the tuner was asked for
 * them by name.
 */
static kt_status recompute_choices(tuner *t, kt_op_id op) {
    kt_db_measurement *ms = NULL;
    size_t n = 0;
    keep_ctx k = {op};
    kt_status s = kt_db_measurements_list(t->db, t->machine, kt_ops[op].name,
                                          t->o->variants ? NULL : keep_current, &k, &ms, &n);
    if (s != KT_OK) return s;
    kt_db_choice *ch = calloc(n ? n : 1, sizeof *ch);
    double *spread = calloc(n ? n : 1, sizeof *spread);
    if (!ch || !spread) {
        free(ms), free(ch), free(spread);
        return kt_fail(KT_ENOMEM, "choices: out of memory");
    }
    size_t nch = 0, points = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i, first = nch;
        for (; j < n && ms[j].m == ms[i].m && ms[j].n == ms[i].n && ms[j].k == ms[i].k; j++) {
            const kt_variant *v = kt_variant_lookup(op, ms[j].variant);
            if (!ms[j].valid || !v || v->version != ms[j].version) continue;
            kt_db_choice *c = &ch[nch];
            c->m = ms[j].m, c->n = ms[j].n, c->k = ms[j].k;
            snprintf(c->variant, sizeof c->variant, "%s", ms[j].variant);
            c->version = ms[j].version;
            c->median_s = ms[j].median_s;
            nch++;
        }
        size_t cnt = nch - first;
        if (cnt) {
            kt_db_choice *c = &ch[first];
            qsort(c, cnt, sizeof *c, cmp_choice);
            /* the cheapest variant within noise of the fastest wins the tie */
            double noise = 0.02;
            for (size_t a = 0; a < cnt; a++) {
                for (size_t b = i; b < j; b++)
                    if (!strcmp(ms[b].variant, c[a].variant) && ms[b].spread > noise && a == 0)
                        noise = ms[b].spread > 0.05 ? 0.05 : ms[b].spread;
            }
            /*
             * A variant needing more threads than a contender must win by 10% at
             * least: on a shared machine its time depends on cores being free,
             * which a serial variant does not.
             */
            size_t pick = 0;
            int thr0 = threads_of(op, c[0].variant);
            for (size_t a = 1; a < cnt; a++) {
                double window = noise;
                if (thr0 > threads_of(op, c[a].variant) && window < 0.10) window = 0.10;
                if (c[a].median_s <= c[0].median_s * (1 + window) &&
                    cost_of(op, c[a].variant) < cost_of(op, c[pick].variant))
                    pick = a;
            }
            if (pick) {
                kt_db_choice w = c[pick];
                memmove(c + 1, c, pick * sizeof *c);
                c[0] = w;
            }
            for (size_t a = 0; a < cnt; a++) {
                c[a].rank = (int)a + 1;
                c[a].margin = cnt > 1 ? (a == 0 ? c[1].median_s / c[0].median_s - 1 : NAN) : NAN;
            }
            points++;
        }
        i = j;
    }
    s = kt_db_choices_replace(t->db, t->machine, kt_ops[op].name, t->run, ch, nch);
    t->rep->points += (int)points;
    free(ms), free(ch), free(spread);
    return s;
}

/*
 * Bisects between shapes lo and hi of one family (winners wlo != whi) at
 * geometric midpoints, dimension by dimension, until the work of the two
 * differs by less than 25%: the crossover is then located within 25%.
 */
static kt_status bisect(tuner *t, kt_op_id op, kt_shape lo, int wlo, kt_shape hi) {
    int nd = kt_ops[op].ndims;
    while (!stopping(t)) {
        double ratio = 1;
        kt_shape mid = lo;
        for (int j = 0; j < nd; j++) {
            ratio *= (double)hi.d[j] / (double)lo.d[j];
            mid.d[j] = (size_t)llround(sqrt((double)lo.d[j] * (double)hi.d[j]));
        }
        if (ratio <= 1.25 || !memcmp(mid.d, lo.d, sizeof mid.d) || !memcmp(mid.d, hi.d, sizeof mid.d))
            break;
        kt_status err;
        double med[KT_MAX_CAND];
        int w = measure_point(t, op, mid.d, med, &err);
        if (err != KT_OK) return err;
        progress(t, kt_ops[op].name, mid.d[0], w >= 0 ? t->cand[w]->name : NULL, 0);
        if (w == wlo)
            lo = mid;
        else
            hi = mid;
    }
    t->rep->crossovers++;
    return KT_OK;
}

static char *machine_details(void) {
    const kt_cpu *c = kt_cpu_get();
    const kt_gpu *g = kt_gpu_get();
    char feats[256], desc[1024];
    kt_cpu_features_str(c->features, feats, sizeof feats);
    kt_machine_describe(desc, sizeof desc);
    json_t *j = json_pack(
        "{s:{s:s, s:s, s:i, s:i, s:i, s:s, s:i, s:I, s:I, s:I, s:I}, s:{s:i, s:s, s:i, s:i, "
        "s:i, s:I, s:i, s:i, s:s}, s:s}",
        "cpu", "vendor", c->vendor, "brand", c->brand, "family", (int)c->family, "model",
        (int)c->model, "stepping", (int)c->stepping, "features", feats, "cores", c->cores, "l1d",
        (json_int_t)c->l1d, "l2", (json_int_t)c->l2, "l3", (json_int_t)c->l3, "ram",
        (json_int_t)c->ram, "gpu", "count", g->count, "name", g->name, "cc_major", g->cc_major,
        "cc_minor", g->cc_minor, "sms", g->sms, "memory", (json_int_t)g->mem, "driver",
        g->driver_version, "runtime", g->runtime_version, "reason", g->why_none, "description",
        desc);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

/*
 * Stores the machine's measured limits: mem_bw_gbs, the best streaming
 * throughput seen out of cache (problems of at least 4x L3), and
 * peak_gflops_f32/f64, the best compute-bound throughput seen (gemm).
 */
static void store_limits(tuner *t) {
    double best = 0, peak[2] = {0, 0};
    size_t l3 = kt_cpu_get()->l3 ? kt_cpu_get()->l3 : ((size_t)32 << 20);
    for (int op = 0; op < KT_OP_COUNT; op++) {
        int compute = strcmp(kt_ops[op].unit, "GB/s") != 0;
        kt_db_measurement *ms = NULL;
        size_t n = 0;
        keep_ctx k = {(kt_op_id)op};
        if (kt_db_measurements_list(t->db, t->machine, kt_ops[op].name, keep_current, &k, &ms,
                                    &n) != KT_OK)
            continue;
        for (size_t i = 0; i < n; i++) {
            size_t mnk[3] = {ms[i].m, ms[i].n, ms[i].k}, dims[3];
            kt_db_dims_unpack(kt_ops[op].ndims, mnk, dims);
            if (compute) {
                int f64 = kt_ops[op].dtype == KT_F64;
                if (ms[i].gflops > peak[f64]) peak[f64] = ms[i].gflops;
            } else if (kt_ops[op].bytes(dims) >= 4.0 * (double)l3 && ms[i].gbs > best) {
                best = ms[i].gbs;
            }
        }
        free(ms);
    }
    if (best > 0) kt_db_limit_put(t->db, t->machine, "mem_bw_gbs", best);
    if (peak[0] > 0) kt_db_limit_put(t->db, t->machine, "peak_gflops_f32", peak[0]);
    if (peak[1] > 0) kt_db_limit_put(t->db, t->machine, "peak_gflops_f64", peak[1]);
}

kt_status kt_tune_run(const kt_tune_opts *o, kt_tune_report *rep) {
    tuner t = {.o = o, .rep = rep, .mo = kt_mopts_default(o->quick), .start = kt_now()};
    memset(rep, 0, sizeof *rep);
    t.ram = (double)kt_cpu_get()->ram;
    kt_status s = kt_db_open_write(o->db_path, &t.db);
    if (s != KT_OK) return s;
    char *details = machine_details();
    s = kt_db_machine_put(t.db, kt_fingerprint(), details, &t.machine);
    free(details);
    if (s == KT_OK) s = kt_db_run_begin(t.db, t.machine, o->invocation, kt_version(), &t.run);
    if (s != KT_OK) {
        kt_db_close(t.db);
        return s;
    }
    rep->run = t.run;
    for (size_t i = 0, n = kt_variants_len(); i < n && s == KT_OK; i++) {
        const kt_variant *v = kt_variant_at(i);
        char params[32] = "";
        const char *colon = strchr(v->name, ':');
        if (colon) snprintf(params, sizeof params, "%s", colon + 1);
        s = kt_db_variant_put(t.db, kt_ops[v->op].name, v->name, v->version, v->backend, params);
    }
    /* the sweep of each op, and the total for the progress display */
    kt_shape *grid[KT_OP_COUNT] = {0};
    size_t ngrid[KT_OP_COUNT] = {0};
    for (int op = 0; op < KT_OP_COUNT && s == KT_OK; op++) {
        if (!o->ops[op]) continue;
        if (o->sizes) {
            /* --sizes: n for vector ops, squares for matrix ops */
            grid[op] = malloc(o->nsizes * sizeof **grid);
            for (size_t i = 0; grid[op] && i < o->nsizes; i++)
                grid[op][i] = (kt_shape){{o->sizes[i], o->sizes[i], o->sizes[i]}, 0};
            ngrid[op] = grid[op] ? o->nsizes : 0;
        } else {
            ngrid[op] = kt_tune_default_grid((kt_op_id)op, o->quick, &grid[op]);
        }
        /* never more memory than a quarter of RAM for one problem */
        size_t keep = 0;
        for (size_t i = 0; i < ngrid[op]; i++)
            if (kt_ops[op].bytes(grid[op][i].d) <= t.ram / 4) grid[op][keep++] = grid[op][i];
        ngrid[op] = keep;
        t.steps_total += keep;
    }
    for (int op = 0; op < KT_OP_COUNT && s == KT_OK && !stopping(&t); op++) {
        if (!o->ops[op] || !ngrid[op]) continue;
        pick_candidates(&t, (kt_op_id)op);
        if (!t.ncand) continue;
        validate_all(&t);
        int *win = calloc(ngrid[op], sizeof *win);
        double(*med)[KT_MAX_CAND] = calloc(ngrid[op], sizeof *med);
        if (!win || !med) {
            free(win), free(med);
            s = kt_fail(KT_ENOMEM, "tune: out of memory");
            break;
        }
        size_t done = 0;
        int compute_bound = strcmp(kt_ops[op].unit, "GFLOP/s") == 0;
        for (size_t i = 0; i < ngrid[op] && s == KT_OK && !stopping(&t); i++) {
            /*
             * Compute-bound ops only: a candidate more than 8x behind at the previous
             * shape of the family, and predicted (by the work ratio) to take over 20 ms
             * a call here, is not measured again.  Compute-bound losers stay losers as
             * the size grows, and a scalar gemm at n = 2048 would take most of a minute
             * per call.  Streaming ops are not skipped: a threaded variant that loses
             * 1000x at small sizes (waking a thread) can win at large ones.
             */
            memset(t.skip, 0, sizeof t.skip);
            if (compute_bound && i > 0 && grid[op][i - 1].family == grid[op][i].family &&
                win[i - 1] >= 0) {
                double wr = kt_ops[op].flops(grid[op][i].d) / kt_ops[op].flops(grid[op][i - 1].d);
                for (size_t c = 0; c < t.ncand; c++)
                    t.skip[c] = med[i - 1][c] > 8 * med[i - 1][win[i - 1]] &&
                                med[i - 1][c] * wr > 0.02;
            }
            win[i] = measure_point(&t, (kt_op_id)op, grid[op][i].d, med[i], &s);
            t.steps_done++;
            done = i + 1;
            progress(&t, kt_ops[op].name, grid[op][i].d[0],
                     win[i] >= 0 ? t.cand[win[i]]->name : NULL, 0);
        }
        memset(t.skip, 0, sizeof t.skip);
        /*
         * Bisect where the winner changes for real: each end's winner beats the
         * other end's winner there by more than the noise (5%); near-ties are not
         * crossovers worth locating, the choice hardly matters there.
         */
        for (size_t i = 0; i + 1 < done && s == KT_OK && !stopping(&t); i++) {
            int a = win[i], b = win[i + 1];
            if (a < 0 || b < 0 || a == b) continue;
            if (grid[op][i].family != grid[op][i + 1].family) continue;
            if (med[i][b] < 1.05 * med[i][a] && med[i + 1][a] < 1.05 * med[i + 1][b]) continue;
            s = bisect(&t, (kt_op_id)op, grid[op][i], a, grid[op][i + 1]);
        }
        free(win), free(med);
        if (s == KT_OK) s = recompute_choices(&t, (kt_op_id)op);
    }
    for (int op = 0; op < KT_OP_COUNT; op++) free(grid[op]);
    if (s == KT_OK) store_limits(&t);
    if (o->progress == 2) fputc('\n', stderr);
    kt_status e = kt_db_run_end(t.db, t.run,
                                s != KT_OK      ? KT_DB_RUN_FAILED
                                : rep->stopped  ? KT_DB_RUN_INTERRUPTED
                                                : KT_DB_RUN_COMPLETE);
    if (s == KT_OK) s = e;
    kt_status c = kt_db_close(t.db);
    if (s == KT_OK) s = c;
    rep->elapsed_s = kt_now() - t.start;
    return s;
}
