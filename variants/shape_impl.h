/*
 * The SIMD transposes and stencils, written once and instantiated per
 * instruction set (as variants/vec_impl.h does for the vector ops).  Each
 * variants/<isa>/shape.c defines, then includes this file:
 *   KT_ISA_NAME                 avx2, avx512
 *   KT_TB_F32, KT_TB_F64        the in-register transpose block (8 / 4, 16 / 8)
 *   tr_block_f32(a, lda, b, ldb), tr_block_f64(...)
 *                               B = A^T for one KT_TB x KT_TB block
 *   kt_vf32, KT_LANES_F32, vf32_set1, vf32_load, vf32_store, vf32_mul,
 *   vf32_fmadd (a*b + c), and the same for f64.
 */
#ifndef KT_SHAPE_IMPL_H
#define KT_SHAPE_IMPL_H

#define KT_CAT3_(a, b, c) a##b##c
#define KT_CAT3(a, b, c) KT_CAT3_(a, b, c)

/* Cache tile of the SIMD transposes: 64 x 64 elements, in KT_TB blocks. */
#define KT_TR_TILE 64

/*
 * The columns of A (rows of B) in one tile.  A block of TB elements shorter
 * than a cache line writes part of each line of B, whose rest the next
 * block row writes: the tile's rows of B must stay cached in between.  Where
 * B's row stride in bytes has a large power of two as a factor, those rows
 * fall in few L1 sets (a 64-set cache repeats every 4 KiB): with g the
 * largest power of two dividing the stride (at most 4 KiB), a tile of R rows
 * puts R g / 4 KiB of them in one set.  The tile is cut so that at most 8 do
 * (fewer than any L1's ways): f64 at 1024^2, a stride of 8 KiB, gets tiles 8
 * rows of B tall (avx2 was 4.7x slower there than at 1040^2, whose 8320-byte
 * stride spreads its rows over the sets).
 */
static inline size_t kt_tr_tile_cols(size_t ldb, size_t elem, size_t tb) {
    size_t stride = ldb * elem, g = stride & (~stride + 1);
    if (!stride || g > 4096) g = 4096;
    if (tb * elem >= 64 || g < 1024) return KT_TR_TILE;
    size_t r = 8 * 4096 / g;
    return r < tb ? tb : r;
}

/*
 * B = A^T: cache tiles of KT_TR_TILE rows of A by kt_tr_tile_cols columns,
 * each in in-register blocks; the edges that do not fill a block element by
 * element.
 */
#define KT_TRANSPOSE_SIMD(T, DT, TB)                                                          \
    kt_status KT_CAT3(kt_transpose_##DT##_, KT_ISA_NAME, )(const kt_variant *v, size_t m,     \
                                                           size_t n, const T *a, size_t lda,  \
                                                           T *b, size_t ldb) {                \
        (void)v;                                                                              \
        const size_t mb = m - m % TB, nb = n - n % TB;                                        \
        const size_t tc = kt_tr_tile_cols(ldb, sizeof *b, TB);                                \
        for (size_t i0 = 0; i0 < mb; i0 += KT_TR_TILE) {                                      \
            size_t i1 = i0 + KT_TR_TILE < mb ? i0 + KT_TR_TILE : mb;                          \
            for (size_t j0 = 0; j0 < nb; j0 += tc) {                                          \
                size_t j1 = j0 + tc < nb ? j0 + tc : nb;                                      \
                for (size_t i = i0; i < i1; i += TB)                                          \
                    for (size_t j = j0; j < j1; j += TB)                                      \
                        tr_block_##DT(a + i * lda + j, lda, b + j * ldb + i, ldb);            \
            }                                                                                 \
        }                                                                                     \
        for (size_t i = 0; i < mb; i++) /* right edge: columns nb..n */                       \
            for (size_t j = nb; j < n; j++) b[j * ldb + i] = a[i * lda + j];                  \
        for (size_t i = mb; i < m; i++) /* bottom edge: rows mb..m */                         \
            for (size_t j = 0; j < n; j++) b[j * ldb + i] = a[i * lda + j];                   \
        return KT_OK;                                                                         \
    }
KT_TRANSPOSE_SIMD(float, f32, KT_TB_F32)
KT_TRANSPOSE_SIMD(double, f64, KT_TB_F64)

/*
 * One output row per pass: a vector of outputs from nine unaligned loads
 * (three rows at offsets 0, 1, 2), one multiply and eight fused
 * multiply-adds.  The outputs past the last full vector: one more vector
 * that ends at the row's end, overlapping the previous one (B is apart from
 * A, so the overlapped outputs are written again with the same values);
 * element by element only in rows shorter than a vector.  The element loop
 * of up to L - 1 outputs took most of a row's time: at 45 outputs a row
 * (f64), avx512 ran 1.15x avx2's time, at 48 0.70x (AMD Zen 5).
 */
#define KT_STENCIL_SIMD(T, DT, VT, L, P)                                                       \
    /* outputs j .. j + L - 1 of a row, from input rows r0, r1, r2 */                          \
    static inline __attribute__((always_inline)) void KT_CAT3(stencil_vec_##DT##_, KT_ISA_NAME, )( \
        const VT *wv, const T *r0, const T *r1, const T *r2, T *out, size_t j) {               \
        VT s = P##_mul(wv[0], P##_load(r0 + j));                                               \
        s = P##_fmadd(wv[1], P##_load(r0 + j + 1), s);                                         \
        s = P##_fmadd(wv[2], P##_load(r0 + j + 2), s);                                         \
        s = P##_fmadd(wv[3], P##_load(r1 + j), s);                                             \
        s = P##_fmadd(wv[4], P##_load(r1 + j + 1), s);                                         \
        s = P##_fmadd(wv[5], P##_load(r1 + j + 2), s);                                         \
        s = P##_fmadd(wv[6], P##_load(r2 + j), s);                                             \
        s = P##_fmadd(wv[7], P##_load(r2 + j + 1), s);                                         \
        s = P##_fmadd(wv[8], P##_load(r2 + j + 2), s);                                         \
        P##_store(out + j, s);                                                                 \
    }                                                                                          \
    kt_status KT_CAT3(kt_stencil3x3_##DT##_, KT_ISA_NAME, )(                                   \
        const kt_variant *v, size_t m, size_t n, const T *w, const T *a, size_t lda, T *b,     \
        size_t ldb) {                                                                          \
        (void)v;                                                                               \
        VT wv[9];                                                                              \
        for (int k = 0; k < 9; k++) wv[k] = P##_set1(w[k]);                                    \
        const size_t on = n - 2;                                                               \
        for (size_t i = 0; i + 2 < m; i++) {                                                   \
            const T *r0 = a + i * lda, *r1 = r0 + lda, *r2 = r1 + lda;                         \
            T *out = b + i * ldb;                                                              \
            size_t j = 0;                                                                      \
            for (; j + L <= on; j += L)                                                        \
                KT_CAT3(stencil_vec_##DT##_, KT_ISA_NAME, )(wv, r0, r1, r2, out, j);           \
            if (j < on && on >= L) /* the last vector, overlapping the one before */           \
                KT_CAT3(stencil_vec_##DT##_, KT_ISA_NAME, )(wv, r0, r1, r2, out, on - L);      \
            else                                                                               \
                for (; j < on; j++) /* rows shorter than a vector */                           \
                    out[j] = w[0] * r0[j] + w[1] * r0[j + 1] + w[2] * r0[j + 2] +              \
                             w[3] * r1[j] + w[4] * r1[j + 1] + w[5] * r1[j + 2] +              \
                             w[6] * r2[j] + w[7] * r2[j + 1] + w[8] * r2[j + 2];               \
        }                                                                                      \
        return KT_OK;                                                                          \
    }
KT_STENCIL_SIMD(float, f32, kt_vf32, KT_LANES_F32, vf32)
KT_STENCIL_SIMD(double, f64, kt_vf64, KT_LANES_F64, vf64)

#endif /* KT_SHAPE_IMPL_H */
