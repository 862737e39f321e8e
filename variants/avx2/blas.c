/*
 * dot, gemv and gemm with AVX2 and FMA (compiled with -mavx2 -mfma only).
 * The algorithms live in ../blas_impl.h, instantiated here for 256-bit
 * vectors of float and double; see there for the design.
 *
 * gemm micro-tiles: f32 16 x 6, f64 8 x 6 (2 vectors x 6 columns: 12
 * accumulators, 15 of the 16 ymm registers).  A is read unpacked only up
 * to twice L1 (BL_DIRECT_LEVEL 1): with one line per column segment and 6
 * columns per tile, packing wins beyond (by 2x at A = 1 MiB on Zen 4).
 */
#include <immintrin.h>
#include <stdint.h>

#include "kt_internal.h"
#include "../blas.h"

/* Lane masks for the first n lanes (1 <= n <= 8 / 4): a window into a table. */
static const int32_t mask32_tab[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
static const int64_t mask64_tab[8] = {-1, -1, -1, -1, 0, 0, 0, 0};

static inline __m256i mask32(size_t n)
{
    return _mm256_loadu_si256((const __m256i *)(mask32_tab + 8 - n));
}

static inline __m256i mask64(size_t n)
{
    return _mm256_loadu_si256((const __m256i *)(mask64_tab + 4 - n));
}

/* Horizontal sums. */
static inline float hsum_ps(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline double hsum_pd(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
}

/*
 * In-register transposes of a VLEN x VLEN block (r[i] holds row i; after,
 * r[j] holds column j), for packing transposed A: unpack pairs of rows
 * (and pairs of pairs), then swap the 128-bit halves.
 */
static inline void transpose8_ps(__m256 r[8])
{
    __m256 t[8], s[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* s[4i + c], half l: rows 4i..4i+3 of column 4l + c */
    for (int i = 0; i < 2; i++) {
        __m256d a0 = _mm256_castps_pd(t[4 * i]), a1 = _mm256_castps_pd(t[4 * i + 1]);
        __m256d a2 = _mm256_castps_pd(t[4 * i + 2]), a3 = _mm256_castps_pd(t[4 * i + 3]);
        s[4 * i] = _mm256_castpd_ps(_mm256_unpacklo_pd(a0, a2));
        s[4 * i + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(a0, a2));
        s[4 * i + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(a1, a3));
        s[4 * i + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(a1, a3));
    }
    for (int c = 0; c < 4; c++) {
        r[c] = _mm256_permute2f128_ps(s[c], s[4 + c], 0x20);
        r[4 + c] = _mm256_permute2f128_ps(s[c], s[4 + c], 0x31);
    }
}

static inline void transpose4_pd(__m256d r[4])
{
    /* s[2i + c], half l: rows 2i, 2i+1 of column 2l + c */
    __m256d s0 = _mm256_unpacklo_pd(r[0], r[1]), s1 = _mm256_unpackhi_pd(r[0], r[1]);
    __m256d s2 = _mm256_unpacklo_pd(r[2], r[3]), s3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(s0, s2, 0x20);
    r[1] = _mm256_permute2f128_pd(s1, s3, 0x20);
    r[2] = _mm256_permute2f128_pd(s0, s2, 0x31);
    r[3] = _mm256_permute2f128_pd(s1, s3, 0x31);
}

/* ---- float: 8 lanes ----------------------------------------------------- */

#define BL_T float
#define BL_V __m256
#define BL_VLEN 8
#define BL_MV 2
#define BL_NR 6
#define BL_GV_COLS 4
#define BL_GV_SMALL 12
#define BL_DIRECT_LEVEL 1
#define BL(name) name##_f32
#define BL_ISA "avx2"
#define V_ZERO() _mm256_setzero_ps()
#define V_SET1(s) _mm256_set1_ps(s)
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_STORE(p, v) _mm256_storeu_ps((p), (v))
#define V_LOADN(p, n) _mm256_maskload_ps((p), mask32(n))
#define V_STOREN(p, v, n) _mm256_maskstore_ps((p), mask32(n), (v))
#define V_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define V_MUL(a, b) _mm256_mul_ps((a), (b))
#define V_ADD(a, b) _mm256_add_ps((a), (b))
#define V_HSUM(v) hsum_ps(v)
#define V_TRANSPOSE(r) transpose8_ps(r)
#include "../blas_impl.h"

/* ---- double: 4 lanes ---------------------------------------------------- */

#define BL_T double
#define BL_V __m256d
#define BL_VLEN 4
#define BL_MV 2
#define BL_NR 6
#define BL_GV_COLS 4
#define BL_GV_SMALL 12
#define BL_DIRECT_LEVEL 1
#define BL(name) name##_f64
#define BL_ISA "avx2"
#define V_ZERO() _mm256_setzero_pd()
#define V_SET1(s) _mm256_set1_pd(s)
#define V_LOAD(p) _mm256_loadu_pd(p)
#define V_STORE(p, v) _mm256_storeu_pd((p), (v))
#define V_LOADN(p, n) _mm256_maskload_pd((p), mask64(n))
#define V_STOREN(p, v, n) _mm256_maskstore_pd((p), mask64(n), (v))
#define V_FMA(a, b, c) _mm256_fmadd_pd((a), (b), (c))
#define V_MUL(a, b) _mm256_mul_pd((a), (b))
#define V_ADD(a, b) _mm256_add_pd((a), (b))
#define V_HSUM(v) hsum_pd(v)
#define V_TRANSPOSE(r) transpose4_pd(r)
#include "../blas_impl.h"

/* ---- The variants ------------------------------------------------------- */

kt_status kt_dot_f32_avx2_unit(size_t n, const float *x, const float *y, float *result)
{
    *result = dot_unit_f32(n, x, y);
    return KT_OK;
}

kt_status kt_dot_f64_avx2_unit(size_t n, const double *x, const double *y, double *result)
{
    *result = dot_unit_f64(n, x, y);
    return KT_OK;
}

kt_status kt_dot_f32_avx2(const kt_variant *v, size_t n, const float *x, ptrdiff_t incx,
                          const float *y, ptrdiff_t incy, float *result)
{
    return dot_f32(v, n, x, incx, y, incy, result);
}

kt_status kt_dot_f64_avx2(const kt_variant *v, size_t n, const double *x, ptrdiff_t incx,
                          const double *y, ptrdiff_t incy, double *result)
{
    return dot_f64(v, n, x, incx, y, incy, result);
}

kt_status kt_gemv_f32_avx2(const kt_variant *v, kt_trans trans, size_t m, size_t n, float alpha,
                           const float *a, size_t lda, const float *x, ptrdiff_t incx, float beta,
                           float *y, ptrdiff_t incy)
{
    return gemv_f32(v, trans, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

kt_status kt_gemv_f64_avx2(const kt_variant *v, kt_trans trans, size_t m, size_t n, double alpha,
                           const double *a, size_t lda, const double *x, ptrdiff_t incx,
                           double beta, double *y, ptrdiff_t incy)
{
    return gemv_f64(v, trans, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

kt_status kt_gemm_f32_avx2(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                           size_t n, size_t k, float alpha, const float *a, size_t lda,
                           const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    return gemm_f32(v, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

kt_status kt_gemm_f64_avx2(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                           size_t n, size_t k, double alpha, const double *a, size_t lda,
                           const double *b, size_t ldb, double beta, double *c, size_t ldc)
{
    return gemm_f64(v, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
