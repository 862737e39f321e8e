/*
 * The tuner with planted variants, for tests/mpi.sh: `mpi_tune DB SIZES` tunes
 * axpy_f32 with test:step and test:flat at SIZES (e.g. 1000,4000) into DB under
 * mpirun (kt_mpi_tune, as `ktune tune --mpi --quick` does); `mpi_tune --serial DB SIZES`
 * runs the single-node tuner (kt_tune_run, as `ktune tune --quick`).  Prints one line:
 * "measured M reused R points P stopped S", exits 0, or 1 with the error.
 *
 * The planted costs are busy-waits with margins no noise can flip: test:flat costs
 * 200 us at any n; test:step costs 10 us below its step and 1000 us from it on.  The
 * step is at n = 20000, or KT_TEST_STEP (each simulated class gets its own, so that
 * their choices differ).  KT_TEST_KILL_N=n makes a rank SIGKILL itself when it times
 * n (not a validation size): a rank killed mid-run.  KT_TEST_OVERLAP_DIR=D: each call
 * holds the file D/measuring while it runs, and one that finds it held (another rank
 * of this node measuring at the same time) creates D/overlap.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kt_mpi.h"
#include "kt_tune.h"
#include "kt_variants.h"

static double step_n = 20000;
static size_t kill_n;
static char held[4096], overlap[4096];

/* Marks the call as measuring on this node; records an overlap with another rank's. */
static void enter(void) {
    if (!held[0]) return;
    int fd = open(held, O_CREAT | O_EXCL | O_WRONLY, 0600);
    if (fd >= 0) {
        close(fd);
        return;
    }
    if (errno == EEXIST && (fd = open(overlap, O_CREAT | O_WRONLY, 0600)) >= 0) close(fd);
}

static void leave(void) {
    if (held[0]) unlink(held);
}

static void spin(double s) {
    double end = kt_now() + s;
    while (kt_now() < end) {
    }
}

static kt_status planted_flat(const kt_variant *v, size_t n, float a, const float *x,
                              ptrdiff_t ix, float *y, ptrdiff_t iy) {
    if (kill_n && n == kill_n) raise(SIGKILL);
    enter();
    spin(200e-6);
    leave();
    return kt_axpy_f32_scalar(v, n, a, x, ix, y, iy);
}

static kt_status planted_step(const kt_variant *v, size_t n, float a, const float *x,
                              ptrdiff_t ix, float *y, ptrdiff_t iy) {
    enter();
    spin((double)n < step_n ? 10e-6 : 1000e-6);
    leave();
    return kt_axpy_f32_scalar(v, n, a, x, ix, y, iy);
}

static const kt_variant planted[] = {
    {"test:flat", "test", KT_OP_AXPY_F32, 1, 0, KT_VF_TEST, 1, 0, 5, (kt_fnptr)planted_flat, NULL, 0},
    {"test:step", "test", KT_OP_AXPY_F32, 1, 0, KT_VF_TEST, 1, 0, 5, (kt_fnptr)planted_step, NULL, 0},
};

int main(int argc, char **argv) {
    int serial = argc > 1 && !strcmp(argv[1], "--serial");
    if (argc != 3 + serial) {
        fprintf(stderr, "usage: mpi_tune [--serial] DB SIZES\n");
        return 2;
    }
    const char *e = getenv("KT_TEST_STEP");
    if (e && *e) step_n = atof(e);
    e = getenv("KT_TEST_OVERLAP_DIR");
    if (e && *e) {
        snprintf(held, sizeof held, "%s/measuring", e);
        snprintf(overlap, sizeof overlap, "%s/overlap", e);
    }
    e = getenv("KT_TEST_KILL_N");
    if (e && *e) kill_n = (size_t)strtoull(e, NULL, 10);
    kt_registry_plant(planted, sizeof planted / sizeof planted[0]);
    size_t sz[64], n = 0;
    for (const char *p = argv[2 + serial]; *p && n < 64;) {
        char *end;
        sz[n++] = strtoull(p, &end, 10);
        p = *end ? end + 1 : end;
    }
    kt_tune_opts o = {.db_path = argv[1 + serial], .variants = "test:flat,test:step",
                      .quick = 1, .no_verify = 1, .sizes = sz, .nsizes = n,
                      .invocation = "mpi_tune"};
    o.ops[KT_OP_AXPY_F32] = 1;
    kt_init();
    kt_tune_report rep;
    int writer = 1;
    kt_status s = serial ? kt_tune_run(&o, &rep) : kt_mpi_tune(&o, &rep, &writer);
    if (writer && s != KT_OK) fprintf(stderr, "mpi_tune: %s\n", kt_last_error());
    if (writer && s == KT_OK)
        printf("measured %d reused %d points %d stopped %d\n", rep.measured, rep.reused,
               rep.points, rep.stopped);
    fflush(stdout);
    if (!serial) kt_mpi_end(rep.stopped == 1);
    return rep.stopped == 1 ? 130 : s == KT_OK ? 0 : 1;
}
