/*
 * dot, gemv and gemm: argument checks, normalisation, dispatch (entry
 * points and kt_call), and the op descriptors' generators, references and
 * validation.
 *
 * Normalisation: variants see column-major problems only.  A row-major
 * matrix is the column-major matrix of its transpose, so
 *   row-major gemm  C = op(A) op(B)   is column-major  C^T = op(B)^T op(A)^T
 *   (swap A and B, m and n, and their transposes), and
 *   row-major gemv  y = op(A) x        is column-major with the transposition flipped
 *   and m, n swapped.
 * The trivial cases (m or n = 0, alpha = 0, k = 0) are handled here, so
 * variants see m, n, k > 0 and alpha != 0.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_blas.h"
#include "kt_dispatch.h"
#include "kt_profile.h"

/* ---- small helpers ----------------------------------------------------------- */

static size_t esz(kt_op_id op) { return kt_ops[op].dtype == KT_F32 ? 4 : 8; }
static int is_f32(kt_op_id op) { return kt_ops[op].dtype == KT_F32; }

static inline double ld(int f32, const void *p, size_t i) {
    return f32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}
static inline void st(int f32, void *p, size_t i, double v) {
    if (f32) ((float *)p)[i] = (float)v;
    else ((double *)p)[i] = v;
}

/*
 * Matrix sizes and leading dimensions below this need no overflow checks:
 * ((cols - 1) ld + rows) * 8 < 2^63.  One OR-ed compare on the fast path.
 */
#define KT_DIM_PLAIN ((size_t)1 << 30)

/* Byte span of a column-major rows x cols matrix, all below KT_DIM_PLAIN. */
static inline size_t mat_span_plain(size_t rows, size_t cols, size_t ldm, size_t es) {
    return rows && cols ? ((cols - 1) * ldm + rows) * es : 0;
}

/* Whether non-empty byte ranges [a, a + sa) and [b, b + sb) meet (kt_overlap, inlined). */
static inline int meet(const void *a, size_t sa, const void *b, size_t sb) {
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return (x < y + sb) & (y < x + sa);
}

_Thread_local KT_TLS_IE kt_shape_cache_entry kt_shape_cache[KT_OP_COUNT];

/*
 * The fast paths' lookup: kt_lookup_cached (lib/kt_dispatch.h) without any call, NULL when it
 * would need one (no table yet, a shape missing from the cache), so the
 * fast path keeps nothing live across a call and needs no stack frame.
 */
static inline __attribute__((always_inline)) const kt_interval *
lookup_nocall(kt_op_id op, size_t d0, size_t d1, size_t d2) {
    const kt_table *tab = kt_table_peek();
    if (!tab) return NULL;
    const kt_optab *t = &tab->ops[op];
    if (!t->lg) return kt_lookup_dims(t, d0, d1, d2);
    return kt_shape_cache_find(op, t, d0, d1, d2);
}

/* ---- dot ----------------------------------------------------------------------- */

/* Validates and runs dot; v NULL: dispatch.  The result goes to *out (as double). */
static kt_status dot_core(kt_op_id op, const kt_variant *v, size_t n, const void *x,
                          ptrdiff_t incx, const void *y, ptrdiff_t incy, double *out,
                          const char *fn) {
    if (!out) return kt_fail(KT_EINVAL, "%s: result is NULL", fn);
    if (n == 0) {
        *out = 0;
        return KT_OK;
    }
    if (!x || !y) return kt_fail(KT_EINVAL, "%s: %s is NULL with n = %zu", fn, x ? "y" : "x", n);
    size_t es = esz(op);
    /* unit increments (the common case) cannot overflow below this bound: no divisions */
    if (!(incx == 1 && incy == 1 && n <= PTRDIFF_MAX / 8) &&
        (!kt_span_bytes(n, es, incx) || !kt_span_bytes(n, es, incy)))
        return kt_fail(KT_EINVAL, "%s: n = %zu with increments %td, %td overflows", fn, n, incx,
                       incy);
    if (n == 1) incx = incy = 1; /* never applied: spare the variants extreme values */
    const kt_optab *t = &kt_table_get()->ops[op];
    if (!v) {
        v = (incx == 1 && incy == 1) ? kt_pick_counted(op, t, n) : kt_strided_counted(op, t);
    } else if ((v->flags & KT_VF_UNIT_STRIDE) && (incx != 1 || incy != 1)) {
        return kt_fail(KT_EUNAVAIL, "%s/%s takes unit increments only", kt_ops[op].name, v->name);
    }
    kt_status s;
    for (int attempt = 0;; attempt++) {
        if (is_f32(op)) {
            float r = 0;
            s = ((kt_dot_f32_fn)kt_run_fn(v))(v, n, x, incx, y, incy, &r);
            if (s == KT_OK) *out = r;
        } else {
            s = ((kt_dot_f64_fn)kt_run_fn(v))(v, n, x, incx, y, incy, out);
        }
        if (s != KT_EDEVICE || attempt) return s;
        kt_ctr_add(op, KT_CTR_FALLBACK);
        kt_log(KT_LOG_WARN, "%s/%s failed (%s); running %s", kt_ops[op].name, v->name,
               kt_last_error(), t->strided->name);
        v = t->strided;
    }
}

/*
 * The common call -- unit increments, valid pointers, a serial CPU variant
 * chosen -- goes straight to the variant, to its unit-stride form where it
 * has one (four arguments: a jump, no stack frame); everything else (checks that
 * fail, strides, threads inside a parallel region, GPU fallback) through
 * dot_core.
 */
#define KT_DOT_FAST(OP, FN, UFN)                                                            \
    do {                                                                                  \
        const kt_table *tab_ = kt_table_peek(); /* NULL before the first: slow path */    \
        if ((n - 1 < KT_VEC_MAX(8)) && (incx == 1) && (incy == 1) && (x != NULL) &&      \
            (y != NULL) && (result != NULL) && (tab_ != NULL)) {                          \
            const kt_interval *iv_ = kt_lookup_key(&tab_->ops[OP], n);                    \
            if (iv_->unit && kt_ctr_vec(iv_, n))                                          \
                return ((UFN)iv_->unit)(n, x, y, result);                                 \
            if (iv_->direct && kt_ctr_vec(iv_, n))                                        \
                return ((FN)iv_->direct)(iv_->pick, n, x, 1, y, 1, result);               \
        }                                                                                 \
    } while (0)

/* Everything but the fast path; the entry point's own signature, so reached by a jump. */
static __attribute__((noinline)) kt_status dot_f32_slow(size_t n, const float *x, ptrdiff_t incx,
                                                        const float *y, ptrdiff_t incy,
                                                        float *result) {
    double r;
    kt_status s = dot_core(KT_OP_DOT_F32, NULL, n, x, incx, y, incy, result ? &r : NULL,
                           "kt_dot_f32");
    if (s == KT_OK) *result = (float)r;
    return s;
}

static __attribute__((noinline)) kt_status dot_f64_slow(size_t n, const double *x,
                                                        ptrdiff_t incx, const double *y,
                                                        ptrdiff_t incy, double *result) {
    return dot_core(KT_OP_DOT_F64, NULL, n, x, incx, y, incy, result, "kt_dot_f64");
}

kt_status kt_dot_f32(size_t n, const float *x, ptrdiff_t incx, const float *y, ptrdiff_t incy,
                     float *result) {
    KT_DOT_FAST(KT_OP_DOT_F32, kt_dot_f32_fn, kt_dot_f32_unit_fn);
    return dot_f32_slow(n, x, incx, y, incy, result);
}

kt_status kt_dot_f64(size_t n, const double *x, ptrdiff_t incx, const double *y,
                     ptrdiff_t incy, double *result) {
    KT_DOT_FAST(KT_OP_DOT_F64, kt_dot_f64_fn, kt_dot_f64_unit_fn);
    return dot_f64_slow(n, x, incx, y, incy, result);
}

/* ---- gemv ------------------------------------------------------------------------ */

/*
 * gemv_core and gemm_core: every check in the caller's order with its
 * message, the trivial cases, normalisation, dispatch (v NULL) or the given
 * variant, and the GPU fallback.  The entry points take them only when
 * their fast path (below) does not apply.
 */
static __attribute__((noinline)) kt_status
gemv_core(kt_op_id op, const kt_variant *v, kt_layout layout, kt_trans trans,
                           size_t m, size_t n, double alpha, const void *a, size_t lda,
                           const void *x, ptrdiff_t incx, double beta, void *y, ptrdiff_t incy,
                           const char *fn) {
    if (layout != KT_ROW_MAJOR && layout != KT_COL_MAJOR)
        return kt_fail(KT_EINVAL, "%s: layout %d is neither KT_ROW_MAJOR nor KT_COL_MAJOR", fn,
                       (int)layout);
    if (trans != KT_NOTRANS && trans != KT_TRANS)
        return kt_fail(KT_EINVAL, "%s: trans %d is neither KT_NOTRANS nor KT_TRANS", fn,
                       (int)trans);
    size_t rowlen = layout == KT_COL_MAJOR ? m : n;
    if (lda < (rowlen > 1 ? rowlen : 1))
        return kt_fail(KT_EINVAL, "%s: lda = %zu < %zu", fn, lda, rowlen > 1 ? rowlen : 1);
    if (incx == 0 || incy == 0) return kt_fail(KT_EINVAL, "%s: increments must not be 0", fn);
    /* normalise to column-major: row-major A (m x n) is column-major A^T (n x m) */
    size_t cm = m, cn = n;
    kt_trans ct = trans;
    if (layout == KT_ROW_MAJOR) {
        cm = n, cn = m;
        ct = trans == KT_NOTRANS ? KT_TRANS : KT_NOTRANS;
    }
    size_t lx = ct == KT_NOTRANS ? cn : cm, ly = ct == KT_NOTRANS ? cm : cn;
    if (m == 0 || n == 0) return KT_OK;
    size_t es = esz(op);
    if (!y) return kt_fail(KT_EINVAL, "%s: y is NULL", fn);
    if (alpha != 0 && (!a || !x)) return kt_fail(KT_EINVAL, "%s: %s is NULL", fn, a ? "x" : "A");
    size_t sa, sx, sy;
    if (((cm | cn | lda) < KT_DIM_PLAIN) & (incx == 1) & (incy == 1)) {
        sa = mat_span_plain(cm, cn, lda, es), sx = lx * es, sy = ly * es;
    } else {
        if (!kt_mat_span(cm, cn, lda, es, &sa))
            return kt_fail(KT_EINVAL, "%s: A of %zu x %zu with lda = %zu overflows the address "
                           "space", fn, m, n, lda);
        if (lx == 1) incx = 1; /* never applied: spare the variants extreme values */
        if (ly == 1) incy = 1;
        sx = kt_span_bytes(lx, es, incx), sy = kt_span_bytes(ly, es, incy);
        if (!sx || !sy)
            return kt_fail(KT_EINVAL, "%s: increments %td, %td overflow the address space", fn,
                           incx, incy);
    }
    if (kt_overlap(y, sy, a, alpha != 0 ? sa : 0) || kt_overlap(y, sy, x, alpha != 0 ? sx : 0))
        return kt_fail(KT_EINVAL, "%s: y overlaps A or x", fn);
    if (alpha == 0) {
        /* y = beta y; beta = 0 writes zeros without reading */
        ptrdiff_t iy = incy < 0 ? (ptrdiff_t)((ly - 1) * ((size_t)0 - (size_t)incy)) : 0;
        for (size_t i = 0; i < ly; i++, iy += incy)
            st(is_f32(op), y, (size_t)iy, beta == 0 ? 0.0 : beta * ld(is_f32(op), y, (size_t)iy));
        return KT_OK;
    }
    const kt_optab *t = &kt_table_get()->ops[op];
    if (!v) {
        const kt_interval *iv = kt_lookup_cached(op, t, cm, cn, 0);
        v = iv->pick;
        if ((v->flags & KT_VF_UNIT_STRIDE) && (incx != 1 || incy != 1)) {
            v = kt_strided_counted(op, t);
        } else {
            kt_ctr_slow(op, (unsigned)iv->source * 2u + ((cm == iv->matched[0]) &
                                                          (cn == iv->matched[1]) &
                                                          (0 == iv->matched[2])));
            if ((v->flags & KT_VF_OPENMP) && kt_omp_in_parallel()) {
                v = iv->serial;
                kt_ctr_add(op, KT_CTR_FALLBACK);
            }
        }
    } else if ((v->flags & KT_VF_UNIT_STRIDE) && (incx != 1 || incy != 1)) {
        return kt_fail(KT_EUNAVAIL, "%s/%s takes unit increments only", kt_ops[op].name, v->name);
    }
    kt_status s;
    for (int attempt = 0;; attempt++) {
        if (is_f32(op))
            s = ((kt_gemv_f32_fn)kt_run_fn(v))(v, ct, cm, cn, (float)alpha, a, lda, x, incx, (float)beta,
                                        y, incy);
        else
            s = ((kt_gemv_f64_fn)kt_run_fn(v))(v, ct, cm, cn, alpha, a, lda, x, incx, beta, y,
                                               incy);
        if (s != KT_EDEVICE || attempt) return s;
        kt_ctr_add(op, KT_CTR_FALLBACK);
        kt_log(KT_LOG_WARN, "%s/%s failed (%s); running %s", kt_ops[op].name, v->name,
               kt_last_error(), t->strided->name);
        v = t->strided;
    }
}

/*
 * The common gemv -- valid transposition, lda large enough, m, n > 0 and
 * below KT_DIM_PLAIN, unit increments, alpha != 0, no NULL, y apart from A
 * and x, a serial CPU variant chosen, the shape's interval at hand -- goes
 * from one combined test straight to the variant.  Written on the
 * column-major problem (TR, CM, CN); the entry point instantiates it once
 * per layout with its arguments permuted, so nothing is computed twice and
 * the fast path needs no stack frame.  Everything else (errors with their
 * messages, trivial cases, strides, threads, GPU fallback) through the
 * slow function, reached by a jump.
 */
#define KT_GEMV_FAST(OP, FN, ES, TR, CM, CN)                                              \
    do {                                                                                  \
        size_t lx_ = (TR) == KT_NOTRANS ? (CN) : (CM);                                    \
        size_t ly_ = (TR) == KT_NOTRANS ? (CM) : (CN);                                    \
        if (((unsigned)((TR) - KT_NOTRANS) <= 1) &&                                       \
            ((((CM) - 1) | ((CN) - 1) | lda) < KT_DIM_PLAIN) && (lda >= (CM)) &&          \
            (incx == 1) && (incy == 1) && (alpha != 0) && (a != NULL) && (x != NULL) &&   \
            (y != NULL) &&                                                                \
            !meet(y, ly_ * (ES), a, (((CN) - 1) * lda + (CM)) * (ES)) &&                  \
            !meet(y, ly_ * (ES), x, lx_ * (ES))) {                                        \
            const kt_interval *iv_ = lookup_nocall(OP, CM, CN, 0);                        \
            if (iv_ && iv_->direct && kt_ctr_mat(iv_, CM, CN, 0))                         \
                return ((FN)iv_->direct)(iv_->pick, TR, CM, CN, alpha, a, lda, x, 1,      \
                                         beta, y, 1);                                     \
        }                                                                                 \
    } while (0)

/*
 * Row-major A (m x n) is column-major A^T (n x m): the transposition flips
 * (NOTRANS <-> TRANS; an invalid value stays invalid).
 */
#define KT_GEMV_ENTRY(OP, FN, ES, SLOW)                                                   \
    do {                                                                                  \
        if (layout == KT_COL_MAJOR)                                                       \
            KT_GEMV_FAST(OP, FN, ES, trans, m, n);                                        \
        else if (layout == KT_ROW_MAJOR)                                                  \
            KT_GEMV_FAST(OP, FN, ES, (kt_trans)(KT_NOTRANS + KT_TRANS - trans), n, m);    \
        return SLOW(layout, trans, m, n, alpha, a, lda, x, incx, beta, y, incy);          \
    } while (0)

/* Everything but the fast path; the entry point's own signature, so reached by a jump. */
static __attribute__((noinline)) kt_status
gemv_f32_slow(kt_layout layout, kt_trans trans, size_t m, size_t n, float alpha, const float *a,
            size_t lda, const float *x, ptrdiff_t incx, float beta, float *y, ptrdiff_t incy) {
    return gemv_core(KT_OP_GEMV_F32, NULL, layout, trans, m, n, alpha, a, lda, x, incx, beta, y,
                     incy, "kt_gemv_f32");
}

kt_status kt_gemv_f32(kt_layout layout, kt_trans trans, size_t m, size_t n, float alpha,
                      const float *a, size_t lda, const float *x, ptrdiff_t incx, float beta,
                      float *y, ptrdiff_t incy) {
    KT_GEMV_ENTRY(KT_OP_GEMV_F32, kt_gemv_f32_fn, 4, gemv_f32_slow);
}

/* Everything but the fast path; the entry point's own signature, so reached by a jump. */
static __attribute__((noinline)) kt_status
gemv_f64_slow(kt_layout layout, kt_trans trans, size_t m, size_t n, double alpha, const double *a,
            size_t lda, const double *x, ptrdiff_t incx, double beta, double *y, ptrdiff_t incy) {
    return gemv_core(KT_OP_GEMV_F64, NULL, layout, trans, m, n, alpha, a, lda, x, incx, beta, y,
                     incy, "kt_gemv_f64");
}

kt_status kt_gemv_f64(kt_layout layout, kt_trans trans, size_t m, size_t n, double alpha,
                      const double *a, size_t lda, const double *x, ptrdiff_t incx, double beta,
                      double *y, ptrdiff_t incy) {
    KT_GEMV_ENTRY(KT_OP_GEMV_F64, kt_gemv_f64_fn, 8, gemv_f64_slow);
}

/* ---- gemm ------------------------------------------------------------------------ */

static __attribute__((noinline)) kt_status
gemm_core(kt_op_id op, const kt_variant *v, kt_layout layout, kt_trans ta,
                           kt_trans tb, size_t m, size_t n, size_t k, double alpha, const void *a,
                           size_t lda, const void *b, size_t ldb, double beta, void *c,
                           size_t ldc, const char *fn) {
    if (layout != KT_ROW_MAJOR && layout != KT_COL_MAJOR)
        return kt_fail(KT_EINVAL, "%s: layout %d is neither KT_ROW_MAJOR nor KT_COL_MAJOR", fn,
                       (int)layout);
    if ((ta != KT_NOTRANS && ta != KT_TRANS) || (tb != KT_NOTRANS && tb != KT_TRANS))
        return kt_fail(KT_EINVAL, "%s: transa/transb must be KT_NOTRANS or KT_TRANS", fn);
    int col = layout == KT_COL_MAJOR;
    /* stored rows of A, B, C in column-major terms (row-major: the row length) */
    size_t arow = col ? (ta == KT_NOTRANS ? m : k) : (ta == KT_NOTRANS ? k : m);
    size_t brow = col ? (tb == KT_NOTRANS ? k : n) : (tb == KT_NOTRANS ? n : k);
    size_t crow = col ? m : n;
    if (lda < (arow > 1 ? arow : 1))
        return kt_fail(KT_EINVAL, "%s: lda = %zu < %zu", fn, lda, arow > 1 ? arow : 1);
    if (ldb < (brow > 1 ? brow : 1))
        return kt_fail(KT_EINVAL, "%s: ldb = %zu < %zu", fn, ldb, brow > 1 ? brow : 1);
    if (ldc < (crow > 1 ? crow : 1))
        return kt_fail(KT_EINVAL, "%s: ldc = %zu < %zu", fn, ldc, crow > 1 ? crow : 1);
    if (m == 0 || n == 0) return KT_OK;
    if (!c) return kt_fail(KT_EINVAL, "%s: C is NULL", fn);
    int multiply = alpha != 0 && k > 0;
    if (multiply && (!a || !b)) return kt_fail(KT_EINVAL, "%s: %s is NULL", fn, a ? "B" : "A");
    /* normalise: column-major C (cm x cn) = op(A') op(B') */
    size_t cm = m, cn = n;
    kt_trans cta = ta, ctb = tb;
    const void *ca = a, *cb = b;
    size_t clda = lda, cldb = ldb;
    if (!col) {
        cm = n, cn = m;
        cta = tb, ctb = ta;
        ca = b, cb = a;
        clda = ldb, cldb = lda;
    }
    size_t es = esz(op), sc, sa, sb;
    size_t ar = cta == KT_NOTRANS ? cm : k, ac = cta == KT_NOTRANS ? k : cm;
    size_t br = ctb == KT_NOTRANS ? k : cn, bc = ctb == KT_NOTRANS ? cn : k;
    if ((m | n | k | lda | ldb | ldc) < KT_DIM_PLAIN) {
        sc = mat_span_plain(cm, cn, ldc, es);
        sa = mat_span_plain(ar, ac, clda, es), sb = mat_span_plain(br, bc, cldb, es);
    } else if (!kt_mat_span(cm, cn, ldc, es, &sc) || !kt_mat_span(ar, ac, clda, es, &sa) ||
               !kt_mat_span(br, bc, cldb, es, &sb)) {
        return kt_fail(KT_EINVAL, "%s: m = %zu, n = %zu, k = %zu with lda = %zu, ldb = %zu, "
                       "ldc = %zu overflow the address space", fn, m, n, k, lda, ldb, ldc);
    }
    if (multiply && (kt_overlap(c, sc, ca, sa) || kt_overlap(c, sc, cb, sb)))
        return kt_fail(KT_EINVAL, "%s: C overlaps A or B", fn);
    if (!multiply) {
        int f = is_f32(op);
        for (size_t j = 0; j < cn; j++)
            for (size_t i = 0; i < cm; i++)
                st(f, c, i + j * ldc, beta == 0 ? 0.0 : beta * ld(f, c, i + j * ldc));
        return KT_OK;
    }
    const kt_optab *t = &kt_table_get()->ops[op];
    if (!v) {
        const kt_interval *iv = kt_lookup_cached(op, t, cm, cn, k);
        v = iv->pick;
        kt_ctr_slow(op, (unsigned)iv->source * 2u + ((cm == iv->matched[0]) &
                                                      (cn == iv->matched[1]) &
                                                      (k == iv->matched[2])));
        if ((v->flags & KT_VF_OPENMP) && kt_omp_in_parallel()) {
            v = iv->serial;
            kt_ctr_add(op, KT_CTR_FALLBACK);
        }
    }
    kt_status s;
    for (int attempt = 0;; attempt++) {
        if (is_f32(op))
            s = ((kt_gemm_f32_fn)kt_run_fn(v))(v, cta, ctb, cm, cn, k, (float)alpha, ca, clda, cb, cldb,
                                        (float)beta, c, ldc);
        else
            s = ((kt_gemm_f64_fn)kt_run_fn(v))(v, cta, ctb, cm, cn, k, alpha, ca, clda, cb, cldb,
                                               beta, c, ldc);
        if (s != KT_EDEVICE || attempt) return s;
        kt_ctr_add(op, KT_CTR_FALLBACK);
        kt_log(KT_LOG_WARN, "%s/%s failed (%s); running %s", kt_ops[op].name, v->name,
               kt_last_error(), t->best_serial->name);
        v = t->best_serial;
    }
}

/*
 * The common gemm -- valid transpositions, leading dimensions large
 * enough, m, n, k > 0 and everything below KT_DIM_PLAIN, alpha != 0, no
 * NULL, C apart from A and B, a serial CPU variant chosen, the shape's
 * interval at hand -- goes from one combined test straight to the variant.
 * Written on the column-major problem C (CM x CN) = op(CA) op(CB); the
 * entry point instantiates it once per layout with its arguments permuted
 * (as KT_GEMV_FAST); everything else through the slow function.
 */
#define KT_GEMM_FAST(OP, FN, ES, TA, TB, CM, CN, CA, LDA, CB, LDB)                       \
    do {                                                                                  \
        size_t ar_ = (TA) == KT_NOTRANS ? (CM) : k, ac_ = (TA) == KT_NOTRANS ? k : (CM);  \
        size_t br_ = (TB) == KT_NOTRANS ? k : (CN), bc_ = (TB) == KT_NOTRANS ? (CN) : k;  \
        if ((((unsigned)((TA) - KT_NOTRANS) | (unsigned)((TB) - KT_NOTRANS)) <= 1) &&     \
            ((((CM) - 1) | ((CN) - 1) | (k - 1) | lda | ldb | ldc) < KT_DIM_PLAIN) &&     \
            ((LDA) >= ar_) && ((LDB) >= br_) && (ldc >= (CM)) && (alpha != 0) &&         \
            (a != NULL) && (b != NULL) && (c != NULL) &&                                  \
            !meet(c, (((CN) - 1) * ldc + (CM)) * (ES), CA, ((ac_ - 1) * (LDA) + ar_) * (ES)) && \
            !meet(c, (((CN) - 1) * ldc + (CM)) * (ES), CB, ((bc_ - 1) * (LDB) + br_) * (ES))) { \
            const kt_interval *iv_ = lookup_nocall(OP, CM, CN, k);                        \
            if (iv_ && iv_->direct && kt_ctr_mat(iv_, CM, CN, k))                         \
                return ((FN)iv_->direct)(iv_->pick, TA, TB, CM, CN, k, alpha, CA, LDA, CB, \
                                         LDB, beta, c, ldc);                              \
        }                                                                                 \
    } while (0)

/* Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap A and B, m and n. */
#define KT_GEMM_ENTRY(OP, FN, ES, SLOW)                                                   \
    do {                                                                                  \
        if (layout == KT_COL_MAJOR)                                                       \
            KT_GEMM_FAST(OP, FN, ES, transa, transb, m, n, a, lda, b, ldb);               \
        else if (layout == KT_ROW_MAJOR)                                                  \
            KT_GEMM_FAST(OP, FN, ES, transb, transa, n, m, b, ldb, a, lda);               \
        return SLOW(layout, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc); \
    } while (0)

/* Everything but the fast path; the entry point's own signature, so reached by a jump. */
static __attribute__((noinline)) kt_status
gemm_f32_slow(kt_layout layout, kt_trans transa, kt_trans transb, size_t m, size_t n, size_t k,
            float alpha, const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
            size_t ldc) {
    return gemm_core(KT_OP_GEMM_F32, NULL, layout, transa, transb, m, n, k, alpha, a, lda, b, ldb,
                     beta, c, ldc, "kt_gemm_f32");
}

kt_status kt_gemm_f32(kt_layout layout, kt_trans transa, kt_trans transb, size_t m, size_t n,
                      size_t k, float alpha, const float *a, size_t lda, const float *b,
                      size_t ldb, float beta, float *c, size_t ldc) {
    KT_GEMM_ENTRY(KT_OP_GEMM_F32, kt_gemm_f32_fn, 4, gemm_f32_slow);
}

/* Everything but the fast path; the entry point's own signature, so reached by a jump. */
static __attribute__((noinline)) kt_status
gemm_f64_slow(kt_layout layout, kt_trans transa, kt_trans transb, size_t m, size_t n, size_t k,
            double alpha, const double *a, size_t lda, const double *b, size_t ldb, double beta, double *c,
            size_t ldc) {
    return gemm_core(KT_OP_GEMM_F64, NULL, layout, transa, transb, m, n, k, alpha, a, lda, b, ldb,
                     beta, c, ldc, "kt_gemm_f64");
}

kt_status kt_gemm_f64(kt_layout layout, kt_trans transa, kt_trans transb, size_t m, size_t n,
                      size_t k, double alpha, const double *a, size_t lda, const double *b,
                      size_t ldb, double beta, double *c, size_t ldc) {
    KT_GEMM_ENTRY(KT_OP_GEMM_F64, kt_gemm_f64_fn, 8, gemm_f64_slow);
}

kt_status kt_blas_invoke(const kt_variant *v, kt_args *a) {
    const char *name = kt_ops[v->op].name;
    switch (v->op) {
    case KT_OP_DOT_F32:
    case KT_OP_DOT_F64:
        return dot_core(v->op, v, a->n, a->x, a->incx, a->y, a->incy, &a->result, name);
    case KT_OP_GEMV_F32:
    case KT_OP_GEMV_F64:
        return gemv_core(v->op, v, a->layout, a->transa, a->m, a->n, a->alpha, a->a, a->lda,
                         a->x, a->incx, a->beta, a->y, a->incy, name);
    case KT_OP_GEMM_F32:
    case KT_OP_GEMM_F64:
        return gemm_core(v->op, v, a->layout, a->transa, a->transb, a->m, a->n, a->k, a->alpha,
                         a->a, a->lda, a->b, a->ldb, a->beta, a->c, a->ldc, name);
    default: return kt_fail(KT_EINTERNAL, "kt_blas_invoke: op %d", (int)v->op);
    }
}

/* ---- cost models ----------------------------------------------------------------- */

double kt_dot_flops(const size_t d[3]) { return 2.0 * (double)d[0]; }
double kt_dot_f32_bytes(const size_t d[3]) { return 8.0 * (double)d[0]; }
double kt_dot_f64_bytes(const size_t d[3]) { return 16.0 * (double)d[0]; }
double kt_gemv_flops(const size_t d[3]) { return 2.0 * (double)d[0] * (double)d[1]; }
static double gemv_bytes(const size_t d[3], double es) {
    return es * ((double)d[0] * (double)d[1] + (double)d[0] + (double)d[1]);
}
double kt_gemv_f32_bytes(const size_t d[3]) { return gemv_bytes(d, 4); }
double kt_gemv_f64_bytes(const size_t d[3]) { return gemv_bytes(d, 8); }
double kt_gemm_flops(const size_t d[3]) { return 2.0 * (double)d[0] * (double)d[1] * (double)d[2]; }
static double gemm_bytes(const size_t d[3], double es) {
    return es * ((double)d[0] * (double)d[2] + (double)d[2] * (double)d[1] +
                 (double)d[0] * (double)d[1]);
}
double kt_gemm_f32_bytes(const size_t d[3]) { return gemm_bytes(d, 4); }
double kt_gemm_f64_bytes(const size_t d[3]) { return gemm_bytes(d, 8); }

/* ---- problems: random inputs, references, validation -------------------------------- */

#define GUARD 16
static const uint64_t poison_bits = 0x7ff4dead7ff4deadull;

static void *alloc_random(size_t n, int f32, kt_rng *r) {
    void *p = kt_problem_alloc((n + GUARD) * (f32 ? 4 : 8));
    if (p)
        for (size_t i = 0; i < n; i++) st(f32, p, i, kt_rng_nonzero(r));
    return p;
}

static void fill_poison(int f32, void *p, size_t from, size_t to) {
    for (size_t i = from; i < to; i++) memcpy((char *)p + i * (f32 ? 4 : 8), &poison_bits, f32 ? 4 : 8);
}
static int is_poison(int f32, const void *p, size_t i) {
    return memcmp((const char *)p + i * (f32 ? 4 : 8), &poison_bits, f32 ? 4 : 8) == 0;
}

/*
 * A problem in normalised (column-major, no transposition) form with
 * beta = 0 -- what the tuner times.  With a reference, leading dimensions
 * get padding (non-trivial lda) and the reference (long double) and the
 * magnitudes for the error bound are computed.
 */
kt_status kt_blas_problem_new(kt_op_id op, const size_t dims[3], uint64_t seed, int with_ref,
                              kt_problem **out) {
    int f = is_f32(op);
    kt_problem *p = calloc(1, sizeof *p);
    if (!p) return kt_fail(KT_ENOMEM, "problem: out of memory");
    p->op = op;
    memcpy(p->dims, dims, sizeof p->dims);
    kt_rng r;
    kt_rng_seed(&r, seed);
    kt_args *a = &p->args;
    a->layout = KT_COL_MAJOR;
    a->transa = a->transb = KT_NOTRANS;
    a->alpha = 0.5 + 0.5 * fabs(kt_rng_nonzero(&r));
    if (f) a->alpha = (float)a->alpha;
    a->beta = 0;
    a->incx = a->incy = 1;
    size_t pad = with_ref ? 3 : 0, m = dims[0], n = dims[1], k = dims[2];
    int ok = 1;
    switch (op) {
    case KT_OP_DOT_F32:
    case KT_OP_DOT_F64:
        p->dims[1] = p->dims[2] = 0;
        n = dims[0];
        a->n = n;
        ok = (p->buf[0] = alloc_random(n, f, &r)) && (p->buf[1] = alloc_random(n, f, &r));
        a->x = p->buf[0];
        a->y = p->buf[1];
        p->out_len = 1;
        break;
    case KT_OP_GEMV_F32:
    case KT_OP_GEMV_F64:
        p->dims[2] = 0;
        a->m = m, a->n = n, a->lda = m + pad;
        ok = (p->buf[0] = alloc_random(a->lda * n, f, &r)) && (p->buf[1] = alloc_random(n, f, &r)) &&
             (p->buf[2] = alloc_random(m, f, &r));
        a->a = p->buf[0], a->x = p->buf[1], a->y = p->buf[2];
        p->out_len = m;
        break;
    default:
        a->m = m, a->n = n, a->k = k;
        a->lda = m + pad, a->ldb = k + pad, a->ldc = m + pad;
        ok = (p->buf[0] = alloc_random(a->lda * k, f, &r)) &&
             (p->buf[1] = alloc_random(a->ldb * n, f, &r)) &&
             (p->buf[2] = alloc_random(a->ldc * n, f, &r));
        a->a = p->buf[0], a->b = p->buf[1], a->c = p->buf[2];
        p->out_len = a->ldc * n;
        break;
    }
    if (ok && with_ref) {
        /* reference and magnitude per output element, in long double */
        size_t outs = op == KT_OP_DOT_F32 || op == KT_OP_DOT_F64 ? 1 : p->out_len;
        long double *ref = calloc(2 * outs, sizeof *ref);
        ok = ref != NULL;
        if (ok) {
            p->ref = ref;
            long double *mag = ref + outs;
            if (op == KT_OP_DOT_F32 || op == KT_OP_DOT_F64) {
                for (size_t i = 0; i < n; i++) {
                    long double t = (long double)ld(f, a->x, i) * ld(f, a->y, i);
                    ref[0] += t, mag[0] += fabsl(t);
                }
            } else if (op == KT_OP_GEMV_F32 || op == KT_OP_GEMV_F64) {
                for (size_t j = 0; j < n; j++)
                    for (size_t i = 0; i < m; i++) {
                        long double t = (long double)a->alpha * ld(f, a->a, i + j * a->lda) *
                                        ld(f, a->x, j);
                        ref[i] += t, mag[i] += fabsl(t);
                    }
            } else {
                for (size_t j = 0; j < n; j++)
                    for (size_t l = 0; l < k; l++) {
                        long double bl = (long double)a->alpha * ld(f, a->b, l + j * a->ldb);
                        for (size_t i = 0; i < m; i++) {
                            long double t = bl * ld(f, a->a, i + l * a->lda);
                            ref[i + j * a->ldc] += t, mag[i + j * a->ldc] += fabsl(t);
                        }
                    }
            }
        }
    }
    if (!ok) {
        kt_problem_free(p);
        return kt_fail(KT_ENOMEM, "problem of %s: out of memory", kt_ops[op].name);
    }
    *out = p;
    return KT_OK;
}

kt_status kt_blas_run(const kt_variant *v, void *args) {
    kt_args *a = args;
    switch (v->op) {
    case KT_OP_DOT_F32: {
        float r;
        kt_status s = ((kt_dot_f32_fn)v->fn)(v, a->n, a->x, 1, a->y, 1, &r);
        a->result = r;
        return s;
    }
    case KT_OP_DOT_F64: return ((kt_dot_f64_fn)v->fn)(v, a->n, a->x, 1, a->y, 1, &a->result);
    case KT_OP_GEMV_F32:
        return ((kt_gemv_f32_fn)v->fn)(v, KT_NOTRANS, a->m, a->n, (float)a->alpha, a->a, a->lda,
                                       a->x, 1, 0.0f, a->y, 1);
    case KT_OP_GEMV_F64:
        return ((kt_gemv_f64_fn)v->fn)(v, KT_NOTRANS, a->m, a->n, a->alpha, a->a, a->lda, a->x, 1,
                                       0.0, a->y, 1);
    case KT_OP_GEMM_F32:
        return ((kt_gemm_f32_fn)v->fn)(v, KT_NOTRANS, KT_NOTRANS, a->m, a->n, a->k,
                                       (float)a->alpha, a->a, a->lda, a->b, a->ldb, 0.0f, a->c,
                                       a->ldc);
    case KT_OP_GEMM_F64:
        return ((kt_gemm_f64_fn)v->fn)(v, KT_NOTRANS, KT_NOTRANS, a->m, a->n, a->k, a->alpha,
                                       a->a, a->lda, a->b, a->ldb, 0.0, a->c, a->ldc);
    default: return kt_fail(KT_EINTERNAL, "kt_blas_run: op %d", (int)v->op);
    }
}

/*
 * Before a validation run: poisons the whole output (NaN: beta = 0 must
 * not read it; the padding rows between m and ldc must stay poisoned).
 */
void kt_blas_reset(void *problem) {
    kt_problem *p = problem;
    int f = is_f32(p->op);
    kt_args *a = &p->args;
    if (p->op == KT_OP_DOT_F32 || p->op == KT_OP_DOT_F64) {
        a->result = NAN;
        return;
    }
    int gemv = p->op == KT_OP_GEMV_F32 || p->op == KT_OP_GEMV_F64;
    void *out = gemv ? a->y : a->c;
    size_t rows = a->m, cols = gemv ? 1 : a->n, ldo = gemv ? a->m : a->ldc;
    fill_poison(f, out, 0, (cols - 1) * ldo + rows + GUARD);
}

/*
 * After v ran on the problem (kt_blas_reset first): compares with the
 * reference, |got - ref| <= (k + 2) eps sum|terms| per element, and checks
 * that the padding and the guard stayed poisoned.
 */
kt_status kt_blas_check(const kt_variant *v, void *problem, char *msg, size_t len) {
    kt_problem *p = problem;
    int f = is_f32(p->op);
    kt_args *a = &p->args;
    const long double *ref = p->ref;
    if (!ref) return kt_fail(KT_EINTERNAL, "validate: problem made without reference");
    double eps = f ? FLT_EPSILON : DBL_EPSILON;
    const char *op = kt_ops[p->op].name;
    if (p->op == KT_OP_DOT_F32 || p->op == KT_OP_DOT_F64) {
        double bound = (double)(a->n + 2) * eps * (double)ref[1];
        if (!(fabsl(a->result - ref[0]) <= bound)) {
            snprintf(msg, len, "%s/%s n=%zu: %.10g, expected %.10Lg (bound %.3g)", op, v->name,
                     a->n, a->result, ref[0], bound);
            return KT_EINVAL;
        }
        return KT_OK;
    }
    int gemv = p->op == KT_OP_GEMV_F32 || p->op == KT_OP_GEMV_F64;
    void *out = gemv ? a->y : a->c;
    size_t rows = a->m, cols = gemv ? 1 : a->n, ldo = gemv ? a->m : a->ldc;
    size_t depth = gemv ? a->n : a->k;
    const long double *mag = ref + p->out_len;
    for (size_t j = 0; j < cols; j++) {
        for (size_t i = 0; i < ldo && (j + 1 < cols || i < rows); i++) {
            size_t e = i + j * ldo;
            if (i >= rows) {
                if (!is_poison(f, out, e)) {
                    snprintf(msg, len, "%s/%s: wrote padding element (%zu, %zu)", op, v->name, i, j);
                    return KT_EINVAL;
                }
                continue;
            }
            double got = ld(f, out, e), bound = (double)(depth + 2) * eps * (double)mag[e];
            if (!(fabsl(got - ref[e]) <= bound)) {
                snprintf(msg, len, "%s/%s %zux%zux%zu: element (%zu, %zu) = %.10g, expected %.10Lg",
                         op, v->name, a->m, a->n, a->k, i, j, got, ref[e]);
                return KT_EINVAL;
            }
        }
    }
    for (size_t g = 0; g < GUARD; g++)
        if (!is_poison(f, out, (cols - 1) * ldo + rows + g)) {
            snprintf(msg, len, "%s/%s: wrote past the end of the output", op, v->name);
            return KT_EINVAL;
        }
    return KT_OK;
}
