/* The ktune command: shared declarations of its subcommands. */
#ifndef KT_CLI_H
#define KT_CLI_H

#include <jansson.h>
#include <stdio.h>

#include "kt_internal.h"

/* Exit codes of every subcommand (documented in `ktune --help`). */
enum { KT_EXIT_OK = 0, KT_EXIT_FAIL = 1, KT_EXIT_USAGE = 2 };

int kt_cmd_info(int argc, char **argv);
int kt_cmd_list(int argc, char **argv);
int kt_cmd_bench(int argc, char **argv);
int kt_cmd_tune(int argc, char **argv);
int kt_cmd_show(int argc, char **argv);
int kt_cmd_explain(int argc, char **argv);
int kt_cmd_report(int argc, char **argv);
int kt_cmd_export(int argc, char **argv);
int kt_cmd_import(int argc, char **argv);
int kt_cmd_merge(int argc, char **argv);

/* Parses a size list or range ("1e3,1e6", "1:2^27:4"); sorted, unique; -1 if malformed. */
int kt_sizes_parse(const char *spec, size_t **out, size_t *n);
/* Parses "axpy_f32,gemm_f64" (or "all") into selected[]; -1 and *bad set on an unknown op. */
int kt_ops_parse(const char *list, int selected[KT_OP_COUNT], const char **bad);
/* "12.3 us", "1.20 ms" (seconds in). */
const char *kt_cli_time(double s, char *buf, size_t len);

/* Prints "ktune CMD: message" to stderr; returns code. */
int kt_cli_error(int code, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes a JSON value to stdout (indented) and releases it; returns KT_EXIT_OK or FAIL. */
int kt_cli_json_out(json_t *v);
/* Formats a byte count as "32 KiB", "2.0 MiB". */
const char *kt_cli_bytes(size_t b, char *buf, size_t len);

#endif
