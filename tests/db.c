/*
 * Tests of db/, the tuning database: creation and schema versions, migrations,
 * bad files (missing, empty, corrupt, truncated, foreign, read-only, newer), locking
 * between connections and processes, a writer killed mid-run, and the data round trips.
 * Prints TAP (cmocka).  Every test works in its own mkdtemp() directory, removed after.
 */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE /* setgroups */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "kt_db.h"
#include "kt_dispatch.h"
#include "kt_internal.h"
#include "kt_schema.h"

static char self[4096]; /* this program, which children exec (see main) */

/* ---- Fixture: a temporary directory ------------------------------------- */

typedef struct fixture {
    char dir[512];
    char db[600];     /* dir/ktune.db */
} fixture;

static int fixture_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/ktune-db-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->db, sizeof f->db, "%s/ktune.db", f->dir);
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path);
    return unlink(path);
}

static int fixture_teardown(void **state)
{
    fixture *f = *state;
    chmod(f->dir, 0700); /* tests make it read-only */
    int rc = nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return rc;
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

/* ---- Helpers ------------------------------------------------------------ */

static const char FP[] = "x86_64-test-fingerprint";

/* The built-in schema as it was at version 1 (its first step). */
static const kt_db_schema schema_v1 = {kt_schema_steps, 1, 1};
static const char OP[] = "axpy_f32";

static void path_in(const fixture *f, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", f->dir, name);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void assert_error_contains(const char *needle)
{
    const char *msg = kt_last_error();
    if (!strstr(msg, needle))
        fail_msg("error message \"%s\" lacks \"%s\"", msg, needle);
}

/* Raw SQLite on path: one integer, one text, or statements, outside kt_db. */
static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK)
        fail_msg("sqlite3_open_v2(%s): %s", path, sqlite3_errstr(rc));
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static void raw_exec_db(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", err ? err : "?");
        sqlite3_free(err);
        fail_msg("%s: %s", sql, msg);
    }
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    raw_exec_db(db, sql);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    return v;
}

static void raw_text(const char *path, const char *sql, char *out, size_t len)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *s = sqlite3_column_text(st, 0);
    snprintf(out, len, "%s", s ? (const char *)s : "(null)");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* Whole-file contents, to prove a refused file was left alone. */
static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static void spill(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Opens path for writing and records the machine FP and variants of OP. */
static kt_db *make_db(const char *path, int64_t *machine)
{
    kt_db *db = NULL;
    if (kt_db_open_write(path, &db) != KT_OK)
        fail_msg("kt_db_open_write: %s", kt_last_error());
    assert_int_equal(kt_db_machine_put(db, FP, "{\"cpu\":{\"brand\":\"test\"},\"gpu\":null}",
                                       machine), KT_OK);
    assert_int_equal(kt_db_variant_put(db, OP, "scalar", 1, "scalar", NULL), KT_OK);
    assert_int_equal(kt_db_variant_put(db, OP, "avx2", 1, "avx2", ""), KT_OK);
    assert_int_equal(kt_db_variant_put(db, OP, "avx2", 2, "avx2", ""), KT_OK);
    assert_int_equal(kt_db_variant_put(db, OP, "threads:t=2", 1, "threads", "t=2"), KT_OK);
    return db;
}

static kt_db_measurement meas(int64_t machine, size_t n, const char *variant, unsigned version,
                              double median_s)
{
    kt_db_measurement me;
    memset(&me, 0, sizeof me);
    me.machine = machine;
    snprintf(me.op, sizeof me.op, "%s", OP);
    me.n = n;
    snprintf(me.variant, sizeof me.variant, "%s", variant);
    me.version = version;
    me.samples = 21;
    me.median_s = median_s;
    me.spread = 0.02;
    me.min_s = median_s * 0.95;
    me.kernel_s = NAN;
    me.valid = 1;
    me.gflops = 2.0 * (double)n / median_s * 1e-9;
    me.gbs = 12.0 * (double)n / median_s * 1e-9;
    return me;
}

/* A valid database with `count` measurements, closed. */
static void make_filled_db(const char *path, int count)
{
    int64_t machine;
    kt_db *db = make_db(path, &machine);
    for (int i = 0; i < count; i++) {
        kt_db_measurement me = meas(machine, (size_t)i + 1, "avx2", 1, 1e-6 * (i + 1));
        snprintf(me.error, sizeof me.error, "padding %0200d", i); /* fill pages */
        assert_int_equal(kt_db_measurement_put(db, &me), KT_OK);
    }
    assert_int_equal(kt_db_close(db), KT_OK);
}

/* Forks; the child drops root privileges (when root) and runs fn, whose return value is
 * its exit status.  Returns that status; 77 means "cannot run here". */
static int run_as_user(int (*fn)(const fixture *f), const fixture *f)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 &&
            (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
            _exit(77);
        if (geteuid() == 0)
            _exit(77);
        _exit(fn(f));
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* ---- Creation and schema versions --------------------------------------- */

static void create_sets_wal_version_and_application_id(void **state)
{
    fixture *f = *state;
    int64_t machine;
    kt_db *db = make_db(f->db, &machine);
    assert_int_equal(kt_db_version(db), KT_DB_SCHEMA_VERSION);
    assert_string_equal(kt_db_path(db), f->db);
    assert_true(machine > 0);
    assert_int_equal(kt_db_check(db), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);

    char mode[32];
    raw_text(f->db, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");
    assert_int_equal(raw_int(f->db, "PRAGMA application_id"), KT_DB_APPLICATION_ID);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), KT_DB_SCHEMA_VERSION);
    assert_int_equal(raw_int(f->db, "SELECT value FROM meta WHERE key = 'compat_version'"), 1);

    /* Opening again keeps the data and the machine id (upsert). */
    assert_int_equal(kt_db_open_write(f->db, &db), KT_OK);
    int64_t again;
    assert_int_equal(kt_db_machine_put(db, FP, "{\"cpu\":{\"brand\":\"new\"}}", &again),
                     KT_OK);
    assert_int_equal(again, machine);
    assert_int_equal(kt_db_machine_find(db, FP, &again), KT_OK);
    assert_int_equal(again, machine);
    assert_int_equal(kt_db_machine_find(db, "other", &again), KT_ENOTFOUND);
    assert_int_equal(kt_db_machine_put(db, "bad-json", "{cpu", &again), KT_EINVAL);
    assert_int_equal(kt_db_close(db), KT_OK);
    char brand[64];
    raw_text(f->db, "SELECT json_extract(details, '$.cpu.brand') FROM machines", brand,
             sizeof brand);
    assert_string_equal(brand, "new");
}

static void foreign_keys_are_enforced(void **state)
{
    fixture *f = *state;
    int64_t machine;
    kt_db *db = make_db(f->db, &machine);
    kt_db_measurement me = meas(machine, 100, "no-such-variant", 1, 1e-6);
    assert_int_equal(kt_db_measurement_put(db, &me), KT_EINVAL);
    assert_error_contains("FOREIGN KEY");
    me = meas(machine + 1000, 100, "avx2", 1, 1e-6);
    assert_int_equal(kt_db_measurement_put(db, &me), KT_EINVAL);
    me = meas(machine, 100, "avx2", 1, 1e-6);
    me.run = 999;
    assert_int_equal(kt_db_measurement_put(db, &me), KT_EINVAL);
    assert_int_equal(kt_db_close(db), KT_OK);
}

static void missing_file_is_not_created_by_readers(void **state)
{
    fixture *f = *state;
    kt_db *db = (kt_db *)1;
    assert_int_equal(kt_db_open_read(f->db, &db), KT_EDB);
    assert_null(db);
    assert_error_contains("no database at");
    assert_error_contains(f->db);
    assert_false(exists(f->db));
}

static void empty_file_reads_as_no_tuning_and_is_created_into(void **state)
{
    fixture *f = *state;
    spill(f->db, "", 0);
    kt_db *db;
    assert_int_equal(kt_db_open_read(f->db, &db), KT_OK);
    assert_int_equal(kt_db_version(db), 0);
    kt_db_choice *c = (kt_db_choice *)1;
    size_t n = 7;
    assert_int_equal(kt_db_choices_load(db, FP, OP, &c, &n), KT_OK);
    assert_null(c);
    assert_int_equal(n, 0);
    int64_t id;
    assert_int_equal(kt_db_machine_find(db, FP, &id), KT_ENOTFOUND);
    kt_db_measurement me = meas(1, 10, "avx2", 1, 1e-6);
    assert_int_equal(kt_db_measurement_get(db, &me), KT_ENOTFOUND);
    kt_db_measurement *list;
    assert_int_equal(kt_db_measurements_list(db, 1, OP, NULL, NULL, &list, &n), KT_OK);
    assert_int_equal(n, 0);
    double v;
    assert_int_equal(kt_db_limit_get(db, 1, "mem_bw_gbs", &v), KT_ENOTFOUND);
    assert_int_equal(kt_db_machine_put(db, FP, NULL, &id), KT_EINVAL);
    assert_int_equal(kt_db_close(db), KT_OK);
    struct stat st;
    assert_int_equal(stat(f->db, &st), 0);
    assert_int_equal(st.st_size, 0);

    assert_int_equal(kt_db_open_write(f->db, &db), KT_OK);
    assert_int_equal(kt_db_version(db), KT_DB_SCHEMA_VERSION);
    assert_int_equal(kt_db_close(db), KT_OK);
    assert_int_equal(raw_int(f->db, "PRAGMA application_id"), KT_DB_APPLICATION_ID);
}

static void corrupt_file_is_refused_and_left_alone(void **state)
{
    fixture *f = *state;
    unsigned char junk[8192];
    srand(12345);
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(rand() >> 7);
    spill(f->db, junk, sizeof junk);

    kt_db *db;
    assert_int_equal(kt_db_open_read(f->db, &db), KT_EDB);
    assert_null(db);
    assert_error_contains("not a ktune database (file is not a database)");
    assert_int_equal(kt_db_open_write(f->db, &db), KT_EDB);
    assert_error_contains("not a ktune database (file is not a database)");
    size_t len;
    char *after = slurp(f->db, &len);
    assert_int_equal(len, sizeof junk);
    assert_memory_equal(after, junk, sizeof junk);
    free(after);
}

static void truncated_file_is_refused(void **state)
{
    fixture *f = *state;
    char whole[700];
    path_in(f, "whole.db", whole, sizeof whole);
    make_filled_db(whole, 400);
    size_t len;
    char *bytes = slurp(whole, &len);
    assert_true(len > 16 * 4096);
    spill(f->db, bytes, len / 2);
    free(bytes);

    kt_db *db;
    assert_int_equal(kt_db_open_read(f->db, &db), KT_EDB);
    assert_error_contains("corrupt database");
    assert_int_equal(kt_db_open_write(f->db, &db), KT_EDB);
    assert_error_contains("corrupt database");
    size_t after;
    free(slurp(f->db, &after));
    assert_int_equal(after, len / 2);
}

static void damaged_page_is_found_and_never_written(void **state)
{
    fixture *f = *state;
    make_filled_db(f->db, 400);
    size_t len;
    unsigned char *bytes = (unsigned char *)slurp(f->db, &len);
    assert_true(len > 41 * 4096);
    for (size_t i = 40 * 4096; i < 41 * 4096; i++)
        bytes[i] = (unsigned char)(i * 2654435761u >> 13);
    spill(f->db, bytes, len);

    kt_db *db;
    assert_int_equal(kt_db_open_write(f->db, &db), KT_EDB);
    assert_error_contains("corrupt database");
    assert_error_contains("refusing to write");
    assert_null(strchr(kt_last_error(), '\n'));
    size_t after_len;
    char *after = slurp(f->db, &after_len);
    assert_int_equal(after_len, len);
    assert_memory_equal(after, bytes, len);
    free(after);
    free(bytes);
    /* Readers open it (the check would cost every program start) and kt_db_check finds it. */
    assert_int_equal(kt_db_open_read(f->db, &db), KT_OK);
    assert_int_equal(kt_db_check(db), KT_EDB);
    assert_error_contains("corrupt database");
    assert_int_equal(kt_db_close(db), KT_OK);
}

static void fill_choices(const char *path);

/* 1 when PRAGMA pragma on path says "ok". */
static int raw_check_ok(const char *path, const char *pragma)
{
    char s[256];
    raw_text(path, pragma, s, sizeof s);
    return strcmp(s, "ok") == 0;
}

/* Opening for writing fails with KT_EDB naming needle, and leaves path byte for byte. */
static void assert_write_refused_unchanged(const char *path, const char *needle)
{
    size_t len, after_len;
    char *before = slurp(path, &len);
    kt_db *db;
    assert_int_equal(kt_db_open_write(path, &db), KT_EDB);
    assert_null(db);
    assert_error_contains(needle);
    assert_error_contains("refusing to write");
    assert_null(strchr(kt_last_error(), '\n'));
    char *after = slurp(path, &after_len);
    assert_int_equal(after_len, len);
    assert_memory_equal(after, before, len);
    free(after);
    free(before);
}

static void index_damage_quick_check_misses_is_refused(void **state)
{
    fixture *f = *state;
    char whole[700];
    path_in(f, "whole.db", whole, sizeof whole);
    make_filled_db(whole, 300);
    int64_t root = raw_int(whole, "SELECT rootpage FROM sqlite_schema "
                                  "WHERE name = 'measurements_by_variant'");
    size_t len;
    unsigned char *bytes = (unsigned char *)slurp(whole, &len);
    size_t page = (size_t)(root - 1) * 4096;
    assert_true(page + 4096 <= len);
    /* A bit flip inside an index cell: the b-tree stays well formed, the entry is wrong. */
    size_t content = (size_t)bytes[page + 5] << 8 | bytes[page + 6];
    int found = 0;
    for (size_t d = 1; d < 64 && !found; d++) {
        bytes[page + content + d] ^= 0x04;
        spill(f->db, bytes, len);
        found = raw_check_ok(f->db, "PRAGMA quick_check") &&
                !raw_check_ok(f->db, "PRAGMA integrity_check");
        bytes[page + content + d] ^= 0x04;
    }
    free(bytes);
    assert_true(found); /* the premise: a damage quick_check does not see */
    assert_write_refused_unchanged(f->db, "missing from index");

    /* The same file cut by one byte. */
    bytes = (unsigned char *)slurp(whole, &len);
    spill(f->db, bytes, len - 1);
    free(bytes);
    assert_true(raw_check_ok(f->db, "PRAGMA quick_check"));
    assert_write_refused_unchanged(f->db, "corrupt database");
}

static void unknown_schema_objects_are_refused_before_writing(void **state)
{
    fixture *f = *state;
    static const char *const planted[] = {
        "CREATE TRIGGER spy AFTER INSERT ON measurements BEGIN "
        "DELETE FROM choices; END",
        "CREATE TABLE notes (x)",
        "CREATE INDEX choices_by_median ON choices (median_s)",
        "CREATE VIEW everything AS SELECT * FROM measurements",
        "DROP VIEW winners; CREATE VIEW winners AS SELECT 1 AS machine",
        "DROP INDEX measurements_by_run",
    };
    static const char *const says[] = {
        "trigger 'spy' is not part", "table 'notes' is not part",
        "index 'choices_by_median' is not part", "view 'everything' is not part",
        "view 'winners' is not part", "index 'measurements_by_run' of ktune's schema is "
                                      "missing",
    };
    for (size_t i = 0; i < sizeof planted / sizeof planted[0]; i++) {
        unlink(f->db);
        fill_choices(f->db);
        raw_exec(f->db, planted[i]);
        assert_write_refused_unchanged(f->db, says[i]);
        kt_db *db;
        assert_int_equal(kt_db_open_read(f->db, &db), KT_OK); /* reading runs no trigger */
        assert_int_equal(kt_db_close(db), KT_OK);
    }
    /* ANALYZE's statistics are the user's: still writable. */
    unlink(f->db);
    fill_choices(f->db);
    raw_exec(f->db, "ANALYZE");
    kt_db *db;
    assert_int_equal(kt_db_open_write(f->db, &db), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);
    /* A version 1 file is compared with the version 1 schema, then migrated. */
    unlink(f->db);
    const kt_db_options w1 = {1, 0, &schema_v1};
    assert_int_equal(kt_db_open(f->db, &w1, &db), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);
    assert_int_equal(kt_db_open_write(f->db, &db), KT_OK);
    assert_int_equal(kt_db_version(db), KT_DB_SCHEMA_VERSION);
    assert_int_equal(kt_db_close(db), KT_OK);
}

static void foreign_sqlite_file_is_refused_and_left_alone(void **state)
{
    fixture *f = *state;
    raw_exec(f->db, "CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('ada');");
    size_t len0;
    char *before = slurp(f->db, &len0);

    kt_db *db;
    assert_int_equal(kt_db_open_write(f->db, &db), KT_EDB);
    assert_error_contains("not a ktune database");
    assert_error_contains("no ktune application_id");
    assert_int_equal(kt_db_open_read(f->db, &db), KT_EDB);
    assert_error_contains("not a ktune database");

    size_t len1;
    char *after = slurp(f->db, &len1);
    assert_int_equal(len0, len1);
    assert_memory_equal(before, after, len0);
    free(before);
    free(after);
    char mode[32];
    raw_text(f->db, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "delete");

    /* Another application's id, even with no tables. */
    char other[700];
    path_in(f, "other.db", other, sizeof other);
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(other, &raw), SQLITE_OK);
    raw_exec_db(raw, "PRAGMA application_id = 1234");
    assert_int_equal(sqlite3_close(raw), SQLITE_OK);
    assert_int_equal(kt_db_open_write(other, &db), KT_EDB);
    assert_error_contains("application_id 0x000004d2");
    assert_int_equal(kt_db_open_read(other, &db), KT_EDB);
}

static void not_a_regular_file_is_refused(void **state)
{
    fixture *f = *state;
    kt_db *db;
    assert_int_equal(kt_db_open_read(f->dir, &db), KT_EDB);
    assert_error_contains("not a regular file");
    assert_int_equal(kt_db_open_write(f->dir, &db), KT_EDB);
    char nodir[700];
    path_in(f, "no/such/dir/ktune.db", nodir, sizeof nodir);
    assert_int_equal(kt_db_open_write(nodir, &db), KT_EDB);
    assert_error_contains("cannot create or open");
    assert_int_equal(kt_db_open_read(NULL, &db), KT_EINVAL);
    assert_int_equal(kt_db_open_write("", &db), KT_EINVAL);
}

/* Child of read_only_file_*: the file is 0444, its directory writable. */
static int read_only_file_child(const fixture *f)
{
    kt_db *db;
    if (kt_db_open_write(f->db, &db) != KT_EDB || !strstr(kt_last_error(), "read-only"))
        return 1;
    if (kt_db_open_read(f->db, &db) != KT_OK)
        return 2;
    kt_db_choice *c;
    size_t n;
    int bad = kt_db_choices_load(db, FP, OP, &c, &n) != KT_OK || n != 2;
    free(c);
    kt_db_close(db);
    return bad ? 3 : 0;
}

static void fill_choices(const char *path)
{
    int64_t machine;
    kt_db *db = make_db(path, &machine);
    kt_db_choice c[2] = {
        {0, 100, 0, 1, "avx2", 1, 1e-6, 0.5, NAN, NAN, ""},
        {0, 100, 0, 2, "scalar", 1, 1.5e-6, 0.5, NAN, NAN, ""},
    };
    assert_int_equal(kt_db_choices_replace(db, machine, OP, 0, c, 2), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);
}

static void read_only_file_reads_and_refuses_writes(void **state)
{
    fixture *f = *state;
    fill_choices(f->db);
    assert_int_equal(chmod(f->db, 0444), 0);
    assert_int_equal(chmod(f->dir, 0777), 0);
    int rc = run_as_user(read_only_file_child, f);
    if (rc == 77)
        skip();
    assert_int_equal(rc, 0);
}

static void read_only_directory_reads_wal_file_as_immutable(void **state)
{
    fixture *f = *state;
    fill_choices(f->db);
    char wal[700];
    snprintf(wal, sizeof wal, "%s-wal", f->db);
    assert_false(exists(wal)); /* the last close checkpointed and removed it */
    assert_int_equal(chmod(f->db, 0444), 0);
    assert_int_equal(chmod(f->dir, 0555), 0);
    int rc = run_as_user(read_only_file_child, f);
    if (rc == 77)
        skip();
    assert_int_equal(rc, 0);
}

/* ---- Versions and migrations -------------------------------------------- */

static void newer_schema_is_read_if_compatible_never_written(void **state)
{
    fixture *f = *state;
    fill_choices(f->db);
    raw_exec(f->db, "PRAGMA user_version = 7");

    kt_db *db;
    assert_int_equal(kt_db_open_write(f->db, &db), KT_EDB);
    assert_error_contains("newer than this ktune");
    assert_int_equal(kt_db_open_read(f->db, &db), KT_OK);
    assert_int_equal(kt_db_version(db), 7);
    kt_db_choice *c;
    size_t n;
    assert_int_equal(kt_db_choices_load(db, FP, OP, &c, &n), KT_OK);
    assert_int_equal(n, 2);
    free(c);
    assert_int_equal(kt_db_close(db), KT_OK);

    raw_exec(f->db, "UPDATE meta SET value = '5' WHERE key = 'compat_version'");
    assert_int_equal(kt_db_open_read(f->db, &db), KT_EDB);
    assert_error_contains("needs a newer ktune");
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 7);
}

static const char step_add_note[] = "ALTER TABLE measurements ADD COLUMN note TEXT;";
static const char step_break[] = "UPDATE meta SET value = '4' WHERE key = 'compat_version';";

static void migration_upgrades_older_files_once(void **state)
{
    fixture *f = *state;
    int64_t machine;
    kt_db *db = make_db(f->db, &machine);
    kt_db_measurement me = meas(machine, 1000, "avx2", 1, 3e-6);
    assert_int_equal(kt_db_measurement_put(db, &me), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 3);

    /* A build whose schema has a fourth step ("v2" below: one step more than this build). */
    const char *v2_steps[] = {kt_schema_steps[0], kt_schema_steps[1], kt_schema_steps[2],
                              step_add_note};
    const kt_db_schema v2 = {v2_steps, 4, 1};
    const kt_db_options w2 = {1, 0, &v2};
    assert_int_equal(kt_db_open(f->db, &w2, &db), KT_OK);
    assert_int_equal(kt_db_version(db), 4);
    kt_db_measurement got = meas(machine, 1000, "avx2", 1, 0);
    assert_int_equal(kt_db_measurement_get(db, &got), KT_OK);
    assert_true(got.median_s == 3e-6);
    assert_int_equal(kt_db_close(db), KT_OK);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 4);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM pragma_table_info('measurements') "
                                    "WHERE name = 'note'"), 1);
    /* Opening again runs nothing (ALTER TABLE twice would fail). */
    assert_int_equal(kt_db_open(f->db, &w2, &db), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);

    /* This build (schema 3) reads the file (compat 1) but does not write it. */
    assert_int_equal(kt_db_open_read(f->db, &db), KT_OK);
    assert_int_equal(kt_db_version(db), 4);
    got = meas(machine, 1000, "avx2", 1, 0);
    assert_int_equal(kt_db_measurement_get(db, &got), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);
    assert_int_equal(kt_db_open_write(f->db, &db), KT_EDB);
    assert_error_contains("schema version 4 is newer than this ktune's (3)");

    /* A step that breaks old readers raises compat_version: schema 1 readers refuse. */
    const char *v3_steps[] = {kt_schema_steps[0], kt_schema_steps[1], kt_schema_steps[2],
                              step_add_note, step_break};
    const kt_db_schema v3 = {v3_steps, 5, 5};
    const kt_db_options w3 = {1, 0, &v3}, r3 = {0, 0, &v3};
    assert_int_equal(kt_db_open(f->db, &w3, &db), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);
    assert_int_equal(kt_db_open_read(f->db, &db), KT_EDB);
    assert_error_contains("needs a newer ktune");
    assert_int_equal(kt_db_open(f->db, &r3, &db), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);

    /* A reader whose queries need schema 5 refuses a v3 file until it is upgraded. */
    char old[700];
    path_in(f, "old.db", old, sizeof old);
    fill_choices(old);
    assert_int_equal(kt_db_open(old, &r3, &db), KT_EDB);
    assert_error_contains("to upgrade it");
    assert_int_equal(kt_db_open(old, &w3, &db), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);
    assert_int_equal(kt_db_open(old, &r3, &db), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);
}

static void migration_of_a_fresh_file_applies_every_step(void **state)
{
    fixture *f = *state;
    const char *steps[] = {kt_schema_steps[0], step_add_note};
    const kt_db_schema v2 = {steps, 2, 1};
    const kt_db_options w2 = {1, 0, &v2};
    kt_db *db;
    assert_int_equal(kt_db_open(f->db, &w2, &db), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 2);
    assert_int_equal(raw_int(f->db, "PRAGMA application_id"), KT_DB_APPLICATION_ID);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM pragma_table_info('measurements') "
                                    "WHERE name = 'note'"), 1);
}

static void failed_migration_step_changes_nothing(void **state)
{
    fixture *f = *state;
    int64_t machine;
    kt_db *db = make_db(f->db, &machine);
    kt_db_measurement me = meas(machine, 1000, "avx2", 1, 3e-6);
    assert_int_equal(kt_db_measurement_put(db, &me), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);

    const char *steps[] = {kt_schema_steps[0], kt_schema_steps[1], kt_schema_steps[2],
                           "CREATE TABLE extra (x); ALTER TABLE no_such_table ADD y;"};
    const kt_db_schema bad = {steps, 4, 1};
    const kt_db_options w = {1, 0, &bad};
    assert_int_equal(kt_db_open(f->db, &w, &db), KT_EDB);
    assert_null(db);
    assert_error_contains("applying schema step 4");
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 3);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM sqlite_master WHERE name='extra'"), 0);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM measurements"), 1);

    const kt_db_schema nonsense = {steps, 0, 1};
    const kt_db_options wn = {1, 0, &nonsense};
    assert_int_equal(kt_db_open(f->db, &wn, &db), KT_EINVAL);
}

/* ---- Data round trips --------------------------------------------------- */

static int keep_v1_valid(void *ctx, const kt_db_measurement *me)
{
    (void)ctx;
    return me->valid && me->version == (strcmp(me->variant, "avx2") == 0 ? 2u : 1u);
}

static void measurements_upsert_get_and_list(void **state)
{
    fixture *f = *state;
    int64_t machine, run;
    kt_db *db = make_db(f->db, &machine);
    assert_int_equal(kt_db_run_begin(db, machine, "--quick", "0.1.0", &run), KT_OK);

    kt_db_measurement me = meas(machine, 4096, "avx2", 1, 2e-6);
    me.run = run;
    assert_int_equal(kt_db_measurement_put(db, &me), KT_OK);
    me.median_s = 1.5e-6;
    me.samples = 41;
    assert_int_equal(kt_db_measurement_put(db, &me), KT_OK); /* re-measure: replaces */
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM measurements"), 1);

    kt_db_measurement got = meas(machine, 4096, "avx2", 1, 0);
    assert_int_equal(kt_db_measurement_get(db, &got), KT_OK);
    assert_true(got.median_s == 1.5e-6);
    assert_int_equal(got.samples, 41);
    assert_int_equal(got.run, run);
    assert_true(isnan(got.kernel_s));
    assert_true(got.spread == 0.02);
    assert_int_equal(got.valid, 1);
    assert_string_equal(got.error, "");
    assert_int_equal(strlen(got.measured_at), 20);

    /* A new version of the code is not "present" until measured itself. */
    got = meas(machine, 4096, "avx2", 2, 0);
    assert_int_equal(kt_db_measurement_get(db, &got), KT_ENOTFOUND);
    me = meas(machine, 4096, "avx2", 2, 1e-6);
    me.kernel_s = 0.7e-6;
    assert_int_equal(kt_db_measurement_put(db, &me), KT_OK);
    got = meas(machine, 4096, "avx2", 2, 0);
    assert_int_equal(kt_db_measurement_get(db, &got), KT_OK);
    assert_true(got.kernel_s == 0.7e-6);
    assert_int_equal(got.run, 0);

    /* A failed validation: no median, an error text. */
    me = meas(machine, 4096, "threads:t=2", 1, NAN);
    me.valid = 0;
    snprintf(me.error, sizeof me.error, "max rel err 3e-2 at i=17");
    assert_int_equal(kt_db_measurement_put(db, &me), KT_OK);
    got = meas(machine, 4096, "threads:t=2", 1, 0);
    assert_int_equal(kt_db_measurement_get(db, &got), KT_OK);
    assert_int_equal(got.valid, 0);
    assert_true(isnan(got.median_s));
    assert_string_equal(got.error, "max rel err 3e-2 at i=17");

    me = meas(machine, 100, "scalar", 1, 9e-6);
    assert_int_equal(kt_db_measurement_put(db, &me), KT_OK);

    kt_db_measurement *list;
    size_t n;
    assert_int_equal(kt_db_measurements_list(db, machine, OP, NULL, NULL, &list, &n), KT_OK);
    assert_int_equal(n, 4);
    assert_int_equal(list[0].n, 100); /* ordered by dims, variant, version */
    assert_string_equal(list[1].variant, "avx2");
    assert_int_equal(list[1].version, 1);
    assert_int_equal(list[2].version, 2);
    assert_string_equal(list[3].variant, "threads:t=2");
    free(list);
    assert_int_equal(kt_db_measurements_list(db, machine, OP, keep_v1_valid, NULL, &list, &n),
                     KT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].variant, "scalar");
    assert_int_equal(list[1].version, 2);
    free(list);
    assert_int_equal(kt_db_measurements_list(db, machine, "gemm_f64", NULL, NULL, &list, &n),
                     KT_OK);
    assert_int_equal(n, 0);
    assert_null(list);

    /* Bad arguments. */
    me = meas(machine, 4096, "avx2", 1, NAN);
    assert_int_equal(kt_db_measurement_put(db, &me), KT_EINVAL); /* valid without median */
    me = meas(machine, 4096, "avx2", 1, 1e-6);
    me.valid = 2;
    assert_int_equal(kt_db_measurement_put(db, &me), KT_EINVAL);
    me = meas(machine, 4096, "avx2", 1, 1e-6);
    memset(me.variant, 'x', sizeof me.variant);
    assert_int_equal(kt_db_measurement_put(db, &me), KT_EINVAL);
    me = meas(machine, 4096, "avx2", 1, 1e-6);
    me.op[0] = '\0';
    assert_int_equal(kt_db_measurement_put(db, &me), KT_EINVAL);
    me = meas(machine, (size_t)-1, "avx2", 1, 1e-6);
    assert_int_equal(kt_db_measurement_put(db, &me), KT_EINVAL);
    assert_int_equal(kt_db_measurement_put(db, NULL), KT_EINVAL);
    assert_int_equal(kt_db_close(db), KT_OK);

    /* Readers read, and cannot write. */
    assert_int_equal(kt_db_open_read(f->db, &db), KT_OK);
    got = meas(machine, 4096, "avx2", 2, 0);
    assert_int_equal(kt_db_measurement_get(db, &got), KT_OK);
    me = meas(machine, 4096, "avx2", 1, 1e-6);
    assert_int_equal(kt_db_measurement_put(db, &me), KT_EINVAL);
    assert_error_contains("read-only");
    assert_int_equal(kt_db_close(db), KT_OK);
}

static void choices_round_trip_and_views(void **state)
{
    fixture *f = *state;
    int64_t machine, run;
    kt_db *db = make_db(f->db, &machine);
    assert_int_equal(kt_db_run_begin(db, machine, NULL, "0.1.0", &run), KT_OK);
    /* Given out of order: loaded by dims, then rank. */
    kt_db_choice c[] = {
        {0, 1000000, 0, 2, "avx2", 2, 4e-4, 0.25, NAN, NAN, ""},
        {0, 1000000, 0, 1, "threads:t=2", 1, 3.2e-4, 0.25, NAN, NAN, ""},
        {0, 1000, 0, 1, "avx2", 2, 1e-7, NAN, NAN, NAN, ""},
        {0, 100000, 0, 1, "avx2", 2, 1e-5, 0.8, NAN, NAN, ""},
        {0, 100000, 0, 2, "threads:t=2", 1, 1.8e-5, 0.8, NAN, NAN, ""},
    };
    assert_int_equal(kt_db_choices_replace(db, machine, OP, run, c, 5), KT_OK);
    assert_int_equal(kt_db_run_end(db, run, KT_DB_RUN_COMPLETE), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);

    assert_int_equal(kt_db_open_read(f->db, &db), KT_OK);
    kt_db_choice *got;
    size_t n;
    assert_int_equal(kt_db_choices_load(db, FP, OP, &got, &n), KT_OK);
    assert_int_equal(n, 5);
    assert_int_equal(got[0].n, 1000);
    assert_true(isnan(got[0].margin));
    assert_int_equal(got[1].n, 100000);
    assert_int_equal(got[1].rank, 1);
    assert_string_equal(got[1].variant, "avx2");
    assert_int_equal(got[1].version, 2);
    assert_true(got[1].median_s == 1e-5);
    assert_true(got[1].margin == 0.8);
    assert_int_equal(got[2].rank, 2);
    assert_int_equal(got[3].n, 1000000);
    assert_string_equal(got[3].variant, "threads:t=2");
    assert_int_equal(got[4].rank, 2);
    for (size_t i = 0; i < n; i++)
        assert_true(got[i].m == 0 && got[i].k == 0);
    free(got);
    assert_int_equal(kt_db_choices_load(db, "unknown machine", OP, &got, &n), KT_OK);
    assert_int_equal(n, 0);
    assert_int_equal(kt_db_choices_load(db, FP, "axpy_f64", &got, &n), KT_OK);
    assert_int_equal(n, 0);
    assert_int_equal(kt_db_close(db), KT_OK);

    /* The views people query. */
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM winners"), 3);
    char s[128];
    raw_text(f->db, "SELECT machine || ' ' || variant || ' ' || median_us || ' ' || runner_up "
                    "FROM winners WHERE n = 1000000", s, sizeof s);
    assert_string_equal(s, "x86_64-test-fingerprint threads:t=2 320.0 avx2");
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM crossovers"), 1);
    raw_text(f->db, "SELECT below_n || ' ' || below_variant || ' -> ' || above_n || ' ' || "
                    "above_variant FROM crossovers", s, sizeof s);
    assert_string_equal(s, "100000 avx2 -> 1000000 threads:t=2");
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM hotspots"), 0);

    /* Replacing drops the old set; other ops are untouched. */
    db = make_db(f->db, &machine);
    kt_db_choice one = {0, 64, 0, 1, "scalar", 1, 5e-8, NAN, NAN, NAN, ""};
    assert_int_equal(kt_db_variant_put(db, "axpy_f64", "scalar", 1, "scalar", NULL), KT_OK);
    assert_int_equal(kt_db_choices_replace(db, machine, "axpy_f64", 0, &one, 1), KT_OK);
    assert_int_equal(kt_db_choices_replace(db, machine, OP, 0, &one, 1), KT_OK);
    assert_int_equal(kt_db_choices_load(db, FP, OP, &got, &n), KT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(got[0].n, 64);
    free(got);
    /* A rejected set leaves the previous one (one transaction). */
    kt_db_choice dup[2] = {one, one};
    assert_int_equal(kt_db_choices_replace(db, machine, OP, 0, dup, 2), KT_EINVAL);
    assert_int_equal(kt_db_choices_load(db, FP, OP, &got, &n), KT_OK);
    assert_int_equal(n, 1);
    free(got);
    assert_int_equal(kt_db_choices_replace(db, machine, OP, 0, NULL, 0), KT_OK);
    assert_int_equal(kt_db_choices_load(db, FP, OP, &got, &n), KT_OK);
    assert_int_equal(n, 0);
    assert_int_equal(kt_db_choices_load(db, FP, "axpy_f64", &got, &n), KT_OK);
    assert_int_equal(n, 1);
    free(got);

    /* measurements_readable and hotspots. */
    kt_db_measurement me = meas(machine, 4096, "avx2", 1, 2.5e-6);
    assert_int_equal(kt_db_measurement_put(db, &me), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);
    raw_text(f->db, "SELECT machine || ' ' || median_us || ' ' || spread_pct || ' ' || valid "
                    "FROM measurements_readable", s, sizeof s);
    assert_string_equal(s, "x86_64-test-fingerprint 2.5 2.0 ok");
    raw_exec(f->db, "INSERT INTO profiled_calls (machine, op, n, calls, total_s) "
                    "VALUES (1, 'axpy_f32', 100, 1000, 0.003), (1, 'axpy_f32', 10, 10, 0.001)");
    raw_text(f->db, "SELECT n || ' ' || avg_us || ' ' || pct FROM hotspots LIMIT 1", s, sizeof s);
    assert_string_equal(s, "100 3.0 75.0");
}

/*
 * Child mode (argv: --child-load STATUS MAX_MS): the library's load of KTUNE_DB must give
 * STATUS within MAX_MS.  Exits 0 when it does, 1 (saying why on stderr) otherwise.
 */
static int child_load(kt_status expect, double max_ms)
{
    double t0 = now_s();
    kt_tuned_set *set = NULL;
    kt_status s = kt_tuned_load(&set);
    double ms = (now_s() - t0) * 1e3;
    kt_tuned_set_free(set);
    if (s != expect || ms > max_ms) {
        fprintf(stderr, "kt_tuned_load: status %d in %.0f ms (%s); expected %d within %.0f ms\n",
                (int)s, ms, s == KT_OK ? "ok" : kt_last_error(), (int)expect, max_ms);
        return 1;
    }
    return 0;
}

/* Runs this program as a --child-load child on path; returns its exit status. */
static int spawn_load(const char *path, kt_status expect, int max_ms)
{
    char ex[16], ms[16];
    snprintf(ex, sizeof ex, "%d", (int)expect);
    snprintf(ms, sizeof ms, "%d", max_ms);
    char *argv[] = {self, "--child-load", ex, ms, NULL};
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("KTUNE_DB", path, 1);
        execv(self, argv);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void library_load_gives_up_quickly_on_a_locked_journal_file(void **state)
{
    fixture *f = *state;
    fill_choices(f->db);
    raw_exec(f->db, "PRAGMA journal_mode = DELETE");
    assert_int_equal(spawn_load(f->db, KT_OK, 5000), 0);

    /* A writer holds the exclusive lock of a rollback-journal file: readers cannot read. */
    sqlite3 *w = raw_open(f->db);
    raw_exec_db(w, "BEGIN EXCLUSIVE; DELETE FROM choices WHERE rank = 2");
    assert_int_equal(spawn_load(f->db, KT_EDB, 300), 0);
    raw_exec_db(w, "COMMIT");
    assert_int_equal(sqlite3_close(w), SQLITE_OK);
    assert_int_equal(spawn_load(f->db, KT_OK, 5000), 0);
}

/* ---- Schema 2: rounds, intervals, decisions, verifications ------------- */

static void measurement_batch_and_rounds_round_trip(void **state)
{
    fixture *f = *state;
    int64_t machine, run;
    kt_db *db = make_db(f->db, &machine);
    assert_int_equal(kt_db_run_begin(db, machine, NULL, "0.2.0", &run), KT_OK);
    kt_db_measurement me = meas(machine, 4096, "avx2", 1, 2e-6);
    me.run = run;
    me.batch = 77;
    me.nrounds = 3;
    me.rounds[0] = 1.0f;
    me.rounds[1] = 2.5e-6f;
    me.rounds[2] = -0.0f;
    assert_int_equal(kt_db_measurement_put(db, &me), KT_OK);
    kt_db_measurement bare = meas(machine, 8192, "avx2", 1, 3e-6);
    assert_int_equal(kt_db_measurement_put(db, &bare), KT_OK);

    kt_db_measurement got = meas(machine, 4096, "avx2", 1, 0);
    assert_int_equal(kt_db_measurement_get(db, &got), KT_OK);
    assert_int_equal(got.batch, 77);
    assert_int_equal(got.nrounds, 3);
    assert_memory_equal(got.rounds, me.rounds, 3 * sizeof(float));
    kt_db_measurement *list;
    size_t n;
    assert_int_equal(kt_db_measurements_list(db, machine, OP, NULL, NULL, &list, &n), KT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].batch, 77);
    assert_int_equal(list[0].nrounds, 3);
    assert_memory_equal(list[0].rounds, me.rounds, 3 * sizeof(float));
    assert_int_equal(list[1].batch, 0);
    assert_int_equal(list[1].nrounds, 0);
    free(list);
    kt_db_dump d;
    assert_int_equal(kt_db_dump_read(db, FP, KT_DB_DUMP_ALL, &d), KT_OK);
    assert_int_equal(d.nmeasurements, 2);
    assert_int_equal(d.measurements[0].batch, 77);
    assert_int_equal(d.measurements[0].nrounds, 3);
    assert_memory_equal(d.measurements[0].rounds, me.rounds, 3 * sizeof(float));
    kt_db_dump_free(&d);

    /* Too many rounds: refused, the row unchanged. */
    me.nrounds = KT_DB_MAX_ROUNDS + 1;
    assert_int_equal(kt_db_measurement_put(db, &me), KT_EINVAL);
    assert_error_contains("41 rounds");
    me.nrounds = -1;
    assert_int_equal(kt_db_measurement_put(db, &me), KT_EINVAL);
    assert_int_equal(kt_db_close(db), KT_OK);

    /* Stored as little-endian float32, NULL batch and rounds when there are none. */
    char s[128];
    raw_text(f->db, "SELECT hex(rounds) FROM measurements WHERE n = 4096", s, sizeof s);
    assert_string_equal(s, "0000803F" "ACC52736" "00000080");
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM measurements WHERE n = 8192 "
                                    "AND batch IS NULL AND rounds IS NULL"), 1);
    /* A BLOB the schema's CHECK would refuse (written around it) reads as corrupt. */
    raw_exec(f->db, "PRAGMA ignore_check_constraints = 1; "
                    "UPDATE measurements SET rounds = x'0102030405' WHERE n = 4096");
    assert_int_equal(kt_db_open_read(f->db, &db), KT_OK);
    got = meas(machine, 4096, "avx2", 1, 0);
    assert_int_equal(kt_db_measurement_get(db, &got), KT_EDB);
    assert_error_contains("5 bytes of rounds");
    assert_int_equal(kt_db_close(db), KT_OK);
}

static void choice_interval_and_decision_round_trip(void **state)
{
    fixture *f = *state;
    int64_t machine, run;
    kt_db *db = make_db(f->db, &machine);
    assert_int_equal(kt_db_run_begin(db, machine, NULL, "0.2.0", &run), KT_OK);
    kt_db_choice c[3] = {
        {0, 100, 0, 1, "avx2", 1, 1e-6, 0.5, 0.25, 0.75, "resolved"},
        {0, 100, 0, 2, "scalar", 1, 1.5e-6, 0.5, 0.25, 0.75, "resolved"},
        {0, 200, 0, 1, "avx2", 1, 2e-6, NAN, NAN, NAN, "single"},
    };
    assert_int_equal(kt_db_choices_replace(db, machine, OP, run, c, 3), KT_OK);
    kt_db_choice *got;
    size_t n;
    assert_int_equal(kt_db_choices_load(db, FP, OP, &got, &n), KT_OK);
    assert_int_equal(n, 3);
    assert_true(got[0].ci_lo == 0.25 && got[0].ci_hi == 0.75);
    assert_string_equal(got[0].decision, "resolved");
    assert_true(isnan(got[2].ci_lo) && isnan(got[2].ci_hi));
    assert_string_equal(got[2].decision, "single");
    free(got);
    kt_db_dump d;
    assert_int_equal(kt_db_dump_read(db, NULL, KT_DB_DUMP_CHOICES, &d), KT_OK);
    assert_int_equal(d.nchoices, 3);
    assert_true(d.choices[1].c.ci_lo == 0.25 && d.choices[1].c.ci_hi == 0.75);
    assert_string_equal(d.choices[1].c.decision, "resolved");
    assert_string_equal(d.choices[2].c.decision, "single");
    kt_db_dump_free(&d);

    /* An unknown decision: refused, the stored set unchanged. */
    kt_db_choice bad = {0, 300, 0, 1, "avx2", 1, 1e-6, NAN, NAN, NAN, "guess"};
    assert_int_equal(kt_db_choices_replace(db, machine, OP, run, &bad, 1), KT_EINVAL);
    assert_error_contains("unknown decision 'guess'");
    assert_int_equal(kt_db_close(db), KT_OK);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM choices"), 3);

    /* winners shows the decision and the interval. */
    char s[160];
    raw_text(f->db, "SELECT decision || ' ' || margin_lo || ' ' || margin_hi || ' ' || runner_up "
                    "FROM winners WHERE n = 100", s, sizeof s);
    assert_string_equal(s, "resolved 0.25 0.75 scalar");
    raw_text(f->db, "SELECT decision || ' ' || (margin_lo IS NULL) FROM winners WHERE n = 200",
             s, sizeof s);
    assert_string_equal(s, "single 1");
}

static kt_db_verify_row vrow(int64_t machine, int64_t run, size_t n, int pass, double ratio)
{
    kt_db_verify_row v;
    memset(&v, 0, sizeof v);
    v.machine = machine;
    v.run = run;
    snprintf(v.op, sizeof v.op, "%s", OP);
    v.n = n;
    v.pass = pass;
    snprintf(v.dispatched, sizeof v.dispatched, "avx2");
    v.dispatched_s = 1e-6 * ratio;
    snprintf(v.best, sizeof v.best, "threads:t=2");
    v.best_s = 1e-6;
    v.ratio = ratio;
    snprintf(v.fixed, sizeof v.fixed, "{\"avx2\":1.0,\"scalar\":%.2f}", 3.5 * ratio);
    v.seed = UINT64_MAX - (uint64_t)n;
    return v;
}

static void verifications_put_list_and_dump(void **state)
{
    fixture *f = *state;
    int64_t machine, other, r1, r2, r3;
    kt_db *db = make_db(f->db, &machine);
    assert_int_equal(kt_db_machine_put(db, "other-machine", NULL, &other), KT_OK);
    assert_int_equal(kt_db_run_begin(db, machine, NULL, "0.2.0", &r1), KT_OK);
    assert_int_equal(kt_db_run_begin(db, machine, NULL, "0.2.0", &r2), KT_OK);
    assert_int_equal(kt_db_run_begin(db, other, NULL, "0.2.0", &r3), KT_OK);

    kt_db_verify_list(db, machine, 0, NULL, NULL); /* null outputs: refused, no crash */
    kt_db_verify_row *rows;
    size_t n;
    assert_int_equal(kt_db_verify_list(db, machine, 0, &rows, &n), KT_OK);
    assert_int_equal(n, 0);
    assert_null(rows);

    /* Run 1: one row; run 2 (newer): three, given out of order, one replaced. */
    kt_db_verify_row v = vrow(machine, r1, 500, 1, 1.01);
    assert_int_equal(kt_db_verify_put(db, &v), KT_OK);
    v = vrow(machine, r2, 3000, 2, 1.2);
    assert_int_equal(kt_db_verify_put(db, &v), KT_OK);
    v = vrow(machine, r2, 3000, 1, 1.5);
    assert_int_equal(kt_db_verify_put(db, &v), KT_OK);
    v = vrow(machine, r2, 700, 1, 9.9);
    assert_int_equal(kt_db_verify_put(db, &v), KT_OK);
    v = vrow(machine, r2, 700, 1, 0.98);
    v.fixed[0] = '\0';
    v.best_s = NAN;
    assert_int_equal(kt_db_verify_put(db, &v), KT_OK); /* same key: replaces */
    v = vrow(other, r3, 100, 1, 1.0);
    assert_int_equal(kt_db_verify_put(db, &v), KT_OK);

    assert_int_equal(kt_db_verify_list(db, machine, 0, &rows, &n), KT_OK);
    assert_int_equal(n, 3);
    assert_int_equal(rows[0].n, 700);
    assert_int_equal(rows[0].pass, 1);
    assert_true(rows[0].ratio == 0.98);
    assert_string_equal(rows[0].fixed, "");
    assert_true(isnan(rows[0].best_s));
    assert_int_equal(rows[1].n, 3000);
    assert_int_equal(rows[1].pass, 1);
    assert_int_equal(rows[2].n, 3000);
    assert_int_equal(rows[2].pass, 2);
    kt_db_verify_row want = vrow(machine, r2, 3000, 2, 1.2);
    assert_int_equal(rows[2].machine, machine);
    assert_int_equal(rows[2].run, r2);
    assert_string_equal(rows[2].op, OP);
    assert_string_equal(rows[2].dispatched, "avx2");
    assert_true(rows[2].dispatched_s == want.dispatched_s);
    assert_string_equal(rows[2].best, "threads:t=2");
    assert_true(rows[2].best_s == 1e-6);
    assert_string_equal(rows[2].fixed, want.fixed);
    assert_true(rows[2].seed == UINT64_MAX - 3000);
    free(rows);
    assert_int_equal(kt_db_verify_list(db, machine, r1, &rows, &n), KT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].n, 500);
    free(rows);
    assert_int_equal(kt_db_verify_list(db, machine, r3, &rows, &n), KT_OK); /* not its run */
    assert_int_equal(n, 0);

    /* Refused: bad pass, fixed not a JSON object, a run not of this machine, no run. */
    v = vrow(machine, r2, 900, 3, 1.0);
    assert_int_equal(kt_db_verify_put(db, &v), KT_EINVAL);
    assert_error_contains("pass 3");
    v = vrow(machine, r2, 900, 1, 1.0);
    snprintf(v.fixed, sizeof v.fixed, "{\"avx2\":");
    assert_int_equal(kt_db_verify_put(db, &v), KT_EINVAL);
    assert_error_contains("not a JSON object");
    snprintf(v.fixed, sizeof v.fixed, "[1, 2]");
    assert_int_equal(kt_db_verify_put(db, &v), KT_EINVAL);
    v = vrow(machine, r3, 900, 1, 1.0);
    assert_int_equal(kt_db_verify_put(db, &v), KT_EINVAL);
    assert_error_contains("is not of machine");
    v = vrow(machine, 999, 900, 1, 1.0);
    assert_int_equal(kt_db_verify_put(db, &v), KT_EINVAL);
    assert_error_contains("no run 999");
    v = vrow(machine, r2, 900, 1, 1.0);
    v.best[0] = '\0';
    assert_int_equal(kt_db_verify_put(db, &v), KT_EINVAL);
    assert_int_equal(kt_db_verify_put(db, NULL), KT_EINVAL);
    assert_int_equal(kt_db_close(db), KT_OK);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM verifications"), 5);

    /* Readers list and dump them; writes on a read-only handle are refused. */
    assert_int_equal(kt_db_open_read(f->db, &db), KT_OK);
    v = vrow(machine, r2, 900, 1, 1.0);
    assert_int_equal(kt_db_verify_put(db, &v), KT_EINVAL);
    kt_db_dump d;
    assert_int_equal(kt_db_dump_read(db, FP, KT_DB_DUMP_ALL, &d), KT_OK);
    assert_int_equal(d.nverifications, 4);
    assert_int_equal(d.verifications[0].run, r1);
    assert_int_equal(d.verifications[1].run, r2);
    assert_int_equal(d.verifications[1].n, 700);
    kt_db_dump_free(&d);
    assert_int_equal(kt_db_dump_read(db, NULL, KT_DB_DUMP_ALL & ~KT_DB_DUMP_VERIFY, &d), KT_OK);
    assert_int_equal(d.nverifications, 0);
    kt_db_dump_free(&d);
    assert_int_equal(kt_db_dump_read(db, NULL, KT_DB_DUMP_VERIFY, &d), KT_OK);
    assert_int_equal(d.nverifications, 5);
    kt_db_dump_free(&d);
    assert_int_equal(kt_db_close(db), KT_OK);
    char s[200];
    raw_text(f->db, "SELECT machine || ' ' || dispatched_us || ' ' || ratio "
                    "FROM verifications_readable WHERE n = 3000 AND pass = 2", s, sizeof s);
    assert_string_equal(s, "x86_64-test-fingerprint 1.2 1.2");
}

/* Merges the whole of database from into into (opened for writing); returns the report. */
static kt_db_merge_report merge_file(const char *from, const char *into)
{
    kt_db *src, *dst;
    kt_db_dump d;
    assert_int_equal(kt_db_open_read(from, &src), KT_OK);
    assert_int_equal(kt_db_dump_read(src, NULL, KT_DB_DUMP_ALL, &d), KT_OK);
    assert_int_equal(kt_db_close(src), KT_OK);
    assert_int_equal(kt_db_open_write(into, &dst), KT_OK);
    kt_db_merge_report rep;
    if (kt_db_merge(dst, &d, 0, &rep) != KT_OK)
        fail_msg("kt_db_merge: %s", kt_last_error());
    assert_int_equal(kt_db_close(dst), KT_OK);
    kt_db_dump_free(&d);
    return rep;
}

static void merge_carries_schema_2_rows_and_fields(void **state)
{
    fixture *f = *state;
    char b[700], c[700];
    path_in(f, "b.db", b, sizeof b);
    path_in(f, "c.db", c, sizeof c);
    int64_t machine, run;
    kt_db *db = make_db(f->db, &machine);
    assert_int_equal(kt_db_run_begin(db, machine, NULL, "0.2.0", &run), KT_OK);
    assert_int_equal(kt_db_run_end(db, run, KT_DB_RUN_COMPLETE), KT_OK);
    kt_db_measurement me = meas(machine, 4096, "avx2", 1, 2e-6);
    me.run = run;
    me.batch = 5;
    me.nrounds = 2;
    me.rounds[0] = 2e-6f;
    me.rounds[1] = 2.1e-6f;
    assert_int_equal(kt_db_measurement_put(db, &me), KT_OK);
    kt_db_choice ch[2] = {
        {0, 4096, 0, 1, "avx2", 1, 2e-6, 0.3, 0.2, 0.4, "resolved"},
        {0, 4096, 0, 2, "scalar", 1, 2.6e-6, 0.3, 0.2, 0.4, "resolved"},
    };
    assert_int_equal(kt_db_choices_replace(db, machine, OP, run, ch, 2), KT_OK);
    kt_db_verify_row v = vrow(machine, run, 3000, 1, 1.05);
    assert_int_equal(kt_db_verify_put(db, &v), KT_OK);
    v = vrow(machine, run, 3000, 2, 1.01);
    assert_int_equal(kt_db_verify_put(db, &v), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);

    kt_db_merge_report rep = merge_file(f->db, b);
    assert_int_equal(rep.verifications.added, 2);
    assert_int_equal(rep.nconflicts, 0);
    kt_db_merge_report_free(&rep);
    assert_int_equal(kt_db_open_read(b, &db), KT_OK);
    kt_db_dump d;
    assert_int_equal(kt_db_dump_read(db, FP, KT_DB_DUMP_ALL, &d), KT_OK);
    assert_int_equal(d.nmeasurements, 1);
    assert_int_equal(d.measurements[0].batch, 5);
    assert_int_equal(d.measurements[0].nrounds, 2);
    assert_true(d.measurements[0].rounds[1] == 2.1e-6f);
    assert_int_equal(d.nchoices, 2);
    assert_true(d.choices[1].c.ci_lo == 0.2 && d.choices[1].c.ci_hi == 0.4);
    assert_string_equal(d.choices[1].c.decision, "resolved");
    assert_int_equal(d.nverifications, 2);
    assert_int_equal(d.verifications[0].run, d.runs[0].id);
    assert_true(d.verifications[0].ratio == 1.05 && d.verifications[1].ratio == 1.01);
    assert_true(d.verifications[1].seed == UINT64_MAX - 3000);
    kt_db_dump_free(&d);
    assert_int_equal(kt_db_close(db), KT_OK);

    /* Again: all identical. */
    rep = merge_file(f->db, b);
    assert_int_equal(rep.verifications.identical, 2);
    assert_int_equal(rep.measurements.identical, 1);
    assert_int_equal(rep.choices.identical, 1);
    assert_int_equal(rep.nconflicts, 0);
    kt_db_merge_report_free(&rep);

    /* Different values of one run's row: the larger wins, in either order of merges; a
     * choice set differing only in its decision is a conflict too. */
    raw_exec(b, "UPDATE verifications SET ratio = 2.5 WHERE pass = 2;"
                "UPDATE choices SET decision = 'tie'");
    rep = merge_file(f->db, b);
    assert_int_equal(rep.verifications.kept, 1);
    assert_int_equal(rep.verifications.identical, 1);
    assert_int_equal(rep.choices.identical + rep.choices.kept + rep.choices.replaced, 1);
    assert_int_equal(rep.choices.identical, 0);
    assert_int_equal(rep.nconflicts, 2);
    kt_db_merge_report_free(&rep);
    assert_int_equal(raw_int(b, "SELECT ratio * 10 FROM verifications WHERE pass = 2"), 25);
    rep = merge_file(b, c);
    kt_db_merge_report_free(&rep);
    rep = merge_file(f->db, c);
    kt_db_merge_report_free(&rep);
    assert_int_equal(raw_int(c, "SELECT ratio * 10 FROM verifications WHERE pass = 2"), 25);
    char sb[32], sc[32];
    raw_text(b, "SELECT group_concat(decision) FROM choices", sb, sizeof sb);
    raw_text(c, "SELECT group_concat(decision) FROM choices", sc, sizeof sc);
    assert_string_equal(sb, sc);
}

static void version_1_file_reads_and_migrates_on_write(void **state)
{
    fixture *f = *state;
    const kt_db_options w1 = {1, 0, &schema_v1};
    kt_db *db;
    int64_t machine, run;
    assert_int_equal(kt_db_open(f->db, &w1, &db), KT_OK);
    assert_int_equal(kt_db_machine_put(db, FP, NULL, &machine), KT_OK);
    assert_int_equal(kt_db_variant_put(db, OP, "avx2", 1, "avx2", ""), KT_OK);
    assert_int_equal(kt_db_variant_put(db, OP, "scalar", 1, "scalar", ""), KT_OK);
    assert_int_equal(kt_db_run_begin(db, machine, NULL, "0.1.0", &run), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 1);
    /* Rows as a version 1 build writes them (its statements, outside this build). */
    raw_exec(f->db, "INSERT INTO measurements (machine, op, n, variant, version, run, samples, "
                    "median_s, valid) VALUES (1, 'axpy_f32', 100, 'avx2', 1, 1, 9, 2e-6, 1);"
                    "INSERT INTO choices (machine, op, n, rank, variant, version, median_s, "
                    "margin, run) VALUES (1, 'axpy_f32', 100, 1, 'avx2', 1, 2e-6, 0.5, 1),"
                    "(1, 'axpy_f32', 100, 2, 'scalar', 1, 3e-6, 0.5, 1)");

    /* This build reads it as it is. */
    assert_int_equal(kt_db_open_read(f->db, &db), KT_OK);
    assert_int_equal(kt_db_version(db), 1);
    kt_db_measurement me = meas(machine, 100, "avx2", 1, 0);
    assert_int_equal(kt_db_measurement_get(db, &me), KT_OK);
    assert_true(me.median_s == 2e-6);
    assert_int_equal(me.batch, 0);
    assert_int_equal(me.nrounds, 0);
    kt_db_choice *c;
    size_t n;
    assert_int_equal(kt_db_choices_load(db, FP, OP, &c, &n), KT_OK);
    assert_int_equal(n, 2);
    assert_true(c[0].margin == 0.5 && isnan(c[0].ci_lo) && isnan(c[0].ci_hi));
    assert_string_equal(c[0].decision, "");
    free(c);
    kt_db_verify_row *v;
    assert_int_equal(kt_db_verify_list(db, machine, 0, &v, &n), KT_OK);
    assert_int_equal(n, 0);
    kt_db_dump d;
    assert_int_equal(kt_db_dump_read(db, NULL, KT_DB_DUMP_ALL, &d), KT_OK);
    assert_int_equal(d.nmeasurements, 1);
    assert_int_equal(d.nchoices, 2);
    assert_int_equal(d.nverifications, 0);
    assert_string_equal(d.choices[1].c.decision, "");
    kt_db_dump_free(&d);
    assert_int_equal(kt_db_close(db), KT_OK);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 1);

    /* Opening it for writing migrates it, rows intact; it stays readable by version 1. */
    assert_int_equal(kt_db_open_write(f->db, &db), KT_OK);
    assert_int_equal(kt_db_version(db), KT_DB_SCHEMA_VERSION);
    me = meas(machine, 100, "avx2", 1, 0);
    assert_int_equal(kt_db_measurement_get(db, &me), KT_OK);
    assert_true(me.median_s == 2e-6);
    assert_int_equal(me.samples, 9);
    assert_int_equal(kt_db_choices_load(db, FP, OP, &c, &n), KT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(c[1].variant, "scalar");
    assert_string_equal(c[1].decision, "");
    assert_true(isnan(c[1].ci_lo));
    free(c);
    kt_db_verify_row row = vrow(machine, run, 100, 1, 1.0);
    assert_int_equal(kt_db_verify_put(db, &row), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), KT_DB_SCHEMA_VERSION);
    char s[32];
    raw_text(f->db, "SELECT value FROM meta WHERE key = 'compat_version'", s, sizeof s);
    assert_string_equal(s, "1");
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM winners WHERE decision = ''"), 1);
    const kt_db_options r1 = {0, 0, &schema_v1};
    assert_int_equal(kt_db_open(f->db, &r1, &db), KT_OK); /* a version 1 reader */
    assert_int_equal(kt_db_close(db), KT_OK);
}

static void limits_put_get(void **state)
{
    fixture *f = *state;
    int64_t machine;
    kt_db *db = make_db(f->db, &machine);
    double v;
    assert_int_equal(kt_db_limit_get(db, machine, "mem_bw_gbs", &v), KT_ENOTFOUND);
    assert_true(isnan(v));
    assert_int_equal(kt_db_limit_put(db, machine, "mem_bw_gbs", 41.5), KT_OK);
    assert_int_equal(kt_db_limit_put(db, machine, "mem_bw_gbs", 42.5), KT_OK);
    assert_int_equal(kt_db_limit_put(db, machine, "peak_gflops_f32", 1e3), KT_OK);
    assert_int_equal(kt_db_limit_put(db, machine, "bad", NAN), KT_EINVAL);
    assert_int_equal(kt_db_limit_put(db, machine + 9, "mem_bw_gbs", 1), KT_EINVAL);
    assert_int_equal(kt_db_limit_get(db, machine, "mem_bw_gbs", &v), KT_OK);
    assert_true(v == 42.5);
    assert_int_equal(kt_db_close(db), KT_OK);
    assert_int_equal(kt_db_open_read(f->db, &db), KT_OK);
    assert_int_equal(kt_db_limit_get(db, machine, "peak_gflops_f32", &v), KT_OK);
    assert_true(v == 1e3);
    assert_int_equal(kt_db_close(db), KT_OK);
}

static void runs_and_stale_runs(void **state)
{
    fixture *f = *state;
    int64_t machine, run, r2;
    kt_db *db = make_db(f->db, &machine);
    assert_int_equal(kt_db_run_begin(db, machine, "--budget 60", "0.1.0", &run), KT_OK);
    assert_int_equal(kt_db_run_begin(db, machine, "", "0.1.0", &r2), KT_OK);
    assert_int_equal(kt_db_run_end(db, r2, KT_DB_RUN_FAILED), KT_OK);
    assert_int_equal(kt_db_run_end(db, 12345, KT_DB_RUN_COMPLETE), KT_ENOTFOUND);
    assert_int_equal(kt_db_run_end(db, run, (kt_db_run_status)9), KT_EINVAL);
    assert_int_equal(kt_db_close(db), KT_OK);
    char s[64];
    raw_text(f->db, "SELECT status || ' ' || (ended IS NULL) FROM runs WHERE id = 2", s, sizeof s);
    assert_string_equal(s, "failed 0");
    assert_int_equal(raw_int(f->db, "SELECT pid FROM runs WHERE id = 1"), getpid());

    /* A run of a dead process on this host, and one on another host. */
    fflush(NULL);
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    assert_int_equal(waitpid(dead, NULL, 0), dead);
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE runs SET pid = %d WHERE id = 1", (int)dead);
    raw_exec(f->db, sql);
    raw_exec(f->db, "INSERT INTO runs (machine, ktune_version, pid, host) "
                    "VALUES (1, '0.1.0', 1, 'some-other-host')");
    assert_int_equal(kt_db_open_write(f->db, &db), KT_OK);
    assert_int_equal(kt_db_runs_reaped(db), 1);
    /* Our own run, alive, is left running. */
    assert_int_equal(kt_db_run_begin(db, machine, "", "0.1.0", &run), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);
    assert_int_equal(kt_db_open_write(f->db, &db), KT_OK);
    assert_int_equal(kt_db_runs_reaped(db), 0);
    assert_int_equal(kt_db_close(db), KT_OK);
    raw_text(f->db, "SELECT group_concat(status, ',') FROM (SELECT status FROM runs ORDER BY id)",
             s, sizeof s);
    assert_string_equal(s, "interrupted,failed,running,running");
}

/* ---- Concurrency -------------------------------------------------------- */

static void reader_reads_while_a_connection_holds_the_write_lock(void **state)
{
    fixture *f = *state;
    int64_t machine;
    kt_db *w = make_db(f->db, &machine);
    assert_int_equal(kt_db_limit_put(w, machine, "mem_bw_gbs", 1.0), KT_OK);
    assert_int_equal(kt_db_close(w), KT_OK);
    const kt_db_options wopt = {1, 200, NULL};
    assert_int_equal(kt_db_open(f->db, &wopt, &w), KT_OK);

    sqlite3 *locker = raw_open(f->db);
    raw_exec_db(locker, "BEGIN EXCLUSIVE; UPDATE limits SET value = 2.0;");

    kt_db *r;
    double v;
    assert_int_equal(kt_db_open_read(f->db, &r), KT_OK); /* opens during the lock */
    assert_int_equal(kt_db_limit_get(r, machine, "mem_bw_gbs", &v), KT_OK);
    assert_true(v == 1.0);

    double t0 = now_s();
    assert_int_equal(kt_db_limit_put(w, machine, "mem_bw_gbs", 3.0), KT_EDB);
    double waited = now_s() - t0;
    assert_error_contains("locked");
    assert_true(waited >= 0.15);
    assert_true(waited < 3.0);

    raw_exec_db(locker, "COMMIT");
    assert_int_equal(sqlite3_close(locker), SQLITE_OK);
    assert_int_equal(kt_db_limit_get(r, machine, "mem_bw_gbs", &v), KT_OK);
    assert_true(v == 2.0);
    assert_int_equal(kt_db_limit_put(w, machine, "mem_bw_gbs", 3.0), KT_OK);
    assert_int_equal(kt_db_limit_get(r, machine, "mem_bw_gbs", &v), KT_OK);
    assert_true(v == 3.0);
    assert_int_equal(kt_db_close(r), KT_OK);
    assert_int_equal(kt_db_close(w), KT_OK);
}

static void reader_reads_while_a_child_process_holds_the_write_lock(void **state)
{
    fixture *f = *state;
    fill_choices(f->db);
    int locked[2], go[2];
    assert_int_equal(pipe(locked), 0);
    assert_int_equal(pipe(go), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(locked[0]);
        close(go[1]);
        sqlite3 *db = NULL;
        char c = 0;
        if (sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
            sqlite3_exec(db, "BEGIN IMMEDIATE; DELETE FROM choices WHERE rank = 2;", NULL,
                         NULL, NULL) != SQLITE_OK)
            _exit(1);
        if (write(locked[1], "L", 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(2);
        _exit(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK &&
                      sqlite3_close(db) == SQLITE_OK ? 0 : 3);
    }
    close(locked[1]);
    close(go[0]);
    char c;
    assert_int_equal(read(locked[0], &c, 1), 1);

    kt_db *r, *w;
    kt_db_choice *got;
    size_t n;
    assert_int_equal(kt_db_open_read(f->db, &r), KT_OK);
    assert_int_equal(kt_db_choices_load(r, FP, OP, &got, &n), KT_OK);
    assert_int_equal(n, 2);
    free(got);
    /* Opening for writing needs no lock when nothing is to be upgraded... */
    const kt_db_options wopt = {1, 100, NULL};
    assert_int_equal(kt_db_open(f->db, &wopt, &w), KT_OK);
    /* ...writing waits for the lock, then gives up cleanly. */
    kt_db_choice one = {0, 8, 0, 1, "scalar", 1, 1e-8, NAN, NAN, NAN, ""};
    assert_int_equal(kt_db_choices_replace(w, 1, OP, 0, &one, 1), KT_EDB);
    assert_error_contains("locked");

    assert_int_equal(write(go[1], "G", 1), 1);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(locked[0]);
    close(go[1]);

    assert_int_equal(kt_db_choices_load(r, FP, OP, &got, &n), KT_OK);
    assert_int_equal(n, 1);
    free(got);
    assert_int_equal(kt_db_choices_replace(w, 1, OP, 0, &one, 1), KT_OK);
    assert_int_equal(kt_db_close(w), KT_OK);
    assert_int_equal(kt_db_close(r), KT_OK);
}

static void writer_killed_mid_run_loses_nothing_committed(void **state)
{
    fixture *f = *state;
    int64_t machine;
    kt_db *db = make_db(f->db, &machine);
    assert_int_equal(kt_db_close(db), KT_OK);

    int acks[2];
    assert_int_equal(pipe(acks), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(acks[0]);
        int64_t run;
        if (kt_db_open_write(f->db, &db) != KT_OK ||
            kt_db_run_begin(db, machine, "--test", "0.1.0", &run) != KT_OK)
            _exit(1);
        for (int i = 0;; i++) {
            kt_db_measurement me = meas(machine, (size_t)i + 1, i % 2 ? "avx2" : "scalar", 1,
                                        1e-6 * (i + 1));
            me.run = run;
            if (kt_db_measurement_put(db, &me) != KT_OK)
                _exit(2);
            if (write(acks[1], &i, sizeof i) != (ssize_t)sizeof i)
                _exit(3);
        }
    }
    close(acks[1]);
    int i, last = -1;
    while (last < 150 && read(acks[0], &i, sizeof i) == (ssize_t)sizeof i)
        last = i;
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status))
        fail_msg("the writer exited early with status %d", WEXITSTATUS(status));
    while (read(acks[0], &i, sizeof i) == (ssize_t)sizeof i)
        last = i;
    close(acks[0]);
    assert_true(last >= 150);

    assert_int_equal(kt_db_open_read(f->db, &db), KT_OK);
    assert_int_equal(kt_db_check(db), KT_OK);
    for (i = 0; i <= last; i++) {
        kt_db_measurement me = meas(machine, (size_t)i + 1, i % 2 ? "avx2" : "scalar", 1, 0);
        if (kt_db_measurement_get(db, &me) != KT_OK)
            fail_msg("measurement %d of %d lost: %s", i, last, kt_last_error());
        assert_true(me.median_s == 1e-6 * (i + 1));
    }
    assert_int_equal(kt_db_close(db), KT_OK);
    assert_true(raw_int(f->db, "SELECT count(*) FROM measurements") >= last + 1);

    assert_int_equal(kt_db_open_write(f->db, &db), KT_OK);
    assert_int_equal(kt_db_runs_reaped(db), 1);
    assert_int_equal(kt_db_check(db), KT_OK);
    assert_int_equal(kt_db_close(db), KT_OK);
    char s[32];
    raw_text(f->db, "SELECT status FROM runs", s, sizeof s);
    assert_string_equal(s, "interrupted");
}

/* ---- Paths and dimensions ----------------------------------------------- */

static void set_env(const char *name, const char *value)
{
    if (value)
        assert_int_equal(setenv(name, value, 1), 0);
    else
        assert_int_equal(unsetenv(name), 0);
}

static void default_path_follows_env_xdg_home_and_system(void **state)
{
    fixture *f = *state;
    char *saved[4];
    const char *names[4] = {"KTUNE_DB", "XDG_DATA_HOME", "HOME", "KTUNE_SYSTEM_DB"};
    for (int i = 0; i < 4; i++)
        saved[i] = getenv(names[i]) ? strdup(getenv(names[i])) : NULL;

    char buf[1024], want[1024], home[700], xdg[700], sys[700];
    path_in(f, "home", home, sizeof home);
    path_in(f, "xdg", xdg, sizeof xdg);
    path_in(f, "system.db", sys, sizeof sys);

    set_env("KTUNE_DB", "/some/where.db");
    set_env("XDG_DATA_HOME", xdg);
    assert_int_equal(kt_db_default_path(buf, sizeof buf, 1), KT_OK);
    assert_string_equal(buf, "/some/where.db");
    assert_int_equal(kt_db_default_path(buf, 8, 0), KT_EINVAL);

    set_env("KTUNE_DB", "");
    set_env("KTUNE_SYSTEM_DB", sys);
    snprintf(want, sizeof want, "%s/ktune/ktune.db", xdg);
    assert_int_equal(kt_db_default_path(buf, sizeof buf, 0), KT_OK);
    assert_string_equal(buf, want);
    assert_false(exists(xdg)); /* reading creates nothing */
    assert_int_equal(kt_db_default_path(buf, sizeof buf, 1), KT_OK);
    assert_string_equal(buf, want);
    struct stat st;
    snprintf(want, sizeof want, "%s/ktune", xdg);
    assert_int_equal(stat(want, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);

    set_env("XDG_DATA_HOME", "relative/is/ignored");
    set_env("HOME", home);
    snprintf(want, sizeof want, "%s/.local/share/ktune/ktune.db", home);
    assert_int_equal(kt_db_default_path(buf, sizeof buf, 0), KT_OK);
    assert_string_equal(buf, want);

    /* No user database, a system one: read it; write the user's. */
    spill(sys, "", 0);
    assert_int_equal(kt_db_default_path(buf, sizeof buf, 0), KT_OK);
    assert_string_equal(buf, sys);
    assert_int_equal(kt_db_default_path(buf, sizeof buf, 1), KT_OK);
    assert_string_equal(buf, want);
    spill(want, "", 0); /* the user's now exists: it wins */
    assert_int_equal(kt_db_default_path(buf, sizeof buf, 0), KT_OK);
    assert_string_equal(buf, want);
    assert_int_equal(kt_db_default_path(NULL, 10, 0), KT_EINVAL);

    /* No user directory at all (a system service): the system database, read-only. */
    set_env("XDG_DATA_HOME", NULL);
    set_env("HOME", NULL);
    assert_int_equal(kt_db_default_path(buf, sizeof buf, 0), KT_OK);
    assert_string_equal(buf, sys);
    assert_int_equal(kt_db_default_path(buf, sizeof buf, 1), KT_EDB);
    assert_error_contains("HOME");
    assert_int_equal(unlink(sys), 0);
    assert_int_equal(kt_db_default_path(buf, sizeof buf, 0), KT_EDB);

    for (int i = 0; i < 4; i++) {
        set_env(names[i], saved[i]);
        free(saved[i]);
    }
}

static void dims_pack_and_unpack(void **state)
{
    (void)state;
    size_t mnk[3], dims[3];
    kt_db_dims_pack(1, (const size_t[3]){1000, 7, 7}, mnk);
    assert_true(mnk[0] == 0 && mnk[1] == 1000 && mnk[2] == 0);
    kt_db_dims_unpack(1, mnk, dims);
    assert_true(dims[0] == 1000 && dims[1] == 0 && dims[2] == 0);
    kt_db_dims_pack(2, (const size_t[3]){3, 4, 7}, mnk);
    assert_true(mnk[0] == 3 && mnk[1] == 4 && mnk[2] == 0);
    kt_db_dims_pack(3, (const size_t[3]){3, 4, 5}, mnk);
    assert_true(mnk[0] == 3 && mnk[1] == 4 && mnk[2] == 5);
    kt_db_dims_unpack(3, mnk, dims);
    assert_true(dims[0] == 3 && dims[1] == 4 && dims[2] == 5);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--child-load") == 0)
        return child_load((kt_status)atoi(argv[2]), atof(argv[3]));
    /* children exec this program by its own path (under valgrind, /proc/self/exe is not) */
    if (!realpath(argv[0], self))
        return 1;
    const struct CMUnitTest tests[] = {
        TEST(create_sets_wal_version_and_application_id),
        TEST(foreign_keys_are_enforced),
        TEST(missing_file_is_not_created_by_readers),
        TEST(empty_file_reads_as_no_tuning_and_is_created_into),
        TEST(corrupt_file_is_refused_and_left_alone),
        TEST(truncated_file_is_refused),
        TEST(damaged_page_is_found_and_never_written),
        TEST(index_damage_quick_check_misses_is_refused),
        TEST(unknown_schema_objects_are_refused_before_writing),
        TEST(foreign_sqlite_file_is_refused_and_left_alone),
        TEST(not_a_regular_file_is_refused),
        TEST(read_only_file_reads_and_refuses_writes),
        TEST(read_only_directory_reads_wal_file_as_immutable),
        TEST(newer_schema_is_read_if_compatible_never_written),
        TEST(migration_upgrades_older_files_once),
        TEST(migration_of_a_fresh_file_applies_every_step),
        TEST(failed_migration_step_changes_nothing),
        TEST(measurements_upsert_get_and_list),
        TEST(choices_round_trip_and_views),
        TEST(measurement_batch_and_rounds_round_trip),
        TEST(choice_interval_and_decision_round_trip),
        TEST(verifications_put_list_and_dump),
        TEST(version_1_file_reads_and_migrates_on_write),
        TEST(merge_carries_schema_2_rows_and_fields),
        TEST(limits_put_get),
        TEST(runs_and_stale_runs),
        TEST(reader_reads_while_a_connection_holds_the_write_lock),
        TEST(reader_reads_while_a_child_process_holds_the_write_lock),
        TEST(writer_killed_mid_run_loses_nothing_committed),
        TEST(library_load_gives_up_quickly_on_a_locked_journal_file),
        TEST(default_path_follows_env_xdg_home_and_system),
        TEST(dims_pack_and_unpack),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests_name("db", tests, NULL, NULL);
}
