/*
 * `ktune merge`: merging another ktune database (a fleet member's file) into this one.
 */
#include "config.h"

#include <sys/stat.h>

#include "kt_exchange.h"
#include "kt_inspect.h"

static const char merge_help[] =
    "usage: ktune merge OTHER.db [--db PATH] [--dry-run] [--json]\n\n"
    "Merges another ktune database (a fleet member's file) into this one, with the\n"
    "rules of ktune import: duplicates are recognised, conflicts go to the newest\n"
    "complete run, nothing is lost, all in one transaction.  Merging is\n"
    "idempotent, and for rows that do not conflict the order of merges does not\n"
    "matter.  OTHER.db is only read.\n\n"
    "  --db PATH   the database to merge into (default: KTUNE_DB, else\n"
    "              $XDG_DATA_HOME/ktune/ktune.db or ~/.local/share/ktune/ktune.db)\n"
    "  --dry-run   check and count, change nothing\n"
    "  --json      machine-readable summary\n"
    "Exit status: 0 success, 1 failure (unreadable or newer file, database),\n"
    "2 bad command line.\n";


int kt_cmd_merge(int argc, char **argv) {
    const char *other = NULL, *dbpath = NULL;
    int dry = 0, json = 0;
    int rc = kt_exchange_parse_opts(argc, argv, "merge", merge_help, &other, &dbpath, &dry, &json);
    if (rc >= 0) return rc;
    kt_db *src;
    struct stat st;
    if (stat(other, &st) != 0)
        return kt_cli_error(KT_EXIT_FAIL, "merge", "no database at %s", other);
    if (kt_db_open_read(other, &src) != KT_OK)
        return kt_cli_error(KT_EXIT_FAIL, "merge", "%s", kt_last_error());
    if ((rc = kt_exchange_refuse_newer(src, "merge")) != KT_EXIT_OK) {
        kt_db_close(src);
        return rc;
    }
    kt_db_dump d;
    kt_status s = kt_db_dump_read(src, NULL, KT_DB_DUMP_ALL, &d);
    if (s != KT_OK) {
        rc = kt_cli_error(KT_EXIT_FAIL, "merge", "%s", kt_last_error());
        kt_db_close(src);
        return rc;
    }
    kt_db_close(src);
    rc = kt_exchange_merge_into("merge", dbpath, other, &d, dry, json);
    kt_db_dump_free(&d);
    return rc;
}
