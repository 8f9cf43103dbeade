// SPDX-License-Identifier: Apache-2.0
// Tests of Dataset operations: golden seeded permutations (the same natively and in WASM),
// validation split sizes and stratification, subsets and batching with a short last batch.
#include "core/data/dataset.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace disco::core {
namespace {

// n samples of shape (2,): x row i = (i, 10 i); labels i % n_classes.
Dataset make_toy(int64_t n, int64_t n_classes) {
  Dataset d;
  d.x = Tensor::empty({n, 2});
  d.y = Tensor::empty({n});
  for (int64_t i = 0; i < n; ++i) {
    d.x[2 * i] = static_cast<float>(i);
    d.x[2 * i + 1] = static_cast<float>(10 * i);
    d.y[i] = static_cast<float>(i % n_classes);
  }
  d.n_classes = n_classes;
  for (int64_t c = 0; c < n_classes; ++c)
    d.label_names.push_back(std::string(1, 'c') += std::to_string(c));
  return d;
}

TEST(Permutation, IsGoldenForSeed) {
  Rng rng(42);
  const std::vector<int64_t> p = permutation(10, rng);
  const std::vector<int64_t> golden = {7, 0, 2, 8, 9, 3, 4, 5, 6, 1};
  EXPECT_EQ(p, golden);
}

TEST(Permutation, ContainsEveryIndexOnce) {
  Rng rng(7);
  std::vector<int64_t> p = permutation(1000, rng);
  std::sort(p.begin(), p.end());
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(p[static_cast<std::size_t>(i)], i);
  EXPECT_TRUE(permutation(0, rng).empty());
}

TEST(Dataset, ShuffledKeepsRowsAndLabelsTogether) {
  const Dataset d = make_toy(50, 3);
  Rng rng(1);
  const Dataset s = shuffled(d, rng);
  ASSERT_EQ(s.size(), 50);
  EXPECT_EQ(s.n_classes, 3);
  EXPECT_EQ(s.label_names, d.label_names);
  bool moved = false;
  for (int64_t i = 0; i < 50; ++i) {
    const auto orig = static_cast<int64_t>(s.x[2 * i]);
    EXPECT_EQ(s.x[2 * i + 1], 10.0f * static_cast<float>(orig));
    EXPECT_EQ(s.y[i], static_cast<float>(orig % 3));
    moved |= orig != i;
  }
  EXPECT_TRUE(moved);
}

TEST(Dataset, SubsetCopiesRowsInOrder) {
  const Dataset d = make_toy(5, 2);
  const std::vector<int64_t> idx = {4, 0, 4};
  const Dataset s = subset(d, idx);
  ASSERT_EQ(s.x.shape(), Shape({3, 2}));
  EXPECT_EQ(s.x[0], 4.0f);
  EXPECT_EQ(s.x[2], 0.0f);
  EXPECT_EQ(s.x[5], 40.0f);
  EXPECT_EQ(s.y[0], 0.0f);
  EXPECT_NE(s.x.data(), d.x.data());
}

TEST(SplitValidation, GivesRoundedSizesAndCoversAllRows) {
  const Dataset d = make_toy(101, 2);
  Rng rng(3);
  auto split = split_validation(d, 0.2, rng);
  ASSERT_TRUE(split.has_value()) << split.error().to_string();
  EXPECT_EQ(split->validation.size(), 20);
  EXPECT_EQ(split->train.size(), 81);
  std::vector<float> seen;
  for (const Dataset* part : {&split->train, &split->validation})
    for (int64_t i = 0; i < part->size(); ++i) seen.push_back(part->x[2 * i]);
  std::sort(seen.begin(), seen.end());
  for (int64_t i = 0; i < 101; ++i)
    ASSERT_EQ(seen[static_cast<std::size_t>(i)], static_cast<float>(i));
}

TEST(SplitValidation, IsDeterministicForASeed) {
  const Dataset d = make_toy(40, 4);
  Rng a(9);
  Rng b(9);
  auto s1 = split_validation(d, 0.25, a);
  auto s2 = split_validation(d, 0.25, b);
  ASSERT_TRUE(s1.has_value() && s2.has_value());
  ASSERT_EQ(s1->validation.size(), 10);
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(s1->validation.x[2 * i], s2->validation.x[2 * i]);
}

TEST(SplitValidation, StratifiedKeepsClassProportions) {
  Dataset d = make_toy(100, 2);
  for (int64_t i = 0; i < 100; ++i) d.y[i] = i < 80 ? 0.0f : 1.0f;  // 80 / 20
  Rng rng(5);
  auto split = split_validation(d, 0.25, rng, /*stratify=*/true);
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(class_counts(split->validation), (std::vector<int64_t>{20, 5}));
  EXPECT_EQ(class_counts(split->train), (std::vector<int64_t>{60, 15}));
}

TEST(SplitValidation, ZeroFractionGivesEmptyValidation) {
  const Dataset d = make_toy(10, 2);
  Rng rng(1);
  auto split = split_validation(d, 0.0, rng);
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->validation.size(), 0);
  EXPECT_EQ(split->validation.x.shape(), Shape({0, 2}));
  EXPECT_EQ(split->train.size(), 10);
}

TEST(SplitValidation, RejectsBadFractionAndStratifiedRegression) {
  Dataset d = make_toy(10, 2);
  Rng rng(1);
  auto bad = split_validation(d, 1.0, rng);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Errc::InvalidArgument);
  EXPECT_FALSE(split_validation(d, -0.1, rng).has_value());
  d.n_classes = 0;
  EXPECT_FALSE(split_validation(d, 0.5, rng, true).has_value());
}

TEST(ClassCounts, CountsEachClass) {
  const Dataset d = make_toy(10, 3);
  EXPECT_EQ(class_counts(d), (std::vector<int64_t>{4, 3, 3}));
}

TEST(Batches, YieldsFullBatchesThenAShortLastOne) {
  const Dataset d = make_toy(10, 2);
  Batches batches(d, 4);
  EXPECT_EQ(batches.n_batches(), 3);
  std::vector<int64_t> sizes;
  float next = 0.0f;
  while (auto b = batches.next()) {
    sizes.push_back(b->size);
    ASSERT_EQ(b->x.shape(), Shape({b->size, 2}));
    ASSERT_EQ(b->y.shape(), Shape({b->size}));
    for (int64_t i = 0; i < b->size; ++i) EXPECT_EQ(b->x[2 * i], next++);
  }
  EXPECT_EQ(sizes, (std::vector<int64_t>{4, 4, 2}));
  EXPECT_FALSE(batches.next().has_value());
}

TEST(Batches, FollowsTheGivenOrderAndResets) {
  const Dataset d = make_toy(5, 5);
  Batches batches(d, 2, {4, 3, 2, 1, 0});
  auto first = batches.next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->x[0], 4.0f);
  EXPECT_EQ(first->y[1], 3.0f);
  batches.reset();
  auto again = batches.next();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->x[0], 0.0f);
  EXPECT_EQ(again->index, 0);
}

TEST(Batches, HandlesMultiOutputTargets) {
  Dataset d;
  d.x = Tensor::zeros({3, 4, 4, 1});
  d.y = Tensor::from({3, 2}, std::vector<float>{1, 2, 3, 4, 5, 6});
  Batches batches(d, 2);
  (void)batches.next();
  auto last = batches.next();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->x.shape(), Shape({1, 4, 4, 1}));
  EXPECT_EQ(last->y.shape(), Shape({1, 2}));
  EXPECT_EQ(last->y[1], 6.0f);
}

}  // namespace
}  // namespace disco::core
