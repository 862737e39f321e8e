/*
 * Measurement: how the tuner and `ktune bench` time variants.
 *
 *   0. every CPU candidate is called through the public entry point with
 *      dispatch pinned to it (kt_dispatch_pin), so it pays the argument
 *      checks and layout handling a program's call pays, as the dispatched
 *      call does; GPU variants are called directly (a failure must show);
 *   1. warm-up: the first call (page faults, thread-pool start, CUDA context,
 *      module load, cuBLAS handle) is timed alone and reported apart;
 *   2. calibration: calls are repeated inside one sample until the sample
 *      lasts `sample_s`, so the monotonic clock's resolution is irrelevant;
 *   3. rounds: in each round every active candidate takes one sample, in a
 *      shuffled order (seeded), so drift of a shared, noisy machine hits all
 *      of them alike and samples of one round are paired; a threaded
 *      candidate that follows one of another runtime first makes one untimed
 *      call (the settle step), so it is timed in the state a program calling
 *      it repeatedly sees (its own pool awake, no other pool spinning);
 *   4. statistics: per candidate the median per call, spread = interquartile
 *      range / median, the minimum; per pair the median of the per-round
 *      ratios with its 95% interval (tuner/kt_stats.h);
 *   5. racing: after KT_MEASURE_FAR_ROUNDS rounds a candidate whose best
 *      sample is over KT_MEASURE_FAR x the leader's median stops; after `min_samples` rounds
 *      one shown slower than the leader by `race_factor` (the lower end of
 *      its interval), or one that costs more and is shown slower beyond the
 *      tie window, stops;
 *   5b. the busy-core guard: a shared host lends a core elsewhere for
 *      seconds at a time, and a threaded candidate timed then is charged
 *      for it (two full tunes of AMD EPYC Zen 5 minutes apart: threads:t=2
 *      2.06x faster than avx512 for dot_f32 above 100 000 elements in one,
 *      1.13x in the other, so dispatch ran avx2 2x slower up to 1.9 M).
 *      When a threaded candidate (or the dispatched call) is in a round,
 *      kt_omp_uneven is read before and after it; a round where either
 *      exceeds `uneven` is discarded and taken again after a 20 ms pause,
 *      up to `max_redo` times per measurement and within its `max_s`
 *      (then kept: a machine busy that long is the machine);
 *   6. stopping: when no cheaper candidate's interval straddles the tie
 *      window (kt_decide's `undecided`), at `max_samples`, or when `max_s`
 *      is spent (after at least three rounds).
 * GPU variants are timed end to end by the same clock (the call
 * synchronises); their kernel-only time comes from CUDA events.
 */
#ifndef KT_MEASURE_H
#define KT_MEASURE_H

#include "kt_internal.h"

/* What the busy-core guard did over the measurements that shared it (kt_mopts.stats). */
typedef struct kt_mstats {
    long rounds_redone;   /* rounds discarded and taken again: a core was busy */
    long rounds_uneven;   /* rounds kept although uneven: the point's redo budget was spent */
} kt_mstats;

typedef struct kt_mopts {
    double sample_s;    /* target duration of one sample */
    int min_samples;    /* rounds before racing or stopping */
    int max_samples;
    double race_factor; /* drop candidates shown this much slower than the leader */
    double max_s;       /* wall-clock budget for one size */
    double tie;         /* tie window of a decision (0.02: within 2% is a tie) */
    double threads_tie; /* the window against a leader using more threads */
    int decide;         /* 1: stop when the decision is made (the tuner); 0: all rounds */
    int entry;          /* 1: time CPU variants through the public entry point */
    double uneven;      /* busy-core guard: redo a round whose threads progressed more
                           unevenly than this (kt_omp_uneven); 0 off */
    int max_redo;       /* rounds one measurement may redo */
    kt_mstats *stats;   /* where the guard counts (NULL: nowhere) */
} kt_mopts;

#define KT_MEASURE_MAX_ROUNDS 40
/*
 * Clearly behind: a best sample over three rounds this many times the leader's median
 * (dropped then, before min_samples).  Three samples, each hit by a preemption of a
 * loaded machine, are unlikely; a 4x gap is not noise.
 */
#define KT_MEASURE_FAR 4.0
#define KT_MEASURE_FAR_ROUNDS 3
/* Rounds enough to decide on once a size's max_s is spent (twice that without decisions). */
#define KT_MEASURE_SPENT_ROUNDS 3

/* Defaults for a full run and for --quick. */
kt_mopts kt_mopts_default(int quick);

/* One candidate: a variant, or (v == NULL) the dispatched public entry point. */
typedef struct kt_mresult {
    const kt_variant *v;
    int samples;
    double median_s, spread, min_s;
    double kernel_s;    /* GPU kernel alone, median; NAN when not a GPU variant */
    double warmup_s;    /* the first call */
    int raced_out;      /* stopped early, clearly behind */
    int entry;          /* timed through the public entry point (set by kt_measure) */
    int nrounds;        /* rounds[0..nrounds): per-call time in each round, NAN when not timed */
    float rounds[KT_MEASURE_MAX_ROUNDS];
    kt_status status;   /* KT_OK, or why it could not run */
    char error[256];
} kt_mresult;

/*
 * Times candidates res[0..n) (their v set; v == NULL is the dispatched
 * call) on one problem of op with dims, in shuffled rounds.  Fills the rest
 * of each result.  Returns KT_ENOMEM if the problem cannot be allocated.
 */
kt_status kt_measure(kt_op_id op, const size_t dims[3], kt_mresult *res, size_t n,
                     const kt_mopts *o, uint64_t seed);

/*
 * Validates v on fresh random inputs at several odd sizes no larger than
 * max_dim (poisoned guards, reference comparison).  msg says what failed.
 */
kt_status kt_validate(const kt_variant *v, size_t max_dim, uint64_t seed, char *msg, size_t len);

/* The decision candidates of results res[0..n) (cost and threads from the variants). */
struct kt_dcand;
void kt_mresult_dcands(const kt_mresult *res, size_t n, struct kt_dcand *out);

/*
 * Statistics of rounds[0..n) (NAN entries skipped): median, spread and
 * minimum.  Returns the number of finite rounds.
 */
int kt_rounds_summary(const float *rounds, int n, double *median, double *spread, double *min);

/*
 * The cost of switching thread runtimes: `rounds` calls of `a` timed one by
 * one after every other pool had time to fall asleep (repeated), then
 * `rounds` calls of `a`, each right after a call of `b` (switched).  For a
 * clean baseline, call it in a process that has not run `b` yet (a pool
 * that spins forever would slow the repeated calls too).
 * Medians per call in *switch_s and *repeat_s, and the switched calls'
 * lower quartile in *switch_q1 (what every switched call pays, where another
 * process taking a core delays only some).  KT_EUNAVAIL when either cannot run.
 */
kt_status kt_measure_switch(kt_op_id op, const size_t dims[3], const kt_variant *a,
                            const kt_variant *b, int rounds, double *switch_s, double *switch_q1,
                            double *repeat_s);

/* Median of the rounds of one parity (0: even rounds, 1: odd), NAN entries skipped. */
double kt_rounds_half_median(const float *rounds, int n, int parity);

/* Calls the public entry point of op on the problem (the dispatched call). */
kt_status kt_run_dispatched(kt_problem *p);
/* The same for any op: built-in ones through their entry point, registered ones by kt_select. */
kt_status kt_run_dispatched_op(kt_op_id op, const size_t dims[3], void *problem);

#endif
