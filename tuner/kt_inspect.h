/*
 * What the inspection commands (show, explain, report, export) share: opening the
 * database to read, the tuned points and size ranges of an op from its choices,
 * throughput from the op's cost model, and short texts about machines and runs.
 */
#ifndef KT_INSPECT_H
#define KT_INSPECT_H

#include <jansson.h>

#include "kt_cli.h"
#include "kt_db.h"

/*
 * Opens the database to read: path, else the default (KTUNE_DB, XDG, ...).  Prints one
 * message ("ktune CMD: ...") and returns KT_EXIT_FAIL when it cannot (missing, not a
 * ktune database, corrupt, a newer schema this ktune cannot read).
 */
int kt_ins_open(const char *cmd, const char *path, kt_db **out);

/* One tuned size of an op: its winner and runner-up (rows of a dump). */
typedef struct kt_ins_point {
    size_t dims[3];                /* the op's dimensions (unpacked) */
    const kt_db_choice_row *win;   /* rank 1 */
    const kt_db_choice_row *next;  /* rank 2, or NULL */
    double tp;                     /* the winner's throughput (NAN: unknown op) */
} kt_ins_point;

/* Consecutive tuned sizes with the same winner: the sizes dispatch sends to it. */
typedef struct kt_ins_range {
    size_t from, to;               /* dims[0] in [from, to]; to == SIZE_MAX: and above */
    const kt_db_choice_row *win;   /* the winner at the first point */
    size_t first, npoints;         /* its points */
    double tp_min, tp_max;         /* throughput over its points (NAN: unknown) */
    double margin_min;             /* the smallest margin (NAN: never a runner-up) */
    const char *runner_up;         /* the runner-up where the margin is smallest, or NULL */
    double ci_lo, ci_hi;           /* the 95% interval of that margin (NAN: none) */
    int unresolved, merged;        /* points decided so (see kt_db_choice.decision) */
} kt_ins_range;

/* The choices of one op on one machine. */
typedef struct kt_ins_op {
    const char *op;                /* the name, as stored */
    kt_op_id id;                   /* KT_OP_NONE for an op this build does not know */
    const char *unit;              /* "GB/s", "GFLOP/s", or "" for an unknown op */
    kt_ins_point *pts;
    size_t npts;
    kt_ins_range *ranges;
    size_t nranges;
    int64_t run;                   /* the run that made the choices (dump id; 0: none) */
} kt_ins_op;

/*
 * The ops with choices of dump machine `machine` (rows of d), in the order of the
 * choices (by op name).  The results point into d.  Returns KT_ENOMEM on failure.
 */
kt_status kt_ins_ops(const kt_db_dump *d, int64_t machine, kt_ins_op **out, size_t *n);
void kt_ins_ops_free(kt_ins_op *ops, size_t n);

/* Throughput of op at dims for a call of median_s, in its unit; NAN for an unknown op. */
double kt_ins_throughput(kt_op_id id, const size_t dims[3], double median_s);

/* "n=4096", "m=64 n=64 k=64"; for an unknown op the stored m, n, k. */
const char *kt_ins_dims(kt_op_id id, const size_t dims[3], char *buf, size_t len);

/* Unpacks the stored m, n, k of a choice or measurement (unknown op: m, n, k as they are). */
void kt_ins_unpack(kt_op_id id, size_t m, size_t n, size_t k, size_t dims[3]);

/* The dump run with this id, or NULL. */
const kt_db_run_row *kt_ins_run(const kt_db_dump *d, int64_t id);

/* The latest run of machine (by start), and the latest complete one; NULL when none. */
const kt_db_run_row *kt_ins_last_run(const kt_db_dump *d, int64_t machine, int complete);

/* Seconds between two ISO 8601 UTC times; NAN when either is missing or malformed. */
double kt_ins_seconds(const char *from, const char *to);

/* "2025-01-31 12:00Z" from "2025-01-31T12:00:00Z" ("-" for ""). */
const char *kt_ins_when(const char *iso, char *buf, size_t len);

/* "AMD EPYC, 2 cores, avx512; no GPU" from a machine's details JSON. */
const char *kt_ins_machine_summary(const char *details, char *buf, size_t len);

/* A short form of a fingerprint for narrow columns: "amd-25.17.1-...-504beb58". */
const char *kt_ins_short_fp(const char *fp, char *buf, size_t len);

/* Whether fp matches pattern: equal, or a prefix of it, or its hash suffix. */
int kt_ins_fp_match(const char *fp, const char *pattern);

/*
 * Prints lead, pads to column col, then text word by word, wrapped before column 80
 * with continuation lines indented to col (a lead wider than col gets its own line).
 */
void kt_ins_wrap(const char *lead, int col, const char *text);

/* A real as JSON: null for NAN and infinities. */
json_t *kt_ins_json_real(double v);

/*
 * The verification of machine's newest run that has one (final pass of each held-out
 * size): sizes, dispatched/best geometric mean and worst, the first fixed variant whose
 * geometric mean over an op's sizes beat dispatch.  sizes == 0 when there is none.
 */
typedef struct kt_ins_verify {
    int sizes, remeasured;
    int64_t run;
    double geomean, worst;
    char worst_at[96];
    char faster[160];              /* "" when no fixed variant was faster */
} kt_ins_verify;
void kt_ins_verification(const kt_db_dump *d, int64_t machine, kt_ins_verify *out);

/* "+12.3%" for a margin of 0.123; "-" for NAN. */
const char *kt_ins_pct(double margin, char *buf, size_t len);

/* "12.3", "0.0451", "1234" -- three significant digits, no exponent below 1e6. */
const char *kt_ins_num(double v, char *buf, size_t len);

#endif
