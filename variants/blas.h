/*
 * variants/blas.h: the dot, gemv and gemm variant functions (issue 5), for
 * the registry (lib/kt_registry.c) and the files that define them.  Their
 * types are kt_dot_f32_fn ... kt_gemm_f64_fn of kt_internal.h.  Not installed.
 */
#ifndef KT_VARIANTS_BLAS_H
#define KT_VARIANTS_BLAS_H

#include "kt_internal.h"

#define KT_BLAS_DECLARE(isa)                                                                      \
    kt_status kt_dot_f32_##isa(const kt_variant *v, size_t n, const float *x, ptrdiff_t incx,     \
                               const float *y, ptrdiff_t incy, float *result);                    \
    kt_status kt_dot_f64_##isa(const kt_variant *v, size_t n, const double *x, ptrdiff_t incx,    \
                               const double *y, ptrdiff_t incy, double *result);                  \
    kt_status kt_gemv_f32_##isa(const kt_variant *v, kt_trans trans, size_t m, size_t n,          \
                                float alpha, const float *a, size_t lda, const float *x,          \
                                ptrdiff_t incx, float beta, float *y, ptrdiff_t incy);            \
    kt_status kt_gemv_f64_##isa(const kt_variant *v, kt_trans trans, size_t m, size_t n,          \
                                double alpha, const double *a, size_t lda, const double *x,       \
                                ptrdiff_t incx, double beta, double *y, ptrdiff_t incy);          \
    kt_status kt_gemm_f32_##isa(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,  \
                                size_t n, size_t k, float alpha, const float *a, size_t lda,      \
                                const float *b, size_t ldb, float beta, float *c, size_t ldc);    \
    kt_status kt_gemm_f64_##isa(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,  \
                                size_t n, size_t k, double alpha, const double *a, size_t lda,    \
                                const double *b, size_t ldb, double beta, double *c, size_t ldc)

/*
 * The unit-stride form of a serial dot variant: (n, x, y, result), four
 * arguments, so the entry point's fast path ends in a tail jump (the
 * variant signature's seventh argument is passed on the stack).  Same
 * result as the variant with increments 1.  lib/kt_registry.c maps a
 * variant to its form (kt_dot_unit_of).
 */
#define KT_DOT_UNIT_DECLARE(isa)                                                                  \
    kt_status kt_dot_f32_##isa##_unit(size_t n, const float *x, const float *y, float *result);  \
    kt_status kt_dot_f64_##isa##_unit(size_t n, const double *x, const double *y, double *result)

KT_DOT_UNIT_DECLARE(scalar);
KT_DOT_UNIT_DECLARE(avx2);
KT_DOT_UNIT_DECLARE(avx512);

#undef KT_DOT_UNIT_DECLARE

KT_BLAS_DECLARE(scalar);
KT_BLAS_DECLARE(avx2);
KT_BLAS_DECLARE(avx512);
KT_BLAS_DECLARE(threads);
KT_BLAS_DECLARE(openblas);

#undef KT_BLAS_DECLARE

#endif /* KT_VARIANTS_BLAS_H */
