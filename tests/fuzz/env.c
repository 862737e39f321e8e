/*
 * Fuzz target: the environment parser (kt_env_parse in lib/kt_env.c).  The input is split
 * at NUL bytes into up to seven values, set as KTUNE_FORCE, KTUNE_DISABLE, KTUNE_MAX_ISA,
 * KTUNE_NUM_THREADS, KTUNE_LOG, KTUNE_DB and KTUNE_PROFILE (a missing value: unset).
 * Invariants: every count within its array, every string NUL-terminated inside its field,
 * forced ops real and their variants registered, disabled backends known, a thread count
 * 0..4096, KTUNE_DB copied exactly when it fits.
 */
#include "config.h"

#include "fuzz.h"
#include "kt_internal.h"

static const char *const names[] = {"KTUNE_FORCE",       "KTUNE_DISABLE", "KTUNE_MAX_ISA",
                                    "KTUNE_NUM_THREADS", "KTUNE_LOG",     "KTUNE_DB",
                                    "KTUNE_PROFILE"};
#define NVARS (sizeof names / sizeof names[0])

/* 1 when the n-byte field s holds a NUL. */
static int terminated(const char *s, size_t n) { return memchr(s, '\0', n) != NULL; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *copy = malloc(size + 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *val[NVARS] = {0};
    char *p = copy, *end = copy + size;
    for (size_t i = 0; i < NVARS && p <= end; i++) {
        val[i] = p;
        p += strlen(p) + 1;
    }
    for (size_t i = 0; i < NVARS; i++) {
        if (val[i])
            setenv(names[i], val[i], 1);
        else
            unsetenv(names[i]);
    }
    kt_log_level saved = kt_log_level_get();
    static kt_env env; /* 40 KB: not on the stack */
    kt_env_parse(&env);
    kt_log_level_set(saved);

    KT_FUZZ_CHECK(env.nforce >= 0 && env.nforce <= KT_MAX_FORCE, "nforce %d", env.nforce);
    for (int i = 0; i < env.nforce; i++) {
        KT_FUZZ_CHECK(terminated(env.force[i].variant, sizeof env.force[i].variant),
                      "force[%d].variant not terminated", i);
        KT_FUZZ_CHECK((int)env.force[i].op >= 0 && env.force[i].op < KT_OP_COUNT, "force[%d].op %d",
                      i, (int)env.force[i].op);
        KT_FUZZ_CHECK(kt_variant_lookup(env.force[i].op, env.force[i].variant) != NULL,
                      "force[%d]: '%s' is no variant", i, env.force[i].variant);
    }
    int maxdis = (int)(sizeof env.disable / sizeof env.disable[0]);
    KT_FUZZ_CHECK(env.ndisable >= 0 && env.ndisable <= maxdis, "ndisable %d", env.ndisable);
    for (int i = 0; i < env.ndisable; i++)
        KT_FUZZ_CHECK(terminated(env.disable[i], sizeof env.disable[i]) && env.disable[i][0],
                      "disable[%d] empty or not terminated", i);
    int maxwarn = (int)(sizeof env.warnings / sizeof env.warnings[0]);
    KT_FUZZ_CHECK(env.nwarnings >= 0 && env.nwarnings <= maxwarn, "nwarnings %d", env.nwarnings);
    for (int i = 0; i < env.nwarnings; i++)
        KT_FUZZ_CHECK(terminated(env.warnings[i], sizeof env.warnings[i]),
                      "warning %d not terminated", i);
    KT_FUZZ_CHECK(env.num_threads >= 0 && env.num_threads <= 4096, "num_threads %d",
                  env.num_threads);
    KT_FUZZ_CHECK(terminated(env.db_path, sizeof env.db_path), "db_path not terminated");
    const char *db = val[5];
    if (db && *db && strlen(db) < sizeof env.db_path)
        KT_FUZZ_CHECK(strcmp(env.db_path, db) == 0, "KTUNE_DB not copied");
    else
        KT_FUZZ_CHECK(env.db_path[0] == '\0', "KTUNE_DB '%s' should be ignored", env.db_path);
    KT_FUZZ_CHECK(env.profile == 0 || env.profile == 1, "profile %d", env.profile);
    if (!val[6] || !*val[6] || strcmp(val[6], "0") == 0)
        KT_FUZZ_CHECK(env.profile == 0, "KTUNE_PROFILE off but profile %d", env.profile);
    free(copy);
    return 0;
}
