/*
 * Tests of the inspection commands (ktune show, explain, report, export, import,
 * merge), run as a user runs them: the ktune binary of the build tree, on databases
 * this program builds with known measurements (never by timing), one of them with two
 * machines.  Golden-structure checks of each command's JSON; export then import
 * reproduces the same file and choices; merge is idempotent and commutative; conflicts
 * are decided by the newest complete run whichever way round; bad input (unknown op,
 * malformed sizes, truncated or wrongly shaped JSON, newer schemas) gives one message,
 * a non-zero exit and writes nothing; text output fits 80 columns.
 * KT_TEST_WRAPPER (valgrind) also wraps every ktune it runs.  Prints TAP (cmocka).
 */
#define _GNU_SOURCE

#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "kt_db.h"
#include "kt_internal.h"

#define FP_B "intel-6.143.8-avx512-64c-sm90-00000000000000b2"

/* ---- Fixture: a temporary directory ------------------------------------- */

typedef struct fixture {
    char dir[512];
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/ktune-tools-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int teardown(void **state) {
    fixture *f = *state;
    int rc = nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return rc;
}

static const char *in_dir(void **state, const char *name) {
    static char buf[8][700];
    static int next;
    fixture *f = *state;
    char *b = buf[next++ % 8];
    snprintf(b, sizeof buf[0], "%s/%s", f->dir, name);
    return b;
}

/* ---- Running ktune ------------------------------------------------------ */

typedef struct result {
    int status;   /* exit status, or 128 + signal */
    char *out, *err;
} result;

static void result_free(result *r) {
    free(r->out);
    free(r->err);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

/*
 * Runs the build tree's ktune with the arguments (NULL-terminated), prefixed by
 * $KT_TEST_WRAPPER, with standard input from /dev/null; captures its output.
 */
static result ktunev(const char *const *args);

static result ktune(const char *first, ...) {
    const char *args[64];
    int n = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 63; a = va_arg(ap, const char *)) args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return ktunev(args);
}

static result ktunev(const char *const *args) {
    const char *argv[80];
    int n = 0;
    char wrapper[512] = "", ktune_path[600];
    const char *w = getenv("KT_TEST_WRAPPER");
    if (w) snprintf(wrapper, sizeof wrapper, "%s", w);
    for (char *save = NULL, *t = strtok_r(wrapper, " ", &save); t; t = strtok_r(NULL, " ", &save))
        argv[n++] = t;
    const char *top = getenv("top_builddir");
    snprintf(ktune_path, sizeof ktune_path, "%s/ktune", top ? top : ".");
    argv[n++] = ktune_path;
    for (const char *const *a = args; *a && n < 79; a++) argv[n++] = *a;
    argv[n] = NULL;
    char out[] = "/tmp/ktune-out-XXXXXX", err[] = "/tmp/ktune-err-XXXXXX";
    int fo = mkstemp(out), fe = mkstemp(err);
    assert_true(fo >= 0 && fe >= 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        dup2(in, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    close(fo);
    close(fe);
    result r = {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), slurp(out), slurp(err)};
    unlink(out);
    unlink(err);
    return r;
}

/* Parses r's standard output as JSON (fails the test if it is not). */
static json_t *json_of(const result *r) {
    json_error_t e;
    json_t *j = json_loads(r->out, 0, &e);
    if (!j) fail_msg("not JSON (%s): %.300s / %.300s", e.text, r->out, r->err);
    return j;
}

/* Every line of s is at most 80 columns. */
static void assert_fits_80(const char *s) {
    for (const char *p = s; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l > 80) fail_msg("line wider than 80 columns (%zu): %.*s", l, (int)l, p);
        p += l + (nl ? 1 : 0);
    }
}

/* Exactly one line on stderr, naming the command, and the given status. */
static void assert_one_error(const result *r, int status, const char *needle) {
    if (r->status != status)
        fail_msg("exit %d, expected %d; stderr: %s", r->status, status, r->err);
    size_t lines = 0;
    for (const char *p = r->err; *p; p++) lines += *p == '\n';
    if (lines != 1) fail_msg("expected one line on stderr, got: %s", r->err);
    assert_true(strncmp(r->err, "ktune ", 6) == 0);
    if (!strstr(r->err, needle)) fail_msg("'%s' not in: %s", needle, r->err);
    assert_string_equal(r->out, "");
}

static const char *jstr(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v)) fail_msg("member %s is not a string", k);
    return json_string_value(v);
}

/* The object of array arr whose member key equals value, or NULL. */
static json_t *find_by(json_t *arr, const char *key, const char *value) {
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        const char *s = json_string_value(json_object_get(o, key));
        if (s && !strcmp(s, value)) return o;
    }
    return NULL;
}

/* Whether the JSON text of v contains needle. */
static int json_has(json_t *v, const char *needle) {
    char *s = json_dumps(v, JSON_ENCODE_ANY);
    int found = s && strstr(s, needle) != NULL;
    free(s);
    return found;
}

/* The keys of o are exactly those listed (NULL-terminated). */
static void assert_keys(json_t *o, ...) {
    va_list ap;
    size_t n = 0;
    assert_true(json_is_object(o));
    va_start(ap, o);
    for (const char *k = va_arg(ap, const char *); k; k = va_arg(ap, const char *), n++)
        if (!json_object_get(o, k)) fail_msg("missing member '%s'", k);
    va_end(ap);
    if (json_object_size(o) != n) {
        char *s = json_dumps(o, JSON_COMPACT);
        fail_msg("expected %zu members, got %zu: %.400s", n, json_object_size(o), s);
    }
}

/* ---- This machine, as the ktune binary sees it ---------------------------- */

/*
 * The fingerprint and the variants' availability come from the binary under test, run
 * as the tests run it: under valgrind the CPU looks different (and so does the
 * fingerprint) from what this program would detect natively.
 */
static char here[KT_DB_FP_MAX];

typedef struct avail {
    int available;
    char reason[256];
} avail;

static const char *here_fp(void) {
    if (!here[0]) {
        result r = ktune("info", "--json", NULL);
        assert_int_equal(r.status, 0);
        json_t *j = json_of(&r);
        snprintf(here, sizeof here, "%s", jstr(j, "fingerprint"));
        json_decref(j);
        result_free(&r);
    }
    return here;
}

/* Whether variant name of axpy_f32 can run for ktune here, and why not. */
static avail variant_here(const char *name) {
    result r = ktune("list", "--json", "axpy_f32", NULL);
    assert_int_equal(r.status, 0);
    json_t *j = json_of(&r);
    json_t *v = find_by(json_object_get(json_array_get(j, 0), "variants"), "name", name);
    assert_non_null(v);
    avail a = {json_is_true(json_object_get(v, "available")), ""};
    snprintf(a.reason, sizeof a.reason, "%s", jstr(v, "reason"));
    json_decref(j);
    result_free(&r);
    return a;
}

/* ---- Building databases with known measurements ------------------------- */

static const char *OP = "axpy_f32";

typedef struct dbspec {
    int this_machine;        /* rows for this machine (here_fp()) */
    int machine_b;           /* rows for FP_B */
    double scalar_1000;      /* scalar's median at n=1000 (this machine) */
    const char *started;     /* start time of this machine's run */
    const char *limit_name;  /* an extra limit of this machine (NULL: none) */
} dbspec;

static void put_ms(kt_db *db, int64_t machine, int64_t run, size_t n, const char *variant,
                   unsigned version, double median, double kernel, int valid, const char *error) {
    kt_db_measurement m = {.machine = machine, .n = n, .version = version, .run = run,
                           .samples = 9, .median_s = valid ? median : NAN,
                           .spread = valid ? 0.01 : NAN, .min_s = valid ? median * 0.98 : NAN,
                           .kernel_s = kernel, .valid = valid, .gflops = NAN, .gbs = NAN};
    snprintf(m.op, sizeof m.op, "%s", OP);
    snprintf(m.variant, sizeof m.variant, "%s", variant);
    if (error) snprintf(m.error, sizeof m.error, "%s", error);
    size_t d[3] = {n, n, n};
    if (valid) m.gbs = kt_ops[KT_OP_AXPY_F32].bytes(d) / median / 1e9;
    assert_int_equal(kt_db_measurement_put(db, &m), KT_OK);
}

static void put_choices(kt_db *db, int64_t machine, int64_t run, const kt_db_choice *c,
                        size_t n) {
    assert_int_equal(kt_db_choices_replace(db, machine, OP, run, c, n), KT_OK);
}

/* Sets the start time of every run of the machine with this fingerprint (raw SQL). */
static void set_started(const char *path, const char *fp, const char *when) {
    sqlite3 *s;
    assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
    char *sql = sqlite3_mprintf("UPDATE runs SET started = %Q, ended = %Q WHERE machine = "
                                "(SELECT id FROM machines WHERE fingerprint = %Q)",
                                when, when, fp);
    assert_int_equal(sqlite3_exec(s, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_free(sql);
    assert_int_equal(sqlite3_close(s), SQLITE_OK);
}

/* The registry's current version of variant name of OP (the rows below are "current"). */
static unsigned cur(const char *name) {
    const kt_variant *v = kt_variant_lookup(kt_op_find(OP), name);
    return v ? v->version : 1;
}

static void make_db(const char *path, const dbspec *sp) {
    kt_db *db;
    assert_int_equal(kt_db_open_write(path, &db), KT_OK);
    static const char *const vars[][2] = {{"scalar", "scalar"}, {"avx2", "avx2"},
                                          {"avx512", "avx512"}, {"openblas", "openblas"},
                                          {"cuda:block=256", "cuda"}};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        assert_int_equal(kt_db_variant_put(db, OP, vars[i][0], cur(vars[i][0]), vars[i][1], ""),
                         KT_OK);
    assert_int_equal(kt_db_variant_put(db, OP, "avx512", 0, "avx512", ""), KT_OK);
    int64_t m, run;
    if (sp->this_machine) {
        assert_int_equal(kt_db_machine_put(db, here_fp(),
                                           "{\"cpu\":{\"brand\":\"Test CPU\",\"cores\":4,"
                                           "\"features\":\"avx2 fma\"},\"gpu\":{\"count\":0}}",
                                           &m),
                         KT_OK);
        assert_int_equal(kt_db_run_begin(db, m, "ktune tune --test", "0.1.0", &run), KT_OK);
        /* n = 1000: scalar wins; the GPU's kernel is fast, its transfers are not */
        put_ms(db, m, run, 1000, "scalar", 1, sp->scalar_1000, NAN, 1, NULL);
        put_ms(db, m, run, 1000, "cuda:block=256", 1, 4.5e-6, 0.5e-6, 1, NULL);
        put_ms(db, m, run, 1000, "openblas", cur("openblas"), 0, NAN, 0,
               "validation failed: planted");
        put_ms(db, m, run, 1000, "avx512", 0, 1.5e-6, NAN, 1, NULL);
        /* n = 1e6: avx2 wins */
        put_ms(db, m, run, 1000000, "avx2", cur("avx2"), 1e-4, NAN, 1, NULL);
        put_ms(db, m, run, 1000000, "scalar", 1, 4e-4, NAN, 1, NULL);
        kt_db_choice c[] = {
            {0, 1000, 0, 1, "scalar", 1, sp->scalar_1000, 4.5e-6 / sp->scalar_1000 - 1, 0.1, 0.2,
             "resolved"},
            {0, 1000, 0, 2, "cuda:block=256", 1, 4.5e-6, 4.5e-6 / sp->scalar_1000 - 1, 0.1, 0.2,
             "resolved"},
            {0, 1000000, 0, 1, "avx2", cur("avx2"), 1e-4, 3.0, 2.5, 3.5, "resolved"},
            {0, 1000000, 0, 2, "scalar", 1, 4e-4, 3.0, 2.5, 3.5, "resolved"},
        };
        put_choices(db, m, run, c, 4);
        assert_int_equal(kt_db_limit_put(db, m, "mem_bw_gbs", 50.0), KT_OK);
        if (sp->limit_name) assert_int_equal(kt_db_limit_put(db, m, sp->limit_name, 7), KT_OK);
        assert_int_equal(kt_db_run_end(db, run, KT_DB_RUN_COMPLETE), KT_OK);
    }
    if (sp->machine_b) {
        assert_int_equal(kt_db_machine_put(db, FP_B, "{\"cpu\":{\"brand\":\"Other\"}}", &m),
                         KT_OK);
        assert_int_equal(kt_db_run_begin(db, m, "ktune tune", "0.0.9", &run), KT_OK);
        put_ms(db, m, run, 4096, "avx512", cur("avx512"), 1e-6, NAN, 1, NULL);
        put_ms(db, m, run, 4096, "scalar", 1, 5e-6, NAN, 1, NULL);
        kt_db_choice c[] = {{0, 4096, 0, 1, "avx512", cur("avx512"), 1e-6, 4.0, NAN, NAN,
                             "unresolved"},
                            {0, 4096, 0, 2, "scalar", 1, 5e-6, 4.0, NAN, NAN, "unresolved"}};
        put_choices(db, m, run, c, 2);
        assert_int_equal(kt_db_run_end(db, run, KT_DB_RUN_INTERRUPTED), KT_OK);
    }
    assert_int_equal(kt_db_close(db), KT_OK);
    if (sp->this_machine && sp->started) set_started(path, here_fp(), sp->started);
}

static const dbspec both = {1, 1, 2e-6, "2025-01-01T00:00:00Z", NULL};

/* Exports path as JSON, without the export time (which differs between runs). */
static char *export_text(const char *path) {
    result r = ktune("export", "--db", path, NULL);
    assert_int_equal(r.status, 0);
    json_t *j = json_of(&r);
    json_object_del(j, "exported_at");
    char *s = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(j);
    result_free(&r);
    return s;
}

/* ---- show --------------------------------------------------------------- */

static void show_two_machines_json(void **state) {
    const char *db = in_dir(state, "t.db");
    make_db(db, &both);
    result r = ktune("show", "--db", db, "--machine", "all", "--json", NULL);
    assert_int_equal(r.status, 0);
    json_t *j = json_of(&r);
    assert_keys(j, "db", "schema_version", "this_machine", "machines", "fleet", NULL);
    assert_string_equal(jstr(j, "this_machine"), here_fp());
    json_t *ms = json_object_get(j, "machines");
    assert_int_equal(json_array_size(ms), 2);
    /* the fleet summary: a class per machine, with its coverage (tuner/kt_fleet.h) */
    json_t *fleet = json_object_get(j, "fleet");
    assert_keys(fleet, "classes", "nodes", NULL);
    assert_int_equal(json_array_size(json_object_get(fleet, "classes")), 2);
    assert_keys(json_array_get(json_object_get(fleet, "classes"), 0), "fingerprint", "summary",
                "nodes", "runs", "complete_runs", "ops_tuned", "ops_known", "tuned_sizes",
                "first_started", "last_ended", "last_status", NULL);
    json_t *a = find_by(ms, "fingerprint", here_fp()), *b = find_by(ms, "fingerprint", FP_B);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(json_is_true(json_object_get(a, "this_machine")));
    assert_true(json_is_false(json_object_get(b, "this_machine")));
    assert_keys(a, "fingerprint", "this_machine", "summary", "details", "first_seen",
                "last_seen", "last_run", "last_complete_run", "runs", "limits", "completeness",
                "ops", "detailed", "verification", NULL);
    assert_true(json_is_null(json_object_get(a, "verification"))); /* none stored here */
    assert_string_equal(jstr(a, "summary"), "Test CPU, 4 cores, avx2; no GPU");
    assert_string_equal(jstr(json_object_get(a, "last_run"), "status"), "complete");
    assert_string_equal(jstr(json_object_get(a, "last_run"), "ktune_version"), "0.1.0");
    assert_true(json_real_value(json_object_get(json_object_get(a, "limits"), "mem_bw_gbs")) == 50);
    json_t *ops = json_object_get(a, "ops");
    assert_int_equal(json_array_size(ops), 1);
    json_t *op = json_array_get(ops, 0);
    assert_string_equal(jstr(op, "op"), "axpy_f32");
    assert_string_equal(jstr(op, "unit"), "GB/s");
    assert_int_equal(json_integer_value(json_object_get(op, "tuned_sizes")), 2);
    assert_int_equal(json_integer_value(json_object_get(op, "crossovers")), 1);
    json_t *ranges = json_object_get(op, "ranges");
    assert_int_equal(json_array_size(ranges), 2);
    json_t *r0 = json_array_get(ranges, 0), *r1 = json_array_get(ranges, 1);
    assert_keys(r0, "from", "to", "variant", "version", "points", "throughput_min",
                "throughput_max", "margin_min", "runner_up", "usable_here", "margin_ci",
                "unresolved", "merged", NULL);
    /* the stored interval of the smallest margin, and how the points were decided */
    json_t *ci0 = json_object_get(r0, "margin_ci");
    assert_true(json_real_value(json_array_get(ci0, 0)) == 0.1);
    assert_true(json_real_value(json_array_get(ci0, 1)) == 0.2);
    assert_int_equal(json_integer_value(json_object_get(r0, "unresolved")), 0);
    /* the bound dispatch uses: the geometric midpoint of 1000 and 10^6 */
    assert_int_equal(json_integer_value(json_object_get(r0, "from")), 1);
    assert_int_equal(json_integer_value(json_object_get(r0, "to")), 31622);
    assert_string_equal(jstr(r0, "variant"), "scalar");
    assert_string_equal(jstr(r0, "runner_up"), "cuda:block=256");
    assert_true(fabs(json_real_value(json_object_get(r0, "margin_min")) - 1.25) < 1e-9);
    size_t d1000[3] = {1000, 1000, 1000};
    double tp = kt_ops[KT_OP_AXPY_F32].bytes(d1000) / 2e-6 / 1e9;
    assert_true(fabs(json_real_value(json_object_get(r0, "throughput_min")) - tp) < 1e-9 * tp);
    assert_true(json_is_true(json_object_get(r0, "usable_here")));
    assert_int_equal(json_integer_value(json_object_get(r1, "from")), 31623);
    assert_true(json_is_null(json_object_get(r1, "to")));
    assert_string_equal(jstr(r1, "variant"), "avx2");
    json_t *cov = json_object_get(op, "coverage");
    assert_non_null(cov);
    json_t *never = json_object_get(cov, "never_measured");
    assert_true(json_is_array(never));
    assert_false(json_has(never, "\"scalar\""));
    /* avx512 was measured with version 0 only: never with this build's code */
    assert_int_equal(json_has(never, "\"avx512\""), variant_here("avx512").available);
    json_t *c = json_object_get(a, "completeness");
    assert_int_equal(json_integer_value(json_object_get(c, "ops_tuned")), 1);
    assert_int_equal(json_integer_value(json_object_get(c, "ops_known")), KT_OP_COUNT);
    assert_true(json_is_false(json_object_get(c, "complete"))); /* one op of several */
    /* the other machine: its interrupted run makes it incomplete */
    json_t *bc = json_object_get(b, "completeness");
    assert_true(json_is_false(json_object_get(bc, "complete")));
    assert_true(json_has(json_object_get(bc, "issues"), "interrupted"));
    assert_null(json_object_get(json_array_get(json_object_get(b, "ops"), 0), "coverage"));
    json_decref(j);
    result_free(&r);

    /* by default only this machine is detailed; --machine picks by hash suffix */
    r = ktune("show", "--db", db, "--json", NULL);
    j = json_of(&r);
    ms = json_object_get(j, "machines");
    assert_true(json_is_true(json_object_get(find_by(ms, "fingerprint", here_fp()),
                                             "detailed")));
    assert_true(json_is_false(json_object_get(find_by(ms, "fingerprint", FP_B), "detailed")));
    json_decref(j);
    result_free(&r);
    r = ktune("show", "--db", db, "--machine", "00000000b2", "--json", NULL);
    assert_int_equal(r.status, 0);
    j = json_of(&r);
    assert_true(json_is_true(json_object_get(
        find_by(json_object_get(j, "machines"), "fingerprint", FP_B), "detailed")));
    json_decref(j);
    result_free(&r);

    /* the text: both machines listed, this one starred, 80 columns */
    r = ktune("show", "--db", db, "--machine", "all", NULL);
    assert_int_equal(r.status, 0);
    assert_fits_80(r.out);
    assert_non_null(strstr(r.out, "(this machine)"));
    assert_non_null(strstr(r.out, "31622"));
    assert_non_null(strstr(r.out, "memory bandwidth 50.00 GB/s"));
    result_free(&r);
}

/* ---- explain ------------------------------------------------------------ */

static void explain_json_structure(void **state) {
    const char *db = in_dir(state, "t.db");
    make_db(db, &both);
    result r = ktune("explain", "axpy_f32", "1200", "--db", db, "--json", NULL);
    assert_int_equal(r.status, 0);
    json_t *j = json_of(&r);
    assert_keys(j, "op", "dims", "fingerprint", "db", "dispatch", "matched", "variants", "notes",
                NULL);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "dims"), "n")), 1200);
    json_t *d = json_object_get(j, "dispatch");
    assert_keys(d, "variant", "source", "why", NULL);
    assert_string_equal(jstr(d, "source"), "tuned");
    assert_string_equal(jstr(d, "variant"), "scalar");
    json_t *m = json_object_get(j, "matched");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "dims"), "n")), 1000);
    assert_true(json_is_true(json_object_get(m, "used")));
    assert_string_equal(jstr(json_object_get(m, "run"), "status"), "complete");
    json_t *vars = json_object_get(j, "variants");
    assert_int_equal(json_array_size(vars), kt_variant_count(OP));
    json_t *s = find_by(vars, "name", "scalar");
    assert_string_equal(jstr(s, "status"), "chosen");
    assert_true(json_real_value(json_object_get(s, "median_s")) == 2e-6);
    assert_true(fabs(json_real_value(json_object_get(s, "vs_chosen")) - 1) < 1e-12);
    /* the GPU variant: measured, excluded here (no device in this build or machine) */
    json_t *g = find_by(vars, "name", "cuda:block=256");
    avail vi = variant_here("cuda:block=256");
    assert_true(json_real_value(json_object_get(g, "kernel_s")) == 0.5e-6);
    assert_true(fabs(json_real_value(json_object_get(g, "transfer_s")) - 4e-6) < 1e-15);
    assert_non_null(strstr(jstr(g, "gpu_note"), "4.0x faster than scalar"));
    if (!strstr(jstr(g, "gpu_note"), "cost 2.0x scalar's whole call"))
        fail_msg("%s", jstr(g, "gpu_note"));
    if (!vi.available) assert_string_equal(jstr(g, "excluded_because"), vi.reason);
    /* failed validation, or the reason it cannot run at all */
    json_t *o = find_by(vars, "name", "openblas");
    vi = variant_here("openblas");
    assert_string_equal(jstr(o, "status"), "excluded");
    assert_string_equal(jstr(o, "excluded_because"),
                        vi.available ? "validation failed: planted" : vi.reason);
    /* measured with older code */
    json_t *x = find_by(vars, "name", "avx512");
    vi = variant_here("avx512");
    assert_non_null(strstr(jstr(x, "excluded_because"),
                           vi.available ? "measured with version 0" : vi.reason));
    json_decref(j);
    result_free(&r);

    /* at 10^6: the first of the ranked variants that can run here */
    r = ktune("explain", "axpy_f32", "1e6", "--db", db, "--json", NULL);
    j = json_of(&r);
    vi = variant_here("avx2");
    assert_string_equal(jstr(json_object_get(j, "dispatch"), "variant"),
                        vi.available ? "avx2" : "scalar");
    json_decref(j);
    result_free(&r);

    /* forced and disabled by the environment: said so */
    setenv("KTUNE_FORCE", "axpy_f32=scalar", 1);
    setenv("KTUNE_DISABLE", "avx2", 1);
    r = ktune("explain", "axpy_f32", "1000000", "--db", db, "--json", NULL);
    unsetenv("KTUNE_FORCE");
    unsetenv("KTUNE_DISABLE");
    j = json_of(&r);
    assert_string_equal(jstr(json_object_get(j, "dispatch"), "source"), "forced");
    x = find_by(json_object_get(j, "variants"), "name", "avx2");
    if (vi.available) /* avx2, without KTUNE_DISABLE */
        assert_non_null(strstr(jstr(x, "excluded_because"), "KTUNE_DISABLE"));
    assert_true(json_is_false(json_object_get(json_object_get(j, "matched"), "used")));
    json_decref(j);
    result_free(&r);

    /* text: 80 columns, the split in words */
    r = ktune("explain", "axpy_f32", "1200", "--db", db, NULL);
    assert_int_equal(r.status, 0);
    assert_fits_80(r.out);
    assert_non_null(strstr(r.out, "calls      scalar (tuned)"));
    assert_non_null(strstr(r.out, "excluded here"));
    result_free(&r);
}

static void explain_without_database(void **state) {
    setenv("KTUNE_DB", in_dir(state, "none.db"), 1);
    result r = ktune("explain", "add_scalar_f64", "5", "--json", NULL);
    assert_int_equal(r.status, 0);
    json_t *j = json_of(&r);
    assert_string_equal(jstr(json_object_get(j, "dispatch"), "source"), "default");
    assert_true(json_is_null(json_object_get(j, "db")));
    assert_true(json_has(json_object_get(j, "notes"), "no tuning database"));
    json_decref(j);
    result_free(&r);
    /* an explicit --db that is missing is an error */
    r = ktune("explain", "axpy_f32", "5", "--db", in_dir(state, "none.db"), NULL);
    assert_one_error(&r, 1, "no database at");
    result_free(&r);
    assert_int_equal(access(in_dir(state, "none.db"), F_OK), -1);
}

/* ---- export, import, merge ------------------------------------------------ */

static void export_import_round_trip(void **state) {
    const char *a = in_dir(state, "a.db"), *b = in_dir(state, "b.db");
    const char *file = in_dir(state, "a.json");
    make_db(a, &both);
    result r = ktune("export", "--db", a, "--output", file, NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);
    r = ktune("import", file, "--db", b, "--json", NULL);
    assert_int_equal(r.status, 0);
    json_t *j = json_of(&r);
    json_t *cnt = json_object_get(j, "counts");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(cnt, "machines"), "added")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(cnt, "measurements"), "added")), 8);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(cnt, "choices"), "added")), 2);
    assert_int_equal(json_array_size(json_object_get(j, "conflicts")), 0);
    json_decref(j);
    result_free(&r);
    /* the same file, row for row, and the same choices */
    char *ea = export_text(a), *eb = export_text(b);
    assert_string_equal(ea, eb);
    free(ea), free(eb);
    const char *fps[] = {here_fp(), FP_B};
    for (int i = 0; i < 2; i++) {
        kt_db *da, *dbb;
        kt_db_choice *ca, *cb;
        size_t na, nb;
        assert_int_equal(kt_db_open_read(a, &da), KT_OK);
        assert_int_equal(kt_db_open_read(b, &dbb), KT_OK);
        assert_int_equal(kt_db_choices_load(da, fps[i], OP, &ca, &na), KT_OK);
        assert_int_equal(kt_db_choices_load(dbb, fps[i], OP, &cb, &nb), KT_OK);
        assert_int_equal(na, nb);
        assert_true(na > 0);
        for (size_t k = 0; k < na; k++) {
            assert_string_equal(ca[k].variant, cb[k].variant);
            assert_true(ca[k].median_s == cb[k].median_s && ca[k].n == cb[k].n &&
                        ca[k].rank == cb[k].rank);
        }
        free(ca), free(cb);
        kt_db_close(da), kt_db_close(dbb);
    }
    /* and what dispatch would do there: the same explanation */
    r = ktune("explain", "axpy_f32", "1200", "--db", b, "--json", NULL);
    j = json_of(&r);
    assert_string_equal(jstr(json_object_get(j, "dispatch"), "variant"), "scalar");
    json_decref(j);
    result_free(&r);
    /* importing again changes nothing */
    r = ktune("import", file, "--db", b, NULL);
    assert_int_equal(r.status, 0);
    assert_fits_80(r.out);
    assert_non_null(strstr(r.out, "no conflicts"));
    result_free(&r);
    /* CSV: a header and one row per measurement */
    r = ktune("export", "--db", a, "--format", "csv", "--machine", "00000000b2", NULL);
    assert_int_equal(r.status, 0);
    int lines = 0;
    for (const char *p = r.out; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 3);
    assert_true(strncmp(r.out, "machine,op,m,n,k,variant", 24) == 0);
    result_free(&r);
}

static void merge_idempotent_commutative(void **state) {
    const char *a = in_dir(state, "a.db"), *b = in_dir(state, "b.db");
    const char *x = in_dir(state, "x.db"), *y = in_dir(state, "y.db");
    dbspec sa = {1, 0, 2e-6, "2025-01-01T00:00:00Z", NULL};
    dbspec sb = {0, 1, 2e-6, NULL, NULL};
    make_db(a, &sa);
    make_db(b, &sb);
    result r;
    r = ktune("merge", a, "--db", x, NULL), assert_int_equal(r.status, 0), result_free(&r);
    r = ktune("merge", b, "--db", x, NULL), assert_int_equal(r.status, 0), result_free(&r);
    r = ktune("merge", b, "--db", y, NULL), assert_int_equal(r.status, 0), result_free(&r);
    r = ktune("merge", a, "--db", y, NULL), assert_int_equal(r.status, 0), result_free(&r);
    char *ex = export_text(x), *ey = export_text(y);
    assert_string_equal(ex, ey);
    /* merging again: all identical, nothing changes */
    r = ktune("merge", b, "--db", x, "--json", NULL);
    assert_int_equal(r.status, 0);
    json_t *j = json_of(&r);
    const char *k;
    json_t *c;
    json_object_foreach(json_object_get(j, "counts"), k, c) {
        assert_int_equal(json_integer_value(json_object_get(c, "added")), 0);
        assert_int_equal(json_integer_value(json_object_get(c, "replaced")), 0);
        assert_int_equal(json_integer_value(json_object_get(c, "kept")), 0);
    }
    json_decref(j);
    result_free(&r);
    char *ex2 = export_text(x);
    assert_string_equal(ex, ex2);
    free(ex), free(ey), free(ex2);
}

static void merge_conflicts_newest_complete_run_wins(void **state) {
    const char *old = in_dir(state, "old.db"), *new = in_dir(state, "new.db");
    const char *x = in_dir(state, "x.db"), *y = in_dir(state, "y.db");
    const char *z = in_dir(state, "z.db");
    /* the same machine tuned twice: a newer complete run measured scalar faster */
    dbspec so = {1, 0, 2e-6, "2025-01-01T00:00:00Z", NULL};
    dbspec sn = {1, 0, 1e-6, "2025-06-01T00:00:00Z", "peak_gflops_f32"};
    make_db(old, &so);
    make_db(new, &sn);
    /* x starts as old, y as new (merged into empty files: the same rows) */
    result r;
    r = ktune("merge", old, "--db", x, NULL), assert_int_equal(r.status, 0), result_free(&r);
    r = ktune("merge", new, "--db", y, NULL), assert_int_equal(r.status, 0), result_free(&r);
    r = ktune("merge", old, "--db", z, NULL), assert_int_equal(r.status, 0), result_free(&r);
    r = ktune("merge", new, "--db", x, "--json", NULL);
    assert_int_equal(r.status, 0);
    json_t *j = json_of(&r);
    json_t *ms = json_object_get(json_object_get(j, "counts"), "measurements");
    /* every row of the newer run wins, also those with equal values (another run) */
    assert_int_equal(json_integer_value(json_object_get(ms, "replaced")), 6);
    json_t *conf = NULL, *c;
    size_t i;
    json_array_foreach(json_object_get(j, "conflicts"), i, c)
        if (strstr(jstr(c, "key"), "n=1000 k=0 scalar")) conf = c;
    assert_non_null(conf);
    assert_string_equal(jstr(conf, "winner"), "incoming");
    json_decref(j);
    result_free(&r);
    /* the other way round: the newer rows are kept */
    r = ktune("merge", old, "--db", y, "--json", NULL);
    assert_int_equal(r.status, 0);
    j = json_of(&r);
    ms = json_object_get(json_object_get(j, "counts"), "measurements");
    assert_int_equal(json_integer_value(json_object_get(ms, "kept")), 6);
    conf = find_by(json_object_get(j, "conflicts"), "table", "measurements");
    assert_string_equal(jstr(conf, "winner"), "existing");
    assert_non_null(strstr(jstr(conf, "why"), "newer run"));
    json_decref(j);
    result_free(&r);
    /* both ways give the same file; the newer limit was added, nothing lost */
    char *e1 = export_text(x), *e2 = export_text(y);
    assert_string_equal(e1, e2);
    assert_non_null(strstr(e1, "peak_gflops_f32"));
    assert_non_null(strstr(e1, "2025-01-01T00:00:00Z")); /* both runs are there */
    assert_non_null(strstr(e1, "2025-06-01T00:00:00Z"));
    free(e1), free(e2);
    /* text report: 80 columns, the conflict explained; a dry run changes nothing */
    char *before = export_text(z);
    r = ktune("merge", new, "--db", z, "--dry-run", NULL);
    assert_int_equal(r.status, 0);
    assert_fits_80(r.out);
    assert_non_null(strstr(r.out, "dry run"));
    assert_non_null(strstr(r.out, "incoming row won"));
    result_free(&r);
    char *after = export_text(z);
    assert_string_equal(before, after);
    free(before), free(after);
}

/* ---- report ------------------------------------------------------------- */

static void report_html_and_svg(void **state) {
    const char *db = in_dir(state, "t.db"), *html = in_dir(state, "r.html");
    const char *svg = in_dir(state, "svg");
    make_db(db, &both);
    result r = ktune("report", "--db", db, "--machine", "all", "--html", html, "--svg", svg, NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);
    char *s = slurp(html);
    assert_non_null(strstr(s, "<!DOCTYPE html>"));
    assert_null(strstr(s, "<script"));
    assert_null(strstr(s, "src="));
    assert_null(strstr(s, "href=\"http"));
    int machines = 0, series = 0;
    for (const char *p = s; (p = strstr(p, "class=\"kt-machine\"")); p++) machines++;
    for (const char *p = s; (p = strstr(p, "class=\"kt-series\"")); p++) series++;
    assert_int_equal(machines, 2);
    assert_true(series >= 4); /* this machine: scalar, avx2, cuda, avx512 v0; B: two */
    assert_non_null(strstr(s, "class=\"kt-band\""));
    assert_non_null(strstr(s, "class=\"kt-limit\" data-name=\"memory bandwidth 50.00 GB/s\""));
    assert_non_null(strstr(s, "class=\"kt-marker\""));
    free(s);
    char path[800];
    snprintf(path, sizeof path, "%s/%s-axpy_f32.svg", svg, FP_B);
    s = slurp(path);
    assert_true(strncmp(s, "<?xml", 5) == 0);
    assert_non_null(strstr(s, "data-name=\"avx512\""));
    free(s);
    /* an unwritable destination: one message, nothing left behind */
    r = ktune("report", "--db", db, "--html", in_dir(state, "no/such/dir/r.html"), NULL);
    assert_one_error(&r, 1, "cannot write");
    result_free(&r);
}

/* ---- Bad input ------------------------------------------------------------ */

static void bad_command_lines(void **state) {
    const char *db = in_dir(state, "t.db");
    make_db(db, &both);
    /* "@" stands for the database */
    static const struct {
        const char *argv[8];
        int status;
        const char *needle;
    } cases[] = {
        {{"explain", "nosuchop", "100", "--db", "@"}, 2, "unknown operation 'nosuchop'"},
        {{"explain", "axpy_f32", "12x", "--db", "@"}, 2, "malformed size '12x'"},
        {{"explain", "axpy_f32", "0", "--db", "@"}, 2, "malformed size '0'"},
        {{"explain", "axpy_f32", "1:100", "--db", "@"}, 2, "malformed size"},
        {{"explain", "axpy_f32", "--db", "@"}, 2, "takes 1 size"},
        {{"explain", "axpy_f32", "10", "20", "--db", "@"}, 2, "takes 1 size"},
        {{"explain", "--db", "@"}, 2, "which operation"},
        {{"show", "--op", "nosuchop", "--db", "@"}, 2, "unknown operation"},
        {{"show", "--frobnicate", "--db", "@"}, 2, "bad option"},
        {{"show", "--machine", "nosuchmachine", "--db", "@"}, 1, "no machine 'nosuchmachine'"},
        {{"report", "--db", "@"}, 2, "--html FILE or --svg DIR"},
        {{"export", "--format", "xml", "--db", "@"}, 2, "json or csv"},
        {{"import", "--db", "@"}, 2, "which file"},
        {{"merge", "a", "b", "--db", "@"}, 2, "unexpected argument"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[9];
        size_t n = 0;
        for (; n < 8 && cases[i].argv[n]; n++)
            args[n] = strcmp(cases[i].argv[n], "@") ? cases[i].argv[n] : db;
        args[n] = NULL;
        result r = ktunev(args);
        assert_one_error(&r, cases[i].status, cases[i].needle);
        result_free(&r);
    }
    /* every command's --help fits 80 columns and exits 0 */
    const char *cmds[] = {"show", "explain", "report", "export", "import", "merge"};
    for (size_t i = 0; i < 6; i++) {
        result r = ktune(cmds[i], "--help", NULL);
        assert_int_equal(r.status, 0);
        assert_fits_80(r.out);
        assert_non_null(strstr(r.out, "Exit status"));
        result_free(&r);
    }
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void bad_import_files(void **state) {
    const char *db = in_dir(state, "t.db"), *fresh = in_dir(state, "fresh.db");
    const char *good = in_dir(state, "good.json"), *bad = in_dir(state, "bad.json");
    make_db(db, &both);
    result r = ktune("export", "--db", db, "--output", good, NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);
    char *before = export_text(db);
    /* truncated: the first half of a good export */
    char *text = slurp(good);
    text[strlen(text) / 2] = '\0';
    write_file(bad, text);
    free(text);
    static const struct {
        const char *json;   /* NULL: the truncated file */
        const char *needle;
    } cases[] = {
        {NULL, "not valid JSON"},
        {"[1, 2, 3]", "not a ktune export"},
        {"{\"format\": \"something-else\"}", "not a ktune export"},
        {"{\"format\": \"ktune-export\", \"format_version\": 9, \"variants\": [], "
         "\"machines\": []}",
         "newer than this ktune reads"},
        {"{\"format\": \"ktune-export\", \"format_version\": 1, \"variants\": {}, "
         "\"machines\": []}",
         "variants: expected an array"},
        {"{\"format\": \"ktune-export\", \"format_version\": 1, \"variants\": [], "
         "\"machines\": [{\"fingerprint\": 5}]}",
         "machines[0].fingerprint: expected a string"},
        {"{\"format\": \"ktune-export\", \"format_version\": 1, \"variants\": [], "
         "\"machines\": [{\"fingerprint\": \"f\", \"first_seen\": \"2025-01-01T00:00:00Z\", "
         "\"last_seen\": \"2025-01-01T00:00:00Z\", \"measurements\": [{\"op\": \"axpy_f32\", "
         "\"m\": 0, \"n\": 8, \"k\": 0, \"variant\": \"scalar\", \"version\": 1, \"run\": 3, "
         "\"samples\": 1, \"median_s\": 1e-6, \"valid\": true, \"measured_at\": \"x\"}]}]}",
         "machines[0].measurements[0].run: no run 3"},
        {"{\"format\": \"ktune-export\", \"format_version\": 1, \"variants\": [], "
         "\"machines\": [{\"fingerprint\": \"f\", \"first_seen\": \"2025-01-01T00:00:00Z\", "
         "\"last_seen\": \"2025-01-01T00:00:00Z\", \"measurements\": [{\"op\": \"axpy_f32\", "
         "\"m\": 0, \"n\": -8, \"k\": 0}]}]}",
         "measurements[0].n: must be at least 0"},
        {"{\"format\": \"ktune-export\", \"format_version\": 1, \"variants\": ["
         "{\"op\": \"axpy_f32\", \"name\": \"scalar\", \"version\": 2, \"backend\": \"scalar\"}, "
         "{\"op\": \"axpy_f32\", \"name\": \"avx2\", \"version\": 1, \"backend\": \"avx2\"}], "
         "\"machines\": [{\"fingerprint\": \"f\", \"first_seen\": \"2025-01-01T00:00:00Z\", "
         "\"last_seen\": \"2025-01-01T00:00:00Z\", \"measurements\": [{\"op\": \"axpy_f32\", "
         "\"m\": 0, \"n\": 8, \"k\": 0, \"variant\": \"scalar\", \"version\": 1, "
         "\"samples\": 1, \"median_s\": 1e-6, \"valid\": true, \"measured_at\": \"x\"}]}]}",
         "variant axpy_f32/scalar v1 is not in \"variants\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].json) write_file(bad, cases[i].json);
        r = ktune("import", bad, "--db", db, NULL);
        assert_one_error(&r, 1, cases[i].needle);
        assert_non_null(strstr(r.err, "nothing was written"));
        result_free(&r);
        r = ktune("import", bad, "--db", fresh, NULL);
        assert_int_equal(r.status, 1);
        result_free(&r);
        assert_int_equal(access(fresh, F_OK), -1); /* not created */
    }
    char *after = export_text(db);
    assert_string_equal(before, after);
    free(before), free(after);
    /* a missing file */
    r = ktune("import", in_dir(state, "nothing.json"), "--db", db, NULL);
    assert_one_error(&r, 1, "nothing.json");
    result_free(&r);
}

/* Adds schema 2 rows to the this-machine part of make_db(): rounds, a verification. */
static void add_v2_rows(const char *path) {
    kt_db *db;
    assert_int_equal(kt_db_open_write(path, &db), KT_OK);
    kt_db_dump d;
    assert_int_equal(kt_db_dump_read(db, here_fp(), KT_DB_DUMP_RUNS, &d), KT_OK);
    assert_true(d.nmachines == 1 && d.nruns >= 1);
    kt_db_measurement m = {.machine = d.machines[0].id, .n = 1000, .version = cur("avx2"),
                           .run = d.runs[0].id, .samples = 3, .median_s = 2e-6,
                           .spread = 0.01, .min_s = 1.9e-6, .kernel_s = NAN, .valid = 1,
                           .gflops = NAN, .gbs = NAN, .batch = 42, .nrounds = 3,
                           .rounds = {2e-6f, 2.5e-6f, 1.75e-6f}};
    snprintf(m.op, sizeof m.op, "%s", OP);
    snprintf(m.variant, sizeof m.variant, "avx2");
    assert_int_equal(kt_db_measurement_put(db, &m), KT_OK);
    kt_db_verify_row v = {.machine = d.machines[0].id, .run = d.runs[0].id, .n = 1500,
                          .pass = 2, .dispatched_s = 1.1e-6, .best_s = 1e-6, .ratio = 1.1,
                          .seed = UINT64_MAX - 5};
    snprintf(v.op, sizeof v.op, "%s", OP);
    snprintf(v.dispatched, sizeof v.dispatched, "scalar");
    snprintf(v.best, sizeof v.best, "avx2");
    snprintf(v.fixed, sizeof v.fixed, "{\"avx2\":0.91,\"scalar\":1.0}");
    assert_int_equal(kt_db_verify_put(db, &v), KT_OK);
    kt_db_dump_free(&d);
    assert_int_equal(kt_db_close(db), KT_OK);
}

static void export_import_carry_schema_2(void **state) {
    const char *a = in_dir(state, "a.db"), *b = in_dir(state, "b.db");
    const char *file = in_dir(state, "a.json"), *bad = in_dir(state, "bad.json");
    const char *fresh = in_dir(state, "fresh.db"); /* in_dir() reuses 8 buffers: no more */
    make_db(a, &both);
    add_v2_rows(a);
    result r = ktune("export", "--db", a, "--output", file, NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);
    char *text = slurp(file);
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    assert_non_null(doc);
    json_t *mach = NULL, *ms;
    size_t i;
    json_array_foreach(json_object_get(doc, "machines"), i, ms)
        if (!strcmp(jstr(ms, "fingerprint"), here_fp())) mach = ms;
    assert_non_null(mach);
    json_t *ver = json_array_get(json_object_get(mach, "verifications"), 0);
    assert_non_null(ver);
    assert_string_equal(jstr(ver, "seed"), "18446744073709551610");
    assert_int_equal(json_integer_value(json_object_get(ver, "pass")), 2);
    assert_string_equal(jstr(ver, "fixed"), "{\"avx2\":0.91,\"scalar\":1.0}");
    json_t *ch = json_array_get(json_object_get(mach, "choices"), 0);
    assert_string_equal(jstr(ch, "decision"), "resolved");
    assert_true(json_real_value(json_object_get(ch, "ci_hi")) == 0.2);
    json_decref(doc);

    r = ktune("import", file, "--db", b, "--json", NULL);
    assert_int_equal(r.status, 0);
    json_t *j = json_of(&r);
    json_t *cnt = json_object_get(json_object_get(j, "counts"), "verifications");
    assert_int_equal(json_integer_value(json_object_get(cnt, "added")), 1);
    json_decref(j);
    result_free(&r);
    char *ea = export_text(a), *eb = export_text(b);
    assert_string_equal(ea, eb);
    free(ea), free(eb);
    kt_db *db;
    kt_db_dump d;
    assert_int_equal(kt_db_open_read(b, &db), KT_OK);
    assert_int_equal(kt_db_dump_read(db, here_fp(), KT_DB_DUMP_ALL, &d), KT_OK);
    const kt_db_measurement *m = NULL;
    for (i = 0; i < d.nmeasurements; i++)
        if (d.measurements[i].batch == 42) m = &d.measurements[i];
    assert_non_null(m);
    assert_int_equal(m->nrounds, 3);
    assert_true(m->rounds[0] == 2e-6f && m->rounds[1] == 2.5e-6f && m->rounds[2] == 1.75e-6f);
    assert_true(d.nchoices > 0 && d.choices[0].c.ci_lo == 0.1 && d.choices[0].c.ci_hi == 0.2);
    assert_string_equal(d.choices[0].c.decision, "resolved");
    assert_int_equal(d.nverifications, 1);
    const kt_db_verify_row *v = &d.verifications[0];
    assert_true(v->seed == UINT64_MAX - 5 && v->pass == 2 && v->n == 1500 && v->ratio == 1.1);
    assert_string_equal(v->fixed, "{\"avx2\":0.91,\"scalar\":1.0}");
    assert_string_equal(v->best, "avx2");
    assert_int_equal(v->run, d.runs[0].id);
    kt_db_dump_free(&d);
    kt_db_close(db);
    /* importing again: the verification is identical */
    r = ktune("import", file, "--db", b, "--json", NULL);
    j = json_of(&r);
    cnt = json_object_get(json_object_get(j, "counts"), "verifications");
    assert_int_equal(json_integer_value(json_object_get(cnt, "identical")), 1);
    json_decref(j);
    result_free(&r);

    /* CSV: the new columns, rounds ';'-separated */
    r = ktune("export", "--db", a, "--format", "csv", "--machine", here_fp(), NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, ",error,batch,rounds,ci_lo,ci_hi,decision\n"));
    assert_non_null(strstr(r.out, ",42,1.99999999e-06;2.49999994e-06;1.75000002e-06,"));
    assert_non_null(strstr(r.out, ",0.10000000000000001,0.20000000000000001,resolved\n"));
    result_free(&r);

    /* bad schema 2 members: one message naming the place, nothing written */
    static const struct {
        const char *from, *to, *needle;
    } cases[] = {
        {"\"pass\": 2", "\"pass\": 3", "verifications[0].pass: 3 is not 1 or 2"},
        {"\"seed\": \"18446744073709551610\"", "\"seed\": \"-1\"", "verifications[0].seed"},
        {"\"seed\": \"18446744073709551610\"", "\"seed\": \"99999999999999999999\"",
         "verifications[0].seed"},
        {"\"batch\": 42", "\"batch\": \"x\"", "batch: expected an integer"},
        {"\"fixed\": \"{", "\"fixed\": \"[1] {", "fixed: not the text of a JSON object"},
        {"\"decision\": \"resolved\"", "\"decision\": \"maybe\"", "unknown decision 'maybe'"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *at = strstr(text, cases[c].from);
        assert_non_null(at);
        size_t head = (size_t)(at - text), lf = strlen(cases[c].from);
        char *mod = malloc(strlen(text) + 64);
        assert_non_null(mod);
        snprintf(mod, strlen(text) + 64, "%.*s%s%s", (int)head, text, cases[c].to,
                 at + lf);
        write_file(bad, mod);
        free(mod);
        r = ktune("import", bad, "--db", fresh, NULL);
        assert_one_error(&r, 1, cases[c].needle);
        result_free(&r);
        if (access(fresh, F_OK) == 0)
            fail_msg("case %zu (%s): fresh.db was created", c, cases[c].needle);
    }
    free(text);
}

/* An export of a database with no machines (the empty case qsort once mishandled). */
static void empty_export_round_trip(void **state) {
    const char *db = in_dir(state, "e.db"), *fresh = in_dir(state, "fresh.db");
    const char *json = in_dir(state, "e.json");
    write_file(json, "{\"format\": \"ktune-export\", \"format_version\": 1, "
                     "\"variants\": [], \"machines\": []}");
    result r = ktune("import", json, "--db", db, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "no conflicts"));
    result_free(&r);
    r = ktune("export", "--db", db, "--output", json, NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);
    char *text = slurp(json);
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    free(text);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "machines")), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "variants")), 0);
    json_decref(doc);
    r = ktune("import", json, "--db", fresh, "--json", NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);
    r = ktune("export", "--db", fresh, "--format", "csv", NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(strchr(r.out, '\n') - r.out + 1, (ptrdiff_t)strlen(r.out)); /* header */
    result_free(&r);
}

/* Sets the schema version of the file (and its compat_version) by hand. */
static void set_schema(const char *path, int version, int compat) {
    sqlite3 *s;
    assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
    char sql[200];
    snprintf(sql, sizeof sql,
             "PRAGMA user_version = %d; UPDATE meta SET value = '%d' "
             "WHERE key = 'compat_version'",
             version, compat);
    assert_int_equal(sqlite3_exec(s, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(s), SQLITE_OK);
}

static void newer_schema_refused(void **state) {
    const char *db = in_dir(state, "new.db"), *other = in_dir(state, "o.db");
    const char *json = in_dir(state, "o.json"), *html = in_dir(state, "r.html");
    make_db(db, &both);
    make_db(other, &both);
    result r = ktune("export", "--db", other, "--output", json, NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);
    set_schema(db, 99, 99);
    struct stat before, after;
    assert_int_equal(stat(db, &before), 0);
    const char *cmds[][8] = {
        {"show", "--db", db},
        {"explain", "axpy_f32", "10", "--db", db},
        {"report", "--db", db, "--html", html},
        {"export", "--db", db},
        {"import", json, "--db", db},
        {"merge", other, "--db", db},
        {"merge", db, "--db", other},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        r = ktune(cmds[i][0], cmds[i][1], cmds[i][2], cmds[i][3], cmds[i][4], cmds[i][5], NULL);
        assert_one_error(&r, 1, "schema version 99");
        result_free(&r);
    }
    assert_int_equal(stat(db, &after), 0);
    assert_true(before.st_size == after.st_size && before.st_mtime == after.st_mtime);
    assert_int_equal(access(html, F_OK), -1);
    /* newer but readable (compat 1): show works; export and merge from it refuse */
    set_schema(db, KT_DB_SCHEMA_VERSION + 1, 1);
    r = ktune("show", "--db", db, NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);
    r = ktune("export", "--db", db, NULL);
    assert_one_error(&r, 1, "newer than this ktune's");
    result_free(&r);
    r = ktune("merge", db, "--db", other, NULL);
    assert_one_error(&r, 1, "newer than this ktune's");
    result_free(&r);
}

int main(void) {
#define T(name, fn) {name, fn, setup, teardown, NULL}
    const struct CMUnitTest tests[] = {
        T("show --json, two machines: structure, ranges at dispatch's bounds, throughput, "
          "margins, completeness; text fits 80 columns", show_two_machines_json),
        T("explain --json: matched size, every variant's measurement, exclusions and why, "
          "GPU transfer/kernel split, forced and disabled", explain_json_structure),
        T("explain with no database explains the defaults; a missing --db is an error",
          explain_without_database),
        T("export then import into an empty file gives the same file, choices and dispatch",
          export_import_round_trip),
        T("merge is idempotent and, without conflicts, commutative",
          merge_idempotent_commutative),
        T("merge conflicts: the newest complete run wins either way round, nothing is lost",
          merge_conflicts_newest_complete_run_wins),
        T("report --html and --svg: self-contained, every machine, series, band, limit",
          report_html_and_svg),
        T("bad command lines (unknown op, malformed sizes, options): one message, exit 2; "
          "--help fits 80 columns", bad_command_lines),
        T("bad import files (truncated, wrong shape, newer format): one message, exit 1, "
          "nothing written", bad_import_files),
        T("a database of a newer schema: one message, exit 1, nothing written",
          newer_schema_refused),
        T("an export without machines imports, exports and imports again",
          empty_export_round_trip),
        T("export and import carry rounds, intervals, decisions and verifications",
          export_import_carry_schema_2),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests_name("tools", tests, NULL, NULL);
}
