/*
 * Registered operations: kt_op_register appends a row to the op table
 * (kt_ops, after the built-in rows), under a lock, and publishes it by a
 * release store of the count, so readers need no lock and never see a
 * half-written row.  Rows are never removed or changed.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "kt_internal.h"

static _Atomic size_t kt_nops = KT_OP_COUNT;
static pthread_mutex_t kt_op_lock = PTHREAD_MUTEX_INITIALIZER;

size_t kt_op_count(void) { return atomic_load_explicit(&kt_nops, memory_order_acquire); }

const char *kt_op_name(size_t i) { return i < kt_op_count() ? kt_ops[i].name : NULL; }

int kt_op_handle(const char *name) {
    kt_op_id id = kt_op_find(name);
    return id == KT_OP_NONE ? -1 : (int)id;
}

/* Namespaced: words of [a-z0-9_] joined by single dots, at least two words, <= 63 chars. */
static int op_name_ok(const char *s) {
    size_t n = 0, word = 0;
    int dots = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (c == '.') {
            if (!word) return 0;
            dots++, word = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
            word++;
        } else {
            return 0;
        }
    }
    return dots > 0 && word > 0 && n <= 63;
}

static kt_status op_register(const kt_op *op, int *handle) {
    if (!op) return kt_fail(KT_EINVAL, "kt_op_register: op is NULL");
    const char *nm = op->name ? op->name : "(null)";
    if (!op->name || !op_name_ok(op->name))
        return kt_fail(KT_EINVAL, "kt_op_register: bad name '%s' (namespaced, like "
                       "\"myapp.smooth_f32\": words of a-z 0-9 _ joined by '.', at most 63)", nm);
    if (op->ndims < 1 || op->ndims > 3)
        return kt_fail(KT_EINVAL, "kt_op_register: %s: ndims %d (1 to 3)", nm, op->ndims);
    if ((unsigned)op->dtype > KT_F64)
        return kt_fail(KT_EINVAL, "kt_op_register: %s: unknown dtype %d", nm, (int)op->dtype);
    const char *missing = !op->problem_new    ? "problem_new"
                          : !op->problem_args ? "problem_args"
                          : !op->check        ? "check"
                          : !op->problem_free ? "problem_free"
                          : !op->flops        ? "flops"
                          : !op->bytes        ? "bytes"
                                              : NULL;
    if (missing) return kt_fail(KT_EINVAL, "kt_op_register: %s: no %s function", nm, missing);
    pthread_mutex_lock(&kt_op_lock);
    kt_status s = KT_OK;
    size_t n = atomic_load_explicit(&kt_nops, memory_order_relaxed);
    if (kt_op_find(op->name) != KT_OP_NONE)
        s = kt_fail(KT_EINVAL, "kt_op_register: an operation named '%s' exists already", nm);
    else if (n == KT_OP_MAX)
        s = kt_fail(KT_EINVAL, "kt_op_register: %s: the op table is full (%d ops)", nm,
                    KT_OP_MAX);
    if (s == KT_OK) {
        static const char *const dn[] = {"n", "m,n", "m,n,k"};
        kt_op row = *op;
        if (!row.family) row.family = row.name;
        if (!row.dim_names) row.dim_names = dn[row.ndims - 1];
        if (!row.unit) row.unit = "GB/s";
        kt_ops[n] = row;
        atomic_store_explicit(&kt_nops, n + 1, memory_order_release);
        if (handle) *handle = (int)n;
    }
    pthread_mutex_unlock(&kt_op_lock);
    if (s == KT_OK) kt_registration_changed();
    return s;
}

/* Failed registrations, for the plugin loader (a constructor cannot return an error). */
static _Atomic unsigned kt_reg_failures;
static char kt_reg_failure_msg[320];

void kt_registration_failed(void) {
    pthread_mutex_lock(&kt_op_lock);
    snprintf(kt_reg_failure_msg, sizeof kt_reg_failure_msg, "%s", kt_last_error());
    atomic_fetch_add(&kt_reg_failures, 1);
    pthread_mutex_unlock(&kt_op_lock);
}

unsigned kt_registration_failures(char *last, size_t len) {
    pthread_mutex_lock(&kt_op_lock);
    unsigned n = atomic_load(&kt_reg_failures);
    if (last && len) snprintf(last, len, "%s", kt_reg_failure_msg);
    pthread_mutex_unlock(&kt_op_lock);
    return n;
}

kt_status kt_op_register(const kt_op *op, int *handle) {
    kt_status s = op_register(op, handle);
    if (s != KT_OK) kt_registration_failed();
    return s;
}
