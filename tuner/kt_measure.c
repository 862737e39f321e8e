/* Measurement of candidates; see kt_measure.h for the method. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "kt_dispatch.h"
#include "kt_measure.h"
#include "kt_shape_ops.h"
#include "kt_stats.h"

kt_mopts kt_mopts_default(int quick) {
    /* sample_s, min, max rounds, race, max_s per size, tie, threads tie, decide, entry */
    /* ..., busy-core guard: uneven, rounds redone */
    if (quick) return (kt_mopts){2e-4, 5, 15, 1.25, 0.4, 0.02, 0.05, 1, 1, 1.4, 4, NULL};
    return (kt_mopts){1e-3, 7, KT_MEASURE_MAX_ROUNDS, 1.25, 3.0, 0.02, 0.05, 1, 1, 1.4, 10, NULL};
}

/*
 * A registered op's "entry point": what a program's call pays, kt_select at
 * the problem's dims, then the chosen variant through its trampoline.
 */
static kt_status run_selected(kt_op_id op, const size_t dims[3], void *problem) {
    const kt_variant *v = kt_select_variant((int)op, dims);
    return v ? kt_op_run(v, problem) : kt_fail(KT_EUNAVAIL, "%s", kt_last_error());
}

kt_status kt_run_dispatched_op(kt_op_id op, const size_t dims[3], void *problem) {
    if (op >= KT_OP_COUNT) return run_selected(op, dims, problem);
    return kt_run_dispatched(problem);
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
    default: return kt_shape_dispatched(p); /* transpose, stencil3x3, sort */
    }
}

/*
 * One call of candidate r.  Through the entry point (r->entry): the public
 * function with dispatch pinned to r's variant (see use_entry), so every
 * candidate pays what a program's call pays; else the variant's function.
 */
static inline kt_status run_once(const kt_mresult *r, kt_op_id op, const size_t *dims, void *p) {
    return r->v && !r->entry ? kt_op_run(r->v, p) : kt_run_dispatched_op(op, dims, p);
}

/* Points dispatch at r's variant (or back at the tuned table for the dispatched call). */
static kt_status use_entry(const kt_mresult *r, kt_op_id op) {
    if (!r->entry && r->v) return KT_OK;
    return kt_dispatch_pin(op, r->v);
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

int kt_rounds_summary(const float *rounds, int n, double *median, double *spread, double *min) {
    double s[KT_MEASURE_MAX_ROUNDS];
    int m = 0;
    for (int i = 0; i < n && i < KT_MEASURE_MAX_ROUNDS; i++)
        if (isfinite(rounds[i])) s[m++] = rounds[i];
    *median = *spread = *min = NAN;
    if (!m) return 0;
    qsort(s, (size_t)m, sizeof *s, cmp_double);
    *median = quantile(s, m, 0.5);
    *min = s[0];
    *spread = m >= 3 ? (quantile(s, m, 0.75) - quantile(s, m, 0.25)) / *median : 1.0;
    return m;
}

double kt_rounds_half_median(const float *rounds, int n, int parity) {
    float h[KT_MEASURE_MAX_ROUNDS];
    int m = 0;
    for (int i = parity; i < n && i < KT_MEASURE_MAX_ROUNDS; i += 2) h[m++] = rounds[i];
    double med, sp, mn;
    kt_rounds_summary(h, m, &med, &sp, &mn);
    return med;
}

/*
 * The thread runtime a candidate runs on: 0 serial, 1 OpenMP (ktune's
 * threads, and OpenBLAS's when it is built on OpenMP: one pool), 2
 * OpenBLAS's own pthreads, 3 a GPU, -1 the dispatched call (any of them).
 */
static int runtime_of(const kt_variant *v) {
    if (!v) return -1;
    if (v->flags & KT_VF_GPU) return 3;
    if (v->flags & KT_VF_OPENMP) return 1;
    if (v->threads > 1 && !strcmp(v->backend, "openblas")) return kt_blas_threading() == 2 ? 1 : 2;
    return 0;
}

typedef struct cand {
    long reps;
    double *kern;    /* kernel-only per call (GPU), per round */
    int active;
    int runtime;
} cand;

/* Runs `reps` calls and returns seconds per call (negative on failure). */
static double sample(kt_mresult *r, cand *c, kt_op_id op, const size_t *dims, void *p,
                     int round) {
    int gpu = r->v && (r->v->flags & KT_VF_GPU);
    double kern = 0;
    double t0 = kt_now();
    for (long i = 0; i < c->reps; i++) {
        kt_status s = run_once(r, op, dims, p);
        if (s != KT_OK) {
            r->status = s;
            snprintf(r->error, sizeof r->error, "%s", kt_last_error());
            return -1;
        }
        if (gpu) kern += kt_gpu_timing_last()->kernel_s;
    }
    double per = (kt_now() - t0) / (double)c->reps;
    if (gpu) c->kern[round] = kern / (double)c->reps;
    return per;
}

/* Untimed calls of r for at least settle_s (at least one): its own runtime awake. */
static void settle(kt_mresult *r, kt_op_id op, const size_t *dims, void *p, double settle_s) {
    double end = kt_now() + settle_s;
    do {
        if (run_once(r, op, dims, p) != KT_OK) return;
    } while (kt_now() < end);
}

static void summarise(kt_mresult *r, cand *c) {
    r->samples = kt_rounds_summary(r->rounds, r->nrounds, &r->median_s, &r->spread, &r->min_s);
    if (r->samples && r->v && (r->v->flags & KT_VF_GPU)) {
        float k[KT_MEASURE_MAX_ROUNDS];
        for (int i = 0; i < r->nrounds; i++) k[i] = isfinite(r->rounds[i]) ? c->kern[i] : NAN;
        double sp, mn;
        kt_rounds_summary(k, r->nrounds, &r->kernel_s, &sp, &mn);
    }
}

void kt_mresult_dcands(const kt_mresult *res, size_t n, kt_dcand *out) {
    for (size_t i = 0; i < n; i++) {
        const kt_mresult *r = &res[i];
        int ok = r->status == KT_OK && r->samples > 0;
        out[i] = (kt_dcand){ok ? r->median_s : INFINITY, r->spread, r->v ? r->v->cost : 0,
                            r->v ? r->v->threads : 1, 1, r->rounds, r->nrounds,
                            r->v ? kt_variant_order(r->v) : -1};
    }
}

/*
 * The thread count the busy-core guard probes with for this round: the most
 * threads an active threaded candidate uses (the dispatched call: every
 * core), at most the cores; 0 (no guard) when that is below two.
 */
static int guard_threads(const kt_mresult *res, const cand *c, size_t n, int cores) {
    int t = 0;
    for (size_t i = 0; i < n; i++) {
        if (!c[i].active) continue;
        int ti = c[i].runtime == -1 ? cores
                 : c[i].runtime == 1 || c[i].runtime == 2 ? res[i].v->threads
                                                           : 0;
        if (ti > t) t = ti;
    }
    if (t > cores) t = cores;
    return t >= 2 ? t : 0;
}

/* Calibrates the repetitions of one sample from the time of one call. */
static long reps_for(double one, double sample_s) {
    double reps = one > 0 ? sample_s / one : 1e6;
    return reps < 1 ? 1 : reps > 1e7 ? 10000000 : (long)reps;
}

kt_status kt_measure(kt_op_id op, const size_t dims[3], kt_mresult *res, size_t n,
                     const kt_mopts *o, uint64_t seed) {
    void *p;
    kt_status st = kt_ops[op].problem_new(dims, seed, 0, &p);
    if (st != KT_OK) return st;
    int max_rounds = o->max_samples < KT_MEASURE_MAX_ROUNDS ? o->max_samples
                                                            : KT_MEASURE_MAX_ROUNDS;
    cand *c = calloc(n, sizeof *c);
    size_t *order = calloc(n, sizeof *order);
    kt_dcand *dc = calloc(n, sizeof *dc);
    if (!c || !order || !dc) {
        free(c), free(order), free(dc);
        kt_op_problem_free(op, p);
        return kt_fail(KT_ENOMEM, "measure: out of memory");
    }
    kt_gpu_timing_enable(1);
    double start = kt_now();
    for (size_t i = 0; i < n; i++) {
        kt_mresult *r = &res[i];
        r->samples = 0;
        r->nrounds = 0;
        r->median_s = r->spread = r->min_s = NAN;
        r->kernel_s = NAN;
        r->raced_out = 0;
        r->status = KT_OK;
        r->error[0] = '\0';
        c[i].runtime = runtime_of(r->v);
        c[i].kern = calloc(KT_MEASURE_MAX_ROUNDS, sizeof(double));
        if (!c[i].kern) {
            r->status = kt_fail(KT_ENOMEM, "measure: out of memory");
            continue;
        }
        /*
         * Through the entry point unless a GPU variant: its failure would fall back
         * to a CPU variant there, and be timed as if it were the GPU's.
         */
        r->entry = o->entry && r->v && !(r->v->flags & KT_VF_GPU);
        if (r->v && !kt_variant_size_ok(r->v, dims)) {
            r->status = kt_fail(KT_EUNAVAIL, "%s/%s: below its minimum size %zu",
                                kt_ops[op].name, r->v->name, r->v->min_size);
            snprintf(r->error, sizeof r->error, "%s", kt_last_error());
            free(c[i].kern);
            c[i].kern = NULL;
            continue;
        }
        /* warm-up: the first call alone, then calibrate the repetitions */
        kt_status s = use_entry(r, op);
        double t0 = kt_now();
        if (s == KT_OK) s = run_once(r, op, dims, p);
        r->warmup_s = kt_now() - t0;
        if (s == KT_OK) {
            t0 = kt_now();
            s = run_once(r, op, dims, p);
            c[i].reps = reps_for(kt_now() - t0, o->sample_s);
        }
        if (s != KT_OK) {
            r->status = s;
            snprintf(r->error, sizeof r->error, "%s", kt_last_error());
            continue;
        }
        c[i].active = 1;
    }
    kt_rng rng;
    kt_rng_seed(&rng, seed ^ 0x5a3c96e1u);
    int last_runtime = -2, redone = 0, cores = kt_cpu_get()->cores;
    for (int round = 0; round < max_rounds; round++) {
        int probe = o->uneven > 0 ? guard_threads(res, c, n, cores) : 0;
        double uneven = probe ? kt_omp_uneven(probe) : NAN;
        if (probe) last_runtime = 1; /* the probe ran on the OpenMP pool */
        /* this round's order: the active candidates, shuffled (Fisher-Yates) */
        size_t na = 0;
        for (size_t i = 0; i < n; i++) {
            res[i].rounds[round] = NAN;
            if (c[i].active) order[na++] = i;
        }
        if (!na) break;
        for (size_t j = na; j > 1; j--) {
            size_t k = (size_t)(kt_rng_next(&rng) % j), tmp = order[j - 1];
            order[j - 1] = order[k];
            order[k] = tmp;
        }
        for (size_t j = 0; j < na; j++) {
            size_t i = order[j];
            if (use_entry(&res[i], op) != KT_OK) {
                res[i].status = KT_EUNAVAIL;
                snprintf(res[i].error, sizeof res[i].error, "%s", kt_last_error());
                c[i].active = 0;
                continue;
            }
            if (c[i].runtime != last_runtime && (c[i].runtime != 0 || last_runtime > 0))
                settle(&res[i], op, dims, p, 0.5 * o->sample_s);
            last_runtime = c[i].runtime;
            double t = sample(&res[i], &c[i], op, dims, p, round);
            if (t < 0) {
                c[i].active = 0;
                continue;
            }
            res[i].rounds[round] = (float)t;
            /* recalibrate once from a real sample: warm caches change the cost */
            if (round == 0 && t > 0) c[i].reps = reps_for(t, o->sample_s);
        }
        if (probe) {
            double after = kt_omp_uneven(probe);
            last_runtime = 1;
            if (uneven > o->uneven || after > o->uneven) { /* NAN: no reading, no verdict */
                if (redone < o->max_redo && kt_now() - start < o->max_s) {
                    /* a core was busy: this round again, after a pause */
                    redone++;
                    if (o->stats) o->stats->rounds_redone++;
                    struct timespec nap = {0, 20000000};
                    nanosleep(&nap, NULL);
                    round--;
                    continue;
                }
                if (o->stats) o->stats->rounds_uneven++;
            }
        }
        for (size_t i = 0; i < n; i++) res[i].nrounds = round + 1;
        if (round + 1 < KT_MEASURE_FAR_ROUNDS && round + 1 < o->min_samples) continue;
        /* leader, racing and stopping */
        for (size_t i = 0; i < n; i++) summarise(&res[i], &c[i]);
        kt_mresult_dcands(res, n, dc);
        kt_decision d = kt_decide(dc, (int)n, o->tie, o->threads_tie);
        if (d.leader < 0) break;
        /*
         * Before min_samples, only the clearly behind stop (a best sample over
         * KT_MEASURE_FAR x the leader's median: qsort beside radix at 2^24), and a
         * size whose budget is spent stops after KT_MEASURE_SPENT_ROUNDS (twice
         * that for a timing without decisions: its halves need samples).
         */
        if (round + 1 < o->min_samples) {
            for (size_t i = 0; i < n; i++)
                if (c[i].active && (int)i != d.leader && res[i].v &&
                    res[i].min_s > KT_MEASURE_FAR * res[d.leader].median_s) {
                    c[i].active = 0;
                    res[i].raced_out = 1;
                }
            int enough = round + 1 >= KT_MEASURE_SPENT_ROUNDS * (o->decide ? 1 : 2);
            if (!(enough && kt_now() - start > o->max_s)) continue;
        }
        for (size_t i = 0; i < n; i++) {
            /* never the dispatched call */
            if (!c[i].active || (int)i == d.leader || !res[i].v) continue;
            double med, lo, hi;
            kt_dcand_ratio(&dc[i], &dc[d.leader], &med, &lo, &hi);
            double w = kt_tie_window(&dc[d.leader], &dc[i], o->tie, o->threads_tie);
            if (lo > o->race_factor || res[i].min_s > o->race_factor * res[d.leader].median_s ||
                (o->decide && dc[i].cost >= dc[d.leader].cost && lo > 1 + w)) {
                c[i].active = 0;
                res[i].raced_out = 1;
            }
        }
        if (o->decide && d.undecided == 0) break;
        if (kt_now() - start > o->max_s) break;
    }
    for (size_t i = 0; i < n; i++) {
        summarise(&res[i], &c[i]);
        free(c[i].kern);
    }
    if (o->entry) kt_dispatch_pin(op, NULL);
    kt_gpu_timing_enable(0);
    free(c), free(order), free(dc);
    kt_op_problem_free(op, p);
    return KT_OK;
}

kt_status kt_validate(const kt_variant *v, size_t max_dim, uint64_t seed, char *msg, size_t len) {
    static const size_t vec[] = {1, 3, 17, 63, 1001, 4099, 65537, 1000003, 0};
    static const size_t mat[] = {1, 3, 17, 63, 301, 0}, cube[] = {1, 3, 17, 63, 130, 0};
    const kt_op *op = &kt_ops[v->op];
    const size_t *sizes = op->ndims == 1 ? vec : op->ndims == 2 ? mat : cube;
    int ran = 0;
    for (size_t i = 0; sizes[i]; i++) {
        if (sizes[i] > max_dim && i > 0) break;
        /* matrices are rectangular, so a swapped m, n or k shows */
        size_t dims[3] = {sizes[i], sizes[i] + (op->ndims > 1), sizes[i] + 2 * (op->ndims > 2)};
        if (!kt_variant_size_ok(v, dims)) continue; /* below its minimum size */
        ran = 1;
        void *p;
        kt_status s = op->problem_new(dims, seed + i, 1, &p);
        if (s != KT_OK) {
            snprintf(msg, len, "%s", kt_last_error());
            return s;
        }
        msg[0] = '\0';
        s = kt_op_validate(v, p, msg, len);
        op->problem_free(p);
        if (s != KT_OK) return s;
    }
    if (!ran) { /* every size was below v's minimum: once at the smallest it takes */
        size_t d = 1;
        while (!kt_variant_size_ok(v, (size_t[3]){d, d, d}) && d < ((size_t)1 << 40)) d *= 2;
        size_t dims[3] = {d, op->ndims > 1 ? d : 0, op->ndims > 2 ? d : 0};
        void *p;
        kt_status s = op->problem_new(dims, seed, 1, &p);
        if (s != KT_OK) {
            snprintf(msg, len, "%s", kt_last_error());
            return s;
        }
        msg[0] = '\0';
        s = kt_op_validate(v, p, msg, len);
        op->problem_free(p);
        if (s != KT_OK) return s;
    }
    return KT_OK;
}

kt_status kt_measure_switch(kt_op_id op, const size_t dims[3], const kt_variant *a,
                            const kt_variant *b, int rounds, double *switch_s, double *switch_q1,
                            double *repeat_s) {
    char why[192];
    *switch_s = *switch_q1 = *repeat_s = NAN;
    if (!kt_variant_usable(a, why, sizeof why) || !kt_variant_usable(b, why, sizeof why))
        return kt_fail(KT_EUNAVAIL, "%s", why);
    if (rounds > KT_MEASURE_MAX_ROUNDS) rounds = KT_MEASURE_MAX_ROUNDS;
    void *p;
    kt_status s = kt_ops[op].problem_new(dims, 0x5717c4ull, 0, &p);
    if (s != KT_OK) return s;
    float sw[KT_MEASURE_MAX_ROUNDS], rep[KT_MEASURE_MAX_ROUNDS];
    /*
     * repeated: a alone, after a quarter second for any other pool to go to
     * sleep (OpenBLAS's pthread workers spin ~0.1 s after a call); in a process
     * that has not run b yet, a alone as a program using only a sees it
     */
    s = kt_op_run(a, p);
    struct timespec nap = {0, 250000000};
    nanosleep(&nap, NULL);
    if (s == KT_OK) s = kt_op_run(a, p);
    for (int r = 0; r < rounds && s == KT_OK; r++) {
        double t0 = kt_now();
        s = kt_op_run(a, p);
        rep[r] = (float)(kt_now() - t0);
    }
    /* switched: b then a, each time */
    if (s == KT_OK) s = kt_op_run(b, p);
    for (int r = 0; r < rounds && s == KT_OK; r++) {
        s = kt_op_run(b, p);
        double t0 = kt_now();
        if (s == KT_OK) s = kt_op_run(a, p);
        sw[r] = (float)(kt_now() - t0);
    }
    kt_op_problem_free(op, p);
    if (s != KT_OK) return s;
    double sp, mn, sorted[KT_MEASURE_MAX_ROUNDS];
    kt_rounds_summary(sw, rounds, switch_s, &sp, &mn);
    kt_rounds_summary(rep, rounds, repeat_s, &sp, &mn);
    for (int r = 0; r < rounds; r++) sorted[r] = sw[r];
    qsort(sorted, (size_t)rounds, sizeof *sorted, cmp_double);
    *switch_q1 = quantile(sorted, rounds, 0.25);
    return KT_OK;
}
