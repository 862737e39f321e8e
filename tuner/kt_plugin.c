/*
 * Plugins: shared objects that register ops and variants (ktune_op.h) in a
 * constructor.  `ktune COMMAND --plugin PATH` (repeatable) and KTUNE_PLUGINS
 * (paths separated by ':') load them before the command runs, so every
 * command treats their ops as its own.  A plugin resolves kt_op_register
 * and kt_variant_register against the ktune binary (linked -export-dynamic):
 * it must not link a second copy of libktune.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_cli.h"
#include "kt_internal.h"

/*
 * Loads one plugin: dlopen (symbols resolved now, so a missing one is an
 * error here, not a crash later); its constructor's registrations must all
 * succeed and register something.  Returns 0, or -1 with the reason in msg.
 */
static int load_one(const char *path, char *msg, size_t len) {
    char last[320];
    unsigned failed = kt_registration_failures(NULL, 0);
    size_t ops = kt_op_count(), vars = kt_variants_len();
    if (!path[0]) return snprintf(msg, len, "empty plugin path"), -1;
    /* a bare name would be searched on the library path: say ./name for the current folder */
    void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(msg, len, "plugin %s: cannot load: %s", path, e ? e : "unknown error");
        return -1;
    }
    if (kt_registration_failures(last, sizeof last) != failed) {
        snprintf(msg, len, "plugin %s: a registration failed: %s", path, last);
        return -1;
    }
    if (kt_op_count() == ops && kt_variants_len() == vars) {
        snprintf(msg, len, "plugin %s: registered no operation or variant (does it call "
                 "kt_op_register in a constructor?)", path);
        return -1;
    }
    return 0; /* never dlclose'd: the registered rows point into it */
}

int kt_plugins_load(char **paths, int n, char *msg, size_t len) {
    const char *env = getenv("KTUNE_PLUGINS");
    if (env && env[0]) {
        char *copy = strdup(env), *save = NULL;
        if (!copy) return snprintf(msg, len, "out of memory"), -1;
        for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
            if (load_one(p, msg, len) != 0) {
                size_t l = strlen(msg);
                snprintf(msg + l, len - l, " (from KTUNE_PLUGINS)");
                free(copy);
                return -1;
            }
        }
        free(copy);
    }
    for (int i = 0; i < n; i++)
        if (load_one(paths[i], msg, len) != 0) return -1;
    return 0;
}

int kt_plugins_take(int argc, char **argv, char **paths, int *npaths, char *msg, size_t len) {
    int out = 1;
    *npaths = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { /* the rest are operands */
            while (i < argc) argv[out++] = argv[i++];
            break;
        }
        const char *path = NULL;
        if (!strcmp(a, "--plugin")) {
            if (i + 1 >= argc) return snprintf(msg, len, "--plugin needs a path"), -1;
            path = argv[++i];
        } else if (!strncmp(a, "--plugin=", 9)) {
            path = a + 9;
        }
        if (!path) {
            argv[out++] = argv[i];
            continue;
        }
        if (*npaths == KT_MAX_PLUGINS)
            return snprintf(msg, len, "more than %d --plugin options", KT_MAX_PLUGINS), -1;
        paths[(*npaths)++] = (char *)path;
    }
    argv[out] = NULL;
    return out;
}
