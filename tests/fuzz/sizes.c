/*
 * Fuzz target: the size-list parser of `ktune tune --sizes` (kt_sizes_parse in
 * tuner/kt_sizes.c).  The input is the spec text.  Invariants: on success the list is
 * non-empty, strictly increasing (sorted, unique), every size >= 1 and <= 9e15 (what
 * parse_one accepts), and not longer than a tuner could ever run (KT_FUZZ_MAX_SIZES);
 * on failure nothing is returned.  Memory errors, leaks and undefined behaviour are
 * findings through the sanitizers; a huge allocation is one through -rss_limit_mb.
 */
#include "config.h"

#include "fuzz.h"
#include "kt_cli.h"

/* More sizes than any spec should expand to: 2^27 by 1.0000001 is ~1.9e8 steps. */
#define KT_FUZZ_MAX_SIZES 1000000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *spec = malloc(size + 1);
    if (!spec) return 0;
    memcpy(spec, data, size);
    spec[size] = '\0';
    size_t *v = (size_t *)1, n = 12345;
    int rc = kt_sizes_parse(spec, &v, &n);
    if (rc == 0) {
        KT_FUZZ_CHECK(n >= 1 && n <= KT_FUZZ_MAX_SIZES, "'%s' gave %zu sizes", spec, n);
        for (size_t i = 0; i < n; i++) {
            KT_FUZZ_CHECK(v[i] >= 1 && v[i] <= (size_t)9e15, "'%s': size %zu", spec, v[i]);
            KT_FUZZ_CHECK(i == 0 || v[i] > v[i - 1], "'%s': not sorted/unique at %zu", spec, i);
        }
        free(v);
    } else {
        KT_FUZZ_CHECK(rc == -1, "'%s' returned %d", spec, rc);
        KT_FUZZ_CHECK(v == (size_t *)1 && n == 12345, "'%s' failed but wrote results", spec);
    }
    free(spec);
    return 0;
}
