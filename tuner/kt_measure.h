/*
 * Measurement: how the tuner and `ktune bench` time variants.
 *
 *   1. warm-up: the first call (page faults, thread-pool start, CUDA context,
 *      module load, cuBLAS handle) is timed alone and reported apart;
 *   2. calibration: calls are repeated inside one sample until the sample
 *      lasts `sample_s`, so the monotonic clock's resolution is irrelevant;
 *   3. interleaving: samples of competing candidates alternate (round robin),
 *      so drift of a shared, noisy machine hits all of them alike;
 *   4. statistics: median per call, spread = interquartile range / median,
 *      and the minimum;
 *   5. racing: after `min_samples` rounds, a candidate whose fastest sample
 *      is slower than `race_factor` x the leader's median stops being
 *      measured at this size;
 *   6. stopping: when the leaders' spreads are below `spread_ok`, at
 *      `max_samples`, or when `max_s` is spent.
 * GPU variants are timed end to end by the same clock (the call
 * synchronises); their kernel-only time comes from CUDA events.
 */
#ifndef KT_MEASURE_H
#define KT_MEASURE_H

#include "kt_internal.h"

typedef struct kt_mopts {
    double sample_s;    /* target duration of one sample */
    int min_samples;    /* rounds before racing or stopping */
    int max_samples;
    double spread_ok;   /* stop when the leaders' spread is below this */
    double race_factor; /* drop candidates clearly behind */
    double max_s;       /* wall-clock budget for one size */
} kt_mopts;

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
    kt_status status;   /* KT_OK, or why it could not run */
    char error[256];
} kt_mresult;

/*
 * Times candidates res[0..n) (their v set; v == NULL is the dispatched
 * call) on one problem of op with dims, interleaved.  Fills the rest of
 * each result.  Returns KT_ENOMEM if the problem cannot be allocated.
 */
kt_status kt_measure(kt_op_id op, const size_t dims[3], kt_mresult *res, size_t n,
                     const kt_mopts *o, uint64_t seed);

/*
 * Validates v on fresh random inputs at several odd sizes no larger than
 * max_dim (poisoned guards, reference comparison).  msg says what failed.
 */
kt_status kt_validate(const kt_variant *v, size_t max_dim, uint64_t seed, char *msg, size_t len);

/* Calls the public entry point of op on the problem (the dispatched call). */
kt_status kt_run_dispatched(kt_problem *p);

#endif
