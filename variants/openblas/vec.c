/*
 * OpenBLAS variants of the vector ops, through OpenBLAS's Fortran interface
 * (see kt_openblas.h).  OpenBLAS's thread count is process-wide: each call
 * sets it to the variant's count when it differs from the last one set by
 * any OpenBLAS variant (one cache for the whole backend).  Two program
 * threads calling rows with different counts at once may each run with
 * the other's count: results stay right, only the speed changes.
 */
#include "config.h"

#include <cblas.h>
#include <stdatomic.h>

#include "kt_openblas.h"
#include "kt_variants.h"

static atomic_int kt_openblas_threads;

void kt_openblas_use_threads(int t) {
    if (t < 1) t = 1;
    if (atomic_load_explicit(&kt_openblas_threads, memory_order_relaxed) != t) {
        openblas_set_num_threads(t);
        atomic_store_explicit(&kt_openblas_threads, t, memory_order_relaxed);
    }
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
    kt_openblas_use_threads(v->threads);
    blasint ix = (blasint)incx, iy = (blasint)incy;
    for (size_t lo = 0; lo < n; lo += KT_CHUNK) {
        size_t hi = n - lo > KT_CHUNK ? lo + KT_CHUNK : n;
        blasint len = (blasint)(hi - lo);
        BLASFUNC(saxpy)(&len, &alpha, (float *)(x + chunk_offset(n, lo, hi, incx)), &ix,
                        y + chunk_offset(n, lo, hi, incy), &iy);
    }
    return KT_OK;
}

kt_status kt_axpy_f64_openblas(const kt_variant *v, size_t n, double alpha, const double *x,
                               ptrdiff_t incx, double *y, ptrdiff_t incy) {
    kt_openblas_use_threads(v->threads);
    blasint ix = (blasint)incx, iy = (blasint)incy;
    for (size_t lo = 0; lo < n; lo += KT_CHUNK) {
        size_t hi = n - lo > KT_CHUNK ? lo + KT_CHUNK : n;
        blasint len = (blasint)(hi - lo);
        BLASFUNC(daxpy)(&len, &alpha, (double *)(x + chunk_offset(n, lo, hi, incx)), &ix,
                        y + chunk_offset(n, lo, hi, incy), &iy);
    }
    return KT_OK;
}
