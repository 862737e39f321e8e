/*
 * variants/cuda/gpu.cu: the CUDA device probe, the cuBLAS loader and the
 * per-thread GPU context that every CUDA and cuBLAS variant runs in
 * (see kt_cuda.h for the model).
 *
 * Host code only: no kernels here, and no use of the C++ run-time library
 * (no exceptions, no new, pthread_once rather than std::call_once).  The
 * kernel files do need -lstdc++ (in CUDA_LIBS): nvcc's launch stubs
 * initialise function-local statics, which calls __cxa_guard_acquire.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <type_traits>

#include <cuda_runtime_api.h>

#include "kt_cuda.h"

/* Device buffers are carved at this alignment (cudaMalloc gives 256 too). */
#define KT_CUDA_ALIGN ((size_t)256)
/* The device buffer grows in steps of this many bytes (fewer regrowths). */
#define KT_CUDA_GROW ((size_t)2 << 20)

/* ---- Process-wide state, written once by the probe ---------------------- */

static kt_gpu g_gpu; /* what kt_gpu_get() returns */
#ifdef KT_HAVE_CUBLAS
static kt_cublas_api g_cublas; /* valid when g_gpu.cublas */
#endif
static size_t g_mem_pitch;          /* cudaDeviceProp::memPitch of device 0 */
static int g_threads_per_sm = 2048; /* cudaDeviceProp::maxThreadsPerMultiProcessor */
static pthread_once_t g_probe_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_ctx_key; /* frees a thread's context when it exits */
static bool g_ctx_key_ok;
static std::atomic<int> g_exiting; /* set at exit(): CUDA may be torn down */

/* ---- Per-thread state --------------------------------------------------- */

/* The context of one thread (kt_cuda.h).  Calls never share one. */
struct kt_cuda_ctx {
    cudaStream_t stream; /* non-blocking: independent of the legacy default stream */
    void *buf;           /* the grow-only device buffer */
    size_t cap;          /* its size in bytes */
    cudaEvent_t ev[4];   /* start, after copies in, after kernels, end */
    bool have_events;
    void *cublas; /* the cublasHandle_t; NULL until the first cuBLAS call */
};

static thread_local kt_cuda_ctx *tls_ctx;
static thread_local int tls_timing_on;
static thread_local kt_gpu_timing tls_timing;

/* ---- cuBLAS loading ----------------------------------------------------- */

#ifdef KT_HAVE_CUBLAS

/*
 * The pointer types of kt_cuda.h must be exactly those of cublas_api.h: a
 * mismatch would be a silent ABI error, so it fails the build instead.
 * (decltype does not use the functions: no link dependency on libcublas.)
 */
#define KT_SAME_TYPE(fn, type)                                                                     \
    static_assert(std::is_same<decltype(&fn), type>::value,                                        \
                  #type " does not match " #fn " in cublas_api.h")
KT_SAME_TYPE(cublasCreate_v2, kt_cublas_create_fn);
KT_SAME_TYPE(cublasDestroy_v2, kt_cublas_destroy_fn);
KT_SAME_TYPE(cublasSetStream_v2, kt_cublas_set_stream_fn);
KT_SAME_TYPE(cublasSetPointerMode_v2, kt_cublas_set_pointer_mode_fn);
KT_SAME_TYPE(cublasSaxpy_v2, kt_cublas_saxpy_fn);
KT_SAME_TYPE(cublasDaxpy_v2, kt_cublas_daxpy_fn);
KT_SAME_TYPE(cublasSdot_v2, kt_cublas_sdot_fn);
KT_SAME_TYPE(cublasDdot_v2, kt_cublas_ddot_fn);
KT_SAME_TYPE(cublasSgemv_v2, kt_cublas_sgemv_fn);
KT_SAME_TYPE(cublasDgemv_v2, kt_cublas_dgemv_fn);
KT_SAME_TYPE(cublasSgemm_v2, kt_cublas_sgemm_fn);
KT_SAME_TYPE(cublasDgemm_v2, kt_cublas_dgemm_fn);
KT_SAME_TYPE(cublasSgemv_v2_64, kt_cublas_sgemv64_fn);
KT_SAME_TYPE(cublasDgemv_v2_64, kt_cublas_dgemv64_fn);
KT_SAME_TYPE(cublasSgemm_v2_64, kt_cublas_sgemm64_fn);
KT_SAME_TYPE(cublasDgemm_v2_64, kt_cublas_dgemm64_fn);
#undef KT_SAME_TYPE

/*
 * Resolves symbol name of library h into *fn.  Returns false (with the
 * reason in why) when it is missing and required.
 */
template <typename F>
static bool resolve(void *h, const char *name, F *fn, bool required, char *why, size_t len) {
    void *p = dlsym(h, name);
    *fn = reinterpret_cast<F>(p);
    if (p == NULL && required) {
        snprintf(why, len, "cuBLAS lacks %s", name);
        return false;
    }
    return true;
}

/*
 * dlopen()s cuBLAS: by soname (libcublas.so.13, .12, then libcublas.so)
 * through the loader's search path, then in $CUDA_HOME/lib64,
 * $CUDA_PATH/lib64 and the configured KT_CUDA_LIBDIR (config.h).  Records
 * the path in g_cublas.path.  Returns the handle, or NULL with the first
 * loader message in why.
 */
static void *cublas_open(char *why, size_t len) {
    static const char *const names[] = {"libcublas.so.13", "libcublas.so.12", "libcublas.so"};
    const char *home = secure_getenv("CUDA_HOME"); /* g++ defines _GNU_SOURCE */
    const char *cpath = secure_getenv("CUDA_PATH");
    /* Directory and separator pairs; NULL directory: the loader's search path. */
    const struct {
        const char *dir, *sub;
    } where[] = {
        {NULL, ""},
        {home, "/lib64/"},
        {cpath, "/lib64/"},
#ifdef KT_CUDA_LIBDIR
        {KT_CUDA_LIBDIR, "/"},
#endif
    };
    char path[sizeof g_cublas.path];

    why[0] = '\0';
    for (size_t d = 0; d < sizeof where / sizeof where[0]; d++) {
        if (d > 0 && (where[d].dir == NULL || where[d].dir[0] == '\0')) continue;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            int w = snprintf(path, sizeof path, "%s%s%s", d > 0 ? where[d].dir : "", where[d].sub,
                             names[i]);
            if (w < 0 || (size_t)w >= sizeof path) continue;
            void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
            if (h != NULL) {
                memcpy(g_cublas.path, path, sizeof path);
                return h;
            }
            const char *e = dlerror();
            if (why[0] == '\0')
                snprintf(why, len, "cuBLAS not loadable (%s)", e != NULL ? e : path);
        }
    }
    return NULL;
}

/* Loads cuBLAS into g_cublas; sets g_gpu.cublas or g_gpu.cublas_why. */
static void cublas_load(kt_gpu *g) {
    char *why = g->cublas_why;
    size_t len = sizeof g->cublas_why;
    void *h = cublas_open(why, len);
    if (h == NULL) return;
    kt_cublas_api *a = &g_cublas;
    bool ok = resolve(h, "cublasCreate_v2", &a->create, true, why, len) &&
              resolve(h, "cublasDestroy_v2", &a->destroy, true, why, len) &&
              resolve(h, "cublasSetStream_v2", &a->set_stream, true, why, len) &&
              resolve(h, "cublasSetPointerMode_v2", &a->set_pointer_mode, true, why, len) &&
              resolve(h, "cublasSaxpy_v2", &a->saxpy, true, why, len) &&
              resolve(h, "cublasDaxpy_v2", &a->daxpy, true, why, len) &&
              resolve(h, "cublasSdot_v2", &a->sdot, true, why, len) &&
              resolve(h, "cublasDdot_v2", &a->ddot, true, why, len) &&
              resolve(h, "cublasSgemv_v2", &a->sgemv, true, why, len) &&
              resolve(h, "cublasDgemv_v2", &a->dgemv, true, why, len) &&
              resolve(h, "cublasSgemm_v2", &a->sgemm, true, why, len) &&
              resolve(h, "cublasDgemm_v2", &a->dgemm, true, why, len) &&
              resolve(h, "cublasSgemv_v2_64", &a->sgemv64, false, why, len) &&
              resolve(h, "cublasDgemv_v2_64", &a->dgemv64, false, why, len) &&
              resolve(h, "cublasSgemm_v2_64", &a->sgemm64, false, why, len) &&
              resolve(h, "cublasDgemm_v2_64", &a->dgemm64, false, why, len);
    if (!ok) {
        char path[sizeof a->path];
        memcpy(path, a->path, sizeof path);
        memset(a, 0, sizeof *a);
        dlclose(h);
        size_t used = strlen(why);
        snprintf(why + used, len - used, " (%s)", path);
        return;
    }
    /* The library stays loaded for the life of the process (never dlclose()d). */
    g->cublas = 1;
    why[0] = '\0';
}
#endif /* KT_HAVE_CUBLAS */

/* ---- The probe ---------------------------------------------------------- */

/* Marks the process as exiting: thread-exit destructors then leave CUDA alone. */
static void on_exit_flag(void) { g_exiting.store(1); }

static void ctx_destroy(kt_cuda_ctx *ctx);

/* pthread key destructor: frees an exiting thread's context. */
static void ctx_key_destructor(void *p) {
    tls_ctx = NULL;
    ctx_destroy((kt_cuda_ctx *)p);
}

/*
 * Writes the reason for "no usable device" from the error e of
 * cudaGetDeviceCount into g->why_none, naming the error as CUDA does.
 */
static void why_no_device(kt_gpu *g, cudaError_t e) {
    char what[96];
    switch (e) {
    case cudaErrorInsufficientDriver:
        if (g->driver_version == 0)
            snprintf(what, sizeof what, "no CUDA driver");
        else
            snprintf(what, sizeof what, "CUDA driver too old (driver %d.%d, runtime %d.%d)",
                     g->driver_version / 1000, g->driver_version % 1000 / 10,
                     g->runtime_version / 1000, g->runtime_version % 1000 / 10);
        break;
    case cudaErrorNoDevice:
        snprintf(what, sizeof what, "no CUDA device");
        break;
    case cudaErrorStubLibrary:
        snprintf(what, sizeof what, "CUDA driver is a stub library");
        break;
    case cudaErrorDevicesUnavailable:
        snprintf(what, sizeof what, "CUDA devices busy or unavailable");
        break;
    case cudaErrorSystemNotReady:
    case cudaErrorSystemDriverMismatch:
    case cudaErrorCompatNotSupportedOnDevice:
        snprintf(what, sizeof what, "CUDA driver not usable");
        break;
    default:
        snprintf(what, sizeof what, "CUDA device query failed");
        break;
    }
    snprintf(g->why_none, sizeof g->why_none, "%s (%s: %s)", what, cudaGetErrorName(e),
             cudaGetErrorString(e));
}

/*
 * The lowest architecture this file was compiled for (e.g. 800 for sm_80),
 * from nvcc's __CUDA_ARCH_LIST__; 0 when nvcc does not say.  The kernel
 * files are compiled with the same flags, so this is theirs too.
 */
static int lowest_arch(void) {
#ifdef __CUDA_ARCH_LIST__
    static const int archs[] = {__CUDA_ARCH_LIST__};
    int low = archs[0];
    for (size_t i = 1; i < sizeof archs / sizeof archs[0]; i++)
        if (archs[i] < low) low = archs[i];
    return low;
#else
    return 0;
#endif
}

/*
 * Fills g_gpu once: runtime and driver versions, the device count, device
 * 0's name, compute capability, multiprocessors and memory, or the reason
 * there is no usable device; then cuBLAS.  Creates no CUDA context (cheap
 * when there is a GPU, cheaper without a driver).
 */
static void gpu_probe(void) {
    kt_gpu *g = &g_gpu;
    int v = 0;
    if (cudaDriverGetVersion(&v) == cudaSuccess) g->driver_version = v;
    v = 0;
    if (cudaRuntimeGetVersion(&v) == cudaSuccess) g->runtime_version = v;
    (void)cudaGetLastError();

    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e == cudaSuccess && count <= 0) e = cudaErrorNoDevice;
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        why_no_device(g, e);
        snprintf(g->cublas_why, sizeof g->cublas_why, "no CUDA device");
        return;
    }

    cudaDeviceProp p;
    e = cudaGetDeviceProperties(&p, 0);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        snprintf(g->why_none, sizeof g->why_none, "CUDA device 0 unreadable (%s: %s)",
                 cudaGetErrorName(e), cudaGetErrorString(e));
        snprintf(g->cublas_why, sizeof g->cublas_why, "no CUDA device");
        return;
    }
    snprintf(g->name, sizeof g->name, "%.*s", (int)sizeof g->name - 1, p.name);
    g->cc_major = p.major;
    g->cc_minor = p.minor;
    g->sms = p.multiProcessorCount;
    g->mem = p.totalGlobalMem;
    g_mem_pitch = p.memPitch;
    if (p.maxThreadsPerMultiProcessor > 0) g_threads_per_sm = p.maxThreadsPerMultiProcessor;

    int arch = lowest_arch();
    if (arch > 0 && p.major * 100 + p.minor * 10 < arch) {
        snprintf(g->why_none, sizeof g->why_none,
                 "CUDA device 0 (%.80s, sm_%d%d) is older than this build's kernels (sm_%d+)",
                 p.name, p.major, p.minor, arch / 10);
        snprintf(g->cublas_why, sizeof g->cublas_why, "no usable CUDA device");
        return;
    }

    /*
     * Thread contexts are freed by a pthread key destructor when a thread
     * exits.  CUDA's runtime registered its own exit-time teardown during
     * the calls above; atexit() handlers run in reverse order, so ours runs
     * first and stops destructors of late-exiting threads from calling it.
     */
    g_ctx_key_ok = pthread_key_create(&g_ctx_key, ctx_key_destructor) == 0;
    (void)atexit(on_exit_flag);

    g->count = count;
#ifdef KT_HAVE_CUBLAS
    cublas_load(g);
#else
    snprintf(g->cublas_why, sizeof g->cublas_why,
             "built without cuBLAS (--disable-cublas, or no cublas_v2.h)");
#endif
}

/* See kt_internal.h.  Thread-safe; the probe runs once. */
extern "C" const kt_gpu *kt_gpu_get(void) {
    (void)pthread_once(&g_probe_once, gpu_probe);
    return &g_gpu;
}

#ifdef KT_HAVE_CUBLAS
extern "C" const kt_cublas_api *kt_cublas_api_get(void) {
    return kt_gpu_get()->cublas ? &g_cublas : NULL;
}
#endif

extern "C" int kt_cuda_sms(void) {
    int sms = kt_gpu_get()->sms;
    return sms > 0 ? sms : 1;
}

/* ---- Timing ------------------------------------------------------------- */

extern "C" void kt_gpu_timing_enable(int on) { tls_timing_on = on != 0; }

extern "C" const kt_gpu_timing *kt_gpu_timing_last(void) { return &tls_timing; }

/* ---- Errors ------------------------------------------------------------- */

/* The ktune status for CUDA error e. */
static kt_status status_of(cudaError_t e) {
    return e == cudaErrorMemoryAllocation ? KT_ENOMEM : KT_EDEVICE;
}

extern "C" kt_status kt_cuda_check(kt_cuda_call *c, cudaError_t e, const char *what) {
    if (e == cudaSuccess) return c->status;
    /* Clears the error when it is not sticky, so the next call starts clean. */
    (void)cudaGetLastError();
    if (c->status == KT_OK)
        c->status = kt_fail(status_of(e), "%s %s: %s failed: %s (%s)", c->op, c->variant, what,
                            cudaGetErrorName(e), cudaGetErrorString(e));
    return c->status;
}

#ifdef KT_HAVE_CUBLAS
/* The name of a cuBLAS status (no call into cuBLAS needed). */
static const char *cublas_status_name(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS:
        return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
        return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
        return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
        return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
        return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR:
        return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED:
        return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
        return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
        return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR:
        return "CUBLAS_STATUS_LICENSE_ERROR";
    default:
        return "unknown cuBLAS status";
    }
}

extern "C" kt_status kt_cuda_cublas_check(kt_cuda_call *c, cublasStatus_t s, const char *what) {
    if (s == CUBLAS_STATUS_SUCCESS) return c->status;
    if (c->status == KT_OK)
        c->status = kt_fail(s == CUBLAS_STATUS_ALLOC_FAILED ? KT_ENOMEM : KT_EDEVICE,
                            "%s %s: %s failed: %s (%d)", c->op, c->variant, what,
                            cublas_status_name(s), (int)s);
    return c->status;
}
#endif /* KT_HAVE_CUBLAS */

/* ---- Thread contexts ---------------------------------------------------- */

/*
 * Frees a context: cuBLAS handle, events, stream, device buffer, then the
 * struct.  Leaves CUDA alone once the process is exiting (the driver
 * reclaims everything with the process).  Errors are ignored: there is
 * no one to report them to, and the memory is gone either way.
 */
static void ctx_destroy(kt_cuda_ctx *ctx) {
    if (ctx == NULL) return;
    if (!g_exiting.load()) {
        int cur = 0;
        bool switched =
            cudaGetDevice(&cur) == cudaSuccess && cur != 0 && cudaSetDevice(0) == cudaSuccess;
#ifdef KT_HAVE_CUBLAS
        if (ctx->cublas != NULL && g_cublas.destroy != NULL)
            (void)g_cublas.destroy((cublasHandle_t)ctx->cublas);
#endif
        if (ctx->have_events)
            for (int i = 0; i < 4; i++) (void)cudaEventDestroy(ctx->ev[i]);
        if (ctx->stream != NULL) (void)cudaStreamDestroy(ctx->stream);
        if (ctx->buf != NULL) (void)cudaFree(ctx->buf);
        if (switched) (void)cudaSetDevice(cur);
        (void)cudaGetLastError();
    }
    free(ctx);
}

extern "C" void kt_cuda_release(void) {
    kt_cuda_ctx *ctx = tls_ctx;
    if (ctx == NULL) return;
    tls_ctx = NULL;
    if (g_ctx_key_ok) (void)pthread_setspecific(g_ctx_key, NULL);
    ctx_destroy(ctx);
}

/*
 * Creates the calling thread's context (device 0 is current): its stream,
 * registered for freeing at thread exit.  Returns KT_OK or the failure
 * recorded in c.
 */
static kt_status ctx_create(kt_cuda_call *c) {
    kt_cuda_ctx *ctx = (kt_cuda_ctx *)calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return c->status = kt_fail(KT_ENOMEM, "%s %s: out of host memory", c->op, c->variant);
    cudaError_t e = cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        free(ctx);
        return kt_cuda_check(c, e, "cudaStreamCreateWithFlags");
    }
    if (g_ctx_key_ok && pthread_setspecific(g_ctx_key, ctx) != 0) {
        /* Not freed at thread exit then; still correct, and never expected. */
    }
    tls_ctx = ctx;
    return KT_OK;
}

/* Creates the context's timing events on first use.  Returns KT_OK or the failure. */
static kt_status ctx_events(kt_cuda_call *c, kt_cuda_ctx *ctx) {
    if (ctx->have_events) return KT_OK;
    for (int i = 0; i < 4; i++) {
        cudaError_t e = cudaEventCreate(&ctx->ev[i]);
        if (e != cudaSuccess) {
            while (--i >= 0) (void)cudaEventDestroy(ctx->ev[i]);
            return kt_cuda_check(c, e, "cudaEventCreate");
        }
    }
    ctx->have_events = true;
    return KT_OK;
}

/* Makes the caller's device current again, if begin changed it. */
static void restore_device(kt_cuda_call *c) {
    if (c->prev_device >= 0) {
        kt_cuda_check(c, cudaSetDevice(c->prev_device), "cudaSetDevice (restore)");
        c->prev_device = -1;
    }
}

/* ---- One call ----------------------------------------------------------- */

extern "C" kt_status kt_cuda_begin(kt_cuda_call *c, const char *op, const kt_variant *v) {
    memset(c, 0, sizeof *c);
    c->op = op;
    c->variant = v->name;
    c->prev_device = -1;
    c->status = KT_OK;

    const kt_gpu *g = kt_gpu_get();
    if (g->count == 0)
        return c->status = kt_fail(KT_EUNAVAIL, "%s %s: %s", op, v->name, g->why_none);

    int cur = 0;
    if (kt_cuda_check(c, cudaGetDevice(&cur), "cudaGetDevice") != KT_OK) return c->status;
    if (cur != 0) {
        if (kt_cuda_check(c, cudaSetDevice(0), "cudaSetDevice") != KT_OK) return c->status;
        c->prev_device = cur;
    }
    if (tls_ctx == NULL && ctx_create(c) != KT_OK) {
        restore_device(c);
        return c->status;
    }
    c->ctx = tls_ctx;

    if (tls_timing_on) {
        memset(&tls_timing, 0, sizeof tls_timing);
        if (ctx_events(c, c->ctx) != KT_OK) {
            restore_device(c);
            return c->status;
        }
        c->timing = 1;
        c->t0 = kt_now();
        if (kt_cuda_check(c, cudaEventRecord(c->ctx->ev[0], c->ctx->stream), "cudaEventRecord") !=
            KT_OK) {
            restore_device(c);
            return c->status;
        }
    }
    return KT_OK;
}

/* Milliseconds between two completed events, in seconds; 0 on failure. */
static double elapsed_s(cudaEvent_t a, cudaEvent_t b) {
    float ms = 0.0f;
    if (cudaEventElapsedTime(&ms, a, b) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0.0;
    }
    return ms * 1e-3;
}

extern "C" kt_status kt_cuda_end(kt_cuda_call *c) {
    kt_cuda_ctx *ctx = c->ctx;
    if (ctx == NULL) {
        restore_device(c);
        return c->status;
    }
    if (c->timing && c->status == KT_OK)
        kt_cuda_check(c, cudaEventRecord(ctx->ev[3], ctx->stream), "cudaEventRecord");
    /* Always waits, even after a failure: nothing may still use the buffers. */
    kt_cuda_check(c, cudaStreamSynchronize(ctx->stream), "cudaStreamSynchronize");
    if (c->timing && c->status == KT_OK) {
        /*
         * total_s is taken by the host clock: copies out to pageable memory
         * finish with a host-side copy after the last event completes, and
         * the caller pays that too.
         */
        tls_timing.h2d_s = elapsed_s(ctx->ev[0], ctx->ev[1]);
        tls_timing.kernel_s = elapsed_s(ctx->ev[1], ctx->ev[2]);
        tls_timing.d2h_s = elapsed_s(ctx->ev[2], ctx->ev[3]);
        tls_timing.total_s = kt_now() - c->t0;
    }
    restore_device(c);
    return c->status;
}

extern "C" void kt_cuda_mark(kt_cuda_call *c, int mark) {
    if (c->status != KT_OK || !c->timing || mark < 1 || mark > 2) return;
    kt_cuda_check(c, cudaEventRecord(c->ctx->ev[mark], c->ctx->stream), "cudaEventRecord");
}

extern "C" kt_status kt_cuda_launched(kt_cuda_call *c, const char *kernel) {
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess && c->status == KT_OK) {
        c->status = kt_fail(status_of(e), "%s %s: launch of %s failed: %s (%s)", c->op, c->variant,
                            kernel, cudaGetErrorName(e), cudaGetErrorString(e));
    }
    return c->status;
}

extern "C" cudaStream_t kt_cuda_stream(const kt_cuda_call *c) {
    return c->ctx != NULL ? c->ctx->stream : NULL;
}

/* a rounded up to a multiple of b (a power of two) into *out; false on overflow. */
static bool round_up(size_t a, size_t b, size_t *out) {
    if (a > SIZE_MAX - (b - 1)) return false;
    *out = (a + b - 1) & ~(b - 1);
    return true;
}

extern "C" size_t kt_cuda_bytes(kt_cuda_call *c, size_t rows, size_t cols, size_t elem) {
    size_t b;
    if (__builtin_mul_overflow(rows, cols, &b) || __builtin_mul_overflow(b, elem, &b)) {
        if (c->status == KT_OK)
            c->status = kt_fail(KT_ENOMEM, "%s %s: %zu x %zu elements overflow size_t", c->op,
                                c->variant, rows, cols);
        return 0;
    }
    return b;
}

extern "C" kt_status kt_cuda_alloc(kt_cuda_call *c, size_t count, const size_t bytes[],
                                   void *out[]) {
    for (size_t i = 0; i < count; i++) out[i] = NULL;
    if (c->status != KT_OK) return c->status;

    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        size_t b;
        if (!round_up(bytes[i], KT_CUDA_ALIGN, &b) || total > SIZE_MAX - b)
            return c->status =
                       kt_fail(KT_ENOMEM, "%s %s: device buffers too large", c->op, c->variant);
        total += b;
    }

    kt_cuda_ctx *ctx = c->ctx;
    if (total > ctx->cap) {
        /* Every call ends with a stream synchronisation: the old buffer is idle. */
        if (ctx->buf != NULL) {
            cudaError_t e = cudaFree(ctx->buf);
            ctx->buf = NULL;
            ctx->cap = 0;
            if (kt_cuda_check(c, e, "cudaFree") != KT_OK) return c->status;
        }
        size_t want;
        if (!round_up(total, KT_CUDA_GROW, &want)) want = total;
        void *p = NULL;
        cudaError_t e = cudaMalloc(&p, want);
        if (e == cudaErrorMemoryAllocation && want > total) {
            (void)cudaGetLastError();
            want = total;
            e = cudaMalloc(&p, want);
        }
        if (e != cudaSuccess) {
            char what[64];
            snprintf(what, sizeof what, "cudaMalloc(%zu bytes)", want);
            return kt_cuda_check(c, e, what);
        }
        ctx->buf = p;
        ctx->cap = want;
    }

    char *base = (char *)ctx->buf;
    for (size_t i = 0; i < count; i++) {
        out[i] = base;
        base += (bytes[i] + KT_CUDA_ALIGN - 1) & ~(KT_CUDA_ALIGN - 1);
    }
    return KT_OK;
}

extern "C" kt_status kt_cuda_h2d(kt_cuda_call *c, void *dev, const void *host, size_t bytes) {
    if (c->status != KT_OK || bytes == 0) return c->status;
    return kt_cuda_check(c,
                         cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, c->ctx->stream),
                         "cudaMemcpyAsync (host to device)");
}

extern "C" kt_status kt_cuda_d2h(kt_cuda_call *c, void *host, const void *dev, size_t bytes) {
    if (c->status != KT_OK || bytes == 0) return c->status;
    return kt_cuda_check(c,
                         cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, c->ctx->stream),
                         "cudaMemcpyAsync (device to host)");
}

/*
 * Copies a rows x cols column-major matrix between a packed copy (leading
 * dimension rows) and a strided one (leading dimension ld >= rows), in the
 * direction kind; src/dst as cudaMemcpy's.  One copy when the matrix is
 * contiguous, one 2-D copy when the pitch is within the device's limit,
 * else one copy per column.
 */
static kt_status copy_matrix(kt_cuda_call *c, void *dst, size_t dpitch_el, const void *src,
                             size_t spitch_el, size_t rows, size_t cols, size_t elem,
                             cudaMemcpyKind kind, const char *what) {
    if (c->status != KT_OK) return c->status;
    size_t width = rows * elem; /* the caller sized the packed copy: no overflow */
    cudaStream_t s = c->ctx->stream;
    if (cols == 1 || (dpitch_el == rows && spitch_el == rows))
        return kt_cuda_check(c, cudaMemcpyAsync(dst, src, width * cols, kind, s), what);
    /* ld * elem cannot overflow: the strided matrix spans at least ld * (cols-1) elements. */
    size_t dpitch = dpitch_el * elem, spitch = spitch_el * elem;
    if (g_mem_pitch == 0 || (dpitch <= g_mem_pitch && spitch <= g_mem_pitch))
        return kt_cuda_check(c, cudaMemcpy2DAsync(dst, dpitch, src, spitch, width, cols, kind, s),
                             what);
    for (size_t j = 0; j < cols && c->status == KT_OK; j++)
        kt_cuda_check(c,
                      cudaMemcpyAsync((char *)dst + j * dpitch, (const char *)src + j * spitch,
                                      width, kind, s),
                      what);
    return c->status;
}

extern "C" kt_status kt_cuda_h2d_matrix(kt_cuda_call *c, void *dev, const void *host, size_t rows,
                                        size_t cols, size_t ld, size_t elem) {
    return copy_matrix(c, dev, rows, host, ld, rows, cols, elem, cudaMemcpyHostToDevice,
                       "cudaMemcpy2DAsync (host to device)");
}

extern "C" kt_status kt_cuda_d2h_matrix(kt_cuda_call *c, void *host, const void *dev, size_t rows,
                                        size_t cols, size_t ld, size_t elem) {
    return copy_matrix(c, host, ld, dev, rows, rows, cols, elem, cudaMemcpyDeviceToHost,
                       "cudaMemcpy2DAsync (device to host)");
}

#ifdef KT_HAVE_CUBLAS
extern "C" kt_status kt_cuda_cublas(kt_cuda_call *c, cublasHandle_t *out) {
    *out = NULL;
    if (c->status != KT_OK) return c->status;
    const kt_gpu *g = kt_gpu_get();
    if (!g->cublas)
        return c->status = kt_fail(KT_EUNAVAIL, "%s %s: %s", c->op, c->variant, g->cublas_why);
    kt_cuda_ctx *ctx = c->ctx;
    if (ctx->cublas == NULL) {
        cublasHandle_t h = NULL;
        if (kt_cuda_cublas_check(c, g_cublas.create(&h), "cublasCreate") != KT_OK) return c->status;
        if (kt_cuda_cublas_check(c, g_cublas.set_stream(h, ctx->stream), "cublasSetStream") !=
            KT_OK) {
            (void)g_cublas.destroy(h);
            return c->status;
        }
        ctx->cublas = h;
    }
    *out = (cublasHandle_t)ctx->cublas;
    return KT_OK;
}
#endif /* KT_HAVE_CUBLAS */

extern "C" int kt_cuda_block(kt_cuda_call *c, const kt_variant *v) {
    int b = v->param;
    if (b < 32 || b > 1024 || b % 32 != 0) {
        if (c->status == KT_OK)
            c->status = kt_fail(KT_EINTERNAL, "%s %s: bad block size %d in the registry", c->op,
                                c->variant, b);
        return 0;
    }
    return b;
}

extern "C" unsigned kt_cuda_blocks(size_t items, int block, unsigned waves) {
    size_t need = items / (size_t)block + (items % (size_t)block != 0);
    size_t per_sm = (size_t)(g_threads_per_sm / block);
    size_t cap = (size_t)kt_cuda_sms() * (per_sm > 0 ? per_sm : 1) * waves;
    size_t n = need < cap ? need : cap;
    if (n < 1) n = 1;
    if (n > (size_t)INT_MAX) n = (size_t)INT_MAX;
    return (unsigned)n;
}
