/*
 * examples/cg: a small program with a realistic mix of ktune calls, for `ktune profile`
 * and `ktune tune --from-profile` (tests/profile.sh, scripts/bench-profile).
 *
 *   cg [REPS] [--flush-every K] [--abort-after K]     (REPS default 400)
 *
 * --flush-every K writes the profile recorded so far every K repetitions (what a
 * long-running program would do: kt_profile_flush); --abort-after K ends the program by
 * abort() after K repetitions (a crash mid-run, for tests/profile.sh).
 *
 * Each repetition solves A x = b by conjugate gradients (f64: one gemv, two dots and
 * three axpys per iteration) for a dense symmetric positive definite A of order 317,
 * made once as G G^T / n + I by one gemm, and runs a small dense layer (f32: a gemm of
 * 61 x 96 x 45, a dot over its output) ten times.  All shapes are off the default
 * tuning grid.  Prints the residual, a checksum and the time spent; exits 1 when a
 * solve did not converge or a call failed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ktune.h>

#define N 317
#define LM 61
#define LN 96
#define LK 45

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Uniform in [-1, 1), never zero (xorshift64*). */
static double rnd(unsigned long long *s) {
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    double u = (double)((*s * 2685821657736338717ull) >> 11) * 0x1.0p-53;
    return u == 0.5 ? 0.25 : 2 * u - 1;
}

static int failed(kt_status s, const char *what) {
    if (s == KT_OK) return 0;
    fprintf(stderr, "cg: %s failed: %s\n", what, kt_last_error());
    return 1;
}

/* Solves A x = b by CG; returns the iterations (-1 on failure), the residual in *res. */
static int cg(const double *a, const double *b, double *x, double *r, double *p, double *q,
              double *t, double *res) {
    memset(x, 0, N * sizeof *x);
    memcpy(r, b, N * sizeof *r);
    memcpy(p, b, N * sizeof *p);
    double rr, bb;
    if (failed(kt_dot_f64(N, r, 1, r, 1, &rr), "dot")) return -1;
    bb = rr;
    int it = 0;
    while (it < 4 * N && rr > 1e-24 * bb) {
        double pq;
        if (failed(kt_gemv_f64(KT_ROW_MAJOR, KT_NOTRANS, N, N, 1.0, a, N, p, 1, 0.0, q, 1),
                   "gemv") ||
            failed(kt_dot_f64(N, p, 1, q, 1, &pq), "dot"))
            return -1;
        double alpha = rr / pq, rr2;
        if (failed(kt_axpy_f64(N, alpha, p, 1, x, 1), "axpy") ||
            failed(kt_axpy_f64(N, -alpha, q, 1, r, 1), "axpy") ||
            failed(kt_dot_f64(N, r, 1, r, 1, &rr2), "dot"))
            return -1;
        /* p = r + (rr2 / rr) p */
        memcpy(t, r, N * sizeof *t);
        if (failed(kt_axpy_f64(N, rr2 / rr, p, 1, t, 1), "axpy")) return -1;
        memcpy(p, t, N * sizeof *p);
        rr = rr2;
        it++;
    }
    *res = sqrt(rr / bb);
    return it;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 400, flush_every = 0, abort_after = 0;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--flush-every")) flush_every = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--abort-after")) abort_after = atoi(argv[i + 1]);
        else reps = 0;
    }
    if (reps < 1 || reps > 1000000 || argc % 2 || flush_every < 0 || abort_after < 0) {
        fprintf(stderr, "usage: cg [REPS] [--flush-every K] [--abort-after K]   (REPS 1 to "
                        "1000000; default 400)\n");
        return 2;
    }
    unsigned long long seed = 0x9e3779b97f4a7c15ull;
    double *g = malloc(N * N * sizeof *g), *a = malloc(N * N * sizeof *a);
    double *v = malloc(6 * N * sizeof *v);
    float *w = malloc(LM * LK * sizeof *w), *in = malloc(LK * LN * sizeof *in);
    float *out = malloc(LM * LN * sizeof *out);
    if (!g || !a || !v || !w || !in || !out) {
        fprintf(stderr, "cg: out of memory\n");
        return 1;
    }
    for (int i = 0; i < N * N; i++) g[i] = rnd(&seed);
    for (int i = 0; i < LM * LK; i++) w[i] = (float)rnd(&seed);
    for (int i = 0; i < LK * LN; i++) in[i] = (float)rnd(&seed);
    double t0 = now();
    /* A = G G^T / n + I */
    for (int i = 0; i < N * N; i++) a[i] = i % (N + 1) == 0 ? 1.0 : 0.0;
    if (failed(kt_gemm_f64(KT_ROW_MAJOR, KT_NOTRANS, KT_TRANS, N, N, N, 1.0 / N, g, N, g, N,
                           1.0, a, N),
               "gemm"))
        return 1;
    double *b = v, *x = v + N, *r = v + 2 * N, *p = v + 3 * N, *q = v + 4 * N, *t = v + 5 * N;
    double worst = 0, check = 0;
    long iters = 0;
    for (int rep = 0; rep < reps; rep++) {
        for (int i = 0; i < N; i++) b[i] = rnd(&seed);
        double res;
        int it = cg(a, b, x, r, p, q, t, &res);
        if (it < 0) return 1;
        iters += it;
        if (res > worst) worst = res;
        double xs;
        /* a strided call: every other element (the strided fallback) */
        if (failed(kt_dot_f64(N / 2, x, 2, x, 2, &xs), "dot")) return 1;
        check += xs;
        for (int l = 0; l < 10; l++) {
            float s;
            if (failed(kt_gemm_f32(KT_ROW_MAJOR, KT_NOTRANS, KT_NOTRANS, LM, LN, LK, 1.0f, w, LK,
                                   in, LN, 0.0f, out, LN),
                       "gemm") ||
                failed(kt_dot_f32(LM * LN, out, 1, out, 1, &s), "dot"))
                return 1;
            check += s * 1e-6;
        }
        if (flush_every && (rep + 1) % flush_every == 0 && failed(kt_profile_flush(), "flush"))
            return 1;
        if (abort_after && rep + 1 == abort_after) abort();
    }
    double el = now() - t0;
    printf("cg: reps=%d iterations=%ld worst_residual=%.3g checksum=%.6g time_s=%.6f\n", reps,
           iters, worst, check, el);
    free(g), free(a), free(v), free(w), free(in), free(out);
    if (worst > 1e-10) {
        fprintf(stderr, "cg: a solve did not converge (residual %.3g)\n", worst);
        return 1;
    }
    return 0;
}
