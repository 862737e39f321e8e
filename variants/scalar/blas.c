/*
 * dot, gemv and gemm in plain C: the honest baseline (compiled without
 * auto-vectorisation) and the fallback for every increment the SIMD
 * variants do not take.  The loops are in blas_body.h, instantiated here
 * for float and double.
 */
#include "kt_internal.h"
#include "../blas.h"

/* Offset of logical element 0 of a BLAS vector of n elements with increment inc. */
static ptrdiff_t start(size_t n, ptrdiff_t inc)
{
    return inc < 0 ? -(ptrdiff_t)(n - 1) * inc : 0;
}

#define ST float
#define SC(name) name##_f32
#include "blas_body.h"

#define ST double
#define SC(name) name##_f64
#include "blas_body.h"

kt_status kt_dot_f32_scalar_unit(size_t n, const float *x, const float *y, float *result)
{
    return dot_f32(n, x, 1, y, 1, result);
}

kt_status kt_dot_f64_scalar_unit(size_t n, const double *x, const double *y, double *result)
{
    return dot_f64(n, x, 1, y, 1, result);
}

kt_status kt_dot_f32_scalar(const kt_variant *v, size_t n, const float *x, ptrdiff_t incx,
                            const float *y, ptrdiff_t incy, float *result)
{
    (void)v;
    return dot_f32(n, x, incx, y, incy, result);
}

kt_status kt_dot_f64_scalar(const kt_variant *v, size_t n, const double *x, ptrdiff_t incx,
                            const double *y, ptrdiff_t incy, double *result)
{
    (void)v;
    return dot_f64(n, x, incx, y, incy, result);
}

kt_status kt_gemv_f32_scalar(const kt_variant *v, kt_trans trans, size_t m, size_t n, float alpha,
                             const float *a, size_t lda, const float *x, ptrdiff_t incx,
                             float beta, float *y, ptrdiff_t incy)
{
    (void)v;
    return gemv_f32(trans, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

kt_status kt_gemv_f64_scalar(const kt_variant *v, kt_trans trans, size_t m, size_t n,
                             double alpha, const double *a, size_t lda, const double *x,
                             ptrdiff_t incx, double beta, double *y, ptrdiff_t incy)
{
    (void)v;
    return gemv_f64(trans, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

kt_status kt_gemm_f32_scalar(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                             size_t n, size_t k, float alpha, const float *a, size_t lda,
                             const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    (void)v;
    return gemm_f32(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

kt_status kt_gemm_f64_scalar(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                             size_t n, size_t k, double alpha, const double *a, size_t lda,
                             const double *b, size_t ldb, double beta, double *c, size_t ldc)
{
    (void)v;
    return gemm_f64(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
