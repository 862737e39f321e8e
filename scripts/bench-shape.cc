// scripts/bench-shape.cc: transpose, stencil3x3 and sort (issue 12) side by
// side in one run, against their obvious peers (built and run by
// scripts/bench-shape):
//   transpose, stencil  every variant usable here and the dispatched call, in
//                       GB/s of the op's cost model and as a fraction of the
//                       copy bandwidth measured in the same rounds (memcpy of
//                       the input's bytes: read + write);
//   sort                every variant, the dispatched call, the C library's
//                       qsort, std::sort, and Boost.Sort's pdqsort, spreadsort
//                       (float_sort / integer_sort) and block_indirect_sort
//                       (parallel, all cores); per call, with the time to copy
//                       the unsorted input back subtracted (measured alike).
// Candidates of one case alternate round by round (median of 9 rounds, each
// at least 20 ms of calls), so drift hits all of them alike.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <boost/sort/block_indirect_sort/block_indirect_sort.hpp>
#include <boost/sort/pdqsort/pdqsort.hpp>
#include <boost/sort/spreadsort/spreadsort.hpp>

#include <thread>

extern "C" {
#include "ktune.h"
}

static double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct cand {
    std::string name;
    std::function<void()> run;
    std::vector<double> per_call;
};

// Interleaved rounds: each candidate runs `reps` calls per round (calibrated to >= 20 ms).
static void measure(std::vector<cand> &cs, int rounds = 9) {
    std::vector<long> reps(cs.size(), 1);
    for (size_t i = 0; i < cs.size(); i++) {
        cs[i].run(); // warm-up (page faults, thread pools)
        double t0 = now();
        cs[i].run();
        double t = now() - t0;
        reps[i] = std::max(1L, (long)(0.02 / std::max(t, 1e-9)));
    }
    for (int r = 0; r < rounds; r++)
        for (size_t k = 0; k < cs.size(); k++) {
            size_t i = (k + (size_t)r) % cs.size();
            double t0 = now();
            for (long j = 0; j < reps[i]; j++) cs[i].run();
            cs[i].per_call.push_back((now() - t0) / (double)reps[i]);
        }
}

static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

static std::vector<std::string> variants(const char *op) {
    std::vector<std::string> out;
    for (size_t i = 0, n = kt_variant_count(op); i < n; i++) {
        kt_variant_info vi;
        if (kt_variant_get(op, i, &vi) == KT_OK && vi.available) out.push_back(vi.name);
    }
    return out;
}

template <typename T> static void fill(std::vector<T> &v, uint64_t seed) {
    std::mt19937_64 g(seed);
    std::uniform_real_distribution<double> d(-1, 1);
    for (auto &x : v) {
        if constexpr (std::is_integral<T>::value) x = (T)g();
        else x = (T)d(g);
    }
}

// transpose or stencil of m x n, T, against memcpy of the input's bytes.
template <typename T> static void bench_2d(const char *op, size_t m, size_t n, bool stencil) {
    std::vector<T> a(m * n), b(m * n), c(m * n), w(9);
    fill(a, 1), fill(w, 2);
    const size_t ob = stencil ? n - 2 : m;
    std::vector<cand> cs;
    cs.push_back({"memcpy (copy limit)", [&] { std::memcpy(c.data(), a.data(), m * n * sizeof(T)); }, {}});
    // the same copy split over every core: the limit for the threaded variants
    unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    cs.push_back({"memcpy x" + std::to_string(hw), [&, hw] {
                      std::vector<std::thread> th;
                      size_t all = m * n, per = (all + hw - 1) / hw;
                      for (unsigned i = 0; i < hw; i++) {
                          size_t lo = std::min(all, i * per), len = std::min(all, lo + per) - lo;
                          th.emplace_back([&, lo, len] { std::memcpy(c.data() + lo, a.data() + lo, len * sizeof(T)); });
                      }
                      for (auto &t : th) t.join();
                  }, {}});
    auto args = [&] {
        kt_args g{};
        g.layout = KT_ROW_MAJOR, g.m = m, g.n = n, g.a = a.data(), g.lda = n, g.b = w.data();
        g.c = b.data(), g.ldc = ob;
        return g;
    };
    for (auto &v : variants(op))
        cs.push_back({v, [&, v] { kt_args g = args(); kt_call(op, v.c_str(), &g); }, {}});
    cs.push_back({"dispatched", [&] { /* the public entry point */
        if constexpr (std::is_same<T, float>::value) {
            if (stencil) kt_stencil3x3_f32(KT_ROW_MAJOR, m, n, w.data(), a.data(), n, b.data(), ob);
            else kt_transpose_f32(KT_ROW_MAJOR, m, n, a.data(), n, b.data(), ob);
        } else {
            if (stencil) kt_stencil3x3_f64(KT_ROW_MAJOR, m, n, w.data(), a.data(), n, b.data(), ob);
            else kt_transpose_f64(KT_ROW_MAJOR, m, n, a.data(), n, b.data(), ob);
        }
    }, {}});
    measure(cs);
    double bytes = stencil ? (double)sizeof(T) * ((double)m * n + (double)(m - 2) * (n - 2))
                           : 2.0 * sizeof(T) * (double)m * n;
    double copy1 = 2.0 * sizeof(T) * (double)m * n / median(cs[0].per_call) / 1e9;
    double copyn = 2.0 * sizeof(T) * (double)m * n / median(cs[1].per_call) / 1e9;
    double copy_gbs = std::max(copy1, copyn);
    std::printf("\n%s %zux%zu (%.1f MB moved; copy bandwidth %.1f GB/s: memcpy %.1f, on %u threads %.1f)\n",
                op, m, n, bytes / 1e6, copy_gbs, copy1, std::max(1u, std::thread::hardware_concurrency()), copyn);
    for (size_t i = 2; i < cs.size(); i++) {
        double t = median(cs[i].per_call), gbs = bytes / t / 1e9;
        std::printf("  %-22s %10.1f us %8.1f GB/s %6.0f%% of copy\n", cs[i].name.c_str(), t * 1e6, gbs,
                    100 * gbs / copy_gbs);
    }
}

template <typename T> static int cmp(const void *x, const void *y) {
    T a = *(const T *)x, b = *(const T *)y;
    return (a > b) - (a < b);
}

template <typename T> static void bench_sort(const char *op, size_t n) {
    std::vector<T> src(n), a(n);
    fill(src, 3);
    auto restore = [&] { std::memcpy(a.data(), src.data(), n * sizeof(T)); };
    std::vector<cand> cs;
    cs.push_back({"copy only", [&] { restore(); }, {}});
    for (auto &v : variants(op))
        cs.push_back({"ktune " + v, [&, v] { restore(); kt_args g{}; g.n = n, g.y = a.data(); kt_call(op, v.c_str(), &g); }, {}});
    cs.push_back({"ktune dispatched", [&] {
                      restore();
                      if constexpr (std::is_same<T, float>::value) kt_sort_f32(n, a.data());
                      else if constexpr (std::is_same<T, double>::value) kt_sort_f64(n, a.data());
                      else kt_sort_i64(n, a.data());
                  }, {}});
    cs.push_back({"libc qsort", [&] { restore(); std::qsort(a.data(), n, sizeof(T), cmp<T>); }, {}});
    cs.push_back({"std::sort", [&] { restore(); std::sort(a.begin(), a.end()); }, {}});
    cs.push_back({"boost pdqsort", [&] { restore(); boost::sort::pdqsort(a.begin(), a.end()); }, {}});
    cs.push_back({"boost spreadsort", [&] { restore(); boost::sort::spreadsort::spreadsort(a.begin(), a.end()); }, {}});
    unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    cs.push_back({"boost block_indirect(" + std::to_string(hw) + ")",
                  [&] { restore(); boost::sort::block_indirect_sort(a.begin(), a.end(), hw); }, {}});
    measure(cs);
    double copy = median(cs[0].per_call), best_peer = 1e30;
    for (size_t i = 1; i < cs.size(); i++)
        if (cs[i].name.rfind("ktune", 0) != 0) best_peer = std::min(best_peer, median(cs[i].per_call) - copy);
    std::printf("\n%s n=%zu (copying the input back: %.1f us, subtracted)\n", op, n, copy * 1e6);
    for (size_t i = 1; i < cs.size(); i++) {
        double t = std::max(median(cs[i].per_call) - copy, 1e-9);
        std::printf("  %-26s %12.1f us %8.1f Melem/s %6.2fx best peer\n", cs[i].name.c_str(), t * 1e6,
                    (double)n / t / 1e6, t / best_peer);
    }
}

int main(int argc, char **argv) {
    bool quick = argc > 1 && !std::strcmp(argv[1], "--quick");
    kt_init();
    std::printf("ktune %s, machine %s; OPENBLAS_CORETYPE=%s; Boost %d.%d\n", kt_version(), kt_fingerprint(),
                getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)",
                BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000);
    std::vector<size_t> sides = quick ? std::vector<size_t>{1000} : std::vector<size_t>{256, 1000, 4096};
    for (size_t s : sides) {
        bench_2d<float>("transpose_f32", s, s + (s % 2 ? 0 : 1), false);
        bench_2d<double>("transpose_f64", s, s + (s % 2 ? 0 : 1), false);
        bench_2d<float>("stencil3x3_f32", s, s + (s % 2 ? 0 : 1), true);
        bench_2d<double>("stencil3x3_f64", s, s + (s % 2 ? 0 : 1), true);
    }
    std::vector<size_t> ns = quick ? std::vector<size_t>{1000, 1000000} : std::vector<size_t>{100, 10000, 1000000, 16000000};
    for (size_t n : ns) {
        bench_sort<float>("sort_f32", n);
        bench_sort<double>("sort_f64", n);
        bench_sort<int64_t>("sort_i64", n);
    }
    return 0;
}
