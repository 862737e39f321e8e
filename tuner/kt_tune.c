/*
 * The tuner: measures every usable variant of the selected ops over a size
 * sweep, stores every measurement in the database as soon as it is made,
 * locates crossovers by bisection, recomputes the choices dispatch reads
 * (tuner/kt_choose.c) and verifies them at held-out sizes (tuner/kt_verify.c).
 * See kt_tune.h and DESIGN.md "Tuning" for the method.
 */
#include "config.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kt_tune_int.h"

static size_t add(kt_shape *v, size_t n, size_t m_, size_t n_, size_t k_, int fam) {
    v[n] = (kt_shape){{m_, n_, k_}, fam};
    return n + 1;
}

/*
 * A nominal grid size moved to a typical one near it: 0.85 s made odd (3, 13,
 * 55, 217, 871, 3481, ... for 4, 16, 64, ...), sizes up to 2 as they are.
 * A power of two is the least typical size there is: every SIMD loop runs
 * without a tail, every unrolled loop without a remainder, and a row stride
 * that is a large power of two puts a tile's rows in few cache sets.  A tuned
 * point stands for a neighbourhood, so it must be a size like its neighbours
 * (add_scalar_f32 on AMD EPYC Zen 5: avx2 and avx512 tied at n = 16, whole
 * vectors for both, and at n = 15, held out, avx512 took 0.77x avx2's time;
 * transpose_f64 chose threads:t=2 at 1024^2, where the avx2 tiles thrashed,
 * and ran it up to 2.7x slower than avx2 from 584 to 2041).
 */
static size_t typical(size_t s) { return s <= 2 ? s : (size_t)(0.85 * (double)s) | 1; }

/* Adds the nominal shape (m_, n_, k_) as it is (nominal) or at typical() of each. */
static size_t add_typical(kt_shape *v, size_t n, size_t m_, size_t n_, size_t k_, int fam,
                          int nominal) {
    if (nominal) return add(v, n, m_, n_, k_, fam);
    return add(v, n, typical(m_), typical(n_), k_ ? typical(k_) : 0, fam);
}

/* The grid of op, its shapes as tuned (nominal 0) or at their nominal sizes (1). */
static size_t grid(kt_op_id op, int quick, int nominal, kt_shape **out) {
    kt_shape *v = malloc(64 * sizeof *v);
    size_t n = 0;
    if (!v) return 0;
    const char *fam = kt_ops[op].family;
    if (!strcmp(fam, "transpose") || !strcmp(fam, "stencil3x3")) {
        /*
         * Squares about 4x apart up to 5 / 80 MiB of f32 input, a tall and a
         * wide shape, one odd; none a power of two nor with a large power of
         * two as a factor (see typical()).
         */
        static const size_t sq[] = {16, 67, 271, 1103, 4421};
        for (size_t i = 0; i < sizeof sq / sizeof *sq - !!quick; i++)
            n = add(v, n, sq[i], sq[i], 0, 0);
        n = add(v, n, 4111, 67, 0, 1); /* tall */
        n = add(v, n, 67, 4111, 0, 2); /* wide */
        n = add(v, n, 333, 517, 0, 3); /* odd: no tile or vector divides it */
        *out = v;
        return n;
    }
    /* the other ops: nominal sizes at powers of two, each tuned at typical() of it */
    if (!strcmp(fam, "sort")) {
        for (size_t s = 16; s <= (quick ? (size_t)1 << 20 : (size_t)1 << 24); s *= quick ? 16 : 4)
            n = add_typical(v, n, s, s, s, 0, nominal);
        *out = v;
        return n;
    }
    switch (kt_ops[op].ndims) {
    case 1: {
        size_t top = quick ? (size_t)1 << 25 : (size_t)1 << 27, step = quick ? 8 : 4;
        for (size_t s = 1; s <= top; s *= step) n = add_typical(v, n, s, s, s, 0, nominal);
        break;
    }
    case 2:
        for (size_t s = 4; s <= (quick ? 4096u : 16384u); s *= 4)
            n = add_typical(v, n, s, s, 0, 0, nominal);
        n = add_typical(v, n, 16384, 256, 0, 1, nominal); /* tall */
        if (!quick) n = add_typical(v, n, 262144, 64, 0, 1, nominal);
        n = add_typical(v, n, 256, 16384, 0, 2, nominal); /* wide */
        if (!quick) n = add_typical(v, n, 64, 262144, 0, 2, nominal);
        break;
    default:
        for (size_t s = 4; s <= (quick ? 512u : 2048u); s *= 2)
            n = add_typical(v, n, s, s, s, 0, nominal);
        n = add_typical(v, n, 512, 512, 32, 1, nominal); /* skinny k: rank-32 update */
        if (!quick) n = add_typical(v, n, 2048, 2048, 32, 1, nominal);
        n = add_typical(v, n, 4096, 32, 256, 2, nominal); /* tall and skinny */
        if (!quick) n = add_typical(v, n, 16384, 32, 512, 2, nominal);
        n = add_typical(v, n, 24, 40, 64, 3, nominal); /* small rectangles */
        n = add_typical(v, n, 100, 7, 33, 3, nominal);
        break;
    }
    *out = v;
    return n;
}

size_t kt_tune_default_grid(kt_op_id op, int quick, kt_shape **out) {
    return grid(op, quick, 0, out);
}

size_t kt_tune_nominal_grid(kt_op_id op, kt_shape **out) { return grid(op, 0, 1, out); }


int kt_tuner_stopping(kt_tuner *t) {
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

/* One progress line (or the bar on a terminal): the point's choice and its time. */
static void progress(kt_tuner *t, kt_op_id op, const size_t *d, const kt_point *pt, int w) {
    if (!t->o->progress) return;
    double el = kt_now() - t->start;
    double eta = t->steps_done ? el / (double)t->steps_done *
                                     (double)(t->steps_total > t->steps_done
                                                  ? t->steps_total - t->steps_done
                                                  : 0)
                               : 0;
    char shape[64];
    if (kt_ops[op].ndims == 1) snprintf(shape, sizeof shape, "n=%zu", d[0]);
    else if (kt_ops[op].ndims == 2) snprintf(shape, sizeof shape, "%zux%zu", d[0], d[1]);
    else snprintf(shape, sizeof shape, "%zux%zux%zu", d[0], d[1], d[2]);
    if (t->o->progress == 2) {
        int width = 30, fill = t->steps_total ? (int)(width * t->steps_done / t->steps_total) : 0;
        if (fill > width) fill = width;
        fprintf(stderr, "\r[%.*s%*s] %3d%% %-15s %-16s ETA %3.0f s ", fill,
                "##############################", width - fill, "",
                t->steps_total ? (int)(100 * t->steps_done / t->steps_total) : 0, kt_ops[op].name,
                shape, eta);
    } else if (w >= 0) {
        char tm[32];
        double med = pt->dc[w].median_s;
        if (med < 1e-6) snprintf(tm, sizeof tm, "%.1f ns", med * 1e9);
        else if (med < 1e-3) snprintf(tm, sizeof tm, "%.2f us", med * 1e6);
        else snprintf(tm, sizeof tm, "%.2f ms", med * 1e3);
        fprintf(stderr, "tune: %s %s: %s %s%s (%zu/%zu, %.0f s)\n", kt_ops[op].name, shape,
                t->cand[w]->name, tm, pt->d.resolved ? "" : " (unresolved)", t->steps_done,
                t->steps_total, el);
    } else {
        fprintf(stderr, "tune: %s %s: - (%zu/%zu, %.0f s)\n", kt_ops[op].name, shape,
                t->steps_done, t->steps_total, el);
    }
}

static void pack(kt_op_id op, const size_t dims[3], kt_db_measurement *m) {
    size_t mnk[3];
    kt_db_dims_pack(kt_ops[op].ndims, dims, mnk);
    m->m = mnk[0], m->n = mnk[1], m->k = mnk[2];
}

/* The store behind the tuner: its database, or the hooks of an MPI rank (kt_tune_int.h). */
static kt_status tuner_get(kt_tuner *t, kt_db_measurement *m) {
    return t->get ? t->get(t->io, m) : kt_db_measurement_get(t->db, m);
}
static kt_status tuner_put(kt_tuner *t, const kt_db_measurement *m) {
    return t->put ? t->put(t->io, m) : kt_db_measurement_put(t->db, m);
}

kt_dcand kt_tuner_dcand(const kt_variant *v, const kt_db_measurement *m, float *rounds) {
    int n = m->nrounds > KT_DB_MAX_ROUNDS ? KT_DB_MAX_ROUNDS : m->nrounds;
    memcpy(rounds, m->rounds, (size_t)(n > 0 ? n : 0) * sizeof *rounds);
    return (kt_dcand){m->valid ? m->median_s : INFINITY, m->spread, v->cost, v->threads,
                      m->batch, rounds, n, kt_variant_order(v)};
}

int kt_tuner_measure_point(kt_tuner *t, kt_op_id op, const size_t dims[3], kt_point *pt,
                           int force, kt_status *err) {
    kt_mresult res[KT_MAX_CAND];
    size_t idx[KT_MAX_CAND], nm = 0;
    *err = KT_OK;
    memcpy(pt->sh.d, dims, sizeof pt->sh.d);
    for (size_t i = 0; i < t->ncand; i++) {
        pt->dc[i] = (kt_dcand){INFINITY, NAN, t->cand[i]->cost, t->cand[i]->threads, 0, NULL, 0,
                               kt_variant_order(t->cand[i])};
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
            if ((*err = tuner_put(t, &m)) != KT_OK) return -1;
            continue;
        }
        if (!force && !t->o->force && tuner_get(t, &m) == KT_OK) {
            pt->dc[i] = kt_tuner_dcand(t->cand[i], &m, pt->rounds[i]);
            t->rep->reused++;
            continue;
        }
        if (t->skip[i]) continue;
        if (!kt_variant_size_ok(t->cand[i], dims)) continue; /* below its minimum size */
        res[nm] = (kt_mresult){.v = t->cand[i]};
        idx[nm++] = i;
    }
    if (nm) {
        int64_t batch = t->run * 100000 + ++t->batches;
        if ((*err = kt_measure(op, dims, res, nm, &t->mo, 0x7e57ull + dims[0] * 31 + dims[1])) !=
            KT_OK)
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
            m.batch = batch;
            m.nrounds = r->nrounds > KT_DB_MAX_ROUNDS ? KT_DB_MAX_ROUNDS : r->nrounds;
            memcpy(m.rounds, r->rounds, (size_t)m.nrounds * sizeof *m.rounds);
            if (!m.valid) snprintf(m.error, sizeof m.error, "run failed: %s", r->error);
            if ((*err = tuner_put(t, &m)) != KT_OK) return -1;
            pt->dc[i] = kt_tuner_dcand(r->v, &m, pt->rounds[i]);
            t->rep->measured++;
        }
    }
    pt->d = kt_decide(pt->dc, (int)t->ncand, t->mo.tie, t->mo.threads_tie);
    return pt->d.pick;
}

void kt_tuner_candidates(kt_tuner *t, kt_op_id op) {
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
void kt_tuner_validate(kt_tuner *t) {
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

int kt_tuner_accepts(const kt_tuner *t, const kt_point *pt, int a) {
    return a >= 0 && pt->d.leader >= 0 &&
           kt_acceptable(pt->dc, a, pt->d.leader, t->mo.tie, t->mo.threads_tie);
}

/*
 * Bisects between shapes lo and hi of one family (winners wlo != whi) at
 * geometric midpoints, dimension by dimension, until the work of the two
 * differs by less than 25%: the crossover is then located within 25%.
 */
int kt_tuner_bisect_mid(int nd, kt_shape lo, kt_shape hi, kt_shape *mid) {
    double ratio = 1;
    *mid = lo;
    for (int j = 0; j < nd; j++) {
        ratio *= (double)hi.d[j] / (double)lo.d[j];
        mid->d[j] = (size_t)llround(sqrt((double)lo.d[j] * (double)hi.d[j]));
    }
    return !(ratio <= 1.25 || !memcmp(mid->d, lo.d, sizeof mid->d) ||
             !memcmp(mid->d, hi.d, sizeof mid->d));
}

kt_status kt_tuner_bisect(kt_tuner *t, kt_op_id op, kt_shape lo, int wlo, kt_shape hi) {
    int nd = kt_ops[op].ndims;
    kt_point *pt = malloc(sizeof *pt);
    if (!pt) return kt_fail(KT_ENOMEM, "tune: out of memory");
    kt_status st = KT_OK;
    kt_shape mid;
    while (!kt_tuner_stopping(t) && kt_tuner_bisect_mid(nd, lo, hi, &mid)) {
        int w = kt_tuner_measure_point(t, op, mid.d, pt, 0, &st);
        if (st != KT_OK) break;
        progress(t, op, mid.d, pt, w);
        if (w == wlo)
            lo = mid;
        else
            hi = mid;
    }
    free(pt);
    return st;
}

char *kt_tuner_machine_details(void) {
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
void kt_tuner_store_limits(kt_tuner *t, size_t l3) {
    double best = 0, peak[2] = {0, 0};
    if (!l3) l3 = (size_t)32 << 20;
    for (int op = 0; op < (int)kt_op_count(); op++) {
        int compute = strcmp(kt_ops[op].unit, "GFLOP/s") == 0;
        if (!compute && strcmp(kt_ops[op].unit, "GB/s") != 0) continue; /* sort: Gelem/s */
        kt_db_measurement *ms = NULL;
        size_t n = 0;
        kt_op_id k = (kt_op_id)op;
        if (kt_db_measurements_list(t->db, t->machine, kt_ops[op].name, kt_tuner_keep_current,
                                    &k, &ms, &n) != KT_OK)
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

/* The sweep of op: --sizes (n, or squares for matrix ops), else the default; within RAM/4. */
kt_status kt_tuner_make_grid(kt_tuner *t, kt_op_id op) {
    const kt_tune_opts *o = t->o;
    if (o->shapes[op]) {
        /* --from-profile: the recorded shapes; vector ops in size order, to bisect */
        t->grid[op] = malloc((o->nshapes[op] ? o->nshapes[op] : 1) * sizeof **t->grid);
        if (!t->grid[op]) return kt_fail(KT_ENOMEM, "tune: out of memory");
        memcpy(t->grid[op], o->shapes[op], o->nshapes[op] * sizeof **t->grid);
        t->ngrid[op] = o->nshapes[op];
        if (kt_ops[op].ndims == 1)
            for (size_t i = 1; i < t->ngrid[op]; i++)
                for (size_t j = i; j > 0 && t->grid[op][j].d[0] < t->grid[op][j - 1].d[0]; j--) {
                    kt_shape x = t->grid[op][j];
                    t->grid[op][j] = t->grid[op][j - 1], t->grid[op][j - 1] = x;
                }
    } else if (o->sizes) {
        t->grid[op] = malloc((o->nsizes ? o->nsizes : 1) * sizeof **t->grid);
        if (!t->grid[op]) return kt_fail(KT_ENOMEM, "tune: out of memory");
        for (size_t i = 0; i < o->nsizes; i++)
            t->grid[op][i] = (kt_shape){{o->sizes[i], o->sizes[i], o->sizes[i]}, 0};
        t->ngrid[op] = o->nsizes;
    } else {
        t->ngrid[op] = kt_tune_default_grid(op, o->quick, &t->grid[op]);
        if (!t->grid[op]) return kt_fail(KT_ENOMEM, "tune: out of memory");
    }
    /* never more memory than a quarter of RAM for one problem */
    size_t keep = 0;
    for (size_t i = 0; i < t->ngrid[op]; i++)
        if (kt_ops[op].bytes(t->grid[op][i].d) <= t->ram / 4) t->grid[op][keep++] = t->grid[op][i];
    t->ngrid[op] = keep;
    return KT_OK;
}

double kt_tuner_skip_factor(kt_op_id op) {
    if (!strcmp(kt_ops[op].unit, "GFLOP/s")) return 8;
    if (!strcmp(kt_ops[op].family, "sort")) return 3;
    return 0;
}

void kt_tuner_skips(kt_tuner *t, kt_op_id op, const kt_shape *g, size_t i, const kt_point *prev,
                    int prev_win) {
    double f = kt_tuner_skip_factor(op);
    memset(t->skip, 0, sizeof t->skip);
    if (f > 0 && i > 0 && g[i - 1].family == g[i].family && prev_win >= 0) {
        double wr = kt_ops[op].flops(g[i].d) / kt_ops[op].flops(g[i - 1].d);
        double best = prev->dc[prev_win].median_s;
        for (size_t c = 0; c < t->ncand; c++) {
            double m = prev->dc[c].median_s;
            t->skip[c] = (m > f * best && m * wr > 0.02) || (!isfinite(m) && i > 1);
        }
    }
}

void kt_tuner_bisect_skips(kt_tuner *t, kt_op_id op, const kt_point *lo, int wlo,
                           const kt_point *hi, int whi) {
    double f = kt_tuner_skip_factor(op);
    memset(t->skip, 0, sizeof t->skip);
    if (!(f > 0) || wlo < 0 || whi < 0) return;
    double blo = lo->dc[wlo].median_s, bhi = hi->dc[whi].median_s;
    for (size_t c = 0; c < t->ncand; c++) {
        double a = lo->dc[c].median_s, b = hi->dc[c].median_s;
        int far_lo = !isfinite(a) || a > f * blo, far_hi = !isfinite(b) || b > f * bhi;
        /* what it would cost at the top end: its time there, or at the bottom */
        double cost = isfinite(b) ? b : isfinite(a) ? a * kt_ops[op].flops(hi->sh.d) /
                                                          kt_ops[op].flops(lo->sh.d)
                                                    : INFINITY;
        t->skip[c] = far_lo && far_hi && cost > 0.02;
    }
}

/*
 * Tunes one op: validation, the sweep (compute-bound candidates far behind
 * skipped), bisection where the winner changes for real, then the choices.
 */
static kt_status tune_op(kt_tuner *t, kt_op_id op) {
    size_t ng = t->ngrid[op];
    kt_shape *g = t->grid[op];
    kt_tuner_candidates(t, op);
    if (!t->ncand || !ng) return KT_OK;
    kt_tuner_validate(t);
    kt_point *pts = calloc(ng, sizeof *pts);
    int *win = calloc(ng, sizeof *win);
    if (!pts || !win) {
        free(pts), free(win);
        return kt_fail(KT_ENOMEM, "tune: out of memory");
    }
    kt_status s = KT_OK;
    size_t done = 0;
    for (size_t i = 0; i < ng && s == KT_OK && !kt_tuner_stopping(t); i++) {
        /* compute-bound ops and sorts: the far behind are not measured again (kt_tune_int.h) */
        kt_tuner_skips(t, op, g, i, i > 0 ? &pts[i - 1] : NULL, i > 0 ? win[i - 1] : -1);
        win[i] = kt_tuner_measure_point(t, op, g[i].d, &pts[i], 0, &s);
        t->steps_done++;
        done = i + 1;
        progress(t, op, g[i].d, &pts[i], win[i]);
    }
    memset(t->skip, 0, sizeof t->skip);
    /*
     * Bisect where the winner changes for real: neither end's winner is
     * acceptable at the other end (each is shown slower there beyond the tie
     * window); otherwise one variant serves both and the choice hardly matters.
     */
    for (size_t i = 0; i + 1 < done && s == KT_OK && !kt_tuner_stopping(t); i++) {
        int a = win[i], b = win[i + 1];
        if (a < 0 || b < 0 || a == b || g[i].family != g[i + 1].family) continue;
        if (kt_tuner_accepts(t, &pts[i + 1], a) || kt_tuner_accepts(t, &pts[i], b)) continue;
        kt_tuner_bisect_skips(t, op, &pts[i], a, &pts[i + 1], b);
        s = kt_tuner_bisect(t, op, g[i], a, g[i + 1]);
        memset(t->skip, 0, sizeof t->skip);
    }
    free(pts), free(win);
    if (s == KT_OK) s = kt_tuner_choose(t, op);
    return s;
}

kt_status kt_tune_run(const kt_tune_opts *o, kt_tune_report *rep) {
    kt_tuner t = {.o = o, .rep = rep, .mo = kt_mopts_default(o->quick), .start = kt_now()};
    kt_mstats busy = {0, 0};
    t.mo.stats = &busy;
    memset(rep, 0, sizeof *rep);
    rep->verify_geomean = rep->verify_worst = NAN;
    t.ram = (double)kt_cpu_get()->ram;
    kt_status s = kt_db_open_write(o->db_path, &t.db);
    if (s != KT_OK) return s;
    char *details = kt_tuner_machine_details();
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
    for (int op = 0; op < (int)kt_op_count() && s == KT_OK; op++) {
        if (!o->ops[op]) continue;
        s = kt_tuner_make_grid(&t, (kt_op_id)op);
        t.steps_total += t.ngrid[op];
    }
    if (s == KT_OK && o->sizes && t.steps_total == 0) {
        /* every requested size was dropped: say which, and fail (nothing was tuned) */
        char list[160] = "";
        size_t shown = 0;
        for (size_t l = 0; shown < o->nsizes && l + 24 < sizeof list; shown++)
            l += (size_t)snprintf(list + l, sizeof list - l, "%s%zu", shown ? "," : "",
                                  o->sizes[shown]);
        s = kt_fail(KT_EINVAL, "--sizes %s%s: too large for this machine's memory (one "
                    "problem may take a quarter of its %.1f GiB), nothing tuned", list,
                    shown < o->nsizes ? ",..." : "", t.ram / 1073741824.0);
    }
    /* --from-profile: op_order lists the built-in ops, most time first */
    size_t nops = o->op_order ? (size_t)KT_OP_COUNT : kt_op_count();
    for (size_t i = 0; i < nops && s == KT_OK && !kt_tuner_stopping(&t); i++) {
        int op = o->op_order ? o->op_order[i] : (int)i;
        if (op >= 0 && (size_t)op < kt_op_count() && o->ops[op]) s = tune_op(&t, (kt_op_id)op);
    }
    if (s == KT_OK) kt_tuner_store_limits(&t, kt_cpu_get()->l3);
    if (o->progress == 2) fputc('\n', stderr);
    if (s == KT_OK && !o->no_verify && !rep->stopped) s = kt_tuner_verify(&t);
    for (int op = 0; op < (int)kt_op_count(); op++) {
        free(t.grid[op]);
        rep->points += t.counts[op][0], rep->crossovers += t.counts[op][1];
        rep->merged += t.counts[op][2], rep->unresolved += t.counts[op][3];
    }
    kt_status e = kt_db_run_end(t.db, t.run,
                                s != KT_OK      ? KT_DB_RUN_FAILED
                                : rep->stopped  ? KT_DB_RUN_INTERRUPTED
                                                : KT_DB_RUN_COMPLETE);
    if (s == KT_OK) s = e;
    kt_status c = kt_db_close(t.db);
    if (s == KT_OK) s = c;
    rep->elapsed_s = kt_now() - t.start;
    rep->rounds_redone = busy.rounds_redone;
    rep->rounds_uneven = busy.rounds_uneven;
    return s;
}
