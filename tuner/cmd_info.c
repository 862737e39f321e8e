/* `ktune info` and `ktune list`: what this machine is, and what can run on it. */
#include "config.h"

#include <getopt.h>
#include <string.h>

#include "kt_cli.h"
#include "kt_dispatch.h"

#ifndef KT_HAVE_AVX2
#define KT_HAVE_AVX2 0
#endif
#ifndef KT_HAVE_AVX512
#define KT_HAVE_AVX512 0
#endif
#ifndef KT_HAVE_OPENMP
#define KT_HAVE_OPENMP 0
#endif
#ifndef KT_HAVE_OPENBLAS
#define KT_HAVE_OPENBLAS 0
#endif
#ifndef KT_HAVE_CUDA
#define KT_HAVE_CUDA 0
#endif
#ifndef KT_HAVE_CUBLAS
#define KT_HAVE_CUBLAS 0
#endif

static const struct {
    const char *backend;
    int built;
} kt_build[] = {
    {"scalar", 1},
    {"avx2", KT_HAVE_AVX2},
    {"avx512", KT_HAVE_AVX512},
    {"threads", KT_HAVE_OPENMP},
    {"openblas", KT_HAVE_OPENBLAS},
    {"cuda", KT_HAVE_CUDA},
    {"cublas", KT_HAVE_CUBLAS},
};

/* Parses the common [--json] [--help] options; returns -1 to continue, else an exit code. */
static int parse_simple(int argc, char **argv, const char *cmd, const char *help, int *json,
                        int *optind_out) {
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+jh", opts, NULL)) != -1) {
        switch (c) {
        case 'j': *json = 1; break;
        case 'h': fputs(help, stdout); return KT_EXIT_OK;
        default:
            return kt_cli_error(KT_EXIT_USAGE, cmd, "unknown option '%s' (see --help)",
                                argv[optind - 1]);
        }
    }
    *optind_out = optind;
    return -1;
}

static json_t *cpu_json(const kt_cpu *c) {
    char feats[256];
    kt_cpu_features_str(c->features, feats, sizeof feats);
    return json_pack("{s:s, s:s, s:i, s:i, s:i, s:s, s:i, s:I, s:I, s:I, s:I, s:I}", "vendor",
                     c->vendor, "brand", c->brand, "family", (int)c->family, "model",
                     (int)c->model, "stepping", (int)c->stepping, "features", feats, "cores",
                     c->cores, "l1d_bytes", (json_int_t)c->l1d, "l2_bytes", (json_int_t)c->l2,
                     "l3_bytes", (json_int_t)c->l3, "line_bytes", (json_int_t)c->line,
                     "ram_bytes", (json_int_t)c->ram);
}

static json_t *gpu_json(const kt_gpu *g) {
    if (!g->count) return json_pack("{s:i, s:s}", "count", 0, "reason", g->why_none);
    return json_pack("{s:i, s:s, s:i, s:I, s:i, s:i, s:b, s:s}", "count", g->count, "name",
                     g->name, "sms", g->sms, "memory_bytes",
                     (json_int_t)g->mem, "driver_version", g->driver_version, "runtime_version",
                     g->runtime_version, "cublas", g->cublas, "cublas_reason", g->cublas_why);
}

/* How the loaded OpenBLAS runs its threads (kt_blas_threading()). */
static const char *blas_threading_name(int t) {
    return t == 2 ? "OpenMP (one pool with ktune's threads)"
           : t == 1 ? "its own pthreads (a second pool beside ktune's OpenMP)"
                    : "nothing (a serial build)";
}

static const char info_help[] =
    "usage: ktune info [--json]\n\n"
    "Shows the hardware ktune detected (CPU, features with the OS register-state\n"
    "check, caches, GPU or the reason there is none), the machine fingerprint\n"
    "tuning results are keyed by, the backends built into this ktune, and how the\n"
    "OpenBLAS loaded at run time runs its threads.\n";

int kt_cmd_info(int argc, char **argv) {
    int json = 0, first;
    int rc = parse_simple(argc, argv, "info", info_help, &json, &first);
    if (rc >= 0) return rc;
    if (first < argc) return kt_cli_error(KT_EXIT_USAGE, "info", "unexpected argument '%s'", argv[first]);
    kt_status st = kt_init();
    const kt_cpu *c = kt_cpu_get();
    const kt_gpu *g = kt_gpu_get();
    /* the database the library reads here, and whether it is in use */
    char dbpath[4096] = "", dbstate[512];
    if (kt_tuned_db_path(dbpath, sizeof dbpath) != KT_OK) snprintf(dbpath, sizeof dbpath, "-");
    if (st == KT_OK)
        snprintf(dbstate, sizeof dbstate, "in use");
    else
        snprintf(dbstate, sizeof dbstate, "not used (%s): built-in defaults", kt_last_error());
    if (json) {
        json_t *backends = json_object();
        for (size_t i = 0; i < sizeof kt_build / sizeof kt_build[0]; i++)
            json_object_set_new(backends, kt_build[i].backend, json_boolean(kt_build[i].built));
        json_t *gpu = gpu_json(g);
        if (g->count) {
            char cc[16];
            snprintf(cc, sizeof cc, "%d.%d", g->cc_major, g->cc_minor);
            json_object_set_new(gpu, "compute_capability", json_string(cc));
        }
        json_t *ob = kt_blas_threading() >= 0
                         ? json_pack("{s:s, s:s}", "threads",
                                     kt_blas_threading() == 2   ? "openmp"
                                     : kt_blas_threading() == 1 ? "pthread"
                                                                : "serial",
                                     "built_for", KT_OPENBLAS_THREADS)
                         : json_null();
        return kt_cli_json_out(json_pack("{s:s, s:s, s:o, s:o, s:o, s:{s:s, s:b, s:s}, s:o}",
                                         "version", kt_version(), "fingerprint",
                                         kt_fingerprint(), "cpu", cpu_json(c), "gpu", gpu,
                                         "backends", backends, "database", "path", dbpath,
                                         "in_use", st == KT_OK, "state", dbstate, "openblas",
                                         ob));
    }
    char feats[256], b1[32], b2[32], b3[32], b4[32];
    kt_cpu_features_str(c->features, feats, sizeof feats);
    printf("ktune %s\n\n", kt_version());
    printf("CPU          %s\n", c->brand[0] ? c->brand : c->vendor);
    printf("             %s family %u model %u stepping %u, %d cores\n", c->vendor, c->family,
           c->model, c->stepping, c->cores);
    printf("features     %s\n", feats[0] ? feats : "(none of interest)");
    printf("caches       L1d %s, L2 %s, L3 %s, line %zu B\n", kt_cli_bytes(c->l1d, b1, sizeof b1),
           kt_cli_bytes(c->l2, b2, sizeof b2), kt_cli_bytes(c->l3, b3, sizeof b3), c->line);
    printf("memory       %s\n", kt_cli_bytes(c->ram, b4, sizeof b4));
    if (g->count)
        printf("GPU          %s (sm_%d%d, %d SMs, %s), driver %d, runtime %d\n", g->name,
               g->cc_major, g->cc_minor, g->sms, kt_cli_bytes(g->mem, b1, sizeof b1),
               g->driver_version, g->runtime_version);
    else
        printf("GPU          none: %s\n", g->why_none);
    if (g->count) printf("cuBLAS       %s\n", g->cublas ? "loaded" : g->cublas_why);
    printf("fingerprint  %s\n", kt_fingerprint());
    printf("database     %s\n", dbpath);
    /* the state, folded to 80 columns */
    for (const char *p = dbstate; *p;) {
        size_t len = strlen(p), take = len > 67 ? 67 : len;
        if (take < len)
            while (take > 20 && p[take] != ' ') take--;
        printf("             %.*s\n", (int)take, p);
        p += take;
        while (*p == ' ') p++;
    }
    printf("backends    ");
    for (size_t i = 0; i < sizeof kt_build / sizeof kt_build[0]; i++)
        printf(" %s%s", kt_build[i].backend, kt_build[i].built ? "" : "(not built)");
    printf("\n");
    if (kt_blas_threading() >= 0)
        printf("OpenBLAS     threads on %s (built against the %s build)\n",
               blas_threading_name(kt_blas_threading()), KT_OPENBLAS_THREADS);
    return KT_EXIT_OK;
}

static const char list_help[] =
    "usage: ktune list [--json] [OP...]\n\n"
    "Lists the operations and, for each, its variants: whether each can run on\n"
    "this machine and, when not, why (CPU feature, GPU, cores, not built,\n"
    "disabled by KTUNE_DISABLE or KTUNE_MAX_ISA).\n";

int kt_cmd_list(int argc, char **argv) {
    int json = 0, first;
    int rc = parse_simple(argc, argv, "list", list_help, &json, &first);
    if (rc >= 0) return rc;
    for (int i = first; i < argc; i++)
        if (kt_op_find(argv[i]) == KT_OP_NONE)
            return kt_cli_error(KT_EXIT_USAGE, "list", "unknown operation '%s' (see ktune list)",
                                argv[i]);
    kt_init();
    json_t *out = json ? json_array() : NULL;
    for (size_t o = 0; o < kt_op_count(); o++) {
        const char *op = kt_op_name(o);
        int wanted = first == argc;
        for (int i = first; i < argc; i++) wanted |= !strcmp(argv[i], op);
        if (!wanted) continue;
        const kt_op *d = &kt_ops[o];
        json_t *vars = json ? json_array() : NULL;
        if (!json) printf("%s (%s; %s)\n", op, d->dim_names, d->unit);
        for (size_t i = 0, n = kt_variant_count(op); i < n; i++) {
            kt_variant_info vi;
            if (kt_variant_get(op, i, &vi) != KT_OK) continue;
            if (json) {
                json_array_append_new(
                    vars, json_pack("{s:s, s:s, s:i, s:i, s:b, s:b, s:b, s:s}", "name", vi.name,
                                    "backend", vi.backend, "version", (int)vi.version, "threads",
                                    vi.threads, "gpu", vi.gpu, "unit_stride", vi.unit_stride,
                                    "available", vi.available, "reason", vi.reason));
            } else {
                printf("  %-16s %-4s %.56s\n", vi.name, vi.available ? "yes" : "no", vi.reason);
            }
        }
        if (json)
            json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:o}", "op", op, "dims",
                                                 d->dim_names, "unit", d->unit, "variants", vars));
    }
    return json ? kt_cli_json_out(out) : KT_EXIT_OK;
}
