/*
 * Dispatch: per operation, an immutable table from problem size to the
 * variant to call, built once (first call or kt_init) and replaced
 * wholesale by kt_reload/kt_force/kt_set_max_threads.  The current tables
 * hang off one atomic pointer: the hot path is one acquire load, a short
 * scan of interval bounds and an indirect call; no locks, no allocation,
 * no system calls.  Replaced tables are retired, not freed, so a call in
 * flight on another thread finishes with the table it started with.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_dispatch.h"
#include "kt_internal.h"
#include "kt_profile.h"
#include "kt_variants.h"

#ifndef KT_HAVE_OPENMP
int kt_omp_in_parallel(void) { return 0; }
int kt_omp_max_threads(void) { return 0; }
void kt_omp_set_max_threads(int n) { (void)n; }
double kt_omp_uneven(int threads) { (void)threads; return NAN; }
#endif

_Atomic(kt_table *) kt_current_table;
static pthread_mutex_t kt_build_lock = PTHREAD_MUTEX_INITIALIZER;
static kt_table *kt_retired;          /* older tables, freed at exit */
static kt_status kt_last_init = KT_OK;
static int kt_api_cap;                /* kt_set_max_threads, 0: none */
static const kt_variant *kt_api_force[KT_OP_MAX];
static kt_tuned_point *kt_set_pts[KT_OP_MAX]; /* kt_dispatch_set_points */
static size_t kt_set_npts[KT_OP_MAX];
int kt_thread_cap(void) {
    const kt_env *env = kt_env_get();
    if (kt_api_cap > 0) return kt_api_cap;
    return env->num_threads;
}

/* ---- building tables ------------------------------------------------------- */

/*
 * The op's baseline, always usable: its "scalar" row, or (an op without
 * one, such as sort) its first serial row of the scalar backend.
 */
static const kt_variant *kt_fallback(kt_op_id op) {
    const kt_variant *v = kt_variant_lookup(op, "scalar");
    for (size_t i = 0, n = kt_variants_len(); !v && i < n; i++) {
        const kt_variant *w = kt_variant_at(i);
        if (w->op == op && !strcmp(w->backend, "scalar") && w->threads == 1) v = w;
    }
    return v;
}

static const char *const kt_simd_order[] = {"avx512", "avx2", "scalar"};

/*
 * A registered op's best usable serial variant: a CPU variant (no GPU, no
 * OpenMP, one thread, any size, not a test row) needing the most CPU
 * features -- the widest SIMD level this CPU runs -- the lower cost rank
 * among equals.  NULL when none can run here.
 */
static const kt_variant *best_serial_registered(kt_op_id op) {
    const kt_variant *best = NULL;
    int best_bits = -1;
    for (size_t i = 0, n = kt_variants_len(); i < n; i++) {
        const kt_variant *v = kt_variant_at(i);
        if (v->op != op || (v->flags & (KT_VF_GPU | KT_VF_OPENMP | KT_VF_TEST)) ||
            v->threads > 1 || v->min_size > 1 || !kt_variant_usable(v, NULL, 0))
            continue;
        int bits = __builtin_popcount(v->req);
        if (bits > best_bits || (bits == best_bits && v->cost < best->cost))
            best = v, best_bits = bits;
    }
    return best;
}

/* The best usable serial variant: widest SIMD first, scalar always works. */
static const kt_variant *best_simd(kt_op_id op) {
    if (op >= KT_OP_COUNT) return best_serial_registered(op);
    for (size_t i = 0, n = kt_variants_len(); i < n; i++) { /* an op's own preferred default */
        const kt_variant *v = kt_variant_at(i);
        if (v->op == op && (v->flags & KT_VF_DEFAULT) && v->threads == 1 &&
            kt_variant_usable(v, NULL, 0))
            return v;
    }
    for (size_t i = 0; i < sizeof kt_simd_order / sizeof kt_simd_order[0]; i++) {
        const kt_variant *v = kt_variant_lookup(op, kt_simd_order[i]);
        if (v && kt_variant_usable(v, NULL, 0)) return v;
    }
    return kt_fallback(op);
}

/* The threaded variant with the most threads usable here, or NULL. */
static const kt_variant *best_threads(kt_op_id op) {
    const kt_variant *best = NULL;
    for (size_t i = 0, n = kt_variants_len(); i < n; i++) {
        const kt_variant *v = kt_variant_at(i);
        if (v->op != op) continue;
        if (op < KT_OP_COUNT ? strcmp(v->backend, "threads") != 0
                             : !(v->flags & KT_VF_OPENMP) || (v->flags & KT_VF_TEST) ||
                                   v->min_size > 1)
            continue;
        if (kt_variant_usable(v, NULL, 0) && (!best || v->threads > best->threads)) best = v;
    }
    return best;
}

/*
 * Size above which the defaults use threads: vector ops when they move
 * >= 2 MiB; gemv likewise for its m*n; gemm from m*n*k >= 128^3 (~4 MFLOP,
 * where a fork/join costs under a percent).
 */
static size_t default_threshold(kt_op_id op) {
    size_t es = kt_ops[op].dtype == KT_F32 ? 4 : 8;
    if (op >= KT_OP_COUNT) { /* registered ops: 2 MiB moved, the size being the dims' product */
        size_t d[3] = {1, 1, 1};
        double per = kt_ops[op].bytes(d);
        return per > 0 ? (size_t)ceil((2.0 * 1048576.0) / per) : SIZE_MAX;
    }
    if (kt_ops[op].ndims == 3) return (size_t)128 * 128 * 128;
    if (kt_ops[op].ndims == 2) return ((size_t)2 << 20) / es;
    size_t d[3] = {1, 1, 1};
    double per = kt_ops[op].bytes(d);
    return per > 0 ? (size_t)ceil((2.0 * 1048576.0) / per) : SIZE_MAX;
}

/* An interval holding the sizes below bound (the rest is finish_optab's). */
static kt_interval interval(size_t bound, const kt_variant *pick, const kt_variant *serial,
                            int source) {
    return (kt_interval){.bound = bound, .pick = pick, .serial = serial, .source = source};
}

static void optab_alloc(kt_optab *t, size_t n) {
    t->nint = n;
    t->iv = calloc(n, sizeof *t->iv);
}

static void build_defaults(kt_optab *t, kt_op_id op) {
    const kt_variant *simd = best_simd(op), *thr = best_threads(op);
    if (thr) {
        optab_alloc(t, 2);
        if (!t->iv) return;
        t->iv[0] = interval(default_threshold(op), simd, simd, KT_SRC_DEFAULT);
        t->iv[1] = interval(SIZE_MAX, thr, simd, KT_SRC_DEFAULT);
    } else {
        optab_alloc(t, 1);
        if (!t->iv) return;
        t->iv[0] = interval(SIZE_MAX, simd, simd, KT_SRC_DEFAULT);
    }
}

/*
 * Fills t from tuned points sorted by size: each point owns the sizes
 * nearest to it in log scale (bounds at geometric midpoints), and calls
 * its best-ranked variant that is usable here.  Returns 0 when no point
 * had a usable variant (the caller then uses the defaults).
 */
static int build_tuned(kt_optab *t, kt_op_id op, const kt_tuned_point *pts, size_t npts) {
    const kt_variant *simd = best_simd(op);
    optab_alloc(t, npts);
    if (!t->iv) return 0;
    size_t used = 0;
    for (size_t i = 0; i < npts; i++) {
        const kt_variant *pick = NULL, *serial = NULL;
        for (size_t r = 0; r < pts[i].nranked; r++) {
            const kt_variant *v = pts[i].ranked[r];
            char why[192];
            if (!kt_variant_usable(v, why, sizeof why)) {
                kt_log(KT_LOG_DEBUG, "%s n=%zu: tuned variant %s skipped: %s", kt_ops[op].name,
                       pts[i].dims[0], v->name, why);
                continue;
            }
            if (!pick) pick = v;
            if (!serial && !(v->flags & KT_VF_OPENMP)) serial = v;
        }
        if (!pick) continue;
        kt_interval *iv = &t->iv[used++];
        iv->pick = pick;
        iv->serial = serial ? serial : simd;
        iv->source = KT_SRC_TUNED;
        memcpy(iv->matched, pts[i].dims, sizeof iv->matched);
    }
    t->nint = used;
    if (kt_ops[op].ndims > 1) {
        /* matrix ops: nearest tuned point in log space (kt_lookup) */
        t->lg = calloc(used ? used : 1, sizeof *t->lg);
        if (!t->lg) return 0;
        for (size_t i = 0; i < used; i++) {
            t->iv[i].bound = SIZE_MAX;
            for (int d = 0; d < kt_ops[op].ndims; d++) t->lg[i][d] = kt_flog2(t->iv[i].matched[d]);
        }
        return used > 0;
    }
    for (size_t i = 0; i < used; i++) {
        if (i + 1 == used) {
            t->iv[i].bound = SIZE_MAX;
        } else {
            double a = (double)t->iv[i].matched[0], b = (double)t->iv[i + 1].matched[0];
            t->iv[i].bound = (size_t)ceil(sqrt(a * b));
            if (t->iv[i].bound <= t->iv[i].matched[0]) t->iv[i].bound = t->iv[i].matched[0] + 1;
        }
    }
    return used > 0;
}

void kt_tuned_set_free(kt_tuned_set *set) {
    if (!set) return;
    for (int op = 0; op < KT_OP_MAX; op++) free(set->points[op]);
    free(set);
}

/*
 * The interval of the tuned point nearest to dims in log space: each
 * dimension's log2, squared distances summed (which generalises "nearest
 * tuned size in log scale" to (m, n[, k])); the first of equals.
 */
const kt_interval *kt_lookup_nearest(const kt_optab *t, size_t d0, size_t d1, size_t d2) {
    size_t i = 0;
    double q[3] = {kt_flog2(d0), kt_flog2(d1), t->ndims == 3 ? kt_flog2(d2) : 0};
    double best = 1e300;
    for (size_t j = 0; j < t->nint; j++) {
        double e0 = q[0] - t->lg[j][0], e1 = q[1] - t->lg[j][1], e2 = q[2] - t->lg[j][2];
        double d = e0 * e0 + e1 * e1 + e2 * e2;
        if (d == 0) return &t->iv[j]; /* an exact-shape choice (--from-profile): no search */
        if (d < best) best = d, i = j;
    }
    return &t->iv[i];
}

/* Index of the interval of t holding size x (bounds ascending; the last one if none). */
static size_t interval_of(const kt_optab *t, size_t x) {
    size_t i = 0;
    while (i + 1 < t->nint && x >= t->iv[i].bound) i++;
    return i;
}

/*
 * Completes t, the table of op: each interval's direct pointer and counter
 * offset, and the buckets: for each floor(log2), the intervals of its sizes
 * below and above its split.
 */
static void finish_optab(kt_optab *t, kt_op_id op) {
    for (size_t i = 0; i < t->nint; i++) {
        kt_interval *iv = &t->iv[i];
        const kt_variant *v = iv->pick; /* NULL: no variant of a registered op runs here */
        /* recording on: the wrapper (lib/kt_profile.c), which calls v->fn */
        iv->direct = !v || (v->flags & (KT_VF_OPENMP | KT_VF_GPU)) ? NULL : kt_profile_direct(v);
        /* not while recording: the wrapper has the variant's signature */
        iv->unit = iv->direct && iv->direct == (void *)v->fn ? (void *)kt_dot_unit_of(v) : NULL;
        iv->ctr = (uint32_t)kt_ctr_offset(op, (unsigned)iv->source * 2u);
    }
    for (unsigned b = 0; b < KT_NBUCKETS; b++) {
        size_t first = b ? (size_t)1 << b : 0;
        size_t last = b + 1 == KT_NBUCKETS ? SIZE_MAX : ((size_t)2 << b) - 1;
        kt_bucket *k = &t->bucket[b];
        size_t lo = interval_of(t, first), hi = interval_of(t, last);
        k->below = &t->iv[lo];
        k->above = &t->iv[lo < hi ? lo + 1 : lo];
        k->split = lo < hi ? t->iv[lo].bound : SIZE_MAX;
        k->limit = hi > lo + 1 ? (uintptr_t)&t->iv[hi] : 0;
    }
}

static void table_free(kt_table *tab) {
    if (!tab) return;
    for (size_t op = 0; op < tab->nops; op++) {
        if (tab->pinned && (size_t)tab->pinned != op + 1) continue; /* shared with its base */
        free(tab->ops[op].iv), free(tab->ops[op].lg);
    }
    free(tab);
}

/* Builds a complete new table from the environment, forces and tuning. */
static kt_table *table_build(kt_status *status) {
    const kt_env *env = kt_env_get();
    kt_profile_from_env(); /* KTUNE_PROFILE: recording wrappers in the tables */
    kt_table *tab = calloc(1, sizeof *tab);
    if (!tab) return NULL;
    tab->nops = kt_op_count();
    *status = KT_OK;
    kt_tuned_set *tuned = NULL;
    kt_status s = kt_tuned_load(&tuned);
    if (s != KT_OK) {
        /* one warning per distinct problem, not one per rebuild (kt_force, caps) */
        static char said[512];
        if (strcmp(said, kt_last_error()) != 0) {
            snprintf(said, sizeof said, "%s", kt_last_error());
            kt_log(KT_LOG_WARN, "tuning database not used (%s): built-in defaults in force",
                   kt_last_error());
        }
        *status = s;
        tuned = NULL;
    }
    for (size_t i = 0; i < tab->nops; i++) {
        kt_op_id op = (kt_op_id)i;
        kt_optab *t = &tab->ops[op];
        t->ndims = kt_ops[op].ndims;
        t->best_serial = best_simd(op);
        t->strided = kt_fallback(op);
        const kt_variant *forced = kt_api_force[op];
        const char *force_src = "kt_force()";
        for (int f = 0; !forced && f < env->nforce; f++) {
            if (env->force[f].op == op) {
                forced = kt_variant_lookup(op, env->force[f].variant);
                force_src = "KTUNE_FORCE";
            }
        }
        if (forced) {
            char why[192];
            if (kt_variant_usable(forced, why, sizeof why)) {
                optab_alloc(t, 1);
                if (t->iv) {
                    const kt_variant *serial =
                        (forced->flags & KT_VF_OPENMP) ? t->best_serial : forced;
                    t->iv[0] = interval(SIZE_MAX, forced, serial, KT_SRC_FORCED);
                    if (!(forced->flags & KT_VF_UNIT_STRIDE)) t->strided = forced;
                    continue;
                }
            } else {
                snprintf(t->force_note, sizeof t->force_note,
                         "%s %s=%s ignored: %s", force_src, kt_ops[op].name, forced->name, why);
                kt_log(KT_LOG_WARN, "%s", t->force_note);
            }
        }
        const kt_tuned_point *pts = tuned ? tuned->points[op] : NULL;
        size_t npts = tuned ? tuned->npoints[op] : 0;
        if (kt_set_npts[op]) pts = kt_set_pts[op], npts = kt_set_npts[op];
        if (npts && build_tuned(t, op, pts, npts)) continue;
        free(t->iv), free(t->lg);
        t->iv = NULL;
        t->lg = NULL;
        build_defaults(t, op);
    }
    if (tuned) kt_tuned_set_free(tuned);
    for (size_t op = 0; op < tab->nops; op++) {
        if (!tab->ops[op].iv || tab->ops[op].nint > UINT32_MAX) {
            table_free(tab);
            *status = kt_fail(KT_ENOMEM, "dispatch table: out of memory");
            return NULL;
        }
        finish_optab(&tab->ops[op], (kt_op_id)op);
    }
    return tab;
}

/* Pinned tables (kt_dispatch_pin): each with the base it copies; all kept until exit. */
typedef struct kt_pin {
    const kt_table *base;
    const kt_variant *v;
    kt_table *tab;
} kt_pin;
static kt_pin *kt_pins;
static size_t kt_npins, kt_pins_cap;
static kt_table *kt_pin_base; /* the table in force before the first pin, NULL: none pinned */

/* Builds and publishes a new table; the old one is retired. */
static kt_status rebuild(void) {
    pthread_mutex_lock(&kt_build_lock);
    const kt_env *env = kt_env_get();
    for (int i = 0; i < env->nwarnings; i++) kt_log(KT_LOG_WARN, "%s", env->warnings[i]);
    kt_status s = KT_OK;
    kt_table *tab = table_build(&s);
    if (tab) {
        kt_table *old = atomic_exchange_explicit(&kt_current_table, tab, memory_order_acq_rel);
        if (old && old->pinned) { /* the pins list owns it; its base is what retires */
            old = kt_pin_base;
            kt_pin_base = NULL;
        }
        if (old) {
            old->next_retired = kt_retired;
            kt_retired = old;
        }
    } else if (s == KT_OK) {
        s = KT_ENOMEM;
    }
    kt_last_init = s;
    pthread_mutex_unlock(&kt_build_lock);
    return s;
}

static pthread_once_t kt_init_once = PTHREAD_ONCE_INIT;
static void init_once(void) { rebuild(); }

kt_status kt_init(void) {
    pthread_once(&kt_init_once, init_once);
    return kt_last_init;
}

kt_status kt_init_status(void) { return kt_last_init; }

kt_status kt_reload(void) {
    kt_init();
    return rebuild();
}

kt_status kt_set_max_threads(int max_threads) {
    if (max_threads < 0) return kt_fail(KT_EINVAL, "kt_set_max_threads: %d < 0", max_threads);
    kt_init();
    kt_api_cap = max_threads;
    return rebuild() == KT_ENOMEM ? KT_ENOMEM : KT_OK; /* a database problem is kt_init_status's */
}

const kt_table *kt_table_slow(void) {
    kt_init();
    kt_table *t = atomic_load_explicit(&kt_current_table, memory_order_acquire);
    return t;
}

/* Orders tuned points by size (n, then m, n, k). */
static int cmp_point(const void *a, const void *b) {
    const kt_tuned_point *p = a, *q = b;
    for (int d = 0; d < 3; d++)
        if (p->dims[d] != q->dims[d]) return p->dims[d] < q->dims[d] ? -1 : 1;
    return 0;
}

kt_status kt_dispatch_set_points(kt_op_id op, const kt_tuned_point *pts, size_t npts) {
    if ((unsigned)op >= kt_op_count() || (npts && !pts) || npts > UINT32_MAX)
        return kt_fail(KT_EINVAL, "kt_dispatch_set_points: bad op %d or %zu points", (int)op,
                       npts);
    kt_tuned_point *copy = NULL;
    if (npts) {
        copy = malloc(npts * sizeof *copy);
        if (!copy) return kt_fail(KT_ENOMEM, "kt_dispatch_set_points: out of memory");
        memcpy(copy, pts, npts * sizeof *copy);
        qsort(copy, npts, sizeof *copy, cmp_point);
    }
    kt_init();
    pthread_mutex_lock(&kt_build_lock);
    free(kt_set_pts[op]);
    kt_set_pts[op] = copy;
    kt_set_npts[op] = npts;
    pthread_mutex_unlock(&kt_build_lock);
    return rebuild() == KT_ENOMEM ? KT_ENOMEM : KT_OK;
}

kt_status kt_dispatch_pin(kt_op_id op, const kt_variant *v) {
    if ((unsigned)op >= kt_op_count() || (v && v->op != op))
        return kt_fail(KT_EINVAL, "kt_dispatch_pin: bad op %d or variant", (int)op);
    char why[192];
    if (v && !kt_variant_usable(v, why, sizeof why))
        return kt_fail(KT_EUNAVAIL, "%s/%s cannot run here: %s", kt_ops[op].name, v->name, why);
    kt_init();
    kt_status s = KT_OK;
    pthread_mutex_lock(&kt_build_lock);
    kt_table *cur = atomic_load_explicit(&kt_current_table, memory_order_acquire);
    if (!v) {
        if (kt_pin_base)
            atomic_store_explicit(&kt_current_table, kt_pin_base, memory_order_release);
        kt_pin_base = NULL;
        pthread_mutex_unlock(&kt_build_lock);
        return KT_OK;
    }
    if (!kt_pin_base) kt_pin_base = cur;
    if ((size_t)op >= kt_pin_base->nops) {
        pthread_mutex_unlock(&kt_build_lock);
        return kt_fail(KT_EINVAL, "kt_dispatch_pin: %s was registered after the pins began",
                       kt_ops[op].name);
    }
    kt_table *tab = NULL;
    for (size_t i = 0; i < kt_npins && !tab; i++)
        if (kt_pins[i].base == kt_pin_base && kt_pins[i].v == v) tab = kt_pins[i].tab;
    if (!tab && kt_npins == kt_pins_cap) {
        size_t cap = kt_pins_cap ? 2 * kt_pins_cap : 64;
        kt_pin *grown = realloc(kt_pins, cap * sizeof *grown);
        if (grown) kt_pins = grown, kt_pins_cap = cap;
    }
    if (!tab && kt_npins < kt_pins_cap && (tab = malloc(sizeof *tab))) {
        *tab = *kt_pin_base;
        tab->next_retired = NULL;
        tab->pinned = (int)op + 1;
        kt_optab *t = &tab->ops[op];
        t->lg = NULL;
        t->force_note[0] = '\0';
        optab_alloc(t, 1);
        if (!t->iv) {
            free(tab);
            tab = NULL;
        } else {
            const kt_variant *serial = (v->flags & KT_VF_OPENMP) ? t->best_serial : v;
            t->iv[0] = interval(SIZE_MAX, v, serial, KT_SRC_FORCED);
            if (!(v->flags & KT_VF_UNIT_STRIDE)) t->strided = v;
            finish_optab(t, op);
            kt_pins[kt_npins++] = (kt_pin){kt_pin_base, v, tab};
        }
    }
    if (tab)
        atomic_store_explicit(&kt_current_table, tab, memory_order_release);
    else
        s = kt_fail(KT_ENOMEM, "kt_dispatch_pin: out of memory");
    pthread_mutex_unlock(&kt_build_lock);
    return s;
}

__attribute__((destructor)) static void kt_dispatch_fini(void) {
    for (int op = 0; op < KT_OP_MAX; op++) free(kt_set_pts[op]), kt_set_pts[op] = NULL;
    kt_table *cur = atomic_exchange(&kt_current_table, NULL);
    if (cur && cur->pinned) cur = kt_pin_base; /* the pins below own the pinned one */
    table_free(cur);
    for (size_t i = 0; i < kt_npins; i++) table_free(kt_pins[i].tab);
    free(kt_pins);
    while (kt_retired) {
        kt_table *next = kt_retired->next_retired;
        table_free(kt_retired);
        kt_retired = next;
    }
}

const kt_variant *kt_best_serial(kt_op_id op) { return kt_table_get()->ops[op].best_serial; }

/* ---- introspection ---------------------------------------------------------- */

/* Registration after the first table: rebuild, so the new op or variant dispatches. */
void kt_registration_changed(void) {
    if (kt_table_peek()) kt_reload();
}

static void fill_info(const kt_variant *v, kt_variant_info *out) {
    static _Thread_local char why[256];
    out->op = kt_ops[v->op].name;
    out->name = v->name;
    out->backend = v->backend;
    out->version = v->version;
    out->threads = v->threads;
    out->gpu = (v->flags & KT_VF_GPU) != 0;
    out->unit_stride = (v->flags & KT_VF_UNIT_STRIDE) != 0;
    out->available = kt_variant_usable(v, why, sizeof why);
    out->reason = out->available ? "" : why;
}

size_t kt_variant_count(const char *op) {
    kt_op_id id = kt_op_find(op);
    size_t count = 0;
    if (id == KT_OP_NONE) return 0;
    for (size_t i = 0, n = kt_variants_len(); i < n; i++) count += kt_variant_at(i)->op == id;
    return count;
}

kt_status kt_variant_get(const char *op, size_t idx, kt_variant_info *out) {
    kt_op_id id = kt_op_find(op);
    if (id == KT_OP_NONE) return kt_fail(KT_ENOTFOUND, "no operation named '%s'", op ? op : "");
    if (!out) return kt_fail(KT_EINVAL, "kt_variant_get: out is NULL");
    kt_init();
    for (size_t i = 0, n = kt_variants_len(); i < n; i++) {
        const kt_variant *v = kt_variant_at(i);
        if (v->op != id) continue;
        if (idx-- == 0) {
            fill_info(v, out);
            return KT_OK;
        }
    }
    return kt_fail(KT_ENOTFOUND, "%s has no variant number %zu", op, idx);
}

kt_status kt_variant_find(const char *op, const char *name, kt_variant_info *out) {
    kt_op_id id = kt_op_find(op);
    if (id == KT_OP_NONE) return kt_fail(KT_ENOTFOUND, "no operation named '%s'", op ? op : "");
    if (!name || !out) return kt_fail(KT_EINVAL, "kt_variant_find: NULL argument");
    kt_init();
    const kt_variant *v = kt_variant_lookup(id, name);
    if (!v) return kt_fail(KT_ENOTFOUND, "%s has no variant '%s'", op, name);
    fill_info(v, out);
    return KT_OK;
}

kt_status kt_call(const char *op, const char *variant, kt_args *args) {
    kt_op_id id = kt_op_find(op);
    if (id == KT_OP_NONE) return kt_fail(KT_ENOTFOUND, "no operation named '%s'", op ? op : "");
    if (!variant || !args) return kt_fail(KT_EINVAL, "kt_call: NULL variant or args");
    kt_init();
    const kt_variant *v = kt_variant_lookup(id, variant);
    if (!v) return kt_fail(KT_ENOTFOUND, "%s has no variant '%s'", op, variant);
    char why[192];
    if (!kt_variant_usable(v, why, sizeof why))
        return kt_fail(KT_EUNAVAIL, "%s/%s cannot run here: %s", op, variant, why);
    return kt_invoke(v, args);
}

kt_status kt_force(const char *op, const char *variant) {
    kt_op_id id = kt_op_find(op);
    if (id == KT_OP_NONE) return kt_fail(KT_ENOTFOUND, "no operation named '%s'", op ? op : "");
    kt_init();
    const kt_variant *v = NULL;
    if (variant) {
        v = kt_variant_lookup(id, variant);
        if (!v) return kt_fail(KT_ENOTFOUND, "%s has no variant '%s'", op, variant);
        char why[192];
        if (!kt_variant_usable(v, why, sizeof why))
            return kt_fail(KT_EUNAVAIL, "%s/%s cannot run here: %s", op, variant, why);
    }
    pthread_mutex_lock(&kt_build_lock);
    kt_api_force[id] = v;
    pthread_mutex_unlock(&kt_build_lock);
    return rebuild() == KT_ENOMEM ? KT_ENOMEM : KT_OK;
}

kt_status kt_dispatch_explain(const char *op, const size_t dims[3], kt_dispatch_info *out) {
    kt_op_id id = kt_op_find(op);
    if (id == KT_OP_NONE) return kt_fail(KT_ENOTFOUND, "no operation named '%s'", op ? op : "");
    if (!dims || !out) return kt_fail(KT_EINVAL, "kt_dispatch_explain: NULL argument");
    if (!kt_dims_fit(id, dims))
        return kt_fail(KT_EINVAL, "kt_dispatch_explain: %s of %zu x %zu x %zu overflows the "
                       "address space", op, dims[0], dims[1], dims[2]);
    const kt_table *tab = kt_table_get();
    if ((size_t)id >= tab->nops) tab = (kt_reload(), kt_table_get());
    if (!tab || (size_t)id >= tab->nops)
        return kt_fail(KT_ENOMEM, "kt_dispatch_explain: no dispatch table for %s", op);
    const kt_optab *t = &tab->ops[id];
    const kt_interval *iv = kt_lookup(t, dims);
    memset(out, 0, sizeof *out);
    if (!iv->pick) {
        out->variant = "";
        out->source = "none";
        snprintf(out->why, sizeof out->why, "no variant of %s can run here (see ktune list)",
                 op);
        return KT_OK;
    }
    out->variant = iv->pick->name;
    static const char *const src[] = {"default", "tuned", "forced"};
    out->source = src[iv->source];
    memcpy(out->matched, iv->matched, sizeof out->matched);
    switch (iv->source) {
    case KT_SRC_FORCED:
        snprintf(out->why, sizeof out->why, "forced to %s", iv->pick->name);
        break;
    case KT_SRC_TUNED:
        if (t->ndims == 1)
            snprintf(out->why, sizeof out->why, "tuned: nearest tuned size n=%zu (log scale) ran "
                     "%s fastest among the variants usable here", iv->matched[0], iv->pick->name);
        else
            snprintf(out->why, sizeof out->why, "tuned: nearest tuned shape %zux%zux%zu (log "
                     "space) ran %s fastest among the variants usable here", iv->matched[0],
                     iv->matched[1], iv->matched[2], iv->pick->name);
        break;
    default:
        snprintf(out->why, sizeof out->why, "built-in default: %s%s", iv->pick->name,
                 (iv->pick->flags & KT_VF_OPENMP) ? " (threads above the default threshold)"
                                                  : " (best SIMD level of this CPU)");
    }
    if (!kt_variant_size_ok(iv->pick, dims)) {
        const kt_variant *fb = t->best_serial;
        size_t l = strlen(out->why);
        snprintf(out->why + l, sizeof out->why - l, "; below its minimum size %zu: %s instead",
                 iv->pick->min_size, fb ? fb->name : "none");
        out->variant = fb ? fb->name : "";
        out->source = "fallback";
    }
    if (t->force_note[0]) {
        size_t l = strlen(out->why);
        snprintf(out->why + l, sizeof out->why - l, "; %s", t->force_note);
    }
    return KT_OK;
}

/* ---- entry points ------------------------------------------------------------ */

/*
 * Runs v, and when a GPU variant fails at run time (the device vanished,
 * out of device memory) retries once on the best serial CPU variant, so a
 * caller never loses a call to a GPU fault.  The GPU variants write no
 * output on failure.
 */
#define KT_CALL(t, v, TYPE, ...)                                                          \
    do {                                                                                  \
        kt_status s_ = ((TYPE)kt_run_fn(v))((v), __VA_ARGS__);                            \
        if (s_ == KT_EDEVICE) {                                                           \
            kt_ctr_add((v)->op, KT_CTR_FALLBACK);                                         \
            kt_log(KT_LOG_WARN, "%s/%s failed (%s); running %s instead",                  \
                   kt_ops[(v)->op].name, (v)->name, kt_last_error(), (t)->best_serial->name); \
            v = (t)->best_serial;                                                         \
            s_ = ((TYPE)kt_run_fn(v))((v), __VA_ARGS__);                                  \
        }                                                                                 \
        return s_;                                                                        \
    } while (0)

/*
 * Each vector entry point: a fast path -- sizes that fit, no NULL, unit
 * increments and disjoint spans for axpy, a table built, a serial CPU
 * variant chosen -- that jumps straight to the variant, and a slow
 * function with the entry point's own signature (so also reached by a
 * jump, and the fast path needs no stack frame) for everything else: the
 * checks with their messages, strides, threads, the GPU fallback.
 */
#define KT_ADD_SCALAR(T, CT, OP)                                                          \
    static __attribute__((noinline)) kt_status add_scalar_##T##_slow(size_t n, CT c,      \
                                                                     CT *a) {             \
        kt_status s = kt_check_vec("kt_add_scalar_" #T, n, sizeof *a, a);                \
        if (s != KT_OK || n == 0) return s;                                               \
        const kt_optab *t = &kt_table_get()->ops[OP];                                     \
        const kt_variant *v = kt_pick_counted(OP, t, n);                                  \
        KT_CALL(t, v, kt_add_scalar_##T##_fn, n, c, a);                                   \
    }                                                                                     \
    kt_status kt_add_scalar_##T(size_t n, CT c, CT *a) {                                  \
        const kt_table *tab = kt_table_peek();                                            \
        if ((n - 1 < KT_VEC_MAX(sizeof *a)) & (a != NULL) & (tab != NULL)) {              \
            const kt_interval *iv = kt_lookup_key(&tab->ops[OP], n);                      \
            if (iv->direct && kt_ctr_vec(iv, n))                                          \
                return ((kt_add_scalar_##T##_fn)iv->direct)(iv->pick, n, c, a);           \
        }                                                                                 \
        return add_scalar_##T##_slow(n, c, a);                                            \
    }

KT_ADD_SCALAR(i64, int64_t, KT_OP_ADD_SCALAR_I64)
KT_ADD_SCALAR(f32, float, KT_OP_ADD_SCALAR_F32)
KT_ADD_SCALAR(f64, double, KT_OP_ADD_SCALAR_F64)

/*
 * The axpy call needs no more checking than this: unit increments, both
 * pointers set, n below the overflow bound (n - 1 wraps for n = 0) and
 * disjoint or identical spans.
 */
static inline int axpy_plain(size_t n, size_t es, const void *x, ptrdiff_t incx, const void *y,
                             ptrdiff_t incy) {
    uintptr_t px = (uintptr_t)x, py = (uintptr_t)y;
    return (incx == 1) & (incy == 1) & (x != NULL) & (y != NULL) & (n - 1 < KT_VEC_MAX(8)) &&
           ((px == py) | (px + n * es <= py) | (py + n * es <= px));
}

/*
 * Slow path: the full check, then n = 1 runs with unit increments (they are
 * never applied), so variants see no extreme values.
 */
#define KT_AXPY(T, CT, OP)                                                                \
    static __attribute__((noinline)) kt_status axpy_##T##_slow(                           \
        size_t n, CT alpha, const CT *x, ptrdiff_t incx, CT *y, ptrdiff_t incy) {         \
        kt_status s = kt_check_axpy("kt_axpy_" #T, n, sizeof *y, x, incx, y, incy);      \
        if (s != KT_OK || n == 0 || alpha == 0) return s;                                 \
        if (n == 1) incx = incy = 1;                                                      \
        const kt_optab *t = &kt_table_get()->ops[OP];                                     \
        const kt_variant *v = (incx == 1 && incy == 1) ? kt_pick_counted(OP, t, n)       \
                                                       : kt_strided_counted(OP, t);       \
        KT_CALL(t, v, kt_axpy_##T##_fn, n, alpha, x, incx, y, incy);                      \
    }                                                                                     \
    kt_status kt_axpy_##T(size_t n, CT alpha, const CT *x, ptrdiff_t incx, CT *y,         \
                          ptrdiff_t incy) {                                               \
        const kt_table *tab = kt_table_peek();                                            \
        if (axpy_plain(n, sizeof *y, x, incx, y, incy) & (alpha != 0) & (tab != NULL)) {  \
            const kt_interval *iv = kt_lookup_key(&tab->ops[OP], n);                      \
            if (iv->direct && kt_ctr_vec(iv, n))                                          \
                return ((kt_axpy_##T##_fn)iv->direct)(iv->pick, n, alpha, x, 1, y, 1);    \
        }                                                                                 \
        return axpy_##T##_slow(n, alpha, x, incx, y, incy);                               \
    }

KT_AXPY(f32, float, KT_OP_AXPY_F32)
KT_AXPY(f64, double, KT_OP_AXPY_F64)
