/*
 * The tuner's private parts, shared by tuner/kt_tune.c (the sweep, bisection
 * and the run), tuner/kt_choose.c (choices from the stored measurements) and
 * tuner/kt_verify.c (the held-out verification).
 */
#ifndef KT_TUNE_INT_H
#define KT_TUNE_INT_H

#include "kt_db.h"
#include "kt_measure.h"
#include "kt_stats.h"
#include "kt_tune.h"

#define KT_MAX_CAND 128

/* The measurements of one point: a decision candidate per tuner candidate. */
typedef struct kt_point {
    kt_shape sh;
    kt_dcand dc[KT_MAX_CAND];
    float rounds[KT_MAX_CAND][KT_DB_MAX_ROUNDS];
    kt_decision d;
} kt_point;

/* State of one tuning pass. */
typedef struct kt_tuner {
    const kt_tune_opts *o;
    kt_tune_report *rep;
    kt_db *db;
    int64_t machine, run;
    kt_mopts mo;
    double start, ram;
    int64_t batches;                             /* kt_measure calls so far */
    size_t steps_done, steps_total;
    const kt_variant *cand[KT_MAX_CAND];
    size_t ncand;
    char invalid[KT_MAX_CAND][KT_DB_ERROR_MAX]; /* validation failure per candidate */
    int skip[KT_MAX_CAND];                       /* not measured at this shape (far behind) */
    kt_shape *grid[KT_OP_MAX];                 /* the sweep of each op */
    int counts[KT_OP_MAX][4]; /* last choices: points, changes, merged, unresolved */
    size_t ngrid[KT_OP_MAX];
    /*
     * Where measurements come from and go when the tuner has no database (a rank
     * of `ktune tune --mpi`, tuner/kt_mpi.c): get looks a stored one up (KT_OK or
     * KT_ENOTFOUND, as kt_db_measurement_get), put hands a new one on.  NULL: t->db.
     */
    kt_status (*get)(void *io, kt_db_measurement *m);
    kt_status (*put)(void *io, const kt_db_measurement *m);
    void *io;
} kt_tuner;

/* Set when the run must stop (signal or budget); records why in rep->stopped. */
int kt_tuner_stopping(kt_tuner *t);

/* Candidates of op: usable, matching --variants, test variants only when named. */
void kt_tuner_candidates(kt_tuner *t, kt_op_id op);

/* Validates every candidate once; failures go to t->invalid (never chosen). */
void kt_tuner_validate(kt_tuner *t);

/*
 * Bisects between shapes lo and hi of one family whose winners differ (wlo
 * the low end's), until the crossover is located within 25%.
 */
kt_status kt_tuner_bisect(kt_tuner *t, kt_op_id op, kt_shape lo, int wlo, kt_shape hi);

/*
 * The next midpoint of a bisection between lo and hi (nd dimensions) into *mid; 0 when
 * the crossover is located (their work within 25%, or no shape lies between).
 */
int kt_tuner_bisect_mid(int nd, kt_shape lo, kt_shape hi, kt_shape *mid);

/*
 * Measures (or, unless force, reuses) every candidate of op at dims into *pt
 * and decides the point.  Returns the chosen candidate's index (-1 none).
 */
int kt_tuner_measure_point(kt_tuner *t, kt_op_id op, const size_t dims[3], kt_point *pt,
                           int force, kt_status *err);

/*
 * Recomputes the stored choices of op from every current measurement:
 * decides each point, then merges winner changes between neighbouring
 * points of one shape family that are not significant (tuner/kt_choose.c).
 * Records the points, the winner changes kept, the merged and the unresolved
 * points in t->counts[op] (the report sums them at the end).
 */
kt_status kt_tuner_choose(kt_tuner *t, kt_op_id op);

/* Whether candidate a is acceptable at point pt (not shown slower than its leader). */
int kt_tuner_accepts(const kt_tuner *t, const kt_point *pt, int a);

/*
 * The sweep's skips at grid point i of op: sets t->skip[c] for the candidates far
 * behind (kt_tuner_skip_factor) at point i - 1 of the same family (prev, won by
 * prev_win) and predicted (by the work ratio) to take over 20 ms a call here, or
 * skipped there; clears t->skip otherwise.
 */
void kt_tuner_skips(kt_tuner *t, kt_op_id op, const kt_shape *g, size_t i, const kt_point *prev,
                    int prev_win);

/*
 * The skips of a bisection between neighbouring points lo (won by wlo) and hi (won by
 * whi): the candidates far behind, or not measured, at both ends and costing over 20 ms
 * a call at the top.  Bisecting a crossover of the leaders between 1024^3 and 2048^3
 * used to time a scalar gemm three times at every midpoint (90 s of a full tune).
 */
void kt_tuner_bisect_skips(kt_tuner *t, kt_op_id op, const kt_point *lo, int wlo,
                           const kt_point *hi, int whi);

/* The decision candidate of a stored measurement of v (its rounds copied into rounds). */
kt_dcand kt_tuner_dcand(const kt_variant *v, const kt_db_measurement *m, float *rounds);

/* Builds t->grid[op] (--sizes, else the default sweep; problems within RAM/4). */
kt_status kt_tuner_make_grid(kt_tuner *t, kt_op_id op);

/* This machine's details (JSON text, malloc'ed; NULL when out of memory). */
char *kt_tuner_machine_details(void);

/* Stores t->machine's measured limits from its current measurements (l3: its L3 bytes). */
void kt_tuner_store_limits(kt_tuner *t, size_t l3);

/* A measurements_list filter (ctx: a kt_op_id): valid, current version, not a test variant. */
int kt_tuner_keep_current(void *ctx, const kt_db_measurement *me);

/*
 * The verification pass (tuner/kt_verify.c): dispatch from the database just
 * written, timed against every fixed variant at seeded held-out sizes; points
 * more than 5% behind get their neighbourhood re-measured once, then are
 * verified again.  Stores every row with the run.
 */
kt_status kt_tuner_verify(kt_tuner *t);

#endif
