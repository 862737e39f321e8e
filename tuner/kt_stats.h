/*
 * Statistics of the tuner's decisions (tuner/kt_stats.c).
 *
 * Candidates at one problem size are timed in rounds: in each round every
 * candidate takes one sample, in a shuffled order, so the samples of two
 * candidates in the same round share the machine's state.  A decision
 * between a leader L and a contender C rests on the per-round ratios
 * t_C / t_L: their median, and a distribution-free confidence interval of
 * that median from the order statistics (the binomial sign-test interval),
 * which a noise spike in a few rounds cannot move.
 *
 * The rule (kt_decide): the fastest candidate by median is the leader; a
 * candidate is acceptable when its median ratio to the leader is within
 * 1 + window (the window is wider against a leader that uses more
 * threads); the cheapest acceptable candidate is chosen, and among the
 * as cheap, the lowest in registry order that this run cannot tell from
 * the fastest of them (so two tunes make one choice of a tie).  The choice is
 * "resolved" when it is the leader and every cheaper candidate is shown
 * slower beyond the window (the lower end of its interval is past it);
 * otherwise it is "unresolved": a tie went to the cheaper variant, or the
 * comparison could not be settled within the budget.  The measurement adds
 * rounds while a cheaper candidate's interval straddles the window edge, or
 * an equally cheap one's straddles 1 (which of the two is faster is open).
 */
#ifndef KT_STATS_H
#define KT_STATS_H

#include <stddef.h>

#define KT_STATS_CONF 0.95 /* confidence of every interval */

/*
 * Median and 95% interval of a[i] / b[i] over the rounds where both are
 * finite and positive (paired).  Returns the number of pairs used; with
 * none, *med, *lo and *hi are NAN.
 */
int kt_ratio_ci(const float *a, const float *b, int n, double *med, double *lo, double *hi);

/*
 * The same for two candidates not timed in the same rounds: from their
 * medians and spreads ((p75 - p25) / median), a normal approximation on the
 * log scale.  Wider than the paired interval, as it should be.
 */
void kt_ratio_ci_unpaired(double med_a, double spread_a, int n_a, double med_b, double spread_b,
                          int n_b, double *med, double *lo, double *hi);

/* One candidate of a decision. */
typedef struct kt_dcand {
    double median_s;     /* per-call time; INFINITY or NAN: not a candidate */
    double spread;       /* (p75 - p25) / median, for the unpaired fallback */
    int cost, threads;   /* cost rank (ties go to the lower), threads used */
    long long batch;     /* rounds of candidates with the same non-zero batch are paired */
    const float *rounds; /* per-call time of each round (NAN: not timed that round) */
    int nrounds;
    int order;           /* preference among as-cheap candidates this run cannot tell apart
                            (the lower; kt_variant_order); 0 for all: the faster by median */
} kt_dcand;

typedef struct kt_decision {
    int pick;            /* index of the chosen candidate (-1: none) */
    int leader;          /* index of the fastest by median */
    int runner_up;       /* fastest other than pick by median (-1: none) */
    int resolved;        /* see the top of this file */
    int undecided;       /* cheaper candidates whose interval straddles the window */
    double margin;       /* runner_up / pick - 1: the median of the paired per-round
                            ratios (of the medians when unpaired); NAN without a runner-up */
    double ci_lo, ci_hi; /* 95% interval of margin */
} kt_decision;

/*
 * Ratio interval of candidate a against b (paired when they share a batch
 * and have rounds, else unpaired).  Returns 1 when paired.
 */
int kt_dcand_ratio(const kt_dcand *a, const kt_dcand *b, double *med, double *lo, double *hi);

/* The tie window between a leader and a contender (wider when the leader uses more threads). */
double kt_tie_window(const kt_dcand *leader, const kt_dcand *contender, double tie,
                     double threads_tie);

/* Applies the rule to c[0..n) with tie window tie (threads_tie against more threads). */
kt_decision kt_decide(const kt_dcand *c, int n, double tie, double threads_tie);

/*
 * Whether candidate i is acceptable at a point with leader L: its median
 * ratio to the leader is within the tie window.
 */
int kt_acceptable(const kt_dcand *c, int i, int leader, double tie, double threads_tie);

#endif
