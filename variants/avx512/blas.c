/*
 * dot, gemv and gemm with AVX-512 (compiled with the AVX-512 flags only).
 * The algorithms live in ../blas_impl.h, instantiated here for 512-bit
 * vectors of float and double; see there for the design.
 *
 * gemm micro-tiles: f32 48 x 8, f64 24 x 8 (3 vectors x 8 columns:
 * 24 accumulators, 3 loads and 8 broadcasts per 24 FMAs).
 */
#include <immintrin.h>

#include "kt_internal.h"
#include "../blas.h"

/* ---- float: 16 lanes ---------------------------------------------------- */

#define BL_T float
#define BL_V __m512
#define BL_VLEN 16
#define BL_MV 3
#define BL_NR 8
#define BL_GV_COLS 8
#define BL(name) name##_f32
#define BL_ISA "avx512"
#define V_ZERO() _mm512_setzero_ps()
#define V_SET1(s) _mm512_set1_ps(s)
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_STORE(p, v) _mm512_storeu_ps((p), (v))
#define V_LOADN(p, n) _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1), (p))
#define V_STOREN(p, v, n) _mm512_mask_storeu_ps((p), (__mmask16)((1u << (n)) - 1), (v))
#define V_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define V_MUL(a, b) _mm512_mul_ps((a), (b))
#define V_ADD(a, b) _mm512_add_ps((a), (b))
#define V_HSUM(v) _mm512_reduce_add_ps(v)
#include "../blas_impl.h"

/* ---- double: 8 lanes ---------------------------------------------------- */

#define BL_T double
#define BL_V __m512d
#define BL_VLEN 8
#define BL_MV 3
#define BL_NR 8
#define BL_GV_COLS 8
#define BL(name) name##_f64
#define BL_ISA "avx512"
#define V_ZERO() _mm512_setzero_pd()
#define V_SET1(s) _mm512_set1_pd(s)
#define V_LOAD(p) _mm512_loadu_pd(p)
#define V_STORE(p, v) _mm512_storeu_pd((p), (v))
#define V_LOADN(p, n) _mm512_maskz_loadu_pd((__mmask8)((1u << (n)) - 1), (p))
#define V_STOREN(p, v, n) _mm512_mask_storeu_pd((p), (__mmask8)((1u << (n)) - 1), (v))
#define V_FMA(a, b, c) _mm512_fmadd_pd((a), (b), (c))
#define V_MUL(a, b) _mm512_mul_pd((a), (b))
#define V_ADD(a, b) _mm512_add_pd((a), (b))
#define V_HSUM(v) _mm512_reduce_add_pd(v)
#include "../blas_impl.h"

/* ---- The variants ------------------------------------------------------- */

kt_status kt_dot_f32_avx512(const kt_variant *v, size_t n, const float *x, ptrdiff_t incx,
                            const float *y, ptrdiff_t incy, float *result)
{
    return dot_f32(v, n, x, incx, y, incy, result);
}

kt_status kt_dot_f64_avx512(const kt_variant *v, size_t n, const double *x, ptrdiff_t incx,
                            const double *y, ptrdiff_t incy, double *result)
{
    return dot_f64(v, n, x, incx, y, incy, result);
}

kt_status kt_gemv_f32_avx512(const kt_variant *v, kt_trans trans, size_t m, size_t n, float alpha,
                             const float *a, size_t lda, const float *x, ptrdiff_t incx,
                             float beta, float *y, ptrdiff_t incy)
{
    return gemv_f32(v, trans, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

kt_status kt_gemv_f64_avx512(const kt_variant *v, kt_trans trans, size_t m, size_t n,
                             double alpha, const double *a, size_t lda, const double *x,
                             ptrdiff_t incx, double beta, double *y, ptrdiff_t incy)
{
    return gemv_f64(v, trans, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

kt_status kt_gemm_f32_avx512(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                             size_t n, size_t k, float alpha, const float *a, size_t lda,
                             const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    return gemm_f32(v, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

kt_status kt_gemm_f64_avx512(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                             size_t n, size_t k, double alpha, const double *a, size_t lda,
                             const double *b, size_t ldb, double beta, double *c, size_t ldc)
{
    return gemm_f64(v, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
