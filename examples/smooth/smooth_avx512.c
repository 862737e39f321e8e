/* myapp.smooth_f32, AVX-512: 16 outputs per step (compiled with the AVX-512 flags only). */
#include <immintrin.h>

#include "smooth.h"

kt_status smooth_f32_avx512(size_t n, const float *a, float *b) {
    if (n < 3) return smooth_f32_scalar(n, a, b);
    const __m512 third = _mm512_set1_ps(1.0f / 3.0f);
    size_t i = 1;
    b[0] = a[0];
    for (; i + 16 <= n - 1; i += 16) {
        __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_loadu_ps(a + i - 1), _mm512_loadu_ps(a + i)),
                                 _mm512_loadu_ps(a + i + 1));
        _mm512_storeu_ps(b + i, _mm512_mul_ps(s, third));
    }
    for (; i < n - 1; i++) b[i] = (a[i - 1] + a[i] + a[i + 1]) * (1.0f / 3.0f);
    b[n - 1] = a[n - 1];
    return KT_OK;
}
