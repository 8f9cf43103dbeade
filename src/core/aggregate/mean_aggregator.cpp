// SPDX-License-Identifier: Apache-2.0
#include "core/aggregate/mean_aggregator.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace disco::core {
namespace {

// Both the running sums and every term stay within +-2^62, so one addition never overflows int64.
constexpr double kFixedLimit = 4611686018427387904.0;  // 2^62

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// The weight as rounded to the grid 2^-bits, exactly representable in double (for weights of at
// least 2^(53-bits) every double is already on the grid, so nearbyint is then the identity).
double grid_weight(double weight, int bits) {
  return std::ldexp(std::nearbyint(std::ldexp(weight, bits)), -bits);
}

// nearbyint(t) in the default rounding mode (to nearest, ties to even) without a libm call, so
// the loops below vectorise: below 2^52, adding and subtracting 2^52 (with t's sign) leaves t
// rounded to an integer by the addition itself; from 2^52 up every double is an integer. NaN
// and infinities pass through (validate() refuses them first).
inline double round_to_integer(double t) {
  constexpr double k2p52 = 4503599627370496.0;
  const double s = std::copysign(k2p52, t);
  const double r = (t + s) - s;
  return std::fabs(t) < k2p52 ? r : t;
}

// round(w * x * 2^bits) as a double holding an integer; the product rounds once in double, the
// same way on every platform, so the term never depends on arrival order. `scale` is 2^bits
// (multiplying by it is exact, as ldexp is).
inline double fixed_term(double grid_w, float x, double scale) {
  return round_to_integer(grid_w * static_cast<double>(x) * scale);
}

}  // namespace

MeanAggregator::MeanAggregator(std::size_t n_weights, MeanAggregatorOptions options)
    : n_weights_(n_weights), options_(options) {
  DISCO_CHECK(options_.fraction_bits >= 8 && options_.fraction_bits <= 52,
              "MeanAggregatorOptions::fraction_bits must be in [8, 52]");
  if (options_.summation == Summation::Float64) {
    sum_.assign(n_weights_, 0.0);
  } else {
    fixed_.assign(n_weights_, 0);
  }
}

Result<void> MeanAggregator::validate(std::span<const float> delta, double weight) const {
  if (delta.size() != n_weights_)
    return make_error(Errc::InvalidArgument, "update has " + std::to_string(delta.size()) +
                                                 " weights, expected " +
                                                 std::to_string(n_weights_));
  if (!std::isfinite(weight) || !(weight > 0.0))
    return make_error(Errc::InvalidArgument,
                      "weight must be finite and > 0, got " + number_text(weight));
  for (std::size_t i = 0; i < delta.size(); ++i) {
    if (!std::isfinite(delta[i]))
      return make_error(Errc::InvalidArgument, "update[" + std::to_string(i) + "] is not finite (" +
                                                   number_text(delta[i]) + ")");
  }
  if (options_.summation == Summation::Float64) return {};

  const int bits = options_.fraction_bits;
  const double w = grid_weight(weight, bits);
  const double w_fixed = std::ldexp(w, bits);
  if (w_fixed < 1.0)
    return make_error(Errc::InvalidArgument, "weight " + number_text(weight) +
                                                 " rounds to 0 on the fixed-point grid 2^-" +
                                                 std::to_string(bits));
  if (static_cast<double>(total_weight_fixed_) + w_fixed >= kFixedLimit)
    return make_error(Errc::InvalidArgument, "total weight would exceed the fixed-point range");
  const double scale = std::ldexp(1.0, bits);
  for (std::size_t i = 0; i < delta.size(); ++i) {
    const double term = fixed_term(w, delta[i], scale);
    // Exact: both sides are integers below 2^63 in magnitude, compared in double only as a bound.
    if (!(std::fabs(term) < kFixedLimit) ||
        !(std::fabs(static_cast<double>(fixed_[i]) + term) < kFixedLimit))
      return make_error(Errc::InvalidArgument, "update[" + std::to_string(i) +
                                                   "] * weight leaves the fixed-point range (" +
                                                   number_text(delta[i]) + ")");
  }
  return {};
}

Result<void> MeanAggregator::add_contribution(std::span<const float> delta, double weight,
                                              Parallel& parallel) {
  DISCO_TRY(validate(delta, weight));
  const auto n = static_cast<int64_t>(n_weights_);
  if (options_.summation == Summation::Float64) {
    double* sum = sum_.data();
    for_chunks(parallel, n, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) sum[i] += weight * static_cast<double>(delta[i]);
    });
    total_weight_ += weight;
  } else {
    const int bits = options_.fraction_bits;
    const double w = grid_weight(weight, bits);
    const double scale = std::ldexp(1.0, bits);
    int64_t* fixed = fixed_.data();
    for_chunks(parallel, n, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        fixed[i] += static_cast<int64_t>(fixed_term(w, delta[i], scale));
    });
    total_weight_fixed_ += static_cast<int64_t>(std::ldexp(w, bits));
  }
  ++n_contributions_;
  return {};
}

std::optional<std::vector<float>> MeanAggregator::finish(Parallel& parallel) const {
  if (n_contributions_ == 0) return std::nullopt;
  std::vector<float> mean(n_weights_);
  float* out = mean.data();
  const auto n = static_cast<int64_t>(n_weights_);
  if (options_.summation == Summation::Float64) {
    const double* sum = sum_.data();
    const double total = total_weight_;
    for_chunks(parallel, n, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = static_cast<float>(sum[i] / total);
    });
  } else {
    const int64_t* fixed = fixed_.data();
    const auto total = static_cast<double>(total_weight_fixed_);
    for_chunks(parallel, n, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        out[i] = static_cast<float>(static_cast<double>(fixed[i]) / total);
    });
  }
  return mean;
}

void MeanAggregator::reset() {
  std::fill(sum_.begin(), sum_.end(), 0.0);
  std::fill(fixed_.begin(), fixed_.end(), 0);
  total_weight_ = 0.0;
  total_weight_fixed_ = 0;
  n_contributions_ = 0;
}

double MeanAggregator::total_weight() const {
  if (options_.summation == Summation::Float64) return total_weight_;
  return std::ldexp(static_cast<double>(total_weight_fixed_), -options_.fraction_bits);
}

std::size_t MeanAggregator::buffer_bytes() const {
  return sum_.capacity() * sizeof(double) + fixed_.capacity() * sizeof(int64_t);
}

}  // namespace disco::core
