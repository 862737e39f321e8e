/* The ktune command: shared declarations of its subcommands. */
#ifndef KT_CLI_H
#define KT_CLI_H

#include <jansson.h>
#include <stdio.h>

#include "kt_internal.h"
#include "kt_outfile.h"

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
int kt_cmd_profile(int argc, char **argv);

/* Plugins (tuner/kt_plugin.c): --plugin PATH options of any command, and KTUNE_PLUGINS. */
#define KT_MAX_PLUGINS 32
/*
 * Removes the --plugin PATH / --plugin=PATH options from argv[1..argc) (up to
 * a "--"), the paths into paths[0..*npaths).  Returns the new argc, or -1
 * with the reason in msg.
 */
int kt_plugins_take(int argc, char **argv, char **paths, int *npaths, char *msg, size_t len);
/* Loads KTUNE_PLUGINS, then paths[0..n).  0, or -1 with the reason in msg. */
int kt_plugins_load(char **paths, int n, char *msg, size_t len);

/* The most sizes one --sizes list may give. */
#define KT_SIZES_MAX_COUNT 10000
/*
 * Parses a size list or range ("1e3,1e6", "1:2^27:4") into a sorted list without
 * duplicates (*out, malloc'd, *n entries).  -1 if malformed, with more than
 * KT_SIZES_MAX_COUNT sizes, or with a size no problem on this machine could have (more
 * elements than its memory has bytes); then err (errlen bytes, may be NULL) holds a
 * one-line reason that names the culprit and the limit.
 */
int kt_sizes_parse_msg(const char *spec, size_t **out, size_t *n, char *err, size_t errlen);
/* kt_sizes_parse_msg without the message (the older signature). */
int kt_sizes_parse(const char *spec, size_t **out, size_t *n);
/* The largest size kt_sizes_parse accepts here: this machine's memory in bytes. */
size_t kt_sizes_limit(void);
/* Parses "axpy_f32,gemm_f64" (or "all") into selected[]; -1 and *bad set on an unknown op. */
int kt_ops_parse(const char *list, int selected[KT_OP_MAX], const char **bad);
/* "12.3 us", "1.20 ms" (seconds in). */
const char *kt_cli_time(double s, char *buf, size_t len);

/* Prints "ktune CMD: message" to stderr; returns code. */
int kt_cli_error(int code, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes a JSON value to stdout (indented) and releases it; returns KT_EXIT_OK or FAIL. */
int kt_cli_json_out(json_t *v);
/*
 * The string of JSON value v escaped for a terminal (kt_cli_sanitize): v is replaced in
 * its document by the escaped text, which lives as long as the document.  NULL when v
 * is not a string.  For printing strings read from a database.
 */
const char *kt_cli_jstr(json_t *v);
/* Formats a byte count as "32 KiB", "2.0 MiB". */
const char *kt_cli_bytes(size_t b, char *buf, size_t len);

#endif
