/*
 * `ktune profile`: runs a program linked with ktune with recording on and prints its
 * hotspot table when it exits; `--show` prints a stored profile.  The table is built
 * once as a JSON document (what --json prints) and the text rendered from it.  Also the
 * stored-profile readers tuner/kt_hot.h declares (`ktune tune --from-profile`).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kt_dispatch.h"
#include "kt_hot.h"
#include "kt_inspect.h"

static const char profile_help[] =
    "usage: ktune profile [--db PATH] [--json] [--] CMD [ARGS...]\n"
    "       ktune profile --show [--program P] [--db PATH] [--json]\n"
    "       ktune profile --import FILE [--db PATH]\n\n"
    "Runs CMD (a program linked with ktune) with recording on (KTUNE_PROFILE=1) and,\n"
    "when it exits, prints its hotspot table: per op and shape the calls, the total\n"
    "time (sampled: the estimate rests on the calls timed) and its share, the variant\n"
    "that ran, how dispatch serves that shape now (tuned: this very shape was tuned;\n"
    "neighbour: the nearest tuned shape decides; default: built-in defaults) and the\n"
    "estimated gain if it were tuned (from the stored measurements of the nearest\n"
    "measured shape).  When the database holds an earlier profile of the same program\n"
    "and arguments, each row also shows the time per call before and now.  Below the\n"
    "table, the dispatch counters per op (tuned, neighbour, default, forced, strided,\n"
    "fallback).  `ktune tune --from-profile` tunes the shapes of the newest profile.\n"
    "Shapes are as dispatch sees them: column-major (row-major gemv m x n is n x m;\n"
    "row-major gemm m x n x k is n x m x k); ~ marks a log2 class.\n\n"
    "  --db PATH      the database the program writes its profile to and the table\n"
    "                 is read from (default: KTUNE_DB, else\n"
    "                 $XDG_DATA_HOME/ktune/ktune.db or ~/.local/share/ktune/ktune.db)\n"
    "  --show         print the newest stored profile instead of running anything\n"
    "  --program P    with --show: of program P (its path, or its file name)\n"
    "  --import FILE  store a profile a program wrote to a file (KTUNE_PROFILE=FILE,\n"
    "                 when it could not write the database)\n"
    "  --json         machine-readable output\n"
    "Exit status: CMD's own (128 + N when a signal N ended it; 127 when it cannot be\n"
    "run); 1 when its profile cannot be read, 2 bad command line.\n";

/* ---- stored profiles (kt_hot.h) ------------------------------------------------------ */

kt_status kt_hot_session(kt_db *db, const char *program, kt_db_prof_run *out) {
    kt_db_prof_run *s = NULL;
    size_t n = 0;
    kt_status st = kt_db_profile_sessions(db, program, &s, &n);
    if (st != KT_OK) return st;
    if (!n) {
        free(s);
        if (kt_db_version(db) < 3)
            return kt_fail(KT_ENOTFOUND, "%s holds no profiles (schema %d: written before "
                           "profiles existed)", kt_db_path(db), kt_db_version(db));
        return program ? kt_fail(KT_ENOTFOUND, "no stored profile of a program '%s' in %s",
                                 program, kt_db_path(db))
                       : kt_fail(KT_ENOTFOUND, "no stored profile in %s (ktune profile -- "
                                 "CMD makes one)", kt_db_path(db));
    }
    *out = s[0];
    free(s);
    return KT_OK;
}

kt_status kt_hot_previous(kt_db *db, const kt_db_prof_run *cur, kt_db_prof_run *out) {
    kt_db_prof_run *s = NULL;
    size_t n = 0;
    kt_status st = kt_db_profile_sessions(db, cur->program, &s, &n);
    if (st != KT_OK) return st;
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(s[i].session, cur->session)) {
            seen = 1;
            continue;
        }
        if (seen && !strcmp(s[i].program, cur->program) &&
            !strcmp(s[i].args_hash, cur->args_hash)) {
            *out = s[i];
            free(s);
            return KT_OK;
        }
    }
    free(s);
    return KT_ENOTFOUND;
}

static int same_shape(const kt_hot_shape *a, kt_op_id op, const size_t d[3]) {
    return a->op == op && a->dims[0] == d[0] && a->dims[1] == d[1] && a->dims[2] == d[2];
}

kt_status kt_hot_shapes(kt_db *db, const char *session, size_t top, double share,
                        kt_hot_shape **out, size_t *n, size_t *unknown) {
    kt_db_prof_call *c = NULL;
    size_t nc = 0;
    *out = NULL, *n = 0, *unknown = 0;
    kt_status s = kt_db_profile_calls(db, session, &c, &nc);
    if (s != KT_OK) return s;
    kt_hot_shape *h = calloc(nc ? nc : 1, sizeof *h);
    if (!h) {
        free(c);
        return kt_fail(KT_ENOMEM, "out of memory");
    }
    double total = 0;
    size_t nh = 0;
    for (size_t i = 0; i < nc; i++) {
        total += c[i].total_s;
        kt_op_id op = kt_op_find(c[i].op);
        if (op >= KT_OP_COUNT || c[i].bucket == 2) {
            *unknown += op >= KT_OP_COUNT;
            continue;
        }
        size_t d[3];
        kt_ins_unpack(op, c[i].m, c[i].n, c[i].k, d);
        if (c[i].bucket == 1) /* a log2 class [2^b, 2^(b+1)): its middle */
            for (int j = 0; j < 3; j++) d[j] += d[j] / 2;
        size_t j = 0;
        while (j < nh && !same_shape(&h[j], op, d)) j++;
        if (j == nh) h[nh++] = (kt_hot_shape){op, {d[0], d[1], d[2]}, 0, 0};
        h[j].total_s += c[i].total_s;
        h[j].calls += c[i].calls;
    }
    free(c);
    /* the most time first (insertion sort: tens of rows) */
    for (size_t i = 1; i < nh; i++)
        for (size_t j = i; j > 0 && h[j].total_s > h[j - 1].total_s; j--) {
            kt_hot_shape t = h[j];
            h[j] = h[j - 1], h[j - 1] = t;
        }
    size_t keep = 0;
    double acc = 0;
    while (keep < nh && (!top || keep < top) &&
           (!(share > 0) || share >= 1 || keep == 0 || acc < share * total)) {
        acc += h[keep].total_s;
        keep++;
    }
    *out = h, *n = keep;
    return KT_OK;
}

/* ---- the table ----------------------------------------------------------------------- */

static void shape_text(kt_op_id op, const kt_db_prof_call *c, char *buf, size_t len) {
    if (c->bucket == 2) {
        snprintf(buf, len, "(other shapes)");
        return;
    }
    size_t d[3];
    kt_ins_unpack(op, c->m, c->n, c->k, d);
    const char *pre = c->bucket == 1 ? "~" : "";
    int nd = op >= KT_OP_COUNT ? 3 : kt_ops[op].ndims;
    if (nd == 1) snprintf(buf, len, "%sn=%zu", pre, d[0]);
    else if (nd == 2) snprintf(buf, len, "%s%zux%zu", pre, d[0], d[1]);
    else snprintf(buf, len, "%s%zux%zux%zu", pre, d[0], d[1], d[2]);
}

static int keep_valid(void *ctx, const kt_db_measurement *me) {
    (void)ctx;
    return me->valid && me->median_s > 0;
}

/*
 * The estimated gain if shape d of op were tuned: at the nearest measured shape (log
 * space), the variant that ran against the fastest there.  NAN: nothing to go on.
 */
static double gain_of(const kt_db_measurement *ms, size_t nms, kt_op_id op, const size_t d[3],
                      const char *variant, double total_s, char *at, size_t atlen) {
    double best_d = INFINITY;
    size_t bm[3] = {0, 0, 0};
    int nd = kt_ops[op].ndims;
    for (size_t i = 0; i < nms; i++) {
        size_t md[3];
        kt_ins_unpack(op, ms[i].m, ms[i].n, ms[i].k, md);
        double dist = 0;
        for (int j = 0; j < nd; j++) {
            double e = kt_flog2(md[j]) - kt_flog2(d[j]);
            dist += e * e;
        }
        if (dist < best_d) best_d = dist, memcpy(bm, md, sizeof bm);
    }
    if (!isfinite(best_d)) return NAN;
    double ran = NAN, best = INFINITY;
    for (size_t i = 0; i < nms; i++) {
        size_t md[3];
        kt_ins_unpack(op, ms[i].m, ms[i].n, ms[i].k, md);
        if (md[0] != bm[0] || md[1] != bm[1] || md[2] != bm[2]) continue;
        const kt_variant *v = kt_variant_lookup(op, ms[i].variant);
        if (!v || v->version != ms[i].version || !kt_variant_usable(v, NULL, 0)) continue;
        if (!strcmp(ms[i].variant, variant)) ran = ms[i].median_s;
        if (ms[i].median_s < best) best = ms[i].median_s;
    }
    if (!isfinite(ran) || !isfinite(best)) return NAN;
    kt_ins_dims(op, bm, at, atlen);
    return ran > best ? total_s * (1 - best / ran) : 0;
}

/* The JSON document of session s (previous: an earlier one of the same program, or NULL). */
static json_t *profile_json(kt_db *db, const kt_db_prof_run *s, const kt_db_prof_run *prev,
                            kt_status *st) {
    kt_db_prof_call *c = NULL, *pc = NULL;
    size_t nc = 0, npc = 0, nctr = 0;
    kt_db_prof_counter *ctr = NULL;
    *st = kt_db_profile_calls(db, s->session, &c, &nc);
    if (*st == KT_OK && prev) *st = kt_db_profile_calls(db, prev->session, &pc, &npc);
    if (*st == KT_OK) *st = kt_db_profile_counters(db, s->session, &ctr, &nctr);
    if (*st != KT_OK) {
        free(c), free(pc), free(ctr);
        return NULL;
    }
    int64_t machine = 0;
    int have_machine = kt_db_machine_find(db, kt_fingerprint(), &machine) == KT_OK;
    double total = 0;
    for (size_t i = 0; i < nc; i++) total += c[i].total_s;
    json_t *rows = json_array();
    for (size_t i = 0; i < nc; i++) {
        kt_op_id op = kt_op_find(c[i].op);
        char shape[96], why[160] = "";
        shape_text(op, &c[i], shape, sizeof shape);
        const char *dispatch = "?";
        json_t *matched = json_null(), *gain = json_null();
        int known_variant = op < KT_OP_COUNT && kt_variant_lookup(op, c[i].variant) != NULL;
        if (op >= KT_OP_COUNT) {
            snprintf(why, sizeof why, "this build has no operation %s", c[i].op);
        } else if (c[i].bucket != 2) {
            size_t d[3];
            kt_ins_unpack(op, c[i].m, c[i].n, c[i].k, d);
            kt_dispatch_info info;
            if (kt_dispatch_explain(c[i].op, d, &info) == KT_OK) {
                int exact = !memcmp(info.matched, d, sizeof d);
                dispatch = !strcmp(info.source, "tuned") ? (exact ? "tuned" : "neighbour")
                                                         : info.source;
                if (!strcmp(info.source, "tuned"))
                    matched = json_pack("[I, I, I]", (json_int_t)info.matched[0],
                                        (json_int_t)info.matched[1], (json_int_t)info.matched[2]);
            }
            if (!known_variant)
                snprintf(why, sizeof why, "this build has no variant %s of %s", c[i].variant,
                         c[i].op);
            if (strcmp(dispatch, "tuned") && have_machine) {
                kt_db_measurement *ms = NULL;
                size_t nms = 0;
                if (kt_db_measurements_list(db, machine, c[i].op, keep_valid, NULL, &ms, &nms) ==
                    KT_OK) {
                    char at[96] = "";
                    double g = gain_of(ms, nms, op, d, c[i].variant, c[i].total_s, at, sizeof at);
                    if (isfinite(g)) gain = json_pack("{s:f, s:s}", "s", g, "at", at);
                }
                free(ms);
            }
        }
        /* before: the previous profile's time per call at this shape, all variants */
        double bt = 0;
        int64_t bc = 0;
        for (size_t j = 0; j < npc; j++)
            if (!strcmp(pc[j].op, c[i].op) && pc[j].m == c[i].m && pc[j].n == c[i].n &&
                pc[j].k == c[i].k && pc[j].bucket == c[i].bucket)
                bt += pc[j].total_s, bc += pc[j].calls;
        json_t *before = bc > 0 ? json_real(bt / (double)bc) : json_null();
        json_array_append_new(
            rows, json_pack("{s:s, s:s, s:[I, I, I], s:i, s:I, s:I, s:f, s:f, s:f, s:s, s:i, "
                            "s:s, s:o, s:o, s:o, s:s}",
                            "op", c[i].op, "shape", shape, "mnk", (json_int_t)c[i].m,
                            (json_int_t)c[i].n, (json_int_t)c[i].k, "bucket", c[i].bucket,
                            "calls", (json_int_t)c[i].calls, "timed", (json_int_t)c[i].timed,
                            "total_s", c[i].total_s, "share", total > 0 ? c[i].total_s / total : 0,
                            "per_call_s", c[i].calls ? c[i].total_s / (double)c[i].calls : 0,
                            "variant", c[i].variant, "known", op < KT_OP_COUNT && known_variant,
                            "dispatch", dispatch, "matched", matched, "gain", gain,
                            "before_per_call_s", before, "note", why));
    }
    json_t *counters = json_object();
    for (size_t i = 0; i < nctr; i++) {
        json_t *o = json_object_get(counters, ctr[i].op);
        if (!o) json_object_set_new(counters, ctr[i].op, o = json_object());
        json_object_set_new(o, ctr[i].counter, json_integer((json_int_t)ctr[i].count));
    }
    free(c), free(pc), free(ctr);
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:b, s:s, s:f, s:o, s:o, s:o}", "program",
                     s->program, "args", s->args, "session", s->session, "started", s->started,
                     "processes", s->processes, "complete", s->complete, "fingerprint",
                     s->fingerprint, "total_s", total, "previous",
                     prev ? json_pack("{s:s, s:s}", "session", prev->session, "started",
                                      prev->started)
                          : json_null(),
                     "rows", rows, "counters", counters);
}

static void print_table(json_t *doc) {
    char t1[32], t2[32], t3[32];
    printf("profile of %s %s (%s, %d process%s%s)\n",
           kt_cli_jstr(json_object_get(doc, "program")),
           kt_cli_jstr(json_object_get(doc, "args")),
           kt_cli_jstr(json_object_get(doc, "started")),
           (int)json_integer_value(json_object_get(doc, "processes")),
           json_integer_value(json_object_get(doc, "processes")) == 1 ? "" : "es",
           json_is_true(json_object_get(doc, "complete")) ? "" : ", not all exited cleanly");
    json_t *prev = json_object_get(doc, "previous");
    printf("total %s in ktune calls", kt_cli_time(json_real_value(json_object_get(doc, "total_s")), t1, sizeof t1));
    if (json_is_object(prev))
        printf("; before/now: against the profile of %s",
               kt_cli_jstr(json_object_get(prev, "started")));
    printf("\n\n%-14s %-18s %10s %10s %6s %8s %-14s %-10s %-16s %s\n", "op", "shape", "calls",
           "time", "share", "timed", "variant", "dispatch", "gain if tuned",
           json_is_object(prev) ? "per call before -> now" : "per call");
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(doc, "rows"), i, r) {
        json_t *g = json_object_get(r, "gain"), *b = json_object_get(r, "before_per_call_s");
        char gain[48] = "-", per[80];
        if (json_is_object(g))
            snprintf(gain, sizeof gain, "%s", kt_cli_time(json_real_value(json_object_get(g, "s")), t1, sizeof t1));
        else if (strcmp(json_string_value(json_object_get(r, "dispatch")), "tuned"))
            snprintf(gain, sizeof gain, "? (unmeasured)");
        double now = json_real_value(json_object_get(r, "per_call_s"));
        if (json_is_real(b))
            snprintf(per, sizeof per, "%s -> %s (%.2fx)", kt_cli_time(json_real_value(b), t2, sizeof t2),
                     kt_cli_time(now, t3, sizeof t3), now > 0 ? json_real_value(b) / now : 0);
        else
            snprintf(per, sizeof per, "%s", kt_cli_time(now, t3, sizeof t3));
        printf("%-14s %-18s %10lld %10s %5.1f%% %8lld %-14s %-10s %-16s %s\n",
               kt_cli_jstr(json_object_get(r, "op")), kt_cli_jstr(json_object_get(r, "shape")),
               (long long)json_integer_value(json_object_get(r, "calls")),
               kt_cli_time(json_real_value(json_object_get(r, "total_s")), t1, sizeof t1),
               100 * json_real_value(json_object_get(r, "share")),
               (long long)json_integer_value(json_object_get(r, "timed")),
               kt_cli_jstr(json_object_get(r, "variant")),
               kt_cli_jstr(json_object_get(r, "dispatch")), gain, per);
        const char *note = json_string_value(json_object_get(r, "note"));
        if (note && *note) printf("%-14s   note: %s\n", "", kt_cli_jstr(json_object_get(r, "note")));
    }
    json_t *ctr = json_object_get(doc, "counters");
    if (json_object_size(ctr)) {
        printf("\ndispatch counters (calls per op):\n");
        const char *op;
        json_t *o;
        json_object_foreach(ctr, op, o) {
            printf("  %-14s", op);
            static const char *const kinds[] = {"tuned", "neighbour", "default",
                                                "forced", "strided", "fallback"};
            for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
                json_t *v = json_object_get(o, kinds[k]);
                printf(" %s %lld%s", kinds[k], v ? (long long)json_integer_value(v) : 0LL,
                       k + 1 < sizeof kinds / sizeof kinds[0] ? "," : "\n");
            }
        }
    }
}

/* Prints the profile of session s (newest of program when s is NULL).  Exit code. */
static int show(const char *dbpath, const char *program, const char *session, int json) {
    kt_db *db;
    int rc = kt_ins_open("profile", dbpath, &db);
    if (rc) return rc;
    kt_db_prof_run s, p;
    kt_status st;
    if (session) {
        kt_db_prof_run *all = NULL;
        size_t n = 0;
        st = kt_db_profile_sessions(db, NULL, &all, &n);
        size_t i = 0;
        while (st == KT_OK && i < n && strcmp(all[i].session, session)) i++;
        if (st == KT_OK && i == n)
            st = kt_fail(KT_ENOTFOUND, "the program recorded no ktune calls (is it linked with "
                         "ktune, and did it exit normally or call kt_profile_flush?)");
        if (st == KT_OK) s = all[i];
        free(all);
    } else {
        st = kt_hot_session(db, program, &s);
    }
    if (st != KT_OK) {
        kt_db_close(db);
        return kt_cli_error(KT_EXIT_FAIL, "profile", "%s", kt_last_error());
    }
    int have_prev = kt_hot_previous(db, &s, &p) == KT_OK;
    json_t *doc = profile_json(db, &s, have_prev ? &p : NULL, &st);
    kt_db_close(db);
    if (!doc) return kt_cli_error(KT_EXIT_FAIL, "profile", "%s", kt_last_error());
    if (json) return kt_cli_json_out(doc);
    print_table(doc);
    json_decref(doc);
    return KT_EXIT_OK;
}

/* Stores a profile file (written by the library when the database refused it). */
static int import_file(const char *dbpath, const char *file) {
    json_error_t err;
    json_t *j = json_load_file(file, 0, &err);
    if (!j)
        return kt_cli_error(KT_EXIT_FAIL, "profile", "%s: line %d: %s", file, err.line, err.text);
    kt_db_prof_run run = {0};
    const char *prog = NULL, *args = NULL, *hash = NULL, *sess = NULL, *started = NULL,
               *ver = NULL, *fp = NULL;
    json_int_t pid = 0, complete = 0, magic = 0;
    json_t *calls = NULL, *ctrs = NULL;
    if (json_unpack_ex(j, &err, 0, "{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:o, s:o}",
                       "ktune_profile", &magic, "fingerprint", &fp, "program", &prog, "args",
                       &args, "args_hash", &hash, "session", &sess, "pid", &pid, "started",
                       &started, "ktune_version", &ver, "complete", &complete, "calls", &calls,
                       "counters", &ctrs) ||
        magic != 1 || !json_is_array(calls) || !json_is_array(ctrs)) {
        json_decref(j);
        return kt_cli_error(KT_EXIT_FAIL, "profile", "%s: not a ktune profile (%s)", file,
                            magic == 1 ? err.text : "no \"ktune_profile\": 1");
    }
    snprintf(run.program, sizeof run.program, "%s", prog);
    snprintf(run.args, sizeof run.args, "%s", args);
    snprintf(run.args_hash, sizeof run.args_hash, "%s", hash);
    snprintf(run.session, sizeof run.session, "%s", sess);
    snprintf(run.started, sizeof run.started, "%s", started);
    snprintf(run.ktune_version, sizeof run.ktune_version, "%s", ver);
    run.pid = pid, run.complete = complete != 0;
    size_t nc = json_array_size(calls), nk = json_array_size(ctrs), unknown = 0;
    kt_db_prof_call *c = calloc(nc ? nc : 1, sizeof *c);
    kt_db_prof_counter *k = calloc(nk ? nk : 1, sizeof *k);
    int bad = !c || !k;
    for (size_t i = 0; !bad && i < nc; i++) {
        const char *op, *variant;
        json_int_t m, n, kk, b, v, cl, tm;
        double ts, tot;
        if (json_unpack_ex(json_array_get(calls, i), &err, 0,
                           "{s:s, s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:I, s:F, s:F}", "op", &op,
                           "m", &m, "n", &n, "k", &kk, "bucket", &b, "variant", &variant,
                           "version", &v, "calls", &cl, "timed", &tm, "timed_s", &ts, "total_s",
                           &tot) ||
            m < 0 || n < 0 || kk < 0 || b < 0 || b > 2 || cl < 0 || tm < 0 || !(ts >= 0) ||
            !(tot >= 0) || strlen(op) >= sizeof c->op || strlen(variant) >= sizeof c->variant) {
            bad = 1;
            break;
        }
        kt_op_id id = kt_op_find(op);
        unknown += id >= KT_OP_COUNT || !kt_variant_lookup(id, variant);
        snprintf(c[i].op, sizeof c[i].op, "%s", op);
        snprintf(c[i].variant, sizeof c[i].variant, "%s", variant);
        c[i].m = (size_t)m, c[i].n = (size_t)n, c[i].k = (size_t)kk, c[i].bucket = (int)b;
        c[i].version = (unsigned)v, c[i].calls = cl, c[i].timed = tm;
        c[i].timed_s = ts, c[i].total_s = tot;
    }
    for (size_t i = 0; !bad && i < nk; i++) {
        const char *op, *ctr;
        json_int_t cnt;
        if (json_unpack_ex(json_array_get(ctrs, i), &err, 0, "{s:s, s:s, s:I}", "op", &op,
                           "counter", &ctr, "count", &cnt) ||
            cnt < 0 || strlen(op) >= sizeof k->op || strlen(ctr) >= sizeof k->counter) {
            bad = 1;
            break;
        }
        snprintf(k[i].op, sizeof k[i].op, "%s", op);
        snprintf(k[i].counter, sizeof k[i].counter, "%s", ctr);
        k[i].count = cnt;
    }
    int rc = KT_EXIT_OK;
    if (bad) {
        rc = kt_cli_error(KT_EXIT_FAIL, "profile", "%s: a malformed row; nothing stored", file);
    } else {
        char path[4096];
        kt_db *db = NULL;
        kt_status s = KT_OK;
        if (dbpath) snprintf(path, sizeof path, "%s", dbpath);
        else s = kt_db_default_path(path, sizeof path, 1);
        if (s == KT_OK) s = kt_db_open_write(path, &db);
        if (s == KT_OK) s = kt_db_profile_write(db, fp, &run, c, nc, k, nk);
        if (db) {
            kt_status e = kt_db_close(db);
            if (s == KT_OK) s = e;
        }
        if (s != KT_OK) rc = kt_cli_error(KT_EXIT_FAIL, "profile", "%s", kt_last_error());
        else {
            printf("stored the profile of %s (%zu rows) in %s\n", prog, nc, path);
            if (unknown)
                fprintf(stderr, "ktune profile: %zu rows name ops or variants this build does "
                        "not have: kept, shown, never tuned\n", unknown);
        }
    }
    free(c), free(k);
    json_decref(j);
    return rc;
}

/* Runs argv with recording on; its exit status (127: cannot run it). */
static int run_child(char **argv, const char *dbpath, const char *session,
                     const char *file) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        kt_cli_error(KT_EXIT_FAIL, "profile", "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* KTUNE_PROFILE=path (where a profile the database refuses goes) is kept */
        setenv("KTUNE_PROFILE", file, 1);
        setenv("KTUNE_DB", dbpath, 1);
        setenv("KTUNE_PROFILE_SESSION", session, 1);
        execvp(argv[0], argv);
        int e = errno;
        fprintf(stderr, "ktune profile: cannot run '%s': %s\n", argv[0], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
    }
    struct sigaction ign = {.sa_handler = SIG_IGN}, oint, oquit;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGINT, &ign, &oint);
    sigaction(SIGQUIT, &ign, &oquit);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    sigaction(SIGINT, &oint, NULL);
    sigaction(SIGQUIT, &oquit, NULL);
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "ktune profile: %s ended by signal %d (%s); what it flushed is kept\n",
                argv[0], WTERMSIG(status), strsignal(WTERMSIG(status)));
        return 128 + WTERMSIG(status);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int kt_cmd_profile(int argc, char **argv) {
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},      {"show", no_argument, NULL, 's'},
        {"program", required_argument, NULL, 'p'}, {"json", no_argument, NULL, 'j'},
        {"import", required_argument, NULL, 'i'},  {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *dbarg = NULL, *program = NULL, *import = NULL;
    int showing = 0, json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dbarg = optarg; break;
        case 's': showing = 1; break;
        case 'p': program = optarg; break;
        case 'j': json = 1; break;
        case 'i': import = optarg; break;
        case 'h': fputs(profile_help, stdout); return KT_EXIT_OK;
        default:
            return kt_cli_error(KT_EXIT_USAGE, "profile", "bad option '%s' (see --help)",
                                argv[optind - 1]);
        }
    }
    if (import) {
        if (showing || program || optind < argc)
            return kt_cli_error(KT_EXIT_USAGE, "profile", "--import takes no command");
        return import_file(dbarg, import);
    }
    char dbpath[4096];
    if (dbarg) snprintf(dbpath, sizeof dbpath, "%s", dbarg);
    else if (kt_db_default_path(dbpath, sizeof dbpath, !showing) != KT_OK)
        return kt_cli_error(KT_EXIT_FAIL, "profile", "%s", kt_last_error());
    /* the table says how dispatch serves each shape with this database */
    kt_tuned_db_override(dbpath);
    kt_reload();
    if (showing) {
        if (optind < argc)
            return kt_cli_error(KT_EXIT_USAGE, "profile", "--show takes no command ('%s')",
                                argv[optind]);
        return show(dbpath, program, NULL, json);
    }
    if (program) return kt_cli_error(KT_EXIT_USAGE, "profile", "--program needs --show");
    if (optind >= argc)
        return kt_cli_error(KT_EXIT_USAGE, "profile", "no command to run (ktune profile -- CMD)");
    char session[64];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(session, sizeof session, "kp-%ld-%lld.%09ld", (long)getpid(), (long long)ts.tv_sec,
             ts.tv_nsec);
    /*
     * Where the library writes the profile when the database refuses it: the user's
     * KTUNE_PROFILE=path, else a file of ours in TMPDIR.
     */
    char file[4200];
    const char *user = getenv("KTUNE_PROFILE"), *tmpdir = getenv("TMPDIR");
    int ours = !user || !*user || !strcmp(user, "0") || !strcmp(user, "1");
    if (ours)
        snprintf(file, sizeof file, "%s/ktune-profile-%s.json", tmpdir && *tmpdir ? tmpdir : "/tmp",
                 session);
    else
        snprintf(file, sizeof file, "%s", user);
    int rc = run_child(argv + optind, dbpath, session, file);
    if (rc < 0) return KT_EXIT_FAIL;
    if (rc == 127 || rc == 126) return rc; /* it never ran: no profile to show */
    struct stat fb;
    if (ours && stat(file, &fb) == 0) {
        fprintf(stderr, "ktune profile: %s could not store its profile in %s (KTUNE_LOG=warn "
                "says why); it is in %s: ktune profile --import %s stores it\n", argv[optind],
                dbpath, file, file);
        return rc ? rc : KT_EXIT_FAIL;
    }
    struct stat sb;
    if (stat(dbpath, &sb) != 0) {
        fprintf(stderr, "ktune profile: no profile: %s wrote nothing to %s (is it linked with "
                "ktune?)\n", argv[optind], dbpath);
        return rc ? rc : KT_EXIT_FAIL;
    }
    kt_reload(); /* the program may have created the database */
    int shown = show(dbpath, NULL, session, json);
    return rc ? rc : shown;
}
