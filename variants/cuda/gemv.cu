/*
 * variants/cuda/gemv.cu: CUDA variants of gemv (f32, f64):
 * y = alpha * op(A) * x + beta * y, A m x n column-major, op(A) = A or A^T.
 *
 * A is copied to the device packed (leading dimension m); x, and y when
 * beta != 0, are copied too (unit strides only).  v->param is the block
 * size.  Accumulation is in double for both types (the kernels are bound by
 * memory bandwidth, so the precision is free), each output element is
 * rounded once, and every sum is taken in a fixed order: results are
 * deterministic.
 *
 * op(A) = A: one thread per row of A walks the columns; consecutive threads
 *   read consecutive rows of a column, so every warp load is coalesced.
 * op(A) = A^T: one warp per column of A (an element of y) walks the rows,
 *   lanes reading consecutive rows; a shuffle tree adds the lanes.
 * When those give too few blocks to fill the device (short y, long rows),
 * the reduction dimension is split into slabs (gridDim.y): each slab writes
 * partial sums to a device buffer, and a second kernel adds the slabs of
 * each element in order and applies alpha and beta.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <stdint.h>

#include <type_traits>

#include <cuda_runtime.h>

#include "kt_cuda.h"
#include "kt_cuda_dev.cuh"
#include "kt_cuda_variants.h"

/* Device fill aimed at, in full waves (kt_cuda_blocks), before slabs are added. */
#define KT_GEMV_WAVES 2u
/* Slabs at most, and the least columns (op(A) = A) or rows (A^T) a slab gets. */
#define KT_GEMV_MAX_SLABS 1024
#define KT_GEMV_MIN_COLS 32
#define KT_GEMV_MIN_ROWS 256

static_assert(std::is_same<decltype(&kt_gemv_f32_cuda), kt_gemv_f32_fn>::value, "");
static_assert(std::is_same<decltype(&kt_gemv_f64_cuda), kt_gemv_f64_fn>::value, "");

/* ---- Kernels ------------------------------------------------------------ */

/* *y = alpha * acc + beta * *y, rounded once; *y is not read when beta == 0. */
template <typename T>
__device__ __forceinline__ void kt_gemv_store(double acc, T alpha, T beta, T *y) {
    double r = (double)alpha * acc;
    if (beta != T(0)) r = fma((double)beta, (double)*y, r);
    *y = (T)r;
}

/*
 * op(A) = A.  A is m x n, packed.  Block (bx, s) covers columns
 * [s * slab, (s + 1) * slab) of the rows it strides over.  With part NULL
 * (one slab) it writes y; otherwise part[s * m + row] = its partial sum.
 */
template <typename T>
static __global__ void kt_gemv_n_kernel(size_t m, size_t n, size_t slab, const T *__restrict__ a,
                                        const T *__restrict__ x, T alpha, T beta, T *__restrict__ y,
                                        double *__restrict__ part) {
    const size_t c0 = blockIdx.y * slab;
    const size_t c1 = n - c0 < slab ? n : c0 + slab;
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t row = blockIdx.x * (size_t)blockDim.x + threadIdx.x; row < m; row += stride) {
        const T *ap = a + c0 * m + row;
        /* Four independent chains: four loads of A in flight per thread. */
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
        size_t j = c0;
        for (; j + 4 <= c1; j += 4, ap += 4 * m) {
            s0 = fma((double)ap[0], (double)x[j], s0);
            s1 = fma((double)ap[m], (double)x[j + 1], s1);
            s2 = fma((double)ap[2 * m], (double)x[j + 2], s2);
            s3 = fma((double)ap[3 * m], (double)x[j + 3], s3);
        }
        for (; j < c1; j++, ap += m) s0 = fma((double)ap[0], (double)x[j], s0);
        const double acc = (s0 + s1) + (s2 + s3);
        if (part == NULL)
            kt_gemv_store(acc, alpha, beta, &y[row]);
        else
            part[blockIdx.y * m + row] = acc;
    }
}

/*
 * op(A) = A^T.  A is m x n, packed; y has n elements.  Warp w of block
 * (bx, s) covers rows [s * slab, (s + 1) * slab) of the columns it strides
 * over.  Output as for kt_gemv_n_kernel, with part[s * n + col].
 */
template <typename T>
static __global__ void kt_gemv_t_kernel(size_t m, size_t n, size_t slab, const T *__restrict__ a,
                                        const T *__restrict__ x, T alpha, T beta, T *__restrict__ y,
                                        double *__restrict__ part) {
    const unsigned lane = threadIdx.x & 31;
    const unsigned warps = blockDim.x >> 5;
    const size_t r0 = blockIdx.y * slab;
    const size_t r1 = m - r0 < slab ? m : r0 + slab;
    const size_t stride = (size_t)gridDim.x * warps;
    /* col depends on the warp alone, so whole warps reach the shuffles below. */
    for (size_t col = blockIdx.x * (size_t)warps + (threadIdx.x >> 5); col < n; col += stride) {
        const T *ap = a + col * m;
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
        size_t r = r0 + lane;
        for (; r + 96 < r1; r += 128) {
            s0 = fma((double)ap[r], (double)x[r], s0);
            s1 = fma((double)ap[r + 32], (double)x[r + 32], s1);
            s2 = fma((double)ap[r + 64], (double)x[r + 64], s2);
            s3 = fma((double)ap[r + 96], (double)x[r + 96], s3);
        }
        for (; r < r1; r += 32) s0 = fma((double)ap[r], (double)x[r], s0);
        const double acc = kt_warp_sum((s0 + s1) + (s2 + s3));
        if (lane == 0) {
            if (part == NULL)
                kt_gemv_store(acc, alpha, beta, &y[col]);
            else
                part[blockIdx.y * n + col] = acc;
        }
    }
}

/* y[i] = alpha * (sum over s of part[s * len + i], in order of s) + beta * y[i]. */
template <typename T>
static __global__ void kt_gemv_finish_kernel(size_t len, unsigned slabs,
                                             const double *__restrict__ part, T alpha, T beta,
                                             T *__restrict__ y) {
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < len; i += stride) {
        double acc = 0.0;
        for (unsigned s = 0; s < slabs; s++) acc += part[s * len + i];
        kt_gemv_store(acc, alpha, beta, &y[i]);
    }
}

/* ---- Host side ---------------------------------------------------------- */

/* The launch shape of one gemv: blocks along the output, slabs along the sums. */
typedef struct gemv_shape {
    unsigned blocks; /* gridDim.x (the kernels stride over the rest) */
    unsigned slabs;  /* gridDim.y; 1 means no partial sums */
    size_t slab;     /* columns (op(A) = A) or rows (A^T) per slab */
} gemv_shape;

/*
 * Chooses the shape for a kernel that needs threads threads along its
 * output (m for op(A) = A, 32 n for A^T), in blocks of block threads, over
 * sums of red products each, at least min_red products per slab.
 */
static gemv_shape gemv_shape_of(size_t threads, size_t red, int block, size_t min_red) {
    gemv_shape g;
    size_t units = threads / (size_t)block + (threads % (size_t)block != 0);
    /* kt_cuda_blocks caps by the device: asking for "everything" gives that cap. */
    size_t target = kt_cuda_blocks(SIZE_MAX, block, KT_GEMV_WAVES);
    g.blocks = kt_cuda_blocks(threads, block, KT_GEMV_WAVES);
    size_t slabs = 1;
    if (units < target) {
        slabs = target / units + (target % units != 0);
        size_t most = red / min_red + (red % min_red != 0);
        if (slabs > most) slabs = most;
        if (slabs > KT_GEMV_MAX_SLABS) slabs = KT_GEMV_MAX_SLABS;
        if (slabs < 1) slabs = 1;
    }
    g.slab = red / slabs + (red % slabs != 0);
    g.slabs = (unsigned)(red / g.slab + (red % g.slab != 0)); /* no empty slab */
    return g;
}

/* gemv for any floating T; see the file comment.  m, n > 0. */
template <typename T>
static kt_status gemv_cuda(const kt_variant *v, const char *op, kt_trans trans, size_t m, size_t n,
                           T alpha, const T *a, size_t lda, const T *x, ptrdiff_t incx, T beta,
                           T *y, ptrdiff_t incy) {
    if (incx != 1 || incy != 1)
        return kt_fail(KT_EUNAVAIL, "%s %s: unit increments only (incx %td, incy %td)", op, v->name,
                       incx, incy);
    const bool t = trans == KT_TRANS;
    const size_t xlen = t ? m : n, ylen = t ? n : m;

    kt_cuda_call call;
    if (kt_cuda_begin(&call, op, v) != KT_OK) return call.status;
    int block = kt_cuda_block(&call, v);
    gemv_shape g = {1, 1, 1};
    if (call.status == KT_OK)
        g = t ? gemv_shape_of(n > SIZE_MAX / 32 ? SIZE_MAX : 32 * n, m, block, KT_GEMV_MIN_ROWS)
              : gemv_shape_of(m, n, block, KT_GEMV_MIN_COLS);
    size_t sizes[4] = {kt_cuda_bytes(&call, m, n, sizeof(T)),
                       kt_cuda_bytes(&call, xlen, 1, sizeof(T)),
                       kt_cuda_bytes(&call, ylen, 1, sizeof(T)),
                       g.slabs > 1 ? kt_cuda_bytes(&call, ylen, g.slabs, sizeof(double)) : 0};
    void *d[4] = {NULL, NULL, NULL, NULL};
    kt_cuda_alloc(&call, 4, sizes, d);
    kt_cuda_h2d_matrix(&call, d[0], a, m, n, lda, sizeof(T));
    kt_cuda_h2d(&call, d[1], x, sizes[1]);
    if (beta != T(0)) kt_cuda_h2d(&call, d[2], y, sizes[2]);
    kt_cuda_mark(&call, KT_CUDA_MARK_H2D);
    if (call.status == KT_OK) {
        cudaStream_t s = kt_cuda_stream(&call);
        double *part = g.slabs > 1 ? (double *)d[3] : NULL;
        dim3 grid(g.blocks, g.slabs);
        if (t)
            kt_gemv_t_kernel<T><<<grid, block, 0, s>>>(
                m, n, g.slab, (const T *)d[0], (const T *)d[1], alpha, beta, (T *)d[2], part);
        else
            kt_gemv_n_kernel<T><<<grid, block, 0, s>>>(
                m, n, g.slab, (const T *)d[0], (const T *)d[1], alpha, beta, (T *)d[2], part);
        if (kt_cuda_launched(&call, t ? "kt_gemv_t_kernel" : "kt_gemv_n_kernel") == KT_OK &&
            part != NULL) {
            unsigned fb = kt_cuda_blocks(ylen, block, KT_GEMV_WAVES);
            kt_gemv_finish_kernel<T>
                <<<fb, block, 0, s>>>(ylen, g.slabs, part, alpha, beta, (T *)d[2]);
            kt_cuda_launched(&call, "kt_gemv_finish_kernel");
        }
    }
    kt_cuda_mark(&call, KT_CUDA_MARK_KERNEL);
    kt_cuda_d2h(&call, y, d[2], sizes[2]);
    return kt_cuda_end(&call);
}

/* ---- The variants (kt_cuda_variants.h) ---------------------------------- */

extern "C" kt_status kt_gemv_f32_cuda(const kt_variant *v, kt_trans trans, size_t m, size_t n,
                                      float alpha, const float *a, size_t lda, const float *x,
                                      ptrdiff_t incx, float beta, float *y, ptrdiff_t incy) {
    return gemv_cuda<float>(v, "gemv_f32", trans, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

extern "C" kt_status kt_gemv_f64_cuda(const kt_variant *v, kt_trans trans, size_t m, size_t n,
                                      double alpha, const double *a, size_t lda, const double *x,
                                      ptrdiff_t incx, double beta, double *y, ptrdiff_t incy) {
    return gemv_cuda<double>(v, "gemv_f64", trans, m, n, alpha, a, lda, x, incx, beta, y, incy);
}
