/* The BLAS-like operations (dot, gemv, gemm): op descriptor functions and invocation. */
#ifndef KT_BLAS_H
#define KT_BLAS_H

#include "kt_internal.h"

double kt_dot_flops(const size_t d[3]);
double kt_dot_f32_bytes(const size_t d[3]);
double kt_dot_f64_bytes(const size_t d[3]);
double kt_gemv_flops(const size_t d[3]);
double kt_gemv_f32_bytes(const size_t d[3]);
double kt_gemv_f64_bytes(const size_t d[3]);
double kt_gemm_flops(const size_t d[3]);
double kt_gemm_f32_bytes(const size_t d[3]);
double kt_gemm_f64_bytes(const size_t d[3]);

kt_status kt_blas_problem_new(kt_op_id op, const size_t dims[3], uint64_t seed, int with_ref,
                              kt_problem **out);
/* The trampoline of the built-in BLAS ops (args: a kt_args, column-major, unit increments). */
kt_status kt_blas_run(const kt_variant *v, void *args);
/* Validation: poison the output before the run, compare with the reference after. */
void kt_blas_reset(void *problem);
kt_status kt_blas_check(const kt_variant *v, void *problem, char *msg, size_t len);

/* kt_invoke for the BLAS ops: validates, normalises and calls v. */
kt_status kt_blas_invoke(const kt_variant *v, kt_args *a);

#endif
