/*
 * Every variant of transpose, stencil3x3 and sort (issue 12) against
 * independent references, through the public kt_call: fresh random inputs,
 * odd and edge shapes (1, every tile and vector width and one over, large),
 * both layouts, leading dimensions above the minimum, pointers misaligned
 * by one element, poisoned padding and guards around the output; for sort
 * also sorted, reversed, all-equal, duplicate-heavy inputs, NaN, +-0 and
 * infinities (integer extremes for i64).  Then the entry points' error
 * paths (the output untouched) and the dispatched calls.  A variant that
 * cannot run here is a TAP skip naming the reason.
 */
#include "kt_test.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GUARD 8
static const unsigned char POISON = 0xA5;

static size_t esize(kt_dtype t) { return t == KT_F32 ? 4 : 8; }

static double getd(kt_dtype t, const void *p, size_t i) {
    return t == KT_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

static void fill(kt_dtype t, void *p, size_t n, kt_rng *r) {
    if (t == KT_F32) kt_fill_f32(p, n, r);
    else if (t == KT_F64) kt_fill_f64(p, n, r);
    else kt_fill_i64(p, n, r);
}

/* bytes at element offset off inside a poisoned allocation with guards on both sides. */
typedef struct buf {
    unsigned char *base;
    void *p;
    size_t bytes;
} buf;

static buf buf_new(size_t bytes, size_t off_bytes) {
    size_t all = bytes + 2 * GUARD * 8 + off_bytes;
    buf b = {kt_test_alloc(all), NULL, bytes};
    memset(b.base, POISON, all);
    b.p = b.base + GUARD * 8 + off_bytes;
    return b;
}

static void buf_check_guards(const buf *b, const char *what) {
    const unsigned char *lo = (const unsigned char *)b->p - GUARD * 8;
    const unsigned char *hi = (const unsigned char *)b->p + b->bytes;
    for (size_t i = 0; i < GUARD * 8; i++) {
        if (lo[i] != POISON) fail_msg("%s: wrote before the output", what);
        if (hi[i] != POISON) fail_msg("%s: wrote past the end of the output (byte %zu)", what, i);
    }
}

static int poisoned(const void *p, size_t bytes) {
    for (size_t i = 0; i < bytes; i++)
        if (((const unsigned char *)p)[i] != POISON) return 0;
    return 1;
}

/*
 * Shapes: ones, every tile (8..64) and vector width (4..16) with one under and over, and
 * (6, 10, 18, 34, 66) stencil rows of whole vectors of outputs; large.
 */
static const size_t dims_small[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 15, 16,
                                     17, 18, 31, 32, 33, 34, 63, 64, 65, 66};
/*
 * The last two give B (row major, no pad) a row stride with a large power of
 * two as a factor (1 and 4 KiB in f32, 2 and 8 KiB in f64), which cuts the
 * SIMD transposes' tiles (kt_tr_tile_cols, variants/shape_impl.h); 203 and 97
 * leave edges past the last tile and block.
 */
static const size_t dims_large[][2] = {{129, 257}, {300, 77}, {1000, 1001}, {256, 97}, {1024, 203}};

/* ---- transpose ----------------------------------------------------------------- */

/*
 * One transpose of variant v: A m x n in layout (lda = minimum + pad_a),
 * B with ldb = minimum + pad_b, A misaligned by off elements; every
 * element of B bit for bit, B's padding and guards untouched.
 */
static void check_transpose(const kt_variant *v, kt_layout layout, size_t m, size_t n,
                            size_t pad, size_t off, kt_rng *r) {
    kt_dtype t = kt_ops[v->op].dtype;
    size_t es = esize(t);
    int rowm = layout == KT_ROW_MAJOR;
    size_t lda = (rowm ? n : m) + pad, ldb = (rowm ? m : n) + 2 * pad;
    size_t arows = rowm ? m : n, brows = rowm ? n : m; /* stored lines of A and of B */
    buf a = buf_new(arows * lda * es, off * es), b = buf_new(brows * ldb * es, (off + 1) % 2 * es);
    fill(t, a.p, arows * lda, r);
    kt_args g = {.m = m, .n = n, .layout = layout, .a = a.p, .lda = lda, .c = b.p, .ldc = ldb};
    char what[192];
    snprintf(what, sizeof what, "%s/%s %s %zux%zu pad=%zu off=%zu", kt_ops[v->op].name, v->name,
             rowm ? "row" : "col", m, n, pad, off);
    kt_status s = kt_call(kt_ops[v->op].name, v->name, &g);
    if (s != KT_OK) fail_msg("%s: status %d (%s)", what, s, kt_last_error());
    const char *A = a.p, *B = b.p;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            /* A(i, j) and B(j, i) in the layout */
            size_t ai = rowm ? i * lda + j : j * lda + i, bi = rowm ? j * ldb + i : i * ldb + j;
            if (memcmp(B + bi * es, A + ai * es, es) != 0)
                fail_msg("%s: B(%zu,%zu) is not A(%zu,%zu)", what, j, i, i, j);
        }
    size_t line = rowm ? m : n; /* B's used elements per stored line */
    for (size_t l = 0; l < brows; l++)
        if (!poisoned(B + (l * ldb + line) * es, (ldb - line) * es))
            fail_msg("%s: wrote into B's padding (line %zu)", what, l);
    buf_check_guards(&b, what);
    free(a.base);
    free(b.base);
}

static void test_transpose(void **state) {
    const kt_variant *v = *state;
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed() ^ 0x7a);
    size_t ns = sizeof dims_small / sizeof dims_small[0];
    for (size_t i = 0; i < ns; i += kt_test_quick() ? 3 : 1)
        for (size_t j = 0; j < ns; j += kt_test_quick() ? 3 : 1)
            check_transpose(v, (i + j) % 2 ? KT_COL_MAJOR : KT_ROW_MAJOR, dims_small[i],
                            dims_small[j], (i * 7 + j) % 3, (i + j) % 2, &r);
    size_t nl = sizeof dims_large / sizeof dims_large[0];
    for (size_t k = 0; k < nl; k++)
        for (int l = 0; l < 2; l++)
            if (!kt_test_quick() || k == 0 || k == nl - 1)
                check_transpose(v, l ? KT_COL_MAJOR : KT_ROW_MAJOR, dims_large[k][0],
                                dims_large[k][1], (size_t)l * 5, (size_t)l, &r);
}

/* ---- stencil3x3 -------------------------------------------------------------------- */

static void check_stencil(const kt_variant *v, kt_layout layout, size_t m, size_t n, size_t pad,
                          size_t off, kt_rng *r) {
    kt_dtype t = kt_ops[v->op].dtype;
    size_t es = esize(t);
    int rowm = layout == KT_ROW_MAJOR;
    size_t om = m >= 3 ? m - 2 : 0, on = n >= 3 ? n - 2 : 0;
    size_t lda = (rowm ? n : m) + pad, ldb = (rowm ? on : om) + pad + 1;
    size_t arows = rowm ? m : n, brows = rowm ? om : on;
    buf a = buf_new(arows * lda * es, off * es), b = buf_new((brows ? brows : 1) * ldb * es, 0);
    buf w = buf_new(9 * es, off * es);
    fill(t, a.p, arows * lda, r);
    fill(t, w.p, 9, r);
    kt_args g = {.m = m, .n = n, .layout = layout, .a = a.p, .lda = lda, .b = w.p,
                 .c = b.p, .ldc = ldb};
    char what[192];
    snprintf(what, sizeof what, "%s/%s %s %zux%zu pad=%zu off=%zu", kt_ops[v->op].name, v->name,
             rowm ? "row" : "col", m, n, pad, off);
    kt_status s = kt_call(kt_ops[v->op].name, v->name, &g);
    if (s != KT_OK) fail_msg("%s: status %d (%s)", what, s, kt_last_error());
    double eps = t == KT_F32 ? FLT_EPSILON : DBL_EPSILON;
    for (size_t i = 0; i < om; i++)
        for (size_t j = 0; j < on; j++) {
            long double want = 0, mag = 0;
            for (size_t p = 0; p < 3; p++)
                for (size_t q = 0; q < 3; q++) {
                    /* W(p, q) and A(i + p, j + q) in the layout */
                    size_t wi = rowm ? 3 * p + q : 3 * q + p;
                    size_t ai = rowm ? (i + p) * lda + j + q : (j + q) * lda + i + p;
                    long double term = (long double)getd(t, w.p, wi) * getd(t, a.p, ai);
                    want += term;
                    mag += fabsl(term);
                }
            size_t bi = rowm ? i * ldb + j : j * ldb + i;
            double got = getd(t, b.p, bi);
            if (!(fabsl((long double)got - want) <= 11.0L * eps * mag))
                fail_msg("%s: B(%zu,%zu) = %.10g, expected %.10Lg", what, i, j, got, want);
        }
    size_t line = rowm ? on : om;
    for (size_t l = 0; l < brows; l++)
        if (!poisoned((char *)b.p + (l * ldb + line) * es, (ldb - line) * es))
            fail_msg("%s: wrote into B's padding (line %zu)", what, l);
    if (!brows && !poisoned(b.p, b.bytes)) fail_msg("%s: wrote an empty output", what);
    buf_check_guards(&b, what);
    free(a.base), free(b.base), free(w.base);
}

static void test_stencil(void **state) {
    const kt_variant *v = *state;
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed() ^ 0x5c);
    size_t ns = sizeof dims_small / sizeof dims_small[0];
    for (size_t i = 0; i < ns; i += kt_test_quick() ? 3 : 1)
        for (size_t j = 0; j < ns; j += kt_test_quick() ? 3 : 1)
            check_stencil(v, (i + j) % 2 ? KT_COL_MAJOR : KT_ROW_MAJOR, dims_small[i],
                          dims_small[j], (i * 5 + j) % 3, (i + j) % 2, &r);
    for (size_t k = 0; k < (kt_test_quick() ? 1u : 3u); k++)
        for (int l = 0; l < 2; l++)
            check_stencil(v, l ? KT_COL_MAJOR : KT_ROW_MAJOR, dims_large[k][0], dims_large[k][1],
                          (size_t)l * 3, (size_t)l, &r);
    check_stencil(v, KT_ROW_MAJOR, 5, 1100, 0, 1, &r); /* wider than a blocked strip */
}

/* ---- sort ----------------------------------------------------------------------------- */

static int cmp_ref(const void *x, const void *y, kt_dtype t) {
    if (t == KT_I64) {
        int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
        return (a > b) - (a < b);
    }
    double a = getd(t, x, 0), b = getd(t, y, 0);
    if (isnan(a) || isnan(b)) return isnan(a) - isnan(b);
    return (a > b) - (a < b);
}
static int cmp_f32(const void *x, const void *y) { return cmp_ref(x, y, KT_F32); }
static int cmp_f64(const void *x, const void *y) { return cmp_ref(x, y, KT_F64); }
static int cmp_i64(const void *x, const void *y) { return cmp_ref(x, y, KT_I64); }

static const char *const kinds[] = {"random", "sorted", "reversed", "all equal", "duplicates",
                                    "specials"};

static void sort_fill(kt_dtype t, void *p, size_t n, int kind, kt_rng *r) {
    fill(t, p, n, r);
    for (size_t i = 0; i < n && kind; i++) {
        double x;
        int64_t ix;
        uint64_t u = kt_rng_next(r);
        switch (kind) {
        case 1: x = (double)i * 0.5 - 3, ix = (int64_t)i * 7 - 100; break;
        case 2: x = -(double)i, ix = -(int64_t)i * 3; break;
        case 3: x = 2.5, ix = 42; break;
        case 4: x = (double)(u % 4), ix = (int64_t)(u % 4) - 2; break;
        default:
            x = u % 7 == 0 ? NAN : u % 7 == 1 ? -NAN : u % 7 == 2 ? 0.0 : u % 7 == 3 ? -0.0
                : u % 7 == 4 ? INFINITY : u % 7 == 5 ? -INFINITY : kt_rng_nonzero(r);
            ix = u % 5 == 0 ? INT64_MIN : u % 5 == 1 ? INT64_MAX : u % 5 == 2 ? 0
                : (int64_t)kt_rng_next(r);
        }
        if (t == KT_F32) ((float *)p)[i] = (float)x;
        else if (t == KT_F64) ((double *)p)[i] = x;
        else ((int64_t *)p)[i] = ix;
    }
}

static void check_sort(const kt_variant *v, size_t n, int kind, size_t off, kt_rng *r) {
    kt_dtype t = kt_ops[v->op].dtype;
    size_t es = esize(t);
    buf a = buf_new(n * es, off * es);
    sort_fill(t, a.p, n, kind, r);
    void *ref = malloc(n ? n * es : 1);
    memcpy(ref, a.p, n * es);
    qsort(ref, n, es, t == KT_F32 ? cmp_f32 : t == KT_F64 ? cmp_f64 : cmp_i64);
    kt_args g = {.n = n, .y = a.p};
    char what[160];
    snprintf(what, sizeof what, "%s/%s n=%zu %s off=%zu", kt_ops[v->op].name, v->name, n,
             kinds[kind], off);
    kt_status s = kt_call(kt_ops[v->op].name, v->name, &g);
    if (s != KT_OK) fail_msg("%s: status %d (%s)", what, s, kt_last_error());
    for (size_t i = 0; i < n; i++) {
        int ok;
        if (t == KT_I64) ok = ((int64_t *)a.p)[i] == ((int64_t *)ref)[i];
        else {
            double got = getd(t, a.p, i), want = getd(t, ref, i);
            ok = isnan(want) ? isnan(got) : got == want; /* -0 == +0 */
        }
        if (!ok) fail_msg("%s: element %zu differs from the reference order", what, i);
    }
    buf_check_guards(&a, what);
    free(ref);
    free(a.base);
}

static void test_sort(void **state) {
    const kt_variant *v = *state;
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed() ^ 0x50);
    static const size_t sizes[] = {0,  1,  2,  3,  7,   8,   9,   15,  16,   17,   31,
                                   32, 33, 63, 64, 65, 127, 255, 257, 1000, 4097, 65537};
    size_t ns = sizeof sizes / sizeof sizes[0];
    for (size_t i = 0; i < ns; i++)
        for (int k = 0; k < 6; k++) {
            if (kt_test_quick() && sizes[i] > 1000 && k) continue;
            check_sort(v, sizes[i], k, (size_t)(i + (size_t)k) % 2, &r);
        }
    if (!kt_test_quick()) check_sort(v, 1000003, 0, 1, &r);
}

/* ---- error paths and dispatch ------------------------------------------------------- */

static void test_errors(void **state) {
    (void)state;
    float a[64], b[64], w[9];
    double ad[64], bd[64], wd[9];
    int64_t il[4] = {3, 1, 2, 0};
    memset(b, POISON, sizeof b);
    memset(bd, POISON, sizeof bd);
    for (int i = 0; i < 64; i++) a[i] = (float)i + 1, ad[i] = i + 1;
    for (int i = 0; i < 9; i++) w[i] = 1, wd[i] = 1;
    /* transpose */
    assert_int_equal(kt_transpose_f32((kt_layout)0, 4, 4, a, 4, b, 4), KT_EINVAL);
    assert_int_equal(kt_transpose_f32(KT_ROW_MAJOR, 4, 4, NULL, 4, b, 4), KT_EINVAL);
    assert_int_equal(kt_transpose_f32(KT_ROW_MAJOR, 4, 4, a, 4, NULL, 4), KT_EINVAL);
    assert_int_equal(kt_transpose_f32(KT_ROW_MAJOR, 4, 5, a, 4, b, 4), KT_EINVAL); /* lda < n */
    assert_int_equal(kt_transpose_f32(KT_ROW_MAJOR, 5, 4, a, 4, b, 4), KT_EINVAL); /* ldb < m */
    assert_int_equal(kt_transpose_f32(KT_COL_MAJOR, 5, 4, a, 4, b, 5), KT_EINVAL); /* lda < m */
    assert_int_equal(kt_transpose_f32(KT_ROW_MAJOR, 4, 4, a, 4, a + 8, 4), KT_EINVAL); /* overlap */
    assert_int_equal(kt_transpose_f64(KT_ROW_MAJOR, SIZE_MAX / 2, 3, ad, 3, bd, SIZE_MAX / 2), KT_EINVAL);
    assert_int_equal(kt_transpose_f32(KT_ROW_MAJOR, 0, 4, NULL, 0, NULL, 0), KT_OK);
    /* stencil */
    assert_int_equal(kt_stencil3x3_f32((kt_layout)7, 4, 4, w, a, 4, b, 2), KT_EINVAL);
    assert_int_equal(kt_stencil3x3_f32(KT_ROW_MAJOR, 4, 4, NULL, a, 4, b, 2), KT_EINVAL);
    assert_int_equal(kt_stencil3x3_f32(KT_ROW_MAJOR, 4, 4, w, a, 3, b, 2), KT_EINVAL);
    assert_int_equal(kt_stencil3x3_f32(KT_ROW_MAJOR, 4, 4, w, a, 4, b, 1), KT_EINVAL);
    assert_int_equal(kt_stencil3x3_f32(KT_ROW_MAJOR, 4, 4, w, a, 4, a + 4, 2), KT_EINVAL);
    assert_int_equal(kt_stencil3x3_f64(KT_ROW_MAJOR, 4, 4, wd, ad, 4, (double *)wd, 2), KT_EINVAL);
    assert_int_equal(kt_stencil3x3_f32(KT_ROW_MAJOR, 2, 40, NULL, NULL, 0, NULL, 0), KT_OK);
    /* sort */
    assert_int_equal(kt_sort_f32(3, NULL), KT_EINVAL);
    assert_int_equal(kt_sort_i64(SIZE_MAX / 4, il), KT_EINVAL);
    assert_int_equal(kt_sort_f64(0, NULL), KT_OK);
    for (size_t i = 0; i < sizeof b; i++) assert_int_equal(((unsigned char *)b)[i], POISON);
    for (size_t i = 0; i < sizeof bd; i++) assert_int_equal(((unsigned char *)bd)[i], POISON);
    assert_int_equal(il[0], 3);
    assert_string_not_equal(kt_last_error(), "");
}

/*
 * The entry points against the references at shapes across the default
 * thresholds (so threads are dispatched where the defaults use them), and
 * no dispatched variant is one that cannot run here.
 */
static void test_dispatched(void **state) {
    (void)state;
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed() ^ 0xd1);
    static const size_t sides[] = {1, 17, 300, 1100};
    for (size_t s = 0; s < sizeof sides / sizeof sides[0]; s++) {
        size_t m = sides[s], n = sides[s] + 3;
        float *a = malloc(m * n * 4), *b = malloc(m * n * 4), w[9];
        double *ad = malloc(m * n * 8), *bd = malloc(m * n * 8);
        kt_fill_f32(a, m * n, &r);
        kt_fill_f64(ad, m * n, &r);
        kt_fill_f32(w, 9, &r);
        assert_int_equal(kt_transpose_f32(KT_ROW_MAJOR, m, n, a, n, b, m), KT_OK);
        assert_int_equal(kt_transpose_f64(KT_COL_MAJOR, m, n, ad, m, bd, n), KT_OK);
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) {
                assert_true(b[j * m + i] == a[i * n + j]);
                assert_true(bd[i * n + j] == ad[j * m + i]);
            }
        if (m >= 3) {
            assert_int_equal(kt_stencil3x3_f32(KT_ROW_MAJOR, m, n, w, a, n, b, n - 2), KT_OK);
            for (size_t i = 0; i + 2 < m; i += 7)
                for (size_t j = 0; j + 2 < n; j += 5) {
                    double want = 0, mag = 0;
                    for (int p = 0; p < 3; p++)
                        for (int q = 0; q < 3; q++) {
                            double term = (double)w[3 * p + q] * a[(i + (size_t)p) * n + j + (size_t)q];
                            want += term, mag += fabs(term);
                        }
                    assert_true(fabs(b[i * (n - 2) + j] - want) <= 11 * FLT_EPSILON * mag);
                }
        }
        size_t len = m * n;
        memcpy(bd, ad, len * 8);
        assert_int_equal(kt_sort_f64(len, bd), KT_OK);
        for (size_t i = 1; i < len; i++) assert_true(bd[i - 1] <= bd[i]);
        const struct {
            const char *op;
            size_t dims[3];
        } calls[] = {{"transpose_f32", {m, n, 0}}, {"stencil3x3_f64", {m, n, 0}},
                     {"sort_f64", {len, 0, 0}}};
        for (size_t c = 0; c < sizeof calls / sizeof calls[0]; c++) {
            kt_dispatch_info info;
            assert_int_equal(kt_dispatch_explain(calls[c].op, calls[c].dims, &info), KT_OK);
            kt_variant_info vi;
            assert_int_equal(kt_variant_find(calls[c].op, info.variant, &vi), KT_OK);
            assert_true(vi.available);
        }
        free(a), free(b), free(ad), free(bd);
    }
}

int main(void) {
    kt_tests ts = {0};
    kt_init();
    for (size_t i = 0, n = kt_variants_len(); i < n; i++) {
        const kt_variant *v = kt_variant_at(i);
        CMUnitTestFunction fn;
        const char *what;
        switch (v->op) {
        case KT_OP_TRANSPOSE_F32:
        case KT_OP_TRANSPOSE_F64: fn = test_transpose, what = "shapes 1..65, 1000x1001 and power-of-two strides, both layouts, padded ld, misaligned"; break;
        case KT_OP_STENCIL3X3_F32:
        case KT_OP_STENCIL3X3_F64: fn = test_stencil, what = "shapes 1..65 and 1000x1001, both layouts, padded ld, misaligned"; break;
        case KT_OP_SORT_F32:
        case KT_OP_SORT_F64:
        case KT_OP_SORT_I64: fn = test_sort, what = "n 0..1000003; sorted, reversed, equal, duplicates, NaN/+-0/inf"; break;
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
    kt_tests_add(&ts, test_errors, NULL, "transpose/stencil3x3/sort error paths leave outputs untouched");
    kt_tests_add(&ts, test_dispatched, NULL, "entry points match references; dispatch picks only usable variants");
    return kt_tests_run(&ts, "transpose, stencil3x3, sort");
}
