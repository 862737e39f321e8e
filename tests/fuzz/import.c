/*
 * Fuzz target: the JSON import of `ktune import` (tuner/cmd_export.c).  The JSON reader
 * (read_export) is static, so the target calls the narrowest public function above it,
 * kt_cmd_import(argc, argv), in-process: the input is written to a file and imported
 * into a fresh database (`ktune import --db DB FILE`); every other input is imported a
 * second time into the same database (the merge path with rows already there).
 * Invariants: exit status 0 or 1 (never 2: the command line is fixed), no crash, no
 * sanitizer report, no leak; after a success the database opens and dumps.
 * stdout and stderr (the report, the one-line errors) go to /dev/null during the call.
 */
#include "config.h"

#include "fuzz.h"
#include "kt_cli.h"
#include "kt_db.h"

static char json_path[512], db_path[512];
static FILE *devnull;

/* Runs `ktune import --db db_path json_path` with the tool's output discarded. */
static int import_once(void) {
    char a0[] = "import", a1[] = "--db";
    char *argv[] = {a0, a1, db_path, json_path, NULL};
    FILE *out = stdout, *err = stderr;
    stdout = devnull, stderr = devnull; /* stdio only: sanitizer reports still reach fd 2 */
    int rc = kt_cmd_import(4, argv);
    fflush(devnull);
    stdout = out, stderr = err;
    return rc;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kt_fuzz_write(json_path, data, size);
    kt_fuzz_unlink_db(db_path);
    int rc = import_once();
    KT_FUZZ_CHECK(rc == KT_EXIT_OK || rc == KT_EXIT_FAIL, "import exited %d", rc);
    if (rc == KT_EXIT_OK && size % 2) {
        rc = import_once();
        KT_FUZZ_CHECK(rc == KT_EXIT_OK || rc == KT_EXIT_FAIL, "second import exited %d", rc);
    }
    if (rc == KT_EXIT_OK) {
        kt_db *db;
        kt_status s = kt_db_open_read(db_path, &db);
        KT_FUZZ_CHECK(s == KT_OK, "imported database does not open: %s", kt_last_error());
        kt_db_dump d;
        s = kt_db_dump_read(db, NULL, KT_DB_DUMP_ALL, &d);
        KT_FUZZ_CHECK(s == KT_OK, "imported database does not dump: %s", kt_last_error());
        kt_db_dump_free(&d);
        kt_db_close(db);
    }
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    kt_fuzz_path("in.json", json_path, sizeof json_path);
    kt_fuzz_path("import.db", db_path, sizeof db_path);
    devnull = fopen("/dev/null", "w");
    if (!devnull) abort();
    return 0;
}
