/*
 * The vector kernels (add_scalar, axpy), written once against a small set
 * of vector primitives and instantiated per instruction set: each
 * variants/<isa>/vec.c defines the primitives below, then includes this
 * file (the Highway idea, without the machinery).
 *
 * Primitives each ISA file defines, for T in f32, f64, i64 (element types
 * float, double, int64_t): typedef kt_v<T>; KT_LANES_<T>; v<T>_set1(s);
 * v<T>_load(p); v<T>_store(p, v); v<T>_load_n(p, n) and v<T>_store_n(p, v, n)
 * for 0 < n < lanes (masked: never touching memory past p + n); v<T>_add;
 * v<T>_fmadd(a, b, c) = a*b + c (f32, f64); and KT_VALIGN, the vector size
 * in bytes.
 *
 * Every kernel takes unit-stride data at any alignment: for long vectors a
 * head brings the output to a vector boundary, the body runs four vectors
 * per iteration (enough independent work to cover load latency), one vector
 * at a time after that, and the last n % lanes elements -- and sizes below
 * one vector -- in narrower vectors by the binary digits of the count
 * (kt_small_*: at most one 256-, 128-, 64-bit access and one element), so
 * n = 15 costs four stores, not fifteen, and the avx2 and avx512 kernels run
 * the same instructions below 8 (f64) or 16 (f32) elements.  Heads and tails
 * are neither masked nor overlapping: both defeat store-to-load forwarding
 * when a call follows another on the same data (measured on Intel Xeon
 * family 6 model 167: a 5-element f64 axpy took 13.6 ns with a masked tail,
 * 5.2 ns at 4 elements; overlapping tails cost 1.5-2 ns a call).  Loads and
 * stores are unaligned instructions, which cost nothing extra on aligned
 * addresses.
 */
#ifndef KT_VEC_IMPL_H
#define KT_VEC_IMPL_H

#include <immintrin.h>
#include <math.h>
#include <stdint.h>

/*
 * Elements before p reaches a KT_VALIGN boundary: 0 if p is not element-aligned, or
 * when n is under eight vectors (aligning pays only on long vectors).
 */
static inline size_t kt_head_count(const void *p, size_t elem, size_t n) {
    uintptr_t a = (uintptr_t)p;
    if (a % elem || n < 8 * (KT_VALIGN / elem)) return 0;
    size_t head = ((KT_VALIGN - a % KT_VALIGN) % KT_VALIGN) / elem;
    return head < n ? head : n;
}

/* a + c wrapping around as the vector lanes do (no signed overflow). */
static inline int64_t kt_wrap_add(int64_t a, int64_t c) {
    return (int64_t)((uint64_t)a + (uint64_t)c);
}

/*
 * Fewer elements than one vector of the ISA (n < 16 floats, n < 8 doubles
 * or int64): the binary digits of n, one 256-, 128-, 64-bit vector or
 * element each, none overlapping.  Each access is at the same place and of
 * the same width at every call of the same n, so a call right after
 * another one on the same data loads what the previous one stored straight
 * from the store buffer (overlapping vectors, or masked stores, defeat
 * store-to-load forwarding: measured 1.5-2 ns a call here).  AVX2 and FMA
 * instructions, which both ISA files are compiled with.
 */
static inline void kt_small_add_f32(size_t n, float c, float *a) {
    if (n & 8) {
        _mm256_storeu_ps(a, _mm256_add_ps(_mm256_loadu_ps(a), _mm256_set1_ps(c)));
        a += 8;
    }
    if (n & 4) {
        _mm_storeu_ps(a, _mm_add_ps(_mm_loadu_ps(a), _mm_set1_ps(c)));
        a += 4;
    }
    if (n & 2) {
        /* 64-bit moves through __m128i: their pointer types may alias floats */
        __m128 v = _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)a));
        _mm_storel_epi64((__m128i *)a, _mm_castps_si128(_mm_add_ps(v, _mm_set1_ps(c))));
        a += 2;
    }
    if (n & 1) a[0] += c;
}

static inline void kt_small_add_f64(size_t n, double c, double *a) {
    if (n & 4) {
        _mm256_storeu_pd(a, _mm256_add_pd(_mm256_loadu_pd(a), _mm256_set1_pd(c)));
        a += 4;
    }
    if (n & 2) {
        _mm_storeu_pd(a, _mm_add_pd(_mm_loadu_pd(a), _mm_set1_pd(c)));
        a += 2;
    }
    if (n & 1) a[0] += c;
}

static inline void kt_small_add_i64(size_t n, int64_t c, int64_t *a) {
    if (n & 4) {
        __m256i v = _mm256_loadu_si256((const __m256i *)a);
        _mm256_storeu_si256((__m256i *)a, _mm256_add_epi64(v, _mm256_set1_epi64x(c)));
        a += 4;
    }
    if (n & 2) {
        __m128i v = _mm_loadu_si128((const __m128i *)a);
        _mm_storeu_si128((__m128i *)a, _mm_add_epi64(v, _mm_set1_epi64x(c)));
        a += 2;
    }
    if (n & 1) a[0] = (int64_t)((uint64_t)a[0] + (uint64_t)c);
}

static inline void kt_small_axpy_f32(size_t n, float alpha, const float *x, float *y) {
    if (n & 8) {
        __m256 v = _mm256_fmadd_ps(_mm256_set1_ps(alpha), _mm256_loadu_ps(x), _mm256_loadu_ps(y));
        _mm256_storeu_ps(y, v);
        x += 8, y += 8;
    }
    if (n & 4) {
        _mm_storeu_ps(y, _mm_fmadd_ps(_mm_set1_ps(alpha), _mm_loadu_ps(x), _mm_loadu_ps(y)));
        x += 4, y += 4;
    }
    if (n & 2) {
        __m128 vx = _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)x));
        __m128 vy = _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)y));
        __m128 r = _mm_fmadd_ps(_mm_set1_ps(alpha), vx, vy);
        _mm_storel_epi64((__m128i *)y, _mm_castps_si128(r));
        x += 2, y += 2;
    }
    if (n & 1) y[0] = fmaf(alpha, x[0], y[0]);
}

static inline void kt_small_axpy_f64(size_t n, double alpha, const double *x, double *y) {
    if (n & 4) {
        __m256d v = _mm256_fmadd_pd(_mm256_set1_pd(alpha), _mm256_loadu_pd(x), _mm256_loadu_pd(y));
        _mm256_storeu_pd(y, v);
        x += 4, y += 4;
    }
    if (n & 2) {
        _mm_storeu_pd(y, _mm_fmadd_pd(_mm_set1_pd(alpha), _mm_loadu_pd(x), _mm_loadu_pd(y)));
        x += 2, y += 2;
    }
    if (n & 1) y[0] = fma(alpha, x[0], y[0]);
}

static inline void kt_add_scalar_f32_impl(size_t n, float c, float *a) {
    if (n < KT_LANES_F32) {
        kt_small_add_f32(n, c, a);
        return;
    }
    const kt_vf32 vc = vf32_set1(c);
    size_t i = kt_head_count(a, sizeof *a, n);
    for (size_t j = 0; j < i; j++) a[j] += c;
    float *p = a + i, *const end = a + n;
    for (; end - p >= 4 * KT_LANES_F32; p += 4 * KT_LANES_F32) {
        kt_vf32 a0 = vf32_load(p), a1 = vf32_load(p + KT_LANES_F32);
        kt_vf32 a2 = vf32_load(p + 2 * KT_LANES_F32), a3 = vf32_load(p + 3 * KT_LANES_F32);
        vf32_store(p, vf32_add(a0, vc));
        vf32_store(p + KT_LANES_F32, vf32_add(a1, vc));
        vf32_store(p + 2 * KT_LANES_F32, vf32_add(a2, vc));
        vf32_store(p + 3 * KT_LANES_F32, vf32_add(a3, vc));
    }
    i = (size_t)(p - a);
    for (; i + KT_LANES_F32 <= n; i += KT_LANES_F32) vf32_store(a + i, vf32_add(vf32_load(a + i), vc));
    kt_small_add_f32(n - i, c, a + i);
}

static inline void kt_add_scalar_f64_impl(size_t n, double c, double *a) {
    if (n < KT_LANES_F64) {
        kt_small_add_f64(n, c, a);
        return;
    }
    const kt_vf64 vc = vf64_set1(c);
    size_t i = kt_head_count(a, sizeof *a, n);
    for (size_t j = 0; j < i; j++) a[j] += c;
    double *p = a + i, *const end = a + n;
    for (; end - p >= 4 * KT_LANES_F64; p += 4 * KT_LANES_F64) {
        kt_vf64 a0 = vf64_load(p), a1 = vf64_load(p + KT_LANES_F64);
        kt_vf64 a2 = vf64_load(p + 2 * KT_LANES_F64), a3 = vf64_load(p + 3 * KT_LANES_F64);
        vf64_store(p, vf64_add(a0, vc));
        vf64_store(p + KT_LANES_F64, vf64_add(a1, vc));
        vf64_store(p + 2 * KT_LANES_F64, vf64_add(a2, vc));
        vf64_store(p + 3 * KT_LANES_F64, vf64_add(a3, vc));
    }
    i = (size_t)(p - a);
    for (; i + KT_LANES_F64 <= n; i += KT_LANES_F64) vf64_store(a + i, vf64_add(vf64_load(a + i), vc));
    kt_small_add_f64(n - i, c, a + i);
}

static inline void kt_add_scalar_i64_impl(size_t n, int64_t c, int64_t *a) {
    if (n < KT_LANES_I64) {
        kt_small_add_i64(n, c, a);
        return;
    }
    const kt_vi64 vc = vi64_set1(c);
    size_t i = kt_head_count(a, sizeof *a, n);
    for (size_t j = 0; j < i; j++) a[j] = kt_wrap_add(a[j], c);
    int64_t *p = a + i, *const end = a + n;
    for (; end - p >= 4 * KT_LANES_I64; p += 4 * KT_LANES_I64) {
        kt_vi64 a0 = vi64_load(p), a1 = vi64_load(p + KT_LANES_I64);
        kt_vi64 a2 = vi64_load(p + 2 * KT_LANES_I64), a3 = vi64_load(p + 3 * KT_LANES_I64);
        vi64_store(p, vi64_add(a0, vc));
        vi64_store(p + KT_LANES_I64, vi64_add(a1, vc));
        vi64_store(p + 2 * KT_LANES_I64, vi64_add(a2, vc));
        vi64_store(p + 3 * KT_LANES_I64, vi64_add(a3, vc));
    }
    i = (size_t)(p - a);
    for (; i + KT_LANES_I64 <= n; i += KT_LANES_I64) vi64_store(a + i, vi64_add(vi64_load(a + i), vc));
    kt_small_add_i64(n - i, c, a + i);
}

static inline void kt_axpy_f32_impl(size_t n, float alpha, const float *x, float *y) {
    if (n < KT_LANES_F32) {
        kt_small_axpy_f32(n, alpha, x, y);
        return;
    }
    const kt_vf32 va = vf32_set1(alpha);
    size_t i = kt_head_count(y, sizeof *y, n);
    for (size_t j = 0; j < i; j++) y[j] = fmaf(alpha, x[j], y[j]);
    const float *q = x + i;
    float *p = y + i, *const end = y + n;
    for (; end - p >= 4 * KT_LANES_F32; p += 4 * KT_LANES_F32, q += 4 * KT_LANES_F32) {
        const size_t L = KT_LANES_F32;
        kt_vf32 y0 = vf32_fmadd(va, vf32_load(q), vf32_load(p));
        kt_vf32 y1 = vf32_fmadd(va, vf32_load(q + L), vf32_load(p + L));
        kt_vf32 y2 = vf32_fmadd(va, vf32_load(q + 2 * L), vf32_load(p + 2 * L));
        kt_vf32 y3 = vf32_fmadd(va, vf32_load(q + 3 * L), vf32_load(p + 3 * L));
        vf32_store(p, y0);
        vf32_store(p + L, y1);
        vf32_store(p + 2 * L, y2);
        vf32_store(p + 3 * L, y3);
    }
    i = (size_t)(p - y);
    for (; i + KT_LANES_F32 <= n; i += KT_LANES_F32)
        vf32_store(y + i, vf32_fmadd(va, vf32_load(x + i), vf32_load(y + i)));
    kt_small_axpy_f32(n - i, alpha, x + i, y + i);
}

static inline void kt_axpy_f64_impl(size_t n, double alpha, const double *x, double *y) {
    if (n < KT_LANES_F64) {
        kt_small_axpy_f64(n, alpha, x, y);
        return;
    }
    const kt_vf64 va = vf64_set1(alpha);
    size_t i = kt_head_count(y, sizeof *y, n);
    for (size_t j = 0; j < i; j++) y[j] = fma(alpha, x[j], y[j]);
    const double *q = x + i;
    double *p = y + i, *const end = y + n;
    for (; end - p >= 4 * KT_LANES_F64; p += 4 * KT_LANES_F64, q += 4 * KT_LANES_F64) {
        const size_t L = KT_LANES_F64;
        kt_vf64 y0 = vf64_fmadd(va, vf64_load(q), vf64_load(p));
        kt_vf64 y1 = vf64_fmadd(va, vf64_load(q + L), vf64_load(p + L));
        kt_vf64 y2 = vf64_fmadd(va, vf64_load(q + 2 * L), vf64_load(p + 2 * L));
        kt_vf64 y3 = vf64_fmadd(va, vf64_load(q + 3 * L), vf64_load(p + 3 * L));
        vf64_store(p, y0);
        vf64_store(p + L, y1);
        vf64_store(p + 2 * L, y2);
        vf64_store(p + 3 * L, y3);
    }
    i = (size_t)(p - y);
    for (; i + KT_LANES_F64 <= n; i += KT_LANES_F64)
        vf64_store(y + i, vf64_fmadd(va, vf64_load(x + i), vf64_load(y + i)));
    kt_small_axpy_f64(n - i, alpha, x + i, y + i);
}

/*
 * The exported variant functions of one ISA (KT_ISA_NAME is the suffix);
 * the entry point has already checked unit strides and non-null pointers.
 */
#define KT_VEC_CAT2(a, b) a##b
#define KT_VEC_CAT(a, b) KT_VEC_CAT2(a, b)

kt_status KT_VEC_CAT(kt_add_scalar_i64_, KT_ISA_NAME)(const kt_variant *v, size_t n, int64_t c,
                                                      int64_t *a) {
    (void)v;
    kt_add_scalar_i64_impl(n, c, a);
    return KT_OK;
}
kt_status KT_VEC_CAT(kt_add_scalar_f32_, KT_ISA_NAME)(const kt_variant *v, size_t n, float c,
                                                      float *a) {
    (void)v;
    kt_add_scalar_f32_impl(n, c, a);
    return KT_OK;
}
kt_status KT_VEC_CAT(kt_add_scalar_f64_, KT_ISA_NAME)(const kt_variant *v, size_t n, double c,
                                                      double *a) {
    (void)v;
    kt_add_scalar_f64_impl(n, c, a);
    return KT_OK;
}
kt_status KT_VEC_CAT(kt_axpy_f32_, KT_ISA_NAME)(const kt_variant *v, size_t n, float alpha,
                                                const float *x, ptrdiff_t incx, float *y,
                                                ptrdiff_t incy) {
    (void)v, (void)incx, (void)incy;
    kt_axpy_f32_impl(n, alpha, x, y);
    return KT_OK;
}
kt_status KT_VEC_CAT(kt_axpy_f64_, KT_ISA_NAME)(const kt_variant *v, size_t n, double alpha,
                                                const double *x, ptrdiff_t incx, double *y,
                                                ptrdiff_t incy) {
    (void)v, (void)incx, (void)incy;
    kt_axpy_f64_impl(n, alpha, x, y);
    return KT_OK;
}

#endif /* KT_VEC_IMPL_H */
