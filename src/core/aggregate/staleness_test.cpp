// SPDX-License-Identifier: Apache-2.0
#include "core/aggregate/staleness.hpp"

#include <gtest/gtest.h>

namespace disco::core {
namespace {

StalenessPolicy policy(StalenessPolicyKind kind) {
  StalenessPolicy p;
  p.kind = kind;
  return p;
}

TEST(StalenessWeight, ConstantIgnoresStaleness) {
  const StalenessPolicy p = policy(StalenessPolicyKind::Constant);
  EXPECT_EQ(staleness_weight(0, p), 1.0);
  EXPECT_EQ(staleness_weight(100, p), 1.0);
}

TEST(StalenessWeight, PolynomialDefaultsToInverseSquareRoot) {
  const StalenessPolicy p = policy(StalenessPolicyKind::Polynomial);
  EXPECT_DOUBLE_EQ(staleness_weight(0, p), 1.0);
  EXPECT_DOUBLE_EQ(staleness_weight(3, p), 0.5);
  EXPECT_DOUBLE_EQ(staleness_weight(8, p), 1.0 / 3.0);
  StalenessPolicy q = p;
  q.exponent = 1.0;
  EXPECT_DOUBLE_EQ(staleness_weight(4, q), 0.2);
}

TEST(StalenessWeight, HingeIsFlatThenDecays) {
  StalenessPolicy p = policy(StalenessPolicyKind::Hinge);  // slope 10, start 4
  EXPECT_EQ(staleness_weight(0, p), 1.0);
  EXPECT_EQ(staleness_weight(4, p), 1.0);
  EXPECT_DOUBLE_EQ(staleness_weight(5, p), 1.0 / 11.0);
  EXPECT_DOUBLE_EQ(staleness_weight(6, p), 1.0 / 21.0);
  p.hinge_slope = 0.5;
  p.hinge_start = 0;
  EXPECT_DOUBLE_EQ(staleness_weight(2, p), 0.5);
}

TEST(StalenessWeight, BoundRejectsTooStaleAndFutureContributions) {
  StalenessPolicy p;
  EXPECT_TRUE(within_staleness_bound(1000000, p));  // unbounded by default
  EXPECT_FALSE(within_staleness_bound(-1, p));
  p.max_staleness = 3;
  EXPECT_TRUE(within_staleness_bound(0, p));
  EXPECT_TRUE(within_staleness_bound(3, p));
  EXPECT_FALSE(within_staleness_bound(4, p));
}

TEST(StalenessWeight, ParsesPolicyAndNamesBadFields) {
  const std::string path = "federation.staleness";
  Result<StalenessPolicy> p = parse_staleness_policy(
      Json::parse(R"({"policy": "hinge", "hinge_slope": 2, "hinge_start": 1, "max_staleness": 8})"),
      path);
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->kind, StalenessPolicyKind::Hinge);
  EXPECT_EQ(p->hinge_slope, 2.0);
  EXPECT_EQ(p->hinge_start, 1);
  EXPECT_EQ(p->max_staleness, 8);

  Result<StalenessPolicy> d = parse_staleness_policy(Json::object(), path);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->kind, StalenessPolicyKind::Polynomial);
  EXPECT_EQ(d->exponent, 0.5);
  EXPECT_FALSE(d->max_staleness.has_value());

  auto error = [&](const char* text) {
    Result<StalenessPolicy> r = parse_staleness_policy(Json::parse(text), path);
    return r.has_value() ? std::string("(parsed)") : r.error().message;
  };
  EXPECT_EQ(error(R"({"exponent": -1})"), "federation.staleness.exponent: must be >= 0, got -1");
  EXPECT_EQ(error(R"({"max_staleness": -2})"),
            "federation.staleness.max_staleness: must be >= 0, got -2");
  EXPECT_NE(error(R"({"max_staleness": 1.5})").find("federation.staleness.max_staleness"),
            std::string::npos);
  EXPECT_EQ(error(R"({"policy": "linear"})"),
            "federation.staleness.policy: unknown staleness policy 'linear' (expected constant, "
            "polynomial or hinge)");
}

}  // namespace
}  // namespace disco::core
