/* The dispatch table (private to lib/; the tuner reads it through kt_dispatch_explain). */
#ifndef KT_DISPATCH_H
#define KT_DISPATCH_H

#include <stdatomic.h>

#include "kt_internal.h"

int kt_omp_in_parallel(void); /* variants/threads (0 without OpenMP) */

enum { KT_SRC_DEFAULT, KT_SRC_TUNED, KT_SRC_FORCED };

/* Sizes below `bound` (and at or above the previous interval's bound). */
typedef struct kt_interval {
    size_t bound;
    const kt_variant *pick;    /* what a call runs */
    const kt_variant *serial;  /* what it runs inside an OpenMP parallel region */
    int source;                /* KT_SRC_* */
    size_t matched[3];         /* the tuned dimensions (KT_SRC_TUNED) */
} kt_interval;

typedef struct kt_optab {
    size_t nint;
    kt_interval *iv;               /* nint intervals, the last bound is SIZE_MAX */
    const kt_variant *strided;     /* for non-unit increments */
    const kt_variant *best_serial; /* best serial SIMD variant (threads' inner loop) */
    char force_note[256];          /* why a forced variant was ignored ("" if none) */
} kt_optab;

typedef struct kt_table {
    kt_optab ops[KT_OP_COUNT];
    struct kt_table *next_retired;
} kt_table;

/* One tuned size with its variants ranked fastest first (current versions only). */
typedef struct kt_tuned_point {
    size_t dims[3];
    size_t nranked;
    const kt_variant *ranked[24];
} kt_tuned_point;

typedef struct kt_tuned_set {
    kt_tuned_point *points[KT_OP_COUNT];  /* sorted by size */
    size_t npoints[KT_OP_COUNT];
} kt_tuned_set;

/* Loads the tuned points for this machine from the database (lib/kt_tuned.c). */
kt_status kt_tuned_load(kt_tuned_set **out);
void kt_tuned_set_free(kt_tuned_set *set);
/* The database path the library reads (KTUNE_DB, XDG, the system file). */
kt_status kt_tuned_db_path(char *buf, size_t len);

const kt_table *kt_table_slow(void);

/* The current table (built on first use). */
static inline const kt_table *kt_table_get(void) {
    extern _Atomic(kt_table *) kt_current_table;
    const kt_table *t = atomic_load_explicit(&kt_current_table, memory_order_acquire);
    return t ? t : kt_table_slow();
}

/* The interval holding size dims[0]: a linear scan, the tables are short. */
static inline const kt_interval *kt_lookup(const kt_optab *t, const size_t dims[3]) {
    size_t i = 0, n = dims[0];
    while (n >= t->iv[i].bound) i++;
    return &t->iv[i];
}

/* The variant for a unit-stride call of size n; serial inside a parallel region. */
static inline const kt_variant *kt_pick(const kt_optab *t, size_t n) {
    size_t i = 0;
    while (n >= t->iv[i].bound) i++;
    const kt_variant *v = t->iv[i].pick;
    if ((v->flags & KT_VF_OPENMP) && kt_omp_in_parallel()) v = t->iv[i].serial;
    return v;
}

#endif /* KT_DISPATCH_H */
