/*
 * Shared helpers of the TAP test programs (cmocka with TAP output): a
 * growable list of named tests, skip entries that carry their reason in
 * the name, random fills and error bounds.
 */
#ifndef KT_TEST_H
#define KT_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "kt_internal.h"

typedef struct kt_tests {
    struct CMUnitTest *t;
    size_t n, cap;
} kt_tests;

/* Adds test fn with initial state and a printf-style name. */
void kt_tests_add(kt_tests *ts, CMUnitTestFunction fn, void *state, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Adds a test that is reported as a TAP skip, with the reason in its name. */
void kt_tests_skip(kt_tests *ts, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Runs the group with TAP output; returns the number of failures (the exit status). */
int kt_tests_run(kt_tests *ts, const char *group);

/* KTUNE_REQUIRE_GPU=1 (scripts/gpu-check): an unavailable GPU variant fails, not skips. */
int kt_test_require_gpu(void);

/* KT_TEST_QUICK=1 (valgrind runs): skip the largest sizes. */
int kt_test_quick(void);

/* Random non-zero fills, seeded from KT_TEST_SEED or the clock (printed as a TAP comment). */
uint64_t kt_test_seed(void);
void kt_fill_f32(float *p, size_t n, kt_rng *r);
void kt_fill_f64(double *p, size_t n, kt_rng *r);
void kt_fill_i64(int64_t *p, size_t n, kt_rng *r);

/* Aligned allocation with room for an offset and guards; aborts the test on failure. */
void *kt_test_alloc(size_t bytes);

#endif
