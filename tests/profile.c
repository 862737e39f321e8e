/*
 * Profiling of real calls and the dispatch counters (lib/kt_profile.c): the counters
 * count each kind of dispatch exactly; recording counts every call of every thread
 * once (threads that exit included), flushes replace rather than add, a forked child
 * is a run of its own and double-counts nothing, results stay correct with recording
 * on; a database that cannot take the profile (missing directory, newer schema,
 * locked) fails nothing, loses nothing stored, and the profile goes to the
 * KTUNE_PROFILE file.
 */
#include "kt_test.h"

#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_db.h"
#include "kt_dispatch.h"
#include "kt_profile.h"

static char dir[256], dbpath[300], filepath[300];

static uint64_t ctr(kt_op_id op, int slot) {
    uint64_t c[KT_OP_COUNT][KT_CTR_N];
    kt_profile_counters(c);
    return c[op][slot];
}

/* Each kind of dispatch adds one to its own counter, nothing else. */
static void test_counters(void **state) {
    (void)state;
    float x[300], y[300];
    for (int i = 0; i < 300; i++) x[i] = 1.0f + (float)i, y[i] = 2.0f;
    assert_int_equal(kt_dispatch_set_points(KT_OP_AXPY_F32, NULL, 0), KT_OK);
    uint64_t d0 = ctr(KT_OP_AXPY_F32, KT_CTR_DEFAULT);
    for (int i = 0; i < 37; i++) assert_int_equal(kt_axpy_f32(123, 0.5f, x, 1, y, 1), KT_OK);
    assert_int_equal(ctr(KT_OP_AXPY_F32, KT_CTR_DEFAULT) - d0, 37);
    uint64_t s0 = ctr(KT_OP_AXPY_F32, KT_CTR_STRIDED);
    assert_int_equal(kt_axpy_f32(100, 0.5f, x, 2, y, 3), KT_OK);
    assert_int_equal(ctr(KT_OP_AXPY_F32, KT_CTR_STRIDED) - s0, 1);
    /* a tuned point at n = 100: n = 100 hits it, n = 150 is its neighbour */
    kt_tuned_point pt = {{100, 0, 0}, 1, {kt_variant_lookup(KT_OP_AXPY_F32, "scalar")}};
    assert_int_equal(kt_dispatch_set_points(KT_OP_AXPY_F32, &pt, 1), KT_OK);
    uint64_t t0 = ctr(KT_OP_AXPY_F32, KT_CTR_TUNED), n0 = ctr(KT_OP_AXPY_F32, KT_CTR_NEIGHBOUR);
    for (int i = 0; i < 5; i++) assert_int_equal(kt_axpy_f32(100, 0.5f, x, 1, y, 1), KT_OK);
    for (int i = 0; i < 3; i++) assert_int_equal(kt_axpy_f32(150, 0.5f, x, 1, y, 1), KT_OK);
    assert_int_equal(ctr(KT_OP_AXPY_F32, KT_CTR_TUNED) - t0, 5);
    assert_int_equal(ctr(KT_OP_AXPY_F32, KT_CTR_NEIGHBOUR) - n0, 3);
    assert_int_equal(kt_dispatch_set_points(KT_OP_AXPY_F32, NULL, 0), KT_OK);
    /* gemm through its slow path and its cached fast path alike */
    double a[6 * 5], b[5 * 4], c[6 * 4];
    for (int i = 0; i < 30; i++) a[i] = 0.5 + i;
    for (int i = 0; i < 20; i++) b[i] = 1.5 - i;
    uint64_t g0 = ctr(KT_OP_GEMM_F64, KT_CTR_DEFAULT);
    for (int i = 0; i < 4; i++)
        assert_int_equal(kt_gemm_f64(KT_COL_MAJOR, KT_NOTRANS, KT_NOTRANS, 6, 4, 5, 1.0, a, 6,
                                     b, 5, 0.0, c, 6),
                         KT_OK);
    assert_int_equal(ctr(KT_OP_GEMM_F64, KT_CTR_DEFAULT) - g0, 4);
}

/* A thread that exits: its counters stay in the totals. */
static void *count_thread(void *arg) {
    double *x = arg, r;
    for (int i = 0; i < 250; i++) kt_dot_f64(77, x, 1, x, 1, &r);
    return NULL;
}

static void test_counters_threads(void **state) {
    (void)state;
    double x[77];
    for (int i = 0; i < 77; i++) x[i] = 0.25 * (i + 1);
    uint64_t d0 = ctr(KT_OP_DOT_F64, KT_CTR_DEFAULT);
    pthread_t th[3];
    for (int i = 0; i < 3; i++) assert_int_equal(pthread_create(&th[i], NULL, count_thread, x), 0);
    for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
    assert_int_equal(ctr(KT_OP_DOT_F64, KT_CTR_DEFAULT) - d0, 750);
}

/* The calls of op at shape (m, n, k) in the newest session of the database at path. */
static int64_t stored_calls(const char *path, const char *op, size_t m, size_t n, size_t k,
                            int *processes, int64_t *timed) {
    kt_db *db;
    if (kt_db_open_read(path, &db) != KT_OK) return -1;
    kt_db_prof_run *s = NULL;
    kt_db_prof_call *c = NULL;
    size_t ns = 0, nc = 0;
    int64_t calls = -2;
    if (kt_db_profile_sessions(db, NULL, &s, &ns) == KT_OK && ns &&
        kt_db_profile_calls(db, s[0].session, &c, &nc) == KT_OK) {
        calls = 0;
        if (processes) *processes = s[0].processes;
        for (size_t i = 0; i < nc; i++)
            if (!strcmp(c[i].op, op) && c[i].m == m && c[i].n == n && c[i].k == k &&
                !c[i].bucket) {
                calls += c[i].calls;
                if (timed) *timed = c[i].timed;
            }
    }
    free(s), free(c);
    kt_db_close(db);
    return calls;
}

static void *record_thread(void *arg) {
    double *x = arg, r;
    for (int i = 0; i < 400; i++) {
        kt_dot_f64(55, x, 1, x, 1, &r);
        if (fabs(r - x[55]) > 1e-9 * x[55]) abort();
    }
    return NULL;
}

/* Every call of every thread counted once; flushes replace; results right. */
static void test_record_threads(void **state) {
    (void)state;
    double x[56], ref = 0;
    for (int i = 0; i < 55; i++) x[i] = 0.1 * (i + 1), ref += x[i] * x[i];
    x[55] = ref;
    setenv("KTUNE_PROFILE", filepath, 1); /* read by kt_profile_enable: the fallback file */
    assert_int_equal(kt_profile_enable(), KT_OK);
    assert_true(kt_profile_enabled());
    pthread_t th[4];
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&th[i], NULL, record_thread, x), 0);
    record_thread(x);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    /* a strided and a matrix call too */
    double r;
    assert_int_equal(kt_dot_f64(20, x, 2, x, 2, &r), KT_OK);
    double a[7 * 3], v[3], y[7];
    for (int i = 0; i < 21; i++) a[i] = 1.0 / (i + 1);
    for (int i = 0; i < 3; i++) v[i] = i + 0.5;
    for (int i = 0; i < 9; i++)
        assert_int_equal(kt_gemv_f64(KT_COL_MAJOR, KT_NOTRANS, 7, 3, 1.0, a, 7, v, 1, 0.0, y, 1),
                         KT_OK);
    for (int i = 0; i < 7; i++) {
        double e = 0;
        for (int j = 0; j < 3; j++) e += a[i + 7 * j] * v[j];
        assert_true(fabs(y[i] - e) <= 1e-12 * (fabs(e) + 1));
    }
    assert_int_equal(kt_profile_flush(), KT_OK);
    int64_t timed = 0;
    assert_int_equal(stored_calls(dbpath, "dot_f64", 0, 55, 0, NULL, &timed), 2000);
    assert_true(timed > 0 && timed <= 2000);
    assert_int_equal(stored_calls(dbpath, "gemv_f64", 7, 3, 0, NULL, NULL), 9);
    assert_int_equal(stored_calls(dbpath, "dot_f64", 0, 20, 0, NULL, NULL), 1);
    /* a second flush replaces the first: no doubling */
    assert_int_equal(kt_profile_flush(), KT_OK);
    assert_int_equal(stored_calls(dbpath, "dot_f64", 0, 55, 0, NULL, NULL), 2000);
}

/* A forked child counts only its own calls, as a process of the same session. */
static void test_fork(void **state) {
    (void)state;
    float x[33];
    for (int i = 0; i < 33; i++) x[i] = 1.0f / (float)(i + 1);
    for (int i = 0; i < 10; i++) assert_int_equal(kt_add_scalar_f32(33, 0.0f, x), KT_OK);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (int i = 0; i < 7; i++) kt_add_scalar_f32(33, 0.0f, x);
        exit(0); /* its exit flush writes its own run */
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    for (int i = 0; i < 5; i++) assert_int_equal(kt_add_scalar_f32(33, 0.0f, x), KT_OK);
    assert_int_equal(kt_profile_flush(), KT_OK);
    int procs = 0;
    assert_int_equal(stored_calls(dbpath, "add_scalar_f32", 0, 33, 0, &procs, NULL), 10 + 7 + 5);
    assert_int_equal(procs, 2);
}

static void raw(const char *path, const char *sql) {
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static int file_has(const char *path, const char *what) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, what) != NULL;
}

/* Databases that cannot take the profile: nothing fails, nothing stored is lost. */
static void test_refusing_databases(void **state) {
    (void)state;
    float x[41];
    for (int i = 0; i < 41; i++) x[i] = (float)i + 0.5f;
    for (int i = 0; i < 3; i++) assert_int_equal(kt_add_scalar_f32(41, 0.0f, x), KT_OK);
    /* a directory that does not exist */
    char bad[400];
    snprintf(bad, sizeof bad, "%s/no/such/dir/k.db", dir);
    setenv("KTUNE_DB", bad, 1);
    unlink(filepath);
    assert_int_equal(kt_profile_flush(), KT_OK);
    assert_true(file_has(filepath, "\"ktune_profile\": 1"));
    assert_true(file_has(filepath, "\"op\": \"add_scalar_f32\", \"m\": 0, \"n\": 41"));
    /* a newer schema: refused, left as it was */
    char newer[400];
    snprintf(newer, sizeof newer, "%s/newer.db", dir);
    raw(newer, "PRAGMA application_id = 1803842926; CREATE TABLE keep (x); "
               "INSERT INTO keep VALUES (42); PRAGMA user_version = 99;");
    setenv("KTUNE_DB", newer, 1);
    unlink(filepath);
    assert_int_equal(kt_profile_flush(), KT_OK);
    assert_true(file_has(filepath, "add_scalar_f32"));
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(newer, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT x FROM keep), (SELECT user_version "
                                            "FROM pragma_user_version)", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 42);
    assert_int_equal(sqlite3_column_int(st, 1), 99);
    sqlite3_finalize(st);
    sqlite3_close(db);
    /* locked by a writer that holds its transaction */
    setenv("KTUNE_DB", dbpath, 1);
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    unlink(filepath);
    assert_int_equal(kt_profile_flush(), KT_OK);
    assert_true(file_has(filepath, "add_scalar_f32"));
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    /* and once free again, the database takes it, with what it had */
    assert_int_equal(kt_profile_flush(), KT_OK);
    assert_int_equal(stored_calls(dbpath, "add_scalar_f32", 0, 41, 0, NULL, NULL), 3);
    assert_int_equal(stored_calls(dbpath, "dot_f64", 0, 55, 0, NULL, NULL), 2000);
}

int main(void) {
    snprintf(dir, sizeof dir, "%s", "/tmp/kt-profile-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    snprintf(dbpath, sizeof dbpath, "%s/p.db", dir);
    snprintf(filepath, sizeof filepath, "%s/profile.json", dir);
    setenv("KTUNE_DB", dbpath, 1);
    setenv("KTUNE_PROFILE_SESSION", "tests-profile", 1);
    unsetenv("KTUNE_FORCE");
    unsetenv("KTUNE_PROFILE");
    kt_tests ts = {0};
    /* counters first, with recording off (KTUNE_PROFILE is unset at init) */
    kt_tests_add(&ts, test_counters, NULL, "dispatch counters count each kind of call exactly");
    kt_tests_add(&ts, test_counters_threads, NULL,
                 "counters of threads that exited stay in the totals");
    kt_tests_add(&ts, test_record_threads, NULL,
                 "recording counts every call of 5 threads once; flushes replace");
    kt_tests_add(&ts, test_fork, NULL,
                 "a forked child is a process of its own: nothing lost, nothing twice");
    kt_tests_add(&ts, test_refusing_databases, NULL,
                 "missing, newer-schema, locked databases: profile to the file, data kept");
    int rc = kt_tests_run(&ts, "profile");
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) rc = rc ? rc : 1;
    return rc;
}
