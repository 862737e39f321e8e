/*
 * The exchange format of `ktune export` / `ktune import` and what import and merge share:
 * reading a JSON export into a dump, refusing newer files, merging a dump into a database
 * with a printed report, and the command line of import and merge (tuner/kt_exchange.c).
 *
 * The JSON format ("format": "ktune-export", "format_version": 1):
 *   { "format", "format_version", "schema_version", "ktune_version", "exported_at",
 *     "variants": [ {op, name, version, backend, params} ],
 *     "machines": [ { fingerprint, details {...}, first_seen, last_seen,
 *         "runs": [ {id, started, ended|null, status, ktune_version, options, host, pid} ],
 *         "limits": [ {name, value, measured_at} ],
 *         "measurements": [ {op, m, n, k, variant, version, run|null, samples, median_s,
 *                            spread, min_s, kernel_s, valid, error, gflops, gbs,
 *                            measured_at, batch|null, rounds [float32 seconds...]} ],
 *         "choices": [ {op, m, n, k, rank, variant, version, median_s, margin, run,
 *                       ci_lo|null, ci_hi|null, decision} ],
 *         "profiled_calls": [ {op, m, n, k, calls, total_s, updated} ],
 *         "verifications": [ {run, op, m, n, k, pass, dispatched, dispatched_s, best,
 *                             best_s, ratio, fixed "{...}"|null, seed "decimal"} ] } ] }
 * The members of schema 2 (batch, rounds, ci_lo, ci_hi, decision, verifications) may be
 * missing (files of older exports): they read as none.  A seed is a decimal string (a
 * 64-bit value, which JSON numbers do not carry exactly); fixed is the stored text of a
 * JSON object, as a string, so that it survives a round trip byte for byte.
 * Run ids are local to their machine (1, 2, ... in order of start), so two files with
 * the same content export to the same text.  Reals that are unknown are null; times
 * are ISO 8601 UTC.
 */
#ifndef KT_EXCHANGE_H
#define KT_EXCHANGE_H

#include "kt_db.h"

#define KT_EXPORT_FORMAT "ktune-export"
#define KT_EXPORT_VERSION 1

/*
 * Reads a JSON export (path, or "-" for standard input) into *d, checking its whole
 * shape.  KT_EINVAL with a message naming the file and the place of the first problem.
 */
kt_status kt_exchange_read(const char *path, kt_db_dump *d);

/* Refuses a file of a newer schema: exporting or merging it would drop what we lack. */
int kt_exchange_refuse_newer(kt_db *db, const char *cmd);

/*
 * Merges dump d into the database (dbpath, or the default), creating it if missing; a
 * file created here is removed again when the merge fails.  Prints the report.
 */
int kt_exchange_merge_into(const char *cmd, const char *dbpath, const char *from,
                           kt_db_dump *d, int dry, int json);

/*
 * Parses the options of import and merge: one operand, --db, --dry-run, --json.  Returns
 * -1 to go on, else the exit status (after --help or an error).
 */
int kt_exchange_parse_opts(int argc, char **argv, const char *cmd, const char *help,
                           const char **operand, const char **dbpath, int *dry, int *json);

#endif /* KT_EXCHANGE_H */
