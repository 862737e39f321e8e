/*
 * Profiling of real calls and the dispatch counters (lib/kt_profile.h says how the hot
 * path reaches them).  Here: the per-thread counter blocks and their registry, the
 * per-thread tables of shape classes with sampled timing, the recording wrappers, and
 * the flush that merges every thread's table and writes it to the tuning database (one
 * transaction, db/profile.c) or, when that fails, to the file KTUNE_PROFILE names, or
 * reports it lost with one warning.  Never fails the program, never prints.
 *
 * Concurrency: each table and counter block is written by its owner thread only, with
 * relaxed atomic loads and stores (plain moves); a flush reads them under kt_prof_lock,
 * which also guards the lists.  A thread's table and counters outlive it: at its exit
 * they are added into the process's retired totals.  A forked child starts from zero
 * (the parent keeps, and writes, what was counted before the fork) as a run of its own.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kt_db.h"
#include "kt_profile.h"
#include "kt_shape.h"

/* ---- dispatch counters ------------------------------------------------------------ */

_Thread_local KT_TLS_IE kt_ctr_block *kt_ctr_me;

static pthread_mutex_t kt_prof_lock = PTHREAD_MUTEX_INITIALIZER;
static kt_ctr_block *kt_ctr_list;                      /* registered live threads */
static uint64_t kt_ctr_retired[KT_OP_COUNT][KT_CTR_N]; /* of threads that exited */
static pthread_key_t kt_ctr_key, kt_prof_key;
static pthread_once_t kt_prof_once = PTHREAD_ONCE_INIT;
static int kt_keys_ok;

static const char *const kt_ctr_names[KT_CTR_N] = {"default", NULL,      "neighbour", "tuned",
                                                   "forced",  "strided", "fallback",  NULL};

const char *kt_ctr_name(int slot) { return slot >= 0 && slot < KT_CTR_N ? kt_ctr_names[slot] : NULL; }

static void ctr_thread_exit(void *p) {
    kt_ctr_block *b = p;
    pthread_mutex_lock(&kt_prof_lock);
    for (int o = 0; o < KT_OP_COUNT; o++)
        for (int c = 0; c < KT_CTR_N; c++) kt_ctr_retired[o][c] += b->n[o][c];
    for (kt_ctr_block **q = &kt_ctr_list; *q; q = &(*q)->next)
        if (*q == b) {
            *q = b->next;
            break;
        }
    pthread_mutex_unlock(&kt_prof_lock);
    kt_ctr_me = NULL; /* a later call in this thread's destructors registers a new one */
    free(b);
}

static void prof_atfork_prepare(void);
static void prof_atfork_parent(void);
static void prof_atfork_child(void);
static void prof_thread_exit(void *p);

static void keys_init(void) {
    kt_keys_ok = pthread_key_create(&kt_ctr_key, ctr_thread_exit) == 0 &&
                 pthread_key_create(&kt_prof_key, prof_thread_exit) == 0;
    pthread_atfork(prof_atfork_prepare, prof_atfork_parent, prof_atfork_child);
}

kt_ctr_block *kt_ctr_register(void) {
    if (kt_ctr_me) return kt_ctr_me;
    pthread_once(&kt_prof_once, keys_init);
    kt_ctr_block *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    pthread_mutex_lock(&kt_prof_lock);
    b->next = kt_ctr_list;
    kt_ctr_list = b;
    pthread_mutex_unlock(&kt_prof_lock);
    if (kt_keys_ok) pthread_setspecific(kt_ctr_key, b);
    kt_ctr_me = b;
    return b;
}

static void counters_locked(uint64_t out[KT_OP_COUNT][KT_CTR_N]) {
    memcpy(out, kt_ctr_retired, sizeof kt_ctr_retired);
    for (kt_ctr_block *b = kt_ctr_list; b; b = b->next)
        for (int o = 0; o < KT_OP_COUNT; o++)
            for (int c = 0; c < KT_CTR_N; c++)
                out[o][c] += __atomic_load_n(&b->n[o][c], __ATOMIC_RELAXED);
}

void kt_profile_counters(uint64_t out[KT_OP_COUNT][KT_CTR_N]) {
    pthread_mutex_lock(&kt_prof_lock);
    counters_locked(out);
    pthread_mutex_unlock(&kt_prof_lock);
}

/* ---- per-thread tables of shape classes ----------------------------------------------- */

#define KT_PROF_SLOTS 1024 /* entries per thread (a power of two) */
#define KT_PROF_EXACT 256  /* distinct exact shapes per thread; later ones: log2 classes */

typedef struct kt_prof_entry {
    const kt_variant *v; /* NULL: free; published last (release) */
    size_t d[3];
    uint32_t bucket;     /* 0 exact, 1 log2 class, 2 no room (shape unknown) */
    uint32_t countdown;  /* calls to the next timed one */
    uint32_t period;     /* 1 in period calls is timed */
    uint64_t calls, timed, timed_ns;
} kt_prof_entry;

typedef struct kt_prof_thread {
    kt_prof_entry e[KT_PROF_SLOTS];
    kt_prof_entry other[KT_OP_COUNT];  /* calls that found no room (bucket 2) */
    kt_prof_entry *last[KT_OP_COUNT];  /* the entry of the previous call of each op */
    unsigned nexact, nused;
    struct kt_prof_thread *next;
} kt_prof_thread;

_Atomic int kt_profile_active;
static _Thread_local KT_TLS_IE kt_prof_thread *kt_prof_me;
static kt_prof_thread *kt_prof_list;    /* live threads' tables */
static kt_prof_thread *kt_prof_retired; /* exited threads' entries, merged (one table) */
static uint64_t kt_prof_lost;           /* calls not recorded (a table could not be made) */
static uint64_t kt_clock_pair_ns = 40;  /* what two clock reads cost, measured at enable */

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void add_rel(uint64_t *p, uint64_t x) {
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + x, __ATOMIC_RELAXED);
}

static inline unsigned slot_of(const kt_variant *v, size_t d0, size_t d1, size_t d2,
                               unsigned bucket) {
    uint64_t h = (uint64_t)(uintptr_t)v * 0x9e3779b97f4a7c15ull;
    h ^= (d0 + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull;
    h ^= (d1 + 0x8cb92ba72f3d8dd7ull) * 0x94d049bb133111ebull;
    h ^= (d2 + bucket) * 0xd6e8feb86659fd93ull;
    return (unsigned)(h >> 54) & (KT_PROF_SLOTS - 1);
}

/* The entry of (v, d, bucket) in t, made if missing; NULL when the table is full. */
static kt_prof_entry *find(kt_prof_thread *t, const kt_variant *v, size_t d0, size_t d1,
                           size_t d2, unsigned bucket, int make) {
    unsigned i = slot_of(v, d0, d1, d2, bucket);
    for (unsigned probe = 0; probe < KT_PROF_SLOTS; probe++, i = (i + 1) & (KT_PROF_SLOTS - 1)) {
        kt_prof_entry *e = &t->e[i];
        const kt_variant *ev = __atomic_load_n(&e->v, __ATOMIC_RELAXED);
        if (!ev) {
            if (!make || t->nused + 1 >= KT_PROF_SLOTS) return NULL;
            e->d[0] = d0, e->d[1] = d1, e->d[2] = d2;
            e->bucket = bucket;
            e->period = e->countdown = 1;
            t->nused++;
            __atomic_store_n(&e->v, v, __ATOMIC_RELEASE);
            return e;
        }
        if (ev == v && e->d[0] == d0 && e->d[1] == d1 && e->d[2] == d2 && e->bucket == bucket)
            return e;
    }
    return NULL;
}

static inline size_t floor_pow2(size_t x) { return x ? (size_t)1 << kt_ilog2(x) : 0; }

static __attribute__((noinline)) kt_prof_thread *thread_table_new(void) {
    pthread_once(&kt_prof_once, keys_init);
    kt_prof_thread *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    pthread_mutex_lock(&kt_prof_lock);
    t->next = kt_prof_list;
    kt_prof_list = t;
    pthread_mutex_unlock(&kt_prof_lock);
    kt_prof_me = t;
    if (kt_keys_ok) pthread_setspecific(kt_prof_key, t);
    return t;
}

/* The entry a call of v at (d0, d1, d2) counts in, its call counted; NULL: lost. */
static __attribute__((noinline)) kt_prof_entry *lookup_slow(kt_prof_thread *t,
                                                            const kt_variant *v, size_t d0,
                                                            size_t d1, size_t d2) {
    kt_prof_entry *e = find(t, v, d0, d1, d2, 0, 0);
    if (!e && t->nexact < KT_PROF_EXACT && (e = find(t, v, d0, d1, d2, 0, 1))) t->nexact++;
    if (!e) e = find(t, v, floor_pow2(d0), floor_pow2(d1), floor_pow2(d2), 1, 1);
    if (!e) {
        e = &t->other[v->op];
        if (!__atomic_load_n(&e->v, __ATOMIC_RELAXED)) {
            e->bucket = 2;
            e->period = e->countdown = 1;
            __atomic_store_n(&e->v, v, __ATOMIC_RELEASE);
        }
    }
    t->last[v->op] = e;
    return e;
}

/* The entry of a call, its call counted (noinline: the wrappers' slow path); NULL: lost. */
static __attribute__((noinline)) kt_prof_entry *count_call(const kt_variant *v, size_t d0,
                                                           size_t d1, size_t d2) {
    kt_prof_thread *t = kt_prof_me;
    if (!t && !(t = thread_table_new())) {
        __atomic_fetch_add(&kt_prof_lost, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    kt_prof_entry *e = t->last[v->op];
    if (!(e && e->v == v && e->d[0] == d0 && e->d[1] == d1 && e->d[2] == d2 && !e->bucket))
        e = lookup_slow(t, v, d0, d1, d2);
    add_rel(&e->calls, 1);
    return e;
}

/*
 * The wrappers' fast path: the thread's entry of its previous call of this op is this
 * call's, and this call is not to be timed: counted, 1 when so.  Then the wrapper
 * ends in a tail call of the variant, with no stack frame of its own.
 */
static inline __attribute__((always_inline)) int count_fast(const kt_variant *v, size_t d0,
                                                            size_t d1, size_t d2) {
    kt_prof_thread *t = kt_prof_me;
    if (!t) return 0;
    kt_prof_entry *e = t->last[v->op];
    if (!e || e->v != v || e->d[0] != d0 || e->d[1] != d1 || e->d[2] != d2 || e->bucket ||
        e->countdown <= 1)
        return 0;
    e->countdown--;
    add_rel(&e->calls, 1);
    return 1;
}

/* Whether this call is to be timed. */
static inline int timing_due(kt_prof_entry *e) { return --e->countdown == 0; }

/* Adds a timed call and adapts the period: clock reads under 1% of the time spent. */
static void timed(kt_prof_entry *e, uint64_t ns) {
    add_rel(&e->timed, 1);
    add_rel(&e->timed_ns, ns);
    uint64_t avg = e->timed_ns / e->timed + 1, want = 100 * kt_clock_pair_ns / avg + 1;
    uint32_t p = 1;
    while (p < want && p < (1u << 16)) p <<= 1;
    e->period = p;
    e->countdown = p;
}

/*
 * The recording wrappers, one per op signature: count the call in its shape class,
 * time it when due, call the variant.  Dims as the tuner and dispatch see them
 * (column-major, n for vector ops).
 */
#define KT_PROF_WRAP(NAME, FNT, D0, D1, D2, PARAMS, ARGS)                                 \
    static __attribute__((noinline)) kt_status NAME##_slow PARAMS {                       \
        kt_prof_entry *e_ = count_call(v, D0, D1, D2);                                    \
        if (e_ && timing_due(e_)) {                                                       \
            uint64_t t0_ = now_ns();                                                      \
            kt_status s_ = ((FNT)v->fn)ARGS;                                              \
            timed(e_, now_ns() - t0_);                                                    \
            return s_;                                                                    \
        }                                                                                 \
        return ((FNT)v->fn)ARGS;                                                          \
    }                                                                                     \
    static kt_status NAME PARAMS {                                                        \
        if (count_fast(v, D0, D1, D2)) return ((FNT)v->fn)ARGS;                           \
        return NAME##_slow ARGS;                                                          \
    }

KT_PROF_WRAP(prof_add_scalar_i64, kt_add_scalar_i64_fn, n, 0, 0,
             (const kt_variant *v, size_t n, int64_t c, int64_t *a), (v, n, c, a))
KT_PROF_WRAP(prof_add_scalar_f32, kt_add_scalar_f32_fn, n, 0, 0,
             (const kt_variant *v, size_t n, float c, float *a), (v, n, c, a))
KT_PROF_WRAP(prof_add_scalar_f64, kt_add_scalar_f64_fn, n, 0, 0,
             (const kt_variant *v, size_t n, double c, double *a), (v, n, c, a))
KT_PROF_WRAP(prof_axpy_f32, kt_axpy_f32_fn, n, 0, 0,
             (const kt_variant *v, size_t n, float al, const float *x, ptrdiff_t ix, float *y,
              ptrdiff_t iy),
             (v, n, al, x, ix, y, iy))
KT_PROF_WRAP(prof_axpy_f64, kt_axpy_f64_fn, n, 0, 0,
             (const kt_variant *v, size_t n, double al, const double *x, ptrdiff_t ix,
              double *y, ptrdiff_t iy),
             (v, n, al, x, ix, y, iy))
KT_PROF_WRAP(prof_dot_f32, kt_dot_f32_fn, n, 0, 0,
             (const kt_variant *v, size_t n, const float *x, ptrdiff_t ix, const float *y,
              ptrdiff_t iy, float *r),
             (v, n, x, ix, y, iy, r))
KT_PROF_WRAP(prof_dot_f64, kt_dot_f64_fn, n, 0, 0,
             (const kt_variant *v, size_t n, const double *x, ptrdiff_t ix, const double *y,
              ptrdiff_t iy, double *r),
             (v, n, x, ix, y, iy, r))
KT_PROF_WRAP(prof_gemv_f32, kt_gemv_f32_fn, m, n, 0,
             (const kt_variant *v, kt_trans t, size_t m, size_t n, float al, const float *a,
              size_t lda, const float *x, ptrdiff_t ix, float be, float *y, ptrdiff_t iy),
             (v, t, m, n, al, a, lda, x, ix, be, y, iy))
KT_PROF_WRAP(prof_gemv_f64, kt_gemv_f64_fn, m, n, 0,
             (const kt_variant *v, kt_trans t, size_t m, size_t n, double al, const double *a,
              size_t lda, const double *x, ptrdiff_t ix, double be, double *y, ptrdiff_t iy),
             (v, t, m, n, al, a, lda, x, ix, be, y, iy))
KT_PROF_WRAP(prof_gemm_f32, kt_gemm_f32_fn, m, n, k,
             (const kt_variant *v, kt_trans ta, kt_trans tb, size_t m, size_t n, size_t k,
              float al, const float *a, size_t lda, const float *b, size_t ldb, float be,
              float *c, size_t ldc),
             (v, ta, tb, m, n, k, al, a, lda, b, ldb, be, c, ldc))
KT_PROF_WRAP(prof_gemm_f64, kt_gemm_f64_fn, m, n, k,
             (const kt_variant *v, kt_trans ta, kt_trans tb, size_t m, size_t n, size_t k,
              double al, const double *a, size_t lda, const double *b, size_t ldb, double be,
              double *c, size_t ldc),
             (v, ta, tb, m, n, k, al, a, lda, b, ldb, be, c, ldc))

/* transpose, stencil3x3 and sort (variants/kt_shape.h): dims as dispatch sees them, row-major */
KT_PROF_WRAP(prof_transpose_f32, kt_transpose_f32_fn, m, n, 0,
             (const kt_variant *v, size_t m, size_t n, const float *a, size_t lda, float *b,
              size_t ldb),
             (v, m, n, a, lda, b, ldb))
KT_PROF_WRAP(prof_transpose_f64, kt_transpose_f64_fn, m, n, 0,
             (const kt_variant *v, size_t m, size_t n, const double *a, size_t lda, double *b,
              size_t ldb),
             (v, m, n, a, lda, b, ldb))
KT_PROF_WRAP(prof_stencil3x3_f32, kt_stencil3x3_f32_fn, m, n, 0,
             (const kt_variant *v, size_t m, size_t n, const float *w, const float *a,
              size_t lda, float *b, size_t ldb),
             (v, m, n, w, a, lda, b, ldb))
KT_PROF_WRAP(prof_stencil3x3_f64, kt_stencil3x3_f64_fn, m, n, 0,
             (const kt_variant *v, size_t m, size_t n, const double *w, const double *a,
              size_t lda, double *b, size_t ldb),
             (v, m, n, w, a, lda, b, ldb))
KT_PROF_WRAP(prof_sort_f32, kt_sort_f32_fn, n, 0, 0, (const kt_variant *v, size_t n, float *a),
             (v, n, a))
KT_PROF_WRAP(prof_sort_f64, kt_sort_f64_fn, n, 0, 0, (const kt_variant *v, size_t n, double *a),
             (v, n, a))
KT_PROF_WRAP(prof_sort_i64, kt_sort_i64_fn, n, 0, 0, (const kt_variant *v, size_t n, int64_t *a),
             (v, n, a))

_Static_assert(KT_OP_COUNT == 18, "a new op needs its recording wrapper here");
const kt_fnptr kt_profile_wrappers[KT_OP_COUNT] = {
    [KT_OP_ADD_SCALAR_I64] = (kt_fnptr)prof_add_scalar_i64,
    [KT_OP_ADD_SCALAR_F32] = (kt_fnptr)prof_add_scalar_f32,
    [KT_OP_ADD_SCALAR_F64] = (kt_fnptr)prof_add_scalar_f64,
    [KT_OP_AXPY_F32] = (kt_fnptr)prof_axpy_f32,
    [KT_OP_AXPY_F64] = (kt_fnptr)prof_axpy_f64,
    [KT_OP_DOT_F32] = (kt_fnptr)prof_dot_f32,
    [KT_OP_DOT_F64] = (kt_fnptr)prof_dot_f64,
    [KT_OP_GEMV_F32] = (kt_fnptr)prof_gemv_f32,
    [KT_OP_GEMV_F64] = (kt_fnptr)prof_gemv_f64,
    [KT_OP_GEMM_F32] = (kt_fnptr)prof_gemm_f32,
    [KT_OP_GEMM_F64] = (kt_fnptr)prof_gemm_f64,
    [KT_OP_TRANSPOSE_F32] = (kt_fnptr)prof_transpose_f32,
    [KT_OP_TRANSPOSE_F64] = (kt_fnptr)prof_transpose_f64,
    [KT_OP_STENCIL3X3_F32] = (kt_fnptr)prof_stencil3x3_f32,
    [KT_OP_STENCIL3X3_F64] = (kt_fnptr)prof_stencil3x3_f64,
    [KT_OP_SORT_F32] = (kt_fnptr)prof_sort_f32,
    [KT_OP_SORT_F64] = (kt_fnptr)prof_sort_f64,
    [KT_OP_SORT_I64] = (kt_fnptr)prof_sort_i64,
};

/* Adds the counts of entry src into table dst (the retired one: room for all). */
static void merge_entry(kt_prof_thread *dst, const kt_prof_entry *src) {
    const kt_variant *v = __atomic_load_n(&src->v, __ATOMIC_ACQUIRE);
    if (!v) return;
    kt_prof_entry *e = src->bucket == 2
                           ? &dst->other[v->op]
                           : find(dst, v, src->d[0], src->d[1], src->d[2], src->bucket, 1);
    if (!e) e = &dst->other[v->op];
    if (!e->v) {
        e->bucket = e == &dst->other[v->op] ? 2 : src->bucket;
        e->v = v;
    }
    e->calls += __atomic_load_n(&src->calls, __ATOMIC_RELAXED);
    e->timed += __atomic_load_n(&src->timed, __ATOMIC_RELAXED);
    e->timed_ns += __atomic_load_n(&src->timed_ns, __ATOMIC_RELAXED);
}

static void merge_table(kt_prof_thread *dst, const kt_prof_thread *src) {
    for (unsigned i = 0; i < KT_PROF_SLOTS; i++) merge_entry(dst, &src->e[i]);
    for (int o = 0; o < KT_OP_COUNT; o++) merge_entry(dst, &src->other[o]);
}

static void prof_thread_exit(void *p) {
    kt_prof_thread *t = p;
    pthread_mutex_lock(&kt_prof_lock);
    if (!kt_prof_retired) kt_prof_retired = calloc(1, sizeof *kt_prof_retired);
    if (kt_prof_retired) merge_table(kt_prof_retired, t);
    for (kt_prof_thread **q = &kt_prof_list; *q; q = &(*q)->next)
        if (*q == t) {
            *q = t->next;
            break;
        }
    pthread_mutex_unlock(&kt_prof_lock);
    kt_prof_me = NULL;
    free(t);
}

/* ---- the process: identity, fork, exit ------------------------------------------------ */

static struct {
    char program[1024];
    char args[1001];
    char args_hash[17];
    char session[64];
    char started[40];
    char path[4096]; /* KTUNE_PROFILE=path: where a profile the database refused goes */
    int pid;
    int warned;
    int wrote_file; /* a profile went to path: removed once the database takes it */
} kt_me;

static void iso_now(char *buf, size_t len) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char s[24];
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%.19s.%03dZ", s, (int)(ts.tv_nsec / 1000000) % 1000);
}

static void identity(void) {
    ssize_t l = readlink("/proc/self/exe", kt_me.program, sizeof kt_me.program - 1);
    kt_me.program[l > 0 ? l : 0] = '\0';
    if (l <= 0) snprintf(kt_me.program, sizeof kt_me.program, "?");
    uint64_t h = 0xcbf29ce484222325ull;
    size_t used = 0;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[4096];
        ssize_t r;
        int field = 0;
        while ((r = read(fd, buf, sizeof buf)) > 0) {
            for (ssize_t i = 0; i < r; i++) {
                if (field > 0) {
                    h = (h ^ (unsigned char)buf[i]) * 0x100000001b3ull;
                    if (used + 1 < sizeof kt_me.args)
                        kt_me.args[used++] = buf[i] ? buf[i] : ' ';
                }
                if (!buf[i]) field++;
            }
        }
        close(fd);
    }
    while (used && kt_me.args[used - 1] == ' ') used--;
    kt_me.args[used] = '\0';
    snprintf(kt_me.args_hash, sizeof kt_me.args_hash, "%016llx", (unsigned long long)h);
    kt_me.pid = (int)getpid();
    iso_now(kt_me.started, sizeof kt_me.started);
    const char *s = getenv("KTUNE_PROFILE_SESSION");
    if (s && *s && strlen(s) < sizeof kt_me.session)
        snprintf(kt_me.session, sizeof kt_me.session, "%s", s);
    else
        snprintf(kt_me.session, sizeof kt_me.session, "%d-%s", kt_me.pid, kt_me.started);
    const char *p = getenv("KTUNE_PROFILE");
    if (p && strcmp(p, "1") && strcmp(p, "0") && strlen(p) < sizeof kt_me.path)
        snprintf(kt_me.path, sizeof kt_me.path, "%s", p);
}

static void prof_atfork_prepare(void) { pthread_mutex_lock(&kt_prof_lock); }
static void prof_atfork_parent(void) { pthread_mutex_unlock(&kt_prof_lock); }

/*
 * The child: only the forking thread is left.  Everything counted so far is the
 * parent's (it writes it): start from zero, as a run of its own (pid, start time).
 */
static void prof_atfork_child(void) {
    pthread_mutex_init(&kt_prof_lock, NULL);
    memset(kt_ctr_retired, 0, sizeof kt_ctr_retired);
    for (kt_ctr_block *b = kt_ctr_list, *next; b; b = next) {
        next = b->next;
        if (b != kt_ctr_me) free(b); /* other threads' copies: those threads are gone */
    }
    kt_ctr_list = NULL;
    if (kt_ctr_me) {
        memset(kt_ctr_me->n, 0, sizeof kt_ctr_me->n);
        kt_ctr_me->next = NULL;
        kt_ctr_list = kt_ctr_me;
    }
    for (kt_prof_thread *t = kt_prof_list, *next; t; t = next) {
        next = t->next;
        if (t != kt_prof_me) free(t);
    }
    kt_prof_list = NULL;
    free(kt_prof_retired);
    kt_prof_retired = NULL;
    kt_prof_lost = 0;
    if (kt_prof_me) {
        memset(kt_prof_me, 0, sizeof *kt_prof_me);
        kt_prof_list = kt_prof_me;
    }
    if (kt_me.pid) {
        kt_me.pid = (int)getpid();
        iso_now(kt_me.started, sizeof kt_me.started);
    }
}

/* ---- flushing -------------------------------------------------------------------------- */

/* Every thread's entries (and the retired ones) merged into one table (caller frees). */
static kt_prof_thread *merged_locked(void) {
    kt_prof_thread *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    if (kt_prof_retired) merge_table(m, kt_prof_retired);
    for (kt_prof_thread *t = kt_prof_list; t; t = t->next) merge_table(m, t);
    return m;
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

/* Writes the profile as JSON to path (a new file renamed over it). */
static kt_status write_file(const char *path, const kt_db_prof_run *run,
                            const kt_db_prof_call *calls, size_t ncalls,
                            const kt_db_prof_counter *ctrs, size_t nctrs) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return kt_fail(KT_EIO, "%s: %s", tmp, strerror(errno));
    fprintf(f, "{\"ktune_profile\": 1, \"fingerprint\": ");
    json_str(f, kt_fingerprint());
    fprintf(f, ", \"program\": ");
    json_str(f, run->program);
    fprintf(f, ", \"args\": ");
    json_str(f, run->args);
    fprintf(f, ", \"args_hash\": \"%s\", \"session\": ", run->args_hash);
    json_str(f, run->session);
    fprintf(f, ", \"pid\": %lld, \"started\": \"%s\", \"ktune_version\": ", (long long)run->pid,
            run->started);
    json_str(f, run->ktune_version);
    fprintf(f, ", \"complete\": %d,\n \"calls\": [", run->complete);
    for (size_t i = 0; i < ncalls; i++) {
        const kt_db_prof_call *c = &calls[i];
        fprintf(f, "%s\n  {\"op\": \"%s\", \"m\": %zu, \"n\": %zu, \"k\": %zu, \"bucket\": %d, "
                   "\"variant\": \"%s\", \"version\": %u, \"calls\": %lld, \"timed\": %lld, "
                   "\"timed_s\": %.9g, \"total_s\": %.9g}",
                i ? "," : "", c->op, c->m, c->n, c->k, c->bucket, c->variant, c->version,
                (long long)c->calls, (long long)c->timed, c->timed_s, c->total_s);
    }
    fprintf(f, "],\n \"counters\": [");
    for (size_t i = 0; i < nctrs; i++)
        fprintf(f, "%s\n  {\"op\": \"%s\", \"counter\": \"%s\", \"count\": %lld}", i ? "," : "",
                ctrs[i].op, ctrs[i].counter, (long long)ctrs[i].count);
    fprintf(f, "]}\n");
    int bad = ferror(f);
    if (fclose(f) || bad || rename(tmp, path)) {
        kt_status s = kt_fail(KT_EIO, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return s;
    }
    return KT_OK;
}

static kt_status flush(int complete) {
    if (!kt_me.pid) return KT_OK; /* never enabled: nothing to write */
    uint64_t ctr[KT_OP_COUNT][KT_CTR_N];
    pthread_mutex_lock(&kt_prof_lock);
    kt_prof_thread *m = merged_locked();
    counters_locked(ctr);
    pthread_mutex_unlock(&kt_prof_lock);
    if (!m) return kt_fail(KT_ENOMEM, "kt_profile_flush: out of memory");
    size_t ncalls = 0, nctrs = 0;
    kt_db_prof_call *calls = malloc((KT_PROF_SLOTS + KT_OP_COUNT) * sizeof *calls);
    kt_db_prof_counter *ctrs = malloc(KT_OP_COUNT * KT_CTR_N * sizeof *ctrs);
    if (!calls || !ctrs) {
        free(m), free(calls), free(ctrs);
        return kt_fail(KT_ENOMEM, "kt_profile_flush: out of memory");
    }
    for (unsigned i = 0; i < KT_PROF_SLOTS + KT_OP_COUNT; i++) {
        const kt_prof_entry *e = i < KT_PROF_SLOTS ? &m->e[i] : &m->other[i - KT_PROF_SLOTS];
        if (!e->v || !e->calls) continue;
        kt_db_prof_call *c = &calls[ncalls++];
        memset(c, 0, sizeof *c);
        snprintf(c->op, sizeof c->op, "%s", kt_ops[e->v->op].name);
        size_t mnk[3];
        kt_db_dims_pack(kt_ops[e->v->op].ndims, e->d, mnk);
        c->m = mnk[0], c->n = mnk[1], c->k = mnk[2];
        c->bucket = (int)e->bucket;
        snprintf(c->variant, sizeof c->variant, "%s", e->v->name);
        c->version = e->v->version;
        c->calls = (int64_t)e->calls;
        c->timed = (int64_t)e->timed;
        c->timed_s = (double)e->timed_ns * 1e-9;
        c->total_s = e->timed ? c->timed_s * (double)e->calls / (double)e->timed : 0;
    }
    free(m);
    for (int o = 0; o < KT_OP_COUNT; o++)
        for (int k = 0; k < KT_CTR_N; k++)
            if (ctr[o][k] && kt_ctr_names[k]) {
                kt_db_prof_counter *c = &ctrs[nctrs++];
                snprintf(c->op, sizeof c->op, "%s", kt_ops[o].name);
                snprintf(c->counter, sizeof c->counter, "%s", kt_ctr_names[k]);
                c->count = (int64_t)ctr[o][k];
            }
    if (!ncalls) { /* nothing recorded: no run to store */
        free(calls), free(ctrs);
        return KT_OK;
    }
    kt_db_prof_run run = {0};
    snprintf(run.program, sizeof run.program, "%s", kt_me.program);
    snprintf(run.args, sizeof run.args, "%s", kt_me.args);
    snprintf(run.args_hash, sizeof run.args_hash, "%s", kt_me.args_hash);
    snprintf(run.session, sizeof run.session, "%s", kt_me.session);
    snprintf(run.started, sizeof run.started, "%s", kt_me.started);
    snprintf(run.ktune_version, sizeof run.ktune_version, "%s", kt_version());
    run.pid = kt_me.pid;
    run.complete = complete;

    char dbpath[4096];
    const char *env = getenv("KTUNE_DB");
    kt_status s = KT_OK;
    if (env && *env) snprintf(dbpath, sizeof dbpath, "%s", env);
    else s = kt_db_default_path(dbpath, sizeof dbpath, 1);
    kt_db *db = NULL;
    if (s == KT_OK) {
        kt_db_options opt = {1, 1000, NULL};
        s = kt_db_open(dbpath, &opt, &db);
    }
    if (s == KT_OK) s = kt_db_profile_write(db, kt_fingerprint(), &run, calls, ncalls, ctrs, nctrs);
    if (db) {
        kt_status c = kt_db_close(db);
        if (s == KT_OK) s = c;
    }
    if (s != KT_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", kt_last_error());
        kt_status f = kt_me.path[0] ? write_file(kt_me.path, &run, calls, ncalls, ctrs, nctrs)
                                    : KT_EIO;
        if (!kt_me.warned) {
            kt_me.warned = 1;
            if (f == KT_OK)
                kt_log(KT_LOG_WARN, "profile not stored in the tuning database (%s): written "
                       "to %s", why, kt_me.path);
            else
                kt_log(KT_LOG_WARN, "profile lost: not stored in the tuning database (%s)%s%s",
                       why, kt_me.path[0] ? "; nor in " : "", kt_me.path[0] ? kt_me.path : "");
        }
        if (f == KT_OK) s = KT_OK, kt_me.wrote_file = 1;
        else kt_fail(s, "profile not stored: %s", why);
    } else if (kt_me.wrote_file) {
        unlink(kt_me.path); /* stale now: the database has all of it */
        kt_me.wrote_file = 0;
    }
    free(calls), free(ctrs);
    return s;
}

kt_status kt_profile_flush(void) {
    if (!atomic_load(&kt_profile_active)) return KT_OK;
    return flush(0);
}

static void at_exit(void) {
    if (atomic_load(&kt_profile_active)) flush(1);
}

/* Starts recording (no table rebuild: the caller does that). */
static void start(void) {
    static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&once);
    if (!kt_me.pid) {
        pthread_once(&kt_prof_once, keys_init);
        identity();
        uint64_t t0 = now_ns();
        for (int i = 0; i < 64; i++) (void)now_ns();
        kt_clock_pair_ns = (now_ns() - t0) / 32 + 1;
        atexit(at_exit);
    }
    atomic_store(&kt_profile_active, 1);
    pthread_mutex_unlock(&once);
}

void kt_profile_from_env(void) {
    if (kt_env_get()->profile && !atomic_load(&kt_profile_active)) start();
}

kt_status kt_profile_enable(void) {
    if (atomic_load(&kt_profile_active)) return KT_OK;
    kt_init();
    start();
    kt_status s = kt_reload();
    return s == KT_ENOMEM ? s : KT_OK;
}

int kt_profile_enabled(void) { return atomic_load(&kt_profile_active); }
