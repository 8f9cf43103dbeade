// SPDX-License-Identifier: Apache-2.0
// MeanAggregator: the FedAvg weighted mean of model updates, computed as a stream. Contributions
// (an update = local weights after training - the global weights it started from, plus a weight,
// usually the client's sample count) are added one at a time into one running sum per parameter,
// so memory is n_weights * 8 bytes however many contributions arrive (Flower's aggregate.py
// holds every update; a server aggregating thousands of clients cannot). finish() returns
// sum_i(w_i * delta_i) / sum_i(w_i) as float32, ready for a ServerOptimizer
// (server_optimizer.hpp).
//
// Two summation modes (docs/aggregation.md has the reasoning):
//   Float64     running sums in double. Deterministic for a given arrival order; a different
//               order may change the last bits of the float result.
//   FixedPoint  each weight and each weighted term is rounded to the grid 2^-fraction_bits and
//               summed exactly in int64, so the result is bit-identical for ANY arrival order
//               (and natively vs WASM). The price: a bounded range (|sum_i w_i * x_i| and
//               sum_i w_i below 2^(62 - fraction_bits); a contribution that would leave it is
//               rejected) and an absolute rounding error of 2^-(fraction_bits+1) per term.
//
// Every contribution is validated before any state changes; a rejected one leaves the aggregator
// exactly as it was. Pure computation: no I/O, no clock, no threads of its own. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/base/parallel.hpp"
#include "core/base/result.hpp"

namespace disco::core {

enum class Summation {
  Float64,     // double running sums; deterministic per arrival order
  FixedPoint,  // exact int64 sums on a 2^-fraction_bits grid; independent of arrival order
};

struct MeanAggregatorOptions {
  Summation summation = Summation::Float64;
  // FixedPoint only: resolution 2^-fraction_bits, range 2^(62 - fraction_bits). In [8, 52].
  int fraction_bits = 32;
};

class MeanAggregator {
 public:
  // An aggregator for updates of `n_weights` floats (n_weights may be 0). Allocates the running
  // sums once. Aborts (DISCO_CHECK) when options.fraction_bits is outside [8, 52]: a bug.
  explicit MeanAggregator(std::size_t n_weights, MeanAggregatorOptions options = {});

  MeanAggregator(MeanAggregator&&) noexcept = default;
  MeanAggregator& operator=(MeanAggregator&&) noexcept = default;
  MeanAggregator(const MeanAggregator&) = delete;
  MeanAggregator& operator=(const MeanAggregator&) = delete;

  // Adds `weight * delta` to the running sum. `delta` is only read during the call. `parallel`
  // splits the accumulation over its threads (the result does not depend on the split).
  // Errors, all InvalidArgument, with the aggregator unchanged:
  //   - delta.size() != n_weights()            "update has 7 weights, expected 8"
  //   - a NaN or +-Inf entry, naming the first  "update[3] is not finite (nan)"
  //   - weight not finite or not > 0           "weight must be finite and > 0, got 0"
  //   - FixedPoint: the weight rounds to 0, or a term or running sum would leave the range
  Result<void> add_contribution(std::span<const float> delta, double weight,
                                Parallel& parallel = serial_parallel());

  // The weighted mean of the contributions so far, or nullopt when there are none (nothing to
  // aggregate is not an error). Does not change the aggregator: more contributions may follow.
  std::optional<std::vector<float>> finish(Parallel& parallel = serial_parallel()) const;

  // Forgets every contribution; keeps the allocation.
  void reset();

  std::size_t n_weights() const { return n_weights_; }
  int64_t n_contributions() const { return n_contributions_; }
  // Sum of accepted weights (FixedPoint: of the weights as rounded to the grid).
  double total_weight() const;
  const MeanAggregatorOptions& options() const { return options_; }
  // Bytes held by the running sums: n_weights * 8, independent of n_contributions().
  std::size_t buffer_bytes() const;

 private:
  Result<void> validate(std::span<const float> delta, double weight) const;

  std::size_t n_weights_ = 0;
  MeanAggregatorOptions options_;
  // Exactly one of these is sized n_weights_, by options_.summation:
  std::vector<double> sum_;         // Float64: sum_i w_i * delta_i
  std::vector<int64_t> fixed_;      // FixedPoint: sum_i round(w_i * delta_i * 2^fraction_bits)
  double total_weight_ = 0.0;       // Float64: sum_i w_i
  int64_t total_weight_fixed_ = 0;  // FixedPoint: sum_i round(w_i * 2^fraction_bits)
  int64_t n_contributions_ = 0;
};

}  // namespace disco::core
