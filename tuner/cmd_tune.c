/* `ktune tune`: measure this machine and store the winners. */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kt_cli.h"
#include "kt_db.h"
#include "kt_hot.h"
#include "kt_tune.h"
#ifdef KT_HAVE_MPI
#include "kt_mpi.h"
#endif

static const char tune_help[] =
    "usage: ktune tune [--ops LIST] [--sizes SPEC] [--variants LIST] [--quick]\n"
    "                  [--budget SECONDS] [--db PATH] [--force] [--no-verify]\n"
    "                  [--seed S] [--json] [--mpi]\n"
    "       ktune tune --from-profile [--program P] [--top K | --share F] [...]\n\n"
    "Measures every variant available here of each operation over a size sweep,\n"
    "validates each against a reference first, stores every measurement in the\n"
    "tuning database as it is made, locates crossovers by bisection, and records\n"
    "the winners the library dispatches to.  Candidates are timed in shuffled,\n"
    "paired rounds; a cheaper variant not shown slower than the fastest beyond 2%\n"
    "(5% against more threads) takes the choice, and a winner change between\n"
    "neighbouring sizes is kept only where it is significant.  The run ends by\n"
    "verifying dispatch against every fixed variant at held-out sizes (seeded),\n"
    "re-measuring once where it is over 5% behind.  Measurements already stored for the\n"
    "current version of a variant are reused: an interrupted run resumes, and a\n"
    "new variant is measured alone.\n\n"
    "  --ops LIST       operations, comma-separated (default: all)\n"
    "  --sizes SPEC     sizes instead of the default sweep (1 to 2^27 by 4x),\n"
    "                   e.g. 1000,1e6 or 1:2^20:4\n"
    "  --variants LIST  only these variants (names as in ktune list)\n"
    "  --quick          shorter samples, sweep 1 to 2^25 by 8x (under a minute)\n"
    "  --budget SEC     stop after SEC seconds (what is measured is kept)\n"
    "  --db PATH        the database (default: KTUNE_DB, else\n"
    "                   $XDG_DATA_HOME/ktune/ktune.db or ~/.local/share/ktune/ktune.db)\n"
    "  --force          measure again what is already stored\n"
    "  --no-verify      skip the verification at held-out sizes\n"
    "  --seed S         seed of the held-out sizes (default: from the run's id)\n"
    "  --json           print a JSON summary\n"
    "  --plugin PATH    first load a shared object registering operations of your\n"
    "                   own (repeatable; also KTUNE_PLUGINS, paths separated by ':')\n"
    "  --from-profile   tune exactly the shapes of the newest stored profile (ktune\n"
    "                   profile), most time first: gemv and gemm at each recorded\n"
    "                   shape (dispatch then matches it exactly), vector ops at the\n"
    "                   recorded sizes with bisection between them; with --ops, only\n"
    "                   those ops\n"
    "  --program P      with --from-profile: the newest profile of program P\n"
    "  --top K          with --from-profile: the K shapes with the most time\n"
    "  --share F        with --from-profile: the hottest shapes making up the\n"
    "                   fraction F (0 < F <= 1) of the profiled time\n"
    "  --mpi            tune a fleet in one MPI job\n"
    "                   (mpirun --bind-to none -np N ktune tune --mpi ...):\n"
    "                   ranks grouped by machine fingerprint share each class's work,\n"
    "                   one rank per node measures at a time, rank 0 alone writes\n"
    "                   the database (no verification pass; needs a build with MPI)\n"
    "Ctrl-C stops cleanly; everything measured so far is kept.\n"
    "Exit status: 0 done, 1 failure, 2 bad command line, 130 interrupted.\n";

/*
 * --from-profile: the shapes of the newest profile (of program) into o->shapes (made in
 * shapes[], which the caller frees), the ops holding them into o->ops (only those
 * already selected when ops_given), and the order of ops by their hottest shape.
 * Prints what will be tuned.  0, or an exit code after one message.
 */
static int kt_tune_from_profile(kt_tune_opts *o, const char *dbpath, const char *program,
                                size_t top, double share, int ops_given,
                                kt_shape *shapes[KT_OP_COUNT], int order[KT_OP_COUNT]) {
    kt_db *db;
    if (access(dbpath, F_OK) != 0)
        return kt_cli_error(KT_EXIT_FAIL, "tune", "--from-profile: no database at %s (ktune "
                            "profile -- CMD makes a profile)", dbpath);
    if (kt_db_open_read(dbpath, &db) != KT_OK)
        return kt_cli_error(KT_EXIT_FAIL, "tune", "--from-profile: %s", kt_last_error());
    kt_db_prof_run run;
    kt_hot_shape *h = NULL;
    size_t nh = 0, unknown = 0;
    kt_status s = kt_hot_session(db, program, &run);
    if (s == KT_OK) s = kt_hot_shapes(db, run.session, top, share, &h, &nh, &unknown);
    kt_db_close(db);
    if (s != KT_OK) return kt_cli_error(KT_EXIT_FAIL, "tune", "--from-profile: %s", kt_last_error());
    int sel[KT_OP_COUNT];
    memcpy(sel, o->ops, sizeof sel);
    memset(o->ops, 0, sizeof o->ops);
    int norder = 0;
    size_t taken = 0;
    for (size_t i = 0; i < nh; i++) {
        kt_op_id op = h[i].op;
        if (ops_given && !sel[op]) continue;
        if (!shapes[op] && !(shapes[op] = calloc(nh, sizeof **shapes))) {
            free(h);
            return kt_cli_error(KT_EXIT_FAIL, "tune", "out of memory");
        }
        if (!o->ops[op]) order[norder++] = op;
        o->ops[op] = 1;
        /* a log2 class (lower corner 2^b) is tuned at its geometric middle */
        shapes[op][o->nshapes[op]++] =
            (kt_shape){{h[i].dims[0], h[i].dims[1], h[i].dims[2]}, (int)i + 1};
        taken++;
    }
    for (int op = 0; op < KT_OP_COUNT; op++) o->shapes[op] = shapes[op];
    for (int op = 0; op < KT_OP_COUNT; op++)
        if (!o->ops[op]) order[norder++] = op;
    o->op_order = order;
    free(h);
    if (unknown)
        fprintf(stderr, "ktune tune: %zu profiled rows name operations this build does not "
                "have: skipped\n", unknown);
    if (!taken)
        return kt_cli_error(KT_EXIT_FAIL, "tune", "--from-profile: the profile of %s (%s) has "
                            "no shapes to tune%s", run.program, run.started,
                            ops_given ? " among the selected operations" : "");
    fprintf(stderr, "tune: from the profile of %s (%s): %zu shapes\n", run.program, run.started,
            taken);
    return 0;
}

static json_t *json_num(double x) { return isfinite(x) ? json_real(x) : json_null(); }

/* The exit of `ktune tune` with code rc: under --mpi, after MPI is finalised. */
static int tune_exit(int mpi, int interrupted, int rc) {
    fflush(stdout);
#ifdef KT_HAVE_MPI
    if (mpi) kt_mpi_end(interrupted);
#else
    (void)mpi, (void)interrupted;
#endif
    return rc;
}

static volatile sig_atomic_t kt_stop;
static void on_signal(int sig) {
    (void)sig;
    kt_stop = 1;
}

int kt_cmd_tune(int argc, char **argv) {
    static const struct option opts[] = {
        {"ops", required_argument, NULL, 'o'},      {"sizes", required_argument, NULL, 's'},
        {"variants", required_argument, NULL, 'v'}, {"quick", no_argument, NULL, 'q'},
        {"budget", required_argument, NULL, 'b'},   {"db", required_argument, NULL, 'd'},
        {"force", no_argument, NULL, 'f'},          {"json", no_argument, NULL, 'j'},
        {"no-verify", no_argument, NULL, 'V'},      {"seed", required_argument, NULL, 'e'},
        {"from-profile", no_argument, NULL, 'P'},   {"program", required_argument, NULL, 'g'},
        {"top", required_argument, NULL, 'T'},      {"share", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},           {"mpi", no_argument, NULL, 'M'},
        {NULL, 0, NULL, 0}};
    int from_profile = 0, ops_given = 0;
    const char *program = NULL;
    long top = 0;
    double share = 0;
    kt_tune_opts o = {0};
    const char *ops = "all", *sizes = NULL, *bad;
    char dbpath[4096] = "";
    int json = 0, c, mpi = 0;
    size_t *sz = NULL;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': ops = optarg, ops_given = 1; break;
        case 'P': from_profile = 1; break;
        case 'g': program = optarg; break;
        case 'T': {
            char *end;
            top = strtol(optarg, &end, 10);
            if (*end || top < 1)
                return kt_cli_error(KT_EXIT_USAGE, "tune", "--top needs a count > 0, not '%s'",
                                    optarg);
            break;
        }
        case 'S': {
            char *end;
            share = strtod(optarg, &end);
            if (*end || !(share > 0 && share <= 1))
                return kt_cli_error(KT_EXIT_USAGE, "tune",
                                    "--share needs a fraction in (0, 1], not '%s'", optarg);
            break;
        }
        case 's': sizes = optarg; break;
        case 'v': o.variants = optarg; break;
        case 'q': o.quick = 1; break;
        case 'b': {
            char *end;
            o.budget_s = strtod(optarg, &end);
            if (*end || !(o.budget_s > 0))
                return kt_cli_error(KT_EXIT_USAGE, "tune", "--budget needs seconds > 0, not '%s'",
                                    optarg);
            break;
        }
        case 'd': snprintf(dbpath, sizeof dbpath, "%s", optarg); break;
        case 'f': o.force = 1; break;
        case 'V': o.no_verify = 1; break;
        case 'e': {
            char *end;
            o.seed = strtoull(optarg, &end, 0);
            if (*end || !*optarg || !o.seed)
                return kt_cli_error(KT_EXIT_USAGE, "tune", "--seed needs a number > 0, not '%s'",
                                    optarg);
            break;
        }
        case 'j': json = 1; break;
        case 'M': mpi = 1; break;
        case 'h': fputs(tune_help, stdout); return KT_EXIT_OK;
        default:
            return kt_cli_error(KT_EXIT_USAGE, "tune", "bad option '%s' (see --help)",
                                argv[optind - 1]);
        }
    }
    if (optind < argc)
        return kt_cli_error(KT_EXIT_USAGE, "tune", "unexpected argument '%s'", argv[optind]);
#ifndef KT_HAVE_MPI
    if (mpi)
        return kt_cli_error(KT_EXIT_USAGE, "tune", "--mpi: this ktune was built without MPI "
                            "(install Open MPI, e.g. Debian's openmpi-bin and libopenmpi-dev, "
                            "and configure --with-mpi)");
#endif
    if (kt_ops_parse(ops, o.ops, &bad))
        return kt_cli_error(KT_EXIT_USAGE, "tune", "unknown operation '%s' (see ktune list)", bad);
    for (size_t op = KT_OP_COUNT; mpi && op < kt_op_count(); op++) {
        if (!o.ops[op]) continue;
        if (strcmp(ops, "all") != 0)
            return kt_cli_error(KT_EXIT_USAGE, "tune", "--mpi tunes the built-in operations "
                                "only, not %s (tune a plugin's ops without --mpi)", kt_ops[op].name);
        o.ops[op] = 0; /* "all" under --mpi: the built-in ones */
    }
    char err[256];
    if (sizes && kt_sizes_parse_msg(sizes, &sz, &o.nsizes, err, sizeof err))
        return kt_cli_error(KT_EXIT_USAGE, "tune", "--sizes: %s", err);
    o.sizes = sz;
    if (o.variants) {
        /* every named variant must exist for at least one selected op */
        char *copy = strdup(o.variants), *save = NULL;
        for (char *v = strtok_r(copy, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
            int found = 0;
            for (int op = 0; op < (int)kt_op_count(); op++)
                found |= o.ops[op] && kt_variant_lookup((kt_op_id)op, v) != NULL;
            if (!found) {
                kt_cli_error(KT_EXIT_USAGE, "tune", "no selected operation has a variant '%s'", v);
                free(copy), free(sz);
                return KT_EXIT_USAGE;
            }
        }
        free(copy);
    }
    if (!dbpath[0] && kt_db_default_path(dbpath, sizeof dbpath, 1) != KT_OK) {
        free(sz);
        return kt_cli_error(KT_EXIT_FAIL, "tune", "%s", kt_last_error());
    }
    o.db_path = dbpath;
    kt_shape *hot_shapes[KT_OP_COUNT] = {0};
    int order[KT_OP_COUNT];
    if ((program || top || share > 0) && !from_profile) {
        free(sz);
        return kt_cli_error(KT_EXIT_USAGE, "tune", "--program, --top and --share need "
                            "--from-profile");
    }
    if (from_profile && (top && share > 0)) {
        free(sz);
        return kt_cli_error(KT_EXIT_USAGE, "tune", "--top and --share exclude each other");
    }
    if (from_profile && sizes) {
        free(sz);
        return kt_cli_error(KT_EXIT_USAGE, "tune", "--sizes and --from-profile exclude each "
                            "other");
    }
    if (from_profile) {
        int rc = kt_tune_from_profile(&o, dbpath, program, (size_t)top, share, ops_given,
                                      hot_shapes, order);
        if (rc) {
            free(sz);
            return rc;
        }
    }
    o.progress = json ? 0 : isatty(2) ? 2 : 1;
    o.stop = &kt_stop;
    char invocation[1024] = "ktune";
    for (int i = 0; i < argc; i++) {
        size_t l = strlen(invocation);
        snprintf(invocation + l, sizeof invocation - l, " %s", argv[i]);
    }
    o.invocation = invocation;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    kt_init(); /* the library's own database does not matter here: --db is what we write */
    kt_log_level_set(kt_log_level_get() > KT_LOG_WARN ? kt_log_level_get() : KT_LOG_WARN);
    kt_tune_report rep;
    kt_status s;
    int writer = 1;
#ifdef KT_HAVE_MPI
    if (mpi) {
        /* the verification pass needs the database on the measuring node: not in a job */
        o.no_verify = 1;
        s = kt_mpi_tune(&o, &rep, &writer);
    } else
#endif
        s = kt_tune_run(&o, &rep);
    free(sz);
    for (int i = 0; i < KT_OP_COUNT; i++) free(hot_shapes[i]);
    if (!writer) /* rank 0 reports */
        return tune_exit(mpi, rep.stopped == 1,
                         rep.stopped == 1 ? 130 : s == KT_OK ? KT_EXIT_OK : KT_EXIT_FAIL);
    if (s != KT_OK)
        return tune_exit(mpi, 0, kt_cli_error(KT_EXIT_FAIL, "tune", "%s", kt_last_error()));
    if (json) {
        json_t *jv = json_pack("{s:i, s:i, s:o, s:o, s:s, s:i, s:s}", "sizes", rep.verified,
                               "remeasured", rep.remeasured, "geomean",
                               json_num(rep.verify_geomean), "worst",
                               json_num(rep.verify_worst), "worst_at",
                               rep.verify_worst_at, "fixed_faster", rep.fixed_faster,
                               "fixed_faster_what", rep.fixed_faster_what);
        kt_cli_json_out(json_pack("{s:s, s:s, s:I, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:s, "
                                  "s:o, s:I, s:I}", "db",
                                  dbpath, "fingerprint", kt_fingerprint(), "run",
                                  (json_int_t)rep.run, "measured", rep.measured, "reused",
                                  rep.reused, "invalid", rep.invalid, "points", rep.points,
                                  "crossovers", rep.crossovers, "merged", rep.merged,
                                  "unresolved", rep.unresolved, "elapsed_s", rep.elapsed_s,
                                  "status", rep.stopped == 1   ? "interrupted"
                                            : rep.stopped == 2 ? "budget spent"
                                                               : "complete",
                                  "verification", o.no_verify ? json_null() : jv,
                                  "rounds_redone", (json_int_t)rep.rounds_redone,
                                  "rounds_uneven", (json_int_t)rep.rounds_uneven));
        if (o.no_verify) json_decref(jv);
    } else {
        printf("tuned %d sizes in %.1f s: %d measurements made, %d reused, %d variants failed "
               "validation, %d winner changes kept (%d points merged into a neighbour's run, "
               "%d decided for the cheaper variant without proof)\ndatabase: %s\n",
               rep.points, rep.elapsed_s, rep.measured, rep.reused, rep.invalid, rep.crossovers,
               rep.merged, rep.unresolved, dbpath);
        if (rep.verified)
            printf("verified at %d held-out sizes%s: dispatched/best %.3f geomean, worst %.3f "
                   "(%s); %s\n",
                   rep.verified, rep.remeasured ? " (some re-measured once)" : "",
                   rep.verify_geomean, rep.verify_worst, rep.verify_worst_at,
                   rep.fixed_faster ? rep.fixed_faster_what : "no fixed variant faster");
        if (rep.rounds_redone || rep.rounds_uneven)
            printf("a core was busy: %ld rounds taken again, %ld kept uneven (the busy-core "
                   "guard)\n", rep.rounds_redone, rep.rounds_uneven);
        if (rep.stopped == 2) printf("budget spent: the next ktune tune continues from here\n");
    }
    if (rep.stopped == 1) {
        fprintf(stderr, "ktune tune: interrupted; measurements so far are kept, rerun to resume\n");
        return tune_exit(mpi, 1, 130);
    }
    return tune_exit(mpi, 0, KT_EXIT_OK);
}
