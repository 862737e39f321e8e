/*
 * Safe outputs of the ktune command: files it writes (reports, plots, exports) and
 * text it prints from a database (which may hold any bytes).
 */
#ifndef KT_OUTFILE_H
#define KT_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

/*
 * An output being written.  A regular file (or a new path) is written to a temporary
 * file in the same directory and renamed over the target when finished, so a reader
 * sees the old content or the new, never half; a symlink is followed (the file it
 * points to is replaced, the link kept); a character or block device, a FIFO or a
 * socket is opened and written directly (never truncated, replaced or created).
 * A temporary file is removed if the process is killed by SIGINT, SIGTERM, SIGHUP or
 * SIGQUIT while it exists (where those signals have their default action).
 */
typedef struct kt_outfile {
    FILE *f;         /* write here */
    char *path;      /* the file that receives the content (symlinks resolved) */
    char *tmp;       /* the temporary file, renamed to path at the end; NULL: direct */
} kt_outfile;

/*
 * Opens path for writing as described above.  0 on success; -1 on failure (nothing
 * created), with a one-line reason ("out.html is a directory") in err.
 */
int kt_outfile_open(kt_outfile *o, const char *path, char *err, size_t errlen);

/*
 * Finishes the output.  ok: flushes, syncs and renames the temporary file into place
 * (or closes the direct one); !ok: removes the temporary file, leaving the target as it
 * was, and returns 0.  On a write, sync or rename error: -1 (target unchanged,
 * temporary removed) with a reason in err.
 * Always releases o.
 */
int kt_outfile_close(kt_outfile *o, int ok, char *err, size_t errlen);

/*
 * Copies in to out (len bytes, always terminated) with every control or non-printable
 * byte escaped as \xHH (ESC becomes the four characters "\x1b"), so text read from a
 * database cannot drive the terminal.  Valid UTF-8 of printable characters is kept; a
 * backslash is kept as is, so escaping twice changes nothing.  Output that does not fit
 * is cut before an escape, never inside one.  Returns out.
 */
char *kt_cli_sanitize(const char *in, char *out, size_t len);

/* Whether kt_cli_sanitize would change s. */
int kt_cli_needs_escape(const char *s);

#endif
