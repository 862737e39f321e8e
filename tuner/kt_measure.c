/* Measurement of candidates; see kt_measure.h for the method. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_measure.h"

kt_mopts kt_mopts_default(int quick) {
    if (quick) return (kt_mopts){2e-4, 3, 7, 0.05, 1.25, 0.25};
    return (kt_mopts){1e-3, 5, 21, 0.02, 1.4, 3.0};
}

kt_status kt_run_dispatched(kt_problem *p) {
    kt_args *a = &p->args;
    switch (p->op) {
    case KT_OP_ADD_SCALAR_I64: return kt_add_scalar_i64(a->n, a->ialpha, a->y);
    case KT_OP_ADD_SCALAR_F32: return kt_add_scalar_f32(a->n, (float)a->alpha, a->y);
    case KT_OP_ADD_SCALAR_F64: return kt_add_scalar_f64(a->n, a->alpha, a->y);
    case KT_OP_AXPY_F32:
        return kt_axpy_f32(a->n, (float)a->alpha, a->x, a->incx, a->y, a->incy);
    case KT_OP_AXPY_F64: return kt_axpy_f64(a->n, a->alpha, a->x, a->incx, a->y, a->incy);
    case KT_OP_DOT_F32: {
        float r;
        kt_status s = kt_dot_f32(a->n, a->x, a->incx, a->y, a->incy, &r);
        a->result = r;
        return s;
    }
    case KT_OP_DOT_F64: return kt_dot_f64(a->n, a->x, a->incx, a->y, a->incy, &a->result);
    case KT_OP_GEMV_F32:
        return kt_gemv_f32(a->layout, a->transa, a->m, a->n, (float)a->alpha, a->a, a->lda, a->x,
                           a->incx, (float)a->beta, a->y, a->incy);
    case KT_OP_GEMV_F64:
        return kt_gemv_f64(a->layout, a->transa, a->m, a->n, a->alpha, a->a, a->lda, a->x,
                           a->incx, a->beta, a->y, a->incy);
    case KT_OP_GEMM_F32:
        return kt_gemm_f32(a->layout, a->transa, a->transb, a->m, a->n, a->k, (float)a->alpha,
                           a->a, a->lda, a->b, a->ldb, (float)a->beta, a->c, a->ldc);
    case KT_OP_GEMM_F64:
        return kt_gemm_f64(a->layout, a->transa, a->transb, a->m, a->n, a->k, a->alpha, a->a,
                           a->lda, a->b, a->ldb, a->beta, a->c, a->ldc);
    default: return kt_fail(KT_EINTERNAL, "no entry point for op %d", (int)p->op);
    }
}

static inline kt_status run_once(const kt_mresult *r, kt_problem *p) {
    return r->v ? kt_ops[p->op].run(r->v, p) : kt_run_dispatched(p);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantile q of sorted values (linear interpolation). */
static double quantile(const double *s, int n, double q) {
    double pos = q * (n - 1);
    int i = (int)pos;
    if (i + 1 >= n) return s[n - 1];
    return s[i] + (pos - i) * (s[i + 1] - s[i]);
}

typedef struct cand {
    long reps;
    double *t;       /* per-call times of each sample */
    double *kern;    /* kernel-only per call (GPU) */
    int active;
} cand;

/* Runs `reps` calls and returns seconds per call (negative on failure). */
static double sample(kt_mresult *r, cand *c, kt_problem *p) {
    int gpu = r->v && (r->v->flags & KT_VF_GPU);
    double kern = 0;
    double t0 = kt_now();
    for (long i = 0; i < c->reps; i++) {
        kt_status s = run_once(r, p);
        if (s != KT_OK) {
            r->status = s;
            snprintf(r->error, sizeof r->error, "%s", kt_last_error());
            return -1;
        }
        if (gpu) kern += kt_gpu_timing_last()->kernel_s;
    }
    double per = (kt_now() - t0) / (double)c->reps;
    if (gpu) c->kern[r->samples] = kern / (double)c->reps;
    return per;
}

static void summarise(kt_mresult *r, cand *c) {
    int n = r->samples;
    if (n == 0) return;
    double *s = malloc((size_t)n * sizeof *s);
    if (!s) return;
    memcpy(s, c->t, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    r->median_s = quantile(s, n, 0.5);
    r->min_s = s[0];
    r->spread = n >= 3 ? (quantile(s, n, 0.75) - quantile(s, n, 0.25)) / r->median_s : 1.0;
    if (r->v && (r->v->flags & KT_VF_GPU)) {
        memcpy(s, c->kern, (size_t)n * sizeof *s);
        qsort(s, (size_t)n, sizeof *s, cmp_double);
        r->kernel_s = quantile(s, n, 0.5);
    }
    free(s);
}

kt_status kt_measure(kt_op_id op, const size_t dims[3], kt_mresult *res, size_t n,
                     const kt_mopts *o, uint64_t seed) {
    kt_problem *p;
    kt_status st = kt_ops[op].problem_new(dims, seed, 0, &p);
    if (st != KT_OK) return st;
    cand *c = calloc(n, sizeof *c);
    if (!c) {
        kt_problem_free(p);
        return kt_fail(KT_ENOMEM, "measure: out of memory");
    }
    kt_gpu_timing_enable(1);
    double start = kt_now();
    for (size_t i = 0; i < n; i++) {
        kt_mresult *r = &res[i];
        r->samples = 0;
        r->kernel_s = NAN;
        r->raced_out = 0;
        r->status = KT_OK;
        r->error[0] = '\0';
        c[i].t = calloc((size_t)o->max_samples, sizeof(double));
        c[i].kern = calloc((size_t)o->max_samples, sizeof(double));
        if (!c[i].t || !c[i].kern) {
            r->status = kt_fail(KT_ENOMEM, "measure: out of memory");
            continue;
        }
        /* warm-up: the first call alone, then calibrate the repetitions */
        double t0 = kt_now();
        kt_status s = run_once(r, p);
        r->warmup_s = kt_now() - t0;
        if (s != KT_OK) {
            r->status = s;
            snprintf(r->error, sizeof r->error, "%s", kt_last_error());
            continue;
        }
        t0 = kt_now();
        s = run_once(r, p);
        double one = kt_now() - t0;
        if (s != KT_OK) {
            r->status = s;
            snprintf(r->error, sizeof r->error, "%s", kt_last_error());
            continue;
        }
        double reps = one > 0 ? o->sample_s / one : 1e6;
        c[i].reps = reps < 1 ? 1 : reps > 1e7 ? 10000000 : (long)reps;
        c[i].active = 1;
    }
    for (int round = 0; round < o->max_samples; round++) {
        int any = 0;
        for (size_t i = 0; i < n; i++) {
            if (!c[i].active) continue;
            double t = sample(&res[i], &c[i], p);
            if (t < 0) {
                c[i].active = 0;
                continue;
            }
            c[i].t[res[i].samples++] = t;
            any = 1;
            /* recalibrate once from a real sample: warm caches change the cost */
            if (round == 0 && t > 0) {
                double reps = o->sample_s / t;
                c[i].reps = reps < 1 ? 1 : reps > 1e7 ? 10000000 : (long)reps;
            }
        }
        if (!any) break;
        if (round + 1 < o->min_samples) continue;
        /* leader, racing and stopping */
        double best = INFINITY;
        for (size_t i = 0; i < n; i++) {
            if (res[i].status != KT_OK || res[i].samples == 0) continue;
            summarise(&res[i], &c[i]);
            if (res[i].median_s < best) best = res[i].median_s;
        }
        int tight = 1;
        for (size_t i = 0; i < n; i++) {
            if (!c[i].active) continue;
            if (res[i].min_s > o->race_factor * best) {
                c[i].active = 0;
                res[i].raced_out = 1;
                continue;
            }
            if (res[i].spread > o->spread_ok) tight = 0;
        }
        if (tight || kt_now() - start > o->max_s) break;
    }
    for (size_t i = 0; i < n; i++) {
        summarise(&res[i], &c[i]);
        free(c[i].t);
        free(c[i].kern);
    }
    kt_gpu_timing_enable(0);
    free(c);
    kt_problem_free(p);
    return KT_OK;
}

kt_status kt_validate(const kt_variant *v, size_t max_dim, uint64_t seed, char *msg, size_t len) {
    static const size_t vec[] = {1, 3, 17, 63, 1001, 4099, 65537, 1000003, 0};
    static const size_t mat[] = {1, 3, 17, 63, 301, 0}, cube[] = {1, 3, 17, 63, 130, 0};
    const kt_op *op = &kt_ops[v->op];
    const size_t *sizes = op->ndims == 1 ? vec : op->ndims == 2 ? mat : cube;
    for (size_t i = 0; sizes[i]; i++) {
        if (sizes[i] > max_dim && i > 0) break;
        /* matrices are rectangular, so a swapped m, n or k shows */
        size_t dims[3] = {sizes[i], sizes[i] + (op->ndims > 1), sizes[i] + 2 * (op->ndims > 2)};
        kt_problem *p;
        kt_status s = op->problem_new(dims, seed + i, 1, &p);
        if (s != KT_OK) {
            snprintf(msg, len, "%s", kt_last_error());
            return s;
        }
        s = op->validate(v, p, msg, len);
        kt_problem_free(p);
        if (s != KT_OK) return s;
    }
    return KT_OK;
}
