/*
 * ktune tuning database: every SQL statement and the helpers that run them
 * (see kt_db.h for the contract, db/schema.sql for the tables, kt_db_int.h for the files).
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
 *      KT_DB_READ_MIN_VERSION to N when stmt_sql[] below then needs the new schema;
 *   5. a read statement that names the step's new columns keeps a form for older files
 *      (stmt_sql_v1[] for schema 1), so that readers still read them unmigrated.
 * Before its first write a handle checks the file against the steps (db/open.c): whole
 * pages, PRAGMA integrity_check, and no schema object the steps did not create.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_db_int.h"

/* ---- Statements ---------------------------------------------------------- */

#define NOW "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
#define MEASUREMENT_COLUMNS                                                                \
    "machine, op, m, n, k, variant, version, run, samples, median_s, spread, min_s, "     \
    "kernel_s, valid, error, gflops, gbs, measured_at"
/* Columns of schema 2 read after MEASUREMENT_COLUMNS and CHOICE_COLUMNS, and what stands
 * for them on a version 1 file (stmt_sql_v1[]). */
#define MEASUREMENT_V2 ", batch, rounds"
#define MEASUREMENT_V1 ", NULL, NULL"
#define CHOICE_COLUMNS "machine, op, m, n, k, rank, variant, version, median_s, margin, run"
#define CHOICE_V2 ", ci_lo, ci_hi, decision"
#define CHOICE_V1 ", NULL, NULL, ''"
#define VERIFY_COLUMNS                                                                     \
    "machine, run, op, m, n, k, pass, dispatched, dispatched_s, best, best_s, ratio, "    \
    "fixed, seed"

/* The read statements, with the schema 2 column list (v2) or its stand-in (v1). */
#define SQL_MEASUREMENT_GET(v)                                                             \
    "SELECT " MEASUREMENT_COLUMNS v " FROM measurements WHERE machine = ?1 AND op = ?2 "   \
    "AND m = ?3 AND n = ?4 AND k = ?5 AND variant = ?6 AND version = ?7"
#define SQL_MEASUREMENTS_LIST(v)                                                           \
    "SELECT " MEASUREMENT_COLUMNS v " FROM measurements WHERE machine = ?1 AND op = ?2 "   \
    "ORDER BY m, n, k, variant, version"
#define SQL_CHOICES_LOAD(v)                                                                \
    "SELECT m, n, k, rank, variant, version, median_s, margin" v " FROM choices "         \
    "WHERE machine = (SELECT id FROM machines WHERE fingerprint = ?1) AND op = ?2 "      \
    "ORDER BY m, n, k, rank"
#define SQL_DUMP_RUNS(where)                                                               \
    "SELECT id, machine, started, ended, options, status, ktune_version, pid, host "      \
    "FROM runs " where " ORDER BY machine, started, host, pid, id"
#define SQL_DUMP_MEASUREMENTS(v, where)                                                    \
    "SELECT " MEASUREMENT_COLUMNS v " FROM measurements " where                            \
    " ORDER BY machine, op, m, n, k, variant, version"
#define SQL_DUMP_CHOICES(v, where)                                                         \
    "SELECT " CHOICE_COLUMNS v " FROM choices " where " ORDER BY machine, op, m, n, k, rank"
#define SQL_DUMP_LIMITS(where)                                                             \
    "SELECT machine, name, value, measured_at FROM limits " where " ORDER BY machine, name"
#define SQL_DUMP_PROFILES(where)                                                           \
    "SELECT machine, op, m, n, k, calls, total_s, updated FROM profiled_calls " where      \
    " ORDER BY machine, op, m, n, k"
#define SQL_DUMP_VERIFY(where)                                                             \
    "SELECT " VERIFY_COLUMNS " FROM verifications " where                                  \
    " ORDER BY machine, run, op, pass, m, n, k"

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
        "median_s, spread, min_s, kernel_s, valid, error, gflops, gbs, batch, rounds) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
        "?18, ?19) "
        "ON CONFLICT (machine, op, m, n, k, variant, version) DO UPDATE SET "
        "run = excluded.run, samples = excluded.samples, median_s = excluded.median_s, "
        "spread = excluded.spread, min_s = excluded.min_s, kernel_s = excluded.kernel_s, "
        "valid = excluded.valid, error = excluded.error, gflops = excluded.gflops, "
        "gbs = excluded.gbs, batch = excluded.batch, rounds = excluded.rounds, "
        "measured_at = " NOW,
    [ST_MEASUREMENT_GET] = SQL_MEASUREMENT_GET(MEASUREMENT_V2),
    [ST_MEASUREMENTS_LIST] = SQL_MEASUREMENTS_LIST(MEASUREMENT_V2),
    [ST_CHOICES_DELETE] = "DELETE FROM choices WHERE machine = ?1 AND op = ?2",
    [ST_CHOICE_INSERT] =
        "INSERT INTO choices (" CHOICE_COLUMNS ", ci_lo, ci_hi, decision) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    [ST_CHOICES_LOAD] = SQL_CHOICES_LOAD(CHOICE_V2),
    [ST_LIMIT_PUT] =
        "INSERT INTO limits (machine, name, value) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (machine, name) DO UPDATE SET value = excluded.value, "
        "measured_at = " NOW,
    [ST_LIMIT_GET] = "SELECT value FROM limits WHERE machine = ?1 AND name = ?2",
    /*
     * Dumps: the *_ALL forms read every machine's rows, ordered by machine first; the
     * others read one machine's (?1: its id) through the indexes that start with machine.
     */
    [ST_DUMP_MACHINES_ALL] =
        "SELECT id, fingerprint, details, first_seen, last_seen FROM machines "
        "ORDER BY fingerprint",
    [ST_DUMP_RUNS_ALL] = SQL_DUMP_RUNS(""),
    [ST_DUMP_RUNS] = SQL_DUMP_RUNS("WHERE machine = ?1"),
    [ST_DUMP_VARIANTS_ALL] =
        "SELECT op, name, version, backend, params FROM variants ORDER BY op, name, version",
    [ST_DUMP_VARIANTS] =
        "SELECT op, name, version, backend, params FROM variants "
        "WHERE (op, name, version) IN (SELECT op, variant, version FROM measurements "
        "WHERE machine = ?1 UNION SELECT op, variant, version FROM choices "
        "WHERE machine = ?1) ORDER BY op, name, version",
    [ST_DUMP_MEASUREMENTS_ALL] = SQL_DUMP_MEASUREMENTS(MEASUREMENT_V2, ""),
    [ST_DUMP_MEASUREMENTS] = SQL_DUMP_MEASUREMENTS(MEASUREMENT_V2, "WHERE machine = ?1"),
    [ST_DUMP_CHOICES_ALL] = SQL_DUMP_CHOICES(CHOICE_V2, ""),
    [ST_DUMP_CHOICES] = SQL_DUMP_CHOICES(CHOICE_V2, "WHERE machine = ?1"),
    [ST_DUMP_LIMITS_ALL] = SQL_DUMP_LIMITS(""),
    [ST_DUMP_LIMITS] = SQL_DUMP_LIMITS("WHERE machine = ?1"),
    [ST_DUMP_PROFILES_ALL] = SQL_DUMP_PROFILES(""),
    [ST_DUMP_PROFILES] = SQL_DUMP_PROFILES("WHERE machine = ?1"),
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
        "INSERT INTO measurements (machine, op, m, n, k, variant, version, run, samples, "
        "median_s, spread, min_s, kernel_s, valid, error, gflops, gbs, batch, rounds, "
        "measured_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
        "?15, ?16, ?17, ?18, ?19, ?20) "
        "ON CONFLICT (machine, op, m, n, k, variant, version) DO UPDATE SET "
        "run = excluded.run, samples = excluded.samples, median_s = excluded.median_s, "
        "spread = excluded.spread, min_s = excluded.min_s, kernel_s = excluded.kernel_s, "
        "valid = excluded.valid, error = excluded.error, gflops = excluded.gflops, "
        "gbs = excluded.gbs, batch = excluded.batch, rounds = excluded.rounds, "
        "measured_at = excluded.measured_at",
    [ST_CHOICES_GET] =
        "SELECT " CHOICE_COLUMNS CHOICE_V2 " FROM choices WHERE machine = ?1 AND op = ?2 "
        "ORDER BY m, n, k, rank",
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
    /* verifications (schema 2) */
    [ST_JSON_OBJECT] =
        "SELECT CASE WHEN json_valid(?1) THEN json_type(?1) = 'object' ELSE 0 END",
    [ST_RUN_MACHINE] = "SELECT machine FROM runs WHERE id = ?1",
    [ST_VERIFY_PUT] =
        "INSERT INTO verifications (" VERIFY_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
        "?8, ?9, ?10, ?11, ?12, ?13, ?14) ON CONFLICT (run, op, m, n, k, pass) DO UPDATE SET "
        "machine = excluded.machine, dispatched = excluded.dispatched, "
        "dispatched_s = excluded.dispatched_s, best = excluded.best, "
        "best_s = excluded.best_s, ratio = excluded.ratio, fixed = excluded.fixed, "
        "seed = excluded.seed",
    [ST_DUMP_VERIFY_ALL] = SQL_DUMP_VERIFY(""),
    [ST_DUMP_VERIFY] = SQL_DUMP_VERIFY("WHERE machine = ?1"),
    [ST_VERIFY_GET] =
        "SELECT " VERIFY_COLUMNS " FROM verifications WHERE run = ?1 AND op = ?2 AND m = ?3 "
        "AND n = ?4 AND k = ?5 AND pass = ?6",
    [ST_VERIFY_NEWEST] =
        "SELECT r.id FROM runs AS r WHERE r.machine = ?1 AND EXISTS (SELECT 1 FROM "
        "verifications AS v WHERE v.run = r.id) ORDER BY r.started DESC, r.id DESC LIMIT 1",
    [ST_VERIFY_LIST] =
        "SELECT " VERIFY_COLUMNS " FROM verifications WHERE machine = ?1 AND run = ?2 "
        "ORDER BY op, pass, m, n, k",
};

/* The read statements as they run on a version 1 file (no schema 2 columns). */
static const char *const stmt_sql_v1[ST_COUNT] = {
    [ST_MEASUREMENT_GET] = SQL_MEASUREMENT_GET(MEASUREMENT_V1),
    [ST_MEASUREMENTS_LIST] = SQL_MEASUREMENTS_LIST(MEASUREMENT_V1),
    [ST_CHOICES_LOAD] = SQL_CHOICES_LOAD(CHOICE_V1),
    [ST_DUMP_MEASUREMENTS_ALL] = SQL_DUMP_MEASUREMENTS(MEASUREMENT_V1, ""),
    [ST_DUMP_MEASUREMENTS] = SQL_DUMP_MEASUREMENTS(MEASUREMENT_V1, "WHERE machine = ?1"),
    [ST_DUMP_CHOICES_ALL] = SQL_DUMP_CHOICES(CHOICE_V1, ""),
    [ST_DUMP_CHOICES] = SQL_DUMP_CHOICES(CHOICE_V1, "WHERE machine = ?1"),
};

/* ---- Errors ------------------------------------------------------------- */

/*
 * Records SQLite's failure rc while doing `what` and returns the kt_status for it.
 * Call it before any other SQLite call on the connection (which would replace the message).
 */
kt_status kt_dbi_fail_sql(const kt_db *db, int rc, const char *what)
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
kt_status kt_dbi_need_write(const kt_db *db, const char *fn)
{
    if (!db)
        return kt_fail(KT_EINVAL, "%s: no database", fn);
    if (!db->write)
        return kt_fail(KT_EINVAL, "%s: %s is open read-only", fn, db->path);
    return KT_OK;
}

/* Fails with KT_EINVAL unless s is a name of 1 to KT_DB_NAME_MAX - 1 bytes. */
kt_status kt_dbi_check_name(const char *s, const char *fn, const char *what)
{
    if (!s || !*s)
        return kt_fail(KT_EINVAL, "%s: no %s", fn, what);
    if (strnlen(s, KT_DB_NAME_MAX) >= KT_DB_NAME_MAX)
        return kt_fail(KT_EINVAL, "%s: %s longer than %d bytes", fn, what, KT_DB_NAME_MAX - 1);
    return KT_OK;
}

/* ---- Statement helpers -------------------------------------------------- */

/*
 * The prepared statement id of db, prepared on first use, reset and unbound.  On a file
 * of schema 1 (read-only handles: writers migrate first) the read statements that name
 * schema 2 columns run as stmt_sql_v1[] has them.
 */
kt_status kt_dbi_stmt_get(kt_db *db, enum stmt_id id, sqlite3_stmt **out)
{
    if (!db->stmt[id]) {
        const char *sql = db->version < 2 && stmt_sql_v1[id] ? stmt_sql_v1[id] : stmt_sql[id];
        int rc = sqlite3_prepare_v3(db->sql, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                    &db->stmt[id], NULL);
        if (rc != SQLITE_OK) {
            db->stmt[id] = NULL;
            return kt_dbi_fail_sql(db, rc, "preparing a query");
        }
    }
    *out = db->stmt[id];
    return KT_OK;
}

/* Copies text column i into dst[len] (cut if longer; "" for NULL). */
kt_status kt_dbi_col_text(const kt_db *db, sqlite3_stmt *st, int i, char *dst, size_t len)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    if (!s) {
        dst[0] = '\0';
        if (sqlite3_column_type(st, i) != SQLITE_NULL)
            return kt_dbi_fail_sql(db, SQLITE_NOMEM, "reading a row");
        return KT_OK;
    }
    snprintf(dst, len, "%s", (const char *)s);
    return KT_OK;
}

/* Runs sql (no rows expected) on db. */
kt_status kt_dbi_exec(kt_db *db, const char *sql, const char *what)
{
    int rc = sqlite3_exec(db->sql, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? KT_OK : kt_dbi_fail_sql(db, rc, what);
}

/*
 * Rolls back the transaction in progress, if any, after a failure that has been
 * recorded already.  Its own failure is not reported: SQLite rolls back by itself when
 * the connection closes, and the original error is the one that matters.
 */
void kt_dbi_rollback(kt_db *db)
{
    if (!sqlite3_get_autocommit(db->sql))
        (void)sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
}

/*
 * Runs a one-row, one-text-column statement (a PRAGMA) and copies its first row into
 * out[len] ("" when there is none).
 */
kt_status kt_dbi_query_text(kt_db *db, const char *sql, const char *what, char *out,
                            size_t len)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return kt_dbi_fail_sql(db, rc, what);
    kt_status s = KT_OK;
    out[0] = '\0';
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        s = kt_dbi_col_text(db, st, 0, out, len);
    else if (rc != SQLITE_DONE)
        s = kt_dbi_fail_sql(db, rc, what);
    (void)sqlite3_finalize(st); /* repeats the step's error, handled above */
    return s;
}

/*
 * Runs PRAGMA quick_check or integrity_check (pragma) and fails with KT_EDB and its first
 * complaint, on one line, unless it says "ok".  suffix ends the message.
 */
kt_status kt_dbi_check_pragma(kt_db *db, const char *pragma, const char *suffix)
{
    char msg[512];
    kt_status s = kt_dbi_query_text(db, pragma, "checking integrity", msg, sizeof msg);
    if (s != KT_OK || strcmp(msg, "ok") == 0)
        return s;
    static const char prefix[] = "*** in database main ***\n";
    char *p = strncmp(msg, prefix, sizeof prefix - 1) == 0 ? msg + sizeof prefix - 1 : msg;
    for (char *q = p; *q; q++)
        if (*q == '\n')
            *q = ' ';
    return kt_fail(KT_EDB, "%s: corrupt database (%s)%s", db->path, p, suffix);
}

/*
 * Steps a statement that returns no rows, then ends its use.  Returns the number of
 * rows changed in *changes when given.
 */
kt_status kt_dbi_step_done(kt_db *db, sqlite3_stmt *st, int rc, const char *what,
                           int *changes)
{
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    kt_status s = rc == SQLITE_DONE ? KT_OK : kt_dbi_fail_sql(db, rc, what);
    if (s == KT_OK && changes)
        *changes = sqlite3_changes(db->sql);
    stmt_done(st);
    return s;
}
