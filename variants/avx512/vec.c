/* AVX-512 vector kernels: 512-bit primitives (with lane masks) for variants/vec_impl.h. */
#include "config.h"

#include <immintrin.h>

#include "kt_variants.h"

#define KT_ISA_NAME avx512
#define KT_VALIGN 64
#define KT_LANES_F32 16
#define KT_LANES_F64 8
#define KT_LANES_I64 8
typedef __m512 kt_vf32;
typedef __m512d kt_vf64;
typedef __m512i kt_vi64;

/* Masked accesses never touch (or fault on) lanes that are off. */
static inline __mmask16 mask16(size_t n) { return (__mmask16)((1u << n) - 1u); }
static inline __mmask8 mask8(size_t n) { return (__mmask8)((1u << n) - 1u); }

static inline kt_vf32 vf32_set1(float s) { return _mm512_set1_ps(s); }
static inline kt_vf32 vf32_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void vf32_store(float *p, kt_vf32 v) { _mm512_storeu_ps(p, v); }
static inline kt_vf32 vf32_load_n(const float *p, size_t n) { return _mm512_maskz_loadu_ps(mask16(n), p); }
static inline void vf32_store_n(float *p, kt_vf32 v, size_t n) { _mm512_mask_storeu_ps(p, mask16(n), v); }
static inline kt_vf32 vf32_add(kt_vf32 a, kt_vf32 b) { return _mm512_add_ps(a, b); }
static inline kt_vf32 vf32_fmadd(kt_vf32 a, kt_vf32 b, kt_vf32 c) { return _mm512_fmadd_ps(a, b, c); }

static inline kt_vf64 vf64_set1(double s) { return _mm512_set1_pd(s); }
static inline kt_vf64 vf64_load(const double *p) { return _mm512_loadu_pd(p); }
static inline void vf64_store(double *p, kt_vf64 v) { _mm512_storeu_pd(p, v); }
static inline kt_vf64 vf64_load_n(const double *p, size_t n) { return _mm512_maskz_loadu_pd(mask8(n), p); }
static inline void vf64_store_n(double *p, kt_vf64 v, size_t n) { _mm512_mask_storeu_pd(p, mask8(n), v); }
static inline kt_vf64 vf64_add(kt_vf64 a, kt_vf64 b) { return _mm512_add_pd(a, b); }
static inline kt_vf64 vf64_fmadd(kt_vf64 a, kt_vf64 b, kt_vf64 c) { return _mm512_fmadd_pd(a, b, c); }

static inline kt_vi64 vi64_set1(int64_t s) { return _mm512_set1_epi64(s); }
static inline kt_vi64 vi64_load(const int64_t *p) { return _mm512_loadu_si512(p); }
static inline void vi64_store(int64_t *p, kt_vi64 v) { _mm512_storeu_si512(p, v); }
static inline kt_vi64 vi64_load_n(const int64_t *p, size_t n) { return _mm512_maskz_loadu_epi64(mask8(n), p); }
static inline void vi64_store_n(int64_t *p, kt_vi64 v, size_t n) { _mm512_mask_storeu_epi64(p, mask8(n), v); }
static inline kt_vi64 vi64_add(kt_vi64 a, kt_vi64 b) { return _mm512_add_epi64(a, b); }

#include "../vec_impl.h"
