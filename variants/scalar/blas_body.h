/*
 * variants/scalar/blas_body.h: the scalar dot, gemv and gemm, written once
 * for both element types.  Included by variants/scalar/blas.c once per type
 * after defining ST (float or double) and SC(name) (name ## _f32), and
 * undefines them at its end.  Straightforward loops in a cache-friendly
 * order, nothing more: this is the honest baseline.
 */

/* *result = sum x[i]*y[i], any increments. */
static kt_status SC(dot)(size_t n, const ST *x, ptrdiff_t incx, const ST *y, ptrdiff_t incy,
                         ST *result)
{
    x += start(n, incx);
    y += start(n, incy);
    ST s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[(ptrdiff_t)i * incx] * y[(ptrdiff_t)i * incy];
    *result = s;
    return KT_OK;
}

/*
 * y = alpha*op(A)*x + beta*y.  N: y is scaled first, then A is walked column
 * by column (axpy form); T: one dot product per column.  beta == 0 never
 * reads y.
 */
static kt_status SC(gemv)(kt_trans trans, size_t m, size_t n, ST alpha, const ST *a, size_t lda,
                          const ST *x, ptrdiff_t incx, ST beta, ST *y, ptrdiff_t incy)
{
    if (trans == KT_NOTRANS) {
        x += start(n, incx);
        y += start(m, incy);
        for (size_t i = 0; i < m; i++) {
            ST *yi = y + (ptrdiff_t)i * incy;
            *yi = beta == 0 ? 0 : beta * *yi;
        }
        for (size_t j = 0; j < n; j++) {
            ST t = alpha * x[(ptrdiff_t)j * incx];
            const ST *aj = a + j * lda;
            for (size_t i = 0; i < m; i++)
                y[(ptrdiff_t)i * incy] += t * aj[i];
        }
    } else {
        x += start(m, incx);
        y += start(n, incy);
        for (size_t j = 0; j < n; j++) {
            const ST *aj = a + j * lda;
            ST s = 0;
            for (size_t i = 0; i < m; i++)
                s += aj[i] * x[(ptrdiff_t)i * incx];
            ST *yj = y + (ptrdiff_t)j * incy;
            *yj = beta == 0 ? alpha * s : alpha * s + beta * *yj;
        }
    }
    return KT_OK;
}

/*
 * C = alpha*op(A)*op(B) + beta*C.  op(A)(i,p) = a[i*ars + p*acs] and
 * op(B)(p,j) = b[p*brs + j*bcs].  When op(A)'s columns are contiguous the
 * loops run j, p, i (axpy form, C's column stays in cache); otherwise j, i,
 * p (a dot product per element over A's contiguous rows).  beta == 0 never
 * reads C.
 */
static kt_status SC(gemm)(kt_trans transa, kt_trans transb, size_t m, size_t n, size_t k,
                          ST alpha, const ST *a, size_t lda, const ST *b, size_t ldb, ST beta,
                          ST *c, size_t ldc)
{
    size_t ars = transa == KT_NOTRANS ? 1 : lda, acs = transa == KT_NOTRANS ? lda : 1;
    size_t brs = transb == KT_NOTRANS ? 1 : ldb, bcs = transb == KT_NOTRANS ? ldb : 1;
    for (size_t j = 0; j < n; j++) {
        ST *cj = c + j * ldc;
        if (transa == KT_NOTRANS) {
            for (size_t i = 0; i < m; i++)
                cj[i] = beta == 0 ? 0 : beta * cj[i];
            for (size_t p = 0; p < k; p++) {
                ST t = alpha * b[p * brs + j * bcs];
                const ST *ap = a + p * acs;
                for (size_t i = 0; i < m; i++)
                    cj[i] += t * ap[i];
            }
        } else {
            for (size_t i = 0; i < m; i++) {
                const ST *ai = a + i * ars;
                ST s = 0;
                for (size_t p = 0; p < k; p++)
                    s += ai[p] * b[p * brs + j * bcs];
                cj[i] = beta == 0 ? alpha * s : alpha * s + beta * cj[i];
            }
        }
    }
    return KT_OK;
}

#undef ST
#undef SC
