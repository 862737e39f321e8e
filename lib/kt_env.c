/*
 * The environment variables of DESIGN.md, read once (the first kt_env_get,
 * from kt_init or kt_fail) into one process-wide state.  A bad value never
 * fails anything: it is recorded as a warning (logged at KTUNE_LOG=warn by
 * kt_init) and ignored.  Sits below dispatch and logging: it needs only the
 * registry (variant names) and the log level setter.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_internal.h"

static void warn(kt_env *env, const char *fmt, const char *a, const char *b) {
    if (env->nwarnings >= (int)(sizeof env->warnings / sizeof env->warnings[0])) return;
    snprintf(env->warnings[env->nwarnings++], sizeof env->warnings[0], fmt, a, b);
}

/* Copies the next comma-separated token of *s into tok (trimmed); 0 at end. */
static int next_token(const char **s, char *tok, size_t len) {
    const char *p = *s;
    while (*p == ',' || isspace((unsigned char)*p)) p++;
    if (!*p) return 0;
    const char *end = strchr(p, ',');
    if (!end) end = p + strlen(p);
    size_t n = (size_t)(end - p);
    while (n > 0 && isspace((unsigned char)p[n - 1])) n--;
    if (n >= len) n = len - 1;
    memcpy(tok, p, n);
    tok[n] = '\0';
    *s = end;
    return 1;
}

static const char *const known_backends[] = {"scalar", "avx2",  "avx512", "threads",
                                             "openblas", "cuda", "cublas", "test"};

static void parse_force(kt_env *env, const char *val) {
    char tok[128];
    while (next_token(&val, tok, sizeof tok)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || !eq[1]) {
            warn(env, "KTUNE_FORCE: '%s' is not OP=VARIANT; ignored%s", tok, "");
            continue;
        }
        *eq = '\0';
        kt_op_id op = kt_op_find(tok);
        if (op == KT_OP_NONE) {
            warn(env, "KTUNE_FORCE: unknown operation '%s'; ignored%s", tok, "");
            continue;
        }
        if (!kt_variant_lookup(op, eq + 1)) {
            warn(env, "KTUNE_FORCE: %s has no variant '%s'; ignored", tok, eq + 1);
            continue;
        }
        if (env->nforce >= KT_MAX_FORCE || strlen(eq + 1) >= sizeof env->force[0].variant) {
            warn(env, "KTUNE_FORCE: too many entries or too long at '%s'; ignored%s", tok, "");
            continue;
        }
        env->force[env->nforce].op = op;
        strcpy(env->force[env->nforce].variant, eq + 1);
        env->nforce++;
    }
}

static void parse_disable(kt_env *env, const char *val) {
    char tok[64];
    while (next_token(&val, tok, sizeof tok)) {
        int known = 0;
        for (size_t i = 0; i < sizeof known_backends / sizeof known_backends[0]; i++)
            known |= strcmp(tok, known_backends[i]) == 0;
        if (!known || strlen(tok) >= sizeof env->disable[0]) {
            warn(env, "KTUNE_DISABLE: unknown backend '%s'; ignored%s", tok, "");
            continue;
        }
        if (env->ndisable < (int)(sizeof env->disable / sizeof env->disable[0]))
            strcpy(env->disable[env->ndisable++], tok);
    }
}

/* Parses a positive int; returns 0 on any error. */
static int parse_positive(const char *s) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v <= 0 || v > 4096) return 0;
    return (int)v;
}

void kt_env_parse(kt_env *env) {
    memset(env, 0, sizeof *env);
    env->max_isa_mask = ~0u;
    const char *v;

    if ((v = getenv("KTUNE_LOG")) && *v) {
        static const char *const levels[] = {"off", "error", "warn", "info", "debug"};
        int found = -1;
        for (int i = 0; i < 5; i++)
            if (strcmp(v, levels[i]) == 0) found = i;
        if (strcmp(v, "warning") == 0) found = KT_LOG_WARN;
        if (found < 0)
            warn(env, "KTUNE_LOG: unknown level '%s' (off|error|warn|info|debug); ignored%s", v,
                 "");
        else
            kt_log_level_set((kt_log_level)found);
    }
    if ((v = getenv("KTUNE_DB")) && *v) {
        if (strlen(v) >= sizeof env->db_path)
            warn(env, "KTUNE_DB: path too long%s%s; ignored", "", "");
        else
            strcpy(env->db_path, v);
    }
    if ((v = getenv("KTUNE_FORCE")) && *v) parse_force(env, v);
    if ((v = getenv("KTUNE_DISABLE")) && *v) parse_disable(env, v);
    if ((v = getenv("KTUNE_MAX_ISA")) && *v) {
        if (strcmp(v, "scalar") == 0)
            env->max_isa_mask = ~(unsigned)(KT_REQ_AVX512 | KT_CPU_AVX512_VNNI |
                                            KT_CPU_AVX512_BF16 | KT_CPU_AVX512_FP16);
        else if (strcmp(v, "avx2") == 0)
            env->max_isa_mask = ~(unsigned)(KT_CPU_AVX512F | KT_CPU_AVX512DQ | KT_CPU_AVX512BW |
                                            KT_CPU_AVX512VL | KT_CPU_AVX512_VNNI |
                                            KT_CPU_AVX512_BF16 | KT_CPU_AVX512_FP16);
        else if (strcmp(v, "avx512") != 0)
            warn(env, "KTUNE_MAX_ISA: unknown level '%s' (scalar|avx2|avx512); ignored%s", v, "");
    }
    if ((v = getenv("KTUNE_NUM_THREADS")) && *v) {
        env->num_threads = parse_positive(v);
        if (!env->num_threads)
            warn(env, "KTUNE_NUM_THREADS: '%s' is not a positive integer; ignored%s", v, "");
    }
    if ((v = getenv("KTUNE_PROFILE")) && *v) env->profile = strcmp(v, "0") != 0;
}

static kt_env kt_env_state;
static pthread_once_t kt_env_once = PTHREAD_ONCE_INIT;

static void env_init(void) { kt_env_parse(&kt_env_state); }

/* The environment as read at the first call (thread-safe, never fails). */
const kt_env *kt_env_get(void) {
    pthread_once(&kt_env_once, env_init);
    return &kt_env_state;
}
