/*
 * dot, gemv and gemm with AVX-512 (compiled with the AVX-512 flags only).
 * The algorithms live in ../blas_impl.h, instantiated here for 512-bit
 * vectors of float and double; see there for the design.
 *
 * gemm micro-tiles: f32 48 x 8, f64 24 x 8 (3 vectors x 8 columns:
 * 24 accumulators, 3 loads and 8 broadcasts per 24 FMAs; 100% of peak from
 * L1 on Zen 4).  A up to the size of L2 is not packed (BL_DIRECT_LEVEL 2):
 * reading its 3-line column segments in place beat packing up to A = L2.
 */
#include <immintrin.h>

#include "kt_internal.h"
#include "../blas.h"

/*
 * In-register transposes of a VLEN x VLEN block (r[i] holds row i; after,
 * r[j] holds column j), for packing transposed A: unpack pairs of rows,
 * then pairs of pairs, then a 4 x 4 transpose of the 128-bit lanes.
 */
static inline void transpose16_ps(__m512 r[16])
{
    __m512 t[16], s[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* s[4i + c], lane l: rows 4i..4i+3 of column 4l + c */
    for (int i = 0; i < 4; i++) {
        __m512d a0 = _mm512_castps_pd(t[4 * i]), a1 = _mm512_castps_pd(t[4 * i + 1]);
        __m512d a2 = _mm512_castps_pd(t[4 * i + 2]), a3 = _mm512_castps_pd(t[4 * i + 3]);
        s[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
        s[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
        s[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
        s[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
    }
    for (int c = 0; c < 4; c++) {
        __m512 u0 = _mm512_shuffle_f32x4(s[c], s[4 + c], 0x88);
        __m512 u1 = _mm512_shuffle_f32x4(s[c], s[4 + c], 0xdd);
        __m512 u2 = _mm512_shuffle_f32x4(s[8 + c], s[12 + c], 0x88);
        __m512 u3 = _mm512_shuffle_f32x4(s[8 + c], s[12 + c], 0xdd);
        r[c] = _mm512_shuffle_f32x4(u0, u2, 0x88);
        r[4 + c] = _mm512_shuffle_f32x4(u1, u3, 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(u0, u2, 0xdd);
        r[12 + c] = _mm512_shuffle_f32x4(u1, u3, 0xdd);
    }
}

static inline void transpose8_pd(__m512d r[8])
{
    __m512d s[8];
    /* s[2i + c], lane l: rows 2i, 2i+1 of column 2l + c */
    for (int i = 0; i < 4; i++) {
        s[2 * i] = _mm512_unpacklo_pd(r[2 * i], r[2 * i + 1]);
        s[2 * i + 1] = _mm512_unpackhi_pd(r[2 * i], r[2 * i + 1]);
    }
    for (int c = 0; c < 2; c++) {
        __m512d u0 = _mm512_shuffle_f64x2(s[c], s[2 + c], 0x88);
        __m512d u1 = _mm512_shuffle_f64x2(s[c], s[2 + c], 0xdd);
        __m512d u2 = _mm512_shuffle_f64x2(s[4 + c], s[6 + c], 0x88);
        __m512d u3 = _mm512_shuffle_f64x2(s[4 + c], s[6 + c], 0xdd);
        r[c] = _mm512_shuffle_f64x2(u0, u2, 0x88);
        r[2 + c] = _mm512_shuffle_f64x2(u1, u3, 0x88);
        r[4 + c] = _mm512_shuffle_f64x2(u0, u2, 0xdd);
        r[6 + c] = _mm512_shuffle_f64x2(u1, u3, 0xdd);
    }
}

/* ---- float: 16 lanes ---------------------------------------------------- */

#define BL_T float
#define BL_V __m512
#define BL_VLEN 16
#define BL_MV 3
#define BL_NR 8
#define BL_GV_COLS 8
#define BL_GV_SMALL 16
#define BL_DIRECT_LEVEL 2
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
#define V_TRANSPOSE(r) transpose16_ps(r)
#include "../blas_impl.h"

/* ---- double: 8 lanes ---------------------------------------------------- */

#define BL_T double
#define BL_V __m512d
#define BL_VLEN 8
#define BL_MV 3
#define BL_NR 8
#define BL_GV_COLS 8
#define BL_GV_SMALL 16
#define BL_DIRECT_LEVEL 2
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
#define V_TRANSPOSE(r) transpose8_pd(r)
#include "../blas_impl.h"

/* ---- The variants ------------------------------------------------------- */

kt_status kt_dot_f32_avx512_unit(size_t n, const float *x, const float *y, float *result)
{
    *result = dot_unit_f32(n, x, y);
    return KT_OK;
}

kt_status kt_dot_f64_avx512_unit(size_t n, const double *x, const double *y, double *result)
{
    *result = dot_unit_f64(n, x, y);
    return KT_OK;
}

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
