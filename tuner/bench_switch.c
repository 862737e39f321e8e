/*
 * `ktune bench --switch`: what a call pays when the previous call ran on
 * another thread runtime.  For ops and sizes where ktune's OpenMP threads
 * and OpenBLAS's threads both run, each threaded variant is timed right
 * after the other one (the switch) and right after itself (repeated),
 * each pair in a process of its own; the ratio is the switch's cost.  With an OpenBLAS built on
 * pthreads, its workers spin after a call and the next OpenMP region waits
 * for them (and the reverse); with OpenBLAS on OpenMP both share one pool.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_cli.h"
#include "kt_measure.h"

static const struct {
    kt_op_id op;
    size_t d[3];
} kt_switch_cases[] = {
    {KT_OP_AXPY_F32, {100000, 0, 0}},  {KT_OP_AXPY_F32, {2000000, 0, 0}},
    {KT_OP_DOT_F64, {100000, 0, 0}},   {KT_OP_DOT_F64, {1000000, 0, 0}},
    {KT_OP_GEMV_F32, {512, 512, 0}},   {KT_OP_GEMV_F32, {2048, 2048, 0}},
    {KT_OP_GEMM_F32, {64, 64, 64}},    {KT_OP_GEMM_F32, {256, 256, 256}},
    {KT_OP_GEMM_F32, {4096, 32, 256}},
};

/*
 * kt_measure_switch in a child process of its own (forked from this one, which runs
 * no thread pool itself), so the repeated calls of a see no pool b started earlier.
 */
static kt_status measure_apart(kt_op_id op, const size_t d[3], const kt_variant *a,
                               const kt_variant *b, int rounds, double *sw, double *q1,
                               double *rep, char *err, size_t len) {
    int fd[2];
    struct {
        kt_status s;
        double sw, q1, rep;
        char err[200];
    } r = {KT_EINTERNAL, NAN, NAN, NAN, "the measuring process died"};
    if (pipe(fd) != 0) {
        snprintf(err, len, "pipe: %s", strerror(errno));
        return KT_EINTERNAL;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        r.s = kt_measure_switch(op, d, a, b, rounds, &r.sw, &r.q1, &r.rep);
        snprintf(r.err, sizeof r.err, "%s", r.s == KT_OK ? "" : kt_last_error());
        ssize_t w = write(fd[1], &r, sizeof r);
        _exit(w == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fd[1]);
    if (pid < 0 || read(fd[0], &r, sizeof r) != (ssize_t)sizeof r) r.s = KT_EINTERNAL;
    close(fd[0]);
    if (pid > 0) waitpid(pid, NULL, 0);
    *sw = r.sw, *q1 = r.q1, *rep = r.rep;
    snprintf(err, len, "%s", r.err);
    return r.s;
}

/* Prints the switch costs; returns the worst switch/repeated ratio seen (0: none ran). */
double kt_bench_switch(int rounds);
double kt_bench_switch(int rounds) {
    double worst = 0;
    printf("thread-runtime switch: a call right after the other runtime's call, against the\n"
           "same call repeated (medians of %d calls each); OpenBLAS threads: %s (built for %s)\n",
           rounds, kt_blas_threading() == 2 ? "OpenMP" : kt_blas_threading() == 1 ? "pthreads"
                   : kt_blas_threading() == 0 ? "none (serial build)" : "no OpenBLAS",
           KT_OPENBLAS_THREADS);
    printf("  %-10s %-14s %-13s %-13s %10s %10s %7s\n", "op", "shape", "call", "after",
           "switched", "repeated", "ratio");
    for (size_t i = 0; i < sizeof kt_switch_cases / sizeof kt_switch_cases[0]; i++) {
        kt_op_id op = kt_switch_cases[i].op;
        const size_t *d = kt_switch_cases[i].d;
        const kt_variant *thr = kt_variant_lookup(op, "threads:t=2");
        const kt_variant *ob = kt_variant_lookup(op, "openblas:t=2");
        if (!thr || !ob) continue;
        char shape[48];
        if (kt_ops[op].ndims == 1) snprintf(shape, sizeof shape, "%zu", d[0]);
        else if (kt_ops[op].ndims == 2) snprintf(shape, sizeof shape, "%zux%zu", d[0], d[1]);
        else snprintf(shape, sizeof shape, "%zux%zux%zu", d[0], d[1], d[2]);
        for (int dir = 0; dir < 2; dir++) {
            const kt_variant *a = dir ? ob : thr, *b = dir ? thr : ob;
            double sw, q1, rep;
            char err[256];
            kt_status s = measure_apart(op, d, a, b, rounds, &sw, &q1, &rep, err, sizeof err);
            if (s != KT_OK) {
                printf("  %-10s %-14s %-13s skipped: %s\n", kt_ops[op].name, shape, a->name,
                       err);
                break;
            }
            char t1[24], t2[24];
            printf("  %-10s %-14s %-13s %-13s %10s %10s %6.2fx\n", kt_ops[op].name, shape,
                   a->name, b->name, kt_cli_time(sw, t1, sizeof t1),
                   kt_cli_time(rep, t2, sizeof t2), sw / rep);
            if (sw / rep > worst) worst = sw / rep;
        }
    }
    return worst;
}
