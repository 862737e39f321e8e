/*
 * The descriptor parts of transpose, stencil3x3 and sort (lib/kt_shape.c),
 * for the op table (lib/kt_ops.c), kt_call and the tuner.  Not installed.
 *
 * Problems: dims {m, n} (transpose, stencil3x3) or {n} (sort), row-major,
 * unit leading dimensions; kt_args holds transpose a, lda -> c, ldc;
 * stencil3x3 the weights in b (9), a, lda -> c, ldc; sort y, n, and x: its
 * unsorted input (init), which every tuner run (typed or through the entry
 * point) copies into y first, so each timed call does the same work; the
 * copy (n elements) is part of every variant's time alike.  kt_call of sort
 * ignores x.
 */
#ifndef KT_SHAPE_OPS_H
#define KT_SHAPE_OPS_H

#include "kt_internal.h"

kt_status kt_shape_problem_new(kt_op_id op, const size_t dims[3], uint64_t seed, int with_ref,
                               kt_problem **out);
/* The typed call on kt_args (sort: y restored from x first when x is set). */
kt_status kt_shape_call(const kt_variant *v, void *args); /* args: a kt_args */
/* Validation in steps (kt_op_validate): poison (reset), one run, compare (check; sort
 * runs five more inputs itself). */
void kt_shape_reset(void *problem); /* a kt_problem */
kt_status kt_shape_check(const kt_variant *v, void *problem, char *msg, size_t len);
/* kt_call's core for these ops: checks, normalises, runs v. */
kt_status kt_shape_invoke(const kt_variant *v, kt_args *args);
/* The public entry point on the problem's arguments. */
kt_status kt_shape_dispatched(kt_problem *p);

/*
 * Cost models: transpose moves 2 m n elements; the stencil reads m n and
 * writes (m - 2)(n - 2), 17 flops each; sort reads and writes n once at the
 * least, and its "flops" are its elements, so the rate reads as elements
 * per second (unit Gelem/s).
 */
double kt_transpose_flops(const size_t d[3]);
double kt_transpose_f32_bytes(const size_t d[3]);
double kt_transpose_f64_bytes(const size_t d[3]);
double kt_stencil_flops(const size_t d[3]);
double kt_stencil_f32_bytes(const size_t d[3]);
double kt_stencil_f64_bytes(const size_t d[3]);
double kt_sort_elems(const size_t d[3]);
double kt_sort_f32_bytes(const size_t d[3]);
double kt_sort_f64_bytes(const size_t d[3]);

#endif /* KT_SHAPE_OPS_H */
