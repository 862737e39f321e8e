/*
 * ktune tuning database: choices, replaced per (machine, op) in one transaction and
 * loaded by the library for dispatch.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_db_int.h"

/* ---- Choices ------------------------------------------------------------ */

/* The decisions a choice may carry (db/migrate-0002.sql). */
static const char *const decisions[] = {"resolved", "tie", "unresolved", "merged", "single",
                                        ""};

kt_status kt_dbi_choice_check(const kt_db_choice *c, const char *fn)
{
    if (strnlen(c->decision, sizeof c->decision) < sizeof c->decision)
        for (size_t i = 0; i < sizeof decisions / sizeof decisions[0]; i++)
            if (strcmp(c->decision, decisions[i]) == 0)
                return KT_OK;
    return kt_fail(KT_EINVAL, "%s: unknown decision '%.15s' for %s (resolved, tie, "
                   "unresolved, merged, single or empty)", fn, c->decision, c->variant);
}

int kt_dbi_bind_choice(sqlite3_stmt *st, int64_t machine, const char *op, int64_t run,
                       const kt_db_choice *c)
{
    int rc = bind_i64(st, 1, machine, SQLITE_OK);
    rc = bind_text(st, 2, op, rc);
    rc = bind_dims(st, 3, c->m, c->n, c->k, rc);
    rc = bind_i64(st, 6, c->rank, rc);
    rc = bind_text(st, 7, c->variant, rc);
    rc = bind_i64(st, 8, c->version, rc);
    rc = bind_real(st, 9, c->median_s, rc);
    rc = bind_real(st, 10, c->margin, rc);
    rc = bind_id(st, 11, run, rc);
    rc = bind_real(st, 12, c->ci_lo, rc);
    rc = bind_real(st, 13, c->ci_hi, rc);
    return bind_text(st, 14, c->decision, rc);
}

kt_status kt_db_choices_replace(kt_db *db, int64_t machine, const char *op, int64_t run,
                                const kt_db_choice *choices, size_t count)
{
    static const char fn[] = "kt_db_choices_replace";
    kt_status s = kt_dbi_need_write(db, fn);
    if (s == KT_OK)
        s = kt_dbi_check_name(op, fn, "op");
    if (s == KT_OK && count > 0 && !choices)
        s = kt_fail(KT_EINVAL, "%s: no choices", fn);
    for (size_t i = 0; s == KT_OK && i < count; i++) {
        s = kt_dbi_check_name(choices[i].variant, fn, "variant name");
        if (s == KT_OK)
            s = check_dims(choices[i].m, choices[i].n, choices[i].k, fn);
        if (s == KT_OK)
            s = kt_dbi_choice_check(&choices[i], fn);
    }
    if (s != KT_OK)
        return s;

    sqlite3_stmt *del, *ins;
    s = kt_dbi_stmt_get(db, ST_CHOICES_DELETE, &del);
    if (s == KT_OK)
        s = kt_dbi_stmt_get(db, ST_CHOICE_INSERT, &ins);
    if (s == KT_OK)
        s = kt_dbi_exec(db, "BEGIN IMMEDIATE", "replacing choices");
    if (s != KT_OK)
        return s;
    int rc = bind_i64(del, 1, machine, SQLITE_OK);
    rc = bind_text(del, 2, op, rc);
    s = kt_dbi_step_done(db, del, rc, "replacing choices", NULL);
    for (size_t i = 0; s == KT_OK && i < count; i++) {
        rc = kt_dbi_bind_choice(ins, machine, op, run, &choices[i]);
        s = kt_dbi_step_done(db, ins, rc, "storing a choice", NULL);
    }
    if (s == KT_OK)
        s = kt_dbi_exec(db, "COMMIT", "replacing choices");
    if (s != KT_OK)
        kt_dbi_rollback(db);
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
    kt_status s = kt_dbi_check_name(op, fn, "op");
    if (s != KT_OK || db->version == 0)
        return s;
    sqlite3_stmt *st;
    s = kt_dbi_stmt_get(db, ST_CHOICES_LOAD, &st);
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
        s = kt_dbi_col_text(db, st, 4, c->variant, sizeof c->variant);
        c->version = col_unsigned(st, 5);
        c->median_s = col_real(st, 6);
        c->margin = col_real(st, 7);
        c->ci_lo = col_real(st, 8);
        c->ci_hi = col_real(st, 9);
        if (s == KT_OK)
            s = kt_dbi_col_text(db, st, 10, c->decision, sizeof c->decision);
        if (s != KT_OK)
            break;
    }
    if (s == KT_OK && rc != SQLITE_DONE)
        s = kt_dbi_fail_sql(db, rc, "loading choices");
    stmt_done(st);
    if (s != KT_OK) {
        free(arr);
        return s;
    }
    *out = arr;
    *count = n;
    return KT_OK;
}
