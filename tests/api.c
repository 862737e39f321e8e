/*
 * The public API: entry points through dispatch (correct results for unit
 * and strided calls, every error path leaving outputs untouched),
 * introspection, kt_call/kt_force errors, the thread cap, the
 * parallel-region rule, and that dispatch never picks an unavailable
 * variant.
 */
#include "config.h"

#include "kt_test.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kt_dispatch.h"

static void test_strerror(void **state) {
    (void)state;
    for (int s = KT_OK; s <= KT_EINTERNAL; s++) {
        const char *m = kt_strerror((kt_status)s);
        assert_non_null(m);
        assert_true(strlen(m) > 3);
        assert_string_not_equal(m, "unknown status");
    }
    assert_string_equal(kt_strerror((kt_status)999), "unknown status");
}

static void test_null_pointers(void **state) {
    (void)state;
    float y[4] = {1, 2, 3, 4}, x[4] = {1, 1, 1, 1};
    assert_int_equal(kt_add_scalar_f32(4, 1.0f, NULL), KT_EINVAL);
    assert_true(strstr(kt_last_error(), "NULL") != NULL);
    assert_int_equal(kt_add_scalar_f64(3, 1.0, NULL), KT_EINVAL);
    assert_int_equal(kt_add_scalar_i64(3, 1, NULL), KT_EINVAL);
    assert_int_equal(kt_axpy_f32(4, 2.0f, NULL, 1, y, 1), KT_EINVAL);
    assert_int_equal(kt_axpy_f32(4, 2.0f, x, 1, NULL, 1), KT_EINVAL);
    assert_int_equal(kt_axpy_f64(4, 2.0, NULL, 1, (double *)y, 1), KT_EINVAL);
    assert_true(y[0] == 1 && y[3] == 4);
    /* n = 0: nothing to do, NULL is fine */
    assert_int_equal(kt_add_scalar_f32(0, 1.0f, NULL), KT_OK);
    assert_int_equal(kt_axpy_f32(0, 2.0f, NULL, 1, NULL, 1), KT_OK);
    assert_int_equal(kt_axpy_f64(0, 2.0, NULL, -1, NULL, 0), KT_OK);
}

static void test_overlap(void **state) {
    (void)state;
    float b[16];
    for (int i = 0; i < 16; i++) b[i] = (float)i + 1;
    assert_int_equal(kt_axpy_f32(8, 2.0f, b, 1, b + 1, 1), KT_EINVAL);
    assert_true(strstr(kt_last_error(), "overlap") != NULL);
    assert_int_equal(kt_axpy_f32(8, 2.0f, b + 3, 1, b, 1), KT_EINVAL);
    for (int i = 0; i < 16; i++) assert_true(b[i] == (float)i + 1);
    /* x == y with the same increment is well defined: y = (1 + alpha) y */
    assert_int_equal(kt_axpy_f32(8, 1.0f, b, 1, b, 1), KT_OK);
    for (int i = 0; i < 8; i++) assert_true(b[i] == 2.0f * ((float)i + 1));
    /* interleaved without sharing an element is not an overlap of elements, but the
       spans overlap: refused, as the variants' order is unspecified */
    assert_int_equal(kt_axpy_f32(4, 1.0f, b, 2, b + 1, 2), KT_EINVAL);
}

static void test_overflowing_increments(void **state) {
    (void)state;
    float x[2] = {1, 2}, y[2] = {3, 4};
    assert_int_equal(kt_axpy_f32(3, 1.0f, x, PTRDIFF_MAX / 2, y, 1), KT_EINVAL);
    assert_true(strstr(kt_last_error(), "overflow") != NULL);
    assert_true(y[0] == 3 && y[1] == 4);
}

/* The entry points, whatever they dispatch to, against a long-double reference. */
static void test_entry_points(void **state) {
    (void)state;
    kt_rng r;
    kt_rng_seed(&r, kt_test_seed());
    static const size_t ns[] = {1, 7, 100, 1000, 4099, 100003, 1 << 20, (1 << 21) + 5};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        size_t n = ns[k];
        double *x = malloc(n * 8), *y = malloc(n * 8), *y0 = malloc(n * 8);
        float *xf = malloc(n * 4), *yf = malloc(n * 4), *yf0 = malloc(n * 4);
        int64_t *a = malloc(n * 8), *a0 = malloc(n * 8);
        kt_fill_f64(x, n, &r);
        kt_fill_f64(y, n, &r);
        kt_fill_f32(xf, n, &r);
        kt_fill_f32(yf, n, &r);
        kt_fill_i64(a, n, &r);
        memcpy(y0, y, n * 8);
        memcpy(yf0, yf, n * 4);
        memcpy(a0, a, n * 8);
        assert_int_equal(kt_axpy_f64(n, 0.3, x, 1, y, 1), KT_OK);
        assert_int_equal(kt_axpy_f32(n, -1.5f, xf, 1, yf, 1), KT_OK);
        assert_int_equal(kt_add_scalar_i64(n, -7, a), KT_OK);
        for (size_t i = 0; i < n; i++) {
            long double w = (long double)y0[i] + 0.3L * x[i];
            if (fabsl(y[i] - w) > 4 * 2.3e-16 * (fabs(y0[i]) + fabs(0.3 * x[i])))
                fail_msg("kt_axpy_f64 n=%zu: y[%zu] = %.17g, expected %.17Lg", n, i, y[i], w);
            long double wf = (long double)yf0[i] - 1.5L * xf[i];
            if (fabsl(yf[i] - wf) > 4 * 1.2e-7 * (fabs(yf0[i]) + fabs(1.5 * xf[i])))
                fail_msg("kt_axpy_f32 n=%zu: y[%zu] = %.9g, expected %.9Lg", n, i, yf[i], wf);
            if (a[i] != (int64_t)((uint64_t)a0[i] - 7u))
                fail_msg("kt_add_scalar_i64 n=%zu: a[%zu] wrong", n, i);
        }
        /* strided: negative increments go to the strided fallback */
        if (n <= 100003) {
            memcpy(y0, y, n * 8);
            assert_int_equal(kt_axpy_f64(n / 2, 2.0, x, -2, y, 2), KT_OK);
            for (size_t i = 0; i < n / 2; i++) {
                long double w = (long double)y0[2 * i] + 2.0L * x[2 * (n / 2 - 1 - i)];
                if (fabsl(y[2 * i] - w) > 1e-15 * (fabs(y0[2 * i]) + 2))
                    fail_msg("kt_axpy_f64 strided n=%zu: y[%zu] wrong", n / 2, 2 * i);
            }
        }
        free(x), free(y), free(y0), free(xf), free(yf), free(yf0), free(a), free(a0);
    }
}

static void test_introspection(void **state) {
    (void)state;
    assert_int_equal(kt_op_count(), KT_OP_COUNT);
    assert_null(kt_op_name(kt_op_count()));
    for (size_t o = 0; o < kt_op_count(); o++) {
        const char *op = kt_op_name(o);
        size_t n = kt_variant_count(op);
        assert_true(n >= 3);
        int scalar = 0;
        for (size_t i = 0; i < n; i++) {
            kt_variant_info vi, vf;
            assert_int_equal(kt_variant_get(op, i, &vi), KT_OK);
            assert_string_equal(vi.op, op);
            assert_int_equal(kt_variant_find(op, vi.name, &vf), KT_OK);
            assert_string_equal(vf.name, vi.name);
            assert_true(vi.available ? vi.reason[0] == '\0' : vi.reason[0] != '\0');
            /* a serial baseline of the scalar backend that always runs ("scalar", sort's "qsort") */
            scalar |= !strcmp(vi.backend, "scalar") && vi.threads == 1 && vi.available;
        }
        assert_true(scalar);
        kt_variant_info vi;
        assert_int_equal(kt_variant_get(op, n, &vi), KT_ENOTFOUND);
    }
    kt_variant_info vi;
    assert_int_equal(kt_variant_count("no_such_op"), 0);
    assert_int_equal(kt_variant_get("no_such_op", 0, &vi), KT_ENOTFOUND);
    assert_int_equal(kt_variant_find("axpy_f32", "no-such-variant", &vi), KT_ENOTFOUND);
    assert_int_equal(kt_variant_get("axpy_f32", 0, NULL), KT_EINVAL);
    assert_true(strlen(kt_fingerprint()) > 20);
    assert_string_equal(kt_fingerprint(), kt_fingerprint());
}

static void test_call_errors(void **state) {
    (void)state;
    float x[4] = {1, 2, 3, 4}, y[4] = {1, 1, 1, 1};
    kt_args a = {.n = 4, .alpha = 1.0, .x = x, .incx = 1, .y = y, .incy = 1};
    assert_int_equal(kt_call("nope", "scalar", &a), KT_ENOTFOUND);
    assert_int_equal(kt_call("axpy_f32", "nope", &a), KT_ENOTFOUND);
    assert_int_equal(kt_call("axpy_f32", NULL, &a), KT_EINVAL);
    assert_int_equal(kt_call("axpy_f32", "scalar", NULL), KT_EINVAL);
    a.x = NULL;
    assert_int_equal(kt_call("axpy_f32", "scalar", &a), KT_EINVAL);
    assert_true(y[0] == 1.0f);
    /* every unavailable variant is refused by kt_call and by kt_force, with its reason */
    for (size_t i = 0, n = kt_variants_len(); i < n; i++) {
        const kt_variant *v = kt_variant_at(i);
        char why[256];
        if (kt_variant_usable(v, why, sizeof why)) continue;
        a.x = x;
        assert_int_equal(kt_call(kt_ops[v->op].name, v->name, &a), KT_EUNAVAIL);
        assert_true(strstr(kt_last_error(), why) != NULL);
        assert_int_equal(kt_force(kt_ops[v->op].name, v->name), KT_EUNAVAIL);
    }
    assert_true(y[0] == 1.0f);
    assert_int_equal(kt_force("nope", "scalar"), KT_ENOTFOUND);
    assert_int_equal(kt_force("axpy_f32", "nope"), KT_ENOTFOUND);
}

/* Over a sweep of sizes, explain and the hot path agree and pick usable variants. */
static void test_never_unavailable(void **state) {
    (void)state;
    for (size_t o = 0; o < kt_op_count(); o++) {
        int nd = kt_ops[o].ndims;
        for (size_t n = 1; n < ((size_t)1 << (nd == 1 ? 34 : nd == 2 ? 17 : 11)); n *= 3) {
            size_t dims[3] = {n, nd > 1 ? n : 0, nd > 2 ? n : 0};
            kt_dispatch_info di;
            assert_int_equal(kt_dispatch_explain(kt_op_name(o), dims, &di), KT_OK);
            const kt_variant *v = kt_variant_lookup((kt_op_id)o, di.variant);
            assert_non_null(v);
            assert_true(kt_variant_usable(v, NULL, 0));
            assert_false(v->flags & KT_VF_GPU); /* defaults never use the GPU for host data */
            assert_ptr_equal(kt_lookup(&kt_table_get()->ops[o], dims)->pick, v);
        }
    }
    size_t dims[3] = {10, 0, 0};
    kt_dispatch_info di;
    assert_int_equal(kt_dispatch_explain("nope", dims, &di), KT_ENOTFOUND);
}

static void test_force(void **state) {
    (void)state;
    size_t dims[3] = {1000, 0, 0};
    kt_dispatch_info di;
    assert_int_equal(kt_force("axpy_f64", "scalar"), KT_OK);
    assert_int_equal(kt_dispatch_explain("axpy_f64", dims, &di), KT_OK);
    assert_string_equal(di.variant, "scalar");
    assert_string_equal(di.source, "forced");
    double x[3] = {1, 2, 3}, y[3] = {1, 1, 1};
    assert_int_equal(kt_axpy_f64(3, 2.0, x, 1, y, 1), KT_OK);
    assert_true(y[2] == 7.0);
    assert_int_equal(kt_force("axpy_f64", NULL), KT_OK);
    assert_int_equal(kt_dispatch_explain("axpy_f64", dims, &di), KT_OK);
    assert_string_not_equal(di.source, "forced");
}

/* A thread cap of 1 removes every threaded variant from dispatch. */
static void test_thread_cap(void **state) {
    (void)state;
    assert_int_equal(kt_set_max_threads(-1), KT_EINVAL);
    assert_int_equal(kt_set_max_threads(1), KT_OK);
    for (size_t o = 0; o < kt_op_count(); o++) {
        size_t dims[3] = {(size_t)1 << 26, 0, 0};
        kt_dispatch_info di;
        assert_int_equal(kt_dispatch_explain(kt_op_name(o), dims, &di), KT_OK);
        assert_true(strncmp(di.variant, "threads", 7) != 0);
        assert_true(strncmp(di.variant, "openblas:t", 10) != 0);
    }
    kt_variant_info vi;
    if (kt_variant_find("axpy_f32", "threads:t=2", &vi) == KT_OK && vi.reason[0])
        assert_true(strstr(vi.reason, "cap") || strstr(vi.reason, "not built") ||
                    strstr(vi.reason, "cores"));
    assert_int_equal(kt_set_max_threads(0), KT_OK);
}

/* Inside an OpenMP parallel region a threaded choice runs its serial alternative. */
static void test_parallel_region(void **state) {
    (void)state;
    if (kt_force("axpy_f32", "threads:t=2") != KT_OK) skip();
    const kt_optab *t = &kt_table_get()->ops[KT_OP_AXPY_F32];
    int bad = 0;
#pragma omp parallel num_threads(2) reduction(+ : bad)
    {
        const kt_variant *v = kt_pick(t, 1 << 20);
        bad += (v->flags & KT_VF_OPENMP) != 0;
    }
    assert_int_equal(bad, 0);
    assert_true(kt_pick(t, 1 << 20)->flags & KT_VF_OPENMP);
    /* and the calls themselves are correct from inside the region */
    float x[1000], y[2][1000];
    for (int i = 0; i < 1000; i++) x[i] = (float)i, y[0][i] = y[1][i] = 1.0f;
#pragma omp parallel num_threads(2)
    kt_axpy_f32(1000, 1.0f, x, 1, y[omp_get_thread_num() & 1], 1);
    for (int i = 0; i < 1000; i++) assert_true(y[0][i] == 1.0f + (float)i);
    assert_int_equal(kt_force("axpy_f32", NULL), KT_OK);
}

#ifdef KT_HAVE_OPENBLAS
/* OpenBLAS's own (not from <cblas.h>, whose include path the tests do not get) */
int openblas_get_num_threads(void);
void openblas_set_num_threads(int n);

/*
 * An OpenBLAS variant leaves the program's thread counts as it found them: OpenBLAS's
 * (its other callers in the process, numpy's among them) and, with the OpenMP build,
 * the calling thread's OpenMP count, which OpenBLAS's setter also sets.  Counts no
 * variant uses (3 and 5) so that a count left behind shows.
 */
static void test_openblas_counts(void **state) {
    (void)state;
    const char *vars[] = {"openblas", "openblas:t=2"};
    const int ob0 = openblas_get_num_threads(), omp0 = omp_get_max_threads();
    openblas_set_num_threads(3);
    omp_set_num_threads(5);
    const int ob = openblas_get_num_threads(), omp = omp_get_max_threads();
    assert_int_equal(omp, 5);
    int ran = 0;
    double x[300], y[300], a[300], c[100];
    for (int i = 0; i < 300; i++) x[i] = 1.0 + i % 7, y[i] = 2.0, a[i] = 0.5;
    for (size_t k = 0; k < sizeof vars / sizeof *vars; k++) {
        if (kt_force("axpy_f64", vars[k]) != KT_OK) continue; /* not usable here */
        for (int i = 0; i < 300; i++) y[i] = 2.0;
        assert_int_equal(kt_axpy_f64(300, 1.0, x, 1, y, 1), KT_OK);
        assert_true(y[299] == 2.0 + x[299]);
        assert_int_equal(openblas_get_num_threads(), ob);
        assert_int_equal(omp_get_max_threads(), omp);
        assert_int_equal(kt_force("dot_f64", vars[k]), KT_OK);
        double d = 0;
        assert_int_equal(kt_dot_f64(300, x, 1, a, 1, &d), KT_OK);
        assert_int_equal(openblas_get_num_threads(), ob);
        assert_int_equal(omp_get_max_threads(), omp);
        assert_int_equal(kt_force("gemm_f64", vars[k]), KT_OK);
        assert_int_equal(kt_gemm_f64(KT_COL_MAJOR, KT_NOTRANS, KT_NOTRANS, 10, 10, 30, 1.0, x, 10,
                                     a, 30, 0.0, c, 10),
                         KT_OK);
        assert_true(fabs(c[0] - 0.5 * (x[0] + x[10] + x[20] + x[30] + x[40] + x[50] + x[60] +
                                       x[70] + x[80] + x[90] + x[100] + x[110] + x[120] +
                                       x[130] + x[140] + x[150] + x[160] + x[170] + x[180] +
                                       x[190] + x[200] + x[210] + x[220] + x[230] + x[240] +
                                       x[250] + x[260] + x[270] + x[280] + x[290])) < 1e-9);
        assert_int_equal(openblas_get_num_threads(), ob);
        assert_int_equal(omp_get_max_threads(), omp);
        ran++;
    }
    kt_force("axpy_f64", NULL), kt_force("dot_f64", NULL), kt_force("gemm_f64", NULL);
    openblas_set_num_threads(ob0);
    omp_set_num_threads(omp0);
    if (!ran) skip(); /* no OpenBLAS variant usable here */
}
#endif

static void test_reload(void **state) {
    (void)state;
    const kt_table *before = kt_table_get();
    assert_int_equal(kt_reload(), KT_EDB);
    assert_ptr_not_equal(kt_table_get(), before);
    /* the tests point KTUNE_DB at a file that does not exist: defaults, and the status says why */
    assert_int_equal(kt_init_status(), KT_EDB);
    assert_non_null(strstr(kt_last_error(), "no tuning database"));
}

int main(void) {
    kt_tests ts = {0};
    kt_tests_add(&ts, test_strerror, NULL, "kt_strerror names every status");
    kt_tests_add(&ts, test_null_pointers, NULL, "NULL with n > 0 is KT_EINVAL, y untouched");
    kt_tests_add(&ts, test_overlap, NULL, "overlapping x and y are refused, y untouched");
    kt_tests_add(&ts, test_overflowing_increments, NULL, "increments overflowing are refused");
    kt_tests_add(&ts, test_entry_points, NULL, "entry points match reference (unit, strided)");
    kt_tests_add(&ts, test_introspection, NULL, "ops and variants are listed with reasons");
    kt_tests_add(&ts, test_call_errors, NULL, "kt_call/kt_force refuse bad and unavailable");
    kt_tests_add(&ts, test_never_unavailable, NULL, "dispatch never picks an unavailable variant");
    kt_tests_add(&ts, test_force, NULL, "kt_force routes calls and can be undone");
    kt_tests_add(&ts, test_thread_cap, NULL, "kt_set_max_threads(1) removes threaded variants");
    kt_tests_add(&ts, test_parallel_region, NULL, "inside omp parallel, threaded picks go serial");
#ifdef KT_HAVE_OPENBLAS
    kt_tests_add(&ts, test_openblas_counts, NULL,
                 "OpenBLAS variants leave OpenBLAS's and OpenMP's thread counts as found");
#else
    kt_tests_skip(&ts, "OpenBLAS variants and thread counts: built without OpenBLAS");
#endif
    kt_tests_add(&ts, test_reload, NULL, "kt_reload publishes a new table");
    return kt_tests_run(&ts, "public api");
}
