/*
 * ktune: the command-line tool over the library (tune, inspect, explain).
 * Each subcommand parses its own options; this file dispatches and holds
 * the small helpers they share.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kt_cli.h"

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *help;
} commands[] = {
    {"info", kt_cmd_info, "the hardware, fingerprint, build configuration, database path"},
    {"list", kt_cmd_list, "operations and their variants, available here or not and why"},
    {"tune", kt_cmd_tune, "measure every variant here and store the winners"},
    {"bench", kt_cmd_bench, "time dispatch against every variant, side by side"},
    {"show", kt_cmd_show, "what the tuning database holds: machines, choices, margins"},
    {"explain", kt_cmd_explain, "what a call of an op at a size runs here, and why"},
    {"report", kt_cmd_report, "an HTML report (or SVG plots) of every variant's speed"},
    {"export", kt_cmd_export, "write the tuning of one or all machines as JSON or CSV"},
    {"import", kt_cmd_import, "merge a JSON export into the database"},
    {"merge", kt_cmd_merge, "merge another ktune database into this one"},
    {"profile", kt_cmd_profile, "run a program with recording on and show its hotspots"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: ktune [--version] [--help] COMMAND [OPTIONS]\n\n"
               "Auto-tuning library with runtime dispatch: measures every variant of\n"
               "every operation on this machine and calls the fastest.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nEvery command takes --plugin PATH (repeatable; also KTUNE_PLUGINS, paths\n"
               "separated by ':'): a shared object registering operations (ktune_op.h),\n"
               "loaded first, whose operations the command treats as its own.\n");
    fprintf(f, "\n'ktune COMMAND --help' describes a command and its options.\n"
               "exit status: 0 success, 1 failure (message on stderr), 2 bad command line\n");
}

int kt_cli_error(int code, const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "ktune %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int kt_cli_json_out(json_t *v) {
    if (!v) return kt_cli_error(KT_EXIT_FAIL, "json", "out of memory");
    int rc = json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(v);
    return rc == 0 && fflush(stdout) == 0 ? KT_EXIT_OK : KT_EXIT_FAIL;
}

const char *kt_cli_jstr(json_t *v) {
    const char *s = json_string_value(v);
    if (!s || !kt_cli_needs_escape(s)) return s;
    size_t len = strlen(s) * 4 + 1; /* each byte becomes at most \xHH */
    char *buf = malloc(len);
    if (!buf) return "?";
    kt_cli_sanitize(s, buf, len);
    int rc = json_string_set(v, buf);
    free(buf);
    return rc == 0 ? json_string_value(v) : "?";
}

const char *kt_cli_bytes(size_t b, char *buf, size_t len) {
    if (b >= (size_t)1 << 30)
        snprintf(buf, len, "%.1f GiB", (double)b / (1 << 30));
    else if (b >= (size_t)1 << 20)
        snprintf(buf, len, "%.1f MiB", (double)b / (1 << 20));
    else if (b >= 1024)
        snprintf(buf, len, "%zu KiB", b / 1024);
    else
        snprintf(buf, len, "%zu B", b);
    return buf;
}

const char *kt_cli_time(double s, char *buf, size_t len) {
    if (!(s == s)) snprintf(buf, len, "-");
    else if (s < 1e-6) snprintf(buf, len, "%.1f ns", s * 1e9);
    else if (s < 1e-3) snprintf(buf, len, "%.2f us", s * 1e6);
    else if (s < 1) snprintf(buf, len, "%.2f ms", s * 1e3);
    else snprintf(buf, len, "%.2f s", s);
    return buf;
}

int kt_ops_parse(const char *list, int selected[KT_OP_MAX], const char **bad) {
    static char badbuf[64];
    memset(selected, 0, KT_OP_MAX * sizeof *selected);
    if (!strcmp(list, "all")) {
        for (int i = 0; i < (int)kt_op_count(); i++) selected[i] = 1;
        return 0;
    }
    const char *p = list;
    int any = 0;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char name[64];
        if (len == 0 || len >= sizeof name) {
            snprintf(badbuf, sizeof badbuf, "%.*s", (int)(len < 60 ? len : 60), p);
            *bad = badbuf;
            return -1;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        kt_op_id op = kt_op_find(name);
        if (op == KT_OP_NONE) {
            snprintf(badbuf, sizeof badbuf, "%s", name);
            *bad = badbuf;
            return -1;
        }
        selected[op] = any = 1;
        p += len + (end ? 1 : 0);
    }
    if (!any) {
        *bad = "";
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return KT_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return KT_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("ktune %s\n", kt_version());
        return KT_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0) continue;
        /* every command: --plugin PATH (repeatable) and KTUNE_PLUGINS, loaded first */
        char *plugins[KT_MAX_PLUGINS], msg[512];
        int np = 0, sub = kt_plugins_take(argc - 1, argv + 1, plugins, &np, msg, sizeof msg);
        if (sub < 0) return kt_cli_error(KT_EXIT_USAGE, argv[1], "%s", msg);
        if (kt_plugins_load(plugins, np, msg, sizeof msg) != 0)
            return kt_cli_error(KT_EXIT_FAIL, argv[1], "%s", msg);
        return commands[i].run(sub, argv + 1);
    }
    fprintf(stderr, "ktune: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return KT_EXIT_USAGE;
}
