/*
 * variants/cublas/cublas.c: cuBLAS variants of axpy, dot, gemv and gemm
 * (f32 and f64).
 *
 * cuBLAS is loaded at run time by variants/cuda/gpu.cu (dlopen): this file
 * calls it through kt_cublas_api_get() and has no link dependency on it.
 * Each call runs in the calling thread's GPU context (kt_cuda.h): inputs
 * are copied to its device buffer (matrices packed, leading dimension =
 * rows), cuBLAS runs on the thread's stream with the thread's handle, the
 * output is copied back, and the call waits once.  Problems are
 * column-major, which is cuBLAS's own layout, so they map directly.
 *
 * Sizes: the vector ops split n into chunks the 32-bit API takes; gemv and
 * gemm use the 64-bit API (cuBLAS 12+) when a dimension exceeds INT_MAX.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#ifndef KT_HAVE_CUBLAS
#error "cublas.c is built only with cuBLAS (config.h defines KT_HAVE_CUBLAS)"
#endif

#include "kt_cuda.h"
#include "kt_cuda_variants.h"

/* The definitions below must have the registry's typed signatures exactly. */
#define KT_SIGNATURE(fn, type)                                                                     \
    _Static_assert(__builtin_types_compatible_p(__typeof__(&fn), type), #fn " is not " #type)
KT_SIGNATURE(kt_axpy_f32_cublas, kt_axpy_f32_fn);
KT_SIGNATURE(kt_axpy_f64_cublas, kt_axpy_f64_fn);
KT_SIGNATURE(kt_dot_f32_cublas, kt_dot_f32_fn);
KT_SIGNATURE(kt_dot_f64_cublas, kt_dot_f64_fn);
KT_SIGNATURE(kt_gemv_f32_cublas, kt_gemv_f32_fn);
KT_SIGNATURE(kt_gemv_f64_cublas, kt_gemv_f64_fn);
KT_SIGNATURE(kt_gemm_f32_cublas, kt_gemm_f32_fn);
KT_SIGNATURE(kt_gemm_f64_cublas, kt_gemm_f64_fn);
#undef KT_SIGNATURE

/* Elements per call of the vector routines (their counts are int). */
#define KT_CUBLAS_CHUNK ((size_t)1 << 30)
/* Chunks a dot may have: 2^36 elements, more than any GPU's memory holds. */
#define KT_CUBLAS_MAX_CHUNKS 64

/* Returns KT_EUNAVAIL unless both increments are 1 (the registry rows say so). */
static kt_status unit_strides(const kt_variant *v, const char *op, ptrdiff_t incx, ptrdiff_t incy) {
    if (incx == 1 && incy == 1) return KT_OK;
    return kt_fail(KT_EUNAVAIL, "%s %s: unit increments only (incx %td, incy %td)", op, v->name,
                   incx, incy);
}

/* The cuBLAS operation for a ktune transposition. */
static cublasOperation_t op_of(kt_trans t) { return t == KT_TRANS ? CUBLAS_OP_T : CUBLAS_OP_N; }

static int fits_int(size_t v) { return v <= (size_t)INT_MAX; }

/*
 * Begins a cuBLAS call: kt_cuda_begin(), the thread's handle, and the
 * pointer mode (host: alpha and beta are read from the host).  Returns
 * KT_OK or the failure; after a failure past kt_cuda_begin() the call must
 * still end with kt_cuda_end() (c->ctx != NULL says so).
 */
static kt_status cublas_begin(kt_cuda_call *c, const char *op, const kt_variant *v,
                              cublasHandle_t *h, const kt_cublas_api **api,
                              cublasPointerMode_t mode) {
    *h = NULL;
    *api = NULL;
    if (kt_cuda_begin(c, op, v) != KT_OK) return c->status;
    if (kt_cuda_cublas(c, h) != KT_OK) return c->status;
    *api = kt_cublas_api_get();
    return kt_cuda_cublas_check(c, (*api)->set_pointer_mode(*h, mode), "cublasSetPointerMode");
}

/* Ends a call begun by cublas_begin(), whether it succeeded or not. */
static kt_status cublas_end(kt_cuda_call *c) { return c->ctx != NULL ? kt_cuda_end(c) : c->status; }

/* ---- axpy --------------------------------------------------------------- */

/*
 * y += alpha * x for elements of elem bytes (sizeof(float) or sizeof(double)),
 * alpha pointing to one such element.  n > 0, unit strides.
 */
static kt_status axpy_cublas(const kt_variant *v, const char *op, size_t elem, size_t n,
                             const void *alpha, const void *x, void *y) {
    kt_cuda_call c;
    cublasHandle_t h;
    const kt_cublas_api *api;
    if (cublas_begin(&c, op, v, &h, &api, CUBLAS_POINTER_MODE_HOST) != KT_OK) return cublas_end(&c);
    size_t bytes = kt_cuda_bytes(&c, n, 1, elem);
    size_t sizes[2] = {bytes, bytes};
    void *d[2] = {NULL, NULL};
    kt_cuda_alloc(&c, 2, sizes, d);
    kt_cuda_h2d(&c, d[0], x, bytes);
    kt_cuda_h2d(&c, d[1], y, bytes);
    kt_cuda_mark(&c, KT_CUDA_MARK_H2D);
    for (size_t off = 0; off < n && c.status == KT_OK; off += KT_CUBLAS_CHUNK) {
        int len = (int)(n - off < KT_CUBLAS_CHUNK ? n - off : KT_CUBLAS_CHUNK);
        const char *dx = (const char *)d[0] + off * elem;
        char *dy = (char *)d[1] + off * elem;
        if (elem == sizeof(float))
            kt_cuda_cublas_check(
                &c, api->saxpy(h, len, alpha, (const float *)dx, 1, (float *)dy, 1), "cublasSaxpy");
        else
            kt_cuda_cublas_check(&c,
                                 api->daxpy(h, len, alpha, (const double *)dx, 1, (double *)dy, 1),
                                 "cublasDaxpy");
    }
    kt_cuda_mark(&c, KT_CUDA_MARK_KERNEL);
    kt_cuda_d2h(&c, y, d[1], bytes);
    return kt_cuda_end(&c);
}

kt_status kt_axpy_f32_cublas(const kt_variant *v, size_t n, float alpha, const float *x,
                             ptrdiff_t incx, float *y, ptrdiff_t incy) {
    if (n == 0) return KT_OK;
    if (unit_strides(v, "axpy_f32", incx, incy) != KT_OK) return KT_EUNAVAIL;
    return axpy_cublas(v, "axpy_f32", sizeof(float), n, &alpha, x, y);
}

kt_status kt_axpy_f64_cublas(const kt_variant *v, size_t n, double alpha, const double *x,
                             ptrdiff_t incx, double *y, ptrdiff_t incy) {
    if (n == 0) return KT_OK;
    if (unit_strides(v, "axpy_f64", incx, incy) != KT_OK) return KT_EUNAVAIL;
    return axpy_cublas(v, "axpy_f64", sizeof(double), n, &alpha, x, y);
}

/* ---- dot ---------------------------------------------------------------- */

/*
 * *result = sum x[i] * y[i], in double, for elements of elem bytes; n > 0,
 * unit strides.  cuBLAS writes each chunk's dot to device memory (device
 * pointer mode: no hidden synchronisation, the call waits once); the chunk
 * results come back together and are added in order on the host.
 */
static kt_status dot_cublas(const kt_variant *v, const char *op, size_t elem, size_t n,
                            const void *x, const void *y, double *result) {
    size_t chunks = (n - 1) / KT_CUBLAS_CHUNK + 1;
    if (chunks > KT_CUBLAS_MAX_CHUNKS)
        return kt_fail(KT_EUNAVAIL, "%s %s: n = %zu is too long", op, v->name, n);

    kt_cuda_call c;
    cublasHandle_t h;
    const kt_cublas_api *api;
    if (cublas_begin(&c, op, v, &h, &api, CUBLAS_POINTER_MODE_DEVICE) != KT_OK)
        return cublas_end(&c);
    size_t bytes = kt_cuda_bytes(&c, n, 1, elem);
    size_t sizes[3] = {bytes, bytes, chunks * elem};
    void *d[3] = {NULL, NULL, NULL};
    kt_cuda_alloc(&c, 3, sizes, d);
    kt_cuda_h2d(&c, d[0], x, bytes);
    kt_cuda_h2d(&c, d[1], y, bytes);
    kt_cuda_mark(&c, KT_CUDA_MARK_H2D);
    for (size_t i = 0; i < chunks && c.status == KT_OK; i++) {
        size_t off = i * KT_CUBLAS_CHUNK;
        int len = (int)(n - off < KT_CUBLAS_CHUNK ? n - off : KT_CUBLAS_CHUNK);
        const char *dx = (const char *)d[0] + off * elem;
        const char *dy = (const char *)d[1] + off * elem;
        if (elem == sizeof(float))
            kt_cuda_cublas_check(
                &c,
                api->sdot(h, len, (const float *)dx, 1, (const float *)dy, 1, (float *)d[2] + i),
                "cublasSdot");
        else
            kt_cuda_cublas_check(
                &c,
                api->ddot(h, len, (const double *)dx, 1, (const double *)dy, 1, (double *)d[2] + i),
                "cublasDdot");
    }
    kt_cuda_mark(&c, KT_CUDA_MARK_KERNEL);
    union {
        float f[KT_CUBLAS_MAX_CHUNKS];
        double d[KT_CUBLAS_MAX_CHUNKS];
    } part;
    kt_cuda_d2h(&c, &part, d[2], chunks * elem);
    if (kt_cuda_end(&c) != KT_OK) return c.status;
    double sum = 0.0;
    for (size_t i = 0; i < chunks; i++)
        sum += elem == sizeof(float) ? (double)part.f[i] : part.d[i];
    *result = sum;
    return KT_OK;
}

kt_status kt_dot_f32_cublas(const kt_variant *v, size_t n, const float *x, ptrdiff_t incx,
                            const float *y, ptrdiff_t incy, float *result) {
    if (n == 0) {
        *result = 0.0f;
        return KT_OK;
    }
    if (unit_strides(v, "dot_f32", incx, incy) != KT_OK) return KT_EUNAVAIL;
    double r;
    kt_status s = dot_cublas(v, "dot_f32", sizeof(float), n, x, y, &r);
    if (s == KT_OK) *result = (float)r;
    return s;
}

kt_status kt_dot_f64_cublas(const kt_variant *v, size_t n, const double *x, ptrdiff_t incx,
                            const double *y, ptrdiff_t incy, double *result) {
    if (n == 0) {
        *result = 0.0;
        return KT_OK;
    }
    if (unit_strides(v, "dot_f64", incx, incy) != KT_OK) return KT_EUNAVAIL;
    return dot_cublas(v, "dot_f64", sizeof(double), n, x, y, result);
}

/* ---- gemv --------------------------------------------------------------- */

/*
 * y = alpha * op(A) * x + beta * y, A m x n column-major (leading dimension
 * lda), elements of elem bytes, alpha and beta pointing to one each,
 * beta_zero when *beta == 0 (y is then neither copied in nor read).
 * m, n > 0, unit strides.
 */
static kt_status gemv_cublas(const kt_variant *v, const char *op, size_t elem, kt_trans trans,
                             size_t m, size_t n, const void *alpha, const void *a, size_t lda,
                             const void *x, const void *beta, int beta_zero, void *y) {
    size_t xlen = trans == KT_TRANS ? m : n;
    size_t ylen = trans == KT_TRANS ? n : m;
    int wide = !fits_int(m) || !fits_int(n);

    kt_cuda_call c;
    cublasHandle_t h;
    const kt_cublas_api *api;
    if (cublas_begin(&c, op, v, &h, &api, CUBLAS_POINTER_MODE_HOST) != KT_OK) return cublas_end(&c);
    if (wide && (elem == sizeof(float) ? api->sgemv64 == NULL : api->dgemv64 == NULL)) {
        c.status = kt_fail(KT_EUNAVAIL, "%s %s: %zu x %zu needs cuBLAS's 64-bit API (%s)", op,
                           v->name, m, n, api->path);
        return kt_cuda_end(&c);
    }
    size_t sizes[3] = {kt_cuda_bytes(&c, m, n, elem), kt_cuda_bytes(&c, xlen, 1, elem),
                       kt_cuda_bytes(&c, ylen, 1, elem)};
    void *d[3] = {NULL, NULL, NULL};
    kt_cuda_alloc(&c, 3, sizes, d);
    kt_cuda_h2d_matrix(&c, d[0], a, m, n, lda, elem);
    kt_cuda_h2d(&c, d[1], x, sizes[1]);
    if (!beta_zero) kt_cuda_h2d(&c, d[2], y, sizes[2]);
    kt_cuda_mark(&c, KT_CUDA_MARK_H2D);
    if (c.status == KT_OK) {
        cublasOperation_t t = op_of(trans);
        cublasStatus_t st;
        if (elem == sizeof(float) && !wide)
            st = api->sgemv(h, t, (int)m, (int)n, alpha, d[0], (int)m, d[1], 1, beta, d[2], 1);
        else if (elem == sizeof(float))
            st = api->sgemv64(h, t, (int64_t)m, (int64_t)n, alpha, d[0], (int64_t)m, d[1], 1, beta,
                              d[2], 1);
        else if (!wide)
            st = api->dgemv(h, t, (int)m, (int)n, alpha, d[0], (int)m, d[1], 1, beta, d[2], 1);
        else
            st = api->dgemv64(h, t, (int64_t)m, (int64_t)n, alpha, d[0], (int64_t)m, d[1], 1, beta,
                              d[2], 1);
        kt_cuda_cublas_check(&c, st, elem == sizeof(float) ? "cublasSgemv" : "cublasDgemv");
    }
    kt_cuda_mark(&c, KT_CUDA_MARK_KERNEL);
    kt_cuda_d2h(&c, y, d[2], sizes[2]);
    return kt_cuda_end(&c);
}

kt_status kt_gemv_f32_cublas(const kt_variant *v, kt_trans trans, size_t m, size_t n, float alpha,
                             const float *a, size_t lda, const float *x, ptrdiff_t incx, float beta,
                             float *y, ptrdiff_t incy) {
    if (unit_strides(v, "gemv_f32", incx, incy) != KT_OK) return KT_EUNAVAIL;
    return gemv_cublas(v, "gemv_f32", sizeof(float), trans, m, n, &alpha, a, lda, x, &beta,
                       beta == 0.0f, y);
}

kt_status kt_gemv_f64_cublas(const kt_variant *v, kt_trans trans, size_t m, size_t n, double alpha,
                             const double *a, size_t lda, const double *x, ptrdiff_t incx,
                             double beta, double *y, ptrdiff_t incy) {
    if (unit_strides(v, "gemv_f64", incx, incy) != KT_OK) return KT_EUNAVAIL;
    return gemv_cublas(v, "gemv_f64", sizeof(double), trans, m, n, &alpha, a, lda, x, &beta,
                       beta == 0.0, y);
}

/* ---- gemm --------------------------------------------------------------- */

/* One matrix operand of gemm: host pointer, shape as stored, leading dimension. */
typedef struct operand {
    const void *host;
    size_t rows, cols, ld;
} operand;

/*
 * C = alpha * op(A) * op(B) + beta * C, column-major, C m x n, op(A) m x k,
 * op(B) k x n, elements of elem bytes; beta_zero as for gemv_cublas.
 * m, n, k > 0.
 */
static kt_status gemm_cublas(const kt_variant *v, const char *op, size_t elem, kt_trans transa,
                             kt_trans transb, size_t m, size_t n, size_t k, const void *alpha,
                             operand a, operand b, const void *beta, int beta_zero, void *cm,
                             size_t ldc) {
    int wide = !fits_int(m) || !fits_int(n) || !fits_int(k);

    kt_cuda_call c;
    cublasHandle_t h;
    const kt_cublas_api *api;
    if (cublas_begin(&c, op, v, &h, &api, CUBLAS_POINTER_MODE_HOST) != KT_OK) return cublas_end(&c);
    if (wide && (elem == sizeof(float) ? api->sgemm64 == NULL : api->dgemm64 == NULL)) {
        c.status = kt_fail(KT_EUNAVAIL, "%s %s: %zu x %zu x %zu needs cuBLAS's 64-bit API (%s)", op,
                           v->name, m, n, k, api->path);
        return kt_cuda_end(&c);
    }
    size_t sizes[3] = {kt_cuda_bytes(&c, a.rows, a.cols, elem),
                       kt_cuda_bytes(&c, b.rows, b.cols, elem), kt_cuda_bytes(&c, m, n, elem)};
    void *d[3] = {NULL, NULL, NULL};
    kt_cuda_alloc(&c, 3, sizes, d);
    kt_cuda_h2d_matrix(&c, d[0], a.host, a.rows, a.cols, a.ld, elem);
    kt_cuda_h2d_matrix(&c, d[1], b.host, b.rows, b.cols, b.ld, elem);
    if (!beta_zero) kt_cuda_h2d_matrix(&c, d[2], cm, m, n, ldc, elem);
    kt_cuda_mark(&c, KT_CUDA_MARK_H2D);
    if (c.status == KT_OK) {
        cublasOperation_t ta = op_of(transa), tb = op_of(transb);
        cublasStatus_t st;
        if (elem == sizeof(float) && !wide)
            st = api->sgemm(h, ta, tb, (int)m, (int)n, (int)k, alpha, d[0], (int)a.rows, d[1],
                            (int)b.rows, beta, d[2], (int)m);
        else if (elem == sizeof(float))
            st = api->sgemm64(h, ta, tb, (int64_t)m, (int64_t)n, (int64_t)k, alpha, d[0],
                              (int64_t)a.rows, d[1], (int64_t)b.rows, beta, d[2], (int64_t)m);
        else if (!wide)
            st = api->dgemm(h, ta, tb, (int)m, (int)n, (int)k, alpha, d[0], (int)a.rows, d[1],
                            (int)b.rows, beta, d[2], (int)m);
        else
            st = api->dgemm64(h, ta, tb, (int64_t)m, (int64_t)n, (int64_t)k, alpha, d[0],
                              (int64_t)a.rows, d[1], (int64_t)b.rows, beta, d[2], (int64_t)m);
        kt_cuda_cublas_check(&c, st, elem == sizeof(float) ? "cublasSgemm" : "cublasDgemm");
    }
    kt_cuda_mark(&c, KT_CUDA_MARK_KERNEL);
    kt_cuda_d2h_matrix(&c, cm, d[2], m, n, ldc, elem);
    return kt_cuda_end(&c);
}

/* The operand op(X) of shape rows x cols as stored: transposed when t is KT_TRANS. */
static operand operand_of(const void *host, kt_trans t, size_t rows, size_t cols, size_t ld) {
    operand o = {host, t == KT_TRANS ? cols : rows, t == KT_TRANS ? rows : cols, ld};
    return o;
}

kt_status kt_gemm_f32_cublas(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                             size_t n, size_t k, float alpha, const float *a, size_t lda,
                             const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    return gemm_cublas(v, "gemm_f32", sizeof(float), transa, transb, m, n, k, &alpha,
                       operand_of(a, transa, m, k, lda), operand_of(b, transb, k, n, ldb), &beta,
                       beta == 0.0f, c, ldc);
}

kt_status kt_gemm_f64_cublas(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                             size_t n, size_t k, double alpha, const double *a, size_t lda,
                             const double *b, size_t ldb, double beta, double *c, size_t ldc) {
    return gemm_cublas(v, "gemm_f64", sizeof(double), transa, transb, m, n, k, &alpha,
                       operand_of(a, transa, m, k, lda), operand_of(b, transb, k, n, ldb), &beta,
                       beta == 0.0, c, ldc);
}
