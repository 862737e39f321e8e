/*
 * ktune internals shared by lib/, variants/, db/ and tuner/ (not installed).
 *
 * The model (see shared DESIGN.md); kt_op and kt_variant are the public types
 * of ktune_op.h, the built-in ops and variants rows of them like a user's:
 *   - an operation (kt_op) describes a computation: dimensions, reference,
 *     input generator, error bound, cost model (built-in: lib/kt_ops.c;
 *     registered: lib/kt_opreg.c);
 *   - a variant (kt_variant) is one implementation of one op: one row of the
 *     static registry in lib/kt_registry.c (or one registered at run time),
 *     pointing at one typed function;
 *   - dispatch (lib/kt_dispatch.c) keeps, per op, an immutable table from
 *     size to variant, published through one atomic pointer.
 */
#ifndef KT_INTERNAL_H
#define KT_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ktune.h"
#include "ktune_op.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The TLS model of the hot paths' thread-locals: initial-exec (no call to
 * reach them) in the static library; the default in libktune.so, where
 * initial-exec variables take glibc's small static TLS surplus, which the
 * CUDA runtime's page-aligned block already exhausts, and a dlopen of the
 * library (a Python module) fails.  Libtool defines PIC for the shared objects.
 */
#ifdef PIC
#define KT_TLS_IE
#else
#define KT_TLS_IE __attribute__((tls_model("initial-exec")))
#endif

/* ---- Operations ------------------------------------------------------- */

typedef enum kt_op_id {
    KT_OP_ADD_SCALAR_I64,
    KT_OP_ADD_SCALAR_F32,
    KT_OP_ADD_SCALAR_F64,
    KT_OP_AXPY_F32,
    KT_OP_AXPY_F64,
    KT_OP_DOT_F32,
    KT_OP_DOT_F64,
    KT_OP_GEMV_F32,
    KT_OP_GEMV_F64,
    KT_OP_GEMM_F32,
    KT_OP_GEMM_F64,
    KT_OP_TRANSPOSE_F32,     /* issue 12: lib/kt_shape.c, variants/kt_shape.h */
    KT_OP_TRANSPOSE_F64,
    KT_OP_STENCIL3X3_F32,
    KT_OP_STENCIL3X3_F64,
    KT_OP_SORT_F32,
    KT_OP_SORT_F64,
    KT_OP_SORT_I64,
    KT_OP_COUNT              /* the built-in ops; registered ones follow, up to KT_OP_MAX */
} kt_op_id;

/* Capacity of the op table: built-in ops, then those of kt_op_register. */
#define KT_OP_MAX 64
/* kt_op_find's answer for an unknown name. */
#define KT_OP_NONE ((kt_op_id)KT_OP_MAX)

/* ---- CPU features: the KT_CPU_* bits of ktune_op.h ------------------- */

typedef struct kt_cpu {
    char vendor[16];
    char brand[64];
    unsigned family, model, stepping;
    unsigned features;       /* KT_CPU_* the CPU and the OS both support */
    int cores;               /* online logical CPUs this process may use */
    size_t l1d, l2, l3;      /* data cache sizes in bytes (per core for l1d/l2; 0 unknown) */
    size_t line;             /* cache line size in bytes */
    size_t ram;              /* physical memory in bytes */
} kt_cpu;

/* Detected once, then constant.  Never NULL. */
const kt_cpu *kt_cpu_get(void);
/* Names of the feature bits set in features, space-separated. */
void kt_cpu_features_str(unsigned features, char *buf, size_t len);
/* The bit of a named feature ("avx512f"), 0 if unknown. */
unsigned kt_cpu_feature_bit(const char *name);

/* ---- GPU (implemented in variants/cuda when built with CUDA) ----------- */

typedef struct kt_gpu {
    int count;               /* usable CUDA devices (0 when none) */
    char name[128];          /* device 0 */
    int cc_major, cc_minor;
    int sms;
    size_t mem;              /* bytes */
    int driver_version, runtime_version;  /* CUDA's integer encoding, 0 unknown */
    char why_none[192];      /* when count == 0: the reason (no driver, no device, not built) */
    int cublas;              /* 1 when cuBLAS could be loaded */
    char cublas_why[192];    /* when cublas == 0: the reason */
} kt_gpu;

/* Probed once (cheap when there is no driver), then constant.  Never NULL. */
const kt_gpu *kt_gpu_get(void);

/*
 * How the OpenBLAS loaded at run time runs its threads: 0 serial, 1 its own
 * pthreads, 2 OpenMP (one pool with ktune's threads); -1 without OpenBLAS.
 */
int kt_blas_threading(void);

/*
 * The calling thread's OpenMP thread count (omp_get_max_threads) and its setter, for
 * the OpenBLAS backend, which puts back what OpenBLAS's own setter changes
 * (variants/threads; 0 and a no-op without OpenMP).
 */
int kt_omp_max_threads(void);
void kt_omp_set_max_threads(int n);

/*
 * How unevenly `threads` OpenMP threads progress right now (the tuner's
 * guard against a busy core, tuner/kt_measure.c): the caller runs a fixed
 * chain of dependent multiplies alone, then every thread of one parallel
 * region runs it; returns the slowest thread's time over the faster of the
 * solo time and the fastest thread's.  About 1 when the cores are free; a
 * core that the host lends elsewhere for a while, or two threads on one
 * core, shows as 1.5 or more.  NAN without OpenMP, inside a parallel region,
 * or when the team is smaller than asked.  About 100 us.
 */
double kt_omp_uneven(int threads);

/* The canonical machine description hashed into kt_fingerprint(). */
void kt_machine_describe(char *buf, size_t len);

/* ---- Variants --------------------------------------------------------- */

/* kt_variant, its flags (KT_VF_*) and kt_fnptr are public: ktune_op.h. */

/*
 * Typed variant functions.  The variant row is passed first so one function
 * can serve several rows (thread count, block size).  Arguments have been
 * validated by the caller; a function may still fail (device errors).
 */
typedef kt_status (*kt_add_scalar_i64_fn)(const kt_variant *v, size_t n, int64_t c, int64_t *a);
typedef kt_status (*kt_add_scalar_f32_fn)(const kt_variant *v, size_t n, float c, float *a);
typedef kt_status (*kt_add_scalar_f64_fn)(const kt_variant *v, size_t n, double c, double *a);
typedef kt_status (*kt_axpy_f32_fn)(const kt_variant *v, size_t n, float alpha, const float *x,
                                    ptrdiff_t incx, float *y, ptrdiff_t incy);
typedef kt_status (*kt_axpy_f64_fn)(const kt_variant *v, size_t n, double alpha, const double *x,
                                    ptrdiff_t incx, double *y, ptrdiff_t incy);
/* *result = sum x[i]*y[i] (BLAS increments). */
typedef kt_status (*kt_dot_f32_fn)(const kt_variant *v, size_t n, const float *x, ptrdiff_t incx,
                                   const float *y, ptrdiff_t incy, float *result);
typedef kt_status (*kt_dot_f64_fn)(const kt_variant *v, size_t n, const double *x, ptrdiff_t incx,
                                   const double *y, ptrdiff_t incy, double *result);
/* A serial dot variant's unit-stride form (variants/blas.h): four arguments, a tail jump. */
typedef kt_status (*kt_dot_f32_unit_fn)(size_t n, const float *x, const float *y, float *result);
typedef kt_status (*kt_dot_f64_unit_fn)(size_t n, const double *x, const double *y, double *result);
/*
 * gemv and gemm variants see COLUMN-MAJOR problems only (the entry point
 * turns row-major into column-major by transposing), with m, n (and k) > 0
 * and alpha != 0 (the entry point handles the trivial cases).  beta == 0
 * means the output is not read (NaN there must not leak).
 * gemv: y = alpha*op(A)*x + beta*y, A is m x n with leading dimension lda.
 * gemm: C = alpha*op(A)*op(B) + beta*C, C is m x n, op(A) m x k, op(B) k x n.
 */
typedef kt_status (*kt_gemv_f32_fn)(const kt_variant *v, kt_trans trans, size_t m, size_t n,
                                    float alpha, const float *a, size_t lda, const float *x,
                                    ptrdiff_t incx, float beta, float *y, ptrdiff_t incy);
typedef kt_status (*kt_gemv_f64_fn)(const kt_variant *v, kt_trans trans, size_t m, size_t n,
                                    double alpha, const double *a, size_t lda, const double *x,
                                    ptrdiff_t incx, double beta, double *y, ptrdiff_t incy);
typedef kt_status (*kt_gemm_f32_fn)(const kt_variant *v, kt_trans transa, kt_trans transb,
                                    size_t m, size_t n, size_t k, float alpha, const float *a,
                                    size_t lda, const float *b, size_t ldb, float beta, float *c,
                                    size_t ldc);
typedef kt_status (*kt_gemm_f64_fn)(const kt_variant *v, kt_trans transa, kt_trans transb,
                                    size_t m, size_t n, size_t k, double alpha, const double *a,
                                    size_t lda, const double *b, size_t ldb, double beta,
                                    double *c, size_t ldc);

/* The registry: every variant of every op, in one static table. */
extern const kt_variant kt_registry[];
extern const size_t kt_registry_len;

/* Test hook: extra variants (the tests plant one through this). */
void kt_registry_plant(const kt_variant *extra, size_t n);
/* Number of variants (registry + planted) and variant i, for iteration. */
size_t kt_variants_len(void);
const kt_variant *kt_variant_at(size_t i);
/* The position of v in that iteration (registry order), INT_MAX for one not found. */
int kt_variant_order(const kt_variant *v);
const kt_variant *kt_variant_lookup(kt_op_id op, const char *name);
/* The unit-stride form (kt_dot_f32_unit_fn, kt_dot_f64_unit_fn) of a built-in dot variant; NULL
   for other variants and ops. */
kt_fnptr kt_dot_unit_of(const kt_variant *v);

/*
 * Whether v can run here; when not, writes the reason into why (if given).
 * Takes the CPU, the GPU, KTUNE_DISABLE, KTUNE_MAX_ISA and the thread cap
 * into account.  Cheap after init: the result is cached per variant.
 */
bool kt_variant_usable(const kt_variant *v, char *why, size_t len);

/* The best serial SIMD variant of op usable here (the threads backend's inner loop). */
const kt_variant *kt_best_serial(kt_op_id op);
/* The thread cap in force (KTUNE_NUM_THREADS or kt_set_max_threads), 0 for none. */
int kt_thread_cap(void);

/* ---- Operation descriptors -------------------------------------------- */

/* A problem instance the tuner and tests can run any variant on. */
typedef struct kt_problem {
    kt_op_id op;
    size_t dims[3];
    kt_args args;            /* points into the buffers below */
    void *buf[4];            /* owned allocations */
    void *ref;               /* reference output (double precision where rounding matters) */
    void *init;              /* the initial output, to restore before validation */
    size_t out_len;          /* elements of the output */
} kt_problem;

/*
 * The op table: kt_op rows (ktune_op.h), the built-in ones first (lib/kt_ops.c,
 * constant), then those of kt_op_register (lib/kt_opreg.c).  Rows below
 * kt_op_count() are complete and never change.  Built-in problems are
 * kt_problem (problem_args: &p->args, a kt_args; call: the typed call).
 */
extern kt_op kt_ops[KT_OP_MAX];
/* Runs v on a problem of its op: v's trampoline (or the op's) on problem_args. */
kt_status kt_op_run(const kt_variant *v, void *problem);
/* problem_reset, one run, check: KT_OK, or why not in msg. */
kt_status kt_op_validate(const kt_variant *v, void *problem, char *msg, size_t len);
/* problem_free of op (NULL does nothing). */
void kt_op_problem_free(int op, void *problem);
/* Whether v can take a call of op at dims (its minimum size). */
int kt_variant_size_ok(const kt_variant *v, const size_t dims[3]);
/* Registered-op lock-step: the registry's own count of registered variants. */
size_t kt_registered_len(void);
const kt_variant *kt_registered_at(size_t i);
/* After a registration: rebuilds dispatch if a table was built (lib/kt_dispatch.c). */
void kt_registration_changed(void);
/* Counts a failed kt_op_register/kt_variant_register (its message kept). */
void kt_registration_failed(void);
/* Failed registrations so far, the last one's message into last (lib/kt_opreg.c). */
unsigned kt_registration_failures(char *last, size_t len);
void kt_problem_free(kt_problem *p);
/*
 * A problem's operand buffer (released by free): at a 64-byte boundary, the
 * widest vector's.  Always the same alignment, so two tunes, and the tuner
 * and `ktune bench`, time the same thing: from malloc, a buffer's offset
 * within a cache line depends on the heap's history, and it moves AVX-512
 * kernels by 5-10% against AVX2 ones at mid sizes.  NULL when out of memory.
 */
#define KT_PROBLEM_ALIGN 64
void *kt_problem_alloc(size_t bytes);
kt_op_id kt_op_find(const char *name);   /* KT_OP_NONE when unknown */

/* Validates args for op and calls variant v with them (kt_call's core). */
kt_status kt_invoke(const kt_variant *v, kt_args *args);

/*
 * Bytes spanned by n elements of size elem at increment inc (BLAS: the
 * first to the last element touched); 0 for n = 0 or when it would not fit
 * in a ptrdiff_t.  kt_overlap: whether byte ranges [a, a+sa), [b, b+sb) meet.
 */
size_t kt_span_bytes(size_t n, size_t elem, ptrdiff_t inc);
int kt_overlap(const void *a, size_t sa, const void *b, size_t sb);

/* Argument checks shared by the entry points and kt_invoke (set kt_last_error). */
kt_status kt_check_vector(const char *fn, size_t n, const void *a);
kt_status kt_check_axpy(const char *fn, size_t n, size_t elem, const void *x, ptrdiff_t incx,
                        const void *y, ptrdiff_t incy);

/* The most elements of size elem a buffer can hold (its bytes fit in a ptrdiff_t). */
#define KT_VEC_MAX(elem) ((size_t)PTRDIFF_MAX / (elem))
/* kt_check_vector with the size check: n elements of size elem must fit in a ptrdiff_t. */
kt_status kt_check_vec(const char *fn, size_t n, size_t elem, const void *a);
/*
 * Byte span of a column-major rows x cols matrix with leading dimension ld:
 * ((cols - 1) ld + rows) elem, every step checked; 0 for an empty matrix.
 * Returns 0 when it does not fit in a ptrdiff_t, else 1 with *out set.
 */
int kt_mat_span(size_t rows, size_t cols, size_t ld, size_t elem, size_t *out);
/*
 * Whether a call of op at dims can exist: a vector's n elements, and each
 * matrix an op of these dims needs (tightly packed), fit in a ptrdiff_t.
 */
int kt_dims_fit(kt_op_id op, const size_t dims[3]);

/* Deterministic random numbers (splitmix64 seeding a xoshiro256**). */
typedef struct kt_rng {
    uint64_t s[4];
} kt_rng;
void kt_rng_seed(kt_rng *r, uint64_t seed);
uint64_t kt_rng_next(kt_rng *r);
/* Uniform in [-1, 1), never exactly zero. */
double kt_rng_nonzero(kt_rng *r);

/* ---- Errors and logging (lib/kt_log.c) -------------------------------- */

typedef enum kt_log_level { KT_LOG_OFF, KT_LOG_ERROR, KT_LOG_WARN, KT_LOG_INFO, KT_LOG_DEBUG } kt_log_level;

/* Records msg as the calling thread's last error and returns s. */
kt_status kt_fail(kt_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs to stderr when level <= KTUNE_LOG (default: off; the library is silent). */
void kt_log(kt_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
kt_log_level kt_log_level_get(void);
/* Lets a program (the ktune tool) set the level; env KTUNE_LOG still wins at init. */
void kt_log_level_set(kt_log_level level);

/* ---- Environment (lib/kt_env.c), read once at init --------------------- */

#define KT_MAX_FORCE 32
typedef struct kt_env {
    char db_path[4096];      /* KTUNE_DB ("" unset) */
    struct {
        kt_op_id op;
        char variant[48];
    } force[KT_MAX_FORCE];   /* KTUNE_FORCE */
    int nforce;
    char disable[16][16];    /* KTUNE_DISABLE backends */
    int ndisable;
    unsigned max_isa_mask;   /* KTUNE_MAX_ISA: feature bits allowed (all ones when unset) */
    int num_threads;         /* KTUNE_NUM_THREADS (0 unset) */
    int profile;             /* KTUNE_PROFILE */
    char warnings[8][320];   /* bad values seen, logged at init */
    int nwarnings;
} kt_env;

/* Parses the environment into env (never fails: bad values become warnings). */
void kt_env_parse(kt_env *env);
const kt_env *kt_env_get(void);

/* ---- Timing ----------------------------------------------------------- */

/* Monotonic clock in seconds. */
double kt_now(void);

/*
 * Per-thread CUDA timing of the last GPU variant call, filled when
 * kt_gpu_timing_enable(1) was called in this thread (the tuner does):
 * kernel_s from events around the kernel alone, total_s end to end.
 */
typedef struct kt_gpu_timing {
    double kernel_s, h2d_s, d2h_s, total_s;
} kt_gpu_timing;
void kt_gpu_timing_enable(int on);
const kt_gpu_timing *kt_gpu_timing_last(void);

#ifdef __cplusplus
}
#endif

#endif /* KT_INTERNAL_H */
