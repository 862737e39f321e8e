/*
 * Fuzz target: the argument checks of every entry point of lib/ktune.h (the 11 operations),
 * kt_call() on every variant, and kt_dispatch_explain().
 *
 * The input decodes into one call: the operation, layout and transpositions (valid or
 * not), sizes (mostly small, some adversarial: SIZE_MAX, SIZE_MAX/4, 2^33, ...), leading
 * dimensions (the minimum, a little more, too small, huge), increments (small, 0,
 * PTRDIFF_MIN and neighbours, huge), alpha/beta (0, 1, NaN, Inf, any bits), which pointer
 * to leave NULL, and whether to go through kt_call.  This file computes, independently of
 * the library, the bytes each operand spans (reference-BLAS semantics, lib/ktune.h), then:
 *   - invalid enums or leading dimensions, gemv increments of 0, a NULL operand that is
 *     read or written, or a span that overflows the address space (> PTRDIFF_MAX bytes):
 *     the call must return KT_EINVAL (small real buffers are passed: an ASan report means
 *     the validation let the call through);
 *   - nothing to do (a zero size): KT_OK;
 *   - spans that fit KT_FUZZ_MAX_SPAN: buffers of exactly those sizes (ASan catches any
 *     access outside them), the call must return KT_OK, leave the inputs unchanged, and
 *     add_scalar_i64 must be exact;
 *   - larger spans that do not overflow: only the NULL-pointer form is called (KT_EINVAL).
 * The library is tuned first (LLVMFuzzerInitialize writes a small database with choices
 * for this machine), so the tuned interval scan is on the path, not only the defaults.
 */
#include "config.h"

#include <math.h>

#include "fuzz.h"
#include "kt_db.h"
#include "ktune.h"

#define KT_FUZZ_MAX_SPAN ((size_t)4 << 20) /* bytes per operand we really allocate */
#define KT_FUZZ_MAX_WORK ((size_t)1 << 22) /* elements or multiply-adds we let one call do */

enum {
    ADD_I64,
    ADD_F32,
    ADD_F64,
    AXPY_F32,
    AXPY_F64,
    DOT_F32,
    DOT_F64,
    GEMV_F32,
    GEMV_F64,
    GEMM_F32,
    GEMM_F64,
    NOPS
};
static const char *const op_names[NOPS] = {
    "add_scalar_i64", "add_scalar_f32", "add_scalar_f64", "axpy_f32", "axpy_f64", "dot_f32",
    "dot_f64",        "gemv_f32",       "gemv_f64",       "gemm_f32", "gemm_f64"};

/* ---- decoding ------------------------------------------------------------------------- */

/* A size: mostly small, sometimes medium, sometimes adversarial or any 64 bits. */
static size_t pick_size(kt_fuzz_in *in) {
    static const size_t special[] = {SIZE_MAX,
                                     SIZE_MAX - 1,
                                     SIZE_MAX / 2,
                                     SIZE_MAX / 2 + 1,
                                     SIZE_MAX / 4,
                                     SIZE_MAX / 4 + 1,
                                     SIZE_MAX / 8 + 1,
                                     (size_t)1 << 33,
                                     ((size_t)1 << 33) + 1,
                                     (size_t)1 << 32,
                                     (size_t)1 << 31,
                                     (size_t)1 << 62,
                                     PTRDIFF_MAX,
                                     PTRDIFF_MAX / 4,
                                     PTRDIFF_MAX / 8 + 1,
                                     0};
    uint8_t b = kt_fuzz_u8(in);
    if (b < 160) return b % 40;
    if (b < 200) return (size_t)(b - 160) * 64 + kt_fuzz_u8(in);
    size_t s = special[(b - 200) % 16];
    return s ? s : (size_t)kt_fuzz_u64(in);
}

/* An increment: mostly small (0 included), sometimes near PTRDIFF_MIN/MAX or any bits. */
static ptrdiff_t pick_inc(kt_fuzz_in *in) {
    static const ptrdiff_t small[] = {1, 1, 1, -1, 2, -2, 3, -3, 0, 5, -7};
    static const ptrdiff_t special[] = {
        PTRDIFF_MIN,        PTRDIFF_MIN + 1,       PTRDIFF_MIN + 2,    PTRDIFF_MAX,
        PTRDIFF_MAX - 1,    PTRDIFF_MAX / 2,       -(PTRDIFF_MAX / 2), PTRDIFF_MAX / 4 + 1,
        (ptrdiff_t)1 << 31, -((ptrdiff_t)1 << 31), (ptrdiff_t)1 << 33, 0};
    uint8_t b = kt_fuzz_u8(in);
    if (b < 128) return small[b % 11];
    ptrdiff_t s = special[(b - 128) % 12];
    return s ? s : (ptrdiff_t)kt_fuzz_u64(in);
}

/* A leading dimension relative to its minimum lo: valid, too small, or adversarial. */
static size_t pick_ld(kt_fuzz_in *in, size_t lo) {
    uint8_t b = kt_fuzz_u8(in);
    if (lo < 1) lo = 1;
    if (b < 100) return lo + b % 5;
    if (b < 130) return lo > (size_t)(b % 3) ? lo - 1 - b % 3 : 0;
    return pick_size(in);
}

/* alpha, beta, c: the values that take special paths, or any bits. */
static double pick_real(kt_fuzz_in *in) {
    static const double v[] = {0.0, 1.0, -1.0, 2.0, 0.5, -0.0, 3.25};
    uint8_t b = kt_fuzz_u8(in);
    if (b < 140) return v[b % 7];
    if (b < 150) return NAN;
    if (b < 160) return b & 1 ? INFINITY : -INFINITY;
    uint64_t bits = kt_fuzz_u64(in);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static kt_layout pick_layout(kt_fuzz_in *in) {
    uint8_t b = kt_fuzz_u8(in) % 16;
    return b < 7 ? KT_ROW_MAJOR : b < 14 ? KT_COL_MAJOR : b == 14 ? (kt_layout)0 : (kt_layout)111;
}

static kt_trans pick_trans(kt_fuzz_in *in) {
    uint8_t b = kt_fuzz_u8(in) % 16;
    return b < 7 ? KT_NOTRANS : b < 14 ? KT_TRANS : b == 14 ? (kt_trans)0 : (kt_trans)102;
}

/* ---- spans ----------------------------------------------------------------------------- */

/* Bytes spanned by n elements of es bytes, inc apart; 1 when more than PTRDIFF_MAX. */
static int span_vec(size_t n, ptrdiff_t inc, size_t es, size_t *out) {
    *out = 0;
    if (n == 0) return 0;
    size_t step = inc < 0 ? (size_t)0 - (size_t)inc : (size_t)inc, e;
    if (__builtin_mul_overflow(n - 1, step, &e) || __builtin_add_overflow(e, 1, &e) ||
        __builtin_mul_overflow(e, es, &e) || e > PTRDIFF_MAX)
        return 1;
    *out = e;
    return 0;
}

/* Bytes spanned by a rows x cols matrix with leading dimension ld; 1 when too many. */
static int span_mat(size_t rows, size_t cols, size_t ld, int col_major, size_t es, size_t *out) {
    *out = 0;
    if (rows == 0 || cols == 0) return 0;
    size_t inner = col_major ? rows : cols, outer = col_major ? cols : rows, e;
    if (__builtin_mul_overflow(outer - 1, ld, &e) || __builtin_add_overflow(e, inner, &e) ||
        __builtin_mul_overflow(e, es, &e) || e > PTRDIFF_MAX)
        return 1;
    *out = e;
    return 0;
}

/* ---- one call -------------------------------------------------------------------------- */

/* What the decoded call is, and what this file expects of it. */
typedef struct call {
    int op;
    size_t es;
    kt_args a;    /* the arguments (pointers filled later) */
    int nulls;    /* which operand to pass as NULL: 0 none, 1..3 */
    int via_call; /* through kt_call with variant number `variant` */
    uint8_t variant;
    int invalid;         /* bad enum or leading dimension, or gemv increment 0 */
    int nothing;         /* a zero size: nothing to do */
    int overflow;        /* an operand that is accessed spans more than PTRDIFF_MAX */
    int overflow_unused; /* only operands that are not accessed overflow */
    size_t work;         /* elements touched or multiply-adds (SIZE_MAX when it overflows) */
    size_t span[3];      /* bytes of operands 0..2 (x/a, y/b, c) when they are accessed */
    int used[3];         /* 1: operand i is read or written; 2: written */
} call;

/* Fills c->span/used/overflow for the op's operands. */
static void classify(call *c) {
    kt_args *a = &c->a;
    int ov[3] = {0, 0, 0};
    memset(c->span, 0, sizeof c->span);
    memset(c->used, 0, sizeof c->used);
    switch (c->op) {
    case ADD_I64:
    case ADD_F32:
    case ADD_F64:
        c->nothing = a->n == 0;
        ov[1] = span_vec(a->n, 1, c->es, &c->span[1]);
        c->used[1] = 2;
        break;
    case AXPY_F32:
    case AXPY_F64:
    case DOT_F32:
    case DOT_F64:
        c->nothing = a->n == 0;
        ov[0] = span_vec(a->n, a->incx, c->es, &c->span[0]);
        ov[1] = span_vec(a->n, a->incy, c->es, &c->span[1]);
        c->used[0] = 1;
        c->used[1] = c->op <= AXPY_F64 ? 2 : 1;
        break;
    case GEMV_F32:
    case GEMV_F64: {
        int col = a->layout == KT_COL_MAJOR, tr = a->transa == KT_TRANS;
        size_t lx = tr ? a->m : a->n, ly = tr ? a->n : a->m;
        c->invalid |= a->lda < ((col ? a->m : a->n) > 1 ? (col ? a->m : a->n) : 1);
        c->invalid |= a->incx == 0 || a->incy == 0;
        c->nothing = a->m == 0 || a->n == 0;
        ov[0] = span_mat(a->m, a->n, a->lda, col, c->es, &c->span[0]);
        ov[1] = span_vec(lx, a->incx, c->es, &c->span[1]);
        ov[2] = span_vec(ly, a->incy, c->es, &c->span[2]);
        c->used[0] = c->used[1] = a->alpha != 0;
        c->used[2] = 2;
        break;
    }
    default: { /* gemm */
        int col = a->layout == KT_COL_MAJOR;
        int ta = a->transa == KT_TRANS, tb = a->transb == KT_TRANS;
        size_t ar = ta ? a->k : a->m, ac = ta ? a->m : a->k;
        size_t br = tb ? a->n : a->k, bc = tb ? a->k : a->n;
        size_t ai = col ? ar : ac, bi = col ? br : bc, ci = col ? a->m : a->n;
        c->invalid |=
            a->lda < (ai > 1 ? ai : 1) || a->ldb < (bi > 1 ? bi : 1) || a->ldc < (ci > 1 ? ci : 1);
        c->nothing = a->m == 0 || a->n == 0;
        ov[0] = span_mat(ar, ac, a->lda, col, c->es, &c->span[0]);
        ov[1] = span_mat(br, bc, a->ldb, col, c->es, &c->span[1]);
        ov[2] = span_mat(a->m, a->n, a->ldc, col, c->es, &c->span[2]);
        c->used[0] = c->used[1] = a->alpha != 0 && a->k > 0;
        c->used[2] = 2;
        break;
    }
    }
    /* increments of 0 make small spans with any n: the time a call takes is bounded too */
    size_t w = c->op < GEMV_F32 ? a->n : a->m;
    if (c->op >= GEMV_F32 && __builtin_mul_overflow(w, a->n, &w)) w = SIZE_MAX;
    if (c->op >= GEMM_F32 && __builtin_mul_overflow(w, a->k, &w)) w = SIZE_MAX;
    c->work = w;
    for (int i = 0; i < 3; i++) {
        if (!c->used[i]) c->span[i] = 0;
        if (ov[i] && c->used[i]) c->overflow = 1;
        if (ov[i] && !c->used[i]) c->overflow_unused = 1;
    }
}

/* Decodes the input into *c. */
static void decode(kt_fuzz_in *in, call *c) {
    memset(c, 0, sizeof *c);
    uint8_t head = kt_fuzz_u8(in);
    c->op = head % NOPS;
    c->es = c->op == ADD_F32 || c->op == AXPY_F32 || c->op == DOT_F32 || c->op == GEMV_F32 ||
                    c->op == GEMM_F32
                ? 4
                : 8;
    uint8_t flags = kt_fuzz_u8(in);
    c->nulls = flags & 3;
    c->via_call = (flags >> 2) & 1;
    c->variant = kt_fuzz_u8(in);
    kt_args *a = &c->a;
    if (c->op >= GEMV_F32) {
        a->layout = pick_layout(in);
        a->transa = pick_trans(in);
        a->transb = pick_trans(in);
        c->invalid = (a->layout != KT_ROW_MAJOR && a->layout != KT_COL_MAJOR) ||
                     (a->transa != KT_NOTRANS && a->transa != KT_TRANS) ||
                     (c->op >= GEMM_F32 && a->transb != KT_NOTRANS && a->transb != KT_TRANS);
    }
    a->m = pick_size(in);
    a->n = pick_size(in);
    a->k = pick_size(in);
    if (c->op < GEMV_F32) a->m = a->k = 0;
    if (c->op < GEMM_F32) a->k = 0;
    a->incx = pick_inc(in);
    a->incy = pick_inc(in);
    a->alpha = pick_real(in);
    a->beta = pick_real(in);
    a->ialpha = (int64_t)kt_fuzz_u64(in) / 2; /* no int64 overflow with the small a[i] below */
    if (c->op == ADD_F32) a->alpha = (float)a->alpha;
    int col = a->layout == KT_COL_MAJOR;
    if (c->op == GEMV_F32 || c->op == GEMV_F64) {
        a->lda = pick_ld(in, col ? a->m : a->n);
    } else if (c->op >= GEMM_F32) {
        int ta = a->transa == KT_TRANS, tb = a->transb == KT_TRANS;
        a->lda = pick_ld(in, col ? (ta ? a->k : a->m) : (ta ? a->m : a->k));
        a->ldb = pick_ld(in, col ? (tb ? a->n : a->k) : (tb ? a->k : a->n));
        a->ldc = pick_ld(in, col ? a->m : a->n);
    }
    if (c->op == AXPY_F32 || c->op == GEMV_F32 || c->op == GEMM_F32 || c->op == DOT_F32) {
        a->alpha = (float)a->alpha; /* what the f32 entry points see */
        a->beta = (float)a->beta;
    }
    classify(c);
}

/* Allocates operand i: its exact span when it is accessed and fits, else a small buffer. */
static void *alloc_operand(const call *c, int i, int exact) {
    size_t bytes = exact && c->used[i] ? c->span[i] : 64;
    if (bytes == 0) bytes = 64;
    void *p = malloc(bytes);
    if (!p) return NULL;
    size_t count = bytes / c->es;
    for (size_t j = 0; j < count; j++) {
        double v = (double)((j * 7 + (size_t)i * 3) % 19) - 9.0;
        if (c->op == ADD_I64)
            ((int64_t *)p)[j] = (int64_t)v;
        else if (c->es == 4)
            ((float *)p)[j] = (float)v * 0.25f;
        else
            ((double *)p)[j] = v * 0.25;
    }
    return p;
}

/* Calls the decoded operation through its entry point with the operands p[0..2]. */
static kt_status call_entry(const call *c, void *p[3]) {
    const kt_args *a = &c->a;
    float rf;
    double rd;
    switch (c->op) {
    case ADD_I64:
        return kt_add_scalar_i64(a->n, a->ialpha, p[1]);
    case ADD_F32:
        return kt_add_scalar_f32(a->n, (float)a->alpha, p[1]);
    case ADD_F64:
        return kt_add_scalar_f64(a->n, a->alpha, p[1]);
    case AXPY_F32:
        return kt_axpy_f32(a->n, (float)a->alpha, p[0], a->incx, p[1], a->incy);
    case AXPY_F64:
        return kt_axpy_f64(a->n, a->alpha, p[0], a->incx, p[1], a->incy);
    case DOT_F32:
        return kt_dot_f32(a->n, p[0], a->incx, p[1], a->incy, &rf);
    case DOT_F64:
        return kt_dot_f64(a->n, p[0], a->incx, p[1], a->incy, &rd);
    case GEMV_F32:
        return kt_gemv_f32(a->layout, a->transa, a->m, a->n, (float)a->alpha, p[0], a->lda, p[1],
                           a->incx, (float)a->beta, p[2], a->incy);
    case GEMV_F64:
        return kt_gemv_f64(a->layout, a->transa, a->m, a->n, a->alpha, p[0], a->lda, p[1], a->incx,
                           a->beta, p[2], a->incy);
    case GEMM_F32:
        return kt_gemm_f32(a->layout, a->transa, a->transb, a->m, a->n, a->k, (float)a->alpha, p[0],
                           a->lda, p[1], a->ldb, (float)a->beta, p[2], a->ldc);
    default:
        return kt_gemm_f64(a->layout, a->transa, a->transb, a->m, a->n, a->k, a->alpha, p[0],
                           a->lda, p[1], a->ldb, a->beta, p[2], a->ldc);
    }
}

/* Calls variant number c->variant of the op through kt_call; *avail says if it can run. */
static kt_status call_variant(const call *c, void *p[3], int *avail, const char **name) {
    const char *op = op_names[c->op];
    size_t nv = kt_variant_count(op);
    KT_FUZZ_CHECK(nv > 0, "%s has no variants", op);
    kt_variant_info vi;
    KT_FUZZ_CHECK(kt_variant_get(op, c->variant % nv, &vi) == KT_OK, "%s variant %u", op,
                  c->variant);
    *avail = vi.available;
    *name = vi.name;
    kt_args a = c->a;
    if (c->op <= ADD_F64) {
        a.y = p[1];
    } else if (c->op <= DOT_F64) {
        a.x = p[0];
        a.y = p[1];
    } else if (c->op <= GEMV_F64) {
        a.a = p[0];
        a.x = p[1];
        a.y = p[2];
    } else {
        a.a = p[0];
        a.b = p[1];
        a.c = p[2];
    }
    return kt_call(op, vi.name, &a);
}

/* Whether a rows x cols matrix of es-byte elements, packed, spans at most PTRDIFF_MAX bytes. */
static int packed_fits(size_t rows, size_t cols, size_t es) {
    size_t e, b;
    if (!rows || !cols) return 1;
    if (__builtin_mul_overflow(cols - 1, rows, &e) || __builtin_add_overflow(e, rows, &e) ||
        __builtin_mul_overflow(e, es, &b))
        return 0;
    return b <= PTRDIFF_MAX;
}

/*
 * kt_dispatch_explain at the call's dimensions: KT_OK and a complete answer when a call
 * of those dimensions can exist (its vector, or each matrix, packed, fits the address
 * space), else KT_EINVAL with the answer untouched.
 */
static void explain(const call *c) {
    size_t dims[3] = {c->a.n, 0, 0};
    size_t es = strstr(op_names[c->op], "f32") ? 4 : 8;
    int can;
    if (c->op >= GEMV_F32) dims[0] = c->a.m, dims[1] = c->a.n, dims[2] = c->a.k;
    if (c->op < GEMV_F32)
        can = dims[0] <= PTRDIFF_MAX / es;
    else if (c->op < GEMM_F32)
        can = packed_fits(dims[0], dims[1], es);
    else
        can = packed_fits(dims[0], dims[2], es) && packed_fits(dims[2], dims[1], es) &&
              packed_fits(dims[0], dims[1], es);
    kt_dispatch_info info;
    memset(&info, 0xa5, sizeof info);
    kt_status s = kt_dispatch_explain(op_names[c->op], dims, &info);
    if (!can) {
        unsigned char poison[sizeof info];
        memset(poison, 0xa5, sizeof poison);
        KT_FUZZ_CHECK(s == KT_EINVAL && !memcmp(&info, poison, sizeof info),
                      "explain %s %zu %zu %zu: no call has these sizes, yet %s",
                      op_names[c->op], dims[0], dims[1], dims[2],
                      s == KT_EINVAL ? "the answer was written" : "not refused");
        return;
    }
    KT_FUZZ_CHECK(s == KT_OK, "explain %s %zu %zu %zu: %s", op_names[c->op], dims[0], dims[1],
                  dims[2], kt_last_error());
    KT_FUZZ_CHECK(info.variant && info.source && memchr(info.why, '\0', sizeof info.why),
                  "explain %s: incomplete answer", op_names[c->op]);
}

/* Which operand index the NULL choice 1..3 removes (the n-th accessed one), or -1. */
static int null_index(const call *c) {
    int seen = 0;
    for (int i = 0; i < 3; i++)
        if (c->used[i] && ++seen == c->nulls) return i;
    return -1;
}

static void describe(const call *c, char *buf, size_t len) {
    const kt_args *a = &c->a;
    snprintf(buf, len,
             "%s%s layout %d trans %d/%d m %zu n %zu k %zu lda %zu ldb %zu ldc %zu "
             "incx %td incy %td alpha %g beta %g null %d",
             c->via_call ? "kt_call " : "", op_names[c->op], (int)a->layout, (int)a->transa,
             (int)a->transb, a->m, a->n, a->k, a->lda, a->ldb, a->ldc, a->incx, a->incy, a->alpha,
             a->beta, c->nulls);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kt_fuzz_in in = {data, size};
    call c;
    decode(&in, &c);
    char what[512];
    describe(&c, what, sizeof what);
    if (getenv("KT_FUZZ_SHOW")) fprintf(stderr, "call: %s\n", what); /* what a finding ran */
    explain(&c);

    int fits = !c.overflow && c.work <= KT_FUZZ_MAX_WORK;
    for (int i = 0; i < 3; i++) fits &= !c.used[i] || c.span[i] <= KT_FUZZ_MAX_SPAN;
    /* too large to allocate or to run (but not overflowing): only the all-NULL form, which
       must be refused */
    int big = !c.invalid && !c.nothing && !c.overflow && !fits;
    int drop = c.nulls ? null_index(&c) : -1;
    if (big)
        for (drop = 0; drop < 3 && !c.used[drop]; drop++) {
        }
    void *p[3] = {NULL, NULL, NULL}, *saved[3] = {NULL, NULL, NULL};
    size_t bytes[3] = {0, 0, 0};
    int exact = fits && !c.invalid;
    for (int i = 0; i < 3 && !big; i++) {
        if (i == drop) continue;
        if ((p[i] = alloc_operand(&c, i, exact)) == NULL) goto out;
        bytes[i] = exact && c.used[i] && c.span[i] ? c.span[i] : 64;
        if ((saved[i] = malloc(bytes[i])) == NULL) goto out;
        memcpy(saved[i], p[i], bytes[i]);
    }
    int avail = 1;
    const char *vname = "";
    kt_status s = c.via_call ? call_variant(&c, p, &avail, &vname) : call_entry(&c, p);
    if (c.via_call && !avail) {
        KT_FUZZ_CHECK(s == KT_EUNAVAIL, "%s/%s unavailable but returned %d", what, vname, s);
    } else if (c.invalid) {
        KT_FUZZ_CHECK(s == KT_EINVAL, "%s [%s]: invalid arguments, got %d (%s)", what, vname, s,
                      kt_last_error());
    } else if (c.nothing) {
        KT_FUZZ_CHECK(s == KT_OK || ((c.overflow_unused || c.overflow) && s == KT_EINVAL),
                      "%s [%s]: nothing to do, got %d (%s)", what, vname, s, kt_last_error());
    } else if (c.overflow || drop >= 0) {
        /* kt_call may also say the variant cannot take the increments */
        KT_FUZZ_CHECK(s == KT_EINVAL || (c.via_call && s == KT_EUNAVAIL),
                      "%s [%s]: expected KT_EINVAL, got %d (%s)", what, vname, s, kt_last_error());
    } else {
        KT_FUZZ_CHECK(s == KT_OK || (c.overflow_unused && s == KT_EINVAL) ||
                          (c.via_call && s == KT_EUNAVAIL),
                      "%s [%s]: valid call returned %d (%s)", what, vname, s, kt_last_error());
    }
    for (int i = 0; i < 3; i++) {
        if (!p[i]) continue;
        int written = c.used[i] == 2 && s == KT_OK;
        if (!written)
            KT_FUZZ_CHECK(memcmp(p[i], saved[i], bytes[i]) == 0,
                          "%s [%s]: operand %d changed (status %d)", what, vname, i, s);
    }
    if (c.op == ADD_I64 && s == KT_OK && p[1] && exact)
        for (size_t j = 0; j < c.a.n; j++)
            KT_FUZZ_CHECK(((int64_t *)p[1])[j] == ((int64_t *)saved[1])[j] + c.a.ialpha,
                          "%s [%s]: a[%zu] wrong", what, vname, j);
out:
    for (int i = 0; i < 3; i++) free(p[i]), free(saved[i]);
    return 0;
}

/* Writes a tuning database with two choices per op for this machine and points KTUNE_DB at
   it, so that calls go through the tuned interval tables. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    char path[512];
    kt_fuzz_path("api.db", path, sizeof path);
    kt_fuzz_unlink_db(path);
    setenv("KTUNE_DB", path, 1); /* before any library call: the environment is read once */
    kt_db *db;
    int64_t mid;
    if (kt_db_open_write(path, &db) != KT_OK ||
        kt_db_machine_put(db, kt_fingerprint(), NULL, &mid) != KT_OK) {
        fprintf(stderr, "api: cannot write %s: %s\n", path, kt_last_error());
        abort();
    }
    for (int op = 0; op < NOPS; op++) {
        int ndims = op >= GEMM_F32 ? 3 : op >= GEMV_F32 ? 2 : 1;
        size_t nv = kt_variant_count(op_names[op]);
        kt_db_choice ch[2];
        memset(ch, 0, sizeof ch);
        size_t used = 0;
        for (size_t i = 0; i < nv && used < 2; i++) {
            kt_variant_info vi;
            if (kt_variant_get(op_names[op], i, &vi) != KT_OK || !vi.available) continue;
            if (kt_db_variant_put(db, op_names[op], vi.name, vi.version, vi.backend, NULL) != KT_OK)
                abort();
            size_t d = used ? (ndims == 1 ? 100000 : 256) : (ndims == 1 ? 1000 : 16);
            size_t dims[3] = {d, ndims > 1 ? d : 0, ndims > 2 ? d : 0}, mnk[3];
            kt_db_dims_pack(ndims, dims, mnk);
            ch[used].m = mnk[0], ch[used].n = mnk[1], ch[used].k = mnk[2];
            ch[used].rank = 1;
            snprintf(ch[used].variant, sizeof ch[used].variant, "%s", vi.name);
            ch[used].version = vi.version;
            ch[used].median_s = 1e-6 * (double)(used + 1);
            ch[used].margin = NAN;
            used++;
        }
        if (kt_db_choices_replace(db, mid, op_names[op], 0, ch, used) != KT_OK) {
            fprintf(stderr, "api: choices: %s\n", kt_last_error());
            abort();
        }
    }
    if (kt_db_close(db) != KT_OK) abort();
    kt_status s = kt_reload();
    if (s != KT_OK) {
        fprintf(stderr, "api: kt_reload: %s\n", kt_last_error());
        abort();
    }
    return 0;
}
