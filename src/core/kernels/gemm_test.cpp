// SPDX-License-Identifier: Apache-2.0
// gemm() against the double-accumulating reference over random shapes, transposes, leading
// dimensions, alpha/beta and thread counts, on the dispatched ISA and on every other kernel set
// this CPU can run; plus bitwise determinism across thread counts.
#include "core/kernels/gemm.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/base/rng.hpp"
#include "core/kernels/tile_kernel.hpp"
#include "runtime/thread_pool.hpp"

namespace disco::core {
namespace {

struct Problem {
  bool ta = false, tb = false;
  int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  float alpha = 1.0f, beta = 0.0f;
  std::vector<float> a, b, c;
};

Problem random_problem(Rng& rng, int64_t max_dim) {
  Problem p;
  p.ta = rng.uniform_int(2) == 1;
  p.tb = rng.uniform_int(2) == 1;
  p.m = 1 + rng.uniform_int(static_cast<uint32_t>(max_dim));
  p.n = 1 + rng.uniform_int(static_cast<uint32_t>(max_dim));
  p.k = 1 + rng.uniform_int(static_cast<uint32_t>(max_dim));
  p.lda = (p.ta ? p.m : p.k) + rng.uniform_int(3);
  p.ldb = (p.tb ? p.k : p.n) + rng.uniform_int(3);
  p.ldc = p.n + rng.uniform_int(3);
  const float alphas[] = {1.0f, 0.5f, -2.0f};
  const float betas[] = {0.0f, 1.0f, 0.25f};
  p.alpha = alphas[rng.uniform_int(3)];
  p.beta = betas[rng.uniform_int(3)];
  p.a.resize(static_cast<std::size_t>((p.ta ? p.k : p.m) * p.lda));
  p.b.resize(static_cast<std::size_t>((p.tb ? p.n : p.k) * p.ldb));
  p.c.resize(static_cast<std::size_t>(p.m * p.ldc));
  for (auto& v : p.a) v = rng.uniform(-1.0f, 1.0f);
  for (auto& v : p.b) v = rng.uniform(-1.0f, 1.0f);
  for (auto& v : p.c) v = rng.uniform(-1.0f, 1.0f);
  return p;
}

std::vector<float> reference(const Problem& p) {
  std::vector<float> c = p.c;
  gemm_reference(p.ta, p.tb, p.m, p.n, p.k, p.alpha, p.a.data(), p.lda, p.b.data(), p.ldb, p.beta,
                 c.data(), p.ldc);
  return c;
}

void expect_near(const Problem& p, const std::vector<float>& got, const std::vector<float>& want,
                 const char* what) {
  const float tol = 2e-6f * static_cast<float>(p.k) * std::fabs(p.alpha) + 1e-5f;
  for (int64_t i = 0; i < p.m; ++i)
    for (int64_t j = 0; j < p.n; ++j) {
      const auto e = static_cast<std::size_t>(i * p.ldc + j);
      ASSERT_NEAR(got[e], want[e], tol)
          << what << " ta=" << p.ta << " tb=" << p.tb << " m=" << p.m << " n=" << p.n
          << " k=" << p.k << " alpha=" << p.alpha << " beta=" << p.beta << " at " << i << "," << j;
    }
  // Padding columns of C beyond n are never written.
  for (int64_t i = 0; i < p.m; ++i)
    for (int64_t j = p.n; j < p.ldc; ++j) {
      const auto e = static_cast<std::size_t>(i * p.ldc + j);
      ASSERT_EQ(got[e], p.c[e]) << what;
    }
}

std::vector<const TileKernels*> runnable_kernel_sets() {
  std::vector<const TileKernels*> sets = {&tile_kernels_generic()};
#if defined(__x86_64__) && !defined(__EMSCRIPTEN__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    sets.push_back(&tile_kernels_avx2());
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) {
    sets.push_back(&tile_kernels_avx512());
    sets.push_back(&tile_kernels_avx512_narrow());
  }
#endif
  return sets;
}

TEST(Gemm, MatchesReferenceOnRandomShapes) {
  Rng rng(42);
  for (int threads : {1, 2, 3}) {
    runtime::ThreadPool pool(threads);
    for (int trial = 0; trial < 40; ++trial) {
      Problem p = random_problem(rng, trial < 30 ? 40 : 130);
      std::vector<float> want = reference(p);
      std::vector<float> got = p.c;
      gemm(p.ta, p.tb, p.m, p.n, p.k, p.alpha, p.a.data(), p.lda, p.b.data(), p.ldb, p.beta,
           got.data(), p.ldc, pool);
      expect_near(p, got, want, gemm_isa());
    }
  }
}

TEST(Gemm, EveryRunnableIsaMatchesReference) {
  Rng rng(7);
  runtime::ThreadPool pool(2);
  for (const TileKernels* ks : runnable_kernel_sets())
    for (int trial = 0; trial < 25; ++trial) {
      Problem p = random_problem(rng, 70);
      std::vector<float> want = reference(p);
      std::vector<float> got = p.c;
      gemm_with(*ks, p.ta, p.tb, p.m, p.n, p.k, p.alpha, p.a.data(), p.lda, p.b.data(), p.ldb,
                p.beta, got.data(), p.ldc, pool);
      expect_near(p, got, want, ks->name);
    }
}

TEST(Gemm, ConvShapedProblemsMatchReference) {
  // The MNIST CNN's products at a reduced batch: NN forward, NT input grad, TN weight grad.
  struct Case {
    bool ta, tb;
    int64_t m, n, k;
  };
  const Case cases[] = {{false, false, 800, 16, 200}, {false, true, 800, 200, 16},
                        {true, false, 200, 16, 800},  {false, false, 1152, 8, 25},
                        {true, false, 25, 8, 1152},   {false, false, 64, 32, 1600},
                        {false, true, 64, 1600, 32},  {true, false, 1600, 32, 64}};
  Rng rng(3);
  runtime::ThreadPool pool(2);
  for (const Case& cs : cases) {
    Problem p;
    p.ta = cs.ta;
    p.tb = cs.tb;
    p.m = cs.m;
    p.n = cs.n;
    p.k = cs.k;
    p.lda = cs.ta ? cs.m : cs.k;
    p.ldb = cs.tb ? cs.k : cs.n;
    p.ldc = cs.n;
    p.a.resize(static_cast<std::size_t>(cs.m * cs.k));
    p.b.resize(static_cast<std::size_t>(cs.k * cs.n));
    p.c.assign(static_cast<std::size_t>(cs.m * cs.n), 0.0f);
    for (auto& v : p.a) v = rng.uniform(-1.0f, 1.0f);
    for (auto& v : p.b) v = rng.uniform(-1.0f, 1.0f);
    std::vector<float> want = reference(p);
    std::vector<float> got(p.c.size(), std::numeric_limits<float>::quiet_NaN());
    gemm(p.ta, p.tb, p.m, p.n, p.k, 1.0f, p.a.data(), p.lda, p.b.data(), p.ldb, 0.0f, got.data(),
         p.ldc, pool);
    expect_near(p, got, want, gemm_isa());
  }
}

TEST(Gemm, BetaZeroOverwritesNanInC) {
  runtime::ThreadPool pool(2);
  const int64_t m = 5, n = 19, k = 7;
  std::vector<float> a(m * k, 1.0f), b(k * n, 2.0f);
  std::vector<float> c(m * n, std::numeric_limits<float>::quiet_NaN());
  gemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n, pool);
  for (float v : c) EXPECT_EQ(v, 14.0f);
  gemm(false, false, m, n, 0, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n, pool);
  for (float v : c) EXPECT_EQ(v, 0.0f);
}

TEST(Gemm, IsDeterministicAcrossThreadCounts) {
  Rng rng(11);
  for (int trial = 0; trial < 6; ++trial) {
    Problem p = random_problem(rng, 300);
    std::vector<float> first;
    for (int threads : {1, 2, 3}) {
      runtime::ThreadPool pool(threads);
      std::vector<float> got = p.c;
      gemm(p.ta, p.tb, p.m, p.n, p.k, p.alpha, p.a.data(), p.lda, p.b.data(), p.ldb, p.beta,
           got.data(), p.ldc, pool);
      if (first.empty()) {
        first = got;
      } else {
        ASSERT_EQ(got, first) << "threads=" << threads << " m=" << p.m << " n=" << p.n
                              << " k=" << p.k;
      }
    }
  }
}

TEST(Gemm, ReportsAnIsa) {
  const std::string isa = gemm_isa();
  EXPECT_TRUE(isa == "avx512" || isa == "avx2" || isa == "wasm-simd128" || isa == "generic") << isa;
}

}  // namespace
}  // namespace disco::core
