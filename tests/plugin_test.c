/*
 * The test plugin: myapp.smooth_f32 with the example's variants, plus
 *   "wrong"     fast and wrong (copies a into b): validation must reject it and
 *               dispatch never pick it, although it is the cheapest and fastest;
 *   "versioned" the scalar code under another name, its version taken from
 *               KT_TEST_PLUGIN_VERSION (default 1): a bump must re-measure it alone;
 *   "big_only"  the scalar code again, with a minimum size of 10000: never measured or
 *               dispatched below it.
 */
#include <stdlib.h>
#include <string.h>

#include "smooth.h"

static kt_status smooth_wrong(size_t n, const float *a, float *b) {
    memcpy(b, a, n * sizeof *b);
    return KT_OK;
}

__attribute__((constructor)) static void test_plugin_init(void) {
    if (smooth_register_all() != KT_OK) return;
    const char *ver = getenv("KT_TEST_PLUGIN_VERSION");
    kt_variant wrong = {.name = "wrong", .backend = "scalar", .version = 1, .threads = 1,
                        .cost = 0, .fn = (kt_fnptr)smooth_wrong};
    kt_variant versioned = {.name = "versioned", .backend = "scalar",
                            .version = ver ? (unsigned)atoi(ver) : 1, .threads = 1, .cost = 5,
                            .fn = (kt_fnptr)smooth_f32_scalar};
    kt_variant big = {.name = "big_only", .backend = "scalar", .version = 1, .threads = 1,
                      .cost = 0, .fn = (kt_fnptr)smooth_f32_scalar, .min_size = 10000};
    if (kt_variant_register("myapp.smooth_f32", &wrong) == KT_OK &&
        kt_variant_register("myapp.smooth_f32", &versioned) == KT_OK)
        kt_variant_register("myapp.smooth_f32", &big);
}
