/*
 * OpenMP variants of the vector ops: v->threads threads (libgomp keeps its
 * pool alive between calls), each running the best serial SIMD kernel
 * usable here on a contiguous chunk.  Chunk boundaries fall on cache lines
 * of the output, so no two threads write one line (no false sharing).
 */
#include "config.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <time.h>

#include "kt_threads.h"
#include "kt_variants.h"

int kt_omp_in_parallel(void) { return omp_in_parallel(); }
int kt_omp_max_threads(void) { return omp_get_max_threads(); }
void kt_omp_set_max_threads(int n) { omp_set_num_threads(n); }

/*
 * k steps of four interleaved 64-bit LCGs: the multiplier kept busy, no
 * memory traffic, so a core shared with another busy thread shows.
 */
static __attribute__((noinline)) uint64_t kt_probe_chain(uint64_t x, long k) {
    uint64_t a = x, b = x + 1, c = x + 2, d = x + 3;
    const uint64_t m = 6364136223846793005ull, q = 1442695040888963407ull;
    for (long i = 0; i < k; i++) {
        a = a * m + q;
        b = b * m + q;
        c = c * m + q;
        d = d * m + q;
    }
    return a ^ b ^ c ^ d;
}

static double kt_probe_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/*
 * One reading: the solo time of the chain, and (returned) the parallel
 * region's time from its start to its slowest thread's end; NAN when the
 * team is smaller than asked.
 */
static double kt_uneven_once(int threads, double *solo) {
    enum { STEPS = 20000, MAXT = 64 }; /* ~60 us a chain */
    static volatile uint64_t sink;
    double t0 = kt_probe_now();
    sink = kt_probe_chain(sink + 1, STEPS);
    *solo = kt_probe_now() - t0;
    double d[MAXT];
    int team = 0;
    t0 = kt_probe_now();
#pragma omp parallel num_threads(threads)
    {
        int id = omp_get_thread_num();
        uint64_t x = kt_probe_chain((uint64_t)id + 3, STEPS);
        d[id] = kt_probe_now() - t0;
        if (x == 42) sink = x; /* keeps the chain */
#pragma omp single nowait
        team = omp_get_num_threads();
    }
    if (team != threads) return NAN;
    double hi = 0;
    for (int i = 0; i < team; i++)
        if (d[i] > hi) hi = d[i];
    return hi;
}

double kt_omp_uneven(int threads) {
    if (threads < 2 || threads > 64 || omp_in_parallel()) return NAN;
    /* the workers woken first: a sleeping worker's wake-up is not a busy core */
#pragma omp parallel num_threads(threads)
    {
        kt_probe_now();
    }
    /* the lower of two readings each: a lasting state shows in both, a stray interrupt in one */
    double sa, sb, pa = kt_uneven_once(threads, &sa), pb = kt_uneven_once(threads, &sb);
    double solo = sa < sb ? sa : sb, par = pa < pb ? pa : pb;
    return solo > 0 && isfinite(pa) && isfinite(pb) ? par / solo : NAN;
}

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
