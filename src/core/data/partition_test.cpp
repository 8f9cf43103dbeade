// SPDX-License-Identifier: Apache-2.0
#include "core/data/partition.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <set>

namespace disco::core {
namespace {

// n samples, labels cycling 0..n_classes-1, x = the row index (to recognise rows in parts).
Dataset labelled(int64_t n, int64_t n_classes) {
  Dataset d;
  d.x = Tensor::empty({n, 1});
  d.y = Tensor::empty({n});
  d.n_classes = n_classes;
  for (int64_t i = 0; i < n; ++i) {
    d.x[i] = static_cast<float>(i);
    d.y[i] = static_cast<float>(i % n_classes);
  }
  return d;
}

std::vector<std::vector<int64_t>> split(const Dataset& d, int64_t n, const std::string& spec,
                                        uint64_t seed) {
  Result<PartitionSpec> s = parse_partition_spec(spec);
  DISCO_CHECK(s.has_value(), "spec");
  Rng rng(seed);
  Result<std::vector<std::vector<int64_t>>> parts = partition_indices(d, n, *s, rng);
  DISCO_CHECK(parts.has_value(), "partition");
  return std::move(parts).value();
}

// Mean over clients of the Shannon entropy (bits) of the client's label distribution.
double mean_label_entropy(const Dataset& d, const std::vector<std::vector<int64_t>>& parts) {
  double total = 0;
  for (const auto& rows : parts) {
    std::vector<double> counts(static_cast<std::size_t>(d.n_classes), 0.0);
    for (int64_t r : rows) counts[static_cast<std::size_t>(d.y[r])] += 1;
    double h = 0;
    for (double c : counts) {
      if (c == 0) continue;
      double p = c / static_cast<double>(rows.size());
      h -= p * std::log2(p);
    }
    total += h;
  }
  return total / static_cast<double>(parts.size());
}

class PartitionTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PartitionTest, PartsAreDisjointNonEmptyAndCoverEveryRow) {
  Dataset d = labelled(1000, 10);
  for (int64_t n_clients : {1, 3, 7, 50}) {
    auto parts = split(d, n_clients, GetParam(), 42);
    ASSERT_EQ(static_cast<int64_t>(parts.size()), n_clients);
    std::set<int64_t> seen;
    std::size_t total = 0;
    for (const auto& p : parts) {
      EXPECT_FALSE(p.empty()) << GetParam() << " with " << n_clients << " clients";
      total += p.size();
      seen.insert(p.begin(), p.end());
    }
    EXPECT_EQ(total, 1000u);
    EXPECT_EQ(seen.size(), 1000u);
    EXPECT_EQ(*seen.begin(), 0);
    EXPECT_EQ(*seen.rbegin(), 999);
  }
}

TEST_P(PartitionTest, SameSeedSameSplitOtherSeedOtherSplit) {
  Dataset d = labelled(500, 5);
  EXPECT_EQ(split(d, 4, GetParam(), 7), split(d, 4, GetParam(), 7));
  EXPECT_NE(split(d, 4, GetParam(), 7), split(d, 4, GetParam(), 8));
}

TEST_P(PartitionTest, MaterialisedPartsHoldTheIndexedRows) {
  Dataset d = labelled(60, 3);
  Result<PartitionSpec> spec = parse_partition_spec(GetParam());
  Rng a(5), b(5);
  auto idx = partition_indices(d, 4, *spec, a);
  auto parts = partition(d, 4, *spec, b);
  ASSERT_TRUE(idx.has_value() && parts.has_value());
  ASSERT_EQ(parts->size(), 4u);
  for (std::size_t c = 0; c < 4; ++c) {
    ASSERT_EQ((*parts)[c].size(), static_cast<int64_t>((*idx)[c].size()));
    EXPECT_EQ((*parts)[c].n_classes, 3);
    for (std::size_t i = 0; i < (*idx)[c].size(); ++i) {
      int64_t row = (*idx)[c][i];
      EXPECT_EQ((*parts)[c].x[static_cast<int64_t>(i)], static_cast<float>(row));
      EXPECT_EQ((*parts)[c].y[static_cast<int64_t>(i)], d.y[row]);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Schemes, PartitionTest,
                         ::testing::Values("iid", "dirichlet:0.1", "dirichlet:1", "dirichlet:100"));

TEST(Partition, IidSizesDifferByAtMostOne) {
  Dataset d = labelled(103, 4);
  auto parts = split(d, 10, "iid", 1);
  for (std::size_t c = 0; c < parts.size(); ++c) EXPECT_EQ(parts[c].size(), c < 3 ? 11u : 10u);
}

TEST(Partition, LowerAlphaGivesMoreLabelSkew) {
  Dataset d = labelled(5000, 10);
  const double h_iid = mean_label_entropy(d, split(d, 10, "iid", 3));
  const double h_100 = mean_label_entropy(d, split(d, 10, "dirichlet:100", 3));
  const double h_1 = mean_label_entropy(d, split(d, 10, "dirichlet:1", 3));
  const double h_01 = mean_label_entropy(d, split(d, 10, "dirichlet:0.1", 3));
  // log2(10) = 3.32 bits is a uniform label mix.
  EXPECT_GT(h_iid, 3.25);
  EXPECT_GT(h_100, 3.2);
  EXPECT_LT(h_1, h_100 - 0.3);
  EXPECT_LT(h_01, h_1 - 0.5);
  EXPECT_LT(h_01, 2.0) << "alpha 0.1 should leave each client with a few classes";
  RecordProperty("entropy_bits", std::to_string(h_iid) + " " + std::to_string(h_100) + " " +
                                     std::to_string(h_1) + " " + std::to_string(h_01));
}

TEST(Partition, TinyAlphaStillGivesEveryClientASample) {
  // With alpha 0.001 nearly every class goes to one client, so draws leave clients empty and the
  // repair path must run.
  Dataset d = labelled(40, 2);
  auto parts = split(d, 8, "dirichlet:0.001", 9);
  std::size_t total = 0;
  for (const auto& p : parts) {
    EXPECT_FALSE(p.empty());
    total += p.size();
  }
  EXPECT_EQ(total, 40u);
}

TEST(Partition, RejectsImpossibleSplits) {
  Dataset d = labelled(3, 3);
  Rng rng(0);
  PartitionSpec iid;
  auto r = partition_indices(d, 4, iid, rng);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::InvalidArgument);
  EXPECT_NE(r.error().message.find("cannot split 3 samples among 4 clients"), std::string::npos)
      << r.error().message;
  EXPECT_FALSE(partition_indices(d, 0, iid, rng).has_value());

  Dataset regression;
  regression.x = Tensor::zeros({10, 2});
  regression.y = Tensor::zeros({10, 1});
  r = partition_indices(regression, 2, PartitionSpec{PartitionScheme::Dirichlet, 0.5}, rng);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("use iid"), std::string::npos) << r.error().message;
  EXPECT_TRUE(partition_indices(regression, 2, iid, rng).has_value());
}

TEST(PartitionSpec, ParsesAndNamesTheAcceptedForms) {
  auto iid = parse_partition_spec("iid");
  ASSERT_TRUE(iid.has_value());
  EXPECT_EQ(iid->scheme, PartitionScheme::Iid);
  auto d = parse_partition_spec("dirichlet:0.5");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->scheme, PartitionScheme::Dirichlet);
  EXPECT_EQ(d->alpha, 0.5);
  EXPECT_EQ(partition_spec_name(*d), "dirichlet:0.5");
  EXPECT_EQ(partition_spec_name(*iid), "iid");
  EXPECT_EQ(parse_partition_spec("dirichlet:100")->alpha, 100.0);
  EXPECT_EQ(parse_partition_spec("dirichlet:.25")->alpha, 0.25);
}

TEST(PartitionSpec, RejectsBadStringsWithClearMessages) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"", "split '': expected \"iid\" or \"dirichlet:ALPHA\""},
           Case{"IID", "expected \"iid\" or \"dirichlet:ALPHA\""},
           Case{"noniid", "expected \"iid\" or \"dirichlet:ALPHA\""},
           Case{"dirichlet", "missing ALPHA"},
           Case{"dirichlet:", "missing ALPHA"},
           Case{"dirichlet0.5", "expected \"iid\" or \"dirichlet:ALPHA\""},
           Case{"dirichlet:abc", "ALPHA 'abc' is not a positive decimal number"},
           Case{"dirichlet:0.5x", "is not a positive decimal number"},
           Case{"dirichlet:-1", "is not a positive decimal number"},
           Case{"dirichlet: 1", "is not a positive decimal number"},
           Case{"dirichlet:inf", "is not a positive decimal number"},
           Case{"dirichlet:nan", "is not a positive decimal number"},
           Case{"dirichlet:0", "ALPHA must be > 0, got 0"},
       }) {
    Result<PartitionSpec> r = parse_partition_spec(c.text);
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_NE(r.error().message.find(c.message), std::string::npos)
        << c.text << " -> " << r.error().message;
  }
}

TEST(Dirichlet, SamplesLieOnTheSimplexWithTheRightMean) {
  Rng rng(4);
  for (double alpha : {0.05, 0.5, 1.0, 5.0}) {
    std::vector<double> mean(4, 0.0);
    const int n = 4000;
    for (int i = 0; i < n; ++i) {
      std::vector<double> p = sample_dirichlet(rng, alpha, 4);
      EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-9);
      for (std::size_t k = 0; k < 4; ++k) {
        EXPECT_GE(p[k], 0.0);
        mean[k] += p[k] / n;
      }
    }
    for (double m : mean) EXPECT_NEAR(m, 0.25, 0.03) << "alpha " << alpha;
  }
}

TEST(Gamma, MeanAndVarianceMatchTheShape) {
  Rng rng(12);
  for (double shape : {0.3, 1.0, 2.5, 10.0}) {
    const int n = 20000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; ++i) {
      double g = sample_gamma(rng, shape);
      EXPECT_GE(g, 0.0);
      sum += g;
      sum2 += g * g;
    }
    const double mean = sum / n, var = sum2 / n - mean * mean;
    // Gamma(k, 1): mean k, variance k.
    EXPECT_NEAR(mean, shape, 0.05 * shape + 0.02) << shape;
    EXPECT_NEAR(var, shape, 0.12 * shape + 0.03) << shape;
  }
}

}  // namespace
}  // namespace disco::core
