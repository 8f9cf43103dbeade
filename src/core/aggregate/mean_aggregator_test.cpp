// SPDX-License-Identifier: Apache-2.0
#include "core/aggregate/mean_aggregator.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/base/rng.hpp"

namespace disco::core {
namespace {

// Claims four threads and runs the chunks serially in reverse, so a result that depended on the
// split or on chunk order would show.
class ReverseParallel final : public Parallel {
 public:
  int n_threads() const override { return 4; }
  void run(std::size_t n_tasks, const std::function<void(std::size_t)>& fn) override {
    for (std::size_t i = n_tasks; i-- > 0;) fn(i);
  }
};

constexpr MeanAggregatorOptions kFixed{.summation = Summation::FixedPoint, .fraction_bits = 32};

std::vector<float> finish(const MeanAggregator& agg) {
  std::optional<std::vector<float>> mean = agg.finish();
  DISCO_CHECK(mean.has_value(), "finish() on an empty aggregator");
  return std::move(*mean);
}

std::vector<float> random_update(Rng& rng, std::size_t n) {
  std::vector<float> v(n);
  for (float& x : v) x = rng.normal() * 0.01f;
  return v;
}

TEST(MeanAggregator, WeightsContributionsBySampleCount) {
  for (MeanAggregatorOptions options : {MeanAggregatorOptions{}, kFixed}) {
    MeanAggregator agg(3, options);
    ASSERT_TRUE(agg.add_contribution(std::vector<float>{1, 2, 3}, 10).has_value());
    ASSERT_TRUE(agg.add_contribution(std::vector<float>{4, 5, 6}, 20).has_value());
    ASSERT_TRUE(agg.add_contribution(std::vector<float>{-1, 0, 2}, 70).has_value());
    // (10*1 + 20*4 - 70*1) / 100, (20 + 100) / 100, (30 + 120 + 140) / 100
    std::vector<float> mean = finish(agg);
    EXPECT_FLOAT_EQ(mean[0], 0.2f);
    EXPECT_FLOAT_EQ(mean[1], 1.2f);
    EXPECT_FLOAT_EQ(mean[2], 2.9f);
    EXPECT_EQ(agg.n_contributions(), 3);
    EXPECT_DOUBLE_EQ(agg.total_weight(), 100.0);
  }
}

TEST(MeanAggregator, FinishWithoutContributionsIsEmpty) {
  MeanAggregator agg(4);
  EXPECT_FALSE(agg.finish().has_value());
}

TEST(MeanAggregator, StreamingEqualsBatchOnRandomData) {
  constexpr std::size_t kN = 257;
  Rng rng(7);
  std::vector<std::vector<float>> updates;
  std::vector<double> weights;
  for (int k = 0; k < 40; ++k) {
    updates.push_back(random_update(rng, kN));
    weights.push_back(1.0 + rng.uniform_int(1000));
  }
  std::vector<double> batch(kN);
  double total = 0.0;
  for (double w : weights) total += w;
  for (std::size_t i = 0; i < kN; ++i) {
    long double s = 0.0L;
    for (std::size_t k = 0; k < updates.size(); ++k) s += weights[k] * updates[k][i];
    batch[i] = static_cast<double>(s / total);
  }
  ReverseParallel parallel;
  for (MeanAggregatorOptions options : {MeanAggregatorOptions{}, kFixed}) {
    MeanAggregator agg(kN, options);
    for (std::size_t k = 0; k < updates.size(); ++k)
      ASSERT_TRUE(agg.add_contribution(updates[k], weights[k], parallel).has_value());
    std::optional<std::vector<float>> mean = agg.finish(parallel);
    ASSERT_TRUE(mean.has_value());
    for (std::size_t i = 0; i < kN; ++i) EXPECT_NEAR((*mean)[i], batch[i], 1e-7) << i;
  }
}

TEST(MeanAggregator, FixedPointIsIndependentOfArrivalOrder) {
  constexpr std::size_t kN = 100;
  Rng rng(11);
  std::vector<std::vector<float>> updates;
  std::vector<double> weights;
  for (int k = 0; k < 30; ++k) {
    updates.push_back(random_update(rng, kN));
    // Non-integer weights, as staleness weighting produces.
    weights.push_back((1.0 + rng.uniform_int(500)) * std::pow(1.0 + rng.uniform_int(5), -0.5));
  }
  MeanAggregator forward(kN, kFixed), backward(kN, kFixed), shuffled(kN, kFixed);
  for (std::size_t k = 0; k < updates.size(); ++k) {
    ASSERT_TRUE(forward.add_contribution(updates[k], weights[k]).has_value());
    std::size_t j = updates.size() - 1 - k;
    ASSERT_TRUE(backward.add_contribution(updates[j], weights[j]).has_value());
    std::size_t p = (k * 7) % updates.size();  // 7 is coprime with 30: a permutation
    ASSERT_TRUE(shuffled.add_contribution(updates[p], weights[p]).has_value());
  }
  std::vector<float> a = finish(forward), b = finish(backward), c = finish(shuffled);
  for (std::size_t i = 0; i < kN; ++i) {
    EXPECT_EQ(a[i], b[i]) << i;
    EXPECT_EQ(a[i], c[i]) << i;
  }
  EXPECT_EQ(forward.total_weight(), backward.total_weight());
}

// Terms round to the grid half to even, like nearbyint: with 8 fraction bits, x = k / 512 gives
// the term k / 2 exactly, so odd k are ties.
TEST(MeanAggregator, FixedPointRoundsTiesToEven) {
  MeanAggregatorOptions options;
  options.summation = Summation::FixedPoint;
  options.fraction_bits = 8;
  MeanAggregator agg(8, options);
  const std::vector<float> x = {1.0f / 512,  3.0f / 512,  5.0f / 512, -1.0f / 512,
                                -3.0f / 512, -5.0f / 512, 7.0f / 512, 0.0f};
  ASSERT_TRUE(agg.add_contribution(x, 1.0).has_value());
  const std::vector<float> mean = finish(agg);
  const std::vector<float> expected = {0.0f,        2.0f / 256,  2.0f / 256, 0.0f,
                                       -2.0f / 256, -2.0f / 256, 4.0f / 256, 0.0f};
  EXPECT_EQ(mean, expected);
}

// Checks that a rejected contribution changed nothing: same count, weight and mean.
void expect_unchanged(const MeanAggregator& agg, const std::vector<float>& mean_before) {
  EXPECT_EQ(agg.n_contributions(), 1);
  EXPECT_DOUBLE_EQ(agg.total_weight(), 2.0);
  EXPECT_EQ(finish(agg), mean_before);
}

TEST(MeanAggregator, RejectsWrongLengthAndStaysUnchanged) {
  for (MeanAggregatorOptions options : {MeanAggregatorOptions{}, kFixed}) {
    MeanAggregator agg(3, options);
    ASSERT_TRUE(agg.add_contribution(std::vector<float>{1, 2, 3}, 2).has_value());
    const std::vector<float> before = finish(agg);
    Result<void> r = agg.add_contribution(std::vector<float>{1, 2}, 1);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_EQ(r.error().message, "update has 2 weights, expected 3");
    expect_unchanged(agg, before);
  }
}

TEST(MeanAggregator, RejectsNonFiniteNamingFirstBadIndexAndStaysUnchanged) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (MeanAggregatorOptions options : {MeanAggregatorOptions{}, kFixed}) {
    MeanAggregator agg(5, options);
    ASSERT_TRUE(agg.add_contribution(std::vector<float>{1, 2, 3, 4, 5}, 2).has_value());
    const std::vector<float> before = finish(agg);

    Result<void> r = agg.add_contribution(std::vector<float>{9, 9, 9, nan, inf}, 1);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_NE(r.error().message.find("update[3] is not finite"), std::string::npos)
        << r.error().message;
    expect_unchanged(agg, before);

    r = agg.add_contribution(std::vector<float>{-inf, 0, 0, 0, 0}, 1);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("update[0] is not finite (-inf)"), std::string::npos)
        << r.error().message;
    expect_unchanged(agg, before);
  }
}

TEST(MeanAggregator, RejectsNonPositiveOrNonFiniteWeightAndStaysUnchanged) {
  for (MeanAggregatorOptions options : {MeanAggregatorOptions{}, kFixed}) {
    MeanAggregator agg(2, options);
    ASSERT_TRUE(agg.add_contribution(std::vector<float>{1, 2}, 2).has_value());
    const std::vector<float> before = finish(agg);
    for (double w : {0.0, -3.0, std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity()}) {
      Result<void> r = agg.add_contribution(std::vector<float>{5, 5}, w);
      ASSERT_FALSE(r.has_value()) << w;
      EXPECT_EQ(r.error().code, Errc::InvalidArgument);
      EXPECT_NE(r.error().message.find("weight must be finite and > 0"), std::string::npos);
      EXPECT_EQ(agg.n_contributions(), 1);
      EXPECT_EQ(finish(agg), before);
    }
  }
  EXPECT_EQ(MeanAggregator(1).add_contribution(std::vector<float>{1}, 0).error().message,
            "weight must be finite and > 0, got 0");
}

TEST(MeanAggregator, FixedPointRejectsOverflowAndStaysUnchanged) {
  // 52 fraction bits leave a range of 2^10 = 1024 for weighted sums.
  MeanAggregator agg(2, {.summation = Summation::FixedPoint, .fraction_bits = 52});
  ASSERT_TRUE(agg.add_contribution(std::vector<float>{1000, 1}, 1).has_value());
  Result<void> r = agg.add_contribution(std::vector<float>{1, 100}, 1);
  ASSERT_TRUE(r.has_value());
  r = agg.add_contribution(std::vector<float>{0, 1000}, 1);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("update[1]"), std::string::npos) << r.error().message;
  EXPECT_EQ(agg.n_contributions(), 2);
  EXPECT_EQ(finish(agg), (std::vector<float>{500.5f, 50.5f}));
  // A weight below the grid's resolution rounds to zero.
  MeanAggregator coarse(1, {.summation = Summation::FixedPoint, .fraction_bits = 8});
  EXPECT_FALSE(coarse.add_contribution(std::vector<float>{1}, 1e-3).has_value());
  EXPECT_EQ(coarse.n_contributions(), 0);
}

TEST(MeanAggregator, KeepsBufferSizeConstantOverThousandContributions) {
  constexpr std::size_t kN = 10000;
  MeanAggregator agg(kN);
  const std::size_t bytes = agg.buffer_bytes();
  EXPECT_EQ(bytes, kN * sizeof(double));
  std::vector<float> update(kN);
  double expected = 0.0;
  for (int k = 0; k < 1000; ++k) {
    const auto value = static_cast<float>(k % 7);
    std::fill(update.begin(), update.end(), value);
    expected += value;
    ASSERT_TRUE(agg.add_contribution(update, 1.0).has_value());
    ASSERT_EQ(agg.buffer_bytes(), bytes);
  }
  std::vector<float> mean = finish(agg);
  EXPECT_EQ(agg.n_contributions(), 1000);
  EXPECT_FLOAT_EQ(mean[0], static_cast<float>(expected / 1000.0));
  EXPECT_FLOAT_EQ(mean[kN - 1], static_cast<float>(expected / 1000.0));
}

TEST(MeanAggregator, ResetForgetsContributions) {
  MeanAggregator agg(2, kFixed);
  ASSERT_TRUE(agg.add_contribution(std::vector<float>{1, 1}, 3).has_value());
  agg.reset();
  EXPECT_EQ(agg.n_contributions(), 0);
  EXPECT_FALSE(agg.finish().has_value());
  ASSERT_TRUE(agg.add_contribution(std::vector<float>{2, 4}, 1).has_value());
  EXPECT_EQ(finish(agg), (std::vector<float>{2, 4}));
}

}  // namespace
}  // namespace disco::core
