/* A user's program, built by tests/link.sh against the installed library. */
#include <ktune.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    enum { N = 100003 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    int64_t *a = malloc(N * sizeof *a);
    if (!x || !y || !a) return 2;
    for (int i = 0; i < N; i++) {
        x[i] = (float)(i % 7) - 3.0f;
        y[i] = 1.0f + (float)(i % 5);
        a[i] = i;
    }
    if (kt_axpy_f32(N, 2.0f, x, 1, y, 1) != KT_OK) return 3;
    if (kt_add_scalar_i64(N, 10, a) != KT_OK) return 4;
    for (int i = 0; i < N; i++) {
        float want = 1.0f + (float)(i % 5) + 2.0f * ((float)(i % 7) - 3.0f);
        if (fabsf(y[i] - want) > 1e-6f || a[i] != i + 10) {
            fprintf(stderr, "wrong result at %d\n", i);
            return 1;
        }
    }
    if (kt_axpy_f32(N, 2.0f, NULL, 1, y, 1) != KT_EINVAL) return 5;
    printf("ktune %s on %s: results correct\n", kt_version(), kt_fingerprint());
    free(x), free(y), free(a);
    return 0;
}
