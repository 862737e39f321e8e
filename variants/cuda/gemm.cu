/*
 * variants/cuda/gemm.cu: CUDA variants of gemm (f32, f64):
 * C = alpha * op(A) * op(B) + beta * C, column-major, C m x n, op(A) m x k,
 * op(B) k x n, op(X) = X or X^T.
 *
 * A and B are copied to the device packed (leading dimension = rows as
 * stored), and C too when beta != 0; C comes back.  With beta == 0, C is
 * neither copied in nor read: a NaN there cannot leak into the result.
 *
 * The kernel is one template, a shared-memory tiled product with register
 * blocking.  A block of 256 threads computes a BM x BN tile of C: it walks
 * k in steps of BK, staging a BM x BK panel of op(A) and a BK x BN panel of
 * op(B) in shared memory (double-buffered: the next panels are loaded from
 * global memory into registers while the current ones are multiplied, so
 * one barrier per step suffices), and each thread accumulates a TM x TN
 * sub-tile in registers.  Transposition is handled in the loads: each
 * thread reads global memory along the operand's contiguous dimension
 * (coalesced) and stores k-major panels, so the inner loop is the same for
 * all four cases.  Tiles at the edges are zero-filled; any m, n, k works.
 *
 * v->param selects the tile (kt_cuda_variants.h):
 *    16: BM = BN = 16,  BK = 16, TM = TN = 1
 *    32: BM = BN = 32,  BK = 16, TM = TN = 2
 *    64: BM = BN = 64,  BK = 16, TM = TN = 4
 *   128: BM = BN = 128, BK = 8,  TM = TN = 8
 * Larger tiles reuse each loaded element more (fewer shared-memory and
 * global loads per multiply-add) but need more registers and give fewer
 * blocks for small matrices: the tuner picks.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <type_traits>

#include <cuda_runtime.h>

#include "kt_cuda.h"
#include "kt_cuda_dev.cuh"
#include "kt_cuda_variants.h"

/* Threads per block of every configuration. */
#define KT_GEMM_THREADS 256

static_assert(std::is_same<decltype(&kt_gemm_f32_cuda), kt_gemm_f32_fn>::value, "");
static_assert(std::is_same<decltype(&kt_gemm_f64_cuda), kt_gemm_f64_fn>::value, "");

/* ---- Kernel ------------------------------------------------------------- */

/* N contiguous T, aligned to their size (at most 16 bytes): one shared-memory access. */
template <typename T, int N> struct alignas(N * sizeof(T)) kt_run { T v[N]; };

/*
 * The compile-time shape of a configuration.  A thread's TM rows are TM / WM
 * groups of WM consecutive rows (WM elements = at most 16 bytes), the groups
 * BM / (TM / WM) apart; likewise for columns.  Consecutive threads thus read
 * consecutive 16-byte runs of a panel row: conflict-free 128-bit loads.
 */
template <typename T, int BM_, int BN_, int BK_, int TM_, int TN_> struct kt_gemm_cfg {
    static constexpr int BM = BM_, BN = BN_, BK = BK_, TM = TM_, TN = TN_;
    static constexpr int NX = BN / TN;              /* threads along n */
    static constexpr int NY = BM / TM;              /* threads along m */
    static constexpr int W = (int)(16 / sizeof(T)); /* elements in 16 bytes */
    static constexpr int WM = TM < W ? TM : W;
    static constexpr int WN = TN < W ? TN : W;
    static constexpr int GM = BM / (TM / WM); /* distance between row groups */
    static constexpr int GN = BN / (TN / WN);
    static constexpr int LA = BM * BK / KT_GEMM_THREADS; /* panel elements per thread */
    static constexpr int LB = BK * BN / KT_GEMM_THREADS;
    static constexpr int PAD = W; /* keeps panel rows 16-byte aligned, spreads banks */
    static_assert(NX * NY == KT_GEMM_THREADS, "tile and thread count disagree");
    static_assert(LA * KT_GEMM_THREADS == BM * BK && LB * KT_GEMM_THREADS == BK * BN,
                  "panels do not divide among the threads");
    static_assert(TM % WM == 0 && TN % WN == 0, "sub-tile not made of runs");
    static_assert(2 * BK * (BM + BN + 2 * PAD) * sizeof(T) <= 48 * 1024,
                  "static shared memory over 48 KiB");
};

/*
 * Loads this thread's share of the BM x BK panel of op(A) starting at
 * (m0, k0) into r, zero outside the matrix.  With TA, A is stored k x m
 * (op(A)(i, p) = a[p + i * lda]) and threads run along p, else along i.
 */
template <typename C, bool TA, typename T>
__device__ __forceinline__ void kt_gemm_load_a(T (&r)[C::LA], const T *__restrict__ a, size_t lda,
                                               size_t m, size_t k, size_t m0, size_t k0) {
#pragma unroll
    for (int e = 0; e < C::LA; e++) {
        const int q = threadIdx.x + e * KT_GEMM_THREADS;
        const int i = TA ? q / C::BK : q % C::BM;
        const int p = TA ? q % C::BK : q / C::BM;
        const size_t gi = m0 + i, gp = k0 + p;
        T val = T(0);
        if (gi < m && gp < k) val = TA ? a[gp + gi * lda] : a[gi + gp * lda];
        r[e] = val;
    }
}

/* Stores what kt_gemm_load_a loaded into the k-major panel s[p][i]. */
template <typename C, bool TA, typename T>
__device__ __forceinline__ void kt_gemm_store_a(T (*s)[C::BM + C::PAD], const T (&r)[C::LA]) {
#pragma unroll
    for (int e = 0; e < C::LA; e++) {
        const int q = threadIdx.x + e * KT_GEMM_THREADS;
        const int i = TA ? q / C::BK : q % C::BM;
        const int p = TA ? q % C::BK : q / C::BM;
        s[p][i] = r[e];
    }
}

/*
 * Loads this thread's share of the BK x BN panel of op(B) starting at
 * (k0, n0).  With TB, B is stored n x k (op(B)(p, j) = b[j + p * ldb]) and
 * threads run along j, else B is k x n (b[p + j * ldb]) and they run along p.
 */
template <typename C, bool TB, typename T>
__device__ __forceinline__ void kt_gemm_load_b(T (&r)[C::LB], const T *__restrict__ b, size_t ldb,
                                               size_t n, size_t k, size_t n0, size_t k0) {
#pragma unroll
    for (int e = 0; e < C::LB; e++) {
        const int q = threadIdx.x + e * KT_GEMM_THREADS;
        const int j = TB ? q % C::BN : q / C::BK;
        const int p = TB ? q / C::BN : q % C::BK;
        const size_t gj = n0 + j, gp = k0 + p;
        T val = T(0);
        if (gj < n && gp < k) val = TB ? b[gj + gp * ldb] : b[gp + gj * ldb];
        r[e] = val;
    }
}

/* Stores what kt_gemm_load_b loaded into the k-major panel s[p][j]. */
template <typename C, bool TB, typename T>
__device__ __forceinline__ void kt_gemm_store_b(T (*s)[C::BN + C::PAD], const T (&r)[C::LB]) {
#pragma unroll
    for (int e = 0; e < C::LB; e++) {
        const int q = threadIdx.x + e * KT_GEMM_THREADS;
        const int j = TB ? q % C::BN : q / C::BK;
        const int p = TB ? q / C::BN : q % C::BK;
        s[p][j] = r[e];
    }
}

/*
 * C = alpha * op(A) * op(B) + beta * C for device matrices (leading
 * dimensions lda, ldb, ldc).  Blocks stride over the tiles of C, column of
 * tiles by column of tiles; all threads of a block take the same path, so
 * the barriers are uniform.
 */
template <typename C, bool TA, bool TB, typename T>
static __global__ void __launch_bounds__(KT_GEMM_THREADS)
    kt_gemm_kernel(size_t m, size_t n, size_t k, T alpha, const T *__restrict__ a, size_t lda,
                   const T *__restrict__ b, size_t ldb, T beta, T *__restrict__ c, size_t ldc) {
    __shared__ __align__(16) T as[2][C::BK][C::BM + C::PAD];
    __shared__ __align__(16) T bs[2][C::BK][C::BN + C::PAD];
    typedef kt_run<T, C::WM> RunM;
    typedef kt_run<T, C::WN> RunN;

    const int tx = threadIdx.x % C::NX;
    const int ty = threadIdx.x / C::NX;
    const size_t tiles_m = (m + C::BM - 1) / C::BM;
    const size_t tiles = tiles_m * ((n + C::BN - 1) / C::BN);
    const size_t ksteps = (k + C::BK - 1) / C::BK;

    for (size_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        const size_t m0 = (tile % tiles_m) * C::BM;
        const size_t n0 = (tile / tiles_m) * C::BN;
        T ra[C::LA], rb[C::LB];
        T acc[C::TM][C::TN];
#pragma unroll
        for (int r = 0; r < C::TM; r++)
#pragma unroll
            for (int s = 0; s < C::TN; s++) acc[r][s] = T(0);

        /* The previous tile ended with a barrier: both buffers are free. */
        kt_gemm_load_a<C, TA>(ra, a, lda, m, k, m0, 0);
        kt_gemm_load_b<C, TB>(rb, b, ldb, n, k, n0, 0);
        kt_gemm_store_a<C, TA>(as[0], ra);
        kt_gemm_store_b<C, TB>(bs[0], rb);
        __syncthreads();

        for (size_t ks = 0; ks < ksteps; ks++) {
            const int cur = (int)(ks & 1);
            const bool more = ks + 1 < ksteps;
            /* Global loads of the next panels, in flight during the products below. */
            if (more) {
                kt_gemm_load_a<C, TA>(ra, a, lda, m, k, m0, (ks + 1) * C::BK);
                kt_gemm_load_b<C, TB>(rb, b, ldb, n, k, n0, (ks + 1) * C::BK);
            }
#pragma unroll
            for (int p = 0; p < C::BK; p++) {
                T fa[C::TM], fb[C::TN];
#pragma unroll
                for (int g = 0; g < C::TM / C::WM; g++) {
                    RunM run = *reinterpret_cast<const RunM *>(&as[cur][p][g * C::GM + ty * C::WM]);
#pragma unroll
                    for (int e = 0; e < C::WM; e++) fa[g * C::WM + e] = run.v[e];
                }
#pragma unroll
                for (int g = 0; g < C::TN / C::WN; g++) {
                    RunN run = *reinterpret_cast<const RunN *>(&bs[cur][p][g * C::GN + tx * C::WN]);
#pragma unroll
                    for (int e = 0; e < C::WN; e++) fb[g * C::WN + e] = run.v[e];
                }
#pragma unroll
                for (int r = 0; r < C::TM; r++)
#pragma unroll
                    for (int s = 0; s < C::TN; s++) acc[r][s] = kt_fma(fa[r], fb[s], acc[r][s]);
            }
            /*
             * The other buffer was last read in step ks - 1, and every thread
             * has passed that step's barrier: it can be overwritten now.
             */
            if (more) {
                kt_gemm_store_a<C, TA>(as[cur ^ 1], ra);
                kt_gemm_store_b<C, TB>(bs[cur ^ 1], rb);
            }
            __syncthreads();
        }

#pragma unroll
        for (int s = 0; s < C::TN; s++) {
            const size_t j = n0 + (s / C::WN) * C::GN + tx * C::WN + s % C::WN;
            if (j >= n) continue;
#pragma unroll
            for (int r = 0; r < C::TM; r++) {
                const size_t i = m0 + (r / C::WM) * C::GM + ty * C::WM + r % C::WM;
                if (i >= m) continue;
                T *cp = c + i + j * ldc;
                T val = alpha * acc[r][s];
                if (beta != T(0)) val = kt_fma(beta, *cp, val);
                *cp = val;
            }
        }
    }
}

/* ---- Host side ---------------------------------------------------------- */

/* The arguments of one device gemm (device pointers, packed leading dimensions). */
template <typename T> struct gemm_args {
    bool ta, tb;
    size_t m, n, k;
    T alpha, beta;
    const T *a;
    size_t lda;
    const T *b;
    size_t ldb;
    T *c;
};

/*
 * Launches configuration C on stream s: the kernel instance for the
 * transposes, one block per tile of C (at most INT_MAX blocks; they stride
 * over the rest).
 */
template <typename C, typename T> static void gemm_launch(const gemm_args<T> &g, cudaStream_t s) {
    size_t tiles = ((g.m + C::BM - 1) / C::BM) * ((g.n + C::BN - 1) / C::BN);
    unsigned grid = (unsigned)(tiles < (size_t)INT_MAX ? tiles : (size_t)INT_MAX);
    if (!g.ta && !g.tb)
        kt_gemm_kernel<C, false, false, T><<<grid, KT_GEMM_THREADS, 0, s>>>(
            g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.m);
    else if (g.ta && !g.tb)
        kt_gemm_kernel<C, true, false, T><<<grid, KT_GEMM_THREADS, 0, s>>>(
            g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.m);
    else if (!g.ta && g.tb)
        kt_gemm_kernel<C, false, true, T><<<grid, KT_GEMM_THREADS, 0, s>>>(
            g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.m);
    else
        kt_gemm_kernel<C, true, true, T><<<grid, KT_GEMM_THREADS, 0, s>>>(
            g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.m);
}

/* Whether param names a configuration (the cases of gemm_dispatch). */
static bool gemm_param_ok(int param) {
    return param == 16 || param == 32 || param == 64 || param == 128;
}

/* Launches the configuration for tile edge param (gemm_param_ok). */
template <typename T> static void gemm_dispatch(int param, const gemm_args<T> &g, cudaStream_t s) {
    switch (param) {
    case 16:
        gemm_launch<kt_gemm_cfg<T, 16, 16, 16, 1, 1>>(g, s);
        break;
    case 32:
        gemm_launch<kt_gemm_cfg<T, 32, 32, 16, 2, 2>>(g, s);
        break;
    case 64:
        gemm_launch<kt_gemm_cfg<T, 64, 64, 16, 4, 4>>(g, s);
        break;
    default:
        gemm_launch<kt_gemm_cfg<T, 128, 128, 8, 8, 8>>(g, s);
        break;
    }
}

/* gemm for any floating T; see the file comment.  m, n, k > 0. */
template <typename T>
static kt_status gemm_cuda(const kt_variant *v, const char *op, kt_trans transa, kt_trans transb,
                           size_t m, size_t n, size_t k, T alpha, const T *a, size_t lda,
                           const T *b, size_t ldb, T beta, T *c, size_t ldc) {
    gemm_args<T> g;
    g.ta = transa == KT_TRANS;
    g.tb = transb == KT_TRANS;
    g.m = m;
    g.n = n;
    g.k = k;
    g.alpha = alpha;
    g.beta = beta;
    /* The operands as stored: op(A) m x k is A k x m when transposed. */
    const size_t arows = g.ta ? k : m, acols = g.ta ? m : k;
    const size_t brows = g.tb ? n : k, bcols = g.tb ? k : n;
    g.lda = arows;
    g.ldb = brows;
    if (!gemm_param_ok(v->param))
        return kt_fail(KT_EINTERNAL, "%s %s: bad tile %d in the registry", op, v->name, v->param);

    kt_cuda_call call;
    if (kt_cuda_begin(&call, op, v) != KT_OK) return call.status;
    size_t sizes[3] = {kt_cuda_bytes(&call, arows, acols, sizeof(T)),
                       kt_cuda_bytes(&call, brows, bcols, sizeof(T)),
                       kt_cuda_bytes(&call, m, n, sizeof(T))};
    void *d[3] = {NULL, NULL, NULL};
    kt_cuda_alloc(&call, 3, sizes, d);
    kt_cuda_h2d_matrix(&call, d[0], a, arows, acols, lda, sizeof(T));
    kt_cuda_h2d_matrix(&call, d[1], b, brows, bcols, ldb, sizeof(T));
    if (beta != T(0)) kt_cuda_h2d_matrix(&call, d[2], c, m, n, ldc, sizeof(T));
    kt_cuda_mark(&call, KT_CUDA_MARK_H2D);
    if (call.status == KT_OK) {
        g.a = (const T *)d[0];
        g.b = (const T *)d[1];
        g.c = (T *)d[2];
        gemm_dispatch<T>(v->param, g, kt_cuda_stream(&call));
        kt_cuda_launched(&call, "kt_gemm_kernel");
    }
    kt_cuda_mark(&call, KT_CUDA_MARK_KERNEL);
    kt_cuda_d2h_matrix(&call, c, d[2], m, n, ldc, sizeof(T));
    return kt_cuda_end(&call);
}

/* ---- The variants (kt_cuda_variants.h) ---------------------------------- */

extern "C" kt_status kt_gemm_f32_cuda(const kt_variant *v, kt_trans transa, kt_trans transb,
                                      size_t m, size_t n, size_t k, float alpha, const float *a,
                                      size_t lda, const float *b, size_t ldb, float beta, float *c,
                                      size_t ldc) {
    return gemm_cuda<float>(v, "gemm_f32", transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c,
                            ldc);
}

extern "C" kt_status kt_gemm_f64_cuda(const kt_variant *v, kt_trans transa, kt_trans transb,
                                      size_t m, size_t n, size_t k, double alpha, const double *a,
                                      size_t lda, const double *b, size_t ldb, double beta,
                                      double *c, size_t ldc) {
    return gemm_cuda<double>(v, "gemm_f64", transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c,
                             ldc);
}
