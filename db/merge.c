/*
 * ktune tuning database: merging a dump (an imported file, another database) into a
 * database, row by natural key, with the precedence rules of kt_db_merge() in kt_db.h.
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
static void keyf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
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
        s = kt_dbi_stmt_get(db, ST_MACHINE_GET, &st);
        if (s == KT_OK)
            s = kt_dbi_read_one(db, st, bind_text(st, 1, in->fingerprint, SQLITE_OK), &ex,
                         kt_dbi_read_machine, &found, "looking up a machine");
        if (s == KT_OK && !found) {
            s = kt_dbi_stmt_get(db, ST_MACHINE_INSERT, &st);
            if (s == KT_OK) {
                int rc = bind_text(st, 1, in->fingerprint, SQLITE_OK);
                rc = bind_text(st, 2, details, rc);
                rc = bind_text(st, 3, in->first_seen, rc);
                rc = bind_text(st, 4, in->last_seen, rc);
                s = kt_dbi_step_done(db, st, rc, "adding a machine", NULL);
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
                s = kt_dbi_stmt_get(db, ST_MACHINE_UPDATE, &st);
                if (s == KT_OK) {
                    int rc = bind_i64(st, 1, ex.id, SQLITE_OK);
                    rc = bind_text(st, 2, det, rc);
                    rc = bind_text(st, 3, first, rc);
                    rc = bind_text(st, 4, last, rc);
                    s = kt_dbi_step_done(db, st, rc, "updating a machine", NULL);
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
        s = kt_dbi_check_name(in->op, "merge", "op");
        if (s == KT_OK)
            s = kt_dbi_check_name(in->name, "merge", "variant name");
        if (s == KT_OK && !in->backend[0])
            s = kt_fail(KT_EINVAL, "merge: variant %s/%s has no backend", in->op, in->name);
        kt_db_variant_row ex = {0};
        sqlite3_stmt *st;
        int found = 0;
        if (s == KT_OK)
            s = kt_dbi_stmt_get(db, ST_VARIANT_GET, &st);
        if (s == KT_OK) {
            int rc = bind_text(st, 1, in->op, SQLITE_OK);
            rc = bind_text(st, 2, in->name, rc);
            rc = bind_i64(st, 3, in->version, rc);
            if (rc == SQLITE_OK)
                rc = sqlite3_step(st);
            if (rc == SQLITE_ROW) {
                found = 1;
                s = kt_dbi_col_text(db, st, 0, ex.backend, sizeof ex.backend);
                if (s == KT_OK)
                    s = kt_dbi_col_text(db, st, 1, ex.params, sizeof ex.params);
            } else if (rc != SQLITE_DONE) {
                s = kt_dbi_fail_sql(db, rc, "looking up a variant");
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
            s = kt_dbi_stmt_get(db, ST_RUN_FIND, &st);
        if (s == KT_OK) {
            int rc = bind_i64(st, 1, machine, SQLITE_OK);
            rc = bind_text(st, 2, in->started, rc);
            rc = bind_text(st, 3, in->host, rc);
            rc = bind_i64(st, 4, in->pid, rc);
            s = kt_dbi_read_one(db, st, rc, &ex, kt_dbi_read_run, &found, "looking up a run");
        }
        if (s == KT_OK && !found) {
            s = kt_dbi_stmt_get(db, ST_RUN_INSERT, &st);
            if (s == KT_OK) {
                int rc = bind_i64(st, 1, machine, SQLITE_OK);
                rc = bind_text(st, 2, in->started, rc);
                rc = bind_text_opt(st, 3, in->ended, rc);
                rc = bind_text(st, 4, in->options ? in->options : "", rc);
                rc = bind_text(st, 5, in->status, rc);
                rc = bind_text(st, 6, in->ktune_version, rc);
                rc = bind_i64(st, 7, in->pid, rc);
                rc = bind_text(st, 8, in->host, rc);
                s = kt_dbi_step_done(db, st, rc, "adding a run", NULL);
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
                    s = kt_dbi_stmt_get(db, ST_RUN_UPDATE, &st);
                    if (s == KT_OK) {
                        int rc = bind_i64(st, 1, ex.id, SQLITE_OK);
                        rc = bind_text(st, 2, in->status, rc);
                        rc = bind_text_opt(st, 3, in->ended, rc);
                        s = kt_dbi_step_done(db, st, rc, "updating a run", NULL);
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
    if ((c = (a->batch > b->batch) - (a->batch < b->batch)) != 0)
        return c;
    if ((c = a->nrounds - b->nrounds) != 0)
        return c;
    for (int r = 0; r < a->nrounds && r < KT_DB_MAX_ROUNDS; r++)
        if ((c = cmp_real(a->rounds[r], b->rounds[r])) != 0)
            return c;
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
    kt_status s = kt_dbi_measurement_check_key(me, fn);
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
        s = kt_dbi_stmt_get(db, ST_MEASUREMENT_IMPORT, &st);
    if (s != KT_OK)
        return s;
    int rc = kt_dbi_bind_measurement(st, me);
    rc = bind_text(st, 20, me->measured_at, rc);
    return kt_dbi_step_done(db, st, rc, "storing a measurement", NULL);
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
        s = kt_dbi_measurement_check_key(&in, "merge");
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
           same_real(a->c.ci_lo, b->c.ci_lo) && same_real(a->c.ci_hi, b->c.ci_hi) &&
           !strcmp(a->c.decision, b->c.decision) && a->run == b->run;
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
        if (!c)
            c = cmp_real(x->ci_lo, y->ci_lo);
        if (!c)
            c = cmp_real(x->ci_hi, y->ci_hi);
        if (!c)
            c = strcmp(x->decision, y->decision);
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
    kt_status s = kt_dbi_stmt_get(db, ST_CHOICES_DELETE, &del);
    if (s == KT_OK)
        s = kt_dbi_stmt_get(db, ST_CHOICE_INSERT, &ins);
    if (s != KT_OK)
        return s;
    int rc = bind_i64(del, 1, machine, SQLITE_OK);
    rc = bind_text(del, 2, op, rc);
    s = kt_dbi_step_done(db, del, rc, "replacing choices", NULL);
    for (size_t i = 0; s == KT_OK && i < n; i++) {
        const kt_db_choice *c = &rows[i].c;
        s = kt_dbi_check_name(c->variant, "merge", "variant name");
        if (s == KT_OK && isnan(c->median_s))
            s = kt_fail(KT_EINVAL, "merge: a choice of %s has no median", op);
        if (s == KT_OK)
            s = check_dims(c->m, c->n, c->k, "merge");
        if (s == KT_OK)
            s = kt_dbi_choice_check(c, "merge");
        if (s != KT_OK)
            break;
        rc = kt_dbi_bind_choice(ins, machine, op, rows[i].run, c);
        s = kt_dbi_step_done(db, ins, rc, "storing a choice", NULL);
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
    kt_status s = kt_dbi_check_name(op, "merge", "op");
    if (s == KT_OK)
        s = kt_dbi_stmt_get(db, ST_CHOICES_GET, &st);
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
            s = kt_dbi_read_choice(db, st, r);
            if (s != KT_OK)
                break;
        }
        if (s == KT_OK && rc != SQLITE_DONE)
            s = kt_dbi_fail_sql(db, rc, "reading choices");
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
            s = kt_dbi_check_name(in.name, "merge", "limit name");
        if (s == KT_OK && (!isfinite(in.value) || !in.measured_at[0]))
            s = kt_fail(KT_EINVAL, "merge: limit %s has no finite value or no time", in.name);
        sqlite3_stmt *st;
        int found = 0;
        if (s == KT_OK)
            s = kt_dbi_stmt_get(db, ST_LIMIT_ROW_GET, &st);
        if (s == KT_OK) {
            int rc = bind_i64(st, 1, in.machine, SQLITE_OK);
            rc = bind_text(st, 2, in.name, rc);
            s = kt_dbi_read_one(db, st, rc, &ex, kt_dbi_read_limit, &found, "reading a limit");
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
        s = kt_dbi_stmt_get(db, ST_LIMIT_IMPORT, &st);
        if (s == KT_OK) {
            int rc = bind_i64(st, 1, in.machine, SQLITE_OK);
            rc = bind_text(st, 2, in.name, rc);
            rc = bind_real(st, 3, in.value, rc);
            rc = bind_text(st, 4, in.measured_at, rc);
            s = kt_dbi_step_done(db, st, rc, "storing a limit", NULL);
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
            s = kt_dbi_check_name(in.op, "merge", "op");
        if (s == KT_OK)
            s = check_dims(in.m, in.n, in.k, "merge");
        if (s == KT_OK && (in.calls < 0 || !isfinite(in.total_s) || !in.updated[0]))
            s = kt_fail(KT_EINVAL, "merge: a profiled call of %s is malformed", in.op);
        sqlite3_stmt *st;
        int found = 0;
        if (s == KT_OK)
            s = kt_dbi_stmt_get(db, ST_PROFILE_GET, &st);
        if (s == KT_OK) {
            int rc = bind_i64(st, 1, in.machine, SQLITE_OK);
            rc = bind_text(st, 2, in.op, rc);
            rc = bind_dims(st, 3, in.m, in.n, in.k, rc);
            s = kt_dbi_read_one(db, st, rc, &ex, kt_dbi_read_profile, &found,
                                "reading a profiled call");
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
        s = kt_dbi_stmt_get(db, ST_PROFILE_IMPORT, &st);
        if (s == KT_OK) {
            int rc = bind_i64(st, 1, in.machine, SQLITE_OK);
            rc = bind_text(st, 2, in.op, rc);
            rc = bind_dims(st, 3, in.m, in.n, in.k, rc);
            rc = bind_i64(st, 6, in.calls, rc);
            rc = bind_real(st, 7, in.total_s, rc);
            rc = bind_text(st, 8, in.updated, rc);
            s = kt_dbi_step_done(db, st, rc, "storing a profiled call", NULL);
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

/* ---- Merging: verifications (they follow their run) ---- */

/* A total order on the values of two verification rows with the same key. */
static int verify_cmp(const kt_db_verify_row *a, const kt_db_verify_row *b)
{
    int c = cmp_real(a->ratio, b->ratio);
    if (!c)
        c = cmp_real(a->dispatched_s, b->dispatched_s);
    if (!c)
        c = cmp_real(a->best_s, b->best_s);
    if (!c)
        c = strcmp(a->dispatched, b->dispatched);
    if (!c)
        c = strcmp(a->best, b->best);
    if (!c)
        c = strcmp(a->fixed, b->fixed);
    if (!c)
        c = (a->seed > b->seed) - (a->seed < b->seed);
    return c;
}

/*
 * Merges the incoming verification rows.  Each is keyed by its run (matched like the
 * runs themselves) and its op, size and pass, so rows of a run that is new here come
 * with it, and rows of a run both sides have are compared; two different rows of one
 * run can only be ordered by their values (the larger wins, whatever the order of
 * merges).
 */
static kt_status merge_verifications(merger *mg)
{
    kt_db *db = mg->db;
    kt_status s = KT_OK;
    for (size_t i = 0; s == KT_OK && i < mg->in->nverifications; i++) {
        kt_db_verify_row in = mg->in->verifications[i], ex;
        memset(&ex, 0, sizeof ex);
        s = map_machine(mg, in.machine, &in.machine, "a verification");
        if (s == KT_OK && !in.run)
            s = kt_fail(KT_EINVAL, "merge: a verification of %s has no run", in.op);
        if (s == KT_OK)
            s = map_run(mg, in.run, &in.run, "a verification");
        if (s == KT_OK)
            s = kt_dbi_verify_check(&in, "merge");
        sqlite3_stmt *st;
        int found = 0;
        if (s == KT_OK)
            s = kt_dbi_stmt_get(db, ST_VERIFY_GET, &st);
        if (s == KT_OK) {
            int rc = bind_i64(st, 1, in.run, SQLITE_OK);
            rc = bind_text(st, 2, in.op, rc);
            rc = bind_dims(st, 3, in.m, in.n, in.k, rc);
            rc = bind_i64(st, 6, in.pass, rc);
            s = kt_dbi_read_one(db, st, rc, &ex, kt_dbi_read_verify, &found,
                                "reading a verification");
        }
        if (s != KT_OK)
            break;
        int win = 1;
        if (found) {
            int c = verify_cmp(&in, &ex);
            if (!c && in.machine == ex.machine) {
                mg->rep->verifications.identical++;
                continue;
            }
            win = c >= 0;
            char key[320];
            keyf(key, sizeof key, "%s run %s %s m=%zu n=%zu k=%zu pass %d",
                 mg->in->machines[dump_machine(mg->in, mg->in->verifications[i].machine)]
                     .fingerprint,
                 mg->in->runs[dump_run(mg, mg->in->verifications[i].run)].started, in.op, in.m,
                 in.n, in.k, in.pass);
            add_conflict(mg, "verifications", key, win,
                         "same run: the tie goes to the larger values");
        }
        if (!win) {
            mg->rep->verifications.kept++;
            continue;
        }
        s = kt_dbi_stmt_get(db, ST_VERIFY_PUT, &st);
        if (s == KT_OK)
            s = kt_dbi_step_done(db, st, kt_dbi_bind_verify(st, &in),
                                 "storing a verification", NULL);
        if (s == KT_OK) {
            if (found)
                mg->rep->verifications.replaced++;
            else
                mg->rep->verifications.added++;
        }
    }
    return s;
}

kt_status kt_db_merge(kt_db *db, const kt_db_dump *in, int dry_run, kt_db_merge_report *rep)
{
    if (!rep)
        return kt_fail(KT_EINVAL, "kt_db_merge: no report");
    memset(rep, 0, sizeof *rep);
    kt_status s = kt_dbi_need_write(db, "kt_db_merge");
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

    s = kt_dbi_exec(db, "BEGIN IMMEDIATE", "merging");
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
    if (s == KT_OK)
        s = merge_verifications(&mg);
    if (s == KT_OK && !dry_run)
        s = kt_dbi_exec(db, "COMMIT", "committing the merge");
    if (s != KT_OK || dry_run)
        kt_dbi_rollback(db);
out:
    free(mg.machine_map);
    free(mg.run_map);
    free(mg.run_order);
    return s;
}
