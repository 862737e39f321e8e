/*
 * The variants of transpose, stencil3x3 and sort (issue 12): typed
 * signatures and declarations.  Names read as a path: kt_<op>_<dtype>_<impl>.
 *
 * What a variant sees (the entry point has checked and normalised):
 *   transpose   row-major A (m rows of n, leading dimension lda >= n) into
 *               row-major B = A^T (n rows of m, ldb >= m); m, n > 0; A and B
 *               do not overlap.  (Column-major is the same call with m and n
 *               swapped.)
 *   stencil3x3  row-major A (m x n, lda >= n), m, n >= 3, a 3x3 row-major
 *               weight matrix w; B ((m - 2) x (n - 2), ldb >= n - 2) gets
 *               B[i][j] = sum over r, c in 0..2 of w[3r + c] A[i + r][j + c],
 *               summed in the order r = 0..2, c = 0..2 (each variant may
 *               contract to fused multiply-adds; the bound allows for it).
 *   sort        n > 0 elements, in place, ascending; floats: NaNs last (their
 *               payload is not kept: each becomes the default quiet NaN), -0
 *               and +0 compare equal (either order).  Not stable (keys only,
 *               so stability cannot be observed).
 *
 * The variant row's param is the parameter the name shows: the tile of
 * transpose:blocked, the tile height of stencil3x3:blocked, the digit bits
 * of radix, the CUDA block shape (encoded x * 1000 + y).
 */
#ifndef KT_SHAPE_H
#define KT_SHAPE_H

#include "kt_internal.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef kt_status (*kt_transpose_f32_fn)(const kt_variant *v, size_t m, size_t n, const float *a,
                                         size_t lda, float *b, size_t ldb);
typedef kt_status (*kt_transpose_f64_fn)(const kt_variant *v, size_t m, size_t n,
                                         const double *a, size_t lda, double *b, size_t ldb);
typedef kt_status (*kt_stencil3x3_f32_fn)(const kt_variant *v, size_t m, size_t n,
                                          const float *w, const float *a, size_t lda, float *b,
                                          size_t ldb);
typedef kt_status (*kt_stencil3x3_f64_fn)(const kt_variant *v, size_t m, size_t n,
                                          const double *w, const double *a, size_t lda,
                                          double *b, size_t ldb);
typedef kt_status (*kt_sort_f32_fn)(const kt_variant *v, size_t n, float *a);
typedef kt_status (*kt_sort_f64_fn)(const kt_variant *v, size_t n, double *a);
typedef kt_status (*kt_sort_i64_fn)(const kt_variant *v, size_t n, int64_t *a);

#define KT_DECLARE_TRANSPOSE(impl)                                                             \
    kt_status kt_transpose_f32_##impl(const kt_variant *v, size_t m, size_t n, const float *a, \
                                      size_t lda, float *b, size_t ldb);                       \
    kt_status kt_transpose_f64_##impl(const kt_variant *v, size_t m, size_t n,                 \
                                      const double *a, size_t lda, double *b, size_t ldb);
#define KT_DECLARE_STENCIL(impl)                                                               \
    kt_status kt_stencil3x3_f32_##impl(const kt_variant *v, size_t m, size_t n, const float *w, \
                                       const float *a, size_t lda, float *b, size_t ldb);      \
    kt_status kt_stencil3x3_f64_##impl(const kt_variant *v, size_t m, size_t n,                \
                                       const double *w, const double *a, size_t lda,           \
                                       double *b, size_t ldb);
#define KT_DECLARE_SORT(impl)                                                 \
    kt_status kt_sort_f32_##impl(const kt_variant *v, size_t n, float *a);    \
    kt_status kt_sort_f64_##impl(const kt_variant *v, size_t n, double *a);   \
    kt_status kt_sort_i64_##impl(const kt_variant *v, size_t n, int64_t *a);

KT_DECLARE_TRANSPOSE(scalar)  /* element by element */
KT_DECLARE_TRANSPOSE(blocked) /* param x param tiles, scalar code */
KT_DECLARE_TRANSPOSE(avx2)    /* 8x8 (f32) / 4x4 (f64) in-register blocks */
KT_DECLARE_TRANSPOSE(avx512)  /* 16x16 / 8x8 in-register blocks */
KT_DECLARE_TRANSPOSE(threads) /* row stripes of A over threads, best serial kernel each */
KT_DECLARE_TRANSPOSE(cuda)    /* shared-memory tiles, param = tile x * 1000 + y */

KT_DECLARE_STENCIL(scalar)  /* element by element */
KT_DECLARE_STENCIL(avx2)    /* 8 / 4 outputs of a row per vector */
KT_DECLARE_STENCIL(avx512)  /* 16 / 8 outputs per vector */
KT_DECLARE_STENCIL(blocked) /* column strips, param rows per tile, best serial kernel */
KT_DECLARE_STENCIL(threads) /* row blocks over threads, best serial kernel each */
KT_DECLARE_STENCIL(cuda)    /* halo tiles in shared memory, param = block x * 1000 + y */

KT_DECLARE_SORT(qsort)   /* the C library's qsort: the baseline */
KT_DECLARE_SORT(radix)   /* LSD radix, param digit bits (8 or 11) */
KT_DECLARE_SORT(avx512)  /* 16-key sorting networks in registers, then merges */
KT_DECLARE_SORT(threads) /* chunks sorted by the best serial sort, merged in parallel */
KT_DECLARE_SORT(cuda)    /* CUB's device radix sort, host data (transfers counted) */

/*
 * Helpers shared by the sort variants (variants/scalar/sort.c).
 * kt_sort_nan_last: moves the NaNs of a[0..n) to the end (writing the
 * default quiet NaN there) and returns the count of the others, which lie
 * first in their original order.
 */
size_t kt_sort_nan_last_f32(float *a, size_t n);
size_t kt_sort_nan_last_f64(double *a, size_t n);
/*
 * Merges the sorted runs a[0..mid) and a[mid..n) into tmp[0..n) (keys: no NaN).
 */
void kt_sort_merge_f32(const float *a, size_t mid, size_t n, float *tmp);
void kt_sort_merge_f64(const double *a, size_t mid, size_t n, double *tmp);
void kt_sort_merge_i64(const int64_t *a, size_t mid, size_t n, int64_t *tmp);
/* LSD radix sort of keys without NaN, digit bits 8 or 11; KT_ENOMEM without scratch. */
kt_status kt_sort_radix_keys_f32(float *a, size_t n, int bits);
kt_status kt_sort_radix_keys_f64(double *a, size_t n, int bits);
kt_status kt_sort_radix_keys_i64(int64_t *a, size_t n, int bits);

#ifdef __cplusplus
}
#endif

#endif /* KT_SHAPE_H */
