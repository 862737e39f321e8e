/*
 * variants/openblas/blas_body.h: the OpenBLAS dot, gemv and gemm, written
 * once for both element types.  Included by variants/openblas/blas.c once
 * per type after defining OT (float or double), OC(name) (name ## _f32),
 * ONAME ("f32") and OB(name) (the Fortran sdot_ / ddot_ ...);
 * undefines them at its end.
 */

/* *result = sum x[i]*y[i] through ?dot on v->threads OpenBLAS threads. */
static kt_status OC(dot)(const kt_variant *v, size_t n, const OT *x, ptrdiff_t incx, const OT *y,
                         ptrdiff_t incy, OT *result)
{
    if (!fits(n) || !fits_inc(incx) || !fits_inc(incy))
        return kt_fail(KT_EUNAVAIL, "dot_%s/openblas: n or an increment exceeds OpenBLAS's "
                       "integer", ONAME);
    kt_openblas_saved saved = kt_openblas_enter(v->threads);
    blasint nn = (blasint)n, ix = (blasint)incx, iy = (blasint)incy;
    *result = (OT)OB(dot)(&nn, (OT *)x, &ix, (OT *)y, &iy);
    kt_openblas_leave(saved);
    return KT_OK;
}

/*
 * y = alpha*op(A)*x + beta*y through ?gemv (column-major).  beta == 0 is
 * passed on: OpenBLAS then writes y without reading it.
 */
static kt_status OC(gemv)(const kt_variant *v, kt_trans trans, size_t m, size_t n, OT alpha,
                          const OT *a, size_t lda, const OT *x, ptrdiff_t incx, OT beta, OT *y,
                          ptrdiff_t incy)
{
    if (!fits(m) || !fits(n) || !fits(lda) || !fits_inc(incx) || !fits_inc(incy))
        return kt_fail(KT_EUNAVAIL, "gemv_%s/openblas: a size exceeds OpenBLAS's integer",
                       ONAME);
    kt_openblas_saved saved = kt_openblas_enter(v->threads);
    char t = ftrans(trans);
    blasint mm = (blasint)m, nn = (blasint)n, la = (blasint)lda, ix = (blasint)incx,
            iy = (blasint)incy;
    OB(gemv)(&t, &mm, &nn, &alpha, (OT *)a, &la, (OT *)x, &ix, &beta, y, &iy);
    kt_openblas_leave(saved);
    return KT_OK;
}

/* C = alpha*op(A)*op(B) + beta*C through ?gemm (column-major). */
static kt_status OC(gemm)(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                          size_t n, size_t k, OT alpha, const OT *a, size_t lda, const OT *b,
                          size_t ldb, OT beta, OT *c, size_t ldc)
{
    if (!fits(m) || !fits(n) || !fits(k) || !fits(lda) || !fits(ldb) || !fits(ldc))
        return kt_fail(KT_EUNAVAIL, "gemm_%s/openblas: a size exceeds OpenBLAS's integer",
                       ONAME);
    kt_openblas_saved saved = kt_openblas_enter(v->threads);
    char ta = ftrans(transa), tb = ftrans(transb);
    blasint mm = (blasint)m, nn = (blasint)n, kk = (blasint)k, la = (blasint)lda,
            lb = (blasint)ldb, lc = (blasint)ldc;
    OB(gemm)(&ta, &tb, &mm, &nn, &kk, &alpha, (OT *)a, &la, (OT *)b, &lb, &beta, c, &lc);
    kt_openblas_leave(saved);
    return KT_OK;
}

#undef OT
#undef OC
#undef ONAME
#undef OB
