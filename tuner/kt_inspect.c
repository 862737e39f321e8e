/* Helpers shared by the inspection commands; see kt_inspect.h. */
#define _GNU_SOURCE /* timegm */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "kt_inspect.h"

int kt_ins_open(const char *cmd, const char *path, kt_db **out) {
    char buf[4096];
    *out = NULL;
    if (!path || !*path) {
        if (kt_db_default_path(buf, sizeof buf, 0) != KT_OK)
            return kt_cli_error(KT_EXIT_FAIL, cmd, "%s", kt_last_error());
        path = buf;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return kt_cli_error(KT_EXIT_FAIL, cmd, "no database at %s (ktune tune makes one)", path);
    if (kt_db_open_read(path, out) != KT_OK)
        return kt_cli_error(KT_EXIT_FAIL, cmd, "%s", kt_last_error());
    return KT_EXIT_OK;
}

void kt_ins_unpack(kt_op_id id, size_t m, size_t n, size_t k, size_t dims[3]) {
    size_t mnk[3] = {m, n, k};
    if (id == KT_OP_NONE) {
        memcpy(dims, mnk, sizeof mnk);
        return;
    }
    kt_db_dims_unpack(kt_ops[id].ndims, mnk, dims);
}

double kt_ins_throughput(kt_op_id id, const size_t dims[3], double median_s) {
    if (id == KT_OP_NONE || !(median_s > 0)) return NAN;
    double work = strcmp(kt_ops[id].unit, "GB/s") == 0 ? kt_ops[id].bytes(dims)
                                                       : kt_ops[id].flops(dims);
    return work / median_s / 1e9;
}

const char *kt_ins_dims(kt_op_id id, const size_t dims[3], char *buf, size_t len) {
    if (id == KT_OP_NONE) {
        snprintf(buf, len, "m=%zu n=%zu k=%zu", dims[0], dims[1], dims[2]);
        return buf;
    }
    const char *names = kt_ops[id].dim_names;
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < kt_ops[id].ndims && i < 3; i++) {
        const char *comma = strchr(names, ',');
        int nl = comma ? (int)(comma - names) : (int)strlen(names);
        int w = snprintf(buf + used, len - used, "%s%.*s=%zu", i ? " " : "", nl, names,
                         dims[i]);
        if (w < 0 || (size_t)w >= len - used) break;
        used += (size_t)w;
        names = comma ? comma + 1 : "";
    }
    return buf;
}

/* The bound between tuned sizes a < b, as dispatch computes it (lib/kt_dispatch.c). */
static size_t bound_between(size_t a, size_t b) {
    size_t bound = (size_t)ceil(sqrt((double)a * (double)b));
    return bound <= a ? a + 1 : bound;
}

kt_status kt_ins_ops(const kt_db_dump *d, int64_t machine, kt_ins_op **out, size_t *n) {
    *out = NULL;
    *n = 0;
    kt_ins_op *ops = NULL;
    size_t nops = 0;
    for (size_t i = 0; i < d->nchoices;) {
        if (d->choices[i].machine != machine) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < d->nchoices && d->choices[j].machine == machine &&
               !strcmp(d->choices[j].op, d->choices[i].op))
            j++;
        kt_ins_op *o = kt_db_dump_grow((void **)&ops, &nops, sizeof *ops);
        if (!o) goto nomem;
        o->op = d->choices[i].op;
        o->id = kt_op_find(o->op);
        o->unit = o->id == KT_OP_NONE ? "" : kt_ops[o->id].unit;
        o->run = d->choices[i].run;
        /* the tuned points: rank 1 (and 2) of each size, in stored order (m, n, k) */
        for (size_t k = i; k < j; k++) {
            const kt_db_choice_row *c = &d->choices[k];
            if (c->c.rank == 1) {
                kt_ins_point *p = kt_db_dump_grow((void **)&o->pts, &o->npts, sizeof *p);
                if (!p) goto nomem;
                kt_ins_unpack(o->id, c->c.m, c->c.n, c->c.k, p->dims);
                p->win = c;
                p->tp = kt_ins_throughput(o->id, p->dims, c->c.median_s);
            } else if (c->c.rank == 2 && o->npts && !o->pts[o->npts - 1].next &&
                       o->pts[o->npts - 1].win->c.m == c->c.m &&
                       o->pts[o->npts - 1].win->c.n == c->c.n &&
                       o->pts[o->npts - 1].win->c.k == c->c.k) {
                o->pts[o->npts - 1].next = c;
            }
        }
        /* ranges: runs of equal winners, bounded where dispatch puts the bounds */
        for (size_t k = 0; k < o->npts; k++) {
            kt_ins_point *p = &o->pts[k];
            kt_ins_range *r = o->nranges ? &o->ranges[o->nranges - 1] : NULL;
            if (!r || strcmp(r->win->c.variant, p->win->c.variant) != 0) {
                r = kt_db_dump_grow((void **)&o->ranges, &o->nranges, sizeof *r);
                if (!r) goto nomem;
                r->from = k ? bound_between(o->pts[k - 1].dims[0], p->dims[0]) : 1;
                r->win = p->win;
                r->first = k;
                r->tp_min = r->tp_max = r->margin_min = NAN;
                r->ci_lo = r->ci_hi = NAN;
            }
            r->unresolved += !strcmp(p->win->c.decision, "unresolved");
            r->merged += !strcmp(p->win->c.decision, "merged");
            r->npoints++;
            r->to = k + 1 < o->npts ? bound_between(p->dims[0], o->pts[k + 1].dims[0]) - 1
                                    : SIZE_MAX;
            if (!isnan(p->tp)) {
                if (isnan(r->tp_min) || p->tp < r->tp_min) r->tp_min = p->tp;
                if (isnan(r->tp_max) || p->tp > r->tp_max) r->tp_max = p->tp;
            }
            double mg = p->win->c.margin;
            if (!isnan(mg) && (isnan(r->margin_min) || mg < r->margin_min)) {
                r->margin_min = mg;
                r->runner_up = p->next ? p->next->c.variant : NULL;
                r->ci_lo = p->win->c.ci_lo;
                r->ci_hi = p->win->c.ci_hi;
            }
        }
        i = j;
    }
    *out = ops;
    *n = nops;
    return KT_OK;
nomem:
    kt_ins_ops_free(ops, nops);
    return kt_fail(KT_ENOMEM, "out of memory");
}

void kt_ins_ops_free(kt_ins_op *ops, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(ops[i].pts);
        free(ops[i].ranges);
    }
    free(ops);
}

const kt_db_run_row *kt_ins_run(const kt_db_dump *d, int64_t id) {
    for (size_t i = 0; id && i < d->nruns; i++)
        if (d->runs[i].id == id) return &d->runs[i];
    return NULL;
}

const kt_db_run_row *kt_ins_last_run(const kt_db_dump *d, int64_t machine, int complete) {
    const kt_db_run_row *best = NULL;
    for (size_t i = 0; i < d->nruns; i++) {
        const kt_db_run_row *r = &d->runs[i];
        if (r->machine != machine || (complete && strcmp(r->status, "complete") != 0)) continue;
        if (!best || strcmp(r->started, best->started) >= 0) best = r;
    }
    return best;
}

/* Parses "YYYY-MM-DDTHH:MM:SSZ" into seconds since the epoch; -1 when malformed. */
static double iso_time(const char *s) {
    struct tm tm = {0};
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!end || (*end && strcmp(end, "Z") != 0)) return -1;
    return (double)timegm(&tm);
}

double kt_ins_seconds(const char *from, const char *to) {
    double a = iso_time(from), b = iso_time(to);
    return a < 0 || b < 0 ? NAN : b - a;
}

const char *kt_ins_when(const char *iso, char *buf, size_t len) {
    if (!iso || !*iso) {
        snprintf(buf, len, "-");
        return buf;
    }
    /* 2025-01-31T12:00:00Z -> 2025-01-31 12:00Z */
    if (strlen(iso) >= 16 && iso[10] == 'T')
        snprintf(buf, len, "%.10s %.5sZ", iso, iso + 11);
    else
        snprintf(buf, len, "%s", iso);
    return buf;
}

const char *kt_ins_machine_summary(const char *details, char *buf, size_t len) {
    json_error_t err;
    json_t *j = json_loads(details ? details : "{}", 0, &err);
    json_t *cpu = json_object_get(j, "cpu"), *gpu = json_object_get(j, "gpu");
    const char *brand = json_string_value(json_object_get(cpu, "brand"));
    const char *vendor = json_string_value(json_object_get(cpu, "vendor"));
    const char *feats = json_string_value(json_object_get(cpu, "features"));
    json_int_t cores = json_integer_value(json_object_get(cpu, "cores"));
    const char *isa = !feats                    ? "?"
                      : strstr(feats, "avx512f") ? "avx512"
                      : strstr(feats, "avx2")    ? "avx2"
                                                 : "no avx2";
    json_int_t ngpu = json_integer_value(json_object_get(gpu, "count"));
    const char *gname = json_string_value(json_object_get(gpu, "name"));
    char g[160];
    if (ngpu > 0)
        snprintf(g, sizeof g, "%s%s", gname && *gname ? gname : "a GPU",
                 ngpu > 1 ? " (and more)" : "");
    else
        snprintf(g, sizeof g, "no GPU");
    if (!cpu)
        snprintf(buf, len, "(no details recorded)");
    else
        snprintf(buf, len, "%s, %lld cores, %s; %s",
                 brand && *brand ? brand : vendor ? vendor : "unknown CPU", (long long)cores,
                 isa, g);
    json_decref(j);
    return buf;
}

const char *kt_ins_short_fp(const char *fp, char *buf, size_t len) {
    size_t l = strlen(fp);
    if (l + 1 <= len) {
        snprintf(buf, len, "%s", fp);
        return buf;
    }
    /* keep the head and the hash: amd-25.17.1-avx512-...-504beb58 */
    const char *dash = strrchr(fp, '-');
    size_t tail = dash ? strlen(dash) : 0;
    if (tail > 9) tail = 9;
    if (len < tail + 8) {
        snprintf(buf, len, "%.*s", (int)(len - 1), fp);
        return buf;
    }
    size_t head = len - 1 - tail - 3;
    snprintf(buf, len, "%.*s...%s", (int)head, fp, fp + l - tail);
    return buf;
}

int kt_ins_fp_match(const char *fp, const char *pattern) {
    size_t lp = strlen(pattern), lf = strlen(fp);
    if (!lp) return 0;
    if (!strncmp(fp, pattern, lp)) return 1;
    return lp <= lf && !strcmp(fp + lf - lp, pattern);
}

json_t *kt_ins_json_real(double v) { return isfinite(v) ? json_real(v) : json_null(); }

const char *kt_ins_pct(double margin, char *buf, size_t len) {
    if (isnan(margin))
        snprintf(buf, len, "-");
    else if (fabs(margin) >= 10)
        snprintf(buf, len, "%.0fx", margin + 1);
    else
        snprintf(buf, len, "%+.1f%%", margin * 100);
    return buf;
}

const char *kt_ins_num(double v, char *buf, size_t len) {
    if (!isfinite(v))
        snprintf(buf, len, "-");
    else if (fabs(v) >= 1000)
        snprintf(buf, len, "%.0f", v);
    else if (fabs(v) >= 100)
        snprintf(buf, len, "%.1f", v);
    else if (fabs(v) >= 10)
        snprintf(buf, len, "%.2f", v);
    else
        snprintf(buf, len, "%.3g", v);
    return buf;
}

void kt_ins_wrap(const char *lead, int col, const char *text) {
    int at = printf("%s", lead);
    if (at > col) {
        printf("\n");
        at = 0;
    }
    at += printf("%*s", col - at, "");
    int fresh = 1; /* nothing printed on this line after the indent */
    for (const char *p = text; *p;) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *sp = strchr(p, ' ');
        int wl = sp ? (int)(sp - p) : (int)strlen(p);
        if (!fresh && at + 1 + wl > 79) {
            printf("\n%*s", col, "");
            at = col;
            fresh = 1;
        }
        at += printf("%s%.*s", fresh ? "" : " ", wl, p);
        fresh = 0;
        p += wl;
    }
    printf("\n");
}

void kt_ins_verification(const kt_db_dump *d, int64_t machine, kt_ins_verify *out) {
    memset(out, 0, sizeof *out);
    out->geomean = out->worst = NAN;
    /* the newest run of machine with rows */
    const kt_db_run_row *best = NULL;
    for (size_t i = 0; i < d->nverifications; i++) {
        const kt_db_verify_row *v = &d->verifications[i];
        const kt_db_run_row *r = kt_ins_run(d, v->run);
        if (v->machine != machine || !r) continue;
        if (!best || strcmp(r->started, best->started) > 0) best = r;
    }
    if (!best) return;
    out->run = best->id;
    double ls = 0;
    /* per op: each fixed variant's log sum and count, over the final pass of each size */
    json_t *fixed = json_object();
    for (size_t i = 0; i < d->nverifications; i++) {
        const kt_db_verify_row *v = &d->verifications[i];
        if (v->run != best->id || v->machine != machine) continue;
        int final = v->pass == 2;
        if (v->pass == 1) { /* a pass 2 of the same size replaces it */
            final = 1;
            for (size_t j = 0; j < d->nverifications; j++) {
                const kt_db_verify_row *w = &d->verifications[j];
                if (w->run == v->run && w->pass == 2 && !strcmp(w->op, v->op) && w->m == v->m &&
                    w->n == v->n && w->k == v->k)
                    final = 0;
            }
        }
        if (v->pass == 2) out->remeasured++;
        if (!final || !isfinite(v->ratio)) continue;
        out->sizes++;
        ls += log(v->ratio);
        if (!(v->ratio <= out->worst)) {
            out->worst = v->ratio;
            kt_op_id id = kt_op_find(v->op);
            size_t dims[3];
            char dbuf[64];
            kt_ins_unpack(id, v->m, v->n, v->k, dims);
            snprintf(out->worst_at, sizeof out->worst_at, "%s %s", v->op,
                     kt_ins_dims(id, dims, dbuf, sizeof dbuf));
        }
        json_t *f = json_loads(v->fixed, 0, NULL), *acc = json_object_get(fixed, v->op);
        if (!acc) json_object_set_new(fixed, v->op, acc = json_object());
        const char *name;
        json_t *val;
        json_object_foreach(f, name, val) {
            json_t *e = json_object_get(acc, name);
            if (!e) json_object_set_new(acc, name, e = json_pack("[f, i]", 0.0, 0));
            double r = json_number_value(val);
            if (r > 0) {
                double sum = json_real_value(json_array_get(e, 0)) + log(r);
                json_int_t cnt = json_integer_value(json_array_get(e, 1)) + 1;
                json_array_set_new(e, 0, json_real(sum));
                json_array_set_new(e, 1, json_integer(cnt));
            }
        }
        json_decref(f);
        json_t *cnt = json_object_get(acc, "");
        json_object_set_new(acc, "", json_integer(cnt ? json_integer_value(cnt) + 1 : 1));
    }
    out->geomean = out->sizes ? exp(ls / out->sizes) : NAN;
    const char *op;
    json_t *acc;
    json_object_foreach(fixed, op, acc) {
        json_int_t sizes = json_integer_value(json_object_get(acc, ""));
        const char *name;
        json_t *e;
        json_object_foreach(acc, name, e) {
            if (!*name || json_integer_value(json_array_get(e, 1)) != sizes) continue;
            double g = exp(json_real_value(json_array_get(e, 0)) / (double)sizes);
            if (g < 1.0 && !out->faster[0])
                snprintf(out->faster, sizeof out->faster, "%s: always %s takes %.3fx the "
                         "dispatched time", op, name, g);
        }
    }
    json_decref(fixed);
}
