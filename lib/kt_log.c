/* Status codes, the per-thread last error, logging and the clock. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kt_internal.h"

static _Thread_local char kt_last_msg[512];
static kt_log_level kt_level = KT_LOG_OFF;

const char *kt_strerror(kt_status s) {
    switch (s) {
    case KT_OK: return "success";
    case KT_EINVAL: return "invalid argument";
    case KT_ENOMEM: return "out of memory";
    case KT_ENOTFOUND: return "no such operation or variant";
    case KT_EUNAVAIL: return "variant not available here";
    case KT_EDEVICE: return "GPU error";
    case KT_EDB: return "tuning database error";
    case KT_EIO: return "input/output error";
    case KT_EINTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *kt_last_error(void) { return kt_last_msg; }

const char *kt_version(void) { return PACKAGE_VERSION; }

/*
 * Records a formatted message as the calling thread's last error, logs it
 * at debug level, and returns s so callers can write `return kt_fail(...)`.
 */
kt_status kt_fail(kt_status s, const char *fmt, ...) {
    va_list ap;
    (void)kt_env_get(); /* KTUNE_LOG applies even before the first table is built */
    va_start(ap, fmt);
    vsnprintf(kt_last_msg, sizeof kt_last_msg, fmt, ap);
    va_end(ap);
    kt_log(KT_LOG_DEBUG, "%s: %s", kt_strerror(s), kt_last_msg);
    return s;
}

kt_log_level kt_log_level_get(void) { return kt_level; }
void kt_log_level_set(kt_log_level level) { kt_level = level; }

/* Writes one line "ktune: <level>: message" to stderr when enabled. */
void kt_log(kt_log_level level, const char *fmt, ...) {
    static const char *const names[] = {"off", "error", "warning", "info", "debug"};
    if (level == KT_LOG_OFF || level > kt_level) return;
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ktune: %s: %s\n", names[level], line);
}

double kt_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
