/*
 * dot, gemv and gemm through OpenBLAS's CBLAS interface (compiled with
 * OpenBLAS's cflags).  Rows "openblas" (1 thread) and "openblas:t=N" set
 * OpenBLAS's thread count to v->threads before each call; the last count
 * set is cached, so the library is only told when it changes.  OpenBLAS's
 * count is process-wide: two threads of the program calling rows with
 * different counts at the same moment may each run with the other's count
 * (the results stay right, only the speed changes).  The bodies are in
 * blas_body.h, instantiated for float and double.
 */
#include <cblas.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>

#include "kt_internal.h"
#include "../blas.h"

/* OpenBLAS's thread count as last set by this file (0: not set yet). */
static atomic_int threads_set;

/* Sets OpenBLAS's thread count to v->threads unless it already is. */
static void set_threads(const kt_variant *v)
{
    int t = v && v->threads > 0 ? v->threads : 1;
    if (atomic_load_explicit(&threads_set, memory_order_relaxed) != t) {
        openblas_set_num_threads(t);
        atomic_store_explicit(&threads_set, t, memory_order_relaxed);
    }
}

/* Whether a size or an increment fits OpenBLAS's integer type (blasint). */
static int fits(size_t n)
{
    return sizeof(blasint) >= sizeof(int64_t) ? n <= INT64_MAX : n <= INT_MAX;
}

static int fits_inc(ptrdiff_t inc)
{
    return sizeof(blasint) >= sizeof(int64_t) || (inc >= -INT_MAX && inc <= INT_MAX);
}

static enum CBLAS_TRANSPOSE cblas_trans(kt_trans t)
{
    return t == KT_TRANS ? CblasTrans : CblasNoTrans;
}

#define OT float
#define OC(name) name##_f32
#define ONAME "f32"
#define OB(name) cblas_s##name
#include "blas_body.h"

#define OT double
#define OC(name) name##_f64
#define ONAME "f64"
#define OB(name) cblas_d##name
#include "blas_body.h"

kt_status kt_dot_f32_openblas(const kt_variant *v, size_t n, const float *x, ptrdiff_t incx,
                              const float *y, ptrdiff_t incy, float *result)
{
    return dot_f32(v, n, x, incx, y, incy, result);
}

kt_status kt_dot_f64_openblas(const kt_variant *v, size_t n, const double *x, ptrdiff_t incx,
                              const double *y, ptrdiff_t incy, double *result)
{
    return dot_f64(v, n, x, incx, y, incy, result);
}

kt_status kt_gemv_f32_openblas(const kt_variant *v, kt_trans trans, size_t m, size_t n,
                               float alpha, const float *a, size_t lda, const float *x,
                               ptrdiff_t incx, float beta, float *y, ptrdiff_t incy)
{
    return gemv_f32(v, trans, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

kt_status kt_gemv_f64_openblas(const kt_variant *v, kt_trans trans, size_t m, size_t n,
                               double alpha, const double *a, size_t lda, const double *x,
                               ptrdiff_t incx, double beta, double *y, ptrdiff_t incy)
{
    return gemv_f64(v, trans, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

kt_status kt_gemm_f32_openblas(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                               size_t n, size_t k, float alpha, const float *a, size_t lda,
                               const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    return gemm_f32(v, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

kt_status kt_gemm_f64_openblas(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                               size_t n, size_t k, double alpha, const double *a, size_t lda,
                               const double *b, size_t ldb, double beta, double *c, size_t ldc)
{
    return gemm_f64(v, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
