/* myapp.smooth_f32, AVX2: 8 outputs per step (compiled with -mavx2 -mfma only). */
#include <immintrin.h>

#include "smooth.h"

kt_status smooth_f32_avx2(size_t n, const float *a, float *b) {
    if (n < 3) return smooth_f32_scalar(n, a, b);
    const __m256 third = _mm256_set1_ps(1.0f / 3.0f);
    size_t i = 1;
    b[0] = a[0];
    for (; i + 8 <= n - 1; i += 8) {
        __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(a + i - 1), _mm256_loadu_ps(a + i)),
                                 _mm256_loadu_ps(a + i + 1));
        _mm256_storeu_ps(b + i, _mm256_mul_ps(s, third));
    }
    for (; i < n - 1; i++) b[i] = (a[i - 1] + a[i] + a[i + 1]) * (1.0f / 3.0f);
    b[n - 1] = a[n - 1];
    return KT_OK;
}
