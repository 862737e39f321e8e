/*
 * transpose, stencil3x3 and sort (issue 12): the entry points, their
 * argument checks and normalisation, generic invocation (kt_call), and the
 * op descriptors' parts: cost models, problem generators, references and
 * validation.
 *
 * Normalisation: variants see row-major problems only (variants/kt_shape.h).
 *   transpose  column-major A (m x n, lda >= m) is row-major A^T (n x m), and
 *              its transpose, column-major B (n x m, ldb >= n), is row-major
 *              B^T (m x n): the call is the row-major one with m and n swapped.
 *   stencil    column-major A is row-major A^T; B^T[j][i] sums W(c, r)
 *              A^T[j + r][i + c]: the row-major stencil of A^T with weights
 *              W^T, m and n swapped -- and W^T read row-major is W stored
 *              column-major, so the caller's 9 weights pass as they are.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_dispatch.h"
#include "kt_profile.h"
#include "kt_shape.h"
#include "kt_shape_ops.h"

static size_t esz(kt_op_id op) { return kt_ops[op].dtype == KT_F32 ? 4 : 8; }
static int is_sort(kt_op_id op) {
    return op == KT_OP_SORT_F32 || op == KT_OP_SORT_F64 || op == KT_OP_SORT_I64;
}

/* ---- checks ------------------------------------------------------------------ */

/* Byte span of `rows` row-major rows of `cols` with leading dimension ld (0: does not fit). */
static int row_span(size_t rows, size_t cols, size_t ld, size_t es, size_t *out) {
    return kt_mat_span(cols, rows, ld, es, out); /* row-major rows x cols = col-major cols x rows */
}

/*
 * Checks a transpose call and gives its row-major form (*rm rows of *rn
 * in A).  KT_OK with *rm = 0 when there is nothing to do.
 */
static kt_status transpose_check(kt_op_id op, const char *fn, kt_layout layout, size_t m,
                                 size_t n, const void *a, size_t lda, const void *b, size_t ldb,
                                 size_t *rm, size_t *rn) {
    if (layout != KT_ROW_MAJOR && layout != KT_COL_MAJOR)
        return kt_fail(KT_EINVAL, "%s: layout %d is neither row- nor column-major", fn, (int)layout);
    *rm = layout == KT_ROW_MAJOR ? m : n;
    *rn = layout == KT_ROW_MAJOR ? n : m;
    if (m == 0 || n == 0) {
        *rm = 0;
        return KT_OK;
    }
    if (!a || !b) return kt_fail(KT_EINVAL, "%s: %s is NULL with m = %zu, n = %zu", fn, a ? "b" : "a", m, n);
    if (lda < *rn)
        return kt_fail(KT_EINVAL, "%s: lda = %zu is below %zu (%s)", fn, lda, *rn,
                       layout == KT_ROW_MAJOR ? "n, row-major" : "m, column-major");
    if (ldb < *rm)
        return kt_fail(KT_EINVAL, "%s: ldb = %zu is below %zu (%s)", fn, ldb, *rm,
                       layout == KT_ROW_MAJOR ? "m, row-major" : "n, column-major");
    size_t es = esz(op), sa, sb;
    if (!row_span(*rm, *rn, lda, es, &sa) || !row_span(*rn, *rm, ldb, es, &sb))
        return kt_fail(KT_EINVAL, "%s: m = %zu, n = %zu with lda = %zu, ldb = %zu overflow the "
                                  "address space", fn, m, n, lda, ldb);
    if (kt_overlap(a, sa, b, sb))
        return kt_fail(KT_EINVAL, "%s: a and b overlap (out-of-place transpose)", fn);
    return KT_OK;
}

static kt_status stencil_check(kt_op_id op, const char *fn, kt_layout layout, size_t m, size_t n,
                               const void *w, const void *a, size_t lda, const void *b,
                               size_t ldb, size_t *rm, size_t *rn) {
    if (layout != KT_ROW_MAJOR && layout != KT_COL_MAJOR)
        return kt_fail(KT_EINVAL, "%s: layout %d is neither row- nor column-major", fn, (int)layout);
    *rm = layout == KT_ROW_MAJOR ? m : n;
    *rn = layout == KT_ROW_MAJOR ? n : m;
    if (m < 3 || n < 3) { /* the output is (m - 2) x (n - 2): empty */
        *rm = 0;
        return KT_OK;
    }
    if (!w || !a || !b)
        return kt_fail(KT_EINVAL, "%s: %s is NULL with m = %zu, n = %zu", fn,
                       !w ? "w" : !a ? "a" : "b", m, n);
    if (lda < *rn)
        return kt_fail(KT_EINVAL, "%s: lda = %zu is below %zu (%s)", fn, lda, *rn,
                       layout == KT_ROW_MAJOR ? "n, row-major" : "m, column-major");
    if (ldb < *rn - 2)
        return kt_fail(KT_EINVAL, "%s: ldb = %zu is below %zu (%s)", fn, ldb, *rn - 2,
                       layout == KT_ROW_MAJOR ? "n - 2, row-major" : "m - 2, column-major");
    size_t es = esz(op), sa, sb;
    if (!row_span(*rm, *rn, lda, es, &sa) || !row_span(*rm - 2, *rn - 2, ldb, es, &sb))
        return kt_fail(KT_EINVAL, "%s: m = %zu, n = %zu with lda = %zu, ldb = %zu overflow the "
                                  "address space", fn, m, n, lda, ldb);
    if (kt_overlap(a, sa, b, sb)) return kt_fail(KT_EINVAL, "%s: a and b overlap", fn);
    if (kt_overlap(w, 9 * es, b, sb)) return kt_fail(KT_EINVAL, "%s: w and b overlap", fn);
    return KT_OK;
}

/* ---- dispatch ------------------------------------------------------------------ */

/*
 * The variant for a call of op at (d0, d1): tuned, default or forced, the
 * serial one inside an OpenMP parallel region.  The table's `strided`
 * variant is the always-available fallback (a GPU call that failed).
 */
static const kt_variant *pick(kt_op_id op, size_t d0, size_t d1, const kt_optab **tp) {
    const kt_optab *t = &kt_table_get()->ops[op];
    const kt_interval *iv = kt_lookup_cached(op, t, d0, d1, 0);
    *tp = t;
    const kt_variant *v = iv->pick;
    /* the dispatch counters (lib/kt_profile.h): how this call was served */
    kt_ctr_slow(op, (unsigned)iv->source * 2u +
                        ((d0 == iv->matched[0]) & ((t->ndims == 1 ? 0 : d1) == iv->matched[1])));
    if ((v->flags & KT_VF_OPENMP) && kt_omp_in_parallel()) {
        v = iv->serial;
        kt_ctr_add(op, KT_CTR_FALLBACK);
    }
    return v;
}

/* Retries once on the fallback when a device variant failed (its output is untouched). */
#define KT_RUN_WITH_FALLBACK(op, t, v, CALL)                                                   \
    for (int attempt_ = 0;; attempt_++) {                                                     \
        kt_status s_ = CALL;                                                                  \
        if (s_ != KT_EDEVICE || attempt_ || !(t)) return s_;                                  \
        kt_ctr_add(op, KT_CTR_FALLBACK);                                                      \
        kt_log(KT_LOG_WARN, "%s/%s failed (%s); running %s", kt_ops[op].name, (v)->name,      \
               kt_last_error(), (t)->strided->name);                                          \
        (v) = (t)->strided;                                                                   \
    }

/* ---- transpose ------------------------------------------------------------------- */

#define KT_TRANSPOSE_ENTRY(T, DT, OP)                                                          \
    static kt_status transpose_##DT##_core(const kt_variant *v, kt_layout layout, size_t m,    \
                                           size_t n, const T *a, size_t lda, T *b, size_t ldb, \
                                           const char *fn) {                                  \
        size_t rm, rn;                                                                         \
        kt_status s = transpose_check(OP, fn, layout, m, n, a, lda, b, ldb, &rm, &rn);         \
        if (s != KT_OK || rm == 0) return s;                                                   \
        const kt_optab *t = NULL;                                                              \
        if (!v) v = pick(OP, rm, rn, &t);                                                      \
        KT_RUN_WITH_FALLBACK(OP, t, v,                                                         \
                             ((kt_transpose_##DT##_fn)kt_run_fn(v))(v, rm, rn, a, lda, b, ldb))       \
    }                                                                                          \
    kt_status kt_transpose_##DT(kt_layout layout, size_t m, size_t n, const T *a, size_t lda,  \
                                T *b, size_t ldb) {                                            \
        return transpose_##DT##_core(NULL, layout, m, n, a, lda, b, ldb, "kt_transpose_" #DT); \
    }
KT_TRANSPOSE_ENTRY(float, f32, KT_OP_TRANSPOSE_F32)
KT_TRANSPOSE_ENTRY(double, f64, KT_OP_TRANSPOSE_F64)

/* ---- stencil3x3 ------------------------------------------------------------------ */

#define KT_STENCIL_ENTRY(T, DT, OP)                                                            \
    static kt_status stencil_##DT##_core(const kt_variant *v, kt_layout layout, size_t m,      \
                                         size_t n, const T *w, const T *a, size_t lda, T *b,   \
                                         size_t ldb, const char *fn) {                        \
        size_t rm, rn;                                                                         \
        kt_status s = stencil_check(OP, fn, layout, m, n, w, a, lda, b, ldb, &rm, &rn);        \
        if (s != KT_OK || rm == 0) return s;                                                   \
        const kt_optab *t = NULL;                                                              \
        if (!v) v = pick(OP, rm, rn, &t);                                                      \
        KT_RUN_WITH_FALLBACK(OP, t, v,                                                         \
                             ((kt_stencil3x3_##DT##_fn)kt_run_fn(v))(v, rm, rn, w, a, lda, b, ldb))  \
    }                                                                                          \
    kt_status kt_stencil3x3_##DT(kt_layout layout, size_t m, size_t n, const T *w, const T *a, \
                                 size_t lda, T *b, size_t ldb) {                               \
        return stencil_##DT##_core(NULL, layout, m, n, w, a, lda, b, ldb,                      \
                                   "kt_stencil3x3_" #DT);                                      \
    }
KT_STENCIL_ENTRY(float, f32, KT_OP_STENCIL3X3_F32)
KT_STENCIL_ENTRY(double, f64, KT_OP_STENCIL3X3_F64)

/* ---- sort ------------------------------------------------------------------------- */

#define KT_SORT_ENTRY(T, DT, OP)                                                               \
    static kt_status sort_##DT##_core(const kt_variant *v, size_t n, T *a, const char *fn) {   \
        kt_status s = kt_check_vec(fn, n, sizeof *a, a);                                       \
        if (s != KT_OK || n < 2) return s;                                                     \
        const kt_optab *t = NULL;                                                              \
        if (!v) v = pick(OP, n, 0, &t);                                                        \
        KT_RUN_WITH_FALLBACK(OP, t, v, ((kt_sort_##DT##_fn)kt_run_fn(v))(v, n, a))                    \
    }                                                                                          \
    kt_status kt_sort_##DT(size_t n, T *a) { return sort_##DT##_core(NULL, n, a, "kt_sort_" #DT); }
KT_SORT_ENTRY(float, f32, KT_OP_SORT_F32)
KT_SORT_ENTRY(double, f64, KT_OP_SORT_F64)
KT_SORT_ENTRY(int64_t, i64, KT_OP_SORT_I64)

/* ---- kt_call ------------------------------------------------------------------------ */

/*
 * kt_args of the three ops: transpose a, lda -> c, ldc (m, n, layout);
 * stencil3x3 weights in b (9 elements), a, lda -> c, ldc; sort y (n).
 */
kt_status kt_shape_invoke(const kt_variant *v, kt_args *g) {
    const char *name = kt_ops[v->op].name;
    switch (v->op) {
    case KT_OP_TRANSPOSE_F32:
        return transpose_f32_core(v, g->layout, g->m, g->n, g->a, g->lda, g->c, g->ldc, name);
    case KT_OP_TRANSPOSE_F64:
        return transpose_f64_core(v, g->layout, g->m, g->n, g->a, g->lda, g->c, g->ldc, name);
    case KT_OP_STENCIL3X3_F32:
        return stencil_f32_core(v, g->layout, g->m, g->n, g->b, g->a, g->lda, g->c, g->ldc, name);
    case KT_OP_STENCIL3X3_F64:
        return stencil_f64_core(v, g->layout, g->m, g->n, g->b, g->a, g->lda, g->c, g->ldc, name);
    case KT_OP_SORT_F32: return sort_f32_core(v, g->n, g->y, name);
    case KT_OP_SORT_F64: return sort_f64_core(v, g->n, g->y, name);
    case KT_OP_SORT_I64: return sort_i64_core(v, g->n, g->y, name);
    default: return kt_fail(KT_EINTERNAL, "kt_shape_invoke: op %d is not a shape op", (int)v->op);
    }
}

/* The public entry point of a problem's op, on its arguments (the tuner's timed call). */
kt_status kt_shape_dispatched(kt_problem *p) {
    kt_args *g = &p->args;
    if (is_sort(p->op) && g->x) memcpy(g->y, g->x, g->n * esz(p->op)); /* as kt_shape_call */
    switch (p->op) {
    case KT_OP_TRANSPOSE_F32: return kt_transpose_f32(g->layout, g->m, g->n, g->a, g->lda, g->c, g->ldc);
    case KT_OP_TRANSPOSE_F64: return kt_transpose_f64(g->layout, g->m, g->n, g->a, g->lda, g->c, g->ldc);
    case KT_OP_STENCIL3X3_F32:
        return kt_stencil3x3_f32(g->layout, g->m, g->n, g->b, g->a, g->lda, g->c, g->ldc);
    case KT_OP_STENCIL3X3_F64:
        return kt_stencil3x3_f64(g->layout, g->m, g->n, g->b, g->a, g->lda, g->c, g->ldc);
    case KT_OP_SORT_F32: return kt_sort_f32(g->n, g->y);
    case KT_OP_SORT_F64: return kt_sort_f64(g->n, g->y);
    case KT_OP_SORT_I64: return kt_sort_i64(g->n, g->y);
    default: return kt_fail(KT_EINTERNAL, "kt_shape_dispatched: op %d is not a shape op", (int)p->op);
    }
}

/* ---- cost models ---------------------------------------------------------------------- */

double kt_transpose_f32_bytes(const size_t d[3]) { return 8.0 * (double)d[0] * (double)d[1]; }
double kt_transpose_f64_bytes(const size_t d[3]) { return 16.0 * (double)d[0] * (double)d[1]; }
double kt_transpose_flops(const size_t d[3]) {
    (void)d;
    return 0;
}
static double outs(const size_t d[3]) {
    return d[0] < 3 || d[1] < 3 ? 0 : (double)(d[0] - 2) * (double)(d[1] - 2);
}
double kt_stencil_flops(const size_t d[3]) { return 17.0 * outs(d); }
double kt_stencil_f32_bytes(const size_t d[3]) { return 4.0 * ((double)d[0] * (double)d[1] + outs(d)); }
double kt_stencil_f64_bytes(const size_t d[3]) { return 8.0 * ((double)d[0] * (double)d[1] + outs(d)); }
double kt_sort_elems(const size_t d[3]) { return (double)d[0]; }
double kt_sort_f32_bytes(const size_t d[3]) { return 8.0 * (double)d[0]; }
double kt_sort_f64_bytes(const size_t d[3]) { return 16.0 * (double)d[0]; }

/* ---- problems -------------------------------------------------------------------------- */

#define KT_GUARD 16 /* poisoned elements after each output, checked after a run */
static const uint64_t kt_poison = 0x7ff4dead7ff4deadull;

static void fill(kt_dtype t, void *p, size_t n, kt_rng *r) {
    for (size_t i = 0; i < n; i++) {
        double v = kt_rng_nonzero(r);
        if (t == KT_F32) ((float *)p)[i] = (float)v;
        else if (t == KT_F64) ((double *)p)[i] = v;
        else { /* the full range, never 0 */
            uint64_t u = kt_rng_next(r);
            ((int64_t *)p)[i] = (int64_t)(u ? u : 1);
        }
    }
}

static void poison(void *p, size_t n, size_t es) {
    for (size_t i = 0; i < n; i++) memcpy((char *)p + i * es, &kt_poison, es);
}

static int poisoned(const void *p, size_t n, size_t es) {
    for (size_t i = 0; i < n; i++)
        if (memcmp((const char *)p + i * es, &kt_poison, es) != 0) return 0;
    return 1;
}

static double getf(kt_dtype t, const void *p, size_t i) {
    return t == KT_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

/*
 * transpose and stencil: A (m x n, row-major, lda = n) in buf[0], the
 * output in buf[1] with KT_GUARD poisoned elements after it, the stencil's
 * weights in buf[2].  sort: the array in buf[1] (+ guard), its initial
 * contents in init.
 */
kt_status kt_shape_problem_new(kt_op_id op, const size_t dims[3], uint64_t seed, int with_ref,
                               kt_problem **out) {
    kt_dtype t = kt_ops[op].dtype;
    size_t es = esz(op), m = dims[0], n = kt_ops[op].ndims == 2 ? dims[1] : 0, in_len, out_len;
    int sort = kt_ops[op].ndims == 1;
    int stencil = op == KT_OP_STENCIL3X3_F32 || op == KT_OP_STENCIL3X3_F64;
    if (sort) in_len = 0, out_len = m;
    else if (stencil) in_len = m * n, out_len = m >= 3 && n >= 3 ? (m - 2) * (n - 2) : 0;
    else in_len = m * n, out_len = m * n;
    kt_problem *p = calloc(1, sizeof *p);
    if (!p) return kt_fail(KT_ENOMEM, "problem of %s: out of memory", kt_ops[op].name);
    p->op = op;
    p->dims[0] = dims[0];
    p->dims[1] = kt_ops[op].ndims == 2 ? dims[1] : 0;
    p->out_len = out_len;
    kt_rng r;
    kt_rng_seed(&r, seed);
    if (in_len) p->buf[0] = kt_problem_alloc(in_len * es);
    p->buf[1] = kt_problem_alloc((out_len + KT_GUARD) * es);
    if (stencil) p->buf[2] = kt_problem_alloc(9 * es);
    if (with_ref || sort) p->init = malloc((out_len ? out_len : 1) * es);
    if ((in_len && !p->buf[0]) || !p->buf[1] || (stencil && !p->buf[2]) ||
        ((with_ref || sort) && !p->init)) {
        kt_problem_free(p);
        return kt_fail(KT_ENOMEM, "problem of %s: out of memory", kt_ops[op].name);
    }
    if (in_len) fill(t, p->buf[0], in_len, &r);
    if (stencil) fill(t, p->buf[2], 9, &r);
    if (sort) {
        fill(t, p->buf[1], out_len, &r);
        memcpy(p->init, p->buf[1], out_len * es);
    } else {
        poison(p->buf[1], out_len, es);
        if (p->init) poison(p->init, out_len, es);
    }
    p->args.layout = KT_ROW_MAJOR;
    p->args.m = m;
    p->args.n = sort ? m : n;
    p->args.a = p->buf[0];
    p->args.lda = n;
    p->args.b = p->buf[2];
    p->args.c = p->buf[1];
    p->args.ldc = stencil ? (n >= 2 ? n - 2 : 0) : m;
    p->args.y = p->buf[1];
    if (sort) p->args.x = p->init; /* the unsorted input each run starts from */
    *out = p;
    return KT_OK;
}

/*
 * The typed call on (row-major) arguments, for the tuner.  A sort problem's
 * x holds its unsorted input: copied into y first, so every timed call
 * sorts the same data (the copy is part of every variant's time alike).
 */
kt_status kt_shape_call(const kt_variant *v, void *args) {
    kt_args *g = args;
    if (is_sort((kt_op_id)v->op) && g->x) memcpy(g->y, g->x, g->n * esz((kt_op_id)v->op));
    int stencil = v->op == KT_OP_STENCIL3X3_F32 || v->op == KT_OP_STENCIL3X3_F64;
    if (is_sort((kt_op_id)v->op) ? g->n < 2 : (g->m < (stencil ? 3u : 1u) || g->n < (stencil ? 3u : 1u)))
        return KT_OK; /* nothing to compute: variants see m, n > 0 (stencil: >= 3), sort n >= 2 */
    switch (v->op) {
    case KT_OP_TRANSPOSE_F32:
        return ((kt_transpose_f32_fn)v->fn)(v, g->m, g->n, g->a, g->lda, g->c, g->ldc);
    case KT_OP_TRANSPOSE_F64:
        return ((kt_transpose_f64_fn)v->fn)(v, g->m, g->n, g->a, g->lda, g->c, g->ldc);
    case KT_OP_STENCIL3X3_F32:
        return ((kt_stencil3x3_f32_fn)v->fn)(v, g->m, g->n, g->b, g->a, g->lda, g->c, g->ldc);
    case KT_OP_STENCIL3X3_F64:
        return ((kt_stencil3x3_f64_fn)v->fn)(v, g->m, g->n, g->b, g->a, g->lda, g->c, g->ldc);
    case KT_OP_SORT_F32: return ((kt_sort_f32_fn)v->fn)(v, g->n, g->y);
    case KT_OP_SORT_F64: return ((kt_sort_f64_fn)v->fn)(v, g->n, g->y);
    case KT_OP_SORT_I64: return ((kt_sort_i64_fn)v->fn)(v, g->n, g->y);
    default: return kt_fail(KT_EINTERNAL, "kt_shape_call: op %d is not a shape op", (int)v->op);
    }
}

static kt_status shape_run(const kt_variant *v, kt_problem *p) { return kt_shape_call(v, &p->args); }

/* ---- validation ------------------------------------------------------------------------- */

static kt_status fail_msg(char *msg, size_t len, const kt_variant *v, const kt_problem *p,
                          const char *what) {
    snprintf(msg, len, "%s/%s %zux%zu: %s", kt_ops[p->op].name, v->name, p->dims[0], p->dims[1],
             what);
    return KT_EINVAL;
}

/* Before a validation run: the output and the guards after it poisoned (sort: the guards). */
void kt_shape_reset(void *problem) {
    kt_problem *p = problem;
    size_t es = esz(p->op);
    if (is_sort(p->op)) poison((char *)p->buf[1] + p->out_len * es, KT_GUARD, es);
    else poison(p->buf[1], p->out_len + KT_GUARD, es);
}

/* Transpose moves values: every element must arrive bit for bit. */
static kt_status transpose_compare(const kt_variant *v, kt_problem *p, char *msg, size_t len) {
    size_t m = p->dims[0], n = p->dims[1], es = esz(p->op);
    const char *a = p->buf[0], *b = p->buf[1];
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            if (memcmp(b + (j * m + i) * es, a + (i * n + j) * es, es) != 0) {
                char what[128];
                snprintf(what, sizeof what, "b[%zu][%zu] is not a[%zu][%zu]", j, i, i, j);
                return fail_msg(msg, len, v, p, what);
            }
    if (!poisoned(b + p->out_len * es, KT_GUARD, es)) return fail_msg(msg, len, v, p, "wrote past the end");
    return KT_OK;
}

/*
 * Stencil: each output against the sum in long double, within 4 (9 + 2)
 * eps of the sum of the terms' magnitudes (nine products, each rounded or
 * fused, in any association).
 */
static kt_status stencil_compare(const kt_variant *v, kt_problem *p, char *msg, size_t len) {
    kt_dtype t = kt_ops[p->op].dtype;
    size_t m = p->dims[0], n = p->dims[1], es = esz(p->op);
    double eps = t == KT_F32 ? FLT_EPSILON : DBL_EPSILON;
    for (size_t i = 0; i + 2 < m; i++)
        for (size_t j = 0; j + 2 < n; j++) {
            long double want = 0, mag = 0;
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 3; c++) {
                    long double term = (long double)getf(t, p->buf[2], (size_t)(3 * r + c)) *
                                       getf(t, p->buf[0], (i + (size_t)r) * n + j + (size_t)c);
                    want += term;
                    mag += fabsl(term);
                }
            double got = getf(t, p->buf[1], i * (n - 2) + j);
            if (!(fabsl((long double)got - want) <= 44.0L * eps * mag)) {
                char what[128];
                snprintf(what, sizeof what, "b[%zu][%zu] = %.9g, expected %.9Lg", i, j, got, want);
                return fail_msg(msg, len, v, p, what);
            }
        }
    if (!poisoned((char *)p->buf[1] + p->out_len * es, KT_GUARD, es))
        return fail_msg(msg, len, v, p, "wrote past the end");
    return KT_OK;
}
/* The reference order: NaN last, otherwise by value (-0 and +0 equal). */
static int ref_cmp_f(const void *x, const void *y, kt_dtype t) {
    double a = getf(t, x, 0), b = getf(t, y, 0);
    if (isnan(a) || isnan(b)) return isnan(a) - isnan(b);
    return (a > b) - (a < b);
}
static int ref_cmp_f32(const void *x, const void *y) { return ref_cmp_f(x, y, KT_F32); }
static int ref_cmp_f64(const void *x, const void *y) { return ref_cmp_f(x, y, KT_F64); }
static int ref_cmp_i64(const void *x, const void *y) {
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* Fills the array with input kind k (0 random, as generated; 1..5 the hard cases). */
static void sort_input(kt_problem *p, int kind, void *a) {
    kt_dtype t = kt_ops[p->op].dtype;
    size_t n = p->dims[0], es = esz(p->op);
    kt_rng r;
    kt_rng_seed(&r, 0x5eed0000u + (unsigned)kind);
    for (size_t i = 0; i < n; i++) {
        double x = 0;
        int64_t ix = 0;
        switch (kind) {
        case 0: memcpy((char *)a + i * es, (char *)p->init + i * es, es); continue;
        case 1: x = (double)i - (double)(n / 2), ix = (int64_t)i * 3 - (int64_t)n; break;  /* sorted */
        case 2: x = (double)(n - i), ix = (int64_t)(n - i) * 5; break;                      /* reversed */
        case 3: x = -1.5, ix = -7; break;                                                   /* all equal */
        case 4: { /* many duplicates */
            int64_t d = (int64_t)(kt_rng_next(&r) % 5) - 2;
            x = (double)d, ix = d;
            break;
        }
        default: { /* NaN, +-0, infinities among values (integers: the extremes) */
            uint64_t u = kt_rng_next(&r) % 8;
            x = u == 0 ? NAN : u == 1 ? -NAN : u == 2 ? 0.0 : u == 3 ? -0.0 : u == 4 ? INFINITY
                : u == 5 ? -INFINITY : kt_rng_nonzero(&r);
            ix = u == 0 ? INT64_MIN : u == 1 ? INT64_MAX : u == 2 ? 0 : u == 3 ? -1
                : (int64_t)kt_rng_next(&r);
            break;
        }
        }
        if (t == KT_F32) ((float *)a)[i] = (float)x;
        else if (t == KT_F64) ((double *)a)[i] = x;
        else ((int64_t *)a)[i] = ix;
    }
}

/* The sorted array of p against the reference order of its input init. */
static kt_status sort_compare(const kt_variant *v, kt_problem *p, int kind, void *ref, char *msg,
                              size_t len) {
    static const char *const kinds[] = {"random", "sorted", "reversed", "all equal",
                                        "duplicates", "specials"};
    kt_dtype t = kt_ops[p->op].dtype;
    size_t n = p->dims[0], es = esz(p->op);
    memcpy(ref, p->init, n * es);
    qsort(ref, n, es, t == KT_F32 ? ref_cmp_f32 : t == KT_F64 ? ref_cmp_f64 : ref_cmp_i64);
    for (size_t i = 0; i < n; i++) {
        int ok;
        if (t == KT_I64) ok = ((int64_t *)p->buf[1])[i] == ((int64_t *)ref)[i];
        else {
            double got = getf(t, p->buf[1], i), want = getf(t, ref, i);
            ok = isnan(want) ? isnan(got) : got == want; /* -0 == +0 */
        }
        if (!ok) {
            char what[128];
            snprintf(what, sizeof what, "%s input: element %zu out of order", kinds[kind], i);
            return fail_msg(msg, len, v, p, what);
        }
    }
    if (!poisoned((char *)p->buf[1] + n * es, KT_GUARD, es))
        return fail_msg(msg, len, v, p, "wrote past the end");
    return KT_OK;
}

/*
 * Sort, after v ran on the problem's random input: that result, then five
 * more inputs v is run on here (sorted, reversed, all equal, many
 * duplicates, NaN / +-0 / infinities or the integer extremes), each against
 * qsort with the reference order.  The problem's input is restored.
 */
static kt_status sort_check(const kt_variant *v, kt_problem *p, char *msg, size_t len) {
    size_t n = p->dims[0], es = esz(p->op);
    void *ref = malloc((n ? n : 1) * es), *save = malloc((n ? n : 1) * es);
    if (!ref || !save) {
        free(ref), free(save);
        return kt_fail(KT_ENOMEM, "validate %s n=%zu: out of memory", kt_ops[p->op].name, n);
    }
    memcpy(save, p->init, n * es);
    kt_status s = sort_compare(v, p, 0, ref, msg, len);
    for (int kind = 1; kind < 6 && s == KT_OK; kind++) {
        sort_input(p, kind, p->init);
        kt_shape_reset(p);
        s = shape_run(v, p); /* copies init into the array first */
        if (s != KT_OK) fail_msg(msg, len, v, p, kt_last_error());
        else s = sort_compare(v, p, kind, ref, msg, len);
    }
    memcpy(p->init, save, n * es);
    free(ref), free(save);
    return s;
}

kt_status kt_shape_check(const kt_variant *v, void *problem, char *msg, size_t len) {
    kt_problem *p = problem;
    switch (p->op) {
    case KT_OP_TRANSPOSE_F32:
    case KT_OP_TRANSPOSE_F64: return transpose_compare(v, p, msg, len);
    case KT_OP_STENCIL3X3_F32:
    case KT_OP_STENCIL3X3_F64: return stencil_compare(v, p, msg, len);
    default: return sort_check(v, p, msg, len);
    }
}
