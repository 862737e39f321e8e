/*
 * The OpenBLAS backend's shared pieces.  Variants call OpenBLAS through its
 * Fortran interface (saxpy_, sdot_, sgemv_, sgemm_, from <f77blas.h>), not
 * cblas_*: a program that links libktune_cblas ahead of OpenBLAS has its
 * cblas_* symbols served by ktune, and ktune's own OpenBLAS variants must
 * still reach OpenBLAS, not come back into ktune.
 */
#ifndef KT_OPENBLAS_H
#define KT_OPENBLAS_H

#include <f77blas.h>

#include "kt_internal.h"

/* Makes OpenBLAS use t threads for the next call (told only when t changes). */
void kt_openblas_use_threads(int t);

/* Whether a size or an increment fits OpenBLAS's integer (blasint). */
static inline int kt_openblas_fits(size_t n) {
    return sizeof(blasint) >= 8 ? n <= (size_t)INT64_MAX : n <= (size_t)INT32_MAX;
}
static inline int kt_openblas_fits_inc(ptrdiff_t inc) {
    return sizeof(blasint) >= 8 || (inc >= -INT32_MAX && inc <= INT32_MAX);
}

#endif
