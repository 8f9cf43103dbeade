// SPDX-License-Identifier: Apache-2.0
// Tests of the IDX parsers on hand-built files: a round trip, and every kind of damage
// (bad magic, truncation, trailing bytes, zero dimensions, count mismatch, label range).
#include "core/data/idx.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace disco::core {
namespace {

void put_be32(std::vector<std::byte>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::byte>((v >> shift) & 0xFF));
}

std::vector<std::byte> idx_images(uint32_t n, uint32_t rows, uint32_t cols) {
  std::vector<std::byte> b;
  put_be32(b, 0x00000803);
  put_be32(b, n);
  put_be32(b, rows);
  put_be32(b, cols);
  for (uint32_t i = 0; i < n * rows * cols; ++i)
    b.push_back(static_cast<std::byte>((i * 17) % 256));
  return b;
}

std::vector<std::byte> idx_labels(std::vector<uint8_t> labels) {
  std::vector<std::byte> b;
  put_be32(b, 0x00000801);
  put_be32(b, static_cast<uint32_t>(labels.size()));
  for (uint8_t l : labels) b.push_back(static_cast<std::byte>(l));
  return b;
}

TEST(Idx, ParsesImagesScaledToUnitRange) {
  auto images = parse_idx_images(idx_images(2, 3, 4), "img");
  ASSERT_TRUE(images.has_value()) << images.error().to_string();
  EXPECT_EQ(images->shape(), Shape({2, 3, 4, 1}));
  EXPECT_FLOAT_EQ((*images)[1], 17.0f / 255.0f);
  EXPECT_FLOAT_EQ((*images)[15], static_cast<float>((15 * 17) % 256) / 255.0f);
}

TEST(Idx, ParsesDatasetWithLabelNames) {
  auto d = parse_idx_dataset(idx_images(3, 2, 2), "img", idx_labels({2, 0, 1}), "lbl",
                             {"a", "b", "c", "d"});
  ASSERT_TRUE(d.has_value()) << d.error().to_string();
  EXPECT_EQ(d->size(), 3);
  EXPECT_EQ(d->n_classes, 4);
  EXPECT_EQ(d->y[0], 2.0f);
  EXPECT_EQ(d->label_names[3], "d");
}

TEST(Idx, DiscoversClassesFromMaxLabel) {
  auto d = parse_idx_dataset(idx_images(3, 1, 1), "img", idx_labels({0, 4, 1}), "lbl");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->n_classes, 5);
  EXPECT_EQ(d->label_names[4], "4");
}

TEST(Idx, RejectsBadMagic) {
  auto bytes = idx_images(1, 2, 2);
  bytes[3] = std::byte{0x02};
  auto r = parse_idx_images(bytes, "data/x-images");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::Corruption);
  EXPECT_EQ(r.error().message,
            "data/x-images: not an IDX images file: magic 0x00000802, expected 0x00000803");
  // A labels file is not an images file either.
  EXPECT_FALSE(parse_idx_images(idx_labels({1}), "l").has_value());
}

TEST(Idx, RejectsTruncatedAndTrailingData) {
  auto bytes = idx_images(2, 2, 2);
  bytes.pop_back();
  auto r = parse_idx_images(bytes, "x");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("truncated"), std::string::npos) << r.error().message;
  bytes.push_back(std::byte{0});
  bytes.push_back(std::byte{0});
  EXPECT_FALSE(parse_idx_images(bytes, "x").has_value());
  EXPECT_FALSE(parse_idx_images(std::span<const std::byte>(bytes.data(), 10), "x").has_value());
  EXPECT_FALSE(parse_idx_labels({}, "x").has_value());
}

TEST(Idx, RejectsZeroDimension) {
  auto r = parse_idx_images(idx_images(0, 2, 2), "x");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "x: IDX dimension 0 is 0");
}

TEST(Idx, RejectsLabelCountMismatch) {
  auto r = parse_idx_dataset(idx_images(3, 1, 1), "img", idx_labels({0, 1}), "lbl");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::Corruption);
  EXPECT_EQ(r.error().message, "lbl: 2 labels but img has 3 images");
}

TEST(Idx, RejectsLabelOutOfRange) {
  auto r = parse_idx_dataset(idx_images(2, 1, 1), "img", idx_labels({0, 9}), "lbl", {"a", "b"});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "lbl: label 9 out of range for 2 classes");
}

}  // namespace
}  // namespace disco::core
