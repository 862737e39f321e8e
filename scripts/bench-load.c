/*
 * scripts/bench-load: the library's first call on the database of KTUNE_DB, as a program
 * sees it -- wall time of kt_init() (which loads this machine's choices) and the peak
 * resident set of the process before and after.  Built and run by scripts/bench-store.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include "ktune.h"

/* Peak resident set of this process so far, in MiB. */
static double peak_mib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss / 1024.0;
}

int main(void)
{
    struct timespec t0, t1;
    double before = peak_mib();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kt_status s = kt_init();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) * 1e-6;
    printf("kt_init first call: %.1f ms, peak RSS %.1f MiB (%.1f MiB before), status %d%s%s\n",
           ms, peak_mib(), before, (int)s, s == KT_OK ? "" : ": ",
           s == KT_OK ? "" : kt_last_error());
    return s == KT_OK ? 0 : 1;
}
