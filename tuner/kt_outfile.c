/*
 * Safe outputs of the ktune command.  kt_outfile_*: write a file so that a regular
 * file is replaced atomically (temporary file in the same directory, fsync, rename)
 * while special files (/dev/null, a FIFO, a socket, a terminal) are written in place,
 * never replaced by a regular file.  kt_cli_sanitize: text from a database made safe
 * to print on a terminal.  Uses only libc and POSIX; prints nothing.
 */
#include "config.h"

#include "kt_outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* snprintf into err when there is one. */
static void seterr(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t len, const char *fmt, ...) {
    if (!err || !len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

/*
 * Temporary files being written, removed if the process is killed by SIGINT, SIGTERM,
 * SIGHUP or SIGQUIT before they are renamed or abandoned.  The handlers are installed
 * only over a default disposition (a command's own handler is left alone), while a
 * temporary file exists, and removed with the last one.
 */
#define MAX_PENDING 16
static char *volatile pending[MAX_PENDING];
static const int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NSIG_CLEAN (sizeof cleanup_signals / sizeof cleanup_signals[0])
static struct sigaction saved[NSIG_CLEAN];
static unsigned char installed[NSIG_CLEAN];

/* Removes the temporary files, then dies of the signal as the process would have. */
static void on_signal(int sig) {
    for (int i = 0; i < MAX_PENDING; i++) {
        char *p = pending[i];
        if (p) unlink(p);
    }
    signal(sig, SIG_DFL);
    raise(sig); /* delivered when the handler returns */
}

/* Registers tmp for removal on a fatal signal (best effort: 16 at a time). */
static void pending_add(char *tmp) {
    int n = 0, slot = -1;
    for (int i = 0; i < MAX_PENDING; i++) {
        if (pending[i]) n++;
        else if (slot < 0) slot = i;
    }
    if (slot < 0) return;
    pending[slot] = tmp;
    if (n) return;
    for (size_t i = 0; i < NSIG_CLEAN; i++) {
        struct sigaction cur, sa = {.sa_handler = on_signal};
        installed[i] = 0;
        if (sigaction(cleanup_signals[i], NULL, &cur) != 0 || cur.sa_handler != SIG_DFL ||
            (cur.sa_flags & SA_SIGINFO))
            continue;
        sigemptyset(&sa.sa_mask);
        if (sigaction(cleanup_signals[i], &sa, &saved[i]) == 0) installed[i] = 1;
    }
}

/* Unregisters tmp; the last one out restores the signal dispositions. */
static void pending_remove(const char *tmp) {
    int n = 0;
    for (int i = 0; i < MAX_PENDING; i++) {
        if (pending[i] == tmp) pending[i] = NULL;
        if (pending[i]) n++;
    }
    if (n) return;
    for (size_t i = 0; i < NSIG_CLEAN; i++)
        if (installed[i]) sigaction(cleanup_signals[i], &saved[i], NULL), installed[i] = 0;
}

/*
 * Follows the symlinks of path (at most 40, as the kernel) to the file they end at,
 * which may not exist yet (a dangling link names the file to create).  Returns a
 * malloc'd path, or NULL with errno set (ELOOP, ENOMEM, a readlink error).
 */
static char *resolve_links(const char *path) {
    char *cur = strdup(path);
    for (int hops = 0; cur; hops++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) return cur;
        if (hops == 40) {
            free(cur);
            errno = ELOOP;
            return NULL;
        }
        char target[PATH_MAX];
        ssize_t n = readlink(cur, target, sizeof target - 1);
        if (n < 0) {
            free(cur);
            return NULL;
        }
        target[n] = '\0';
        char *next;
        const char *slash = strrchr(cur, '/');
        if (target[0] == '/' || !slash) {
            next = strdup(target);
        } else {
            /* relative to the link's directory */
            size_t dl = (size_t)(slash - cur) + 1;
            next = malloc(dl + (size_t)n + 1);
            if (next) {
                memcpy(next, cur, dl);
                memcpy(next + dl, target, (size_t)n + 1);
            }
        }
        free(cur);
        cur = next;
    }
    errno = ENOMEM;
    return NULL;
}

/* Connects to the Unix stream socket at path; the descriptor or -1 (errno set). */
static int open_socket(const char *path) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (const struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Opens a device, FIFO or socket for writing in place (no O_TRUNC, no O_CREAT). */
static int open_direct(kt_outfile *o, const char *path, const struct stat *st, char *err,
                       size_t errlen) {
    int fd = S_ISSOCK(st->st_mode) ? open_socket(path)
                                   : open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        seterr(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    o->f = fdopen(fd, "w");
    o->path = strdup(path);
    if (!o->f || !o->path) {
        if (o->f) fclose(o->f);
        else close(fd);
        free(o->path);
        o->f = NULL;
        o->path = NULL;
        seterr(err, errlen, "cannot write %s: %s", path, strerror(ENOMEM));
        return -1;
    }
    return 0;
}

int kt_outfile_open(kt_outfile *o, const char *path, char *err, size_t errlen) {
    o->f = NULL;
    o->path = o->tmp = NULL;
    if (!path || !*path) {
        seterr(err, errlen, "empty output file name");
        return -1;
    }
    struct stat st;
    int exists = stat(path, &st) == 0; /* follows symlinks: what the path names */
    if (!exists && errno != ENOENT) {
        seterr(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    if (exists && S_ISDIR(st.st_mode)) {
        seterr(err, errlen, "cannot write %s: it is a directory", path);
        return -1;
    }
    if (exists && !S_ISREG(st.st_mode)) return open_direct(o, path, &st, err, errlen);

    /* a regular file or a new one: write beside it, rename over it at the end */
    char *real = resolve_links(path);
    if (!real) {
        seterr(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    size_t rl = strlen(real);
    char *tmp = malloc(rl + 16);
    if (!tmp) {
        free(real);
        seterr(err, errlen, "cannot write %s: %s", path, strerror(ENOMEM));
        return -1;
    }
    memcpy(tmp, real, rl);
    memcpy(tmp + rl, ".tmp-XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        seterr(err, errlen, "cannot write %s: %s", path, strerror(errno));
        free(real);
        free(tmp);
        return -1;
    }
    /* the new file gets the old one's permissions, or the default (0666 less umask) */
    mode_t mode;
    if (exists) {
        mode = st.st_mode & 07777;
        /* and its owner, where we may (root); elsewhere the new file is ours */
        if (fchown(fd, st.st_uid, st.st_gid) != 0) errno = 0;
    } else {
        mode_t mask = umask(077);
        umask(mask);
        mode = 0666 & ~mask;
    }
    FILE *f = fchmod(fd, mode) == 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        seterr(err, errlen, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        free(real);
        free(tmp);
        return -1;
    }
    o->f = f;
    o->path = real;
    o->tmp = tmp;
    pending_add(tmp);
    return 0;
}

/* fsyncs the directory holding path, so that a rename into it is durable. */
static void sync_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd); /* best effort: some file systems refuse fsync on directories */
        close(fd);
    }
}

int kt_outfile_close(kt_outfile *o, int ok, char *err, size_t errlen) {
    int rc = 0;
    if (!o->f) {
        seterr(err, errlen, "output not open");
        rc = -1;
    } else if (!o->tmp) {
        /* direct: flushing is all there is (fsync on a FIFO or /dev/null is EINVAL) */
        int bad = fflush(o->f) != 0 || ferror(o->f);
        int e = errno;
        bad |= fclose(o->f) != 0;
        if (bad && ok) {
            seterr(err, errlen, "cannot write %s: %s", o->path, strerror(e ? e : errno));
            rc = -1;
        }
    } else {
        int bad = fflush(o->f) != 0 || ferror(o->f);
        if (!bad && ok && fsync(fileno(o->f)) != 0) bad = 1;
        int e = errno;
        if (fclose(o->f) != 0 && !bad) bad = 1, e = errno;
        if (ok && !bad && rename(o->tmp, o->path) == 0) {
            sync_dir(o->path);
        } else {
            if (ok && !bad) e = errno;
            unlink(o->tmp);
            if (ok) {
                seterr(err, errlen, "cannot write %s: %s", o->path, strerror(e ? e : EIO));
                rc = -1;
            }
        }
    }
    if (o->tmp) pending_remove(o->tmp);
    free(o->path);
    free(o->tmp);
    o->f = NULL;
    o->path = o->tmp = NULL;
    return rc;
}

/*
 * The length of the UTF-8 sequence of a printable character at s (2 to 4), or 0 when
 * s does not start one: an invalid, overlong or surrogate sequence, or a C1 control
 * (U+0080 to U+009F, which some terminals obey like ESC sequences).
 */
static size_t utf8_printable(const unsigned char *s) {
    unsigned c = s[0], cp, len;
    if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07;
    else return 0;
    for (unsigned i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    if (cp < 0xa0) return 0;
    return len;
}

char *kt_cli_sanitize(const char *in, char *out, size_t len) {
    static const char hex[] = "0123456789abcdef";
    if (!len) return out;
    const unsigned char *s = (const unsigned char *)(in ? in : "");
    size_t o = 0;
    while (*s) {
        size_t n = *s >= 0x20 && *s < 0x7f ? 1 : utf8_printable(s);
        if (n) {
            if (o + n >= len) break;
            memcpy(out + o, s, n);
            o += n, s += n;
        } else {
            if (o + 4 >= len) break;
            out[o++] = '\\', out[o++] = 'x', out[o++] = hex[*s >> 4], out[o++] = hex[*s & 15];
            s++;
        }
    }
    out[o] = '\0';
    return out;
}

int kt_cli_needs_escape(const char *s) {
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        size_t n = *p >= 0x20 && *p < 0x7f ? 1 : utf8_printable(p);
        if (!n) return 1;
        p += n;
    }
    return 0;
}
