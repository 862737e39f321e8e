/* Helpers of the TAP test programs; see kt_test.h. */
#define _GNU_SOURCE
#include "kt_test.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void add(kt_tests *ts, CMUnitTestFunction fn, void *state, const char *fmt, va_list ap) {
    if (ts->n == ts->cap) {
        ts->cap = ts->cap ? 2 * ts->cap : 64;
        ts->t = realloc(ts->t, ts->cap * sizeof *ts->t);
        if (!ts->t) abort();
    }
    char *name;
    if (vasprintf(&name, fmt, ap) < 0) abort();
    ts->t[ts->n++] = (struct CMUnitTest){.name = name, .test_func = fn, .initial_state = state};
}

void kt_tests_add(kt_tests *ts, CMUnitTestFunction fn, void *state, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    add(ts, fn, state, fmt, ap);
    va_end(ap);
}

static void skip_fn(void **state) {
    (void)state;
    skip();
}

void kt_tests_skip(kt_tests *ts, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    add(ts, skip_fn, NULL, fmt, ap);
    va_end(ap);
}

int kt_tests_run(kt_tests *ts, const char *group) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    int failed = _cmocka_run_group_tests(group, ts->t, ts->n, NULL, NULL);
    for (size_t i = 0; i < ts->n; i++) free((char *)ts->t[i].name);
    free(ts->t);
    return failed;
}

int kt_test_require_gpu(void) {
    const char *v = getenv("KTUNE_REQUIRE_GPU");
    return v && strcmp(v, "1") == 0;
}

int kt_test_quick(void) {
    const char *v = getenv("KT_TEST_QUICK");
    return v && strcmp(v, "1") == 0;
}

uint64_t kt_test_seed(void) {
    static uint64_t seed;
    if (!seed) {
        const char *v = getenv("KT_TEST_SEED");
        seed = v ? strtoull(v, NULL, 0) : (uint64_t)time(NULL) * 2654435761u + (uint64_t)clock();
        if (!seed) seed = 1;
        printf("# random seed %llu (set KT_TEST_SEED to repeat)\n", (unsigned long long)seed);
    }
    return seed;
}

void kt_fill_f32(float *p, size_t n, kt_rng *r) {
    for (size_t i = 0; i < n; i++) p[i] = (float)kt_rng_nonzero(r);
}
void kt_fill_f64(double *p, size_t n, kt_rng *r) {
    for (size_t i = 0; i < n; i++) p[i] = kt_rng_nonzero(r);
}
void kt_fill_i64(int64_t *p, size_t n, kt_rng *r) {
    for (size_t i = 0; i < n; i++) p[i] = (int64_t)kt_rng_next(r);
}

void *kt_test_alloc(size_t bytes) {
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes + 256) != 0) fail_msg("out of memory (%zu bytes)", bytes);
    return p;
}
