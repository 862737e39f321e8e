/*
 * Profiling of real calls (KTUNE_PROFILE, kt_profile_enable) and the dispatch counters
 * (always on).  Private to lib/; lib/kt_profile.c is the implementation.
 *
 * Dispatch counters: every dispatched call adds one to a per-thread, initial-exec TLS
 * counter of its op and kind (tuned shape, nearest tuned neighbour, default, forced,
 * strided fallback) -- a load, an add and a store, no lock, no atomic read-modify-write.
 * A thread's counters live in a block allocated once, at its first call: that call
 * takes the slow path (the fast paths test the TLS pointer `kt_ctr_me`), which makes and
 * registers the block; at thread exit its counts are added to the process's totals.
 * Only the pointer is TLS (8 bytes of static TLS, so a dlopen'ed libktune.so does not
 * run out of the static TLS surplus).
 *
 * Recording: while active, the dispatch tables' direct pointers are the wrappers of
 * lib/kt_profile.c (same signature as the variant functions), and the slow paths call
 * them too (kt_run_fn): each call is counted in the calling thread's table of shape
 * classes, and one in N per shape is timed.  With recording off nothing of this runs:
 * the fast paths are as they were (plus the counter), the slow paths test one flag.
 */
#ifndef KT_PROFILE_H
#define KT_PROFILE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "kt_dispatch.h"
#include "kt_internal.h"

/* Counter slots: source * 2 + exact for dispatched calls, then the fallbacks. */
enum {
    KT_CTR_DEFAULT = 0,     /* KT_SRC_DEFAULT * 2 */
    KT_CTR_NEIGHBOUR = 2,   /* KT_SRC_TUNED * 2: the nearest tuned shape */
    KT_CTR_TUNED = 3,       /* KT_SRC_TUNED * 2 + 1: this very shape was tuned */
    KT_CTR_FORCED = 4,      /* KT_SRC_FORCED * 2 */
    KT_CTR_STRIDED = 5,     /* non-unit increments: the strided variant */
    KT_CTR_FALLBACK = 6,    /* a GPU variant failed, or serial inside a parallel region */
    KT_CTR_N = 8
};
/* The name of a counter slot ("tuned", ...) or NULL for an unused one. */
const char *kt_ctr_name(int slot);

typedef struct kt_ctr_block {
    uint64_t n[KT_OP_COUNT][KT_CTR_N];   /* written by the owner thread only */
    struct kt_ctr_block *next;
} kt_ctr_block;

/* The calling thread's counters; NULL until its first slow-path call. */
extern _Thread_local KT_TLS_IE kt_ctr_block *kt_ctr_me;

/*
 * Makes and registers the calling thread's counters (slow path, once per thread);
 * NULL when out of memory (then nothing is counted in this thread).
 */
kt_ctr_block *kt_ctr_register(void);

/* Counts a slot of op in this thread (registered: kt_ctr_me not NULL). */
static inline __attribute__((always_inline)) void kt_ctr_add(kt_op_id op, unsigned slot) {
    kt_ctr_block *b = kt_ctr_me;
    if (!b) return;
    uint64_t *c = &b->n[op][slot];
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/* The byte offset in kt_ctr_block of op's counter in slot (0 for a registered op). */
static inline size_t kt_ctr_offset(kt_op_id op, unsigned slot) {
    return (size_t)op < KT_OP_COUNT ? offsetof(kt_ctr_block, n) +
                                          ((size_t)op * KT_CTR_N + slot) * sizeof(uint64_t)
                                    : 0;
}

/* Adds one to the counter at byte offset off of block b, plus one slot if exact. */
static inline __attribute__((always_inline)) void kt_ctr_bump(kt_ctr_block *b, uint32_t off,
                                                              int exact) {
    uint64_t *c = (uint64_t *)(void *)((char *)b + off) + exact;
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/*
 * Counts a fast-path call of a vector op of size n through interval iv (a built-in op:
 * iv->ctr is its counter); 0 (nothing counted) while the thread's counters are not
 * registered: the caller then takes its slow path, which registers them.  The TLS
 * address is taken here, after the lookup, so that the fast path needs no more
 * registers than it had (no stack frame).
 */
static inline __attribute__((always_inline)) int kt_ctr_vec(const kt_interval *iv, size_t n) {
    kt_ctr_block *b = kt_ctr_me;
    if (!b) return 0;
    kt_ctr_bump(b, iv->ctr, n == iv->matched[0]);
    return 1;
}

/* The same for a matrix op of shape (d0, d1, d2). */
static inline __attribute__((always_inline)) int
kt_ctr_mat(const kt_interval *iv, size_t d0, size_t d1, size_t d2) {
    kt_ctr_block *b = kt_ctr_me;
    if (!b) return 0;
    kt_ctr_bump(b, iv->ctr,
                (d0 == iv->matched[0]) & (d1 == iv->matched[1]) & (d2 == iv->matched[2]));
    return 1;
}

/* A slow-path count (registers the thread first if needed). */
static inline void kt_ctr_slow(kt_op_id op, unsigned slot) {
    if (!kt_ctr_me) kt_ctr_register();
    kt_ctr_add(op, slot);
}

/* The slow paths' vector pick (kt_pick), counted. */
static inline const kt_variant *kt_pick_counted(kt_op_id op, const kt_optab *t, size_t n) {
    const kt_interval *iv = kt_lookup_key(t, n);
    const kt_variant *v = iv->pick;
    kt_ctr_slow(op, (unsigned)iv->source * 2u + (n == iv->matched[0]));
    if ((v->flags & KT_VF_OPENMP) && kt_omp_in_parallel()) {
        v = iv->serial;
        kt_ctr_add(op, KT_CTR_FALLBACK);
    }
    return v;
}

/* The strided variant, counted. */
static inline const kt_variant *kt_strided_counted(kt_op_id op, const kt_optab *t) {
    kt_ctr_slow(op, KT_CTR_STRIDED);
    return t->strided;
}

/* Sums of every thread's counters (registered, live or exited) into out. */
void kt_profile_counters(uint64_t out[KT_OP_COUNT][KT_CTR_N]);

/* ---- recording ---- */

extern _Atomic int kt_profile_active;
extern const kt_fnptr kt_profile_wrappers[KT_OP_COUNT];

/* The function a slow path calls for v: its own, or the recording wrapper (an op
   without one -- none today -- runs unrecorded). */
static inline kt_fnptr kt_run_fn(const kt_variant *v) {
    return atomic_load_explicit(&kt_profile_active, memory_order_relaxed) &&
                   v->op < KT_OP_COUNT && kt_profile_wrappers[v->op]
               ? kt_profile_wrappers[v->op]
               : v->fn; /* registered ops: not recorded */
}

/* The direct pointer of an interval calling v (finish_optab): v->fn or the wrapper. */
static inline void *kt_profile_direct(const kt_variant *v) {
    return atomic_load_explicit(&kt_profile_active, memory_order_relaxed) &&
                   v->op < KT_OP_COUNT && kt_profile_wrappers[v->op]
               ? (void *)kt_profile_wrappers[v->op]
               : (void *)v->fn;
}

/* At the first table build: turns recording on when KTUNE_PROFILE asks (no rebuild). */
void kt_profile_from_env(void);

#endif /* KT_PROFILE_H */
