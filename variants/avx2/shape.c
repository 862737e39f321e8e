/*
 * AVX2 transposes (8x8 f32 and 4x4 f64 blocks transposed in registers) and
 * 3x3 stencils (8 / 4 outputs per vector), through variants/shape_impl.h.
 */
#include "config.h"

#include <immintrin.h>

#include "kt_shape.h"

#define KT_ISA_NAME avx2
#define KT_TB_F32 8
#define KT_TB_F64 4
#define KT_LANES_F32 8
#define KT_LANES_F64 4
typedef __m256 kt_vf32;
typedef __m256d kt_vf64;

static inline kt_vf32 vf32_set1(float s) { return _mm256_set1_ps(s); }
static inline kt_vf32 vf32_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void vf32_store(float *p, kt_vf32 v) { _mm256_storeu_ps(p, v); }
static inline kt_vf32 vf32_mul(kt_vf32 a, kt_vf32 b) { return _mm256_mul_ps(a, b); }
static inline kt_vf32 vf32_fmadd(kt_vf32 a, kt_vf32 b, kt_vf32 c) { return _mm256_fmadd_ps(a, b, c); }
static inline kt_vf64 vf64_set1(double s) { return _mm256_set1_pd(s); }
static inline kt_vf64 vf64_load(const double *p) { return _mm256_loadu_pd(p); }
static inline void vf64_store(double *p, kt_vf64 v) { _mm256_storeu_pd(p, v); }
static inline kt_vf64 vf64_mul(kt_vf64 a, kt_vf64 b) { return _mm256_mul_pd(a, b); }
static inline kt_vf64 vf64_fmadd(kt_vf64 a, kt_vf64 b, kt_vf64 c) { return _mm256_fmadd_pd(a, b, c); }

/*
 * 8x8 f32: three butterfly stages, each swapping the off-diagonal s x s
 * blocks of every 2s x 2s block (s = 1, 2, 4), so rows r and r + s become
 *   r:     lanes j with bit s clear from r,      the others from r + s (shifted down by s)
 *   r + s: lanes j with bit s clear from r (up by s), the others from r + s.
 */
static inline void tr_block_f32(const float *a, size_t lda, float *b, size_t ldb) {
    __m256 r[8], t[8];
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(a + (size_t)i * lda);
    for (int i = 0; i < 8; i += 2) { /* s = 1 */
        t[i] = _mm256_blend_ps(r[i], _mm256_moveldup_ps(r[i + 1]), 0xaa);
        t[i + 1] = _mm256_blend_ps(_mm256_movehdup_ps(r[i]), r[i + 1], 0xaa);
    }
    for (int i = 0; i < 8; i += 4)
        for (int k = 0; k < 2; k++) { /* s = 2 */
            r[i + k] = _mm256_shuffle_ps(t[i + k], t[i + k + 2], _MM_SHUFFLE(1, 0, 1, 0));
            r[i + k + 2] = _mm256_shuffle_ps(t[i + k], t[i + k + 2], _MM_SHUFFLE(3, 2, 3, 2));
        }
    for (int k = 0; k < 4; k++) { /* s = 4 */
        t[k] = _mm256_permute2f128_ps(r[k], r[k + 4], 0x20);
        t[k + 4] = _mm256_permute2f128_ps(r[k], r[k + 4], 0x31);
    }
    for (int i = 0; i < 8; i++) _mm256_storeu_ps(b + (size_t)i * ldb, t[i]);
}

/* 4x4 f64: the same stages for s = 1, 2. */
static inline void tr_block_f64(const double *a, size_t lda, double *b, size_t ldb) {
    __m256d r0 = _mm256_loadu_pd(a), r1 = _mm256_loadu_pd(a + lda);
    __m256d r2 = _mm256_loadu_pd(a + 2 * lda), r3 = _mm256_loadu_pd(a + 3 * lda);
    __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
    __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
    _mm256_storeu_pd(b, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm256_storeu_pd(b + ldb, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm256_storeu_pd(b + 2 * ldb, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm256_storeu_pd(b + 3 * ldb, _mm256_permute2f128_pd(t1, t3, 0x31));
}

#include "shape_impl.h"
