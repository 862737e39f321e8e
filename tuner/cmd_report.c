/*
 * `ktune report`: one self-contained HTML file (inline CSS and SVG, no scripts, nothing
 * fetched) with, per machine and op, a log-log plot of every variant's throughput
 * against size, the chosen variant highlighted (a band along the winners, filled
 * markers where a variant wins), the crossovers marked, and the machine's measured
 * limit drawn as a line (memory bandwidth for streaming ops, peak FLOP/s for
 * compute-bound ones); under each plot the table of ranges `ktune show` prints.
 * --svg DIR writes the plots alone, one file per op.  Outputs go through kt_outfile:
 * a regular file is written to a temporary name and renamed (an error leaves nothing
 * half-written), a device or FIFO is written in place.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kt_fleet.h"
#include "kt_inspect.h"
#include "kt_outfile.h"
#include "kt_plot.h"

static const char report_help[] =
    "usage: ktune report (--html FILE | --svg DIR) [--db PATH] [--machine FP|all]\n"
    "                    [--op LIST]\n\n"
    "Writes a self-contained HTML report (no network, no scripts): per operation a\n"
    "log-log plot of every variant's throughput against size, the chosen variant\n"
    "highlighted, crossovers marked, the machine's measured limit as a line (memory\n"
    "bandwidth, or peak FLOP/s), and the table of size ranges of ktune show.\n\n"
    "  --html FILE       write the report to FILE\n"
    "  --svg DIR         write the plots alone to DIR/OP.svg (DIR is created;\n"
    "                    with several machines, DIR/FINGERPRINT-OP.svg)\n"
    "  --db PATH         the database (default: KTUNE_DB, else\n"
    "                    $XDG_DATA_HOME/ktune/ktune.db,\n"
    "                    else ~/.local/share/ktune/ktune.db)\n"
    "  --machine FP|all  the machines to report (default: this machine when the\n"
    "                    file has it, else all)\n"
    "  --op LIST         only these operations, comma-separated\n"
    "Exit status: 0 success, 1 failure (database, writing), 2 bad command line.\n";

static void esc(FILE *f, const char *s) { kt_plot_escape(f, s); }

/* The throughput of a measurement in the op's unit: stored, else from the cost model. */
static double ms_tp(const kt_ins_op *o, const kt_db_measurement *me) {
    double v = strcmp(o->unit, "GB/s") ? me->gflops : me->gbs; /* GFLOP/s, Gelem/s */
    if (isfinite(v)) return v;
    size_t d[3];
    kt_ins_unpack(o->id, me->m, me->n, me->k, d);
    return kt_ins_throughput(o->id, d, me->median_s);
}

/* The winner's variant name at stored dims (m, n, k), or NULL. */
static const char *winner_at(const kt_ins_op *o, size_t m, size_t n, size_t k) {
    for (size_t i = 0; i < o->npts; i++) {
        const kt_db_choice *c = &o->pts[i].win->c;
        if (c->m == m && c->n == n && c->k == k) return c->variant;
    }
    return NULL;
}

/* The limit of machine `machine` named name, or NAN. */
static double limit_of(const kt_db_dump *d, int64_t machine, const char *name) {
    for (size_t i = 0; i < d->nlimits; i++)
        if (d->limits[i].machine == machine && !strcmp(d->limits[i].name, name))
            return d->limits[i].value;
    return NAN;
}

/* The dtype suffix of an op name ("f64" of "gemm_f64"), or "". */
static const char *dtype_of(const char *op) {
    const char *u = strrchr(op, '_');
    return u ? u + 1 : "";
}

/* The distinct variant names measured (valid) for op, in registry order, then others. */
static size_t variant_names(const kt_db_dump *d, const kt_ins_op *o, const char **names,
                            size_t max) {
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < d->nmeasurements && n < max; i++) {
            const kt_db_measurement *me = &d->measurements[i];
            if (!me->valid || strcmp(me->op, o->op)) continue;
            int known = o->id != KT_OP_NONE && kt_variant_lookup(o->id, me->variant);
            if (known != !pass) continue;
            int dup = 0;
            for (size_t k = 0; k < n && !dup; k++) dup = !strcmp(names[k], me->variant);
            if (!dup) names[n++] = me->variant;
        }
        if (pass == 0 && o->id != KT_OP_NONE) {
            /* registry order */
            size_t w = 0;
            for (size_t r = 0, nr = kt_variants_len(); r < nr; r++) {
                const kt_variant *v = kt_variant_at(r);
                if (v->op != o->id) continue;
                for (size_t k = w; k < n; k++)
                    if (!strcmp(names[k], v->name)) {
                        const char *t = names[w];
                        names[w++] = names[k];
                        names[k] = t;
                        break;
                    }
            }
        }
    }
    return n;
}

/*
 * The version of variant name whose measurements to plot: this build's when it has
 * measurements of it, else the newest measured.
 */
static unsigned plot_version(const kt_db_dump *d, const kt_ins_op *o, const char *name) {
    const kt_variant *v = o->id != KT_OP_NONE ? kt_variant_lookup(o->id, name) : NULL;
    unsigned best = 0;
    for (size_t i = 0; i < d->nmeasurements; i++) {
        const kt_db_measurement *me = &d->measurements[i];
        if (!me->valid || strcmp(me->op, o->op) || strcmp(me->variant, name)) continue;
        if (v && me->version == v->version) return v->version;
        if (me->version > best) best = me->version;
    }
    return best;
}

/* Builds the plot of op o of the machine whose rows are in d.  NULL without data. */
static kt_plot *build_plot(const kt_db_dump *d, int64_t machine, const kt_ins_op *o,
                           const char *id) {
    char title[160], ylabel[64], xlabel[96];
    snprintf(title, sizeof title, "%s: throughput against size", o->op);
    snprintf(ylabel, sizeof ylabel, "throughput (%s)", *o->unit ? o->unit : "GB/s");
    const char *dn = o->id != KT_OP_NONE ? kt_ops[o->id].dim_names : "m,n,k";
    if (strchr(dn, ','))
        snprintf(xlabel, sizeof xlabel, "size %.*s (%s, all equal as tuned)",
                 (int)(strchr(dn, ',') - dn), dn, dn);
    else
        snprintf(xlabel, sizeof xlabel, "size %s (elements)", dn);
    kt_plot *p = kt_plot_new(id, title, 860, 440);
    if (!p) return NULL;
    char xname[16];
    snprintf(xname, sizeof xname, "%.*s", (int)strcspn(dn, ","), dn);
    kt_plot_axis(p, KT_PLOT_X, xlabel, xname, KT_PLOT_LOG);
    kt_plot_axis(p, KT_PLOT_Y, ylabel, *o->unit ? o->unit : "GB/s", KT_PLOT_LOG);
    kt_plot_axis_span(p, KT_PLOT_Y, 5); /* far slower variants are cut off below */

    /* the band along the winners */
    size_t n = o->npts;
    double *x = malloc((n ? n : 1) * sizeof *x), *y = malloc((n ? n : 1) * sizeof *y);
    if (!x || !y) goto fail;
    for (size_t i = 0; i < n; i++) x[i] = (double)o->pts[i].dims[0], y[i] = o->pts[i].tp;
    if (n && kt_plot_series(p, "chosen (dispatched)", x, y, n, KT_PLOT_BAND, NULL) < 0) goto fail;
    free(x), free(y);
    x = y = NULL;

    /* one series per variant */
    const char *names[256];
    size_t nn = variant_names(d, o, names, 256);
    for (size_t k = 0; k < nn; k++) {
        unsigned ver = plot_version(d, o, names[k]);
        size_t cnt = 0, cap = 16;
        x = malloc(cap * sizeof *x), y = malloc(cap * sizeof *y);
        unsigned char *em = malloc(cap);
        if (!x || !y || !em) {
            free(em);
            goto fail;
        }
        for (size_t i = 0; i < d->nmeasurements; i++) {
            const kt_db_measurement *me = &d->measurements[i];
            if (me->machine != machine || !me->valid || me->version != ver ||
                strcmp(me->op, o->op) || strcmp(me->variant, names[k]))
                continue;
            if (cnt == cap) {
                cap *= 2;
                double *nx = realloc(x, cap * sizeof *x), *ny = NULL;
                if (nx) x = nx;
                if (nx) ny = realloc(y, cap * sizeof *y);
                if (ny) y = ny;
                unsigned char *ne = ny ? realloc(em, cap) : NULL;
                if (!ne) {
                    free(em);
                    goto fail;
                }
                em = ne;
            }
            size_t dd[3];
            kt_ins_unpack(o->id, me->m, me->n, me->k, dd);
            x[cnt] = (double)dd[0];
            y[cnt] = ms_tp(o, me);
            const char *w = winner_at(o, me->m, me->n, me->k);
            em[cnt++] = w && !strcmp(w, names[k]);
        }
        char label[96];
        snprintf(label, sizeof label, "%s", names[k]);
        if (o->id != KT_OP_NONE) {
            const kt_variant *v = kt_variant_lookup(o->id, names[k]);
            if (!v || v->version != ver)
                snprintf(label, sizeof label, "%s (v%u)", names[k], ver);
        }
        int s = cnt ? kt_plot_series(p, label, x, y, cnt, KT_PLOT_LINE | KT_PLOT_MARKERS, NULL)
                    : 0;
        for (size_t i = 0; s >= 0 && i < cnt; i++)
            if (em[i]) kt_plot_emphasize(p, s, i);
        free(x), free(y), free(em);
        x = y = NULL;
        if (s < 0) goto fail;
    }

    /* crossovers: where dispatch switches from one winner to the next */
    for (size_t i = 1; i < o->nranges; i++) {
        char tip[200];
        snprintf(tip, sizeof tip, "crossover at %s=%zu: %s below, %s from here", xname,
                 o->ranges[i].from, o->ranges[i - 1].win->c.variant, o->ranges[i].win->c.variant);
        if (kt_plot_vline(p, (double)o->ranges[i].from, NULL, tip) < 0) goto fail;
    }
    /* the machine's limit */
    char lim[128], num[32];
    if (!strcmp(o->unit, "GFLOP/s")) {
        char name[64];
        snprintf(name, sizeof name, "peak_gflops_%s", dtype_of(o->op));
        double v = limit_of(d, machine, name);
        snprintf(lim, sizeof lim, "peak %s GFLOP/s (%s)", kt_ins_num(v, num, sizeof num),
                 dtype_of(o->op));
        if (isfinite(v) && kt_plot_hline(p, v, lim) < 0) goto fail;
    } else {
        double v = limit_of(d, machine, "mem_bw_gbs");
        snprintf(lim, sizeof lim, "memory bandwidth %s GB/s", kt_ins_num(v, num, sizeof num));
        if (isfinite(v) && kt_plot_hline(p, v, lim) < 0) goto fail;
    }
    return p;
fail:
    free(x), free(y);
    kt_plot_free(p);
    return NULL;
}

static const char css[] =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:24px auto;"
    "max-width:900px;color:#222;background:#fff}"
    "h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;padding-bottom:4px;"
    "margin-top:32px}h3{font-size:15px;margin-top:28px}"
    "dl{display:grid;grid-template-columns:130px 1fr;gap:2px 12px;font-size:13px}"
    "dt{color:#666}dd{margin:0}code{font-size:12px}"
    "table{border-collapse:collapse;font-size:12px;margin:8px 0}"
    "th,td{padding:2px 10px;text-align:right;border-bottom:1px solid #eee}"
    "th{background:#f4f4f4}td.v,th.v{text-align:left}"
    "figure{margin:8px 0}figcaption,p.note{font-size:12px;color:#555}"
    "p.meta{font-size:12px;color:#666}";

/* The table of ranges of op o (as `ktune show` prints it). */
static void write_ranges(FILE *f, const kt_ins_op *o) {
    const char *dn = o->id != KT_OP_NONE ? kt_ops[o->id].dim_names : "m,n,k";
    fprintf(f, "<table class=\"kt-ranges\"><tr><th>%.*s from</th><th>to</th>"
               "<th class=\"v\">variant</th><th>%s</th><th>margin</th>"
               "<th class=\"v\">runner-up</th></tr>\n",
            (int)strcspn(dn, ","), dn, *o->unit ? o->unit : "median");
    for (size_t i = 0; i < o->nranges; i++) {
        const kt_ins_range *r = &o->ranges[i];
        char a[32], b[32], pct[16], to[32];
        if (r->to == SIZE_MAX)
            snprintf(to, sizeof to, "and up");
        else
            snprintf(to, sizeof to, "%zu", r->to);
        kt_ins_num(r->tp_min, a, sizeof a);
        kt_ins_num(r->tp_max, b, sizeof b);
        fprintf(f, "<tr><td>%zu</td><td>%s</td><td class=\"v\">", r->from, to);
        esc(f, r->win->c.variant);
        fprintf(f, "</td><td>%s%s%s</td><td>%s</td><td class=\"v\">", a, strcmp(a, b) ? "&#8211;" : "",
                strcmp(a, b) ? b : "", kt_ins_pct(r->margin_min, pct, sizeof pct));
        esc(f, r->runner_up ? r->runner_up : "-");
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/*
 * The verification rows of run: per held-out size and pass, what dispatch ran, the best
 * fixed variant (picked on half the rounds) and their times on the other half.
 */
static void write_verification(FILE *f, const kt_db_dump *d, int64_t machine, int64_t run) {
    int any = 0;
    for (size_t i = 0; i < d->nverifications; i++) {
        const kt_db_verify_row *v = &d->verifications[i];
        if (v->machine != machine || v->run != run) continue;
        if (!any)
            fputs("<table class=\"kt-verify\"><tr><th class=\"v\">op</th><th>size</th>"
                  "<th>pass</th><th class=\"v\">dispatched to</th><th>time</th>"
                  "<th class=\"v\">best fixed</th><th>time</th><th>ratio</th></tr>\n", f);
        any = 1;
        kt_op_id id = kt_op_find(v->op);
        size_t dims[3];
        char dd[64], t1[24], t2[24];
        kt_ins_unpack(id, v->m, v->n, v->k, dims);
        fputs("<tr><td class=\"v\">", f);
        esc(f, v->op);
        fputs("</td><td>", f);
        esc(f, kt_ins_dims(id, dims, dd, sizeof dd));
        fprintf(f, "</td><td>%d</td><td class=\"v\">", v->pass);
        esc(f, v->dispatched);
        fprintf(f, "</td><td>%s</td><td class=\"v\">", kt_cli_time(v->dispatched_s, t1, sizeof t1));
        esc(f, v->best);
        fprintf(f, "</td><td>%s</td><td>%.3f</td></tr>\n", kt_cli_time(v->best_s, t2, sizeof t2),
                v->ratio);
    }
    if (any) fputs("</table>\n", f);
}

/* A file name part from a fingerprint or op: [A-Za-z0-9._-], others become '_'. */
static void safe_name(const char *s, char *buf, size_t len) {
    size_t o = 0;
    for (; *s && o + 1 < len; s++)
        buf[o++] = (strchr("._-", *s) || (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
                    (*s >= 'A' && *s <= 'Z'))
                       ? *s
                       : '_';
    buf[o] = '\0';
}

/* One bar of a profile chart: label, seconds, share. */
static void bar(FILE *f, double y, const char *label, double sec, double share, double maxshare,
                const char *cls) {
    char t[32], num[96];
    double w = maxshare > 0 ? 380.0 * share / maxshare : 0;
    fprintf(f, "<g class=\"%s\"><title>", cls);
    esc(f, label);
    snprintf(num, sizeof num, ": %s, %.1f%%", kt_cli_time(sec, t, sizeof t), 100 * share);
    esc(f, num);
    fprintf(f, "</title><text x=\"326\" y=\"%.0f\" text-anchor=\"end\" font-size=\"12\">",
            y + 12);
    esc(f, label);
    fprintf(f, "</text><rect x=\"332\" y=\"%.0f\" width=\"%.1f\" height=\"14\" "
               "fill=\"#4c78a8\"/><text x=\"%.1f\" y=\"%.0f\" font-size=\"11\">",
            y, w > 0.5 ? w : 0.5, 338 + w, y + 12);
    esc(f, num + 2);
    fputs("</text></g>\n", f);
}

/*
 * The profile section: per program, its newest stored profile as two bar charts (time
 * per op, time per op and shape, the most first) and its table.
 */
static void write_profiles(FILE *f, kt_db *db) {
    kt_db_prof_run *runs = NULL;
    size_t nruns = 0;
    fputs("<section class=\"kt-profile\">\n<h2>Profiles</h2>\n", f);
    if (kt_db_profile_sessions(db, NULL, &runs, &nruns) != KT_OK || !nruns) {
        fputs("<p class=\"note\">No stored profiles (ktune profile -- CMD records one).</p>\n"
              "</section>\n", f);
        free(runs);
        return;
    }
    int shown = 0;
    for (size_t r = 0; r < nruns && shown < 8; r++) {
        int dup = 0; /* the newest session of each program and arguments only */
        for (size_t q = 0; q < r && !dup; q++)
            dup = !strcmp(runs[q].program, runs[r].program) &&
                  !strcmp(runs[q].args_hash, runs[r].args_hash);
        kt_db_prof_call *c = NULL;
        size_t nc = 0;
        if (dup || kt_db_profile_calls(db, runs[r].session, &c, &nc) != KT_OK || !nc) {
            free(c);
            continue;
        }
        shown++;
        double total = 0, max = 0;
        for (size_t i = 0; i < nc; i++) total += c[i].total_s;
        /* per op */
        const char *ops[64];
        double opt[64];
        size_t nop = 0;
        for (size_t i = 0; i < nc; i++) {
            size_t j = 0;
            while (j < nop && strcmp(ops[j], c[i].op)) j++;
            if (j == nop && nop < 64) ops[nop] = c[i].op, opt[nop++] = 0;
            if (j < nop) opt[j] += c[i].total_s;
        }
        for (size_t i = 1; i < nop; i++)
            for (size_t j = i; j > 0 && opt[j] > opt[j - 1]; j--) {
                double t = opt[j];
                const char *o = ops[j];
                opt[j] = opt[j - 1], ops[j] = ops[j - 1], opt[j - 1] = t, ops[j - 1] = o;
            }
        char t1[32], line[1400];
        fputs("<h3>", f);
        esc(f, runs[r].program);
        fputs(" ", f);
        esc(f, runs[r].args);
        snprintf(line, sizeof line, "</h3>\n<p class=\"meta\">Profiled %s, %d process%s, %s in "
                 "ktune calls (sampled timing; the estimate of each row rests on its timed "
                 "calls).</p>\n", runs[r].started, runs[r].processes,
                 runs[r].processes == 1 ? "" : "es", kt_cli_time(total, t1, sizeof t1));
        fputs(line, f);
        size_t rows = nc < 24 ? nc : 24;
        max = nop ? opt[0] / (total > 0 ? total : 1) : 0;
        fprintf(f, "<figure><svg class=\"kt-profile-ops\" xmlns=\"http://www.w3.org/2000/svg\" "
                   "width=\"860\" height=\"%zu\" role=\"img\">\n", 20 * nop + 8);
        for (size_t i = 0; i < nop; i++)
            bar(f, 4 + 20.0 * (double)i, ops[i], opt[i], total > 0 ? opt[i] / total : 0, max,
                "kt-bar");
        fputs("</svg><figcaption>Time per op.</figcaption></figure>\n", f);
        max = total > 0 ? c[0].total_s / total : 0;
        fprintf(f, "<figure><svg class=\"kt-profile-shapes\" "
                   "xmlns=\"http://www.w3.org/2000/svg\" width=\"860\" height=\"%zu\" "
                   "role=\"img\">\n", 20 * rows + 8);
        for (size_t i = 0; i < rows; i++) {
            char label[400];
            kt_op_id id = kt_op_find(c[i].op);
            size_t d[3];
            kt_ins_unpack(id, c[i].m, c[i].n, c[i].k, d);
            char dims[96];
            int nd = id >= KT_OP_COUNT ? 3 : kt_ops[id].ndims;
            if (c[i].bucket == 2) snprintf(dims, sizeof dims, "(other shapes)");
            else if (nd == 1) snprintf(dims, sizeof dims, "n=%zu", d[0]);
            else if (nd == 2) snprintf(dims, sizeof dims, "%zux%zu", d[0], d[1]);
            else snprintf(dims, sizeof dims, "%zux%zux%zu", d[0], d[1], d[2]);
            snprintf(label, sizeof label, "%s %s%s %s", c[i].op, c[i].bucket == 1 ? "~" : "",
                     dims, c[i].variant);
            bar(f, 4 + 20.0 * (double)i, label, c[i].total_s,
                total > 0 ? c[i].total_s / total : 0, max, "kt-bar");
        }
        fprintf(f, "</svg><figcaption>Time per op and shape (the variant that ran), the most "
                   "first%s. <code>ktune profile --show --program ", nc > rows ? "; the top 24" : "");
        esc(f, runs[r].program);
        fputs("</code> gives the table with how each shape is dispatched.</figcaption>"
              "</figure>\n", f);
        free(c);
    }
    fputs("</section>\n", f);
    free(runs);
}

typedef struct report_ctx {
    kt_db *db;
    FILE *html;            /* NULL: no HTML */
    const char *svgdir;    /* NULL: no SVG files */
    int multi;             /* several machines reported */
    const int *ops_sel;    /* NULL: all */
    int plots;             /* plots written */
} report_ctx;

/* Reports one machine: its header, then per op the plot and the table. */
static int report_machine(report_ctx *rc, const kt_db_machine_row *ma, int mindex) {
    kt_db_dump d;
    if (kt_db_dump_read(rc->db, ma->fingerprint,
                        KT_DB_DUMP_RUNS | KT_DB_DUMP_MEASUREMENTS | KT_DB_DUMP_CHOICES |
                            KT_DB_DUMP_LIMITS | KT_DB_DUMP_VERIFY,
                        &d) != KT_OK)
        return kt_cli_error(KT_EXIT_FAIL, "report", "%s", kt_last_error());
    if (d.nmachines != 1) {
        kt_db_dump_free(&d);
        return kt_cli_error(KT_EXIT_FAIL, "report", "machine %s vanished", ma->fingerprint);
    }
    int64_t mid = d.machines[0].id;
    kt_ins_op *ops;
    size_t nops;
    if (kt_ins_ops(&d, mid, &ops, &nops) != KT_OK) {
        kt_db_dump_free(&d);
        return kt_cli_error(KT_EXIT_FAIL, "report", "%s", kt_last_error());
    }
    FILE *f = rc->html;
    int here = !strcmp(ma->fingerprint, kt_fingerprint());
    if (f) {
        char summary[256], when[32];
        const kt_db_run_row *last = kt_ins_last_run(&d, mid, 0);
        fprintf(f, "<section class=\"kt-machine\" data-fingerprint=\"");
        esc(f, ma->fingerprint);
        fputs("\">\n<h2>", f);
        esc(f, ma->fingerprint);
        fprintf(f, "%s</h2>\n<dl><dt>machine</dt><dd>", here ? " (this machine)" : "");
        esc(f, kt_ins_machine_summary(ma->details, summary, sizeof summary));
        fputs("</dd><dt>last tuned</dt><dd>", f);
        if (last) {
            esc(f, kt_ins_when(last->started, when, sizeof when));
            fputs(" by ktune ", f);
            esc(f, last->ktune_version);
            fputs(", ", f);
            esc(f, last->status);
        } else {
            fputs("never", f);
        }
        fputs("</dd><dt>limits</dt><dd>", f);
        for (size_t i = 0; i < d.nlimits; i++) {
            char num[32];
            esc(f, d.limits[i].name);
            fprintf(f, " = %s%s", kt_ins_num(d.limits[i].value, num, sizeof num),
                    i + 1 < d.nlimits ? ", " : "");
        }
        if (!d.nlimits) fputs("none measured", f);
        kt_ins_verify ver;
        kt_ins_verification(&d, mid, &ver);
        fputs("</dd><dt>verified</dt><dd class=\"kt-verified\">", f);
        if (ver.sizes) {
            char line[512];
            snprintf(line, sizeof line, "at %d held-out sizes (%d re-measured once): "
                     "dispatched/best %.3f geometric mean, worst %.3f (%s); %s", ver.sizes,
                     ver.remeasured, ver.geomean, ver.worst, ver.worst_at,
                     ver.faster[0] ? ver.faster : "no fixed variant faster");
            esc(f, line);
        } else {
            fputs("no verification stored (ktune tune --no-verify, or an older ktune)", f);
        }
        fputs("</dd></dl>\n", f);
        write_verification(f, &d, mid, ver.run);
    }
    int rc_out = KT_EXIT_OK;
    for (size_t i = 0; i < nops && rc_out == KT_EXIT_OK; i++) {
        const kt_ins_op *o = &ops[i];
        if (rc->ops_sel && (o->id == KT_OP_NONE || !rc->ops_sel[o->id])) continue;
        char id[96], opname[64];
        safe_name(o->op, opname, sizeof opname);
        snprintf(id, sizeof id, "kt-m%d-%s", mindex, opname);
        kt_plot *p = build_plot(&d, mid, o, id);
        if (!p) {
            rc_out = kt_cli_error(KT_EXIT_FAIL, "report", "out of memory");
            break;
        }
        if (f) {
            fprintf(f, "<section class=\"kt-op\" data-op=\"");
            esc(f, o->op);
            fputs("\">\n<h3>", f);
            esc(f, o->op);
            fprintf(f, "</h3>\n<figure>\n");
            if (kt_plot_write(p, f, 0) != 0) fputs("<p class=\"note\">no data to plot</p>\n", f);
            fputs("<figcaption>Median throughput of each variant at each tuned size "
                  "(log-log). The grey band follows the variant chosen at each size; "
                  "filled markers are winners; dotted verticals are crossovers; the red "
                  "dashed line is the machine's measured limit. Points more than five decades "
                  "below the fastest are cut off at the bottom.", f);
            if (!strcmp(o->unit, "GFLOP/s")) {
                char name[64];
                snprintf(name, sizeof name, "peak_gflops_%s", dtype_of(o->op));
                if (!isfinite(limit_of(&d, mid, name))) {
                    fputs(" (Peak FLOP/s was not measured for this machine: no limit line.)",
                          f);
                }
            } else if (!isfinite(limit_of(&d, mid, "mem_bw_gbs"))) {
                fputs(" (Memory bandwidth was not measured for this machine: no limit line.)",
                      f);
            }
            fputs("</figcaption>\n</figure>\n", f);
            write_ranges(f, o);
            /* variants that failed validation here */
            int any = 0;
            for (size_t k = 0; k < d.nmeasurements; k++) {
                const kt_db_measurement *me = &d.measurements[k];
                if (me->valid || strcmp(me->op, o->op)) continue;
                int dup = 0;
                for (size_t q = 0; q < k && !dup; q++)
                    dup = !d.measurements[q].valid && !strcmp(d.measurements[q].op, o->op) &&
                          !strcmp(d.measurements[q].variant, me->variant);
                if (dup) continue;
                fputs(any ? "; " : "<p class=\"note\">Excluded (failed): ", f);
                esc(f, me->variant);
                fputs(": ", f);
                esc(f, me->error);
                any = 1;
            }
            if (any) fputs("</p>\n", f);
            fputs("</section>\n", f);
        }
        if (rc->svgdir) {
            char fp[96], path[4096];
            safe_name(ma->fingerprint, fp, sizeof fp);
            if (rc->multi)
                snprintf(path, sizeof path, "%s/%s-%s.svg", rc->svgdir, fp, opname);
            else
                snprintf(path, sizeof path, "%s/%s.svg", rc->svgdir, opname);
            kt_outfile of;
            char err[4200];
            if (kt_outfile_open(&of, path, err, sizeof err) != 0) {
                rc_out = kt_cli_error(KT_EXIT_FAIL, "report", "%s", err);
            } else {
                int ok = kt_plot_write(p, of.f, 1) == 0;
                if (kt_outfile_close(&of, ok, err, sizeof err) != 0)
                    rc_out = kt_cli_error(KT_EXIT_FAIL, "report", "%s", err);
                else if (!ok)
                    rc_out = kt_cli_error(KT_EXIT_FAIL, "report", "cannot write %s", path);
            }
        }
        rc->plots++;
        kt_plot_free(p);
    }
    if (f && !nops) fputs("<p class=\"note\">No tuned operations.</p>\n", f);
    if (f) fputs("</section>\n", f);
    kt_ins_ops_free(ops, nops);
    kt_db_dump_free(&d);
    return rc_out;
}

int kt_cmd_report(int argc, char **argv) {
    static const struct option opts[] = {
        {"html", required_argument, NULL, 'H'}, {"svg", required_argument, NULL, 'S'},
        {"db", required_argument, NULL, 'd'},   {"machine", required_argument, NULL, 'm'},
        {"op", required_argument, NULL, 'o'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *html = NULL, *svg = NULL, *dbpath = NULL, *machine = NULL, *oplist = NULL, *bad;
    int c, sel[KT_OP_MAX];
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'H': html = optarg; break;
        case 'S': svg = optarg; break;
        case 'd': dbpath = optarg; break;
        case 'm': machine = optarg; break;
        case 'o': oplist = optarg; break;
        case 'h': fputs(report_help, stdout); return KT_EXIT_OK;
        default:
            return kt_cli_error(KT_EXIT_USAGE, "report", "bad option '%s' (see --help)",
                                argv[optind - 1]);
        }
    }
    if (optind < argc)
        return kt_cli_error(KT_EXIT_USAGE, "report", "unexpected argument '%s'", argv[optind]);
    if (!html && !svg)
        return kt_cli_error(KT_EXIT_USAGE, "report", "say where: --html FILE or --svg DIR");
    if ((html && !*html) || (svg && !*svg))
        return kt_cli_error(KT_EXIT_USAGE, "report", "empty file or directory name");
    if (oplist && kt_ops_parse(oplist, sel, &bad))
        return kt_cli_error(KT_EXIT_USAGE, "report", "unknown operation '%s' (see ktune list)",
                            bad);
    kt_db *db;
    int rc = kt_ins_open("report", dbpath, &db);
    if (rc != KT_EXIT_OK) return rc;
    kt_db_dump all;
    if (kt_db_dump_read(db, NULL, KT_DB_DUMP_RUNS | KT_DB_DUMP_CHOICES, &all) != KT_OK) {
        rc = kt_cli_error(KT_EXIT_FAIL, "report", "%s", kt_last_error());
        kt_db_close(db);
        return rc;
    }
    /* the machines: as ktune show picks them */
    char *pick = calloc(all.nmachines ? all.nmachines : 1, 1);
    size_t npick = 0;
    const char *fp = kt_fingerprint();
    for (size_t i = 0; pick && i < all.nmachines; i++) {
        const char *f = all.machines[i].fingerprint;
        pick[i] = machine ? (!strcmp(machine, "all") || kt_ins_fp_match(f, machine))
                          : !strcmp(f, fp);
        npick += pick[i];
    }
    if (pick && !machine && !npick)
        for (size_t i = 0; i < all.nmachines; i++) pick[i] = 1, npick++;
    if (!pick || (machine && !npick) || (machine && strcmp(machine, "all") && npick > 1)) {
        rc = kt_cli_error(KT_EXIT_FAIL, "report", "%s machine '%s' in %s",
                          !pick ? "out of memory:" : npick ? "more than one" : "no",
                          machine ? machine : "", kt_db_path(db));
        goto out;
    }
    if (!npick) {
        rc = kt_cli_error(KT_EXIT_FAIL, "report", "%s has no tuning to report (ktune tune)",
                          kt_db_path(db));
        goto out;
    }
    if (svg && mkdir(svg, 0777) != 0 && errno != EEXIST) {
        rc = kt_cli_error(KT_EXIT_FAIL, "report", "cannot create %s: %s", svg, strerror(errno));
        goto out;
    }
    kt_outfile of = {0};
    char err[4200];
    if (html && kt_outfile_open(&of, html, err, sizeof err) != 0) {
        rc = kt_cli_error(KT_EXIT_FAIL, "report", "%s", err);
        goto out;
    }
    report_ctx ctx = {db, html ? of.f : NULL, svg, npick > 1, oplist ? sel : NULL, 0};
    if (ctx.html) {
        char now[32];
        time_t t = time(NULL);
        strftime(now, sizeof now, "%Y-%m-%d %H:%MZ", gmtime(&t));
        fprintf(of.f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width\">\n"
                      "<title>ktune report</title>\n<style>%s</style>\n</head>\n<body>\n"
                      "<h1>ktune report</h1>\n<p class=\"meta\">Database <code>",
                css);
        esc(of.f, kt_db_path(db));
        fprintf(of.f, "</code> (schema %d), %zu machine%s; made %s by ktune %s.</p>\n",
                kt_db_version(db), npick, npick == 1 ? "" : "s", now, kt_version());
        /* a shared file (or --machine all): the fleet summary first */
        if (all.nmachines > 1 || (machine && !strcmp(machine, "all"))) {
            json_t *fleet = kt_fleet_json(&all);
            if (fleet) kt_fleet_html(of.f, fleet);
            json_decref(fleet);
        }
    }
    int mi = 0;
    for (size_t i = 0; i < all.nmachines && rc == KT_EXIT_OK; i++)
        if (pick[i]) rc = report_machine(&ctx, &all.machines[i], mi++);
    if (ctx.html) {
        if (rc == KT_EXIT_OK) write_profiles(of.f, db); /* issue 9 */
        fputs("</body>\n</html>\n", of.f);
        if (kt_outfile_close(&of, rc == KT_EXIT_OK, err, sizeof err) != 0 && rc == KT_EXIT_OK)
            rc = kt_cli_error(KT_EXIT_FAIL, "report", "%s", err);
    }
    if (rc == KT_EXIT_OK)
        fprintf(stderr, "ktune report: %d plot%s of %zu machine%s written%s%s%s%s\n", ctx.plots,
                ctx.plots == 1 ? "" : "s", npick, npick == 1 ? "" : "s", html ? " to " : "",
                html ? html : "", svg ? " and SVG files to " : "", svg ? svg : "");
out:
    free(pick);
    kt_db_dump_free(&all);
    kt_db_close(db);
    return rc;
}
