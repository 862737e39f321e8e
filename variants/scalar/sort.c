/*
 * Sorting: the C library's qsort (the baseline), an LSD radix sort with
 * 8- or 11-bit digits, and the helpers the other sort variants share (NaNs
 * moved last, merging two sorted runs, radix sorting of keys).
 *
 * Keys: radix sorting needs an unsigned integer whose order is the value
 * order.  A float's bits with the sign bit set when it is positive, all
 * bits flipped when it is negative, order like the floats (-0 just below
 * +0); an int64's bits with the sign bit flipped order like the integers.
 * NaNs are taken out first (kt_sort_nan_last), so no key is a NaN.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kt_shape.h"

#define KT_SORT_NAN_LAST(T, DT)                                  \
    size_t kt_sort_nan_last_##DT(T *a, size_t n) {               \
        size_t k = 0;                                            \
        for (size_t i = 0; i < n; i++)                           \
            if (!isnan(a[i])) a[k++] = a[i];                     \
        for (size_t i = k; i < n; i++) a[i] = (T)NAN;            \
        return k;                                                \
    }
KT_SORT_NAN_LAST(float, f32)
KT_SORT_NAN_LAST(double, f64)

#define KT_SORT_MERGE(T, DT)                                                          \
    void kt_sort_merge_##DT(const T *a, size_t mid, size_t n, T *tmp) {               \
        size_t i = 0, j = mid, k = 0;                                                 \
        while (i < mid && j < n) tmp[k++] = a[j] < a[i] ? a[j++] : a[i++];            \
        while (i < mid) tmp[k++] = a[i++];                                            \
        while (j < n) tmp[k++] = a[j++];                                              \
    }
KT_SORT_MERGE(float, f32)
KT_SORT_MERGE(double, f64)
KT_SORT_MERGE(int64_t, i64)

/* ---- qsort -------------------------------------------------------------------- */

#define KT_SORT_CMP(T, DT)                                      \
    static int cmp_##DT(const void *p, const void *q) {         \
        T x = *(const T *)p, y = *(const T *)q;                 \
        return (x > y) - (x < y);                               \
    }
KT_SORT_CMP(float, f32)
KT_SORT_CMP(double, f64)
KT_SORT_CMP(int64_t, i64)

kt_status kt_sort_f32_qsort(const kt_variant *v, size_t n, float *a) {
    (void)v;
    qsort(a, kt_sort_nan_last_f32(a, n), sizeof *a, cmp_f32);
    return KT_OK;
}

kt_status kt_sort_f64_qsort(const kt_variant *v, size_t n, double *a) {
    (void)v;
    qsort(a, kt_sort_nan_last_f64(a, n), sizeof *a, cmp_f64);
    return KT_OK;
}

kt_status kt_sort_i64_qsort(const kt_variant *v, size_t n, int64_t *a) {
    (void)v;
    qsort(a, n, sizeof *a, cmp_i64);
    return KT_OK;
}

/* ---- LSD radix ------------------------------------------------------------------- */

static inline uint32_t key_f32(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}
static inline float unkey_f32(uint32_t k) {
    uint32_t u = (k & 0x80000000u) ? k & 0x7fffffffu : ~k;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}
static inline uint64_t key_f64(double x) {
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return (u & 0x8000000000000000u) ? ~u : u | 0x8000000000000000u;
}
static inline double unkey_f64(uint64_t k) {
    uint64_t u = (k & 0x8000000000000000u) ? k & 0x7fffffffffffffffu : ~k;
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}
static inline uint64_t key_i64(int64_t x) { return (uint64_t)x ^ 0x8000000000000000u; }
static inline int64_t unkey_i64(uint64_t k) { return (int64_t)(k ^ 0x8000000000000000u); }

/*
 * Keys into two scratch buffers (the array's own storage has another type),
 * histograms of every digit in the same pass, then one scatter per digit,
 * skipping a digit all keys share; the sorted keys go back as values.
 */
#define KT_RADIX(T, DT, U)                                                                    \
    kt_status kt_sort_radix_keys_##DT(T *a, size_t n, int bits) {                             \
        enum { W = (int)(8 * sizeof(U)) };                                                    \
        const int passes = (W + bits - 1) / bits;                                             \
        const size_t radix = (size_t)1 << bits, mask = radix - 1;                             \
        if (n < 2) return KT_OK;                                                              \
        U *k0 = malloc(2 * n * sizeof *k0);                                                   \
        size_t *count = calloc((size_t)passes * radix, sizeof *count);                        \
        if (!k0 || !count) {                                                                  \
            free(k0), free(count);                                                            \
            return kt_fail(KT_ENOMEM, "sort_" #DT ": no memory for %zu keys", n);             \
        }                                                                                     \
        U *k1 = k0 + n;                                                                       \
        for (size_t i = 0; i < n; i++) {                                                      \
            U k = key_##DT(a[i]);                                                             \
            k0[i] = k;                                                                        \
            for (int p = 0; p < passes; p++) count[(size_t)p * radix + ((k >> (p * bits)) & mask)]++; \
        }                                                                                     \
        for (int p = 0; p < passes; p++) {                                                    \
            size_t *c = count + (size_t)p * radix;                                            \
            if (c[(k0[0] >> (p * bits)) & mask] == n) continue; /* one digit value */         \
            size_t sum = 0;                                                                   \
            for (size_t d = 0; d < radix; d++) {                                              \
                size_t t = c[d];                                                              \
                c[d] = sum, sum += t;                                                         \
            }                                                                                 \
            for (size_t i = 0; i < n; i++) k1[c[(k0[i] >> (p * bits)) & mask]++] = k0[i];     \
            U *t = k0;                                                                        \
            k0 = k1, k1 = t;                                                                  \
        }                                                                                     \
        for (size_t i = 0; i < n; i++) a[i] = unkey_##DT(k0[i]);                              \
        free(k0 < k1 ? k0 : k1);                                                              \
        free(count);                                                                          \
        return KT_OK;                                                                         \
    }
KT_RADIX(float, f32, uint32_t)
KT_RADIX(double, f64, uint64_t)
KT_RADIX(int64_t, i64, uint64_t)

static int radix_bits(const kt_variant *v) { return v->param == 11 ? 11 : 8; }

kt_status kt_sort_f32_radix(const kt_variant *v, size_t n, float *a) {
    return kt_sort_radix_keys_f32(a, kt_sort_nan_last_f32(a, n), radix_bits(v));
}

kt_status kt_sort_f64_radix(const kt_variant *v, size_t n, double *a) {
    return kt_sort_radix_keys_f64(a, kt_sort_nan_last_f64(a, n), radix_bits(v));
}

kt_status kt_sort_i64_radix(const kt_variant *v, size_t n, int64_t *a) {
    return kt_sort_radix_keys_i64(a, n, radix_bits(v));
}
