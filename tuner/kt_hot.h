/*
 * Stored profiles as the tool reads them (tuner/cmd_profile.c): the session to show or
 * tune from, and its hot shapes.  Used by `ktune profile` and `ktune tune --from-profile`.
 */
#ifndef KT_HOT_H
#define KT_HOT_H

#include "kt_db.h"
#include "kt_internal.h"

/*
 * The newest session of program (NULL: of any program) into *out.  KT_ENOTFOUND with a
 * message when there is none.
 */
kt_status kt_hot_session(kt_db *db, const char *program, kt_db_prof_run *out);

/* The session before s of the same program and arguments, or KT_ENOTFOUND. */
kt_status kt_hot_previous(kt_db *db, const kt_db_prof_run *s, kt_db_prof_run *out);

/* A hot shape of a session: an op this build has, its dims (unpacked), its time. */
typedef struct kt_hot_shape {
    kt_op_id op;
    size_t dims[3];
    double total_s;
    int64_t calls;
} kt_hot_shape;

/*
 * The shapes of session to tune, the most time first: exact shapes and log2 classes
 * (their lower corner), summed over variants; at most top of them (0: no limit) and
 * only as many as make up share (0 < share <= 1) of the session's time.  Rows naming
 * ops this build lacks are skipped and counted in *unknown.  *out malloc'ed.
 */
kt_status kt_hot_shapes(kt_db *db, const char *session, size_t top, double share,
                        kt_hot_shape **out, size_t *n, size_t *unknown);

#endif
