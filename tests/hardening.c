/*
 * Hostile arguments at every entry point: sizes near SIZE_MAX and
 * PTRDIFF_MAX, leading dimensions and increments whose spans overflow, and
 * the same through kt_call and kt_dispatch_explain.  Each must give
 * KT_EINVAL and leave a poisoned output untouched, with the built-in
 * tables, with a tuned table of many intervals (the interval scan that
 * once walked past its SIZE_MAX sentinel) and with a forced variant.  Also
 * checks the bucketed interval lookup against a plain scan.
 */
#include "kt_test.h"

#include <stdlib.h>
#include <string.h>

#include "kt_dispatch.h"

enum { MODE_DEFAULT, MODE_TUNED, MODE_FORCED };
static const char *const mode_name[] = {"built-in tables", "tuned table of 12 intervals",
                                        "forced scalar"};

#define NPOISON 64
static const unsigned char poison_byte = 0xA5;

typedef struct bufs {
    float f[NPOISON];
    double d[NPOISON];
    int64_t i[NPOISON];
    float xf[NPOISON];
    double xd[NPOISON];
} bufs;

static void poison(bufs *b) {
    memset(b->f, poison_byte, sizeof b->f);
    memset(b->d, poison_byte, sizeof b->d);
    memset(b->i, poison_byte, sizeof b->i);
    for (int k = 0; k < NPOISON; k++) b->xf[k] = 1.0f, b->xd[k] = 1.0;
}

static int untouched(const void *p, size_t len) {
    const unsigned char *c = p;
    for (size_t k = 0; k < len; k++)
        if (c[k] != poison_byte) return 0;
    return 1;
}

#define ASSERT_UNTOUCHED(b)                                    \
    do {                                                       \
        assert_true(untouched((b)->f, sizeof (b)->f));         \
        assert_true(untouched((b)->d, sizeof (b)->d));         \
        assert_true(untouched((b)->i, sizeof (b)->i));         \
    } while (0)

/*
 * Ranked variants for synthetic tuned points of op: its usable CPU
 * variants, rotated by r, so that neighbouring intervals pick different
 * variants.
 */
static size_t ranked_for(kt_op_id op, size_t r, const kt_variant **out) {
    const kt_variant *all[24];
    size_t n = 0;
    for (size_t i = 0, len = kt_variants_len(); i < len && n < 24; i++) {
        const kt_variant *v = kt_variant_at(i);
        if (v->op == op && !(v->flags & (KT_VF_TEST | KT_VF_GPU)) && kt_variant_usable(v, NULL, 0))
            all[n++] = v;
    }
    for (size_t i = 0; i < n; i++) out[i] = all[(i + r) % n];
    return n;
}

/* Installs 12 tuned points per op: n = 3^i (vectors), or i-th cubes of 3^(i/2) (matrices). */
static void install_tuned(void) {
    for (int op = 0; op < KT_OP_COUNT; op++) {
        kt_tuned_point pts[12];
        memset(pts, 0, sizeof pts);
        size_t s = 1;
        for (size_t i = 0; i < 12; i++, s *= 3) {
            size_t side = (size_t)1 << (i / 2);
            if (kt_ops[op].ndims == 1) pts[i].dims[0] = s;
            else pts[i].dims[0] = pts[i].dims[1] = side, pts[i].dims[2] = side * (i % 2 + 1);
            if (kt_ops[op].ndims == 2) pts[i].dims[2] = 0;
            pts[i].nranked = ranked_for((kt_op_id)op, i, pts[i].ranked);
        }
        assert_int_equal(kt_dispatch_set_points((kt_op_id)op, pts, 12), KT_OK);
    }
}

static void set_mode(int mode) {
    for (int op = 0; op < KT_OP_COUNT; op++) {
        assert_int_equal(kt_dispatch_set_points((kt_op_id)op, NULL, 0), KT_OK);
        kt_variant_info base; /* the op's first row: its serial baseline ("scalar", "qsort") */
        assert_int_equal(kt_variant_get(kt_ops[op].name, 0, &base), KT_OK);
        assert_int_equal(kt_force(kt_ops[op].name, mode == MODE_FORCED ? base.name : NULL), KT_OK);
    }
    if (mode == MODE_TUNED) install_tuned();
}

static void reset_mode(void) { set_mode(MODE_DEFAULT); }

/* Sizes no buffer can have: SIZE_MAX, SIZE_MAX / 4, just over PTRDIFF_MAX / elem. */
static size_t huge(int which, size_t elem) {
    switch (which) {
    case 0: return SIZE_MAX;
    case 1: return SIZE_MAX / 4;
    default: return (size_t)PTRDIFF_MAX / elem + 1;
    }
}

static void test_vector_sizes(void **state) {
    int mode = *(int *)state;
    set_mode(mode);
    bufs b;
    for (int w = 0; w < 3; w++) {
        poison(&b);
        assert_int_equal(kt_add_scalar_f32(huge(w, 4), 1.0f, b.f), KT_EINVAL);
        assert_true(strstr(kt_last_error(), "overflow") != NULL);
        assert_int_equal(kt_add_scalar_f64(huge(w, 8), 1.0, b.d), KT_EINVAL);
        assert_int_equal(kt_add_scalar_i64(huge(w, 8), 1, b.i), KT_EINVAL);
        assert_int_equal(kt_axpy_f32(huge(w, 4), 2.0f, b.xf, 1, b.f, 1), KT_EINVAL);
        assert_int_equal(kt_axpy_f64(huge(w, 8), 2.0, b.xd, 1, b.d, 1), KT_EINVAL);
        float rf;
        double rd;
        memset(&rf, poison_byte, sizeof rf);
        memset(&rd, poison_byte, sizeof rd);
        assert_int_equal(kt_dot_f32(huge(w, 4), b.xf, 1, b.f, 1, &rf), KT_EINVAL);
        assert_int_equal(kt_dot_f64(huge(w, 8), b.xd, 1, b.d, 1, &rd), KT_EINVAL);
        assert_true(untouched(&rf, sizeof rf) && untouched(&rd, sizeof rd));
        ASSERT_UNTOUCHED(&b);
    }
    /* the largest size that fits passes the size check: NULL is then what is refused */
    assert_int_equal(kt_add_scalar_f32(KT_VEC_MAX(4), 1.0f, NULL), KT_EINVAL);
    assert_true(strstr(kt_last_error(), "NULL") != NULL);
    reset_mode();
}

static void test_increments(void **state) {
    int mode = *(int *)state;
    set_mode(mode);
    bufs b;
    poison(&b);
    assert_int_equal(kt_axpy_f32(2, 2.0f, b.xf, PTRDIFF_MIN, b.f, 1), KT_EINVAL);
    assert_int_equal(kt_axpy_f64(2, 2.0, b.xd, 1, b.d, PTRDIFF_MIN), KT_EINVAL);
    float rf;
    memset(&rf, poison_byte, sizeof rf);
    assert_int_equal(kt_dot_f32(2, b.xf, PTRDIFF_MIN, b.xf, 1, &rf), KT_EINVAL);
    assert_true(untouched(&rf, sizeof rf));
    assert_int_equal(kt_gemv_f32(KT_COL_MAJOR, KT_NOTRANS, 2, 2, 1.0f, b.xf, 2, b.xf,
                                 PTRDIFF_MIN, 0.0f, b.f, 1), KT_EINVAL);
    assert_int_equal(kt_gemv_f64(KT_COL_MAJOR, KT_NOTRANS, 2, 2, 1.0, b.xd, 2, b.xd, 1, 0.0, b.d,
                                 PTRDIFF_MIN), KT_EINVAL);
    ASSERT_UNTOUCHED(&b);
    /* one element: the increment is never applied, any value is fine */
    float y1 = 1.0f, x1 = 3.0f;
    assert_int_equal(kt_axpy_f32(1, 2.0f, &x1, PTRDIFF_MIN, &y1, PTRDIFF_MIN), KT_OK);
    assert_true(y1 == 7.0f);
    double d1 = 0, x2[2] = {2, 5};
    assert_int_equal(kt_dot_f64(1, x2, PTRDIFF_MIN, x2 + 1, PTRDIFF_MIN, &d1), KT_OK);
    assert_true(d1 == 10.0);
    double a[2] = {1, 2}, yv = 9;
    assert_int_equal(kt_gemv_f64(KT_ROW_MAJOR, KT_NOTRANS, 1, 2, 1.0, a, 2, x2, 1, 0.0, &yv,
                                 PTRDIFF_MIN), KT_OK);
    assert_true(yv == 12.0);
    reset_mode();
}

/* gemv and gemm whose matrix spans overflow: ld, m, m = n = ld = 2^33, k. */
static void test_matrix_spans(void **state) {
    int mode = *(int *)state;
    set_mode(mode);
    bufs b;
    poison(&b);
    const size_t big = (size_t)1 << 33;
    static const kt_layout lay[] = {KT_COL_MAJOR, KT_ROW_MAJOR};
    for (int l = 0; l < 2; l++) {
        kt_layout L = lay[l];
        /* gemv: lda = SIZE_MAX; m = SIZE_MAX (lda = SIZE_MAX); m = n = lda = 2^33 */
        assert_int_equal(kt_gemv_f32(L, KT_NOTRANS, 2, 2, 1.0f, b.xf, SIZE_MAX, b.xf, 1, 0.0f,
                                     b.f, 1), KT_EINVAL);
        assert_true(strstr(kt_last_error(), "overflow") != NULL);
        assert_int_equal(kt_gemv_f64(L, KT_TRANS, 2, 2, 1.0, b.xd, SIZE_MAX, b.xd, 1, 0.0, b.d, 1),
                         KT_EINVAL);
        assert_int_equal(kt_gemv_f32(L, KT_NOTRANS, SIZE_MAX, 2, 1.0f, b.xf, SIZE_MAX, b.xf, 1,
                                     0.0f, b.f, 1), KT_EINVAL);
        assert_int_equal(kt_gemv_f64(L, KT_NOTRANS, 2, SIZE_MAX, 1.0, b.xd, SIZE_MAX, b.xd, 1,
                                     0.0, b.d, 1), KT_EINVAL);
        assert_int_equal(kt_gemv_f64(L, KT_NOTRANS, big, big, 1.0, b.xd, big, b.xd, 1, 0.0, b.d,
                                     1), KT_EINVAL);
        /* alpha = 0 (y = beta y) is checked as well */
        assert_int_equal(kt_gemv_f32(L, KT_NOTRANS, 2, 2, 0.0f, b.xf, SIZE_MAX, b.xf, 1, 0.0f,
                                     b.f, 1), KT_EINVAL);
        /* gemm: ldc = SIZE_MAX; m = SIZE_MAX; m = n = ld = 2^33; k overflowing A's span */
        assert_int_equal(kt_gemm_f32(L, KT_NOTRANS, KT_NOTRANS, 2, 2, 2, 1.0f, b.xf, 2, b.xf, 2,
                                     0.0f, b.f, SIZE_MAX), KT_EINVAL);
        assert_int_equal(kt_gemm_f64(L, KT_NOTRANS, KT_NOTRANS, 2, 2, 2, 1.0, b.xd, 2, b.xd, 2,
                                     0.0, b.d, SIZE_MAX), KT_EINVAL);
        assert_int_equal(kt_gemm_f64(L, KT_NOTRANS, KT_NOTRANS, SIZE_MAX, 2, 2, 1.0, b.xd,
                                     SIZE_MAX, b.xd, SIZE_MAX, 0.0, b.d, SIZE_MAX), KT_EINVAL);
        assert_int_equal(kt_gemm_f32(L, KT_NOTRANS, KT_NOTRANS, big, big, 1, 1.0f, b.xf, big,
                                     b.xf, big, 0.0f, b.f, big), KT_EINVAL);
        assert_int_equal(kt_gemm_f64(L, KT_TRANS, KT_NOTRANS, 1, 1, SIZE_MAX / 2, 1.0, b.xd,
                                     SIZE_MAX / 2, b.xd, SIZE_MAX / 2, 0.0, b.d, 1), KT_EINVAL);
        assert_int_equal(kt_gemm_f64(L, KT_NOTRANS, KT_TRANS, 1, 1, (size_t)1 << 61, 1.0, b.xd,
                                     (size_t)1 << 61, b.xd, (size_t)1 << 61, 0.0, b.d, 1),
                         KT_EINVAL);
        /* alpha = 0 (C = beta C) too */
        assert_int_equal(kt_gemm_f32(L, KT_NOTRANS, KT_NOTRANS, 2, 2, 2, 0.0f, b.xf, 2, b.xf, 2,
                                     0.0f, b.f, SIZE_MAX), KT_EINVAL);
        ASSERT_UNTOUCHED(&b);
    }
    reset_mode();
}

/* kt_call with sizes no buffer can have, for every op and every usable variant. */
static void test_call_sizes(void **state) {
    int mode = *(int *)state;
    set_mode(mode);
    bufs b;
    for (size_t i = 0, len = kt_variants_len(); i < len; i++) {
        const kt_variant *v = kt_variant_at(i);
        if (!kt_variant_usable(v, NULL, 0)) continue;
        int f32 = kt_ops[v->op].dtype == KT_F32;
        for (int w = 0; w < 3; w++) {
            poison(&b);
            kt_args a = {0};
            size_t n = huge(w, f32 ? 4 : 8);
            a.n = a.m = a.k = n;
            a.alpha = 1.0, a.ialpha = 1;
            a.layout = KT_COL_MAJOR, a.transa = a.transb = KT_NOTRANS;
            a.x = f32 ? (void *)b.xf : (void *)b.xd, a.incx = a.incy = 1;
            a.y = kt_ops[v->op].dtype == KT_I64 ? (void *)b.i : f32 ? (void *)b.f : (void *)b.d;
            a.a = a.b = a.x;
            a.c = a.y;
            a.lda = a.ldb = a.ldc = n;
            kt_status s = kt_call(kt_ops[v->op].name, v->name, &a);
            if (s != KT_EINVAL) print_message("# %s/%s n=%zu: %s\n", kt_ops[v->op].name, v->name,
                                              n, kt_strerror(s));
            assert_int_equal(s, KT_EINVAL);
            ASSERT_UNTOUCHED(&b);
        }
    }
    reset_mode();
}

/* kt_dispatch_explain of shapes no call can have: KT_EINVAL, out untouched. */
static void test_explain_sizes(void **state) {
    int mode = *(int *)state;
    set_mode(mode);
    for (int op = 0; op < KT_OP_COUNT; op++) {
        static const size_t shapes[][3] = {
            {SIZE_MAX, 1, 1}, {1, SIZE_MAX, 1}, {1, 1, SIZE_MAX}, {SIZE_MAX, SIZE_MAX, SIZE_MAX},
            {(size_t)1 << 33, (size_t)1 << 33, 1}};
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            if (kt_ops[op].ndims == 1 && s > 0 && s < 3) continue; /* only n counts */
            if (kt_ops[op].ndims == 1 && s == 4) continue;
            if (kt_ops[op].ndims == 2 && s == 2) continue;          /* gemv has no k */
            kt_dispatch_info out;
            memset(&out, poison_byte, sizeof out);
            assert_int_equal(kt_dispatch_explain(kt_ops[op].name, shapes[s], &out), KT_EINVAL);
            assert_true(untouched(&out, sizeof out));
        }
        /* the largest vector that fits is still explained */
        if (kt_ops[op].ndims == 1) {
            kt_dispatch_info out;
            size_t d[3] = {KT_VEC_MAX(kt_ops[op].dtype == KT_F32 ? 4 : 8), 0, 0};
            assert_int_equal(kt_dispatch_explain(kt_ops[op].name, d, &out), KT_OK);
        }
    }
    reset_mode();
}

/* The interval of key by the definition: the first whose bound exceeds it, else the last. */
static const kt_interval *scan(const kt_optab *t, size_t key) {
    size_t i = 0;
    while (i + 1 < t->nint && key >= t->iv[i].bound) i++;
    return &t->iv[i];
}

/* The bucketed lookup agrees with a plain scan at every bound, +-1, and powers of two. */
static void test_lookup_matches_scan(void **state) {
    (void)state;
    set_mode(MODE_TUNED);
    const kt_optab *t = &kt_table_get()->ops[KT_OP_AXPY_F32];
    assert_true(t->nint >= 10);
    size_t checked = 0;
    for (size_t i = 0; i < t->nint; i++) {
        for (int d = -2; d <= 2; d++) {
            size_t key = t->iv[i].bound + (size_t)(ptrdiff_t)d;
            assert_ptr_equal(kt_lookup_key(t, key), scan(t, key));
            checked++;
        }
    }
    for (unsigned b = 0; b < 64; b++) {
        size_t p = (size_t)1 << b;
        assert_ptr_equal(kt_lookup_key(t, p), scan(t, p));
        assert_ptr_equal(kt_lookup_key(t, p - 1), scan(t, p - 1));
        assert_ptr_equal(kt_lookup_key(t, p + 1), scan(t, p + 1));
    }
    assert_ptr_equal(kt_lookup_key(t, SIZE_MAX), &t->iv[t->nint - 1]);
    assert_ptr_equal(kt_lookup_key(t, 0), &t->iv[0]);
    /* the built-in matrix tables bound the product of the dims: saturated, not wrapped */
    reset_mode();
    const kt_optab *g = &kt_table_get()->ops[KT_OP_GEMM_F64];
    size_t wrap[3] = {(size_t)1 << 32, (size_t)1 << 32, 1}; /* product wraps to 0 */
    assert_ptr_equal(kt_lookup(g, wrap), &g->iv[g->nint - 1]);
    print_message("# %zu bounds checked\n", checked);
}

static void test_set_points_errors(void **state) {
    (void)state;
    kt_tuned_point p = {{1, 0, 0}, 0, {NULL}};
    assert_int_equal(kt_dispatch_set_points(KT_OP_COUNT, &p, 1), KT_EINVAL);
    assert_int_equal(kt_dispatch_set_points(KT_OP_AXPY_F32, NULL, 3), KT_EINVAL);
}

int main(void) {
    static int modes[] = {MODE_DEFAULT, MODE_TUNED, MODE_FORCED};
    kt_tests ts = {0};
    for (int m = 0; m < 3; m++) {
        const char *mn = mode_name[m];
        kt_tests_add(&ts, test_vector_sizes, &modes[m],
                     "%s: add_scalar/axpy/dot n = SIZE_MAX, SIZE_MAX/4, PTRDIFF_MAX/elem + 1 "
                     "are KT_EINVAL, outputs untouched", mn);
        kt_tests_add(&ts, test_increments, &modes[m],
                     "%s: increment PTRDIFF_MIN is KT_EINVAL for n > 1, ignored for n = 1", mn);
        kt_tests_add(&ts, test_matrix_spans, &modes[m],
                     "%s: gemv/gemm with ld = SIZE_MAX, m = SIZE_MAX, m = n = ld = 2^33, k "
                     "overflow are KT_EINVAL, outputs untouched", mn);
        kt_tests_add(&ts, test_call_sizes, &modes[m],
                     "%s: kt_call of every variant with n = SIZE_MAX etc. is KT_EINVAL", mn);
        kt_tests_add(&ts, test_explain_sizes, &modes[m],
                     "%s: kt_dispatch_explain of {SIZE_MAX, ..} is KT_EINVAL, out untouched", mn);
    }
    kt_tests_add(&ts, test_lookup_matches_scan, NULL,
                 "bucketed lookup equals a plain scan at every bound, 2^b +-1 and SIZE_MAX");
    kt_tests_add(&ts, test_set_points_errors, NULL, "kt_dispatch_set_points refuses bad input");
    return kt_tests_run(&ts, "hardening");
}
