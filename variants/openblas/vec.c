/*
 * OpenBLAS variants of the vector ops, through OpenBLAS's Fortran interface
 * (see kt_openblas.h).  Each call runs on the variant's thread count and
 * leaves OpenBLAS's and OpenMP's as it found them (kt_openblas_enter).
 */
#include "config.h"

#include <cblas.h>

#include "kt_openblas.h"
#include "kt_variants.h"

kt_openblas_saved kt_openblas_enter(int t) {
    kt_openblas_saved s = {0, 0};
    if (t < 1) t = 1;
    int now = openblas_get_num_threads();
    if (now == t) return s;
    s.threads = now;
    if (kt_openblas_parallel() == 2) s.omp = kt_omp_max_threads();
    openblas_set_num_threads(t);
    return s;
}

void kt_openblas_leave(kt_openblas_saved s) {
    if (!s.threads) return;
    openblas_set_num_threads(s.threads);
    if (s.omp > 0) kt_omp_set_max_threads(s.omp);
}

const char *kt_openblas_config(void) { return openblas_get_config(); }

int kt_openblas_parallel(void) { return openblas_get_parallel(); }

/*
 * BLAS takes int sizes: longer vectors go in chunks.  For chunk [lo, hi) of
 * an n-element BLAS vector with increment inc, the chunk's first element
 * (in the BLAS sense) sits at offset lo*inc for inc > 0, (n-hi)*|inc| for
 * inc < 0 (the vector is walked from its end), and 0 for inc == 0.
 */
static inline ptrdiff_t chunk_offset(size_t n, size_t lo, size_t hi, ptrdiff_t inc) {
    if (inc > 0) return (ptrdiff_t)lo * inc;
    if (inc < 0) return (ptrdiff_t)(n - hi) * -inc;
    return 0;
}

#define KT_CHUNK ((size_t)1 << 30)

kt_status kt_axpy_f32_openblas(const kt_variant *v, size_t n, float alpha, const float *x,
                               ptrdiff_t incx, float *y, ptrdiff_t incy) {
    kt_openblas_saved saved = kt_openblas_enter(v->threads);
    blasint ix = (blasint)incx, iy = (blasint)incy;
    for (size_t lo = 0; lo < n; lo += KT_CHUNK) {
        size_t hi = n - lo > KT_CHUNK ? lo + KT_CHUNK : n;
        blasint len = (blasint)(hi - lo);
        BLASFUNC(saxpy)(&len, &alpha, (float *)(x + chunk_offset(n, lo, hi, incx)), &ix,
                        y + chunk_offset(n, lo, hi, incy), &iy);
    }
    kt_openblas_leave(saved);
    return KT_OK;
}

kt_status kt_axpy_f64_openblas(const kt_variant *v, size_t n, double alpha, const double *x,
                               ptrdiff_t incx, double *y, ptrdiff_t incy) {
    kt_openblas_saved saved = kt_openblas_enter(v->threads);
    blasint ix = (blasint)incx, iy = (blasint)incy;
    for (size_t lo = 0; lo < n; lo += KT_CHUNK) {
        size_t hi = n - lo > KT_CHUNK ? lo + KT_CHUNK : n;
        blasint len = (blasint)(hi - lo);
        BLASFUNC(daxpy)(&len, &alpha, (double *)(x + chunk_offset(n, lo, hi, incx)), &ix,
                        y + chunk_offset(n, lo, hi, incy), &iy);
    }
    kt_openblas_leave(saved);
    return KT_OK;
}
