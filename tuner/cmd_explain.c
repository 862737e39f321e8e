/*
 * `ktune explain OP SIZE...`: what a call of OP at that size dispatches to right now, in
 * this process's environment, on this machine, and why.  The live part comes from the
 * library (kt_dispatch_explain, kt_variant_get); the evidence from the database: the
 * tuned size the call was matched to and every variant's measurement there.  Each
 * variant that cannot be called is listed with the reason (CPU feature, no CUDA device,
 * validation failed, disabled or forced by the environment, measured with older code).
 *
 * As in show, the result is one JSON document; the text is rendered from it.
 */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kt_inspect.h"

static const char explain_help[] =
    "usage: ktune explain OP SIZE... [--db PATH] [--json]\n\n"
    "Explains what a call of OP with these sizes (n for vector ops; m n for\n"
    "matrix-vector ops; m n k for matrix products) dispatches to now on this\n"
    "machine, and why: the tuned size it was matched to, every variant's measured\n"
    "time there (median and spread) against the chosen one, the variants that\n"
    "cannot be called and why (CPU feature missing, no CUDA device, validation\n"
    "failed, KTUNE_DISABLE, KTUNE_FORCE, measured with older code), and for CUDA\n"
    "variants the split between transfers and the kernel.  Environment overrides\n"
    "(KTUNE_FORCE, KTUNE_DISABLE, KTUNE_MAX_ISA, KTUNE_NUM_THREADS) apply as they\n"
    "would to a program.  Sizes take the forms 100000, 1e5, 2^17, 128k.\n\n"
    "  --db PATH   the database (default: KTUNE_DB, else\n"
    "              $XDG_DATA_HOME/ktune/ktune.db or ~/.local/share/ktune/ktune.db)\n"
    "  --json      machine-readable output\n"
    "Exit status: 0 success, 1 failure (unreadable database), 2 bad command line\n"
    "(unknown op, malformed or missing sizes).\n";

/* Parses one size (no lists or ranges); 0 on success. */
static int parse_size(const char *s, size_t *out) {
    size_t *v = NULL, n = 0;
    if (!*s || strpbrk(s, ",:") || kt_sizes_parse(s, &v, &n) || n != 1) {
        free(v);
        return -1;
    }
    *out = v[0];
    free(v);
    return 0;
}

typedef struct keep_dims {
    size_t m, n, k;
} keep_dims;

static int keep_at(void *ctx, const kt_db_measurement *me) {
    const keep_dims *d = ctx;
    return me->m == d->m && me->n == d->n && me->k == d->k;
}

/* The tuned point of choices (rank 1 rows) nearest to dims[0] in log scale, or NULL. */
static const kt_db_choice *nearest(const kt_db_choice *ch, size_t n, kt_op_id id,
                                   const size_t dims[3]) {
    const kt_db_choice *best = NULL;
    double bd = INFINITY, x = log((double)dims[0]);
    for (size_t i = 0; i < n; i++) {
        if (ch[i].rank != 1) continue;
        size_t d[3];
        kt_ins_unpack(id, ch[i].m, ch[i].n, ch[i].k, d);
        double dist = fabs(log((double)(d[0] ? d[0] : 1)) - x);
        if (dist < bd) bd = dist, best = &ch[i];
    }
    return best;
}

/* Evidence from the database: the matched point and its measurements. */
typedef struct evidence {
    int have_db;                  /* a database was read */
    char db_note[4400];           /* why there is none, or its problem */
    int64_t machine;              /* 0: this machine is not in the file */
    int other_machines;
    kt_db_choice *choices;        /* this op, this machine */
    size_t nchoices;
    const kt_db_choice *matched;  /* rank-1 row of the matched point */
    kt_db_measurement *ms;        /* measurements at the matched point */
    size_t nms;
    kt_db_run_row run;            /* the run of the matched choices (started "" if none) */
} evidence;

static void evidence_free(evidence *e) {
    free(e->choices);
    free(e->ms);
    free(e->run.options);
}

/* Reads the evidence for op at dims from the database at path. */
static kt_status read_evidence(kt_db *db, kt_op_id id, const size_t dims[3],
                               const kt_dispatch_info *info, evidence *e) {
    const char *fp = kt_fingerprint();
    kt_db_dump all;
    kt_status s = kt_db_dump_read(db, NULL, 0, &all);
    if (s != KT_OK) return s;
    for (size_t i = 0; i < all.nmachines; i++) {
        if (!strcmp(all.machines[i].fingerprint, fp))
            e->machine = all.machines[i].id;
        else
            e->other_machines++;
    }
    kt_db_dump_free(&all);
    if (!e->machine) return KT_OK;
    s = kt_db_choices_load(db, fp, kt_ops[id].name, &e->choices, &e->nchoices);
    if (s != KT_OK || !e->nchoices) return s;
    /* the point dispatch matched, else the nearest tuned one */
    if (!strcmp(info->source, "tuned")) {
        size_t mnk[3];
        kt_db_dims_pack(kt_ops[id].ndims, info->matched, mnk);
        for (size_t i = 0; i < e->nchoices && !e->matched; i++)
            if (e->choices[i].rank == 1 && e->choices[i].m == mnk[0] &&
                e->choices[i].n == mnk[1] && e->choices[i].k == mnk[2])
                e->matched = &e->choices[i];
    }
    if (!e->matched) e->matched = nearest(e->choices, e->nchoices, id, dims);
    if (!e->matched) return KT_OK;
    keep_dims kd = {e->matched->m, e->matched->n, e->matched->k};
    s = kt_db_measurements_list(db, e->machine, kt_ops[id].name, keep_at, &kd, &e->ms, &e->nms);
    if (s != KT_OK) return s;
    /* the run that made these choices */
    for (size_t i = 0; i < e->nms; i++) {
        if (strcmp(e->ms[i].variant, e->matched->variant) || e->ms[i].version != e->matched->version)
            continue;
        if (e->ms[i].run && kt_db_run_get(db, e->ms[i].run, &e->run) != KT_OK)
            memset(&e->run, 0, sizeof e->run);
        break;
    }
    return KT_OK;
}

/* The measurement of variant v (any version when current == 0) at the matched point. */
static const kt_db_measurement *find_ms(const evidence *e, const char *name, unsigned version,
                                        int any) {
    const kt_db_measurement *found = NULL;
    for (size_t i = 0; i < e->nms; i++) {
        if (strcmp(e->ms[i].variant, name)) continue;
        if (e->ms[i].version == version) return &e->ms[i];
        if (any && (!found || e->ms[i].version > found->version)) found = &e->ms[i];
    }
    return any ? found : NULL;
}

static json_t *dims_json(kt_op_id id, const size_t dims[3]) {
    json_t *o = json_object();
    const char *names = kt_ops[id].dim_names;
    for (int i = 0; i < kt_ops[id].ndims; i++) {
        const char *comma = strchr(names, ',');
        size_t l = comma ? (size_t)(comma - names) : strlen(names);
        char key[16];
        snprintf(key, sizeof key, "%.*s", (int)(l < 15 ? l : 15), names);
        json_object_set_new(o, key, json_integer((json_int_t)dims[i]));
        names = comma ? comma + 1 : "";
    }
    return o;
}

/*
 * The sentence about a GPU variant's split: its kernel against the best CPU variant's
 * whole call, and its transfers against the same.
 */
static void gpu_note(const char *name, double total, double kernel, const char *cpu_name,
                     double cpu, char *buf, size_t len) {
    double transfer = total - kernel;
    char a[32], b[32];
    if (!(cpu > 0)) {
        snprintf(buf, len, "%s: kernel %s, transfers %s of the %s call", name,
                 kt_cli_time(kernel, a, sizeof a), kt_cli_time(transfer, b, sizeof b),
                 kt_cli_time(total, b, sizeof b));
        return;
    }
    double kx = cpu / kernel, tx = transfer / cpu;
    if (kx >= 1)
        snprintf(buf, len,
                 "%s: the kernel (%s) is %.1fx faster than %s, but transfers (%s) cost "
                 "%.1fx %s's whole call",
                 name, kt_cli_time(kernel, a, sizeof a), kx, cpu_name,
                 kt_cli_time(transfer, b, sizeof b), tx, cpu_name);
    else
        snprintf(buf, len,
                 "%s: even the kernel alone (%s) is %.1fx slower than %s; transfers add %s",
                 name, kt_cli_time(kernel, a, sizeof a), 1 / kx, cpu_name,
                 kt_cli_time(transfer, b, sizeof b));
}

/* Builds the whole explanation. */
static json_t *explain_json(kt_op_id id, const size_t dims[3], const kt_dispatch_info *info,
                            const char *dbpath, const evidence *e) {
    const char *op = kt_ops[id].name;
    json_t *vars = json_array(), *notes = json_array();
    const kt_db_measurement *chosen = find_ms(e, info->variant, 0, 1);
    /* the chosen one's current measurement */
    const kt_variant *cv = kt_variant_lookup(id, info->variant);
    if (cv) chosen = find_ms(e, cv->name, cv->version, 0);
    double chosen_s = chosen && chosen->valid ? chosen->median_s : NAN;
    /* the best CPU variant measured here (for the GPU split) */
    const kt_db_measurement *best_cpu = NULL;
    for (size_t i = 0; i < e->nms; i++) {
        const kt_db_measurement *me = &e->ms[i];
        const kt_variant *v = kt_variant_lookup(id, me->variant);
        if (!me->valid || !v || v->version != me->version || (v->flags & KT_VF_GPU)) continue;
        if (!best_cpu || me->median_s < best_cpu->median_s) best_cpu = me;
    }
    size_t nv = kt_variant_count(op);
    for (size_t i = 0; i < nv; i++) {
        kt_variant_info vi;
        if (kt_variant_get(op, i, &vi) != KT_OK) continue;
        const kt_variant *v = kt_variant_lookup(id, vi.name);
        if (v && (v->flags & KT_VF_TEST) && !find_ms(e, vi.name, 0, 1)) continue;
        const kt_db_measurement *me = find_ms(e, vi.name, vi.version, 0);
        const kt_db_measurement *old = me ? NULL : find_ms(e, vi.name, 0, 1);
        const char *status = "measured";
        char why[320] = "";
        if (!strcmp(vi.name, info->variant)) {
            status = "chosen";
        } else if (!vi.available) {
            status = "excluded";
            snprintf(why, sizeof why, "%s", vi.reason);
        } else if (me && !me->valid) {
            status = "excluded";
            snprintf(why, sizeof why, "%s", me->error[0] ? me->error : "failed validation");
        } else if (!me && old) {
            status = "excluded";
            snprintf(why, sizeof why, "measured with version %u, this build has %u: measure "
                     "it again (ktune tune)", old->version, vi.version);
        } else if (!me && e->matched) {
            status = "excluded";
            snprintf(why, sizeof why, "not measured at this size (the tuner skips variants "
                     "far behind; a new one is measured by ktune tune)");
        } else if (!strcmp(info->source, "forced")) {
            status = "excluded";
            snprintf(why, sizeof why, "the op is forced to %s", info->variant);
        } else if (!me) {
            status = "excluded";
            snprintf(why, sizeof why, "no measurement");
        }
        json_t *j = json_pack("{s:s, s:s, s:i, s:b, s:o, s:s, s:o}", "name", vi.name, "backend",
                              vi.backend, "version", (int)vi.version, "available",
                              vi.available, "reason",
                              vi.available ? json_null() : json_string(vi.reason), "status",
                              status, "excluded_because",
                              why[0] ? json_string(why) : json_null());
        if (me && me->valid) {
            double tp = kt_ins_throughput(id, dims, NAN);
            size_t md[3];
            kt_ins_unpack(id, me->m, me->n, me->k, md);
            tp = kt_ins_throughput(id, md, me->median_s);
            json_object_set_new(j, "samples", json_integer(me->samples));
            json_object_set_new(j, "median_s", json_real(me->median_s));
            json_object_set_new(j, "spread", kt_ins_json_real(me->spread));
            json_object_set_new(j, "min_s", kt_ins_json_real(me->min_s));
            json_object_set_new(j, "throughput", kt_ins_json_real(tp));
            json_object_set_new(j, "vs_chosen", kt_ins_json_real(me->median_s / chosen_s));
            if (!isnan(me->kernel_s)) {
                char note[400];
                json_object_set_new(j, "kernel_s", json_real(me->kernel_s));
                json_object_set_new(j, "transfer_s", json_real(me->median_s - me->kernel_s));
                gpu_note(vi.name, me->median_s, me->kernel_s,
                         best_cpu ? best_cpu->variant : "", best_cpu ? best_cpu->median_s : NAN,
                         note, sizeof note);
                json_object_set_new(j, "gpu_note", json_string(note));
                json_array_append_new(notes, json_string(note));
            }
        }
        json_array_append_new(vars, j);
    }
    /* measured variants this build does not have */
    for (size_t i = 0; i < e->nms; i++) {
        if (kt_variant_lookup(id, e->ms[i].variant)) continue;
        json_array_append_new(
            vars, json_pack("{s:s, s:n, s:i, s:b, s:s, s:s, s:s}", "name", e->ms[i].variant,
                            "backend", "version", (int)e->ms[i].version, "available", 0,
                            "reason", "not in this build", "status", "excluded",
                            "excluded_because", "not in this build"));
    }
    json_t *matched = json_null();
    if (e->matched) {
        size_t md[3];
        kt_ins_unpack(id, e->matched->m, e->matched->n, e->matched->k, md);
        int used = !strcmp(info->source, "tuned");
        json_t *run = json_null();
        if (e->run.started[0])
            run = json_pack("{s:s, s:s, s:s}", "started", e->run.started, "status",
                            e->run.status, "ktune_version", e->run.ktune_version);
        const char *second = NULL; /* the runner-up: rank 2 at the same point */
        for (size_t i = 0; i < e->nchoices; i++)
            if (e->choices[i].rank == 2 && e->choices[i].m == e->matched->m &&
                e->choices[i].n == e->matched->n && e->choices[i].k == e->matched->k)
                second = e->choices[i].variant;
        matched = json_pack("{s:o, s:b, s:s, s:o, s:[o, o], s:s, s:o, s:o}", "dims",
                            dims_json(id, md), "used", used, "variant", e->matched->variant,
                            "margin", kt_ins_json_real(e->matched->margin), "margin_ci",
                            kt_ins_json_real(e->matched->ci_lo),
                            kt_ins_json_real(e->matched->ci_hi), "decision",
                            e->matched->decision, "runner_up",
                            second ? json_string(second) : json_null(), "run", run);
        if (!used) {
            char n[200];
            snprintf(n, sizeof n, "the nearest tuned size is shown for reference: the %s "
                     "dispatch does not use the tuning", info->source);
            json_array_insert_new(notes, 0, json_string(n));
        }
    }
    if (e->have_db && !e->machine) {
        char n[200];
        snprintf(n, sizeof n, "the database has no tuning for this machine%s",
                 e->other_machines ? " (only for other machines: ktune show --machine all)"
                                   : "");
        json_array_insert_new(notes, 0, json_string(n));
    } else if (e->have_db && !e->nchoices) {
        json_array_insert_new(notes, 0, json_string("this op was never tuned on this machine"));
    }
    if (e->db_note[0]) json_array_insert_new(notes, 0, json_string(e->db_note));
    return json_pack("{s:s, s:o, s:s, s:o, s:{s:s, s:s, s:s}, s:o, s:o, s:o}", "op", op, "dims",
                     dims_json(id, dims), "fingerprint", kt_fingerprint(), "db",
                     e->have_db ? json_string(dbpath) : json_null(), "dispatch", "variant",
                     info->variant, "source", info->source, "why", info->why, "matched",
                     matched, "variants", vars, "notes", notes);
}

/* ---- Text --------------------------------------------------------------- */

static double jnum(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *jstr(json_t *o, const char *key) {
    const char *s = kt_cli_jstr(json_object_get(o, key));
    return s ? s : "";
}

static void dims_text(json_t *d, char *buf, size_t len) {
    const char *k;
    json_t *v;
    size_t used = 0;
    buf[0] = '\0';
    json_object_foreach(d, k, v) {
        int w = snprintf(buf + used, len - used, "%s%s=%lld", used ? " " : "", k,
                         (long long)json_integer_value(v));
        if (w < 0 || (size_t)w >= len - used) break;
        used += (size_t)w;
    }
}

/* The reason with every run of digits replaced by '#': reasons alike but for numbers. */
static const char *skeleton(const char *s, char *buf, size_t len) {
    size_t o = 0;
    for (const char *p = s; *p && o + 1 < len;) {
        if (*p >= '0' && *p <= '9') {
            buf[o++] = '#';
            while (*p >= '0' && *p <= '9') p++;
        } else {
            buf[o++] = *p++;
        }
    }
    buf[o] = '\0';
    return buf;
}

/* One text for n reasons with the same skeleton: numbers that differ become "lo-hi". */
static void merge_numbers(const char **r, size_t n, char *buf, size_t len) {
    const char *pos[256];
    size_t o = 0;
    for (size_t i = 0; i < n; i++) pos[i] = r[i];
    while (*pos[0] && o + 1 < len) {
        if (*pos[0] >= '0' && *pos[0] <= '9') {
            unsigned long long lo = ~0ull, hi = 0;
            for (size_t i = 0; i < n; i++) {
                char *end;
                unsigned long long v = strtoull(pos[i], &end, 10);
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
                pos[i] = end;
            }
            int w = lo == hi ? snprintf(buf + o, len - o, "%llu", lo)
                             : snprintf(buf + o, len - o, "%llu-%llu", lo, hi);
            if (w < 0 || (size_t)w >= len - o) break;
            o += (size_t)w;
        } else {
            buf[o++] = *pos[0];
            for (size_t i = 0; i < n; i++) pos[i]++;
        }
    }
    buf[o] = '\0';
}

/* "threads:t=4,8, openblas:t=4,8": names sharing the text before '=' are merged. */
static void join_names(const char **names, size_t n, char *buf, size_t len) {
    char *used = calloc(n ? n : 1, 1);
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; used && i < n; i++) {
        if (used[i]) continue;
        const char *eq = strrchr(names[i], '=');
        size_t pl = eq ? (size_t)(eq - names[i]) + 1 : 0;
        int w = snprintf(buf + o, len - o, "%s%s", o ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= len - o) break;
        o += (size_t)w;
        used[i] = 1;
        for (size_t q = i + 1; eq && q < n; q++) {
            if (used[q] || strncmp(names[q], names[i], pl) || strchr(names[q] + pl, '='))
                continue;
            used[q] = 1;
            w = snprintf(buf + o, len - o, ",%s", names[q] + pl);
            if (w < 0 || (size_t)w >= len - o) break;
            o += (size_t)w;
        }
    }
    free(used);
}

static void print_text(json_t *doc, kt_op_id id) {
    char dims[96], sfp[68], line[400];
    dims_text(json_object_get(doc, "dims"), dims, sizeof dims);
    printf("%s %s on this machine\n", jstr(doc, "op"), dims);
    printf("  machine    %s\n", kt_ins_short_fp(jstr(doc, "fingerprint"), sfp, sizeof sfp));
    json_t *d = json_object_get(doc, "dispatch");
    printf("  calls      %s (%s)\n", jstr(d, "variant"), jstr(d, "source"));
    json_t *m = json_object_get(doc, "matched");
    if (json_is_object(m)) {
        char md[96], when[32] = "";
        dims_text(json_object_get(m, "dims"), md, sizeof md);
        json_t *run = json_object_get(m, "run");
        if (json_is_object(run))
            snprintf(line, sizeof line, "tuned size %s (run of %s, ktune %s, %s)", md,
                     kt_ins_when(jstr(run, "started"), when, sizeof when),
                     jstr(run, "ktune_version"), jstr(run, "status"));
        else
            snprintf(line, sizeof line, "tuned size %s", md);
        kt_ins_wrap(json_is_true(json_object_get(m, "used")) ? "  matched" : "  nearest", 13,
                    line);
        /* "avx512, 7.0% ahead of openblas, 95% interval 4.0-10.0% (resolved)" */
        json_t *ci = json_object_get(m, "margin_ci"), *ru = json_object_get(m, "runner_up");
        double mg = jnum(m, "margin");
        if (json_is_string(ru) && !isnan(mg)) {
            int n = snprintf(line, sizeof line, "%s, %.1f%% %s %s", jstr(m, "variant"),
                             100 * fabs(mg), mg >= 0 ? "ahead of" : "behind", kt_cli_jstr(ru));
            if (n > 0 && json_is_number(json_array_get(ci, 0)) &&
                json_is_number(json_array_get(ci, 1)))
                n += snprintf(line + n, sizeof line - (size_t)n, ", 95%% interval %.1f%% to %.1f%%",
                              100 * json_number_value(json_array_get(ci, 0)),
                              100 * json_number_value(json_array_get(ci, 1)));
            if (n > 0 && *jstr(m, "decision"))
                snprintf(line + n, sizeof line - (size_t)n, " (%s)", jstr(m, "decision"));
            kt_ins_wrap("  decided", 13, line);
        }
    }
    kt_ins_wrap("  why", 13, jstr(d, "why"));
    json_t *db = json_object_get(doc, "db");
    kt_ins_wrap("  database", 13, json_is_string(db) ? kt_cli_jstr(db) : "none");
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(doc, "notes"), i, n)
        kt_ins_wrap("  note", 13, kt_cli_jstr(n));

    json_t *vars = json_object_get(doc, "variants"), *v;
    int any = 0;
    json_array_foreach(vars, i, v) any |= json_is_number(json_object_get(v, "median_s"));
    if (any) {
        printf("\n  %-18s %10s %8s %9s %10s\n", "variant", "median", "spread", kt_ops[id].unit,
               "vs chosen");
        /* the measured ones, fastest first */
        size_t nv = json_array_size(vars), order[256], no = 0;
        for (size_t k = 0; k < nv && no < 256; k++)
            if (json_is_number(json_object_get(json_array_get(vars, k), "median_s")))
                order[no++] = k;
        for (size_t a = 1; a < no; a++)
            for (size_t b = a; b > 0; b--) {
                double x = json_real_value(json_object_get(json_array_get(vars, order[b - 1]), "median_s"));
                double y = json_real_value(json_object_get(json_array_get(vars, order[b]), "median_s"));
                if (y >= x) break;
                size_t t = order[b];
                order[b] = order[b - 1];
                order[b - 1] = t;
            }
        for (size_t k = 0; k < no; k++) {
            v = json_array_get(vars, order[k]);
            char t[32], sp[16] = "-", tp[16], r[16] = "-", name[40];
            json_t *spread = json_object_get(v, "spread"), *vs = json_object_get(v, "vs_chosen");
            if (json_is_number(spread))
                snprintf(sp, sizeof sp, json_number_value(spread) < 0.1 ? "+-%.1f%%" : "+-%.0f%%",
                         100 * json_number_value(spread));
            if (json_is_number(vs))
                snprintf(r, sizeof r, json_number_value(vs) < 100 ? "%.2fx" : "%.0fx",
                         json_number_value(vs));
            int ch = !strcmp(jstr(v, "status"), "chosen");
            snprintf(name, sizeof name, "%s%s", jstr(v, "name"),
                     ch ? " <" : !strcmp(jstr(v, "status"), "excluded") ? " !" : "");
            json_t *jtp = json_object_get(v, "throughput");
            printf("  %-18.18s %10s %8s %9s %10s\n", name,
                   kt_cli_time(json_number_value(json_object_get(v, "median_s")), t, sizeof t),
                   sp, json_is_number(jtp) ? kt_ins_num(json_number_value(jtp), tp, sizeof tp) : "-",
                   r);
        }
        printf("  (< the chosen variant; ! measured but excluded, see below)\n");
    }
    /* excluded variants, grouped by reason (reasons that differ in numbers only merge) */
    int header = 0;
    size_t nv = json_array_size(vars);
    char *done = calloc(nv ? nv : 1, 1);
    for (size_t k = 0; done && k < nv; k++) {
        v = json_array_get(vars, k);
        const char *why = jstr(v, "excluded_because");
        if (done[k] || !*why) continue;
        if (!header) printf("\n  excluded here\n"), header = 1;
        char key[320], names[400], text[400];
        skeleton(why, key, sizeof key);
        const char *members[256];
        size_t nm = 0;
        for (size_t q = k; q < nv && nm < 256; q++) {
            json_t *w = json_array_get(vars, q);
            char other[320];
            const char *wy = jstr(w, "excluded_because");
            if (done[q] || !*wy || strcmp(skeleton(wy, other, sizeof other), key)) continue;
            done[q] = 1;
            members[nm++] = jstr(w, "name");
        }
        /* the reasons of the members, numbers merged into ranges */
        const char *reasons[256];
        size_t nr = 0;
        for (size_t q = k; q < nv && nr < nm; q++) {
            json_t *w = json_array_get(vars, q);
            for (size_t x = 0; x < nm; x++)
                if (!strcmp(jstr(w, "name"), members[x])) reasons[nr++] = jstr(w, "excluded_because");
        }
        merge_numbers(reasons, nr, text, sizeof text);
        join_names(members, nm, names, sizeof names);
        char lead[420];
        snprintf(lead, sizeof lead, "  %s:", names);
        if (strlen(lead) > 26) {
            kt_ins_wrap("", 2, lead + 2);
            kt_ins_wrap("", 6, text);
        } else {
            kt_ins_wrap(lead, 27, text);
        }
    }
    free(done);
}

int kt_cmd_explain(int argc, char **argv) {
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dbopt = NULL;
    int json = 0, c;
    optind = 1;
    opterr = 0;
    /* options may follow the operands: no '+' in the option string */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dbopt = optarg; break;
        case 'j': json = 1; break;
        case 'h': fputs(explain_help, stdout); return KT_EXIT_OK;
        default:
            return kt_cli_error(KT_EXIT_USAGE, "explain", "bad option '%s' (see --help)",
                                argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return kt_cli_error(KT_EXIT_USAGE, "explain", "which operation? (see --help)");
    kt_op_id id = kt_op_find(argv[optind]);
    if (id == KT_OP_NONE)
        return kt_cli_error(KT_EXIT_USAGE, "explain", "unknown operation '%s' (see ktune list)",
                            argv[optind]);
    int nd = kt_ops[id].ndims, given = argc - optind - 1;
    if (given != nd)
        return kt_cli_error(KT_EXIT_USAGE, "explain", "%s takes %d size%s (%s), not %d",
                            kt_ops[id].name, nd, nd > 1 ? "s" : "", kt_ops[id].dim_names, given);
    size_t dims[3] = {0, 0, 0};
    for (int i = 0; i < nd; i++)
        if (parse_size(argv[optind + 1 + i], &dims[i]))
            return kt_cli_error(KT_EXIT_USAGE, "explain",
                                "malformed size '%s' (a whole number >= 1: 100000, 1e5, "
                                "2^17, 128k)",
                                argv[optind + 1 + i]);
    for (int i = nd; i < 3; i++) dims[i] = dims[0];

    /* the database dispatch reads: --db becomes KTUNE_DB, before the library starts */
    if (dbopt && setenv("KTUNE_DB", dbopt, 1) != 0)
        return kt_cli_error(KT_EXIT_FAIL, "explain", "cannot set KTUNE_DB");
    char path[4096] = "";
    evidence e = {0};
    kt_db *db = NULL;
    if (kt_db_default_path(path, sizeof path, 0) != KT_OK) {
        snprintf(e.db_note, sizeof e.db_note, "no database path (%s): built-in defaults",
                 kt_last_error());
        path[0] = '\0';
    } else {
        struct stat st;
        if (stat(path, &st) != 0) {
            if (dbopt)
                return kt_cli_error(KT_EXIT_FAIL, "explain", "no database at %s", path);
            snprintf(e.db_note, sizeof e.db_note,
                     "no tuning database at %s: the built-in defaults apply (ktune tune)", path);
        } else {
            int rc = kt_ins_open("explain", path, &db);
            if (rc != KT_EXIT_OK) return rc;
            e.have_db = 1;
        }
    }
    kt_init();
    kt_dispatch_info info;
    if (kt_dispatch_explain(kt_ops[id].name, dims, &info) != KT_OK) {
        kt_db_close(db);
        return kt_cli_error(KT_EXIT_FAIL, "explain", "%s", kt_last_error());
    }
    if (e.have_db && kt_init_status() != KT_OK)
        snprintf(e.db_note, sizeof e.db_note, "the library could not use the database (%s)",
                 kt_strerror(kt_init_status()));
    kt_status s = db ? read_evidence(db, id, dims, &info, &e) : KT_OK;
    int rc = KT_EXIT_OK;
    if (s != KT_OK) {
        rc = kt_cli_error(KT_EXIT_FAIL, "explain", "%s", kt_last_error());
    } else {
        json_t *doc = explain_json(id, dims, &info, path, &e);
        if (json) {
            rc = kt_cli_json_out(doc);
        } else {
            print_text(doc, id);
            json_decref(doc);
            rc = fflush(stdout) == 0 ? KT_EXIT_OK : KT_EXIT_FAIL;
        }
    }
    evidence_free(&e);
    kt_db_close(db);
    return rc;
}
