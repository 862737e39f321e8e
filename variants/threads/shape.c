/*
 * OpenMP variants of transpose, stencil3x3 and sort: v->threads threads,
 * each running the best serial variant usable here on its part.
 *   transpose  stripes of A's rows (B's columns), starting on cache lines of B;
 *   stencil    blocks of output rows;
 *   sort       one chunk per thread sorted by the best serial sort, then
 *              merge rounds in which every thread writes an equal share of the
 *              output (merge-path splits), so no thread waits for one big merge.
 */
#include "config.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kt_shape.h"
#include "kt_threads.h"

#define KT_TRANSPOSE_THREADS(T, DT, OP)                                                       \
    kt_status kt_transpose_##DT##_threads(const kt_variant *v, size_t m, size_t n, const T *a, \
                                          size_t lda, T *b, size_t ldb) {                     \
        const kt_variant *in = kt_best_serial(OP);                                            \
        kt_transpose_##DT##_fn f = (kt_transpose_##DT##_fn)in->fn;                            \
        const int t = v->threads;                                                             \
        const size_t al = kt_thr_line_elems(sizeof *a);                                              \
        kt_status st = KT_OK;                                                                 \
        _Pragma("omp parallel num_threads(t) reduction(max : st)") {                          \
            size_t lo, hi;                                                                    \
            kt_thr_split(m, omp_get_num_threads(), omp_get_thread_num(), al, &lo, &hi);              \
            if (hi > lo) st = f(in, hi - lo, n, a + lo * lda, lda, b + lo, ldb);              \
        }                                                                                     \
        return st;                                                                            \
    }
KT_TRANSPOSE_THREADS(float, f32, KT_OP_TRANSPOSE_F32)
KT_TRANSPOSE_THREADS(double, f64, KT_OP_TRANSPOSE_F64)

#define KT_STENCIL_THREADS(T, DT, OP)                                                          \
    kt_status kt_stencil3x3_##DT##_threads(const kt_variant *v, size_t m, size_t n,           \
                                           const T *w, const T *a, size_t lda, T *b,          \
                                           size_t ldb) {                                      \
        const kt_variant *in = kt_best_serial(OP);                                             \
        kt_stencil3x3_##DT##_fn f = (kt_stencil3x3_##DT##_fn)in->fn;                           \
        const int t = v->threads;                                                              \
        kt_status st = KT_OK;                                                                  \
        _Pragma("omp parallel num_threads(t) reduction(max : st)") {                           \
            size_t lo, hi;                                                                     \
            kt_thr_split(m - 2, omp_get_num_threads(), omp_get_thread_num(), 1, &lo, &hi);            \
            if (hi > lo) st = f(in, hi - lo + 2, n, w, a + lo * lda, lda, b + lo * ldb, ldb);  \
        }                                                                                      \
        return st;                                                                             \
    }
KT_STENCIL_THREADS(float, f32, KT_OP_STENCIL3X3_F32)
KT_STENCIL_THREADS(double, f64, KT_OP_STENCIL3X3_F64)

/*
 * Merge path: of the first k outputs of merging sorted x[0..nx) and
 * y[0..ny) (x first on ties), how many come from x.
 */
#define KT_MERGE_SPLIT(T, DT)                                                                  \
    static size_t split_##DT(const T *x, size_t nx, const T *y, size_t ny, size_t k) {          \
        size_t lo = k > ny ? k - ny : 0, hi = k < nx ? k : nx;                                  \
        while (lo < hi) {                                                                       \
            size_t i = lo + (hi - lo) / 2; /* x[i] goes before y[k - i - 1]? */                \
            if (y[k - i - 1] < x[i]) hi = i;                                                    \
            else lo = i + 1;                                                                    \
        }                                                                                       \
        return lo;                                                                              \
    }

/* Outputs [k0, k1) of merging x and y into out (out points at output 0). */
#define KT_MERGE_PART(T, DT)                                                                   \
    static void merge_part_##DT(const T *x, size_t nx, const T *y, size_t ny, size_t k0,      \
                                size_t k1, T *out) {                                           \
        size_t i = split_##DT(x, nx, y, ny, k0), j = k0 - i;                                   \
        for (size_t k = k0; k < k1; k++)                                                       \
            out[k] = (i < nx && (j >= ny || !(y[j] < x[i]))) ? x[i++] : y[j++];                \
    }

/*
 * Chunks sorted in parallel, then rounds merging neighbouring runs: in each
 * round thread id writes outputs [n id / t, n (id + 1) / t), merging the
 * parts of the pairs of runs that overlap its range.
 */
#define KT_SORT_THREADS_KEYS(T, DT, OP)                                                        \
    KT_MERGE_SPLIT(T, DT)                                                                      \
    KT_MERGE_PART(T, DT)                                                                       \
    static kt_status sort_keys_##DT(const kt_variant *v, size_t n, T *a) {                     \
        const kt_variant *in = kt_best_serial(OP);                                             \
        kt_sort_##DT##_fn f = (kt_sort_##DT##_fn)in->fn;                                       \
        const int t = v->threads;                                                              \
        if (n < 2) return KT_OK;                                                               \
        size_t bnd[65];                                                                        \
        int runs = t < 64 ? t : 64;                                                            \
        for (int r = 0; r <= runs; r++) bnd[r] = n * (size_t)r / (size_t)runs;                 \
        T *tmp = malloc(n * sizeof *tmp);                                                      \
        if (!tmp) return kt_fail(KT_ENOMEM, "sort_" #DT ": no memory for %zu keys", n);        \
        kt_status st = KT_OK;                                                                  \
        _Pragma("omp parallel for num_threads(t) reduction(max : st) schedule(static, 1)")     \
        for (int r = 0; r < runs; r++)                                                         \
            if (bnd[r + 1] > bnd[r]) st = f(in, bnd[r + 1] - bnd[r], a + bnd[r]);              \
        T *src = a, *dst = tmp;                                                                \
        while (st == KT_OK && runs > 1) {                                                      \
            _Pragma("omp parallel num_threads(t)") {                                           \
                int nt = omp_get_num_threads(), id = omp_get_thread_num();                     \
                size_t k0 = n * (size_t)id / (size_t)nt, k1 = n * (size_t)(id + 1) / (size_t)nt; \
                for (int r = 0; r < runs; r += 2) {                                            \
                    size_t lo = bnd[r], mid = bnd[r + 1 <= runs ? r + 1 : runs];               \
                    size_t hi = r + 2 <= runs ? bnd[r + 2] : mid;                              \
                    size_t a0 = k0 > lo ? k0 : lo, a1 = k1 < hi ? k1 : hi;                     \
                    if (a0 >= a1) continue;                                                    \
                    merge_part_##DT(src + lo, mid - lo, src + mid, hi - mid, a0 - lo, a1 - lo, \
                                    dst + lo);                                                 \
                }                                                                              \
            }                                                                                  \
            int nr = 0;                                                                        \
            for (int r = 0; r < runs; r += 2) bnd[++nr] = r + 2 <= runs ? bnd[r + 2] : bnd[runs]; \
            runs = nr;                                                                         \
            T *x = src;                                                                        \
            src = dst, dst = x;                                                                \
        }                                                                                      \
        if (st == KT_OK && src != a) memcpy(a, src, n * sizeof *a);                            \
        free(tmp);                                                                             \
        return st;                                                                             \
    }
KT_SORT_THREADS_KEYS(float, f32, KT_OP_SORT_F32)
KT_SORT_THREADS_KEYS(double, f64, KT_OP_SORT_F64)
KT_SORT_THREADS_KEYS(int64_t, i64, KT_OP_SORT_I64)

kt_status kt_sort_f32_threads(const kt_variant *v, size_t n, float *a) {
    return sort_keys_f32(v, kt_sort_nan_last_f32(a, n), a);
}

kt_status kt_sort_f64_threads(const kt_variant *v, size_t n, double *a) {
    return sort_keys_f64(v, kt_sort_nan_last_f64(a, n), a);
}

kt_status kt_sort_i64_threads(const kt_variant *v, size_t n, int64_t *a) {
    return sort_keys_i64(v, n, a);
}
