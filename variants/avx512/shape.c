/*
 * AVX-512 transposes (16x16 f32 and 8x8 f64 blocks transposed in
 * registers) and 3x3 stencils (16 / 8 outputs per vector), through
 * variants/shape_impl.h.
 */
#include "config.h"

#include <immintrin.h>

#include "kt_shape.h"

#define KT_ISA_NAME avx512
#define KT_TB_F32 16
#define KT_TB_F64 8
#define KT_LANES_F32 16
#define KT_LANES_F64 8
typedef __m512 kt_vf32;
typedef __m512d kt_vf64;

static inline kt_vf32 vf32_set1(float s) { return _mm512_set1_ps(s); }
static inline kt_vf32 vf32_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void vf32_store(float *p, kt_vf32 v) { _mm512_storeu_ps(p, v); }
static inline kt_vf32 vf32_mul(kt_vf32 a, kt_vf32 b) { return _mm512_mul_ps(a, b); }
static inline kt_vf32 vf32_fmadd(kt_vf32 a, kt_vf32 b, kt_vf32 c) { return _mm512_fmadd_ps(a, b, c); }
static inline kt_vf64 vf64_set1(double s) { return _mm512_set1_pd(s); }
static inline kt_vf64 vf64_load(const double *p) { return _mm512_loadu_pd(p); }
static inline void vf64_store(double *p, kt_vf64 v) { _mm512_storeu_pd(p, v); }
static inline kt_vf64 vf64_mul(kt_vf64 a, kt_vf64 b) { return _mm512_mul_pd(a, b); }
static inline kt_vf64 vf64_fmadd(kt_vf64 a, kt_vf64 b, kt_vf64 c) { return _mm512_fmadd_pd(a, b, c); }

/*
 * Butterfly stages (s = 8, 4, 2, 1 for f32): rows r (bit s of r clear) and
 * r + s swap their off-diagonal s x s blocks, one two-source permute per
 * row.  Lane j of the new row r is r[j] when bit s of j is clear, else
 * (r + s)[j - s]; of the new row r + s, r[j + s] when clear, else (r + s)[j].
 * Index vectors: 0..L-1 pick the first source, L..2L-1 the second.
 */
/* Index vectors of the stages s = 8, 4, 2, 1: [stage][0] for row r, [stage][1] for row r + s. */
static const int32_t kt_tr_idx32[4][2][16] __attribute__((aligned(64))) = {
    {{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
     {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31}},
    {{0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27},
     {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31}},
    {{0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29},
     {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31}},
    {{0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30},
     {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31}},
};
static const int64_t kt_tr_idx64[3][2][8] __attribute__((aligned(64))) = {
    {{0, 1, 2, 3, 8, 9, 10, 11}, {4, 5, 6, 7, 12, 13, 14, 15}},
    {{0, 1, 8, 9, 4, 5, 12, 13}, {2, 3, 10, 11, 6, 7, 14, 15}},
    {{0, 8, 2, 10, 4, 12, 6, 14}, {1, 9, 3, 11, 5, 13, 7, 15}},
};

static inline void tr_block_f32(const float *a, size_t lda, float *b, size_t ldb) {
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(a + (size_t)i * lda);
    for (int st = 0, s = 8; s >= 1; st++, s >>= 1) {
        const __m512i ilo = _mm512_load_si512(kt_tr_idx32[st][0]);
        const __m512i ihi = _mm512_load_si512(kt_tr_idx32[st][1]);
        for (int i = 0; i < 16; i++) {
            if (i & s) continue;
            __m512 x = r[i], y = r[i + s];
            r[i] = _mm512_permutex2var_ps(x, ilo, y);
            r[i + s] = _mm512_permutex2var_ps(x, ihi, y);
        }
    }
    for (int i = 0; i < 16; i++) _mm512_storeu_ps(b + (size_t)i * ldb, r[i]);
}

static inline void tr_block_f64(const double *a, size_t lda, double *b, size_t ldb) {
    __m512d r[8];
    for (int i = 0; i < 8; i++) r[i] = _mm512_loadu_pd(a + (size_t)i * lda);
    for (int st = 0, s = 4; s >= 1; st++, s >>= 1) {
        const __m512i ilo = _mm512_load_si512(kt_tr_idx64[st][0]);
        const __m512i ihi = _mm512_load_si512(kt_tr_idx64[st][1]);
        for (int i = 0; i < 8; i++) {
            if (i & s) continue;
            __m512d x = r[i], y = r[i + s];
            r[i] = _mm512_permutex2var_pd(x, ilo, y);
            r[i + s] = _mm512_permutex2var_pd(x, ihi, y);
        }
    }
    for (int i = 0; i < 8; i++) _mm512_storeu_pd(b + (size_t)i * ldb, r[i]);
}

#include "shape_impl.h"
