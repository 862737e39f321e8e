/*
 * ktune tuning database: opening a file, the checks made before reading and before
 * writing, the forward migration, stale-run reaping, and the default paths.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "kt_db_int.h"

#include "kt_schema.h"

_Static_assert(sizeof kt_schema_steps / sizeof kt_schema_steps[0] == KT_DB_SCHEMA_VERSION,
               "KT_DB_SCHEMA_VERSION must equal the number of embedded migration steps");

static const kt_db_schema builtin_schema = {
    kt_schema_steps, KT_DB_SCHEMA_VERSION, KT_DB_READ_MIN_VERSION
};

/* What the file is, read in one statement (one snapshot). */
static const char identify_sql[] =
    "SELECT (SELECT application_id FROM pragma_application_id), "
    "(SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_master)";

/* ---- Opening ------------------------------------------------------------ */

/* "file:PATH?immutable=1" with PATH percent-encoded; NULL when out of memory. */
static char *immutable_uri(const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(path);
    char *uri = malloc(len * 3 + sizeof "file:?immutable=1");
    if (!uri)
        return NULL;
    char *p = uri;
    p += sprintf(p, "file:");
    for (const unsigned char *s = (const unsigned char *)path; *s; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
            strchr("/-._~", *s)) {
            *p++ = (char)*s;
        } else {
            *p++ = '%';
            *p++ = hex[*s >> 4];
            *p++ = hex[*s & 15];
        }
    }
    strcpy(p, "?immutable=1");
    return uri;
}

/* Opens the connection of db and sets it up; immutable: read-only, as an immutable file. */
static kt_status db_connect(kt_db *db, int immutable)
{
    int flags = db->write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    char *uri = NULL;
    if (immutable) {
        uri = immutable_uri(db->path);
        if (!uri)
            return kt_fail(KT_ENOMEM, "%s: out of memory", db->path);
        flags |= SQLITE_OPEN_URI;
    }
    int rc = sqlite3_open_v2(uri ? uri : db->path, &db->sql, flags, NULL);
    free(uri);
    if (rc != SQLITE_OK) {
        kt_status s = kt_dbi_fail_sql(db, rc, db->write ? "cannot create or open" : "cannot open");
        (void)sqlite3_close(db->sql); /* nothing to report: the open failed */
        db->sql = NULL;
        return s;
    }
    rc = sqlite3_extended_result_codes(db->sql, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(db->sql, db->busy_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_db_config(db->sql, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_db_config(db->sql, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
    if (rc != SQLITE_OK)
        return kt_dbi_fail_sql(db, rc, "configuring the connection");
    return kt_dbi_exec(db, "PRAGMA foreign_keys = ON", "enabling foreign keys");
}

/* What a file is: its application_id, user_version and number of schema objects. */
typedef struct identity {
    int64_t app, version, objects;
} identity;

/* Reads the identity of the file; returns the SQLite result code (the caller reports). */
static int identify_rc(kt_db *db, identity *id)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->sql, identify_sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        id->app = sqlite3_column_int64(st, 0) & 0xffffffff;
        id->version = sqlite3_column_int64(st, 1);
        id->objects = sqlite3_column_int64(st, 2);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_INTERNAL; /* a SELECT of constants returns one row */
    }
    (void)sqlite3_finalize(st); /* repeats the step's error, in rc already */
    return rc;
}

static kt_status identify(kt_db *db, identity *id)
{
    int rc = identify_rc(db, id);
    return rc == SQLITE_OK ? KT_OK : kt_dbi_fail_sql(db, rc, "reading the schema version");
}

/*
 * Accepts a ktune database (*empty = 0) or a database with nothing in it (*empty = 1);
 * anything else is not ours and is refused.
 */
static kt_status classify(const kt_db *db, const identity *id, int *empty)
{
    *empty = 0;
    if (id->app == KT_DB_APPLICATION_ID && id->version >= 1)
        return KT_OK;
    if ((id->app == 0 || id->app == KT_DB_APPLICATION_ID) && id->version == 0 &&
        id->objects == 0) {
        *empty = 1;
        return KT_OK;
    }
    if (id->app == KT_DB_APPLICATION_ID)
        return kt_fail(KT_EDB, "%s: damaged ktune database (schema version %lld, %lld tables)",
                       db->path, (long long)id->version, (long long)id->objects);
    if (id->app != 0)
        return kt_fail(KT_EDB, "%s: not a ktune database (application_id 0x%08llx)", db->path,
                       (unsigned long long)id->app);
    return kt_fail(KT_EDB,
                   "%s: not a ktune database (a SQLite file with %lld tables, views or indexes "
                   "and no ktune application_id); refusing to use it",
                   db->path, (long long)id->objects);
}

/* Reads meta.compat_version (0 when absent). */
static kt_status compat_version(kt_db *db, int64_t *out)
{
    char buf[32];
    kt_status s = kt_dbi_query_text(db, "SELECT value FROM meta WHERE key = 'compat_version'",
                             "reading the compatible version", buf, sizeof buf);
    *out = s == KT_OK ? strtoll(buf, NULL, 10) : 0;
    return s;
}

/* The checks of a read-only open, after db_connect(). */
static kt_status open_read(kt_db *db, const kt_db_schema *schema)
{
    identity id;
    int rc = identify_rc(db, &id);
    int prim = rc & 0xff;
    if (prim == SQLITE_CANTOPEN || prim == SQLITE_READONLY) {
        /*
         * A WAL file we may not write next to (no -shm can be created: the system-wide
         * database): read it as an immutable file, which needs no -shm.
         */
        kt_log(KT_LOG_DEBUG, "ktune db: %s: %s; reading it as immutable", db->path,
               sqlite3_errmsg(db->sql));
        (void)sqlite3_close(db->sql); /* no statement is open: this succeeds */
        db->sql = NULL;
        kt_status s = db_connect(db, 1);
        if (s != KT_OK)
            return s;
        rc = identify_rc(db, &id);
    }
    if (rc != SQLITE_OK)
        return kt_dbi_fail_sql(db, rc, "reading the schema version");

    int empty;
    kt_status s = classify(db, &id, &empty);
    if (s != KT_OK || empty)
        return s;
    if (id.version > schema->nsteps) {
        int64_t compat;
        s = compat_version(db, &compat);
        if (s != KT_OK)
            return s;
        if (compat < 1 || compat > schema->nsteps)
            return kt_fail(KT_EDB,
                           "%s: schema version %lld needs a newer ktune (this one reads "
                           "versions up to %d)",
                           db->path, (long long)id.version, schema->nsteps);
    }
    if (id.version < schema->read_min)
        return kt_fail(KT_EDB,
                       "%s: schema version %lld is older than this ktune reads (%d); open it "
                       "for writing once (ktune tune) to upgrade it",
                       db->path, (long long)id.version, schema->read_min);
    db->version = (int)(id.version > 0x7fffffff ? 0x7fffffff : id.version);
    return KT_OK;
}

/* Applies the migration steps the file lacks, in one transaction. */
static kt_status migrate(kt_db *db, const kt_db_schema *schema)
{
    kt_status s = kt_dbi_exec(db, "BEGIN IMMEDIATE", "starting the schema upgrade");
    if (s != KT_OK)
        return s;
    /* Again inside the transaction: another process may have created or upgraded it. */
    identity id;
    int empty;
    s = identify(db, &id);
    if (s == KT_OK)
        s = classify(db, &id, &empty);
    if (s == KT_OK && id.version > schema->nsteps)
        s = kt_fail(KT_EDB, "%s: schema version %lld is newer than this ktune's (%d): "
                    "refusing to write; upgrade ktune",
                    db->path, (long long)id.version, schema->nsteps);
    for (int64_t v = id.version + 1; s == KT_OK && v <= schema->nsteps; v++) {
        char what[64];
        snprintf(what, sizeof what, "applying schema step %lld", (long long)v);
        s = kt_dbi_exec(db, schema->steps[v - 1], what);
    }
    if (s == KT_OK && id.version < schema->nsteps) {
        char sql[128];
        snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d",
                 KT_DB_APPLICATION_ID, schema->nsteps);
        s = kt_dbi_exec(db, sql, "setting the schema version");
    }
    if (s == KT_OK)
        s = kt_dbi_exec(db, "COMMIT", "committing the schema upgrade");
    if (s != KT_OK)
        kt_dbi_rollback(db);
    return s;
}

/* 1 unless process pid certainly does not exist (on this host). */
static int pid_alive(int64_t pid)
{
    if (pid <= 0 || pid > 0x7fffffff)
        return 0;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* This host's name into buf ("" if unknown). */
void kt_dbi_host_name(char *buf, size_t len)
{
    if (gethostname(buf, len) != 0)
        buf[0] = '\0';
    buf[len - 1] = '\0';
}

/*
 * Marks the runs of this host left 'running' by processes that are gone as interrupted
 * (up to 64 per call; any more are marked by the next open).
 */
static kt_status runs_reap(kt_db *db)
{
    char host[256];
    int64_t dead[64];
    int ndead = 0;
    sqlite3_stmt *st;

    kt_dbi_host_name(host, sizeof host);
    kt_status s = kt_dbi_stmt_get(db, ST_RUNS_RUNNING, &st);
    if (s != KT_OK)
        return s;
    int rc = bind_text(st, 1, host, SQLITE_OK);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        if (!pid_alive(sqlite3_column_int64(st, 1)) && ndead < 64)
            dead[ndead++] = sqlite3_column_int64(st, 0);
    }
    if (rc != SQLITE_DONE)
        s = kt_dbi_fail_sql(db, rc, "looking for interrupted runs");
    stmt_done(st);
    if (s != KT_OK || ndead == 0)
        return s;

    s = kt_dbi_exec(db, "BEGIN IMMEDIATE", "marking interrupted runs");
    if (s == KT_OK)
        s = kt_dbi_stmt_get(db, ST_RUN_INTERRUPT, &st);
    for (int i = 0; s == KT_OK && i < ndead; i++) {
        rc = bind_i64(st, 1, dead[i], SQLITE_OK);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            s = kt_dbi_fail_sql(db, rc, "marking interrupted runs");
        else
            db->reaped += sqlite3_changes(db->sql);
        stmt_done(st);
    }
    if (s == KT_OK)
        s = kt_dbi_exec(db, "COMMIT", "marking interrupted runs");
    if (s != KT_OK) {
        kt_dbi_rollback(db);
        db->reaped = 0;
    } else if (db->reaped) {
        kt_log(KT_LOG_INFO, "ktune db: %s: %d stale runs marked interrupted", db->path,
               db->reaped);
    }
    return s;
}

/*
 * SQLite writes whole pages: a file whose size is not a multiple of its page size was cut
 * (a failed copy, a full disk) and is refused, even where the missing bytes were unused.
 */
static kt_status check_size(kt_db *db)
{
    char buf[32];
    kt_status s = kt_dbi_query_text(db, "PRAGMA page_size", "reading the page size", buf,
                                    sizeof buf);
    if (s != KT_OK)
        return s;
    long long page = strtoll(buf, NULL, 10);
    struct stat st;
    if (stat(db->path, &st) != 0)
        return kt_fail(KT_EDB, "%s: %s", db->path, strerror(errno));
    if (page > 0 && st.st_size % page != 0)
        return kt_fail(KT_EDB, "%s: corrupt database (%lld bytes: not a whole number of "
                       "%lld-byte pages, the file was cut): refusing to write", db->path,
                       (long long)st.st_size, page);
    return KT_OK;
}

/* Statement listing a schema's objects: what check_objects() compares (ANALYZE's
 * statistics tables are the user's to make). */
static const char objects_sql[] =
    "SELECT type, name, tbl_name, CASE WHEN type IN ('view', 'trigger') THEN sql END "
    "FROM sqlite_schema WHERE name NOT LIKE 'sqlite^_stat%' ESCAPE '^' ORDER BY type, name";

/*
 * Reads the rows of objects_sql on connection c into one string (fields and rows joined
 * by unit and record separators) in *out (sqlite3_malloc'ed); returns the SQLite code.
 */
static int objects_read(sqlite3 *c, char **out)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    int rc = sqlite3_prepare_v2(c, objects_sql, -1, &st, NULL);
    sqlite3_str *acc = sqlite3_str_new(c);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        for (int i = 0; i < 4; i++) {
            const unsigned char *v = sqlite3_column_text(st, i);
            sqlite3_str_appendf(acc, "%s%c", v ? (const char *)v : "", i == 3 ? 0x1e : 0x1f);
        }
    }
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    (void)sqlite3_finalize(st); /* repeats the step's error, in rc already */
    char *s = sqlite3_str_finish(acc);
    if (rc == SQLITE_OK && !s)
        rc = SQLITE_NOMEM;
    if (rc == SQLITE_OK)
        *out = s;
    else
        sqlite3_free(s);
    return rc;
}

/* The first object of list a (objects_read()) that b lacks, as "type name", into buf. */
static int objects_extra(const char *a, const char *b, char *buf, size_t len)
{
    for (const char *row = a; *row;) {
        const char *end = strchr(row, 0x1e);
        size_t n = (size_t)(end - row) + 1;
        int found = 0;
        for (const char *q = b; *q && !found;) {
            const char *qe = strchr(q, 0x1e);
            found = (size_t)(qe - q) + 1 == n && memcmp(q, row, n) == 0;
            q = qe + 1;
        }
        if (!found) {
            const char *name = strchr(row, 0x1f) + 1;
            snprintf(buf, len, "%.*s '%.*s'", (int)(strchr(row, 0x1f) - row), row,
                     (int)(strchr(name, 0x1f) - name), name);
            return 1;
        }
        row = end + 1;
    }
    return 0;
}

/*
 * Refuses a file whose tables, indexes, views and triggers are not exactly those that
 * the schema's steps 1..version create (compared with a copy built in memory): a
 * trigger planted in the file would run inside the tuner's writes, a redefined view
 * would mislead people, a missing index would slow every query.
 */
static kt_status check_objects(kt_db *db, const kt_db_schema *schema, int64_t version)
{
    sqlite3 *mem = NULL;
    char *want = NULL, *have = NULL;
    int rc = sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE, NULL);
    for (int64_t v = 1; rc == SQLITE_OK && v <= version && v <= schema->nsteps; v++)
        rc = sqlite3_exec(mem, schema->steps[v - 1], NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = objects_read(mem, &want);
    kt_status s = KT_OK;
    if (rc != SQLITE_OK)
        s = kt_fail(KT_EDB, "%s: building the expected schema: %s", db->path,
                    mem ? sqlite3_errmsg(mem) : sqlite3_errstr(rc));
    (void)sqlite3_close(mem); /* no statement is open */
    if (s == KT_OK && (rc = objects_read(db->sql, &have)) != SQLITE_OK)
        s = kt_dbi_fail_sql(db, rc, "reading the schema");
    char what[160];
    if (s == KT_OK && objects_extra(have, want, what, sizeof what))
        s = kt_fail(KT_EDB, "%s: %s is not part of ktune's schema (or differs from it): "
                    "refusing to write", db->path, what);
    else if (s == KT_OK && objects_extra(want, have, what, sizeof what))
        s = kt_fail(KT_EDB, "%s: %s of ktune's schema is missing or altered: refusing to "
                    "write", db->path, what);
    sqlite3_free(want);
    sqlite3_free(have);
    return s;
}

/* The checks and set-up of an open for writing, after db_connect(). */
static kt_status open_write(kt_db *db, const kt_db_schema *schema)
{
    if (sqlite3_db_readonly(db->sql, "main") == 1)
        return kt_fail(KT_EDB, "%s: the file is read-only: cannot open it for writing",
                       db->path);
    identity id;
    int empty;
    kt_status s = identify(db, &id);
    if (s == KT_OK)
        s = classify(db, &id, &empty);
    if (s != KT_OK)
        return s;
    if (!empty && id.version > schema->nsteps)
        return kt_fail(KT_EDB, "%s: schema version %lld is newer than this ktune's (%d): "
                       "refusing to write; upgrade ktune",
                       db->path, (long long)id.version, schema->nsteps);
    if (!empty) {
        /*
         * The full check, not quick_check: an index whose entries were damaged (a bit
         * flip in an index page, a file cut by a byte) passes quick_check, and writing
         * through it corrupts more.  Linear in the file (see scripts/bench-store).
         */
        s = check_size(db);
        if (s == KT_OK)
            s = kt_dbi_check_pragma(db, "PRAGMA integrity_check(1)", ": refusing to write");
        if (s == KT_OK)
            s = check_objects(db, schema, id.version);
        if (s != KT_OK)
            return s;
    }

    char mode[16];
    s = kt_dbi_query_text(db, "PRAGMA journal_mode = WAL", "enabling WAL mode", mode, sizeof mode);
    if (s == KT_OK && strcmp(mode, "wal") != 0)
        s = kt_fail(KT_EDB, "%s: cannot use WAL mode here (journal mode stays '%s')", db->path,
                    mode);
    if (s == KT_OK)
        s = kt_dbi_exec(db, "PRAGMA synchronous = FULL", "setting synchronous mode");
    if (s == KT_OK && (empty || id.version < schema->nsteps))
        s = migrate(db, schema);
    if (s != KT_OK)
        return s;
    db->version = schema->nsteps;
    return runs_reap(db);
}

kt_status kt_db_open(const char *path, const kt_db_options *opt, kt_db **out)
{
    static const kt_db_options defaults = {0, 0, NULL};
    if (!out)
        return kt_fail(KT_EINVAL, "kt_db_open: no output handle");
    *out = NULL;
    if (!path || !*path)
        return kt_fail(KT_EINVAL, "kt_db_open: no path");
    if (!opt)
        opt = &defaults;
    const kt_db_schema *schema = opt->schema ? opt->schema : &builtin_schema;
    if (!schema->steps || schema->nsteps < 1 || schema->read_min < 1 ||
        schema->read_min > schema->nsteps)
        return kt_fail(KT_EINVAL, "kt_db_open: bad schema description");

    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT && !opt->write)
            return kt_fail(KT_EDB, "no database at %s", path);
        if (errno != ENOENT)
            return kt_fail(KT_EDB, "%s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        return kt_fail(KT_EDB, "%s: not a regular file", path);
    }

    kt_db *db = calloc(1, sizeof *db);
    if (!db || !(db->path = strdup(path))) {
        free(db);
        return kt_fail(KT_ENOMEM, "%s: out of memory", path);
    }
    db->write = opt->write ? 1 : 0;
    db->busy_ms = opt->busy_ms == 0 ? KT_DB_BUSY_MS : opt->busy_ms < 0 ? 0 : opt->busy_ms;

    kt_status s = db_connect(db, 0);
    if (s == KT_OK)
        s = db->write ? open_write(db, schema) : open_read(db, schema);
    if (s != KT_OK) {
        /* Keep the message of the failure, not of the close. */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", kt_last_error());
        (void)kt_db_close(db);
        return kt_fail(s, "%s", msg);
    }
    *out = db;
    return KT_OK;
}

kt_status kt_db_open_read(const char *path, kt_db **out)
{
    const kt_db_options opt = {0, 0, NULL};
    return kt_db_open(path, &opt, out);
}

kt_status kt_db_open_write(const char *path, kt_db **out)
{
    const kt_db_options opt = {1, 0, NULL};
    return kt_db_open(path, &opt, out);
}

kt_status kt_db_close(kt_db *db)
{
    if (!db)
        return KT_OK;
    kt_status s = KT_OK;
    for (int i = 0; i < ST_COUNT; i++)
        (void)sqlite3_finalize(db->stmt[i]); /* returns the last step's error, seen then */
    if (db->sql) {
        int rc = sqlite3_close(db->sql);
        if (rc != SQLITE_OK) {
            s = kt_dbi_fail_sql(db, rc, "closing");
            (void)sqlite3_close_v2(db->sql); /* frees it when it can */
        }
    }
    free(db->path);
    free(db);
    return s;
}

const char *kt_db_path(const kt_db *db)
{
    return db ? db->path : "";
}

int kt_db_version(const kt_db *db)
{
    return db ? db->version : 0;
}

int kt_db_runs_reaped(const kt_db *db)
{
    return db ? db->reaped : 0;
}

kt_status kt_db_check(kt_db *db)
{
    if (!db)
        return kt_fail(KT_EINVAL, "kt_db_check: no database");
    return kt_dbi_check_pragma(db, "PRAGMA integrity_check(1)", "");
}

/* ---- Paths -------------------------------------------------------------- */

/* mkdir -p dir, creating what is missing with mode. */
static kt_status make_dirs(const char *dir, mode_t mode)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return kt_fail(KT_EINVAL, "path too long: %s", dir);
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        struct stat st;
        if (mkdir(path, mode) != 0 && errno != EEXIST)
            return kt_fail(KT_EIO, "cannot create directory %s: %s", path, strerror(errno));
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            return kt_fail(KT_EIO, "cannot create directory %s: not a directory", path);
        if (c == '\0')
            return KT_OK;
        *p = c;
    }
}

/* Copies src into buf[len]; KT_EINVAL when it does not fit. */
static kt_status copy_path(char *buf, size_t len, const char *src)
{
    if ((size_t)snprintf(buf, len, "%s", src) >= len)
        return kt_fail(KT_EINVAL, "database path too long: %s", src);
    return KT_OK;
}

/* The system-wide database: $KTUNE_SYSTEM_DB, else KT_DB_SYSTEM_PATH. */
static const char *system_path(void)
{
    const char *sys = getenv("KTUNE_SYSTEM_DB");
    return sys && *sys ? sys : KT_DB_SYSTEM_PATH;
}

kt_status kt_db_default_path(char *buf, size_t len, int for_writing)
{
    if (!buf || len == 0)
        return kt_fail(KT_EINVAL, "kt_db_default_path: no buffer");
    buf[0] = '\0';
    const char *env = getenv("KTUNE_DB");
    if (env && *env)
        return copy_path(buf, len, env);

    char dir[4096];
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    struct stat st;
    if (xdg && xdg[0] == '/') {
        n = snprintf(dir, sizeof dir, "%s/ktune", xdg);
    } else if (home && *home) {
        n = snprintf(dir, sizeof dir, "%s/.local/share/ktune", home);
    } else {
        /* No user directory (a system service): the system database, for reading. */
        if (!for_writing && stat(system_path(), &st) == 0)
            return copy_path(buf, len, system_path());
        return kt_fail(KT_EDB, "no database path: none of KTUNE_DB, XDG_DATA_HOME and HOME "
                       "is set");
    }
    if (n < 0 || (size_t)n >= sizeof dir || (size_t)n + sizeof "/ktune.db" > len)
        return kt_fail(KT_EINVAL, "database path too long (%.200s...)", dir);
    snprintf(buf, len, "%s/ktune.db", dir);

    if (for_writing)
        return make_dirs(dir, 0700);
    if (stat(buf, &st) != 0 && errno == ENOENT && stat(system_path(), &st) == 0)
        return copy_path(buf, len, system_path());
    return KT_OK;
}
