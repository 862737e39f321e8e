/*
 * variants/cuda/kt_cuda_variants.h: the CUDA and cuBLAS variant functions,
 * for the registry (lib/kt_registry.c).  Plain C, no CUDA headers needed.
 * Those of add_scalar and axpy are in variants/kt_variants.h (included);
 * this adds dot, gemv and gemm (issue 5) and kt_cuda_release().  Defined
 * only when ktune is built with CUDA (config.h: KT_HAVE_CUDA; the cuBLAS
 * ones with KT_HAVE_CUBLAS).
 *
 * Each has the typed signature of its op (kt_internal.h).  Host data in,
 * host data out: a call copies its inputs to the device, runs, and copies
 * the output back, all on the calling thread's stream with one wait.  Unit
 * strides only (registry rows carry KT_VF_UNIT_STRIDE; other strides give
 * KT_EUNAVAIL).  Without a usable device they return KT_EUNAVAIL; a CUDA or
 * cuBLAS failure is KT_EDEVICE (KT_ENOMEM for device memory), and the
 * output is then left untouched.
 *
 * v->param of the CUDA kernel variants:
 *   add_scalar, axpy, dot, gemv: threads per block, a multiple of 32 in
 *     [32, 1024] (the registry uses 64, 128, 256, 512, 1024).
 *   gemm: the edge of the square C tile each block computes, one of
 *      16: 16x16 tile, k-step 16, one C element per thread (256 threads);
 *      32: 32x32 tile, k-step 16, 2x2 elements per thread (256 threads);
 *      64: 64x64 tile, k-step 16, 4x4 elements per thread (256 threads);
 *     128: 128x128 tile, k-step 8, 8x8 elements per thread (256 threads).
 * The cuBLAS variants take no parameter.
 */
#ifndef KT_CUDA_VARIANTS_H
#define KT_CUDA_VARIANTS_H

#include "kt_internal.h"
#include "kt_variants.h"

#ifdef __cplusplus
extern "C" {
#endif

/* variants/cuda/vec.cu (add_scalar and axpy are declared in kt_variants.h) */
kt_status kt_dot_f32_cuda(const kt_variant *v, size_t n, const float *x, ptrdiff_t incx,
                          const float *y, ptrdiff_t incy, float *result);
kt_status kt_dot_f64_cuda(const kt_variant *v, size_t n, const double *x, ptrdiff_t incx,
                          const double *y, ptrdiff_t incy, double *result);

/* variants/cuda/gemv.cu */
kt_status kt_gemv_f32_cuda(const kt_variant *v, kt_trans trans, size_t m, size_t n, float alpha,
                           const float *a, size_t lda, const float *x, ptrdiff_t incx, float beta,
                           float *y, ptrdiff_t incy);
kt_status kt_gemv_f64_cuda(const kt_variant *v, kt_trans trans, size_t m, size_t n, double alpha,
                           const double *a, size_t lda, const double *x, ptrdiff_t incx,
                           double beta, double *y, ptrdiff_t incy);

/* variants/cuda/gemm.cu */
kt_status kt_gemm_f32_cuda(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                           size_t n, size_t k, float alpha, const float *a, size_t lda,
                           const float *b, size_t ldb, float beta, float *c, size_t ldc);
kt_status kt_gemm_f64_cuda(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                           size_t n, size_t k, double alpha, const double *a, size_t lda,
                           const double *b, size_t ldb, double beta, double *c, size_t ldc);

/* variants/cublas/cublas.c (axpy is declared in kt_variants.h) */
kt_status kt_dot_f32_cublas(const kt_variant *v, size_t n, const float *x, ptrdiff_t incx,
                            const float *y, ptrdiff_t incy, float *result);
kt_status kt_dot_f64_cublas(const kt_variant *v, size_t n, const double *x, ptrdiff_t incx,
                            const double *y, ptrdiff_t incy, double *result);
kt_status kt_gemv_f32_cublas(const kt_variant *v, kt_trans trans, size_t m, size_t n, float alpha,
                             const float *a, size_t lda, const float *x, ptrdiff_t incx, float beta,
                             float *y, ptrdiff_t incy);
kt_status kt_gemv_f64_cublas(const kt_variant *v, kt_trans trans, size_t m, size_t n, double alpha,
                             const double *a, size_t lda, const double *x, ptrdiff_t incx,
                             double beta, double *y, ptrdiff_t incy);
kt_status kt_gemm_f32_cublas(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                             size_t n, size_t k, float alpha, const float *a, size_t lda,
                             const float *b, size_t ldb, float beta, float *c, size_t ldc);
kt_status kt_gemm_f64_cublas(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                             size_t n, size_t k, double alpha, const double *a, size_t lda,
                             const double *b, size_t ldb, double beta, double *c, size_t ldc);

/*
 * Frees the calling thread's GPU context (device buffer, stream, events,
 * cuBLAS handle) now rather than at thread exit (variants/cuda/gpu.cu).
 */
void kt_cuda_release(void);

#ifdef __cplusplus
}
#endif

#endif /* KT_CUDA_VARIANTS_H */
