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
kt_status kt_blas_run(const kt_variant *v, kt_problem *p);
kt_status kt_blas_validate(const kt_variant *v, kt_problem *p, char *msg, size_t len);

/* kt_invoke for the BLAS ops: validates, normalises and calls v. */
kt_status kt_blas_invoke(const kt_variant *v, kt_args *a);

#endif
