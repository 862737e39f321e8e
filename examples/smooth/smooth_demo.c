/*
 * A program that links the smoothing variants statically (no plugin):
 * registers them, optionally tunes them into the database (--tune: what
 * kt_tune_self does), then calls the variant ktune picks for each size and
 * checks it against the scalar one.  Exit 0 when every call agreed.
 *
 *   smooth_demo [--tune] [n ...]     (KTUNE_DB: the database to tune into and read)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_tune.h"
#include "smooth.h"

int main(int argc, char **argv) {
    int tune = argc > 1 && !strcmp(argv[1], "--tune");
    if (smooth_register_all() != KT_OK) {
        fprintf(stderr, "smooth_demo: %s\n", kt_last_error());
        return 1;
    }
    int h = kt_op_handle("myapp.smooth_f32");
    static const size_t defaults[] = {1, 2, 3, 17, 1000, 100000};
    int first = 1 + tune, nsizes = argc > first ? argc - first : 6, bad = 0;
    size_t sizes[64];
    for (int i = 0; i < nsizes && i < 64; i++)
        sizes[i] = argc > first ? strtoul(argv[first + i], NULL, 10) : defaults[i];
    if (nsizes > 64) nsizes = 64;
    if (tune) { /* tune the registered op at these sizes into KTUNE_DB (or the default) */
        kt_tune_opts o = {.quick = 1, .no_verify = 1, .db_path = getenv("KTUNE_DB"),
                          .sizes = sizes, .nsizes = (size_t)nsizes};
        kt_status s = kt_tune_self(&o, NULL);
        if (s != KT_OK) {
            fprintf(stderr, "smooth_demo: tuning failed: %s\n", kt_last_error());
            return 1;
        }
    }
    for (int i = 0; i < nsizes; i++) {
        size_t n = sizes[i];
        float *a = malloc((n + 1) * sizeof *a), *b = malloc((n + 1) * sizeof *b),
              *w = malloc((n + 1) * sizeof *w);
        if (!a || !b || !w) return 1;
        for (size_t j = 0; j < n; j++) a[j] = (float)sin((double)j + 0.5);
        size_t dims[3] = {n, 0, 0};
        smooth_f32_fn fn = (smooth_f32_fn)kt_select(h, dims); /* per call: a few ns */
        kt_dispatch_info why;
        kt_select_explain(h, dims, &why);
        kt_status s = fn ? fn(n, a, b) : KT_EUNAVAIL;
        smooth_f32_scalar(n, a, w);
        int ok = s == KT_OK;
        for (size_t j = 0; ok && j < n; j++) ok = fabsf(b[j] - w[j]) <= 1e-6f;
        printf("n=%zu: %s (%s) %s\n", n, why.variant, why.source, ok ? "agrees" : "WRONG");
        bad |= !ok;
        free(a), free(b), free(w);
    }
    return bad;
}
