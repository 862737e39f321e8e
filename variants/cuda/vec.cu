/*
 * variants/cuda/vec.cu: CUDA variants of the vector operations
 * add_scalar (i64, f32, f64), axpy (f32, f64) and dot (f32, f64).
 *
 * Each call copies its vectors to the thread's device buffer, runs one
 * grid-stride kernel (two for dot) with v->param threads per block, and
 * copies the result back (kt_cuda.h).  The device copies are 256-byte
 * aligned, so the kernels move data in 16-byte packs and finish the last
 * n % (16 / sizeof(T)) elements one by one.  Indices are size_t: any n.
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

/* Grid cap for streaming kernels, in full waves of the device (kt_cuda_blocks). */
#define KT_VEC_WAVES 4u
/* Grid cap of dot's first pass: fewer blocks, fewer partial sums for the second. */
#define KT_DOT_WAVES 2u
/* Threads of dot's second pass (fixed, so the summation order depends on n alone). */
#define KT_DOT_FINAL_THREADS 1024

/* The definitions below must have the registry's typed signatures exactly. */
static_assert(std::is_same<decltype(&kt_add_scalar_i64_cuda), kt_add_scalar_i64_fn>::value, "");
static_assert(std::is_same<decltype(&kt_add_scalar_f32_cuda), kt_add_scalar_f32_fn>::value, "");
static_assert(std::is_same<decltype(&kt_add_scalar_f64_cuda), kt_add_scalar_f64_fn>::value, "");
static_assert(std::is_same<decltype(&kt_axpy_f32_cuda), kt_axpy_f32_fn>::value, "");
static_assert(std::is_same<decltype(&kt_axpy_f64_cuda), kt_axpy_f64_fn>::value, "");
static_assert(std::is_same<decltype(&kt_dot_f32_cuda), kt_dot_f32_fn>::value, "");
static_assert(std::is_same<decltype(&kt_dot_f64_cuda), kt_dot_f64_fn>::value, "");

/* ---- Kernels ------------------------------------------------------------ */

/* a[i] = a[i] + c for i in [0, n); a is 16-byte aligned. */
template <typename T>
static __global__ void kt_add_scalar_kernel(T *__restrict__ a, size_t n, T c) {
    typedef kt_pack16<T> P;
    const size_t nv = n / P::width;
    const size_t first = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    P *ap = reinterpret_cast<P *>(a);
    for (size_t i = first; i < nv; i += stride) {
        P p = ap[i];
#pragma unroll
        for (int j = 0; j < P::width; j++) p.v[j] = kt_add(p.v[j], c);
        ap[i] = p;
    }
    /* The last n % width elements: one each for the first threads of the grid. */
    const size_t t = nv * P::width + first;
    if (t < n) a[t] = kt_add(a[t], c);
}

/* y[i] = alpha * x[i] + y[i] (fused) for i in [0, n); x, y 16-byte aligned. */
template <typename T>
static __global__ void kt_axpy_kernel(size_t n, T alpha, const T *__restrict__ x,
                                      T *__restrict__ y) {
    typedef kt_pack16<T> P;
    const size_t nv = n / P::width;
    const size_t first = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    const P *xp = reinterpret_cast<const P *>(x);
    P *yp = reinterpret_cast<P *>(y);
    for (size_t i = first; i < nv; i += stride) {
        P xv = xp[i];
        P yv = yp[i];
#pragma unroll
        for (int j = 0; j < P::width; j++) yv.v[j] = kt_fma(alpha, xv.v[j], yv.v[j]);
        yp[i] = yv;
    }
    const size_t t = nv * P::width + first;
    if (t < n) y[t] = kt_fma(alpha, x[t], y[t]);
}

/*
 * First pass of dot: block b writes to partial[b] the sum of x[i] * y[i]
 * over its grid-stride share of [0, n).  Products and sums are in double
 * for both types: a float product is exact in double, and the extra
 * precision costs nothing in a kernel bound by memory bandwidth.
 */
template <typename T>
static __global__ void kt_dot_partial_kernel(size_t n, const T *__restrict__ x,
                                             const T *__restrict__ y,
                                             double *__restrict__ partial) {
    typedef kt_pack16<T> P;
    const size_t nv = n / P::width;
    const size_t first = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    const P *xp = reinterpret_cast<const P *>(x);
    const P *yp = reinterpret_cast<const P *>(y);
    double acc = 0.0;
    for (size_t i = first; i < nv; i += stride) {
        P xv = xp[i];
        P yv = yp[i];
#pragma unroll
        for (int j = 0; j < P::width; j++) acc = fma((double)xv.v[j], (double)yv.v[j], acc);
    }
    const size_t t = nv * P::width + first;
    if (t < n) acc = fma((double)x[t], (double)y[t], acc);
    double s = kt_block_sum(acc);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

/*
 * Second pass of dot, one block of KT_DOT_FINAL_THREADS: *result = the sum
 * of partial[0..count), in an order fixed by count (deterministic: the
 * same n on the same device always gives the same bits).
 */
template <typename T>
static __global__ void kt_dot_final_kernel(const double *__restrict__ partial, unsigned count,
                                           T *__restrict__ result) {
    double acc = 0.0;
    for (unsigned i = threadIdx.x; i < count; i += blockDim.x) acc += partial[i];
    double s = kt_block_sum(acc);
    if (threadIdx.x == 0) *result = (T)s;
}

/* ---- Host side ---------------------------------------------------------- */

/* Blocks for a streaming kernel over n elements of T in 16-byte packs. */
template <typename T> static unsigned vec_blocks(size_t n, int block, unsigned waves) {
    size_t packs = n / kt_pack16<T>::width;
    return kt_cuda_blocks(packs > 0 ? packs : 1, block, waves);
}

/* add_scalar for any T: a[i] += c on the device, a copied in and back. */
template <typename T>
static kt_status add_scalar_cuda(const kt_variant *v, const char *op, size_t n, T c, T *a) {
    if (n == 0) return KT_OK;
    kt_cuda_call call;
    if (kt_cuda_begin(&call, op, v) != KT_OK) return call.status;
    int block = kt_cuda_block(&call, v);
    size_t bytes = kt_cuda_bytes(&call, n, 1, sizeof(T));
    void *d = NULL;
    kt_cuda_alloc(&call, 1, &bytes, &d);
    kt_cuda_h2d(&call, d, a, bytes);
    kt_cuda_mark(&call, KT_CUDA_MARK_H2D);
    if (call.status == KT_OK) {
        unsigned blocks = vec_blocks<T>(n, block, KT_VEC_WAVES);
        kt_add_scalar_kernel<T><<<blocks, block, 0, kt_cuda_stream(&call)>>>((T *)d, n, c);
        kt_cuda_launched(&call, "kt_add_scalar_kernel");
    }
    kt_cuda_mark(&call, KT_CUDA_MARK_KERNEL);
    kt_cuda_d2h(&call, a, d, bytes);
    return kt_cuda_end(&call);
}

/* axpy for any floating T: y += alpha * x on the device, x and y copied in, y back. */
template <typename T>
static kt_status axpy_cuda(const kt_variant *v, const char *op, size_t n, T alpha, const T *x,
                           ptrdiff_t incx, T *y, ptrdiff_t incy) {
    if (n == 0) return KT_OK;
    if (incx != 1 || incy != 1)
        return kt_fail(KT_EUNAVAIL, "%s %s: unit increments only (incx %td, incy %td)", op, v->name,
                       incx, incy);
    kt_cuda_call call;
    if (kt_cuda_begin(&call, op, v) != KT_OK) return call.status;
    int block = kt_cuda_block(&call, v);
    size_t bytes = kt_cuda_bytes(&call, n, 1, sizeof(T));
    size_t sizes[2] = {bytes, bytes};
    void *d[2] = {NULL, NULL};
    kt_cuda_alloc(&call, 2, sizes, d);
    kt_cuda_h2d(&call, d[0], x, bytes);
    kt_cuda_h2d(&call, d[1], y, bytes);
    kt_cuda_mark(&call, KT_CUDA_MARK_H2D);
    if (call.status == KT_OK) {
        unsigned blocks = vec_blocks<T>(n, block, KT_VEC_WAVES);
        kt_axpy_kernel<T>
            <<<blocks, block, 0, kt_cuda_stream(&call)>>>(n, alpha, (const T *)d[0], (T *)d[1]);
        kt_cuda_launched(&call, "kt_axpy_kernel");
    }
    kt_cuda_mark(&call, KT_CUDA_MARK_KERNEL);
    kt_cuda_d2h(&call, y, d[1], bytes);
    return kt_cuda_end(&call);
}

/*
 * dot for any floating T: *result = sum x[i] * y[i].  Two kernels (per-block
 * partial sums, then one block adds them in a fixed order), then the one
 * value comes back; *result is written only on success.
 */
template <typename T>
static kt_status dot_cuda(const kt_variant *v, const char *op, size_t n, const T *x, ptrdiff_t incx,
                          const T *y, ptrdiff_t incy, T *result) {
    if (n == 0) {
        *result = 0;
        return KT_OK;
    }
    if (incx != 1 || incy != 1)
        return kt_fail(KT_EUNAVAIL, "%s %s: unit increments only (incx %td, incy %td)", op, v->name,
                       incx, incy);
    kt_cuda_call call;
    if (kt_cuda_begin(&call, op, v) != KT_OK) return call.status;
    int block = kt_cuda_block(&call, v);
    unsigned blocks = call.status == KT_OK ? vec_blocks<T>(n, block, KT_DOT_WAVES) : 1;
    size_t bytes = kt_cuda_bytes(&call, n, 1, sizeof(T));
    size_t sizes[4] = {bytes, bytes, (size_t)blocks * sizeof(double), sizeof(T)};
    void *d[4] = {NULL, NULL, NULL, NULL};
    kt_cuda_alloc(&call, 4, sizes, d);
    kt_cuda_h2d(&call, d[0], x, bytes);
    kt_cuda_h2d(&call, d[1], y, bytes);
    kt_cuda_mark(&call, KT_CUDA_MARK_H2D);
    if (call.status == KT_OK) {
        cudaStream_t s = kt_cuda_stream(&call);
        kt_dot_partial_kernel<T>
            <<<blocks, block, 0, s>>>(n, (const T *)d[0], (const T *)d[1], (double *)d[2]);
        if (kt_cuda_launched(&call, "kt_dot_partial_kernel") == KT_OK) {
            kt_dot_final_kernel<T>
                <<<1, KT_DOT_FINAL_THREADS, 0, s>>>((const double *)d[2], blocks, (T *)d[3]);
            kt_cuda_launched(&call, "kt_dot_final_kernel");
        }
    }
    kt_cuda_mark(&call, KT_CUDA_MARK_KERNEL);
    T r = 0;
    kt_cuda_d2h(&call, &r, d[3], sizeof(T));
    if (kt_cuda_end(&call) != KT_OK) return call.status;
    *result = r;
    return KT_OK;
}

/* ---- The variants (kt_cuda_variants.h) ---------------------------------- */

extern "C" kt_status kt_add_scalar_i64_cuda(const kt_variant *v, size_t n, int64_t c, int64_t *a) {
    return add_scalar_cuda<int64_t>(v, "add_scalar_i64", n, c, a);
}

extern "C" kt_status kt_add_scalar_f32_cuda(const kt_variant *v, size_t n, float c, float *a) {
    return add_scalar_cuda<float>(v, "add_scalar_f32", n, c, a);
}

extern "C" kt_status kt_add_scalar_f64_cuda(const kt_variant *v, size_t n, double c, double *a) {
    return add_scalar_cuda<double>(v, "add_scalar_f64", n, c, a);
}

extern "C" kt_status kt_axpy_f32_cuda(const kt_variant *v, size_t n, float alpha, const float *x,
                                      ptrdiff_t incx, float *y, ptrdiff_t incy) {
    return axpy_cuda<float>(v, "axpy_f32", n, alpha, x, incx, y, incy);
}

extern "C" kt_status kt_axpy_f64_cuda(const kt_variant *v, size_t n, double alpha, const double *x,
                                      ptrdiff_t incx, double *y, ptrdiff_t incy) {
    return axpy_cuda<double>(v, "axpy_f64", n, alpha, x, incx, y, incy);
}

extern "C" kt_status kt_dot_f32_cuda(const kt_variant *v, size_t n, const float *x, ptrdiff_t incx,
                                     const float *y, ptrdiff_t incy, float *result) {
    return dot_cuda<float>(v, "dot_f32", n, x, incx, y, incy, result);
}

extern "C" kt_status kt_dot_f64_cuda(const kt_variant *v, size_t n, const double *x, ptrdiff_t incx,
                                     const double *y, ptrdiff_t incy, double *result) {
    return dot_cuda<double>(v, "dot_f64", n, x, incx, y, incy, result);
}
