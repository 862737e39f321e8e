/*
 * ktune: operations as data.  Register your own operations and variants;
 * ktune tunes and dispatches them exactly like its built-in ones, which are
 * rows of these same two types (lib/kt_ops.c, lib/kt_registry.c).
 *
 *   1. Describe the op (kt_op): its name ("myapp.smooth_f32"), 1 to 3
 *      dimensions, a problem generator (inputs from dims and a seed, and the
 *      reference result), a check against the reference within an error
 *      bound, a cost model (flops, bytes) and how to free a problem.
 *   2. Describe each variant (kt_variant): name, backend label, version
 *      (bump it when the code changes: only that variant is re-measured),
 *      requirements (KT_CPU_* features, threads, a GPU, a minimum size), a
 *      cost rank for ties, the typed function, and the trampoline through
 *      which the tuner calls it with the problem's argument block.
 *   3. Register both (kt_op_register, kt_variant_register) before the first
 *      kt_select, from the program or from a plugin's constructor; tune with
 *      `ktune tune --plugin ./libmyops.so` (or kt_tune_self in the program).
 *   4. Call: fn = kt_select(h, dims) returns the typed function of the
 *      variant tuned fastest at dims here (or the default, or the forced
 *      one); a variant whose requirements are absent is never returned.
 *
 * Descriptors are copied at registration; the strings and functions they
 * point at must stay valid while the process runs (static storage).
 */
#ifndef KTUNE_OP_H
#define KTUNE_OP_H

#include <stddef.h>
#include <stdint.h>

#include "ktune.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CPU features as ktune detects them (the CPU and the OS both support them). */
enum {
    KT_CPU_SSE42 = 1u << 0,
    KT_CPU_AVX = 1u << 1,
    KT_CPU_AVX2 = 1u << 2,
    KT_CPU_FMA = 1u << 3,
    KT_CPU_AVX512F = 1u << 4,
    KT_CPU_AVX512DQ = 1u << 5,
    KT_CPU_AVX512BW = 1u << 6,
    KT_CPU_AVX512VL = 1u << 7,
    KT_CPU_AVX512_VNNI = 1u << 8,
    KT_CPU_AVX512_BF16 = 1u << 9,
    KT_CPU_AVX512_FP16 = 1u << 10
};
#define KT_CPU_KNOWN 0x7ffu
#define KT_REQ_AVX2 (KT_CPU_AVX | KT_CPU_AVX2 | KT_CPU_FMA)
#define KT_REQ_AVX512 \
    (KT_REQ_AVX2 | KT_CPU_AVX512F | KT_CPU_AVX512DQ | KT_CPU_AVX512BW | KT_CPU_AVX512VL)

/* Variant flags (kt_variant.flags). */
enum {
    KT_VF_UNIT_STRIDE = 1u << 0, /* built-in ops: unit increments only (others fall back) */
    KT_VF_GPU = 1u << 1,         /* needs a CUDA device */
    KT_VF_CUBLAS = 1u << 2,      /* needs cuBLAS loaded */
    KT_VF_TEST = 1u << 3,        /* test-only variant, never dispatched or tuned unless named */
    KT_VF_OPENMP = 1u << 4,      /* runs an OpenMP parallel region (never inside another) */
    KT_VF_DEFAULT = 1u << 5      /* the op's preferred serial default (before the widest SIMD) */
};
#define KT_VF_KNOWN 0x3fu

/* Element types (kt_op.dtype): the size of the op's elements for overflow checks. */
typedef enum kt_dtype { KT_I64, KT_F32, KT_F64 } kt_dtype;

typedef void (*kt_fnptr)(void);
typedef struct kt_variant kt_variant;

/*
 * A trampoline: calls v's typed function v->fn with the arguments in args
 * (what the op's problem_args returns).  Returns KT_OK or an error.
 */
typedef kt_status (*kt_trampoline)(const kt_variant *v, void *args);

/* One implementation of one op. */
struct kt_variant {
    const char *name;      /* "avx2", "threads:t=2", "cuda:block=256"; [A-Za-z0-9_.:=+-], <= 47 */
    const char *backend;   /* "scalar", "avx2", "avx512", "threads", "cuda", ... */
    unsigned op;           /* the op's index: set by kt_variant_register (ignored there) */
    unsigned version;      /* >= 1; bump when the code changes: old measurements go stale */
    unsigned req;          /* KT_CPU_* bits it needs */
    unsigned flags;        /* KT_VF_* */
    int threads;           /* threads it uses (1 serial; 0 is taken as 1) */
    int param;             /* a parameter the function may read (block size, ...) */
    int cost;              /* tie-break rank: lower is cheaper/simpler */
    kt_fnptr fn;           /* the typed function (what kt_select returns) */
    kt_trampoline call;    /* calls fn for the tuner; NULL: the op's call */
    size_t min_size;       /* smallest size (product of the dims) it takes; 0: any */
};

/* One operation. */
typedef struct kt_op {
    const char *name;      /* "myapp.smooth_f32": [a-z0-9_] words joined by '.', <= 63 */
    const char *family;    /* shown grouped under this name (NULL: the name) */
    kt_dtype dtype;        /* element type (overflow checks, defaults) */
    int ndims;             /* 1 to 3 */
    const char *dim_names; /* "n", "m,n", "m,n,k" (NULL: those) */
    const char *unit;      /* "GB/s" for streaming ops, "GFLOP/s" for compute-bound (NULL: GB/s) */
    /* Cost model: floating-point operations and minimum bytes moved for dims. */
    double (*flops)(const size_t dims[3]);
    double (*bytes)(const size_t dims[3]);
    /*
     * Allocates a problem of size dims with fresh random inputs (never all
     * zeros) from seed; with_ref: also the initial output and the reference
     * result, for check.  *out is the problem (opaque to ktune).  KT_ENOMEM
     * (or another error) on failure, with *out untouched.
     */
    kt_status (*problem_new)(const size_t dims[3], uint64_t seed, int with_ref, void **out);
    /* The argument block of a problem, as the trampolines take it. */
    void *(*problem_args)(void *problem);
    /* Optional: before a validation run, restore the initial output and poison guards. */
    void (*problem_reset)(void *problem);
    /*
     * After v ran on a with_ref problem: compares the output with the
     * reference within the op's error bound.  KT_OK, or KT_EINVAL with a
     * one-line reason in msg.
     */
    kt_status (*check)(const kt_variant *v, void *problem, char *msg, size_t len);
    void (*problem_free)(void *problem);
    kt_trampoline call;    /* the default trampoline of the op's variants */
} kt_op;

/*
 * Registers an op; *handle (if given) is its handle for kt_select.
 * KT_EINVAL: a bad name, ndims outside 1..3, a missing function (problem_new,
 * problem_args, check, problem_free, flops, bytes), or the table is full;
 * KT_EINVAL also for a name already registered.  Thread-safe.
 */
kt_status kt_op_register(const kt_op *op, int *handle);

/*
 * Registers variant v of the op named op.  KT_ENOTFOUND: no such op;
 * KT_EINVAL: a bad or duplicate name, version 0, no function, no trampoline
 * (neither v->call nor the op's), unknown KT_CPU_* or KT_VF_* bits.
 * Thread-safe; a registration after the first call rebuilds dispatch.
 */
kt_status kt_variant_register(const char *op, const kt_variant *v);

/* The handle of an op by name (built-in or registered), or -1. */
int kt_op_handle(const char *name);

/*
 * The typed function of the variant dispatch chooses for a call of op h at
 * dims ({n}, {m, n} or {m, n, k}): tuned, default or forced; a variant that
 * cannot run here, or not at this size, is never returned.  Lock-free, a
 * few nanoseconds: call it per call.  NULL (kt_last_error says why) for a
 * bad handle or when no variant of the op can run here.  Cast the result to
 * the op's function type.
 */
kt_fnptr kt_select(int h, const size_t dims[3]);

/* As kt_select, the variant row itself (for functions that read v->param). */
const kt_variant *kt_select_variant(int h, const size_t dims[3]);

/* How kt_select(h, dims) chooses now, in English (kt_dispatch_explain by handle). */
kt_status kt_select_explain(int h, const size_t dims[3], kt_dispatch_info *out);

#ifdef __cplusplus
}
#endif

#endif /* KTUNE_OP_H */
