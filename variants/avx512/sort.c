/*
 * AVX-512 sort for small arrays: every block of one register (16 f32, 8
 * f64 or i64) is sorted in registers by a bitonic network (each stage: a
 * lane permute, min, max and a blend by lane mask), the last block padded
 * with the largest value; then the sorted blocks are merged bottom-up, a
 * register at a time (a bitonic merge of two sorted registers), between two
 * scratch buffers.  NaNs are moved last first (min and max are not total on
 * them).
 */
#include "config.h"

#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kt_shape.h"

/*
 * Stage (k, j) of the bitonic network on L lanes: lane i meets lane i ^ j
 * and keeps the larger when (i & j) differs from (i & k) (k = L: ascending
 * everywhere), else the smaller.  The tables hold, per stage, the partner
 * indices and the mask of the lanes that keep the larger.
 */
typedef struct net_stage {
    int32_t idx[16];
    int64_t idx64[8];
    uint16_t max_mask;
} net_stage;

#define NET16 10 /* stages for 16 lanes: 1 + 2 + 3 + 4 */
#define NET8 6   /* for 8 lanes: 1 + 2 + 3 */

static net_stage net16[NET16], net8[NET8];
/* The half-cleaners of a bitonic merge (partners i ^ j, j = L/2 .. 1) and lane reversal. */
static net_stage clean16[4], clean8[3], rev;

static void net_build(net_stage *st, int lanes) {
    int s = 0;
    for (int k = 2; k <= lanes; k <<= 1)
        for (int j = k >> 1; j >= 1; j >>= 1, s++) {
            st[s].max_mask = 0;
            for (int i = 0; i < lanes; i++) {
                if (lanes == 16) st[s].idx[i] = i ^ j;
                else st[s].idx64[i] = i ^ j;
                if (((i & j) != 0) != ((i & k) != 0 && k < lanes)) st[s].max_mask |= (uint16_t)(1u << i);
            }
        }
}

static void nets_build(void) {
    net_build(net16, 16);
    net_build(net8, 8);
    for (int s = 0, j = 8; j >= 1; s++, j >>= 1) {
        clean16[s].max_mask = 0;
        for (int i = 0; i < 16; i++) {
            clean16[s].idx[i] = i ^ j;
            if (i & j) clean16[s].max_mask |= (uint16_t)(1u << i);
        }
    }
    for (int s = 0, j = 4; j >= 1; s++, j >>= 1) {
        clean8[s].max_mask = 0;
        for (int i = 0; i < 8; i++) {
            clean8[s].idx64[i] = i ^ j;
            if (i & j) clean8[s].max_mask |= (uint16_t)(1u << i);
        }
    }
    for (int i = 0; i < 16; i++) rev.idx[i] = 15 - i;
    for (int i = 0; i < 8; i++) rev.idx64[i] = 7 - i;
}

static void nets_init(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, nets_build);
}

static inline __m512 sort16_ps(__m512 v) {
    for (int s = 0; s < NET16; s++) {
        __m512 p = _mm512_permutexvar_ps(_mm512_loadu_si512(net16[s].idx), v);
        v = _mm512_mask_blend_ps(net16[s].max_mask, _mm512_min_ps(v, p), _mm512_max_ps(v, p));
    }
    return v;
}

static inline __m512d sort8_pd(__m512d v) {
    for (int s = 0; s < NET8; s++) {
        __m512d p = _mm512_permutexvar_pd(_mm512_loadu_si512(net8[s].idx64), v);
        v = _mm512_mask_blend_pd((__mmask8)net8[s].max_mask, _mm512_min_pd(v, p),
                                 _mm512_max_pd(v, p));
    }
    return v;
}

static inline __m512i sort8_epi64(__m512i v) {
    for (int s = 0; s < NET8; s++) {
        __m512i p = _mm512_permutexvar_epi64(_mm512_loadu_si512(net8[s].idx64), v);
        v = _mm512_mask_blend_epi64((__mmask8)net8[s].max_mask, _mm512_min_epi64(v, p),
                                    _mm512_max_epi64(v, p));
    }
    return v;
}

/*
 * Two sorted vectors into the lower and the upper half of their union, each
 * sorted: one against the other reversed (min / max give two bitonic
 * halves, every lane of lo below every lane of hi), then half-cleaners.
 */
#define KT_BMERGE(VT, SFX, L, CLEAN, NCLEAN, IDX, MASK)                                       \
    static inline void bmerge_##SFX(VT *a, VT *b) {                                            \
        VT rb = _mm512_permutexvar_##SFX(_mm512_loadu_si512(rev.IDX), *b);                      \
        VT v[2] = {_mm512_min_##SFX(*a, rb), _mm512_max_##SFX(*a, rb)};                         \
        for (int h = 0; h < 2; h++)                                                             \
            for (int s = 0; s < NCLEAN; s++) {                                                  \
                VT p = _mm512_permutexvar_##SFX(_mm512_loadu_si512(CLEAN[s].IDX), v[h]);        \
                v[h] = _mm512_mask_blend_##SFX((MASK)CLEAN[s].max_mask,                         \
                                               _mm512_min_##SFX(v[h], p),                       \
                                               _mm512_max_##SFX(v[h], p));                      \
            }                                                                                   \
        *a = v[0], *b = v[1];                                                                   \
    }
KT_BMERGE(__m512, ps, 16, clean16, 4, idx, __mmask16)
KT_BMERGE(__m512d, pd, 8, clean8, 3, idx64, __mmask8)
KT_BMERGE(__m512i, epi64, 8, clean8, 3, idx64, __mmask8)

/*
 * Merges sorted runs x[0..nx) and y[0..ny) (multiples of L, both > 0) into
 * out: the register holding the L largest so far meets the next vector of
 * whichever run has the smaller head; its lower half is final.
 */
#define KT_VMERGE(T, DT, VT, SFX, L, LOAD, STORE)                                              \
    static void vmerge_##DT(const T *x, size_t nx, const T *y, size_t ny, T *out) {            \
        VT va = LOAD(x), vb = LOAD(y);                                                          \
        size_t px = L, py = L, k = 0;                                                           \
        for (;;) {                                                                              \
            bmerge_##SFX(&va, &vb);                                                             \
            STORE(out + k, va);                                                                 \
            k += L;                                                                             \
            if (px >= nx && py >= ny) break;                                                    \
            va = vb;                                                                            \
            if (px < nx && (py >= ny || !(y[py] < x[px]))) vb = LOAD(x + px), px += L;          \
            else vb = LOAD(y + py), py += L;                                                    \
        }                                                                                       \
        STORE(out + k, vb);                                                                     \
    }

/*
 * Blocks sorted in registers into a scratch copy padded with the largest
 * value to a multiple of L, then merge passes of doubling width between two
 * such buffers (an unpaired last run is copied); the first n go back.
 */
#define KT_SORT_NET(T, DT, VT, SFX, L, LOAD_PAD, STORE_N, LOAD, STORE, SORTV, PAD)           \
    KT_VMERGE(T, DT, VT, SFX, L, LOAD, STORE)                                                 \
    static kt_status kt_sort_##DT##_avx512_keys(T *a, size_t n) {                                    \
        nets_init();                                                                          \
        if (n <= L) {                                                                         \
            __mmask16 m = (__mmask16)((1u << n) - 1u);                                        \
            STORE_N(a, m, SORTV(LOAD_PAD(PAD, m, a)));                                        \
            return KT_OK;                                                                     \
        }                                                                                     \
        const size_t np = (n + L - 1) / L * L;                                                \
        T *buf = malloc(2 * np * sizeof *buf);                                                \
        if (!buf) return kt_fail(KT_ENOMEM, "sort_" #DT ": no memory for %zu keys", n);       \
        T *src = buf, *dst = buf + np;                                                        \
        for (size_t i = 0; i < np; i += L) {                                                  \
            size_t r = n - i < L ? n - i : L;                                                 \
            __mmask16 m = (__mmask16)((1u << r) - 1u);                                        \
            STORE(src + i, SORTV(LOAD_PAD(PAD, m, a + i)));                                   \
        }                                                                                     \
        for (size_t w = L; w < np; w *= 2) {                                                  \
            for (size_t lo = 0; lo < np; lo += 2 * w) {                                       \
                size_t mid = lo + w < np ? lo + w : np, hi = lo + 2 * w < np ? lo + 2 * w : np; \
                if (mid == hi) memcpy(dst + lo, src + lo, (mid - lo) * sizeof *src);          \
                else vmerge_##DT(src + lo, mid - lo, src + mid, hi - mid, dst + lo);          \
            }                                                                                 \
            T *t = src;                                                                       \
            src = dst, dst = t;                                                               \
        }                                                                                     \
        memcpy(a, src, n * sizeof *a);                                                        \
        free(buf);                                                                            \
        return KT_OK;                                                                         \
    }

#define LOAD_PS(pad, m, p) _mm512_mask_loadu_ps(_mm512_set1_ps(pad), m, p)
#define STORE_PS(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define LOAD_PD(pad, m, p) _mm512_mask_loadu_pd(_mm512_set1_pd(pad), (__mmask8)(m), p)
#define STORE_PD(p, m, v) _mm512_mask_storeu_pd(p, (__mmask8)(m), v)
#define LOAD_EPI64(pad, m, p) _mm512_mask_loadu_epi64(_mm512_set1_epi64(pad), (__mmask8)(m), p)
#define STORE_EPI64(p, m, v) _mm512_mask_storeu_epi64(p, (__mmask8)(m), v)

#define LDU_PS(p) _mm512_loadu_ps(p)
#define STU_PS(p, v) _mm512_storeu_ps(p, v)
#define LDU_PD(p) _mm512_loadu_pd(p)
#define STU_PD(p, v) _mm512_storeu_pd(p, v)
#define LDU_EPI64(p) _mm512_loadu_si512(p)
#define STU_EPI64(p, v) _mm512_storeu_si512(p, v)

KT_SORT_NET(float, f32, __m512, ps, 16, LOAD_PS, STORE_PS, LDU_PS, STU_PS, sort16_ps, INFINITY)
KT_SORT_NET(double, f64, __m512d, pd, 8, LOAD_PD, STORE_PD, LDU_PD, STU_PD, sort8_pd, INFINITY)
KT_SORT_NET(int64_t, i64, __m512i, epi64, 8, LOAD_EPI64, STORE_EPI64, LDU_EPI64, STU_EPI64,
            sort8_epi64, INT64_MAX)

kt_status kt_sort_f32_avx512(const kt_variant *v, size_t n, float *a) {
    (void)v;
    return kt_sort_f32_avx512_keys(a, kt_sort_nan_last_f32(a, n));
}

kt_status kt_sort_f64_avx512(const kt_variant *v, size_t n, double *a) {
    (void)v;
    return kt_sort_f64_avx512_keys(a, kt_sort_nan_last_f64(a, n));
}

kt_status kt_sort_i64_avx512(const kt_variant *v, size_t n, int64_t *a) {
    (void)v;
    return kt_sort_i64_avx512_keys(a, n);
}
