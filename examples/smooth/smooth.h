/*
 * The example hotspot: 1-D 3-point smoothing of n floats,
 *   b[i] = (a[i-1] + a[i] + a[i+1]) / 3   for 0 < i < n-1,   b[0] = a[0], b[n-1] = a[n-1],
 * registered with ktune as the op "myapp.smooth_f32" with scalar, AVX2, AVX-512,
 * OpenMP and CUDA variants (see the README's "Your own operations").
 */
#ifndef SMOOTH_H
#define SMOOTH_H

#include <stddef.h>

#include <ktune_op.h>

/* The typed function every variant implements (a and b must not overlap). */
typedef kt_status (*smooth_f32_fn)(size_t n, const float *a, float *b);

/* The argument block the trampoline unpacks (what the problem generator fills). */
typedef struct smooth_args {
    size_t n;
    const float *a;
    float *b;
} smooth_args;

/* Registers the op and the variants built into this object (0, or a kt_status). */
int smooth_register_all(void);

/* The variants (those whose backend was not built are absent). */
kt_status smooth_f32_scalar(size_t n, const float *a, float *b);
kt_status smooth_f32_avx2(size_t n, const float *a, float *b);
kt_status smooth_f32_avx512(size_t n, const float *a, float *b);
kt_status smooth_f32_omp2(size_t n, const float *a, float *b);
kt_status smooth_f32_omp4(size_t n, const float *a, float *b);
kt_status smooth_f32_cuda128(size_t n, const float *a, float *b);
kt_status smooth_f32_cuda256(size_t n, const float *a, float *b);
kt_status smooth_f32_cuda512(size_t n, const float *a, float *b);

#endif
