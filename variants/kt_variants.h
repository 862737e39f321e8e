/*
 * Declarations of every variant function (one per op and backend; the
 * registry rows in lib/kt_registry.c point at them).  Signatures are the
 * typed kt_<op>_fn of kt_internal.h.  Names read as a path:
 * kt_<op>_<dtype>_<backend>.
 */
#ifndef KT_VARIANTS_H
#define KT_VARIANTS_H

#include "kt_internal.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KT_DECLARE_VEC_VARIANTS(backend)                                                        \
    kt_status kt_add_scalar_i64_##backend(const kt_variant *v, size_t n, int64_t c, int64_t *a); \
    kt_status kt_add_scalar_f32_##backend(const kt_variant *v, size_t n, float c, float *a);     \
    kt_status kt_add_scalar_f64_##backend(const kt_variant *v, size_t n, double c, double *a);   \
    kt_status kt_axpy_f32_##backend(const kt_variant *v, size_t n, float alpha, const float *x, \
                                    ptrdiff_t incx, float *y, ptrdiff_t incy);                  \
    kt_status kt_axpy_f64_##backend(const kt_variant *v, size_t n, double alpha,                \
                                    const double *x, ptrdiff_t incx, double *y, ptrdiff_t incy);

KT_DECLARE_VEC_VARIANTS(scalar)
KT_DECLARE_VEC_VARIANTS(avx2)
KT_DECLARE_VEC_VARIANTS(avx512)
KT_DECLARE_VEC_VARIANTS(threads)
KT_DECLARE_VEC_VARIANTS(cuda)

kt_status kt_axpy_f32_openblas(const kt_variant *v, size_t n, float alpha, const float *x,
                               ptrdiff_t incx, float *y, ptrdiff_t incy);
kt_status kt_axpy_f64_openblas(const kt_variant *v, size_t n, double alpha, const double *x,
                               ptrdiff_t incx, double *y, ptrdiff_t incy);
kt_status kt_axpy_f32_cublas(const kt_variant *v, size_t n, float alpha, const float *x,
                             ptrdiff_t incx, float *y, ptrdiff_t incy);
kt_status kt_axpy_f64_cublas(const kt_variant *v, size_t n, double alpha, const double *x,
                             ptrdiff_t incx, double *y, ptrdiff_t incy);

/* OpenBLAS's configuration string (version, core), for the fingerprint. */
const char *kt_openblas_config(void);
/* How the OpenBLAS loaded at run time threads: 0 serial, 1 pthreads, 2 OpenMP. */
int kt_openblas_parallel(void);
/* 1 when called from inside an OpenMP parallel region (threads backend). */
int kt_omp_in_parallel(void);

#ifdef __cplusplus
}
#endif

#endif /* KT_VARIANTS_H */
