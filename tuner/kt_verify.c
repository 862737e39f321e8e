/*
 * The verification pass that ends every tuning run.  Dispatch is rebuilt
 * from the database just written and timed, through the public entry
 * points, against every fixed variant at sizes the run did not tune: drawn
 * from a seeded generator (the seed is stored with each row) within each
 * op's tuned range.  The per-size best fixed variant is picked on the even
 * rounds and timed on the odd ones (the minimum over noisy candidates is
 * biased low: it is never the yardstick).  A size where dispatch is more
 * than 5% behind gets its neighbourhood re-measured once (the tuned points
 * around it, and the crossover between them located again when their
 * winners differ), then is verified again as pass 2.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_dispatch.h"
#include "kt_tune_int.h"

#define KT_VERIFY_BEHIND 1.05 /* re-measure where dispatch is further behind than this */

/* One held-out size and what its verification found. */
typedef struct vsize {
    kt_op_id op;
    size_t d[3];
    double ratio;               /* dispatched / best fixed (odd rounds); NAN: not measured */
    int nf;                     /* fixed variants timed, and their time / dispatched */
    const kt_variant *fv[KT_MAX_CAND];
    double fr[KT_MAX_CAND];
    kt_db_verify_row row;
} vsize;

/* Uniform in [0, 1). */
static double unit(kt_rng *r) {
    return (double)(kt_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Whether dims is one of the tuned points in ms[0..n) (packed dims). */
static int is_tuned(kt_op_id op, const size_t d[3], const kt_db_measurement *ms, size_t n) {
    size_t mnk[3];
    kt_db_dims_pack(kt_ops[op].ndims, d, mnk);
    for (size_t i = 0; i < n; i++)
        if (ms[i].m == mnk[0] && ms[i].n == mnk[1] && ms[i].k == mnk[2]) return 1;
    return 0;
}

size_t kt_tune_draw_sizes(kt_op_id op, const kt_shape *g, size_t ng, kt_rng *rng, size_t want,
                          kt_shape *out) {
    size_t got = 0;
    double ram = (double)kt_cpu_get()->ram;
    int nd = kt_ops[op].ndims;
    if (!ng) return 0;
    for (int tries = 0; got < want && tries < 50 * (int)want; tries++) {
        size_t d[3] = {0, 0, 0};
        if (nd == 1) {
            double lo = log((double)g[0].d[0]), hi = log((double)g[ng - 1].d[0]);
            d[0] = (size_t)llround(exp(lo + (hi - lo) * unit(rng)));
        } else {
            size_t i = (size_t)(kt_rng_next(rng) % ng);
            size_t j = i + 1 < ng && g[i + 1].family == g[i].family ? i + 1 : i;
            double f = unit(rng);
            for (int k = 0; k < nd; k++) {
                double a = log((double)g[i].d[k]), b = log((double)g[j].d[k]);
                double x = exp(a + (b - a) * f) * exp(log(1.25) * (2 * unit(rng) - 1));
                d[k] = x < 1 ? 1 : (size_t)llround(x);
            }
        }
        if (!d[0] || kt_ops[op].bytes(d) > ram / 8) continue;
        if (nd == 3 && kt_ops[op].flops(d) > 2e9) continue;
        out[got++] = (kt_shape){{d[0], d[1], d[2]}, 0};
    }
    return got;
}

/* Up to want held-out sizes of op for the verification: drawn, never a tuned size. */
static size_t draw_sizes(const kt_tuner *t, kt_op_id op, kt_rng *rng, const kt_db_measurement *ms,
                         size_t nms, size_t want, vsize *out) {
    kt_shape sh[64];
    size_t got = 0;
    for (int tries = 0; got < want && tries < 8; tries++) {
        size_t n = kt_tune_draw_sizes(op, t->grid[op], t->ngrid[op], rng,
                                      want - got < 64 ? want - got : 64, sh);
        for (size_t i = 0; i < n && got < want; i++)
            if (!is_tuned(op, sh[i].d, ms, nms))
                out[got++] = (vsize){.op = op, .d = {sh[i].d[0], sh[i].d[1], sh[i].d[2]},
                                     .ratio = NAN};
        if (!n) break;
    }
    return got;
}

/* The stored tuned point of op nearest to d in log space (packed dims into mnk). */
static int nearest_point(kt_op_id op, const size_t d[3], const kt_db_measurement *ms, size_t n,
                         size_t near[3], size_t below[3], size_t above[3]) {
    int nd = kt_ops[op].ndims, found = 0;
    double best = INFINITY, lo = -INFINITY, hi = INFINITY;
    below[0] = above[0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t mnk[3] = {ms[i].m, ms[i].n, ms[i].k}, p[3];
        kt_db_dims_unpack(nd, mnk, p);
        double dist = 0;
        for (int k = 0; k < nd; k++) {
            double x = log2((double)p[k]) - log2((double)d[k]);
            dist += x * x;
        }
        if (dist < best) best = dist, memcpy(near, p, 3 * sizeof *p), found = 1;
        if (nd == 1) {
            double x = (double)p[0] - (double)d[0];
            if (x < 0 && x > lo) lo = x, memcpy(below, p, 3 * sizeof *p);
            if (x > 0 && x < hi) hi = x, memcpy(above, p, 3 * sizeof *p);
        }
    }
    return found;
}

/*
 * Times the dispatched call against every fixed candidate at v->d and fills
 * v->row.  Candidates far behind at the nearest tuned point (over 8x, and
 * predicted over 20 ms a call) are not timed.
 */
static kt_status verify_one(kt_tuner *t, vsize *v, int pass, uint64_t seed,
                            const kt_db_measurement *ms, size_t nms) {
    kt_op_id op = v->op;
    kt_mresult *res = calloc(t->ncand + 1, sizeof *res);
    if (!res) return kt_fail(KT_ENOMEM, "verify: out of memory");
    size_t near[3] = {0, 0, 0}, below[3], above[3], nres = 1;
    int have = nearest_point(op, v->d, ms, nms, near, below, above);
    double wr = have ? kt_ops[op].flops(v->d) / kt_ops[op].flops(near) : 1, best = INFINITY;
    size_t pk[3];
    kt_db_dims_pack(kt_ops[op].ndims, near, pk);
    for (size_t i = 0; have && i < nms; i++)
        if (ms[i].m == pk[0] && ms[i].n == pk[1] && ms[i].k == pk[2] && ms[i].median_s < best)
            best = ms[i].median_s;
    for (size_t c = 0; c < t->ncand; c++) {
        double m = INFINITY;
        for (size_t i = 0; have && i < nms; i++)
            if (ms[i].m == pk[0] && ms[i].n == pk[1] && ms[i].k == pk[2] &&
                !strcmp(ms[i].variant, t->cand[c]->name))
                m = ms[i].median_s;
        if (t->invalid[c][0]) continue;
        if (isfinite(best) && (!isfinite(m) || (m > 8 * best && m * wr > 0.02))) continue;
        res[nres++].v = t->cand[c];
    }
    kt_mopts mo = t->mo;
    mo.decide = 0;
    mo.min_samples = mo.max_samples = t->o->quick ? 10 : 16;
    mo.max_s *= 2;
    kt_dispatch_info di;
    kt_dispatch_explain(kt_ops[op].name, v->d, &di);
    kt_status s = kt_measure(op, v->d, res, nres, &mo, seed ^ (v->d[0] * 2654435761u));
    if (s != KT_OK || res[0].status != KT_OK || !res[0].samples) {
        if (s == KT_OK) s = kt_fail(KT_EINTERNAL, "verify: the dispatched call failed: %s",
                                    res[0].error);
        free(res);
        return s;
    }
    /* best fixed variant on the even rounds, timed on the odd ones */
    int bi = -1;
    double bmed = INFINITY;
    for (size_t i = 1; i < nres; i++) {
        if (res[i].status != KT_OK || !res[i].samples) continue;
        double m = kt_rounds_half_median(res[i].rounds, res[i].nrounds, 0);
        if (m < bmed) bmed = m, bi = (int)i;
    }
    kt_db_verify_row *r = &v->row;
    memset(r, 0, sizeof *r);
    r->machine = t->machine;
    r->run = t->run;
    snprintf(r->op, sizeof r->op, "%s", kt_ops[op].name);
    size_t mnk[3];
    kt_db_dims_pack(kt_ops[op].ndims, v->d, mnk);
    r->m = mnk[0], r->n = mnk[1], r->k = mnk[2];
    r->pass = pass;
    r->seed = seed;
    snprintf(r->dispatched, sizeof r->dispatched, "%s", di.variant);
    r->dispatched_s = kt_rounds_half_median(res[0].rounds, res[0].nrounds, 1);
    r->best_s = r->ratio = NAN;
    if (bi > 0) {
        snprintf(r->best, sizeof r->best, "%s", res[bi].v->name);
        r->best_s = kt_rounds_half_median(res[bi].rounds, res[bi].nrounds, 1);
        r->ratio = r->dispatched_s / r->best_s;
    }
    /* every fixed variant's odd-round time against the dispatched call's */
    size_t len = (size_t)snprintf(r->fixed, sizeof r->fixed, "{");
    v->nf = 0;
    for (size_t i = 1; i < nres && len < sizeof r->fixed; i++) {
        double m = kt_rounds_half_median(res[i].rounds, res[i].nrounds, 1);
        if (!isfinite(m) || !(r->dispatched_s > 0)) continue;
        v->fv[v->nf] = res[i].v;
        v->fr[v->nf++] = m / r->dispatched_s;
        len += (size_t)snprintf(r->fixed + len, sizeof r->fixed - len, "%s\"%s\":%.4f",
                                len > 1 ? "," : "", res[i].v->name, m / r->dispatched_s);
    }
    if (len + 2 > sizeof r->fixed) {
        snprintf(r->fixed, sizeof r->fixed, "{}");
    } else {
        r->fixed[len] = '}';
        r->fixed[len + 1] = '\0';
    }
    v->ratio = r->ratio;
    free(res);
    return kt_db_verify_put(t->db, r);
}

/*
 * Re-measures the neighbourhood of held-out size v (once): the tuned points
 * around it, forced; a bisection between them when their winners differ
 * (vector ops), or a new point halfway to the nearest (matrix ops); then the
 * op's choices again.
 */
static kt_status remeasure(kt_tuner *t, const vsize *v, const kt_db_measurement *ms, size_t nms) {
    kt_op_id op = v->op;
    size_t near[3], below[3], above[3];
    if (!nearest_point(op, v->d, ms, nms, near, below, above)) return KT_OK;
    kt_point *pt = malloc(2 * sizeof *pt);
    if (!pt) return kt_fail(KT_ENOMEM, "verify: out of memory");
    kt_status s = KT_OK;
    if (kt_ops[op].ndims == 1 && below[0] && above[0]) {
        int wb = kt_tuner_measure_point(t, op, below, &pt[0], 1, &s);
        int wa = s == KT_OK ? kt_tuner_measure_point(t, op, above, &pt[1], 1, &s) : -1;
        if (s == KT_OK && wb >= 0 && wa >= 0 && wb != wa) {
            kt_shape lo = {{below[0], below[0], below[0]}, 0};
            kt_shape hi = {{above[0], above[0], above[0]}, 0};
            s = kt_tuner_bisect(t, op, lo, wb, hi);
        }
    } else {
        kt_tuner_measure_point(t, op, near, &pt[0], 1, &s);
        size_t mid[3] = {0, 0, 0};
        for (int k = 0; k < kt_ops[op].ndims; k++)
            mid[k] = (size_t)llround(sqrt((double)near[k] * (double)v->d[k]));
        if (s == KT_OK && memcmp(mid, near, sizeof mid) != 0)
            kt_tuner_measure_point(t, op, mid, &pt[1], 0, &s);
    }
    free(pt);
    return s;
}

/* The run's current measurements of op (for tuned sizes and far-behind skips). */
static kt_status load_ms(kt_tuner *t, kt_op_id op, kt_db_measurement **ms, size_t *n) {
    kt_op_id k = op;
    return kt_db_measurements_list(t->db, t->machine, kt_ops[op].name,
                                   t->o->variants ? NULL : kt_tuner_keep_current, &k, ms, n);
}

/* Geometric means over the final pass: dispatched/best, and each fixed variant per op. */
static void summarise(kt_tuner *t, const vsize *vs, size_t nv) {
    kt_tune_report *rep = t->rep;
    double lsum = 0;
    int cnt = 0;
    for (size_t i = 0; i < nv; i++) {
        if (!isfinite(vs[i].ratio)) continue;
        lsum += log(vs[i].ratio);
        cnt++;
        if (!(vs[i].ratio <= rep->verify_worst)) {
            rep->verify_worst = vs[i].ratio;
            const size_t *d = vs[i].d;
            int nd = kt_ops[vs[i].op].ndims;
            if (nd == 1) snprintf(rep->verify_worst_at, sizeof rep->verify_worst_at, "%s n=%zu",
                                  kt_ops[vs[i].op].name, d[0]);
            else if (nd == 2)
                snprintf(rep->verify_worst_at, sizeof rep->verify_worst_at, "%s %zux%zu",
                         kt_ops[vs[i].op].name, d[0], d[1]);
            else
                snprintf(rep->verify_worst_at, sizeof rep->verify_worst_at, "%s %zux%zux%zu",
                         kt_ops[vs[i].op].name, d[0], d[1], d[2]);
        }
    }
    rep->verified = cnt;
    rep->verify_geomean = cnt ? exp(lsum / cnt) : NAN;
    /* per op, each fixed variant timed at all its held-out sizes: time / dispatched */
    for (size_t i = 0; i < nv; i++) {
        for (int f = 0; f < vs[i].nf; f++) {
            const kt_variant *var = vs[i].fv[f];
            int first = 1, all = 1, cnt_v = 0;
            double ls = 0;
            for (size_t j = 0; j < nv && first; j++) {
                if (vs[j].op != vs[i].op || !isfinite(vs[j].ratio)) continue;
                int at = -1;
                for (int g = 0; g < vs[j].nf; g++)
                    if (vs[j].fv[g] == var) at = g;
                if (j < i && at >= 0) first = 0; /* counted at its first size already */
                if (at < 0) all = 0;
                else ls += log(vs[j].fr[at]), cnt_v++;
            }
            if (!first || !all || !cnt_v || exp(ls / cnt_v) >= 1.0) continue;
            if (!rep->fixed_faster)
                snprintf(rep->fixed_faster_what, sizeof rep->fixed_faster_what,
                         "%s: always %s takes %.3fx the dispatched time", kt_ops[vs[i].op].name,
                         var->name, exp(ls / cnt_v));
            rep->fixed_faster++;
        }
    }
}

kt_status kt_tuner_verify(kt_tuner *t) {
    uint64_t seed = t->o->seed ? t->o->seed : 0x9e3779b97f4a7c15ull ^ (uint64_t)t->run;
    size_t per_op = t->o->quick ? 3 : 5, cap = per_op * kt_op_count();
    vsize *vs = calloc(cap, sizeof *vs);
    if (!vs) return kt_fail(KT_ENOMEM, "verify: out of memory");
    kt_tuned_db_override(t->o->db_path);
    kt_status s = kt_reload() == KT_ENOMEM ? KT_ENOMEM : KT_OK;
    kt_rng rng;
    kt_rng_seed(&rng, seed);
    size_t nv = 0;
    for (int op = 0; op < (int)kt_op_count() && s == KT_OK && !kt_tuner_stopping(t); op++) {
        if (!t->o->ops[op] || !t->ngrid[op]) continue;
        kt_tuner_candidates(t, (kt_op_id)op);
        if (!t->ncand) continue;
        memset(t->invalid, 0, sizeof t->invalid);
        kt_db_measurement *ms = NULL;
        size_t nms = 0;
        if ((s = load_ms(t, (kt_op_id)op, &ms, &nms)) != KT_OK) break;
        for (size_t i = 0; i < t->ncand; i++) /* failed validation: stored as invalid */
            for (size_t j = 0; j < nms; j++)
                if (!strcmp(ms[j].variant, t->cand[i]->name) && !ms[j].valid)
                    snprintf(t->invalid[i], sizeof t->invalid[i], "invalid");
        size_t got = draw_sizes(t, (kt_op_id)op, &rng, ms, nms, per_op, vs + nv);
        for (size_t i = 0; i < got && s == KT_OK && !kt_tuner_stopping(t); i++)
            s = verify_one(t, &vs[nv + i], 1, seed, ms, nms);
        /* over 5% behind: re-measure the neighbourhood once, then verify again */
        int redo = 0;
        for (size_t i = 0; i < got && s == KT_OK && !kt_tuner_stopping(t); i++) {
            if (!(vs[nv + i].ratio > KT_VERIFY_BEHIND)) continue;
            kt_tuner_validate(t);
            s = remeasure(t, &vs[nv + i], ms, nms);
            redo = 1;
        }
        if (redo && s == KT_OK) s = kt_tuner_choose(t, (kt_op_id)op); /* replaces its counts */
        if (redo && s == KT_OK) s = kt_reload() == KT_ENOMEM ? KT_ENOMEM : KT_OK;
        if (redo && s == KT_OK) {
            free(ms);
            ms = NULL;
            if ((s = load_ms(t, (kt_op_id)op, &ms, &nms)) != KT_OK) break;
        }
        for (size_t i = 0; redo && i < got && s == KT_OK && !kt_tuner_stopping(t); i++) {
            if (!(vs[nv + i].ratio > KT_VERIFY_BEHIND)) continue;
            t->rep->remeasured++;
            s = verify_one(t, &vs[nv + i], 2, seed, ms, nms);
        }
        free(ms);
        nv += got;
    }
    if (s == KT_OK) summarise(t, vs, nv);
    free(vs);
    kt_tuned_db_override(NULL);
    kt_reload();
    return s;
}
