/*
 * libktune_cblas: the CBLAS drop-in.
 *
 * Linked with libktune_cblas ahead of libktune and the BLAS it uses, so
 * every cblas_* called here is the drop-in's; cblas_xerbla is this file's,
 * which records what it is told (and so also proves the weak default is
 * overridable).  Checks:
 *   - every argument check of every routine is reached, in both layouts,
 *     with the parameter number and routine name of reference CBLAS, the
 *     first bad parameter winning, and outputs untouched;
 *   - BLAS sizes: n <= 0 does nothing (dot returns 0), M = 0 or N = 0
 *     leaves y or C alone, alpha = 0 in axpy does not read x;
 *   - all eight routines against a reference computed in long double, in
 *     both layouts, all transpositions (ConjTrans = Trans), sizes 0, 1 and
 *     more, padded leading dimensions, negative and zero increments, with
 *     everything outside the logical output untouched;
 *   - overlapping axpy operands (which ktune refuses) in the reference's
 *     sequential order; calls that ktune declines, and ktune variants that
 *     call back into cblas_* (re-entry), computed by the reference loops.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kt_test.h"
#include "ktune_cblas.h"

/* ---- the recording error handler -------------------------------------------------- */

static int xe_calls, xe_p, xe_row, xe_fromc;
static char xe_rout[64], xe_msg[128];

void cblas_xerbla(int p, const char *rout, const char *form, ...) {
    va_list ap;
    xe_calls++;
    xe_p = p;
    xe_row = RowMajorStrg; /* what a handler written for reference CBLAS reads */
    xe_fromc = CBLAS_CallFromC;
    snprintf(xe_rout, sizeof xe_rout, "%s", rout);
    va_start(ap, form);
    vsnprintf(xe_msg, sizeof xe_msg, form, ap);
    va_end(ap);
}

static void xe_reset(void) {
    xe_calls = xe_p = xe_row = xe_fromc = 0;
    xe_rout[0] = xe_msg[0] = '\0';
}

/* ---- typed buffers ----------------------------------------------------------------- */

/* A buffer of float (dbl == 0) or double elements. */
typedef struct buf {
    int dbl;
    size_t n;
    void *p;
} buf;

static buf buf_new(int dbl, size_t n) {
    buf b = {dbl, n, kt_test_alloc((n ? n : 1) * 8)};
    return b;
}

static double buf_get(const buf *b, size_t i) {
    return b->dbl ? ((const double *)b->p)[i] : ((const float *)b->p)[i];
}

static void buf_set(buf *b, size_t i, double v) {
    if (b->dbl)
        ((double *)b->p)[i] = v;
    else
        ((float *)b->p)[i] = (float)v;
}

static size_t esz(int dbl) { return dbl ? sizeof(double) : sizeof(float); }

/* Random values (exact in float, so both precisions see the same numbers). */
static void buf_fill(buf *b, kt_rng *r) {
    for (size_t i = 0; i < b->n; i++) buf_set(b, i, (float)kt_rng_nonzero(r));
}

static void buf_fill_value(buf *b, double v) {
    for (size_t i = 0; i < b->n; i++) buf_set(b, i, v);
}

static buf buf_copy(const buf *b) {
    buf c = buf_new(b->dbl, b->n);
    memcpy(c.p, b->p, b->n * esz(b->dbl));
    return c;
}

static int buf_same(const buf *b, size_t i, const buf *orig) {
    size_t e = esz(b->dbl);
    return memcmp((const char *)b->p + i * e, (const char *)orig->p + i * e, e) == 0;
}

static void buf_free(buf *b) {
    free(b->p);
    b->p = NULL;
}

/* Whether the whole buffer equals orig bit for bit. */
static int buf_untouched(const buf *b, const buf *orig) {
    return memcmp(b->p, orig->p, b->n * esz(b->dbl)) == 0;
}

/* The storage offset of BLAS vector element i (len elements, increment inc). */
static size_t vec_at(int len, int inc, int i) {
    return inc >= 0 ? (size_t)i * (size_t)inc : (size_t)(len - 1 - i) * (size_t)-inc;
}

/* Elements a vector of len elements with increment inc spans (1 for len 0). */
static size_t vec_span(int len, int inc) {
    return len > 0 ? 1 + (size_t)(len - 1) * (size_t)abs(inc) : 1;
}

/* Element (i, j) of a matrix stored in layout with leading dimension ld. */
static size_t mat_at(int layout, int ld, int i, int j) {
    return layout == CblasColMajor ? (size_t)i + (size_t)j * (size_t)ld
                                   : (size_t)i * (size_t)ld + (size_t)j;
}

/* The minimum leading dimension of a stored r x c matrix, and its element count with ld. */
static int mat_ld(int layout, int r, int c) { return layout == CblasColMajor ? r : c; }
static size_t mat_len(int layout, int r, int c, int ld) {
    return (size_t)ld * (size_t)(layout == CblasColMajor ? c : r);
}

/* Whether |got - ref| is within the rounding bound of a sum with magnitude mag over n terms. */
static int close_enough(int dbl, double got, long double ref, long double mag, int n) {
    double eps = dbl ? DBL_EPSILON : FLT_EPSILON;
    long double bound = 4.0L * eps * (n + 2) * mag + (dbl ? 1e-300 : 1e-30);
    return isfinite(got) && fabsl((long double)got - ref) <= bound;
}

/* ---- the routines, either precision -------------------------------------------------- */

static void call_axpy(int dbl, int n, double alpha, const void *x, int incx, void *y, int incy) {
    if (dbl)
        cblas_daxpy(n, alpha, x, incx, y, incy);
    else
        cblas_saxpy(n, (float)alpha, x, incx, y, incy);
}

static double call_dot(int dbl, int n, const void *x, int incx, const void *y, int incy) {
    if (dbl) return cblas_ddot(n, x, incx, y, incy);
    float r = cblas_sdot(n, x, incx, y, incy); /* float, as the ABI says */
    return r;
}

static void call_gemv(int dbl, int layout, int trans, int m, int n, double alpha, const void *a,
                      int lda, const void *x, int incx, double beta, void *y, int incy) {
    if (dbl)
        cblas_dgemv((CBLAS_LAYOUT)layout, (CBLAS_TRANSPOSE)trans, m, n, alpha, a, lda, x, incx,
                    beta, y, incy);
    else
        cblas_sgemv((CBLAS_LAYOUT)layout, (CBLAS_TRANSPOSE)trans, m, n, (float)alpha, a, lda, x,
                    incx, (float)beta, y, incy);
}

static void call_gemm(int dbl, int layout, int ta, int tb, int m, int n, int k, double alpha,
                      const void *a, int lda, const void *b, int ldb, double beta, void *c,
                      int ldc) {
    if (dbl)
        cblas_dgemm((CBLAS_LAYOUT)layout, (CBLAS_TRANSPOSE)ta, (CBLAS_TRANSPOSE)tb, m, n, k, alpha,
                    a, lda, b, ldb, beta, c, ldc);
    else
        cblas_sgemm((CBLAS_LAYOUT)layout, (CBLAS_TRANSPOSE)ta, (CBLAS_TRANSPOSE)tb, m, n, k,
                    (float)alpha, a, lda, b, ldb, (float)beta, c, ldc);
}

static const char *lname(int layout) { return layout == CblasRowMajor ? "row" : "col"; }
static const char *tname(int t) { return t == CblasNoTrans ? "N" : t == CblasTrans ? "T" : "C"; }

/* ---- argument checks ------------------------------------------------------------------ */

typedef struct gemm_bad {
    const char *what;
    int layout, ta, tb, m, n, k, lda, ldb, ldc;
    int p;           /* the expected parameter number, 0: valid */
    const char *msg; /* the expected detail, for layout and transposition errors */
} gemm_bad;

#define COL CblasColMajor
#define ROW CblasRowMajor
#define N_ CblasNoTrans
#define T_ CblasTrans
#define C_ CblasConjTrans

/*
 * Column-major base: M=3 N=4 K=5, A 3x5 (lda >= 3), B 5x4 (ldb >= 5), C ldc >= 3.
 * Row-major base: A lda >= K=5, B ldb >= N=4, C ldc >= N=4.
 */
static const gemm_bad gemm_cases[] = {
    {"valid col", COL, N_, N_, 3, 4, 5, 3, 5, 3, 0, NULL},
    {"valid col ConjTrans both", COL, C_, C_, 3, 4, 5, 5, 4, 3, 0, NULL},
    {"valid row", ROW, N_, N_, 3, 4, 5, 5, 4, 4, 0, NULL},
    {"valid row T,T", ROW, T_, T_, 3, 4, 5, 3, 5, 4, 0, NULL},
    {"valid empty, ld 1", COL, N_, N_, 0, 0, 0, 1, 1, 1, 0, NULL},
    {"valid row empty, ld 1", ROW, N_, N_, 0, 0, 0, 1, 1, 1, 0, NULL},
    {"layout 0", 0, N_, N_, 3, 4, 5, 3, 5, 3, 1, "Illegal layout setting, 0\n"},
    {"layout 103 before TransA", 103, 99, N_, -1, 4, 5, 3, 5, 3, 1,
     "Illegal layout setting, 103\n"},
    {"col TransA 114 (ConjNoTrans)", COL, 114, N_, 3, 4, 5, 3, 5, 3, 2,
     "Illegal TransA setting, 114\n"},
    {"row TransA 110", ROW, 110, N_, 3, 4, 5, 5, 4, 4, 2, "Illegal TransA setting, 110\n"},
    {"col TransB 0 before M", COL, N_, 0, -1, 4, 5, 3, 5, 3, 3, "Illegal TransB setting, 0\n"},
    {"row TransB 115", ROW, N_, 115, 3, 4, 5, 5, 4, 4, 3, "Illegal TransB setting, 115\n"},
    {"col M < 0", COL, N_, N_, -1, 4, 5, 3, 5, 3, 4, ""},
    {"col N < 0", COL, N_, N_, 3, -1, 5, 3, 5, 3, 5, ""},
    {"col K < 0", COL, N_, N_, 3, 4, -1, 3, 5, 3, 6, ""},
    {"col M, N < 0: M first", COL, N_, N_, -1, -1, 5, 3, 5, 3, 4, ""},
    {"col lda < M", COL, N_, N_, 3, 4, 5, 2, 5, 3, 9, ""},
    {"col TransA lda < K", COL, T_, N_, 3, 4, 5, 4, 5, 3, 9, ""},
    {"col lda 0 with M 0", COL, N_, N_, 0, 4, 5, 0, 5, 1, 9, ""},
    {"col ldb < K", COL, N_, N_, 3, 4, 5, 3, 4, 3, 11, ""},
    {"col TransB ldb < N", COL, N_, C_, 3, 4, 5, 3, 3, 3, 11, ""},
    {"col lda, ldb bad: lda first", COL, N_, N_, 3, 4, 5, 2, 4, 3, 9, ""},
    {"col ldc < M", COL, N_, N_, 3, 4, 5, 3, 5, 2, 14, ""},
    {"col K < 0 before lda", COL, N_, N_, 3, 4, -1, 0, 0, 0, 6, ""},
    {"row M < 0 (swapped call: 5)", ROW, N_, N_, -1, 4, 5, 5, 4, 4, 5, ""},
    {"row N < 0 (swapped call: 4)", ROW, N_, N_, 3, -1, 5, 5, 4, 4, 4, ""},
    {"row M, N < 0: N first", ROW, N_, N_, -1, -1, 5, 5, 4, 4, 4, ""},
    {"row K < 0", ROW, N_, N_, 3, 4, -1, 5, 4, 4, 6, ""},
    {"row lda < K (swapped call: 11)", ROW, N_, N_, 3, 4, 5, 4, 4, 4, 11, ""},
    {"row TransA lda < M", ROW, T_, N_, 3, 4, 5, 2, 4, 4, 11, ""},
    {"row ldb < N (swapped call: 9)", ROW, N_, N_, 3, 4, 5, 5, 3, 4, 9, ""},
    {"row TransB ldb < K", ROW, N_, T_, 3, 4, 5, 5, 4, 4, 9, ""},
    {"row lda, ldb bad: ldb first", ROW, N_, N_, 3, 4, 5, 4, 3, 4, 9, ""},
    {"row ldc < N", ROW, N_, N_, 3, 4, 5, 5, 4, 3, 14, ""},
    {"row ldc 0 with N 0", ROW, N_, N_, 3, 0, 5, 5, 1, 0, 14, ""},
};

typedef struct gemv_bad {
    const char *what;
    int layout, trans, m, n, lda, incx, incy;
    int p;
    const char *msg;
} gemv_bad;

/* Column-major base M=3 N=4: lda >= 3; row-major: lda >= 4. */
static const gemv_bad gemv_cases[] = {
    {"valid col", COL, N_, 3, 4, 3, 1, 1, 0, NULL},
    {"valid row ConjTrans, negative increments", ROW, C_, 3, 4, 4, -2, -1, 0, NULL},
    {"valid empty, lda 1", COL, T_, 0, 0, 1, 1, 1, 0, NULL},
    {"layout 1", 1, N_, 3, 4, 3, 1, 1, 1, "Illegal layout setting, 1\n"},
    {"layout before trans", 100, 0, -3, 4, 0, 0, 0, 1, "Illegal layout setting, 100\n"},
    {"col trans 114", COL, 114, 3, 4, 3, 1, 1, 2, "Illegal TransA setting, 114\n"},
    {"row trans 0 before M", ROW, 0, -1, 4, 4, 1, 1, 2, "Illegal TransA setting, 0\n"},
    {"col M < 0", COL, N_, -1, 4, 3, 1, 1, 3, ""},
    {"col N < 0", COL, T_, 3, -1, 3, 1, 1, 4, ""},
    {"col M, N < 0: M first", COL, N_, -1, -1, 3, 1, 1, 3, ""},
    {"col lda < M", COL, N_, 3, 4, 2, 1, 1, 7, ""},
    {"col lda 0 with M 0", COL, N_, 0, 4, 0, 1, 1, 7, ""},
    {"col incx 0", COL, N_, 3, 4, 3, 0, 1, 9, ""},
    {"col incy 0", COL, T_, 3, 4, 3, 1, 0, 12, ""},
    {"col incx, incy 0: incx first", COL, N_, 3, 4, 3, 0, 0, 9, ""},
    {"col lda before incx", COL, N_, 3, 4, 1, 0, 0, 7, ""},
    {"row M < 0 (swapped call: 4)", ROW, N_, -1, 4, 4, 1, 1, 4, ""},
    {"row N < 0 (swapped call: 3)", ROW, N_, 3, -1, 4, 1, 1, 3, ""},
    {"row M, N < 0: N first", ROW, T_, -1, -1, 4, 1, 1, 3, ""},
    {"row lda < N", ROW, N_, 3, 4, 3, 1, 1, 7, ""},
    {"row lda 0 with N 0", ROW, N_, 3, 0, 0, 1, 1, 7, ""},
    {"row incx 0", ROW, T_, 3, 4, 4, 0, 1, 9, ""},
    {"row incy 0", ROW, N_, 3, 4, 4, 1, 0, 12, ""},
};

/*
 * Checks the recorded xerbla call (or its absence) against the expectation:
 * the number of reference CBLAS (the swapped call's for row-major Fortran
 * checks), RowMajorStrg set for every row-major error after the layout
 * check, CBLAS_CallFromC set during the call, both clear after it.
 */
static void expect_xerbla(const char *what, const char *rout, int layout, int p,
                          const char *msg) {
    if (RowMajorStrg || CBLAS_CallFromC)
        fail_msg("%s: RowMajorStrg %d, CBLAS_CallFromC %d after the call", what, RowMajorStrg,
                 CBLAS_CallFromC);
    if (p == 0) {
        if (xe_calls != 0)
            fail_msg("%s: %s called cblas_xerbla(%d, \"%s\") on valid arguments", what, rout, xe_p,
                     xe_rout);
        return;
    }
    if (xe_calls != 1) fail_msg("%s: cblas_xerbla called %d times, expected once", what, xe_calls);
    if (xe_p != p || strcmp(xe_rout, rout) != 0)
        fail_msg("%s: cblas_xerbla(%d, \"%s\"), expected (%d, \"%s\")", what, xe_p, xe_rout, p,
                 rout);
    if (msg && strcmp(xe_msg, msg) != 0)
        fail_msg("%s: detail \"%s\", expected \"%s\"", what, xe_msg, msg);
    int row = layout == CblasRowMajor && p != 1;
    if (xe_row != row || xe_fromc != 1)
        fail_msg("%s: RowMajorStrg %d, CBLAS_CallFromC %d in the handler, expected %d, 1", what,
                 xe_row, xe_fromc, row);
}

static void test_gemm_checks(void **state) {
    int dbl = *(int *)*state;
    const char *rout = dbl ? "cblas_dgemm" : "cblas_sgemm";
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed());
    for (size_t i = 0; i < sizeof gemm_cases / sizeof gemm_cases[0]; i++) {
        const gemm_bad *g = &gemm_cases[i];
        /* buffers large enough for any case, so a wrong acceptance cannot crash */
        buf a = buf_new(dbl, 64), b = buf_new(dbl, 64), c = buf_new(dbl, 64);
        buf_fill(&a, &r);
        buf_fill(&b, &r);
        buf_fill(&c, &r);
        buf c0 = buf_copy(&c);
        xe_reset();
        call_gemm(dbl, g->layout, g->ta, g->tb, g->m, g->n, g->k, 1.5, a.p, g->lda, b.p, g->ldb,
                  0.5, c.p, g->ldc);
        expect_xerbla(g->what, rout, g->layout, g->p, g->msg);
        if (g->p && !buf_untouched(&c, &c0)) fail_msg("%s: C written after an error", g->what);
        buf_free(&a);
        buf_free(&b);
        buf_free(&c);
        buf_free(&c0);
    }
}

static void test_gemv_checks(void **state) {
    int dbl = *(int *)*state;
    const char *rout = dbl ? "cblas_dgemv" : "cblas_sgemv";
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed());
    for (size_t i = 0; i < sizeof gemv_cases / sizeof gemv_cases[0]; i++) {
        const gemv_bad *g = &gemv_cases[i];
        buf a = buf_new(dbl, 64), x = buf_new(dbl, 64), y = buf_new(dbl, 64);
        buf_fill(&a, &r);
        buf_fill(&x, &r);
        buf_fill(&y, &r);
        buf y0 = buf_copy(&y);
        xe_reset();
        call_gemv(dbl, g->layout, g->trans, g->m, g->n, 1.5, a.p, g->lda, x.p, g->incx, 0.5, y.p,
                  g->incy);
        expect_xerbla(g->what, rout, g->layout, g->p, g->msg);
        if (g->p && !buf_untouched(&y, &y0)) fail_msg("%s: y written after an error", g->what);
        buf_free(&a);
        buf_free(&x);
        buf_free(&y);
        buf_free(&y0);
    }
}

/*
 * The BLAS size rules: no argument errors in axpy and dot, n <= 0 does
 * nothing (NULL pointers are fine then), dot returns 0, axpy with alpha 0
 * never reads x, gemv/gemm with an empty output leave it alone.
 */
static void test_trivial_sizes(void **state) {
    int dbl = *(int *)*state;
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed());
    buf x = buf_new(dbl, 16), y = buf_new(dbl, 16), a = buf_new(dbl, 64);
    buf_fill(&x, &r);
    buf_fill(&y, &r);
    buf_fill(&a, &r);
    buf y0 = buf_copy(&y);
    xe_reset();
    int ns[] = {0, -1, -100};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        call_axpy(dbl, ns[i], 2.0, NULL, 0, NULL, 0);
        call_axpy(dbl, ns[i], 2.0, x.p, 1, y.p, 1);
        assert_true(call_dot(dbl, ns[i], NULL, 0, NULL, 0) == 0.0);
        assert_true(call_dot(dbl, ns[i], x.p, 1, y.p, 1) == 0.0);
    }
    call_axpy(dbl, 16, 0.0, NULL, 1, y.p, 1);  /* alpha 0: x is not read */
    call_axpy(dbl, 16, -0.0, NULL, 1, y.p, 1); /* -0 == 0 */
    if (!buf_untouched(&y, &y0)) fail_msg("axpy with n <= 0 or alpha 0 wrote y");
    /* empty gemv/gemm outputs: left alone even with beta != 1 (the reference's quick return) */
    call_gemv(dbl, CblasColMajor, CblasNoTrans, 4, 0, 1.0, a.p, 4, x.p, 1, 3.0, y.p, 1);
    call_gemv(dbl, CblasRowMajor, CblasTrans, 0, 4, 1.0, a.p, 4, x.p, 1, 3.0, y.p, 1);
    call_gemv(dbl, CblasColMajor, CblasTrans, 4, 4, 0.0, NULL, 4, NULL, 1, 1.0, y.p, 1);
    call_gemm(dbl, CblasColMajor, CblasNoTrans, CblasNoTrans, 4, 0, 3, 1.0, a.p, 4, a.p, 3, 3.0,
              y.p, 4);
    call_gemm(dbl, CblasRowMajor, CblasTrans, CblasNoTrans, 0, 4, 3, 1.0, a.p, 1, a.p, 4, 3.0, y.p,
              4);
    call_gemm(dbl, CblasColMajor, CblasNoTrans, CblasTrans, 2, 2, 3, 0.0, NULL, 2, NULL, 2, 1.0,
              y.p, 2);
    call_gemm(dbl, CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 0, 2.0, NULL, 1, NULL, 2, 1.0,
              y.p, 2);
    if (!buf_untouched(&y, &y0)) fail_msg("gemv/gemm with a quick-return case wrote the output");
    assert_int_equal(xe_calls, 0);
    buf_free(&x);
    buf_free(&y);
    buf_free(&a);
    buf_free(&y0);
}

/* ---- results: axpy and dot ------------------------------------------------------------ */

static const int vec_ns[] = {1, 2, 3, 7, 16, 33, 100, 1000, 10007, 100003};
static const int vec_incs[][2] = {{1, 1}, {-1, -1}, {2, 1}, {1, -3}, {-2, 3}, {0, 1}, {3, -2}};

static void test_axpy(void **state) {
    int dbl = *(int *)*state;
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed());
    const double alphas[] = {1.5, -1.0, 0.25};
    for (size_t ni = 0; ni < sizeof vec_ns / sizeof vec_ns[0]; ni++) {
        int n = vec_ns[ni];
        if (kt_test_quick() && n > 10007) continue;
        for (size_t ii = 0; ii < sizeof vec_incs / sizeof vec_incs[0]; ii++) {
            int incx = vec_incs[ii][0], incy = vec_incs[ii][1];
            double alpha = alphas[(ni + ii) % 3];
            buf x = buf_new(dbl, vec_span(n, incx)), y = buf_new(dbl, vec_span(n, incy) + 2);
            buf_fill(&x, &r);
            buf_fill(&y, &r);
            buf y0 = buf_copy(&y);
            call_axpy(dbl, n, alpha, x.p, incx, y.p, incy);
            char *logical = calloc(y.n, 1);
            for (int i = 0; i < n; i++) {
                size_t iy = vec_at(n, incy, i);
                logical[iy] = 1;
                long double xv = buf_get(&x, vec_at(n, incx, i));
                long double ref = buf_get(&y0, iy) + (long double)alpha * xv;
                long double mag = fabsl(buf_get(&y0, iy)) + fabsl(alpha * xv);
                if (!close_enough(dbl, buf_get(&y, iy), ref, mag, 1))
                    fail_msg("n=%d incx=%d incy=%d: y[%d] = %g, expected %Lg", n, incx, incy, i,
                             buf_get(&y, iy), ref);
            }
            for (size_t i = 0; i < y.n; i++)
                if (!logical[i] && !buf_same(&y, i, &y0))
                    fail_msg("n=%d incx=%d incy=%d: element %zu outside y written", n, incx, incy,
                             i);
            free(logical);
            buf_free(&x);
            buf_free(&y);
            buf_free(&y0);
        }
    }
}

/* incy = 0: every term accumulates into y[0], in order. */
static void test_axpy_incy0(void **state) {
    int dbl = *(int *)*state;
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed());
    int n = 37;
    buf x = buf_new(dbl, n), y = buf_new(dbl, 2);
    buf_fill(&x, &r);
    buf_fill(&y, &r);
    buf y0 = buf_copy(&y);
    call_axpy(dbl, n, 0.5, x.p, 1, y.p, 0);
    long double ref = buf_get(&y0, 0), mag = fabsl(ref);
    for (int i = 0; i < n; i++) {
        ref += 0.5L * buf_get(&x, (size_t)i);
        mag += fabsl(0.5L * buf_get(&x, (size_t)i));
    }
    if (!close_enough(dbl, buf_get(&y, 0), ref, mag, n))
        fail_msg("y[0] = %g, expected %Lg", buf_get(&y, 0), ref);
    assert_true(buf_same(&y, 1, &y0));
    buf_free(&x);
    buf_free(&y);
    buf_free(&y0);
}

/*
 * Overlapping x and y, which ktune refuses: the reference computes
 * y_i += alpha * x_i for i = 0, 1, ... in order, each step seeing the
 * writes of the earlier ones.  Compared with that loop run here.
 */
static void test_axpy_overlap(void **state) {
    int dbl = *(int *)*state;
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed());
    struct {
        int n, xoff, incx, yoff, incy;
    } cases[] = {
        {100, 0, 1, 1, 1},  /* y one ahead of x: a running recurrence */
        {100, 1, 1, 0, 1},  /* y one behind x */
        {50, 0, -1, 2, -1}, /* negative increments: walked from the ends */
        {40, 0, 2, 1, 3},   /* interleaved strides */
        {64, 0, 1, 0, 1},   /* x == y with equal increments: y *= 1 + alpha */
        {33, 5, -2, 0, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int n = cases[c].n, incx = cases[c].incx, incy = cases[c].incy;
        size_t len =
            (size_t)cases[c].xoff + vec_span(n, incx) + (size_t)cases[c].yoff + vec_span(n, incy);
        buf v = buf_new(dbl, len), w = buf_new(dbl, len);
        buf_fill(&v, &r);
        memcpy(w.p, v.p, len * esz(dbl));
        size_t e = esz(dbl);
        const char *x = (const char *)v.p + (size_t)cases[c].xoff * e;
        char *y = (char *)v.p + (size_t)cases[c].yoff * e;
        call_axpy(dbl, n, 0.75, x, incx, y, incy);
        /*
         * The sequential reference on the copy, rounded to the element type
         * at each step; mag bounds the magnitudes each element's rounding
         * errors came from (they propagate through the recurrence).
         */
        long double *mag = malloc(len * sizeof *mag);
        for (size_t i = 0; i < len; i++) mag[i] = fabsl((long double)buf_get(&w, i));
        for (int i = 0; i < n; i++) {
            size_t ix = (size_t)cases[c].xoff + vec_at(n, incx, i);
            size_t iy = (size_t)cases[c].yoff + vec_at(n, incy, i);
            buf_set(&w, iy, buf_get(&w, iy) + 0.75 * buf_get(&w, ix));
            mag[iy] += 0.75L * mag[ix];
        }
        for (size_t i = 0; i < len; i++) {
            double got = buf_get(&v, i), want = buf_get(&w, i);
            if (!close_enough(dbl, got, want, mag[i], n))
                fail_msg("case %zu (n=%d incx=%d incy=%d): element %zu = %g, sequential %g", c, n,
                         incx, incy, i, got, want);
        }
        free(mag);
        buf_free(&v);
        buf_free(&w);
    }
}

static void test_dot(void **state) {
    int dbl = *(int *)*state;
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed());
    for (size_t ni = 0; ni < sizeof vec_ns / sizeof vec_ns[0]; ni++) {
        int n = vec_ns[ni];
        if (kt_test_quick() && n > 10007) continue;
        for (size_t ii = 0; ii < sizeof vec_incs / sizeof vec_incs[0]; ii++) {
            for (int swap = 0; swap < 2; swap++) {
                int incx = vec_incs[ii][swap], incy = vec_incs[ii][1 - swap];
                buf x = buf_new(dbl, vec_span(n, incx)), y = buf_new(dbl, vec_span(n, incy));
                buf_fill(&x, &r);
                buf_fill(&y, &r);
                buf x0 = buf_copy(&x), y0 = buf_copy(&y);
                double got = call_dot(dbl, n, x.p, incx, y.p, incy);
                long double ref = 0, mag = 0;
                for (int i = 0; i < n; i++) {
                    long double t = (long double)buf_get(&x, vec_at(n, incx, i)) *
                                    buf_get(&y, vec_at(n, incy, i));
                    ref += t;
                    mag += fabsl(t);
                }
                if (!close_enough(dbl, got, ref, mag, n))
                    fail_msg("n=%d incx=%d incy=%d: %.17g, expected %.17Lg", n, incx, incy, got,
                             ref);
                assert_true(buf_untouched(&x, &x0) && buf_untouched(&y, &y0));
                buf_free(&x);
                buf_free(&y);
                buf_free(&x0);
                buf_free(&y0);
            }
        }
    }
    /* x and y the same vector: fine for a read-only routine */
    buf x = buf_new(dbl, 100);
    buf_fill(&x, &r);
    long double ref = 0;
    for (int i = 0; i < 100; i++) ref += (long double)buf_get(&x, i) * buf_get(&x, i);
    assert_true(close_enough(dbl, call_dot(dbl, 100, x.p, 1, x.p, 1), ref, ref, 100));
    buf_free(&x);
}

/* ---- results: gemv and gemm ------------------------------------------------------------- */

/* alpha, beta pairs; nan_out: the output starts as NaN (beta 0 must not read it). */
static const struct {
    double alpha, beta;
    int nan_out;
} coefs[] = {{1.5, -0.5, 0}, {0.75, 0.0, 1}, {1.0, 1.0, 0}, {0.0, 2.0, 0}, {0.0, 0.0, 1}};

typedef struct mv_cfg {
    int dbl, layout, trans;
} mv_cfg;

static void test_gemv(void **state) {
    const mv_cfg *g = *state;
    int dbl = g->dbl;
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed());
    static const int shapes[][2] = {{0, 0}, {0, 3},   {3, 0},   {1, 1},    {1, 7},
                                    {7, 1}, {17, 13}, {64, 33}, {100, 37}, {301, 257}};
    static const int incs[][2] = {{1, 1}, {-2, 3}, {2, -1}, {-1, -1}};
    bool tr = g->trans != CblasNoTrans;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], n = shapes[s][1];
        if (kt_test_quick() && m > 200) continue;
        for (size_t ii = 0; ii < sizeof incs / sizeof incs[0]; ii++) {
            for (size_t ci = 0; ci < sizeof coefs / sizeof coefs[0]; ci++) {
                int incx = incs[ii][0], incy = incs[ii][1];
                double alpha = coefs[ci].alpha, beta = coefs[ci].beta;
                int lda = mat_ld(g->layout, m, n) + (int)(s % 3) * 2; /* padded, or 1 */
                if (lda < 1) lda = 1;
                int lenx = tr ? m : n, leny = tr ? n : m;
                buf a = buf_new(dbl, mat_len(g->layout, m, n, lda));
                buf x = buf_new(dbl, vec_span(lenx, incx));
                buf y = buf_new(dbl, vec_span(leny, incy) + 1);
                buf_fill(&a, &r);
                buf_fill(&x, &r);
                buf_fill(&y, &r);
                if (coefs[ci].nan_out)
                    for (int i = 0; i < leny; i++) buf_set(&y, vec_at(leny, incy, i), NAN);
                if (alpha == 0.0) buf_fill_value(&a, NAN); /* alpha 0 must not read A */
                buf y0 = buf_copy(&y);
                xe_reset();
                call_gemv(dbl, g->layout, g->trans, m, n, alpha, a.p, lda, x.p, incx, beta, y.p,
                          incy);
                assert_int_equal(xe_calls, 0);
                /* the reference's quick return leaves y exactly as it was */
                int quick = m == 0 || n == 0 || (alpha == 0.0 && beta == 1.0);
                char *logical = calloc(y.n, 1);
                for (int i = 0; !quick && i < leny; i++) {
                    size_t iy = vec_at(leny, incy, i);
                    logical[iy] = 1;
                    long double ref = 0, mag = 0;
                    for (int l = 0; alpha != 0.0 && l < lenx; l++) {
                        size_t ia =
                            tr ? mat_at(g->layout, lda, l, i) : mat_at(g->layout, lda, i, l);
                        long double t =
                            (long double)buf_get(&a, ia) * buf_get(&x, vec_at(lenx, incx, l));
                        ref += t;
                        mag += fabsl(t);
                    }
                    ref *= alpha;
                    mag *= fabs(alpha);
                    if (beta != 0.0) {
                        ref += (long double)beta * buf_get(&y0, iy);
                        mag += fabsl(beta * buf_get(&y0, iy));
                    }
                    if (!close_enough(dbl, buf_get(&y, iy), ref, mag, lenx))
                        fail_msg("%s %s m=%d n=%d lda=%d incx=%d incy=%d alpha=%g beta=%g: "
                                 "y[%d] = %g, expected %Lg",
                                 lname(g->layout), tname(g->trans), m, n, lda, incx, incy, alpha,
                                 beta, i, buf_get(&y, iy), ref);
                }
                for (size_t i = 0; i < y.n; i++)
                    if (!logical[i] && !buf_same(&y, i, &y0))
                        fail_msg("%s %s m=%d n=%d incy=%d alpha=%g beta=%g: y element %zu "
                                 "outside the result written",
                                 lname(g->layout), tname(g->trans), m, n, incy, alpha, beta, i);
                free(logical);
                buf_free(&a);
                buf_free(&x);
                buf_free(&y);
                buf_free(&y0);
            }
        }
    }
}

typedef struct mm_cfg {
    int dbl, layout, ta, tb;
} mm_cfg;

static void test_gemm(void **state) {
    const mm_cfg *g = *state;
    int dbl = g->dbl;
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed());
    static const int shapes[][3] = {{0, 0, 0},   {0, 3, 2},    {3, 0, 2},     {3, 2, 0},
                                    {1, 1, 1},   {1, 5, 3},    {5, 1, 3},     {7, 5, 1},
                                    {17, 13, 9}, {33, 40, 65}, {130, 67, 200}};
    bool ta = g->ta != CblasNoTrans, tb = g->tb != CblasNoTrans;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        if (kt_test_quick() && m > 100) continue;
        for (size_t ci = 0; ci < sizeof coefs / sizeof coefs[0]; ci++) {
            double alpha = coefs[ci].alpha, beta = coefs[ci].beta;
            int pad = (int)(s % 3) * 3; /* padded leading dimensions, or the minimum */
            /* stored shapes: A is m x k (k x m when transposed), B k x n (n x k), C m x n */
            int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
            int lda = mat_ld(g->layout, ar, ac) + pad, ldb = mat_ld(g->layout, br, bc) + pad;
            int ldc = mat_ld(g->layout, m, n) + pad;
            if (lda < 1) lda = 1;
            if (ldb < 1) ldb = 1;
            if (ldc < 1) ldc = 1;
            buf a = buf_new(dbl, mat_len(g->layout, ar, ac, lda));
            buf b = buf_new(dbl, mat_len(g->layout, br, bc, ldb));
            buf c = buf_new(dbl, mat_len(g->layout, m, n, ldc) + 1);
            buf_fill(&a, &r);
            buf_fill(&b, &r);
            buf_fill(&c, &r);
            if (coefs[ci].nan_out)
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) buf_set(&c, mat_at(g->layout, ldc, i, j), NAN);
            if (alpha == 0.0) { /* alpha 0 must not read A or B */
                buf_fill_value(&a, NAN);
                buf_fill_value(&b, NAN);
            }
            buf c0 = buf_copy(&c);
            xe_reset();
            call_gemm(dbl, g->layout, g->ta, g->tb, m, n, k, alpha, a.p, lda, b.p, ldb, beta, c.p,
                      ldc);
            assert_int_equal(xe_calls, 0);
            int quick = m == 0 || n == 0 || ((alpha == 0.0 || k == 0) && beta == 1.0);
            char *logical = calloc(c.n, 1);
            for (int i = 0; !quick && i < m; i++) {
                for (int j = 0; j < n; j++) {
                    size_t ic = mat_at(g->layout, ldc, i, j);
                    logical[ic] = 1;
                    long double ref = 0, mag = 0;
                    for (int l = 0; alpha != 0.0 && l < k; l++) {
                        size_t ia =
                            ta ? mat_at(g->layout, lda, l, i) : mat_at(g->layout, lda, i, l);
                        size_t ib =
                            tb ? mat_at(g->layout, ldb, j, l) : mat_at(g->layout, ldb, l, j);
                        long double t = (long double)buf_get(&a, ia) * buf_get(&b, ib);
                        ref += t;
                        mag += fabsl(t);
                    }
                    ref *= alpha;
                    mag *= fabs(alpha);
                    if (beta != 0.0) {
                        ref += (long double)beta * buf_get(&c0, ic);
                        mag += fabsl(beta * buf_get(&c0, ic));
                    }
                    if (!close_enough(dbl, buf_get(&c, ic), ref, mag, k))
                        fail_msg("%s %s%s m=%d n=%d k=%d ld=%d,%d,%d alpha=%g beta=%g: "
                                 "C(%d,%d) = %g, expected %Lg",
                                 lname(g->layout), tname(g->ta), tname(g->tb), m, n, k, lda, ldb,
                                 ldc, alpha, beta, i, j, buf_get(&c, ic), ref);
                }
            }
            for (size_t i = 0; i < c.n; i++)
                if (!logical[i] && !buf_same(&c, i, &c0))
                    fail_msg("%s %s%s m=%d n=%d k=%d ldc=%d alpha=%g beta=%g: C element %zu "
                             "outside the result written",
                             lname(g->layout), tname(g->ta), tname(g->tb), m, n, k, ldc, alpha,
                             beta, i);
            free(logical);
            buf_free(&a);
            buf_free(&b);
            buf_free(&c);
            buf_free(&c0);
        }
    }
}

/* ---- fallbacks ------------------------------------------------------------------------- */

/* Planted variants that decline every call, as a variant out of memory would. */
static kt_status decline_dot_f32(const kt_variant *v, size_t n, const float *x, ptrdiff_t incx,
                                 const float *y, ptrdiff_t incy, float *result) {
    (void)v, (void)n, (void)x, (void)incx, (void)y, (void)incy, (void)result;
    return kt_fail(KT_ENOMEM, "planted: declines every call");
}
static kt_status decline_dot_f64(const kt_variant *v, size_t n, const double *x, ptrdiff_t incx,
                                 const double *y, ptrdiff_t incy, double *result) {
    (void)v, (void)n, (void)x, (void)incx, (void)y, (void)incy, (void)result;
    return kt_fail(KT_ENOMEM, "planted: declines every call");
}
static kt_status decline_gemv_f32(const kt_variant *v, kt_trans trans, size_t m, size_t n,
                                  float alpha, const float *a, size_t lda, const float *x,
                                  ptrdiff_t incx, float beta, float *y, ptrdiff_t incy) {
    (void)v, (void)trans, (void)m, (void)n, (void)alpha, (void)a, (void)lda, (void)x, (void)incx;
    (void)beta, (void)y, (void)incy;
    return kt_fail(KT_ENOMEM, "planted: declines every call");
}
static kt_status decline_gemv_f64(const kt_variant *v, kt_trans trans, size_t m, size_t n,
                                  double alpha, const double *a, size_t lda, const double *x,
                                  ptrdiff_t incx, double beta, double *y, ptrdiff_t incy) {
    (void)v, (void)trans, (void)m, (void)n, (void)alpha, (void)a, (void)lda, (void)x, (void)incx;
    (void)beta, (void)y, (void)incy;
    return kt_fail(KT_ENOMEM, "planted: declines every call");
}
static kt_status decline_gemm_f32(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                                  size_t n, size_t k, float alpha, const float *a, size_t lda,
                                  const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    (void)v, (void)transa, (void)transb, (void)m, (void)n, (void)k, (void)alpha, (void)a;
    (void)lda, (void)b, (void)ldb, (void)beta, (void)c, (void)ldc;
    return kt_fail(KT_ENOMEM, "planted: declines every call");
}
static kt_status decline_gemm_f64(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                                  size_t n, size_t k, double alpha, const double *a, size_t lda,
                                  const double *b, size_t ldb, double beta, double *c,
                                  size_t ldc) {
    (void)v, (void)transa, (void)transb, (void)m, (void)n, (void)k, (void)alpha, (void)a;
    (void)lda, (void)b, (void)ldb, (void)beta, (void)c, (void)ldc;
    return kt_fail(KT_ENOMEM, "planted: declines every call");
}

/* The op of each planted row is looked up by name at run time (see main). */
static kt_variant planted[] = {
    {"test:decline", "test", KT_OP_COUNT, 1, 0, KT_VF_TEST, 1, 0, 99, (kt_fnptr)decline_dot_f32,
     NULL, 0},
    {"test:decline", "test", KT_OP_COUNT, 1, 0, KT_VF_TEST, 1, 0, 99, (kt_fnptr)decline_dot_f64,
     NULL, 0},
    {"test:decline", "test", KT_OP_COUNT, 1, 0, KT_VF_TEST, 1, 0, 99, (kt_fnptr)decline_gemv_f32,
     NULL, 0},
    {"test:decline", "test", KT_OP_COUNT, 1, 0, KT_VF_TEST, 1, 0, 99, (kt_fnptr)decline_gemv_f64,
     NULL, 0},
    {"test:decline", "test", KT_OP_COUNT, 1, 0, KT_VF_TEST, 1, 0, 99, (kt_fnptr)decline_gemm_f32,
     NULL, 0},
    {"test:decline", "test", KT_OP_COUNT, 1, 0, KT_VF_TEST, 1, 0, 99, (kt_fnptr)decline_gemm_f64,
     NULL, 0},
};
static const char *const planted_ops[] = {"dot_f32",  "dot_f64",  "gemv_f32",
                                          "gemv_f64", "gemm_f32", "gemm_f64"};

/* Forces every op of the drop-in to `variant` (NULL: back to dispatch); how many took it. */
static int force_all(const char *variant) {
    static const char *const ops[] = {"axpy_f32", "axpy_f64", "dot_f32",  "dot_f64",
                                      "gemv_f32", "gemv_f64", "gemm_f32", "gemm_f64"};
    int forced = 0;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (kt_force(ops[i], variant) == KT_OK) forced++;
    return forced;
}

/* Runs a few of the result tests, both precisions, on whatever dispatch does now. */
static void run_some(void) {
    for (int dbl = 0; dbl < 2; dbl++) {
        int d = dbl;
        void *st = &d;
        test_dot(&st);
        test_axpy(&st);
        mv_cfg mv[] = {{dbl, CblasRowMajor, CblasNoTrans}, {dbl, CblasColMajor, CblasTrans}};
        for (size_t i = 0; i < 2; i++) {
            st = &mv[i];
            test_gemv(&st);
        }
        mm_cfg mm[] = {{dbl, CblasRowMajor, CblasNoTrans, CblasTrans},
                       {dbl, CblasColMajor, CblasTrans, CblasNoTrans}};
        for (size_t i = 0; i < 2; i++) {
            st = &mm[i];
            test_gemm(&st);
        }
    }
}

/* Every call that ktune declines is computed by the reference loops. */
static void test_declined(void **state) {
    (void)state;
    int forced = 0;
    for (size_t i = 0; i < sizeof planted / sizeof planted[0]; i++)
        if (kt_force(planted_ops[i], "test:decline") == KT_OK) forced++;
    if (forced != (int)(sizeof planted / sizeof planted[0]))
        fail_msg("could force the declining variant on %d ops of 6", forced);
    run_some();
    force_all(NULL);
}

/*
 * ktune's openblas variants call cblas_* routines, which resolve to this
 * library's when it is linked ahead of the BLAS: the nested call must not
 * recurse into ktune again (it would never end), and must be right.
 */
static void test_reentry(void **state) {
    (void)state;
    int forced = force_all("openblas");
    if (forced == 0) {
        force_all(NULL);
        skip();
    }
    print_message("# %d ops forced to their openblas variant\n", forced);
    run_some();
    force_all(NULL);
}

int main(void) {
    kt_tests ts = {0};
    static int prec[2] = {0, 1};
    static const char *const pname[2] = {"s", "d"};
    for (size_t i = 0; i < sizeof planted / sizeof planted[0]; i++)
        planted[i].op = kt_op_find(planted_ops[i]);
    kt_registry_plant(planted, sizeof planted / sizeof planted[0]);

    for (int d = 0; d < 2; d++) {
        kt_tests_add(&ts, test_gemm_checks, &prec[d],
                     "cblas_%sgemm: every argument check, reference numbers, C untouched",
                     pname[d]);
        kt_tests_add(&ts, test_gemv_checks, &prec[d],
                     "cblas_%sgemv: every argument check, reference numbers, y untouched",
                     pname[d]);
        kt_tests_add(&ts, test_trivial_sizes, &prec[d],
                     "%s: n <= 0, alpha 0 and empty outputs do nothing, no errors", pname[d]);
    }
    for (int d = 0; d < 2; d++) {
        kt_tests_add(&ts, test_axpy, &prec[d],
                     "cblas_%saxpy matches the reference (sizes, +-increments, x inc 0)",
                     pname[d]);
        kt_tests_add(&ts, test_axpy_incy0, &prec[d], "cblas_%saxpy with incy 0 sums into y[0]",
                     pname[d]);
        kt_tests_add(&ts, test_axpy_overlap, &prec[d],
                     "cblas_%saxpy with overlapping x and y runs in the reference order",
                     pname[d]);
        kt_tests_add(&ts, test_dot, &prec[d],
                     "cblas_%sdot matches the reference (sizes, +-increments, inc 0)", pname[d]);
    }
    static const int layouts[2] = {CblasRowMajor, CblasColMajor};
    static const int transes[3] = {CblasNoTrans, CblasTrans, CblasConjTrans};
    static mv_cfg mv[2][2][3];
    static mm_cfg mm[2][2][3][3];
    for (int d = 0; d < 2; d++)
        for (int l = 0; l < 2; l++)
            for (int t = 0; t < 3; t++) {
                mv[d][l][t] = (mv_cfg){d, layouts[l], transes[t]};
                kt_tests_add(&ts, test_gemv, &mv[d][l][t],
                             "cblas_%sgemv %s-major %s matches the reference", pname[d],
                             lname(layouts[l]), tname(transes[t]));
            }
    for (int d = 0; d < 2; d++)
        for (int l = 0; l < 2; l++)
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++) {
                    mm[d][l][a][b] = (mm_cfg){d, layouts[l], transes[a], transes[b]};
                    kt_tests_add(&ts, test_gemm, &mm[d][l][a][b],
                                 "cblas_%sgemm %s-major %s%s matches the reference", pname[d],
                                 lname(layouts[l]), tname(transes[a]), tname(transes[b]));
                }
    kt_tests_add(&ts, test_declined, NULL,
                 "calls ktune declines are computed by the reference loops");
    kt_tests_add(&ts, test_reentry, NULL,
                 "ktune's openblas variants calling cblas_* back do not recurse, stay right");
    return kt_tests_run(&ts, "cblas");
}
