/*
 * `ktune bench --switch`: what a call pays when the previous call ran on
 * another thread runtime.  For ops and sizes where ktune's OpenMP threads
 * and OpenBLAS's threads both run, each threaded variant is timed right
 * after the other one (the switch) and right after itself (repeated),
 * interleaved; the ratio is the switch's cost.  With an OpenBLAS built on
 * pthreads, its workers spin after a call and the next OpenMP region waits
 * for them (and the reverse); with OpenBLAS on OpenMP both share one pool.
 */
#include "config.h"

#include <stdio.h>

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
            kt_status s = kt_measure_switch(op, d, a, b, rounds, &sw, &q1, &rep);
            if (s != KT_OK) {
                printf("  %-10s %-14s %-13s skipped: %s\n", kt_ops[op].name, shape, a->name,
                       kt_last_error());
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
