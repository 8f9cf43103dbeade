// SPDX-License-Identifier: Apache-2.0
// Tests of line splitting and byte-level next-token samples.
#include "core/data/text.hpp"

#include <gtest/gtest.h>

namespace disco::core {
namespace {

TEST(SplitLines, HandlesLfCrlfAndCr) {
  const auto lines = split_lines("a\nbb\r\nccc\rd\n\ne");
  EXPECT_EQ(lines, (std::vector<std::string_view>{"a", "bb", "ccc", "d", "", "e"}));
  EXPECT_EQ(split_lines("x\r\n").size(), 1u);
  EXPECT_TRUE(split_lines("").empty());
}

TEST(TextDataset, BuildsLeftPaddedNextTokenSamplesPerLine) {
  auto d = make_text_dataset("ab\n\nabcdef\n", {4, TextSampling::Lines}, "t.txt");
  ASSERT_TRUE(d.has_value()) << d.error().to_string();
  ASSERT_EQ(d->x.shape(), Shape({2, 4}));
  EXPECT_EQ(d->n_classes, kTextVocabSize);
  const float p = static_cast<float>(kPadToken);
  // "ab" padded to 5 tokens: P P P a b.
  EXPECT_EQ(std::vector<float>(d->x.data(), d->x.data() + 4), (std::vector<float>{p, p, p, 'a'}));
  EXPECT_EQ(std::vector<float>(d->y.data(), d->y.data() + 4), (std::vector<float>{p, p, 'a', 'b'}));
  // "abcdef" truncated to 5 tokens.
  EXPECT_EQ(decode_bytes(d->x.span().subspan(4, 4)), "abcd");
  EXPECT_EQ(decode_bytes(d->y.span().subspan(4, 4)), "bcde");
}

TEST(TextDataset, CutsAStreamIntoWindows) {
  auto d = make_text_dataset("0123456789", {4, TextSampling::Stream}, "s.txt");
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->x.shape(), Shape({3, 4}));
  EXPECT_EQ(decode_bytes(d->x.span().subspan(0, 4)), "0123");
  EXPECT_EQ(decode_bytes(d->y.span().subspan(0, 4)), "1234");
  EXPECT_EQ(decode_bytes(d->x.span().subspan(4, 4)), "4567");
  // Last window "89" is left-padded.
  EXPECT_EQ(d->x[8], static_cast<float>(kPadToken));
  EXPECT_EQ(decode_bytes(d->y.span().subspan(8, 4)), "89");
}

TEST(TextDataset, RoundTripsNonAsciiBytes) {
  const std::string s = "caf\xc3\xa9";
  const std::vector<int32_t> ids = encode_bytes(s);
  EXPECT_EQ(ids[3], 0xc3);
  std::vector<float> f(ids.begin(), ids.end());
  EXPECT_EQ(decode_bytes(f), s);
}

TEST(TextDataset, RejectsEmptyTextAndBadLength) {
  EXPECT_EQ(make_text_dataset("\n\n", {}, "e.txt").error().message, "e.txt: no text");
  EXPECT_EQ(make_text_dataset("abc", {0}, "e.txt").error().code, Errc::InvalidArgument);
}

}  // namespace
}  // namespace disco::core
