/*
 * The machine fingerprint: a stable identity of what decides speed here
 * (CPU model and features, cores, caches, GPU, driver and library
 * versions).  Tuning results are keyed by it.  Format:
 *   <vendor>-<family>.<model>.<stepping>-<isa>-<cores>c-<gpu>-<hash>
 * where hash is the FNV-1a 64-bit hash of the full canonical description,
 * so two machines differing in anything that matters never collide, and a
 * person can still read the gist.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_internal.h"
#include "kt_variants.h"

static char kt_fp[160];
static pthread_once_t kt_fp_once = PTHREAD_ONCE_INIT;

static uint64_t fnv1a(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static const char *blas_config(void) {
#ifdef KT_HAVE_OPENBLAS
    return kt_openblas_config();
#else
    return "none";
#endif
}

int kt_blas_threading(void) {
#ifdef KT_HAVE_OPENBLAS
    return kt_openblas_parallel();
#else
    return -1;
#endif
}

/* The canonical description hashed into the fingerprint. */
void kt_machine_describe(char *buf, size_t len) {
    const kt_cpu *c = kt_cpu_get();
    const kt_gpu *g = kt_gpu_get();
    char feats[256];
    kt_cpu_features_str(c->features, feats, sizeof feats);
    snprintf(buf, len,
             "cpu=%s|%s|%u.%u.%u|%s|cores=%d|l1d=%zu|l2=%zu|l3=%zu|gpu=%d|%s|cc=%d.%d|sms=%d|"
             "driver=%d|runtime=%d|blas=%s",
             c->vendor, c->brand, c->family, c->model, c->stepping, feats, c->cores, c->l1d,
             c->l2, c->l3, g->count, g->count ? g->name : "", g->cc_major, g->cc_minor, g->sms,
             g->driver_version, g->runtime_version, blas_config());
}

/*
 * KTUNE_TEST_FINGERPRINT (tests only: it makes this machine claim to be another): when
 * set to 1-127 printable characters without spaces, it is the fingerprint.  The MPI
 * tests simulate two hardware classes on one machine with it.
 */
static int test_fingerprint(void) {
    const char *e = getenv("KTUNE_TEST_FINGERPRINT");
    size_t n = e ? strlen(e) : 0;
    if (n == 0 || n >= 128) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isgraph((unsigned char)e[i])) return 0;
    memcpy(kt_fp, e, n + 1);
    return 1;
}

static void make_fingerprint(void) {
    if (test_fingerprint()) return;
    const kt_cpu *c = kt_cpu_get();
    const kt_gpu *g = kt_gpu_get();
    char desc[1024], vendor[16], gpu[32];
    kt_machine_describe(desc, sizeof desc);
    snprintf(vendor, sizeof vendor, "%s",
             !strcmp(c->vendor, "AuthenticAMD")   ? "amd"
             : !strcmp(c->vendor, "GenuineIntel") ? "intel"
                                                  : "cpu");
    const char *isa = (c->features & KT_CPU_AVX512F) ? "avx512"
                      : (c->features & KT_CPU_AVX2)  ? "avx2"
                                                     : "sse";
    if (g->count)
        snprintf(gpu, sizeof gpu, "sm%d%d", g->cc_major, g->cc_minor);
    else
        snprintf(gpu, sizeof gpu, "nogpu");
    snprintf(kt_fp, sizeof kt_fp, "%s-%u.%u.%u-%s-%dc-%s-%016llx", vendor, c->family, c->model,
             c->stepping, isa, c->cores, gpu, (unsigned long long)fnv1a(desc));
}

const char *kt_fingerprint(void) {
    pthread_once(&kt_fp_once, make_fingerprint);
    return kt_fp;
}
