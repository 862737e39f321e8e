/*
 * Fuzz target: opening and loading a mutated tuning database file (db/kt_db.c, and the
 * library's own load at init).  The input is written as a database file, then:
 *   1. kt_db_open_read, kt_db_version, kt_db_dump_read (everything), kt_db_choices_load
 *      for each machine it lists (at most 4) and for this machine, every op, kt_db_check;
 *   2. the library loads it as KTUNE_DB (kt_reload): KT_OK or KT_EDB, and the entry points
 *      keep working on the defaults;
 *   3. kt_db_open_write on a copy (which migrates an older schema and reaps stale runs),
 *      then kt_db_dump_read on it.
 * Invariants: no crash or sanitizer report; every failure is a kt_status other than
 * KT_EINTERNAL with a message, and leaves no handle; rows hold NUL-terminated names, known
 * ops, ranks >= 1; counts agree with the arrays.
 */
#include "config.h"

#include "fuzz.h"
#include "kt_db.h"
#include "ktune.h"

static char in_path[512], copy_path[512];

/* A failure must be a documented status with a message; a success must give a handle. */
static void check_status(const char *what, kt_status s, const void *handle_ok) {
    KT_FUZZ_CHECK(s >= KT_OK && s < KT_EINTERNAL, "%s returned %d", what, (int)s);
    if (s != KT_OK)
        KT_FUZZ_CHECK(kt_last_error()[0] != '\0', "%s failed (%d) without a message", what, (int)s);
    else
        KT_FUZZ_CHECK(handle_ok != NULL, "%s succeeded without a result", what);
}

static int terminated(const char *s, size_t n) { return memchr(s, '\0', n) != NULL; }

/* The rows of a dump are well formed. */
static void check_dump(const kt_db_dump *d) {
    KT_FUZZ_CHECK(!d->nmachines || d->machines, "machines count without rows");
    for (size_t i = 0; i < d->nmachines; i++)
        KT_FUZZ_CHECK(terminated(d->machines[i].fingerprint, sizeof d->machines[i].fingerprint),
                      "machine %zu fingerprint", i);
    KT_FUZZ_CHECK(!d->nvariants || d->variants, "variants count without rows");
    for (size_t i = 0; i < d->nvariants; i++)
        KT_FUZZ_CHECK(terminated(d->variants[i].op, sizeof d->variants[i].op) &&
                          terminated(d->variants[i].name, sizeof d->variants[i].name),
                      "variant %zu names", i);
    KT_FUZZ_CHECK(!d->nmeasurements || d->measurements, "measurements count without rows");
    for (size_t i = 0; i < d->nmeasurements; i++)
        KT_FUZZ_CHECK(terminated(d->measurements[i].error, sizeof d->measurements[i].error) &&
                          terminated(d->measurements[i].variant, sizeof d->measurements[i].variant),
                      "measurement %zu strings", i);
    KT_FUZZ_CHECK(!d->nchoices || d->choices, "choices count without rows");
    KT_FUZZ_CHECK(!d->nruns || d->runs, "runs count without rows");
    KT_FUZZ_CHECK(!d->nlimits || d->limits, "limits count without rows");
    KT_FUZZ_CHECK(!d->nprofiles || d->profiles, "profiles count without rows");
}

/* kt_db_choices_load for fingerprint fp and every op: well-formed rows or a status. */
static void load_choices(kt_db *db, const char *fp) {
    for (size_t op = 0; op < kt_op_count(); op++) {
        kt_db_choice *ch = (kt_db_choice *)1;
        size_t n = 99;
        kt_status s = kt_db_choices_load(db, fp, kt_op_name(op), &ch, &n);
        KT_FUZZ_CHECK(s >= KT_OK && s < KT_EINTERNAL, "choices_load returned %d", (int)s);
        if (s != KT_OK) continue;
        KT_FUZZ_CHECK(n == 0 || ch != NULL, "%zu choices without rows", n);
        for (size_t i = 0; i < n; i++)
            KT_FUZZ_CHECK(terminated(ch[i].variant, sizeof ch[i].variant) && ch[i].rank >= 1,
                          "choice %zu: name or rank %d", i, ch[i].rank);
        free(n ? ch : NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kt_fuzz_unlink_db(in_path);
    kt_fuzz_write(in_path, data, size);

    /* 1. read-only, as the library and the inspection commands do */
    kt_db *db = (kt_db *)1;
    kt_status s = kt_db_open_read(in_path, &db);
    check_status("kt_db_open_read", s, db);
    if (s != KT_OK) {
        KT_FUZZ_CHECK(db == NULL, "failed open left a handle");
    } else {
        (void)kt_db_version(db);
        kt_db_dump d;
        s = kt_db_dump_read(db, NULL, KT_DB_DUMP_ALL, &d);
        KT_FUZZ_CHECK(s >= KT_OK && s < KT_EINTERNAL, "dump_read returned %d", (int)s);
        if (s == KT_OK) {
            check_dump(&d);
            for (size_t i = 0; i < d.nmachines && i < 4; i++)
                load_choices(db, d.machines[i].fingerprint);
            kt_db_dump_free(&d);
        }
        load_choices(db, kt_fingerprint());
        s = kt_db_check(db);
        KT_FUZZ_CHECK(s == KT_OK || s == KT_EDB || s == KT_ENOMEM, "check returned %d", (int)s);
        s = kt_db_close(db);
        KT_FUZZ_CHECK(s == KT_OK || s == KT_EDB, "close returned %d", (int)s);
    }

    /* 2. the library's own load (KTUNE_DB points at in_path) */
    s = kt_reload();
    KT_FUZZ_CHECK(s == KT_OK || s == KT_EDB, "kt_reload returned %d (%s)", (int)s, kt_last_error());
    float y[3] = {1, 2, 3};
    s = kt_add_scalar_f32(3, 1.0f, y);
    KT_FUZZ_CHECK(s == KT_OK && y[0] == 2 && y[2] == 4, "add_scalar after load: %d", (int)s);

    /* 3. for writing, on a copy */
    kt_fuzz_unlink_db(copy_path);
    kt_fuzz_write(copy_path, data, size);
    db = (kt_db *)1;
    s = kt_db_open_write(copy_path, &db);
    check_status("kt_db_open_write", s, db);
    if (s != KT_OK) {
        KT_FUZZ_CHECK(db == NULL, "failed open for writing left a handle");
    } else {
        kt_db_dump d;
        s = kt_db_dump_read(db, NULL, KT_DB_DUMP_ALL, &d);
        KT_FUZZ_CHECK(s >= KT_OK && s < KT_EINTERNAL, "dump_read (write) returned %d", (int)s);
        if (s == KT_OK) {
            check_dump(&d);
            kt_db_dump_free(&d);
        }
        s = kt_db_close(db);
        KT_FUZZ_CHECK(s == KT_OK || s == KT_EDB, "close (write) returned %d", (int)s);
    }
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    kt_fuzz_path("in.db", in_path, sizeof in_path);
    kt_fuzz_path("copy.db", copy_path, sizeof copy_path);
    setenv("KTUNE_DB", in_path, 1); /* before any library call: read once at init */
    return 0;
}
