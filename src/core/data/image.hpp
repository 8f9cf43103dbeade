// SPDX-License-Identifier: Apache-2.0
// Image decoding and image Datasets. decode_image() turns PNG, JPEG or BMP bytes (via
// stb_image, built without its stdio so core opens no files) into a (h, w, c) tensor in [0, 1]
// at the task's size and channel count: grey is repeated into RGB, RGB becomes grey by luma
// (stb's 77/150/29 weights), alpha is dropped, and the picture is resized bilinearly with
// half-pixel centres (as PIL, OpenCV and torch's align_corners=False). ImageDatasetBuilder
// stacks decoded images with their string labels into a classification Dataset, and
// match_csv_labels() implements the "filename,label" CSV label source.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.hpp"
#include "core/data/csv.hpp"
#include "core/data/dataset.hpp"
#include "core/tensor.hpp"

namespace disco::core {

// The task's image geometry. channels is 1 (grey), 3 (RGB) or 4 (RGBA).
struct ImageSpec {
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 3;
};

// Decodes one image to (spec.height, spec.width, spec.channels) floats in [0, 1].
// Errors: InvalidArgument for a bad spec (non-positive size, channels not 1, 3 or 4);
// Corruption "source: cannot decode image: <reason>" for bytes that are not a supported,
// intact image (including images over 2^26 pixels).
Result<Tensor> decode_image(std::span<const std::byte> bytes, const ImageSpec& spec,
                            std::string_view source);

// Bilinear resize of a (h, w, c) tensor to (height, width, c), half-pixel centres; returns a
// clone when the size already matches. Requires rank 3 and positive sizes (DISCO_CHECK).
Tensor resize_bilinear(const Tensor& image, int64_t height, int64_t width);

// Accumulates decoded images and their labels, then stacks them into one Dataset. Use one
// builder per data set; it copies each image, so inputs may be freed after add(). Not
// thread-safe.
class ImageDatasetBuilder {
 public:
  // labels: the task's class names in index order; empty means "discover": the distinct labels
  // added, sorted bytewise, become the classes.
  ImageDatasetBuilder(ImageSpec spec, std::vector<std::string> labels = {});

  // Decodes `bytes` and records it under `label`. `source` (usually the file path) is named in
  // errors. Errors: decode_image's; InvalidArgument "source: unknown label 'x' (labels: ...)"
  // when the label list was given and does not contain `label`.
  Result<void> add(std::span<const std::byte> bytes, std::string_view label,
                   std::string_view source);

  int64_t size() const { return static_cast<int64_t>(labels_of_images_.size()); }

  // x (n, h, w, c), y (n,) class indices, label_names the classes. Consumes the builder's
  // contents (the builder is empty afterwards). An empty builder gives a dataset of size 0.
  Dataset finish();

 private:
  ImageSpec spec_;
  std::vector<std::string> labels_;
  bool discover_labels_;
  std::vector<float> pixels_;                  // images back to back, h * w * c floats each
  std::vector<std::string> labels_of_images_;  // one per image
};

// One image named with its label: the "(name, bytes, label)" items a driver collects.
// `bytes` is borrowed and must stay alive during make_image_dataset().
struct ImageItem {
  std::string name;
  std::span<const std::byte> bytes;
  std::string label;
};

// Builds a Dataset from items in order (ImageDatasetBuilder with the same labels rule).
// Errors: those of ImageDatasetBuilder::add, naming the item.
Result<Dataset> make_image_dataset(std::span<const ImageItem> items, const ImageSpec& spec,
                                   std::vector<std::string> labels = {});

// The label of each file name according to a mapping table with columns `filename` and `label`
// (extra columns ignored). A file matches a row if their names are equal, or equal once the
// extension is removed from either or both ("cat1.png" matches "cat1" and "cat1.jpg").
// Errors: NotFound if a column is missing, or "csv: no label for image 'x.png'" for an image
// with no row; Corruption "csv:17: conflicting labels for 'x'" if one name gets two labels.
Result<std::vector<std::string>> match_csv_labels(const CsvTable& mapping,
                                                  std::span<const std::string> file_names,
                                                  std::string_view csv_source);

// File name without its last extension ("a/b.tar.gz" → "a/b.tar"; "noext" unchanged).
std::string_view strip_extension(std::string_view name);

}  // namespace disco::core
