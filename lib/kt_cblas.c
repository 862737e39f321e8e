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
 * cblas_xerbla maps the numbers back to the caller's parameters: a row-major
 * error is reported with the number of the swapped call's parameter and
 * RowMajorStrg = 1 (gemm: 4 <-> 5 and 9 <-> 11, gemv: 3 <-> 4), exactly as
 * reference CBLAS and OpenBLAS do, so a program's handler written for them
 * reads the same numbers here.
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
#include <string.h>

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
 * The reference CBLAS globals (cblas_globals.c there) an error handler reads:
 * RowMajorStrg is 1 while a row-major call reports an error (its number is
 * then the swapped column-major call's), CBLAS_CallFromC 1 while any call
 * does.  Set only around the cblas_xerbla call, so valid calls write no
 * shared state.  Weak, so that a BLAS defining them too is no clash.
 */
__attribute__((weak)) int RowMajorStrg;
__attribute__((weak)) int CBLAS_CallFromC;

/*
 * The number of the caller's parameter for error p of routine rout while
 * RowMajorStrg is set (the reference cblas_xerbla's mapping, for the
 * routines this library has).
 */
static int kt_cblas_caller_param(int p, const char *rout) {
    if (!RowMajorStrg) return p;
    if (strstr(rout, "gemm")) return p == 4 ? 5 : p == 5 ? 4 : p == 9 ? 11 : p == 11 ? 9 : p;
    if (strstr(rout, "gemv")) return p == 3 ? 4 : p == 4 ? 3 : p;
    return p;
}

/*
 * The default error handler, weak so that a program's own cblas_xerbla
 * replaces it.  Reference CBLAS then exits the program; this one returns
 * (the routine returns without touching its outputs), as OpenBLAS does.
 */
__attribute__((weak)) void cblas_xerbla(int p, const char *rout, const char *form, ...) {
    va_list ap;
    p = kt_cblas_caller_param(p, rout);
    if (p) fprintf(stderr, "Parameter %d to routine %s was incorrect\n", p, rout);
    va_start(ap, form);
    vfprintf(stderr, form, ap);
    va_end(ap);
}

/* Calls cblas_xerbla for error p of routine r with the reference globals set. */
static void __attribute__((noinline, format(printf, 4, 5)))
kt_cblas_report(int r, bool row_major, int p, const char *form, ...) {
    char detail[128];
    va_list ap;
    va_start(ap, form);
    vsnprintf(detail, sizeof detail, form, ap);
    va_end(ap);
    RowMajorStrg = row_major;
    CBLAS_CallFromC = 1;
    cblas_xerbla(p, kt_cblas_name[r], "%s", detail);
    CBLAS_CallFromC = 0;
    RowMajorStrg = 0;
}

static bool kt_cblas_trans_ok(int t) {
    return t == CblasNoTrans || t == CblasTrans || t == CblasConjTrans;
}

static int kt_cblas_max1(int a) { return a > 1 ? a : 1; }

/* Reports bad parameter p of routine r (found by the Fortran checks: no detail). */
static bool kt_cblas_bad(int r, bool row_major, int p) {
    kt_cblas_report(r, row_major, p, "%s", "");
    return true;
}

/*
 * ?gemv's checks in the reference order; on a bad parameter calls
 * cblas_xerbla with the reference's number and returns true.  Row-major:
 * Fortran checks the swapped call gemv(trans', N, M, ...), so N is its
 * parameter 3 and M its 4, and lda >= max(1, N).
 */
static bool kt_cblas_gemv_bad(int r, int layout, int trans, int m, int n, int lda, int incx,
                              int incy) {
    if (layout != CblasColMajor && layout != CblasRowMajor) {
        kt_cblas_report(r, false, 1, "Illegal layout setting, %d\n", layout);
        return true;
    }
    bool row = layout == CblasRowMajor;
    if (!kt_cblas_trans_ok(trans)) {
        kt_cblas_report(r, row, 2, "Illegal TransA setting, %d\n", trans);
        return true;
    }
    int fm = row ? n : m, fn = row ? m : n; /* the Fortran call's M and N */
    if (fm < 0) return kt_cblas_bad(r, row, 3);
    if (fn < 0) return kt_cblas_bad(r, row, 4);
    if (lda < kt_cblas_max1(fm)) return kt_cblas_bad(r, row, 7);
    if (incx == 0) return kt_cblas_bad(r, row, 9);
    if (incy == 0) return kt_cblas_bad(r, row, 12);
    return false;
}

/*
 * ?gemm's checks in the reference order; on a bad parameter calls
 * cblas_xerbla with the reference's number and returns true.  A stored
 * matrix needs a leading dimension of at least max(1, its stored row
 * length for row-major data, column length for column-major), whatever the
 * other sizes.  Row-major: Fortran checks the swapped call
 * gemm(transb, transa, N, M, K, B, ldb, A, lda, C, ldc), numbered as such.
 */
static bool kt_cblas_gemm_bad(int r, int layout, int transa, int transb, int m, int n, int k,
                              int lda, int ldb, int ldc) {
    if (layout != CblasColMajor && layout != CblasRowMajor) {
        kt_cblas_report(r, false, 1, "Illegal layout setting, %d\n", layout);
        return true;
    }
    bool row = layout == CblasRowMajor;
    if (!kt_cblas_trans_ok(transa)) {
        kt_cblas_report(r, row, 2, "Illegal TransA setting, %d\n", transa);
        return true;
    }
    if (!kt_cblas_trans_ok(transb)) {
        kt_cblas_report(r, row, 3, "Illegal TransB setting, %d\n", transb);
        return true;
    }
    /* the Fortran call: C (fm x fn) = op(FA) op(FB), FA fm x k (k x fm), FB k x fn (fn x k) */
    bool na = (row ? transb : transa) == CblasNoTrans;
    bool nb = (row ? transa : transb) == CblasNoTrans;
    int fm = row ? n : m, fn = row ? m : n, flda = row ? ldb : lda, fldb = row ? lda : ldb;
    if (fm < 0) return kt_cblas_bad(r, row, 4);
    if (fn < 0) return kt_cblas_bad(r, row, 5);
    if (k < 0) return kt_cblas_bad(r, row, 6);
    if (flda < kt_cblas_max1(na ? fm : k)) return kt_cblas_bad(r, row, 9);
    if (fldb < kt_cblas_max1(nb ? k : fn)) return kt_cblas_bad(r, row, 11);
    if (ldc < kt_cblas_max1(fm)) return kt_cblas_bad(r, row, 14);
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
