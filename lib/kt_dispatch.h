/* The dispatch table (private to lib/; the tuner reads it through kt_dispatch_explain). */
#ifndef KT_DISPATCH_H
#define KT_DISPATCH_H

#include <stdatomic.h>

#include "kt_internal.h"

int kt_omp_in_parallel(void); /* variants/threads (0 without OpenMP) */

enum { KT_SRC_DEFAULT, KT_SRC_TUNED, KT_SRC_FORCED };

/*
 * Sizes below `bound` (and at or above the previous interval's bound).  The
 * fields a fast path reads come first (its first 56 bytes).
 */
typedef struct kt_interval {
    void *direct;              /* pick->fn if a call may go straight to it (a serial CPU
                                  variant: no parallel-region or GPU-fallback rule), else NULL */
    const kt_variant *pick;    /* what a call runs */
    size_t matched[3];         /* the tuned dimensions (KT_SRC_TUNED) */
    uint32_t ctr;              /* byte offset in kt_ctr_block of the counter of a call here
                                  (kt_ctr_offset); the next one counts an exact tuned size */
    int source;                /* KT_SRC_* */
    void *unit;                /* dot ops: pick's unit-stride form (kt_dot_unit_of) where
                                  direct is pick->fn, else NULL */
    size_t bound;
    const kt_variant *serial;  /* what it runs inside an OpenMP parallel region */
} kt_interval;

/*
 * Sizes whose floor(log2) is b (b = 0: sizes 0 and 1) lie in the intervals
 * of bucket b.  A bucket over one or two intervals (the common case: few
 * winner changes) is one compare and a conditional move, no branch: sizes
 * below split are in `below`, the others in `above` (the next interval, or
 * the same one when the bucket lies in one).  A bucket over more goes on
 * scanning from there up to `limit`, its last interval (0 for the others),
 * and so can never pass the last interval, which holds every size up to
 * SIZE_MAX.
 */
typedef struct kt_bucket {
    size_t split;
    const kt_interval *below, *above;
    uintptr_t limit;
} kt_bucket;

#define KT_NBUCKETS 64

typedef struct kt_optab {
    int ndims;                     /* 1: {n}; 2: {m, n}; 3: {m, n, k} */
    double (*lg)[3];               /* ndims > 1 and tuned: log2 of each interval's dims */
    size_t nint;
    kt_interval *iv;               /* nint intervals, the last bound is SIZE_MAX */
    kt_bucket bucket[KT_NBUCKETS]; /* by floor(log2 size): where to look in iv */
    const kt_variant *strided;     /* for non-unit increments */
    const kt_variant *best_serial; /* best serial SIMD variant (threads' inner loop) */
    char force_note[256];          /* why a forced variant was ignored ("" if none) */
} kt_optab;

typedef struct kt_table {
    kt_optab ops[KT_OP_MAX];       /* the first nops are built; the built-in ops come first */
    struct kt_table *next_retired;
    int pinned;                    /* op + 1 of a pinned table (kt_dispatch_pin), 0 none */
    size_t nops;                   /* kt_op_count() when it was built */
} kt_table;

/*
 * For the tuner, which times every variant through the public entry points
 * (so each pays the same argument checks as dispatch does): publishes a
 * table whose op always calls v, the rest as the table in force before the
 * first pin; v NULL publishes that table again.  Pinned tables are built
 * once per (base, variant) and kept until exit: switching is one atomic
 * store, no allocation.  A v that cannot run here: KT_EUNAVAIL.
 */
kt_status kt_dispatch_pin(kt_op_id op, const kt_variant *v);

/* One tuned size with its variants ranked fastest first (current versions only). */
typedef struct kt_tuned_point {
    size_t dims[3];
    size_t nranked;
    const kt_variant *ranked[24];
} kt_tuned_point;

typedef struct kt_tuned_set {
    kt_tuned_point *points[KT_OP_MAX];  /* sorted by size */
    size_t npoints[KT_OP_MAX];
} kt_tuned_set;

/*
 * Replaces the tuned points of op (those of the database, if any) by a copy
 * of pts[0..npts) sorted by size, and rebuilds the tables; npts = 0 goes back
 * to the database.  For tests and `ktune bench --overhead`, which need tables
 * of a known shape.  KT_EINVAL for a bad op or too many points.
 */
kt_status kt_dispatch_set_points(kt_op_id op, const kt_tuned_point *pts, size_t npts);

/* Loads the tuned points for this machine from the database (lib/kt_tuned.c). */
kt_status kt_tuned_load(kt_tuned_set **out);
void kt_tuned_set_free(kt_tuned_set *set);
/* The database path the library reads (KTUNE_DB, XDG, the system file). */
kt_status kt_tuned_db_path(char *buf, size_t len);
/*
 * Makes the library read path (NULL or "": back to KTUNE_DB and the default)
 * at the next kt_reload(): the tuner verifies the database it just wrote.
 */
void kt_tuned_db_override(const char *path);

const kt_table *kt_table_slow(void);

extern _Atomic(kt_table *) kt_current_table;

/* The current table, or NULL before the first is built (never builds: no call). */
static inline const kt_table *kt_table_peek(void) {
    return atomic_load_explicit(&kt_current_table, memory_order_acquire);
}

/* The current table (built on first use). */
static inline const kt_table *kt_table_get(void) {
    extern _Atomic(kt_table *) kt_current_table;
    const kt_table *t = atomic_load_explicit(&kt_current_table, memory_order_acquire);
    return t ? t : kt_table_slow();
}

/* log2(x) for x >= 1, to within 0.09: the exponent plus the linear mantissa. */
static inline double kt_flog2(size_t x) {
    union {
        double d;
        uint64_t u;
    } v = {(double)(x ? x : 1)};
    return (double)((int)((v.u >> 52) & 0x7ff) - 1023) +
           (double)(v.u & ((1ull << 52) - 1)) * (1.0 / 4503599627370496.0);
}

/*
 * Matrix ops with tuned points: the point nearest to (d0, d1, d2) in log
 * space (kt_dispatch.c).  Dims by value: no caller's local escapes, so the
 * entry points can still end in a tail call.
 */
const kt_interval *kt_lookup_nearest(const kt_optab *t, size_t d0, size_t d1, size_t d2);

/* floor(log2(x)), 0 for x = 0 and 1. */
static inline unsigned kt_ilog2(size_t x) {
    return 63u - (unsigned)__builtin_clzll((unsigned long long)x | 1u);
}

/* The interval holding size key (bounds ascending): O(1) through the buckets. */
static inline __attribute__((always_inline)) const kt_interval *
kt_lookup_key(const kt_optab *t, size_t key) {
    const kt_bucket *b = &t->bucket[kt_ilog2(key)];
    const kt_interval *iv = key < b->split ? b->below : b->above;
    while (__builtin_expect((uintptr_t)iv < b->limit, 0) && key >= iv->bound) iv++;
    return iv;
}

/*
 * The interval for a call of size dims (any sizes, SIZE_MAX included).
 * Vector ops: the interval of n.  Matrix ops with tuned points: the point
 * nearest in log space (each dimension's log2, squared distances summed),
 * which generalises "nearest tuned size in log scale" to (m, n[, k]).
 * Matrix ops without tuning: the bounds apply to the product of the dims
 * (saturated at SIZE_MAX).
 */
static inline __attribute__((always_inline)) const kt_interval *
kt_lookup_dims(const kt_optab *t, size_t d0, size_t d1, size_t d2) {
    if (t->ndims == 1) return kt_lookup_key(t, d0);
    if (t->lg) return kt_lookup_nearest(t, d0, d1, d2);
    size_t key;
    if (__builtin_mul_overflow(d0, d1, &key) ||
        (t->ndims == 3 && __builtin_mul_overflow(key, d2, &key)))
        key = SIZE_MAX;
    return kt_lookup_key(t, key);
}

/*
 * The interval for a matrix op's shape, through a one-entry cache per thread
 * and op: programs call the same shapes over and over, and the nearest-point
 * search over the tuned shapes costs tens of nanoseconds, the cache two
 * compares.  Tables are retired, never freed, while the process runs, so a
 * cached pointer is only ever compared, and matches the current table only
 * if it belongs to it.  Built-in ops only (op < KT_OP_COUNT).  The TLS model
 * is KT_TLS_IE's (kt_internal.h).
 */
typedef struct kt_shape_cache_entry {
    const kt_optab *t;
    size_t d0, d1, d2;
    const kt_interval *iv;
} kt_shape_cache_entry;
extern _Thread_local KT_TLS_IE kt_shape_cache_entry kt_shape_cache[KT_OP_COUNT]; /* kt_blas.c */

/* The cached interval of op's table t for this shape, or NULL when the cache holds another. */
static inline __attribute__((always_inline)) const kt_interval *
kt_shape_cache_find(kt_op_id op, const kt_optab *t, size_t d0, size_t d1, size_t d2) {
    const kt_shape_cache_entry *e = &kt_shape_cache[op];
    return e->t == t && e->d0 == d0 && e->d1 == d1 && e->d2 == d2 ? e->iv : NULL;
}

static inline __attribute__((always_inline)) const kt_interval *
kt_lookup_cached(kt_op_id op, const kt_optab *t, size_t d0, size_t d1, size_t d2) {
    if (!t->lg) return kt_lookup_dims(t, d0, d1, d2); /* bounds on the product: no cache */
    const kt_interval *iv = kt_shape_cache_find(op, t, d0, d1, d2);
    if (iv) return iv;
    iv = kt_lookup_nearest(t, d0, d1, d2);
    kt_shape_cache[op] = (kt_shape_cache_entry){t, d0, d1, d2, iv};
    return iv;
}

static inline __attribute__((always_inline)) const kt_interval *
kt_lookup(const kt_optab *t, const size_t dims[3]) {
    return kt_lookup_dims(t, dims[0], dims[1], dims[2]);
}

/* The variant for a unit-stride call of size n; serial inside a parallel region. */
static inline const kt_variant *kt_pick(const kt_optab *t, size_t n) {
    const kt_interval *iv = kt_lookup_key(t, n);
    const kt_variant *v = iv->pick;
    if ((v->flags & KT_VF_OPENMP) && kt_omp_in_parallel()) v = iv->serial;
    return v;
}

#endif /* KT_DISPATCH_H */
