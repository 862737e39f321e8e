/*
 * `ktune bench --overhead`: what dispatch costs.  For small calls, where it
 * matters most (axpy_f32 n = 1, 16, 1000; dot_f64 n = 1, 16; gemv_f32 4x4
 * and gemm_f64 4x4x4 in both layouts), times the public entry point against
 * a direct call of the variant it dispatches to (through a function
 * pointer, with the normalised arguments dispatch passes it), in
 * interleaved rounds, and reports the medians: entry, direct and their
 * difference.  Twice: with the tables in force (built-in or the database),
 * then with a synthetic tuned table of 12 intervals per op that picks the
 * same variant, which isolates the cost of the tuned lookup.  The
 * "kt_select" rows time kt_select_variant + a call of the variant it returns
 * (how a program calls a registered op, ktune_op.h) against the direct call.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bench_overhead.h"
#include "kt_cli.h"
#include "kt_dispatch.h"

/* OV_PAD: the buffers lie apart by no multiple of 4 KiB (no 4K aliasing of x and y) */
enum { OV_ROUNDS = 31, OV_MAXN = 1024, OV_PAD = 48, OV_POINTS = 12 };
#define OV_ROUND_S 0.5e-3 /* the least time one timed loop runs */

typedef struct ov_case {
    const char *label;
    kt_op_id op;
    kt_layout layout;
    size_t n;   /* n, or the side of the square matrices */
    int select; /* 1: kt_select_variant per call, then the variant (ktune_op.h's way) */
} ov_case;

static const ov_case ov_cases[] = {
    {"axpy_f32 n=1", KT_OP_AXPY_F32, KT_COL_MAJOR, 1, 0},
    {"axpy_f32 n=16", KT_OP_AXPY_F32, KT_COL_MAJOR, 16, 0},
    {"axpy_f32 n=1000", KT_OP_AXPY_F32, KT_COL_MAJOR, 1000, 0},
    {"dot_f64 n=1", KT_OP_DOT_F64, KT_COL_MAJOR, 1, 0},
    {"dot_f64 n=16", KT_OP_DOT_F64, KT_COL_MAJOR, 16, 0},
    {"gemv_f32 4x4 col", KT_OP_GEMV_F32, KT_COL_MAJOR, 4, 0},
    {"gemv_f32 4x4 row", KT_OP_GEMV_F32, KT_ROW_MAJOR, 4, 0},
    {"gemm_f64 4x4x4 col", KT_OP_GEMM_F64, KT_COL_MAJOR, 4, 0},
    {"gemm_f64 4x4x4 row", KT_OP_GEMM_F64, KT_ROW_MAJOR, 4, 0},
    {"kt_select axpy n=1", KT_OP_AXPY_F32, KT_COL_MAJOR, 1, 1},
    {"kt_select axpy n=16", KT_OP_AXPY_F32, KT_COL_MAJOR, 16, 1},
};
#define OV_NCASES (sizeof ov_cases / sizeof ov_cases[0])

static const kt_op_id ov_ops[] = {KT_OP_AXPY_F32, KT_OP_DOT_F64, KT_OP_GEMV_F32, KT_OP_GEMM_F64};

static float ov_xf[OV_MAXN + OV_PAD], ov_yf[OV_MAXN + OV_PAD], ov_af[OV_MAXN + OV_PAD];
static double ov_xd[OV_MAXN + OV_PAD], ov_yd[OV_MAXN + OV_PAD], ov_ad[OV_MAXN + OV_PAD];
static double ov_bd[OV_MAXN + OV_PAD], ov_cd[OV_MAXN + OV_PAD];
static double ov_sink;

/* The variant's function, read through a volatile so the loop cannot see through it. */
static void *ov_fn(const kt_variant *v) {
    void *volatile f = v->fn;
    return f;
}

/*
 * Runs `calls` calls of case c -- the entry point, or (direct) variant v
 * with the arguments dispatch hands it -- and returns the seconds taken.
 */
static double ov_loop(const ov_case *c, const kt_variant *v, int direct, long calls) {
    size_t n = c->n;
    int row = c->layout == KT_ROW_MAJOR;
    double r = 0, t0 = kt_now();
    switch (c->op) {
    case KT_OP_AXPY_F32: {
        kt_axpy_f32_fn f = (kt_axpy_f32_fn)ov_fn(v);
        if (c->select && !direct) {
            /* what a program calling a registered op does per call: select, then call */
            int h = (int)c->op;
            for (long i = 0; i < calls; i++) {
                size_t dims[3] = {n, 0, 0};
                const kt_variant *w = kt_select_variant(h, dims);
                ((kt_axpy_f32_fn)w->fn)(w, n, 1e-7f, ov_xf, 1, ov_yf, 1);
            }
        } else if (direct)
            for (long i = 0; i < calls; i++) f(v, n, 1e-7f, ov_xf, 1, ov_yf, 1);
        else
            for (long i = 0; i < calls; i++) kt_axpy_f32(n, 1e-7f, ov_xf, 1, ov_yf, 1);
        break;
    }
    case KT_OP_DOT_F64: {
        kt_dot_f64_fn f = (kt_dot_f64_fn)ov_fn(v);
        if (direct)
            for (long i = 0; i < calls; i++) f(v, n, ov_xd, 1, ov_yd, 1, &r);
        else
            for (long i = 0; i < calls; i++) kt_dot_f64(n, ov_xd, 1, ov_yd, 1, &r);
        break;
    }
    case KT_OP_GEMV_F32: {
        /* row-major A is column-major A^T: dispatch flips the transposition */
        kt_gemv_f32_fn f = (kt_gemv_f32_fn)ov_fn(v);
        kt_trans ct = row ? KT_TRANS : KT_NOTRANS;
        if (direct)
            for (long i = 0; i < calls; i++)
                f(v, ct, n, n, 1.0f, ov_af, n, ov_xf, 1, 0.0f, ov_yf, 1);
        else
            for (long i = 0; i < calls; i++)
                kt_gemv_f32(c->layout, KT_NOTRANS, n, n, 1.0f, ov_af, n, ov_xf, 1, 0.0f, ov_yf,
                            1);
        break;
    }
    case KT_OP_GEMM_F64: {
        /* row-major C = A B is column-major C^T = B^T A^T: dispatch swaps A and B */
        kt_gemm_f64_fn f = (kt_gemm_f64_fn)ov_fn(v);
        const double *a = row ? ov_bd : ov_ad, *b = row ? ov_ad : ov_bd;
        if (direct)
            for (long i = 0; i < calls; i++)
                f(v, KT_NOTRANS, KT_NOTRANS, n, n, n, 1.0, a, n, b, n, 0.0, ov_cd, n);
        else
            for (long i = 0; i < calls; i++)
                kt_gemm_f64(c->layout, KT_NOTRANS, KT_NOTRANS, n, n, n, 1.0, ov_ad, n, ov_bd, n,
                            0.0, ov_cd, n);
        break;
    }
    default: break;
    }
    ov_sink += r;
    return kt_now() - t0;
}

static int ov_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double ov_median(double *v, size_t n) {
    qsort(v, n, sizeof *v, ov_cmp);
    return v[n / 2];
}

typedef struct ov_result {
    const char *variant;
    double entry_ns, direct_ns, overhead_ns;
} ov_result;

/*
 * Measures case c: the variant dispatch picks now, a call count that makes
 * one loop last OV_ROUND_S, then OV_ROUNDS rounds of both loops in
 * alternating order; medians per call, and the median of the per-round
 * differences.  Returns -1 when the op cannot be explained.
 */
static int ov_measure(const ov_case *c, ov_result *out) {
    size_t dims[3] = {c->n, kt_ops[c->op].ndims > 1 ? c->n : 0,
                      kt_ops[c->op].ndims > 2 ? c->n : 0};
    kt_dispatch_info di;
    if (kt_dispatch_explain(kt_ops[c->op].name, dims, &di) != KT_OK) return -1;
    const kt_variant *v = kt_variant_lookup(c->op, di.variant);
    if (!v) return -1;
    long calls = 256;
    while (ov_loop(c, v, 1, calls) < OV_ROUND_S && calls < (1L << 30)) calls *= 2;
    double e[OV_ROUNDS], d[OV_ROUNDS], diff[OV_ROUNDS];
    for (int r = 0; r < OV_ROUNDS; r++) {
        double te, td;
        if (r % 2) {
            td = ov_loop(c, v, 1, calls);
            te = ov_loop(c, v, 0, calls);
        } else {
            te = ov_loop(c, v, 0, calls);
            td = ov_loop(c, v, 1, calls);
        }
        e[r] = te / (double)calls * 1e9;
        d[r] = td / (double)calls * 1e9;
        diff[r] = e[r] - d[r];
    }
    out->variant = v->name;
    out->entry_ns = ov_median(e, OV_ROUNDS);
    out->direct_ns = ov_median(d, OV_ROUNDS);
    out->overhead_ns = ov_median(diff, OV_ROUNDS);
    return 0;
}

/*
 * Installs, for each measured op, OV_POINTS tuned points (n = 3^i; squares
 * and cubes of side 2^i) that all rank op's best serial variant first: the
 * same variant the built-in tables pick at these sizes.
 */
static int ov_install_tuned(void) {
    for (size_t o = 0; o < sizeof ov_ops / sizeof ov_ops[0]; o++) {
        kt_op_id op = ov_ops[o];
        kt_tuned_point pts[OV_POINTS];
        memset(pts, 0, sizeof pts);
        size_t s = 1;
        for (size_t i = 0; i < OV_POINTS; i++, s *= 3) {
            int nd = kt_ops[op].ndims;
            pts[i].dims[0] = nd == 1 ? s : (size_t)1 << i;
            pts[i].dims[1] = nd > 1 ? (size_t)1 << i : 0;
            pts[i].dims[2] = nd > 2 ? (size_t)1 << i : 0;
            pts[i].nranked = 1;
            pts[i].ranked[0] = kt_best_serial(op);
        }
        if (kt_dispatch_set_points(op, pts, OV_POINTS) != KT_OK) return -1;
    }
    return 0;
}

static void ov_remove_tuned(void) {
    for (size_t o = 0; o < sizeof ov_ops / sizeof ov_ops[0]; o++)
        kt_dispatch_set_points(ov_ops[o], NULL, 0);
}

int kt_bench_overhead(int json) {
    kt_init();
    for (size_t i = 0; i < OV_MAXN; i++) {
        ov_xf[i] = ov_af[i] = 0.5f, ov_yf[i] = 0.0f;
        ov_xd[i] = ov_yd[i] = ov_ad[i] = ov_bd[i] = 0.5, ov_cd[i] = 0.0;
    }
    static const char *const tables[] = {"current", "tuned-12"};
    json_t *jall = json ? json_array() : NULL;
    if (!json)
        printf("dispatch overhead: entry point against a direct call of the variant it runs\n"
               "(medians of %d interleaved rounds; tables: current = what is in force, "
               "tuned-12 = %d tuned intervals per op, same variants)\n"
               "%-9s %-20s %-14s %9s %9s %9s\n",
               OV_ROUNDS, OV_POINTS, "table", "case", "variant", "entry ns", "direct ns",
               "overhead");
    int rc = KT_EXIT_OK;
    for (int t = 0; t < 2 && rc == KT_EXIT_OK; t++) {
        if (t == 1 && ov_install_tuned() != 0) {
            rc = kt_cli_error(KT_EXIT_FAIL, "bench", "cannot build the tuned table: %s",
                              kt_last_error());
            break;
        }
        for (size_t i = 0; i < OV_NCASES; i++) {
            const ov_case *c = &ov_cases[i];
            ov_result res;
            if (ov_measure(c, &res) != 0) {
                rc = kt_cli_error(KT_EXIT_FAIL, "bench", "%s: %s", c->label, kt_last_error());
                break;
            }
            if (json)
                json_array_append_new(jall,
                                      json_pack("{s:s, s:s, s:s, s:s, s:f, s:f, s:f}", "table",
                                                tables[t], "case", c->label, "op",
                                                kt_ops[c->op].name, "variant", res.variant,
                                                "entry_ns", res.entry_ns, "direct_ns",
                                                res.direct_ns, "overhead_ns", res.overhead_ns));
            else
                printf("%-9s %-20s %-14s %9.2f %9.2f %9.2f\n", tables[t], c->label, res.variant,
                       res.entry_ns, res.direct_ns, res.overhead_ns);
        }
    }
    ov_remove_tuned();
    if (json) {
        if (rc != KT_EXIT_OK) {
            json_decref(jall);
            return rc;
        }
        return kt_cli_json_out(jall);
    }
    return rc;
}
