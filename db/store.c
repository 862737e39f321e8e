/*
 * ktune tuning database: the rows the tuner stores one at a time -- machines, variants,
 * runs, measurements, limits -- and the dimension packing they share.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kt_db_int.h"

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
    kt_status s = kt_dbi_stmt_get(db, ST_MACHINE_FIND, &st);
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
        s = kt_dbi_fail_sql(db, rc, "looking up a machine");
    stmt_done(st);
    return s;
}

kt_status kt_db_machine_put(kt_db *db, const char *fingerprint, const char *details,
                            int64_t *id)
{
    kt_status s = kt_dbi_need_write(db, "kt_db_machine_put");
    if (s != KT_OK)
        return s;
    if (!fingerprint || !*fingerprint || !id)
        return kt_fail(KT_EINVAL, "kt_db_machine_put: no fingerprint or id");
    if (!details)
        details = "{}";
    /* Checked here, not by a CHECK constraint: JSON functions are not trusted in schemas. */
    sqlite3_stmt *st;
    s = kt_dbi_stmt_get(db, ST_JSON_VALID, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_text(st, 1, details, SQLITE_OK);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        s = kt_dbi_fail_sql(db, rc, "checking machine details");
    else if (sqlite3_column_int(st, 0) != 1)
        s = kt_fail(KT_EINVAL, "kt_db_machine_put: details are not valid JSON: %.60s", details);
    stmt_done(st);
    if (s != KT_OK)
        return s;
    s = kt_dbi_stmt_get(db, ST_MACHINE_PUT, &st);
    if (s != KT_OK)
        return s;
    rc = bind_text(st, 1, fingerprint, SQLITE_OK);
    rc = bind_text(st, 2, details, rc);
    s = kt_dbi_step_done(db, st, rc, "storing a machine", NULL);
    return s == KT_OK ? kt_db_machine_find(db, fingerprint, id) : s;
}

kt_status kt_db_variant_put(kt_db *db, const char *op, const char *name, unsigned version,
                            const char *backend, const char *params)
{
    static const char fn[] = "kt_db_variant_put";
    kt_status s = kt_dbi_need_write(db, fn);
    if (s == KT_OK)
        s = kt_dbi_check_name(op, fn, "op");
    if (s == KT_OK)
        s = kt_dbi_check_name(name, fn, "variant name");
    if (s == KT_OK && (!backend || !*backend))
        s = kt_fail(KT_EINVAL, "%s: no backend", fn);
    sqlite3_stmt *st;
    if (s == KT_OK)
        s = kt_dbi_stmt_get(db, ST_VARIANT_PUT, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_text(st, 1, op, SQLITE_OK);
    rc = bind_text(st, 2, name, rc);
    rc = bind_i64(st, 3, version, rc);
    rc = bind_text(st, 4, backend, rc);
    rc = bind_text(st, 5, params ? params : "", rc);
    return kt_dbi_step_done(db, st, rc, "storing a variant", NULL);
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
    char host[256];
    kt_dbi_host_name(host, sizeof host);
    return kt_db_run_begin_as(db, machine, options, ktune_version, host, (int64_t)getpid(), run);
}

kt_status kt_db_run_begin_as(kt_db *db, int64_t machine, const char *options,
                             const char *ktune_version, const char *host, int64_t pid,
                             int64_t *run)
{
    kt_status s = kt_dbi_need_write(db, "kt_db_run_begin");
    if (s != KT_OK)
        return s;
    if (!run || !ktune_version || !host)
        return kt_fail(KT_EINVAL, "kt_db_run_begin: null argument");
    *run = 0;
    sqlite3_stmt *st;
    s = kt_dbi_stmt_get(db, ST_RUN_BEGIN, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_i64(st, 1, machine, SQLITE_OK);
    rc = bind_text(st, 2, options ? options : "", rc);
    rc = bind_text(st, 3, ktune_version, rc);
    rc = bind_i64(st, 4, pid, rc);
    rc = bind_text(st, 5, host, rc);
    s = kt_dbi_step_done(db, st, rc, "starting a run", NULL);
    if (s == KT_OK)
        *run = sqlite3_last_insert_rowid(db->sql);
    return s;
}

kt_status kt_db_run_end(kt_db *db, int64_t run, kt_db_run_status status)
{
    kt_status s = kt_dbi_need_write(db, "kt_db_run_end");
    if (s != KT_OK)
        return s;
    if ((unsigned)status > KT_DB_RUN_FAILED)
        return kt_fail(KT_EINVAL, "kt_db_run_end: bad status %d", (int)status);
    sqlite3_stmt *st;
    s = kt_dbi_stmt_get(db, ST_RUN_END, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_i64(st, 1, run, SQLITE_OK);
    rc = bind_text(st, 2, run_status_names[status], rc);
    int changes = 0;
    s = kt_dbi_step_done(db, st, rc, "ending a run", &changes);
    if (s == KT_OK && changes == 0)
        s = kt_fail(KT_ENOTFOUND, "%s: no run %lld", db->path, (long long)run);
    return s;
}

/* ---- Measurements ------------------------------------------------------- */

/* Reads column i (a BLOB of little-endian float32, or NULL) into me->rounds. */
static kt_status rounds_read(const kt_db *db, sqlite3_stmt *st, int i, kt_db_measurement *me)
{
    me->nrounds = 0;
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return KT_OK;
    const unsigned char *b = sqlite3_column_blob(st, i);
    int len = sqlite3_column_bytes(st, i);
    if (len == 0)
        return KT_OK;
    if (!b)
        return kt_dbi_fail_sql(db, SQLITE_NOMEM, "reading a row");
    if (len % 4 != 0 || len / 4 > KT_DB_MAX_ROUNDS)
        return kt_fail(KT_EDB, "%s: corrupt database (a measurement of %s/%s has %d bytes of "
                       "rounds)", db->path, me->op, me->variant, len);
    for (int r = 0; r < len / 4; r++) {
        uint32_t u = (uint32_t)b[4 * r] | (uint32_t)b[4 * r + 1] << 8 |
                     (uint32_t)b[4 * r + 2] << 16 | (uint32_t)b[4 * r + 3] << 24;
        memcpy(&me->rounds[r], &u, sizeof u);
    }
    me->nrounds = len / 4;
    return KT_OK;
}

/* Binds me->rounds as a BLOB of little-endian float32 (NULL when none) to parameter i. */
static int rounds_bind(sqlite3_stmt *st, int i, const kt_db_measurement *me, int rc)
{
    if (rc != SQLITE_OK)
        return rc;
    if (me->nrounds <= 0)
        return sqlite3_bind_null(st, i);
    unsigned char b[4 * KT_DB_MAX_ROUNDS];
    int n = me->nrounds < KT_DB_MAX_ROUNDS ? me->nrounds : KT_DB_MAX_ROUNDS;
    for (int r = 0; r < n; r++) {
        uint32_t u;
        memcpy(&u, &me->rounds[r], sizeof u);
        b[4 * r] = (unsigned char)(u & 0xff);
        b[4 * r + 1] = (unsigned char)(u >> 8 & 0xff);
        b[4 * r + 2] = (unsigned char)(u >> 16 & 0xff);
        b[4 * r + 3] = (unsigned char)(u >> 24);
    }
    return sqlite3_bind_blob(st, i, b, 4 * n, SQLITE_TRANSIENT);
}

/* Fills *me from a row of MEASUREMENT_COLUMNS and the schema 2 columns batch, rounds. */
kt_status kt_dbi_measurement_read(const kt_db *db, sqlite3_stmt *st, kt_db_measurement *me)
{
    me->machine = sqlite3_column_int64(st, 0);
    kt_status s = kt_dbi_col_text(db, st, 1, me->op, sizeof me->op);
    me->m = col_size(st, 2);
    me->n = col_size(st, 3);
    me->k = col_size(st, 4);
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 5, me->variant, sizeof me->variant);
    me->version = col_unsigned(st, 6);
    me->run = sqlite3_column_int64(st, 7);
    me->samples = sqlite3_column_int(st, 8);
    me->median_s = col_real(st, 9);
    me->spread = col_real(st, 10);
    me->min_s = col_real(st, 11);
    me->kernel_s = col_real(st, 12);
    me->valid = sqlite3_column_int(st, 13) ? 1 : 0;
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 14, me->error, sizeof me->error);
    me->gflops = col_real(st, 15);
    me->gbs = col_real(st, 16);
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 17, me->measured_at, sizeof me->measured_at);
    me->batch = sqlite3_column_int64(st, 18);
    if (s == KT_OK)
        s = rounds_read(db, st, 19, me);
    return s;
}

/*
 * Binds the columns of a measurement row, parameters 1 to 19 of the measurement insert
 * statements (put and import: 18 batch, 19 rounds); returns the first failing SQLite
 * code, or SQLITE_OK.
 */
int kt_dbi_bind_measurement(sqlite3_stmt *st, const kt_db_measurement *me)
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
    rc = bind_real(st, 17, me->gbs, rc);
    rc = bind_id(st, 18, me->batch, rc);
    return rounds_bind(st, 19, me, rc);
}

/* Checks the key fields of *me (names, dims) and its round count. */
kt_status kt_dbi_measurement_check_key(const kt_db_measurement *me, const char *fn)
{
    kt_status s = kt_dbi_check_name(me->op, fn, "op");
    if (s == KT_OK)
        s = kt_dbi_check_name(me->variant, fn, "variant name");
    if (s == KT_OK)
        s = check_dims(me->m, me->n, me->k, fn);
    if (s == KT_OK && (me->nrounds < 0 || me->nrounds > KT_DB_MAX_ROUNDS))
        s = kt_fail(KT_EINVAL, "%s: %d rounds (0 to %d are kept)", fn, me->nrounds,
                    KT_DB_MAX_ROUNDS);
    return s;
}

kt_status kt_db_measurement_put(kt_db *db, const kt_db_measurement *me)
{
    static const char fn[] = "kt_db_measurement_put";
    kt_status s = kt_dbi_need_write(db, fn);
    if (s != KT_OK)
        return s;
    if (!me)
        return kt_fail(KT_EINVAL, "%s: no measurement", fn);
    s = kt_dbi_measurement_check_key(me, fn);
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
    s = kt_dbi_stmt_get(db, ST_MEASUREMENT_PUT, &st);
    if (s != KT_OK)
        return s;
    int rc = kt_dbi_bind_measurement(st, me);
    /* One statement in autocommit mode: its own transaction, durable on return. */
    return kt_dbi_step_done(db, st, rc, "storing a measurement", NULL);
}

kt_status kt_db_measurement_get(kt_db *db, kt_db_measurement *me)
{
    static const char fn[] = "kt_db_measurement_get";
    if (!db || !me)
        return kt_fail(KT_EINVAL, "%s: null argument", fn);
    kt_status s = kt_dbi_measurement_check_key(me, fn);
    if (s != KT_OK)
        return s;
    if (db->version == 0)
        return kt_fail(KT_ENOTFOUND, "%s: no measurements (empty database)", db->path);
    sqlite3_stmt *st;
    s = kt_dbi_stmt_get(db, ST_MEASUREMENT_GET, &st);
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
        s = kt_dbi_measurement_read(db, st, &row);
        if (s == KT_OK)
            *me = row;
    } else if (rc == SQLITE_DONE) {
        s = kt_fail(KT_ENOTFOUND, "%s: no measurement of %s/%s v%u at %zu,%zu,%zu", db->path,
                    me->op, me->variant, me->version, me->m, me->n, me->k);
    } else {
        s = kt_dbi_fail_sql(db, rc, "reading a measurement");
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
    kt_status s = kt_dbi_check_name(op, fn, "op");
    if (s != KT_OK || db->version == 0)
        return s;
    sqlite3_stmt *st;
    s = kt_dbi_stmt_get(db, ST_MEASUREMENTS_LIST, &st);
    if (s != KT_OK)
        return s;

    kt_db_measurement *arr = NULL, row;
    size_t n = 0, cap = 0;
    int rc = bind_i64(st, 1, machine, SQLITE_OK);
    rc = bind_text(st, 2, op, rc);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        s = kt_dbi_measurement_read(db, st, &row);
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
        s = kt_dbi_fail_sql(db, rc, "listing measurements");
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
    kt_status s = kt_dbi_need_write(db, fn);
    if (s == KT_OK)
        s = kt_dbi_check_name(name, fn, "limit name");
    if (s == KT_OK && !isfinite(value))
        s = kt_fail(KT_EINVAL, "%s: %s is not a finite number", fn, name);
    sqlite3_stmt *st;
    if (s == KT_OK)
        s = kt_dbi_stmt_get(db, ST_LIMIT_PUT, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_i64(st, 1, machine, SQLITE_OK);
    rc = bind_text(st, 2, name, rc);
    rc = bind_real(st, 3, value, rc);
    return kt_dbi_step_done(db, st, rc, "storing a limit", NULL);
}

kt_status kt_db_limit_get(kt_db *db, int64_t machine, const char *name, double *value)
{
    static const char fn[] = "kt_db_limit_get";
    if (!db || !value)
        return kt_fail(KT_EINVAL, "%s: null argument", fn);
    *value = NAN;
    kt_status s = kt_dbi_check_name(name, fn, "limit name");
    if (s != KT_OK)
        return s;
    if (db->version == 0)
        return kt_fail(KT_ENOTFOUND, "%s: no limit %s (empty database)", db->path, name);
    sqlite3_stmt *st;
    s = kt_dbi_stmt_get(db, ST_LIMIT_GET, &st);
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
        s = kt_dbi_fail_sql(db, rc, "reading a limit");
    stmt_done(st);
    return s;
}
