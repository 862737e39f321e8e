/*
 * `ktune show`: what the tuning database holds.  The machines in the file (this one
 * marked) and, per machine shown, when and by which ktune it was tuned, how complete
 * that is, its measured limits, and per op a compact table of size ranges with the
 * chosen variant, its throughput and its margin over the runner-up.
 *
 * Everything is computed once into a JSON document (what --json prints); the text
 * output is rendered from that document, so the two always agree.
 */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kt_fleet.h"
#include "kt_inspect.h"

static const char show_help[] =
    "usage: ktune show [--db PATH] [--machine FP|all] [--op LIST] [--json]\n\n"
    "Shows the machines in the tuning database (this one marked with *) and, for\n"
    "each machine shown: when it was tuned and by which ktune, how complete the\n"
    "tuning is, its measured limits, and per operation the size ranges with the\n"
    "variant chosen there, its throughput (GB/s or GFLOP/s) and its margin over the\n"
    "runner-up (the smallest in the range: how close the race was).\n\n"
    "  --db PATH         the database (default: KTUNE_DB, else\n"
    "                    $XDG_DATA_HOME/ktune/ktune.db,\n"
    "                    else ~/.local/share/ktune/ktune.db)\n"
    "  --machine FP|all  the machines to detail: a fingerprint, a unique prefix or\n"
    "                    hash suffix of one, or all (default: this machine when the\n"
    "                    file has it, else all)\n"
    "  --op LIST         only these operations, comma-separated\n"
    "  --json            machine-readable output\n"
    "Exit status: 0 success, 1 failure (no database, unreadable, unknown machine),\n"
    "2 bad command line.\n";

/* Index of the machine matching pattern; -1 none, -2 ambiguous. */
static ptrdiff_t find_machine(const kt_db_dump *d, const char *pattern) {
    ptrdiff_t found = -1;
    for (size_t i = 0; i < d->nmachines; i++) {
        if (!strcmp(d->machines[i].fingerprint, pattern)) return (ptrdiff_t)i;
        if (kt_ins_fp_match(d->machines[i].fingerprint, pattern)) {
            if (found >= 0) return -2;
            found = (ptrdiff_t)i;
        }
    }
    return found;
}

static json_t *run_json(const kt_db_run_row *r) {
    if (!r) return json_null();
    double dur = kt_ins_seconds(r->started, r->ended);
    return json_pack("{s:s, s:o, s:s, s:s, s:o, s:s, s:s}", "started", r->started, "ended",
                     r->ended[0] ? json_string(r->ended) : json_null(), "status", r->status,
                     "ktune_version", r->ktune_version, "duration_s", kt_ins_json_real(dur),
                     "options", r->options ? r->options : "", "host", r->host);
}

/* Whether op has a measurement of variant v (its current version) at the point's size. */
static int measured_at(const kt_db_dump *d, int64_t machine, const char *op,
                       const kt_db_choice_row *at, const kt_variant *v) {
    for (size_t i = 0; i < d->nmeasurements; i++) {
        const kt_db_measurement *me = &d->measurements[i];
        if (me->machine == machine && me->m == at->c.m && me->n == at->c.n &&
            me->k == at->c.k && me->version == v->version && !strcmp(me->op, op) &&
            !strcmp(me->variant, v->name))
            return 1;
    }
    return 0;
}

/* Whether op has any measurement of variant v (its current version) on machine. */
static int measured_any(const kt_db_dump *d, int64_t machine, const char *op,
                        const kt_variant *v) {
    for (size_t i = 0; i < d->nmeasurements; i++) {
        const kt_db_measurement *me = &d->measurements[i];
        if (me->machine == machine && me->version == v->version && !strcmp(me->op, op) &&
            !strcmp(me->variant, v->name))
            return 1;
    }
    return 0;
}

/*
 * Coverage of one op on this machine: the share of (tuned size, usable variant) pairs
 * measured (the tuner skips variants far behind, so less than 100% is normal), the
 * usable variants never measured with their current code (new or changed since the
 * tuning: an issue), and the chosen variants this build does not run as stored
 * (another version, or not in the build: an issue).  Adds issues to `issues`.
 */
static json_t *coverage_json(const kt_db_dump *d, int64_t machine, const kt_ins_op *o,
                             json_t *issues) {
    json_t *missing = json_array(), *stale = json_array();
    int usable = 0, pairs = 0, have = 0;
    for (size_t i = 0, n = kt_variants_len(); i < n; i++) {
        const kt_variant *v = kt_variant_at(i);
        if (v->op != o->id || (v->flags & KT_VF_TEST) || !kt_variant_usable(v, NULL, 0))
            continue;
        usable++;
        for (size_t p = 0; p < o->npts; p++, pairs++)
            have += measured_at(d, machine, o->op, o->pts[p].win, v);
        if (!measured_any(d, machine, o->op, v))
            json_array_append_new(missing, json_string(v->name));
    }
    for (size_t p = 0; p < o->npts; p++) {
        const kt_db_choice *c = &o->pts[p].win->c;
        const kt_variant *v = kt_variant_lookup(o->id, c->variant);
        if (v && v->version == c->version) continue;
        int dup = 0;
        for (size_t k = 0; k < json_array_size(stale); k++)
            dup |= !strcmp(json_string_value(json_array_get(stale, k)), c->variant);
        if (!dup) json_array_append_new(stale, json_string(c->variant));
    }
    char msg[256];
    size_t nm = json_array_size(missing), ns = json_array_size(stale);
    if (nm) {
        snprintf(msg, sizeof msg, "%s: %s%s never measured (ktune tune measures %s)", o->op,
                 json_string_value(json_array_get(missing, 0)),
                 nm > 1 ? " and others" : "", nm > 1 ? "them" : "it");
        json_array_append_new(issues, json_string(msg));
    }
    if (ns) {
        snprintf(msg, sizeof msg, "%s: chosen %s%s changed since the tuning (ignored)", o->op,
                 json_string_value(json_array_get(stale, 0)), ns > 1 ? " and others" : "");
        json_array_append_new(issues, json_string(msg));
    }
    return json_pack("{s:i, s:o, s:o, s:o}", "usable_variants", usable, "measured_pct",
                     pairs ? json_real(100.0 * have / pairs) : json_null(), "never_measured",
                     missing, "stale", stale);
}

static json_t *op_json(const kt_db_dump *d, int64_t machine, const kt_ins_op *o, int here,
                       json_t *issues) {
    json_t *pts = json_array(), *ranges = json_array();
    for (size_t i = 0; i < o->npts; i++) {
        const kt_ins_point *p = &o->pts[i];
        json_t *dims = json_array();
        int nd = o->id == KT_OP_NONE ? 3 : kt_ops[o->id].ndims;
        for (int k = 0; k < nd; k++) json_array_append_new(dims, json_integer((json_int_t)p->dims[k]));
        json_array_append_new(
            pts, json_pack("{s:o, s:s, s:i, s:f, s:o, s:o, s:[o, o], s:s, s:o}", "dims", dims,
                           "variant", p->win->c.variant, "version", (int)p->win->c.version,
                           "median_s", p->win->c.median_s, "throughput", kt_ins_json_real(p->tp),
                           "margin", kt_ins_json_real(p->win->c.margin), "margin_ci",
                           kt_ins_json_real(p->win->c.ci_lo), kt_ins_json_real(p->win->c.ci_hi),
                           "decision", p->win->c.decision, "runner_up",
                           p->next ? json_string(p->next->c.variant) : json_null()));
    }
    for (size_t i = 0; i < o->nranges; i++) {
        const kt_ins_range *r = &o->ranges[i];
        json_t *usable = json_null();
        if (here && o->id != KT_OP_NONE) {
            const kt_variant *v = kt_variant_lookup(o->id, r->win->c.variant);
            char why[192] = "not in this build";
            int ok = v && v->version == r->win->c.version && kt_variant_usable(v, why, sizeof why);
            if (v && v->version != r->win->c.version)
                snprintf(why, sizeof why, "tuned version %u, this build has %u",
                         r->win->c.version, v->version);
            usable = ok ? json_true() : json_string(why);
        }
        json_array_append_new(
            ranges,
            json_pack("{s:I, s:o, s:s, s:i, s:i, s:o, s:o, s:o, s:o, s:o}", "from",
                      (json_int_t)r->from, "to",
                      r->to == SIZE_MAX ? json_null() : json_integer((json_int_t)r->to),
                      "variant", r->win->c.variant, "version", (int)r->win->c.version,
                      "points", (int)r->npoints, "throughput_min", kt_ins_json_real(r->tp_min),
                      "throughput_max", kt_ins_json_real(r->tp_max), "margin_min",
                      kt_ins_json_real(r->margin_min), "runner_up",
                      r->runner_up ? json_string(r->runner_up) : json_null(), "usable_here",
                      usable));
        json_t *jr = json_array_get(ranges, json_array_size(ranges) - 1);
        json_object_set_new(jr, "margin_ci", json_pack("[o, o]", kt_ins_json_real(r->ci_lo),
                                                       kt_ins_json_real(r->ci_hi)));
        json_object_set_new(jr, "unresolved", json_integer(r->unresolved));
        json_object_set_new(jr, "merged", json_integer(r->merged));
    }
    json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:i, s:i, s:o, s:o}", "op", o->op, "unit",
                          o->unit, "dims",
                          o->id == KT_OP_NONE ? "m,n,k" : kt_ops[o->id].dim_names, "known",
                          json_boolean(o->id != KT_OP_NONE), "tuned_sizes", (int)o->npts,
                          "crossovers", (int)(o->nranges ? o->nranges - 1 : 0), "run",
                          run_json(kt_ins_run(d, o->run)), "ranges", ranges);
    json_object_set_new(j, "points", pts);
    if (here && o->id != KT_OP_NONE)
        json_object_set_new(j, "coverage", coverage_json(d, machine, o, issues));
    return j;
}

/*
 * The full description of machine mi of the (all-machine) dump `all`: reads its
 * measurements and choices from db.  ops_sel: the ops to show (NULL: all).
 */
static kt_status machine_json(kt_db *db, const kt_db_machine_row *ma, const int *ops_sel,
                              json_t **out) {
    kt_db_dump d;
    *out = NULL;
    kt_status s = kt_db_dump_read(db, ma->fingerprint,
                                  KT_DB_DUMP_RUNS | KT_DB_DUMP_MEASUREMENTS |
                                      KT_DB_DUMP_CHOICES | KT_DB_DUMP_LIMITS |
                                      KT_DB_DUMP_VERIFY,
                                  &d);
    if (s != KT_OK) return s;
    if (d.nmachines != 1) {
        kt_db_dump_free(&d);
        return kt_fail(KT_ENOTFOUND, "machine %s vanished while reading", ma->fingerprint);
    }
    int64_t id = d.machines[0].id;
    int here = !strcmp(ma->fingerprint, kt_fingerprint());
    kt_ins_op *ops;
    size_t nops;
    if ((s = kt_ins_ops(&d, id, &ops, &nops)) != KT_OK) {
        kt_db_dump_free(&d);
        return s;
    }
    json_t *issues = json_array(), *jops = json_array(), *runs = json_array();
    json_t *limits = json_object();
    int tuned_known = 0;
    for (size_t i = 0; i < nops; i++) {
        tuned_known += ops[i].id != KT_OP_NONE;
        if (ops_sel && (ops[i].id == KT_OP_NONE || !ops_sel[ops[i].id])) continue;
        json_array_append_new(jops, op_json(&d, id, &ops[i], here, issues));
    }
    for (size_t i = 0; i < d.nruns; i++) json_array_append_new(runs, run_json(&d.runs[i]));
    for (size_t i = 0; i < d.nlimits; i++)
        json_object_set_new(limits, d.limits[i].name, json_real(d.limits[i].value));
    const kt_db_run_row *last = kt_ins_last_run(&d, id, 0);
    const kt_db_run_row *done = kt_ins_last_run(&d, id, 1);
    char msg[256];
    if (tuned_known < (int)kt_op_count()) {
        snprintf(msg, sizeof msg, "%d of the %d operations of this ktune not tuned",
                 (int)kt_op_count() - tuned_known, (int)kt_op_count());
        json_array_insert_new(issues, 0, json_string(msg));
    }
    if (!last) {
        json_array_insert_new(issues, 0, json_string("no tuning run recorded"));
    } else if (strcmp(last->status, "complete") != 0) {
        snprintf(msg, sizeof msg, "the last run (%s) is %s: ktune tune resumes it", last->started,
                 last->status);
        json_array_insert_new(issues, 0, json_string(msg));
    }
    char summary[256];
    json_error_t jerr;
    json_t *details = json_loads(ma->details ? ma->details : "{}", 0, &jerr);
    json_t *j = json_pack(
        "{s:s, s:b, s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:{s:i, s:i, s:b, s:o}, s:o}",
        "fingerprint", ma->fingerprint, "this_machine", here, "summary",
        kt_ins_machine_summary(ma->details, summary, sizeof summary), "details",
        details ? details : json_object(), "first_seen", ma->first_seen, "last_seen",
        ma->last_seen, "last_run", run_json(last), "last_complete_run", run_json(done), "runs",
        runs, "limits", limits, "completeness", "ops_tuned", tuned_known, "ops_known",
        (int)kt_op_count(), "complete", json_array_size(issues) == 0, "issues", issues, "ops", jops);
    kt_ins_verify ver;
    kt_ins_verification(&d, id, &ver);
    if (j && ver.sizes)
        json_object_set_new(
            j, "verification",
            json_pack("{s:i, s:i, s:o, s:o, s:o, s:s, s:o}", "sizes", ver.sizes, "remeasured",
                      ver.remeasured, "run", run_json(kt_ins_run(&d, ver.run)), "geomean",
                      kt_ins_json_real(ver.geomean), "worst", kt_ins_json_real(ver.worst),
                      "worst_at", ver.worst_at, "fixed_faster",
                      ver.faster[0] ? json_string(ver.faster) : json_null()));
    else if (j)
        json_object_set_new(j, "verification", json_null());
    kt_ins_ops_free(ops, nops);
    kt_db_dump_free(&d);
    if (!j) return kt_fail(KT_ENOMEM, "out of memory");
    *out = j;
    return KT_OK;
}

/* ---- Text rendering (from the JSON document) ---------------------------- */

static const char *jstr(json_t *o, const char *key) {
    const char *s = kt_cli_jstr(json_object_get(o, key));
    return s ? s : "";
}

static double jnum(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void print_run_line(const char *label, json_t *run) {
    char when[32], line[256];
    if (!json_is_object(run)) {
        printf("  %-8s never\n", label);
        return;
    }
    double dur = jnum(run, "duration_s");
    char durs[32] = "";
    if (!isnan(dur)) snprintf(durs, sizeof durs, " in %.0f s", dur);
    snprintf(line, sizeof line, "%s by ktune %s, %s%s", kt_ins_when(jstr(run, "started"), when,
             sizeof when), jstr(run, "ktune_version"), jstr(run, "status"), durs);
    char lead[16];
    snprintf(lead, sizeof lead, "  %s", label);
    kt_ins_wrap(lead, 11, line);
}

static void print_size(size_t v, char *buf, size_t len) {
    if (v == SIZE_MAX)
        snprintf(buf, len, "and up");
    else
        snprintf(buf, len, "%zu", v);
}

static void print_op(json_t *o) {
    const char *unit = jstr(o, "unit");
    json_t *ranges = json_object_get(o, "ranges");
    char head[160];
    snprintf(head, sizeof head, "%s: %d tuned sizes, %d winner changes", jstr(o, "op"),
             (int)json_integer_value(json_object_get(o, "tuned_sizes")),
             (int)json_integer_value(json_object_get(o, "crossovers")));
    json_t *cov = json_object_get(o, "coverage");
    if (cov && json_is_number(json_object_get(cov, "measured_pct"))) {
        size_t l = strlen(head);
        snprintf(head + l, sizeof head - l, ", %.0f%% of %d usable variants measured",
                 jnum(cov, "measured_pct"),
                 (int)json_integer_value(json_object_get(cov, "usable_variants")));
    }
    printf("\n");
    kt_ins_wrap("  ", 2, head);
    char dimname[32];
    snprintf(dimname, sizeof dimname, "%s", jstr(o, "dims"));
    char *comma = strchr(dimname, ',');
    if (comma) *comma = '\0';
    printf("    %-8s %-8s %-15s %-11s %7s %-9s %s\n", dimname, "to", "variant",
           *unit ? unit : "median", "margin", "(95%)", "runner-up");
    size_t i;
    json_t *r;
    int unusable = 0, unresolved = 0;
    json_array_foreach(ranges, i, r) {
        char from[24], to[24], tp[40], a[16], b[16], pct[16], var[48];
        print_size((size_t)json_integer_value(json_object_get(r, "from")), from, sizeof from);
        json_t *jt = json_object_get(r, "to");
        print_size(json_is_integer(jt) ? (size_t)json_integer_value(jt) : SIZE_MAX, to,
                   sizeof to);
        double lo = jnum(r, "throughput_min"), hi = jnum(r, "throughput_max");
        if (isnan(lo))
            snprintf(tp, sizeof tp, "-");
        else if (kt_ins_num(lo, a, sizeof a) && kt_ins_num(hi, b, sizeof b) && strcmp(a, b))
            snprintf(tp, sizeof tp, "%s-%s", a, b);
        else
            snprintf(tp, sizeof tp, "%s", a);
        json_t *u = json_object_get(r, "usable_here");
        int bad = json_is_string(u);
        unusable |= bad;
        int open = (int)json_integer_value(json_object_get(r, "unresolved"));
        snprintf(var, sizeof var, "%s%s%s", jstr(r, "variant"), open ? " ?" : "",
                 bad ? " !" : "");
        unresolved |= open;
        json_t *ru = json_object_get(r, "runner_up"), *ci = json_object_get(r, "margin_ci");
        char iv[24] = "";
        double clo = json_number_value(json_array_get(ci, 0));
        double chi = json_number_value(json_array_get(ci, 1));
        if (json_is_number(json_array_get(ci, 0)) && json_is_number(json_array_get(ci, 1)))
            snprintf(iv, sizeof iv, "[%.0f,%.0f]", 100 * clo, 100 * chi);
        printf("    %-8s %-8s %-15.15s %-11s %7s %-9s %.11s\n", from, to, var, tp,
               kt_ins_pct(jnum(r, "margin_min"), pct, sizeof pct), iv,
               json_is_string(ru) ? kt_cli_jstr(ru) : "-");
    }
    if (unusable) {
        json_array_foreach(ranges, i, r) {
            json_t *u = json_object_get(r, "usable_here");
            if (!json_is_string(u)) continue;
            char first[96], text[320];
            snprintf(first, sizeof first, "    ! %s", jstr(r, "variant"));
            snprintf(text, sizeof text, "cannot run here: %s", kt_cli_jstr(u));
            kt_ins_wrap(first, 6, text);
            break;
        }
        printf("      (dispatch calls the next-ranked variant that can)\n");
    }
    if (unresolved)
        printf("      ? some sizes unresolved: a cheaper variant within 2%% (5%% against more\n"
               "        threads) took the choice, or the comparison was not settled\n");
}

static void print_machine(json_t *m) {
    char sfp[80];
    printf("\n%s %s%s\n", json_is_true(json_object_get(m, "this_machine")) ? "*" : " ",
           kt_ins_short_fp(jstr(m, "fingerprint"), sfp, 64),
           json_is_true(json_object_get(m, "this_machine")) ? "  (this machine)" : "");
    printf("  %s\n", jstr(m, "summary"));
    print_run_line("tuned", json_object_get(m, "last_run"));
    json_t *done = json_object_get(m, "last_complete_run"), *last = json_object_get(m, "last_run");
    if (json_is_object(done) && !json_equal(done, last)) print_run_line("complete", done);
    json_t *c = json_object_get(m, "completeness");
    json_t *issues = json_object_get(c, "issues");
    char state[128];
    snprintf(state, sizeof state, "  state    %s, %d of %d operations tuned%s",
             json_is_true(json_object_get(c, "complete")) ? "complete" : "incomplete",
             (int)json_integer_value(json_object_get(c, "ops_tuned")),
             (int)json_integer_value(json_object_get(c, "ops_known")),
             json_array_size(issues) ? ":" : "");
    printf("%s\n", state);
    size_t i;
    json_t *v;
    json_array_foreach(issues, i, v) kt_ins_wrap("           -", 13, kt_cli_jstr(v));
    json_t *limits = json_object_get(m, "limits");
    const char *name;
    char text[512] = "none measured";
    size_t used = 0;
    json_object_foreach(limits, name, v) {
        char num[32], what[80], nm[80];
        const char *unit = "";
        if (!strcmp(name, "mem_bw_gbs"))
            snprintf(what, sizeof what, "memory bandwidth"), unit = " GB/s";
        else if (!strncmp(name, "peak_gflops_", 12))
            snprintf(what, sizeof what, "peak %s", kt_cli_sanitize(name + 12, nm, 80)),
                unit = " GFLOP/s";
        else
            snprintf(what, sizeof what, "%s", kt_cli_sanitize(name, nm, sizeof nm));
        int w = snprintf(text + used, sizeof text - used, "%s%s %s%s", used ? ", " : "", what,
                         kt_ins_num(json_number_value(v), num, sizeof num), unit);
        if (w < 0 || (size_t)w >= sizeof text - used) break;
        used += (size_t)w;
    }
    kt_ins_wrap("  limits", 11, text);
    json_t *ver = json_object_get(m, "verification");
    if (json_is_object(ver)) {
        char line[512];
        json_t *ff = json_object_get(ver, "fixed_faster");
        int rem = (int)json_integer_value(json_object_get(ver, "remeasured"));
        char remtxt[64] = "";
        if (rem) snprintf(remtxt, sizeof remtxt, " (%d re-measured once)", rem);
        snprintf(line, sizeof line,
                 "at %d held-out sizes%s: dispatched/best %.3f geomean, worst %.3f (%s); %s",
                 (int)json_integer_value(json_object_get(ver, "sizes")), remtxt,
                 jnum(ver, "geomean"), jnum(ver, "worst"), jstr(ver, "worst_at"),
                 json_is_string(ff) ? kt_cli_jstr(ff) : "no fixed variant faster");
        kt_ins_wrap("  verified", 11, line);
    }
    json_t *ops = json_object_get(m, "ops");
    json_array_foreach(ops, i, v) print_op(v);
    if (!json_array_size(ops)) printf("\n  no tuned operations%s\n", "");
}

int kt_cmd_show(int argc, char **argv) {
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"machine", required_argument, NULL, 'm'},
        {"op", required_argument, NULL, 'o'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},     {NULL, 0, NULL, 0}};
    const char *dbpath = NULL, *machine = NULL, *oplist = NULL, *bad;
    int json = 0, c, sel[KT_OP_MAX];
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dbpath = optarg; break;
        case 'm': machine = optarg; break;
        case 'o': oplist = optarg; break;
        case 'j': json = 1; break;
        case 'h': fputs(show_help, stdout); return KT_EXIT_OK;
        default:
            return kt_cli_error(KT_EXIT_USAGE, "show", "bad option '%s' (see --help)",
                                argv[optind - 1]);
        }
    }
    if (optind < argc)
        return kt_cli_error(KT_EXIT_USAGE, "show", "unexpected argument '%s'", argv[optind]);
    if (oplist && kt_ops_parse(oplist, sel, &bad))
        return kt_cli_error(KT_EXIT_USAGE, "show", "unknown operation '%s' (see ktune list)",
                            bad);
    if (machine && !*machine)
        return kt_cli_error(KT_EXIT_USAGE, "show", "--machine needs a fingerprint or all");
    kt_db *db;
    int rc = kt_ins_open("show", dbpath, &db);
    if (rc != KT_EXIT_OK) return rc;
    kt_db_dump all;
    if (kt_db_dump_read(db, NULL, KT_DB_DUMP_RUNS | KT_DB_DUMP_CHOICES, &all) != KT_OK) {
        rc = kt_cli_error(KT_EXIT_FAIL, "show", "%s", kt_last_error());
        kt_db_close(db);
        return rc;
    }
    /* which machines to detail */
    const char *fp = kt_fingerprint();
    ptrdiff_t only = -1;
    int every = machine && !strcmp(machine, "all");
    if (machine && !every) {
        only = find_machine(&all, machine);
        if (only < 0) {
            rc = kt_cli_error(KT_EXIT_FAIL, "show", "%s machine '%s' in %s",
                              only == -2 ? "more than one" : "no", machine, kt_db_path(db));
            kt_db_dump_free(&all);
            kt_db_close(db);
            return rc;
        }
    } else if (!machine) {
        only = find_machine(&all, fp);
        if (only < 0 || strcmp(all.machines[only].fingerprint, fp) != 0) only = -1, every = 1;
    }
    json_t *machines = json_array();
    kt_status s = KT_OK;
    for (size_t i = 0; i < all.nmachines && s == KT_OK; i++) {
        const kt_db_machine_row *ma = &all.machines[i];
        json_t *m = NULL;
        if (every || (ptrdiff_t)i == only) {
            s = machine_json(db, ma, oplist ? sel : NULL, &m);
            if (s == KT_OK) json_object_set_new(m, "detailed", json_true());
        } else {
            char summary[256];
            int nops = 0; /* choices are ordered by machine, op: count the op changes */
            for (size_t k = 0; k < all.nchoices; k++)
                nops += all.choices[k].machine == ma->id &&
                        (k == 0 || all.choices[k - 1].machine != ma->id ||
                         strcmp(all.choices[k - 1].op, all.choices[k].op) != 0);
            m = json_pack("{s:s, s:b, s:s, s:s, s:s, s:o, s:i, s:b}", "fingerprint",
                          ma->fingerprint, "this_machine", !strcmp(ma->fingerprint, fp),
                          "summary", kt_ins_machine_summary(ma->details, summary, sizeof summary),
                          "first_seen", ma->first_seen, "last_seen", ma->last_seen, "last_run",
                          run_json(kt_ins_last_run(&all, ma->id, 0)), "ops_tuned", nops,
                          "detailed", 0);
        }
        if (m) json_array_append_new(machines, m);
    }
    json_t *doc = json_pack("{s:s, s:i, s:s, s:o, s:o}", "db", kt_db_path(db), "schema_version",
                            kt_db_version(db), "this_machine", fp, "machines", machines,
                            "fleet", kt_fleet_json(&all));
    kt_db_dump_free(&all);
    if (s != KT_OK) {
        rc = kt_cli_error(KT_EXIT_FAIL, "show", "%s", kt_last_error());
        json_decref(doc);
        kt_db_close(db);
        return rc;
    }
    kt_db_close(db);
    if (json) return kt_cli_json_out(doc);

    /* text: the list of machines, then the detailed ones */
    size_t i;
    json_t *m;
    printf("%s (schema %d): %zu machine%s\n", jstr(doc, "db"),
           (int)json_integer_value(json_object_get(doc, "schema_version")),
           json_array_size(machines), json_array_size(machines) == 1 ? "" : "s");
    json_array_foreach(machines, i, m) {
        char when[32], sfp[64];
        json_t *last = json_object_get(m, "last_run");
        json_t *ops = json_object_get(m, "ops");
        int nops = ops ? (int)json_array_size(ops)
                       : (int)json_integer_value(json_object_get(m, "ops_tuned"));
        if (ops) nops = (int)json_integer_value(json_object_get(json_object_get(m, "completeness"),
                                                                "ops_tuned"));
        printf("%s %-50s %2d ops  %s\n", json_is_true(json_object_get(m, "this_machine")) ? "*" : " ",
               kt_ins_short_fp(jstr(m, "fingerprint"), sfp, 51), nops,
               kt_ins_when(json_is_object(last) ? jstr(last, "started") : "", when, sizeof when));
    }
    if (!json_array_size(machines)) printf("no machines: the file has no tuning yet\n");
    /* a shared file (or --machine all): the fleet summary */
    if (json_array_size(machines) > 1 || (machine && every))
        kt_fleet_print(json_object_get(doc, "fleet"));
    json_array_foreach(machines, i, m) {
        if (json_is_true(json_object_get(m, "detailed"))) print_machine(m);
    }
    json_decref(doc);
    return fflush(stdout) == 0 ? KT_EXIT_OK : KT_EXIT_FAIL;
}
