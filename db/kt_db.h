/*
 * ktune tuning database: the one module that reads and writes it.  All SQL lives in
 * the files of db/ (db/kt_db_int.h lists them) and in db/schema.sql, which documents every
 * table, column and view.
 *
 * One SQLite file, in WAL mode with a busy timeout, so the library reads while the tuner
 * writes and neither fails.  Two ways in:
 *   - kt_db_open_read(): what the library does at init.  Opens with SQLITE_OPEN_READONLY,
 *     never creates, never changes the file.  An empty file (0 bytes, or a SQLite file with
 *     no tables) opens as a database with no tuning: every lookup finds nothing.
 *   - kt_db_open_write(): what the tuner does.  Creates the file if missing (or 0 bytes),
 *     upgrades an older schema with the forward migration steps, marks runs left
 *     'running' by dead processes as 'interrupted'.  It refuses, with a clear message and
 *     without changing the file, anything it did not create: a SQLite file without the
 *     ktune application_id (PRAGMA application_id), a corrupt file, a newer schema.
 *
 * Versions.  PRAGMA user_version is the schema version of the file (the number of the
 * last migration step applied).  The table meta holds compat_version, the oldest schema
 * whose readers can still read the file.  A reader of schema R, whose queries work on
 * files of schema >= KT_DB_READ_MIN_VERSION, accepts a file of schema F when
 *     F >= KT_DB_READ_MIN_VERSION  and  compat_version(file) <= R;
 * a writer accepts F <= its own schema only (and migrates F < its own).
 *
 * Errors: every function returns KT_OK or a kt_status set through kt_fail(), whose
 * message (kt_last_error()) names the file and carries SQLite's own message.  KT_EDB:
 * missing, corrupt, locked (after the busy timeout), too new, not a ktune database;
 * KT_EINVAL: a bad argument, a write on a read-only handle, or a row the schema rejects
 * (unknown machine or variant, invalid JSON); KT_ENOTFOUND: a lookup found nothing;
 * KT_ENOMEM; KT_EIO: a directory could not be created.  Nothing is ever printed.
 *
 * A handle is used by one thread at a time; open one per thread (or process) otherwise.
 */
#ifndef KT_DB_H
#define KT_DB_H

#include <stddef.h>
#include <stdint.h>

#include "ktune.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KT_DB_APPLICATION_ID 0x6b74756e  /* "ktun": PRAGMA application_id of a ktune db */
#define KT_DB_SCHEMA_VERSION 3           /* the schema this build writes (migration steps) */
#define KT_DB_READ_MIN_VERSION 1         /* the oldest schema this build's queries can read */
#define KT_DB_BUSY_MS 5000               /* default wait for a lock, in milliseconds */
#define KT_DB_LIBRARY_BUSY_MS 100        /* the library's wait: it never stalls a program */
#define KT_DB_SYSTEM_PATH "/var/lib/ktune/ktune.db"  /* read-only fallback (KTUNE_SYSTEM_DB) */
#define KT_DB_NAME_MAX 64                /* op and variant names, NUL included */
#define KT_DB_ERROR_MAX 256              /* error texts as read back (longer ones are cut) */
#define KT_DB_MAX_ROUNDS 40              /* per-round times kept with a measurement */

typedef struct kt_db kt_db;

/* ---- Paths ------------------------------------------------------------- */

/*
 * Writes the database path to use into buf:
 *   1. $KTUNE_DB when set and not empty;
 *   2. $XDG_DATA_HOME/ktune/ktune.db when XDG_DATA_HOME is an absolute path;
 *   3. $HOME/.local/share/ktune/ktune.db when HOME is set;
 *   4. for reading only, when there is no file at 2/3 (or neither variable is set) but
 *      there is a system-wide one: $KTUNE_SYSTEM_DB when set, else KT_DB_SYSTEM_PATH.
 * When for_writing, the ktune directory of 2/3 is created (mode 0700) if missing; the
 * directory of $KTUNE_DB is the caller's.  A `--db` option is the caller's: it does not
 * call this.  Returns KT_EINVAL when buf is too small, KT_EIO when the directory cannot
 * be created, KT_EDB when there is no path at all (no KTUNE_DB, XDG_DATA_HOME, HOME,
 * and, for reading, no system database).
 */
kt_status kt_db_default_path(char *buf, size_t len, int for_writing);

/* ---- Opening ----------------------------------------------------------- */

/* A schema: migration step i (1-based) is steps[i - 1], SQL run in one transaction. */
typedef struct kt_db_schema {
    const char *const *steps;
    int nsteps;              /* the schema version: user_version after the last step */
    int read_min;            /* the oldest schema version its read queries work on */
} kt_db_schema;

typedef struct kt_db_options {
    int write;                    /* 0: read-only (kt_db_open_read); 1: kt_db_open_write */
    int busy_ms;                  /* lock wait in ms; 0: KT_DB_BUSY_MS; < 0: do not wait */
    const kt_db_schema *schema;   /* NULL: the built-in one (tests pass others) */
} kt_db_options;

/*
 * Opens the database at path as opt says (see the top of this file) and stores a new
 * handle in *out (NULL on error).  opt NULL: read-only, defaults.  A read-only file
 * opened for writing fails (KT_EDB "... is read-only").  A WAL file whose directory we
 * cannot write (no -shm can be made: the system database) is read as an immutable file;
 * a -wal file left next to it is then not read (only a crashed writer leaves one).
 */
kt_status kt_db_open(const char *path, const kt_db_options *opt, kt_db **out);

/* kt_db_open() for reading, or for writing, with the defaults. */
kt_status kt_db_open_read(const char *path, kt_db **out);
kt_status kt_db_open_write(const char *path, kt_db **out);

/* Closes db (NULL is fine).  Returns KT_EDB if SQLite reports a failure; db is gone. */
kt_status kt_db_close(kt_db *db);

/* The path db was opened with. */
const char *kt_db_path(const kt_db *db);

/* The file's schema version (user_version); 0 for an empty database opened for reading. */
int kt_db_version(const kt_db *db);

/* Number of stale runs kt_db_open_write() marked 'interrupted' (0 for readers). */
int kt_db_runs_reaped(const kt_db *db);

/*
 * Runs PRAGMA integrity_check.  Returns KT_OK when the file is sound, else KT_EDB with
 * SQLite's first complaint in the message.
 */
kt_status kt_db_check(kt_db *db);

/* ---- Dimensions -------------------------------------------------------- */

/*
 * The stored dimensions (m, n, k) of an op's dims[] (kt_op.ndims of them): vector ops
 * (ndims 1) store their length in n, {m, n} ops m and n, {m, n, k} ops all three; unused
 * ones are 0.  kt_db_dims_unpack() is the inverse.
 */
void kt_db_dims_pack(int ndims, const size_t dims[3], size_t mnk[3]);
void kt_db_dims_unpack(int ndims, const size_t mnk[3], size_t dims[3]);

/* ---- Machines and variants (writers) ----------------------------------- */

/*
 * Inserts the machine with this fingerprint, or updates its details and last_seen, and
 * stores its id in *id.  details is JSON text (NULL: "{}"); invalid JSON: KT_EINVAL.
 */
kt_status kt_db_machine_put(kt_db *db, const char *fingerprint, const char *details,
                            int64_t *id);

/* The id of the machine with this fingerprint, or KT_ENOTFOUND (readers too). */
kt_status kt_db_machine_find(kt_db *db, const char *fingerprint, int64_t *id);

/*
 * Records variant (op, name, version) with its backend and parameters (NULL: "");
 * updates backend and params of an existing row.  Measurements and choices name only
 * recorded variants.
 */
kt_status kt_db_variant_put(kt_db *db, const char *op, const char *name, unsigned version,
                            const char *backend, const char *params);

/* ---- Runs (writers) ---------------------------------------------------- */

typedef enum kt_db_run_status {
    KT_DB_RUN_RUNNING,
    KT_DB_RUN_COMPLETE,
    KT_DB_RUN_INTERRUPTED,
    KT_DB_RUN_FAILED
} kt_db_run_status;

/*
 * Starts a run on machine: status 'running', this process's pid and host name, the
 * options text (how the tuner was invoked; NULL: "") and ktune version.  *run gets its id.
 */
kt_status kt_db_run_begin(kt_db *db, int64_t machine, const char *options,
                          const char *ktune_version, int64_t *run);

/*
 * kt_db_run_begin() for a run made by another process: the writer of `ktune tune --mpi`
 * records each measuring rank's run with that rank's host name and pid.
 */
kt_status kt_db_run_begin_as(kt_db *db, int64_t machine, const char *options,
                             const char *ktune_version, const char *host, int64_t pid,
                             int64_t *run);

/* Sets the status of run and its end time.  KT_ENOTFOUND for an unknown run. */
kt_status kt_db_run_end(kt_db *db, int64_t run, kt_db_run_status status);

/* ---- Measurements ------------------------------------------------------ */

/* One row of the measurements table (see db/schema.sql for the meaning of each field). */
typedef struct kt_db_measurement {
    /* key */
    int64_t machine;               /* machines.id */
    char op[KT_DB_NAME_MAX];
    size_t m, n, k;                /* see kt_db_dims_pack() */
    char variant[KT_DB_NAME_MAX];
    unsigned version;
    /* value */
    int64_t run;                   /* runs.id; 0: none */
    int samples;
    double median_s;               /* NAN: none (valid == 0) */
    double spread;                 /* (p75 - p25) / median; NAN: unknown */
    double min_s;                  /* NAN: unknown */
    double kernel_s;               /* GPU kernel alone; NAN: none (CPU variants) */
    int valid;                     /* 1: matched the reference; 0: see error */
    char error[KT_DB_ERROR_MAX];   /* "" when none */
    double gflops, gbs;            /* NAN: unknown */
    char measured_at[32];          /* set by the database (UTC, ISO 8601); ignored by put */
    /* schema 2 (read as 0 / none from a version 1 file) */
    int64_t batch;      /* the interleaved measuring session that timed it: rows of one point
                           with the same batch were timed in the same rounds (0: unknown) */
    int nrounds;        /* per-call seconds of each round, in round order (0: none) */
    float rounds[KT_DB_MAX_ROUNDS];
} kt_db_measurement;

/*
 * Inserts *me, or replaces the stored measurement with the same key, in its own
 * transaction: once this returns KT_OK the row survives a kill of the process.  NAN
 * values and "" strings are stored as NULL.  valid == 1 needs a median_s.  The machine,
 * the run (if any) and the variant (op, variant, version) must exist: KT_EINVAL if not.
 * batch 0 is stored as NULL; rounds[0..nrounds) as a BLOB of little-endian float32
 * (NULL when nrounds is 0); nrounds outside 0..KT_DB_MAX_ROUNDS: KT_EINVAL.
 */
kt_status kt_db_measurement_put(kt_db *db, const kt_db_measurement *me);

/*
 * Looks up the measurement whose key (machine, op, m, n, k, variant, version) is in *me
 * and fills the rest of *me.  KT_ENOTFOUND when there is none: in particular when only
 * measurements of other versions of the variant exist, so "KT_OK with the registry's
 * version" means "measured with the current code, no need to measure again".
 */
kt_status kt_db_measurement_get(kt_db *db, kt_db_measurement *me);

/*
 * The measurements of op on machine, of every variant and version, ordered by m, n, k,
 * variant, version; only those for which keep(ctx, me) returns non-zero when keep is
 * given (e.g. "version is the registry's and valid").  Stores a malloc'ed array in *out
 * (NULL when none) and its length in *count; free it with free().
 */
kt_status kt_db_measurements_list(kt_db *db, int64_t machine, const char *op,
                                  int (*keep)(void *ctx, const kt_db_measurement *me),
                                  void *ctx, kt_db_measurement **out, size_t *count);

/* ---- Choices ----------------------------------------------------------- */

/* One row of the choices table for one (machine, op); see db/schema.sql. */
typedef struct kt_db_choice {
    size_t m, n, k;                /* see kt_db_dims_pack() */
    int rank;                      /* 1: the winner */
    char variant[KT_DB_NAME_MAX];
    unsigned version;              /* dispatch ignores a choice whose version is not its own */
    double median_s;
    double margin;                 /* see db/schema.sql; NAN: none (no runner-up) */
    /* schema 2 (read as NAN, NAN, "" from a version 1 file) */
    double ci_lo, ci_hi;   /* 95% interval of `margin` (same definition); NAN: none */
    char decision[16];     /* "resolved", "tie", "unresolved", "merged", "single", "" (old rows) */
} kt_db_choice;

/*
 * Replaces all choices of op on machine by the count given (0 clears them), made by run
 * (0: none), in one transaction: readers see the old set or the new one, never a mix.
 * A decision other than those listed in kt_db_choice: KT_EINVAL, nothing changed.
 */
kt_status kt_db_choices_replace(kt_db *db, int64_t machine, const char *op, int64_t run,
                                const kt_db_choice *choices, size_t count);

/*
 * The choices of op for the machine with this fingerprint, ordered by m, n, k, rank.
 * Stores a malloc'ed array in *out (NULL when none) and its length in *count; free it
 * with free().  An unknown machine or an empty database gives KT_OK and no rows.
 */
kt_status kt_db_choices_load(kt_db *db, const char *fingerprint, const char *op,
                             kt_db_choice **out, size_t *count);

/* ---- Verifications (schema 2) ------------------------------------------ */

/* verification of a run: one row per held-out shape and pass */
typedef struct kt_db_verify_row {
    int64_t machine, run;
    char op[KT_DB_NAME_MAX];
    size_t m, n, k;            /* packed as for measurements */
    int pass;                  /* 1: first verification, 2: after re-measuring the neighbourhood */
    char dispatched[KT_DB_NAME_MAX];  /* the variant the dispatched call ran */
    double dispatched_s;       /* per-call time of the dispatched call (held-out half) */
    char best[KT_DB_NAME_MAX]; /* best fixed variant, chosen on the other half */
    double best_s;             /* its time on the held-out half */
    double ratio;              /* dispatched_s / best_s */
    char fixed[2048];          /* JSON object {"variant": time/dispatched, ...} ("" none) */
    uint64_t seed;             /* the seed the held-out sizes came from */
} kt_db_verify_row;

/*
 * Inserts *row, or replaces the row with the same (run, op, m, n, k, pass), in its own
 * transaction.  NAN times are stored as NULL.  KT_EINVAL: pass not 1 or 2, empty names,
 * fixed neither "" nor a JSON object, or a run that is not the machine's (or missing).
 */
kt_status kt_db_verify_put(kt_db *db, const kt_db_verify_row *row);

/*
 * The rows of machine's run (run 0: the newest run of that machine having verification
 * rows, by start time), ordered by op, pass, m, n, k; a malloc'ed array in *out (NULL
 * when none: also for a version 1 file), its length in *count; free() it.
 */
kt_status kt_db_verify_list(kt_db *db, int64_t machine, int64_t run, kt_db_verify_row **out,
                            size_t *count);

/* ---- Limits ------------------------------------------------------------ */

/* Stores (or replaces) the limit name ('mem_bw_gbs', 'peak_gflops_f32') of machine. */
kt_status kt_db_limit_put(kt_db *db, int64_t machine, const char *name, double value);

/* Reads the limit name of machine into *value, or returns KT_ENOTFOUND. */
kt_status kt_db_limit_get(kt_db *db, int64_t machine, const char *name, double *value);

/* ---- Inspection and exchange (ktune show, explain, report, export, import, merge) -- */

#define KT_DB_FP_MAX 256       /* fingerprints, NUL included */
#define KT_DB_TIME_MAX 32      /* ISO 8601 times, NUL included ("" for NULL) */

/* One row of machines. */
typedef struct kt_db_machine_row {
    int64_t id;
    char fingerprint[KT_DB_FP_MAX];
    char *details;                  /* JSON text, malloc'ed (owned by the dump) */
    char first_seen[KT_DB_TIME_MAX], last_seen[KT_DB_TIME_MAX];
} kt_db_machine_row;

/* One row of runs. */
typedef struct kt_db_run_row {
    int64_t id, machine;
    char started[KT_DB_TIME_MAX];
    char ended[KT_DB_TIME_MAX];     /* "" while running */
    char *options;                  /* malloc'ed (owned by the dump) */
    char status[16];                /* 'running', 'complete', 'interrupted', 'failed' */
    char ktune_version[KT_DB_NAME_MAX];
    int64_t pid;
    char host[KT_DB_FP_MAX];
} kt_db_run_row;

/* One row of variants. */
typedef struct kt_db_variant_row {
    char op[KT_DB_NAME_MAX], name[KT_DB_NAME_MAX];
    unsigned version;
    char backend[KT_DB_NAME_MAX], params[KT_DB_NAME_MAX];
} kt_db_variant_row;

/* One row of choices, with its machine, op and run (0: none). */
typedef struct kt_db_choice_row {
    int64_t machine, run;
    char op[KT_DB_NAME_MAX];
    kt_db_choice c;
} kt_db_choice_row;

/* One row of limits. */
typedef struct kt_db_limit_row {
    int64_t machine;
    char name[KT_DB_NAME_MAX];
    double value;
    char measured_at[KT_DB_TIME_MAX];
} kt_db_limit_row;

/* One row of profiled_calls. */
typedef struct kt_db_profile_row {
    int64_t machine;
    char op[KT_DB_NAME_MAX];
    size_t m, n, k;
    int64_t calls;
    double total_s;
    char updated[KT_DB_TIME_MAX];
} kt_db_profile_row;

/*
 * A copy of (part of) a database in memory: what export writes, import and merge read.
 * Ids (machine, run) refer to rows of the same dump, not to any file.  Orders:
 * machines by fingerprint; runs by machine, started, host, pid; variants by op, name,
 * version; the rest by machine, then their key (measurements: op, m, n, k, variant,
 * version; choices: op, m, n, k, rank; limits: name; profiles: op, m, n, k;
 * verifications: run, op, pass, m, n, k).
 */
typedef struct kt_db_dump {
    kt_db_machine_row *machines;
    size_t nmachines;
    kt_db_run_row *runs;
    size_t nruns;
    kt_db_variant_row *variants;
    size_t nvariants;
    kt_db_measurement *measurements;
    size_t nmeasurements;
    kt_db_choice_row *choices;
    size_t nchoices;
    kt_db_limit_row *limits;
    size_t nlimits;
    kt_db_profile_row *profiles;
    size_t nprofiles;
    kt_db_verify_row *verifications;
    size_t nverifications;
} kt_db_dump;

/* What kt_db_dump_read() reads (machines always). */
enum {
    KT_DB_DUMP_RUNS = 1u << 0,
    KT_DB_DUMP_VARIANTS = 1u << 1,
    KT_DB_DUMP_MEASUREMENTS = 1u << 2,
    KT_DB_DUMP_CHOICES = 1u << 3,
    KT_DB_DUMP_LIMITS = 1u << 4,
    KT_DB_DUMP_PROFILES = 1u << 5,
    KT_DB_DUMP_VERIFY = 1u << 6,
    KT_DB_DUMP_ALL = 0x7f
};

/*
 * Reads the rows of the machine with this fingerprint (NULL: of every machine) into *out,
 * in one read transaction (a consistent snapshot), the tables named by what
 * (KT_DB_DUMP_*; machines always).  With a fingerprint, variants are those its
 * measurements and choices name.  An empty database or an unknown fingerprint gives
 * KT_OK and an empty dump.  Free it with kt_db_dump_free().
 */
kt_status kt_db_dump_read(kt_db *db, const char *fingerprint, unsigned what, kt_db_dump *out);

/*
 * kt_db_dump_read() a machine at a time, for files too large to hold at once: in one read
 * transaction, calls fn(ctx, part, 1) once with the machines (all, or the one with this
 * fingerprint) and, when what has KT_DB_DUMP_VARIANTS, their variants; then fn(ctx, part,
 * 0) for each of those machines in fingerprint order, with that machine alone in
 * part->machines and its rows of the other tables named by what.  Parts are freed when fn
 * returns.  A failure of fn (its kt_status) ends the stream and is returned.
 */
kt_status kt_db_dump_stream(kt_db *db, const char *fingerprint, unsigned what,
                            kt_status (*fn)(void *ctx, const kt_db_dump *part, int head),
                            void *ctx);

/* Frees what a dump owns and zeroes it (a zeroed dump is fine). */
void kt_db_dump_free(kt_db_dump *d);

/* Appends a zeroed row to the array of a dump being built; NULL when out of memory. */
void *kt_db_dump_grow(void **array, size_t *count, size_t elem);

/* Reads run id into *out (its options are malloc'ed: free them).  KT_ENOTFOUND if none. */
kt_status kt_db_run_get(kt_db *db, int64_t id, kt_db_run_row *out);

/* Rows of one table that kt_db_merge() looked at. */
typedef struct kt_db_merge_count {
    int added;      /* new here */
    int identical;  /* already here, the same */
    int replaced;   /* here, different: the incoming row won and replaced it */
    int kept;       /* here, different: the existing row won and stays */
} kt_db_merge_count;

/* One conflict: the same key in both, with different values. */
typedef struct kt_db_conflict {
    char table[16];          /* "measurements", "choices", ... */
    char key[320];           /* the row's key, for people */
    int incoming_won;        /* 1: replaced by the incoming row; 0: the existing row kept */
    char why[192];           /* the deciding rule, for people */
} kt_db_conflict;

typedef struct kt_db_merge_report {
    kt_db_merge_count machines, runs, variants, measurements, choices, limits, profiles;
    kt_db_merge_count verifications;
    kt_db_conflict *conflicts;  /* malloc'ed; free with kt_db_merge_report_free() */
    size_t nconflicts;
} kt_db_merge_report;

/*
 * Merges the dump in into db (open for writing), in one transaction: either all of it
 * lands or nothing does.  Nothing in db is deleted except a row that a conflicting
 * incoming row replaces.  Rows are matched by their natural keys (machines by
 * fingerprint; runs by machine, started, host and pid; the other tables by their
 * primary keys, per machine); a choice set is the unit for choices (all ranks of one
 * machine and op).  When a key holds different values, the row from the newest
 * complete run wins: a complete run beats any other status, then the later start,
 * then the later measured_at (updated for profiles), then a total order on the values,
 * so that the result does not depend on the order in which files are merged.  Machines
 * keep the earliest first_seen, the latest last_seen and the details of the latest;
 * one run seen twice keeps its most final status (complete, interrupted, failed,
 * running).  dry_run: everything is checked and counted, then rolled back.  *rep gets
 * the counts and the conflicts (also on failure: free it).  KT_EINVAL when the dump
 * is inconsistent (a row naming a missing machine, run or variant).
 */
kt_status kt_db_merge(kt_db *db, const kt_db_dump *in, int dry_run, kt_db_merge_report *rep);

void kt_db_merge_report_free(kt_db_merge_report *rep);


/* ---- Profiles of real calls (schema 3; db/profile.c) --------------------- */

/* One profiled process (profile_runs); for kt_db_profile_sessions, one session. */
typedef struct kt_db_prof_run {
    int64_t id;
    char fingerprint[KT_DB_FP_MAX];  /* the machine's (sessions only) */
    char program[1024];
    char args[1001];
    char args_hash[17];
    char session[64];
    int64_t pid;
    char started[40];                /* ISO 8601 with milliseconds */
    char flushed[40];                /* read only */
    char ktune_version[KT_DB_NAME_MAX];
    int complete;                    /* 1: written at exit */
    int processes;                   /* sessions only: its runs */
} kt_db_prof_run;

/* Calls of one op at one shape class running one variant (profile_calls). */
typedef struct kt_db_prof_call {
    char op[KT_DB_NAME_MAX];
    size_t m, n, k;                  /* packed as for measurements */
    int bucket;                      /* 0 exact, 1 log2 class, 2 shape unknown */
    char variant[KT_DB_NAME_MAX];
    unsigned version;
    int64_t calls, timed;
    double timed_s, total_s;
} kt_db_prof_call;

/* One dispatch counter of one op (profile_counters). */
typedef struct kt_db_prof_counter {
    char op[KT_DB_NAME_MAX];
    char counter[16];                /* tuned, neighbour, default, forced, strided, fallback */
    int64_t count;
} kt_db_prof_counter;

/*
 * Stores the profile of one process in one transaction: the machine with this
 * fingerprint (added, with no details, if new), the run (found by machine, session,
 * pid and started, or added) and, replacing what that run stored before, its calls and
 * counters.  A file of schema < 3 is migrated by kt_db_open_write as usual.
 */
kt_status kt_db_profile_write(kt_db *db, const char *fingerprint, const kt_db_prof_run *run,
                              const kt_db_prof_call *calls, size_t ncalls,
                              const kt_db_prof_counter *ctrs, size_t nctrs);

/*
 * The stored profile sessions, newest first: each with the identity of its first
 * process and the number of processes; only those of program when given (its full
 * path, or its last path component).  Malloc'ed *out, *count; free() it.  A file of
 * schema < 3 has none (KT_OK).
 */
kt_status kt_db_profile_sessions(kt_db *db, const char *program, kt_db_prof_run **out,
                                 size_t *count);

/* The calls of a session, summed over its processes, the most time first. */
kt_status kt_db_profile_calls(kt_db *db, const char *session, kt_db_prof_call **out,
                              size_t *count);

/* The dispatch counters of a session, summed over its processes, by op. */
kt_status kt_db_profile_counters(kt_db *db, const char *session, kt_db_prof_counter **out,
                                 size_t *count);

#ifdef __cplusplus
}
#endif

#endif /* KT_DB_H */
