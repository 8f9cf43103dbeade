// SPDX-License-Identifier: Apache-2.0
// The WASM build's kernels_bench: Google Benchmark is not available for em++, so this self-timed
// variant prints the same figures as kernels_bench.cpp, one line per benchmark (name, iterations,
// time per op, GFLOP/s, fraction of the measured peak), for 1 and 2 threads. Run it with
// `node --no-experimental-fetch build/<dir>/bench/kernels_bench.js [min_seconds]` (default 0.2).
// An optional second argument is a substring filter on the benchmark names.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kernels_common.hpp"
#include "runtime/thread_pool.hpp"

namespace disco::bench {
namespace {

template <typename Body>
void report(const std::string& name, double flops_per_iter, double min_seconds, double peak,
            Body body) {
  body();
  int64_t n = 0;
  double seconds = 0;
  const auto t0 = std::chrono::steady_clock::now();
  do {
    body();
    ++n;
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (seconds < min_seconds);
  const double gflops = flops_per_iter * static_cast<double>(n) / seconds * 1e-9;
  std::printf("%-44s %8lld %12.3f ms %9.2f GFLOPs %6.3f peak_frac\n", name.c_str(),
              static_cast<long long>(n), seconds / static_cast<double>(n) * 1e3, gflops,
              gflops / peak);
}

}  // namespace
}  // namespace disco::bench

int main(int argc, char** argv) {
  using namespace disco::bench;
  const double min_seconds = argc > 1 ? std::strtod(argv[1], nullptr) : 0.2;
  const std::string filter = argc > 2 ? argv[2] : "";
  auto selected = [&](const std::string& name) {
    return filter.empty() || name.find(filter) != std::string::npos;
  };
  std::printf("kernels_bench (wasm): gemm ISA %s\n", disco::core::gemm_isa());
  for (int threads : {1, 2}) {
    disco::runtime::ThreadPool pool(threads);
    const double peak = measure_peak_gflops(pool, min_seconds);
    const std::string suffix = "/threads:" + std::to_string(threads);
    std::printf("%-44s %33.2f GFLOPs\n", ("Peak" + suffix).c_str(), peak);
    for (const GemmShape& s : gemm_shapes()) {
      const std::string name = std::string("Gemm/") + s.name + suffix;
      if (!selected(name)) continue;
      GemmBuffers buf(s);
      report(name, 2.0 * static_cast<double>(s.m * s.n * s.k), min_seconds, peak,
             [&] { buf.run(s, pool); });
    }
    for (const ConvShape& s : conv_shapes())
      for (ConvPass p : {ConvPass::Forward, ConvPass::BackwardInput, ConvPass::BackwardWeight}) {
        const std::string name = std::string("Conv/") + s.name + "/" + pass_name(p) + suffix;
        if (!selected(name)) continue;
        ConvBuffers buf(s.g);
        report(name, conv_flops(s.g), min_seconds, peak, [&] { buf.run(s.g, p, pool); });
      }
  }
  return 0;
}
