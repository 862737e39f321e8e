/*
 * lib/kt_cblas_body.h: the typed half of lib/kt_cblas.c, written once for
 * float and double.  Included by kt_cblas.c once per type after defining
 * CT (float or double), CB(name) (cblas_s ## name), KF(name) (kt_ ## name
 * ## _f32), CR(name) (ref_ ## name ## _f32) and CX (0 for float, 1 for
 * double: the offset of the routine in kt_cblas.c's tables); undefines
 * them at its end.
 *
 * Each routine: the reference argument checks, the reference quick
 * returns, then the ktune entry point.  A call from inside ktune goes on
 * to the BLAS linked after this library (see kt_cblas_enter); the
 * reference loop (ref_*) runs only when ktune declines a call, or for a
 * call from inside ktune when there is no other BLAS to pass it to.
 */

/* ---- the reference loops, in the reference BLAS's order of operations ---- */

/* y += alpha * x; sequential in i, so overlapping x and y behave as in the reference. */
static void CR(axpy)(int n, CT alpha, const CT *x, int incx, CT *y, int incy) {
    ptrdiff_t ix = kt_cblas_start(n, incx), iy = kt_cblas_start(n, incy);
    for (int i = 0; i < n; i++, ix += incx, iy += incy) y[iy] += alpha * x[ix];
}

static CT CR(dot)(int n, const CT *x, int incx, const CT *y, int incy) {
    ptrdiff_t ix = kt_cblas_start(n, incx), iy = kt_cblas_start(n, incy);
    CT sum = 0;
    for (int i = 0; i < n; i++, ix += incx, iy += incy) sum += x[ix] * y[iy];
    return sum;
}

/* Column-major y = alpha * op(A) * x + beta * y, A m x n (m, n > 0), as ?gemv.f. */
static void CR(gemv)(bool trans, int m, int n, CT alpha, const CT *a, int lda, const CT *x,
                     int incx, CT beta, CT *y, int incy) {
    int lenx = trans ? m : n, leny = trans ? n : m;
    ptrdiff_t kx = kt_cblas_start(lenx, incx), ky = kt_cblas_start(leny, incy);
    if (beta != 1) {
        /* beta == 0 stores zeros: y is not read, so NaN there does not leak */
        ptrdiff_t iy = ky;
        for (int i = 0; i < leny; i++, iy += incy) y[iy] = beta == 0 ? 0 : beta * y[iy];
    }
    if (alpha == 0) return;
    if (!trans) {
        ptrdiff_t jx = kx;
        for (int j = 0; j < n; j++, jx += incx) {
            const CT *col = a + (size_t)j * (size_t)lda;
            CT t = alpha * x[jx];
            ptrdiff_t iy = ky;
            for (int i = 0; i < m; i++, iy += incy) y[iy] += t * col[i];
        }
    } else {
        ptrdiff_t jy = ky;
        for (int j = 0; j < n; j++, jy += incy) {
            const CT *col = a + (size_t)j * (size_t)lda;
            CT t = 0;
            ptrdiff_t ix = kx;
            for (int i = 0; i < m; i++, ix += incx) t += col[i] * x[ix];
            y[jy] += alpha * t;
        }
    }
}

/* Column-major C = alpha * op(A) * op(B) + beta * C, C m x n (m, n > 0), as ?gemm.f. */
static void CR(gemm)(bool ta, bool tb, int m, int n, int k, CT alpha, const CT *a, int lda,
                     const CT *b, int ldb, CT beta, CT *c, int ldc) {
    size_t sa = (size_t)lda, sb = (size_t)ldb;
    for (int j = 0; j < n; j++) {
        CT *cj = c + (size_t)j * (size_t)ldc;
        if (alpha == 0) {
            for (int i = 0; i < m; i++) cj[i] = beta == 0 ? 0 : beta * cj[i];
            continue;
        }
        if (!ta) {
            /* column j of C gathers columns of A, weighted by op(B)(l, j) */
            if (beta == 0)
                for (int i = 0; i < m; i++) cj[i] = 0;
            else if (beta != 1)
                for (int i = 0; i < m; i++) cj[i] *= beta;
            for (int l = 0; l < k; l++) {
                CT t = alpha * (tb ? b[j + l * sb] : b[l + j * sb]);
                const CT *al = a + l * sa;
                for (int i = 0; i < m; i++) cj[i] += t * al[i];
            }
        } else {
            /* C(i, j) is the dot product of column i of A with column j of op(B) */
            for (int i = 0; i < m; i++) {
                const CT *ai = a + i * sa;
                CT t = 0;
                for (int l = 0; l < k; l++) t += ai[l] * (tb ? b[j + l * sb] : b[l + j * sb]);
                cj[i] = beta == 0 ? alpha * t : alpha * t + beta * cj[i];
            }
        }
    }
}

/* ---- the CBLAS routines ------------------------------------------------------- */

void CB(axpy)(const int n, const CT alpha, const CT *x, const int incx, CT *y, const int incy) {
    enum { r = KT_CBLAS_AXPY + CX };
    /* reference: no argument errors; n <= 0 or alpha == 0 returns before reading x or y */
    if (n <= 0 || alpha == 0) return;
    kt_status s = KT_EINTERNAL;
    if (kt_cblas_enter()) {
        s = KF(axpy)((size_t)n, alpha, x, incx, y, incy);
        kt_cblas_leave(r, s);
    } else {
        void (*next)(int, CT, const CT *, int, CT *, int) = kt_cblas_next(r);
        if (next) {
            next(n, alpha, x, incx, y, incy);
            return;
        }
    }
    /* ktune refuses overlapping x and y (its variants reorder); BLAS defines them */
    if (s != KT_OK) CR(axpy)(n, alpha, x, incx, y, incy);
}

CT CB(dot)(const int n, const CT *x, const int incx, const CT *y, const int incy) {
    enum { r = KT_CBLAS_DOT + CX };
    if (n <= 0) return 0;
    CT result = 0;
    kt_status s = KT_EINTERNAL;
    if (kt_cblas_enter()) {
        s = KF(dot)((size_t)n, x, incx, y, incy, &result);
        kt_cblas_leave(r, s);
    } else {
        CT (*next)(int, const CT *, int, const CT *, int) = kt_cblas_next(r);
        if (next) return next(n, x, incx, y, incy);
    }
    if (s != KT_OK) result = CR(dot)(n, x, incx, y, incy);
    return result;
}

void CB(gemv)(const CBLAS_LAYOUT layout, const CBLAS_TRANSPOSE trans, const int M, const int N,
              const CT alpha, const CT *A, const int lda, const CT *x, const int incx,
              const CT beta, CT *y, const int incy) {
    enum { r = KT_CBLAS_GEMV + CX };
    if (kt_cblas_gemv_bad(r, layout, trans, M, N, lda, incx, incy)) return;
    /*
     * The reference quick return: M == 0 or N == 0 leaves y as it is (not
     * even scaled by beta), and so does alpha == 0 with beta == 1.
     */
    if (M == 0 || N == 0 || (alpha == 0 && beta == 1)) return;
    kt_trans t = trans == CblasNoTrans ? KT_NOTRANS : KT_TRANS;
    kt_status s = KT_EINTERNAL;
    if (kt_cblas_enter()) {
        s = KF(gemv)((kt_layout)layout, t, (size_t)M, (size_t)N, alpha, A, (size_t)lda, x, incx,
                     beta, y, incy);
        kt_cblas_leave(r, s);
    } else {
        void (*next)(CBLAS_LAYOUT, CBLAS_TRANSPOSE, int, int, CT, const CT *, int, const CT *, int,
                     CT, CT *, int) = kt_cblas_next(r);
        if (next) {
            next(layout, trans, M, N, alpha, A, lda, x, incx, beta, y, incy);
            return;
        }
    }
    if (s == KT_OK) return;
    /* a row-major A is the column-major N x M matrix A^T: the transposition flips */
    if (layout == CblasRowMajor)
        CR(gemv)(t == KT_NOTRANS, N, M, alpha, A, lda, x, incx, beta, y, incy);
    else
        CR(gemv)(t == KT_TRANS, M, N, alpha, A, lda, x, incx, beta, y, incy);
}

void CB(gemm)(const CBLAS_LAYOUT layout, const CBLAS_TRANSPOSE transa,
              const CBLAS_TRANSPOSE transb, const int M, const int N, const int K, const CT alpha,
              const CT *A, const int lda, const CT *B, const int ldb, const CT beta, CT *C,
              const int ldc) {
    enum { r = KT_CBLAS_GEMM + CX };
    if (kt_cblas_gemm_bad(r, layout, transa, transb, M, N, K, lda, ldb, ldc)) return;
    /* the reference quick return: C untouched for an empty C, or for C = 1 * C */
    if (M == 0 || N == 0 || ((alpha == 0 || K == 0) && beta == 1)) return;
    kt_trans ta = transa == CblasNoTrans ? KT_NOTRANS : KT_TRANS;
    kt_trans tb = transb == CblasNoTrans ? KT_NOTRANS : KT_TRANS;
    kt_status s = KT_EINTERNAL;
    if (kt_cblas_enter()) {
        s = KF(gemm)((kt_layout)layout, ta, tb, (size_t)M, (size_t)N, (size_t)K, alpha, A,
                     (size_t)lda, B, (size_t)ldb, beta, C, (size_t)ldc);
        kt_cblas_leave(r, s);
    } else {
        void (*next)(CBLAS_LAYOUT, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, int, int, int, CT, const CT *,
                     int, const CT *, int, CT, CT *, int) = kt_cblas_next(r);
        if (next) {
            next(layout, transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
            return;
        }
    }
    if (s == KT_OK) return;
    /* row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T */
    if (layout == CblasRowMajor)
        CR(gemm)(tb == KT_TRANS, ta == KT_TRANS, N, M, K, alpha, B, ldb, A, lda, beta, C, ldc);
    else
        CR(gemm)(ta == KT_TRANS, tb == KT_TRANS, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

#undef CT
#undef CB
#undef KF
#undef CR
#undef CX
