// SPDX-License-Identifier: Apache-2.0
// Kernel micro-benchmarks (Google Benchmark): GFLOP/s of gemm() on the MNIST CNN's im2col shapes,
// dense layers and square sizes, of conv2d forward / input-gradient / weight-gradient on the MNIST
// and MobileNet-like shapes, and the machine peak (the dispatched ISA's multiply-add loop), each on
// 1 and 2 threads. Every timed benchmark reports counters GFLOPs and peak_frac (fraction of the
// measured peak for the same thread count). Select benchmarks with the usual
// --benchmark_filter=<regex> (e.g. 'Conv/mnist'); --benchmark_min_time=0.01 gives a smoke run.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "kernels_common.hpp"
#include "runtime/thread_pool.hpp"

namespace disco::bench {
namespace {

runtime::ThreadPool& pool(int threads) {
  static std::map<int, std::unique_ptr<runtime::ThreadPool>> pools;
  auto& p = pools[threads];
  if (!p) p = std::make_unique<runtime::ThreadPool>(threads);
  return *p;
}

double peak(int threads) {
  static std::map<int, double> peaks;
  auto it = peaks.find(threads);
  if (it == peaks.end())
    it = peaks.emplace(threads, measure_peak_gflops(pool(threads), 0.05)).first;
  return it->second;
}

// Times `body` with a steady clock and reports GFLOP/s and the fraction of peak.
template <typename Body>
void timed(benchmark::State& state, int threads, double flops_per_iter, Body body) {
  const double pk = peak(threads);
  double seconds = 0;
  int64_t n = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++n;
  }
  const double gflops = flops_per_iter * static_cast<double>(n) / seconds * 1e-9;
  state.counters["GFLOPs"] = gflops;
  state.counters["peak_frac"] = gflops / pk;
}

void bm_peak(benchmark::State& state, int threads) {
  const core::TileKernels& ks = core::tile_kernels_wide();
  const int64_t iters = 1 << 16;
  std::vector<float> sink(static_cast<std::size_t>(threads));
  const double flops = static_cast<double>(ks.peak_flops_per_iter() * iters * threads);
  double seconds = 0;
  int64_t n = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    pool(threads).run(static_cast<std::size_t>(threads), [&](std::size_t t) {
      sink[t] = ks.peak_loop(iters, static_cast<float>(t + 1));
    });
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++n;
    benchmark::DoNotOptimize(sink.data());
  }
  state.counters["GFLOPs"] = flops * static_cast<double>(n) / seconds * 1e-9;
  state.SetLabel(ks.name);
}

void bm_gemm(benchmark::State& state, std::size_t shape, int threads) {
  const GemmShape& s = gemm_shapes()[shape];
  GemmBuffers buf(s);
  timed(state, threads, 2.0 * static_cast<double>(s.m * s.n * s.k), [&] {
    buf.run(s, pool(threads));
    benchmark::DoNotOptimize(buf.c.data());
  });
  state.SetLabel(std::string(s.name) + " " + core::gemm_isa());
}

void bm_conv(benchmark::State& state, std::size_t shape, ConvPass pass, int threads) {
  const ConvShape& s = conv_shapes()[shape];
  ConvBuffers buf(s.g);
  timed(state, threads, conv_flops(s.g), [&] {
    buf.run(s.g, pass, pool(threads));
    benchmark::ClobberMemory();
  });
  state.SetLabel(std::string(s.name) + " " + pass_name(pass));
}

void register_all() {
  for (int t : {1, 2})
    benchmark::RegisterBenchmark(("Peak/threads:" + std::to_string(t)).c_str(), bm_peak, t)
        ->UseRealTime();
  for (std::size_t i = 0; i < gemm_shapes().size(); ++i)
    for (int t : {1, 2})
      benchmark::RegisterBenchmark(
          (std::string("Gemm/") + gemm_shapes()[i].name + "/threads:" + std::to_string(t)).c_str(),
          bm_gemm, i, t)
          ->UseRealTime();
  for (std::size_t i = 0; i < conv_shapes().size(); ++i)
    for (ConvPass p : {ConvPass::Forward, ConvPass::BackwardInput, ConvPass::BackwardWeight})
      for (int t : {1, 2})
        benchmark::RegisterBenchmark((std::string("Conv/") + conv_shapes()[i].name + "/" +
                                      pass_name(p) + "/threads:" + std::to_string(t))
                                         .c_str(),
                                     bm_conv, i, p, t)
            ->UseRealTime();
}

}  // namespace
}  // namespace disco::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::printf("kernels_bench: gemm ISA %s, peak %.1f GFLOP/s (1 thread), %.1f (2 threads)\n",
              disco::core::gemm_isa(), disco::bench::peak(1), disco::bench::peak(2));
  disco::bench::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
