/*
 * CPU detection: vendor, family/model/stepping, brand, the instruction-set
 * features that matter (with the OS register-state check through xgetbv),
 * cores, cache sizes and memory.  Detected once, then read-only.
 */
#define _GNU_SOURCE
#include "config.h"

#include <cpuid.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kt_internal.h"

static kt_cpu kt_cpu_info;
static pthread_once_t kt_cpu_once = PTHREAD_ONCE_INIT;

/* XCR0: which register states the OS saves (needed before using AVX/AVX-512). */
static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static void detect_features(kt_cpu *c, unsigned max_leaf) {
    unsigned a, b, cx, d;
    if (max_leaf < 1 || !__get_cpuid_count(1, 0, &a, &b, &cx, &d)) return;
    unsigned f = 0;
    if (cx & (1u << 20)) f |= KT_CPU_SSE42;
    int osxsave = (cx >> 27) & 1;
    uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    int os_avx = (xcr0 & 0x6) == 0x6;            /* XMM and YMM state */
    int os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0; /* opmask, ZMM_Hi256, Hi16_ZMM */
    if (os_avx && (cx & (1u << 28))) f |= KT_CPU_AVX;
    if (os_avx && (cx & (1u << 12))) f |= KT_CPU_FMA;
    if (max_leaf >= 7 && __get_cpuid_count(7, 0, &a, &b, &cx, &d)) {
        if (os_avx && (b & (1u << 5))) f |= KT_CPU_AVX2;
        if (os_avx512) {
            if (b & (1u << 16)) f |= KT_CPU_AVX512F;
            if (b & (1u << 17)) f |= KT_CPU_AVX512DQ;
            if (b & (1u << 30)) f |= KT_CPU_AVX512BW;
            if (b & (1u << 31)) f |= KT_CPU_AVX512VL;
            if (cx & (1u << 11)) f |= KT_CPU_AVX512_VNNI;
            if (d & (1u << 23)) f |= KT_CPU_AVX512_FP16;
            unsigned a1, b1, c1, d1;
            if (a >= 1 && __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1) && (a1 & (1u << 5)))
                f |= KT_CPU_AVX512_BF16;
        }
    }
    c->features = f;
}

/*
 * Cache sizes from the deterministic cache parameters leaf (4 on Intel,
 * 0x8000001D on AMD), falling back to glibc's sysconf values.
 */
static void detect_caches(kt_cpu *c, unsigned max_leaf, unsigned max_ext) {
    unsigned leaf = 0;
    if (strcmp(c->vendor, "AuthenticAMD") == 0 || strcmp(c->vendor, "HygonGenuine") == 0) {
        if (max_ext >= 0x8000001D) leaf = 0x8000001D;
    } else if (max_leaf >= 4) {
        leaf = 4;
    }
    for (unsigned sub = 0; leaf && sub < 16; sub++) {
        unsigned a, b, cx, d;
        if (!__get_cpuid_count(leaf, sub, &a, &b, &cx, &d)) break;
        unsigned type = a & 0x1f, level = (a >> 5) & 7;
        if (type == 0) break;
        size_t ways = ((b >> 22) & 0x3ff) + 1, parts = ((b >> 12) & 0x3ff) + 1;
        size_t line = (b & 0xfff) + 1, sets = (size_t)cx + 1;
        size_t size = ways * parts * line * sets;
        if (level == 1 && type == 1) {
            c->l1d = size;
            c->line = line;
        } else if (level == 2 && type != 2) {
            c->l2 = size;
        } else if (level == 3 && type != 2) {
            c->l3 = size;
        }
    }
#ifdef _SC_LEVEL1_DCACHE_SIZE
    long v;
    if (!c->l1d && (v = sysconf(_SC_LEVEL1_DCACHE_SIZE)) > 0) c->l1d = (size_t)v;
    if (!c->l2 && (v = sysconf(_SC_LEVEL2_CACHE_SIZE)) > 0) c->l2 = (size_t)v;
    if (!c->l3 && (v = sysconf(_SC_LEVEL3_CACHE_SIZE)) > 0) c->l3 = (size_t)v;
    if (!c->line && (v = sysconf(_SC_LEVEL1_DCACHE_LINESIZE)) > 0) c->line = (size_t)v;
#endif
    if (!c->line) c->line = 64;
}

static void detect(void) {
    kt_cpu *c = &kt_cpu_info;
    unsigned a, b, cx, d;
    unsigned max_leaf = __get_cpuid_max(0, NULL);
    unsigned max_ext = __get_cpuid_max(0x80000000, NULL);
    if (__get_cpuid_count(0, 0, &a, &b, &cx, &d)) {
        memcpy(c->vendor, &b, 4);
        memcpy(c->vendor + 4, &d, 4);
        memcpy(c->vendor + 8, &cx, 4);
        c->vendor[12] = '\0';
    }
    if (max_leaf >= 1 && __get_cpuid_count(1, 0, &a, &b, &cx, &d)) {
        unsigned base_family = (a >> 8) & 0xf, base_model = (a >> 4) & 0xf;
        c->family = base_family == 0xf ? base_family + ((a >> 20) & 0xff) : base_family;
        c->model = (base_family == 0x6 || base_family == 0xf)
                       ? base_model + (((a >> 16) & 0xf) << 4)
                       : base_model;
        c->stepping = a & 0xf;
    }
    if (max_ext >= 0x80000004) {
        unsigned regs[12];
        for (unsigned i = 0; i < 3; i++)
            __get_cpuid(0x80000002 + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2],
                        &regs[4 * i + 3]);
        memcpy(c->brand, regs, 48);
        c->brand[48] = '\0';
        /* trim the padding some CPUs put around the brand string */
        char *s = c->brand;
        while (*s == ' ') s++;
        memmove(c->brand, s, strlen(s) + 1);
        size_t n = strlen(c->brand);
        while (n > 0 && c->brand[n - 1] == ' ') c->brand[--n] = '\0';
    }
    detect_features(c, max_leaf);
    detect_caches(c, max_leaf, max_ext);
    cpu_set_t set;
    c->cores = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
    if (c->cores <= 0) c->cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (c->cores <= 0) c->cores = 1;
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    c->ram = pages > 0 && psize > 0 ? (size_t)pages * (size_t)psize : 0;
}

const kt_cpu *kt_cpu_get(void) {
    pthread_once(&kt_cpu_once, detect);
    return &kt_cpu_info;
}

static const struct {
    unsigned bit;
    const char *name;
} feature_names[] = {
    {KT_CPU_SSE42, "sse4.2"},         {KT_CPU_AVX, "avx"},
    {KT_CPU_AVX2, "avx2"},            {KT_CPU_FMA, "fma"},
    {KT_CPU_AVX512F, "avx512f"},      {KT_CPU_AVX512DQ, "avx512dq"},
    {KT_CPU_AVX512BW, "avx512bw"},    {KT_CPU_AVX512VL, "avx512vl"},
    {KT_CPU_AVX512_VNNI, "avx512vnni"}, {KT_CPU_AVX512_BF16, "avx512bf16"},
    {KT_CPU_AVX512_FP16, "avx512fp16"},
};

void kt_cpu_features_str(unsigned features, char *buf, size_t len) {
    size_t used = 0;
    if (len) buf[0] = '\0';
    for (size_t i = 0; i < sizeof feature_names / sizeof feature_names[0]; i++) {
        if (!(features & feature_names[i].bit)) continue;
        int w = snprintf(buf + used, len - used, "%s%s", used ? " " : "", feature_names[i].name);
        if (w < 0 || (size_t)w >= len - used) break;
        used += (size_t)w;
    }
}

/* The bits of the named feature ("avx512f"), 0 if unknown. */
unsigned kt_cpu_feature_bit(const char *name) {
    for (size_t i = 0; i < sizeof feature_names / sizeof feature_names[0]; i++)
        if (strcmp(feature_names[i].name, name) == 0) return feature_names[i].bit;
    return 0;
}
