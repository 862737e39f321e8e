/*
 * dot, gemv and gemm through OpenBLAS's Fortran interface (see
 * kt_openblas.h for why not CBLAS; compiled with OpenBLAS's cflags).  Rows
 * "openblas" (1 thread) and "openblas:t=N" run each call on v->threads
 * OpenBLAS threads and then put the count in force back (kt_openblas_enter).  The bodies are in
 * blas_body.h, instantiated for float and double; problems arrive
 * column-major, which is the Fortran interface's only layout.
 */
#include "config.h"

#include <stdint.h>

#include "kt_openblas.h"
#include "../blas.h"

#define fits kt_openblas_fits
#define fits_inc kt_openblas_fits_inc

/* The Fortran transposition argument. */
static char ftrans(kt_trans t) { return t == KT_TRANS ? 'T' : 'N'; }

#define OT float
#define OC(name) name##_f32
#define ONAME "f32"
#define OB(name) BLASFUNC(s##name)
#include "blas_body.h"

#define OT double
#define OC(name) name##_f64
#define ONAME "f64"
#define OB(name) BLASFUNC(d##name)
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
