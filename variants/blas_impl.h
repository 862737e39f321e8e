/*
 * variants/blas_impl.h: dot, gemv and gemm written once for any SIMD width.
 *
 * Private to variants/avx2/blas.c and variants/avx512/blas.c.  Each of them
 * includes this file once per element type, after defining:
 *
 *   BL_T             element type (float or double)
 *   BL_V             vector type (__m256d, __m512, ...)
 *   BL_VLEN          elements per vector
 *   BL_MV, BL_NR     gemm micro-tile: MR = BL_MV * BL_VLEN rows by BL_NR columns
 *   BL_GV_COLS       gemv: columns streamed together (4 or 8)
 *   BL_GV_SMALL      gemv N: up to this many vectors of y stay in registers
 *                    (12 of AVX2's 16 registers, 16 of AVX-512's 32), 12 or 16
 *   BL_DIRECT_LEVEL  gemm: A up to this cache level skips packing (2: L2,
 *                    1: twice L1); see BL(gemm)
 *   BL(name)         the file-local name of an instance (name ## _f64)
 *   BL_ISA           backend name for messages ("avx512")
 *   V_ZERO()  V_SET1(s)  V_LOAD(p)  V_STORE(p, v)  V_FMA(a, b, c) = a*b + c
 *   V_MUL(a, b)  V_ADD(a, b)  V_HSUM(v) (sum of the lanes)
 *   V_LOADN(p, n)    the first n (1 <= n <= BL_VLEN) elements, the others 0;
 *                    reads nothing past p[n-1]
 *   V_STOREN(p, v, n) stores the first n elements only
 *   V_TRANSPOSE(r)   transposes the BL_VLEN x BL_VLEN block in BL_V r[BL_VLEN]
 *
 * and gets the static functions BL(dot), BL(gemv) and BL(gemm) with the
 * typed variant signatures of kt_internal.h.  This file undefines all the
 * macros above at its end, so the next instance can define them again.
 *
 * gemm follows the BLIS/GotoBLAS structure: loops jc (NC columns of C), pc
 * (KC of the inner dimension: the packed KC x NC panel of B stays in L3), ic
 * (MC rows: the packed MC x KC block of A stays in L2), then jr/ir over
 * MR x NR micro-tiles whose B micro-panel stays in L1.  Packed panels are
 * zero-padded (B to NR columns, A to whole vectors), so edge tiles only run
 * fewer vectors and mask their stores.  Problems whose A fits in cache skip
 * packing (the direct path: the same micro-kernel reads A and B where they
 * are, masking A's last rows and running exact narrower tiles for C's last
 * columns); transposed A is then packed whole with in-register transposes.
 */

#ifndef KT_BLAS_IMPL_ONCE
#define KT_BLAS_IMPL_ONCE

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "kt_internal.h"

#define BL_INLINE static inline __attribute__((always_inline))
#define BL_MIN(a, b) ((a) < (b) ? (a) : (b))

/* Offset of logical element 0 of a BLAS vector of n elements with increment inc. */
static inline ptrdiff_t bl_start(size_t n, ptrdiff_t inc)
{
    return inc < 0 ? -(ptrdiff_t)(n - 1) * inc : 0;
}

/* ---- Per-thread scratch (packing buffers, contiguous copies) ------------ */

typedef struct bl_scratch_buf {
    void *p;
    size_t cap;
} bl_scratch_buf;

static _Thread_local bl_scratch_buf bl_scratch_tls;
static pthread_key_t bl_scratch_key;
static pthread_once_t bl_scratch_once = PTHREAD_ONCE_INIT;
static int bl_scratch_key_ok;

/* Thread-exit destructor of the key: frees that thread's buffer. */
static void bl_scratch_release(void *p)
{
    free(p);
}

static void bl_scratch_key_make(void)
{
    bl_scratch_key_ok = pthread_key_create(&bl_scratch_key, bl_scratch_release) == 0;
}

/*
 * Returns the calling thread's scratch buffer, 64-byte aligned, of at least
 * `bytes` (contents undefined), or NULL when it cannot grow (the old buffer
 * is kept).  It grows with a margin and is never shrunk, so steady-state
 * calls do not allocate; it is freed when the thread exits.
 */
static void *bl_scratch(size_t bytes)
{
    bl_scratch_buf *s = &bl_scratch_tls;
    if (bytes <= s->cap)
        return s->p;
    if (bytes > SIZE_MAX / 2)
        return NULL;
    size_t cap = (bytes + bytes / 4 + 4095) & ~(size_t)4095;
    void *p = aligned_alloc(64, cap);
    if (!p)
        return NULL;
    pthread_once(&bl_scratch_once, bl_scratch_key_make);
    free(s->p);
    s->p = p;
    s->cap = cap;
    if (bl_scratch_key_ok)
        pthread_setspecific(bl_scratch_key, p);
    return p;
}

/*
 * gemm: the largest A (bytes) the direct path takes: the per-core L2 when
 * level is 2, twice L1 when it is 1 (BL_DIRECT_LEVEL of the instance).
 */
static size_t bl_direct_max(int level)
{
    const kt_cpu *cpu = kt_cpu_get();
    if (level >= 2)
        return cpu->l2 ? cpu->l2 : 512 * 1024;
    return 2 * (cpu->l1d ? cpu->l1d : 32 * 1024);
}

/*
 * gemm blocking in elements, for an mr x nr micro-tile of es-byte elements:
 * KC so the kc x nr micro-panel of B fills half of L1 (kc_param > 0
 * overrides it: the variant's param), MC so the mc x kc block of A fills
 * half of L2, NC so the kc x nc panel of B fills a quarter of L3.
 */
static void bl_blocks(size_t es, size_t mr, size_t nr, int kc_param, size_t *kc, size_t *mc,
                      size_t *nc)
{
    const kt_cpu *cpu = kt_cpu_get();
    size_t l1 = cpu->l1d ? cpu->l1d : 32 * 1024;
    size_t l2 = cpu->l2 ? cpu->l2 : 512 * 1024;
    size_t l3 = cpu->l3 ? cpu->l3 : 8 * 1024 * 1024;
    size_t k = kc_param > 0 ? (size_t)kc_param : l1 / 2 / (nr * es);
    k = k < 16 ? 16 : k > 4096 ? 4096 : k & ~(size_t)7;
    size_t m = l2 / 2 / (k * es) / mr * mr;
    size_t n = l3 / 4 / (k * es) / nr * nr;
    *kc = k;
    *mc = m < mr ? mr : m > 64 * mr ? 64 * mr : m;
    *nc = n < 16 * nr ? 16 * nr : n > 16384 ? 16384 / nr * nr : n;
}

#endif /* KT_BLAS_IMPL_ONCE */

/* ======================================================================== */
/* The instance for BL_T / BL_V.                                            */
/* ======================================================================== */

#define BL_MR (BL_MV * BL_VLEN)
#define BL_ES sizeof(BL_T)

/* ---- dot ---------------------------------------------------------------- */

/* Unit-stride dot product with eight independent vector accumulators. */
static BL_T BL(dot_unit)(size_t n, const BL_T *x, const BL_T *y)
{
    BL_V s[8];
#pragma GCC unroll 8
    for (int u = 0; u < 8; u++)
        s[u] = V_ZERO();
    size_t i = 0;
    for (; i + 8 * BL_VLEN <= n; i += 8 * BL_VLEN) {
#pragma GCC unroll 8
        for (int u = 0; u < 8; u++)
            s[u] = V_FMA(V_LOAD(x + i + u * BL_VLEN), V_LOAD(y + i + u * BL_VLEN), s[u]);
    }
#pragma GCC unroll 8
    for (int u = 0; u < 7; u++) {
        if (i + BL_VLEN <= n) {
            s[u] = V_FMA(V_LOAD(x + i), V_LOAD(y + i), s[u]);
            i += BL_VLEN;
        }
    }
    if (i < n)
        s[7] = V_FMA(V_LOADN(x + i, n - i), V_LOADN(y + i, n - i), s[7]);
#pragma GCC unroll 4
    for (int u = 0; u < 4; u++)
        s[u] = V_ADD(s[u], s[u + 4]);
    return V_HSUM(V_ADD(V_ADD(s[0], s[2]), V_ADD(s[1], s[3])));
}

/* *result = sum x[i]*y[i]; unit strides vectorised, others a plain loop. */
static kt_status BL(dot)(const kt_variant *v, size_t n, const BL_T *x, ptrdiff_t incx,
                         const BL_T *y, ptrdiff_t incy, BL_T *result)
{
    (void)v;
    if (incx == 1 && incy == 1) {
        *result = BL(dot_unit)(n, x, y);
        return KT_OK;
    }
    const BL_T *xs = x + bl_start(n, incx), *ys = y + bl_start(n, incy);
    BL_T s0 = 0, s1 = 0;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        s0 += xs[(ptrdiff_t)i * incx] * ys[(ptrdiff_t)i * incy];
        s1 += xs[(ptrdiff_t)(i + 1) * incx] * ys[(ptrdiff_t)(i + 1) * incy];
    }
    if (i < n)
        s0 += xs[(ptrdiff_t)i * incx] * ys[(ptrdiff_t)i * incy];
    *result = s0 + s1;
    return KT_OK;
}

/* ---- gemv --------------------------------------------------------------- */

/*
 * gemv N core on g <= BL_GV_COLS columns and m rows of contiguous t:
 * t = (mode 0: t, 1: 0, 2: beta*t) + sum_c A(:,c) * xa[c].  Whole vectors
 * use plain loads and stores; the last m % BL_VLEN rows masked ones, except
 * that with tpad t has room (zeros) up to the next whole vector and is read
 * and written whole there: a masked store is microcoded on AMD Zen 2 (a
 * wide column-major gemv at m = 75 ran at 8.0 GB/s against 12.1 at m = 80),
 * while a masked load is not.
 */
BL_INLINE void BL(gemv_n_cols)(size_t m, const BL_T *a, size_t lda, const BL_T *xa, BL_T *t,
                               BL_T beta, const int g, const int mode, const int tpad)
{
    BL_V xv[BL_GV_COLS];
    const BL_T *ac[BL_GV_COLS];
#pragma GCC unroll 8
    for (int c = 0; c < g; c++) {
        xv[c] = V_SET1(xa[c]);
        ac[c] = a + (size_t)c * lda;
    }
    BL_V bv = V_SET1(beta);
    size_t i = 0;
    for (; i + 2 * BL_VLEN <= m; i += 2 * BL_VLEN) {
#pragma GCC unroll 2
        for (int u = 0; u < 2; u++) {
            size_t r = i + (size_t)u * BL_VLEN;
            BL_V acc = mode == 0 ? V_LOAD(t + r) : mode == 1 ? V_ZERO() : V_MUL(bv, V_LOAD(t + r));
#pragma GCC unroll 8
            for (int c = 0; c < g; c++)
                acc = V_FMA(V_LOAD(ac[c] + r), xv[c], acc);
            V_STORE(t + r, acc);
        }
    }
    if (i + BL_VLEN <= m) {
        BL_V acc = mode == 0 ? V_LOAD(t + i) : mode == 1 ? V_ZERO() : V_MUL(bv, V_LOAD(t + i));
#pragma GCC unroll 8
        for (int c = 0; c < g; c++)
            acc = V_FMA(V_LOAD(ac[c] + i), xv[c], acc);
        V_STORE(t + i, acc);
        i += BL_VLEN;
    }
    if (i < m) {
        size_t rows = m - i;
        BL_V acc = mode == 1 ? V_ZERO() : tpad ? V_LOAD(t + i) : V_LOADN(t + i, rows);
        if (mode == 2) acc = V_MUL(bv, acc);
#pragma GCC unroll 8
        for (int c = 0; c < g; c++)
            acc = V_FMA(V_LOADN(ac[c] + i, rows), xv[c], acc);
        if (tpad)
            V_STORE(t + i, acc);
        else
            V_STOREN(t + i, acc, rows);
    }
}

/*
 * gemv N on at most BL_GV_SMALL vectors of rows (nv of them, the last holding
 * tail = 1 .. BL_VLEN rows, read masked): y's vectors stay in registers
 * while every column streams by, and y (contiguous) is read and written
 * once.  Only for one such block: several row blocks each sweeping all the
 * columns ran 1.1-1.7x slower than the column groups where A is large
 * (2000^2, 150 x 100000; strided passes over A, Zen 5).  Up to 4 vectors the columns go two at a time into two sets of
 * accumulators, so that 8 FMAs are in flight; from 5 vectors one set has
 * enough.  The column-group passes read and write y once per group, and a
 * small n is all remainder columns, one pass each: at 7 x 7 f64 (AMD Zen 5)
 * avx2 ran 30 ns and avx512 45 ns, and 14 ns both with this.  A is read
 * column after column, in address order.
 */
BL_INLINE void BL(gemv_n_small)(size_t n, BL_T alpha, const BL_T *a, size_t lda, const BL_T *x,
                                ptrdiff_t incx, BL_T *y, BL_T beta, size_t tail, const int nv)
{
    const int two = nv <= 4;
    BL_V acc0[BL_GV_SMALL], acc1[BL_GV_SMALL];
#pragma GCC unroll 16
    for (int r = 0; r < nv; r++)
        acc0[r] = acc1[r] = V_ZERO();
    size_t j = 0;
    /* column pointers from the index: stepping one past the last column may overflow (lda) */
    for (; two && j + 2 <= n; j += 2) {
        const BL_T *c0 = a + j * lda, *c1 = c0 + lda;
        BL_V x0 = V_SET1(x[(ptrdiff_t)j * incx]), x1 = V_SET1(x[(ptrdiff_t)(j + 1) * incx]);
#pragma GCC unroll 16
        for (int r = 0; r < nv - 1; r++) {
            acc0[r] = V_FMA(V_LOAD(c0 + r * BL_VLEN), x0, acc0[r]);
            acc1[r] = V_FMA(V_LOAD(c1 + r * BL_VLEN), x1, acc1[r]);
        }
        acc0[nv - 1] = V_FMA(V_LOADN(c0 + (nv - 1) * BL_VLEN, tail), x0, acc0[nv - 1]);
        acc1[nv - 1] = V_FMA(V_LOADN(c1 + (nv - 1) * BL_VLEN, tail), x1, acc1[nv - 1]);
    }
    for (; j < n; j++) {
        const BL_T *c0 = a + j * lda;
        BL_V x0 = V_SET1(x[(ptrdiff_t)j * incx]);
#pragma GCC unroll 16
        for (int r = 0; r < nv - 1; r++)
            acc0[r] = V_FMA(V_LOAD(c0 + r * BL_VLEN), x0, acc0[r]);
        acc0[nv - 1] = V_FMA(V_LOADN(c0 + (nv - 1) * BL_VLEN, tail), x0, acc0[nv - 1]);
    }
    BL_V av = V_SET1(alpha), bv = V_SET1(beta);
#pragma GCC unroll 16
    for (int r = 0; r < nv; r++) {
        BL_V t = V_MUL(two ? V_ADD(acc0[r], acc1[r]) : acc0[r], av);
        int last = r == nv - 1;
        if (beta != 0) {
            BL_V yv = last ? V_LOADN(y + r * BL_VLEN, tail) : V_LOAD(y + r * BL_VLEN);
            t = beta == 1 ? V_ADD(t, yv) : V_FMA(bv, yv, t);
        }
        if (last)
            V_STOREN(y + r * BL_VLEN, t, tail);
        else
            V_STORE(y + r * BL_VLEN, t);
    }
}

/* The column groups of one pass (mode, tpad as in gemv_n_cols; mode 1 and 2 for the first). */
#define BL_GV_PASS(G, MODE, TPAD) BL(gemv_n_cols)(m, a + j * lda, lda, xa, t, beta, G, MODE, TPAD)
#define BL_GV_GROUP(G)                                                                         \
    do {                                                                                       \
        if (tpad) {                                                                            \
            if (mode == 0) BL_GV_PASS(G, 0, 1);                                                \
            else if (mode == 1) BL_GV_PASS(G, 1, 1);                                           \
            else BL_GV_PASS(G, 2, 1);                                                          \
        } else {                                                                               \
            if (mode == 0) BL_GV_PASS(G, 0, 0);                                                \
            else if (mode == 1) BL_GV_PASS(G, 1, 0);                                           \
            else BL_GV_PASS(G, 2, 0);                                                          \
        }                                                                                      \
        mode = 0;                                                                              \
    } while (0)

/* One pass of gemv N over m rows and all n columns (t contiguous), mode and tpad as above. */
static void BL(gemv_n_block)(size_t m, size_t n, BL_T alpha, const BL_T *a, size_t lda,
                             const BL_T *x, ptrdiff_t incx, BL_T *t, BL_T beta, int mode,
                             int tpad)
{
    BL_T xa[BL_GV_COLS];
    size_t j = 0, rem = n % BL_GV_COLS;
    /* The odd columns first, one by one, so that the first pass applies beta. */
    for (; j < rem; j++) {
        xa[0] = alpha * x[(ptrdiff_t)j * incx];
        BL_GV_GROUP(1);
    }
    for (; j < n; j += BL_GV_COLS) {
        for (int c = 0; c < BL_GV_COLS; c++)
            xa[c] = alpha * x[(ptrdiff_t)(j + (size_t)c) * incx];
        BL_GV_GROUP(BL_GV_COLS);
    }
}
#undef BL_GV_GROUP
#undef BL_GV_PASS

/* r[c] = sum_i A(i,c) * x[i] for g <= BL_GV_COLS columns of m rows (x contiguous). */
BL_INLINE void BL(gemv_t_cols)(size_t m, const BL_T *a, size_t lda, const BL_T *x, BL_T *r,
                               const int g)
{
    BL_V acc[BL_GV_COLS][2];
    const BL_T *ac[BL_GV_COLS];
#pragma GCC unroll 8
    for (int c = 0; c < g; c++) {
        acc[c][0] = acc[c][1] = V_ZERO();
        ac[c] = a + (size_t)c * lda;
    }
    size_t i = 0;
    for (; i + 2 * BL_VLEN <= m; i += 2 * BL_VLEN) {
        BL_V x0 = V_LOAD(x + i), x1 = V_LOAD(x + i + BL_VLEN);
#pragma GCC unroll 8
        for (int c = 0; c < g; c++) {
            acc[c][0] = V_FMA(V_LOAD(ac[c] + i), x0, acc[c][0]);
            acc[c][1] = V_FMA(V_LOAD(ac[c] + i + BL_VLEN), x1, acc[c][1]);
        }
    }
    for (; i < m; i += BL_VLEN) {
        size_t rows = BL_MIN(m - i, (size_t)BL_VLEN);
        BL_V x0 = V_LOADN(x + i, rows);
#pragma GCC unroll 8
        for (int c = 0; c < g; c++)
            acc[c][0] = V_FMA(V_LOADN(ac[c] + i, rows), x0, acc[c][0]);
    }
#pragma GCC unroll 8
    for (int c = 0; c < g; c++)
        r[c] = V_HSUM(V_ADD(acc[c][0], acc[c][1]));
}

/*
 * y = alpha*op(A)*x + beta*y, column-major A (m x n).  Strided x and y are
 * handled here: the vector read with SIMD (y for N, x for T) goes through a
 * contiguous per-thread copy when its increment is not 1.
 */
static kt_status BL(gemv)(const kt_variant *v, kt_trans trans, size_t m, size_t n, BL_T alpha,
                          const BL_T *a, size_t lda, const BL_T *x, ptrdiff_t incx, BL_T beta,
                          BL_T *y, ptrdiff_t incy)
{
    (void)v;
    size_t leny = trans == KT_NOTRANS ? m : n, lenx = trans == KT_NOTRANS ? n : m;
    const BL_T *xs = x + bl_start(lenx, incx);
    BL_T *ys = y + bl_start(leny, incy);
    if (trans == KT_NOTRANS && n > 0 && m - 1 < BL_GV_SMALL * BL_VLEN) {
        /* strided y through a copy on the stack */
        BL_T tb[BL_GV_SMALL * BL_VLEN], *t = incy == 1 ? ys : tb;
        if (t == tb && beta != 0)
            for (size_t i = 0; i < m; i++)
                tb[i] = ys[(ptrdiff_t)i * incy];
        size_t nv = (m + BL_VLEN - 1) / BL_VLEN, tail = m - (nv - 1) * BL_VLEN;
#define BL_GV_SMALL_CASE(NV)                                                                   \
    case NV: BL(gemv_n_small)(n, alpha, a, lda, xs, incx, t, beta, tail, NV); break
        switch (nv) {
            BL_GV_SMALL_CASE(1);
            BL_GV_SMALL_CASE(2);
            BL_GV_SMALL_CASE(3);
            BL_GV_SMALL_CASE(4);
            BL_GV_SMALL_CASE(5);
            BL_GV_SMALL_CASE(6);
            BL_GV_SMALL_CASE(7);
            BL_GV_SMALL_CASE(8);
            BL_GV_SMALL_CASE(9);
            BL_GV_SMALL_CASE(10);
            BL_GV_SMALL_CASE(11);
#if BL_GV_SMALL > 12
            BL_GV_SMALL_CASE(12);
            BL_GV_SMALL_CASE(13);
            BL_GV_SMALL_CASE(14);
            BL_GV_SMALL_CASE(15);
#endif
        default: BL(gemv_n_small)(n, alpha, a, lda, xs, incx, t, beta, tail, BL_GV_SMALL); break;
        }
#undef BL_GV_SMALL_CASE
        if (t == tb)
            for (size_t i = 0; i < m; i++)
                ys[(ptrdiff_t)i * incy] = tb[i];
        return KT_OK;
    }
    if (trans == KT_NOTRANS) {
        BL_T *t = y;
        /*
         * y through a contiguous copy when strided, and when m is not a whole number of
         * vectors and the columns are many (n >= 64, and n >= m / 8: the copy then costs
         * less than the masked stores it saves, one per column group): the copy is padded
         * with zeros to the next vector, so no pass over the columns stores y masked.
         */
        size_t mp = (m + BL_VLEN - 1) / BL_VLEN * BL_VLEN;
        int tpad = mp != m && n >= 64 && 8 * n >= m;
        if (incy != 1 || tpad) {
            t = bl_scratch((tpad ? mp : m) * BL_ES);
            if (!t)
                return kt_fail(KT_ENOMEM, "gemv/%s: no memory for a %zu-element copy of y",
                               BL_ISA, m);
            if (beta != 0)
                for (size_t i = 0; i < m; i++)
                    t[i] = ys[(ptrdiff_t)i * incy];
            for (size_t i = m; tpad && i < mp; i++)
                t[i] = 0;
        }
        int mode = beta == 0 ? 1 : beta == 1 ? 0 : 2;
        /*
         * Row blocks of t (32 KiB) stay in L1/L2 while all columns stream by;
         * longer runs per column keep the prefetchers ahead (8 KiB blocks
         * measured ~10% slower out of cache on Zen 4).
         */
        size_t mb = 32768 / BL_ES;
        for (size_t i0 = 0; i0 < m; i0 += mb)
            BL(gemv_n_block)(BL_MIN(mb, m - i0), n, alpha, a + i0, lda, xs, incx, t + i0, beta,
                             mode, tpad && i0 + mb >= m);
        if (t != y)
            for (size_t i = 0; i < m; i++)
                ys[(ptrdiff_t)i * incy] = t[i];
        return KT_OK;
    }
    if (incx != 1) {
        BL_T *t = bl_scratch(m * BL_ES);
        if (!t)
            return kt_fail(KT_ENOMEM, "gemv/%s: no memory for a %zu-element copy of x", BL_ISA,
                           m);
        for (size_t i = 0; i < m; i++)
            t[i] = xs[(ptrdiff_t)i * incx];
        xs = t;
    }
    /* Row blocks of x small enough to stay in L2; partial sums accumulate in y. */
    size_t mb = (size_t)256 * 1024 / BL_ES;
    for (size_t i0 = 0; i0 < m; i0 += mb) {
        size_t rows = BL_MIN(mb, m - i0);
        const BL_T *ab = a + i0;
        BL_T r[BL_GV_COLS];
        for (size_t j = 0; j < n; j += BL_GV_COLS) {
            size_t g = BL_MIN((size_t)BL_GV_COLS, n - j);
            if (g == BL_GV_COLS)
                BL(gemv_t_cols)(rows, ab + j * lda, lda, xs + i0, r, BL_GV_COLS);
            else
                for (size_t c = 0; c < g; c++)
                    BL(gemv_t_cols)(rows, ab + (j + c) * lda, lda, xs + i0, r + c, 1);
            for (size_t c = 0; c < g; c++) {
                BL_T *yj = ys + (ptrdiff_t)(j + c) * incy;
                if (i0 > 0)
                    *yj += alpha * r[c];
                else
                    *yj = beta == 0 ? alpha * r[c] : alpha * r[c] + beta * *yj;
            }
        }
    }
    return KT_OK;
}

/* ---- gemm: micro-kernel ------------------------------------------------- */

/*
 * C(0:mr, 0:nr) = alpha * A * B + beta * C for one micro-tile, where
 * A(i, p) = a[i + p*a_ks] and B(p, j) = b[p*b_ks + j*b_js].  Compile-time
 * arguments: nv, the vectors of A used (nv*VLEN >= mr); a_tail, whether the
 * last of them is loaded masked to mr rows (unpadded A); ncol (<= NR), the
 * columns computed (nr <= ncol are stored; B must be readable, or padded,
 * up to ncol).  beta == 0: C is not read.
 */
BL_INLINE void BL(ukr_core)(size_t k, const BL_T *a, size_t a_ks, const BL_T *b, size_t b_ks,
                            size_t b_js, BL_T *c, size_t ldc, BL_T alpha, BL_T beta, size_t mr,
                            size_t nr, const int nv, const int a_tail, const int ncol)
{
    BL_V acc[BL_NR][BL_MV];
    size_t tail = mr - (size_t)(nv - 1) * BL_VLEN;
#pragma GCC unroll 16
    for (int j = 0; j < ncol; j++) {
#pragma GCC unroll 8
        for (int u = 0; u < nv; u++)
            acc[j][u] = V_ZERO();
    }
    /*
     * B(p, j) is read from two bases (columns 0 and 4) at byte offsets 0,
     * s, 2s and 3s (plus 8s past column 7): few address registers whatever
     * the stride (one pointer per column spills on x86-64's 16 registers).
     */
    /* the second base only where columns 4.. exist: b + 4 * b_js may lie past B (UB) */
    const char *b0 = (const char *)b, *b4 = ncol > 4 ? (const char *)(b + 4 * b_js) : b0;
    size_t s1 = b_js * sizeof(BL_T), s3 = 3 * s1, step = b_ks * sizeof(BL_T);
    /*
     * Step p's operands are addressed from p (not by advancing after each step): with
     * k = 1 a valid leading dimension may be huge, and a pointer one step past the
     * last would wrap (UB, though never read).
     */
    for (size_t p = 0; p < k; p++) {
        const BL_T *ap = a + p * a_ks;
        const char *bp0 = b0 + p * step, *bp4 = b4 + p * step;
        BL_V av[BL_MV];
#pragma GCC unroll 8
        for (int u = 0; u < nv; u++)
            av[u] = a_tail && u == nv - 1 ? V_LOADN(ap + u * BL_VLEN, tail)
                                          : V_LOAD(ap + u * BL_VLEN);
#pragma GCC unroll 16
        for (int j = 0; j < ncol; j++) {
            const char *bq = j / 4 % 2 == 0 ? bp0 : bp4;
            size_t off = j % 4 == 0 ? 0 : j % 4 == 1 ? s1 : j % 4 == 2 ? 2 * s1 : s3;
            BL_V bv = V_SET1(*(const BL_T *)(bq + off + (size_t)(j / 8) * 8 * s1));
#pragma GCC unroll 8
            for (int u = 0; u < nv; u++)
                acc[j][u] = V_FMA(av[u], bv, acc[j][u]);
        }
    }
    BL_V va = V_SET1(alpha), vb = V_SET1(beta);
    if (mr == (size_t)nv * BL_VLEN && nr == (size_t)ncol) {
#pragma GCC unroll 16
        for (int j = 0; j < ncol; j++) {
#pragma GCC unroll 8
            for (int u = 0; u < nv; u++) {
                BL_T *cp = c + (size_t)j * ldc + u * BL_VLEN;
                BL_V r = beta == 0   ? V_MUL(acc[j][u], va)
                         : beta == 1 ? V_FMA(acc[j][u], va, V_LOAD(cp))
                                     : V_FMA(acc[j][u], va, V_MUL(vb, V_LOAD(cp)));
                V_STORE(cp, r);
            }
        }
        return;
    }
    /*
     * Edge tile: all of C is read before any of it is written.  A masked
     * store's full-vector footprint can overlap the next column (ldc < mr +
     * VLEN), and a load overlapping a pending masked store waits for it to
     * retire (no store forwarding): ~20 cycles per column on Zen 4.
     */
#pragma GCC unroll 16
    for (int j = 0; j < ncol; j++) {
        if ((size_t)j >= nr)
            break;
#pragma GCC unroll 8
        for (int u = 0; u < nv; u++) {
            if ((size_t)u * BL_VLEN >= mr)
                break;
            size_t rows = BL_MIN(mr - (size_t)u * BL_VLEN, (size_t)BL_VLEN);
            const BL_T *cp = c + (size_t)j * ldc + u * BL_VLEN;
            acc[j][u] = beta == 0   ? V_MUL(acc[j][u], va)
                        : beta == 1 ? V_FMA(acc[j][u], va, V_LOADN(cp, rows))
                                    : V_FMA(acc[j][u], va, V_MUL(vb, V_LOADN(cp, rows)));
        }
    }
#pragma GCC unroll 16
    for (int j = 0; j < ncol; j++) {
        if ((size_t)j >= nr)
            break;
#pragma GCC unroll 8
        for (int u = 0; u < nv; u++) {
            if ((size_t)u * BL_VLEN >= mr)
                break;
            size_t rows = BL_MIN(mr - (size_t)u * BL_VLEN, (size_t)BL_VLEN);
            if (rows == BL_VLEN) /* a whole vector: a plain store (masked ones are slow on Zen 2) */
                V_STORE(c + (size_t)j * ldc + u * BL_VLEN, acc[j][u]);
            else
                V_STOREN(c + (size_t)j * ldc + u * BL_VLEN, acc[j][u], rows);
        }
    }
}

/*
 * The packed micro-kernel: A panel MR x k, B panel k x NR, both zero-padded.
 * An edge tile of mr rows runs only the ceil(mr/VLEN) vectors it needs.
 */
static void BL(ukr_packed)(size_t k, const BL_T *a, const BL_T *b, BL_T *c, size_t ldc,
                           BL_T alpha, BL_T beta, size_t mr, size_t nr)
{
    for (size_t j = 0; j < nr; j++)
        __builtin_prefetch(c + j * ldc + mr - 1, 1);
    size_t nv = (mr + BL_VLEN - 1) / BL_VLEN;
    if (nv == BL_MV) {
        BL(ukr_core)(k, a, BL_MR, b, BL_NR, 1, c, ldc, alpha, beta, mr, nr, BL_MV, 0, BL_NR);
        return;
    }
#pragma GCC unroll 8
    for (int u = 1; u < BL_MV; u++)
        if (nv == (size_t)u)
            BL(ukr_core)(k, a, BL_MR, b, BL_NR, 1, c, ldc, alpha, beta, mr, nr, u, 0, BL_NR);
}

/*
 * The direct micro-kernel for mr rows (nv vectors, the last masked) and
 * exactly ncol columns, on unpacked B: column j of the tile at b + j*ldb for
 * op(B) = B (bt = 0), at b + j for op(B) = B^T (bt = 1).
 */
BL_INLINE void BL(ukr_direct_cols)(size_t k, const BL_T *a, size_t a_ks, const BL_T *b,
                                   size_t ldb, int bt, BL_T *c, size_t ldc, BL_T alpha,
                                   BL_T beta, size_t mr, const int ncol)
{
    size_t nv = (mr + BL_VLEN - 1) / BL_VLEN;
#pragma GCC unroll 8
    for (int u = 1; u <= BL_MV; u++) {
        if (nv != (size_t)u)
            continue;
        if (bt)
            BL(ukr_core)(k, a, a_ks, b, ldb, 1, c, ldc, alpha, beta, mr, ncol, u, 1, ncol);
        else
            BL(ukr_core)(k, a, a_ks, b, 1, ldb, c, ldc, alpha, beta, mr, ncol, u, 1, ncol);
    }
}

/*
 * A direct tile of mr x nr (nr <= NR): a full-width kernel, or for the last
 * columns of C exact kernels of 4, 2 and 1 columns (no wasted columns).
 */
static void BL(ukr_direct)(size_t k, const BL_T *a, size_t a_ks, const BL_T *b, size_t ldb,
                           int bt, BL_T *c, size_t ldc, BL_T alpha, BL_T beta, size_t mr,
                           size_t nr)
{
    if (nr == BL_NR) {
        BL(ukr_direct_cols)(k, a, a_ks, b, ldb, bt, c, ldc, alpha, beta, mr, BL_NR);
        return;
    }
    size_t bjs = bt ? 1 : ldb;
    for (size_t j = 0; j < nr;) {
        size_t left = nr - j;
        const BL_T *bp = b + j * bjs;
        BL_T *cp = c + j * ldc;
        if (left >= 4) {
            BL(ukr_direct_cols)(k, a, a_ks, bp, ldb, bt, cp, ldc, alpha, beta, mr, 4);
            j += 4;
        } else if (left >= 2) {
            BL(ukr_direct_cols)(k, a, a_ks, bp, ldb, bt, cp, ldc, alpha, beta, mr, 2);
            j += 2;
        } else {
            BL(ukr_direct_cols)(k, a, a_ks, bp, ldb, bt, cp, ldc, alpha, beta, mr, 1);
            j += 1;
        }
    }
}

/* ---- gemm: packing ------------------------------------------------------ */

/*
 * Packs rows [0, mr) of op(A) = A^T (op(A)(i,p) = a[p + i*lda]) into one
 * panel with `stride` elements between its columns (element (i, p) at
 * [p*stride + i], stride a multiple of VLEN >= mr): VLEN x VLEN blocks are
 * loaded along p, transposed in registers and stored along i.  Rows past mr
 * up to the next multiple of VLEN are zero.
 */
static void BL(pack_a_t)(size_t mr, size_t kc, const BL_T *a, size_t lda, BL_T *dst,
                         size_t stride)
{
    for (size_t r0 = 0; r0 < mr; r0 += BL_VLEN) {
        size_t rows = BL_MIN((size_t)BL_VLEN, mr - r0);
        const BL_T *src = a + r0 * lda;
        for (size_t p = 0; p < kc; p += BL_VLEN) {
            size_t cnt = BL_MIN((size_t)BL_VLEN, kc - p);
            BL_V t[BL_VLEN];
            if (rows == BL_VLEN && cnt == BL_VLEN) {
#pragma GCC unroll 16
                for (int r = 0; r < BL_VLEN; r++)
                    t[r] = V_LOAD(src + (size_t)r * lda + p);
            } else {
#pragma GCC unroll 16
                for (int r = 0; r < BL_VLEN; r++)
                    t[r] = (size_t)r < rows ? V_LOADN(src + (size_t)r * lda + p, cnt) : V_ZERO();
            }
            V_TRANSPOSE(t);
#pragma GCC unroll 16
            for (int q = 0; q < BL_VLEN; q++)
                if ((size_t)q < cnt)
                    V_STORE(dst + (p + (size_t)q) * stride + r0, t[q]);
        }
    }
}

/*
 * Packs the mc x kc block of op(A) at a (op(A)(i,p) = a[i + p*lda], or
 * a[p + i*lda] when trans) into MR-row panels: panel q at dst + q*MR*kc,
 * element (i, p) of it at [p*MR + i].  Rows past mc up to the next multiple
 * of VLEN are zero; the micro-kernel reads no further.
 */
static void BL(pack_a)(size_t mc, size_t kc, const BL_T *a, size_t lda, int trans, BL_T *dst)
{
    for (size_t i0 = 0; i0 < mc; i0 += BL_MR, dst += BL_MR * kc) {
        size_t mr = BL_MIN((size_t)BL_MR, mc - i0);
        if (trans) {
            BL(pack_a_t)(mr, kc, a + i0 * lda, lda, dst, BL_MR);
        } else if (mr == BL_MR) {
            const BL_T *s = a + i0;
            for (size_t p = 0; p < kc; p++) {
#pragma GCC unroll 8
                for (int u = 0; u < BL_MV; u++)
                    V_STORE(dst + p * BL_MR + u * BL_VLEN, V_LOAD(s + p * lda + u * BL_VLEN));
            }
        } else {
            const BL_T *s = a + i0;
            for (size_t p = 0; p < kc; p++) {
#pragma GCC unroll 8
                for (int u = 0; u < BL_MV; u++) {
                    size_t r = (size_t)u * BL_VLEN;
                    if (r < mr)
                        V_STORE(dst + p * BL_MR + r,
                                V_LOADN(s + p * lda + r, BL_MIN(mr - r, (size_t)BL_VLEN)));
                }
            }
        }
    }
}

/*
 * Packs the kc x nc block of op(B) at b (op(B)(p,j) = b[p + j*ldb], or
 * b[j + p*ldb] when trans) into NR-column panels: panel q at dst + q*NR*kc,
 * element (p, j) of it at [p*NR + j]; columns past nc are zero.
 */
static void BL(pack_b)(size_t kc, size_t nc, const BL_T *b, size_t ldb, int trans, BL_T *dst)
{
    for (size_t j0 = 0; j0 < nc; j0 += BL_NR, dst += BL_NR * kc) {
        size_t nr = BL_MIN((size_t)BL_NR, nc - j0);
        if (trans) {
            for (size_t p = 0; p < kc; p++) {
                const BL_T *s = b + p * ldb + j0;
                for (size_t j = 0; j < nr; j++)
                    dst[p * BL_NR + j] = s[j];
                for (size_t j = nr; j < BL_NR; j++)
                    dst[p * BL_NR + j] = 0;
            }
        } else if (nr == BL_NR) {
            const BL_T *s[BL_NR];
#pragma GCC unroll 16
            for (int j = 0; j < BL_NR; j++)
                s[j] = b + (j0 + (size_t)j) * ldb;
            for (size_t p = 0; p < kc; p++) {
#pragma GCC unroll 16
                for (int j = 0; j < BL_NR; j++)
                    dst[p * BL_NR + (size_t)j] = s[j][p];
            }
        } else {
            for (size_t p = 0; p < kc; p++) {
                for (size_t j = 0; j < nr; j++)
                    dst[p * BL_NR + j] = b[p + (j0 + j) * ldb];
                for (size_t j = nr; j < BL_NR; j++)
                    dst[p * BL_NR + j] = 0;
            }
        }
    }
}

/* ---- gemm: drivers ------------------------------------------------------ */

/*
 * The direct path, for A that fits in L2: no packing of B, and none of A
 * unless it is transposed (then all of A is packed once, in panels only as
 * tall as their vectors).  Walks NR-column by MR-row tiles.
 */
static kt_status BL(gemm_direct)(kt_trans ta, kt_trans tb, size_t m, size_t n, size_t k,
                                 BL_T alpha, const BL_T *a, size_t lda, const BL_T *b,
                                 size_t ldb, BL_T beta, BL_T *c, size_t ldc)
{
    const BL_T *ap = a;
    if (ta == KT_TRANS) {
        /* Panels of MR rows, the last one only as tall as its vectors. */
        size_t mp = (m + BL_VLEN - 1) / BL_VLEN * BL_VLEN;
        BL_T *buf = bl_scratch(mp * k * BL_ES);
        if (!buf)
            return kt_fail(KT_ENOMEM, "gemm/%s: no memory to pack a %zu x %zu A", BL_ISA, m, k);
        for (size_t i = 0; i < m; i += BL_MR) {
            size_t mr = BL_MIN((size_t)BL_MR, m - i);
            BL(pack_a_t)(mr, k, a + i * lda, lda, buf + i * k,
                         BL_MIN((size_t)BL_MR, mp - i));
        }
        ap = buf;
    }
    for (size_t j = 0; j < n; j += BL_NR) {
        size_t nr = BL_MIN((size_t)BL_NR, n - j);
        for (size_t i = 0; i < m; i += BL_MR) {
            size_t mr = BL_MIN((size_t)BL_MR, m - i);
            const BL_T *ai = ta == KT_TRANS ? ap + i * k : a + i;
            size_t a_ks = ta == KT_TRANS ? (mr + BL_VLEN - 1) / BL_VLEN * BL_VLEN : lda;
            BL(ukr_direct)(k, ai, a_ks, tb == KT_NOTRANS ? b + j * ldb : b + j, ldb,
                           tb == KT_TRANS, c + i + j * ldc, ldc, alpha, beta, mr, nr);
        }
    }
    return KT_OK;
}

/*
 * C = alpha*op(A)*op(B) + beta*C, column-major, m, n > 0, alpha != 0.
 * v->param > 0 overrides KC (the tuner's rows "avx512:kc=N").
 */
static kt_status BL(gemm)(const kt_variant *v, kt_trans ta, kt_trans tb, size_t m, size_t n,
                          size_t k, BL_T alpha, const BL_T *a, size_t lda, const BL_T *b,
                          size_t ldb, BL_T beta, BL_T *c, size_t ldc)
{
    const int tra = ta == KT_TRANS, trb = tb == KT_TRANS;
    /*
     * A small enough is read in place for every NR columns of C (packing it
     * would cost more than it saves): up to L2 for tall AVX-512 tiles, up
     * to 2 x L1 for AVX2's (measured on Zen 4, see BL_DIRECT_LEVEL).
     */
    if (k == 0 || m * k * BL_ES <= bl_direct_max(BL_DIRECT_LEVEL))
        return BL(gemm_direct)(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    size_t kc, mc, nc;
    bl_blocks(BL_ES, BL_MR, BL_NR, v ? v->param : 0, &kc, &mc, &nc);
    size_t kcap = BL_MIN(kc, k);
    size_t mcap = BL_MIN(mc, (m + BL_MR - 1) / BL_MR * BL_MR);
    size_t ncap = BL_MIN(nc, (n + BL_NR - 1) / BL_NR * BL_NR);
    size_t abytes = (mcap * kcap * BL_ES + 63) & ~(size_t)63;
    BL_T *ap = bl_scratch(abytes + ncap * kcap * BL_ES);
    if (!ap)
        return kt_fail(KT_ENOMEM, "gemm/%s: no memory for %zu bytes of packing buffers", BL_ISA,
                       abytes + ncap * kcap * BL_ES);
    BL_T *bp = (BL_T *)((char *)ap + abytes);

    for (size_t jc = 0; jc < n; jc += nc) {
        size_t ncur = BL_MIN(nc, n - jc);
        for (size_t pc = 0; pc < k; pc += kc) {
            size_t kcur = BL_MIN(kc, k - pc);
            BL_T bet = pc == 0 ? beta : 1;
            BL(pack_b)(kcur, ncur, trb ? b + jc + pc * ldb : b + pc + jc * ldb, ldb, trb, bp);
            for (size_t ic = 0; ic < m; ic += mc) {
                size_t mcur = BL_MIN(mc, m - ic);
                BL(pack_a)(mcur, kcur, tra ? a + pc + ic * lda : a + ic + pc * lda, lda, tra, ap);
                for (size_t jr = 0; jr < ncur; jr += BL_NR) {
                    size_t nr = BL_MIN((size_t)BL_NR, ncur - jr);
                    for (size_t ir = 0; ir < mcur; ir += BL_MR) {
                        size_t mr = BL_MIN((size_t)BL_MR, mcur - ir);
                        BL(ukr_packed)(kcur, ap + ir * kcur, bp + jr * kcur,
                                       c + (ic + ir) + (jc + jr) * ldc, ldc, alpha, bet, mr, nr);
                    }
                }
            }
        }
    }
    return KT_OK;
}

#undef BL_MR
#undef BL_ES
#undef BL_T
#undef BL_V
#undef BL_VLEN
#undef BL_MV
#undef BL_NR
#undef BL_GV_COLS
#undef BL_GV_SMALL
#undef BL_DIRECT_LEVEL
#undef BL
#undef BL_ISA
#undef V_ZERO
#undef V_SET1
#undef V_LOAD
#undef V_STORE
#undef V_LOADN
#undef V_STOREN
#undef V_FMA
#undef V_MUL
#undef V_ADD
#undef V_HSUM
#undef V_TRANSPOSE
