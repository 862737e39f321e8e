/*
 * Operation descriptors: for each op its dimensions, cost model, input
 * generator, reference result and error bound (used by the tuner to
 * validate variants), plus the argument checks shared by the entry points
 * and kt_call.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_blas.h"
#include "kt_internal.h"
#include "kt_shape_ops.h"

/* ---- random numbers ------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void kt_rng_seed(kt_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t kt_rng_next(kt_rng *r) {
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double kt_rng_nonzero(kt_rng *r) {
    double u = (double)(kt_rng_next(r) >> 11) * 0x1.0p-53; /* [0, 1) */
    double v = 2.0 * u - 1.0;
    return v == 0.0 ? 0.5 : v;
}

/* ---- argument checks ----------------------------------------------------- */

kt_status kt_check_vector(const char *fn, size_t n, const void *a) {
    if (n > 0 && !a) return kt_fail(KT_EINVAL, "%s: a is NULL with n = %zu", fn, n);
    return KT_OK;
}

kt_status kt_check_vec(const char *fn, size_t n, size_t elem, const void *a) {
    if (n == 0) return KT_OK;
    if (!a) return kt_fail(KT_EINVAL, "%s: a is NULL with n = %zu", fn, n);
    if (n > KT_VEC_MAX(elem))
        return kt_fail(KT_EINVAL, "%s: n = %zu elements of %zu bytes overflow the address space",
                       fn, n, elem);
    return KT_OK;
}

size_t kt_span_bytes(size_t n, size_t elem, ptrdiff_t inc) {
    /* |inc| in unsigned arithmetic: -PTRDIFF_MIN does not exist */
    size_t step = inc < 0 ? (size_t)0 - (size_t)inc : (size_t)inc;
    if (n == 0) return 0;
    if (n - 1 > (PTRDIFF_MAX / elem - 1) / (step ? step : 1)) return 0;
    return ((n - 1) * step + 1) * elem;
}

int kt_mat_span(size_t rows, size_t cols, size_t ld, size_t elem, size_t *out) {
    size_t e;
    *out = 0;
    if (!rows || !cols) return 1;
    if (__builtin_mul_overflow(cols - 1, ld, &e) || __builtin_add_overflow(e, rows, &e) ||
        __builtin_mul_overflow(e, elem, &e) || e > PTRDIFF_MAX)
        return 0;
    *out = e;
    return 1;
}

int kt_dims_fit(kt_op_id op, const size_t dims[3]) {
    size_t es = kt_ops[op].dtype == KT_F32 ? 4 : 8, s;
    if (op >= KT_OP_COUNT) { /* registered ops: the elements of the product must fit */
        s = es;
        for (int d = 0; d < kt_ops[op].ndims; d++)
            if (__builtin_mul_overflow(s, dims[d], &s)) return 0;
        return s <= PTRDIFF_MAX;
    }
    switch (kt_ops[op].ndims) {
    case 1: return dims[0] <= KT_VEC_MAX(es);
    case 2: return kt_mat_span(dims[0], dims[1], dims[0], es, &s); /* A, m x n */
    default:
        return kt_mat_span(dims[0], dims[2], dims[0], es, &s) &&  /* A, m x k */
               kt_mat_span(dims[2], dims[1], dims[2], es, &s) &&  /* B, k x n */
               kt_mat_span(dims[0], dims[1], dims[0], es, &s);    /* C, m x n */
    }
}

int kt_overlap(const void *a, size_t sa, const void *b, size_t sb) {
    const char *x = a, *y = b;
    return sa && sb && x < y + sb && y < x + sa;
}

kt_status kt_check_axpy(const char *fn, size_t n, size_t elem, const void *x, ptrdiff_t incx,
                        const void *y, ptrdiff_t incy) {
    if (n == 0) return KT_OK;
    if (!x) return kt_fail(KT_EINVAL, "%s: x is NULL with n = %zu", fn, n);
    if (!y) return kt_fail(KT_EINVAL, "%s: y is NULL with n = %zu", fn, n);
    size_t sx = kt_span_bytes(n, elem, incx), sy = kt_span_bytes(n, elem, incy);
    if (!sx || !sy)
        return kt_fail(KT_EINVAL, "%s: n = %zu with increments %td, %td overflows the address "
                                  "space", fn, n, incx, incy);
    const char *px = x, *py = y;
    int same = px == py && incx == incy;
    if (!same && kt_overlap(px, sx, py, sy))
        return kt_fail(KT_EINVAL, "%s: x and y overlap (the result would depend on the order "
                                  "of evaluation)", fn);
    return KT_OK;
}

/* ---- cost models --------------------------------------------------------- */

static size_t elem_size(kt_dtype t) { return t == KT_F32 ? 4 : 8; }

static double add_scalar_flops(const size_t d[3]) { return (double)d[0]; }
static double add_scalar_i64_bytes(const size_t d[3]) { return 16.0 * (double)d[0]; }
static double add_scalar_f32_bytes(const size_t d[3]) { return 8.0 * (double)d[0]; }
static double add_scalar_f64_bytes(const size_t d[3]) { return 16.0 * (double)d[0]; }
static double axpy_flops(const size_t d[3]) { return 2.0 * (double)d[0]; }
static double axpy_f32_bytes(const size_t d[3]) { return 12.0 * (double)d[0]; }
static double axpy_f64_bytes(const size_t d[3]) { return 24.0 * (double)d[0]; }

/* ---- vector problems ----------------------------------------------------- */

#define KT_GUARD 16 /* poisoned elements after each output, checked after a run */
static const uint64_t kt_poison = 0x7ff4dead7ff4deadull; /* a signalling-NaN pattern */

void *kt_problem_alloc(size_t bytes) {
    void *p = NULL;
    return posix_memalign(&p, KT_PROBLEM_ALIGN, bytes ? bytes : 1) == 0 ? p : NULL;
}

void kt_problem_free(kt_problem *p) {
    if (!p) return;
    for (int i = 0; i < 4; i++) free(p->buf[i]);
    free(p->ref);
    free(p->init);
    free(p);
}

static kt_dtype op_dtype(kt_op_id op) { return kt_ops[op].dtype; }
static int op_is_axpy(kt_op_id op) { return op == KT_OP_AXPY_F32 || op == KT_OP_AXPY_F64; }

/* Fills n elements of type t at p with random non-zero values. */
static void fill_random(kt_dtype t, void *p, size_t n, kt_rng *r) {
    for (size_t i = 0; i < n; i++) {
        double v = kt_rng_nonzero(r);
        switch (t) {
        case KT_I64: {
            int64_t iv = (int64_t)(v * 1099511627776.0); /* within +-2^40 */
            ((int64_t *)p)[i] = iv ? iv : 1;
            break;
        }
        case KT_F32: ((float *)p)[i] = (float)v; break;
        case KT_F64: ((double *)p)[i] = v; break;
        }
    }
}

static double get_f(kt_dtype t, const void *p, size_t i) {
    return t == KT_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

/*
 * The reference result of a vector op at element i, computed in long
 * double from the initial output y0 (and x for axpy).
 */
static long double vec_reference(const kt_problem *p, size_t i) {
    kt_dtype t = op_dtype(p->op);
    long double y0 = get_f(t, p->init, i);
    if (op_is_axpy(p->op)) return y0 + (long double)p->args.alpha * get_f(t, p->args.x, i);
    return y0 + (long double)p->args.alpha;
}

static kt_status vec_problem_new(kt_op_id op, const size_t dims[3], uint64_t seed, int with_ref,
                                 kt_problem **out) {
    kt_dtype t = op_dtype(op);
    size_t n = dims[0], es = elem_size(t);
    kt_problem *p = calloc(1, sizeof *p);
    if (!p) return kt_fail(KT_ENOMEM, "problem of %s n=%zu", kt_ops[op].name, n);
    p->op = op;
    p->dims[0] = n;
    p->out_len = n;
    kt_rng r;
    kt_rng_seed(&r, seed);
    p->buf[1] = kt_problem_alloc((n + KT_GUARD) * es);
    if (op_is_axpy(op)) p->buf[0] = kt_problem_alloc((n ? n : 1) * es);
    if (with_ref) p->init = malloc((n ? n : 1) * es);
    if (!p->buf[1] || (op_is_axpy(op) && !p->buf[0]) || (with_ref && !p->init)) {
        kt_problem_free(p);
        return kt_fail(KT_ENOMEM, "problem of %s n=%zu: out of memory", kt_ops[op].name, n);
    }
    fill_random(t, p->buf[1], n, &r);
    if (p->buf[0]) fill_random(t, p->buf[0], n, &r);
    if (with_ref) memcpy(p->init, p->buf[1], n * es);
    double alpha = 0.5 + 0.5 * fabs(kt_rng_nonzero(&r)); /* in (0.5, 1] */
    p->args.n = n;
    p->args.alpha = t == KT_F32 ? (double)(float)alpha : alpha;
    p->args.ialpha = (int64_t)(kt_rng_next(&r) >> 24) + 1; /* 1 .. 2^40 */
    p->args.x = p->buf[0];
    p->args.incx = 1;
    p->args.y = p->buf[1];
    p->args.incy = 1;
    *out = p;
    return KT_OK;
}

/* The vector ops' trampoline: calls v's typed function with the kt_args at args. */
static kt_status vec_run(const kt_variant *v, void *args) {
    kt_args *a = args;
    switch (v->op) {
    case KT_OP_ADD_SCALAR_I64:
        return ((kt_add_scalar_i64_fn)v->fn)(v, a->n, a->ialpha, a->y);
    case KT_OP_ADD_SCALAR_F32:
        return ((kt_add_scalar_f32_fn)v->fn)(v, a->n, (float)a->alpha, a->y);
    case KT_OP_ADD_SCALAR_F64:
        return ((kt_add_scalar_f64_fn)v->fn)(v, a->n, a->alpha, a->y);
    case KT_OP_AXPY_F32:
        return ((kt_axpy_f32_fn)v->fn)(v, a->n, (float)a->alpha, a->x, a->incx, a->y, a->incy);
    case KT_OP_AXPY_F64:
        return ((kt_axpy_f64_fn)v->fn)(v, a->n, a->alpha, a->x, a->incx, a->y, a->incy);
    default: return kt_fail(KT_EINTERNAL, "vec_run: op %d is not a vector op", (int)v->op);
    }
}

/*
 * Validation: vec_reset restores the initial output and poisons the guard
 * elements; after the run, vec_check compares every element with the reference:
 * integers exactly, floats within 4 ulps of the magnitudes involved
 * (covers fused and unfused multiply-add alike).
 */
static void vec_reset(void *problem) {
    kt_problem *p = problem;
    size_t n = p->dims[0], es = elem_size(op_dtype(p->op));
    if (!p->init) return;
    memcpy(p->buf[1], p->init, n * es);
    for (size_t g = 0; g < KT_GUARD; g++) memcpy((char *)p->buf[1] + (n + g) * es, &kt_poison, es);
}

static kt_status vec_check(const kt_variant *v, void *problem, char *msg, size_t len) {
    kt_problem *p = problem;
    kt_dtype t = op_dtype(p->op);
    size_t n = p->dims[0], es = elem_size(t);
    if (!p->init) return kt_fail(KT_EINTERNAL, "validate: problem made without reference");
    double eps = t == KT_F32 ? FLT_EPSILON : DBL_EPSILON;
    for (size_t i = 0; i < n; i++) {
        if (t == KT_I64) {
            int64_t want = (int64_t)((uint64_t)((int64_t *)p->init)[i] + (uint64_t)p->args.ialpha);
            int64_t got = ((int64_t *)p->buf[1])[i];
            if (got != want) {
                snprintf(msg, len, "%s/%s n=%zu: a[%zu] = %lld, expected %lld",
                         kt_ops[p->op].name, v->name, n, i, (long long)got, (long long)want);
                return KT_EINVAL;
            }
            continue;
        }
        long double want = vec_reference(p, i);
        double got = get_f(t, p->buf[1], i);
        double mag = fabs(get_f(t, p->init, i)) +
                     fabs(p->args.alpha * (op_is_axpy(p->op) ? get_f(t, p->args.x, i) : 1.0));
        double bound = 4.0 * eps * mag;
        if (!(fabsl((long double)got - want) <= bound)) {
            snprintf(msg, len, "%s/%s n=%zu: y[%zu] = %.9g, expected %.9Lg (bound %.3g)",
                     kt_ops[p->op].name, v->name, n, i, got, want, bound);
            return KT_EINVAL;
        }
    }
    for (size_t g = 0; g < KT_GUARD; g++) {
        if (memcmp((char *)p->buf[1] + (n + g) * es, &kt_poison, es) != 0) {
            snprintf(msg, len, "%s/%s n=%zu: wrote past the end (element %zu)",
                     kt_ops[p->op].name, v->name, n, n + g);
            return KT_EINVAL;
        }
    }
    return KT_OK;
}

#define VEC_NEW(op)                                                                        \
    static kt_status op##_new(const size_t d[3], uint64_t seed, int ref, void **o) {       \
        kt_problem *p;                                                                     \
        kt_status s = vec_problem_new(op, d, seed, ref, &p);                               \
        if (s == KT_OK) *o = p;                                                            \
        return s;                                                                          \
    }
VEC_NEW(KT_OP_ADD_SCALAR_I64)
VEC_NEW(KT_OP_ADD_SCALAR_F32)
VEC_NEW(KT_OP_ADD_SCALAR_F64)
VEC_NEW(KT_OP_AXPY_F32)
VEC_NEW(KT_OP_AXPY_F64)

#define BLAS_NEW(op)                                                                       \
    static kt_status op##_new(const size_t d[3], uint64_t seed, int ref, void **o) {       \
        kt_problem *p;                                                                     \
        kt_status s = kt_blas_problem_new(op, d, seed, ref, &p);                           \
        if (s == KT_OK) *o = p;                                                            \
        return s;                                                                          \
    }
BLAS_NEW(KT_OP_DOT_F32)
BLAS_NEW(KT_OP_DOT_F64)
BLAS_NEW(KT_OP_GEMV_F32)
BLAS_NEW(KT_OP_GEMV_F64)
BLAS_NEW(KT_OP_GEMM_F32)
BLAS_NEW(KT_OP_GEMM_F64)

#define SHAPE_NEW(op)                                                                      \
    static kt_status op##_new(const size_t d[3], uint64_t seed, int ref, void **o) {       \
        kt_problem *p;                                                                     \
        kt_status s = kt_shape_problem_new(op, d, seed, ref, &p);                          \
        if (s == KT_OK) *o = p;                                                            \
        return s;                                                                          \
    }
SHAPE_NEW(KT_OP_TRANSPOSE_F32)
SHAPE_NEW(KT_OP_TRANSPOSE_F64)
SHAPE_NEW(KT_OP_STENCIL3X3_F32)
SHAPE_NEW(KT_OP_STENCIL3X3_F64)
SHAPE_NEW(KT_OP_SORT_F32)
SHAPE_NEW(KT_OP_SORT_F64)
SHAPE_NEW(KT_OP_SORT_I64)

/* The built-in problems' argument block and release. */
static void *builtin_args(void *problem) { return &((kt_problem *)problem)->args; }
static void builtin_free(void *problem) { kt_problem_free(problem); }

/*
 * The built-in rows of the op table (kt_op, ktune_op.h): name, family, dtype,
 * ndims, dims, unit, cost model, generator; VEC and BLAS add the rest.
 */
#define VEC(name, fam, dt, fl, by, gen) \
    {name, fam, dt, 1, "n", "GB/s", fl, by, gen, builtin_args, vec_reset, vec_check, builtin_free, \
     vec_run}
#define BLAS(name, fam, dt, nd, dn, unit, fl, by, gen) \
    {name, fam, dt, nd, dn, unit, fl, by, gen, builtin_args, kt_blas_reset, kt_blas_check, \
     builtin_free, kt_blas_run}
/* transpose, stencil3x3, sort (issue 12, lib/kt_shape.c) */
#define SHAPE(name, fam, dt, nd, dn, unit, fl, by, gen) \
    {name, fam, dt, nd, dn, unit, fl, by, gen, builtin_args, kt_shape_reset, kt_shape_check, \
     builtin_free, kt_shape_call}

kt_op kt_ops[KT_OP_MAX] = {
    [KT_OP_ADD_SCALAR_I64] = VEC("add_scalar_i64", "add_scalar", KT_I64, add_scalar_flops,
                                 add_scalar_i64_bytes, KT_OP_ADD_SCALAR_I64_new),
    [KT_OP_ADD_SCALAR_F32] = VEC("add_scalar_f32", "add_scalar", KT_F32, add_scalar_flops,
                                 add_scalar_f32_bytes, KT_OP_ADD_SCALAR_F32_new),
    [KT_OP_ADD_SCALAR_F64] = VEC("add_scalar_f64", "add_scalar", KT_F64, add_scalar_flops,
                                 add_scalar_f64_bytes, KT_OP_ADD_SCALAR_F64_new),
    [KT_OP_AXPY_F32] = VEC("axpy_f32", "axpy", KT_F32, axpy_flops, axpy_f32_bytes,
                           KT_OP_AXPY_F32_new),
    [KT_OP_AXPY_F64] = VEC("axpy_f64", "axpy", KT_F64, axpy_flops, axpy_f64_bytes,
                           KT_OP_AXPY_F64_new),
    [KT_OP_DOT_F32] = BLAS("dot_f32", "dot", KT_F32, 1, "n", "GB/s", kt_dot_flops,
                           kt_dot_f32_bytes, KT_OP_DOT_F32_new),
    [KT_OP_DOT_F64] = BLAS("dot_f64", "dot", KT_F64, 1, "n", "GB/s", kt_dot_flops,
                           kt_dot_f64_bytes, KT_OP_DOT_F64_new),
    [KT_OP_GEMV_F32] = BLAS("gemv_f32", "gemv", KT_F32, 2, "m,n", "GB/s", kt_gemv_flops,
                            kt_gemv_f32_bytes, KT_OP_GEMV_F32_new),
    [KT_OP_GEMV_F64] = BLAS("gemv_f64", "gemv", KT_F64, 2, "m,n", "GB/s", kt_gemv_flops,
                            kt_gemv_f64_bytes, KT_OP_GEMV_F64_new),
    [KT_OP_GEMM_F32] = BLAS("gemm_f32", "gemm", KT_F32, 3, "m,n,k", "GFLOP/s", kt_gemm_flops,
                            kt_gemm_f32_bytes, KT_OP_GEMM_F32_new),
    [KT_OP_GEMM_F64] = BLAS("gemm_f64", "gemm", KT_F64, 3, "m,n,k", "GFLOP/s", kt_gemm_flops,
                            kt_gemm_f64_bytes, KT_OP_GEMM_F64_new),
    [KT_OP_TRANSPOSE_F32] = SHAPE("transpose_f32", "transpose", KT_F32, 2, "m,n", "GB/s",
                                  kt_transpose_flops, kt_transpose_f32_bytes,
                                  KT_OP_TRANSPOSE_F32_new),
    [KT_OP_TRANSPOSE_F64] = SHAPE("transpose_f64", "transpose", KT_F64, 2, "m,n", "GB/s",
                                  kt_transpose_flops, kt_transpose_f64_bytes,
                                  KT_OP_TRANSPOSE_F64_new),
    [KT_OP_STENCIL3X3_F32] = SHAPE("stencil3x3_f32", "stencil3x3", KT_F32, 2, "m,n", "GB/s",
                                   kt_stencil_flops, kt_stencil_f32_bytes,
                                   KT_OP_STENCIL3X3_F32_new),
    [KT_OP_STENCIL3X3_F64] = SHAPE("stencil3x3_f64", "stencil3x3", KT_F64, 2, "m,n", "GB/s",
                                   kt_stencil_flops, kt_stencil_f64_bytes,
                                   KT_OP_STENCIL3X3_F64_new),
    [KT_OP_SORT_F32] = SHAPE("sort_f32", "sort", KT_F32, 1, "n", "Gelem/s", kt_sort_elems,
                             kt_sort_f32_bytes, KT_OP_SORT_F32_new),
    [KT_OP_SORT_F64] = SHAPE("sort_f64", "sort", KT_F64, 1, "n", "Gelem/s", kt_sort_elems,
                             kt_sort_f64_bytes, KT_OP_SORT_F64_new),
    [KT_OP_SORT_I64] = SHAPE("sort_i64", "sort", KT_I64, 1, "n", "Gelem/s", kt_sort_elems,
                             kt_sort_f64_bytes, KT_OP_SORT_I64_new),
};

kt_op_id kt_op_find(const char *name) {
    if (!name) return KT_OP_NONE;
    for (size_t i = 0, n = kt_op_count(); i < n; i++)
        if (strcmp(kt_ops[i].name, name) == 0) return (kt_op_id)i;
    return KT_OP_NONE;
}

kt_status kt_op_run(const kt_variant *v, void *problem) {
    const kt_op *op = &kt_ops[v->op];
    kt_trampoline call = v->call ? v->call : op->call;
    return call(v, op->problem_args(problem));
}

kt_status kt_op_validate(const kt_variant *v, void *problem, char *msg, size_t len) {
    const kt_op *op = &kt_ops[v->op];
    if (op->problem_reset) op->problem_reset(problem);
    kt_status s = kt_op_run(v, problem);
    if (s != KT_OK) {
        const char *e = kt_last_error();
        snprintf(msg, len, "%s/%s failed: %s", op->name, v->name,
                 e[0] ? e : kt_strerror(s));
        return s;
    }
    s = op->check(v, problem, msg, len);
    if (s != KT_OK && !msg[0]) snprintf(msg, len, "%s/%s: wrong result", op->name, v->name);
    return s;
}

void kt_op_problem_free(int op, void *problem) {
    if (problem) kt_ops[op].problem_free(problem);
}

/* ---- generic invocation (kt_call) ----------------------------------------- */

kt_status kt_invoke(const kt_variant *v, kt_args *a) {
    const char *name = kt_ops[v->op].name;
    if (v->op >= KT_OP_COUNT)
        return kt_fail(KT_EINVAL, "kt_call: %s is a registered op: call the function kt_select "
                       "returns", name);
    kt_status s;
    switch (v->op) {
    case KT_OP_ADD_SCALAR_I64:
    case KT_OP_ADD_SCALAR_F32:
    case KT_OP_ADD_SCALAR_F64:
        s = kt_check_vec(name, a->n, elem_size(kt_ops[v->op].dtype), a->y);
        if (s != KT_OK) return s;
        if (a->n == 0) return KT_OK;
        break;
    case KT_OP_AXPY_F32:
    case KT_OP_AXPY_F64:
        s = kt_check_axpy(name, a->n, elem_size(kt_ops[v->op].dtype), a->x, a->incx, a->y,
                          a->incy);
        if (s != KT_OK) return s;
        if (a->n == 0 || a->alpha == 0.0) return KT_OK; /* reference BLAS: y untouched */
        if ((v->flags & KT_VF_UNIT_STRIDE) && (a->incx != 1 || a->incy != 1))
            return kt_fail(KT_EUNAVAIL, "%s/%s takes unit increments only (got %td, %td)", name,
                           v->name, a->incx, a->incy);
        break;
    case KT_OP_TRANSPOSE_F32:
    case KT_OP_TRANSPOSE_F64:
    case KT_OP_STENCIL3X3_F32:
    case KT_OP_STENCIL3X3_F64:
    case KT_OP_SORT_F32:
    case KT_OP_SORT_F64:
    case KT_OP_SORT_I64: return kt_shape_invoke(v, a);
    default: return kt_blas_invoke(v, a);
    }
    kt_args b = *a;
    if (b.n == 1) b.incx = b.incy = 1; /* never applied: no extreme values */
    return vec_run(v, &b);
}
