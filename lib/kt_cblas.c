/*
 * libktune_cblas: cblas_[sd]axpy, cblas_[sd]dot, cblas_[sd]gemv and
 * cblas_[sd]gemm with the reference (netlib) CBLAS semantics, served by
 * ktune's entry points (kt_axpy_f32 ... kt_gemm_f64) and so by its tuned
 * dispatch.  See ktune_cblas.h.
 *
 * The reference argument checks are reproduced here, parameter by
 * parameter and in the reference order, because reference CBLAS reports
 * the first bad parameter by number: its wrappers check the layout and
 * the transpositions, then call the Fortran routine, whose INFO counts
 * without the layout argument (CBLAS adds 1).  For a row-major call the
 * wrapper hands Fortran the transposed problem (M and N swapped, for gemm
 * A and B swapped), so Fortran checks N before M and ldb before lda, and
 * cblas_xerbla maps the numbers back to the caller's parameters.
 *
 * The routine name passed to cblas_xerbla is "cblas_dgemm".  (Reference
 * CBLAS builds it from the Fortran name, "DGEMM ", so its errors found by
 * Fortran say "cblas_dgemm " with a trailing blank; OpenBLAS and this
 * library drop the blank.)
 *
 * Unlike libktune, this library prints: the default cblas_xerbla writes
 * the reference message to stderr, as every CBLAS does.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "config.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "kt_internal.h"
#include "ktune_cblas.h"

/* ---- routines, and what is logged about them once -------------------------------- */

/* Routine numbers: the float routine, then the double one, of each family. */
enum { KT_CBLAS_AXPY = 0, KT_CBLAS_DOT = 2, KT_CBLAS_GEMV = 4, KT_CBLAS_GEMM = 6, KT_CBLAS_N = 8 };

static const char *const kt_cblas_name[KT_CBLAS_N] = {"cblas_saxpy", "cblas_daxpy", "cblas_sdot",
                                                      "cblas_ddot",  "cblas_sgemv", "cblas_dgemv",
                                                      "cblas_sgemm", "cblas_dgemm"};
static const char *const kt_cblas_op[KT_CBLAS_N] = {
    "axpy_f32", "axpy_f64", "dot_f32", "dot_f64", "gemv_f32", "gemv_f64", "gemm_f32", "gemm_f64"};

/* Set once the corresponding line was logged: one relaxed load per call afterwards. */
static atomic_bool kt_cblas_served[KT_CBLAS_N], kt_cblas_declined[KT_CBLAS_N],
    kt_cblas_reentered[KT_CBLAS_N];

/* Whether this thread is inside a ktune entry point called from here. */
static _Thread_local bool kt_cblas_inside;

/* Logs the line at level the first time flag is seen clear (any thread). */
static void __attribute__((noinline, format(printf, 3, 4)))
kt_cblas_log_once(atomic_bool *flag, kt_log_level level, const char *fmt, ...) {
    if (atomic_exchange(flag, true)) return;
    kt_init(); /* reads KTUNE_LOG if no ktune call did yet */
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    kt_log(level, "%s", line);
}

/*
 * Whether a routine may call ktune now.  Not when this thread is already
 * inside ktune: a ktune variant that calls the BLAS's cblas_* routine (the
 * openblas variants do) gets this library's instead, since a drop-in is
 * linked ahead of the BLAS, and calling ktune again would recurse without
 * end.  The caller then passes the call on to kt_cblas_next().
 */
static inline bool kt_cblas_enter(void) {
    if (kt_cblas_inside) return false;
    kt_cblas_inside = true;
    return true;
}

/*
 * For a call from inside ktune: the definition of routine r that the
 * program would have had without this library, i.e. the next one in link
 * order (the BLAS's), which is the one the ktune variant meant to call.
 * NULL when there is none to find (a fully static program): the caller
 * then computes with the reference loop.  Looked up once per routine.
 */
static void *kt_cblas_next(int r) {
    static _Atomic(void *) next[KT_CBLAS_N];
    static atomic_bool looked[KT_CBLAS_N];
    if (atomic_load_explicit(&looked[r], memory_order_acquire))
        return atomic_load_explicit(&next[r], memory_order_relaxed);
    void *fn = dlsym(RTLD_NEXT, kt_cblas_name[r]);
    atomic_store_explicit(&next[r], fn, memory_order_relaxed);
    atomic_store_explicit(&looked[r], true, memory_order_release);
    if (fn)
        kt_cblas_log_once(&kt_cblas_reentered[r], KT_LOG_DEBUG,
                          "%s: called from inside ktune (a variant calling the BLAS): passed on "
                          "to the next %s in link order",
                          kt_cblas_name[r], kt_cblas_name[r]);
    else
        kt_cblas_log_once(&kt_cblas_reentered[r], KT_LOG_WARN,
                          "%s: called from inside ktune (a variant calling the BLAS got "
                          "libktune_cblas's %s, and no other is linked): computed with the "
                          "reference loop",
                          kt_cblas_name[r], kt_cblas_name[r]);
    return fn;
}

/* Leaves ktune after routine r's call returned s; logs its first outcome. */
static inline void kt_cblas_leave(int r, kt_status s) {
    kt_cblas_inside = false;
    if (s == KT_OK) {
        if (!atomic_load_explicit(&kt_cblas_served[r], memory_order_relaxed))
            kt_cblas_log_once(&kt_cblas_served[r], KT_LOG_DEBUG, "%s: served by ktune (%s)",
                              kt_cblas_name[r], kt_cblas_op[r]);
    } else if (!atomic_load_explicit(&kt_cblas_declined[r], memory_order_relaxed)) {
        kt_cblas_log_once(&kt_cblas_declined[r], KT_LOG_DEBUG,
                          "%s: ktune declined (%s: %s): computed with the reference loop",
                          kt_cblas_name[r], kt_strerror(s), kt_last_error());
    }
}

/* ---- argument checks --------------------------------------------------------------- */

/*
 * The default error handler, weak so that a program's own cblas_xerbla
 * replaces it.  Reference CBLAS then exits the program; this one returns
 * (the routine returns without touching its outputs), as OpenBLAS does.
 */
__attribute__((weak)) void cblas_xerbla(int p, const char *rout, const char *form, ...) {
    va_list ap;
    if (p) fprintf(stderr, "Parameter %d to routine %s was incorrect\n", p, rout);
    va_start(ap, form);
    vfprintf(stderr, form, ap);
    va_end(ap);
}

static bool kt_cblas_trans_ok(int t) {
    return t == CblasNoTrans || t == CblasTrans || t == CblasConjTrans;
}

static int kt_cblas_max1(int a) { return a > 1 ? a : 1; }

/* Reports bad parameter p of routine r (found by the Fortran checks: no detail). */
static bool kt_cblas_bad(int r, int p) {
    cblas_xerbla(p, kt_cblas_name[r], "");
    return true;
}

/*
 * ?gemv's checks in the reference order; on a bad parameter calls
 * cblas_xerbla with its number and returns true.
 */
static bool kt_cblas_gemv_bad(int r, int layout, int trans, int m, int n, int lda, int incx,
                              int incy) {
    if (layout != CblasColMajor && layout != CblasRowMajor) {
        cblas_xerbla(1, kt_cblas_name[r], "Illegal layout setting, %d\n", layout);
        return true;
    }
    if (!kt_cblas_trans_ok(trans)) {
        cblas_xerbla(2, kt_cblas_name[r], "Illegal TransA setting, %d\n", trans);
        return true;
    }
    if (layout == CblasColMajor) {
        if (m < 0) return kt_cblas_bad(r, 3);
        if (n < 0) return kt_cblas_bad(r, 4);
        if (lda < kt_cblas_max1(m)) return kt_cblas_bad(r, 7);
    } else {
        /* Fortran sees the N x M matrix A^T: N first, and lda >= max(1, N) */
        if (n < 0) return kt_cblas_bad(r, 4);
        if (m < 0) return kt_cblas_bad(r, 3);
        if (lda < kt_cblas_max1(n)) return kt_cblas_bad(r, 7);
    }
    if (incx == 0) return kt_cblas_bad(r, 9);
    if (incy == 0) return kt_cblas_bad(r, 12);
    return false;
}

/*
 * ?gemm's checks in the reference order; on a bad parameter calls
 * cblas_xerbla with its number and returns true.  A stored matrix needs a
 * leading dimension of at least max(1, its stored row length for row-major
 * data, column length for column-major), whatever the other sizes.
 */
static bool kt_cblas_gemm_bad(int r, int layout, int transa, int transb, int m, int n, int k,
                              int lda, int ldb, int ldc) {
    if (layout != CblasColMajor && layout != CblasRowMajor) {
        cblas_xerbla(1, kt_cblas_name[r], "Illegal layout setting, %d\n", layout);
        return true;
    }
    if (!kt_cblas_trans_ok(transa)) {
        cblas_xerbla(2, kt_cblas_name[r], "Illegal TransA setting, %d\n", transa);
        return true;
    }
    if (!kt_cblas_trans_ok(transb)) {
        cblas_xerbla(3, kt_cblas_name[r], "Illegal TransB setting, %d\n", transb);
        return true;
    }
    bool na = transa == CblasNoTrans, nb = transb == CblasNoTrans;
    if (layout == CblasColMajor) {
        /* A is M x K (K x M transposed), B K x N (N x K), C M x N */
        if (m < 0) return kt_cblas_bad(r, 4);
        if (n < 0) return kt_cblas_bad(r, 5);
        if (k < 0) return kt_cblas_bad(r, 6);
        if (lda < kt_cblas_max1(na ? m : k)) return kt_cblas_bad(r, 9);
        if (ldb < kt_cblas_max1(nb ? k : n)) return kt_cblas_bad(r, 11);
        if (ldc < kt_cblas_max1(m)) return kt_cblas_bad(r, 14);
    } else {
        /* Fortran computes C^T = op(B)^T op(A)^T: N before M, B before A */
        if (n < 0) return kt_cblas_bad(r, 5);
        if (m < 0) return kt_cblas_bad(r, 4);
        if (k < 0) return kt_cblas_bad(r, 6);
        if (ldb < kt_cblas_max1(nb ? n : k)) return kt_cblas_bad(r, 11);
        if (lda < kt_cblas_max1(na ? k : m)) return kt_cblas_bad(r, 9);
        if (ldc < kt_cblas_max1(n)) return kt_cblas_bad(r, 14);
    }
    return false;
}

/*
 * Offset of the first element (in the BLAS sense) of an n-element vector
 * with increment inc: a negative increment walks the vector from its end.
 */
static inline ptrdiff_t kt_cblas_start(int n, int inc) {
    return inc < 0 ? (ptrdiff_t)(n - 1) * -(ptrdiff_t)inc : 0;
}

/* ---- the routines -------------------------------------------------------------------- */

#define CT float
#define CB(name) cblas_s##name
#define KF(name) kt_##name##_f32
#define CR(name) ref_##name##_f32
#define CX 0
#include "kt_cblas_body.h"

#define CT double
#define CB(name) cblas_d##name
#define KF(name) kt_##name##_f64
#define CR(name) ref_##name##_f64
#define CX 1
#include "kt_cblas_body.h"
