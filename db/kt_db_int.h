/*
 * Private to db/: what the files of the database module share.  db/kt_db.h is the
 * module's API; this header is included only by the .c files of db/.
 *
 *   db/sql.c      every statement (stmt_sql[]), errors, statement and binding helpers
 *   db/open.c     opening, checks at open, migration, default paths
 *   db/store.c    dimensions, machines, variants, runs, measurements, limits
 *   db/choices.c  choices: replace a set, load for dispatch
 *   db/verify.c   verifications of runs (schema 2)
 *   db/dump.c     row readers, dumps for inspection and export, run lookup
 *   db/merge.c    merging a dump into a database
 *
 * Functions here are named kt_dbi_* (internal to db/); the small binding and column
 * helpers are static inline.
 */
#ifndef KT_DB_INT_H
#define KT_DB_INT_H

#include <math.h>
#include <sqlite3.h>
#include <stdint.h>

#include "kt_db.h"
#include "kt_internal.h"

/* The prepared statements of a handle (their SQL is in db/sql.c). */
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
    ST_DUMP_MACHINES_ALL,
    ST_DUMP_RUNS_ALL,
    ST_DUMP_RUNS,
    ST_DUMP_VARIANTS_ALL,
    ST_DUMP_VARIANTS,
    ST_DUMP_MEASUREMENTS_ALL,
    ST_DUMP_MEASUREMENTS,
    ST_DUMP_CHOICES_ALL,
    ST_DUMP_CHOICES,
    ST_DUMP_LIMITS_ALL,
    ST_DUMP_LIMITS,
    ST_DUMP_PROFILES_ALL,
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
    /* verifications (schema 2) */
    ST_JSON_OBJECT,
    ST_RUN_MACHINE,
    ST_VERIFY_PUT,
    ST_VERIFY_GET,
    ST_VERIFY_NEWEST,
    ST_VERIFY_LIST,
    ST_DUMP_VERIFY_ALL,
    ST_DUMP_VERIFY,
    ST_COUNT
};

struct kt_db {
    sqlite3 *sql;
    char *path;
    int write;
    int busy_ms;
    int version;      /* user_version; 0: empty database (read-only handles only) */
    int reaped;       /* stale runs marked interrupted at open */
    sqlite3_stmt *stmt[ST_COUNT];
};

/* ---- Errors and statements (db/sql.c) ---- */

/*
 * Records SQLite's failure rc while doing `what` and returns the kt_status for it.
 * Call it before any other SQLite call on the connection (which would replace the message).
 */
kt_status kt_dbi_fail_sql(const kt_db *db, int rc, const char *what);

/* Fails with KT_EINVAL unless db is open for writing. */
kt_status kt_dbi_need_write(const kt_db *db, const char *fn);

/* Fails with KT_EINVAL unless s is a name of 1 to KT_DB_NAME_MAX - 1 bytes. */
kt_status kt_dbi_check_name(const char *s, const char *fn, const char *what);

/* The prepared statement id of db, prepared on first use, reset and unbound. */
kt_status kt_dbi_stmt_get(kt_db *db, enum stmt_id id, sqlite3_stmt **out);

/* Copies text column i into dst[len] (cut if longer; "" for NULL). */
kt_status kt_dbi_col_text(const kt_db *db, sqlite3_stmt *st, int i, char *dst, size_t len);

/* Runs sql (no rows expected) on db. */
kt_status kt_dbi_exec(kt_db *db, const char *sql, const char *what);

/* Rolls back the transaction in progress, if any, after a failure already recorded. */
void kt_dbi_rollback(kt_db *db);

/* Runs a one-row, one-text-column statement and copies its first row into out[len]. */
kt_status kt_dbi_query_text(kt_db *db, const char *sql, const char *what, char *out,
                            size_t len);

/* PRAGMA quick_check / integrity_check (pragma): KT_EDB with its first complaint. */
kt_status kt_dbi_check_pragma(kt_db *db, const char *pragma, const char *suffix);

/* Steps a statement that returns no rows, then ends its use (*changes: rows changed). */
kt_status kt_dbi_step_done(kt_db *db, sqlite3_stmt *st, int rc, const char *what,
                           int *changes);

/* ---- Binding and column helpers ---- */

/*
 * Ends a use of a cached statement.  sqlite3_reset() only repeats the error of the last
 * sqlite3_step(), which the caller has handled; clearing bindings cannot fail.
 */
static inline void stmt_done(sqlite3_stmt *st)
{
    (void)sqlite3_reset(st);
    (void)sqlite3_clear_bindings(st);
}

/*
 * Binding helpers: each does nothing when rc already holds an error, so a run of binds
 * is checked once at the end.
 */
static inline int bind_i64(sqlite3_stmt *st, int i, int64_t v, int rc)
{
    return rc == SQLITE_OK ? sqlite3_bind_int64(st, i, (sqlite3_int64)v) : rc;
}

/* NULL for 0 (optional ids: run). */
static inline int bind_id(sqlite3_stmt *st, int i, int64_t v, int rc)
{
    if (rc != SQLITE_OK)
        return rc;
    return v ? sqlite3_bind_int64(st, i, (sqlite3_int64)v) : sqlite3_bind_null(st, i);
}

/* NULL for NAN. */
static inline int bind_real(sqlite3_stmt *st, int i, double v, int rc)
{
    if (rc != SQLITE_OK)
        return rc;
    return isnan(v) ? sqlite3_bind_null(st, i) : sqlite3_bind_double(st, i, v);
}

/* The text, or NULL for NULL; the caller keeps s alive until the statement is reset. */
static inline int bind_text(sqlite3_stmt *st, int i, const char *s, int rc)
{
    if (rc != SQLITE_OK)
        return rc;
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* NULL for "" or NULL. */
static inline int bind_text_opt(sqlite3_stmt *st, int i, const char *s, int rc)
{
    return bind_text(st, i, s && *s ? s : NULL, rc);
}

static inline double col_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* Column i as a size (negative values, which the schema forbids, read as 0). */
static inline size_t col_size(sqlite3_stmt *st, int i)
{
    sqlite3_int64 v = sqlite3_column_int64(st, i);
    return v > 0 ? (size_t)v : 0;
}

static inline unsigned col_unsigned(sqlite3_stmt *st, int i)
{
    sqlite3_int64 v = sqlite3_column_int64(st, i);
    return v > 0 && v <= (sqlite3_int64)UINT32_MAX ? (unsigned)v : 0;
}

/* KT_EINVAL unless every dimension fits SQLite's signed 64-bit integers. */
static inline kt_status check_dims(size_t m, size_t n, size_t k, const char *fn)
{
    if ((uint64_t)m > INT64_MAX || (uint64_t)n > INT64_MAX || (uint64_t)k > INT64_MAX)
        return kt_fail(KT_EINVAL, "%s: dimension too large", fn);
    return KT_OK;
}

static inline int bind_dims(sqlite3_stmt *st, int first, size_t m, size_t n, size_t k, int rc)
{
    rc = bind_i64(st, first, (int64_t)m, rc);
    rc = bind_i64(st, first + 1, (int64_t)n, rc);
    return bind_i64(st, first + 2, (int64_t)k, rc);
}

/* ---- Shared between files ---- */

/* This host's name into buf ("" if unknown) (db/open.c). */
void kt_dbi_host_name(char *buf, size_t len);

/* Measurement rows (db/store.c): read a row of MEASUREMENT_COLUMNS, bind parameters
 * 1 to 17 of the insert statements, check the key fields. */
kt_status kt_dbi_measurement_read(const kt_db *db, sqlite3_stmt *st, kt_db_measurement *me);
int kt_dbi_bind_measurement(sqlite3_stmt *st, const kt_db_measurement *me);
kt_status kt_dbi_measurement_check_key(const kt_db_measurement *me, const char *fn);

/* Row readers: fill one row from a statement's columns (in the orders of stmt_sql[]). */
typedef kt_status (*row_reader)(const kt_db *db, sqlite3_stmt *st, void *row);

/* Choices (db/choices.c): KT_EINVAL unless c->decision is one the schema allows; binds
 * parameters 1 to 14 of the choice insert statement. */
kt_status kt_dbi_choice_check(const kt_db_choice *c, const char *fn);
int kt_dbi_bind_choice(sqlite3_stmt *st, int64_t machine, const char *op, int64_t run,
                       const kt_db_choice *c);

/* Row readers of db/dump.c, in the column orders of the dump statements. */
kt_status kt_dbi_col_strdup(const kt_db *db, sqlite3_stmt *st, int i, char **out);
kt_status kt_dbi_read_machine(const kt_db *db, sqlite3_stmt *st, void *row);
kt_status kt_dbi_read_run(const kt_db *db, sqlite3_stmt *st, void *row);
kt_status kt_dbi_read_choice(const kt_db *db, sqlite3_stmt *st, void *row);
kt_status kt_dbi_read_limit(const kt_db *db, sqlite3_stmt *st, void *row);
kt_status kt_dbi_read_profile(const kt_db *db, sqlite3_stmt *st, void *row);
kt_status kt_dbi_read_verify(const kt_db *db, sqlite3_stmt *st, void *row);

/* Verifications (db/verify.c): checks the fields put needs (names, dims, pass); binds
 * parameters 1 to 14 of the verification insert statement. */
kt_status kt_dbi_verify_check(const kt_db_verify_row *row, const char *fn);
int kt_dbi_bind_verify(sqlite3_stmt *st, const kt_db_verify_row *row);

/* Steps st (its binds' result in rc) and reads its first row through read (*found). */
kt_status kt_dbi_read_one(kt_db *db, sqlite3_stmt *st, int rc, void *row, row_reader read,
                          int *found, const char *what);

#endif /* KT_DB_INT_H */
