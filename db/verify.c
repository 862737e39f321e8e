/*
 * ktune tuning database: verifications (schema 2), the check that ends a tuning run --
 * dispatch timed against each fixed variant at held-out sizes -- stored beside the run.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_db_int.h"

/* KT_EINVAL unless fixed is "" or a JSON object (checked by SQLite's json_type()). */
static kt_status check_fixed(kt_db *db, const char *fixed, const char *fn)
{
    if (!fixed[0])
        return KT_OK;
    sqlite3_stmt *st;
    kt_status s = kt_dbi_stmt_get(db, ST_JSON_OBJECT, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_text(st, 1, fixed, SQLITE_OK);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        s = kt_dbi_fail_sql(db, rc, "checking verification times");
    else if (sqlite3_column_int(st, 0) != 1)
        s = kt_fail(KT_EINVAL, "%s: fixed is not a JSON object: %.60s", fn, fixed);
    stmt_done(st);
    return s;
}

/* KT_EINVAL unless run exists and belongs to machine. */
static kt_status check_run(kt_db *db, int64_t machine, int64_t run, const char *fn)
{
    sqlite3_stmt *st;
    kt_status s = kt_dbi_stmt_get(db, ST_RUN_MACHINE, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_i64(st, 1, run, SQLITE_OK);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        s = kt_fail(KT_EINVAL, "%s: no run %lld", fn, (long long)run);
    else if (rc != SQLITE_ROW)
        s = kt_dbi_fail_sql(db, rc, "looking up a run");
    else if (sqlite3_column_int64(st, 0) != machine)
        s = kt_fail(KT_EINVAL, "%s: run %lld is not of machine %lld", fn, (long long)run,
                    (long long)machine);
    stmt_done(st);
    return s;
}

kt_status kt_dbi_verify_check(const kt_db_verify_row *row, const char *fn)
{
    kt_status s = kt_dbi_check_name(row->op, fn, "op");
    if (s == KT_OK)
        s = kt_dbi_check_name(row->dispatched, fn, "dispatched variant");
    if (s == KT_OK)
        s = kt_dbi_check_name(row->best, fn, "best variant");
    if (s == KT_OK)
        s = check_dims(row->m, row->n, row->k, fn);
    if (s == KT_OK && row->pass != 1 && row->pass != 2)
        s = kt_fail(KT_EINVAL, "%s: pass %d (1 or 2)", fn, row->pass);
    if (s == KT_OK && strnlen(row->fixed, sizeof row->fixed) >= sizeof row->fixed)
        s = kt_fail(KT_EINVAL, "%s: fixed times not terminated", fn);
    return s;
}

int kt_dbi_bind_verify(sqlite3_stmt *st, const kt_db_verify_row *row)
{
    int rc = bind_i64(st, 1, row->machine, SQLITE_OK);
    rc = bind_i64(st, 2, row->run, rc);
    rc = bind_text(st, 3, row->op, rc);
    rc = bind_dims(st, 4, row->m, row->n, row->k, rc);
    rc = bind_i64(st, 7, row->pass, rc);
    rc = bind_text(st, 8, row->dispatched, rc);
    rc = bind_real(st, 9, row->dispatched_s, rc);
    rc = bind_text(st, 10, row->best, rc);
    rc = bind_real(st, 11, row->best_s, rc);
    rc = bind_real(st, 12, row->ratio, rc);
    rc = bind_text(st, 13, row->fixed, rc);
    return bind_i64(st, 14, (int64_t)row->seed, rc); /* two's complement: read back alike */
}

kt_status kt_dbi_read_verify(const kt_db *db, sqlite3_stmt *st, void *out)
{
    kt_db_verify_row *r = out;
    r->machine = sqlite3_column_int64(st, 0);
    r->run = sqlite3_column_int64(st, 1);
    kt_status s = kt_dbi_col_text(db, st, 2, r->op, sizeof r->op);
    r->m = col_size(st, 3);
    r->n = col_size(st, 4);
    r->k = col_size(st, 5);
    r->pass = sqlite3_column_int(st, 6);
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 7, r->dispatched, sizeof r->dispatched);
    r->dispatched_s = col_real(st, 8);
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 9, r->best, sizeof r->best);
    r->best_s = col_real(st, 10);
    r->ratio = col_real(st, 11);
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 12, r->fixed, sizeof r->fixed);
    r->seed = (uint64_t)sqlite3_column_int64(st, 13);
    return s;
}

kt_status kt_db_verify_put(kt_db *db, const kt_db_verify_row *row)
{
    static const char fn[] = "kt_db_verify_put";
    kt_status s = kt_dbi_need_write(db, fn);
    if (s == KT_OK && !row)
        s = kt_fail(KT_EINVAL, "%s: no row", fn);
    if (s == KT_OK)
        s = kt_dbi_verify_check(row, fn);
    if (s == KT_OK)
        s = check_fixed(db, row->fixed, fn);
    if (s == KT_OK)
        s = check_run(db, row->machine, row->run, fn);
    sqlite3_stmt *st;
    if (s == KT_OK)
        s = kt_dbi_stmt_get(db, ST_VERIFY_PUT, &st);
    if (s != KT_OK)
        return s;
    /* One statement in autocommit mode: its own transaction. */
    return kt_dbi_step_done(db, st, kt_dbi_bind_verify(st, row), "storing a verification",
                            NULL);
}

/* The newest run of machine that has verification rows into *run (0: none). */
static kt_status newest_run(kt_db *db, int64_t machine, int64_t *run)
{
    sqlite3_stmt *st;
    kt_status s = kt_dbi_stmt_get(db, ST_VERIFY_NEWEST, &st);
    if (s != KT_OK)
        return s;
    *run = 0;
    int rc = bind_i64(st, 1, machine, SQLITE_OK);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *run = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        s = kt_dbi_fail_sql(db, rc, "finding the newest verified run");
    stmt_done(st);
    return s;
}

kt_status kt_db_verify_list(kt_db *db, int64_t machine, int64_t run, kt_db_verify_row **out,
                            size_t *count)
{
    static const char fn[] = "kt_db_verify_list";
    if (!db || !out || !count)
        return kt_fail(KT_EINVAL, "%s: null argument", fn);
    *out = NULL;
    *count = 0;
    if (db->version < 2)
        return KT_OK; /* an empty or version 1 file: no verifications */
    kt_status s = run ? KT_OK : newest_run(db, machine, &run);
    if (s != KT_OK || run == 0)
        return s;
    sqlite3_stmt *st;
    s = kt_dbi_stmt_get(db, ST_VERIFY_LIST, &st);
    if (s != KT_OK)
        return s;
    kt_db_verify_row *arr = NULL;
    size_t n = 0;
    int rc = bind_i64(st, 1, machine, SQLITE_OK);
    rc = bind_i64(st, 2, run, rc);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        kt_db_verify_row *r = kt_db_dump_grow((void **)&arr, &n, sizeof *arr);
        if (!r) {
            s = kt_fail(KT_ENOMEM, "%s: out of memory", fn);
            break;
        }
        s = kt_dbi_read_verify(db, st, r);
        if (s != KT_OK)
            break;
    }
    if (s == KT_OK && rc != SQLITE_DONE)
        s = kt_dbi_fail_sql(db, rc, "listing verifications");
    stmt_done(st);
    if (s != KT_OK) {
        free(arr);
        return s;
    }
    *out = arr;
    *count = n;
    return KT_OK;
}
