/*
 * Scalar 3x3 stencil, element by element (the baseline): each output sums
 * its nine weighted neighbours in row order, r = 0..2, c = 0..2.
 */
#include "config.h"

#include "kt_shape.h"

#define KT_STENCIL_SCALAR(T, DT)                                                               \
    kt_status kt_stencil3x3_##DT##_scalar(const kt_variant *v, size_t m, size_t n, const T *w, \
                                          const T *a, size_t lda, T *b, size_t ldb) {         \
        (void)v;                                                                               \
        for (size_t i = 0; i + 2 < m; i++) {                                                   \
            const T *r0 = a + i * lda, *r1 = r0 + lda, *r2 = r1 + lda;                         \
            T *out = b + i * ldb;                                                              \
            for (size_t j = 0; j + 2 < n; j++)                                                 \
                out[j] = w[0] * r0[j] + w[1] * r0[j + 1] + w[2] * r0[j + 2] + w[3] * r1[j] +   \
                         w[4] * r1[j + 1] + w[5] * r1[j + 2] + w[6] * r2[j] +                  \
                         w[7] * r2[j + 1] + w[8] * r2[j + 2];                                  \
        }                                                                                      \
        return KT_OK;                                                                          \
    }
KT_STENCIL_SCALAR(float, f32)
KT_STENCIL_SCALAR(double, f64)

/*
 * Cache-blocked: the output in tiles of param rows by KT_STENCIL_STRIP
 * columns, row blocks outer, strips inner, each tile computed by the best
 * serial kernel usable here on the sub-matrix it reads ((param + 2) x
 * (KT_STENCIL_STRIP + 2) inputs, same leading dimensions).  Small tiles
 * keep a tile's rows in L1 at the price of re-reading two halo rows per
 * tile; which height wins is the machine's answer.
 */
#define KT_STENCIL_STRIP 256

#define KT_STENCIL_BLOCKED(T, DT, OP)                                                          \
    kt_status kt_stencil3x3_##DT##_blocked(const kt_variant *v, size_t m, size_t n,           \
                                           const T *w, const T *a, size_t lda, T *b,          \
                                           size_t ldb) {                                      \
        const kt_variant *in = kt_best_serial(OP);                                             \
        kt_stencil3x3_##DT##_fn f = (kt_stencil3x3_##DT##_fn)in->fn;                           \
        const size_t h = v->param > 0 ? (size_t)v->param : 32, om = m - 2, on = n - 2;         \
        for (size_t i0 = 0; i0 < om; i0 += h) {                                                \
            size_t rows = om - i0 < h ? om - i0 : h;                                           \
            for (size_t j0 = 0; j0 < on; j0 += KT_STENCIL_STRIP) {                             \
                size_t cols = on - j0 < KT_STENCIL_STRIP ? on - j0 : KT_STENCIL_STRIP;         \
                kt_status s = f(in, rows + 2, cols + 2, w, a + i0 * lda + j0, lda,             \
                                b + i0 * ldb + j0, ldb);                                       \
                if (s != KT_OK) return s;                                                      \
            }                                                                                  \
        }                                                                                      \
        return KT_OK;                                                                          \
    }
KT_STENCIL_BLOCKED(float, f32, KT_OP_STENCIL3X3_F32)
KT_STENCIL_BLOCKED(double, f64, KT_OP_STENCIL3X3_F64)
