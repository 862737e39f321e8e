/*
 * The ktune command's safe outputs: kt_outfile (a regular file replaced atomically and
 * keeping its mode, an abandoned output or a killed process leaving the target and no
 * temporary file, symlinks followed, devices, FIFOs and sockets written in place,
 * directories and loops refused), kt_cli_sanitize (control and non-printable bytes escaped, printable
 * UTF-8 kept), and the limits of kt_sizes_parse_msg (too many sizes, too many steps,
 * sizes beyond this machine's memory, each with its message).
 */
#include "kt_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_cli.h"

/* ---- helpers ------------------------------------------------------------------------ */

/* A fresh scratch directory (removed by the test's teardown). */
static int dir_setup(void **state) {
    char *d = strdup("/tmp/kt-outputs-XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    *state = d;
    return 0;
}

static int dir_teardown(void **state) {
    char *d = *state, cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    int rc = system(cmd);
    free(d);
    return rc == 0 ? 0 : -1;
}

/* dir/name into buf. */
static const char *at(const char *dir, const char *name, char *buf, size_t len) {
    snprintf(buf, len, "%s/%s", dir, name);
    return buf;
}

static void write_file(const char *path, const char *text, mode_t mode) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* The first bytes of a file, as a string ("" when it cannot be read). */
static const char *read_file(const char *path, char *buf, size_t len) {
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return buf;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The number of entries of dir whose name holds ".tmp-" (left-over temporary files). */
static int temps_in(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strstr(e->d_name, ".tmp-") != NULL;
    closedir(d);
    return n;
}

/* Opens path, writes text, closes with ok; returns close's result. */
static int put(const char *path, const char *text, int ok, char *err, size_t errlen) {
    kt_outfile o;
    if (kt_outfile_open(&o, path, err, errlen) != 0) return -2;
    fputs(text, o.f);
    return kt_outfile_close(&o, ok, err, errlen);
}

/* ---- kt_outfile ------------------------------------------------------------------- */

static void test_new_file(void **state) {
    const char *d = *state;
    char p[256], buf[64], err[256];
    at(d, "new.html", p, sizeof p);
    mode_t mask = umask(022);
    assert_int_equal(put(p, "fresh", 1, err, sizeof err), 0);
    umask(mask);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_string_equal(read_file(p, buf, sizeof buf), "fresh");
    assert_int_equal(temps_in(d), 0);
}

/* A hard link to the old file keeps the old content: the file was replaced, not rewritten. */
static void test_replace_is_atomic_and_keeps_mode(void **state) {
    const char *d = *state;
    char p[256], h[256], buf[64], err[256];
    write_file(at(d, "out.html", p, sizeof p), "old", 0640);
    assert_int_equal(link(p, at(d, "old-link", h, sizeof h)), 0);
    struct stat before, after;
    assert_int_equal(stat(p, &before), 0);
    kt_outfile o;
    assert_int_equal(kt_outfile_open(&o, p, err, sizeof err), 0);
    assert_non_null(o.tmp);
    fputs("new", o.f);
    fflush(o.f);
    /* while writing, the target still holds the old content */
    assert_string_equal(read_file(p, buf, sizeof buf), "old");
    assert_int_equal(kt_outfile_close(&o, 1, err, sizeof err), 0);
    assert_int_equal(stat(p, &after), 0);
    assert_string_equal(read_file(p, buf, sizeof buf), "new");
    assert_string_equal(read_file(h, buf, sizeof buf), "old");
    assert_true(before.st_ino != after.st_ino);
    assert_int_equal(after.st_mode & 07777, 0640);
    assert_int_equal(temps_in(d), 0);
}

static void test_abandoned_leaves_target(void **state) {
    const char *d = *state;
    char p[256], q[256], buf[64], err[256];
    write_file(at(d, "keep.html", p, sizeof p), "precious", 0644);
    assert_int_equal(put(p, "half", 0, err, sizeof err), 0);
    assert_string_equal(read_file(p, buf, sizeof buf), "precious");
    assert_int_equal(put(at(d, "never.html", q, sizeof q), "half", 0, err, sizeof err), 0);
    assert_int_equal(access(q, F_OK), -1);
    assert_int_equal(temps_in(d), 0);
}

/* A process killed while writing leaves the target as it was and no temporary file. */
static void test_killed_leaves_no_temporary(void **state) {
    const char *d = *state;
    char p[256], buf[64];
    write_file(at(d, "killed.html", p, sizeof p), "before", 0644);
    for (int i = 0; i < 2; i++) {
        int sig = i ? SIGINT : SIGTERM;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            kt_outfile o;
            char err[256];
            /*
             * An ignored signal stays ignored (kt_outfile leaves it alone), and a shell
             * starts a background job with SIGINT ignored: give the child the default.
             */
            signal(sig, SIG_DFL);
            if (kt_outfile_open(&o, p, err, sizeof err) != 0) _exit(3);
            fputs("half", o.f);
            fflush(o.f);
            if (temps_in(d) != 1) _exit(4); /* the temporary exists until the signal */
            kill(getpid(), sig);
            _exit(5); /* not reached: the signal kills */
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), sig);
        assert_string_equal(read_file(p, buf, sizeof buf), "before");
        assert_int_equal(temps_in(d), 0);
    }
    /* and a finished output restores the signals' actions as they were */
    struct sigaction before, cur;
    assert_int_equal(sigaction(SIGTERM, NULL, &before), 0);
    assert_int_equal(put(p, "after", 1, buf, sizeof buf), 0);
    assert_int_equal(sigaction(SIGTERM, NULL, &cur), 0);
    assert_true(cur.sa_handler == before.sa_handler);
}

static void test_symlink_followed_and_kept(void **state) {
    const char *d = *state;
    char p[256], l[256], l2[256], buf[64], err[256];
    write_file(at(d, "real.html", p, sizeof p), "old", 0644);
    assert_int_equal(symlink("real.html", at(d, "link.html", l, sizeof l)), 0);
    assert_int_equal(symlink(l, at(d, "link2.html", l2, sizeof l2)), 0); /* absolute, chained */
    assert_int_equal(put(l2, "via links", 1, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(lstat(l, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(lstat(l2, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_string_equal(read_file(p, buf, sizeof buf), "via links");
    assert_int_equal(temps_in(d), 0);
}

static void test_dangling_symlink_creates_target(void **state) {
    const char *d = *state;
    char p[256], l[256], buf[64], err[256];
    assert_int_equal(symlink("target.svg", at(d, "dangling.svg", l, sizeof l)), 0);
    assert_int_equal(put(l, "made", 1, err, sizeof err), 0);
    assert_string_equal(read_file(at(d, "target.svg", p, sizeof p), buf, sizeof buf), "made");
    struct stat st;
    assert_int_equal(lstat(l, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
}

static void test_refused(void **state) {
    const char *d = *state;
    char p[256], a[256], b[256], err[256];
    kt_outfile o;
    assert_int_equal(kt_outfile_open(&o, d, err, sizeof err), -1);
    assert_non_null(strstr(err, "is a directory"));
    assert_int_equal(kt_outfile_open(&o, at(d, "no/such/dir.html", p, sizeof p), err,
                                     sizeof err), -1);
    assert_non_null(strstr(err, "No such file or directory"));
    assert_int_equal(kt_outfile_open(&o, "", err, sizeof err), -1);
    assert_non_null(strstr(err, "empty"));
    /* a loop of links (stat fails with ELOOP before anything is created) */
    assert_int_equal(symlink("loop-b", at(d, "loop-a", a, sizeof a)), 0);
    assert_int_equal(symlink("loop-a", at(d, "loop-b", b, sizeof b)), 0);
    assert_int_equal(kt_outfile_open(&o, a, err, sizeof err), -1);
    assert_non_null(strstr(err, "symbolic links"));
    assert_int_equal(temps_in(d), 0);
}

static void test_devices_written_in_place(void **state) {
    (void)state;
    char err[256];
    kt_outfile o;
    assert_int_equal(kt_outfile_open(&o, "/dev/null", err, sizeof err), 0);
    assert_null(o.tmp);
    fputs("discarded", o.f);
    assert_int_equal(kt_outfile_close(&o, 1, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    /* a write error on a device is reported at close */
    if (access("/dev/full", W_OK) == 0) {
        char big[8192];
        memset(big, 'x', sizeof big);
        assert_int_equal(kt_outfile_open(&o, "/dev/full", err, sizeof err), 0);
        fwrite(big, 1, sizeof big, o.f);
        assert_int_equal(kt_outfile_close(&o, 1, err, sizeof err), -1);
        assert_non_null(strstr(err, "/dev/full"));
    }
}

static void test_fifo_written_in_place(void **state) {
    const char *d = *state;
    char p[256], buf[64], err[256];
    assert_int_equal(mkfifo(at(d, "fifo", p, sizeof p), 0600), 0);
    int rd = open(p, O_RDONLY | O_NONBLOCK); /* a reader, so the writer's open returns */
    assert_true(rd >= 0);
    assert_int_equal(put(p, "through the pipe", 1, err, sizeof err), 0);
    ssize_t n = read(rd, buf, sizeof buf - 1);
    close(rd);
    assert_int_equal(n, 16);
    buf[n] = '\0';
    assert_string_equal(buf, "through the pipe");
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(temps_in(d), 0);
}

static void test_socket_written_in_place(void **state) {
    const char *d = *state;
    char p[256], buf[64], err[256];
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    at(d, "sock", p, sizeof p);
    assert_true(strlen(p) < sizeof a.sun_path);
    memcpy(a.sun_path, p, strlen(p) + 1);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(ls >= 0);
    assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(ls, 1), 0);
    assert_int_equal(put(p, "to the socket", 1, err, sizeof err), 0);
    int c = accept(ls, NULL, NULL);
    assert_true(c >= 0);
    ssize_t n = read(c, buf, sizeof buf - 1);
    close(c);
    close(ls);
    assert_int_equal(n, 13);
    buf[n] = '\0';
    assert_string_equal(buf, "to the socket");
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
}

/* ---- kt_cli_sanitize ---------------------------------------------------------------- */

static void test_sanitize(void **state) {
    (void)state;
    char out[128];
    assert_string_equal(kt_cli_sanitize("avx512", out, sizeof out), "avx512");
    assert_string_equal(kt_cli_sanitize("a\x1b[31mb", out, sizeof out), "a\\x1b[31mb");
    assert_string_equal(kt_cli_sanitize("l1\nl2\tx\r\x7f", out, sizeof out),
                        "l1\\x0al2\\x09x\\x0d\\x7f");
    /* printable UTF-8 kept; C1 controls (CSI U+009B), invalid and overlong bytes escaped */
    assert_string_equal(kt_cli_sanitize("caf\xc3\xa9 \xe2\x82\xac", out, sizeof out),
                        "caf\xc3\xa9 \xe2\x82\xac");
    assert_string_equal(kt_cli_sanitize("\xc2\x9b" "2J", out, sizeof out), "\\xc2\\x9b2J");
    assert_string_equal(kt_cli_sanitize("\xff\xc0\xaf", out, sizeof out), "\\xff\\xc0\\xaf");
    assert_string_equal(kt_cli_sanitize("\xe2\x82", out, sizeof out), "\\xe2\\x82");
    assert_string_equal(kt_cli_sanitize("\xed\xa0\x80", out, sizeof out), "\\xed\\xa0\\x80");
    /* cut before an escape, never inside; always terminated */
    assert_string_equal(kt_cli_sanitize("ab\x1b" "cd", out, 6), "ab");
    assert_string_equal(kt_cli_sanitize("ab\x1b" "cd", out, 7), "ab\\x1b");
    assert_string_equal(kt_cli_sanitize("abc", out, 1), "");
    assert_string_equal(kt_cli_sanitize(NULL, out, sizeof out), "");
    /* escaping twice changes nothing */
    char twice[128];
    kt_cli_sanitize("x\x1b\\y", out, sizeof out);
    assert_string_equal(kt_cli_sanitize(out, twice, sizeof twice), out);
    assert_false(kt_cli_needs_escape(out));
    assert_true(kt_cli_needs_escape("\x1b"));
    assert_true(kt_cli_needs_escape("ok\xc2\x85"));
    assert_false(kt_cli_needs_escape("caf\xc3\xa9"));
}

/* ---- kt_sizes_parse_msg ---------------------------------------------------------------- */

/* Parses spec expecting failure; the message must hold want. */
static void parse_fails(const char *spec, const char *want) {
    size_t *v = NULL, n = 0;
    char err[256] = "";
    assert_int_equal(kt_sizes_parse_msg(spec, &v, &n, err, sizeof err), -1);
    if (!strstr(err, want)) fail_msg("'%s': message '%s' lacks '%s'", spec, err, want);
    assert_null(v);
}

static void test_sizes_limits(void **state) {
    (void)state;
    size_t *v, n, lim = kt_sizes_limit();
    char limit[32], spec[64], err[256];
    snprintf(limit, sizeof limit, "at most %zu", lim);
    /* the review's examples: each ends at once, with a reason */
    parse_fails("1:9e15:1.0000001", "larger than any problem this machine could hold");
    parse_fails("9e15", limit);
    parse_fails("1:2^30:1.000001", "steps, more than 1000000");
    parse_fails("1:20000:1.0001", "more than 10000 sizes");
    parse_fails("1e400", "larger than any problem");
    parse_fails("12,abc", "bad size 'abc'");
    parse_fails("0", "a whole number from 1");
    parse_fails("1:10:x", "bad factor 'x'");
    parse_fails("1:10:1", "bad factor '1'");
    parse_fails("10:1", "ends below its start");
    parse_fails("2^63", "exponent");
    /* the limit itself is accepted, one more is not */
    snprintf(spec, sizeof spec, "%zu", lim);
    assert_int_equal(kt_sizes_parse_msg(spec, &v, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0], lim);
    free(v);
    snprintf(spec, sizeof spec, "%zu", lim + 4096);
    parse_fails(spec, limit);
    /* a fine-grained range within the limits: every integer once */
    assert_int_equal(kt_sizes_parse_msg("1:1000:1.0001", &v, &n, err, sizeof err), 0);
    assert_int_equal(n, 1000);
    assert_int_equal(v[0], 1);
    assert_int_equal(v[999], 1000);
    free(v);
    /* the older signature still works */
    assert_int_equal(kt_sizes_parse("1e6,1e3,1k:4k", &v, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(v[0], 1000);
    assert_int_equal(v[1], 1024);
    assert_int_equal(v[4], 1000000);
    free(v);
    assert_int_equal(kt_sizes_parse("1:2^30:1.000001", &v, &n), -1);
}

int main(void) {
    kt_tests ts = {0};
    struct {
        CMUnitTestFunction fn;
        const char *name;
    } file_tests[] = {
        {test_new_file, "a new output file is created with the default mode, no temporary left"},
        {test_replace_is_atomic_and_keeps_mode,
         "a regular file is replaced by rename (a hard link keeps the old), mode kept"},
        {test_abandoned_leaves_target, "an abandoned output leaves the target and no temporary"},
        {test_killed_leaves_no_temporary,
         "killed by SIGTERM or SIGINT while writing: target kept, no temporary left"},
        {test_symlink_followed_and_kept, "symlinks (chained) are followed and kept"},
        {test_dangling_symlink_creates_target, "a dangling symlink's target is created"},
        {test_refused, "a directory, a missing directory, an empty name, a link loop: refused"},
        {test_fifo_written_in_place, "a FIFO is written in place and stays a FIFO"},
        {test_socket_written_in_place, "a Unix socket is connected to and written"},
    };
    for (size_t i = 0; i < sizeof file_tests / sizeof file_tests[0]; i++) {
        kt_tests_add(&ts, file_tests[i].fn, NULL, "outfile: %s", file_tests[i].name);
        ts.t[ts.n - 1].setup_func = dir_setup;
        ts.t[ts.n - 1].teardown_func = dir_teardown;
    }
    kt_tests_add(&ts, test_devices_written_in_place, NULL,
                 "outfile: /dev/null is written in place (stays a char device), /dev/full fails");
    kt_tests_add(&ts, test_sanitize, NULL,
                 "sanitize: control, C1 and invalid bytes escaped as \\xHH, UTF-8 kept");
    kt_tests_add(&ts, test_sizes_limits, NULL,
                 "sizes: count, steps and memory limits each fail with their message");
    return kt_tests_run(&ts, "outputs");
}
