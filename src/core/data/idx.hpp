// SPDX-License-Identifier: Apache-2.0
// IDX parsing (the MNIST / Fashion-MNIST file format): a big-endian header (magic 0x0000080N:
// unsigned bytes, N dimensions; then N u32 sizes) followed by the raw bytes. Images are files
// with 3 dimensions (magic 0x00000803), labels with 1 (0x00000801). Pure functions over bytes;
// the `source` name (usually the path) prefixes every error message. Gzip is handled by the
// caller (runtime::read_file).
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.hpp"
#include "core/data/dataset.hpp"
#include "core/tensor.hpp"

namespace disco::core {

// Fashion-MNIST's class names, in label order 0..9.
inline constexpr std::array<const char*, 10> kFashionMnistLabels = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// An IDX image file → (n, rows, cols, 1) floats, pixel / 255 (so in [0, 1]).
// Errors: Corruption if the magic is not 0x00000803, a dimension is 0 or the size is not
// exactly header + n * rows * cols bytes (truncated or trailing data).
Result<Tensor> parse_idx_images(std::span<const std::byte> bytes, std::string_view source);

// An IDX label file → (n,) label values as floats (0..255).
// Errors: Corruption if the magic is not 0x00000801 or the size is not header + n bytes.
Result<Tensor> parse_idx_labels(std::span<const std::byte> bytes, std::string_view source);

// Both files → a classification Dataset. label_names fixes n_classes; when empty, the classes
// are 0..max label and are named "0", "1", ....
// Errors: those of the two parsers; Corruption if the counts differ ("... 60000 images but 59999
// labels") or a label is >= label_names.size().
Result<Dataset> parse_idx_dataset(std::span<const std::byte> images, std::string_view images_source,
                                  std::span<const std::byte> labels, std::string_view labels_source,
                                  std::vector<std::string> label_names = {});

}  // namespace disco::core
