// SPDX-License-Identifier: Apache-2.0
// Shapes and helpers shared by kernels_bench.cpp (Google Benchmark, native) and
// kernels_bench_wasm.cpp (self-timed, WASM): the products and convolutions of DISCO's MNIST CNN at
// batch 64, a few square and MobileNet-like shapes, and the machine-peak loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/base/parallel.hpp"
#include "core/base/rng.hpp"
#include "core/kernels/conv.hpp"
#include "core/kernels/gemm.hpp"
#include "core/kernels/tile_kernel.hpp"

namespace disco::bench {

struct GemmShape {
  const char* name;
  bool ta, tb;
  int64_t m, n, k;
};

// The MNIST CNN's products (forward NN, input-gradient NT, weight-gradient TN) as im2col GEMMs,
// its dense layers, then generic square sizes.
inline const std::vector<GemmShape>& gemm_shapes() {
  static const std::vector<GemmShape> kShapes = {
      {"conv2_fwd_NN", false, false, 25600, 16, 200}, {"conv2_dx_NT", false, true, 25600, 200, 16},
      {"conv2_dw_TN", true, false, 200, 16, 25600},   {"conv1_fwd_NN", false, false, 36864, 8, 25},
      {"conv1_dw_TN", true, false, 25, 8, 36864},     {"dense1_fwd_NN", false, false, 64, 32, 1600},
      {"dense1_dx_NT", false, true, 64, 1600, 32},    {"dense1_dw_TN", true, false, 1600, 32, 64},
      {"sq256_NN", false, false, 256, 256, 256},      {"sq512_NN", false, false, 512, 512, 512},
      {"sq1024_NN", false, false, 1024, 1024, 1024},
  };
  return kShapes;
}

struct ConvShape {
  const char* name;
  core::ConvGeom g;
};

inline core::ConvGeom make_geom(int64_t n, int64_t hw, int64_t c_in, int64_t k, int64_t c_out,
                                int64_t stride, const char* padding) {
  core::ConvGeom g;
  g.n = n;
  g.h = g.w = hw;
  g.c_in = c_in;
  g.kh = g.kw = k;
  g.c_out = c_out;
  g.stride_h = g.stride_w = stride;
  g.set_padding(padding);
  return g;
}

inline const std::vector<ConvShape>& conv_shapes() {
  static const std::vector<ConvShape> kShapes = {
      {"mnist_conv1", make_geom(64, 28, 1, 5, 8, 1, "valid")},
      {"mnist_conv2", make_geom(64, 24, 8, 5, 16, 1, "valid")},
      {"mobilenet_3x3_s1", make_geom(4, 56, 64, 3, 64, 1, "same")},
      {"mobilenet_3x3_s2", make_geom(4, 112, 32, 3, 64, 2, "same")},
      {"mobilenet_1x1", make_geom(4, 28, 128, 1, 256, 1, "valid")},
  };
  return kShapes;
}

enum class ConvPass { Forward, BackwardInput, BackwardWeight };

inline const char* pass_name(ConvPass p) {
  return p == ConvPass::Forward ? "fwd" : (p == ConvPass::BackwardInput ? "dx" : "dw");
}

inline double conv_flops(const core::ConvGeom& g) {
  return 2.0 * static_cast<double>(g.out_numel()) * static_cast<double>(g.kh * g.kw * g.c_in);
}

// Buffers for one convolution, filled with deterministic random values.
struct ConvBuffers {
  std::vector<float> x, w, y, dx, dw;
  explicit ConvBuffers(const core::ConvGeom& g) {
    Rng rng(1);
    auto fill = [&](std::vector<float>& v, int64_t n) {
      v.resize(static_cast<std::size_t>(n));
      for (auto& e : v) e = rng.uniform(-1.0f, 1.0f);
    };
    fill(x, g.in_numel());
    fill(w, g.kh * g.kw * g.c_in * g.c_out);
    fill(y, g.out_numel());
    fill(dx, g.in_numel());
    fill(dw, g.kh * g.kw * g.c_in * g.c_out);
  }
  void run(const core::ConvGeom& g, ConvPass pass, Parallel& parallel) {
    if (pass == ConvPass::Forward) core::conv2d_forward(g, x.data(), w.data(), y.data(), parallel);
    if (pass == ConvPass::BackwardInput)
      core::conv2d_backward_input(g, y.data(), w.data(), dx.data(), parallel);
    if (pass == ConvPass::BackwardWeight)
      core::conv2d_backward_weight(g, x.data(), y.data(), dw.data(), parallel);
  }
};

struct GemmBuffers {
  std::vector<float> a, b, c;
  explicit GemmBuffers(const GemmShape& s) {
    Rng rng(2);
    a.resize(static_cast<std::size_t>(s.m * s.k));
    b.resize(static_cast<std::size_t>(s.k * s.n));
    c.assign(static_cast<std::size_t>(s.m * s.n), 0.0f);
    for (auto& e : a) e = rng.uniform(-1.0f, 1.0f);
    for (auto& e : b) e = rng.uniform(-1.0f, 1.0f);
  }
  void run(const GemmShape& s, Parallel& parallel) {
    core::gemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), s.ta ? s.m : s.k, b.data(),
               s.tb ? s.k : s.n, 0.0f, c.data(), s.n, parallel);
  }
};

// Machine peak in GFLOP/s of the dispatched ISA's multiply-add loop on every thread of
// `parallel`, measured over about `seconds`.
inline double measure_peak_gflops(Parallel& parallel, double seconds) {
  const core::TileKernels& ks = core::tile_kernels_wide();
  const int64_t iters = 1 << 20;
  const int n = parallel.n_threads();
  std::vector<float> sink(static_cast<std::size_t>(n));
  auto once = [&] {
    parallel.run(static_cast<std::size_t>(n),
                 [&](std::size_t t) { sink[t] = ks.peak_loop(iters, static_cast<float>(t + 1)); });
  };
  once();
  int64_t runs = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    once();
    ++runs;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (elapsed < seconds);
  const double flops = static_cast<double>(ks.peak_flops_per_iter()) * static_cast<double>(iters) *
                       static_cast<double>(n) * static_cast<double>(runs);
  return flops / elapsed * 1e-9;
}

}  // namespace disco::bench
