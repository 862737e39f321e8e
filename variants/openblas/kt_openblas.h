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

/*
 * OpenBLAS's thread count is process-wide, and its OpenMP build's setter also sets the
 * calling thread's OpenMP thread count (omp_set_num_threads).  A variant whose count
 * differs from the one in force sets its own for the call (kt_openblas_enter) and puts
 * both back after it (kt_openblas_leave), so that the program's own OpenBLAS calls and
 * OpenMP regions -- numpy's, in a Python process -- run with what the program set, not
 * with what ktune used last.  (Left set, a serial ktune axpy once took numpy's 1024^3
 * dgemm in the same process from 26 to 50 ms, on one thread for good.)  Two program
 * threads calling variants of different counts at once may each run with the other's
 * count: results stay right, only the speed changes.
 */
typedef struct kt_openblas_saved {
    int threads; /* the count to put back; 0: nothing was changed */
    int omp;     /* the caller's OpenMP count to put back; 0: none */
} kt_openblas_saved;
kt_openblas_saved kt_openblas_enter(int t);
void kt_openblas_leave(kt_openblas_saved s);

/* Whether a size or an increment fits OpenBLAS's integer (blasint). */
static inline int kt_openblas_fits(size_t n) {
    return sizeof(blasint) >= 8 ? n <= (size_t)INT64_MAX : n <= (size_t)INT32_MAX;
}
static inline int kt_openblas_fits_inc(ptrdiff_t inc) {
    return sizeof(blasint) >= 8 || (inc >= -INT32_MAX && inc <= INT32_MAX);
}

#endif
