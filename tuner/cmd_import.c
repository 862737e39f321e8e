/*
 * `ktune import`: merging a JSON export (ktune export) into the database, all or nothing.
 */
#include "config.h"


#include "kt_exchange.h"
#include "kt_inspect.h"

static const char import_help[] =
    "usage: ktune import FILE [--db PATH] [--dry-run] [--json]\n\n"
    "Merges a JSON export (ktune export; FILE - reads standard input) into the\n"
    "database, creating it if needed.  Rows already present are left alone;\n"
    "when the same key holds different values, the row from the newest complete\n"
    "run wins (then the later measurement); nothing else is changed or lost.  The\n"
    "whole file is checked first and lands in one transaction: a bad file writes\n"
    "nothing.  Prints what was added, identical, replaced and kept, and each\n"
    "conflict.\n\n"
    "  --db PATH   the database to merge into (default: KTUNE_DB, else\n"
    "              $XDG_DATA_HOME/ktune/ktune.db or ~/.local/share/ktune/ktune.db)\n"
    "  --dry-run   check and count, change nothing\n"
    "  --json      machine-readable summary\n"
    "Exit status: 0 success, 1 failure (bad file, database), 2 bad command line.\n";


int kt_cmd_import(int argc, char **argv) {
    const char *file = NULL, *dbpath = NULL;
    int dry = 0, json = 0;
    int rc = kt_exchange_parse_opts(argc, argv, "import", import_help, &file, &dbpath, &dry, &json);
    if (rc >= 0) return rc;
    kt_db_dump d;
    if (kt_exchange_read(file, &d) != KT_OK)
        return kt_cli_error(KT_EXIT_FAIL, "import", "%s; nothing was written", kt_last_error());
    rc = kt_exchange_merge_into("import", dbpath, file, &d, dry, json);
    kt_db_dump_free(&d);
    return rc;
}
