/*
 * `ktune tune --mpi`: a fleet tuned by one MPI job into one database.
 *
 * Roles.  Rank 0 is the writer: the only process that opens the database, committing
 * every measurement as it arrives (each in its own transaction, as a single-node run
 * does), and the coordinator of every hardware class.  The other ranks measure.  Ranks
 * are grouped by kt_fingerprint(): all of a class's work goes to that class's ranks.
 * The writer holds one coordinator per class (struct klass) rather than a rank per
 * class: a coordinator's work is microseconds per point, and the node tokens below
 * need one place that sees every class anyway.
 *
 * Work.  A class's work is the sequential tuner's (tuner/kt_tune.c), cut into points
 * and handed out as ranks finish: every sweep point of every selected op is ready at
 * once, except that a compute-bound op's point waits for the previous point of its
 * shape family (its skips depend on it, as in the sequential sweep); when an op's sweep
 * is done, each bisection whose ends' winners differ is a chain of midpoints, each
 * midpoint ready when the previous one's result is in; chains and ops proceed side by
 * side.  When an op's chains are done the writer recomputes its choices from the
 * stored measurements (kt_tuner_choose), exactly as a single-node run would, so the
 * file is the one `ktune merge` would make from per-node runs of the same options.
 *
 * Noise.  Ranks sharing a node (MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)) must not
 * time each other: the writer hands a point to a rank only while no other rank of its
 * node is measuring (one token per node).  Waiting ranks, the writer included, poll
 * with sleeps (MPI_Iprobe, nanosleep), never spin in a blocking receive (Open MPI's
 * blocking calls busy-poll a core).
 *
 * Messages are byte images of the structs below: every rank runs the same ktune build
 * (ranks of one job on one architecture).  A rank killed mid-run loses only the point
 * it was measuring: everything the writer received is committed; the next run (the same
 * command) reuses it, since the writer sends each point's stored measurements with the
 * point.
 */
#include "config.h"

#include <mpi.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kt_mpi.h"
#include "kt_tune_int.h"

enum { T_TASK = 1, T_RESULT, T_STOP };

/* What each rank tells the writer at the start (MPI_Gather). */
typedef struct hello {
    char fp[KT_DB_FP_MAX];
    char host[256];
    long long pid, l3, node; /* node: the world rank of its node's first rank */
    double ram;
    int cores, online;       /* CPUs it may run on (its affinity), and the node's online CPUs */
    int bound;               /* mpirun bound it to some of them (Open MPI says so) */
    char details[4096];      /* kt_tuner_machine_details(), cut if longer */
} hello;

/* What the writer tells each rank after opening the database (MPI_Scatter). */
typedef struct assign {
    int status;              /* KT_OK, or the writer's failure: stop */
    int klass;               /* the rank's class (-1: the writer) */
    long long machine, run;  /* its machine id and its own run */
} assign;

/* A point to measure. */
typedef struct task {
    long long id;
    int op, nstored;         /* nstored stored measurements of the point follow */
    size_t d[3];
    char skip[2048];         /* candidates not to measure here ("a,b") */
} task;

/* One candidate of a measured point, in the rank's candidate order. */
typedef struct row {
    int commit;              /* made (or recorded failed) by this measurement: store it */
    int present;             /* 0: not measured (skipped) */
    kt_db_measurement m;
} row;

typedef struct result {
    long long id;
    int status, ncand;       /* ncand rows follow */
    char error[256];
} result;

/* ---- waiting without spinning ------------------------------------------------- */

static void nap(long *us) {
    struct timespec ts = {0, *us * 1000};
    nanosleep(&ts, NULL);
    if (*us < 2000) *us *= 2;
}

/* Receives the next message from src (MPI_ANY_SOURCE too) into a malloc'ed *buf. */
static int recv_any(int src, volatile sig_atomic_t *stop, MPI_Status *st, char **buf, int *len) {
    long us = 20;
    int flag = 0;
    for (;;) {
        MPI_Iprobe(src, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, st);
        if (flag) break;
        if (stop && *stop) return 0;
        nap(&us);
    }
    MPI_Get_count(st, MPI_BYTE, len);
    *buf = malloc(*len > 0 ? (size_t)*len : 1);
    if (!*buf) return -1;
    MPI_Recv(*buf, *len, MPI_BYTE, st->MPI_SOURCE, st->MPI_TAG, MPI_COMM_WORLD, st);
    return 1;
}

/* ---- the measuring ranks -------------------------------------------------------- */

/* The tuner's store on a measuring rank: the point's stored rows in, new rows out. */
typedef struct wio {
    const kt_db_measurement *stored;
    int nstored;
    kt_db_measurement out[KT_MAX_CAND];
    int nout;
} wio;

static kt_status wio_get(void *ctx, kt_db_measurement *m) {
    wio *w = ctx;
    for (int i = 0; i < w->nstored; i++) {
        const kt_db_measurement *s = &w->stored[i];
        if (!strcmp(s->variant, m->variant) && s->version == m->version && s->m == m->m &&
            s->n == m->n && s->k == m->k && !strcmp(s->op, m->op)) {
            *m = *s;
            return KT_OK;
        }
    }
    return KT_ENOTFOUND;
}

static kt_status wio_put(void *ctx, const kt_db_measurement *m) {
    wio *w = ctx;
    if (w->nout >= KT_MAX_CAND) return kt_fail(KT_EINVAL, "--mpi: too many rows");
    w->out[w->nout++] = *m;
    return KT_OK;
}

static int name_listed(const char *name, const char *list) {
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        if (l == len && !strncmp(p, name, len)) return 1;
        p += l + (end ? 1 : 0);
    }
    return 0;
}

/* Measures the points the writer hands out until it says stop. */
static kt_status worker(const kt_tune_opts *o, const assign *a, kt_tune_report *rep) {
    kt_tuner t = {.o = o, .rep = rep, .mo = kt_mopts_default(o->quick), .start = kt_now(),
                  .machine = a->machine, .run = a->run, .get = wio_get, .put = wio_put};
    wio io = {0};
    t.io = &io;
    char (*inval)[KT_MAX_CAND][KT_DB_ERROR_MAX] = calloc(KT_OP_COUNT, sizeof *inval);
    int validated[KT_OP_COUNT] = {0};
    kt_point *pt = malloc(sizeof *pt);
    size_t cap = sizeof(result) + KT_MAX_CAND * sizeof(row);
    char *out = malloc(cap);
    result first = {.id = -1, .status = KT_OK};
    kt_status s = inval && pt && out ? KT_OK : kt_fail(KT_ENOMEM, "--mpi: out of memory");
    if (s != KT_OK) {
        first.status = s;
        snprintf(first.error, sizeof first.error, "%s", kt_last_error());
        MPI_Send(&first, (int)sizeof first, MPI_BYTE, 0, T_RESULT, MPI_COMM_WORLD);
        free(inval), free(pt), free(out);
        return s;
    }
    /* the first result is empty: it asks for work */
    result *res = (result *)out;
    *res = first;
    int len = (int)sizeof *res;
    for (;;) {
        MPI_Send(out, len, MPI_BYTE, 0, T_RESULT, MPI_COMM_WORLD);
        if (s != KT_OK) break;
        MPI_Status st;
        char *buf = NULL;
        int n, got = recv_any(0, o->stop, &st, &buf, &n);
        if (got <= 0) {
            /*
             * Stopped by a signal, or out of memory.  The rank leaves without finalising
             * (exit 130 or 1): mpirun then ends the job, and the writer, told by its own
             * signal, records the runs as interrupted.
             */
            free(inval), free(pt), free(out);
            if (got == 0) rep->stopped = 1;
            return got < 0 ? kt_fail(KT_ENOMEM, "--mpi: out of memory") : KT_OK;
        }
        if (st.MPI_TAG == T_STOP) {
            free(buf);
            break;
        }
        task *tk = (task *)buf;
        kt_op_id op = (kt_op_id)tk->op;
        io.stored = (const kt_db_measurement *)(buf + sizeof *tk);
        io.nstored = tk->nstored;
        io.nout = 0;
        kt_tuner_candidates(&t, op);
        if (!validated[op]) {
            kt_tuner_validate(&t);
            memcpy(inval[op], t.invalid, sizeof t.invalid);
            validated[op] = 1;
        }
        memcpy(t.invalid, inval[op], sizeof t.invalid);
        for (size_t i = 0; i < t.ncand; i++) t.skip[i] = name_listed(t.cand[i]->name, tk->skip);
        kt_tuner_measure_point(&t, op, tk->d, pt, 0, &s);
        *res = (result){.id = tk->id, .status = s, .ncand = (int)t.ncand};
        if (s != KT_OK) snprintf(res->error, sizeof res->error, "%s", kt_last_error());
        row *rows = (row *)(out + sizeof *res);
        for (size_t i = 0; i < t.ncand; i++) {
            row *r = &rows[i];
            memset(r, 0, sizeof *r);
            snprintf(r->m.variant, sizeof r->m.variant, "%s", t.cand[i]->name);
            for (int j = 0; j < io.nout && !r->present; j++)
                if (!strcmp(io.out[j].variant, r->m.variant)) r->m = io.out[j], r->commit = 1;
            if (!r->commit) {
                kt_db_measurement m = {.machine = t.machine, .version = t.cand[i]->version};
                snprintf(m.op, sizeof m.op, "%s", kt_ops[op].name);
                snprintf(m.variant, sizeof m.variant, "%s", t.cand[i]->name);
                size_t mnk[3];
                kt_db_dims_pack(kt_ops[op].ndims, tk->d, mnk);
                m.m = mnk[0], m.n = mnk[1], m.k = mnk[2];
                if (!o->force && wio_get(&io, &m) == KT_OK) r->m = m;
                else continue;
            }
            r->present = 1;
        }
        len = (int)(sizeof *res + t.ncand * sizeof(row));
        free(buf);
    }
    free(inval), free(pt), free(out);
    return s;
}

/* ---- the writer: one coordinator per class ---------------------------------------- */

/* A bisection between two sweep points whose winners differ: a chain of midpoints. */
typedef struct chain {
    kt_shape lo, hi, mid;
    int wlo, busy, done;
    char skip[2048]; /* kt_tuner_bisect_skips of its ends ("a,b") */
} chain;

/* One op of one class. */
typedef struct opstate {
    int on, chosen, inflight, sweep_left;
    size_t ng;
    kt_shape *g;
    kt_point *pts;
    int *win, *state;        /* per sweep point: 0 waiting, 1 handed out, 2 measured */
    chain *ch;
    size_t nch;
    int chains_made;
    const kt_variant *cand[KT_MAX_CAND];
    size_t ncand;
    int invalid_counted;
} opstate;

typedef struct klass {
    char fp[KT_DB_FP_MAX];
    int64_t machine;
    int nranks;
    size_t l3;
    kt_tuner t;              /* the writer's tuner of this class: db, machine, grids, counts */
    opstate ops[KT_OP_COUNT];
} klass;

/* What a measuring rank is doing. */
typedef struct wstate {
    int klass, node, idle, stopped;
    long long task;          /* > 0: handed out; encodes class, op and point or chain */
    int64_t run;
    char host[256];
} wstate;

typedef struct writer_s {
    const kt_tune_opts *o;
    kt_tune_report *rep;
    kt_db *db;
    klass *k;
    int nk, size;
    wstate *w;
    int *node_busy;          /* by node (world rank of its first rank) */
    double start;
} writer_s;

/* Task ids: class, op, and a sweep point (i) or a chain (KT_CHAIN + i). */
#define KT_CHAIN 100000
static long long task_id(int k, int op, long i) {
    return ((long long)k * 1000 + op) * 1000000 + i + 1;
}

/* The stored measurements of op at d on the class's machine, for reuse (resume). */
static int stored_rows(writer_s *ws, klass *k, kt_op_id op, const size_t d[3],
                       kt_db_measurement *out, int cap) {
    int n = 0;
    size_t mnk[3];
    kt_db_dims_pack(kt_ops[op].ndims, d, mnk);
    for (size_t i = 0, nv = kt_variants_len(); i < nv && n < cap; i++) {
        const kt_variant *v = kt_variant_at(i);
        if (v->op != op) continue;
        kt_db_measurement m = {.machine = k->machine, .version = v->version};
        snprintf(m.op, sizeof m.op, "%s", kt_ops[op].name);
        snprintf(m.variant, sizeof m.variant, "%s", v->name);
        m.m = mnk[0], m.n = mnk[1], m.k = mnk[2];
        if (kt_db_measurement_get(ws->db, &m) == KT_OK) out[n++] = m;
    }
    return n;
}

/* Sends point d of op (skips: names) to rank r. */
static kt_status send_task(writer_s *ws, int r, klass *k, kt_op_id op, const size_t d[3],
                           const char *skip, long long id) {
    size_t cap = sizeof(task) + KT_MAX_CAND * sizeof(kt_db_measurement);
    char *buf = malloc(cap);
    if (!buf) return kt_fail(KT_ENOMEM, "--mpi: out of memory");
    task *tk = (task *)buf;
    memset(tk, 0, sizeof *tk);
    tk->id = id;
    tk->op = (int)op;
    memcpy(tk->d, d, sizeof tk->d);
    snprintf(tk->skip, sizeof tk->skip, "%s", skip);
    tk->nstored = ws->o->force ? 0
                               : stored_rows(ws, k, op, d, (kt_db_measurement *)(buf + sizeof *tk),
                                             KT_MAX_CAND);
    MPI_Send(buf, (int)(sizeof *tk + (size_t)tk->nstored * sizeof(kt_db_measurement)), MPI_BYTE,
             r, T_TASK, MPI_COMM_WORLD);
    free(buf);
    ws->w[r].task = id;
    ws->w[r].idle = 0;
    ws->node_busy[ws->w[r].node] = 1;
    return KT_OK;
}

/* Makes op's bisection chains once its sweep is measured (kt_tune.c's tune_op rule). */
/* The names of the candidates t->skip marks, comma-separated, into buf. */
static void skip_names(const kt_tuner *t, const kt_variant *const *cand, size_t ncand, char *buf,
                       size_t len) {
    size_t l = 0;
    buf[0] = '\0';
    for (size_t c = 0; c < ncand; c++)
        if (t->skip[c] && l + strlen(cand[c]->name) + 2 < len)
            l += (size_t)snprintf(buf + l, len - l, "%s%s", l ? "," : "", cand[c]->name);
}

static void make_chains(klass *k, opstate *s, kt_op_id op) {
    s->chains_made = 1;
    s->ch = calloc(s->ng ? s->ng : 1, sizeof *s->ch);
    if (!s->ch) return;
    memcpy(k->t.cand, s->cand, sizeof s->cand);
    k->t.ncand = s->ncand;
    for (size_t i = 0; i + 1 < s->ng; i++) {
        int a = s->win[i], b = s->win[i + 1];
        if (s->state[i] != 2 || s->state[i + 1] != 2) continue;
        if (a < 0 || b < 0 || a == b || s->g[i].family != s->g[i + 1].family) continue;
        if (kt_tuner_accepts(&k->t, &s->pts[i + 1], a) || kt_tuner_accepts(&k->t, &s->pts[i], b))
            continue;
        chain *c = &s->ch[s->nch++];
        *c = (chain){.lo = s->g[i], .hi = s->g[i + 1], .wlo = a};
        kt_tuner_bisect_skips(&k->t, op, &s->pts[i], a, &s->pts[i + 1], b);
        skip_names(&k->t, s->cand, s->ncand, c->skip, sizeof c->skip);
    }
}

/* The next ready point of class k for a rank: 1 (op, dims, skips and id set) when there is one. */
static int next_task(writer_s *ws, int ki, kt_op_id *op_out, size_t d[3], char *skip,
                     size_t skiplen, long long *id, int stopping) {
    klass *k = &ws->k[ki];
    if (stopping) return 0;
    for (int op = 0; op < KT_OP_COUNT; op++) {
        opstate *s = &k->ops[op];
        if (!s->on || s->chosen) continue;
        int skips = kt_tuner_skip_factor((kt_op_id)op) > 0;
        for (size_t i = 0; i < s->ng; i++) {
            if (s->state[i] != 0) continue;
            int dep = skips && i > 0 && s->g[i - 1].family == s->g[i].family;
            if (dep && s->state[i - 1] != 2) continue;
            skip[0] = '\0';
            if (dep && s->ncand) {
                memcpy(k->t.cand, s->cand, sizeof s->cand);
                k->t.ncand = s->ncand;
                kt_tuner_skips(&k->t, (kt_op_id)op, s->g, i, &s->pts[i - 1], s->win[i - 1]);
                skip_names(&k->t, s->cand, s->ncand, skip, skiplen);
            }
            s->state[i] = 1;
            s->inflight++;
            *op_out = (kt_op_id)op;
            memcpy(d, s->g[i].d, 3 * sizeof *d);
            *id = task_id(ki, op, (long)i);
            return 1;
        }
        if (s->sweep_left) continue;
        for (size_t c = 0; c < s->nch; c++) {
            chain *ch = &s->ch[c];
            if (ch->busy || ch->done) continue;
            if (!kt_tuner_bisect_mid(kt_ops[op].ndims, ch->lo, ch->hi, &ch->mid)) {
                ch->done = 1;
                continue;
            }
            ch->busy = 1;
            s->inflight++;
            snprintf(skip, skiplen, "%s", ch->skip);
            *op_out = (kt_op_id)op;
            memcpy(d, ch->mid.d, 3 * sizeof *d);
            *id = task_id(ki, op, KT_CHAIN + (long)c);
            return 1;
        }
    }
    return 0;
}

/*
 * Makes the choices of op of class k once nothing is left to measure (when stopping:
 * once nothing is in flight, from what is measured, as a stopped run does).  An op
 * with no sweep or no candidates gets none, as in kt_tune.c.
 */
static kt_status maybe_choose(klass *k, kt_op_id op, int stopping) {
    opstate *s = &k->ops[op];
    if (!s->on || s->chosen || s->inflight) return KT_OK;
    if (!stopping) {
        if (s->sweep_left) return KT_OK;
        if (!s->chains_made) make_chains(k, s, op);
        for (size_t c = 0; c < s->nch; c++) {
            chain *ch = &s->ch[c];
            if (!ch->busy && !ch->done && !kt_tuner_bisect_mid(kt_ops[op].ndims, ch->lo, ch->hi,
                                                               &ch->mid))
                ch->done = 1;
            if (!ch->done) return KT_OK;
        }
    }
    s->chosen = 1;
    if (!s->ng || !s->ncand) return KT_OK;
    memcpy(k->t.cand, s->cand, sizeof s->cand);
    k->t.ncand = s->ncand;
    return kt_tuner_choose(&k->t, op);
}

/* Files a result from rank r: stores its rows, advances its class's work. */
static kt_status on_result(writer_s *ws, int r, const char *buf, int len, int stopping) {
    const result *res = (const result *)buf;
    wstate *w = &ws->w[r];
    if (len < (int)sizeof *res || len < (int)(sizeof *res + (size_t)res->ncand * sizeof(row)))
        return kt_fail(KT_EINVAL, "--mpi: a short message from rank %d", r);
    if (res->status != KT_OK)
        return kt_fail(res->status, "rank %d (%s): %s", r, w->host, res->error);
    w->idle = 1;
    if (w->task > 0) ws->node_busy[w->node] = 0;
    w->task = 0;
    if (res->id < 0) return KT_OK; /* a rank asking for work */
    long long id = res->id - 1;
    int ki = (int)(id / 1000000 / 1000), op = (int)(id / 1000000 % 1000);
    long idx = (long)(id % 1000000);
    if (ki < 0 || ki >= ws->nk || op < 0 || op >= KT_OP_COUNT)
        return kt_fail(KT_EINVAL, "--mpi: a bad result from rank %d", r);
    klass *k = &ws->k[ki];
    opstate *s = &k->ops[op];
    const row *rows = (const row *)(buf + sizeof *res);
    kt_status st = KT_OK;
    kt_point *pt = idx < KT_CHAIN ? &s->pts[idx] : malloc(sizeof *pt);
    if (!pt) return kt_fail(KT_ENOMEM, "--mpi: out of memory");
    if (!s->ncand) {
        for (int i = 0; i < res->ncand && i < KT_MAX_CAND; i++)
            s->cand[s->ncand++] = kt_variant_lookup((kt_op_id)op, rows[i].m.variant);
    }
    /* every rank of a class must have the same candidates, in the same order */
    int same = (size_t)res->ncand == s->ncand;
    for (int i = 0; same && i < res->ncand; i++)
        same = s->cand[i] && !strcmp(s->cand[i]->name, rows[i].m.variant);
    if (!same) {
        if (idx >= KT_CHAIN) free(pt);
        return kt_fail(KT_EINVAL, "rank %d (%s) has other usable %s variants than the other "
                       "ranks of its class %s (KTUNE_DISABLE, KTUNE_MAX_ISA or "
                       "KTUNE_NUM_THREADS differ?)", r, w->host, kt_ops[op].name, k->fp);
    }
    size_t dims[3] = {0, 0, 0};
    for (int i = 0; i < res->ncand && i < KT_MAX_CAND && st == KT_OK; i++) {
        const row *rw = &rows[i];
        const kt_variant *v = s->cand[i];
        pt->dc[i] =
            (kt_dcand){INFINITY, NAN, v->cost, v->threads, 0, NULL, 0, kt_variant_order(v)};
        if (!rw->present) continue;
        size_t mnk[3] = {rw->m.m, rw->m.n, rw->m.k};
        kt_db_dims_unpack(kt_ops[op].ndims, mnk, dims);
        if (rw->commit) {
            kt_db_measurement m = rw->m;
            m.machine = k->machine;
            st = kt_db_measurement_put(ws->db, &m);
            if (m.valid) ws->rep->measured++;
            else if (!s->invalid_counted && !strncmp(m.error, "validation failed", 17))
                ws->rep->invalid++;
        } else {
            ws->rep->reused++;
        }
        if (rw->m.valid) pt->dc[i] = kt_tuner_dcand(v, &rw->m, pt->rounds[i]);
    }
    s->invalid_counted = 1;
    pt->d = kt_decide(pt->dc, res->ncand, k->t.mo.tie, k->t.mo.threads_tie);
    int win = pt->d.pick;
    if (ws->o->progress && st == KT_OK) {
        char shape[64];
        if (kt_ops[op].ndims == 1) snprintf(shape, sizeof shape, "n=%zu", dims[0]);
        else if (kt_ops[op].ndims == 2) snprintf(shape, sizeof shape, "%zux%zu", dims[0], dims[1]);
        else snprintf(shape, sizeof shape, "%zux%zux%zu", dims[0], dims[1], dims[2]);
        fprintf(stderr, "tune: class %d %s %s: %s (rank %d on %s, %.0f s)\n", ki,
                kt_ops[op].name, shape, win >= 0 ? s->cand[win]->name : "-", r, w->host,
                kt_now() - ws->start);
    }
    s->inflight--;
    if (idx < KT_CHAIN) {
        s->win[idx] = win;
        s->state[idx] = 2;
        s->sweep_left--;
    } else {
        chain *c = &s->ch[idx - KT_CHAIN];
        c->busy = 0;
        if (win == c->wlo) c->lo = c->mid;
        else c->hi = c->mid;
        free(pt);
    }
    if (st == KT_OK) st = maybe_choose(k, (kt_op_id)op, stopping);
    return st;
}

/* Sets up the classes from the ranks' hellos; stores machines, variants, runs. */
static kt_status writer_setup(writer_s *ws, const hello *h, assign *as) {
    const kt_tune_opts *o = ws->o;
    /*
     * A rank bound to a few of its node's CPUs (mpirun binds by default when there are
     * no more ranks than cores) would measure a smaller machine: its fingerprint (core
     * count) is not the node's, threaded variants are excluded or squeezed, and
     * OpenBLAS sized its pool at start-up.  Refuse rather than tune the wrong machine.
     */
    for (int r = 1; r < ws->size; r++)
        if (h[r].bound && h[r].cores < h[r].online)
            return kt_fail(KT_EINVAL, "--mpi: mpirun bound rank %d (%s) to %d of its %d "
                        "CPUs: it would tune a smaller machine; run mpirun --bind-to none",
                        r, h[r].host, h[r].cores, h[r].online);
    kt_status s = kt_db_open_write(o->db_path, &ws->db);
    if (s != KT_OK) return s;
    ws->k = calloc((size_t)ws->size, sizeof *ws->k);
    ws->w = calloc((size_t)ws->size, sizeof *ws->w);
    ws->node_busy = calloc((size_t)ws->size, sizeof *ws->node_busy);
    if (!ws->k || !ws->w || !ws->node_busy) return kt_fail(KT_ENOMEM, "--mpi: out of memory");
    for (size_t i = 0, n = kt_variants_len(); i < n && s == KT_OK; i++) {
        const kt_variant *v = kt_variant_at(i);
        const char *colon = strchr(v->name, ':');
        s = kt_db_variant_put(ws->db, kt_ops[v->op].name, v->name, v->version, v->backend,
                              colon ? colon + 1 : "");
    }
    as[0] = (assign){.status = KT_OK, .klass = -1};
    for (int r = 1; r < ws->size && s == KT_OK; r++) {
        int ki = 0;
        while (ki < ws->nk && strcmp(ws->k[ki].fp, h[r].fp)) ki++;
        klass *k = &ws->k[ki];
        if (ki == ws->nk) {
            ws->nk++;
            snprintf(k->fp, sizeof k->fp, "%s", h[r].fp);
            s = kt_db_machine_put(ws->db, k->fp, h[r].details, &k->machine);
            k->l3 = (size_t)h[r].l3;
            k->t = (kt_tuner){.o = o, .rep = ws->rep, .db = ws->db, .machine = k->machine,
                              .mo = kt_mopts_default(o->quick), .start = ws->start,
                              .ram = h[r].ram};
            for (int op = 0; op < KT_OP_COUNT && s == KT_OK; op++) {
                opstate *st = &k->ops[op];
                if (!o->ops[op]) continue;
                s = kt_tuner_make_grid(&k->t, (kt_op_id)op);
                st->ng = k->t.ngrid[op];
                st->g = k->t.grid[op];
                st->pts = calloc(st->ng ? st->ng : 1, sizeof *st->pts);
                st->win = calloc(st->ng ? st->ng : 1, sizeof *st->win);
                st->state = calloc(st->ng ? st->ng : 1, sizeof *st->state);
                if (!st->pts || !st->win || !st->state)
                    s = kt_fail(KT_ENOMEM, "--mpi: out of memory");
                st->on = 1;
                st->sweep_left = (int)st->ng;
            }
        }
        k->nranks++;
        wstate *w = &ws->w[r];
        *w = (wstate){.klass = ki, .node = (int)h[r].node};
        snprintf(w->host, sizeof w->host, "%s", h[r].host);
        if (s == KT_OK)
            s = kt_db_run_begin_as(ws->db, k->machine, o->invocation, kt_version(), h[r].host,
                                   h[r].pid, &w->run);
        if (s == KT_OK && !k->t.run) k->t.run = w->run; /* choices name the class's first run */
        if (s == KT_OK && !ws->rep->run) ws->rep->run = w->run;
        as[r] = (assign){.status = KT_OK, .klass = ki, .machine = k->machine, .run = w->run};
    }
    for (int ki = 0; ki < ws->nk && s == KT_OK && o->progress; ki++)
        fprintf(stderr, "tune: class %d is %s: %d measuring rank%s\n", ki, ws->k[ki].fp,
                ws->k[ki].nranks, ws->k[ki].nranks == 1 ? "" : "s");
    return s;
}

/* Whether class ki has work left, and whether one of its ranks is measuring. */
static void class_state(const writer_s *ws, int ki, int *left, int *busy) {
    const klass *k = &ws->k[ki];
    *left = *busy = 0;
    for (int op = 0; op < KT_OP_COUNT; op++) *left |= k->ops[op].on && !k->ops[op].chosen;
    for (int q = 1; q < ws->size; q++)
        *busy |= ws->w[q].klass == ki && !ws->w[q].idle && !ws->w[q].stopped;
}

/* The writer's loop: hands out points, files results, until every rank is stopped. */
static kt_status writer_loop(writer_s *ws) {
    const kt_tune_opts *o = ws->o;
    kt_status s = KT_OK;
    int live = ws->size - 1, stopping = 0;
    while (live > 0) {
        if (!stopping && ((o->stop && *o->stop) ||
                          (o->budget_s > 0 && kt_now() - ws->start > o->budget_s))) {
            stopping = 1;
            ws->rep->stopped = o->stop && *o->stop ? 1 : 2;
            if (ws->rep->stopped == 1) return KT_OK; /* mpirun is ending the job: no waiting */
        }
        stopping |= s != KT_OK;
        for (int ki = 0; ki < ws->nk && s == KT_OK; ki++)
            for (int op = 0; op < KT_OP_COUNT && s == KT_OK; op++)
                s = maybe_choose(&ws->k[ki], (kt_op_id)op, stopping);
        /* hand out work to idle ranks whose node is free */
        for (int r = 1; r < ws->size && s == KT_OK && !stopping; r++) {
            wstate *w = &ws->w[r];
            if (!w->idle || w->stopped || ws->node_busy[w->node]) continue;
            kt_op_id op;
            size_t d[3];
            char skip[2048];
            long long id;
            if (next_task(ws, w->klass, &op, d, skip, sizeof skip, &id, stopping))
                s = send_task(ws, r, &ws->k[w->klass], op, d, skip, id);
        }
        /* an idle rank whose class is done (or stalled), or the run stopping: stop it */
        for (int r = 1; r < ws->size; r++) {
            wstate *w = &ws->w[r];
            int left, busy;
            if (!w->idle || w->stopped) continue;
            class_state(ws, w->klass, &left, &busy);
            if (!stopping && s == KT_OK && left && (busy || ws->node_busy[w->node])) continue;
            MPI_Send(NULL, 0, MPI_BYTE, r, T_STOP, MPI_COMM_WORLD);
            w->stopped = 1;
            live--;
        }
        if (live <= 0) break;
        MPI_Status st;
        char *buf;
        int len, got = recv_any(MPI_ANY_SOURCE, o->stop, &st, &buf, &len);
        if (got < 0) return kt_fail(KT_ENOMEM, "--mpi: out of memory");
        if (got == 0) continue;
        int r = st.MPI_SOURCE;
        kt_status e = st.MPI_TAG == T_RESULT && r > 0
                          ? on_result(ws, r, buf, len, stopping || s != KT_OK)
                          : kt_fail(KT_EINVAL, "--mpi: an unexpected message");
        free(buf);
        if (e != KT_OK && s == KT_OK) s = e;
        if (e != KT_OK && r > 0 && !ws->w[r].stopped) {
            /* a rank that failed has left its loop */
            if (ws->w[r].task > 0) ws->node_busy[ws->w[r].node] = 0;
            ws->w[r].stopped = 1;
            live--;
        }
    }
    /* a stopped run: choose from what is measured, as a single-node run does */
    for (int ki = 0; ki < ws->nk && s == KT_OK; ki++)
        for (int op = 0; op < KT_OP_COUNT && s == KT_OK; op++)
            s = maybe_choose(&ws->k[ki], (kt_op_id)op, 1);
    return s;
}

/* Ends every run (status by how the job went), frees the writer's state. */
static kt_status writer_end(writer_s *ws, kt_status s) {
    kt_status e = KT_OK;
    for (int ki = 0; ki < ws->nk; ki++) {
        klass *k = &ws->k[ki];
        if (s == KT_OK && !ws->rep->stopped) kt_tuner_store_limits(&k->t, k->l3);
        for (int op = 0; op < KT_OP_COUNT; op++) {
            opstate *st = &k->ops[op];
            ws->rep->points += k->t.counts[op][0], ws->rep->crossovers += k->t.counts[op][1];
            ws->rep->merged += k->t.counts[op][2], ws->rep->unresolved += k->t.counts[op][3];
            free(st->g), free(st->pts), free(st->win), free(st->state), free(st->ch);
        }
    }
    for (int r = 1; ws->w && r < ws->size; r++) {
        if (!ws->w[r].run) continue;
        kt_status x = kt_db_run_end(ws->db, ws->w[r].run,
                                    s != KT_OK            ? KT_DB_RUN_FAILED
                                    : ws->rep->stopped    ? KT_DB_RUN_INTERRUPTED
                                                          : KT_DB_RUN_COMPLETE);
        if (e == KT_OK) e = x;
    }
    kt_status c = ws->db ? kt_db_close(ws->db) : KT_OK;
    free(ws->k), free(ws->w), free(ws->node_busy);
    if (s == KT_OK) s = e;
    return s == KT_OK ? c : s;
}

kt_status kt_mpi_tune(const kt_tune_opts *o, kt_tune_report *rep, int *is_writer) {
    int inited = 0, rank = 0, size = 1, prov;
    memset(rep, 0, sizeof *rep);
    rep->verify_geomean = rep->verify_worst = NAN;
    *is_writer = 1;
    MPI_Initialized(&inited);
    if (!inited && MPI_Init_thread(NULL, NULL, MPI_THREAD_SINGLE, &prov) != MPI_SUCCESS)
        return kt_fail(KT_EUNAVAIL, "--mpi: MPI_Init failed");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    *is_writer = rank == 0;
    if (size < 2) {
        return kt_fail(KT_EINVAL, "--mpi: needs at least 2 ranks (rank 0 writes the "
                       "database, the others measure), e.g. mpirun --bind-to none -np 3 ktune tune --mpi");
    }
    /* the node: ranks sharing memory take turns measuring */
    MPI_Comm node;
    int leader = rank;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
    MPI_Bcast(&leader, 1, MPI_INT, 0, node);
    MPI_Comm_free(&node);
    const char *bound = getenv("OMPI_MCA_orte_bound_at_launch");
    hello me = {.pid = (long long)getpid(), .l3 = (long long)kt_cpu_get()->l3, .node = leader,
                .ram = (double)kt_cpu_get()->ram, .cores = kt_cpu_get()->cores,
                .online = (int)sysconf(_SC_NPROCESSORS_ONLN),
                .bound = bound && !strcmp(bound, "1")};
    snprintf(me.fp, sizeof me.fp, "%s", kt_fingerprint());
    if (gethostname(me.host, sizeof me.host - 1) != 0) snprintf(me.host, sizeof me.host, "?");
    char *details = kt_tuner_machine_details();
    if (details && strlen(details) < sizeof me.details)
        snprintf(me.details, sizeof me.details, "%s", details);
    else
        snprintf(me.details, sizeof me.details, "{}");
    free(details);
    hello *all = rank == 0 ? calloc((size_t)size, sizeof *all) : NULL;
    assign *as = rank == 0 ? calloc((size_t)size, sizeof *as) : NULL;
    writer_s ws = {.o = o, .rep = rep, .size = size, .start = kt_now()};
    kt_status s = KT_OK;
    MPI_Gather(&me, (int)sizeof me, MPI_BYTE, all, (int)sizeof me, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        s = all && as ? writer_setup(&ws, all, as) : kt_fail(KT_ENOMEM, "--mpi: out of memory");
        for (int r = 0; r < size && as; r++) as[r].status = s;
    }
    assign mine = {0};
    if (rank == 0 && !as) {
        MPI_Abort(MPI_COMM_WORLD, 1); /* cannot even say stop */
    }
    MPI_Scatter(as, (int)sizeof mine, MPI_BYTE, &mine, (int)sizeof mine, MPI_BYTE, 0,
                MPI_COMM_WORLD);
    free(all), free(as);
    if (mine.status != KT_OK) {
        if (rank == 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", kt_last_error());
            writer_end(&ws, s);
            kt_fail(s, "%s", msg);
        }
        return rank == 0 ? s : (kt_status)mine.status;
    }
    if (rank == 0) {
        kt_status l = writer_loop(&ws);
        char msg[512] = "";
        if (l != KT_OK) snprintf(msg, sizeof msg, "%s", kt_last_error());
        s = writer_end(&ws, l);
        if (l != KT_OK) kt_fail(l, "%s", msg); /* the first failure is the one to tell */
    } else {
        s = worker(o, &mine, rep);
    }
    rep->elapsed_s = kt_now() - ws.start;
    return s;
}

void kt_mpi_end(int interrupted) {
    int inited = 0, done = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&done);
    /* an interrupted job is being killed by mpirun: finalising would wait for the dead */
    if (inited && !done && !interrupted) MPI_Finalize();
}
