/*
 * dot, gemv and gemm on v->threads OpenMP threads (compiled with the OpenMP
 * flags only, no ISA flags): each thread runs the best serial variant
 * (kt_best_serial) on its own part of the problem.  The bodies are in
 * blas_body.h, instantiated here for float and double.
 *
 *   dot:  the vector is cut into v->threads chunks, whatever team size
 *         OpenMP grants; the partial sums are added in chunk order (in
 *         double), so the result is the same from run to run.
 *   gemv: N splits the rows of y (in whole cache lines), T the columns of A.
 *   gemm: splits C into column blocks (two threads share at most one
 *         boundary), or into row blocks of whole cache lines when C has
 *         few columns.  Each thread packs its own operands in its own
 *         buffers.
 *
 * A failing part's kt_fail message is thread-local to its worker; it is
 * copied out and re-raised in the calling thread.
 */
#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "kt_internal.h"
#include "../blas.h"

#define MAX_PARTS 256
#define COL_GRAIN 16

/* A per-part slot on its own cache line (no false sharing of results). */
typedef struct part {
    double sum;
    kt_status st;
    char pad[64 - sizeof(double) - sizeof(kt_status)];
} part;

/* The serial variant for op, or NULL (the call then fails with KT_EINTERNAL). */
static const kt_variant *serial(kt_op_id op)
{
    const kt_variant *s = kt_best_serial(op);
    return s && s->fn ? s : NULL;
}

static int parts_of(const kt_variant *v)
{
    int t = v && v->threads > 0 ? v->threads : 1;
    return t > MAX_PARTS ? MAX_PARTS : t;
}

/* [lo, hi) of part i when n elements are cut into p parts of whole grains. */
static void split(size_t n, int p, int i, size_t grain, size_t *lo, size_t *hi)
{
    size_t units = (n + grain - 1) / grain;
    size_t q = units / (size_t)p, r = units % (size_t)p;
    size_t u0 = (size_t)i * q + ((size_t)i < r ? (size_t)i : r);
    size_t u1 = u0 + q + ((size_t)i < r ? 1 : 0);
    *lo = u0 * grain < n ? u0 * grain : n;
    *hi = u1 * grain < n ? u1 * grain : n;
}

/* Element offset of chunk [lo, hi) of a BLAS vector of n elements, increment inc. */
static ptrdiff_t chunk_offset(size_t n, ptrdiff_t inc, size_t lo, size_t hi)
{
    return inc < 0 ? -(ptrdiff_t)(n - hi) * inc : (ptrdiff_t)lo * inc;
}

/* Elements per cache line. */
static size_t line_elems(size_t es)
{
    size_t line = kt_cpu_get()->line;
    return (line >= es ? line : 64) / es;
}

/* Records a part's status; the first failing worker copies its message. */
static void note_failure(part *pt, kt_status st, atomic_int *claimed, char *msg, size_t len)
{
    pt->st = st;
    if (st != KT_OK && atomic_exchange(claimed, 1) == 0)
        snprintf(msg, len, "%s", kt_last_error());
}

/* The first failure among the parts, re-raised in the calling thread. */
static kt_status first_failure(const part *pt, int np, const char *msg)
{
    for (int i = 0; i < np; i++)
        if (pt[i].st != KT_OK)
            return kt_fail(pt[i].st, "%s", msg);
    return KT_OK;
}

/* gemm: by columns of C when there are enough of them, else by rows. */
static int gemm_by_columns(size_t m, size_t n, int np)
{
    return n >= (size_t)np * COL_GRAIN || n >= m;
}

#define TT float
#define TC(name) name##_f32
#define TNAME "f32"
#define TOP(op) KT_OP_##op##_F32
#define TFN(op) kt_##op##_f32_fn
#include "blas_body.h"

#define TT double
#define TC(name) name##_f64
#define TNAME "f64"
#define TOP(op) KT_OP_##op##_F64
#define TFN(op) kt_##op##_f64_fn
#include "blas_body.h"

kt_status kt_dot_f32_threads(const kt_variant *v, size_t n, const float *x, ptrdiff_t incx,
                             const float *y, ptrdiff_t incy, float *result)
{
    return dot_f32(v, n, x, incx, y, incy, result);
}

kt_status kt_dot_f64_threads(const kt_variant *v, size_t n, const double *x, ptrdiff_t incx,
                             const double *y, ptrdiff_t incy, double *result)
{
    return dot_f64(v, n, x, incx, y, incy, result);
}

kt_status kt_gemv_f32_threads(const kt_variant *v, kt_trans trans, size_t m, size_t n,
                              float alpha, const float *a, size_t lda, const float *x,
                              ptrdiff_t incx, float beta, float *y, ptrdiff_t incy)
{
    return gemv_f32(v, trans, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

kt_status kt_gemv_f64_threads(const kt_variant *v, kt_trans trans, size_t m, size_t n,
                              double alpha, const double *a, size_t lda, const double *x,
                              ptrdiff_t incx, double beta, double *y, ptrdiff_t incy)
{
    return gemv_f64(v, trans, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

kt_status kt_gemm_f32_threads(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                              size_t n, size_t k, float alpha, const float *a, size_t lda,
                              const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    return gemm_f32(v, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

kt_status kt_gemm_f64_threads(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                              size_t n, size_t k, double alpha, const double *a, size_t lda,
                              const double *b, size_t ldb, double beta, double *c, size_t ldc)
{
    return gemm_f64(v, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
