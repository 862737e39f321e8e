/*
 * ktune_op.h in-process: registration from many threads before init, then
 * kt_select from many threads while dispatch is rebuilt (and a variant is
 * registered after init); every registration error, with nothing
 * registered; a variant needing a CPU feature this machine lacks is never
 * returned whatever the tuned points say; minimum sizes; built-in ops
 * through the same kt_select.
 */
#include "kt_test.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kt_dispatch.h"

/* ---- a small op: b = 2 a ------------------------------------------------------ */

typedef kt_status (*scale_fn)(size_t n, const float *a, float *b);
typedef struct scale_args {
    size_t n;
    const float *a;
    float *b;
} scale_args;
typedef struct scale_problem {
    scale_args args;
    float *a, *b;
} scale_problem;

static kt_status scale_plain(size_t n, const float *a, float *b) {
    for (size_t i = 0; i < n; i++) b[i] = 2 * a[i];
    return KT_OK;
}
static kt_status scale_other(size_t n, const float *a, float *b) {
    for (size_t i = n; i-- > 0;) b[i] = a[i] + a[i];
    return KT_OK;
}
static kt_status scale_wrong(size_t n, const float *a, float *b) {
    memcpy(b, a, n * sizeof *b);
    return KT_OK;
}
static kt_status scale_call(const kt_variant *v, void *args) {
    scale_args *s = args;
    return ((scale_fn)v->fn)(s->n, s->a, s->b);
}
static void scale_free(void *problem) {
    scale_problem *p = problem;
    if (p) free(p->a), free(p->b), free(p);
}
static kt_status scale_new(const size_t dims[3], uint64_t seed, int with_ref, void **out) {
    (void)with_ref;
    scale_problem *p = calloc(1, sizeof *p);
    size_t n = dims[0] ? dims[0] : 1;
    if (!p || !(p->a = malloc(n * sizeof(float))) || !(p->b = malloc(n * sizeof(float)))) {
        scale_free(p);
        return KT_ENOMEM;
    }
    kt_rng r;
    kt_rng_seed(&r, seed);
    kt_fill_f32(p->a, n, &r);
    p->args = (scale_args){dims[0], p->a, p->b};
    *out = p;
    return KT_OK;
}
static void *scale_args_of(void *p) { return &((scale_problem *)p)->args; }
static kt_status scale_check(const kt_variant *v, void *problem, char *msg, size_t len) {
    scale_problem *p = problem;
    for (size_t i = 0; i < p->args.n; i++)
        if (p->b[i] != 2 * p->a[i]) {
            snprintf(msg, len, "%s: b[%zu] wrong", v->name, i);
            return KT_EINVAL;
        }
    return KT_OK;
}
static double scale_flops(const size_t d[3]) { return (double)d[0]; }
static double scale_bytes(const size_t d[3]) { return 8.0 * (double)d[0]; }

static kt_op scale_op(const char *name) {
    return (kt_op){.name = name, .dtype = KT_F32, .ndims = 1, .flops = scale_flops,
                   .bytes = scale_bytes, .problem_new = scale_new, .problem_args = scale_args_of,
                   .check = scale_check, .problem_free = scale_free, .call = scale_call};
}
static kt_variant row(const char *name, unsigned req, kt_fnptr fn) {
    return (kt_variant){.name = name, .backend = "scalar", .version = 1, .req = req,
                        .threads = 1, .fn = fn};
}

/* ---- threads: registration before init, kt_select after ----------------------- */

#define NT 8
static pthread_barrier_t kt_bar;
static int kt_handles[NT];

static void *register_one(void *arg) {
    int k = (int)(intptr_t)arg;
    static char names[NT][32];
    snprintf(names[k], sizeof names[k], "thr.op_%d", k);
    kt_op op = scale_op(names[k]);
    kt_variant a = row("plain", 0, (kt_fnptr)scale_plain);
    kt_variant b = row("other", 0, (kt_fnptr)scale_other);
    pthread_barrier_wait(&kt_bar);
    intptr_t ok = kt_op_register(&op, &kt_handles[k]) == KT_OK &&
                  kt_variant_register(names[k], &a) == KT_OK &&
                  kt_variant_register(names[k], &b) == KT_OK;
    return (void *)ok;
}

static _Atomic int kt_stop;
static void *select_loop(void *arg) {
    (void)arg;
    intptr_t bad = 0;
    pthread_barrier_wait(&kt_bar);
    for (long it = 0; !kt_stop || it < 10000; it++) {
        size_t dims[3] = {(size_t)(it % 5000) + 1, 0, 0};
        int h = kt_handles[it % NT];
        kt_fnptr f = kt_select(h, dims);
        bad += f != (kt_fnptr)scale_plain && f != (kt_fnptr)scale_other;
    }
    return (void *)bad;
}

static void test_threads(void **state) {
    (void)state;
    assert_null(kt_table_peek()); /* first test: nothing built yet */
    pthread_t th[NT];
    pthread_barrier_init(&kt_bar, NULL, NT);
    for (int k = 0; k < NT; k++)
        assert_int_equal(pthread_create(&th[k], NULL, register_one, (void *)(intptr_t)k), 0);
    for (int k = 0; k < NT; k++) {
        void *ok;
        pthread_join(th[k], &ok);
        assert_true(ok != NULL);
    }
    pthread_barrier_destroy(&kt_bar);
    for (int k = 0; k < NT; k++) {
        for (int j = 0; j < k; j++) assert_int_not_equal(kt_handles[k], kt_handles[j]);
        char name[32];
        snprintf(name, sizeof name, "thr.op_%d", k);
        assert_int_equal(kt_op_handle(name), kt_handles[k]);
        assert_int_equal(kt_variant_count(name), 2);
    }
    kt_status st = kt_init();
    assert_int_equal(st, kt_init_status());
    pthread_barrier_init(&kt_bar, NULL, NT + 1);
    kt_stop = 0;
    for (int k = 0; k < NT; k++)
        assert_int_equal(pthread_create(&th[k], NULL, select_loop, NULL), 0);
    pthread_barrier_wait(&kt_bar);
    /* while they select: rebuilds, a force, and a registration after init */
    for (int i = 0; i < (kt_test_quick() ? 3 : 30); i++) {
        kt_reload();
        kt_force("thr.op_0", i % 2 ? "other" : NULL);
    }
    kt_op late = scale_op("thr.late");
    kt_variant lv = row("plain", 0, (kt_fnptr)scale_plain);
    int hl;
    assert_int_equal(kt_op_register(&late, &hl), KT_OK);
    assert_int_equal(kt_variant_register("thr.late", &lv), KT_OK);
    size_t d[3] = {100, 0, 0};
    assert_true(kt_select(hl, d) == (kt_fnptr)scale_plain);
    kt_stop = 1;
    for (int k = 0; k < NT; k++) {
        void *bad;
        pthread_join(th[k], &bad);
        assert_true(bad == NULL);
    }
    pthread_barrier_destroy(&kt_bar);
    kt_force("thr.op_0", NULL);
}

/* ---- registration errors ---------------------------------------------------------- */

static void expect_op_error(kt_op op, const char *needle) {
    size_t before = kt_op_count();
    int h = -7;
    assert_int_equal(kt_op_register(&op, &h), KT_EINVAL);
    assert_true(strstr(kt_last_error(), needle) != NULL);
    assert_int_equal(h, -7);
    assert_int_equal(kt_op_count(), before);
}

static void test_op_errors(void **state) {
    (void)state;
    assert_int_equal(kt_op_register(NULL, NULL), KT_EINVAL);
    static const char *const bad[] = {
        "nonamespace", "Caps.op", "a..b", ".a", "a.", "a.b c", "axpy_f32", "",
        "x.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}; /* 64 chars */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_op_error(scale_op(bad[i]), "bad name");
    kt_op o = scale_op(NULL);
    expect_op_error(o, "bad name");
    o = scale_op("t.dims"), o.ndims = 0;
    expect_op_error(o, "ndims");
    o.ndims = 4;
    expect_op_error(o, "ndims");
    o = scale_op("t.miss"), o.problem_new = NULL;
    expect_op_error(o, "problem_new");
    o = scale_op("t.miss"), o.check = NULL;
    expect_op_error(o, "check");
    o = scale_op("t.miss"), o.problem_free = NULL;
    expect_op_error(o, "problem_free");
    o = scale_op("t.miss"), o.problem_args = NULL;
    expect_op_error(o, "problem_args");
    o = scale_op("t.miss"), o.bytes = NULL;
    expect_op_error(o, "bytes");
    o = scale_op("t.dup");
    assert_int_equal(kt_op_register(&o, NULL), KT_OK);
    expect_op_error(o, "exists already");
}

static void expect_variant_error(const char *op, kt_variant v, kt_status want, const char *needle) {
    size_t before = kt_variant_count(op);
    assert_int_equal(kt_variant_register(op, &v), want);
    assert_true(strstr(kt_last_error(), needle) != NULL);
    assert_int_equal(kt_variant_count(op), before);
}

static void test_variant_errors(void **state) {
    (void)state;
    kt_op o = scale_op("t.verr");
    o.call = NULL;
    assert_int_equal(kt_op_register(&o, NULL), KT_OK);
    kt_variant v = row("plain", 0, (kt_fnptr)scale_plain);
    v.call = scale_call;
    expect_variant_error("t.nosuchop", v, KT_ENOTFOUND, "no operation");
    expect_variant_error("axpy_f32", v, KT_EINVAL, "built-in");
    assert_int_equal(kt_variant_register("t.verr", NULL), KT_EINVAL);
    kt_variant b = v;
    b.name = "has space";
    expect_variant_error("t.verr", b, KT_EINVAL, "bad variant name");
    b.name = NULL;
    expect_variant_error("t.verr", b, KT_EINVAL, "bad variant name");
    b = v, b.backend = "";
    expect_variant_error("t.verr", b, KT_EINVAL, "backend");
    b = v, b.version = 0;
    expect_variant_error("t.verr", b, KT_EINVAL, "version 0");
    b = v, b.fn = NULL;
    expect_variant_error("t.verr", b, KT_EINVAL, "no function");
    b = v, b.call = NULL; /* and the op has none */
    expect_variant_error("t.verr", b, KT_EINVAL, "no trampoline");
    b = v, b.req = 1u << 30;
    expect_variant_error("t.verr", b, KT_EINVAL, "CPU feature");
    b = v, b.flags = 1u << 20;
    expect_variant_error("t.verr", b, KT_EINVAL, "flag");
    assert_int_equal(kt_variant_register("t.verr", &v), KT_OK);
    expect_variant_error("t.verr", v, KT_EINVAL, "already has");
    assert_int_equal(kt_variant_count("t.verr"), 1);
}

/* ---- requirements and sizes: safety beats the tuned points ------------------------- */

/*
 * A feature bit this process cannot use: one the CPU lacks, else (a CPU with every
 * feature ktune knows) one above KTUNE_MAX_ISA, which main sets for that case and
 * which the library treats exactly as absent.  0: none.
 */
static unsigned missing_feature(void) {
    unsigned have = kt_cpu_get()->features & kt_env_get()->max_isa_mask;
    for (unsigned b = 1; b & KT_CPU_KNOWN; b <<= 1)
        if (!(have & b)) return b;
    return 0;
}

static void test_missing_feature_never_returned(void **state) {
    (void)state;
    unsigned missing = missing_feature();
    assert_int_not_equal(missing, 0);
    kt_op o = scale_op("t.feat");
    int h;
    assert_int_equal(kt_op_register(&o, &h), KT_OK);
    kt_variant lacks = row("needs_more", missing, (kt_fnptr)scale_other);
    lacks.cost = 0;
    kt_variant plain = row("plain", 0, (kt_fnptr)scale_plain);
    plain.cost = 3;
    assert_int_equal(kt_variant_register("t.feat", &lacks), KT_OK);
    assert_int_equal(kt_variant_register("t.feat", &plain), KT_OK);
    /* the tuned points rank it first everywhere, as a database copied from elsewhere would */
    kt_tuned_point pts[2] = {{{10, 0, 0}, 2, {NULL}}, {{100000, 0, 0}, 2, {NULL}}};
    for (int i = 0; i < 2; i++) {
        pts[i].ranked[0] = kt_variant_lookup((kt_op_id)h, "needs_more");
        pts[i].ranked[1] = kt_variant_lookup((kt_op_id)h, "plain");
    }
    assert_int_equal(kt_dispatch_set_points((kt_op_id)h, pts, 2), KT_OK);
    for (size_t n = 1; n < ((size_t)1 << 22); n = n * 3 + 1) {
        size_t d[3] = {n, 0, 0};
        assert_true(kt_select(h, d) == (kt_fnptr)scale_plain);
    }
    assert_int_equal(kt_force("t.feat", "needs_more"), KT_EUNAVAIL);
    assert_true(strstr(kt_last_error(), "CPU lacks") || strstr(kt_last_error(), "KTUNE_MAX_ISA"));
    size_t d[3] = {10, 0, 0};
    kt_dispatch_info info;
    assert_int_equal(kt_select_explain(h, d, &info), KT_OK);
    assert_string_equal(info.variant, "plain");
    kt_dispatch_set_points((kt_op_id)h, NULL, 0);
}

static void test_min_size(void **state) {
    (void)state;
    kt_op o = scale_op("t.minsize");
    int h;
    assert_int_equal(kt_op_register(&o, &h), KT_OK);
    kt_variant big = row("big", 0, (kt_fnptr)scale_other), plain = row("plain", 0,
                                                                         (kt_fnptr)scale_plain);
    big.min_size = 1000;
    assert_int_equal(kt_variant_register("t.minsize", &big), KT_OK);
    assert_int_equal(kt_variant_register("t.minsize", &plain), KT_OK);
    kt_tuned_point pt = {{5000, 0, 0}, 2, {NULL}};
    pt.ranked[0] = kt_variant_lookup((kt_op_id)h, "big");
    pt.ranked[1] = kt_variant_lookup((kt_op_id)h, "plain");
    assert_int_equal(kt_dispatch_set_points((kt_op_id)h, &pt, 1), KT_OK);
    size_t small[3] = {999, 0, 0}, large[3] = {1000, 0, 0};
    assert_true(kt_select(h, small) == (kt_fnptr)scale_plain);
    assert_true(kt_select(h, large) == (kt_fnptr)scale_other);
    kt_dispatch_info info;
    assert_int_equal(kt_select_explain(h, small, &info), KT_OK);
    assert_string_equal(info.variant, "plain");
    assert_string_equal(info.source, "fallback");
    /* the op's validation path: a variant that is wrong fails the check */
    void *p;
    assert_int_equal(o.problem_new(large, 7, 1, &p), KT_OK);
    char msg[128] = "";
    kt_variant wrong = row("wrong", 0, (kt_fnptr)scale_wrong);
    wrong.op = (unsigned)h;
    assert_int_equal(kt_op_validate(kt_variant_lookup((kt_op_id)h, "plain"), p, msg, sizeof msg),
                     KT_OK);
    assert_int_equal(kt_op_validate(&wrong, p, msg, sizeof msg), KT_EINVAL);
    assert_true(strstr(msg, "wrong: b[0] wrong") != NULL);
    o.problem_free(p);
    kt_dispatch_set_points((kt_op_id)h, NULL, 0);
}

static void test_bad_handles_and_builtins(void **state) {
    (void)state;
    size_t d[3] = {1000, 0, 0};
    assert_null(kt_select(-1, d));
    assert_true(strstr(kt_last_error(), "bad handle") != NULL);
    assert_null(kt_select(KT_OP_MAX + 5, d));
    assert_null(kt_select((int)kt_op_count(), d));
    assert_null(kt_select(0, NULL));
    assert_int_equal(kt_op_handle("no.such_op"), -1);
    /* a built-in op through the same mechanism: kt_select names what the entry point runs */
    int h = kt_op_handle("axpy_f32");
    assert_int_equal(h, KT_OP_AXPY_F32);
    const kt_variant *v = kt_select_variant(h, d);
    assert_non_null(v);
    kt_dispatch_info info;
    assert_int_equal(kt_dispatch_explain("axpy_f32", d, &info), KT_OK);
    assert_string_equal(v->name, info.variant);
    assert_int_equal(kt_call("thr.op_1", "plain", &(kt_args){0}), KT_EINVAL);
}

int main(void) {
    kt_tests ts = {0};
    kt_tests_add(&ts, test_threads, NULL,
                 "%d threads register ops at once before init, then kt_select while dispatch "
                 "is rebuilt and an op is registered after init", NT);
    kt_tests_add(&ts, test_op_errors, NULL, "kt_op_register rejects bad names, dims, missing "
                 "functions and duplicates, registering nothing");
    kt_tests_add(&ts, test_variant_errors, NULL, "kt_variant_register rejects unknown and "
                 "built-in ops, bad names, version 0, no function or trampoline, unknown bits, "
                 "duplicates");
    unsigned have = kt_cpu_get()->features, lacks = 0;
    for (unsigned b = 1; b & KT_CPU_KNOWN; b <<= 1) lacks |= !(have & b);
    if (!lacks) setenv("KTUNE_MAX_ISA", "avx2", 1); /* read once, at the first kt_env_get */
    kt_tests_add(&ts, test_missing_feature_never_returned, NULL, "a variant needing a CPU "
                 "feature %s is never returned, though tuned first everywhere",
                 lacks ? "this machine lacks" : "above KTUNE_MAX_ISA (this CPU has them all)");
    kt_tests_add(&ts, test_min_size, NULL, "below a variant's minimum size kt_select returns "
                 "the best serial variant; validation runs through the descriptor");
    kt_tests_add(&ts, test_bad_handles_and_builtins, NULL, "bad handles give NULL with a "
                 "reason; built-in ops dispatch through kt_select as their entry points do");
    return kt_tests_run(&ts, "opreg");
}
