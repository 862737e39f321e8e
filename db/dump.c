/*
 * ktune tuning database: reading (part of) a database into a kt_db_dump for show,
 * explain, report and export, the row readers those reads share with merging, and
 * single-run lookup.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stddef.h>

#include "kt_db_int.h"

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
    free(d->verifications);
    memset(d, 0, sizeof *d);
}

/* Copies text column i into a new string (*out; "" for NULL). */
kt_status kt_dbi_col_strdup(const kt_db *db, sqlite3_stmt *st, int i, char **out)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    if (!s && sqlite3_column_type(st, i) != SQLITE_NULL)
        return kt_dbi_fail_sql(db, SQLITE_NOMEM, "reading a row");
    *out = strdup(s ? (const char *)s : "");
    return *out ? KT_OK : kt_fail(KT_ENOMEM, "%s: out of memory", db->path);
}

kt_status kt_dbi_read_machine(const kt_db *db, sqlite3_stmt *st, void *row)
{
    kt_db_machine_row *r = row;
    r->id = sqlite3_column_int64(st, 0);
    kt_status s = kt_dbi_col_text(db, st, 1, r->fingerprint, sizeof r->fingerprint);
    if (s == KT_OK)
        s = kt_dbi_col_strdup(db, st, 2, &r->details);
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 3, r->first_seen, sizeof r->first_seen);
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 4, r->last_seen, sizeof r->last_seen);
    return s;
}

kt_status kt_dbi_read_run(const kt_db *db, sqlite3_stmt *st, void *row)
{
    kt_db_run_row *r = row;
    r->id = sqlite3_column_int64(st, 0);
    r->machine = sqlite3_column_int64(st, 1);
    kt_status s = kt_dbi_col_text(db, st, 2, r->started, sizeof r->started);
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 3, r->ended, sizeof r->ended);
    if (s == KT_OK)
        s = kt_dbi_col_strdup(db, st, 4, &r->options);
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 5, r->status, sizeof r->status);
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 6, r->ktune_version, sizeof r->ktune_version);
    r->pid = sqlite3_column_int64(st, 7);
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 8, r->host, sizeof r->host);
    return s;
}

static kt_status read_variant(const kt_db *db, sqlite3_stmt *st, void *row)
{
    kt_db_variant_row *r = row;
    kt_status s = kt_dbi_col_text(db, st, 0, r->op, sizeof r->op);
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 1, r->name, sizeof r->name);
    r->version = col_unsigned(st, 2);
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 3, r->backend, sizeof r->backend);
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 4, r->params, sizeof r->params);
    return s;
}

static kt_status read_measurement(const kt_db *db, sqlite3_stmt *st, void *row)
{
    return kt_dbi_measurement_read(db, st, row);
}

kt_status kt_dbi_read_choice(const kt_db *db, sqlite3_stmt *st, void *row)
{
    kt_db_choice_row *r = row;
    r->machine = sqlite3_column_int64(st, 0);
    kt_status s = kt_dbi_col_text(db, st, 1, r->op, sizeof r->op);
    r->c.m = col_size(st, 2);
    r->c.n = col_size(st, 3);
    r->c.k = col_size(st, 4);
    r->c.rank = sqlite3_column_int(st, 5);
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 6, r->c.variant, sizeof r->c.variant);
    r->c.version = col_unsigned(st, 7);
    r->c.median_s = col_real(st, 8);
    r->c.margin = col_real(st, 9);
    r->run = sqlite3_column_int64(st, 10);
    r->c.ci_lo = col_real(st, 11);
    r->c.ci_hi = col_real(st, 12);
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 13, r->c.decision, sizeof r->c.decision);
    return s;
}

kt_status kt_dbi_read_limit(const kt_db *db, sqlite3_stmt *st, void *row)
{
    kt_db_limit_row *r = row;
    r->machine = sqlite3_column_int64(st, 0);
    kt_status s = kt_dbi_col_text(db, st, 1, r->name, sizeof r->name);
    r->value = col_real(st, 2);
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 3, r->measured_at, sizeof r->measured_at);
    return s;
}

kt_status kt_dbi_read_profile(const kt_db *db, sqlite3_stmt *st, void *row)
{
    kt_db_profile_row *r = row;
    r->machine = sqlite3_column_int64(st, 0);
    kt_status s = kt_dbi_col_text(db, st, 1, r->op, sizeof r->op);
    r->m = col_size(st, 2);
    r->n = col_size(st, 3);
    r->k = col_size(st, 4);
    r->calls = sqlite3_column_int64(st, 5);
    r->total_s = col_real(st, 6);
    if (s == KT_OK)
        s = kt_dbi_col_text(db, st, 7, r->updated, sizeof r->updated);
    return s;
}

/*
 * Runs statement id (with ?1 bound to machine unless it is 0) and appends every row to
 * *array (elem bytes each, *count of them) through read.  On failure the rows read so far
 * stay in *array, for the caller to free.
 */
static kt_status read_rows(kt_db *db, enum stmt_id id, int64_t machine, void **array,
                           size_t *count, size_t elem, row_reader read, const char *what)
{
    sqlite3_stmt *st;
    kt_status s = kt_dbi_stmt_get(db, id, &st);
    if (s != KT_OK)
        return s;
    int rc = machine ? bind_i64(st, 1, machine, SQLITE_OK) : SQLITE_OK;
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
        s = kt_dbi_fail_sql(db, rc, what);
    stmt_done(st);
    return s;
}

/* The tables of a dump besides machines: where their rows go and how they are read. */
typedef struct dump_table {
    unsigned bit;            /* KT_DB_DUMP_* */
    enum stmt_id all, one;   /* every machine's rows; one machine's (?1) */
    size_t array, count;     /* offsets in kt_db_dump */
    size_t elem;
    row_reader read;
    int since;               /* the schema version that brought the table */
    const char *what;
} dump_table;

#define DUMP_TABLE(bit, st, field, read, since, what)                                     \
    {bit, st##_ALL, st, offsetof(kt_db_dump, field), offsetof(kt_db_dump, n##field),       \
     sizeof(*((kt_db_dump *)0)->field), read, since, what}

static const dump_table dump_tables[] = {
    DUMP_TABLE(KT_DB_DUMP_RUNS, ST_DUMP_RUNS, runs, kt_dbi_read_run, 1, "reading runs"),
    DUMP_TABLE(KT_DB_DUMP_VARIANTS, ST_DUMP_VARIANTS, variants, read_variant, 1,
               "reading variants"),
    DUMP_TABLE(KT_DB_DUMP_MEASUREMENTS, ST_DUMP_MEASUREMENTS, measurements, read_measurement,
               1, "reading measurements"),
    DUMP_TABLE(KT_DB_DUMP_CHOICES, ST_DUMP_CHOICES, choices, kt_dbi_read_choice, 1,
               "reading choices"),
    DUMP_TABLE(KT_DB_DUMP_LIMITS, ST_DUMP_LIMITS, limits, kt_dbi_read_limit, 1,
               "reading limits"),
    DUMP_TABLE(KT_DB_DUMP_PROFILES, ST_DUMP_PROFILES, profiles, kt_dbi_read_profile, 1,
               "reading profiled calls"),
    DUMP_TABLE(KT_DB_DUMP_VERIFY, ST_DUMP_VERIFY, verifications, kt_dbi_read_verify, 2,
               "reading verifications"),
};

/*
 * Reads the tables named by what into *out: every machine's rows (machine 0), or those of
 * the machine with this id.
 */
static kt_status read_tables(kt_db *db, int64_t machine, unsigned what, kt_db_dump *out)
{
    kt_status s = KT_OK;
    for (size_t i = 0; s == KT_OK && i < sizeof dump_tables / sizeof dump_tables[0]; i++) {
        const dump_table *t = &dump_tables[i];
        if (!(what & t->bit) || db->version < t->since)
            continue;
        s = read_rows(db, machine ? t->one : t->all, machine,
                      (void **)((char *)out + t->array), (size_t *)((char *)out + t->count),
                      t->elem, t->read, t->what);
    }
    return s;
}

/*
 * Reads the machine rows of the dump: all of them (fingerprint NULL), or the one with
 * this fingerprint (none when it is unknown).
 */
static kt_status read_machines(kt_db *db, const char *fingerprint, kt_db_dump *out)
{
    if (!fingerprint)
        return read_rows(db, ST_DUMP_MACHINES_ALL, 0, (void **)&out->machines,
                         &out->nmachines, sizeof *out->machines, kt_dbi_read_machine,
                         "reading machines");
    sqlite3_stmt *st;
    kt_status s = kt_dbi_stmt_get(db, ST_MACHINE_GET, &st);
    if (s != KT_OK)
        return s;
    kt_db_machine_row row = {0};
    int found;
    s = kt_dbi_read_one(db, st, bind_text(st, 1, fingerprint, SQLITE_OK), &row,
                        kt_dbi_read_machine, &found, "reading a machine");
    if (s == KT_OK && found) {
        kt_db_machine_row *r = kt_db_dump_grow((void **)&out->machines, &out->nmachines,
                                               sizeof *r);
        if (r)
            *r = row;
        else
            s = kt_fail(KT_ENOMEM, "%s: reading a machine: out of memory", db->path);
    }
    if (s != KT_OK || !found)
        free(row.details);
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
    kt_status s = kt_dbi_exec(db, "BEGIN", "reading the database");
    if (s != KT_OK)
        return s;
    s = read_machines(db, fingerprint, out);
    if (s == KT_OK && (!fingerprint || out->nmachines == 1))
        s = read_tables(db, fingerprint ? out->machines[0].id : 0, what, out);
    if (s == KT_OK)
        s = kt_dbi_exec(db, "COMMIT", "reading the database");
    if (s != KT_OK) {
        kt_dbi_rollback(db);
        kt_db_dump_free(out);
    }
    return s;
}

kt_status kt_db_dump_stream(kt_db *db, const char *fingerprint, unsigned what,
                            kt_status (*fn)(void *ctx, const kt_db_dump *part, int head),
                            void *ctx)
{
    if (!db || !fn)
        return kt_fail(KT_EINVAL, "kt_db_dump_stream: null argument");
    kt_db_dump head = {0}, part = {0};
    kt_status s = KT_OK;
    int open = 0;
    if (db->version > 0) {
        s = kt_dbi_exec(db, "BEGIN", "reading the database");
        open = s == KT_OK;
        if (s == KT_OK)
            s = read_machines(db, fingerprint, &head);
        if (s == KT_OK && (what & KT_DB_DUMP_VARIANTS) && (!fingerprint || head.nmachines))
            s = read_tables(db, fingerprint ? head.machines[0].id : 0, KT_DB_DUMP_VARIANTS,
                            &head);
    }
    if (s == KT_OK)
        s = fn(ctx, &head, 1);
    for (size_t i = 0; s == KT_OK && i < head.nmachines; i++) {
        part.machines = &head.machines[i];
        part.nmachines = 1;
        s = read_tables(db, head.machines[i].id, what & ~(unsigned)KT_DB_DUMP_VARIANTS, &part);
        if (s == KT_OK)
            s = fn(ctx, &part, 0);
        part.machines = NULL; /* owned by head */
        part.nmachines = 0;
        kt_db_dump_free(&part);
    }
    if (s == KT_OK && open)
        s = kt_dbi_exec(db, "COMMIT", "reading the database");
    if (s != KT_OK && open)
        kt_dbi_rollback(db);
    kt_db_dump_free(&head);
    return s;
}

/*
 * Runs statement id, whose parameters the caller bound (rc: the binds' result), and
 * reads its first row through read.  *found says whether there was one.
 */
kt_status kt_dbi_read_one(kt_db *db, sqlite3_stmt *st, int rc, void *row, row_reader read,
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
        s = kt_dbi_fail_sql(db, rc, what);
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
    kt_status s = kt_dbi_stmt_get(db, ST_RUN_GET, &st);
    if (s != KT_OK)
        return s;
    int found;
    s = kt_dbi_read_one(db, st, bind_i64(st, 1, id, SQLITE_OK), out, kt_dbi_read_run, &found,
                 "reading a run");
    if (s == KT_OK && !found)
        s = kt_fail(KT_ENOTFOUND, "%s: no run %lld", db->path, (long long)id);
    if (s != KT_OK) {
        free(out->options);
        out->options = NULL;
    }
    return s;
}
