/*
 * Choices from the stored measurements.  For one op on this machine:
 *
 *   1. each tuned point is decided on its own (kt_decide: the cheapest
 *      variant not shown slower than the fastest beyond the tie window);
 *   2. evidence is shared across sizes: times are smooth in size, so along
 *      each shape family (vector ops: all sizes; matrix ops: shapes of one
 *      aspect ratio) the points are covered by as few runs of one variant as
 *      possible, a variant extending over a neighbour as long as it is
 *      acceptable there (not shown slower than that point's fastest beyond
 *      the window).  A winner change survives only where it is significant;
 *      points whose own winner lost to a neighbour's run are "merged";
 *   3. every choice stores its margin over the runner-up with a 95%
 *      interval and how it was decided.
 * Only valid measurements of the registry's current versions count.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_tune_int.h"

int kt_tuner_keep_current(void *ctx, const kt_db_measurement *me) {
    kt_op_id op = *(const kt_op_id *)ctx;
    const kt_variant *v = kt_variant_lookup(op, me->variant);
    return me->valid && v && v->version == me->version && !(v->flags & KT_VF_TEST);
}

long kt_shape_family(int ndims, const size_t d[3]) {
    if (ndims == 1 || !d[0] || !d[1]) return 0;
    long a = lround(2 * log2((double)d[0] / (double)d[1]));
    if (ndims == 2 || !d[2]) return a;
    return a * 1000 + lround(2 * log2((double)d[1] / (double)d[2]));
}

/* One stored point with its measurements ms[first .. first + count). */
typedef struct cpoint {
    size_t first, count;
    long family;
    double work;
    int var[KT_MAX_CAND];      /* each measurement's index in the op's variant list */
    kt_dcand dc[KT_MAX_CAND];
    kt_decision d;
    int assigned;              /* variant-list index chosen (-1 none) */
} cpoint;

/* The measurement index within p of variant-list entry v, or -1. */
static int slot_of(const cpoint *p, int v) {
    for (size_t c = 0; c < p->count; c++)
        if (p->var[c] == v) return (int)c;
    return -1;
}

static int acceptable(const kt_tuner *t, const cpoint *p, int v) {
    int c = slot_of(p, v);
    return c >= 0 && p->d.leader >= 0 &&
           kt_acceptable(p->dc, c, p->d.leader, t->mo.tie, t->mo.threads_tie);
}

static const cpoint *sort_base;
static int cmp_family(const void *a, const void *b) {
    const cpoint *x = &sort_base[*(const size_t *)a], *y = &sort_base[*(const size_t *)b];
    if (x->family != y->family) return x->family < y->family ? -1 : 1;
    return (x->work > y->work) - (x->work < y->work);
}

static int cmp_median(const void *a, const void *b) {
    const kt_db_choice *x = a, *y = b;
    return (x->median_s > y->median_s) - (x->median_s < y->median_s);
}

/*
 * Covers the family run ord[0..m) of points with as few runs of one variant
 * as possible (greedy: from each point, the acceptable variant reaching
 * farthest; at equal reach the point's own pick, then the cheaper).
 * Returns the number of winner changes.
 */
static int smooth(const kt_tuner *t, cpoint *pts, const size_t *ord, size_t m,
                  const kt_variant *const *vl, int nv) {
    int changes = 0, prev = -1;
    for (size_t i = 0; i < m;) {
        cpoint *p = &pts[ord[i]];
        int own = p->d.pick >= 0 ? p->var[p->d.pick] : -1, best = -1;
        size_t reach = i;
        for (int v = 0; v < nv; v++) {
            if (!acceptable(t, p, v)) continue;
            size_t e = i;
            while (e < m && acceptable(t, &pts[ord[e]], v)) e++;
            int better = best < 0 || e > reach ||
                         (e == reach && best != own &&
                          (v == own || vl[v]->cost < vl[best]->cost));
            if (better) best = v, reach = e;
        }
        if (best < 0) { /* nothing measured validly here */
            p->assigned = -1;
            i++;
            continue;
        }
        for (size_t j = i; j < reach; j++) pts[ord[j]].assigned = best;
        if (prev >= 0 && best != prev) changes++;
        prev = best;
        i = reach;
    }
    return changes;
}

kt_status kt_tuner_choose(kt_tuner *t, kt_op_id op) {
    kt_db_measurement *ms = NULL;
    size_t n = 0;
    kt_op_id k = op;
    kt_status s = kt_db_measurements_list(t->db, t->machine, kt_ops[op].name,
                                          t->o->variants ? NULL : kt_tuner_keep_current, &k, &ms,
                                          &n);
    if (s != KT_OK) return s;
    cpoint *pts = calloc(n ? n : 1, sizeof *pts);
    size_t *ord = calloc(n ? n : 1, sizeof *ord);
    kt_db_choice *ch = calloc(n ? n : 1, sizeof *ch);
    const kt_variant *vl[KT_MAX_CAND];
    int nv = 0;
    if (!pts || !ord || !ch) {
        free(ms), free(pts), free(ord), free(ch);
        return kt_fail(KT_ENOMEM, "choices: out of memory");
    }
    /* the points, each with its valid current measurements */
    size_t np = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        cpoint *p = &pts[np];
        p->first = i;
        for (; j < n && ms[j].m == ms[i].m && ms[j].n == ms[i].n && ms[j].k == ms[i].k; j++) {
            const kt_variant *v = kt_variant_lookup(op, ms[j].variant);
            if (!ms[j].valid || !v || v->version != ms[j].version) continue;
            if (p->count >= KT_MAX_CAND) break;
            if (p->count + i != j) ms[p->first + p->count] = ms[j]; /* compact in place */
            int vi = 0;
            while (vi < nv && vl[vi] != v) vi++;
            if (vi == nv && nv < KT_MAX_CAND) vl[nv++] = v;
            kt_db_measurement *me = &ms[p->first + p->count];
            p->var[p->count] = vi;
            p->dc[p->count] = (kt_dcand){me->median_s, me->spread, v->cost, v->threads, me->batch,
                                         me->rounds, me->nrounds, kt_variant_order(v)};
            p->count++;
        }
        if (p->count) {
            size_t mnk[3] = {ms[i].m, ms[i].n, ms[i].k}, dims[3];
            kt_db_dims_unpack(kt_ops[op].ndims, mnk, dims);
            p->family = kt_shape_family(kt_ops[op].ndims, dims);
            p->work = kt_ops[op].ndims == 1 ? (double)dims[0] : kt_ops[op].flops(dims);
            p->d = kt_decide(p->dc, (int)p->count, t->mo.tie, t->mo.threads_tie);
            p->assigned = -1;
            ord[np] = np;
            np++;
        }
        i = j;
    }
    /* share evidence along each family */
    int changes = 0, merged = 0, unresolved = 0, points = 0;
    sort_base = pts;
    qsort(ord, np, sizeof *ord, cmp_family);
    for (size_t i = 0; i < np;) {
        size_t j = i;
        while (j < np && pts[ord[j]].family == pts[ord[i]].family) j++;
        changes += smooth(t, pts, ord + i, j - i, vl, nv);
        i = j;
    }
    /* the choices: the assigned variant first, the others by median */
    size_t nch = 0;
    for (size_t i = 0; i < np; i++) {
        cpoint *p = &pts[i];
        if (p->assigned < 0) continue;
        kt_db_choice *c = &ch[nch];
        for (size_t a = 0; a < p->count; a++) {
            const kt_db_measurement *me = &ms[p->first + a];
            kt_db_choice *x = &c[a];
            x->m = me->m, x->n = me->n, x->k = me->k;
            snprintf(x->variant, sizeof x->variant, "%s", me->variant);
            x->version = me->version;
            x->median_s = me->median_s;
            x->margin = x->ci_lo = x->ci_hi = NAN;
        }
        qsort(c, p->count, sizeof *c, cmp_median);
        int top = slot_of(p, p->assigned);
        const char *name = ms[p->first + (size_t)top].variant;
        for (size_t a = 0; a < p->count; a++) {
            if (strcmp(c[a].variant, name) != 0) continue;
            kt_db_choice w = c[a];
            memmove(c + 1, c, a * sizeof *c);
            c[0] = w;
            break;
        }
        /* margin over the runner-up, with its interval */
        if (p->count > 1) {
            int ru = -1;
            for (size_t a = 0; a < p->count; a++)
                if ((int)a != top && (ru < 0 || p->dc[a].median_s < p->dc[ru].median_s))
                    ru = (int)a;
            double med, lo, hi;
            kt_dcand_ratio(&p->dc[ru], &p->dc[top], &med, &lo, &hi);
            c[0].margin = med - 1; /* paired: consistent with its interval */
            c[0].ci_lo = lo - 1;
            c[0].ci_hi = hi - 1;
        }
        const char *dec = p->count == 1           ? "single"
                          : top != p->d.pick      ? "merged"
                          : p->d.resolved         ? "resolved"
                                                  : "unresolved";
        merged += top != p->d.pick && p->count > 1;
        unresolved += top == p->d.pick && p->count > 1 && !p->d.resolved;
        for (size_t a = 0; a < p->count; a++) {
            c[a].rank = (int)a + 1;
            snprintf(c[a].decision, sizeof c[a].decision, "%s", a == 0 ? dec : "");
            if (a > 0) {
                /* the others: their time against the choice */
                c[a].margin = c[a].median_s / c[0].median_s - 1;
            }
        }
        nch += p->count;
        points++;
    }
    s = kt_db_choices_replace(t->db, t->machine, kt_ops[op].name, t->run, ch, nch);
    if (s == KT_OK) {
        t->counts[op][0] = points, t->counts[op][1] = changes;
        t->counts[op][2] = merged, t->counts[op][3] = unresolved;
    }
    free(ms), free(pts), free(ord), free(ch);
    return s;
}
