/*
 * OpenMP variants of the vector ops: v->threads threads (libgomp keeps its
 * pool alive between calls), each running the best serial SIMD kernel
 * usable here on a contiguous chunk.  Chunk boundaries fall on cache lines
 * of the output, so no two threads write one line (no false sharing).
 */
#include "config.h"

#include <omp.h>

#include "kt_threads.h"
#include "kt_variants.h"

int kt_omp_in_parallel(void) { return omp_in_parallel(); }
int kt_omp_max_threads(void) { return omp_get_max_threads(); }
void kt_omp_set_max_threads(int n) { omp_set_num_threads(n); }

/*
 * One body for every op: run `inner` over each thread's chunk.  The
 * variants' status is collected so a failing inner kernel is reported.
 */
#define KT_THREADS_FOR(v, n, elem, CALL)                                                   \
    do {                                                                                    \
        const int t_ = (v)->threads;                                                        \
        const size_t al_ = kt_thr_line_elems(elem);                                                \
        kt_status st_ = KT_OK;                                                              \
        _Pragma("omp parallel num_threads(t_) reduction(max : st_)") {                      \
            size_t lo, hi;                                                                  \
            kt_thr_split((n), omp_get_num_threads(), omp_get_thread_num(), al_, &lo, &hi);         \
            if (hi > lo) st_ = CALL;                                                        \
        }                                                                                   \
        return st_;                                                                         \
    } while (0)

kt_status kt_add_scalar_i64_threads(const kt_variant *v, size_t n, int64_t c, int64_t *a) {
    const kt_variant *in = kt_best_serial(KT_OP_ADD_SCALAR_I64);
    kt_add_scalar_i64_fn f = (kt_add_scalar_i64_fn)in->fn;
    KT_THREADS_FOR(v, n, sizeof *a, f(in, hi - lo, c, a + lo));
}

kt_status kt_add_scalar_f32_threads(const kt_variant *v, size_t n, float c, float *a) {
    const kt_variant *in = kt_best_serial(KT_OP_ADD_SCALAR_F32);
    kt_add_scalar_f32_fn f = (kt_add_scalar_f32_fn)in->fn;
    KT_THREADS_FOR(v, n, sizeof *a, f(in, hi - lo, c, a + lo));
}

kt_status kt_add_scalar_f64_threads(const kt_variant *v, size_t n, double c, double *a) {
    const kt_variant *in = kt_best_serial(KT_OP_ADD_SCALAR_F64);
    kt_add_scalar_f64_fn f = (kt_add_scalar_f64_fn)in->fn;
    KT_THREADS_FOR(v, n, sizeof *a, f(in, hi - lo, c, a + lo));
}

kt_status kt_axpy_f32_threads(const kt_variant *v, size_t n, float alpha, const float *x,
                              ptrdiff_t incx, float *y, ptrdiff_t incy) {
    const kt_variant *in = kt_best_serial(KT_OP_AXPY_F32);
    kt_axpy_f32_fn f = (kt_axpy_f32_fn)in->fn;
    KT_THREADS_FOR(v, n, sizeof *y, f(in, hi - lo, alpha, x + lo, incx, y + lo, incy));
}

kt_status kt_axpy_f64_threads(const kt_variant *v, size_t n, double alpha, const double *x,
                              ptrdiff_t incx, double *y, ptrdiff_t incy) {
    const kt_variant *in = kt_best_serial(KT_OP_AXPY_F64);
    kt_axpy_f64_fn f = (kt_axpy_f64_fn)in->fn;
    KT_THREADS_FOR(v, n, sizeof *y, f(in, hi - lo, alpha, x + lo, incx, y + lo, incy));
}
