/*
 * variants/cuda/shape.cu: CUDA variants of transpose, stencil3x3 and sort
 * (variants/kt_shape.h), host data in and out through the thread's context
 * (kt_cuda.h): every call copies its inputs, runs, copies the output back,
 * one wait; the transfers are part of what the caller pays.
 *
 * v->param encodes the block shape as x * 1000 + y:
 *   transpose   16016: 16x16 tile, 16x16 threads;  32008: 32x32 tile, 32x8
 *               threads (each thread four rows);    32032: 32x32 tile, 32x32
 *               threads.  The shared tile has one padding column, so the
 *               column reads of the transposed write do not hit one bank.
 *   stencil3x3  32004, 32008, 16016: x by y outputs per block, from an
 *               (x + 2) by (y + 2) halo tile of inputs in shared memory.
 *   sort        0: CUB's DeviceRadixSort::SortKeys over the key bits.
 * Tiles are visited with grid-stride loops, so any shape fits the grid.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <type_traits>

#include <cub/device/device_radix_sort.cuh>
#include <cuda_runtime.h>

#include "kt_cuda.h"
#include "kt_shape.h"

static_assert(std::is_same<decltype(&kt_transpose_f32_cuda), kt_transpose_f32_fn>::value, "");
static_assert(std::is_same<decltype(&kt_transpose_f64_cuda), kt_transpose_f64_fn>::value, "");
static_assert(std::is_same<decltype(&kt_stencil3x3_f32_cuda), kt_stencil3x3_f32_fn>::value, "");
static_assert(std::is_same<decltype(&kt_stencil3x3_f64_cuda), kt_stencil3x3_f64_fn>::value, "");
static_assert(std::is_same<decltype(&kt_sort_f32_cuda), kt_sort_f32_fn>::value, "");
static_assert(std::is_same<decltype(&kt_sort_f64_cuda), kt_sort_f64_fn>::value, "");
static_assert(std::is_same<decltype(&kt_sort_i64_cuda), kt_sort_i64_fn>::value, "");

/* Grid extent for tiles tiles along one axis, capped (the loops stride over the rest). */
static unsigned grid_dim(size_t tiles, unsigned cap) {
    return tiles < cap ? (unsigned)(tiles ? tiles : 1) : cap;
}

/* ---- transpose ---------------------------------------------------------------- */

/* B (n x m, packed) = A^T, A m x n packed, both row-major; TILE x TILE tiles, TILE x ROWS threads. */
template <typename T, int TILE, int ROWS>
static __global__ void kt_transpose_kernel(size_t m, size_t n, const T *__restrict__ a,
                                           T *__restrict__ b) {
    __shared__ T tile[TILE][TILE + 1];
    const size_t tiles_i = (m + TILE - 1) / TILE, tiles_j = (n + TILE - 1) / TILE;
    for (size_t ti = blockIdx.y; ti < tiles_i; ti += gridDim.y)
        for (size_t tj = blockIdx.x; tj < tiles_j; tj += gridDim.x) {
            const size_t i0 = ti * TILE, j0 = tj * TILE;
            const size_t j = j0 + threadIdx.x;
            for (int r = threadIdx.y; r < TILE; r += ROWS) {
                const size_t i = i0 + r;
                if (i < m && j < n) tile[r][threadIdx.x] = a[i * n + j];
            }
            __syncthreads();
            const size_t oi = i0 + threadIdx.x; /* column of B = row of A */
            for (int r = threadIdx.y; r < TILE; r += ROWS) {
                const size_t oj = j0 + r;           /* row of B = column of A */
                if (oj < n && oi < m) b[oj * m + oi] = tile[threadIdx.x][r];
            }
            __syncthreads();
        }
}

template <typename T>
static kt_status transpose_cuda(const kt_variant *v, const char *op, size_t m, size_t n,
                                const T *a, size_t lda, T *b, size_t ldb) {
    const int p = v->param;
    if (p != 16016 && p != 32008 && p != 32032)
        return kt_fail(KT_EINTERNAL, "%s %s: bad tile %d in the registry", op, v->name, p);
    const int tile = p / 1000, rows = p % 1000;
    kt_cuda_call call;
    if (kt_cuda_begin(&call, op, v) != KT_OK) return call.status;
    size_t sizes[2] = {kt_cuda_bytes(&call, m, n, sizeof(T)), kt_cuda_bytes(&call, m, n, sizeof(T))};
    void *d[2] = {NULL, NULL};
    kt_cuda_alloc(&call, 2, sizes, d);
    /* Row-major m x n with leading dimension lda is column-major n x m. */
    kt_cuda_h2d_matrix(&call, d[0], a, n, m, lda, sizeof(T));
    kt_cuda_mark(&call, KT_CUDA_MARK_H2D);
    if (call.status == KT_OK) {
        dim3 grid(grid_dim((n + tile - 1) / tile, 1u << 20), grid_dim((m + tile - 1) / tile, 65535));
        dim3 block(tile, rows);
        cudaStream_t s = kt_cuda_stream(&call);
        const T *da = (const T *)d[0];
        T *db = (T *)d[1];
        if (p == 16016) kt_transpose_kernel<T, 16, 16><<<grid, block, 0, s>>>(m, n, da, db);
        else if (p == 32008) kt_transpose_kernel<T, 32, 8><<<grid, block, 0, s>>>(m, n, da, db);
        else kt_transpose_kernel<T, 32, 32><<<grid, block, 0, s>>>(m, n, da, db);
        kt_cuda_launched(&call, "kt_transpose_kernel");
    }
    kt_cuda_mark(&call, KT_CUDA_MARK_KERNEL);
    kt_cuda_d2h_matrix(&call, b, d[1], m, n, ldb, sizeof(T));
    return kt_cuda_end(&call);
}

extern "C" kt_status kt_transpose_f32_cuda(const kt_variant *v, size_t m, size_t n, const float *a,
                                           size_t lda, float *b, size_t ldb) {
    return transpose_cuda<float>(v, "transpose_f32", m, n, a, lda, b, ldb);
}

extern "C" kt_status kt_transpose_f64_cuda(const kt_variant *v, size_t m, size_t n,
                                           const double *a, size_t lda, double *b, size_t ldb) {
    return transpose_cuda<double>(v, "transpose_f64", m, n, a, lda, b, ldb);
}

/* ---- stencil3x3 ------------------------------------------------------------------ */

template <typename T>
struct weights9 {
    T w[9];
};

/* B ((m-2) x (n-2), packed) from A (m x n, packed); BX x BY outputs per tile. */
template <typename T, int BX, int BY>
static __global__ void kt_stencil_kernel(size_t m, size_t n, weights9<T> w,
                                         const T *__restrict__ a, T *__restrict__ b) {
    __shared__ T tile[BY + 2][BX + 2];
    const size_t om = m - 2, on = n - 2;
    const size_t tiles_i = (om + BY - 1) / BY, tiles_j = (on + BX - 1) / BX;
    const int tid = threadIdx.y * BX + threadIdx.x;
    for (size_t ti = blockIdx.y; ti < tiles_i; ti += gridDim.y)
        for (size_t tj = blockIdx.x; tj < tiles_j; tj += gridDim.x) {
            const size_t i0 = ti * BY, j0 = tj * BX;
            for (int e = tid; e < (BY + 2) * (BX + 2); e += BX * BY) {
                const int r = e / (BX + 2), c = e % (BX + 2);
                const size_t i = i0 + r, j = j0 + c;
                tile[r][c] = (i < m && j < n) ? a[i * n + j] : T(0);
            }
            __syncthreads();
            const size_t i = i0 + threadIdx.y, j = j0 + threadIdx.x;
            if (i < om && j < on) {
                const int r = threadIdx.y, c = threadIdx.x;
                T s = w.w[0] * tile[r][c];
                s = fma(w.w[1], tile[r][c + 1], s);
                s = fma(w.w[2], tile[r][c + 2], s);
                s = fma(w.w[3], tile[r + 1][c], s);
                s = fma(w.w[4], tile[r + 1][c + 1], s);
                s = fma(w.w[5], tile[r + 1][c + 2], s);
                s = fma(w.w[6], tile[r + 2][c], s);
                s = fma(w.w[7], tile[r + 2][c + 1], s);
                s = fma(w.w[8], tile[r + 2][c + 2], s);
                b[i * on + j] = s;
            }
            __syncthreads();
        }
}

template <typename T>
static kt_status stencil_cuda(const kt_variant *v, const char *op, size_t m, size_t n,
                              const T *w, const T *a, size_t lda, T *b, size_t ldb) {
    const int p = v->param;
    if (p != 32004 && p != 32008 && p != 16016)
        return kt_fail(KT_EINTERNAL, "%s %s: bad block %d in the registry", op, v->name, p);
    const int bx = p / 1000, by = p % 1000;
    weights9<T> wt;
    for (int i = 0; i < 9; i++) wt.w[i] = w[i];
    kt_cuda_call call;
    if (kt_cuda_begin(&call, op, v) != KT_OK) return call.status;
    size_t sizes[2] = {kt_cuda_bytes(&call, m, n, sizeof(T)),
                       kt_cuda_bytes(&call, m - 2, n - 2, sizeof(T))};
    void *d[2] = {NULL, NULL};
    kt_cuda_alloc(&call, 2, sizes, d);
    kt_cuda_h2d_matrix(&call, d[0], a, n, m, lda, sizeof(T));
    kt_cuda_mark(&call, KT_CUDA_MARK_H2D);
    if (call.status == KT_OK) {
        dim3 grid(grid_dim((n - 2 + bx - 1) / bx, 1u << 20), grid_dim((m - 2 + by - 1) / by, 65535));
        dim3 block(bx, by);
        cudaStream_t s = kt_cuda_stream(&call);
        const T *da = (const T *)d[0];
        T *db = (T *)d[1];
        if (p == 32004) kt_stencil_kernel<T, 32, 4><<<grid, block, 0, s>>>(m, n, wt, da, db);
        else if (p == 32008) kt_stencil_kernel<T, 32, 8><<<grid, block, 0, s>>>(m, n, wt, da, db);
        else kt_stencil_kernel<T, 16, 16><<<grid, block, 0, s>>>(m, n, wt, da, db);
        kt_cuda_launched(&call, "kt_stencil_kernel");
    }
    kt_cuda_mark(&call, KT_CUDA_MARK_KERNEL);
    kt_cuda_d2h_matrix(&call, b, d[1], n - 2, m - 2, ldb, sizeof(T));
    return kt_cuda_end(&call);
}

extern "C" kt_status kt_stencil3x3_f32_cuda(const kt_variant *v, size_t m, size_t n,
                                            const float *w, const float *a, size_t lda, float *b,
                                            size_t ldb) {
    return stencil_cuda<float>(v, "stencil3x3_f32", m, n, w, a, lda, b, ldb);
}

extern "C" kt_status kt_stencil3x3_f64_cuda(const kt_variant *v, size_t m, size_t n,
                                            const double *w, const double *a, size_t lda,
                                            double *b, size_t ldb) {
    return stencil_cuda<double>(v, "stencil3x3_f64", m, n, w, a, lda, b, ldb);
}

/* ---- sort ---------------------------------------------------------------------- */

/*
 * CUB's radix sort of keys without NaN (moved last on the host first): keys
 * in, keys out and CUB's temporary storage in the thread's device buffer.
 */
static size_t keys_first(float *a, size_t n) { return kt_sort_nan_last_f32(a, n); }
static size_t keys_first(double *a, size_t n) { return kt_sort_nan_last_f64(a, n); }
static size_t keys_first(int64_t *, size_t n) { return n; }

/* The array is left as it was unless the device is there (NaNs are moved after begin). */
template <typename T>
static kt_status sort_cuda(const kt_variant *v, const char *op, size_t n, T *a) {
    if (n > (size_t)INT_MAX)
        return kt_fail(KT_EUNAVAIL, "%s %s: n = %zu is over CUB's int item count", op, v->name, n);
    kt_cuda_call call;
    if (kt_cuda_begin(&call, op, v) != KT_OK) return call.status;
    n = keys_first(a, n);
    if (n < 2) return kt_cuda_end(&call);
    size_t temp = 0;
    kt_cuda_check(&call,
                  cub::DeviceRadixSort::SortKeys((void *)NULL, temp, (const T *)NULL, (T *)NULL,
                                                 (int)n, 0, (int)(8 * sizeof(T)),
                                                 kt_cuda_stream(&call)),
                  "cub::DeviceRadixSort::SortKeys (size query)");
    size_t sizes[3] = {n * sizeof(T), n * sizeof(T), temp ? temp : 1};
    void *d[3] = {NULL, NULL, NULL};
    kt_cuda_alloc(&call, 3, sizes, d);
    kt_cuda_h2d(&call, d[0], a, n * sizeof(T));
    kt_cuda_mark(&call, KT_CUDA_MARK_H2D);
    if (call.status == KT_OK)
        kt_cuda_check(&call,
                      cub::DeviceRadixSort::SortKeys(d[2], temp, (const T *)d[0], (T *)d[1], (int)n,
                                                     0, (int)(8 * sizeof(T)),
                                                     kt_cuda_stream(&call)),
                      "cub::DeviceRadixSort::SortKeys");
    kt_cuda_mark(&call, KT_CUDA_MARK_KERNEL);
    kt_cuda_d2h(&call, a, d[1], n * sizeof(T));
    return kt_cuda_end(&call);
}

extern "C" kt_status kt_sort_f32_cuda(const kt_variant *v, size_t n, float *a) {
    return sort_cuda<float>(v, "sort_f32", n, a);
}

extern "C" kt_status kt_sort_f64_cuda(const kt_variant *v, size_t n, double *a) {
    return sort_cuda<double>(v, "sort_f64", n, a);
}

extern "C" kt_status kt_sort_i64_cuda(const kt_variant *v, size_t n, int64_t *a) {
    return sort_cuda<int64_t>(v, "sort_i64", n, a);
}
