// SPDX-License-Identifier: Apache-2.0
// Server-side update processing in isolation (no network): decoding a Contribution message and
// adding its update to the streaming FedAvg accumulator, in bytes of update per second. Compare
// with bench/server_scale.sh, which measures the same work end to end over WebSockets.
//   build/native-release/bench/aggregate_bench
#include <benchmark/benchmark.h>

#include <vector>

#include "core/aggregate/mean_aggregator.hpp"
#include "core/base/rng.hpp"
#include "proto/codec.hpp"

namespace {

using namespace disco;

std::vector<float> random_update(std::size_t n) {
  Rng rng(1);
  std::vector<float> v(n);
  for (auto& x : v) x = 0.01f * (rng.uniform() - 0.5f);
  return v;
}

void BM_Accumulate(benchmark::State& state, core::Summation summation) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::vector<float> update = random_update(n);
  core::MeanAggregatorOptions options;
  options.summation = summation;
  core::MeanAggregator aggregator(n, options);
  for (auto _ : state) {
    auto r = aggregator.add_contribution(update, 100.0);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n * sizeof(float)));
}

void BM_DecodeContribution(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  proto::Contribution c;
  c.round = 3;
  c.n_samples = 100;
  c.update = proto::Weights("0123456789abcdef", random_update(n));
  const std::vector<std::byte> bytes = proto::encode(proto::Message(std::move(c)));
  for (auto _ : state) {
    auto m = proto::decode(bytes);
    benchmark::DoNotOptimize(m);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n * sizeof(float)));
}

BENCHMARK_CAPTURE(BM_Accumulate, Float64, core::Summation::Float64)->Arg(9610)->Arg(1 << 20);
BENCHMARK_CAPTURE(BM_Accumulate, FixedPoint, core::Summation::FixedPoint)->Arg(9610)->Arg(1 << 20);
BENCHMARK(BM_DecodeContribution)->Arg(9610)->Arg(1 << 20);

}  // namespace

BENCHMARK_MAIN();
