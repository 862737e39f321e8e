/*
 * ktune tuning database: profiles of real calls (schema 3: profile_runs, profile_calls,
 * profile_counters).  The library writes a process's profile at each flush; the tool
 * reads sessions, their calls and counters.  Statements are prepared per call: none of
 * this is on a hot path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_db_int.h"

/* Prepares sql on db; KT_EDB with SQLite's message on failure. */
static kt_status prepare(kt_db *db, const char *sql, sqlite3_stmt **st, const char *what) {
    int rc = sqlite3_prepare_v2(db->sql, sql, -1, st, NULL);
    return rc == SQLITE_OK ? KT_OK : kt_dbi_fail_sql(db, rc, what);
}

/* Steps st to its end (no rows wanted) and finalises it. */
static kt_status run_done(kt_db *db, sqlite3_stmt **st, int rc, const char *what) {
    if (rc == SQLITE_OK) rc = sqlite3_step(*st);
    kt_status s = rc == SQLITE_DONE ? KT_OK : kt_dbi_fail_sql(db, rc, what);
    sqlite3_finalize(*st);
    *st = NULL;
    return s;
}

kt_status kt_db_profile_write(kt_db *db, const char *fingerprint, const kt_db_prof_run *run,
                              const kt_db_prof_call *calls, size_t ncalls,
                              const kt_db_prof_counter *ctrs, size_t nctrs) {
    kt_status s = kt_dbi_need_write(db, "kt_db_profile_write");
    if (s != KT_OK) return s;
    if (!fingerprint || !*fingerprint || !run || (ncalls && !calls) || (nctrs && !ctrs))
        return kt_fail(KT_EINVAL, "kt_db_profile_write: missing argument");
    for (size_t i = 0; i < ncalls; i++)
        if ((s = check_dims(calls[i].m, calls[i].n, calls[i].k, "kt_db_profile_write")) != KT_OK)
            return s;
    s = kt_dbi_exec(db, "BEGIN IMMEDIATE", "storing a profile");
    if (s != KT_OK) return s;
    sqlite3_stmt *st = NULL;
    int64_t machine = 0, id = 0;
    s = prepare(db, "INSERT OR IGNORE INTO machines (fingerprint) VALUES (?1)", &st,
                "storing a profile's machine");
    if (s == KT_OK) s = run_done(db, &st, bind_text(st, 1, fingerprint, SQLITE_OK), "storing a profile's machine");
    if (s == KT_OK) s = kt_db_machine_find(db, fingerprint, &machine);
    if (s == KT_OK)
        s = prepare(db,
                    "INSERT INTO profile_runs (machine, program, args, args_hash, session, pid, "
                    "started, status, ktune_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                    "ON CONFLICT (machine, session, pid, started) DO UPDATE SET "
                    "flushed = strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), status = excluded.status "
                    "RETURNING id",
                    &st, "storing a profile run");
    if (s == KT_OK) {
        int rc = bind_i64(st, 1, machine, SQLITE_OK);
        rc = bind_text(st, 2, run->program, rc);
        rc = bind_text(st, 3, run->args, rc);
        rc = bind_text(st, 4, run->args_hash, rc);
        rc = bind_text(st, 5, run->session, rc);
        rc = bind_i64(st, 6, run->pid, rc);
        rc = bind_text(st, 7, run->started, rc);
        rc = bind_text(st, 8, run->complete ? "complete" : "running", rc);
        rc = bind_text(st, 9, run->ktune_version, rc);
        if (rc == SQLITE_OK) rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            id = sqlite3_column_int64(st, 0);
            rc = sqlite3_step(st);
        }
        s = rc == SQLITE_DONE && id ? KT_OK : kt_dbi_fail_sql(db, rc, "storing a profile run");
        sqlite3_finalize(st);
        st = NULL;
    }
    if (s == KT_OK) s = prepare(db, "DELETE FROM profile_calls WHERE run = ?1", &st, "replacing a profile");
    if (s == KT_OK) s = run_done(db, &st, bind_i64(st, 1, id, SQLITE_OK), "replacing a profile");
    if (s == KT_OK) s = prepare(db, "DELETE FROM profile_counters WHERE run = ?1", &st, "replacing a profile");
    if (s == KT_OK) s = run_done(db, &st, bind_i64(st, 1, id, SQLITE_OK), "replacing a profile");
    if (s == KT_OK)
        s = prepare(db,
                    "INSERT INTO profile_calls (run, op, m, n, k, bucket, variant, version, calls, "
                    "timed, timed_s, total_s) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                    "?11, ?12)",
                    &st, "storing profiled calls");
    for (size_t i = 0; s == KT_OK && i < ncalls; i++) {
        const kt_db_prof_call *c = &calls[i];
        int rc = bind_i64(st, 1, id, SQLITE_OK);
        rc = bind_text(st, 2, c->op, rc);
        rc = bind_dims(st, 3, c->m, c->n, c->k, rc);
        rc = bind_i64(st, 6, c->bucket, rc);
        rc = bind_text(st, 7, c->variant, rc);
        rc = bind_i64(st, 8, c->version, rc);
        rc = bind_i64(st, 9, c->calls, rc);
        rc = bind_i64(st, 10, c->timed, rc);
        rc = bind_real(st, 11, c->timed_s, rc);
        rc = bind_real(st, 12, c->total_s, rc);
        if (rc == SQLITE_OK) rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) s = kt_dbi_fail_sql(db, rc, "storing profiled calls");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (st) sqlite3_finalize(st);
    st = NULL;
    if (s == KT_OK)
        s = prepare(db, "INSERT INTO profile_counters (run, op, counter, count) "
                        "VALUES (?1, ?2, ?3, ?4)", &st, "storing dispatch counters");
    for (size_t i = 0; s == KT_OK && i < nctrs; i++) {
        int rc = bind_i64(st, 1, id, SQLITE_OK);
        rc = bind_text(st, 2, ctrs[i].op, rc);
        rc = bind_text(st, 3, ctrs[i].counter, rc);
        rc = bind_i64(st, 4, ctrs[i].count, rc);
        if (rc == SQLITE_OK) rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) s = kt_dbi_fail_sql(db, rc, "storing dispatch counters");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (st) sqlite3_finalize(st);
    if (s == KT_OK) s = kt_dbi_exec(db, "COMMIT", "storing a profile");
    if (s != KT_OK) kt_dbi_rollback(db);
    return s;
}

/* Whether the file has the profile tables (schema 3 or later). */
static int has_profiles(const kt_db *db) { return kt_db_version(db) >= 3; }

/* Runs a query and collects its rows through read into a malloc'ed array. */
static kt_status collect(kt_db *db, sqlite3_stmt *st, int rc, size_t elem,
                         void (*read)(sqlite3_stmt *st, void *row), void **out, size_t *count,
                         const char *what) {
    *out = NULL, *count = 0;
    size_t cap = 0;
    char *rows = NULL;
    kt_status s = KT_OK;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*count == cap) {
            cap = cap ? 2 * cap : 16;
            char *g = realloc(rows, cap * elem);
            if (!g) {
                s = kt_fail(KT_ENOMEM, "%s: out of memory", what);
                break;
            }
            rows = g;
        }
        memset(rows + *count * elem, 0, elem);
        read(st, rows + (*count)++ * elem);
        rc = SQLITE_OK;
    }
    if (s == KT_OK && rc != SQLITE_DONE) s = kt_dbi_fail_sql(db, rc, what);
    sqlite3_finalize(st);
    if (s != KT_OK) {
        free(rows);
        *count = 0;
        return s;
    }
    *out = rows;
    return KT_OK;
}

static void text(sqlite3_stmt *st, int i, char *dst, size_t len) {
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(dst, len, "%s", t ? (const char *)t : "");
}

static void read_session(sqlite3_stmt *st, void *row) {
    kt_db_prof_run *r = row;
    r->id = sqlite3_column_int64(st, 0);
    text(st, 1, r->fingerprint, sizeof r->fingerprint);
    text(st, 2, r->program, sizeof r->program);
    text(st, 3, r->args, sizeof r->args);
    text(st, 4, r->args_hash, sizeof r->args_hash);
    text(st, 5, r->session, sizeof r->session);
    r->pid = sqlite3_column_int64(st, 6);
    text(st, 7, r->started, sizeof r->started);
    text(st, 8, r->flushed, sizeof r->flushed);
    text(st, 9, r->ktune_version, sizeof r->ktune_version);
    r->complete = sqlite3_column_int(st, 10);
    r->processes = sqlite3_column_int(st, 11);
}

kt_status kt_db_profile_sessions(kt_db *db, const char *program, kt_db_prof_run **out,
                                 size_t *count) {
    if (!db || !out || !count) return kt_fail(KT_EINVAL, "kt_db_profile_sessions: NULL argument");
    *out = NULL, *count = 0;
    if (!has_profiles(db)) return KT_OK;
    sqlite3_stmt *st;
    kt_status s = prepare(
        db,
        "WITH first AS (SELECT r.*, row_number() OVER (PARTITION BY session ORDER BY started, "
        "id) AS nr, count(*) OVER (PARTITION BY session) AS procs, min(r.status = 'complete') "
        "OVER (PARTITION BY session) AS done, max(flushed) OVER (PARTITION BY session) AS fl "
        "FROM profile_runs AS r) "
        "SELECT f.id, ma.fingerprint, f.program, f.args, f.args_hash, f.session, f.pid, "
        "f.started, f.fl, f.ktune_version, f.done, f.procs FROM first AS f "
        "JOIN machines AS ma ON ma.id = f.machine WHERE f.nr = 1 AND (?1 IS NULL OR "
        "f.program = ?1 OR f.program LIKE '%/' || ?1) ORDER BY f.started DESC, f.id DESC",
        &st, "reading profile sessions");
    if (s != KT_OK) return s;
    return collect(db, st, bind_text(st, 1, program, SQLITE_OK), sizeof **out, read_session,
                   (void **)out, count, "reading profile sessions");
}

static void read_call(sqlite3_stmt *st, void *row) {
    kt_db_prof_call *c = row;
    text(st, 0, c->op, sizeof c->op);
    c->m = col_size(st, 1), c->n = col_size(st, 2), c->k = col_size(st, 3);
    c->bucket = sqlite3_column_int(st, 4);
    text(st, 5, c->variant, sizeof c->variant);
    c->version = col_unsigned(st, 6);
    c->calls = sqlite3_column_int64(st, 7);
    c->timed = sqlite3_column_int64(st, 8);
    c->timed_s = sqlite3_column_double(st, 9);
    c->total_s = sqlite3_column_double(st, 10);
}

kt_status kt_db_profile_calls(kt_db *db, const char *session, kt_db_prof_call **out,
                              size_t *count) {
    if (!db || !session || !out || !count)
        return kt_fail(KT_EINVAL, "kt_db_profile_calls: NULL argument");
    *out = NULL, *count = 0;
    if (!has_profiles(db)) return KT_OK;
    sqlite3_stmt *st;
    kt_status s = prepare(db,
                          "SELECT c.op, c.m, c.n, c.k, c.bucket, c.variant, c.version, "
                          "sum(c.calls), sum(c.timed), sum(c.timed_s), sum(c.total_s) "
                          "FROM profile_calls AS c JOIN profile_runs AS r ON r.id = c.run "
                          "WHERE r.session = ?1 GROUP BY c.op, c.m, c.n, c.k, c.bucket, "
                          "c.variant, c.version ORDER BY sum(c.total_s) DESC, c.op, c.m, c.n, "
                          "c.k",
                          &st, "reading profiled calls");
    if (s != KT_OK) return s;
    return collect(db, st, bind_text(st, 1, session, SQLITE_OK), sizeof **out, read_call,
                   (void **)out, count, "reading profiled calls");
}

static void read_counter(sqlite3_stmt *st, void *row) {
    kt_db_prof_counter *c = row;
    text(st, 0, c->op, sizeof c->op);
    text(st, 1, c->counter, sizeof c->counter);
    c->count = sqlite3_column_int64(st, 2);
}

kt_status kt_db_profile_counters(kt_db *db, const char *session, kt_db_prof_counter **out,
                                 size_t *count) {
    if (!db || !session || !out || !count)
        return kt_fail(KT_EINVAL, "kt_db_profile_counters: NULL argument");
    *out = NULL, *count = 0;
    if (!has_profiles(db)) return KT_OK;
    sqlite3_stmt *st;
    kt_status s = prepare(db,
                          "SELECT c.op, c.counter, sum(c.count) FROM profile_counters AS c "
                          "JOIN profile_runs AS r ON r.id = c.run WHERE r.session = ?1 "
                          "GROUP BY c.op, c.counter ORDER BY c.op, c.counter",
                          &st, "reading dispatch counters");
    if (s != KT_OK) return s;
    return collect(db, st, bind_text(st, 1, session, SQLITE_OK), sizeof **out, read_counter,
                   (void **)out, count, "reading dispatch counters");
}
