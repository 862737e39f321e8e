/*
 * myapp.smooth_f32, OpenMP: the interior split statically over t threads
 * (compiled with the OpenMP flags only).  One function per thread count, so
 * the typed function needs no parameter.
 */
#include "smooth.h"

static kt_status smooth_threads(int t, size_t n, const float *a, float *b) {
    if (n < 3) return smooth_f32_scalar(n, a, b);
    b[0] = a[0];
    b[n - 1] = a[n - 1];
    long last = (long)n - 1;
#pragma omp parallel for num_threads(t) schedule(static)
    for (long i = 1; i < last; i++) b[i] = (a[i - 1] + a[i] + a[i + 1]) * (1.0f / 3.0f);
    return KT_OK;
}

kt_status smooth_f32_omp2(size_t n, const float *a, float *b) { return smooth_threads(2, n, a, b); }
kt_status smooth_f32_omp4(size_t n, const float *a, float *b) { return smooth_threads(4, n, a, b); }
