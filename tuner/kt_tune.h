/*
 * The tuner: measures every usable variant of the selected ops over a size
 * sweep, stores every measurement in the database as soon as it is made,
 * locates crossovers by bisection, and recomputes the choices dispatch
 * reads.  Used by `ktune tune` and by the tests (in-process).
 */
#ifndef KT_TUNE_H
#define KT_TUNE_H

#include <signal.h>
#include <stdint.h>

#include "kt_internal.h"

typedef struct kt_tune_opts {
    int ops[KT_OP_MAX];       /* selected ops */
    const size_t *sizes;        /* NULL: the default sweep of each op */
    size_t nsizes;
    const char *variants;       /* NULL, or only these variant names ("a,b") */
    int quick;                  /* shorter samples, coarser sweep */
    int force;                  /* re-measure what is already stored */
    double budget_s;            /* stop after this long (0: none) */
    const char *db_path;
    int progress;               /* 0: quiet, 1: a line per size, 2: a progress bar */
    volatile sig_atomic_t *stop; /* set by a signal handler: stop cleanly */
    const char *invocation;     /* recorded with the run */
    int no_verify;              /* skip the verification pass at held-out sizes */
    uint64_t seed;              /* of the held-out sizes (0: from the run's id) */
    /* --from-profile (issue 9): exactly these shapes of op, given most time first
       (vector ops are swept in size order and bisected); NULL: sizes or the grid */
    const struct kt_shape *shapes[KT_OP_MAX]; /* --from-profile (built-in ops only) */
    size_t nshapes[KT_OP_MAX];
    const int *op_order;        /* the order to tune ops in (KT_OP_COUNT entries); NULL: enum */
} kt_tune_opts;

typedef struct kt_tune_report {
    int measured;               /* measurements made */
    int reused;                 /* current measurements found in the database */
    int invalid;                /* variants that failed validation */
    int points;                 /* sizes with choices */
    int crossovers;             /* winner changes kept (after merging insignificant ones) */
    int merged;                 /* points whose winner was merged into a neighbour's */
    int unresolved;             /* points decided for the cheaper variant without proof */
    double elapsed_s;
    int stopped;                /* 0 finished, 1 by signal, 2 budget spent */
    long long run;              /* the run's id */
    /* the verification pass (final pass of each held-out size) */
    int verified;               /* held-out sizes verified */
    int remeasured;             /* of them, re-measured after being over 5% behind */
    double verify_geomean;      /* dispatched / best fixed, geometric mean (NAN: none) */
    double verify_worst;
    char verify_worst_at[80];   /* "op shape" */
    int fixed_faster;           /* ops where a fixed variant beat dispatch over the sizes */
    char fixed_faster_what[160];/* the first such "op: variant 0.98x" */
    /* the busy-core guard (kt_measure.h): rounds taken again, and kept uneven */
    long rounds_redone, rounds_uneven;
} kt_tune_report;

/* Runs a tuning pass.  Returns KT_OK (also when stopped early: see rep->stopped). */
kt_status kt_tune_run(const kt_tune_opts *o, kt_tune_report *rep);

/*
 * Tunes the ops registered in this process (ktune_op.h) into the database
 * (o->db_path, else the default), then reloads dispatch.  o NULL, or no op
 * selected in o->ops: every registered op.  rep may be NULL.
 */
kt_status kt_tune_self(const kt_tune_opts *o, kt_tune_report *rep);

/* One problem shape of a sweep; consecutive shapes of one family may be bisected. */
typedef struct kt_shape {
    size_t d[3];
    int family;
} kt_shape;

/*
 * The default sweep of op (quick: coarser, smaller), malloc'ed: vector ops
 * 1 to 2^27 by 4x; gemv squares plus tall and wide; gemm squares plus
 * skinny-k and tall-skinny shapes; each shape tuned at a typical size near
 * its nominal one, never a power of two above 2 (see kt_tune.c).
 */
size_t kt_tune_default_grid(kt_op_id op, int quick, kt_shape **out);

/*
 * The full sweep of op at its nominal sizes (powers of two for the vector,
 * BLAS and sort ops): the range `ktune bench --random` draws from, kept as
 * it was when the tuned shapes moved off powers of two, so that a seed
 * draws the same held-out sizes before and after.
 */
size_t kt_tune_nominal_grid(kt_op_id op, kt_shape **out);

/* The shape family of a matrix shape (its aspect ratios, in half octaves; 0 for vectors). */
long kt_shape_family(int ndims, const size_t dims[3]);

/*
 * Draws up to want sizes of op at random (rng) within the range of the sweep
 * g[0..ng): vector ops log-uniform between its smallest and largest size;
 * matrix ops between two neighbouring shapes of one family, each dimension
 * perturbed by up to 25%.  Never a problem over RAM/8; gemm work at most
 * 2 GFLOP.  Used by the verification pass and `ktune bench --random`.
 */
size_t kt_tune_draw_sizes(kt_op_id op, const kt_shape *g, size_t ng, kt_rng *rng, size_t want,
                          kt_shape *out);

/*
 * How far behind its leader a candidate of op must be at one shape of a family to be
 * skipped at the next, larger one (0: never), in the sweep, bisection and `ktune
 * bench`.  Compute-bound ops: 8x; their losers stay losers as the size grows, and a
 * scalar gemm at n = 2048 would take most of a minute per call.  Sorts: 3x; a
 * comparison sort's gap to a radix sort grows with n (n log n against n: qsort at 2^24
 * takes 4 s a call).  Streaming ops are never skipped: a threaded variant that loses
 * 1000x at small sizes (waking a thread) can win at large ones.
 */
double kt_tuner_skip_factor(kt_op_id op);

#endif
