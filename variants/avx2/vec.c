/* AVX2 (+FMA) vector kernels: 256-bit primitives for variants/vec_impl.h. */
#include "config.h"

#include <immintrin.h>

#include "kt_variants.h"

#define KT_ISA_NAME avx2
#define KT_VALIGN 32
#define KT_LANES_F32 8
#define KT_LANES_F64 4
#define KT_LANES_I64 4
typedef __m256 kt_vf32;
typedef __m256d kt_vf64;
typedef __m256i kt_vi64;

/* Lane masks for n < lanes: lane j is on when j < n. */
static inline __m256i mask32(size_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static inline __m256i mask64(size_t n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)n), _mm256_setr_epi64x(0, 1, 2, 3));
}

static inline kt_vf32 vf32_set1(float s) { return _mm256_set1_ps(s); }
static inline kt_vf32 vf32_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void vf32_store(float *p, kt_vf32 v) { _mm256_storeu_ps(p, v); }
static inline kt_vf32 vf32_load_n(const float *p, size_t n) { return _mm256_maskload_ps(p, mask32(n)); }
static inline void vf32_store_n(float *p, kt_vf32 v, size_t n) { _mm256_maskstore_ps(p, mask32(n), v); }
static inline kt_vf32 vf32_add(kt_vf32 a, kt_vf32 b) { return _mm256_add_ps(a, b); }
static inline kt_vf32 vf32_fmadd(kt_vf32 a, kt_vf32 b, kt_vf32 c) { return _mm256_fmadd_ps(a, b, c); }

static inline kt_vf64 vf64_set1(double s) { return _mm256_set1_pd(s); }
static inline kt_vf64 vf64_load(const double *p) { return _mm256_loadu_pd(p); }
static inline void vf64_store(double *p, kt_vf64 v) { _mm256_storeu_pd(p, v); }
static inline kt_vf64 vf64_load_n(const double *p, size_t n) { return _mm256_maskload_pd(p, mask64(n)); }
static inline void vf64_store_n(double *p, kt_vf64 v, size_t n) { _mm256_maskstore_pd(p, mask64(n), v); }
static inline kt_vf64 vf64_add(kt_vf64 a, kt_vf64 b) { return _mm256_add_pd(a, b); }
static inline kt_vf64 vf64_fmadd(kt_vf64 a, kt_vf64 b, kt_vf64 c) { return _mm256_fmadd_pd(a, b, c); }

static inline kt_vi64 vi64_set1(int64_t s) { return _mm256_set1_epi64x(s); }
static inline kt_vi64 vi64_load(const int64_t *p) { return _mm256_loadu_si256((const __m256i *)p); }
static inline void vi64_store(int64_t *p, kt_vi64 v) { _mm256_storeu_si256((__m256i *)p, v); }
static inline kt_vi64 vi64_load_n(const int64_t *p, size_t n) {
    return _mm256_maskload_epi64((const long long *)p, mask64(n));
}
static inline void vi64_store_n(int64_t *p, kt_vi64 v, size_t n) {
    _mm256_maskstore_epi64((long long *)p, mask64(n), v);
}
static inline kt_vi64 vi64_add(kt_vi64 a, kt_vi64 b) { return _mm256_add_epi64(a, b); }

#include "../vec_impl.h"
