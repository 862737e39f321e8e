/*
 * dot, gemv and gemm: every variant through kt_call (so through the same
 * checks and normalisation as the entry points) against a long-double
 * reference on fresh random inputs: both layouts, every transposition,
 * m/n/k in {0, 1, 2, 3, 7, 16, 17, 31, 33, 64, 100, 257}, leading
 * dimensions with padding, alpha/beta in {0, 1, -1, 0.5}, NaN in the
 * output when beta = 0, increments for dot and gemv.  Then the entry
 * points' error paths.  Bound per element: (k + 2) eps sum |terms|.
 */
#include "kt_test.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const size_t dims_full[] = {0, 1, 2, 3, 7, 16, 17, 31, 33, 64, 100, 257};
static const size_t dims_quick[] = {0, 1, 2, 3, 7, 16, 17, 33};
static const double scal[] = {0.0, 1.0, -1.0, 0.5};

static int f32_of(const kt_variant *v) { return kt_ops[v->op].dtype == KT_F32; }
static double ldv(int f, const void *p, size_t i) {
    return f ? (double)((const float *)p)[i] : ((const double *)p)[i];
}
static void *rnd(int f, size_t n, kt_rng *r) {
    void *p = kt_test_alloc((n ? n : 1) * (f ? 4 : 8));
    if (f) kt_fill_f32(p, n, r);
    else kt_fill_f64(p, n, r);
    return p;
}

/* ---- gemm --------------------------------------------------------------------------- */

static void check_gemm(const kt_variant *v, kt_layout lay, kt_trans ta, kt_trans tb, size_t m,
                       size_t n, size_t k, double alpha, double beta, kt_rng *r) {
    int f = f32_of(v), col = lay == KT_COL_MAJOR;
    if (f) alpha = (float)alpha, beta = (float)beta;
    /* stored shapes: element (i, j) of a column-major R x C matrix is p[i + j*ld] */
    size_t ar = ta == KT_NOTRANS ? m : k, ac = ta == KT_NOTRANS ? k : m;
    size_t br = tb == KT_NOTRANS ? k : n, bc = tb == KT_NOTRANS ? n : k;
    size_t lda = (col ? ar : ac) + 3, ldb = (col ? br : bc) + 2, ldc = (col ? m : n) + 1;
    size_t asz = lda * (col ? ac : ar), bsz = ldb * (col ? bc : br), csz = ldc * (col ? n : m);
    void *a = rnd(f, asz, r), *b = rnd(f, bsz, r), *c = rnd(f, csz, r), *c0 = rnd(f, csz, r);
    if (beta == 0.0)
        for (size_t i = 0; i < csz; i++) {
            if (f) ((float *)c)[i] = NAN;
            else ((double *)c)[i] = NAN;
        }
    memcpy(c0, c, csz * (f ? 4 : 8));
    /* op(A)(i, l) and op(B)(l, j) in the given layout */
#define AT(i, l) ldv(f, a, col ? (ta == KT_NOTRANS ? (i) + (l)*lda : (l) + (i)*lda) \
                              : (ta == KT_NOTRANS ? (i)*lda + (l) : (l)*lda + (i)))
#define BT(l, j) ldv(f, b, col ? (tb == KT_NOTRANS ? (l) + (j)*ldb : (j) + (l)*ldb) \
                              : (tb == KT_NOTRANS ? (l)*ldb + (j) : (j)*ldb + (l)))
#define CI(i, j) (col ? (i) + (j)*ldc : (i)*ldc + (j))
    kt_args args = {.layout = lay, .transa = ta, .transb = tb, .m = m, .n = n, .k = k,
                    .alpha = alpha, .beta = beta, .a = a, .lda = lda, .b = b, .ldb = ldb,
                    .c = c, .ldc = ldc};
    char what[200];
    snprintf(what, sizeof what, "%s/%s %s %c%c m=%zu n=%zu k=%zu alpha=%g beta=%g",
             kt_ops[v->op].name, v->name, col ? "col" : "row", ta == KT_TRANS ? 'T' : 'N',
             tb == KT_TRANS ? 'T' : 'N', m, n, k, alpha, beta);
    kt_status s = kt_call(kt_ops[v->op].name, v->name, &args);
    if (s != KT_OK) fail_msg("%s: status %d (%s)", what, s, kt_last_error());
    double eps = f ? FLT_EPSILON : DBL_EPSILON;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            long double ref = 0, mag = 0;
            for (size_t l = 0; l < k; l++) {
                long double t = (long double)alpha * AT(i, l) * BT(l, j);
                ref += t, mag += fabsl(t);
            }
            if (beta != 0.0) {
                long double t = (long double)beta * ldv(f, c0, CI(i, j));
                ref += t, mag += fabsl(t);
            }
            double got = ldv(f, c, CI(i, j));
            if (!(fabsl(got - ref) <= (double)(k + 2) * eps * mag + 1e-300))
                fail_msg("%s: C(%zu,%zu) = %.10g, expected %.10Lg", what, i, j, got, ref);
        }
    /* the padding of C is untouched */
    for (size_t j = 0; j < (col ? n : m); j++)
        for (size_t i = (col ? m : n); i < ldc; i++)
            if (memcmp((char *)c + (i + j * ldc) * (f ? 4 : 8), (char *)c0 + (i + j * ldc) * (f ? 4 : 8), f ? 4 : 8))
                fail_msg("%s: wrote C's padding", what);
    free(a), free(b), free(c), free(c0);
#undef AT
#undef BT
#undef CI
}

static void test_gemm(void **state) {
    const kt_variant *v = *state;
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed() ^ (uint64_t)(uintptr_t)v);
    const size_t *ds = kt_test_quick() ? dims_quick : dims_full;
    size_t nd = kt_test_quick() ? sizeof dims_quick / sizeof *ds : sizeof dims_full / sizeof *ds;
    unsigned combo = 0;
    for (size_t im = 0; im < nd; im++)
        for (size_t in = 0; in < nd; in++)
            for (size_t ik = 0; ik < nd; ik++) {
                size_t m = ds[im], n = ds[in], k = ds[ik];
                int big = (m >= 64) + (n >= 64) + (k >= 64);
                if (big > 1 || (big == 1 && (m * n * k) % 3 != 0 && m * n * k > 4000)) continue;
                combo++;
                kt_layout lay = combo & 1 ? KT_ROW_MAJOR : KT_COL_MAJOR;
                kt_trans ta = combo & 2 ? KT_TRANS : KT_NOTRANS;
                kt_trans tb = combo & 4 ? KT_TRANS : KT_NOTRANS;
                check_gemm(v, lay, ta, tb, m, n, k, scal[(combo / 8) % 4], scal[(combo / 32) % 4],
                           &r);
            }
    /* every layout/transposition with every alpha, beta on two odd shapes */
    for (unsigned c = 0; c < 8 * 16; c++)
        check_gemm(v, c & 1 ? KT_ROW_MAJOR : KT_COL_MAJOR, c & 2 ? KT_TRANS : KT_NOTRANS,
                   c & 4 ? KT_TRANS : KT_NOTRANS, 17 + (c % 3), 31, 33, scal[(c / 8) % 4],
                   scal[(c / 32) % 4], &r);
    if (!kt_test_quick()) check_gemm(v, KT_COL_MAJOR, KT_NOTRANS, KT_TRANS, 257, 100, 257, 0.5, 1.0, &r);
}

/* ---- gemv --------------------------------------------------------------------------- */

static void check_gemv(const kt_variant *v, kt_layout lay, kt_trans tr, size_t m, size_t n,
                       double alpha, double beta, ptrdiff_t incx, ptrdiff_t incy, kt_rng *r) {
    int f = f32_of(v), col = lay == KT_COL_MAJOR;
    if (f) alpha = (float)alpha, beta = (float)beta;
    size_t lda = (col ? m : n) + 2, asz = lda * (col ? n : m);
    size_t lx = tr == KT_NOTRANS ? n : m, ly = tr == KT_NOTRANS ? m : n;
    size_t sx = lx ? (lx - 1) * (size_t)labs(incx) + 1 : 0, sy = ly ? (ly - 1) * (size_t)labs(incy) + 1 : 0;
    void *a = rnd(f, asz, r), *x = rnd(f, sx, r), *y = rnd(f, sy, r), *y0 = rnd(f, sy, r);
    if (beta == 0.0)
        for (size_t i = 0; i < sy; i++) {
            if (f) ((float *)y)[i] = NAN;
            else ((double *)y)[i] = NAN;
        }
    memcpy(y0, y, (sy ? sy : 1) * (f ? 4 : 8));
    kt_args args = {.layout = lay, .transa = tr, .m = m, .n = n, .alpha = alpha, .beta = beta,
                    .a = a, .lda = lda, .x = x, .incx = incx, .y = y, .incy = incy};
    char what[200];
    snprintf(what, sizeof what, "%s/%s %s %c m=%zu n=%zu alpha=%g beta=%g incx=%td incy=%td",
             kt_ops[v->op].name, v->name, col ? "col" : "row", tr == KT_TRANS ? 'T' : 'N', m, n,
             alpha, beta, incx, incy);
    kt_status s = kt_call(kt_ops[v->op].name, v->name, &args);
    int unit_only = (v->flags & KT_VF_UNIT_STRIDE) && m && n && alpha != 0 && (incx != 1 || incy != 1);
    if (unit_only) {
        if (s != KT_EUNAVAIL) fail_msg("%s: expected KT_EUNAVAIL, got %d", what, s);
        goto out;
    }
    if (s != KT_OK) fail_msg("%s: status %d (%s)", what, s, kt_last_error());
    double eps = f ? FLT_EPSILON : DBL_EPSILON;
    for (size_t i = 0; i < ly; i++) {
        size_t yi = incy > 0 ? i * (size_t)incy : (ly - 1 - i) * (size_t)-incy;
        long double ref = 0, mag = 0;
        if (m && n) {
            for (size_t j = 0; j < lx; j++) {
                size_t xj = incx > 0 ? j * (size_t)incx : (lx - 1 - j) * (size_t)-incx;
                size_t row = tr == KT_NOTRANS ? i : j, cl = tr == KT_NOTRANS ? j : i;
                long double t = (long double)alpha * ldv(f, a, col ? row + cl * lda : row * lda + cl) *
                                ldv(f, x, xj);
                ref += t, mag += fabsl(t);
            }
            long double t = beta == 0.0 ? 0 : (long double)beta * ldv(f, y0, yi);
            ref += t, mag += fabsl(t);
        } else {
            ref = ldv(f, y0, yi); /* quick return: y untouched */
        }
        double got = ldv(f, y, yi);
        if (!(fabsl(got - ref) <= (double)(lx + 2) * eps * mag + 1e-300) &&
            !(isnan(got) && isnan((double)ref) && !(m && n)))
            fail_msg("%s: y[%zu] = %.10g, expected %.10Lg", what, i, got, ref);
    }
out:
    free(a), free(x), free(y), free(y0);
}

static void test_gemv(void **state) {
    const kt_variant *v = *state;
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed() ^ (uint64_t)(uintptr_t)v);
    const size_t *ds = kt_test_quick() ? dims_quick : dims_full;
    size_t nd = kt_test_quick() ? sizeof dims_quick / sizeof *ds : sizeof dims_full / sizeof *ds;
    static const ptrdiff_t incs[] = {1, 1, 2, -1, -3};
    unsigned combo = 0;
    for (size_t im = 0; im < nd; im++)
        for (size_t in = 0; in < nd; in++) {
            combo++;
            check_gemv(v, combo & 1 ? KT_ROW_MAJOR : KT_COL_MAJOR, combo & 2 ? KT_TRANS : KT_NOTRANS,
                       ds[im], ds[in], scal[(combo / 4) % 4], scal[(combo / 16) % 4],
                       incs[combo % 5], incs[(combo / 5) % 5], &r);
        }
    for (unsigned c = 0; c < 64; c++)
        check_gemv(v, c & 1 ? KT_ROW_MAJOR : KT_COL_MAJOR, c & 2 ? KT_TRANS : KT_NOTRANS, 33, 17,
                   scal[(c / 4) % 4], scal[(c / 16) % 4], 1, 1, &r);
    if (!kt_test_quick()) check_gemv(v, KT_COL_MAJOR, KT_NOTRANS, 1000, 3001, 0.5, 0.0, 1, 1, &r);
    /*
     * every m to 258 (N, column-major): each count of vectors of y the SIMD variants keep in
     * registers (up to 16 of 16 floats) with each tail, and the first size past them; n odd
     * and even; strided y (a copy) on every third
     */
    for (size_t m = 1; m <= 258; m++)
        for (size_t n = 1; n <= 6; n += 5)
            check_gemv(v, KT_COL_MAJOR, KT_NOTRANS, m, n, scal[3 - m % 4], scal[m % 4], 1,
                       m % 3 ? 1 : -2, &r);
    /* wide, m not a whole number of vectors: y through a padded copy (every beta, strided) */
    for (unsigned c = 0; c < 8; c++) /* row-major A^T: the column-major 75x700 problem */
        check_gemv(v, c & 4 ? KT_ROW_MAJOR : KT_COL_MAJOR, c & 4 ? KT_TRANS : KT_NOTRANS,
                   c & 4 ? 700 : 75 + c % 4, c & 4 ? 75 + c % 4 : 700, 0.5, scal[c % 4], 1,
                   c == 3 ? -2 : 1, &r);
}

/* ---- dot ---------------------------------------------------------------------------- */

static void test_dot(void **state) {
    const kt_variant *v = *state;
    int f = f32_of(v);
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed() ^ (uint64_t)(uintptr_t)v);
    static const size_t ns[] = {0, 1, 2, 3, 7, 15, 16, 17, 31, 33, 63, 64, 65, 100, 127, 129,
                                257, 1000, 4099, 100003, 1000003};
    static const ptrdiff_t incs[][2] = {{1, 1}, {2, 1}, {-1, 1}, {1, -3}, {0, 1}, {-2, -2}};
    for (size_t t = 0; t < sizeof ns / sizeof *ns; t++)
        for (size_t c = 0; c < 6; c++) {
            size_t n = ns[t];
            if (c && n > 5000) continue;
            for (size_t off = 0; off < 2; off++) {
                ptrdiff_t ix = incs[c][0], iy = incs[c][1];
                size_t sx = n ? (n - 1) * (size_t)labs(ix) + 1 : 0, sy = n ? (n - 1) * (size_t)labs(iy) + 1 : 0;
                char *xb = rnd(f, sx + 1, &r), *yb = rnd(f, sy + 1, &r);
                const void *x = xb + off * (f ? 4 : 8), *y = yb;
                kt_args args = {.n = n, .x = x, .incx = ix, .y = (void *)y, .incy = iy, .result = NAN};
                kt_status s = kt_call(kt_ops[v->op].name, v->name, &args);
                int unit_only = (v->flags & KT_VF_UNIT_STRIDE) && n && (ix != 1 || iy != 1);
                if (unit_only) {
                    if (s != KT_EUNAVAIL) fail_msg("%s/%s: expected KT_EUNAVAIL", kt_ops[v->op].name, v->name);
                } else {
                    if (s != KT_OK) fail_msg("%s/%s n=%zu: %s", kt_ops[v->op].name, v->name, n, kt_last_error());
                    long double ref = 0, mag = 0;
                    for (size_t i = 0; i < n; i++) {
                        size_t xi = ix >= 0 ? i * (size_t)ix : (n - 1 - i) * (size_t)-ix;
                        size_t yi = iy >= 0 ? i * (size_t)iy : (n - 1 - i) * (size_t)-iy;
                        long double p = (long double)ldv(f, x, xi) * ldv(f, y, yi);
                        ref += p, mag += fabsl(p);
                    }
                    double eps = f ? FLT_EPSILON : DBL_EPSILON;
                    if (!(fabsl(args.result - ref) <= (double)(n + 2) * eps * mag))
                        fail_msg("%s/%s n=%zu incx=%td incy=%td offset=%zu: %.10g, expected %.10Lg",
                                 kt_ops[v->op].name, v->name, n, ix, iy, off, args.result, ref);
                }
                free(xb), free(yb);
            }
        }
    /* fixed-order reductions: the same result twice */
    if (!(v->flags & KT_VF_GPU)) {
        size_t n = 100003;
        void *x = rnd(f, n, &r), *y = rnd(f, n, &r);
        kt_args a1 = {.n = n, .x = x, .incx = 1, .y = y, .incy = 1}, a2 = a1;
        assert_int_equal(kt_call(kt_ops[v->op].name, v->name, &a1), KT_OK);
        assert_int_equal(kt_call(kt_ops[v->op].name, v->name, &a2), KT_OK);
        if (memcmp(&a1.result, &a2.result, sizeof a1.result))
            fail_msg("%s/%s: two runs differ", kt_ops[v->op].name, v->name);
        free(x), free(y);
    }
}

/* ---- error paths of the entry points ------------------------------------------------ */

static void test_errors(void **state) {
    (void)state;
    double a[64], b[64], c[64], x[8], y[8], r = 7;
    for (int i = 0; i < 64; i++) a[i] = b[i] = 1, c[i] = 5;
    for (int i = 0; i < 8; i++) x[i] = y[i] = 2;
    assert_int_equal(kt_gemm_f64((kt_layout)7, KT_NOTRANS, KT_NOTRANS, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2), KT_EINVAL);
    assert_int_equal(kt_gemm_f64(KT_COL_MAJOR, (kt_trans)9, KT_NOTRANS, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2), KT_EINVAL);
    assert_int_equal(kt_gemm_f64(KT_COL_MAJOR, KT_NOTRANS, KT_NOTRANS, 4, 2, 2, 1, a, 3, b, 2, 0, c, 4), KT_EINVAL);
    assert_non_null(strstr(kt_last_error(), "lda"));
    assert_int_equal(kt_gemm_f64(KT_ROW_MAJOR, KT_NOTRANS, KT_NOTRANS, 2, 4, 2, 1, a, 2, b, 3, 0, c, 4), KT_EINVAL);
    assert_non_null(strstr(kt_last_error(), "ldb"));
    assert_int_equal(kt_gemm_f64(KT_COL_MAJOR, KT_NOTRANS, KT_NOTRANS, 4, 2, 2, 1, a, 4, b, 2, 0, c, 3), KT_EINVAL);
    assert_int_equal(kt_gemm_f64(KT_COL_MAJOR, KT_NOTRANS, KT_NOTRANS, 2, 2, 2, 1, NULL, 2, b, 2, 0, c, 2), KT_EINVAL);
    assert_int_equal(kt_gemm_f64(KT_COL_MAJOR, KT_NOTRANS, KT_NOTRANS, 2, 2, 2, 1, a, 2, b, 2, 0, NULL, 2), KT_EINVAL);
    assert_int_equal(kt_gemm_f64(KT_COL_MAJOR, KT_NOTRANS, KT_NOTRANS, 4, 4, 4, 1, a, 4, b, 4, 0, a + 2, 4), KT_EINVAL);
    assert_non_null(strstr(kt_last_error(), "overlap"));
    for (int i = 0; i < 64; i++) assert_true(c[i] == 5 && a[i] == 1);
    /* trivial cases: m = 0 does nothing (NULLs fine), k = 0 scales C, alpha = 0 reads no A */
    assert_int_equal(kt_gemm_f64(KT_COL_MAJOR, KT_NOTRANS, KT_NOTRANS, 0, 2, 2, 1, NULL, 1, NULL, 2, 0, NULL, 1), KT_OK);
    assert_int_equal(kt_gemm_f64(KT_COL_MAJOR, KT_NOTRANS, KT_NOTRANS, 2, 2, 0, 1, NULL, 2, NULL, 1, 2.0, c, 2), KT_OK);
    assert_true(c[0] == 10 && c[3] == 10 && c[4] == 5);
    assert_int_equal(kt_gemm_f64(KT_COL_MAJOR, KT_NOTRANS, KT_NOTRANS, 2, 2, 3, 0, NULL, 2, NULL, 3, 0.0, c, 2), KT_OK);
    assert_true(c[0] == 0 && c[3] == 0);
    assert_int_equal(kt_gemv_f64(KT_COL_MAJOR, KT_NOTRANS, 2, 2, 1, a, 2, x, 0, 0, y, 1), KT_EINVAL);
    assert_int_equal(kt_gemv_f64(KT_COL_MAJOR, KT_NOTRANS, 4, 2, 1, a, 3, x, 1, 0, y, 1), KT_EINVAL);
    assert_int_equal(kt_gemv_f64(KT_ROW_MAJOR, (kt_trans)0, 2, 2, 1, a, 2, x, 1, 0, y, 1), KT_EINVAL);
    assert_int_equal(kt_gemv_f64(KT_COL_MAJOR, KT_NOTRANS, 2, 2, 1, a, 2, x, 1, 0, NULL, 1), KT_EINVAL);
    assert_int_equal(kt_gemv_f64(KT_COL_MAJOR, KT_NOTRANS, 2, 2, 1, a, 2, a + 1, 1, 0, a, 1), KT_EINVAL);
    for (int i = 0; i < 8; i++) assert_true(y[i] == 2);
    assert_int_equal(kt_dot_f64(4, x, 1, y, 1, NULL), KT_EINVAL);
    assert_int_equal(kt_dot_f64(4, NULL, 1, y, 1, &r), KT_EINVAL);
    assert_true(r == 7);
    assert_int_equal(kt_dot_f64(0, NULL, 1, NULL, 1, &r), KT_OK);
    assert_true(r == 0);
    float xf[3] = {1, 2, 3}, rf;
    assert_int_equal(kt_dot_f32(3, xf, 1, xf, -1, &rf), KT_OK);
    assert_true(rf == 1 * 3 + 2 * 2 + 3 * 1);
}

/* The entry points, whatever they dispatch to, on shapes around the defaults' thresholds. */
static void test_entry_points(void **state) {
    (void)state;
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed());
    static const size_t sq[] = {1, 5, 64, 130, 200};
    for (size_t i = 0; i < 5; i++) {
        size_t n = sq[i];
        double *a = rnd(0, n * n, &r), *b = rnd(0, n * n, &r), *c = rnd(0, n * n, &r);
        assert_int_equal(kt_gemm_f64(KT_ROW_MAJOR, KT_NOTRANS, KT_NOTRANS, n, n, n, 1.0, a, n, b, n, 0.0, c, n), KT_OK);
        for (size_t p = 0; p < n; p += 7)
            for (size_t q = 0; q < n; q += 5) {
                long double ref = 0, mag = 0;
                for (size_t l = 0; l < n; l++) ref += (long double)a[p * n + l] * b[l * n + q], mag += fabsl((long double)a[p * n + l] * b[l * n + q]);
                if (!(fabsl(c[p * n + q] - ref) <= (n + 2) * DBL_EPSILON * mag))
                    fail_msg("kt_gemm_f64 n=%zu: C(%zu,%zu) wrong", n, p, q);
            }
        free(a), free(b), free(c);
    }
}

/* Element (i, j) of op(X), X stored in layout with leading dimension ld. */
static double mat_at(int f32, const void *p, kt_layout layout, kt_trans t, size_t ld, size_t i,
                     size_t j) {
    if (t == KT_TRANS) {
        size_t s = i;
        i = j, j = s;
    }
    size_t e = layout == KT_COL_MAJOR ? i + j * ld : i * ld + j;
    return f32 ? (double)((const float *)p)[e] : ((const double *)p)[e];
}

/*
 * The entry points' own fast path (no kt_call): gemv and gemm, both types,
 * both layouts, every transposition, small sizes with padded leading
 * dimensions, against a long-double reference; outside the output untouched.
 */
static void test_entry_fast_paths(void **state) {
    (void)state;
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed());
    static const size_t sz[] = {1, 2, 3, 4, 7, 16};
    static const kt_layout lay[] = {KT_COL_MAJOR, KT_ROW_MAJOR};
    static const kt_trans tr[] = {KT_NOTRANS, KT_TRANS};
    enum { PAD = 2, CAP = 24 * 24 };
    for (int f32 = 0; f32 < 2; f32++) {
        size_t es = f32 ? 4 : 8;
        double eps = f32 ? FLT_EPSILON : DBL_EPSILON;
        void *a = malloc(CAP * es), *b = malloc(CAP * es), *c = malloc(CAP * es);
        void *x = malloc(CAP * es);
        assert_true(a && b && c && x);
        for (size_t i = 0; i < CAP; i++) {
            double va = kt_rng_nonzero(&r), vb = kt_rng_nonzero(&r), vx = kt_rng_nonzero(&r);
            if (f32) ((float *)a)[i] = (float)va, ((float *)b)[i] = (float)vb,
                     ((float *)x)[i] = (float)vx;
            else ((double *)a)[i] = va, ((double *)b)[i] = vb, ((double *)x)[i] = vx;
        }
        for (int L = 0; L < 2; L++)
            for (int ta = 0; ta < 2; ta++)
                for (size_t mi = 0; mi < 6; mi++)
                    for (size_t ni = 0; ni < 6; ni++) {
                        size_t m = sz[mi], n = sz[ni], k = sz[(mi + ni) % 6];
                        kt_layout l = lay[L];
                        /* gemv: A m x n; y = A' x with A' = op(A) */
                        size_t lda = (l == KT_COL_MAJOR ? m : n) + PAD;
                        int na = tr[ta] == KT_NOTRANS;
                        size_t ly = na ? m : n, lx = na ? n : m;
                        memset(c, 0x5a, CAP * es);
                        kt_status s = f32 ? kt_gemv_f32(l, tr[ta], m, n, 1.5f, a, lda, x, 1,
                                                        0.0f, c, 1)
                                          : kt_gemv_f64(l, tr[ta], m, n, 1.5, a, lda, x, 1, 0.0,
                                                        c, 1);
                        assert_int_equal(s, KT_OK);
                        for (size_t i = 0; i < ly; i++) {
                            long double ref = 0, mag = 0;
                            for (size_t j = 0; j < lx; j++) {
                                long double t = 1.5L * mat_at(f32, a, l, tr[ta], lda, i, j) *
                                                (f32 ? ((float *)x)[j] : ((double *)x)[j]);
                                ref += t, mag += fabsl(t);
                            }
                            double got = f32 ? ((float *)c)[i] : ((double *)c)[i];
                            if (!(fabsl(got - ref) <= (lx + 2) * eps * mag))
                                fail_msg("gemv f32=%d layout %d trans %d %zux%zu: y[%zu]", f32, l,
                                         tr[ta], m, n, i);
                        }
                        unsigned char pat[8];
                        memset(pat, 0x5a, sizeof pat);
                        assert_memory_equal((char *)c + ly * es, pat, es);
                        /* gemm: C m x n = op(A) op(B), op(A) m x k, op(B) k x n */
                        for (int tb = 0; tb < 2; tb++) {
                            int col = l == KT_COL_MAJOR;
                            int nb = tr[tb] == KT_NOTRANS;
                            size_t ar = na ? m : k, ac = na ? k : m;
                            size_t br = nb ? k : n, bc = nb ? n : k;
                            size_t la = (col ? ar : ac) + PAD, lb = (col ? br : bc) + 1;
                            size_t lc = (col ? m : n) + PAD;
                            memset(c, 0x5a, CAP * es);
                            s = f32 ? kt_gemm_f32(l, tr[ta], tr[tb], m, n, k, 1.5f, a, la, b, lb,
                                                  0.0f, c, lc)
                                    : kt_gemm_f64(l, tr[ta], tr[tb], m, n, k, 1.5, a, la, b, lb,
                                                  0.0, c, lc);
                            assert_int_equal(s, KT_OK);
                            for (size_t i = 0; i < m; i++)
                                for (size_t j = 0; j < n; j++) {
                                    long double ref = 0, mag = 0;
                                    for (size_t q = 0; q < k; q++) {
                                        long double t = 1.5L *
                                                        mat_at(f32, a, l, tr[ta], la, i, q) *
                                                        mat_at(f32, b, l, tr[tb], lb, q, j);
                                        ref += t, mag += fabsl(t);
                                    }
                                    double got = mat_at(f32, c, l, KT_NOTRANS, lc, i, j);
                                    if (!(fabsl(got - ref) <= (k + 2) * eps * mag))
                                        fail_msg("gemm f32=%d layout %d %d%d %zux%zux%zu: C(%zu,"
                                                 "%zu)", f32, l, tr[ta], tr[tb], m, n, k, i, j);
                                }
                            /* the padding of C's first stored line is untouched */
                            assert_memory_equal((char *)c + (col ? m : n) * es, pat, es);
                        }
                    }
        free(a), free(b), free(c), free(x);
    }
}

int main(void) {
    kt_tests ts = {0};
    kt_init();
    for (size_t i = 0, n = kt_variants_len(); i < n; i++) {
        const kt_variant *v = kt_variant_at(i);
        CMUnitTestFunction fn = NULL;
        const char *what = "";
        switch (v->op) {
        case KT_OP_DOT_F32:
        case KT_OP_DOT_F64: fn = test_dot, what = "n 0..1000003, increments, offsets, fixed order"; break;
        case KT_OP_GEMV_F32:
        case KT_OP_GEMV_F64: fn = test_gemv, what = "both layouts and trans, m/n 0..257, increments"; break;
        case KT_OP_GEMM_F32:
        case KT_OP_GEMM_F64: fn = test_gemm, what = "layouts, transposes, m/n/k 0..257, alpha/beta, NaN C"; break;
        default: continue;
        }
        const char *op = kt_ops[v->op].name;
        char why[256];
        if (kt_variant_usable(v, why, sizeof why))
            kt_tests_add(&ts, fn, (void *)v, "%s/%s matches reference (%s)", op, v->name, what);
        else if ((v->flags & KT_VF_GPU) && kt_test_require_gpu())
            kt_tests_add(&ts, fn, (void *)v, "%s/%s must run (KTUNE_REQUIRE_GPU): %s", op, v->name, why);
        else
            kt_tests_skip(&ts, "%s/%s unavailable: %s", op, v->name, why);
    }
    kt_tests_add(&ts, test_errors, NULL, "gemm/gemv/dot error paths leave outputs untouched");
    kt_tests_add(&ts, test_entry_points, NULL, "kt_gemm_f64 through dispatch matches reference");
    kt_tests_add(&ts, test_entry_fast_paths, NULL,
                 "kt_gemv/kt_gemm f32/f64 entry points (fast path): both layouts, every "
                 "transposition, sizes 1..16, padded ld, match reference");
    return kt_tests_run(&ts, "blas variants");
}
