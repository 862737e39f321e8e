/*
 * Shared helpers of the libFuzzer targets in tests/fuzz/ (see README.md there): a reader
 * that takes values from the fuzzer's input, a per-process scratch folder, and the one way
 * a target reports a broken invariant (KT_FUZZ_CHECK: prints it and aborts, which libFuzzer
 * records as a finding with the input that caused it).
 */
#ifndef KT_FUZZ_H
#define KT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken invariant is a finding: say which, then abort so libFuzzer saves the input. */
#define KT_FUZZ_CHECK(cond, ...)                                                                   \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Reads fixed-size values from the front of the input; past its end every value is 0. */
typedef struct kt_fuzz_in {
    const uint8_t *p;
    size_t left;
} kt_fuzz_in;

/* The next byte of the input (0 once it is used up). */
static inline uint8_t kt_fuzz_u8(kt_fuzz_in *in) {
    if (!in->left) return 0;
    in->left--;
    return *in->p++;
}

/* The next 8 bytes as an integer, little-endian (missing bytes are 0). */
static inline uint64_t kt_fuzz_u64(kt_fuzz_in *in) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)kt_fuzz_u8(in) << (8 * i);
    return v;
}

static char kt_fuzz_dir[256];

/* Removes the scratch folder and what the target left in it (at exit). */
static void kt_fuzz_cleanup(void) {
    DIR *d = opendir(kt_fuzz_dir);
    if (!d) return;
    char buf[600];
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(buf, sizeof buf, "%s/%s", kt_fuzz_dir, e->d_name);
        unlink(buf);
    }
    closedir(d);
    rmdir(kt_fuzz_dir);
}

/*
 * A scratch folder for this process (made once, under $TMPDIR or /tmp, removed at exit; a
 * RAM disk such as /dev/shm is faster), into which name is joined: returns buf.
 */
static inline const char *kt_fuzz_path(const char *name, char *buf, size_t len) {
    if (!kt_fuzz_dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(kt_fuzz_dir, sizeof kt_fuzz_dir, "%s/ktune-fuzz-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(kt_fuzz_dir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(kt_fuzz_cleanup);
    }
    snprintf(buf, len, "%s/%s", kt_fuzz_dir, name);
    return buf;
}

/* Writes size bytes to path (replacing it); aborts if it cannot (not a finding in ktune). */
static inline void kt_fuzz_write(const char *path, const uint8_t *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* Removes path and the -wal, -shm and -journal files SQLite may leave beside it. */
static inline void kt_fuzz_unlink_db(const char *path) {
    static const char *const side[] = {"", "-wal", "-shm", "-journal"};
    char buf[512];
    for (size_t i = 0; i < sizeof side / sizeof side[0]; i++) {
        snprintf(buf, sizeof buf, "%s%s", path, side[i]);
        unlink(buf);
    }
}

#endif
