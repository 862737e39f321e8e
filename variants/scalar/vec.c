/*
 * Scalar vector kernels: plain C, compiled without auto-vectorisation (the
 * honest baseline), and the strided fallback for every increment the
 * reference BLAS allows (negative increments walk from the end, zero
 * repeats one element).
 */
#include "config.h"

#include "kt_variants.h"

kt_status kt_add_scalar_i64_scalar(const kt_variant *v, size_t n, int64_t c, int64_t *a) {
    (void)v;
    /* unsigned arithmetic: wraps like the SIMD adds instead of overflowing (UB) */
    for (size_t i = 0; i < n; i++) a[i] = (int64_t)((uint64_t)a[i] + (uint64_t)c);
    return KT_OK;
}

kt_status kt_add_scalar_f32_scalar(const kt_variant *v, size_t n, float c, float *a) {
    (void)v;
    for (size_t i = 0; i < n; i++) a[i] += c;
    return KT_OK;
}

kt_status kt_add_scalar_f64_scalar(const kt_variant *v, size_t n, double c, double *a) {
    (void)v;
    for (size_t i = 0; i < n; i++) a[i] += c;
    return KT_OK;
}

/* Index of the first element visited for increment inc (reference BLAS). */
static inline ptrdiff_t start(size_t n, ptrdiff_t inc) {
    return inc < 0 ? (ptrdiff_t)(n - 1) * -inc : 0;
}

kt_status kt_axpy_f32_scalar(const kt_variant *v, size_t n, float alpha, const float *x,
                             ptrdiff_t incx, float *y, ptrdiff_t incy) {
    (void)v;
    if (incx == 1 && incy == 1) {
        for (size_t i = 0; i < n; i++) y[i] += alpha * x[i];
        return KT_OK;
    }
    ptrdiff_t ix = start(n, incx), iy = start(n, incy);
    for (size_t i = 0; i < n; i++, ix += incx, iy += incy) y[iy] += alpha * x[ix];
    return KT_OK;
}

kt_status kt_axpy_f64_scalar(const kt_variant *v, size_t n, double alpha, const double *x,
                             ptrdiff_t incx, double *y, ptrdiff_t incy) {
    (void)v;
    if (incx == 1 && incy == 1) {
        for (size_t i = 0; i < n; i++) y[i] += alpha * x[i];
        return KT_OK;
    }
    ptrdiff_t ix = start(n, incx), iy = start(n, incy);
    for (size_t i = 0; i < n; i++, ix += incx, iy += incy) y[iy] += alpha * x[ix];
    return KT_OK;
}
