/*
 * variants/cuda/kt_cuda_dev.cuh: device-side helpers shared by the kernel
 * files (vec.cu, gemv.cu, gemm.cu).  CUDA C++ only; not installed.
 */
#ifndef KT_CUDA_DEV_CUH
#define KT_CUDA_DEV_CUH

#include <stddef.h>
#include <stdint.h>

/*
 * Sixteen bytes of T, aligned so that one load or store of a pack is one
 * 128-bit memory instruction (LDG.128 / STG.128 / LDS.128).
 */
template <typename T> struct __align__(16) kt_pack16 {
    static constexpr int width = (int)(16 / sizeof(T));
    T v[16 / sizeof(T)];
};

/* a + c; for int64_t it wraps modulo 2^64 like the CPU variants (no signed overflow UB). */
__device__ __forceinline__ float kt_add(float a, float c) { return a + c; }
__device__ __forceinline__ double kt_add(double a, double c) { return a + c; }
__device__ __forceinline__ int64_t kt_add(int64_t a, int64_t c) {
    return (int64_t)((uint64_t)a + (uint64_t)c);
}

/* a * x + y, fused (one rounding). */
__device__ __forceinline__ float kt_fma(float a, float x, float y) { return fmaf(a, x, y); }
__device__ __forceinline__ double kt_fma(double a, double x, double y) { return fma(a, x, y); }

/* Sum over the 32 lanes of a warp, in a fixed order; the result is in lane 0. */
template <typename A> __device__ __forceinline__ A kt_warp_sum(A v) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
    return v;
}

/*
 * Sum of v over the threads of a block whose size is a multiple of 32
 * (at most 1024): a shuffle tree inside each warp, the warps' sums through
 * shared memory, a second shuffle tree in warp 0.  The order of additions
 * is fixed by the block size alone, so the result is deterministic.  The
 * sum is valid in thread 0.  All threads of the block must call it; it
 * ends with the shared array free for reuse.
 */
template <typename A> __device__ A kt_block_sum(A v) {
    __shared__ A warp_sums[32];
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    v = kt_warp_sum(v);
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < (int)(blockDim.x >> 5) ? warp_sums[lane] : A(0);
        v = kt_warp_sum(v);
    }
    __syncthreads();
    return v;
}

#endif /* KT_CUDA_DEV_CUH */
