/*
 * A program written for CBLAS and nothing else (OpenBLAS's <cblas.h>),
 * linked by tests/cblas-dropin.sh with -lktune_cblas ahead of -lopenblas.
 * Calls the eight routines libktune_cblas serves, on small problems with
 * exact answers, then makes one bad call.  Prints one line per check and
 * exits 1 if any result is wrong.
 *
 * Built with -DKT_OWN_XERBLA it defines cblas_xerbla, which must replace
 * the library's default; without, the default prints the reference message.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures;

static void check(const char *what, double got, double want) {
    int ok = fabs(got - want) <= 1e-5 * (1 + fabs(want));
    printf("%s %s: %g (expected %g)\n", ok ? "ok" : "WRONG", what, got, want);
    if (!ok) failures++;
}

#ifdef KT_OWN_XERBLA
static int xerbla_p;
static char xerbla_rout[32];
/* The program's own handler: records instead of printing. */
void cblas_xerbla(blasint p, char *rout, char *form, ...) {
    (void)form;
    xerbla_p = (int)p;
    snprintf(xerbla_rout, sizeof xerbla_rout, "%s", rout);
}
#endif

int main(void) {
    /* A = [1 2 3; 4 5 6] (2 x 3), row-major; its column-major copy */
    const double ad[6] = {1, 2, 3, 4, 5, 6}, adc[6] = {1, 4, 2, 5, 3, 6};
    const float as[6] = {1, 2, 3, 4, 5, 6};
    const double xd[3] = {1, -1, 2};
    const float xs[3] = {1, -1, 2};

    double yd[3] = {1, 1, 1};
    float ys[3] = {1, 1, 1};
    cblas_daxpy(3, 2.0, xd, 1, yd, 1);
    check("cblas_daxpy", yd[0] + 10 * yd[1] + 100 * yd[2], 3 - 10 + 500);
    cblas_saxpy(3, -1.0f, xs, -1, ys, 1); /* x walked backwards: y -= (2, -1, 1) */
    check("cblas_saxpy", ys[0] + 10 * ys[1] + 100 * ys[2], -1 + 20 + 0);

    check("cblas_ddot", cblas_ddot(3, xd, 1, xd, 1), 6);
    float sd = cblas_sdot(2, xs, 2, xs, 1); /* (1, 2) . (1, -1) */
    check("cblas_sdot", sd, -1);

    /* y = A x = (5, 11); A^T (1, 1) = (5, 7, 9) */
    double gd[2] = {0, 0};
    cblas_dgemv(CblasRowMajor, CblasNoTrans, 2, 3, 1.0, ad, 3, xd, 1, 0.0, gd, 1);
    check("cblas_dgemv row-major", gd[0] + 100 * gd[1], 5 + 1100);
    float gs[3] = {1, 1, 1}, ones[2] = {1, 1};
    cblas_sgemv(CblasColMajor, CblasTrans, 2, 3, 1.0f, (const float[6]){1, 4, 2, 5, 3, 6}, 2, ones,
                1, 1.0f, gs, 1);
    check("cblas_sgemv col-major trans", gs[0] + 100 * gs[1] + 10000 * gs[2], 6 + 800 + 100000);

    /* C = A A^T = [14 32; 32 77] */
    double cd[4] = {0};
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, 2, 2, 3, 1.0, adc, 2, adc, 2, 0.0, cd, 2);
    check("cblas_dgemm", cd[0] + 10 * cd[1] + 100 * cd[2] + 1000 * cd[3], 14 + 320 + 3200 + 77000);
    float cs[4] = {1, 1, 1, 1};
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 2, 2, 3, 1.0f, as, 3, as, 3, -1.0f, cs,
                2);
    check("cblas_sgemm", cs[0] + 10 * cs[1] + 100 * cs[2] + 1000 * cs[3], 13 + 310 + 3100 + 76000);

    /* a bad call: M < 0 is parameter 4; C must stay as it is */
    double before = cd[0];
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, -1, 2, 3, 1.0, adc, 2, adc, 3, 0.0, cd,
                2);
    check("bad cblas_dgemm leaves C", cd[0], before);
#ifdef KT_OWN_XERBLA
    printf("own cblas_xerbla: %d %s\n", xerbla_p, xerbla_rout);
    if (xerbla_p != 4 || strcmp(xerbla_rout, "cblas_dgemm") != 0) failures++;
#endif
    printf("done\n");
    return failures ? 1 : 0;
}
