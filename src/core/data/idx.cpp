// SPDX-License-Identifier: Apache-2.0
#include "core/data/idx.hpp"

#include <algorithm>
#include <cstdint>

#include "core/data/parse_util.hpp"

namespace disco::core {
namespace {

uint32_t read_be32(std::span<const std::byte> b, std::size_t at) {
  return (std::to_integer<uint32_t>(b[at]) << 24) | (std::to_integer<uint32_t>(b[at + 1]) << 16) |
         (std::to_integer<uint32_t>(b[at + 2]) << 8) | std::to_integer<uint32_t>(b[at + 3]);
}

std::string hex32(uint32_t v) {
  static const char* kDigits = "0123456789abcdef";
  std::string s = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) s += kDigits[(v >> shift) & 0xF];
  return s;
}

// Validates the header of an unsigned-byte IDX file with `n_dims` dimensions and returns them.
Result<std::vector<uint64_t>> read_header(std::span<const std::byte> bytes, std::string_view source,
                                          uint32_t n_dims, const char* what) {
  const uint32_t want_magic = 0x00000800u | n_dims;
  if (bytes.size() < 4)
    return line_error(Errc::Corruption, source, 0,
                      std::string("not an IDX ") + what + " file: only " +
                          std::to_string(bytes.size()) + " bytes");
  const uint32_t magic = read_be32(bytes, 0);
  if (magic != want_magic)
    return line_error(Errc::Corruption, source, 0,
                      std::string("not an IDX ") + what + " file: magic " + hex32(magic) +
                          ", expected " + hex32(want_magic));
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(n_dims);
  if (bytes.size() < header) return line_error(Errc::Corruption, source, 0, "truncated IDX header");
  std::vector<uint64_t> dims;
  uint64_t total = 1;
  for (uint32_t i = 0; i < n_dims; ++i) {
    const uint32_t d = read_be32(bytes, 4 + 4 * static_cast<std::size_t>(i));
    if (d == 0)
      return line_error(Errc::Corruption, source, 0,
                        "IDX dimension " + std::to_string(i) + " is 0");
    dims.push_back(d);
    total *= d;
    if (total > (uint64_t{1} << 40))
      return line_error(Errc::Corruption, source, 0, "IDX dimensions are implausibly large");
  }
  const uint64_t want_size = header + total;
  if (bytes.size() != want_size)
    return line_error(Errc::Corruption, source, 0,
                      std::string(bytes.size() < want_size ? "truncated" : "trailing bytes in") +
                          " IDX " + what + " file: " + std::to_string(bytes.size()) +
                          " bytes, header says " + std::to_string(want_size));
  return dims;
}

}  // namespace

Result<Tensor> parse_idx_images(std::span<const std::byte> bytes, std::string_view source) {
  DISCO_ASSIGN_OR_RETURN(dims, read_header(bytes, source, 3, "images"));
  const auto n = static_cast<int64_t>(dims[0]);
  const auto rows = static_cast<int64_t>(dims[1]);
  const auto cols = static_cast<int64_t>(dims[2]);
  Tensor images = Tensor::empty({n, rows, cols, 1});
  const std::byte* pixels = bytes.data() + 16;
  float* out = images.data();
  constexpr float kScale = 1.0f / 255.0f;
  for (int64_t i = 0; i < images.numel(); ++i)
    out[i] = static_cast<float>(std::to_integer<uint8_t>(pixels[i])) * kScale;
  return images;
}

Result<Tensor> parse_idx_labels(std::span<const std::byte> bytes, std::string_view source) {
  DISCO_ASSIGN_OR_RETURN(dims, read_header(bytes, source, 1, "labels"));
  const auto n = static_cast<int64_t>(dims[0]);
  Tensor labels = Tensor::empty({n});
  for (int64_t i = 0; i < n; ++i)
    labels[i] =
        static_cast<float>(std::to_integer<uint8_t>(bytes[static_cast<std::size_t>(8 + i)]));
  return labels;
}

Result<Dataset> parse_idx_dataset(std::span<const std::byte> images, std::string_view images_source,
                                  std::span<const std::byte> labels, std::string_view labels_source,
                                  std::vector<std::string> label_names) {
  DISCO_ASSIGN_OR_RETURN(x, parse_idx_images(images, images_source));
  DISCO_ASSIGN_OR_RETURN(y, parse_idx_labels(labels, labels_source));
  if (x.dim(0) != y.dim(0))
    return line_error(Errc::Corruption, labels_source, 0,
                      std::to_string(y.dim(0)) + " labels but " + std::string(images_source) +
                          " has " + std::to_string(x.dim(0)) + " images");
  float max_label = 0.0f;
  for (int64_t i = 0; i < y.numel(); ++i) max_label = std::max(max_label, y[i]);
  if (label_names.empty()) {
    for (int c = 0; c <= static_cast<int>(max_label); ++c) label_names.push_back(std::to_string(c));
  } else if (max_label >= static_cast<float>(label_names.size())) {
    return line_error(Errc::Corruption, labels_source, 0,
                      "label " + std::to_string(static_cast<int>(max_label)) +
                          " out of range for " + std::to_string(label_names.size()) + " classes");
  }
  Dataset d;
  d.x = std::move(x);
  d.y = std::move(y);
  d.n_classes = static_cast<int64_t>(label_names.size());
  d.label_names = std::move(label_names);
  return d;
}

}  // namespace disco::core
