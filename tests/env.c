/*
 * The environment variables (KTUNE_FORCE, KTUNE_DISABLE, KTUNE_MAX_ISA,
 * KTUNE_NUM_THREADS, KTUNE_LOG), each read once at init: every case runs in
 * a forked child that sets the variables before its first ktune call and
 * reports through its exit status and its captured stderr.  Bad values are
 * warnings (at KTUNE_LOG=warn), never failures, and the library prints
 * nothing unless asked.
 */
#define _GNU_SOURCE
#include "kt_test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int (*child_fn)(void);

/* Runs fn in a child with the given environment ("K=V" strings); returns its exit code. */
static int run_child(const char *const *envs, child_fn fn, char *err, size_t errlen) {
    int pipefd[2];
    if (pipe(pipefd) != 0) fail_msg("pipe failed");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) fail_msg("fork failed");
    if (pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        for (const char *const *e = envs; *e; e++) putenv((char *)*e);
        _exit(fn());
    }
    close(pipefd[1]);
    size_t used = 0;
    ssize_t got;
    while ((got = read(pipefd[0], err + used, errlen - 1 - used)) > 0) used += (size_t)got;
    err[used] = '\0';
    close(pipefd[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static const char *explain(const char *op, size_t n) {
    static kt_dispatch_info di;
    size_t dims[3] = {n, 0, 0};
    if (kt_dispatch_explain(op, dims, &di) != KT_OK) return "(error)";
    return di.variant;
}

static int child_force_scalar(void) {
    float x[3] = {1, 2, 3}, y[3] = {0.5f, 0.5f, 0.5f};
    if (kt_axpy_f32(3, 2.0f, x, 1, y, 1) != KT_OK || y[2] != 6.5f) return 10;
    return strcmp(explain("axpy_f32", 12345), "scalar") == 0 &&
                   strcmp(explain("axpy_f32", 1 << 26), "scalar") == 0 &&
                   strcmp(explain("axpy_f64", 12345), "scalar") != 0
               ? 0
               : 1;
}

static void test_force(void **state) {
    (void)state;
    char err[4096];
    const char *env[] = {"KTUNE_FORCE=axpy_f32=scalar", NULL};
    assert_int_equal(run_child(env, child_force_scalar, err, sizeof err), 0);
    assert_string_equal(err, ""); /* silent by default */
}

/* Forcing a variant that cannot run here falls back, and says so at warn level. */
static int child_force_unavailable(void) {
    kt_variant_info vi;
    if (kt_variant_find("axpy_f32", "cuda:block=64", &vi) != KT_OK) return 2;
    if (vi.available) return 77; /* a GPU is here: nothing to test */
    const char *v = explain("axpy_f32", 1000);
    if (strncmp(v, "cuda", 4) == 0) return 1;
    size_t dims[3] = {1000, 0, 0};
    kt_dispatch_info di;
    kt_dispatch_explain("axpy_f32", dims, &di);
    return strstr(di.why, "ignored") ? 0 : 3;
}

static void test_force_unavailable(void **state) {
    (void)state;
    char err[4096];
    const char *env[] = {"KTUNE_FORCE=axpy_f32=cuda:block=64", "KTUNE_LOG=warn", NULL};
    int rc = run_child(env, child_force_unavailable, err, sizeof err);
    if (rc == 77) skip();
    assert_int_equal(rc, 0);
    assert_non_null(strstr(err, "KTUNE_FORCE axpy_f32=cuda:block=64 ignored"));
}

static int child_works(void) {
    double x[5] = {1, 2, 3, 4, 5}, y[5] = {0};
    if (kt_axpy_f64(5, 1.0, x, 1, y, 1) != KT_OK) return 1;
    return y[4] == 5.0 ? 0 : 2;
}

static void test_bad_values(void **state) {
    (void)state;
    static const struct {
        const char *env, *warning;
    } cases[] = {
        {"KTUNE_FORCE=axpy_f32", "not OP=VARIANT"},
        {"KTUNE_FORCE=nosuchop=scalar", "unknown operation 'nosuchop'"},
        {"KTUNE_FORCE=axpy_f32=avx9000", "has no variant 'avx9000'"},
        {"KTUNE_DISABLE=scalar,warp", "unknown backend 'warp'"},
        {"KTUNE_MAX_ISA=avx1024", "unknown level 'avx1024'"},
        {"KTUNE_NUM_THREADS=many", "'many' is not a positive integer"},
        {"KTUNE_NUM_THREADS=-3", "'-3' is not a positive integer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[4096];
        const char *env[] = {cases[i].env, "KTUNE_LOG=warn", NULL};
        int rc = run_child(env, child_works, err, sizeof err);
        if (rc != 0) fail_msg("%s: child failed with %d", cases[i].env, rc);
        if (!strstr(err, cases[i].warning))
            fail_msg("%s: expected warning '%s', stderr was '%s'", cases[i].env, cases[i].warning,
                     err);
        /* and silent without KTUNE_LOG */
        const char *quiet[] = {cases[i].env, NULL};
        assert_int_equal(run_child(quiet, child_works, err, sizeof err), 0);
        assert_string_equal(err, "");
    }
    char err[4096];
    const char *env[] = {"KTUNE_LOG=loud", NULL};
    assert_int_equal(run_child(env, child_works, err, sizeof err), 0);
}

static int child_disable_avx512(void) {
    kt_variant_info vi;
    if (kt_variant_find("axpy_f32", "avx512", &vi) != KT_OK) return 1;
    if (vi.available || !strstr(vi.reason, "KTUNE_DISABLE")) return 2;
    const char *v = explain("axpy_f32", 1000);
    return strcmp(v, "avx512") != 0 ? 0 : 3;
}

static void test_disable(void **state) {
    (void)state;
    char err[4096];
    const char *env[] = {"KTUNE_DISABLE=avx512,cuda", NULL};
    assert_int_equal(run_child(env, child_disable_avx512, err, sizeof err), 0);
}

static int child_max_isa_scalar(void) {
    kt_variant_info vi;
    if (kt_variant_find("axpy_f64", "avx2", &vi) != KT_OK || vi.available) return 1;
    if (!strstr(vi.reason, "KTUNE_MAX_ISA") && !strstr(vi.reason, "CPU lacks")) return 2;
    if (strcmp(explain("axpy_f64", 100), "scalar") != 0) return 3;
    return child_works();
}

static int child_max_isa_avx2(void) {
    kt_variant_info vi;
    if (kt_variant_find("axpy_f64", "avx512", &vi) != KT_OK || vi.available) return 1;
    const char *v = explain("axpy_f64", 100);
    if (!strcmp(v, "avx512")) return 2;
    if (kt_variant_find("axpy_f64", "avx2", &vi) == KT_OK && vi.available && strcmp(v, "avx2"))
        return 3;
    return child_works();
}

static void test_max_isa(void **state) {
    (void)state;
    char err[4096];
    const char *scalar[] = {"KTUNE_MAX_ISA=scalar", NULL};
    assert_int_equal(run_child(scalar, child_max_isa_scalar, err, sizeof err), 0);
    const char *avx2[] = {"KTUNE_MAX_ISA=avx2", NULL};
    assert_int_equal(run_child(avx2, child_max_isa_avx2, err, sizeof err), 0);
}

static int child_one_thread(void) {
    for (size_t o = 0; o < kt_op_count(); o++) {
        const char *v = explain(kt_op_name(o), (size_t)1 << 27);
        if (!strncmp(v, "threads", 7) || !strncmp(v, "openblas:t", 10)) return 1;
    }
    return child_works();
}

static void test_num_threads(void **state) {
    (void)state;
    char err[4096];
    const char *env[] = {"KTUNE_NUM_THREADS=1", NULL};
    assert_int_equal(run_child(env, child_one_thread, err, sizeof err), 0);
}

static int child_debug(void) {
    float x[2] = {1, 2};
    kt_axpy_f32(2, 1.0f, NULL, 1, x, 1); /* an error: logged at debug */
    return 0;
}

static void test_log_debug(void **state) {
    (void)state;
    char err[4096];
    const char *env[] = {"KTUNE_LOG=debug", NULL};
    assert_int_equal(run_child(env, child_debug, err, sizeof err), 0);
    assert_non_null(strstr(err, "ktune: debug: invalid argument: kt_axpy_f32: x is NULL"));
}

int main(void) {
    kt_tests ts = {0};
    kt_tests_add(&ts, test_force, NULL, "KTUNE_FORCE=axpy_f32=scalar forces, silently");
    kt_tests_add(&ts, test_force_unavailable, NULL,
                 "KTUNE_FORCE of an unavailable variant falls back and says why");
    kt_tests_add(&ts, test_bad_values, NULL, "bad values are warnings, ignored, never fatal");
    kt_tests_add(&ts, test_disable, NULL, "KTUNE_DISABLE=avx512 removes avx512 with the reason");
    kt_tests_add(&ts, test_max_isa, NULL, "KTUNE_MAX_ISA=scalar|avx2 caps the SIMD level");
    kt_tests_add(&ts, test_num_threads, NULL, "KTUNE_NUM_THREADS=1 removes threaded variants");
    kt_tests_add(&ts, test_log_debug, NULL, "KTUNE_LOG=debug logs errors to stderr");
    return kt_tests_run(&ts, "environment");
}
