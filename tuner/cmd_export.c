/*
 * `ktune export`: writing the tuning of one or all machines for another machine or a
 * spreadsheet (import and merge: cmd_import.c, cmd_merge.c; the format: kt_exchange.h).
 *
 * export writes the rows of one or all machines as JSON (the exchange format, below) or
 * CSV (one row per measurement, for spreadsheets).  import reads that JSON, merge reads
 * another database; both hand the rows to kt_db_merge(), which decides duplicates and
 * conflicts deterministically (the newest complete run wins) in one transaction.
 *
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

#include "kt_exchange.h"
#include "kt_outfile.h"
#include "kt_inspect.h"

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


/* ---- Export ---------------------------------------------------------------- */

/*
 * Export streams: the file is read a machine at a time (kt_db_dump_stream()), and each
 * machine's part is written and freed before the next is read, so memory follows the
 * largest machine, not the file.  Within a part, rows are sorted (see kt_db_dump), so
 * every lookup below is a merge walk or a binary search, never a scan per row.
 */

/* A run of the part being written: its database id and its local (1-based) number. */
typedef struct run_local {
    int64_t id;
    json_int_t local;
} run_local;

typedef struct export_state {
    FILE *f;
    int csv;
    size_t written;        /* machines written so far */
    run_local *runs;       /* the current part's runs, sorted by id */
    size_t nruns;
} export_state;

static int cmp_run_local(const void *a, const void *b) {
    const run_local *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Indexes the runs of a one-machine part: local ids 1, 2, ... in order of start. */
static kt_status index_runs(export_state *es, const kt_db_dump *d) {
    free(es->runs);
    es->runs = NULL;
    es->nruns = 0;
    if (!d->nruns) return KT_OK;
    es->runs = malloc(d->nruns * sizeof *es->runs);
    if (!es->runs) return kt_fail(KT_ENOMEM, "export: out of memory");
    for (size_t i = 0; i < d->nruns; i++)
        es->runs[i] = (run_local){d->runs[i].id, (json_int_t)i + 1};
    es->nruns = d->nruns;
    qsort(es->runs, es->nruns, sizeof *es->runs, cmp_run_local);
    return KT_OK;
}

/* The local id of run (0 for none or unknown). */
static json_int_t local_run(const export_state *es, int64_t run) {
    if (!run || !es->nruns) return 0;
    run_local key = {run, 0};
    const run_local *r = bsearch(&key, es->runs, es->nruns, sizeof *es->runs, cmp_run_local);
    return r ? r->local : 0;
}

static json_t *run_ref(const export_state *es, int64_t run) {
    json_int_t l = local_run(es, run);
    return l ? json_integer(l) : json_null();
}

static json_t *opt_str(const char *s) { return s && *s ? json_string(s) : json_null(); }

/* The "machines" entry of the one machine of part d. */
static json_t *machine_json(const export_state *es, const kt_db_dump *d) {
    const kt_db_machine_row *ma = &d->machines[0];
    json_t *runs = json_array(), *limits = json_array(), *ms = json_array();
    json_t *ch = json_array(), *prof = json_array();
    for (size_t i = 0; i < d->nruns; i++) {
        const kt_db_run_row *r = &d->runs[i];
        json_array_append_new(
            runs, json_pack("{s:I, s:s, s:o, s:s, s:s, s:s, s:s, s:I}", "id", (json_int_t)i + 1,
                            "started", r->started, "ended", opt_str(r->ended), "status",
                            r->status, "ktune_version", r->ktune_version, "options",
                            r->options ? r->options : "", "host", r->host, "pid",
                            (json_int_t)r->pid));
    }
    for (size_t i = 0; i < d->nlimits; i++) {
        const kt_db_limit_row *l = &d->limits[i];
        json_array_append_new(limits, json_pack("{s:s, s:f, s:s}", "name", l->name, "value",
                                                l->value, "measured_at", l->measured_at));
    }
    for (size_t i = 0; i < d->nmeasurements; i++) {
        const kt_db_measurement *m = &d->measurements[i];
        json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:s, s:I, s:o, s:i}", "op", m->op, "m",
                              (json_int_t)m->m, "n", (json_int_t)m->n, "k", (json_int_t)m->k,
                              "variant", m->variant, "version", (json_int_t)m->version, "run",
                              run_ref(es, m->run), "samples", m->samples);
        json_object_set_new(j, "median_s", kt_ins_json_real(m->median_s));
        json_object_set_new(j, "spread", kt_ins_json_real(m->spread));
        json_object_set_new(j, "min_s", kt_ins_json_real(m->min_s));
        json_object_set_new(j, "kernel_s", kt_ins_json_real(m->kernel_s));
        json_object_set_new(j, "valid", json_boolean(m->valid));
        json_object_set_new(j, "error", opt_str(m->error));
        json_object_set_new(j, "gflops", kt_ins_json_real(m->gflops));
        json_object_set_new(j, "gbs", kt_ins_json_real(m->gbs));
        json_object_set_new(j, "measured_at", json_string(m->measured_at));
        json_object_set_new(j, "batch", m->batch ? json_integer(m->batch) : json_null());
        json_t *rounds = json_array();
        for (int r = 0; r < m->nrounds && r < KT_DB_MAX_ROUNDS; r++)
            json_array_append_new(rounds, json_real(m->rounds[r]));
        json_object_set_new(j, "rounds", rounds);
        json_array_append_new(ms, j);
    }
    for (size_t i = 0; i < d->nchoices; i++) {
        const kt_db_choice_row *c = &d->choices[i];
        json_array_append_new(
            ch, json_pack("{s:s, s:I, s:I, s:I, s:i, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:s}",
                          "op", c->op, "m", (json_int_t)c->c.m, "n", (json_int_t)c->c.n, "k",
                          (json_int_t)c->c.k, "rank", c->c.rank, "variant", c->c.variant,
                          "version", (json_int_t)c->c.version, "median_s",
                          kt_ins_json_real(c->c.median_s), "margin",
                          kt_ins_json_real(c->c.margin), "run", run_ref(es, c->run), "ci_lo",
                          kt_ins_json_real(c->c.ci_lo), "ci_hi", kt_ins_json_real(c->c.ci_hi),
                          "decision", c->c.decision));
    }
    json_t *ver = json_array();
    for (size_t i = 0; i < d->nverifications; i++) {
        const kt_db_verify_row *v = &d->verifications[i];
        char seed[24];
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)v->seed);
        json_array_append_new(
            ver, json_pack("{s:o, s:s, s:I, s:I, s:I, s:i, s:s, s:o, s:s, s:o, s:o, s:o, s:s}",
                           "run", run_ref(es, v->run), "op", v->op, "m", (json_int_t)v->m, "n",
                           (json_int_t)v->n, "k", (json_int_t)v->k, "pass", v->pass,
                           "dispatched", v->dispatched, "dispatched_s",
                           kt_ins_json_real(v->dispatched_s), "best", v->best, "best_s",
                           kt_ins_json_real(v->best_s), "ratio", kt_ins_json_real(v->ratio),
                           "fixed", opt_str(v->fixed), "seed", seed));
    }
    for (size_t i = 0; i < d->nprofiles; i++) {
        const kt_db_profile_row *p = &d->profiles[i];
        json_array_append_new(
            prof, json_pack("{s:s, s:I, s:I, s:I, s:I, s:f, s:s}", "op", p->op, "m",
                            (json_int_t)p->m, "n", (json_int_t)p->n, "k", (json_int_t)p->k,
                            "calls", (json_int_t)p->calls, "total_s", p->total_s, "updated",
                            p->updated));
    }
    json_error_t err;
    json_t *details = json_loads(ma->details ? ma->details : "{}", 0, &err);
    return json_pack("{s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "fingerprint",
                     ma->fingerprint, "details", details ? details : json_object(),
                     "first_seen", ma->first_seen, "last_seen", ma->last_seen, "runs", runs,
                     "limits", limits, "measurements", ms, "choices", ch, "profiled_calls",
                     prof, "verifications", ver);
}

/* Writes one JSON value (indented by one, keys in order); -1 on failure. */
static int put_json(FILE *f, json_t *v) {
    int bad = !v || json_dumpf(v, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    json_decref(v);
    return bad ? -1 : 0;
}

/* The head of a JSON export: the format fields, the variants, the opening of machines. */
static int json_head(FILE *f, const kt_db_dump *d) {
    json_t *vars = json_array();
    for (size_t i = 0; i < d->nvariants; i++) {
        const kt_db_variant_row *v = &d->variants[i];
        json_array_append_new(vars, json_pack("{s:s, s:s, s:I, s:s, s:s}", "op", v->op, "name",
                                              v->name, "version", (json_int_t)v->version,
                                              "backend", v->backend, "params", v->params));
    }
    char now[32];
    time_t t = time(NULL);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    fprintf(f, "{\n \"format\": \"%s\",\n \"format_version\": %d,\n \"schema_version\": %d,\n",
            KT_EXPORT_FORMAT, KT_EXPORT_VERSION, KT_DB_SCHEMA_VERSION);
    fputs(" \"ktune_version\": ", f);
    int bad = put_json(f, json_string(kt_version()));
    fprintf(f, ",\n \"exported_at\": \"%s\",\n \"variants\": ", now);
    bad |= put_json(f, vars);
    fputs(",\n \"machines\": [", f);
    return bad;
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

static const char csv_header[] =
    "machine,op,m,n,k,variant,version,valid,samples,median_s,spread,min_s,kernel_s,"
    "gflops,gbs,rank,margin,run_started,run_status,measured_at,error,batch,rounds,ci_lo,"
    "ci_hi,decision\n";

/* Orders a choice's point against a measurement's: op, then m, n, k. */
static int cmp_point(const kt_db_choice_row *c, const kt_db_measurement *m) {
    int r = strcmp(c->op, m->op);
    if (r) return r;
    if (c->c.m != m->m) return c->c.m < m->m ? -1 : 1;
    if (c->c.n != m->n) return c->c.n < m->n ? -1 : 1;
    if (c->c.k != m->k) return c->c.k < m->k ? -1 : 1;
    return 0;
}

/* The CSV rows of the one machine of part d: one per measurement, with its rank if chosen. */
static void csv_machine(const export_state *es, FILE *f, const kt_db_dump *d) {
    const kt_db_machine_row *ma = &d->machines[0];
    size_t j = 0; /* the first choice whose point is not before the measurement's */
    for (size_t i = 0; i < d->nmeasurements; i++) {
        const kt_db_measurement *m = &d->measurements[i];
        while (j < d->nchoices && cmp_point(&d->choices[j], m) < 0) j++;
        const kt_db_choice_row *c = NULL;
        for (size_t k = j; k < d->nchoices && !c && !cmp_point(&d->choices[k], m); k++)
            if (d->choices[k].c.version == m->version &&
                !strcmp(d->choices[k].c.variant, m->variant))
                c = &d->choices[k];
        json_int_t local = local_run(es, m->run);
        const kt_db_run_row *r = local ? &d->runs[local - 1] : NULL;
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
        csv_field(f, m->error, 0);
        if (m->batch) fprintf(f, "%lld", (long long)m->batch);
        fputc(',', f);
        for (int q = 0; q < m->nrounds && q < KT_DB_MAX_ROUNDS; q++) /* ';'-separated */
            fprintf(f, "%s%.9g", q ? ";" : "", (double)m->rounds[q]);
        fputc(',', f);
        csv_real(f, c ? c->c.ci_lo : NAN);
        csv_real(f, c ? c->c.ci_hi : NAN);
        csv_field(f, c ? c->c.decision : "", 1);
    }
}

/* kt_db_dump_stream() callback: writes the head, then each machine, as they come. */
static kt_status export_part(void *ctx, const kt_db_dump *d, int head) {
    export_state *es = ctx;
    int bad = 0;
    if (head) {
        if (es->csv)
            fputs(csv_header, es->f);
        else
            bad = json_head(es->f, d);
    } else {
        kt_status s = index_runs(es, d);
        if (s != KT_OK) return s;
        if (es->csv) {
            csv_machine(es, es->f, d);
        } else {
            fputs(es->written ? ",\n" : "\n", es->f);
            bad = put_json(es->f, machine_json(es, d));
        }
        es->written++;
    }
    if (bad || ferror(es->f)) return kt_fail(KT_EIO, "export: cannot write");
    return KT_OK;
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
    if ((rc = kt_exchange_refuse_newer(db, "export")) != KT_EXIT_OK) {
        kt_db_close(db);
        return rc;
    }
    /* which machine: resolved on the machine rows alone */
    kt_db_dump d;
    if (kt_db_dump_read(db, NULL, 0, &d) != KT_OK) {
        rc = kt_cli_error(KT_EXIT_FAIL, "export", "%s", kt_last_error());
        kt_db_close(db);
        return rc;
    }
    const char *found;
    char fpbuf[KT_DB_FP_MAX], *fp = NULL;
    rc = resolve_machine(&d, machine, "export", &found);
    if (rc == KT_EXIT_OK && found) {
        snprintf(fpbuf, sizeof fpbuf, "%s", found);
        fp = fpbuf;
    }
    kt_db_dump_free(&d);
    FILE *f = stdout;
    kt_outfile of = {0};
    char err[4200];
    if (rc == KT_EXIT_OK && output && strcmp(output, "-")) {
        /* a regular file is replaced atomically; a device, FIFO or socket written in place */
        if (kt_outfile_open(&of, output, err, sizeof err) == 0)
            f = of.f;
        else
            rc = kt_cli_error(KT_EXIT_FAIL, "export", "%s", err);
    }
    if (rc == KT_EXIT_OK) {
        export_state es = {.f = f, .csv = csv};
        kt_status s = kt_db_dump_stream(db, fp, KT_DB_DUMP_ALL, export_part, &es);
        free(es.runs);
        int bad = s != KT_OK;
        if (!bad && !csv) fputs(es.written ? "\n ]\n}\n" : "]\n}\n", f);
        bad |= fflush(f) != 0 || ferror(f);
        int closed = of.f ? kt_outfile_close(&of, !bad, err, sizeof err) : 0;
        if (s != KT_OK && s != KT_EIO)
            rc = kt_cli_error(KT_EXIT_FAIL, "export", "%s", kt_last_error());
        else if (closed != 0)
            rc = kt_cli_error(KT_EXIT_FAIL, "export", "%s", err);
        else if (bad)
            rc = kt_cli_error(KT_EXIT_FAIL, "export", "cannot write %s",
                              output ? output : "standard output");
    }
    kt_db_close(db);
    return rc;
}
