/*
 * Every variant of the vector ops (add_scalar_*, axpy_*) against an
 * independent long-double reference, through the public kt_call: fresh
 * random inputs, sizes 0..70 and around every vector width, large sizes,
 * pointers misaligned by one element, poisoned guards around the output,
 * BLAS increments (positive, negative, non-unit, zero) and special alphas.
 * A variant that cannot run here is a TAP skip naming the reason.
 */
#include "kt_test.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GUARD 8
static const unsigned char POISON = 0xA5;

static const size_t sizes[] = {
    0,   1,   2,   3,   4,   5,   6,   7,   8,   9,   10,   11,   12,   13,   14,   15,   16,
    17,  18,  19,  20,  21,  22,  23,  24,  25,  26,  27,  28,  29,  30,   31,   32,   33,
    34,  35,  36,  37,  38,  39,  40,  41,  47,  48,  49,  55,  56,  57,   63,   64,   65,
    66,  67,  68,  69,  70,  95,  96,  97,  127, 128, 129, 255, 256, 257,  511,  512,  513,
    1000, 1023, 1024, 1025, 4097, 65537, 1000003,
};

static size_t esize(kt_dtype t) { return t == KT_F32 ? 4 : 8; }

static long double get(kt_dtype t, const void *p, ptrdiff_t i) {
    switch (t) {
    case KT_F32: return ((const float *)p)[i];
    case KT_F64: return ((const double *)p)[i];
    default: return (long double)((const int64_t *)p)[i];
    }
}

static void fill(kt_dtype t, void *p, size_t n, kt_rng *r) {
    if (t == KT_F32) kt_fill_f32(p, n, r);
    else if (t == KT_F64) kt_fill_f64(p, n, r);
    else kt_fill_i64(p, n, r);
}

/* A buffer of n elements at element offset off, with poisoned guards on both sides. */
typedef struct buf {
    unsigned char *base;
    void *p;
    size_t bytes;
} buf;

static buf buf_new(kt_dtype t, size_t n, size_t off) {
    size_t es = esize(t), bytes = (n ? n : 1) * es;
    buf b = {kt_test_alloc(bytes + 2 * GUARD * es + off * es), NULL, bytes};
    memset(b.base, POISON, bytes + 2 * GUARD * es + off * es);
    b.p = b.base + GUARD * es + off * es;
    return b;
}

/* Fails unless the guards around [p, p + bytes) still hold the poison. */
static void buf_check_guards(const buf *b, size_t es, const char *what) {
    const unsigned char *lo = (const unsigned char *)b->p - GUARD * es;
    const unsigned char *hi = (const unsigned char *)b->p + b->bytes;
    for (size_t i = 0; i < GUARD * es; i++) {
        if (lo[i] != POISON) fail_msg("%s: wrote %zu bytes before the output", what, GUARD * es - i);
        if (hi[i] != POISON) fail_msg("%s: wrote past the end of the output (byte %zu)", what, i);
    }
}

/* ---- add_scalar ------------------------------------------------------------ */

static void check_add_scalar(const kt_variant *v, size_t n, size_t off, kt_rng *r, int cval) {
    kt_dtype t = kt_ops[v->op].dtype;
    size_t es = esize(t);
    buf a = buf_new(t, n, off);
    fill(t, a.p, n, r);
    void *a0 = malloc(a.bytes);
    memcpy(a0, a.p, n * es);
    kt_args args = {.n = n, .y = a.p};
    if (t == KT_I64) {
        args.ialpha = cval == 1 ? INT64_MAX : (int64_t)kt_rng_next(r); /* wraps */
    } else {
        args.alpha = cval == 1 ? -0.75 : kt_rng_nonzero(r);
        if (t == KT_F32) args.alpha = (float)args.alpha;
    }
    char what[160];
    snprintf(what, sizeof what, "%s/%s n=%zu offset=%zu", kt_ops[v->op].name, v->name, n, off);
    kt_status s = kt_call(kt_ops[v->op].name, v->name, &args);
    if (s != KT_OK) fail_msg("%s: status %d (%s)", what, s, kt_last_error());
    double eps = t == KT_F32 ? FLT_EPSILON : DBL_EPSILON;
    for (size_t i = 0; i < n; i++) {
        if (t == KT_I64) {
            int64_t want = (int64_t)((uint64_t)((int64_t *)a0)[i] + (uint64_t)args.ialpha);
            if (((int64_t *)a.p)[i] != want)
                fail_msg("%s: a[%zu] = %lld, expected %lld", what, i,
                         (long long)((int64_t *)a.p)[i], (long long)want);
            continue;
        }
        long double want = get(t, a0, (ptrdiff_t)i) + (long double)args.alpha;
        long double got = get(t, a.p, (ptrdiff_t)i);
        long double bound = 2 * eps * (fabsl(get(t, a0, (ptrdiff_t)i)) + fabs(args.alpha));
        if (!(fabsl(got - want) <= bound))
            fail_msg("%s: a[%zu] = %.10Lg, expected %.10Lg", what, i, got, want);
    }
    buf_check_guards(&a, es, what);
    free(a0);
    free(a.base);
}

/* ---- axpy ------------------------------------------------------------------- */

/* Index of BLAS element i of an n-vector with increment inc. */
static ptrdiff_t bidx(size_t n, size_t i, ptrdiff_t inc) {
    return inc >= 0 ? (ptrdiff_t)i * inc : (ptrdiff_t)(n - 1 - i) * -inc;
}
static size_t extent(size_t n, ptrdiff_t inc) {
    return n ? (n - 1) * (size_t)(inc < 0 ? -inc : inc) + 1 : 0;
}

/*
 * Runs axpy of variant v with the given increments and offsets, checks
 * against the reference and the guards.  expect_unavail: the variant
 * takes unit strides only, so kt_call must refuse and leave y untouched.
 */
static void check_axpy(const kt_variant *v, size_t n, double alpha, ptrdiff_t incx,
                       ptrdiff_t incy, size_t offx, size_t offy, kt_rng *r) {
    kt_dtype t = kt_ops[v->op].dtype;
    size_t es = esize(t), nx = extent(n, incx), ny = extent(n, incy);
    buf x = buf_new(t, nx, offx), y = buf_new(t, ny, offy);
    fill(t, x.p, nx, r);
    fill(t, y.p, ny, r);
    if (alpha == 0.0 && nx) memset(x.p, 0xff, es); /* NaN: must not reach y */
    void *y0 = malloc(y.bytes);
    memcpy(y0, y.p, ny * es);
    if (t == KT_F32) alpha = (float)alpha;
    kt_args args = {.n = n, .alpha = alpha, .x = x.p, .incx = incx, .y = y.p, .incy = incy};
    char what[200];
    snprintf(what, sizeof what, "%s/%s n=%zu alpha=%g incx=%td incy=%td offsets=%zu,%zu",
             kt_ops[v->op].name, v->name, n, alpha, incx, incy, offx, offy);
    kt_status s = kt_call(kt_ops[v->op].name, v->name, &args);
    int unit_only = (v->flags & KT_VF_UNIT_STRIDE) && n > 0 && alpha != 0.0 &&
                    (incx != 1 || incy != 1);
    if (unit_only) {
        if (s != KT_EUNAVAIL) fail_msg("%s: expected KT_EUNAVAIL, got %d", what, s);
        if (memcmp(y.p, y0, ny * es) != 0) fail_msg("%s: refused call wrote y", what);
    } else {
        if (s != KT_OK) fail_msg("%s: status %d (%s)", what, s, kt_last_error());
        /* reference: replay the BLAS loop in long double */
        long double *ref = malloc((ny ? ny : 1) * sizeof *ref);
        long double *mag = malloc((ny ? ny : 1) * sizeof *mag);
        for (size_t i = 0; i < ny; i++) {
            ref[i] = get(t, y0, (ptrdiff_t)i);
            mag[i] = fabsl(ref[i]);
        }
        if (alpha != 0.0) {
            for (size_t i = 0; i < n; i++) {
                ptrdiff_t ix = bidx(n, i, incx), iy = bidx(n, i, incy);
                long double p = (long double)alpha * get(t, x.p, ix);
                ref[iy] += p;
                mag[iy] += fabsl(p) + fabsl(ref[iy]);
            }
        }
        double eps = t == KT_F32 ? FLT_EPSILON : DBL_EPSILON;
        for (size_t i = 0; i < ny; i++) {
            long double got = get(t, y.p, (ptrdiff_t)i);
            if (!(fabsl(got - ref[i]) <= 4 * eps * mag[i]))
                fail_msg("%s: y[%zu] = %.10Lg, expected %.10Lg", what, i, got, ref[i]);
        }
        free(ref);
        free(mag);
    }
    buf_check_guards(&y, es, what);
    free(y0);
    free(x.base);
    free(y.base);
}

/*
 * x and y the same array (allowed: y = (1 + alpha) y): every element must be
 * read before it is written, whatever widths the kernel's head, body and tail use.
 */
static void check_axpy_inplace(const kt_variant *v, size_t n, double alpha, size_t off,
                               kt_rng *r) {
    kt_dtype t = kt_ops[v->op].dtype;
    size_t es = esize(t);
    buf y = buf_new(t, n, off);
    fill(t, y.p, n, r);
    void *y0 = malloc(n ? n * es : 1);
    memcpy(y0, y.p, n * es);
    if (t == KT_F32) alpha = (float)alpha;
    kt_args args = {.n = n, .alpha = alpha, .x = y.p, .incx = 1, .y = y.p, .incy = 1};
    char what[160];
    snprintf(what, sizeof what, "%s/%s in place n=%zu alpha=%g offset=%zu", kt_ops[v->op].name,
             v->name, n, alpha, off);
    kt_status s = kt_call(kt_ops[v->op].name, v->name, &args);
    if (s != KT_OK) fail_msg("%s: status %d (%s)", what, s, kt_last_error());
    double eps = t == KT_F32 ? FLT_EPSILON : DBL_EPSILON;
    for (size_t i = 0; i < n; i++) {
        long double old = get(t, y0, (ptrdiff_t)i), want = old + (long double)alpha * old;
        long double got = get(t, y.p, (ptrdiff_t)i);
        if (!(fabsl(got - want) <= 4 * eps * (fabsl(old) * (1 + fabsl(alpha)) + fabsl(want))))
            fail_msg("%s: y[%zu] = %.10Lg, expected %.10Lg", what, i, got, want);
    }
    buf_check_guards(&y, es, what);
    free(y0);
    free(y.base);
}

static void test_variant(void **state) {
    const kt_variant *v = *state;
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed() ^ (uint64_t)(uintptr_t)v->name);
    int axpy = v->op == KT_OP_AXPY_F32 || v->op == KT_OP_AXPY_F64;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        int big = n > 5000;
        if (big && kt_test_quick()) continue; /* under valgrind */
        for (size_t off = 0; off < 4; off++) {
            if (big && off != 0 && off != 3) continue;
            size_t ox = off & 1, oy = off >> 1;
            if (axpy)
                check_axpy(v, n, kt_rng_nonzero(&r) * 3, 1, 1, ox, oy, &r);
            else
                check_add_scalar(v, n, oy, &r, 0);
        }
    }
    if (!axpy) {
        check_add_scalar(v, 1000, 0, &r, 1); /* wrap-around / negative constant */
        return;
    }
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0] && sizes[k] <= 1025; k++)
        check_axpy_inplace(v, sizes[k], kt_rng_nonzero(&r) * 3, k & 1, &r);
    static const double alphas[] = {1.0, -1.0, 0.5, 0.0, 1e30};
    for (size_t a = 0; a < sizeof alphas / sizeof alphas[0]; a++)
        for (size_t n = 0; n < 40; n += 13) check_axpy(v, n, alphas[a], 1, 1, 0, 1, &r);
    static const ptrdiff_t incs[] = {1, 2, -1, -3, 0};
    static const size_t ns[] = {0, 1, 2, 3, 7, 17, 100};
    for (size_t i = 0; i < 5; i++)
        for (size_t j = 0; j < 5; j++)
            for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
                check_axpy(v, ns[k], 0.75, incs[i], incs[j], 0, 0, &r);
}

int main(void) {
    kt_tests ts = {0};
    kt_init();
    for (size_t i = 0, n = kt_variants_len(); i < n; i++) {
        const kt_variant *v = kt_variant_at(i);
        if (v->op > KT_OP_AXPY_F64) continue; /* dot, gemv, gemm: tests/blas */
        const char *op = kt_ops[v->op].name;
        char why[256];
        if (kt_variant_usable(v, why, sizeof why)) {
            kt_tests_add(&ts, test_variant, (void *)v,
                         "%s/%s matches reference (sizes 0..1000003, misaligned, increments)",
                         op, v->name);
        } else if ((v->flags & KT_VF_GPU) && kt_test_require_gpu()) {
            kt_tests_add(&ts, test_variant, (void *)v, "%s/%s must run (KTUNE_REQUIRE_GPU): %s",
                         op, v->name, why);
        } else {
            kt_tests_skip(&ts, "%s/%s unavailable: %s", op, v->name, why);
        }
    }
    return kt_tests_run(&ts, "vector variants");
}
