/*
 * The exchange format's reader and what `ktune import` and `ktune merge` share (see
 * kt_exchange.h): JSON export -> dump, newer-schema refusal, merge with report.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kt_exchange.h"
#include "kt_inspect.h"

/* ---- Reading a JSON export -------------------------------------------------- */

/* Where in the document a value is, for messages: "machines[0].runs[2].started". */
typedef struct jpath {
    const char *file;
    char at[160];
} jpath;

static int jfail(const jpath *p, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int jfail(const jpath *p, const char *key, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kt_fail(KT_EINVAL, "%s: %s%s%s: %s", p->file, p->at, *p->at && key ? "." : "",
            key ? key : "", msg);
    return -1;
}

/* A string member into dst[len]; null_ok: null or missing gives "". */
static int jstr(const jpath *p, json_t *o, const char *key, char *dst, size_t len, int null_ok) {
    json_t *v = json_object_get(o, key);
    if ((!v || json_is_null(v)) && null_ok) {
        dst[0] = '\0';
        return 0;
    }
    if (!json_is_string(v)) return jfail(p, key, v ? "expected a string" : "missing");
    if (json_string_length(v) >= len) return jfail(p, key, "longer than %zu bytes", len - 1);
    if (!null_ok && !json_string_length(v)) return jfail(p, key, "empty");
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

/* An integer member >= min. */
static int jint(const jpath *p, json_t *o, const char *key, long long min, long long *out) {
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v)) return jfail(p, key, v ? "expected an integer" : "missing");
    if (json_integer_value(v) < min) return jfail(p, key, "must be at least %lld", min);
    *out = json_integer_value(v);
    return 0;
}

/* A real member (an integer is fine); null_ok: null or missing gives NAN. */
static int jreal(const jpath *p, json_t *o, const char *key, int null_ok, double *out) {
    json_t *v = json_object_get(o, key);
    if ((!v || json_is_null(v)) && null_ok) {
        *out = NAN;
        return 0;
    }
    if (!json_is_number(v)) return jfail(p, key, v ? "expected a number" : "missing");
    *out = json_number_value(v);
    if (!isfinite(*out)) return jfail(p, key, "not a finite number");
    return 0;
}

/* An array member (missing: an empty array, when optional). */
static int jarr(const jpath *p, json_t *o, const char *key, int optional, json_t **out) {
    json_t *v = json_object_get(o, key);
    if (!v && optional) {
        *out = NULL;
        return 0;
    }
    if (!json_is_array(v)) return jfail(p, key, v ? "expected an array" : "missing");
    *out = v;
    return 0;
}

static int jsize(const jpath *p, json_t *o, const char *key, size_t *out) {
    long long v;
    if (jint(p, o, key, 0, &v)) return -1;
    *out = (size_t)v;
    return 0;
}

/* Enters element i of array `name` (saving the old path in save). */
static void jenter(jpath *p, const char *name, size_t i, char *save, size_t len) {
    snprintf(save, len, "%s", p->at);
    size_t l = strlen(p->at);
    snprintf(p->at + l, sizeof p->at - l, "%s%s[%zu]", l ? "." : "", name, i);
}

/* Orders variants by op, name, version (the order of a dump). */
static int cmp_variant(const void *a, const void *b) {
    const kt_db_variant_row *x = a, *y = b;
    int c = strcmp(x->op, y->op);
    if (!c) c = strcmp(x->name, y->name);
    if (!c) c = (x->version > y->version) - (x->version < y->version);
    return c;
}

/* Whether d's variants (sorted by cmp_variant) hold (op, name, version). */
static int has_variant(const kt_db_dump *d, const char *op, const char *name, unsigned version) {
    kt_db_variant_row key;
    snprintf(key.op, sizeof key.op, "%s", op);
    snprintf(key.name, sizeof key.name, "%s", name);
    key.version = version;
    return d->nvariants &&
           bsearch(&key, d->variants, d->nvariants, sizeof *d->variants, cmp_variant) != NULL;
}

/* The global run id of a machine's local run reference (json null: 0). */
static int jrun(const jpath *p, json_t *o, const kt_db_dump *d, int64_t machine,
                const long long *local, size_t nlocal, size_t first, int64_t *out) {
    json_t *v = json_object_get(o, "run");
    *out = 0;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v)) return jfail(p, "run", "expected a run id or null");
    for (size_t i = 0; i < nlocal; i++)
        if (local[i] == json_integer_value(v)) {
            *out = d->runs[first + i].id;
            return 0;
        }
    (void)machine;
    return jfail(p, "run", "no run %lld in this machine's \"runs\"",
                 (long long)json_integer_value(v));
}

/* The optional schema 2 members of a measurement: batch (integer or null), rounds. */
static int jrounds(const jpath *p, json_t *o, kt_db_measurement *m) {
    json_t *b = json_object_get(o, "batch"), *r = json_object_get(o, "rounds");
    if (b && !json_is_null(b)) {
        if (!json_is_integer(b) || json_integer_value(b) < 1)
            return jfail(p, "batch", "expected an integer >= 1 or null");
        m->batch = json_integer_value(b);
    }
    if (!r || json_is_null(r)) return 0;
    if (!json_is_array(r)) return jfail(p, "rounds", "expected an array");
    if (json_array_size(r) > KT_DB_MAX_ROUNDS)
        return jfail(p, "rounds", "%zu rounds (at most %d are kept)", json_array_size(r),
                     KT_DB_MAX_ROUNDS);
    size_t i;
    json_t *v;
    json_array_foreach(r, i, v) {
        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            return jfail(p, "rounds", "element %zu is not a finite number", i);
        m->rounds[i] = (float)json_number_value(v);
    }
    m->nrounds = (int)json_array_size(r);
    return 0;
}

/* A verification's seed: a decimal string (or a non-negative integer) of 64 bits. */
static int jseed(const jpath *p, json_t *o, uint64_t *out) {
    json_t *v = json_object_get(o, "seed");
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    unsigned long long u = s && *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0;
    if (!s || *s < '0' || *s > '9' || *end || errno)
        return jfail(p, "seed", v ? "expected a decimal string of 64 bits" : "missing");
    *out = (uint64_t)u;
    return 0;
}

/* Fills the stored m, n, k of o (integers >= 0). */
static int jdims(const jpath *p, json_t *o, size_t *m, size_t *n, size_t *k) {
    return jsize(p, o, "m", m) || jsize(p, o, "n", n) || jsize(p, o, "k", k);
}

/* Reads one machine object of the export into d (machine id mid). */
static int read_machine(jpath *p, json_t *jm, int64_t mid, kt_db_dump *d) {
    char save[160];
    if (!json_is_object(jm)) return jfail(p, NULL, "expected an object");
    kt_db_machine_row *ma = kt_db_dump_grow((void **)&d->machines, &d->nmachines, sizeof *ma);
    if (!ma) return jfail(p, NULL, "out of memory");
    ma->id = mid;
    if (jstr(p, jm, "fingerprint", ma->fingerprint, sizeof ma->fingerprint, 0) ||
        jstr(p, jm, "first_seen", ma->first_seen, sizeof ma->first_seen, 0) ||
        jstr(p, jm, "last_seen", ma->last_seen, sizeof ma->last_seen, 0))
        return -1;
    json_t *det = json_object_get(jm, "details");
    if (det && !json_is_object(det)) return jfail(p, "details", "expected an object");
    ma->details = det ? json_dumps(det, JSON_COMPACT | JSON_PRESERVE_ORDER) : strdup("{}");
    if (!ma->details) return jfail(p, "details", "out of memory");

    json_t *arr, *o;
    size_t i;
    /* runs: local ids must be unique */
    if (jarr(p, jm, "runs", 1, &arr)) return -1;
    size_t first = d->nruns, nlocal = json_array_size(arr);
    long long *local = calloc(nlocal ? nlocal : 1, sizeof *local);
    if (!local) return jfail(p, NULL, "out of memory");
    int bad = 0;
    json_array_foreach(arr, i, o) {
        jenter(p, "runs", i, save, sizeof save);
        kt_db_run_row *r = kt_db_dump_grow((void **)&d->runs, &d->nruns, sizeof *r);
        long long pid;
        char opts[4096];
        if (!r) {
            bad = jfail(p, NULL, "out of memory");
        } else if (!json_is_object(o)) {
            bad = jfail(p, NULL, "expected an object");
        } else if (jint(p, o, "id", 1, &local[i]) ||
                   jstr(p, o, "started", r->started, sizeof r->started, 0) ||
                   jstr(p, o, "ended", r->ended, sizeof r->ended, 1) ||
                   jstr(p, o, "status", r->status, sizeof r->status, 0) ||
                   jstr(p, o, "ktune_version", r->ktune_version, sizeof r->ktune_version, 0) ||
                   jstr(p, o, "options", opts, sizeof opts, 1) ||
                   jstr(p, o, "host", r->host, sizeof r->host, 1) || jint(p, o, "pid", 0, &pid)) {
            bad = -1;
        } else {
            r->id = (int64_t)d->nruns; /* global: its position, 1-based */
            r->machine = mid;
            r->pid = pid;
            r->options = strdup(opts);
            if (!r->options) bad = jfail(p, NULL, "out of memory");
            if (!bad && strcmp(r->status, "complete") && strcmp(r->status, "running") &&
                strcmp(r->status, "interrupted") && strcmp(r->status, "failed"))
                bad = jfail(p, "status", "'%s' is not complete, interrupted, failed or running",
                            r->status);
            for (size_t q = 0; !bad && q < i; q++)
                if (local[q] == local[i]) bad = jfail(p, "id", "run id %lld repeats", local[i]);
        }
        snprintf(p->at, sizeof p->at, "%s", save);
        if (bad) break;
    }
    if (!bad && jarr(p, jm, "limits", 1, &arr)) bad = -1;
    json_array_foreach(arr, i, o) {
        if (bad) break;
        jenter(p, "limits", i, save, sizeof save);
        kt_db_limit_row *l = kt_db_dump_grow((void **)&d->limits, &d->nlimits, sizeof *l);
        if (!l)
            bad = jfail(p, NULL, "out of memory");
        else if (!json_is_object(o))
            bad = jfail(p, NULL, "expected an object");
        else if (jstr(p, o, "name", l->name, sizeof l->name, 0) ||
                 jreal(p, o, "value", 0, &l->value) ||
                 jstr(p, o, "measured_at", l->measured_at, sizeof l->measured_at, 0))
            bad = -1;
        else
            l->machine = mid;
        snprintf(p->at, sizeof p->at, "%s", save);
    }
    if (!bad && jarr(p, jm, "measurements", 1, &arr)) bad = -1;
    json_array_foreach(arr, i, o) {
        if (bad) break;
        jenter(p, "measurements", i, save, sizeof save);
        kt_db_measurement *m =
            kt_db_dump_grow((void **)&d->measurements, &d->nmeasurements, sizeof *m);
        long long ver, samples;
        json_t *valid = json_object_get(o, "valid");
        if (!m) {
            bad = jfail(p, NULL, "out of memory");
        } else if (!json_is_object(o)) {
            bad = jfail(p, NULL, "expected an object");
        } else if (jstr(p, o, "op", m->op, sizeof m->op, 0) || jdims(p, o, &m->m, &m->n, &m->k) ||
                   jstr(p, o, "variant", m->variant, sizeof m->variant, 0) ||
                   jint(p, o, "version", 0, &ver) || jint(p, o, "samples", 0, &samples) ||
                   jreal(p, o, "median_s", 1, &m->median_s) ||
                   jreal(p, o, "spread", 1, &m->spread) || jreal(p, o, "min_s", 1, &m->min_s) ||
                   jreal(p, o, "kernel_s", 1, &m->kernel_s) ||
                   jstr(p, o, "error", m->error, sizeof m->error, 1) ||
                   jreal(p, o, "gflops", 1, &m->gflops) || jreal(p, o, "gbs", 1, &m->gbs) ||
                   jstr(p, o, "measured_at", m->measured_at, sizeof m->measured_at, 0) ||
                   jrun(p, o, d, mid, local, nlocal, first, &m->run) || jrounds(p, o, m)) {
            bad = -1;
        } else if (!json_is_boolean(valid)) {
            bad = jfail(p, "valid", valid ? "expected true or false" : "missing");
        } else {
            m->machine = mid;
            m->version = (unsigned)ver;
            m->samples = samples > 0x7fffffff ? 0x7fffffff : (int)samples;
            m->valid = json_is_true(valid);
            if (ver > 0xffffffffll)
                bad = jfail(p, "version", "too large");
            else if (m->valid && isnan(m->median_s))
                bad = jfail(p, "median_s", "a valid measurement needs a median");
            else if (!has_variant(d, m->op, m->variant, m->version))
                bad = jfail(p, NULL, "variant %s/%s v%u is not in \"variants\"", m->op,
                            m->variant, m->version);
        }
        snprintf(p->at, sizeof p->at, "%s", save);
    }
    if (!bad && jarr(p, jm, "choices", 1, &arr)) bad = -1;
    json_array_foreach(arr, i, o) {
        if (bad) break;
        jenter(p, "choices", i, save, sizeof save);
        kt_db_choice_row *c = kt_db_dump_grow((void **)&d->choices, &d->nchoices, sizeof *c);
        long long ver, rank;
        if (!c) {
            bad = jfail(p, NULL, "out of memory");
        } else if (!json_is_object(o)) {
            bad = jfail(p, NULL, "expected an object");
        } else if (jstr(p, o, "op", c->op, sizeof c->op, 0) ||
                   jdims(p, o, &c->c.m, &c->c.n, &c->c.k) || jint(p, o, "rank", 1, &rank) ||
                   jstr(p, o, "variant", c->c.variant, sizeof c->c.variant, 0) ||
                   jint(p, o, "version", 0, &ver) || jreal(p, o, "median_s", 0, &c->c.median_s) ||
                   jreal(p, o, "margin", 1, &c->c.margin) ||
                   jrun(p, o, d, mid, local, nlocal, first, &c->run) ||
                   jreal(p, o, "ci_lo", 1, &c->c.ci_lo) || jreal(p, o, "ci_hi", 1, &c->c.ci_hi) ||
                   jstr(p, o, "decision", c->c.decision, sizeof c->c.decision, 1)) {
            bad = -1;
        } else {
            c->machine = mid;
            c->c.rank = rank > 0x7fffffff ? 0x7fffffff : (int)rank;
            c->c.version = (unsigned)ver;
            if (ver > 0xffffffffll)
                bad = jfail(p, "version", "too large");
            else if (!has_variant(d, c->op, c->c.variant, c->c.version))
                bad = jfail(p, NULL, "variant %s/%s v%u is not in \"variants\"", c->op,
                            c->c.variant, c->c.version);
        }
        snprintf(p->at, sizeof p->at, "%s", save);
    }
    if (!bad && jarr(p, jm, "profiled_calls", 1, &arr)) bad = -1;
    json_array_foreach(arr, i, o) {
        if (bad) break;
        jenter(p, "profiled_calls", i, save, sizeof save);
        kt_db_profile_row *r = kt_db_dump_grow((void **)&d->profiles, &d->nprofiles, sizeof *r);
        long long calls;
        if (!r)
            bad = jfail(p, NULL, "out of memory");
        else if (!json_is_object(o))
            bad = jfail(p, NULL, "expected an object");
        else if (jstr(p, o, "op", r->op, sizeof r->op, 0) || jdims(p, o, &r->m, &r->n, &r->k) ||
                 jint(p, o, "calls", 0, &calls) || jreal(p, o, "total_s", 0, &r->total_s) ||
                 jstr(p, o, "updated", r->updated, sizeof r->updated, 0))
            bad = -1;
        else
            r->machine = mid, r->calls = calls;
        snprintf(p->at, sizeof p->at, "%s", save);
    }
    if (!bad && jarr(p, jm, "verifications", 1, &arr)) bad = -1;
    json_array_foreach(arr, i, o) {
        if (bad) break;
        jenter(p, "verifications", i, save, sizeof save);
        kt_db_verify_row *v =
            kt_db_dump_grow((void **)&d->verifications, &d->nverifications, sizeof *v);
        long long pass;
        if (!v) {
            bad = jfail(p, NULL, "out of memory");
        } else if (!json_is_object(o)) {
            bad = jfail(p, NULL, "expected an object");
        } else if (jstr(p, o, "op", v->op, sizeof v->op, 0) || jdims(p, o, &v->m, &v->n, &v->k) ||
                   jint(p, o, "pass", 1, &pass) ||
                   jstr(p, o, "dispatched", v->dispatched, sizeof v->dispatched, 0) ||
                   jreal(p, o, "dispatched_s", 1, &v->dispatched_s) ||
                   jstr(p, o, "best", v->best, sizeof v->best, 0) ||
                   jreal(p, o, "best_s", 1, &v->best_s) || jreal(p, o, "ratio", 1, &v->ratio) ||
                   jseed(p, o, &v->seed) || jrun(p, o, d, mid, local, nlocal, first, &v->run)) {
            bad = -1;
        } else if (!v->run) {
            bad = jfail(p, "run", "a verification needs its run");
        } else if (pass > 2) {
            bad = jfail(p, "pass", "%lld is not 1 or 2", pass);
        } else if (jstr(p, o, "fixed", v->fixed, sizeof v->fixed, 1)) {
            bad = -1;
        } else {
            v->machine = mid;
            v->pass = (int)pass;
            json_error_t err;
            json_t *fx = v->fixed[0] ? json_loads(v->fixed, 0, &err) : NULL;
            if (v->fixed[0] && !json_is_object(fx))
                bad = jfail(p, "fixed", "not the text of a JSON object");
            json_decref(fx);
        }
        snprintf(p->at, sizeof p->at, "%s", save);
    }
    free(local);
    return bad ? -1 : 0;
}

/* Sorts choices by machine, op, m, n, k, rank: kt_db_merge() takes them as sets. */
static int cmp_choice_row(const void *a, const void *b) {
    const kt_db_choice_row *x = a, *y = b;
    int c = (x->machine > y->machine) - (x->machine < y->machine);
    if (!c) c = strcmp(x->op, y->op);
    if (!c) c = (x->c.m > y->c.m) - (x->c.m < y->c.m);
    if (!c) c = (x->c.n > y->c.n) - (x->c.n < y->c.n);
    if (!c) c = (x->c.k > y->c.k) - (x->c.k < y->c.k);
    if (!c) c = x->c.rank - y->c.rank;
    return c;
}

/*
 * Reads a JSON export (path, or "-" for standard input) into *d, checking its whole
 * shape.  KT_EINVAL with a message naming the file and the place of the first problem.
 */
kt_status kt_exchange_read(const char *path, kt_db_dump *d) {
    memset(d, 0, sizeof *d);
    json_error_t err;
    json_t *doc = !strcmp(path, "-") ? json_loadf(stdin, 0, &err) : json_load_file(path, 0, &err);
    if (!doc) {
        if (err.line < 0 && strcmp(path, "-"))
            return kt_fail(KT_EIO, "%s: %s", path, err.text);
        return kt_fail(KT_EINVAL, "%s: not valid JSON (line %d, column %d: %s)", path, err.line,
                       err.column, err.text);
    }
    jpath p = {.file = strcmp(path, "-") ? path : "standard input", .at = ""};
    int bad = 0;
    const char *fmt = json_string_value(json_object_get(doc, "format"));
    json_t *ver = json_object_get(doc, "format_version");
    json_t *vars, *machines;
    if (!json_is_object(doc) || !fmt || strcmp(fmt, KT_EXPORT_FORMAT)) {
        bad = jfail(&p, NULL, "not a ktune export (no \"format\": \"%s\")", KT_EXPORT_FORMAT);
    } else if (!json_is_integer(ver) || json_integer_value(ver) < 1) {
        bad = jfail(&p, "format_version", "missing or not a positive integer");
    } else if (json_integer_value(ver) > KT_EXPORT_VERSION) {
        bad = jfail(&p, "format_version",
                    "%lld is newer than this ktune reads (%d): import it with a newer ktune",
                    (long long)json_integer_value(ver), KT_EXPORT_VERSION);
    } else if (jarr(&p, doc, "variants", 0, &vars) || jarr(&p, doc, "machines", 0, &machines)) {
        bad = -1;
    }
    size_t i;
    json_t *o;
    char save[160];
    if (!bad) {
        json_array_foreach(vars, i, o) {
            jenter(&p, "variants", i, save, sizeof save);
            kt_db_variant_row *v = kt_db_dump_grow((void **)&d->variants, &d->nvariants,
                                                   sizeof *v);
            long long version;
            if (!v)
                bad = jfail(&p, NULL, "out of memory");
            else if (!json_is_object(o))
                bad = jfail(&p, NULL, "expected an object");
            else if (jstr(&p, o, "op", v->op, sizeof v->op, 0) ||
                     jstr(&p, o, "name", v->name, sizeof v->name, 0) ||
                     jint(&p, o, "version", 0, &version) ||
                     jstr(&p, o, "backend", v->backend, sizeof v->backend, 0) ||
                     jstr(&p, o, "params", v->params, sizeof v->params, 1))
                bad = -1;
            else if (version > 0xffffffffll)
                bad = jfail(&p, "version", "too large");
            else
                v->version = (unsigned)version;
            snprintf(p.at, sizeof p.at, "%s", save);
            if (bad) break;
        }
    }
    /* sorted, so that each row's variant is found by binary search, not a scan */
    if (!bad && d->nvariants > 1)
        qsort(d->variants, d->nvariants, sizeof *d->variants, cmp_variant);
    if (!bad) {
        json_array_foreach(machines, i, o) {
            jenter(&p, "machines", i, save, sizeof save);
            bad = read_machine(&p, o, (int64_t)i + 1, d);
            snprintf(p.at, sizeof p.at, "%s", save);
            if (bad) break;
            for (size_t q = 0; q + 1 < d->nmachines; q++)
                if (!strcmp(d->machines[q].fingerprint,
                            d->machines[d->nmachines - 1].fingerprint)) {
                    jenter(&p, "machines", i, save, sizeof save);
                    bad = jfail(&p, "fingerprint", "appears twice");
                    break;
                }
            if (bad) break;
        }
    }
    json_decref(doc);
    if (bad) {
        kt_db_dump_free(d);
        return KT_EINVAL;
    }
    if (d->nchoices > 1) /* qsort(NULL, 0, ...) is undefined: a file without choices */
        qsort(d->choices, d->nchoices, sizeof *d->choices, cmp_choice_row);
    return KT_OK;
}


/* Refuses a file of a newer schema: exporting or merging it would drop what we lack. */
int kt_exchange_refuse_newer(kt_db *db, const char *cmd) {
    if (kt_db_version(db) <= KT_DB_SCHEMA_VERSION) return KT_EXIT_OK;
    return kt_cli_error(KT_EXIT_FAIL, cmd,
                        "%s has schema version %d, newer than this ktune's (%d): use a newer "
                        "ktune (this one would drop what it does not know)",
                        kt_db_path(db), kt_db_version(db), KT_DB_SCHEMA_VERSION);
}

/* ---- Import and merge ---------------------------------------------------- */

static void print_report(const char *cmd, const char *from, const char *into, int dry,
                         const kt_db_merge_report *r) {
    char lead[32], text[8400];
    snprintf(lead, sizeof lead, "ktune %s:", cmd);
    snprintf(text, sizeof text, "%s into %s%s", from, into,
             dry ? " (dry run: nothing changed)" : "");
    kt_ins_wrap(lead, (int)strlen(lead) + 1, text);
    printf("  %-16s %8s %10s %9s %6s\n", "", "added", "identical", "replaced", "kept");
    const struct {
        const char *name;
        const kt_db_merge_count *c;
    } rows[] = {{"machines", &r->machines},          {"runs", &r->runs},
                {"variants", &r->variants},          {"measurements", &r->measurements},
                {"choice sets", &r->choices},        {"limits", &r->limits},
                {"profiled calls", &r->profiles},    {"verifications", &r->verifications}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        printf("  %-16s %8d %10d %9d %6d\n", rows[i].name, rows[i].c->added, rows[i].c->identical,
               rows[i].c->replaced, rows[i].c->kept);
    if (!r->nconflicts) {
        printf("no conflicts\n");
        return;
    }
    printf("%zu conflict%s (same key, different values; the newest complete run wins):\n",
           r->nconflicts, r->nconflicts == 1 ? "" : "s");
    size_t shown = r->nconflicts > 20 ? 20 : r->nconflicts;
    for (size_t i = 0; i < shown; i++) {
        const kt_db_conflict *c = &r->conflicts[i];
        snprintf(lead, sizeof lead, "  %s", c->table);
        snprintf(text, sizeof text, "%s: %s (%s)", c->key,
                 c->incoming_won ? "incoming row won" : "existing row kept", c->why);
        kt_ins_wrap(lead, 17, text);
    }
    if (shown < r->nconflicts)
        printf("  ... and %zu more (--json lists them all)\n", r->nconflicts - shown);
}

static json_t *count_json(const kt_db_merge_count *c) {
    return json_pack("{s:i, s:i, s:i, s:i}", "added", c->added, "identical", c->identical,
                     "replaced", c->replaced, "kept", c->kept);
}

static json_t *report_json(const char *cmd, const char *from, const char *into, int dry,
                           const kt_db_merge_report *r) {
    json_t *conf = json_array();
    for (size_t i = 0; i < r->nconflicts; i++)
        json_array_append_new(conf, json_pack("{s:s, s:s, s:s, s:s}", "table",
                                              r->conflicts[i].table, "key", r->conflicts[i].key,
                                              "winner",
                                              r->conflicts[i].incoming_won ? "incoming"
                                                                           : "existing",
                                              "why", r->conflicts[i].why));
    return json_pack("{s:s, s:s, s:s, s:b, s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}, s:o}",
                     "command", cmd, "from", from, "into", into, "dry_run", dry, "counts",
                     "machines", count_json(&r->machines), "runs", count_json(&r->runs),
                     "variants", count_json(&r->variants), "measurements",
                     count_json(&r->measurements), "choices", count_json(&r->choices), "limits",
                     count_json(&r->limits), "profiled_calls", count_json(&r->profiles),
                     "verifications", count_json(&r->verifications),
                     "conflicts", conf);
}

/*
 * Merges dump d into the database (dbpath, or the default), creating it if missing; a
 * file created here is removed again when the merge fails.  Prints the report.
 */
int kt_exchange_merge_into(const char *cmd, const char *dbpath, const char *from, kt_db_dump *d,
                      int dry, int json) {
    char path[4096];
    if (!dbpath || !*dbpath) {
        if (kt_db_default_path(path, sizeof path, 1) != KT_OK)
            return kt_cli_error(KT_EXIT_FAIL, cmd, "%s", kt_last_error());
    } else {
        snprintf(path, sizeof path, "%s", dbpath);
    }
    struct stat st;
    int existed = stat(path, &st) == 0;
    if (!existed && dry) {
        /* nothing to compare with: everything would be added */
        kt_db_merge_report r = {0};
        r.machines.added = (int)d->nmachines, r.runs.added = (int)d->nruns;
        r.variants.added = (int)d->nvariants, r.measurements.added = (int)d->nmeasurements;
        r.limits.added = (int)d->nlimits, r.profiles.added = (int)d->nprofiles;
        r.verifications.added = (int)d->nverifications;
        for (size_t i = 0; i < d->nchoices; i++)
            r.choices.added += i == 0 || d->choices[i].machine != d->choices[i - 1].machine ||
                               strcmp(d->choices[i].op, d->choices[i - 1].op) != 0;
        if (json) return kt_cli_json_out(report_json(cmd, from, path, dry, &r));
        print_report(cmd, from, path, dry, &r);
        return KT_EXIT_OK;
    }
    kt_db *db;
    if (kt_db_open_write(path, &db) != KT_OK)
        return kt_cli_error(KT_EXIT_FAIL, cmd, "%s", kt_last_error());
    kt_db_merge_report r;
    kt_status s = kt_db_merge(db, d, dry, &r);
    char msg[600] = "";
    if (s != KT_OK) snprintf(msg, sizeof msg, "%s", kt_last_error());
    kt_status cs = kt_db_close(db);
    if (s == KT_OK && cs != KT_OK) {
        s = cs;
        snprintf(msg, sizeof msg, "%s", kt_last_error());
    }
    if (s != KT_OK) {
        if (!existed) {
            /* leave no trace of a database this command created */
            char side[4200];
            unlink(path);
            snprintf(side, sizeof side, "%s-wal", path);
            unlink(side);
            snprintf(side, sizeof side, "%s-shm", path);
            unlink(side);
        }
        kt_db_merge_report_free(&r);
        return kt_cli_error(KT_EXIT_FAIL, cmd, "%s; nothing was changed", msg);
    }
    int rc = KT_EXIT_OK;
    if (json)
        rc = kt_cli_json_out(report_json(cmd, from, path, dry, &r));
    else
        print_report(cmd, from, path, dry, &r);
    kt_db_merge_report_free(&r);
    return rc;
}

/* Parses the options of import and merge: one operand, --db, --dry-run, --json. */
int kt_exchange_parse_opts(int argc, char **argv, const char *cmd, const char *help,
                            const char **operand, const char **dbpath, int *dry, int *json) {
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"dry-run", no_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': *dbpath = optarg; break;
        case 'n': *dry = 1; break;
        case 'j': *json = 1; break;
        case 'h': fputs(help, stdout); return KT_EXIT_OK;
        default:
            return kt_cli_error(KT_EXIT_USAGE, cmd, "bad option '%s' (see --help)",
                                argv[optind - 1]);
        }
    }
    if (optind >= argc) return kt_cli_error(KT_EXIT_USAGE, cmd, "which file? (see --help)");
    if (optind + 1 < argc)
        return kt_cli_error(KT_EXIT_USAGE, cmd, "unexpected argument '%s'", argv[optind + 1]);
    *operand = argv[optind];
    return -1;
}
