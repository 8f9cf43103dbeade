// SPDX-License-Identifier: Apache-2.0
#include "core/base/result.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace disco {
namespace {

Result<int> parse_positive(int x) {
  if (x <= 0) return make_error(Errc::InvalidArgument, "x must be positive");
  return x;
}

Result<int> doubled(int x) {
  DISCO_ASSIGN_OR_RETURN(v, parse_positive(x));
  return v * 2;
}

Result<void> check_even(int x) {
  DISCO_TRY(parse_positive(x));
  if (x % 2) return make_error(Errc::InvalidArgument, "odd");
  return {};
}

TEST(Result, HoldsValueOrError) {
  auto ok = parse_positive(3);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, 3);
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Errc::InvalidArgument);
  EXPECT_EQ(bad.error().to_string(), "InvalidArgument: x must be positive");
}

TEST(Result, PropagatesErrorsThroughMacros) {
  EXPECT_EQ(*doubled(4), 8);
  EXPECT_FALSE(doubled(0).has_value());
  EXPECT_TRUE(check_even(2).has_value());
  EXPECT_EQ(check_even(3).error().message, "odd");
  EXPECT_EQ(check_even(-2).error().message, "x must be positive");
}

TEST(Result, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>> r(std::make_unique<int>(5));
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 5);
}

#ifdef GTEST_HAS_DEATH_TEST
TEST(ResultDeathTest, ValueOnErrorAborts) {
  auto bad = parse_positive(-1);
  EXPECT_DEATH((void)bad.value(), "on an error");
}
#endif

}  // namespace
}  // namespace disco
