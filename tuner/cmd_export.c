/*
 * `ktune export`, `ktune import`, `ktune merge`: carrying tuning between machines and
 * merging a fleet's files into one.
 *
 * export writes the rows of one or all machines as JSON (the exchange format, below) or
 * CSV (one row per measurement, for spreadsheets).  import reads that JSON, merge reads
 * another database; both hand the rows to kt_db_merge(), which decides duplicates and
 * conflicts deterministically (the newest complete run wins) in one transaction.
 *
 * The JSON format ("format": "ktune-export", "format_version": 1):
 *   { "format", "format_version", "schema_version", "ktune_version", "exported_at",
 *     "variants": [ {op, name, version, backend, params} ],
 *     "machines": [ { fingerprint, details {...}, first_seen, last_seen,
 *         "runs": [ {id, started, ended|null, status, ktune_version, options, host, pid} ],
 *         "limits": [ {name, value, measured_at} ],
 *         "measurements": [ {op, m, n, k, variant, version, run|null, samples, median_s,
 *                            spread, min_s, kernel_s, valid, error, gflops, gbs,
 *                            measured_at} ],
 *         "choices": [ {op, m, n, k, rank, variant, version, median_s, margin, run} ],
 *         "profiled_calls": [ {op, m, n, k, calls, total_s, updated} ] } ] }
 * Run ids are local to their machine (1, 2, ... in order of start), so two files with
 * the same content export to the same text.  Reals that are unknown are null; times
 * are ISO 8601 UTC.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kt_inspect.h"

#define KT_EXPORT_FORMAT "ktune-export"
#define KT_EXPORT_VERSION 1

static const char export_help[] =
    "usage: ktune export [--format json|csv] [--machine FP|all] [--db PATH]\n"
    "                    [--output FILE]\n\n"
    "Writes the tuning of one machine, or of all machines in the database, to\n"
    "standard output (or FILE).  JSON (the default) holds everything: machines,\n"
    "runs, variants, measurements, choices, limits, profiled calls; `ktune import`\n"
    "reads it on another machine.  CSV holds one row per measurement with the\n"
    "machine, the size, the rank and margin when chosen: for spreadsheets (it is\n"
    "not imported).\n\n"
    "  --format json|csv  the output format (default json)\n"
    "  --machine FP|all   one machine (fingerprint, unique prefix or hash suffix)\n"
    "                     or all (default)\n"
    "  --db PATH          the database (default: KTUNE_DB, else\n"
    "                     $XDG_DATA_HOME/ktune/ktune.db,\n"
    "                     else ~/.local/share/ktune/ktune.db)\n"
    "  --output FILE      write to FILE instead of standard output\n"
    "Exit status: 0 success, 1 failure (database, writing), 2 bad command line.\n";

static const char import_help[] =
    "usage: ktune import FILE [--db PATH] [--dry-run] [--json]\n\n"
    "Merges a JSON export (ktune export; FILE - reads standard input) into the\n"
    "database, creating it if needed.  Rows already present are left alone;\n"
    "when the same key holds different values, the row from the newest complete\n"
    "run wins (then the later measurement); nothing else is changed or lost.  The\n"
    "whole file is checked first and lands in one transaction: a bad file writes\n"
    "nothing.  Prints what was added, identical, replaced and kept, and each\n"
    "conflict.\n\n"
    "  --db PATH   the database to merge into (default: KTUNE_DB, else\n"
    "              $XDG_DATA_HOME/ktune/ktune.db or ~/.local/share/ktune/ktune.db)\n"
    "  --dry-run   check and count, change nothing\n"
    "  --json      machine-readable summary\n"
    "Exit status: 0 success, 1 failure (bad file, database), 2 bad command line.\n";

static const char merge_help[] =
    "usage: ktune merge OTHER.db [--db PATH] [--dry-run] [--json]\n\n"
    "Merges another ktune database (a fleet member's file) into this one, with the\n"
    "rules of ktune import: duplicates are recognised, conflicts go to the newest\n"
    "complete run, nothing is lost, all in one transaction.  Merging is\n"
    "idempotent, and for rows that do not conflict the order of merges does not\n"
    "matter.  OTHER.db is only read.\n\n"
    "  --db PATH   the database to merge into (default: KTUNE_DB, else\n"
    "              $XDG_DATA_HOME/ktune/ktune.db or ~/.local/share/ktune/ktune.db)\n"
    "  --dry-run   check and count, change nothing\n"
    "  --json      machine-readable summary\n"
    "Exit status: 0 success, 1 failure (unreadable or newer file, database),\n"
    "2 bad command line.\n";

/* ---- Export ---------------------------------------------------------------- */

/* The local (1-based) id of dump run id among the runs of its machine; 0 for none. */
static json_int_t local_run(const kt_db_dump *d, int64_t run) {
    const kt_db_run_row *r = kt_ins_run(d, run);
    if (!r) return 0;
    json_int_t n = 0;
    for (size_t i = 0; i < d->nruns; i++) {
        if (d->runs[i].machine != r->machine) continue;
        n++;
        if (&d->runs[i] == r) return n;
    }
    return 0;
}

static json_t *run_ref(const kt_db_dump *d, int64_t run) {
    json_int_t l = local_run(d, run);
    return l ? json_integer(l) : json_null();
}

static json_t *opt_str(const char *s) { return s && *s ? json_string(s) : json_null(); }

static json_t *export_json(const kt_db_dump *d, const char *only_fp) {
    json_t *vars = json_array(), *machines = json_array();
    for (size_t i = 0; i < d->nvariants; i++) {
        const kt_db_variant_row *v = &d->variants[i];
        json_array_append_new(vars, json_pack("{s:s, s:s, s:I, s:s, s:s}", "op", v->op, "name",
                                              v->name, "version", (json_int_t)v->version,
                                              "backend", v->backend, "params", v->params));
    }
    for (size_t mi = 0; mi < d->nmachines; mi++) {
        const kt_db_machine_row *ma = &d->machines[mi];
        if (only_fp && strcmp(ma->fingerprint, only_fp)) continue;
        json_t *runs = json_array(), *limits = json_array(), *ms = json_array();
        json_t *ch = json_array(), *prof = json_array();
        json_int_t local = 0;
        for (size_t i = 0; i < d->nruns; i++) {
            const kt_db_run_row *r = &d->runs[i];
            if (r->machine != ma->id) continue;
            json_array_append_new(
                runs, json_pack("{s:I, s:s, s:o, s:s, s:s, s:s, s:s, s:I}", "id", ++local,
                                "started", r->started, "ended", opt_str(r->ended), "status",
                                r->status, "ktune_version", r->ktune_version, "options",
                                r->options ? r->options : "", "host", r->host, "pid",
                                (json_int_t)r->pid));
        }
        for (size_t i = 0; i < d->nlimits; i++) {
            const kt_db_limit_row *l = &d->limits[i];
            if (l->machine != ma->id) continue;
            json_array_append_new(limits, json_pack("{s:s, s:f, s:s}", "name", l->name, "value",
                                                    l->value, "measured_at", l->measured_at));
        }
        for (size_t i = 0; i < d->nmeasurements; i++) {
            const kt_db_measurement *m = &d->measurements[i];
            if (m->machine != ma->id) continue;
            json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:s, s:I, s:o, s:i}", "op", m->op, "m",
                                  (json_int_t)m->m, "n", (json_int_t)m->n, "k",
                                  (json_int_t)m->k, "variant", m->variant, "version",
                                  (json_int_t)m->version, "run", run_ref(d, m->run),
                                  "samples", m->samples);
            json_object_set_new(j, "median_s", kt_ins_json_real(m->median_s));
            json_object_set_new(j, "spread", kt_ins_json_real(m->spread));
            json_object_set_new(j, "min_s", kt_ins_json_real(m->min_s));
            json_object_set_new(j, "kernel_s", kt_ins_json_real(m->kernel_s));
            json_object_set_new(j, "valid", json_boolean(m->valid));
            json_object_set_new(j, "error", opt_str(m->error));
            json_object_set_new(j, "gflops", kt_ins_json_real(m->gflops));
            json_object_set_new(j, "gbs", kt_ins_json_real(m->gbs));
            json_object_set_new(j, "measured_at", json_string(m->measured_at));
            json_array_append_new(ms, j);
        }
        for (size_t i = 0; i < d->nchoices; i++) {
            const kt_db_choice_row *c = &d->choices[i];
            if (c->machine != ma->id) continue;
            json_array_append_new(
                ch, json_pack("{s:s, s:I, s:I, s:I, s:i, s:s, s:I, s:o, s:o, s:o}", "op", c->op,
                              "m", (json_int_t)c->c.m, "n", (json_int_t)c->c.n, "k",
                              (json_int_t)c->c.k, "rank", c->c.rank, "variant", c->c.variant,
                              "version", (json_int_t)c->c.version, "median_s",
                              kt_ins_json_real(c->c.median_s), "margin",
                              kt_ins_json_real(c->c.margin), "run", run_ref(d, c->run)));
        }
        for (size_t i = 0; i < d->nprofiles; i++) {
            const kt_db_profile_row *p = &d->profiles[i];
            if (p->machine != ma->id) continue;
            json_array_append_new(
                prof, json_pack("{s:s, s:I, s:I, s:I, s:I, s:f, s:s}", "op", p->op, "m",
                                (json_int_t)p->m, "n", (json_int_t)p->n, "k", (json_int_t)p->k,
                                "calls", (json_int_t)p->calls, "total_s", p->total_s,
                                "updated", p->updated));
        }
        json_error_t err;
        json_t *details = json_loads(ma->details ? ma->details : "{}", 0, &err);
        json_array_append_new(
            machines, json_pack("{s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "fingerprint",
                                ma->fingerprint, "details", details ? details : json_object(),
                                "first_seen", ma->first_seen, "last_seen", ma->last_seen,
                                "runs", runs, "limits", limits, "measurements", ms, "choices",
                                ch, "profiled_calls", prof));
    }
    char now[32];
    time_t t = time(NULL);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    return json_pack("{s:s, s:i, s:i, s:s, s:s, s:o, s:o}", "format", KT_EXPORT_FORMAT,
                     "format_version", KT_EXPORT_VERSION, "schema_version", KT_DB_SCHEMA_VERSION,
                     "ktune_version", kt_version(), "exported_at", now, "variants", vars,
                     "machines", machines);
}

/* Writes s as one CSV field (RFC 4180: quoted when it holds , " or a line break). */
static void csv_field(FILE *f, const char *s, int last) {
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"') fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

static void csv_real(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.17g", v);
    fputc(',', f);
}

static int export_csv(FILE *f, const kt_db_dump *d, const char *only_fp) {
    fputs("machine,op,m,n,k,variant,version,valid,samples,median_s,spread,min_s,kernel_s,"
          "gflops,gbs,rank,margin,run_started,run_status,measured_at,error\n", f);
    for (size_t i = 0; i < d->nmeasurements; i++) {
        const kt_db_measurement *m = &d->measurements[i];
        const kt_db_machine_row *ma = NULL;
        for (size_t k = 0; k < d->nmachines && !ma; k++)
            if (d->machines[k].id == m->machine) ma = &d->machines[k];
        if (!ma || (only_fp && strcmp(ma->fingerprint, only_fp))) continue;
        const kt_db_choice_row *c = NULL;
        for (size_t k = 0; k < d->nchoices && !c; k++) {
            const kt_db_choice_row *x = &d->choices[k];
            if (x->machine == m->machine && x->c.m == m->m && x->c.n == m->n &&
                x->c.k == m->k && x->c.version == m->version && !strcmp(x->op, m->op) &&
                !strcmp(x->c.variant, m->variant))
                c = x;
        }
        const kt_db_run_row *r = kt_ins_run(d, m->run);
        csv_field(f, ma->fingerprint, 0);
        csv_field(f, m->op, 0);
        fprintf(f, "%zu,%zu,%zu,", m->m, m->n, m->k);
        csv_field(f, m->variant, 0);
        fprintf(f, "%u,%d,%d,", m->version, m->valid, m->samples);
        csv_real(f, m->median_s);
        csv_real(f, m->spread);
        csv_real(f, m->min_s);
        csv_real(f, m->kernel_s);
        csv_real(f, m->gflops);
        csv_real(f, m->gbs);
        if (c) fprintf(f, "%d", c->c.rank);
        fputc(',', f);
        csv_real(f, c ? c->c.margin : NAN);
        csv_field(f, r ? r->started : "", 0);
        csv_field(f, r ? r->status : "", 0);
        csv_field(f, m->measured_at, 0);
        csv_field(f, m->error, 1);
    }
    return ferror(f) ? -1 : 0;
}

/* Resolves --machine against the machines of d: the fingerprint, or NULL for all. */
static int resolve_machine(const kt_db_dump *d, const char *pattern, const char *cmd,
                           const char **fp) {
    *fp = NULL;
    if (!pattern || !strcmp(pattern, "all")) return KT_EXIT_OK;
    int found = 0;
    for (size_t i = 0; i < d->nmachines; i++) {
        if (!strcmp(d->machines[i].fingerprint, pattern)) {
            *fp = d->machines[i].fingerprint;
            return KT_EXIT_OK;
        }
        if (kt_ins_fp_match(d->machines[i].fingerprint, pattern)) {
            found++;
            *fp = d->machines[i].fingerprint;
        }
    }
    if (found == 1) return KT_EXIT_OK;
    return kt_cli_error(KT_EXIT_FAIL, cmd, "%s machine '%s' in the database",
                        found ? "more than one" : "no", pattern);
}

/* Refuses a file of a newer schema: exporting or merging it would drop what we lack. */
static int refuse_newer(kt_db *db, const char *cmd) {
    if (kt_db_version(db) <= KT_DB_SCHEMA_VERSION) return KT_EXIT_OK;
    return kt_cli_error(KT_EXIT_FAIL, cmd,
                        "%s has schema version %d, newer than this ktune's (%d): use a newer "
                        "ktune (this one would drop what it does not know)",
                        kt_db_path(db), kt_db_version(db), KT_DB_SCHEMA_VERSION);
}

int kt_cmd_export(int argc, char **argv) {
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'}, {"machine", required_argument, NULL, 'm'},
        {"db", required_argument, NULL, 'd'},     {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *format = "json", *machine = NULL, *dbpath = NULL, *output = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 'm': machine = optarg; break;
        case 'd': dbpath = optarg; break;
        case 'o': output = optarg; break;
        case 'h': fputs(export_help, stdout); return KT_EXIT_OK;
        default:
            return kt_cli_error(KT_EXIT_USAGE, "export", "bad option '%s' (see --help)",
                                argv[optind - 1]);
        }
    }
    if (optind < argc)
        return kt_cli_error(KT_EXIT_USAGE, "export", "unexpected argument '%s'", argv[optind]);
    int csv = !strcmp(format, "csv");
    if (!csv && strcmp(format, "json"))
        return kt_cli_error(KT_EXIT_USAGE, "export", "--format is json or csv, not '%s'",
                            format);
    if (machine && !*machine)
        return kt_cli_error(KT_EXIT_USAGE, "export", "--machine needs a fingerprint or all");
    kt_db *db;
    int rc = kt_ins_open("export", dbpath, &db);
    if (rc != KT_EXIT_OK) return rc;
    if ((rc = refuse_newer(db, "export")) != KT_EXIT_OK) {
        kt_db_close(db);
        return rc;
    }
    kt_db_dump d;
    if (kt_db_dump_read(db, NULL, KT_DB_DUMP_ALL, &d) != KT_OK) {
        rc = kt_cli_error(KT_EXIT_FAIL, "export", "%s", kt_last_error());
        kt_db_close(db);
        return rc;
    }
    kt_db_close(db);
    const char *found;
    char fpbuf[KT_DB_FP_MAX], *fp = NULL;
    rc = resolve_machine(&d, machine, "export", &found);
    if (rc == KT_EXIT_OK && found) {
        snprintf(fpbuf, sizeof fpbuf, "%s", found); /* d is replaced below */
        fp = fpbuf;
        /* the variants of that machine only */
        kt_db_dump one;
        kt_db *again;
        rc = kt_ins_open("export", dbpath, &again);
        if (rc == KT_EXIT_OK) {
            if (kt_db_dump_read(again, fp, KT_DB_DUMP_ALL, &one) != KT_OK)
                rc = kt_cli_error(KT_EXIT_FAIL, "export", "%s", kt_last_error());
            kt_db_close(again);
        }
        if (rc == KT_EXIT_OK) {
            kt_db_dump_free(&d);
            d = one;
        }
    }
    FILE *f = stdout;
    char tmp[4200] = "";
    if (rc == KT_EXIT_OK && output && strcmp(output, "-")) {
        snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", output);
        int fd = mkstemp(tmp);
        f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!f) {
            if (fd >= 0) close(fd), unlink(tmp);
            rc = kt_cli_error(KT_EXIT_FAIL, "export", "cannot write %s: %s", output,
                              strerror(errno));
            tmp[0] = '\0';
        }
    }
    if (rc == KT_EXIT_OK) {
        int bad;
        if (csv) {
            bad = export_csv(f, &d, fp);
        } else {
            json_t *doc = export_json(&d, fp);
            bad = !doc || json_dumpf(doc, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER) != 0;
            if (!bad) fputc('\n', f);
            json_decref(doc);
        }
        bad |= fflush(f) != 0 || ferror(f);
        if (tmp[0]) {
            bad |= fclose(f) != 0;
            if (!bad && (chmod(tmp, 0644) != 0 || rename(tmp, output) != 0)) bad = 1;
            if (bad) unlink(tmp);
        }
        if (bad)
            rc = kt_cli_error(KT_EXIT_FAIL, "export", "cannot write %s",
                              output ? output : "standard output");
    }
    kt_db_dump_free(&d);
    return rc;
}

/* ---- Reading a JSON export -------------------------------------------------- */

/* Where in the document a value is, for messages: "machines[0].runs[2].started". */
typedef struct jpath {
    const char *file;
    char at[160];
} jpath;

static int jfail(const jpath *p, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int jfail(const jpath *p, const char *key, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kt_fail(KT_EINVAL, "%s: %s%s%s: %s", p->file, p->at, *p->at && key ? "." : "",
            key ? key : "", msg);
    return -1;
}

/* A string member into dst[len]; null_ok: null or missing gives "". */
static int jstr(const jpath *p, json_t *o, const char *key, char *dst, size_t len, int null_ok) {
    json_t *v = json_object_get(o, key);
    if ((!v || json_is_null(v)) && null_ok) {
        dst[0] = '\0';
        return 0;
    }
    if (!json_is_string(v)) return jfail(p, key, v ? "expected a string" : "missing");
    if (json_string_length(v) >= len) return jfail(p, key, "longer than %zu bytes", len - 1);
    if (!null_ok && !json_string_length(v)) return jfail(p, key, "empty");
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

/* An integer member >= min. */
static int jint(const jpath *p, json_t *o, const char *key, long long min, long long *out) {
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v)) return jfail(p, key, v ? "expected an integer" : "missing");
    if (json_integer_value(v) < min) return jfail(p, key, "must be at least %lld", min);
    *out = json_integer_value(v);
    return 0;
}

/* A real member (an integer is fine); null_ok: null or missing gives NAN. */
static int jreal(const jpath *p, json_t *o, const char *key, int null_ok, double *out) {
    json_t *v = json_object_get(o, key);
    if ((!v || json_is_null(v)) && null_ok) {
        *out = NAN;
        return 0;
    }
    if (!json_is_number(v)) return jfail(p, key, v ? "expected a number" : "missing");
    *out = json_number_value(v);
    if (!isfinite(*out)) return jfail(p, key, "not a finite number");
    return 0;
}

/* An array member (missing: an empty array, when optional). */
static int jarr(const jpath *p, json_t *o, const char *key, int optional, json_t **out) {
    json_t *v = json_object_get(o, key);
    if (!v && optional) {
        *out = NULL;
        return 0;
    }
    if (!json_is_array(v)) return jfail(p, key, v ? "expected an array" : "missing");
    *out = v;
    return 0;
}

static int jsize(const jpath *p, json_t *o, const char *key, size_t *out) {
    long long v;
    if (jint(p, o, key, 0, &v)) return -1;
    *out = (size_t)v;
    return 0;
}

/* Enters element i of array `name` (saving the old path in save). */
static void jenter(jpath *p, const char *name, size_t i, char *save, size_t len) {
    snprintf(save, len, "%s", p->at);
    size_t l = strlen(p->at);
    snprintf(p->at + l, sizeof p->at - l, "%s%s[%zu]", l ? "." : "", name, i);
}

static int has_variant(const kt_db_dump *d, const char *op, const char *name, unsigned version) {
    for (size_t i = 0; i < d->nvariants; i++)
        if (d->variants[i].version == version && !strcmp(d->variants[i].op, op) &&
            !strcmp(d->variants[i].name, name))
            return 1;
    return 0;
}

/* The global run id of a machine's local run reference (json null: 0). */
static int jrun(const jpath *p, json_t *o, const kt_db_dump *d, int64_t machine,
                const long long *local, size_t nlocal, size_t first, int64_t *out) {
    json_t *v = json_object_get(o, "run");
    *out = 0;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v)) return jfail(p, "run", "expected a run id or null");
    for (size_t i = 0; i < nlocal; i++)
        if (local[i] == json_integer_value(v)) {
            *out = d->runs[first + i].id;
            return 0;
        }
    (void)machine;
    return jfail(p, "run", "no run %lld in this machine's \"runs\"",
                 (long long)json_integer_value(v));
}

/* Fills the stored m, n, k of o (integers >= 0). */
static int jdims(const jpath *p, json_t *o, size_t *m, size_t *n, size_t *k) {
    return jsize(p, o, "m", m) || jsize(p, o, "n", n) || jsize(p, o, "k", k);
}

/* Reads one machine object of the export into d (machine id mid). */
static int read_machine(jpath *p, json_t *jm, int64_t mid, kt_db_dump *d) {
    char save[160];
    if (!json_is_object(jm)) return jfail(p, NULL, "expected an object");
    kt_db_machine_row *ma = kt_db_dump_grow((void **)&d->machines, &d->nmachines, sizeof *ma);
    if (!ma) return jfail(p, NULL, "out of memory");
    ma->id = mid;
    if (jstr(p, jm, "fingerprint", ma->fingerprint, sizeof ma->fingerprint, 0) ||
        jstr(p, jm, "first_seen", ma->first_seen, sizeof ma->first_seen, 0) ||
        jstr(p, jm, "last_seen", ma->last_seen, sizeof ma->last_seen, 0))
        return -1;
    json_t *det = json_object_get(jm, "details");
    if (det && !json_is_object(det)) return jfail(p, "details", "expected an object");
    ma->details = det ? json_dumps(det, JSON_COMPACT | JSON_PRESERVE_ORDER) : strdup("{}");
    if (!ma->details) return jfail(p, "details", "out of memory");

    json_t *arr, *o;
    size_t i;
    /* runs: local ids must be unique */
    if (jarr(p, jm, "runs", 1, &arr)) return -1;
    size_t first = d->nruns, nlocal = json_array_size(arr);
    long long *local = calloc(nlocal ? nlocal : 1, sizeof *local);
    if (!local) return jfail(p, NULL, "out of memory");
    int bad = 0;
    json_array_foreach(arr, i, o) {
        jenter(p, "runs", i, save, sizeof save);
        kt_db_run_row *r = kt_db_dump_grow((void **)&d->runs, &d->nruns, sizeof *r);
        long long pid;
        char opts[4096];
        if (!r) {
            bad = jfail(p, NULL, "out of memory");
        } else if (!json_is_object(o)) {
            bad = jfail(p, NULL, "expected an object");
        } else if (jint(p, o, "id", 1, &local[i]) ||
                   jstr(p, o, "started", r->started, sizeof r->started, 0) ||
                   jstr(p, o, "ended", r->ended, sizeof r->ended, 1) ||
                   jstr(p, o, "status", r->status, sizeof r->status, 0) ||
                   jstr(p, o, "ktune_version", r->ktune_version, sizeof r->ktune_version, 0) ||
                   jstr(p, o, "options", opts, sizeof opts, 1) ||
                   jstr(p, o, "host", r->host, sizeof r->host, 1) || jint(p, o, "pid", 0, &pid)) {
            bad = -1;
        } else {
            r->id = (int64_t)d->nruns; /* global: its position, 1-based */
            r->machine = mid;
            r->pid = pid;
            r->options = strdup(opts);
            if (!r->options) bad = jfail(p, NULL, "out of memory");
            if (!bad && strcmp(r->status, "complete") && strcmp(r->status, "running") &&
                strcmp(r->status, "interrupted") && strcmp(r->status, "failed"))
                bad = jfail(p, "status", "'%s' is not complete, interrupted, failed or running",
                            r->status);
            for (size_t q = 0; !bad && q < i; q++)
                if (local[q] == local[i]) bad = jfail(p, "id", "run id %lld repeats", local[i]);
        }
        snprintf(p->at, sizeof p->at, "%s", save);
        if (bad) break;
    }
    if (!bad && jarr(p, jm, "limits", 1, &arr)) bad = -1;
    json_array_foreach(arr, i, o) {
        if (bad) break;
        jenter(p, "limits", i, save, sizeof save);
        kt_db_limit_row *l = kt_db_dump_grow((void **)&d->limits, &d->nlimits, sizeof *l);
        if (!l)
            bad = jfail(p, NULL, "out of memory");
        else if (!json_is_object(o))
            bad = jfail(p, NULL, "expected an object");
        else if (jstr(p, o, "name", l->name, sizeof l->name, 0) ||
                 jreal(p, o, "value", 0, &l->value) ||
                 jstr(p, o, "measured_at", l->measured_at, sizeof l->measured_at, 0))
            bad = -1;
        else
            l->machine = mid;
        snprintf(p->at, sizeof p->at, "%s", save);
    }
    if (!bad && jarr(p, jm, "measurements", 1, &arr)) bad = -1;
    json_array_foreach(arr, i, o) {
        if (bad) break;
        jenter(p, "measurements", i, save, sizeof save);
        kt_db_measurement *m =
            kt_db_dump_grow((void **)&d->measurements, &d->nmeasurements, sizeof *m);
        long long ver, samples;
        json_t *valid = json_object_get(o, "valid");
        if (!m) {
            bad = jfail(p, NULL, "out of memory");
        } else if (!json_is_object(o)) {
            bad = jfail(p, NULL, "expected an object");
        } else if (jstr(p, o, "op", m->op, sizeof m->op, 0) || jdims(p, o, &m->m, &m->n, &m->k) ||
                   jstr(p, o, "variant", m->variant, sizeof m->variant, 0) ||
                   jint(p, o, "version", 0, &ver) || jint(p, o, "samples", 0, &samples) ||
                   jreal(p, o, "median_s", 1, &m->median_s) ||
                   jreal(p, o, "spread", 1, &m->spread) || jreal(p, o, "min_s", 1, &m->min_s) ||
                   jreal(p, o, "kernel_s", 1, &m->kernel_s) ||
                   jstr(p, o, "error", m->error, sizeof m->error, 1) ||
                   jreal(p, o, "gflops", 1, &m->gflops) || jreal(p, o, "gbs", 1, &m->gbs) ||
                   jstr(p, o, "measured_at", m->measured_at, sizeof m->measured_at, 0) ||
                   jrun(p, o, d, mid, local, nlocal, first, &m->run)) {
            bad = -1;
        } else if (!json_is_boolean(valid)) {
            bad = jfail(p, "valid", valid ? "expected true or false" : "missing");
        } else {
            m->machine = mid;
            m->version = (unsigned)ver;
            m->samples = samples > 0x7fffffff ? 0x7fffffff : (int)samples;
            m->valid = json_is_true(valid);
            if (ver > 0xffffffffll)
                bad = jfail(p, "version", "too large");
            else if (m->valid && isnan(m->median_s))
                bad = jfail(p, "median_s", "a valid measurement needs a median");
            else if (!has_variant(d, m->op, m->variant, m->version))
                bad = jfail(p, NULL, "variant %s/%s v%u is not in \"variants\"", m->op,
                            m->variant, m->version);
        }
        snprintf(p->at, sizeof p->at, "%s", save);
    }
    if (!bad && jarr(p, jm, "choices", 1, &arr)) bad = -1;
    json_array_foreach(arr, i, o) {
        if (bad) break;
        jenter(p, "choices", i, save, sizeof save);
        kt_db_choice_row *c = kt_db_dump_grow((void **)&d->choices, &d->nchoices, sizeof *c);
        long long ver, rank;
        if (!c) {
            bad = jfail(p, NULL, "out of memory");
        } else if (!json_is_object(o)) {
            bad = jfail(p, NULL, "expected an object");
        } else if (jstr(p, o, "op", c->op, sizeof c->op, 0) ||
                   jdims(p, o, &c->c.m, &c->c.n, &c->c.k) || jint(p, o, "rank", 1, &rank) ||
                   jstr(p, o, "variant", c->c.variant, sizeof c->c.variant, 0) ||
                   jint(p, o, "version", 0, &ver) || jreal(p, o, "median_s", 0, &c->c.median_s) ||
                   jreal(p, o, "margin", 1, &c->c.margin) ||
                   jrun(p, o, d, mid, local, nlocal, first, &c->run)) {
            bad = -1;
        } else {
            c->machine = mid;
            c->c.rank = rank > 0x7fffffff ? 0x7fffffff : (int)rank;
            c->c.version = (unsigned)ver;
            if (ver > 0xffffffffll)
                bad = jfail(p, "version", "too large");
            else if (!has_variant(d, c->op, c->c.variant, c->c.version))
                bad = jfail(p, NULL, "variant %s/%s v%u is not in \"variants\"", c->op,
                            c->c.variant, c->c.version);
        }
        snprintf(p->at, sizeof p->at, "%s", save);
    }
    if (!bad && jarr(p, jm, "profiled_calls", 1, &arr)) bad = -1;
    json_array_foreach(arr, i, o) {
        if (bad) break;
        jenter(p, "profiled_calls", i, save, sizeof save);
        kt_db_profile_row *r = kt_db_dump_grow((void **)&d->profiles, &d->nprofiles, sizeof *r);
        long long calls;
        if (!r)
            bad = jfail(p, NULL, "out of memory");
        else if (!json_is_object(o))
            bad = jfail(p, NULL, "expected an object");
        else if (jstr(p, o, "op", r->op, sizeof r->op, 0) || jdims(p, o, &r->m, &r->n, &r->k) ||
                 jint(p, o, "calls", 0, &calls) || jreal(p, o, "total_s", 0, &r->total_s) ||
                 jstr(p, o, "updated", r->updated, sizeof r->updated, 0))
            bad = -1;
        else
            r->machine = mid, r->calls = calls;
        snprintf(p->at, sizeof p->at, "%s", save);
    }
    free(local);
    return bad ? -1 : 0;
}

/* Sorts choices by machine, op, m, n, k, rank: kt_db_merge() takes them as sets. */
static int cmp_choice_row(const void *a, const void *b) {
    const kt_db_choice_row *x = a, *y = b;
    int c = (x->machine > y->machine) - (x->machine < y->machine);
    if (!c) c = strcmp(x->op, y->op);
    if (!c) c = (x->c.m > y->c.m) - (x->c.m < y->c.m);
    if (!c) c = (x->c.n > y->c.n) - (x->c.n < y->c.n);
    if (!c) c = (x->c.k > y->c.k) - (x->c.k < y->c.k);
    if (!c) c = x->c.rank - y->c.rank;
    return c;
}

/*
 * Reads a JSON export (path, or "-" for standard input) into *d, checking its whole
 * shape.  KT_EINVAL with a message naming the file and the place of the first problem.
 */
static kt_status read_export(const char *path, kt_db_dump *d) {
    memset(d, 0, sizeof *d);
    json_error_t err;
    json_t *doc = !strcmp(path, "-") ? json_loadf(stdin, 0, &err) : json_load_file(path, 0, &err);
    if (!doc) {
        if (err.line < 0 && strcmp(path, "-"))
            return kt_fail(KT_EIO, "%s: %s", path, err.text);
        return kt_fail(KT_EINVAL, "%s: not valid JSON (line %d, column %d: %s)", path, err.line,
                       err.column, err.text);
    }
    jpath p = {.file = strcmp(path, "-") ? path : "standard input", .at = ""};
    int bad = 0;
    const char *fmt = json_string_value(json_object_get(doc, "format"));
    json_t *ver = json_object_get(doc, "format_version");
    json_t *vars, *machines;
    if (!json_is_object(doc) || !fmt || strcmp(fmt, KT_EXPORT_FORMAT)) {
        bad = jfail(&p, NULL, "not a ktune export (no \"format\": \"%s\")", KT_EXPORT_FORMAT);
    } else if (!json_is_integer(ver) || json_integer_value(ver) < 1) {
        bad = jfail(&p, "format_version", "missing or not a positive integer");
    } else if (json_integer_value(ver) > KT_EXPORT_VERSION) {
        bad = jfail(&p, "format_version",
                    "%lld is newer than this ktune reads (%d): import it with a newer ktune",
                    (long long)json_integer_value(ver), KT_EXPORT_VERSION);
    } else if (jarr(&p, doc, "variants", 0, &vars) || jarr(&p, doc, "machines", 0, &machines)) {
        bad = -1;
    }
    size_t i;
    json_t *o;
    char save[160];
    if (!bad) {
        json_array_foreach(vars, i, o) {
            jenter(&p, "variants", i, save, sizeof save);
            kt_db_variant_row *v = kt_db_dump_grow((void **)&d->variants, &d->nvariants,
                                                   sizeof *v);
            long long version;
            if (!v)
                bad = jfail(&p, NULL, "out of memory");
            else if (!json_is_object(o))
                bad = jfail(&p, NULL, "expected an object");
            else if (jstr(&p, o, "op", v->op, sizeof v->op, 0) ||
                     jstr(&p, o, "name", v->name, sizeof v->name, 0) ||
                     jint(&p, o, "version", 0, &version) ||
                     jstr(&p, o, "backend", v->backend, sizeof v->backend, 0) ||
                     jstr(&p, o, "params", v->params, sizeof v->params, 1))
                bad = -1;
            else if (version > 0xffffffffll)
                bad = jfail(&p, "version", "too large");
            else
                v->version = (unsigned)version;
            snprintf(p.at, sizeof p.at, "%s", save);
            if (bad) break;
        }
    }
    if (!bad) {
        json_array_foreach(machines, i, o) {
            jenter(&p, "machines", i, save, sizeof save);
            bad = read_machine(&p, o, (int64_t)i + 1, d);
            snprintf(p.at, sizeof p.at, "%s", save);
            if (bad) break;
            for (size_t q = 0; q + 1 < d->nmachines; q++)
                if (!strcmp(d->machines[q].fingerprint, d->machines[d->nmachines - 1].fingerprint)) {
                    jenter(&p, "machines", i, save, sizeof save);
                    bad = jfail(&p, "fingerprint", "appears twice");
                    break;
                }
            if (bad) break;
        }
    }
    json_decref(doc);
    if (bad) {
        kt_db_dump_free(d);
        return KT_EINVAL;
    }
    qsort(d->choices, d->nchoices, sizeof *d->choices, cmp_choice_row);
    return KT_OK;
}

/* ---- Import and merge ---------------------------------------------------- */

static void print_report(const char *cmd, const char *from, const char *into, int dry,
                         const kt_db_merge_report *r) {
    char lead[32], text[8400];
    snprintf(lead, sizeof lead, "ktune %s:", cmd);
    snprintf(text, sizeof text, "%s into %s%s", from, into, dry ? " (dry run: nothing changed)" : "");
    kt_ins_wrap(lead, (int)strlen(lead) + 1, text);
    printf("  %-16s %8s %10s %9s %6s\n", "", "added", "identical", "replaced", "kept");
    const struct {
        const char *name;
        const kt_db_merge_count *c;
    } rows[] = {{"machines", &r->machines},          {"runs", &r->runs},
                {"variants", &r->variants},          {"measurements", &r->measurements},
                {"choice sets", &r->choices},        {"limits", &r->limits},
                {"profiled calls", &r->profiles}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        printf("  %-16s %8d %10d %9d %6d\n", rows[i].name, rows[i].c->added, rows[i].c->identical,
               rows[i].c->replaced, rows[i].c->kept);
    if (!r->nconflicts) {
        printf("no conflicts\n");
        return;
    }
    printf("%zu conflict%s (same key, different values; the newest complete run wins):\n",
           r->nconflicts, r->nconflicts == 1 ? "" : "s");
    size_t shown = r->nconflicts > 20 ? 20 : r->nconflicts;
    for (size_t i = 0; i < shown; i++) {
        const kt_db_conflict *c = &r->conflicts[i];
        snprintf(lead, sizeof lead, "  %s", c->table);
        snprintf(text, sizeof text, "%s: %s (%s)", c->key,
                 c->incoming_won ? "incoming row won" : "existing row kept", c->why);
        kt_ins_wrap(lead, 17, text);
    }
    if (shown < r->nconflicts)
        printf("  ... and %zu more (--json lists them all)\n", r->nconflicts - shown);
}

static json_t *count_json(const kt_db_merge_count *c) {
    return json_pack("{s:i, s:i, s:i, s:i}", "added", c->added, "identical", c->identical,
                     "replaced", c->replaced, "kept", c->kept);
}

static json_t *report_json(const char *cmd, const char *from, const char *into, int dry,
                           const kt_db_merge_report *r) {
    json_t *conf = json_array();
    for (size_t i = 0; i < r->nconflicts; i++)
        json_array_append_new(conf, json_pack("{s:s, s:s, s:s, s:s}", "table",
                                              r->conflicts[i].table, "key", r->conflicts[i].key,
                                              "winner",
                                              r->conflicts[i].incoming_won ? "incoming"
                                                                           : "existing",
                                              "why", r->conflicts[i].why));
    return json_pack("{s:s, s:s, s:s, s:b, s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o}, s:o}",
                     "command", cmd, "from", from, "into", into, "dry_run", dry, "counts",
                     "machines", count_json(&r->machines), "runs", count_json(&r->runs),
                     "variants", count_json(&r->variants), "measurements",
                     count_json(&r->measurements), "choices", count_json(&r->choices), "limits",
                     count_json(&r->limits), "profiled_calls", count_json(&r->profiles),
                     "conflicts", conf);
}

/*
 * Merges dump d into the database (dbpath, or the default), creating it if missing; a
 * file created here is removed again when the merge fails.  Prints the report.
 */
static int merge_into(const char *cmd, const char *dbpath, const char *from, kt_db_dump *d,
                      int dry, int json) {
    char path[4096];
    if (!dbpath || !*dbpath) {
        if (kt_db_default_path(path, sizeof path, 1) != KT_OK)
            return kt_cli_error(KT_EXIT_FAIL, cmd, "%s", kt_last_error());
    } else {
        snprintf(path, sizeof path, "%s", dbpath);
    }
    struct stat st;
    int existed = stat(path, &st) == 0;
    if (!existed && dry) {
        /* nothing to compare with: everything would be added */
        kt_db_merge_report r = {0};
        r.machines.added = (int)d->nmachines, r.runs.added = (int)d->nruns;
        r.variants.added = (int)d->nvariants, r.measurements.added = (int)d->nmeasurements;
        r.limits.added = (int)d->nlimits, r.profiles.added = (int)d->nprofiles;
        for (size_t i = 0; i < d->nchoices; i++)
            r.choices.added += i == 0 || d->choices[i].machine != d->choices[i - 1].machine ||
                               strcmp(d->choices[i].op, d->choices[i - 1].op) != 0;
        if (json) return kt_cli_json_out(report_json(cmd, from, path, dry, &r));
        print_report(cmd, from, path, dry, &r);
        return KT_EXIT_OK;
    }
    kt_db *db;
    if (kt_db_open_write(path, &db) != KT_OK)
        return kt_cli_error(KT_EXIT_FAIL, cmd, "%s", kt_last_error());
    kt_db_merge_report r;
    kt_status s = kt_db_merge(db, d, dry, &r);
    char msg[600] = "";
    if (s != KT_OK) snprintf(msg, sizeof msg, "%s", kt_last_error());
    kt_status cs = kt_db_close(db);
    if (s == KT_OK && cs != KT_OK) {
        s = cs;
        snprintf(msg, sizeof msg, "%s", kt_last_error());
    }
    if (s != KT_OK) {
        if (!existed) {
            /* leave no trace of a database this command created */
            char side[4200];
            unlink(path);
            snprintf(side, sizeof side, "%s-wal", path);
            unlink(side);
            snprintf(side, sizeof side, "%s-shm", path);
            unlink(side);
        }
        kt_db_merge_report_free(&r);
        return kt_cli_error(KT_EXIT_FAIL, cmd, "%s; nothing was changed", msg);
    }
    int rc = KT_EXIT_OK;
    if (json)
        rc = kt_cli_json_out(report_json(cmd, from, path, dry, &r));
    else
        print_report(cmd, from, path, dry, &r);
    kt_db_merge_report_free(&r);
    return rc;
}

/* Parses the options of import and merge: one operand, --db, --dry-run, --json. */
static int parse_merge_opts(int argc, char **argv, const char *cmd, const char *help,
                            const char **operand, const char **dbpath, int *dry, int *json) {
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"dry-run", no_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': *dbpath = optarg; break;
        case 'n': *dry = 1; break;
        case 'j': *json = 1; break;
        case 'h': fputs(help, stdout); return KT_EXIT_OK;
        default:
            return kt_cli_error(KT_EXIT_USAGE, cmd, "bad option '%s' (see --help)",
                                argv[optind - 1]);
        }
    }
    if (optind >= argc) return kt_cli_error(KT_EXIT_USAGE, cmd, "which file? (see --help)");
    if (optind + 1 < argc)
        return kt_cli_error(KT_EXIT_USAGE, cmd, "unexpected argument '%s'", argv[optind + 1]);
    *operand = argv[optind];
    return -1;
}

int kt_cmd_import(int argc, char **argv) {
    const char *file = NULL, *dbpath = NULL;
    int dry = 0, json = 0;
    int rc = parse_merge_opts(argc, argv, "import", import_help, &file, &dbpath, &dry, &json);
    if (rc >= 0) return rc;
    kt_db_dump d;
    if (read_export(file, &d) != KT_OK)
        return kt_cli_error(KT_EXIT_FAIL, "import", "%s; nothing was written", kt_last_error());
    rc = merge_into("import", dbpath, file, &d, dry, json);
    kt_db_dump_free(&d);
    return rc;
}

int kt_cmd_merge(int argc, char **argv) {
    const char *other = NULL, *dbpath = NULL;
    int dry = 0, json = 0;
    int rc = parse_merge_opts(argc, argv, "merge", merge_help, &other, &dbpath, &dry, &json);
    if (rc >= 0) return rc;
    kt_db *src;
    struct stat st;
    if (stat(other, &st) != 0)
        return kt_cli_error(KT_EXIT_FAIL, "merge", "no database at %s", other);
    if (kt_db_open_read(other, &src) != KT_OK)
        return kt_cli_error(KT_EXIT_FAIL, "merge", "%s", kt_last_error());
    if ((rc = refuse_newer(src, "merge")) != KT_EXIT_OK) {
        kt_db_close(src);
        return rc;
    }
    kt_db_dump d;
    kt_status s = kt_db_dump_read(src, NULL, KT_DB_DUMP_ALL, &d);
    if (s != KT_OK) {
        rc = kt_cli_error(KT_EXIT_FAIL, "merge", "%s", kt_last_error());
        kt_db_close(src);
        return rc;
    }
    kt_db_close(src);
    rc = merge_into("merge", dbpath, other, &d, dry, json);
    kt_db_dump_free(&d);
    return rc;
}
