/*
 * The registry: one static table listing every variant of every operation.
 * Adding a variant is its function plus one row here.  A row whose backend
 * was not built in this configuration keeps its place with a NULL function,
 * so `ktune list` can say it exists and why it cannot run.  Variants of
 * registered ops (ktune_op.h) follow the static rows (kt_variant_register).
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "kt_internal.h"
#include "kt_variants.h"
#include "../variants/blas.h"
#include "../variants/cuda/kt_cuda_variants.h"
#include "../variants/kt_shape.h"

#define FN(f) ((kt_fnptr)(f))
#ifdef KT_HAVE_AVX2
#define AVX2_FN(f) FN(f)
#else
#define AVX2_FN(f) NULL
#endif
#ifdef KT_HAVE_AVX512
#define AVX512_FN(f) FN(f)
#else
#define AVX512_FN(f) NULL
#endif
#ifdef KT_HAVE_OPENMP
#define OMP_FN(f) FN(f)
#else
#define OMP_FN(f) NULL
#endif
#ifdef KT_HAVE_OPENBLAS
#define OPENBLAS_FN(f) FN(f)
#else
#define OPENBLAS_FN(f) NULL
#endif
#ifdef KT_HAVE_CUDA
#define CUDA_FN(f) FN(f)
#else
#define CUDA_FN(f) NULL
#endif
#ifdef KT_HAVE_CUBLAS
#define CUBLAS_FN(f) FN(f)
#else
#define CUBLAS_FN(f) NULL
#endif

#define US KT_VF_UNIT_STRIDE

/* name, backend, op, version, required CPU features, flags, threads, param, cost, fn,
 * trampoline (NULL: the op's), minimum size */
#define SCALAR(op, f) {"scalar", "scalar", op, 1, 0, 0, 1, 0, 0, FN(f), NULL, 0}
/* vector ops' SIMD rows: version 3 since tails and sizes below one vector run narrower vectors,
 * 4 since the main loops walk pointers (1.1-1.55x faster in cache; variants/vec_impl.h) */
#define AVX2(op, f) {"avx2", "avx2", op, 4, KT_REQ_AVX2, US, 1, 0, 1, AVX2_FN(f), NULL, 0}
#define AVX512(op, f) {"avx512", "avx512", op, 4, KT_REQ_AVX512, US, 1, 0, 2, AVX512_FN(f), NULL, 0}
#define THREADS(op, f, t) \
    {"threads:t=" #t, "threads", op, 1, 0, US | KT_VF_OPENMP, t, 0, 10 + t, OMP_FN(f), NULL, 0}
#define THREADS_ALL(op, f) \
    THREADS(op, f, 2), THREADS(op, f, 4), THREADS(op, f, 8), THREADS(op, f, 16), \
        THREADS(op, f, 32), THREADS(op, f, 64)
/* cost: serial OpenBLAS ranks with the serial variants, threaded OpenBLAS after ktune's threads;
 * version 2 since a call puts back the thread counts it changed (variants/openblas/kt_openblas.h):
 * where the count differs from the one in force that costs two setter calls, about 160 ns with
 * the OpenMP build, so the old measurements no longer hold */
#define OPENBLAS(op, f, t, name) \
    {name, "openblas", op, 2, 0, 0, t, 0, (t) == 1 ? 4 : 30 + (t), OPENBLAS_FN(f), NULL, 0}
#define OPENBLAS_ALL(op, f) \
    OPENBLAS(op, f, 1, "openblas"), OPENBLAS(op, f, 2, "openblas:t=2"), \
        OPENBLAS(op, f, 4, "openblas:t=4"), OPENBLAS(op, f, 8, "openblas:t=8"), \
        OPENBLAS(op, f, 16, "openblas:t=16"), OPENBLAS(op, f, 32, "openblas:t=32"), \
        OPENBLAS(op, f, 64, "openblas:t=64")
#define CUDA(op, f, b) \
    {"cuda:block=" #b, "cuda", op, 1, 0, US | KT_VF_GPU, 1, b, 100, CUDA_FN(f), NULL, 0}
#define CUDA_ALL(op, f) \
    CUDA(op, f, 64), CUDA(op, f, 128), CUDA(op, f, 256), CUDA(op, f, 512), CUDA(op, f, 1024)
/* BLAS ops: SIMD variants take any increment (they gather strided vectors themselves) */
#define SCALAR_B(op, f) {"scalar", "scalar", op, 1, 0, 0, 1, 0, 0, FN(f), NULL, 0}
#define AVX2_B(op, f, ver) {"avx2", "avx2", op, ver, KT_REQ_AVX2, 0, 1, 0, 1, AVX2_FN(f), NULL, 0}
#define AVX512_B(op, f, name, kc, ver) \
    {name, "avx512", op, ver, KT_REQ_AVX512, 0, 1, kc, (kc) ? 3 : 2, AVX512_FN(f), NULL, 0}
/* threaded gemv: version 2 since its parts run the SIMD kernels' register-resident small-m path */
#define THREADS_B_VER(op) ((op) == KT_OP_GEMV_F32 || (op) == KT_OP_GEMV_F64 ? 2 : 1)
#define THREADS_B(op, f, t) \
    {"threads:t=" #t, "threads", op, THREADS_B_VER(op), 0, KT_VF_OPENMP, t, 0, 10 + t, OMP_FN(f), NULL, 0}
#define THREADS_B_ALL(op, f) \
    THREADS_B(op, f, 2), THREADS_B(op, f, 4), THREADS_B(op, f, 8), THREADS_B(op, f, 16), \
        THREADS_B(op, f, 32), THREADS_B(op, f, 64)
#define CUDA_TILE(op, f, t) \
    {"cuda:tile=" #t, "cuda", op, 1, 0, US | KT_VF_GPU, 1, t, 100, CUDA_FN(f), NULL, 0}
#define CUDA_TILE_ALL(op, f) \
    CUDA_TILE(op, f, 16), CUDA_TILE(op, f, 32), CUDA_TILE(op, f, 64), CUDA_TILE(op, f, 128)
/*
 * Every variant of one BLAS op; `ver` is the version of its SIMD kernels (gemv and gemm: 2,
 * since the direct small-matrix path and the retuned blocking; 3 since gemv's y goes through a
 * padded copy instead of masked stores when m is not a whole number of vectors, and gemm's
 * edge tiles store whole vectors unmasked; gemv 4 since y of up to 12 (AVX2) or 16 (AVX-512)
 * vectors stays in registers over all the columns, 2-3x faster below that).  gemm's AVX-512
 * kernel also comes with fixed KC blockings.
 */
#define BLAS_ROWS(op, name, ver)                                                                   \
    SCALAR_B(op, kt_##name##_scalar), AVX2_B(op, kt_##name##_avx2, ver),                          \
        AVX512_B(op, kt_##name##_avx512, "avx512", 0, ver),                                        \
        THREADS_B_ALL(op, kt_##name##_threads), OPENBLAS_ALL(op, kt_##name##_openblas),            \
        CUBLAS(op, kt_##name##_cublas)

#define CUBLAS(op, f) \
    {"cublas", "cublas", op, 1, 0, US | KT_VF_GPU | KT_VF_CUBLAS, 1, 0, 110, CUBLAS_FN(f), NULL, 0}

/*
 * transpose, stencil3x3 and sort (issue 12, variants/kt_shape.h): leading
 * dimensions, no increments, so no unit-stride flag.  Each parameter value
 * is its own variant: the transpose tile, the stencil tile height, the
 * radix digit bits, the CUDA block shape (x * 1000 + y).
 */
#define ROW(name, backend, op, req, flags, t, param, cost, fn) \
    {name, backend, op, 1, req, flags, t, param, cost, fn, NULL, 0}
#define ROW_V(name, backend, op, ver, req, flags, t, param, cost, fn) \
    {name, backend, op, ver, req, flags, t, param, cost, fn, NULL, 0}
/*
 * Versions of the shape ops' SIMD rows and of the threaded ones, which run them: avx2
 * transposes 2 since their tiles are cut for power-of-two strides; stencils 2 since a row's
 * outputs past the last whole vector are one more, overlapping vector (variants/shape_impl.h).
 */
#define IS_TRANSPOSE(op) ((op) == KT_OP_TRANSPOSE_F32 || (op) == KT_OP_TRANSPOSE_F64)
#define IS_STENCIL(op) ((op) == KT_OP_STENCIL3X3_F32 || (op) == KT_OP_STENCIL3X3_F64)
#define AVX2_SHAPE_V(op) (IS_TRANSPOSE(op) || IS_STENCIL(op) ? 2 : 1)
#define AVX512_SHAPE_V(op) (IS_STENCIL(op) ? 2 : 1)
#define SHAPE_SIMD(op, f)                                                                       \
    {"avx2", "avx2", op, AVX2_SHAPE_V(op), KT_REQ_AVX2, 0, 1, 0, 1, AVX2_FN(kt_##f##_avx2),     \
     NULL, 0},                                                                                  \
        {"avx512", "avx512", op, AVX512_SHAPE_V(op), KT_REQ_AVX512, 0, 1, 0, 2,                 \
         AVX512_FN(kt_##f##_avx512), NULL, 0}
#define SHAPE_THREADS(op, f, t)                                                            \
    {"threads:t=" #t, "threads", op, AVX2_SHAPE_V(op), 0, KT_VF_OPENMP, t, 0, 10 + t,      \
     OMP_FN(kt_##f##_threads), NULL, 0}
#define SHAPE_THREADS_ALL(op, f)                                                     \
    SHAPE_THREADS(op, f, 2), SHAPE_THREADS(op, f, 4), SHAPE_THREADS(op, f, 8),       \
        SHAPE_THREADS(op, f, 16), SHAPE_THREADS(op, f, 32), SHAPE_THREADS(op, f, 64)
#define SHAPE_CUDA(op, f, label, x, y) \
    ROW(label #x "x" #y, "cuda", op, 0, KT_VF_GPU, 1, (x) * 1000 + (y), 100, CUDA_FN(kt_##f##_cuda))
#define TRANSPOSE_ROWS(op, f)                                                                 \
    ROW("blocked:tile=8", "scalar", op, 0, 0, 1, 8, 1, FN(kt_##f##_blocked)),                 \
        ROW("blocked:tile=16", "scalar", op, 0, 0, 1, 16, 1, FN(kt_##f##_blocked)),           \
        ROW("blocked:tile=32", "scalar", op, 0, 0, 1, 32, 1, FN(kt_##f##_blocked)),           \
        ROW("blocked:tile=64", "scalar", op, 0, 0, 1, 64, 1, FN(kt_##f##_blocked)),           \
        SHAPE_CUDA(op, f, "cuda:tile=", 16, 16), SHAPE_CUDA(op, f, "cuda:tile=", 32, 8),      \
        SHAPE_CUDA(op, f, "cuda:tile=", 32, 32)
/* the blocked stencils run the best SIMD kernel on their tiles: version 2 with it */
#define STENCIL_ROWS(op, f)                                                                   \
    ROW_V("blocked:h=8", "scalar", op, 2, 0, 0, 1, 8, 3, FN(kt_##f##_blocked)),               \
        ROW_V("blocked:h=32", "scalar", op, 2, 0, 0, 1, 32, 3, FN(kt_##f##_blocked)),         \
        ROW_V("blocked:h=128", "scalar", op, 2, 0, 0, 1, 128, 3, FN(kt_##f##_blocked)),       \
        SHAPE_CUDA(op, f, "cuda:block=", 32, 4), SHAPE_CUDA(op, f, "cuda:block=", 32, 8),     \
        SHAPE_CUDA(op, f, "cuda:block=", 16, 16)
#define SHAPE_ROWS(op, f, MORE)                                                     \
    ROW("scalar", "scalar", op, 0, 0, 1, 0, 0, FN(kt_##f##_scalar)), SHAPE_SIMD(op, f), \
        SHAPE_THREADS_ALL(op, f), MORE(op, f)
/* sort: qsort is the baseline and the fallback; radix:bits=8 the default */
#define SORT_ROWS(op, f)                                                                       \
    ROW("qsort", "scalar", op, 0, 0, 1, 0, 0, FN(kt_##f##_qsort)),                             \
        ROW("radix:bits=8", "scalar", op, 0, KT_VF_DEFAULT, 1, 8, 1, FN(kt_##f##_radix)),      \
        ROW("radix:bits=11", "scalar", op, 0, 0, 1, 11, 1, FN(kt_##f##_radix)),                \
        ROW("avx512", "avx512", op, KT_REQ_AVX512, 0, 1, 0, 2, AVX512_FN(kt_##f##_avx512)),    \
        SHAPE_THREADS_ALL(op, f), ROW("cub", "cuda", op, 0, KT_VF_GPU, 1, 0, 100, CUDA_FN(kt_##f##_cuda))

const kt_variant kt_registry[] = {
    SCALAR(KT_OP_ADD_SCALAR_I64, kt_add_scalar_i64_scalar),
    AVX2(KT_OP_ADD_SCALAR_I64, kt_add_scalar_i64_avx2),
    AVX512(KT_OP_ADD_SCALAR_I64, kt_add_scalar_i64_avx512),
    THREADS_ALL(KT_OP_ADD_SCALAR_I64, kt_add_scalar_i64_threads),
    CUDA_ALL(KT_OP_ADD_SCALAR_I64, kt_add_scalar_i64_cuda),

    SCALAR(KT_OP_ADD_SCALAR_F32, kt_add_scalar_f32_scalar),
    AVX2(KT_OP_ADD_SCALAR_F32, kt_add_scalar_f32_avx2),
    AVX512(KT_OP_ADD_SCALAR_F32, kt_add_scalar_f32_avx512),
    THREADS_ALL(KT_OP_ADD_SCALAR_F32, kt_add_scalar_f32_threads),
    CUDA_ALL(KT_OP_ADD_SCALAR_F32, kt_add_scalar_f32_cuda),

    SCALAR(KT_OP_ADD_SCALAR_F64, kt_add_scalar_f64_scalar),
    AVX2(KT_OP_ADD_SCALAR_F64, kt_add_scalar_f64_avx2),
    AVX512(KT_OP_ADD_SCALAR_F64, kt_add_scalar_f64_avx512),
    THREADS_ALL(KT_OP_ADD_SCALAR_F64, kt_add_scalar_f64_threads),
    CUDA_ALL(KT_OP_ADD_SCALAR_F64, kt_add_scalar_f64_cuda),

    SCALAR(KT_OP_AXPY_F32, kt_axpy_f32_scalar),
    AVX2(KT_OP_AXPY_F32, kt_axpy_f32_avx2),
    AVX512(KT_OP_AXPY_F32, kt_axpy_f32_avx512),
    THREADS_ALL(KT_OP_AXPY_F32, kt_axpy_f32_threads),
    OPENBLAS_ALL(KT_OP_AXPY_F32, kt_axpy_f32_openblas),
    CUDA_ALL(KT_OP_AXPY_F32, kt_axpy_f32_cuda),
    CUBLAS(KT_OP_AXPY_F32, kt_axpy_f32_cublas),

    SCALAR(KT_OP_AXPY_F64, kt_axpy_f64_scalar),
    AVX2(KT_OP_AXPY_F64, kt_axpy_f64_avx2),
    AVX512(KT_OP_AXPY_F64, kt_axpy_f64_avx512),
    THREADS_ALL(KT_OP_AXPY_F64, kt_axpy_f64_threads),
    OPENBLAS_ALL(KT_OP_AXPY_F64, kt_axpy_f64_openblas),
    CUDA_ALL(KT_OP_AXPY_F64, kt_axpy_f64_cuda),
    CUBLAS(KT_OP_AXPY_F64, kt_axpy_f64_cublas),

    BLAS_ROWS(KT_OP_DOT_F32, dot_f32, 1),
    CUDA_ALL(KT_OP_DOT_F32, kt_dot_f32_cuda),
    BLAS_ROWS(KT_OP_DOT_F64, dot_f64, 1),
    CUDA_ALL(KT_OP_DOT_F64, kt_dot_f64_cuda),

    BLAS_ROWS(KT_OP_GEMV_F32, gemv_f32, 4),
    CUDA_ALL(KT_OP_GEMV_F32, kt_gemv_f32_cuda),
    BLAS_ROWS(KT_OP_GEMV_F64, gemv_f64, 4),
    CUDA_ALL(KT_OP_GEMV_F64, kt_gemv_f64_cuda),

    BLAS_ROWS(KT_OP_GEMM_F32, gemm_f32, 3),
    AVX512_B(KT_OP_GEMM_F32, kt_gemm_f32_avx512, "avx512:kc=128", 128, 2),
    AVX512_B(KT_OP_GEMM_F32, kt_gemm_f32_avx512, "avx512:kc=384", 384, 2),
    CUDA_TILE_ALL(KT_OP_GEMM_F32, kt_gemm_f32_cuda),
    BLAS_ROWS(KT_OP_GEMM_F64, gemm_f64, 3),
    AVX512_B(KT_OP_GEMM_F64, kt_gemm_f64_avx512, "avx512:kc=128", 128, 2),
    AVX512_B(KT_OP_GEMM_F64, kt_gemm_f64_avx512, "avx512:kc=384", 384, 2),
    CUDA_TILE_ALL(KT_OP_GEMM_F64, kt_gemm_f64_cuda),

    SHAPE_ROWS(KT_OP_TRANSPOSE_F32, transpose_f32, TRANSPOSE_ROWS),
    SHAPE_ROWS(KT_OP_TRANSPOSE_F64, transpose_f64, TRANSPOSE_ROWS),
    SHAPE_ROWS(KT_OP_STENCIL3X3_F32, stencil3x3_f32, STENCIL_ROWS),
    SHAPE_ROWS(KT_OP_STENCIL3X3_F64, stencil3x3_f64, STENCIL_ROWS),
    SORT_ROWS(KT_OP_SORT_F32, sort_f32),
    SORT_ROWS(KT_OP_SORT_F64, sort_f64),
    SORT_ROWS(KT_OP_SORT_I64, sort_i64),
};
const size_t kt_registry_len = sizeof kt_registry / sizeof kt_registry[0];

static const kt_variant *kt_planted;
static size_t kt_planted_len;

void kt_registry_plant(const kt_variant *extra, size_t n) {
    kt_planted = extra;
    kt_planted_len = n;
}

/*
 * Variants registered at run time (kt_variant_register): copied into rows
 * that never move, published by a release store of the count, so readers
 * (dispatch, the tuner) see only complete rows without a lock.
 */
#define KT_REG_MAX 1024
static kt_variant kt_reg_rows[KT_REG_MAX];
static _Atomic size_t kt_reg_len;
static pthread_mutex_t kt_reg_lock = PTHREAD_MUTEX_INITIALIZER;

size_t kt_registered_len(void) { return atomic_load_explicit(&kt_reg_len, memory_order_acquire); }

const kt_variant *kt_registered_at(size_t i) {
    return i < kt_registered_len() ? &kt_reg_rows[i] : NULL;
}

size_t kt_variants_len(void) { return kt_registry_len + kt_planted_len + kt_registered_len(); }

int kt_variant_order(const kt_variant *v) {
    uintptr_t p = (uintptr_t)v, sz = sizeof *v;
    if (p >= (uintptr_t)kt_registry && p < (uintptr_t)(kt_registry + kt_registry_len))
        return (int)((p - (uintptr_t)kt_registry) / sz);
    if (kt_planted && p >= (uintptr_t)kt_planted && p < (uintptr_t)(kt_planted + kt_planted_len))
        return (int)(kt_registry_len + (p - (uintptr_t)kt_planted) / sz);
    size_t nr = kt_registered_len();
    if (p >= (uintptr_t)kt_reg_rows && p < (uintptr_t)(kt_reg_rows + nr))
        return (int)(kt_registry_len + kt_planted_len + (p - (uintptr_t)kt_reg_rows) / sz);
    return INT_MAX;
}

const kt_variant *kt_variant_at(size_t i) {
    if (i < kt_registry_len) return &kt_registry[i];
    i -= kt_registry_len;
    if (i < kt_planted_len) return &kt_planted[i];
    return kt_registered_at(i - kt_planted_len);
}

/* Whether s is 1..max characters of [A-Za-z0-9_.:=+-]. */
static int name_ok(const char *s, size_t max) {
    size_t n = 0;
    if (!s) return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("_.:=+-", c)))
            return 0;
    }
    return n >= 1 && n <= max;
}

static kt_status variant_register(const char *op, const kt_variant *v) {
    kt_op_id id = kt_op_find(op);
    if (id == KT_OP_NONE)
        return kt_fail(KT_ENOTFOUND, "kt_variant_register: no operation named '%s' (register "
                       "it first)", op ? op : "(null)");
    if (id < KT_OP_COUNT)
        return kt_fail(KT_EINVAL, "kt_variant_register: %s is a built-in op: its variants are "
                       "ktune's own", op);
    if (!v) return kt_fail(KT_EINVAL, "kt_variant_register: %s: variant is NULL", op);
    const char *vn = v->name ? v->name : "(null)";
    if (!name_ok(v->name, 47))
        return kt_fail(KT_EINVAL, "kt_variant_register: %s: bad variant name '%s' (1 to 47 of "
                       "A-Z a-z 0-9 _ . : = + -)", op, vn);
    if (!name_ok(v->backend, 15) || strchr(v->backend, ','))
        return kt_fail(KT_EINVAL, "kt_variant_register: %s/%s: bad backend label '%s' (1 to 15 "
                       "characters, like \"avx2\" or \"cuda\")", op, vn,
                       v->backend ? v->backend : "(null)");
    if (v->version == 0)
        return kt_fail(KT_EINVAL, "kt_variant_register: %s/%s: version 0 (versions start at 1)",
                       op, vn);
    if (!v->fn) return kt_fail(KT_EINVAL, "kt_variant_register: %s/%s: no function", op, vn);
    if (!v->call && !kt_ops[id].call)
        return kt_fail(KT_EINVAL, "kt_variant_register: %s/%s: no trampoline (neither the "
                       "variant's call nor the op's)", op, vn);
    if (v->req & ~KT_CPU_KNOWN)
        return kt_fail(KT_EINVAL, "kt_variant_register: %s/%s: unknown CPU feature bits 0x%x",
                       op, vn, v->req & ~KT_CPU_KNOWN);
    if (v->flags & ~KT_VF_KNOWN)
        return kt_fail(KT_EINVAL, "kt_variant_register: %s/%s: unknown flag bits 0x%x", op, vn,
                       v->flags & ~KT_VF_KNOWN);
    if (v->threads < 0 || v->cost < 0)
        return kt_fail(KT_EINVAL, "kt_variant_register: %s/%s: negative threads or cost", op, vn);
    pthread_mutex_lock(&kt_reg_lock);
    kt_status s = KT_OK;
    size_t n = atomic_load_explicit(&kt_reg_len, memory_order_relaxed);
    if (kt_variant_lookup(id, v->name))
        s = kt_fail(KT_EINVAL, "kt_variant_register: %s already has a variant '%s'", op, vn);
    else if (n == KT_REG_MAX)
        s = kt_fail(KT_EINVAL, "kt_variant_register: %s/%s: the registry is full (%d variants)",
                    op, vn, KT_REG_MAX);
    if (s == KT_OK) {
        kt_reg_rows[n] = *v;
        kt_reg_rows[n].op = (unsigned)id;
        if (kt_reg_rows[n].threads == 0) kt_reg_rows[n].threads = 1;
        atomic_store_explicit(&kt_reg_len, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&kt_reg_lock);
    if (s == KT_OK) kt_registration_changed();
    return s;
}

kt_status kt_variant_register(const char *op, const kt_variant *v) {
    kt_status s = variant_register(op, v);
    if (s != KT_OK) kt_registration_failed();
    return s;
}

int kt_variant_size_ok(const kt_variant *v, const size_t dims[3]) {
    if (!v->min_size) return 1;
    size_t key = dims[0];
    for (int d = 1; d < kt_ops[v->op].ndims; d++)
        if (__builtin_mul_overflow(key, dims[d], &key)) return 1;
    return key >= v->min_size;
}

kt_fnptr kt_dot_unit_of(const kt_variant *v) {
    static const struct {
        kt_fnptr fn, unit;
    } forms[] = {
        {FN(kt_dot_f32_scalar), FN(kt_dot_f32_scalar_unit)},
        {FN(kt_dot_f64_scalar), FN(kt_dot_f64_scalar_unit)},
        {AVX2_FN(kt_dot_f32_avx2), AVX2_FN(kt_dot_f32_avx2_unit)},
        {AVX2_FN(kt_dot_f64_avx2), AVX2_FN(kt_dot_f64_avx2_unit)},
        {AVX512_FN(kt_dot_f32_avx512), AVX512_FN(kt_dot_f32_avx512_unit)},
        {AVX512_FN(kt_dot_f64_avx512), AVX512_FN(kt_dot_f64_avx512_unit)},
    };
    if (!v || !v->fn || (v->op != KT_OP_DOT_F32 && v->op != KT_OP_DOT_F64)) return NULL;
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        if (forms[i].fn == v->fn) return forms[i].unit;
    return NULL;
}

const kt_variant *kt_variant_lookup(kt_op_id op, const char *name) {
    for (size_t i = 0, n = kt_variants_len(); i < n; i++) {
        const kt_variant *v = kt_variant_at(i);
        if (v->op == op && strcmp(v->name, name) == 0) return v;
    }
    return NULL;
}

/* Why a backend may be missing from this build. */
static const char *not_built_reason(const char *backend) {
    if (!strcmp(backend, "avx2") || !strcmp(backend, "avx512"))
        return "not built: the compiler lacks the flags or configure disabled them";
    if (!strcmp(backend, "threads")) return "not built: no OpenMP (configure --disable-openmp?)";
    if (!strcmp(backend, "openblas")) return "not built: configure found no OpenBLAS";
    if (!strcmp(backend, "cuda")) return "not built: configure found no CUDA Toolkit (nvcc)";
    if (!strcmp(backend, "cublas")) return "not built: no CUDA Toolkit or cuBLAS headers";
    return "not built";
}

/*
 * Whether v can run here, now.  Checks, in order: built, KTUNE_DISABLE, CPU
 * features (and KTUNE_MAX_ISA), cores, the thread cap, the GPU, cuBLAS.
 */
bool kt_variant_usable(const kt_variant *v, char *why, size_t len) {
    char tmp[1];
    if (!why || !len) {
        why = tmp;
        len = sizeof tmp;
    }
    why[0] = '\0';
    if (!v->fn) {
        snprintf(why, len, "%s", not_built_reason(v->backend));
        return false;
    }
    const kt_env *env = kt_env_get();
    for (int i = 0; i < env->ndisable; i++) {
        if (strcmp(env->disable[i], v->backend) == 0 ||
            (strcmp(env->disable[i], "cuda") == 0 && (v->flags & KT_VF_GPU))) {
            snprintf(why, len, "disabled by KTUNE_DISABLE=%s", env->disable[i]);
            return false;
        }
    }
    const kt_cpu *cpu = kt_cpu_get();
    unsigned missing = v->req & ~cpu->features;
    if (missing) {
        char names[128];
        kt_cpu_features_str(missing, names, sizeof names);
        snprintf(why, len, "CPU lacks %s", names);
        return false;
    }
    unsigned capped = v->req & ~env->max_isa_mask;
    if (capped) {
        char names[128];
        kt_cpu_features_str(capped, names, sizeof names);
        snprintf(why, len, "above KTUNE_MAX_ISA (needs %s)", names);
        return false;
    }
    if (v->threads > cpu->cores) {
        snprintf(why, len, "needs %d cores, this machine has %d", v->threads, cpu->cores);
        return false;
    }
    int cap = kt_thread_cap();
    if (cap > 0 && v->threads > cap) {
        snprintf(why, len, "uses %d threads, above the cap of %d (KTUNE_NUM_THREADS)",
                 v->threads, cap);
        return false;
    }
    if (v->flags & KT_VF_GPU) {
        const kt_gpu *gpu = kt_gpu_get();
        if (gpu->count == 0) {
            snprintf(why, len, "%s", gpu->why_none);
            return false;
        }
        if ((v->flags & KT_VF_CUBLAS) && !gpu->cublas) {
            snprintf(why, len, "%s", gpu->cublas_why);
            return false;
        }
    }
    return true;
}
