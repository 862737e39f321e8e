/*
 * Scalar transposes: element by element (the baseline), and cache-blocked
 * with a square tile (param: 8, 16, 32, 64 elements), where both A's rows
 * and B's rows of a tile stay in cache while it is copied.  Which tile wins
 * depends on the element size, the cache and the leading dimensions (large
 * powers of two alias in the cache sets), so each is its own variant.
 */
#include "config.h"

#include "kt_shape.h"

/* B[j][i] = A[i][j] for i in [i0, i1), j in [j0, j1). */
#define KT_TRANSPOSE_RECT(T)                                                                  \
    static inline void transpose_rect_##T(const T *a, size_t lda, T *b, size_t ldb, size_t i0, \
                                          size_t i1, size_t j0, size_t j1) {                  \
        for (size_t i = i0; i < i1; i++)                                                       \
            for (size_t j = j0; j < j1; j++) b[j * ldb + i] = a[i * lda + j];                  \
    }
KT_TRANSPOSE_RECT(float)
KT_TRANSPOSE_RECT(double)

kt_status kt_transpose_f32_scalar(const kt_variant *v, size_t m, size_t n, const float *a,
                                  size_t lda, float *b, size_t ldb) {
    (void)v;
    transpose_rect_float(a, lda, b, ldb, 0, m, 0, n);
    return KT_OK;
}

kt_status kt_transpose_f64_scalar(const kt_variant *v, size_t m, size_t n, const double *a,
                                  size_t lda, double *b, size_t ldb) {
    (void)v;
    transpose_rect_double(a, lda, b, ldb, 0, m, 0, n);
    return KT_OK;
}

#define KT_TRANSPOSE_BLOCKED(T, DT)                                                           \
    kt_status kt_transpose_##DT##_blocked(const kt_variant *v, size_t m, size_t n, const T *a, \
                                          size_t lda, T *b, size_t ldb) {                     \
        const size_t t = v->param > 0 ? (size_t)v->param : 32;                                \
        for (size_t i0 = 0; i0 < m; i0 += t) {                                                \
            size_t i1 = i0 + t < m ? i0 + t : m;                                              \
            for (size_t j0 = 0; j0 < n; j0 += t)                                              \
                transpose_rect_##T(a, lda, b, ldb, i0, i1, j0, j0 + t < n ? j0 + t : n);      \
        }                                                                                     \
        return KT_OK;                                                                         \
    }
KT_TRANSPOSE_BLOCKED(float, f32)
KT_TRANSPOSE_BLOCKED(double, f64)
