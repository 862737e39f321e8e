/*
 * myapp.smooth_f32: the op descriptor (problem generator, reference, check
 * with its error bound, cost model), the scalar variant, the trampoline, and
 * the registration of every variant built in.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "smooth.h"

#define GUARD 16 /* poisoned floats after b, checked after each validation run */

/* The honest baseline: plain C, no vector code. */
kt_status smooth_f32_scalar(size_t n, const float *a, float *b) {
    if (n == 0) return KT_OK;
    b[0] = a[0];
    for (size_t i = 1; i + 1 < n; i++) b[i] = (a[i - 1] + a[i] + a[i + 1]) * (1.0f / 3.0f);
    if (n > 1) b[n - 1] = a[n - 1];
    return KT_OK;
}

/* The trampoline: the tuner calls every variant through it with a problem's args. */
static kt_status smooth_call(const kt_variant *v, void *args) {
    smooth_args *s = args;
    return ((smooth_f32_fn)v->fn)(s->n, s->a, s->b);
}

/* ---- the problem: random inputs, the reference in double, the check ---------- */

typedef struct smooth_problem {
    smooth_args args;
    float *a, *b;
    double *ref, *mag; /* with_ref: reference and |terms| per output */
} smooth_problem;

static uint64_t mix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void smooth_free(void *problem) {
    smooth_problem *p = problem;
    if (!p) return;
    free(p->a), free(p->b), free(p->ref), free(p->mag);
    free(p);
}

static kt_status smooth_new(const size_t dims[3], uint64_t seed, int with_ref, void **out) {
    size_t n = dims[0];
    smooth_problem *p = calloc(1, sizeof *p);
    if (!p) return KT_ENOMEM;
    p->a = malloc((n ? n : 1) * sizeof *p->a);
    p->b = malloc((n + GUARD) * sizeof *p->b);
    if (with_ref) {
        p->ref = malloc((n ? n : 1) * sizeof *p->ref);
        p->mag = malloc((n ? n : 1) * sizeof *p->mag);
    }
    if (!p->a || !p->b || (with_ref && (!p->ref || !p->mag))) {
        smooth_free(p);
        return KT_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) { /* uniform in [-1, 1), never zero */
        float v = (float)((double)(mix(&seed) >> 11) * 0x1.0p-52 - 1.0);
        p->a[i] = v != 0 ? v : 0.5f;
    }
    memset(p->b, 0, (n + GUARD) * sizeof *p->b);
    for (size_t i = 0; with_ref && i < n; i++) {
        if (i == 0 || i + 1 == n) {
            p->ref[i] = p->a[i], p->mag[i] = fabs(p->a[i]);
        } else {
            p->ref[i] = ((double)p->a[i - 1] + p->a[i] + p->a[i + 1]) / 3.0;
            p->mag[i] = (fabs(p->a[i - 1]) + fabs(p->a[i]) + fabs(p->a[i + 1])) / 3.0;
        }
    }
    p->args = (smooth_args){n, p->a, p->b};
    *out = p;
    return KT_OK;
}

static void *smooth_args_of(void *problem) { return &((smooth_problem *)problem)->args; }

/* Before a validation run: the whole output and the guard are NaN. */
static void smooth_reset(void *problem) {
    smooth_problem *p = problem;
    for (size_t i = 0; i < p->args.n + GUARD; i++) p->b[i] = NAN;
}

/*
 * Every output within 4 float epsilons of its terms' magnitude of the
 * double reference (covers (x+y+z)/3 and (x+y+z)*(1/3) alike); the guard
 * untouched.
 */
static kt_status smooth_check(const kt_variant *v, void *problem, char *msg, size_t len) {
    smooth_problem *p = problem;
    size_t n = p->args.n;
    for (size_t i = 0; i < n; i++) {
        double bound = 4.0 * FLT_EPSILON * p->mag[i];
        if (!(fabs((double)p->b[i] - p->ref[i]) <= bound)) {
            snprintf(msg, len, "myapp.smooth_f32/%s n=%zu: b[%zu] = %.9g, expected %.9g", v->name,
                     n, i, (double)p->b[i], p->ref[i]);
            return KT_EINVAL;
        }
    }
    for (size_t g = 0; g < GUARD; g++)
        if (!isnan(p->b[n + g])) {
            snprintf(msg, len, "myapp.smooth_f32/%s n=%zu: wrote past the end", v->name, n);
            return KT_EINVAL;
        }
    return KT_OK;
}

/* Cost model: two adds and a multiply per output; a read and b written. */
static double smooth_flops(const size_t d[3]) { return 3.0 * (double)d[0]; }
static double smooth_bytes(const size_t d[3]) { return 8.0 * (double)d[0]; }

static const kt_op smooth_op = {
    .name = "myapp.smooth_f32",
    .family = "smooth",
    .dtype = KT_F32,
    .ndims = 1,
    .dim_names = "n",
    .unit = "GB/s",
    .flops = smooth_flops,
    .bytes = smooth_bytes,
    .problem_new = smooth_new,
    .problem_args = smooth_args_of,
    .problem_reset = smooth_reset,
    .check = smooth_check,
    .problem_free = smooth_free,
    .call = smooth_call,
};

#define FN(f) ((kt_fnptr)(f))
/* name, backend, version, CPU features, flags, threads, cost rank, function */
#define ROW(nm, be, ver, rq, fl, t, rank, f) \
    {.name = nm, .backend = be, .version = ver, .req = rq, .flags = fl, .threads = t, \
     .cost = rank, .fn = FN(f)}

static const kt_variant smooth_variants[] = {
    ROW("scalar", "scalar", 1, 0, 0, 1, 0, smooth_f32_scalar),
#ifdef SMOOTH_AVX2
    ROW("avx2", "avx2", 1, KT_REQ_AVX2, 0, 1, 1, smooth_f32_avx2),
#endif
#ifdef SMOOTH_AVX512
    ROW("avx512", "avx512", 1, KT_REQ_AVX512, 0, 1, 2, smooth_f32_avx512),
#endif
#ifdef SMOOTH_OPENMP
    ROW("threads:t=2", "threads", 1, 0, KT_VF_OPENMP, 2, 12, smooth_f32_omp2),
    ROW("threads:t=4", "threads", 1, 0, KT_VF_OPENMP, 4, 14, smooth_f32_omp4),
#endif
#ifdef SMOOTH_CUDA
    ROW("cuda:block=128", "cuda", 1, 0, KT_VF_GPU, 1, 100, smooth_f32_cuda128),
    ROW("cuda:block=256", "cuda", 1, 0, KT_VF_GPU, 1, 100, smooth_f32_cuda256),
    ROW("cuda:block=512", "cuda", 1, 0, KT_VF_GPU, 1, 100, smooth_f32_cuda512),
#endif
};

int smooth_register_all(void) {
    kt_status s = kt_op_register(&smooth_op, NULL);
    for (size_t i = 0; s == KT_OK && i < sizeof smooth_variants / sizeof smooth_variants[0]; i++)
        s = kt_variant_register(smooth_op.name, &smooth_variants[i]);
    return (int)s;
}
