/*
 * variants/threads/blas_body.h: the threaded dot, gemv and gemm, written
 * once for both element types.  Included by variants/threads/blas.c once
 * per type after defining TT (float or double), TC(name) (name ## _f32),
 * TNAME ("f32"), TOP(op) (KT_OP_ ## op ## _F32) and TFN(op) (the typed
 * function pointer kt_ ## op ## _f32_fn); undefines them at its end.
 * See blas.c for the partitioning.
 */

/* *result = sum x[i]*y[i] over v->threads chunks, added in chunk order. */
static kt_status TC(dot)(const kt_variant *v, size_t n, const TT *x, ptrdiff_t incx, const TT *y,
                         ptrdiff_t incy, TT *result)
{
    const kt_variant *s = serial(TOP(DOT));
    if (!s)
        return kt_fail(KT_EINTERNAL, "dot_%s/threads: no serial variant", TNAME);
    TFN(dot) fn = (TFN(dot))s->fn;
    int np = parts_of(v);
    part pt[MAX_PARTS];
    char msg[256] = "";
    atomic_int claimed = 0;
    memset(pt, 0, sizeof pt);
#pragma omp parallel num_threads(np)
    {
        int nt = omp_get_num_threads();
        for (int i = omp_get_thread_num(); i < np; i += nt) {
            size_t lo, hi;
            split(n, np, i, line_elems(sizeof(TT)), &lo, &hi);
            TT r = 0;
            kt_status st = KT_OK;
            if (hi > lo)
                st = fn(s, hi - lo, x + chunk_offset(n, incx, lo, hi), incx,
                        y + chunk_offset(n, incy, lo, hi), incy, &r);
            pt[i].sum = r;
            note_failure(&pt[i], st, &claimed, msg, sizeof msg);
        }
    }
    double sum = 0;
    for (int i = 0; i < np; i++)
        sum += pt[i].sum;
    *result = (TT)sum;
    return first_failure(pt, np, msg);
}

/*
 * y = alpha*op(A)*x + beta*y split over the elements of y: rows of A for N
 * (in whole cache lines), columns of A for T.  Each part is a full gemv of
 * its own, so beta == 0 keeps its meaning.
 */
static kt_status TC(gemv)(const kt_variant *v, kt_trans trans, size_t m, size_t n, TT alpha,
                          const TT *a, size_t lda, const TT *x, ptrdiff_t incx, TT beta, TT *y,
                          ptrdiff_t incy)
{
    const kt_variant *s = serial(TOP(GEMV));
    if (!s)
        return kt_fail(KT_EINTERNAL, "gemv_%s/threads: no serial variant", TNAME);
    TFN(gemv) fn = (TFN(gemv))s->fn;
    int np = parts_of(v);
    size_t leny = trans == KT_NOTRANS ? m : n;
    size_t grain = trans == KT_NOTRANS ? line_elems(sizeof(TT)) : 1;
    part pt[MAX_PARTS];
    char msg[256] = "";
    atomic_int claimed = 0;
    memset(pt, 0, sizeof pt);
#pragma omp parallel num_threads(np)
    {
        int nt = omp_get_num_threads();
        for (int i = omp_get_thread_num(); i < np; i += nt) {
            size_t lo, hi;
            split(leny, np, i, grain, &lo, &hi);
            kt_status st = KT_OK;
            /* an empty part forms no pointer: y + offset may lie past y (UB) */
            TT *yp = hi > lo ? y + chunk_offset(leny, incy, lo, hi) : y;
            if (hi > lo && trans == KT_NOTRANS)
                st = fn(s, trans, hi - lo, n, alpha, a + lo, lda, x, incx, beta, yp, incy);
            else if (hi > lo)
                st = fn(s, trans, m, hi - lo, alpha, a + lo * lda, lda, x, incx, beta, yp, incy);
            note_failure(&pt[i], st, &claimed, msg, sizeof msg);
        }
    }
    return first_failure(pt, np, msg);
}

/* C = alpha*op(A)*op(B) + beta*C split into column (or row) blocks of C. */
static kt_status TC(gemm)(const kt_variant *v, kt_trans transa, kt_trans transb, size_t m,
                          size_t n, size_t k, TT alpha, const TT *a, size_t lda, const TT *b,
                          size_t ldb, TT beta, TT *c, size_t ldc)
{
    const kt_variant *s = serial(TOP(GEMM));
    if (!s)
        return kt_fail(KT_EINTERNAL, "gemm_%s/threads: no serial variant", TNAME);
    TFN(gemm) fn = (TFN(gemm))s->fn;
    int np = parts_of(v);
    int bycol = gemm_by_columns(m, n, np);
    size_t rgrain = 4 * line_elems(sizeof(TT));
    part pt[MAX_PARTS];
    char msg[256] = "";
    atomic_int claimed = 0;
    memset(pt, 0, sizeof pt);
#pragma omp parallel num_threads(np)
    {
        int nt = omp_get_num_threads();
        for (int i = omp_get_thread_num(); i < np; i += nt) {
            size_t lo, hi;
            kt_status st = KT_OK;
            if (bycol) {
                split(n, np, i, COL_GRAIN, &lo, &hi);
                const TT *bp = transb == KT_NOTRANS ? b + lo * ldb : b + lo;
                if (hi > lo)
                    st = fn(s, transa, transb, m, hi - lo, k, alpha, a, lda, bp, ldb, beta,
                            c + lo * ldc, ldc);
            } else {
                split(m, np, i, rgrain, &lo, &hi);
                const TT *ap = transa == KT_NOTRANS ? a + lo : a + lo * lda;
                if (hi > lo)
                    st = fn(s, transa, transb, hi - lo, n, k, alpha, ap, lda, b, ldb, beta,
                            c + lo, ldc);
            }
            note_failure(&pt[i], st, &claimed, msg, sizeof msg);
        }
    }
    return first_failure(pt, np, msg);
}

#undef TT
#undef TC
#undef TNAME
#undef TOP
#undef TFN
