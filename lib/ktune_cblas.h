/*
 * ktune_cblas: a CBLAS drop-in (libktune_cblas) for the routines ktune tunes.
 *
 * cblas_saxpy/daxpy, cblas_sdot/ddot, cblas_sgemv/dgemv and cblas_sgemm/dgemm
 * with the reference (netlib) CBLAS semantics and the LP64 ABI of OpenBLAS's
 * cblas.h (int sizes, increments and leading dimensions), served by ktune's
 * tuned dispatch (kt_axpy_f32 ... kt_gemm_f64).  Link -lktune_cblas ahead of
 * the BLAS (-lopenblas): these eight resolve to ktune, every other cblas_*
 * routine to the BLAS.
 *
 * Bad arguments are reported as reference CBLAS reports them: the routine
 * calls cblas_xerbla(p, "cblas_dgemm", form, ...) with the number of the
 * first bad parameter (1-based, in the reference order) and returns without
 * touching its outputs.  For a row-major gemv or gemm the number is that of
 * the swapped column-major call, with RowMajorStrg = 1 during the handler
 * call, as in reference CBLAS and OpenBLAS (whose cblas_xerbla maps it
 * back: gemm 4 <-> 5, 9 <-> 11; gemv 3 <-> 4).  The library's default cblas_xerbla is a weak symbol
 * printing "Parameter p to routine r was incorrect" to stderr (and, unlike
 * the reference, returning instead of exiting); a program overrides it by
 * defining its own cblas_xerbla.
 *
 * This header stands in for cblas.h for these routines.  When a cblas.h was
 * included before it, the declarations there are used and nothing is
 * redeclared; do not include a cblas.h after this header.
 */
#ifndef KTUNE_CBLAS_H
#define KTUNE_CBLAS_H

#ifdef __cplusplus
extern "C" {
#endif

#ifndef CBLAS_H /* the include guard of both netlib's and OpenBLAS's cblas.h */

/* The values of the reference CBLAS enums (CblasConjTrans is Trans for real data). */
typedef enum CBLAS_LAYOUT { CblasRowMajor = 101, CblasColMajor = 102 } CBLAS_LAYOUT;
typedef enum CBLAS_TRANSPOSE {
    CblasNoTrans = 111,
    CblasTrans = 112,
    CblasConjTrans = 113
} CBLAS_TRANSPOSE;
#ifndef CBLAS_ORDER
#define CBLAS_ORDER CBLAS_LAYOUT /* the older name, as in netlib's cblas.h */
#endif

/* y += alpha * x.  n <= 0 or alpha == 0 does nothing (x is not read). */
void cblas_saxpy(const int n, const float alpha, const float *x, const int incx, float *y,
                 const int incy);
void cblas_daxpy(const int n, const double alpha, const double *x, const int incx, double *y,
                 const int incy);

/* sum x_i * y_i; 0 for n <= 0. */
float cblas_sdot(const int n, const float *x, const int incx, const float *y, const int incy);
double cblas_ddot(const int n, const double *x, const int incx, const double *y, const int incy);

/* y = alpha * op(A) * x + beta * y, A is M x N. */
void cblas_sgemv(const CBLAS_LAYOUT layout, const CBLAS_TRANSPOSE trans, const int M, const int N,
                 const float alpha, const float *A, const int lda, const float *x, const int incx,
                 const float beta, float *y, const int incy);
void cblas_dgemv(const CBLAS_LAYOUT layout, const CBLAS_TRANSPOSE trans, const int M, const int N,
                 const double alpha, const double *A, const int lda, const double *x,
                 const int incx, const double beta, double *y, const int incy);

/* C = alpha * op(A) * op(B) + beta * C, C is M x N, op(A) M x K, op(B) K x N. */
void cblas_sgemm(const CBLAS_LAYOUT layout, const CBLAS_TRANSPOSE transa,
                 const CBLAS_TRANSPOSE transb, const int M, const int N, const int K,
                 const float alpha, const float *A, const int lda, const float *B, const int ldb,
                 const float beta, float *C, const int ldc);
void cblas_dgemm(const CBLAS_LAYOUT layout, const CBLAS_TRANSPOSE transa,
                 const CBLAS_TRANSPOSE transb, const int M, const int N, const int K,
                 const double alpha, const double *A, const int lda, const double *B,
                 const int ldb, const double beta, double *C, const int ldc);

/*
 * The error handler: p is the 1-based number of the first bad parameter,
 * rout the routine ("cblas_dgemm"), form a printf format (with its
 * arguments) of more detail, "" when there is none.
 */
void cblas_xerbla(int p, const char *rout, const char *form, ...);

#endif /* CBLAS_H */

/*
 * The reference CBLAS globals a handler reads: RowMajorStrg is 1 while a
 * row-major call reports its error, CBLAS_CallFromC 1 while any call does.
 */
extern int RowMajorStrg;
extern int CBLAS_CallFromC;

#ifdef __cplusplus
}
#endif

#endif /* KTUNE_CBLAS_H */
