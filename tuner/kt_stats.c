/* Statistics of the tuner's decisions; see kt_stats.h for the method. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "kt_stats.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/*
 * The 1-based rank k of the sign-test interval [r_(k), r_(n+1-k)] for the
 * median of n values: the largest k with P(Bin(n, 1/2) <= k - 1) <= alpha/2
 * (at least 1: below 6 values the interval is the range, ~94% at n = 5).
 */
static int sign_rank(int n, double alpha) {
    double p = pow(0.5, n), cdf = 0; /* P(X = j), P(X <= j - 1) */
    int k = 1;
    for (int j = 0; j < n; j++) {
        cdf += p;
        if (cdf > alpha / 2) break;
        k = j + 2;
        p = p * (double)(n - j) / (double)(j + 1);
    }
    return k > (n + 1) / 2 ? (n + 1) / 2 : k;
}

int kt_ratio_ci(const float *a, const float *b, int n, double *med, double *lo, double *hi) {
    *med = *lo = *hi = NAN;
    if (n <= 0) return 0;
    double *r = malloc((size_t)n * sizeof *r);
    if (!r) return 0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(a[i]) && isfinite(b[i]) && a[i] > 0 && b[i] > 0)
            r[m++] = (double)a[i] / (double)b[i];
    if (m) {
        qsort(r, (size_t)m, sizeof *r, cmp_double);
        *med = m % 2 ? r[m / 2] : 0.5 * (r[m / 2 - 1] + r[m / 2]);
        int k = sign_rank(m, 1 - KT_STATS_CONF);
        *lo = r[k - 1];
        *hi = r[m - k];
    }
    free(r);
    return m;
}

void kt_ratio_ci_unpaired(double med_a, double spread_a, int n_a, double med_b, double spread_b,
                          int n_b, double *med, double *lo, double *hi) {
    *med = *lo = *hi = NAN;
    if (!(med_a > 0) || !(med_b > 0) || !isfinite(med_a) || !isfinite(med_b)) return;
    /* the standard error of a median on the log scale: 1.2533 sd / sqrt(n), sd ~ IQR / 1.349 */
    double sa = isfinite(spread_a) ? spread_a : 0.05, sb = isfinite(spread_b) ? spread_b : 0.05;
    double ea = 1.2533 * sa / 1.349 / sqrt(n_a > 0 ? n_a : 1);
    double eb = 1.2533 * sb / 1.349 / sqrt(n_b > 0 ? n_b : 1);
    double se = sqrt(ea * ea + eb * eb), l = log(med_a / med_b);
    *med = med_a / med_b;
    *lo = exp(l - 1.96 * se);
    *hi = exp(l + 1.96 * se);
}

int kt_dcand_ratio(const kt_dcand *a, const kt_dcand *b, double *med, double *lo, double *hi) {
    if (a->batch && a->batch == b->batch && a->rounds && b->rounds && a->nrounds && b->nrounds) {
        int n = a->nrounds < b->nrounds ? a->nrounds : b->nrounds;
        if (kt_ratio_ci(a->rounds, b->rounds, n, med, lo, hi) >= 3) return 1;
    }
    kt_ratio_ci_unpaired(a->median_s, a->spread, a->nrounds, b->median_s, b->spread, b->nrounds,
                         med, lo, hi);
    return 0;
}

static int is_cand(const kt_dcand *c) { return c->median_s > 0 && isfinite(c->median_s); }

double kt_tie_window(const kt_dcand *leader, const kt_dcand *contender, double tie,
                     double threads_tie) {
    return leader->threads > contender->threads && threads_tie > tie ? threads_tie : tie;
}

int kt_acceptable(const kt_dcand *c, int i, int leader, double tie, double threads_tie) {
    if (!is_cand(&c[i])) return 0;
    if (i == leader) return 1;
    double med, lo, hi;
    kt_dcand_ratio(&c[i], &c[leader], &med, &lo, &hi);
    return med <= 1 + kt_tie_window(&c[leader], &c[i], tie, threads_tie);
}

kt_decision kt_decide(const kt_dcand *c, int n, double tie, double threads_tie) {
    kt_decision d = {-1, -1, -1, 0, 0, NAN, NAN, NAN};
    for (int i = 0; i < n; i++)
        if (is_cand(&c[i]) && (d.leader < 0 || c[i].median_s < c[d.leader].median_s)) d.leader = i;
    if (d.leader < 0) return d;
    int L = d.leader;
    d.pick = L;
    d.resolved = 1;
    for (int i = 0; i < n; i++) {
        if (i == L || !is_cand(&c[i])) continue;
        if (c[i].cost > c[L].cost) {
            /*
             * A costlier contender not shown slower beyond the window: the leader
             * took a tie (its lead may be noise), so the choice is unresolved.
             */
            double med, lo, hi, w = kt_tie_window(&c[i], &c[L], tie, threads_tie);
            kt_dcand_ratio(&c[i], &c[L], &med, &lo, &hi);
            if (lo <= 1 + w) d.resolved = 0;
            continue;
        }
        if (c[i].cost == c[L].cost) {
            /* as cheap: the faster by median takes it; unsettled while the interval holds 1 */
            double med, lo, hi;
            kt_dcand_ratio(&c[i], &c[L], &med, &lo, &hi);
            if (lo < 1 && hi > 1) d.undecided++, d.resolved = 0;
            continue;
        }
        /*
         * A cheaper contender: within the window by its estimate, it takes the
         * choice (unresolved); its interval straddling the window edge means more
         * rounds would help (undecided); shown slower beyond the window, it lost.
         */
        double med, lo, hi, w = kt_tie_window(&c[L], &c[i], tie, threads_tie);
        kt_dcand_ratio(&c[i], &c[L], &med, &lo, &hi);
        if (lo <= 1 + w && hi > 1 + w) d.undecided++;
        if (lo <= 1 + w) d.resolved = 0;
        if (med <= 1 + w) {
            if (c[i].cost < c[d.pick].cost ||
                (c[i].cost == c[d.pick].cost && c[i].median_s < c[d.pick].median_s))
                d.pick = i;
        }
    }
    /*
     * A tie among the as cheap as the pick: one this run cannot tell from the pick (the
     * interval of their ratio holds 1) and acceptable against the leader, with a lower
     * order, takes the choice (unresolved), so that two tunes of one machine make one
     * choice where the faster is noise (a 16x16 transpose: avx2 7.8% ahead of a blocked
     * one in one tune, 1.3% behind in the next).
     */
    int P = d.pick;
    for (int i = 0; i < n; i++) {
        if (i == P || !is_cand(&c[i]) || c[i].cost != c[P].cost ||
            c[i].order >= c[d.pick].order)
            continue;
        double med, lo, hi;
        kt_dcand_ratio(&c[i], &c[P], &med, &lo, &hi);
        if (lo <= 1 && hi >= 1 && kt_acceptable(c, i, L, tie, threads_tie)) d.pick = i;
    }
    if (d.pick != P) d.resolved = 0;
    for (int i = 0; i < n; i++)
        if (i != d.pick && is_cand(&c[i]) &&
            (d.runner_up < 0 || c[i].median_s < c[d.runner_up].median_s))
            d.runner_up = i;
    if (d.runner_up >= 0) {
        double med, lo, hi;
        kt_dcand_ratio(&c[d.runner_up], &c[d.pick], &med, &lo, &hi);
        d.margin = med - 1;
        d.ci_lo = lo - 1;
        d.ci_hi = hi - 1;
    }
    return d;
}
