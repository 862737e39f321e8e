/*
 * variants/cuda/kt_cuda.h: what the CUDA and cuBLAS variants share (not installed).
 *
 * Implemented in variants/cuda/gpu.cu; used by the kernels (vec.cu, gemv.cu,
 * gemm.cu, compiled by nvcc) and by variants/cublas/cublas.c (plain C).
 * Include config.h first: the cuBLAS part exists only with KT_HAVE_CUBLAS
 * (configure found cublas_v2.h and --disable-cublas was not given).
 *
 *   - kt_gpu_get() (declared in kt_internal.h) probes the CUDA runtime once,
 *     and loads cuBLAS with dlopen() when a device exists: there is no link
 *     dependency on libcublas; kt_cublas_api_get() gives its entry points.
 *   - Every thread that calls a GPU variant gets a context of its own: one
 *     non-blocking stream, one grow-only device buffer reused between calls,
 *     four timing events and, for cuBLAS, one handle bound to the stream.
 *     It is freed when the thread exits (or by kt_cuda_release()); the main
 *     thread's is reclaimed with the process.
 *   - A GPU variant runs as one kt_cuda_call:
 *
 *         kt_cuda_call c;
 *         if (kt_cuda_begin(&c, "axpy_f32", v) != KT_OK)
 *             return c.status;
 *         kt_cuda_alloc(&c, 2, bytes, dev);       copies in ...
 *         kt_cuda_h2d(&c, dev[0], x, bytes[0]);
 *         kt_cuda_mark(&c, KT_CUDA_MARK_H2D);
 *         if (c.status == KT_OK) {
 *             kernel<<<grid, block, 0, kt_cuda_stream(&c)>>>(...);
 *             kt_cuda_launched(&c, "axpy kernel");
 *         }
 *         kt_cuda_mark(&c, KT_CUDA_MARK_KERNEL);
 *         kt_cuda_d2h(&c, y, dev[1], bytes[1]);    ... copies out
 *         return kt_cuda_end(&c);
 *
 *     The status is sticky: after the first failure (recorded with
 *     kt_fail(), message naming the op, the variant, the CUDA call and
 *     CUDA's own error text) every later step does nothing, and
 *     kt_cuda_end() synchronises and returns that first status.  Work is
 *     enqueued on the thread's stream and waited for once, in
 *     kt_cuda_end().  Launch errors are caught by kt_cuda_launched() before
 *     the copy out is enqueued; a fault while a kernel runs is sticky in
 *     CUDA, and nothing queued behind the faulting kernel (the copy out)
 *     executes, so a failed call never writes the caller's output.
 */
#ifndef KT_CUDA_H
#define KT_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>
#ifdef KT_HAVE_CUBLAS
#include <cublas_api.h>
#endif

#include "kt_internal.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kt_cuda_ctx kt_cuda_ctx;   /* the calling thread's context (gpu.cu) */
typedef struct kt_cuda_call kt_cuda_call; /* one GPU call (below) */

/* ---- cuBLAS, loaded at run time (builds with KT_HAVE_CUBLAS only) -------- */

#ifdef KT_HAVE_CUBLAS

/*
 * Pointer types of the cuBLAS entry points ktune calls.  They repeat the
 * prototypes of cublas_api.h; gpu.cu checks at compile time that they match.
 */
typedef cublasStatus_t(CUBLASWINAPI *kt_cublas_create_fn)(cublasHandle_t *handle);
typedef cublasStatus_t(CUBLASWINAPI *kt_cublas_destroy_fn)(cublasHandle_t handle);
typedef cublasStatus_t(CUBLASWINAPI *kt_cublas_set_stream_fn)(cublasHandle_t handle,
                                                              cudaStream_t stream);
typedef cublasStatus_t(CUBLASWINAPI *kt_cublas_set_pointer_mode_fn)(cublasHandle_t handle,
                                                                    cublasPointerMode_t mode);
typedef cublasStatus_t(CUBLASWINAPI *kt_cublas_saxpy_fn)(cublasHandle_t handle, int n,
                                                         const float *alpha, const float *x,
                                                         int incx, float *y, int incy);
typedef cublasStatus_t(CUBLASWINAPI *kt_cublas_daxpy_fn)(cublasHandle_t handle, int n,
                                                         const double *alpha, const double *x,
                                                         int incx, double *y, int incy);
typedef cublasStatus_t(CUBLASWINAPI *kt_cublas_sdot_fn)(cublasHandle_t handle, int n,
                                                        const float *x, int incx, const float *y,
                                                        int incy, float *result);
typedef cublasStatus_t(CUBLASWINAPI *kt_cublas_ddot_fn)(cublasHandle_t handle, int n,
                                                        const double *x, int incx, const double *y,
                                                        int incy, double *result);
typedef cublasStatus_t(CUBLASWINAPI *kt_cublas_sgemv_fn)(cublasHandle_t handle,
                                                         cublasOperation_t trans, int m, int n,
                                                         const float *alpha, const float *a,
                                                         int lda, const float *x, int incx,
                                                         const float *beta, float *y, int incy);
typedef cublasStatus_t(CUBLASWINAPI *kt_cublas_dgemv_fn)(cublasHandle_t handle,
                                                         cublasOperation_t trans, int m, int n,
                                                         const double *alpha, const double *a,
                                                         int lda, const double *x, int incx,
                                                         const double *beta, double *y, int incy);
typedef cublasStatus_t(CUBLASWINAPI *kt_cublas_sgemm_fn)(cublasHandle_t handle,
                                                         cublasOperation_t transa,
                                                         cublasOperation_t transb, int m, int n,
                                                         int k, const float *alpha, const float *a,
                                                         int lda, const float *b, int ldb,
                                                         const float *beta, float *c, int ldc);
typedef cublasStatus_t(CUBLASWINAPI *kt_cublas_dgemm_fn)(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
    const double *alpha, const double *a, int lda, const double *b, int ldb, const double *beta,
    double *c, int ldc);
/* The 64-bit-integer API of cuBLAS 12 and later, for dimensions over INT_MAX. */
typedef cublasStatus_t(CUBLASWINAPI *kt_cublas_sgemv64_fn)(
    cublasHandle_t handle, cublasOperation_t trans, int64_t m, int64_t n, const float *alpha,
    const float *a, int64_t lda, const float *x, int64_t incx, const float *beta, float *y,
    int64_t incy);
typedef cublasStatus_t(CUBLASWINAPI *kt_cublas_dgemv64_fn)(
    cublasHandle_t handle, cublasOperation_t trans, int64_t m, int64_t n, const double *alpha,
    const double *a, int64_t lda, const double *x, int64_t incx, const double *beta, double *y,
    int64_t incy);
typedef cublasStatus_t(CUBLASWINAPI *kt_cublas_sgemm64_fn)(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int64_t m, int64_t n,
    int64_t k, const float *alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
    const float *beta, float *c, int64_t ldc);
typedef cublasStatus_t(CUBLASWINAPI *kt_cublas_dgemm64_fn)(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int64_t m, int64_t n,
    int64_t k, const double *alpha, const double *a, int64_t lda, const double *b, int64_t ldb,
    const double *beta, double *c, int64_t ldc);

/* The loaded library: every member is set except the optional *64 ones. */
typedef struct kt_cublas_api {
    kt_cublas_create_fn create;                     /* cublasCreate_v2 */
    kt_cublas_destroy_fn destroy;                   /* cublasDestroy_v2 */
    kt_cublas_set_stream_fn set_stream;             /* cublasSetStream_v2 */
    kt_cublas_set_pointer_mode_fn set_pointer_mode; /* cublasSetPointerMode_v2 */
    kt_cublas_saxpy_fn saxpy;                       /* cublasSaxpy_v2 */
    kt_cublas_daxpy_fn daxpy;                       /* cublasDaxpy_v2 */
    kt_cublas_sdot_fn sdot;                         /* cublasSdot_v2 */
    kt_cublas_ddot_fn ddot;                         /* cublasDdot_v2 */
    kt_cublas_sgemv_fn sgemv;                       /* cublasSgemv_v2 */
    kt_cublas_dgemv_fn dgemv;                       /* cublasDgemv_v2 */
    kt_cublas_sgemm_fn sgemm;                       /* cublasSgemm_v2 */
    kt_cublas_dgemm_fn dgemm;                       /* cublasDgemm_v2 */
    kt_cublas_sgemv64_fn sgemv64;                   /* cublasSgemv_v2_64, or NULL */
    kt_cublas_dgemv64_fn dgemv64;                   /* cublasDgemv_v2_64, or NULL */
    kt_cublas_sgemm64_fn sgemm64;                   /* cublasSgemm_v2_64, or NULL */
    kt_cublas_dgemm64_fn dgemm64;                   /* cublasDgemm_v2_64, or NULL */
    char path[128];                                 /* the name it was loaded by */
} kt_cublas_api;

/* The cuBLAS entry points, or NULL when cuBLAS is not loaded (kt_gpu_get()->cublas_why). */
const kt_cublas_api *kt_cublas_api_get(void);

/*
 * The thread's cuBLAS handle, bound to its stream, created on first use.
 * KT_EUNAVAIL when cuBLAS is not loaded.
 */
kt_status kt_cuda_cublas(kt_cuda_call *c, cublasHandle_t *out);

/* Records the failure of a cuBLAS call named what (status name in the message). */
kt_status kt_cuda_cublas_check(kt_cuda_call *c, cublasStatus_t s, const char *what);
#endif /* KT_HAVE_CUBLAS */

/* ---- One GPU call -------------------------------------------------------- */

/* Timing marks: kt_cuda_begin() and kt_cuda_end() record the first and last. */
enum { KT_CUDA_MARK_H2D = 1, KT_CUDA_MARK_KERNEL = 2 };

struct kt_cuda_call {
    kt_cuda_ctx *ctx;    /* the thread's context (set by a successful begin) */
    const char *op;      /* "axpy_f32", for messages */
    const char *variant; /* "cuda:block=256", for messages */
    kt_status status;    /* the first failure, sticky; KT_OK so far */
    int prev_device;     /* the caller's current device, restored at the end; -1 unchanged */
    int timing;          /* 1 when this call records events (kt_gpu_timing_enable) */
    double t0;           /* kt_now() at begin, when timing */
};

/*
 * Starts a GPU call of variant v of op in the calling thread: checks that a
 * device is usable, makes device 0 current (remembering the caller's),
 * creates the thread's context on first use and, when timing is on, records
 * the start event.  Returns KT_OK, or the failure (KT_EUNAVAIL without a
 * device, KT_EDEVICE, KT_ENOMEM), also left in c->status; after a failure
 * the caller returns at once, without kt_cuda_end().
 */
kt_status kt_cuda_begin(kt_cuda_call *c, const char *op, const kt_variant *v);

/*
 * Ends a call begun successfully: records the last event, waits for the
 * stream, stores the thread's timing when on, restores the caller's device.
 * Returns c->status (the first failure of the call) or KT_OK.
 */
kt_status kt_cuda_end(kt_cuda_call *c);

/*
 * Carves count device buffers of bytes[i] bytes each (256-byte aligned) out
 * of the thread's grow-only buffer, growing it when needed (the only
 * cudaMalloc, never in steady state).  Sets out[i], or NULL on failure.
 * Valid until the thread's next call.
 */
kt_status kt_cuda_alloc(kt_cuda_call *c, size_t count, const size_t bytes[], void *out[]);

/* Enqueues a copy of bytes bytes host -> device, or device -> host. */
kt_status kt_cuda_h2d(kt_cuda_call *c, void *dev, const void *host, size_t bytes);
kt_status kt_cuda_d2h(kt_cuda_call *c, void *host, const void *dev, size_t bytes);

/*
 * Enqueues a copy of a column-major rows x cols matrix of elem-byte
 * elements between the host, leading dimension ld >= rows, and a packed
 * device copy (leading dimension rows).  rows, cols > 0.
 */
kt_status kt_cuda_h2d_matrix(kt_cuda_call *c, void *dev, const void *host, size_t rows, size_t cols,
                             size_t ld, size_t elem);
kt_status kt_cuda_d2h_matrix(kt_cuda_call *c, void *host, const void *dev, size_t rows, size_t cols,
                             size_t ld, size_t elem);

/*
 * rows * cols * elem in bytes, or 0 with KT_ENOMEM recorded in c when the
 * product overflows size_t.
 */
size_t kt_cuda_bytes(kt_cuda_call *c, size_t rows, size_t cols, size_t elem);

/* Records timing mark (KT_CUDA_MARK_*) when timing is on. */
void kt_cuda_mark(kt_cuda_call *c, int mark);

/* Checks for a failed kernel launch just made (cudaGetLastError). */
kt_status kt_cuda_launched(kt_cuda_call *c, const char *kernel);

/* Records the failure of a CUDA call named what, unless one is recorded already. */
kt_status kt_cuda_check(kt_cuda_call *c, cudaError_t e, const char *what);

/* The thread's stream (valid after a successful begin). */
cudaStream_t kt_cuda_stream(const kt_cuda_call *c);

/*
 * The block size of a kernel variant: v->param, which must be a multiple of
 * 32 in [32, 1024] (a bad registry row is KT_EINTERNAL, recorded in c).
 * Returns 0 on failure.
 */
int kt_cuda_block(kt_cuda_call *c, const kt_variant *v);

/*
 * Blocks for a grid-stride kernel over items work items (>= 1) with block
 * threads per block: as many as the items need, but no more than waves
 * full waves of the device; at least 1, at most INT_MAX.
 */
unsigned kt_cuda_blocks(size_t items, int block, unsigned waves);

/* The multiprocessor count of device 0 (1 when unknown). */
int kt_cuda_sms(void);

/*
 * Frees the calling thread's context now (device buffer, stream, events,
 * cuBLAS handle); the next GPU call creates a new one.  The tuner calls it
 * to give memory back between large sizes.
 */
void kt_cuda_release(void);

#ifdef __cplusplus
}
#endif

#endif /* KT_CUDA_H */
