/*
 * ktune tuning database (see kt_db.h for the contract, db/schema.sql for the tables).
 *
 * Every statement the library and the tuner run is in stmt_sql[] below or in the
 * migration steps (db/schema.sql and later db/migrate-NNNN.sql, embedded by
 * db/embed.sh as kt_schema.h).  Statements are prepared once per handle, on first
 * use.  Every SQLite call is checked; failures become kt_fail() messages that name the
 * file and carry SQLite's own text.
 *
 * Adding a schema version N:
 *   1. write db/migrate-000N.sql (never edit a released step, schema.sql included);
 *   2. append it to the embed.sh command of db/kt_schema.h in Makefile.am;
 *   3. set KT_DB_SCHEMA_VERSION to N (a static assertion checks it against the steps);
 *   4. if the step changes what existing queries read (a rename, a new meaning), make it
 *      `UPDATE meta SET value = 'N' WHERE key = 'compat_version'` too, and set
 *      KT_DB_READ_MIN_VERSION to N when stmt_sql[] below then needs the new schema.
 */
#define _POSIX_C_SOURCE 200809L

#include "kt_db.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "kt_internal.h"
#include "kt_schema.h"

_Static_assert(sizeof kt_schema_steps / sizeof kt_schema_steps[0] == KT_DB_SCHEMA_VERSION,
               "KT_DB_SCHEMA_VERSION must equal the number of embedded migration steps");

static const kt_db_schema builtin_schema = {
    kt_schema_steps, KT_DB_SCHEMA_VERSION, KT_DB_READ_MIN_VERSION
};

/* ---- Statements ---------------------------------------------------------- */

#define NOW "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
#define MEASUREMENT_COLUMNS                                                                \
    "machine, op, m, n, k, variant, version, run, samples, median_s, spread, min_s, "     \
    "kernel_s, valid, error, gflops, gbs, measured_at"

enum stmt_id {
    ST_JSON_VALID,
    ST_MACHINE_PUT,
    ST_MACHINE_FIND,
    ST_VARIANT_PUT,
    ST_RUN_BEGIN,
    ST_RUN_END,
    ST_RUNS_RUNNING,
    ST_RUN_INTERRUPT,
    ST_MEASUREMENT_PUT,
    ST_MEASUREMENT_GET,
    ST_MEASUREMENTS_LIST,
    ST_CHOICES_DELETE,
    ST_CHOICE_INSERT,
    ST_CHOICES_LOAD,
    ST_LIMIT_PUT,
    ST_LIMIT_GET,
    /* inspection and exchange */
    ST_DUMP_MACHINES,
    ST_DUMP_RUNS,
    ST_DUMP_VARIANTS,
    ST_DUMP_MEASUREMENTS,
    ST_DUMP_CHOICES,
    ST_DUMP_LIMITS,
    ST_DUMP_PROFILES,
    ST_RUN_GET,
    ST_MACHINE_GET,
    ST_MACHINE_INSERT,
    ST_MACHINE_UPDATE,
    ST_RUN_FIND,
    ST_RUN_INSERT,
    ST_RUN_UPDATE,
    ST_VARIANT_GET,
    ST_MEASUREMENT_IMPORT,
    ST_CHOICES_GET,
    ST_LIMIT_ROW_GET,
    ST_LIMIT_IMPORT,
    ST_PROFILE_GET,
    ST_PROFILE_IMPORT,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_JSON_VALID] = "SELECT json_valid(?1)",
    [ST_MACHINE_PUT] =
        "INSERT INTO machines (fingerprint, details) VALUES (?1, ?2) "
        "ON CONFLICT (fingerprint) DO UPDATE SET details = excluded.details, "
        "last_seen = " NOW,
    [ST_MACHINE_FIND] = "SELECT id FROM machines WHERE fingerprint = ?1",
    [ST_VARIANT_PUT] =
        "INSERT INTO variants (op, name, version, backend, params) "
        "VALUES (?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT (op, name, version) DO UPDATE "
        "SET backend = excluded.backend, params = excluded.params",
    [ST_RUN_BEGIN] =
        "INSERT INTO runs (machine, options, ktune_version, pid, host) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_RUN_END] =
        "UPDATE runs SET status = ?2, ended = CASE ?2 WHEN 'running' THEN NULL "
        "ELSE " NOW " END WHERE id = ?1",
    [ST_RUNS_RUNNING] = "SELECT id, pid FROM runs WHERE status = 'running' AND host = ?1",
    [ST_RUN_INTERRUPT] =
        "UPDATE runs SET status = 'interrupted', ended = " NOW
        " WHERE id = ?1 AND status = 'running'",
    [ST_MEASUREMENT_PUT] =
        "INSERT INTO measurements (machine, op, m, n, k, variant, version, run, samples, "
        "median_s, spread, min_s, kernel_s, valid, error, gflops, gbs) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) "
        "ON CONFLICT (machine, op, m, n, k, variant, version) DO UPDATE SET "
        "run = excluded.run, samples = excluded.samples, median_s = excluded.median_s, "
        "spread = excluded.spread, min_s = excluded.min_s, kernel_s = excluded.kernel_s, "
        "valid = excluded.valid, error = excluded.error, gflops = excluded.gflops, "
        "gbs = excluded.gbs, measured_at = " NOW,
    [ST_MEASUREMENT_GET] =
        "SELECT " MEASUREMENT_COLUMNS " FROM measurements WHERE machine = ?1 AND op = ?2 "
        "AND m = ?3 AND n = ?4 AND k = ?5 AND variant = ?6 AND version = ?7",
    [ST_MEASUREMENTS_LIST] =
        "SELECT " MEASUREMENT_COLUMNS " FROM measurements WHERE machine = ?1 AND op = ?2 "
        "ORDER BY m, n, k, variant, version",
    [ST_CHOICES_DELETE] = "DELETE FROM choices WHERE machine = ?1 AND op = ?2",
    [ST_CHOICE_INSERT] =
        "INSERT INTO choices (machine, op, m, n, k, rank, variant, version, median_s, "
        "margin, run) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_CHOICES_LOAD] =
        "SELECT c.m, c.n, c.k, c.rank, c.variant, c.version, c.median_s, c.margin "
        "FROM choices AS c JOIN machines AS ma ON ma.id = c.machine "
        "WHERE ma.fingerprint = ?1 AND c.op = ?2 ORDER BY c.m, c.n, c.k, c.rank",
    [ST_LIMIT_PUT] =
        "INSERT INTO limits (machine, name, value) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (machine, name) DO UPDATE SET value = excluded.value, "
        "measured_at = " NOW,
    [ST_LIMIT_GET] = "SELECT value FROM limits WHERE machine = ?1 AND name = ?2",
    /* ?1: a fingerprint, or NULL for every machine */
    [ST_DUMP_MACHINES] =
        "SELECT id, fingerprint, details, first_seen, last_seen FROM machines "
        "WHERE ?1 IS NULL OR fingerprint = ?1 ORDER BY fingerprint",
    [ST_DUMP_RUNS] =
        "SELECT id, machine, started, ended, options, status, ktune_version, pid, host "
        "FROM runs WHERE ?1 IS NULL OR machine = (SELECT id FROM machines "
        "WHERE fingerprint = ?1) ORDER BY machine, started, host, pid, id",
    [ST_DUMP_VARIANTS] =
        "SELECT op, name, version, backend, params FROM variants AS v WHERE ?1 IS NULL "
        "OR EXISTS (SELECT 1 FROM measurements AS me JOIN machines AS ma "
        "ON ma.id = me.machine WHERE ma.fingerprint = ?1 AND me.op = v.op "
        "AND me.variant = v.name AND me.version = v.version) "
        "OR EXISTS (SELECT 1 FROM choices AS c JOIN machines AS ma ON ma.id = c.machine "
        "WHERE ma.fingerprint = ?1 AND c.op = v.op AND c.variant = v.name "
        "AND c.version = v.version) ORDER BY op, name, version",
    [ST_DUMP_MEASUREMENTS] =
        "SELECT " MEASUREMENT_COLUMNS " FROM measurements WHERE ?1 IS NULL OR machine = "
        "(SELECT id FROM machines WHERE fingerprint = ?1) "
        "ORDER BY machine, op, m, n, k, variant, version",
    [ST_DUMP_CHOICES] =
        "SELECT machine, op, m, n, k, rank, variant, version, median_s, margin, run "
        "FROM choices WHERE ?1 IS NULL OR machine = (SELECT id FROM machines "
        "WHERE fingerprint = ?1) ORDER BY machine, op, m, n, k, rank",
    [ST_DUMP_LIMITS] =
        "SELECT machine, name, value, measured_at FROM limits WHERE ?1 IS NULL "
        "OR machine = (SELECT id FROM machines WHERE fingerprint = ?1) "
        "ORDER BY machine, name",
    [ST_DUMP_PROFILES] =
        "SELECT machine, op, m, n, k, calls, total_s, updated FROM profiled_calls "
        "WHERE ?1 IS NULL OR machine = (SELECT id FROM machines WHERE fingerprint = ?1) "
        "ORDER BY machine, op, m, n, k",
    [ST_RUN_GET] =
        "SELECT id, machine, started, ended, options, status, ktune_version, pid, host "
        "FROM runs WHERE id = ?1",
    [ST_MACHINE_GET] =
        "SELECT id, fingerprint, details, first_seen, last_seen FROM machines "
        "WHERE fingerprint = ?1",
    [ST_MACHINE_INSERT] =
        "INSERT INTO machines (fingerprint, details, first_seen, last_seen) "
        "VALUES (?1, ?2, ?3, ?4)",
    [ST_MACHINE_UPDATE] =
        "UPDATE machines SET details = ?2, first_seen = ?3, last_seen = ?4 WHERE id = ?1",
    [ST_RUN_FIND] =
        "SELECT id, machine, started, ended, options, status, ktune_version, pid, host "
        "FROM runs WHERE machine = ?1 AND started = ?2 AND host = ?3 AND pid = ?4",
    [ST_RUN_INSERT] =
        "INSERT INTO runs (machine, started, ended, options, status, ktune_version, pid, "
        "host) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_RUN_UPDATE] = "UPDATE runs SET status = ?2, ended = ?3 WHERE id = ?1",
    [ST_VARIANT_GET] =
        "SELECT backend, params FROM variants WHERE op = ?1 AND name = ?2 AND version = ?3",
    [ST_MEASUREMENT_IMPORT] =
        "INSERT INTO measurements (" MEASUREMENT_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, "
        "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) "
        "ON CONFLICT (machine, op, m, n, k, variant, version) DO UPDATE SET "
        "run = excluded.run, samples = excluded.samples, median_s = excluded.median_s, "
        "spread = excluded.spread, min_s = excluded.min_s, kernel_s = excluded.kernel_s, "
        "valid = excluded.valid, error = excluded.error, gflops = excluded.gflops, "
        "gbs = excluded.gbs, measured_at = excluded.measured_at",
    [ST_CHOICES_GET] =
        "SELECT machine, op, m, n, k, rank, variant, version, median_s, margin, run "
        "FROM choices WHERE machine = ?1 AND op = ?2 ORDER BY m, n, k, rank",
    [ST_LIMIT_ROW_GET] =
        "SELECT machine, name, value, measured_at FROM limits WHERE machine = ?1 "
        "AND name = ?2",
    [ST_LIMIT_IMPORT] =
        "INSERT INTO limits (machine, name, value, measured_at) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (machine, name) DO UPDATE SET value = excluded.value, "
        "measured_at = excluded.measured_at",
    [ST_PROFILE_GET] =
        "SELECT machine, op, m, n, k, calls, total_s, updated FROM profiled_calls "
        "WHERE machine = ?1 AND op = ?2 AND m = ?3 AND n = ?4 AND k = ?5",
    [ST_PROFILE_IMPORT] =
        "INSERT INTO profiled_calls (machine, op, m, n, k, calls, total_s, updated) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (machine, op, m, n, k) "
        "DO UPDATE SET calls = excluded.calls, total_s = excluded.total_s, "
        "updated = excluded.updated",
};

/* What the file is, read in one statement (one snapshot). */
static const char identify_sql[] =
    "SELECT (SELECT application_id FROM pragma_application_id), "
    "(SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_master)";

struct kt_db {
    sqlite3 *sql;
    char *path;
    int write;
    int busy_ms;
    int version;      /* user_version; 0: empty database (read-only handles only) */
    int reaped;       /* stale runs marked interrupted at open */
    sqlite3_stmt *stmt[ST_COUNT];
};

/* ---- Errors ------------------------------------------------------------- */

/*
 * Records SQLite's failure rc while doing `what` and returns the kt_status for it.
 * Call it before any other SQLite call on the connection (which would replace the message).
 */
static kt_status fail_sql(const kt_db *db, int rc, const char *what)
{
    const char *msg = db->sql ? sqlite3_errmsg(db->sql) : sqlite3_errstr(rc);
    const char *path = db->path;

    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return kt_fail(KT_ENOMEM, "%s: %s: out of memory", path, what);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return kt_fail(KT_EDB, "%s: %s: %s (another connection holds the lock; waited %d ms)",
                       path, what, msg, db->busy_ms);
    case SQLITE_NOTADB:
        return kt_fail(KT_EDB, "%s: not a ktune database (%s)", path, msg);
    case SQLITE_CORRUPT:
        return kt_fail(KT_EDB, "%s: corrupt database (%s) while %s", path, msg, what);
    case SQLITE_CONSTRAINT:
        return kt_fail(KT_EINVAL, "%s: %s: rejected by the schema (%s)", path, what, msg);
    default:
        return kt_fail(KT_EDB, "%s: %s: %s", path, what, msg);
    }
}

/* Fails with KT_EINVAL unless db is open for writing. */
static kt_status need_write(const kt_db *db, const char *fn)
{
    if (!db)
        return kt_fail(KT_EINVAL, "%s: no database", fn);
    if (!db->write)
        return kt_fail(KT_EINVAL, "%s: %s is open read-only", fn, db->path);
    return KT_OK;
}

/* Fails with KT_EINVAL unless s is a name of 1 to KT_DB_NAME_MAX - 1 bytes. */
static kt_status check_name(const char *s, const char *fn, const char *what)
{
    if (!s || !*s)
        return kt_fail(KT_EINVAL, "%s: no %s", fn, what);
    if (strnlen(s, KT_DB_NAME_MAX) >= KT_DB_NAME_MAX)
        return kt_fail(KT_EINVAL, "%s: %s longer than %d bytes", fn, what, KT_DB_NAME_MAX - 1);
    return KT_OK;
}

/* ---- Statement helpers -------------------------------------------------- */

/* The prepared statement id of db, prepared on first use, reset and unbound. */
static kt_status stmt_get(kt_db *db, enum stmt_id id, sqlite3_stmt **out)
{
    if (!db->stmt[id]) {
        int rc = sqlite3_prepare_v3(db->sql, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &db->stmt[id], NULL);
        if (rc != SQLITE_OK) {
            db->stmt[id] = NULL;
            return fail_sql(db, rc, "preparing a query");
        }
    }
    *out = db->stmt[id];
    return KT_OK;
}

/*
 * Ends a use of a cached statement.  sqlite3_reset() only repeats the error of the last
 * sqlite3_step(), which the caller has handled; clearing bindings cannot fail.
 */
static void stmt_done(sqlite3_stmt *st)
{
    (void)sqlite3_reset(st);
    (void)sqlite3_clear_bindings(st);
}

/*
 * Binding helpers: each does nothing when rc already holds an error, so a run of binds
 * is checked once at the end.
 */
static int bind_i64(sqlite3_stmt *st, int i, int64_t v, int rc)
{
    return rc == SQLITE_OK ? sqlite3_bind_int64(st, i, (sqlite3_int64)v) : rc;
}

/* NULL for 0 (optional ids: run). */
static int bind_id(sqlite3_stmt *st, int i, int64_t v, int rc)
{
    if (rc != SQLITE_OK)
        return rc;
    return v ? sqlite3_bind_int64(st, i, (sqlite3_int64)v) : sqlite3_bind_null(st, i);
}

/* NULL for NAN. */
static int bind_real(sqlite3_stmt *st, int i, double v, int rc)
{
    if (rc != SQLITE_OK)
        return rc;
    return isnan(v) ? sqlite3_bind_null(st, i) : sqlite3_bind_double(st, i, v);
}

/* The text, or NULL for NULL; the caller keeps s alive until the statement is reset. */
static int bind_text(sqlite3_stmt *st, int i, const char *s, int rc)
{
    if (rc != SQLITE_OK)
        return rc;
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* NULL for "" or NULL. */
static int bind_text_opt(sqlite3_stmt *st, int i, const char *s, int rc)
{
    return bind_text(st, i, s && *s ? s : NULL, rc);
}

static double col_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* Column i as a size (negative values, which the schema forbids, read as 0). */
static size_t col_size(sqlite3_stmt *st, int i)
{
    sqlite3_int64 v = sqlite3_column_int64(st, i);
    return v > 0 ? (size_t)v : 0;
}

static unsigned col_unsigned(sqlite3_stmt *st, int i)
{
    sqlite3_int64 v = sqlite3_column_int64(st, i);
    return v > 0 && v <= (sqlite3_int64)UINT32_MAX ? (unsigned)v : 0;
}

/* Copies text column i into dst[len] (cut if longer; "" for NULL). */
static kt_status col_text(const kt_db *db, sqlite3_stmt *st, int i, char *dst, size_t len)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    if (!s) {
        dst[0] = '\0';
        if (sqlite3_column_type(st, i) != SQLITE_NULL)
            return fail_sql(db, SQLITE_NOMEM, "reading a row");
        return KT_OK;
    }
    snprintf(dst, len, "%s", (const char *)s);
    return KT_OK;
}

/* Runs sql (no rows expected) on db. */
static kt_status exec(kt_db *db, const char *sql, const char *what)
{
    int rc = sqlite3_exec(db->sql, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? KT_OK : fail_sql(db, rc, what);
}

/*
 * Rolls back the transaction in progress, if any, after a failure that has been
 * recorded already.  Its own failure is not reported: SQLite rolls back by itself when
 * the connection closes, and the original error is the one that matters.
 */
static void rollback(kt_db *db)
{
    if (!sqlite3_get_autocommit(db->sql))
        (void)sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
}

/*
 * Runs a one-row, one-text-column statement (a PRAGMA) and copies its first row into
 * out[len] ("" when there is none).
 */
static kt_status query_text(kt_db *db, const char *sql, const char *what, char *out,
                            size_t len)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail_sql(db, rc, what);
    kt_status s = KT_OK;
    out[0] = '\0';
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        s = col_text(db, st, 0, out, len);
    else if (rc != SQLITE_DONE)
        s = fail_sql(db, rc, what);
    (void)sqlite3_finalize(st); /* repeats the step's error, handled above */
    return s;
}

/*
 * Runs PRAGMA quick_check or integrity_check (pragma) and fails with KT_EDB and its first
 * complaint, on one line, unless it says "ok".  suffix ends the message.
 */
static kt_status check_pragma(kt_db *db, const char *pragma, const char *suffix)
{
    char msg[512];
    kt_status s = query_text(db, pragma, "checking integrity", msg, sizeof msg);
    if (s != KT_OK || strcmp(msg, "ok") == 0)
        return s;
    static const char prefix[] = "*** in database main ***\n";
    char *p = strncmp(msg, prefix, sizeof prefix - 1) == 0 ? msg + sizeof prefix - 1 : msg;
    for (char *q = p; *q; q++)
        if (*q == '\n')
            *q = ' ';
    return kt_fail(KT_EDB, "%s: corrupt database (%s)%s", db->path, p, suffix);
}

/* ---- Opening ------------------------------------------------------------ */

/* "file:PATH?immutable=1" with PATH percent-encoded; NULL when out of memory. */
static char *immutable_uri(const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(path);
    char *uri = malloc(len * 3 + sizeof "file:?immutable=1");
    if (!uri)
        return NULL;
    char *p = uri;
    p += sprintf(p, "file:");
    for (const unsigned char *s = (const unsigned char *)path; *s; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
            strchr("/-._~", *s)) {
            *p++ = (char)*s;
        } else {
            *p++ = '%';
            *p++ = hex[*s >> 4];
            *p++ = hex[*s & 15];
        }
    }
    strcpy(p, "?immutable=1");
    return uri;
}

/* Opens the connection of db and sets it up; immutable: read-only, as an immutable file. */
static kt_status db_connect(kt_db *db, int immutable)
{
    int flags = db->write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    char *uri = NULL;
    if (immutable) {
        uri = immutable_uri(db->path);
        if (!uri)
            return kt_fail(KT_ENOMEM, "%s: out of memory", db->path);
        flags |= SQLITE_OPEN_URI;
    }
    int rc = sqlite3_open_v2(uri ? uri : db->path, &db->sql, flags, NULL);
    free(uri);
    if (rc != SQLITE_OK) {
        kt_status s = fail_sql(db, rc, db->write ? "cannot create or open" : "cannot open");
        (void)sqlite3_close(db->sql); /* nothing to report: the open failed */
        db->sql = NULL;
        return s;
    }
    rc = sqlite3_extended_result_codes(db->sql, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(db->sql, db->busy_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_db_config(db->sql, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_db_config(db->sql, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
    if (rc != SQLITE_OK)
        return fail_sql(db, rc, "configuring the connection");
    return exec(db, "PRAGMA foreign_keys = ON", "enabling foreign keys");
}

/* What a file is: its application_id, user_version and number of schema objects. */
typedef struct identity {
    int64_t app, version, objects;
} identity;

/* Reads the identity of the file; returns the SQLite result code (the caller reports). */
static int identify_rc(kt_db *db, identity *id)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->sql, identify_sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        id->app = sqlite3_column_int64(st, 0) & 0xffffffff;
        id->version = sqlite3_column_int64(st, 1);
        id->objects = sqlite3_column_int64(st, 2);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_INTERNAL; /* a SELECT of constants returns one row */
    }
    (void)sqlite3_finalize(st); /* repeats the step's error, in rc already */
    return rc;
}

static kt_status identify(kt_db *db, identity *id)
{
    int rc = identify_rc(db, id);
    return rc == SQLITE_OK ? KT_OK : fail_sql(db, rc, "reading the schema version");
}

/*
 * Accepts a ktune database (*empty = 0) or a database with nothing in it (*empty = 1);
 * anything else is not ours and is refused.
 */
static kt_status classify(const kt_db *db, const identity *id, int *empty)
{
    *empty = 0;
    if (id->app == KT_DB_APPLICATION_ID && id->version >= 1)
        return KT_OK;
    if ((id->app == 0 || id->app == KT_DB_APPLICATION_ID) && id->version == 0 &&
        id->objects == 0) {
        *empty = 1;
        return KT_OK;
    }
    if (id->app == KT_DB_APPLICATION_ID)
        return kt_fail(KT_EDB, "%s: damaged ktune database (schema version %lld, %lld tables)",
                       db->path, (long long)id->version, (long long)id->objects);
    if (id->app != 0)
        return kt_fail(KT_EDB, "%s: not a ktune database (application_id 0x%08llx)", db->path,
                       (unsigned long long)id->app);
    return kt_fail(KT_EDB,
                   "%s: not a ktune database (a SQLite file with %lld tables, views or indexes "
                   "and no ktune application_id); refusing to use it",
                   db->path, (long long)id->objects);
}

/* Reads meta.compat_version (0 when absent). */
static kt_status compat_version(kt_db *db, int64_t *out)
{
    char buf[32];
    kt_status s = query_text(db, "SELECT value FROM meta WHERE key = 'compat_version'",
                             "reading the compatible version", buf, sizeof buf);
    *out = s == KT_OK ? strtoll(buf, NULL, 10) : 0;
    return s;
}

/* The checks of a read-only open, after db_connect(). */
static kt_status open_read(kt_db *db, const kt_db_schema *schema)
{
    identity id;
    int rc = identify_rc(db, &id);
    int prim = rc & 0xff;
    if (prim == SQLITE_CANTOPEN || prim == SQLITE_READONLY) {
        /*
         * A WAL file we may not write next to (no -shm can be created: the system-wide
         * database): read it as an immutable file, which needs no -shm.
         */
        kt_log(KT_LOG_DEBUG, "ktune db: %s: %s; reading it as immutable", db->path,
               sqlite3_errmsg(db->sql));
        (void)sqlite3_close(db->sql); /* no statement is open: this succeeds */
        db->sql = NULL;
        kt_status s = db_connect(db, 1);
        if (s != KT_OK)
            return s;
        rc = identify_rc(db, &id);
    }
    if (rc != SQLITE_OK)
        return fail_sql(db, rc, "reading the schema version");

    int empty;
    kt_status s = classify(db, &id, &empty);
    if (s != KT_OK || empty)
        return s;
    if (id.version > schema->nsteps) {
        int64_t compat;
        s = compat_version(db, &compat);
        if (s != KT_OK)
            return s;
        if (compat < 1 || compat > schema->nsteps)
            return kt_fail(KT_EDB,
                           "%s: schema version %lld needs a newer ktune (this one reads "
                           "versions up to %d)",
                           db->path, (long long)id.version, schema->nsteps);
    }
    if (id.version < schema->read_min)
        return kt_fail(KT_EDB,
                       "%s: schema version %lld is older than this ktune reads (%d); open it "
                       "for writing once (ktune tune) to upgrade it",
                       db->path, (long long)id.version, schema->read_min);
    db->version = (int)(id.version > 0x7fffffff ? 0x7fffffff : id.version);
    return KT_OK;
}

/* Applies the migration steps the file lacks, in one transaction. */
static kt_status migrate(kt_db *db, const kt_db_schema *schema)
{
    kt_status s = exec(db, "BEGIN IMMEDIATE", "starting the schema upgrade");
    if (s != KT_OK)
        return s;
    /* Again inside the transaction: another process may have created or upgraded it. */
    identity id;
    int empty;
    s = identify(db, &id);
    if (s == KT_OK)
        s = classify(db, &id, &empty);
    if (s == KT_OK && id.version > schema->nsteps)
        s = kt_fail(KT_EDB, "%s: schema version %lld is newer than this ktune's (%d): "
                    "refusing to write; upgrade ktune",
                    db->path, (long long)id.version, schema->nsteps);
    for (int64_t v = id.version + 1; s == KT_OK && v <= schema->nsteps; v++) {
        char what[64];
        snprintf(what, sizeof what, "applying schema step %lld", (long long)v);
        s = exec(db, schema->steps[v - 1], what);
    }
    if (s == KT_OK && id.version < schema->nsteps) {
        char sql[128];
        snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d",
                 KT_DB_APPLICATION_ID, schema->nsteps);
        s = exec(db, sql, "setting the schema version");
    }
    if (s == KT_OK)
        s = exec(db, "COMMIT", "committing the schema upgrade");
    if (s != KT_OK)
        rollback(db);
    return s;
}

/* 1 unless process pid certainly does not exist (on this host). */
static int pid_alive(int64_t pid)
{
    if (pid <= 0 || pid > 0x7fffffff)
        return 0;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* This host's name into buf ("" if unknown). */
static void host_name(char *buf, size_t len)
{
    if (gethostname(buf, len) != 0)
        buf[0] = '\0';
    buf[len - 1] = '\0';
}

/*
 * Marks the runs of this host left 'running' by processes that are gone as interrupted
 * (up to 64 per call; any more are marked by the next open).
 */
static kt_status runs_reap(kt_db *db)
{
    char host[256];
    int64_t dead[64];
    int ndead = 0;
    sqlite3_stmt *st;

    host_name(host, sizeof host);
    kt_status s = stmt_get(db, ST_RUNS_RUNNING, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_text(st, 1, host, SQLITE_OK);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        if (!pid_alive(sqlite3_column_int64(st, 1)) && ndead < 64)
            dead[ndead++] = sqlite3_column_int64(st, 0);
    }
    if (rc != SQLITE_DONE)
        s = fail_sql(db, rc, "looking for interrupted runs");
    stmt_done(st);
    if (s != KT_OK || ndead == 0)
        return s;

    s = exec(db, "BEGIN IMMEDIATE", "marking interrupted runs");
    if (s == KT_OK)
        s = stmt_get(db, ST_RUN_INTERRUPT, &st);
    for (int i = 0; s == KT_OK && i < ndead; i++) {
        rc = bind_i64(st, 1, dead[i], SQLITE_OK);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            s = fail_sql(db, rc, "marking interrupted runs");
        else
            db->reaped += sqlite3_changes(db->sql);
        stmt_done(st);
    }
    if (s == KT_OK)
        s = exec(db, "COMMIT", "marking interrupted runs");
    if (s != KT_OK) {
        rollback(db);
        db->reaped = 0;
    } else if (db->reaped) {
        kt_log(KT_LOG_INFO, "ktune db: %s: %d stale runs marked interrupted", db->path,
               db->reaped);
    }
    return s;
}

/* The checks and set-up of an open for writing, after db_connect(). */
static kt_status open_write(kt_db *db, const kt_db_schema *schema)
{
    if (sqlite3_db_readonly(db->sql, "main") == 1)
        return kt_fail(KT_EDB, "%s: the file is read-only: cannot open it for writing",
                       db->path);
    identity id;
    int empty;
    kt_status s = identify(db, &id);
    if (s == KT_OK)
        s = classify(db, &id, &empty);
    if (s != KT_OK)
        return s;
    if (!empty && id.version > schema->nsteps)
        return kt_fail(KT_EDB, "%s: schema version %lld is newer than this ktune's (%d): "
                       "refusing to write; upgrade ktune",
                       db->path, (long long)id.version, schema->nsteps);
    if (!empty) {
        s = check_pragma(db, "PRAGMA quick_check(1)", ": refusing to write");
        if (s != KT_OK)
            return s;
    }

    char mode[16];
    s = query_text(db, "PRAGMA journal_mode = WAL", "enabling WAL mode", mode, sizeof mode);
    if (s == KT_OK && strcmp(mode, "wal") != 0)
        s = kt_fail(KT_EDB, "%s: cannot use WAL mode here (journal mode stays '%s')", db->path,
                    mode);
    if (s == KT_OK)
        s = exec(db, "PRAGMA synchronous = FULL", "setting synchronous mode");
    if (s == KT_OK && (empty || id.version < schema->nsteps))
        s = migrate(db, schema);
    if (s != KT_OK)
        return s;
    db->version = schema->nsteps;
    return runs_reap(db);
}

kt_status kt_db_open(const char *path, const kt_db_options *opt, kt_db **out)
{
    static const kt_db_options defaults = {0, 0, NULL};
    if (!out)
        return kt_fail(KT_EINVAL, "kt_db_open: no output handle");
    *out = NULL;
    if (!path || !*path)
        return kt_fail(KT_EINVAL, "kt_db_open: no path");
    if (!opt)
        opt = &defaults;
    const kt_db_schema *schema = opt->schema ? opt->schema : &builtin_schema;
    if (!schema->steps || schema->nsteps < 1 || schema->read_min < 1 ||
        schema->read_min > schema->nsteps)
        return kt_fail(KT_EINVAL, "kt_db_open: bad schema description");

    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT && !opt->write)
            return kt_fail(KT_EDB, "no database at %s", path);
        if (errno != ENOENT)
            return kt_fail(KT_EDB, "%s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        return kt_fail(KT_EDB, "%s: not a regular file", path);
    }

    kt_db *db = calloc(1, sizeof *db);
    if (!db || !(db->path = strdup(path))) {
        free(db);
        return kt_fail(KT_ENOMEM, "%s: out of memory", path);
    }
    db->write = opt->write ? 1 : 0;
    db->busy_ms = opt->busy_ms == 0 ? KT_DB_BUSY_MS : opt->busy_ms < 0 ? 0 : opt->busy_ms;

    kt_status s = db_connect(db, 0);
    if (s == KT_OK)
        s = db->write ? open_write(db, schema) : open_read(db, schema);
    if (s != KT_OK) {
        /* Keep the message of the failure, not of the close. */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", kt_last_error());
        (void)kt_db_close(db);
        return kt_fail(s, "%s", msg);
    }
    *out = db;
    return KT_OK;
}

kt_status kt_db_open_read(const char *path, kt_db **out)
{
    const kt_db_options opt = {0, 0, NULL};
    return kt_db_open(path, &opt, out);
}

kt_status kt_db_open_write(const char *path, kt_db **out)
{
    const kt_db_options opt = {1, 0, NULL};
    return kt_db_open(path, &opt, out);
}

kt_status kt_db_close(kt_db *db)
{
    if (!db)
        return KT_OK;
    kt_status s = KT_OK;
    for (int i = 0; i < ST_COUNT; i++)
        (void)sqlite3_finalize(db->stmt[i]); /* returns the last step's error, seen then */
    if (db->sql) {
        int rc = sqlite3_close(db->sql);
        if (rc != SQLITE_OK) {
            s = fail_sql(db, rc, "closing");
            (void)sqlite3_close_v2(db->sql); /* frees it when it can */
        }
    }
    free(db->path);
    free(db);
    return s;
}

const char *kt_db_path(const kt_db *db)
{
    return db ? db->path : "";
}

int kt_db_version(const kt_db *db)
{
    return db ? db->version : 0;
}

int kt_db_runs_reaped(const kt_db *db)
{
    return db ? db->reaped : 0;
}

kt_status kt_db_check(kt_db *db)
{
    if (!db)
        return kt_fail(KT_EINVAL, "kt_db_check: no database");
    return check_pragma(db, "PRAGMA integrity_check(1)", "");
}

/* ---- Paths -------------------------------------------------------------- */

/* mkdir -p dir, creating what is missing with mode. */
static kt_status make_dirs(const char *dir, mode_t mode)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return kt_fail(KT_EINVAL, "path too long: %s", dir);
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        struct stat st;
        if (mkdir(path, mode) != 0 && errno != EEXIST)
            return kt_fail(KT_EIO, "cannot create directory %s: %s", path, strerror(errno));
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            return kt_fail(KT_EIO, "cannot create directory %s: not a directory", path);
        if (c == '\0')
            return KT_OK;
        *p = c;
    }
}

/* Copies src into buf[len]; KT_EINVAL when it does not fit. */
static kt_status copy_path(char *buf, size_t len, const char *src)
{
    if ((size_t)snprintf(buf, len, "%s", src) >= len)
        return kt_fail(KT_EINVAL, "database path too long: %s", src);
    return KT_OK;
}

/* The system-wide database: $KTUNE_SYSTEM_DB, else KT_DB_SYSTEM_PATH. */
static const char *system_path(void)
{
    const char *sys = getenv("KTUNE_SYSTEM_DB");
    return sys && *sys ? sys : KT_DB_SYSTEM_PATH;
}

kt_status kt_db_default_path(char *buf, size_t len, int for_writing)
{
    if (!buf || len == 0)
        return kt_fail(KT_EINVAL, "kt_db_default_path: no buffer");
    buf[0] = '\0';
    const char *env = getenv("KTUNE_DB");
    if (env && *env)
        return copy_path(buf, len, env);

    char dir[4096];
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    struct stat st;
    if (xdg && xdg[0] == '/') {
        n = snprintf(dir, sizeof dir, "%s/ktune", xdg);
    } else if (home && *home) {
        n = snprintf(dir, sizeof dir, "%s/.local/share/ktune", home);
    } else {
        /* No user directory (a system service): the system database, for reading. */
        if (!for_writing && stat(system_path(), &st) == 0)
            return copy_path(buf, len, system_path());
        return kt_fail(KT_EDB, "no database path: none of KTUNE_DB, XDG_DATA_HOME and HOME "
                       "is set");
    }
    if (n < 0 || (size_t)n >= sizeof dir || (size_t)n + sizeof "/ktune.db" > len)
        return kt_fail(KT_EINVAL, "database path too long (%.200s...)", dir);
    snprintf(buf, len, "%s/ktune.db", dir);

    if (for_writing)
        return make_dirs(dir, 0700);
    if (stat(buf, &st) != 0 && errno == ENOENT && stat(system_path(), &st) == 0)
        return copy_path(buf, len, system_path());
    return KT_OK;
}

/* ---- Dimensions --------------------------------------------------------- */

void kt_db_dims_pack(int ndims, const size_t dims[3], size_t mnk[3])
{
    mnk[0] = mnk[1] = mnk[2] = 0;
    if (ndims == 1) {
        mnk[1] = dims[0];
    } else {
        for (int i = 0; i < ndims && i < 3; i++)
            mnk[i] = dims[i];
    }
}

void kt_db_dims_unpack(int ndims, const size_t mnk[3], size_t dims[3])
{
    dims[0] = dims[1] = dims[2] = 0;
    if (ndims == 1) {
        dims[0] = mnk[1];
    } else {
        for (int i = 0; i < ndims && i < 3; i++)
            dims[i] = mnk[i];
    }
}

/* KT_EINVAL unless every dimension fits SQLite's signed 64-bit integers. */
static kt_status check_dims(size_t m, size_t n, size_t k, const char *fn)
{
    if ((uint64_t)m > INT64_MAX || (uint64_t)n > INT64_MAX || (uint64_t)k > INT64_MAX)
        return kt_fail(KT_EINVAL, "%s: dimension too large", fn);
    return KT_OK;
}

static int bind_dims(sqlite3_stmt *st, int first, size_t m, size_t n, size_t k, int rc)
{
    rc = bind_i64(st, first, (int64_t)m, rc);
    rc = bind_i64(st, first + 1, (int64_t)n, rc);
    return bind_i64(st, first + 2, (int64_t)k, rc);
}

/*
 * Steps a statement that returns no rows, then ends its use.  Returns the number of
 * rows changed in *changes when given.
 */
static kt_status step_done(kt_db *db, sqlite3_stmt *st, int rc, const char *what,
                           int *changes)
{
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    kt_status s = rc == SQLITE_DONE ? KT_OK : fail_sql(db, rc, what);
    if (s == KT_OK && changes)
        *changes = sqlite3_changes(db->sql);
    stmt_done(st);
    return s;
}

/* ---- Machines and variants ---------------------------------------------- */

kt_status kt_db_machine_find(kt_db *db, const char *fingerprint, int64_t *id)
{
    if (!db || !fingerprint || !id)
        return kt_fail(KT_EINVAL, "kt_db_machine_find: null argument");
    *id = 0;
    if (db->version == 0)
        return kt_fail(KT_ENOTFOUND, "%s: no machine %s (empty database)", db->path,
                       fingerprint);
    sqlite3_stmt *st;
    kt_status s = stmt_get(db, ST_MACHINE_FIND, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_text(st, 1, fingerprint, SQLITE_OK);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE)
        s = kt_fail(KT_ENOTFOUND, "%s: no machine %s", db->path, fingerprint);
    else
        s = fail_sql(db, rc, "looking up a machine");
    stmt_done(st);
    return s;
}

kt_status kt_db_machine_put(kt_db *db, const char *fingerprint, const char *details,
                            int64_t *id)
{
    kt_status s = need_write(db, "kt_db_machine_put");
    if (s != KT_OK)
        return s;
    if (!fingerprint || !*fingerprint || !id)
        return kt_fail(KT_EINVAL, "kt_db_machine_put: no fingerprint or id");
    if (!details)
        details = "{}";
    /* Checked here, not by a CHECK constraint: JSON functions are not trusted in schemas. */
    sqlite3_stmt *st;
    s = stmt_get(db, ST_JSON_VALID, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_text(st, 1, details, SQLITE_OK);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        s = fail_sql(db, rc, "checking machine details");
    else if (sqlite3_column_int(st, 0) != 1)
        s = kt_fail(KT_EINVAL, "kt_db_machine_put: details are not valid JSON: %.60s", details);
    stmt_done(st);
    if (s != KT_OK)
        return s;
    s = stmt_get(db, ST_MACHINE_PUT, &st);
    if (s != KT_OK)
        return s;
    rc = bind_text(st, 1, fingerprint, SQLITE_OK);
    rc = bind_text(st, 2, details, rc);
    s = step_done(db, st, rc, "storing a machine", NULL);
    return s == KT_OK ? kt_db_machine_find(db, fingerprint, id) : s;
}

kt_status kt_db_variant_put(kt_db *db, const char *op, const char *name, unsigned version,
                            const char *backend, const char *params)
{
    static const char fn[] = "kt_db_variant_put";
    kt_status s = need_write(db, fn);
    if (s == KT_OK)
        s = check_name(op, fn, "op");
    if (s == KT_OK)
        s = check_name(name, fn, "variant name");
    if (s == KT_OK && (!backend || !*backend))
        s = kt_fail(KT_EINVAL, "%s: no backend", fn);
    sqlite3_stmt *st;
    if (s == KT_OK)
        s = stmt_get(db, ST_VARIANT_PUT, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_text(st, 1, op, SQLITE_OK);
    rc = bind_text(st, 2, name, rc);
    rc = bind_i64(st, 3, version, rc);
    rc = bind_text(st, 4, backend, rc);
    rc = bind_text(st, 5, params ? params : "", rc);
    return step_done(db, st, rc, "storing a variant", NULL);
}

/* ---- Runs --------------------------------------------------------------- */

static const char *const run_status_names[] = {
    [KT_DB_RUN_RUNNING] = "running",
    [KT_DB_RUN_COMPLETE] = "complete",
    [KT_DB_RUN_INTERRUPTED] = "interrupted",
    [KT_DB_RUN_FAILED] = "failed",
};

kt_status kt_db_run_begin(kt_db *db, int64_t machine, const char *options,
                          const char *ktune_version, int64_t *run)
{
    kt_status s = need_write(db, "kt_db_run_begin");
    if (s != KT_OK)
        return s;
    if (!run || !ktune_version)
        return kt_fail(KT_EINVAL, "kt_db_run_begin: null argument");
    *run = 0;
    char host[256];
    host_name(host, sizeof host);
    sqlite3_stmt *st;
    s = stmt_get(db, ST_RUN_BEGIN, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_i64(st, 1, machine, SQLITE_OK);
    rc = bind_text(st, 2, options ? options : "", rc);
    rc = bind_text(st, 3, ktune_version, rc);
    rc = bind_i64(st, 4, (int64_t)getpid(), rc);
    rc = bind_text(st, 5, host, rc);
    s = step_done(db, st, rc, "starting a run", NULL);
    if (s == KT_OK)
        *run = sqlite3_last_insert_rowid(db->sql);
    return s;
}

kt_status kt_db_run_end(kt_db *db, int64_t run, kt_db_run_status status)
{
    kt_status s = need_write(db, "kt_db_run_end");
    if (s != KT_OK)
        return s;
    if ((unsigned)status > KT_DB_RUN_FAILED)
        return kt_fail(KT_EINVAL, "kt_db_run_end: bad status %d", (int)status);
    sqlite3_stmt *st;
    s = stmt_get(db, ST_RUN_END, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_i64(st, 1, run, SQLITE_OK);
    rc = bind_text(st, 2, run_status_names[status], rc);
    int changes = 0;
    s = step_done(db, st, rc, "ending a run", &changes);
    if (s == KT_OK && changes == 0)
        s = kt_fail(KT_ENOTFOUND, "%s: no run %lld", db->path, (long long)run);
    return s;
}

/* ---- Measurements ------------------------------------------------------- */

/* Fills *me from a row of MEASUREMENT_COLUMNS. */
static kt_status measurement_read(const kt_db *db, sqlite3_stmt *st, kt_db_measurement *me)
{
    me->machine = sqlite3_column_int64(st, 0);
    kt_status s = col_text(db, st, 1, me->op, sizeof me->op);
    me->m = col_size(st, 2);
    me->n = col_size(st, 3);
    me->k = col_size(st, 4);
    if (s == KT_OK)
        s = col_text(db, st, 5, me->variant, sizeof me->variant);
    me->version = col_unsigned(st, 6);
    me->run = sqlite3_column_int64(st, 7);
    me->samples = sqlite3_column_int(st, 8);
    me->median_s = col_real(st, 9);
    me->spread = col_real(st, 10);
    me->min_s = col_real(st, 11);
    me->kernel_s = col_real(st, 12);
    me->valid = sqlite3_column_int(st, 13) ? 1 : 0;
    if (s == KT_OK)
        s = col_text(db, st, 14, me->error, sizeof me->error);
    me->gflops = col_real(st, 15);
    me->gbs = col_real(st, 16);
    if (s == KT_OK)
        s = col_text(db, st, 17, me->measured_at, sizeof me->measured_at);
    return s;
}

/*
 * Binds the columns of a measurement row, parameters 1 to 17 of the
 * measurement insert statements (put and import); returns the first
 * failing SQLite code, or SQLITE_OK.
 */
static int bind_measurement(sqlite3_stmt *st, const kt_db_measurement *me)
{
    int rc = bind_i64(st, 1, me->machine, SQLITE_OK);
    rc = bind_text(st, 2, me->op, rc);
    rc = bind_dims(st, 3, me->m, me->n, me->k, rc);
    rc = bind_text(st, 6, me->variant, rc);
    rc = bind_i64(st, 7, me->version, rc);
    rc = bind_id(st, 8, me->run, rc);
    rc = bind_i64(st, 9, me->samples, rc);
    rc = bind_real(st, 10, me->median_s, rc);
    rc = bind_real(st, 11, me->spread, rc);
    rc = bind_real(st, 12, me->min_s, rc);
    rc = bind_real(st, 13, me->kernel_s, rc);
    rc = bind_i64(st, 14, me->valid ? 1 : 0, rc);
    rc = bind_text_opt(st, 15, me->error, rc);
    rc = bind_real(st, 16, me->gflops, rc);
    return bind_real(st, 17, me->gbs, rc);
}

/* Checks the key fields of *me (names, dims). */
static kt_status measurement_check_key(const kt_db_measurement *me, const char *fn)
{
    kt_status s = check_name(me->op, fn, "op");
    if (s == KT_OK)
        s = check_name(me->variant, fn, "variant name");
    if (s == KT_OK)
        s = check_dims(me->m, me->n, me->k, fn);
    return s;
}

kt_status kt_db_measurement_put(kt_db *db, const kt_db_measurement *me)
{
    static const char fn[] = "kt_db_measurement_put";
    kt_status s = need_write(db, fn);
    if (s != KT_OK)
        return s;
    if (!me)
        return kt_fail(KT_EINVAL, "%s: no measurement", fn);
    s = measurement_check_key(me, fn);
    if (s != KT_OK)
        return s;
    if (me->valid != 0 && me->valid != 1)
        return kt_fail(KT_EINVAL, "%s: valid must be 0 or 1", fn);
    if (me->valid && isnan(me->median_s))
        return kt_fail(KT_EINVAL, "%s: a valid measurement needs median_s", fn);
    if (me->samples < 0)
        return kt_fail(KT_EINVAL, "%s: negative sample count", fn);
    if (strnlen(me->error, KT_DB_ERROR_MAX) >= KT_DB_ERROR_MAX)
        return kt_fail(KT_EINVAL, "%s: error text not terminated", fn);

    sqlite3_stmt *st;
    s = stmt_get(db, ST_MEASUREMENT_PUT, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_measurement(st, me);
    /* One statement in autocommit mode: its own transaction, durable on return. */
    return step_done(db, st, rc, "storing a measurement", NULL);
}

kt_status kt_db_measurement_get(kt_db *db, kt_db_measurement *me)
{
    static const char fn[] = "kt_db_measurement_get";
    if (!db || !me)
        return kt_fail(KT_EINVAL, "%s: null argument", fn);
    kt_status s = measurement_check_key(me, fn);
    if (s != KT_OK)
        return s;
    if (db->version == 0)
        return kt_fail(KT_ENOTFOUND, "%s: no measurements (empty database)", db->path);
    sqlite3_stmt *st;
    s = stmt_get(db, ST_MEASUREMENT_GET, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_i64(st, 1, me->machine, SQLITE_OK);
    rc = bind_text(st, 2, me->op, rc);
    rc = bind_dims(st, 3, me->m, me->n, me->k, rc);
    rc = bind_text(st, 6, me->variant, rc);
    rc = bind_i64(st, 7, me->version, rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        kt_db_measurement row;
        s = measurement_read(db, st, &row);
        if (s == KT_OK)
            *me = row;
    } else if (rc == SQLITE_DONE) {
        s = kt_fail(KT_ENOTFOUND, "%s: no measurement of %s/%s v%u at %zu,%zu,%zu", db->path,
                    me->op, me->variant, me->version, me->m, me->n, me->k);
    } else {
        s = fail_sql(db, rc, "reading a measurement");
    }
    stmt_done(st);
    return s;
}

kt_status kt_db_measurements_list(kt_db *db, int64_t machine, const char *op,
                                  int (*keep)(void *ctx, const kt_db_measurement *me),
                                  void *ctx, kt_db_measurement **out, size_t *count)
{
    static const char fn[] = "kt_db_measurements_list";
    if (!db || !out || !count)
        return kt_fail(KT_EINVAL, "%s: null argument", fn);
    *out = NULL;
    *count = 0;
    kt_status s = check_name(op, fn, "op");
    if (s != KT_OK || db->version == 0)
        return s;
    sqlite3_stmt *st;
    s = stmt_get(db, ST_MEASUREMENTS_LIST, &st);
    if (s != KT_OK)
        return s;

    kt_db_measurement *arr = NULL, row;
    size_t n = 0, cap = 0;
    int rc = bind_i64(st, 1, machine, SQLITE_OK);
    rc = bind_text(st, 2, op, rc);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        s = measurement_read(db, st, &row);
        if (s != KT_OK)
            break;
        if (keep && !keep(ctx, &row))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            kt_db_measurement *p = realloc(arr, ncap * sizeof *arr);
            if (!p) {
                s = kt_fail(KT_ENOMEM, "%s: out of memory", fn);
                break;
            }
            arr = p;
            cap = ncap;
        }
        arr[n++] = row;
    }
    if (s == KT_OK && rc != SQLITE_DONE)
        s = fail_sql(db, rc, "listing measurements");
    stmt_done(st);
    if (s != KT_OK) {
        free(arr);
        return s;
    }
    *out = arr;
    *count = n;
    return KT_OK;
}

/* ---- Choices ------------------------------------------------------------ */

kt_status kt_db_choices_replace(kt_db *db, int64_t machine, const char *op, int64_t run,
                                const kt_db_choice *choices, size_t count)
{
    static const char fn[] = "kt_db_choices_replace";
    kt_status s = need_write(db, fn);
    if (s == KT_OK)
        s = check_name(op, fn, "op");
    if (s == KT_OK && count > 0 && !choices)
        s = kt_fail(KT_EINVAL, "%s: no choices", fn);
    for (size_t i = 0; s == KT_OK && i < count; i++) {
        s = check_name(choices[i].variant, fn, "variant name");
        if (s == KT_OK)
            s = check_dims(choices[i].m, choices[i].n, choices[i].k, fn);
    }
    if (s != KT_OK)
        return s;

    sqlite3_stmt *del, *ins;
    s = stmt_get(db, ST_CHOICES_DELETE, &del);
    if (s == KT_OK)
        s = stmt_get(db, ST_CHOICE_INSERT, &ins);
    if (s == KT_OK)
        s = exec(db, "BEGIN IMMEDIATE", "replacing choices");
    if (s != KT_OK)
        return s;
    int rc = bind_i64(del, 1, machine, SQLITE_OK);
    rc = bind_text(del, 2, op, rc);
    s = step_done(db, del, rc, "replacing choices", NULL);
    for (size_t i = 0; s == KT_OK && i < count; i++) {
        const kt_db_choice *c = &choices[i];
        rc = bind_i64(ins, 1, machine, SQLITE_OK);
        rc = bind_text(ins, 2, op, rc);
        rc = bind_dims(ins, 3, c->m, c->n, c->k, rc);
        rc = bind_i64(ins, 6, c->rank, rc);
        rc = bind_text(ins, 7, c->variant, rc);
        rc = bind_i64(ins, 8, c->version, rc);
        rc = bind_real(ins, 9, c->median_s, rc);
        rc = bind_real(ins, 10, c->margin, rc);
        rc = bind_id(ins, 11, run, rc);
        s = step_done(db, ins, rc, "storing a choice", NULL);
    }
    if (s == KT_OK)
        s = exec(db, "COMMIT", "replacing choices");
    if (s != KT_OK)
        rollback(db);
    return s;
}

kt_status kt_db_choices_load(kt_db *db, const char *fingerprint, const char *op,
                             kt_db_choice **out, size_t *count)
{
    static const char fn[] = "kt_db_choices_load";
    if (!db || !fingerprint || !out || !count)
        return kt_fail(KT_EINVAL, "%s: null argument", fn);
    *out = NULL;
    *count = 0;
    kt_status s = check_name(op, fn, "op");
    if (s != KT_OK || db->version == 0)
        return s;
    sqlite3_stmt *st;
    s = stmt_get(db, ST_CHOICES_LOAD, &st);
    if (s != KT_OK)
        return s;

    kt_db_choice *arr = NULL;
    size_t n = 0, cap = 0;
    int rc = bind_text(st, 1, fingerprint, SQLITE_OK);
    rc = bind_text(st, 2, op, rc);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            kt_db_choice *p = realloc(arr, ncap * sizeof *arr);
            if (!p) {
                s = kt_fail(KT_ENOMEM, "%s: out of memory", fn);
                break;
            }
            arr = p;
            cap = ncap;
        }
        kt_db_choice *c = &arr[n++];
        c->m = col_size(st, 0);
        c->n = col_size(st, 1);
        c->k = col_size(st, 2);
        c->rank = sqlite3_column_int(st, 3);
        s = col_text(db, st, 4, c->variant, sizeof c->variant);
        c->version = col_unsigned(st, 5);
        c->median_s = col_real(st, 6);
        c->margin = col_real(st, 7);
        if (s != KT_OK)
            break;
    }
    if (s == KT_OK && rc != SQLITE_DONE)
        s = fail_sql(db, rc, "loading choices");
    stmt_done(st);
    if (s != KT_OK) {
        free(arr);
        return s;
    }
    *out = arr;
    *count = n;
    return KT_OK;
}

/* ---- Limits ------------------------------------------------------------- */

kt_status kt_db_limit_put(kt_db *db, int64_t machine, const char *name, double value)
{
    static const char fn[] = "kt_db_limit_put";
    kt_status s = need_write(db, fn);
    if (s == KT_OK)
        s = check_name(name, fn, "limit name");
    if (s == KT_OK && !isfinite(value))
        s = kt_fail(KT_EINVAL, "%s: %s is not a finite number", fn, name);
    sqlite3_stmt *st;
    if (s == KT_OK)
        s = stmt_get(db, ST_LIMIT_PUT, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_i64(st, 1, machine, SQLITE_OK);
    rc = bind_text(st, 2, name, rc);
    rc = bind_real(st, 3, value, rc);
    return step_done(db, st, rc, "storing a limit", NULL);
}

kt_status kt_db_limit_get(kt_db *db, int64_t machine, const char *name, double *value)
{
    static const char fn[] = "kt_db_limit_get";
    if (!db || !value)
        return kt_fail(KT_EINVAL, "%s: null argument", fn);
    *value = NAN;
    kt_status s = check_name(name, fn, "limit name");
    if (s != KT_OK)
        return s;
    if (db->version == 0)
        return kt_fail(KT_ENOTFOUND, "%s: no limit %s (empty database)", db->path, name);
    sqlite3_stmt *st;
    s = stmt_get(db, ST_LIMIT_GET, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_i64(st, 1, machine, SQLITE_OK);
    rc = bind_text(st, 2, name, rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *value = col_real(st, 0);
    else if (rc == SQLITE_DONE)
        s = kt_fail(KT_ENOTFOUND, "%s: no limit %s for machine %lld", db->path, name,
                    (long long)machine);
    else
        s = fail_sql(db, rc, "reading a limit");
    stmt_done(st);
    return s;
}

/* ---- Inspection and exchange -------------------------------------------- */

void *kt_db_dump_grow(void **array, size_t *count, size_t elem)
{
    size_t n = *count;
    /* capacity: 16, then the next power of two */
    if (n == 0 || (n >= 16 && (n & (n - 1)) == 0)) {
        size_t cap = n ? n * 2 : 16;
        if (cap > SIZE_MAX / elem)
            return NULL;
        void *p = realloc(*array, cap * elem);
        if (!p)
            return NULL;
        *array = p;
    }
    char *row = (char *)*array + n * elem;
    memset(row, 0, elem);
    *count = n + 1;
    return row;
}

void kt_db_dump_free(kt_db_dump *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nmachines; i++)
        free(d->machines[i].details);
    for (size_t i = 0; i < d->nruns; i++)
        free(d->runs[i].options);
    free(d->machines);
    free(d->runs);
    free(d->variants);
    free(d->measurements);
    free(d->choices);
    free(d->limits);
    free(d->profiles);
    memset(d, 0, sizeof *d);
}

/* Copies text column i into a new string (*out; "" for NULL). */
static kt_status col_strdup(const kt_db *db, sqlite3_stmt *st, int i, char **out)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    if (!s && sqlite3_column_type(st, i) != SQLITE_NULL)
        return fail_sql(db, SQLITE_NOMEM, "reading a row");
    *out = strdup(s ? (const char *)s : "");
    return *out ? KT_OK : kt_fail(KT_ENOMEM, "%s: out of memory", db->path);
}

/* Row readers: fill one row from a statement's columns (in the orders of stmt_sql[]). */
typedef kt_status (*row_reader)(const kt_db *db, sqlite3_stmt *st, void *row);

static kt_status read_machine(const kt_db *db, sqlite3_stmt *st, void *row)
{
    kt_db_machine_row *r = row;
    r->id = sqlite3_column_int64(st, 0);
    kt_status s = col_text(db, st, 1, r->fingerprint, sizeof r->fingerprint);
    if (s == KT_OK)
        s = col_strdup(db, st, 2, &r->details);
    if (s == KT_OK)
        s = col_text(db, st, 3, r->first_seen, sizeof r->first_seen);
    if (s == KT_OK)
        s = col_text(db, st, 4, r->last_seen, sizeof r->last_seen);
    return s;
}

static kt_status read_run(const kt_db *db, sqlite3_stmt *st, void *row)
{
    kt_db_run_row *r = row;
    r->id = sqlite3_column_int64(st, 0);
    r->machine = sqlite3_column_int64(st, 1);
    kt_status s = col_text(db, st, 2, r->started, sizeof r->started);
    if (s == KT_OK)
        s = col_text(db, st, 3, r->ended, sizeof r->ended);
    if (s == KT_OK)
        s = col_strdup(db, st, 4, &r->options);
    if (s == KT_OK)
        s = col_text(db, st, 5, r->status, sizeof r->status);
    if (s == KT_OK)
        s = col_text(db, st, 6, r->ktune_version, sizeof r->ktune_version);
    r->pid = sqlite3_column_int64(st, 7);
    if (s == KT_OK)
        s = col_text(db, st, 8, r->host, sizeof r->host);
    return s;
}

static kt_status read_variant(const kt_db *db, sqlite3_stmt *st, void *row)
{
    kt_db_variant_row *r = row;
    kt_status s = col_text(db, st, 0, r->op, sizeof r->op);
    if (s == KT_OK)
        s = col_text(db, st, 1, r->name, sizeof r->name);
    r->version = col_unsigned(st, 2);
    if (s == KT_OK)
        s = col_text(db, st, 3, r->backend, sizeof r->backend);
    if (s == KT_OK)
        s = col_text(db, st, 4, r->params, sizeof r->params);
    return s;
}

static kt_status read_measurement(const kt_db *db, sqlite3_stmt *st, void *row)
{
    return measurement_read(db, st, row);
}

static kt_status read_choice(const kt_db *db, sqlite3_stmt *st, void *row)
{
    kt_db_choice_row *r = row;
    r->machine = sqlite3_column_int64(st, 0);
    kt_status s = col_text(db, st, 1, r->op, sizeof r->op);
    r->c.m = col_size(st, 2);
    r->c.n = col_size(st, 3);
    r->c.k = col_size(st, 4);
    r->c.rank = sqlite3_column_int(st, 5);
    if (s == KT_OK)
        s = col_text(db, st, 6, r->c.variant, sizeof r->c.variant);
    r->c.version = col_unsigned(st, 7);
    r->c.median_s = col_real(st, 8);
    r->c.margin = col_real(st, 9);
    r->run = sqlite3_column_int64(st, 10);
    return s;
}

static kt_status read_limit(const kt_db *db, sqlite3_stmt *st, void *row)
{
    kt_db_limit_row *r = row;
    r->machine = sqlite3_column_int64(st, 0);
    kt_status s = col_text(db, st, 1, r->name, sizeof r->name);
    r->value = col_real(st, 2);
    if (s == KT_OK)
        s = col_text(db, st, 3, r->measured_at, sizeof r->measured_at);
    return s;
}

static kt_status read_profile(const kt_db *db, sqlite3_stmt *st, void *row)
{
    kt_db_profile_row *r = row;
    r->machine = sqlite3_column_int64(st, 0);
    kt_status s = col_text(db, st, 1, r->op, sizeof r->op);
    r->m = col_size(st, 2);
    r->n = col_size(st, 3);
    r->k = col_size(st, 4);
    r->calls = sqlite3_column_int64(st, 5);
    r->total_s = col_real(st, 6);
    if (s == KT_OK)
        s = col_text(db, st, 7, r->updated, sizeof r->updated);
    return s;
}

/*
 * Runs statement id with the text parameter ?1 (NULL binds NULL) and appends every row
 * to *array (elem bytes each, *count of them) through read.  On failure the rows read
 * so far stay in *array, for the caller to free.
 */
static kt_status read_rows(kt_db *db, enum stmt_id id, const char *p1, void **array,
                           size_t *count, size_t elem, row_reader read, const char *what)
{
    sqlite3_stmt *st;
    kt_status s = stmt_get(db, id, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_text(st, 1, p1, SQLITE_OK);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        void *row = kt_db_dump_grow(array, count, elem);
        if (!row) {
            s = kt_fail(KT_ENOMEM, "%s: %s: out of memory", db->path, what);
            break;
        }
        s = read(db, st, row);
        if (s != KT_OK)
            break;
    }
    if (s == KT_OK && rc != SQLITE_DONE)
        s = fail_sql(db, rc, what);
    stmt_done(st);
    return s;
}

kt_status kt_db_dump_read(kt_db *db, const char *fingerprint, unsigned what, kt_db_dump *out)
{
    if (!db || !out)
        return kt_fail(KT_EINVAL, "kt_db_dump_read: null argument");
    memset(out, 0, sizeof *out);
    if (db->version == 0)
        return KT_OK;
    /* one read transaction: a consistent snapshot even while a tuner writes */
    kt_status s = exec(db, "BEGIN", "reading the database");
    if (s != KT_OK)
        return s;
    s = read_rows(db, ST_DUMP_MACHINES, fingerprint, (void **)&out->machines, &out->nmachines,
                  sizeof *out->machines, read_machine, "reading machines");
    if (s == KT_OK && (what & KT_DB_DUMP_RUNS))
        s = read_rows(db, ST_DUMP_RUNS, fingerprint, (void **)&out->runs, &out->nruns,
                      sizeof *out->runs, read_run, "reading runs");
    if (s == KT_OK && (what & KT_DB_DUMP_VARIANTS))
        s = read_rows(db, ST_DUMP_VARIANTS, fingerprint, (void **)&out->variants,
                      &out->nvariants, sizeof *out->variants, read_variant,
                      "reading variants");
    if (s == KT_OK && (what & KT_DB_DUMP_MEASUREMENTS))
        s = read_rows(db, ST_DUMP_MEASUREMENTS, fingerprint, (void **)&out->measurements,
                      &out->nmeasurements, sizeof *out->measurements, read_measurement,
                      "reading measurements");
    if (s == KT_OK && (what & KT_DB_DUMP_CHOICES))
        s = read_rows(db, ST_DUMP_CHOICES, fingerprint, (void **)&out->choices,
                      &out->nchoices, sizeof *out->choices, read_choice, "reading choices");
    if (s == KT_OK && (what & KT_DB_DUMP_LIMITS))
        s = read_rows(db, ST_DUMP_LIMITS, fingerprint, (void **)&out->limits, &out->nlimits,
                      sizeof *out->limits, read_limit, "reading limits");
    if (s == KT_OK && (what & KT_DB_DUMP_PROFILES))
        s = read_rows(db, ST_DUMP_PROFILES, fingerprint, (void **)&out->profiles,
                      &out->nprofiles, sizeof *out->profiles, read_profile,
                      "reading profiled calls");
    if (s == KT_OK)
        s = exec(db, "COMMIT", "reading the database");
    if (s != KT_OK) {
        rollback(db);
        kt_db_dump_free(out);
    }
    return s;
}

/*
 * Runs statement id, whose parameters the caller bound (rc: the binds' result), and
 * reads its first row through read.  *found says whether there was one.
 */
static kt_status read_one(kt_db *db, sqlite3_stmt *st, int rc, void *row, row_reader read,
                          int *found, const char *what)
{
    kt_status s = KT_OK;
    *found = 0;
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *found = 1;
        s = read(db, st, row);
    } else if (rc != SQLITE_DONE) {
        s = fail_sql(db, rc, what);
    }
    stmt_done(st);
    return s;
}

kt_status kt_db_run_get(kt_db *db, int64_t id, kt_db_run_row *out)
{
    if (!db || !out)
        return kt_fail(KT_EINVAL, "kt_db_run_get: null argument");
    memset(out, 0, sizeof *out);
    if (db->version == 0)
        return kt_fail(KT_ENOTFOUND, "%s: no run %lld (empty database)", db->path,
                       (long long)id);
    sqlite3_stmt *st;
    kt_status s = stmt_get(db, ST_RUN_GET, &st);
    if (s != KT_OK)
        return s;
    int found;
    s = read_one(db, st, bind_i64(st, 1, id, SQLITE_OK), out, read_run, &found,
                 "reading a run");
    if (s == KT_OK && !found)
        s = kt_fail(KT_ENOTFOUND, "%s: no run %lld", db->path, (long long)id);
    if (s != KT_OK) {
        free(out->options);
        out->options = NULL;
    }
    return s;
}

void kt_db_merge_report_free(kt_db_merge_report *rep)
{
    if (!rep)
        return;
    free(rep->conflicts);
    memset(rep, 0, sizeof *rep);
}

/* ---- Merging ------------------------------------------------------------ */

/* How a row ranks against another with the same key: see kt_db_merge() in kt_db.h. */
typedef struct precedence {
    int complete;          /* made by a complete run */
    char started[KT_DB_TIME_MAX];  /* its run's start ("" without a run) */
    const char *stamp;     /* measured_at / updated of the row itself */
} precedence;

/* A dump run's id and index, sorted by id for lookups. */
typedef struct run_ref {
    int64_t id;
    size_t idx;
} run_ref;

typedef struct merger {
    kt_db *db;
    const kt_db_dump *in;
    kt_db_merge_report *rep;
    int64_t *machine_map;  /* per in->machines[i]: its id in db */
    int64_t *run_map;      /* per in->runs[i]: its id in db */
    run_ref *run_order;    /* in->runs sorted by id, for lookups */
} merger;

/* The index of the dump machine with this id, or -1. */
static ptrdiff_t dump_machine(const kt_db_dump *in, int64_t id)
{
    for (size_t i = 0; i < in->nmachines; i++)
        if (in->machines[i].id == id)
            return (ptrdiff_t)i;
    return -1;
}

static int cmp_run_ref(const void *a, const void *b)
{
    int64_t x = ((const run_ref *)a)->id, y = ((const run_ref *)b)->id;
    return (x > y) - (x < y);
}

/* The index of the dump run with this id, or -1. */
static ptrdiff_t dump_run(const merger *mg, int64_t id)
{
    size_t lo = 0, hi = mg->in->nruns;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t v = mg->run_order[mid].id;
        if (v == id)
            return (ptrdiff_t)mg->run_order[mid].idx;
        if (v < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The db machine id of a dump machine id, or KT_EINVAL when the dump has no such one. */
static kt_status map_machine(const merger *mg, int64_t id, int64_t *out, const char *what)
{
    ptrdiff_t i = dump_machine(mg->in, id);
    if (i < 0)
        return kt_fail(KT_EINVAL, "merge: %s names machine %lld, which the input lacks", what,
                       (long long)id);
    *out = mg->machine_map[i];
    return KT_OK;
}

/* The db run id of a dump run id (0 stays 0: no run). */
static kt_status map_run(const merger *mg, int64_t id, int64_t *out, const char *what)
{
    *out = 0;
    if (id == 0)
        return KT_OK;
    ptrdiff_t i = dump_run(mg, id);
    if (i < 0)
        return kt_fail(KT_EINVAL, "merge: %s names run %lld, which the input lacks", what,
                       (long long)id);
    *out = mg->run_map[i];
    return KT_OK;
}

/* Fills the run part of *p from run id of db (0: none). */
static kt_status precedence_of_db_run(merger *mg, int64_t run, precedence *p)
{
    p->complete = 0;
    p->started[0] = '\0';
    if (run == 0)
        return KT_OK;
    kt_db_run_row r;
    kt_status s = kt_db_run_get(mg->db, run, &r);
    if (s == KT_ENOTFOUND)
        return KT_OK;
    if (s != KT_OK)
        return s;
    p->complete = strcmp(r.status, "complete") == 0;
    snprintf(p->started, sizeof p->started, "%s", r.started);
    free(r.options);
    return KT_OK;
}

/*
 * Decides between an incoming and an existing row with the same key and different
 * values: returns 1 when the incoming one wins.  content_cmp (incoming vs existing, a
 * total order on the values) breaks a tie.  Writes the deciding rule into why.
 */
static int incoming_wins(const precedence *in, const precedence *ex, int content_cmp,
                         char *why, size_t len)
{
    int c;
    if (in->complete != ex->complete) {
        snprintf(why, len, "a complete run beats an incomplete one");
        return in->complete > ex->complete;
    }
    if ((c = strcmp(in->started, ex->started)) != 0) {
        snprintf(why, len, "the newer run wins (%s vs %s)", c > 0 ? in->started : ex->started,
                 c > 0 ? ex->started : in->started);
        return c > 0;
    }
    const char *a = in->stamp ? in->stamp : "", *b = ex->stamp ? ex->stamp : "";
    if ((c = strcmp(a, b)) != 0) {
        snprintf(why, len, "the newer row wins (%s vs %s)", c > 0 ? a : b, c > 0 ? b : a);
        return c > 0;
    }
    snprintf(why, len, "same run and time: the tie goes to the larger values");
    return content_cmp > 0;
}

/* snprintf into a key buffer, cut when too long (keys are for people). */
static void keyf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void keyf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* Records a conflict in the report (dropped silently when out of memory: counts stay). */
static void add_conflict(merger *mg, const char *table, const char *key, int incoming_won,
                         const char *why)
{
    kt_db_merge_report *rep = mg->rep;
    kt_db_conflict *c = kt_db_dump_grow((void **)&rep->conflicts, &rep->nconflicts,
                                        sizeof *c);
    if (!c)
        return;
    snprintf(c->table, sizeof c->table, "%s", table);
    snprintf(c->key, sizeof c->key, "%s", key);
    c->incoming_won = incoming_won;
    snprintf(c->why, sizeof c->why, "%s", why);
}

/* Equality of two reals where NAN (NULL) equals NAN. */
static int same_real(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static int cmp_real(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(b) - isnan(a);
    return (a > b) - (a < b);
}

/* ---- Merging: machines, variants, runs ---- */

static kt_status merge_machines(merger *mg)
{
    kt_db *db = mg->db;
    kt_status s = KT_OK;
    for (size_t i = 0; s == KT_OK && i < mg->in->nmachines; i++) {
        const kt_db_machine_row *in = &mg->in->machines[i];
        const char *details = in->details && *in->details ? in->details : "{}";
        kt_db_machine_row ex = {0};
        sqlite3_stmt *st;
        int found;
        s = stmt_get(db, ST_MACHINE_GET, &st);
        if (s == KT_OK)
            s = read_one(db, st, bind_text(st, 1, in->fingerprint, SQLITE_OK), &ex,
                         read_machine, &found, "looking up a machine");
        if (s == KT_OK && !found) {
            s = stmt_get(db, ST_MACHINE_INSERT, &st);
            if (s == KT_OK) {
                int rc = bind_text(st, 1, in->fingerprint, SQLITE_OK);
                rc = bind_text(st, 2, details, rc);
                rc = bind_text(st, 3, in->first_seen, rc);
                rc = bind_text(st, 4, in->last_seen, rc);
                s = step_done(db, st, rc, "adding a machine", NULL);
            }
            if (s == KT_OK) {
                mg->machine_map[i] = sqlite3_last_insert_rowid(db->sql);
                mg->rep->machines.added++;
            }
        } else if (s == KT_OK) {
            mg->machine_map[i] = ex.id;
            /* the earliest first sighting, the latest last one and its details */
            const char *first = strcmp(in->first_seen, ex.first_seen) < 0 ? in->first_seen
                                                                           : ex.first_seen;
            int c = strcmp(in->last_seen, ex.last_seen);
            int take = c > 0 || (c == 0 && strcmp(details, ex.details) > 0);
            const char *last = c > 0 ? in->last_seen : ex.last_seen;
            const char *det = take ? details : ex.details;
            if (!strcmp(first, ex.first_seen) && !strcmp(last, ex.last_seen) &&
                !strcmp(det, ex.details)) {
                if (!strcmp(details, ex.details))
                    mg->rep->machines.identical++;
                else
                    mg->rep->machines.kept++;
            } else {
                s = stmt_get(db, ST_MACHINE_UPDATE, &st);
                if (s == KT_OK) {
                    int rc = bind_i64(st, 1, ex.id, SQLITE_OK);
                    rc = bind_text(st, 2, det, rc);
                    rc = bind_text(st, 3, first, rc);
                    rc = bind_text(st, 4, last, rc);
                    s = step_done(db, st, rc, "updating a machine", NULL);
                }
                if (s == KT_OK)
                    mg->rep->machines.replaced++;
            }
            if (s == KT_OK && strcmp(details, ex.details) != 0)
                add_conflict(mg, "machines", in->fingerprint, take,
                             "different details: those seen last win");
        }
        free(ex.details);
    }
    return s;
}

static kt_status merge_variants(merger *mg)
{
    kt_db *db = mg->db;
    kt_status s = KT_OK;
    for (size_t i = 0; s == KT_OK && i < mg->in->nvariants; i++) {
        const kt_db_variant_row *in = &mg->in->variants[i];
        s = check_name(in->op, "merge", "op");
        if (s == KT_OK)
            s = check_name(in->name, "merge", "variant name");
        if (s == KT_OK && !in->backend[0])
            s = kt_fail(KT_EINVAL, "merge: variant %s/%s has no backend", in->op, in->name);
        kt_db_variant_row ex = {0};
        sqlite3_stmt *st;
        int found = 0;
        if (s == KT_OK)
            s = stmt_get(db, ST_VARIANT_GET, &st);
        if (s == KT_OK) {
            int rc = bind_text(st, 1, in->op, SQLITE_OK);
            rc = bind_text(st, 2, in->name, rc);
            rc = bind_i64(st, 3, in->version, rc);
            if (rc == SQLITE_OK)
                rc = sqlite3_step(st);
            if (rc == SQLITE_ROW) {
                found = 1;
                s = col_text(db, st, 0, ex.backend, sizeof ex.backend);
                if (s == KT_OK)
                    s = col_text(db, st, 1, ex.params, sizeof ex.params);
            } else if (rc != SQLITE_DONE) {
                s = fail_sql(db, rc, "looking up a variant");
            }
            stmt_done(st);
        }
        if (s != KT_OK)
            break;
        int c = found ? strcmp(in->backend, ex.backend) : 1;
        if (found && c == 0)
            c = strcmp(in->params, ex.params);
        if (found && c == 0) {
            mg->rep->variants.identical++;
            continue;
        }
        if (found) {
            char key[320];
            keyf(key, sizeof key, "%s/%s v%u", in->op, in->name, in->version);
            add_conflict(mg, "variants", key, c > 0,
                         "different backend or parameters: the tie goes to the larger");
            if (c < 0) {
                mg->rep->variants.kept++;
                continue;
            }
        }
        s = kt_db_variant_put(db, in->op, in->name, in->version, in->backend, in->params);
        if (s == KT_OK) {
            if (found)
                mg->rep->variants.replaced++;
            else
                mg->rep->variants.added++;
        }
    }
    return s;
}

/* The finality of a run status: complete > interrupted > failed > running. */
static int status_rank(const char *status)
{
    static const char *const order[] = {"running", "failed", "interrupted", "complete"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(status, order[i]))
            return i;
    return -1;
}

static kt_status merge_runs(merger *mg)
{
    kt_db *db = mg->db;
    kt_status s = KT_OK;
    for (size_t i = 0; s == KT_OK && i < mg->in->nruns; i++) {
        const kt_db_run_row *in = &mg->in->runs[i];
        int64_t machine;
        s = map_machine(mg, in->machine, &machine, "a run");
        if (s == KT_OK && (status_rank(in->status) < 0 || !in->started[0]))
            s = kt_fail(KT_EINVAL, "merge: run %lld has status '%s' and start '%s'",
                        (long long)in->id, in->status, in->started);
        kt_db_run_row ex = {0};
        sqlite3_stmt *st;
        int found = 0;
        if (s == KT_OK)
            s = stmt_get(db, ST_RUN_FIND, &st);
        if (s == KT_OK) {
            int rc = bind_i64(st, 1, machine, SQLITE_OK);
            rc = bind_text(st, 2, in->started, rc);
            rc = bind_text(st, 3, in->host, rc);
            rc = bind_i64(st, 4, in->pid, rc);
            s = read_one(db, st, rc, &ex, read_run, &found, "looking up a run");
        }
        if (s == KT_OK && !found) {
            s = stmt_get(db, ST_RUN_INSERT, &st);
            if (s == KT_OK) {
                int rc = bind_i64(st, 1, machine, SQLITE_OK);
                rc = bind_text(st, 2, in->started, rc);
                rc = bind_text_opt(st, 3, in->ended, rc);
                rc = bind_text(st, 4, in->options ? in->options : "", rc);
                rc = bind_text(st, 5, in->status, rc);
                rc = bind_text(st, 6, in->ktune_version, rc);
                rc = bind_i64(st, 7, in->pid, rc);
                rc = bind_text(st, 8, in->host, rc);
                s = step_done(db, st, rc, "adding a run", NULL);
            }
            if (s == KT_OK) {
                mg->run_map[i] = sqlite3_last_insert_rowid(db->sql);
                mg->rep->runs.added++;
            }
        } else if (s == KT_OK) {
            mg->run_map[i] = ex.id;
            int ri = status_rank(in->status), re = status_rank(ex.status);
            int c = ri != re ? ri - re : strcmp(in->ended, ex.ended);
            if (c == 0) {
                mg->rep->runs.identical++;
            } else {
                char key[320];
                keyf(key, sizeof key, "%s run started %s on %s pid %lld",
                         mg->in->machines[dump_machine(mg->in, in->machine)].fingerprint,
                         in->started, in->host, (long long)in->pid);
                add_conflict(mg, "runs", key, c > 0,
                             "one run seen twice: the most final status wins");
                if (c > 0) {
                    s = stmt_get(db, ST_RUN_UPDATE, &st);
                    if (s == KT_OK) {
                        int rc = bind_i64(st, 1, ex.id, SQLITE_OK);
                        rc = bind_text(st, 2, in->status, rc);
                        rc = bind_text_opt(st, 3, in->ended, rc);
                        s = step_done(db, st, rc, "updating a run", NULL);
                    }
                    mg->rep->runs.replaced++;
                } else {
                    mg->rep->runs.kept++;
                }
            }
        }
        free(ex.options);
    }
    return s;
}

/* ---- Merging: measurements ---- */

/* A total order on the values of two measurements with the same key. */
static int measurement_cmp_values(const kt_db_measurement *a, const kt_db_measurement *b)
{
    int c;
    if ((c = (a->valid > b->valid) - (a->valid < b->valid)) != 0)
        return c;
    if ((c = (a->samples > b->samples) - (a->samples < b->samples)) != 0)
        return c;
    if ((c = cmp_real(b->median_s, a->median_s)) != 0) /* faster is larger */
        return c;
    if ((c = cmp_real(a->spread, b->spread)) != 0)
        return c;
    if ((c = cmp_real(a->min_s, b->min_s)) != 0)
        return c;
    if ((c = cmp_real(a->kernel_s, b->kernel_s)) != 0)
        return c;
    if ((c = cmp_real(a->gflops, b->gflops)) != 0)
        return c;
    if ((c = cmp_real(a->gbs, b->gbs)) != 0)
        return c;
    return strcmp(a->error, b->error);
}

/* Stores *me (machine and run ids of db) with its own measured_at. */
static kt_status measurement_import(kt_db *db, const kt_db_measurement *me)
{
    static const char fn[] = "merge";
    kt_status s = measurement_check_key(me, fn);
    if (s == KT_OK && me->valid && isnan(me->median_s))
        s = kt_fail(KT_EINVAL, "merge: a valid measurement of %s/%s has no median", me->op,
                    me->variant);
    if (s == KT_OK && me->samples < 0)
        s = kt_fail(KT_EINVAL, "merge: negative sample count");
    if (s == KT_OK && !me->measured_at[0])
        s = kt_fail(KT_EINVAL, "merge: a measurement of %s/%s has no time", me->op,
                    me->variant);
    sqlite3_stmt *st;
    if (s == KT_OK)
        s = stmt_get(db, ST_MEASUREMENT_IMPORT, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_measurement(st, me);
    rc = bind_text(st, 18, me->measured_at, rc);
    return step_done(db, st, rc, "storing a measurement", NULL);
}

/* The key of a measurement, for people. */
static void measurement_key(const merger *mg, const kt_db_measurement *me, char *buf,
                            size_t len)
{
    ptrdiff_t mi = dump_machine(mg->in, me->machine);
    keyf(buf, len, "%s %s m=%zu n=%zu k=%zu %s v%u",
             mi >= 0 ? mg->in->machines[mi].fingerprint : "?", me->op, me->m, me->n, me->k,
             me->variant, me->version);
}

static kt_status merge_measurements(merger *mg)
{
    kt_status s = KT_OK;
    for (size_t i = 0; s == KT_OK && i < mg->in->nmeasurements; i++) {
        kt_db_measurement in = mg->in->measurements[i];
        int64_t dump_run_id = in.run;
        s = map_machine(mg, in.machine, &in.machine, "a measurement");
        if (s == KT_OK)
            s = map_run(mg, dump_run_id, &in.run, "a measurement");
        if (s != KT_OK)
            break;
        in.valid = in.valid ? 1 : 0;
        kt_db_measurement ex = {.machine = in.machine, .m = in.m, .n = in.n, .k = in.k,
                                .version = in.version};
        memcpy(ex.op, in.op, sizeof ex.op);
        memcpy(ex.variant, in.variant, sizeof ex.variant);
        s = measurement_check_key(&in, "merge");
        if (s == KT_OK)
            s = kt_db_measurement_get(mg->db, &ex);
        if (s == KT_ENOTFOUND) {
            s = measurement_import(mg->db, &in);
            if (s == KT_OK)
                mg->rep->measurements.added++;
            continue;
        }
        if (s != KT_OK)
            break;
        int c = measurement_cmp_values(&in, &ex);
        if (c == 0 && in.run == ex.run && !strcmp(in.measured_at, ex.measured_at)) {
            mg->rep->measurements.identical++;
            continue;
        }
        precedence pi = {.stamp = in.measured_at}, pe = {.stamp = ex.measured_at};
        ptrdiff_t ri = dump_run_id ? dump_run(mg, dump_run_id) : -1;
        if (ri >= 0) {
            pi.complete = !strcmp(mg->in->runs[ri].status, "complete");
            snprintf(pi.started, sizeof pi.started, "%s", mg->in->runs[ri].started);
        }
        s = precedence_of_db_run(mg, ex.run, &pe);
        if (s != KT_OK)
            break;
        char why[192], key[320];
        int win = incoming_wins(&pi, &pe, c, why, sizeof why);
        measurement_key(mg, &mg->in->measurements[i], key, sizeof key);
        add_conflict(mg, "measurements", key, win, why);
        if (win) {
            s = measurement_import(mg->db, &in);
            mg->rep->measurements.replaced++;
        } else {
            mg->rep->measurements.kept++;
        }
    }
    return s;
}

/* ---- Merging: choices (a set per machine and op), limits, profiled calls ---- */

/* Equality of two choice rows (db ids on both sides). */
static int choice_same(const kt_db_choice_row *a, const kt_db_choice_row *b)
{
    return a->c.m == b->c.m && a->c.n == b->c.n && a->c.k == b->c.k && a->c.rank == b->c.rank &&
           !strcmp(a->c.variant, b->c.variant) && a->c.version == b->c.version &&
           same_real(a->c.median_s, b->c.median_s) && same_real(a->c.margin, b->c.margin) &&
           a->run == b->run;
}

/* A total order on two choice sets with the same (machine, op). */
static int choice_set_cmp(const kt_db_choice_row *a, size_t na, const kt_db_choice_row *b,
                          size_t nb)
{
    for (size_t i = 0; i < na && i < nb; i++) {
        const kt_db_choice *x = &a[i].c, *y = &b[i].c;
        int c = (x->n > y->n) - (x->n < y->n);
        if (!c)
            c = (x->m > y->m) - (x->m < y->m);
        if (!c)
            c = (x->k > y->k) - (x->k < y->k);
        if (!c)
            c = x->rank - y->rank;
        if (!c)
            c = strcmp(x->variant, y->variant);
        if (!c)
            c = (x->version > y->version) - (x->version < y->version);
        if (!c)
            c = cmp_real(y->median_s, x->median_s);
        if (!c)
            c = cmp_real(x->margin, y->margin);
        if (c)
            return c;
    }
    return (na > nb) - (na < nb);
}

/* Replaces the choices of (machine, op) of db by rows (db ids), in the open transaction. */
static kt_status choices_write(kt_db *db, int64_t machine, const char *op,
                               const kt_db_choice_row *rows, size_t n)
{
    sqlite3_stmt *del, *ins;
    kt_status s = stmt_get(db, ST_CHOICES_DELETE, &del);
    if (s == KT_OK)
        s = stmt_get(db, ST_CHOICE_INSERT, &ins);
    if (s != KT_OK)
        return s;
    int rc = bind_i64(del, 1, machine, SQLITE_OK);
    rc = bind_text(del, 2, op, rc);
    s = step_done(db, del, rc, "replacing choices", NULL);
    for (size_t i = 0; s == KT_OK && i < n; i++) {
        const kt_db_choice *c = &rows[i].c;
        s = check_name(c->variant, "merge", "variant name");
        if (s == KT_OK && isnan(c->median_s))
            s = kt_fail(KT_EINVAL, "merge: a choice of %s has no median", op);
        if (s == KT_OK)
            s = check_dims(c->m, c->n, c->k, "merge");
        if (s != KT_OK)
            break;
        rc = bind_i64(ins, 1, machine, SQLITE_OK);
        rc = bind_text(ins, 2, op, rc);
        rc = bind_dims(ins, 3, c->m, c->n, c->k, rc);
        rc = bind_i64(ins, 6, c->rank, rc);
        rc = bind_text(ins, 7, c->variant, rc);
        rc = bind_i64(ins, 8, c->version, rc);
        rc = bind_real(ins, 9, c->median_s, rc);
        rc = bind_real(ins, 10, c->margin, rc);
        rc = bind_id(ins, 11, rows[i].run, rc);
        s = step_done(db, ins, rc, "storing a choice", NULL);
    }
    return s;
}

/* Merges one incoming choice set (rows with db ids already) for (machine, op). */
static kt_status merge_choice_set(merger *mg, const char *fp, int64_t machine, const char *op,
                                  const kt_db_choice_row *in, size_t n, int64_t dump_run_id)
{
    kt_db *db = mg->db;
    kt_db_choice_row *ex = NULL;
    size_t nex = 0;
    sqlite3_stmt *st;
    kt_status s = check_name(op, "merge", "op");
    if (s == KT_OK)
        s = stmt_get(db, ST_CHOICES_GET, &st);
    if (s == KT_OK) {
        int rc = bind_i64(st, 1, machine, SQLITE_OK);
        rc = bind_text(st, 2, op, rc);
        while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            rc = SQLITE_OK;
            kt_db_choice_row *r = kt_db_dump_grow((void **)&ex, &nex, sizeof *ex);
            if (!r) {
                s = kt_fail(KT_ENOMEM, "merge: out of memory");
                break;
            }
            s = read_choice(db, st, r);
            if (s != KT_OK)
                break;
        }
        if (s == KT_OK && rc != SQLITE_DONE)
            s = fail_sql(db, rc, "reading choices");
        stmt_done(st);
    }
    if (s != KT_OK) {
        free(ex);
        return s;
    }
    if (nex == 0) {
        s = choices_write(db, machine, op, in, n);
        if (s == KT_OK)
            mg->rep->choices.added++;
        free(ex);
        return s;
    }
    int same = nex == n;
    for (size_t i = 0; same && i < n; i++)
        same = choice_same(&in[i], &ex[i]);
    if (same) {
        mg->rep->choices.identical++;
        free(ex);
        return KT_OK;
    }
    precedence pi = {.stamp = NULL}, pe = {.stamp = NULL};
    ptrdiff_t ri = dump_run_id ? dump_run(mg, dump_run_id) : -1;
    if (ri >= 0) {
        pi.complete = !strcmp(mg->in->runs[ri].status, "complete");
        snprintf(pi.started, sizeof pi.started, "%s", mg->in->runs[ri].started);
    }
    s = precedence_of_db_run(mg, ex[0].run, &pe);
    if (s == KT_OK) {
        char why[192], key[320];
        int win = incoming_wins(&pi, &pe, choice_set_cmp(in, n, ex, nex), why, sizeof why);
        keyf(key, sizeof key, "%s %s (%zu rows here, %zu incoming)", fp, op, nex, n);
        add_conflict(mg, "choices", key, win, why);
        if (win) {
            s = choices_write(db, machine, op, in, n);
            mg->rep->choices.replaced++;
        } else {
            mg->rep->choices.kept++;
        }
    }
    free(ex);
    return s;
}

static kt_status merge_choices(merger *mg)
{
    const kt_db_dump *in = mg->in;
    kt_db_choice_row *set = NULL;
    kt_status s = KT_OK;
    for (size_t i = 0; s == KT_OK && i < in->nchoices;) {
        size_t j = i;
        while (j < in->nchoices && in->choices[j].machine == in->choices[i].machine &&
               !strcmp(in->choices[j].op, in->choices[i].op))
            j++;
        /* one set: the rows of one (machine, op), with db ids */
        kt_db_choice_row *p = realloc(set, (j - i) * sizeof *set);
        if (!p) {
            s = kt_fail(KT_ENOMEM, "merge: out of memory");
            break;
        }
        set = p;
        int64_t machine = 0;
        s = map_machine(mg, in->choices[i].machine, &machine, "a choice");
        for (size_t k = i; s == KT_OK && k < j; k++) {
            set[k - i] = in->choices[k];
            set[k - i].machine = machine;
            s = map_run(mg, in->choices[k].run, &set[k - i].run, "a choice");
        }
        if (s == KT_OK) {
            ptrdiff_t mi = dump_machine(in, in->choices[i].machine);
            s = merge_choice_set(mg, in->machines[mi].fingerprint, machine, in->choices[i].op,
                                 set, j - i, in->choices[i].run);
        }
        i = j;
    }
    free(set);
    return s;
}

static kt_status merge_limits(merger *mg)
{
    kt_db *db = mg->db;
    kt_status s = KT_OK;
    for (size_t i = 0; s == KT_OK && i < mg->in->nlimits; i++) {
        kt_db_limit_row in = mg->in->limits[i], ex = {0};
        s = map_machine(mg, in.machine, &in.machine, "a limit");
        if (s == KT_OK)
            s = check_name(in.name, "merge", "limit name");
        if (s == KT_OK && (!isfinite(in.value) || !in.measured_at[0]))
            s = kt_fail(KT_EINVAL, "merge: limit %s has no finite value or no time", in.name);
        sqlite3_stmt *st;
        int found = 0;
        if (s == KT_OK)
            s = stmt_get(db, ST_LIMIT_ROW_GET, &st);
        if (s == KT_OK) {
            int rc = bind_i64(st, 1, in.machine, SQLITE_OK);
            rc = bind_text(st, 2, in.name, rc);
            s = read_one(db, st, rc, &ex, read_limit, &found, "reading a limit");
        }
        if (s != KT_OK)
            break;
        int win = 1;
        if (found) {
            if (in.value == ex.value && !strcmp(in.measured_at, ex.measured_at)) {
                mg->rep->limits.identical++;
                continue;
            }
            int c = strcmp(in.measured_at, ex.measured_at);
            win = c ? c > 0 : in.value > ex.value;
            char key[320];
            keyf(key, sizeof key, "%s %s",
                     mg->in->machines[dump_machine(mg->in, mg->in->limits[i].machine)]
                         .fingerprint, in.name);
            add_conflict(mg, "limits", key, win,
                         c ? "the newer measurement wins" : "same time: the larger wins");
        }
        if (!win) {
            mg->rep->limits.kept++;
            continue;
        }
        s = stmt_get(db, ST_LIMIT_IMPORT, &st);
        if (s == KT_OK) {
            int rc = bind_i64(st, 1, in.machine, SQLITE_OK);
            rc = bind_text(st, 2, in.name, rc);
            rc = bind_real(st, 3, in.value, rc);
            rc = bind_text(st, 4, in.measured_at, rc);
            s = step_done(db, st, rc, "storing a limit", NULL);
        }
        if (s == KT_OK) {
            if (found)
                mg->rep->limits.replaced++;
            else
                mg->rep->limits.added++;
        }
    }
    return s;
}

static kt_status merge_profiles(merger *mg)
{
    kt_db *db = mg->db;
    kt_status s = KT_OK;
    for (size_t i = 0; s == KT_OK && i < mg->in->nprofiles; i++) {
        kt_db_profile_row in = mg->in->profiles[i], ex = {0};
        s = map_machine(mg, in.machine, &in.machine, "a profiled call");
        if (s == KT_OK)
            s = check_name(in.op, "merge", "op");
        if (s == KT_OK)
            s = check_dims(in.m, in.n, in.k, "merge");
        if (s == KT_OK && (in.calls < 0 || !isfinite(in.total_s) || !in.updated[0]))
            s = kt_fail(KT_EINVAL, "merge: a profiled call of %s is malformed", in.op);
        sqlite3_stmt *st;
        int found = 0;
        if (s == KT_OK)
            s = stmt_get(db, ST_PROFILE_GET, &st);
        if (s == KT_OK) {
            int rc = bind_i64(st, 1, in.machine, SQLITE_OK);
            rc = bind_text(st, 2, in.op, rc);
            rc = bind_dims(st, 3, in.m, in.n, in.k, rc);
            s = read_one(db, st, rc, &ex, read_profile, &found, "reading a profiled call");
        }
        if (s != KT_OK)
            break;
        int win = 1;
        if (found) {
            int c = strcmp(in.updated, ex.updated);
            if (!c)
                c = (in.calls > ex.calls) - (in.calls < ex.calls);
            if (!c)
                c = cmp_real(in.total_s, ex.total_s);
            if (!c) {
                mg->rep->profiles.identical++;
                continue;
            }
            win = c > 0;
            char key[320];
            keyf(key, sizeof key, "%s %s m=%zu n=%zu k=%zu",
                     mg->in->machines[dump_machine(mg->in, mg->in->profiles[i].machine)]
                         .fingerprint, in.op, in.m, in.n, in.k);
            add_conflict(mg, "profiled_calls", key, win,
                         "the later update wins (then the larger count)");
        }
        if (!win) {
            mg->rep->profiles.kept++;
            continue;
        }
        s = stmt_get(db, ST_PROFILE_IMPORT, &st);
        if (s == KT_OK) {
            int rc = bind_i64(st, 1, in.machine, SQLITE_OK);
            rc = bind_text(st, 2, in.op, rc);
            rc = bind_dims(st, 3, in.m, in.n, in.k, rc);
            rc = bind_i64(st, 6, in.calls, rc);
            rc = bind_real(st, 7, in.total_s, rc);
            rc = bind_text(st, 8, in.updated, rc);
            s = step_done(db, st, rc, "storing a profiled call", NULL);
        }
        if (s == KT_OK) {
            if (found)
                mg->rep->profiles.replaced++;
            else
                mg->rep->profiles.added++;
        }
    }
    return s;
}

kt_status kt_db_merge(kt_db *db, const kt_db_dump *in, int dry_run, kt_db_merge_report *rep)
{
    if (!rep)
        return kt_fail(KT_EINVAL, "kt_db_merge: no report");
    memset(rep, 0, sizeof *rep);
    kt_status s = need_write(db, "kt_db_merge");
    if (s != KT_OK)
        return s;
    if (!in)
        return kt_fail(KT_EINVAL, "kt_db_merge: no input");
    for (size_t i = 0; i < in->nmachines; i++)
        if (!in->machines[i].fingerprint[0] || !in->machines[i].first_seen[0] ||
            !in->machines[i].last_seen[0])
            return kt_fail(KT_EINVAL, "merge: machine %zu has no fingerprint or times", i);
    merger mg = {.db = db, .in = in, .rep = rep};
    mg.machine_map = calloc(in->nmachines + 1, sizeof *mg.machine_map);
    mg.run_map = calloc(in->nruns + 1, sizeof *mg.run_map);
    mg.run_order = calloc(in->nruns + 1, sizeof *mg.run_order);
    if (!mg.machine_map || !mg.run_map || !mg.run_order) {
        s = kt_fail(KT_ENOMEM, "merge: out of memory");
        goto out;
    }
    for (size_t i = 0; i < in->nruns; i++)
        mg.run_order[i] = (run_ref){in->runs[i].id, i};
    qsort(mg.run_order, in->nruns, sizeof *mg.run_order, cmp_run_ref);
    for (size_t i = 1; i < in->nruns; i++)
        if (mg.run_order[i].id == mg.run_order[i - 1].id) {
            s = kt_fail(KT_EINVAL, "merge: two runs have the id %lld",
                        (long long)mg.run_order[i].id);
            goto out;
        }

    s = exec(db, "BEGIN IMMEDIATE", "merging");
    if (s != KT_OK)
        goto out;
    s = merge_machines(&mg);
    if (s == KT_OK)
        s = merge_variants(&mg);
    if (s == KT_OK)
        s = merge_runs(&mg);
    if (s == KT_OK)
        s = merge_measurements(&mg);
    if (s == KT_OK)
        s = merge_choices(&mg);
    if (s == KT_OK)
        s = merge_limits(&mg);
    if (s == KT_OK)
        s = merge_profiles(&mg);
    if (s == KT_OK && !dry_run)
        s = exec(db, "COMMIT", "committing the merge");
    if (s != KT_OK || dry_run)
        rollback(db);
out:
    free(mg.machine_map);
    free(mg.run_map);
    free(mg.run_order);
    return s;
}
