/*
 * ktune: an auto-tuning library with runtime dispatch.
 *
 * Every operation has several implementations ("variants": scalar C, AVX2,
 * AVX-512, OpenMP threads, OpenBLAS, CUDA, cuBLAS).  Each entry point below
 * dispatches, through a table built once per process, to the variant that
 * the tuner (`ktune tune`) measured fastest for the call's size on this
 * machine, or to safe built-in defaults before any tuning.
 *
 * All entry points return KT_OK (0) or an error code; on error nothing is
 * written to the outputs and kt_last_error() says why.  The library never
 * prints and never aborts.
 */
#ifndef KTUNE_H
#define KTUNE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes.  KT_OK is 0; every other value is an error. */
typedef enum kt_status {
    KT_OK = 0,
    KT_EINVAL = 1,     /* a bad argument (null pointer with n > 0, bad leading dimension, ...) */
    KT_ENOMEM = 2,     /* an allocation failed (host or device) */
    KT_ENOTFOUND = 3,  /* no such operation or variant */
    KT_EUNAVAIL = 4,   /* the variant cannot run here (CPU feature, GPU, stride, size) */
    KT_EDEVICE = 5,    /* a CUDA or cuBLAS call failed */
    KT_EDB = 6,        /* the tuning database is missing, corrupt, locked or too new */
    KT_EIO = 7,        /* a file could not be read or written */
    KT_EINTERNAL = 8   /* a bug in ktune: please report it */
} kt_status;

/* Matrix layout and transposition; the values are those of CBLAS. */
typedef enum kt_layout { KT_ROW_MAJOR = 101, KT_COL_MAJOR = 102 } kt_layout;
typedef enum kt_trans { KT_NOTRANS = 111, KT_TRANS = 112 } kt_trans;

/* A short English description of a status code (never NULL). */
const char *kt_strerror(kt_status s);

/* The detailed message of the last failure in the calling thread ("" if none). */
const char *kt_last_error(void);

/*
 * Builds the dispatch tables (reads the environment and the tuning database).
 * Called implicitly by the first operation; calling it again does nothing.
 * Returns KT_OK, or the reason the built-in defaults are in use (for
 * instance KT_EDB for a corrupt database); the library works either way.
 */
kt_status kt_init(void);

/* The status of the last kt_init()/kt_reload() (see kt_init). */
kt_status kt_init_status(void);

/*
 * Rebuilds the dispatch tables from the database (after a new tuning run).
 * Calls in flight on other threads finish with the old table, undisturbed.
 */
kt_status kt_reload(void);

/*
 * Caps the threads any variant may use from now on (0 removes the cap);
 * equivalent to KTUNE_NUM_THREADS.  Rebuilds the dispatch tables.
 */
kt_status kt_set_max_threads(int max_threads);

/* ---- Operations ------------------------------------------------------- */

/* a[i] += c for i in [0, n). */
kt_status kt_add_scalar_i64(size_t n, int64_t c, int64_t *a);
kt_status kt_add_scalar_f32(size_t n, float c, float *a);
kt_status kt_add_scalar_f64(size_t n, double c, double *a);

/*
 * y += alpha * x, reference-BLAS semantics: element i of x is
 * x[i*incx] for incx > 0 and x[(n-1-i)*|incx|] for incx < 0 (likewise y);
 * incx = 0 reads x[0] for every i; incy = 0 accumulates into y[0].
 */
kt_status kt_axpy_f32(size_t n, float alpha, const float *x, ptrdiff_t incx, float *y,
                      ptrdiff_t incy);
kt_status kt_axpy_f64(size_t n, double alpha, const double *x, ptrdiff_t incx, double *y,
                      ptrdiff_t incy);

/* *result = sum over i of x_i * y_i (BLAS increments, as for axpy); 0 for n = 0. */
kt_status kt_dot_f32(size_t n, const float *x, ptrdiff_t incx, const float *y, ptrdiff_t incy,
                     float *result);
kt_status kt_dot_f64(size_t n, const double *x, ptrdiff_t incx, const double *y,
                     ptrdiff_t incy, double *result);

/*
 * y = alpha * op(A) * x + beta * y, A is m x n in `layout` with leading
 * dimension lda (>= n for row-major, >= m for column-major, and >= 1);
 * op(A) is A or its transpose, so x has n elements (m when transposed) and
 * y has m (n).  beta = 0 never reads y (NaN there does not leak); alpha = 0
 * only scales y.  Increments as for axpy, but must not be 0.
 */
kt_status kt_gemv_f32(kt_layout layout, kt_trans trans, size_t m, size_t n, float alpha,
                      const float *a, size_t lda, const float *x, ptrdiff_t incx, float beta,
                      float *y, ptrdiff_t incy);
kt_status kt_gemv_f64(kt_layout layout, kt_trans trans, size_t m, size_t n, double alpha,
                      const double *a, size_t lda, const double *x, ptrdiff_t incx, double beta,
                      double *y, ptrdiff_t incy);

/*
 * C = alpha * op(A) * op(B) + beta * C, C is m x n, op(A) m x k, op(B) k x n,
 * all in `layout` with leading dimensions (each >= the stored row length
 * and >= 1).  beta = 0 never reads C; alpha = 0 or k = 0 does no multiply
 * (C = beta * C); m = 0 or n = 0 does nothing.
 */
kt_status kt_gemm_f32(kt_layout layout, kt_trans transa, kt_trans transb, size_t m, size_t n,
                      size_t k, float alpha, const float *a, size_t lda, const float *b,
                      size_t ldb, float beta, float *c, size_t ldc);
kt_status kt_gemm_f64(kt_layout layout, kt_trans transa, kt_trans transb, size_t m, size_t n,
                      size_t k, double alpha, const double *a, size_t lda, const double *b,
                      size_t ldb, double beta, double *c, size_t ldc);

/*
 * Out-of-place transpose: B = A^T, A m x n (leading dimension lda), B n x m
 * (ldb), both in the given layout; A and B must not overlap.  m or n = 0:
 * nothing to do.
 */
kt_status kt_transpose_f32(kt_layout layout, size_t m, size_t n, const float *a, size_t lda,
                           float *b, size_t ldb);
kt_status kt_transpose_f64(kt_layout layout, size_t m, size_t n, const double *a, size_t lda,
                           double *b, size_t ldb);

/*
 * 2-D 3x3 stencil: B[i][j] = sum over r, c in 0..2 of w[r][c] A[i + r][j + c]
 * for the (m - 2) x (n - 2) outputs, A m x n (lda), B (ldb), w a 3x3 matrix
 * (9 elements), all in the given layout.  m or n < 3: nothing to do.
 */
kt_status kt_stencil3x3_f32(kt_layout layout, size_t m, size_t n, const float *w, const float *a,
                            size_t lda, float *b, size_t ldb);
kt_status kt_stencil3x3_f64(kt_layout layout, size_t m, size_t n, const double *w,
                            const double *a, size_t lda, double *b, size_t ldb);

/*
 * Sorts a[0..n) in place, ascending.  Floats: NaNs last (each becomes the
 * default quiet NaN: payloads are not kept), -0 and +0 compare equal (either
 * order).  Not stable (only keys are sorted, so it cannot be observed).
 */
kt_status kt_sort_f32(size_t n, float *a);
kt_status kt_sort_f64(size_t n, double *a);
kt_status kt_sort_i64(size_t n, int64_t *a);

/* ---- Introspection ---------------------------------------------------- */

/* Number of operations and the name of operation i ("axpy_f32"), or NULL. */
size_t kt_op_count(void);
const char *kt_op_name(size_t i);

/* What one variant is, and whether it can run here. */
typedef struct kt_variant_info {
    const char *op;       /* "axpy_f32" */
    const char *name;     /* "avx512", "threads:t=2", "cuda:block=256", ... */
    const char *backend;  /* "scalar", "avx2", "avx512", "threads", "openblas", "cuda", "cublas" */
    unsigned version;     /* bumped whenever the variant's code changes */
    int threads;          /* threads it runs on (1 for serial variants) */
    int gpu;              /* 1 for CUDA/cuBLAS variants */
    int unit_stride;      /* 1 if it only takes unit increments (others fall back) */
    int available;        /* 1 if it can run on this machine, in this process */
    const char *reason;   /* why not, when available == 0 ("" otherwise) */
} kt_variant_info;

/* Number of variants of an operation (0 for an unknown op). */
size_t kt_variant_count(const char *op);

/* Fills *out for variant i of op, or returns KT_ENOTFOUND. */
kt_status kt_variant_get(const char *op, size_t i, kt_variant_info *out);

/* Fills *out for the variant of op named name, or returns KT_ENOTFOUND. */
kt_status kt_variant_find(const char *op, const char *name, kt_variant_info *out);

/*
 * The arguments of any operation, for calling a named variant generically.
 * Each operation reads the fields it needs (its entry point's parameters).
 */
typedef struct kt_args {
    size_t n;           /* vector length, or columns */
    size_t m, k;        /* rows, inner dimension (matrix ops) */
    double alpha;       /* alpha, or c for add_scalar_f32/f64 */
    double beta;
    int64_t ialpha;     /* c for add_scalar_i64 */
    kt_layout layout;
    kt_trans transa, transb;
    const void *x;      /* axpy: x */
    ptrdiff_t incx;
    void *y;            /* axpy: y; add_scalar: a */
    ptrdiff_t incy;
    const void *a;
    size_t lda;
    const void *b;
    size_t ldb;
    void *c;
    size_t ldc;
    double result;      /* scalar results (dot) */
} kt_args;

/*
 * Calls the variant `variant` of `op` directly, bypassing dispatch.
 * Arguments are validated exactly as by the entry point.  Returns
 * KT_ENOTFOUND for an unknown op or variant, KT_EUNAVAIL when the variant
 * cannot run here or cannot take these arguments (e.g. a non-unit stride).
 */
kt_status kt_call(const char *op, const char *variant, kt_args *args);

/*
 * Forces op to dispatch to variant from now on (NULL variant: back to the
 * tuned choice); equivalent to KTUNE_FORCE.  KT_EUNAVAIL if it cannot run here.
 */
kt_status kt_force(const char *op, const char *variant);

/* How a call of op at the given dimensions dispatches now. */
typedef struct kt_dispatch_info {
    const char *variant;   /* what the call runs */
    const char *source;    /* "tuned", "default", "forced", "fallback" */
    size_t matched[3];     /* the tuned dimensions it was matched to (tuned only) */
    char why[256];         /* one line in English */
} kt_dispatch_info;

/* Dimensions are {n} for vector ops, {m, n} for gemv, {m, n, k} for gemm. */
kt_status kt_dispatch_explain(const char *op, const size_t dims[3], kt_dispatch_info *out);

/* ---- Machine ---------------------------------------------------------- */

/* The machine fingerprint tuning results are keyed by (static storage). */
const char *kt_fingerprint(void);

/* Library version string, e.g. "0.1.0". */
const char *kt_version(void);

/* ---- Profiling of real calls ------------------------------------------ */

/*
 * Turns on recording for this process (as KTUNE_PROFILE=1 does at init): per op, shape
 * class and variant, the calls (every one counted) and their time (sampled).  The
 * profile is written to the tuning database at exit and by kt_profile_flush(); see
 * `ktune profile`.  Calling it again does nothing.  Never fails the program: KT_OK, or
 * KT_ENOMEM when the dispatch tables could not be rebuilt (recording is on anyway).
 */
kt_status kt_profile_enable(void);

/*
 * Writes what was recorded so far (every thread's calls and the dispatch counters) to
 * the tuning database in one transaction, replacing what this process wrote before;
 * when the database cannot take it, to the file KTUNE_PROFILE names (when it names
 * one).  KT_OK (also when recording is off: nothing to write), or the reason the
 * profile could not be stored anywhere.
 */
kt_status kt_profile_flush(void);

/* 1 while recording is on. */
int kt_profile_enabled(void);

#ifdef __cplusplus
}
#endif

#endif /* KTUNE_H */
