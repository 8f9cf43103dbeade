// SPDX-License-Identifier: Apache-2.0
#include "core/data/image.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <map>

#include "core/data/parse_util.hpp"

// stb_image is compiled here and only here. No stdio (core opens no files), only the formats
// tasks use, and its own warnings silenced: it is third-party code.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_MAX_DIMENSIONS (1 << 16)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#include <stb_image.h>
#pragma GCC diagnostic pop

namespace disco::core {
namespace {

constexpr int64_t kMaxPixels = int64_t{1} << 26;

Result<void> check_spec(const ImageSpec& spec, std::string_view source) {
  if (spec.height <= 0 || spec.width <= 0 || spec.height * spec.width > kMaxPixels)
    return line_error(
        Errc::InvalidArgument, source, 0,
        "bad image size " + std::to_string(spec.height) + "x" + std::to_string(spec.width));
  if (spec.channels != 1 && spec.channels != 3 && spec.channels != 4)
    return line_error(Errc::InvalidArgument, source, 0,
                      "image channels must be 1, 3 or 4, got " + std::to_string(spec.channels));
  return {};
}

Error decode_error(std::string_view source) {
  const char* reason = stbi_failure_reason();
  return line_error(Errc::Corruption, source, 0,
                    std::string("cannot decode image: ") + (reason ? reason : "unknown error"));
}

}  // namespace

Result<Tensor> decode_image(std::span<const std::byte> bytes, const ImageSpec& spec,
                            std::string_view source) {
  DISCO_TRY(check_spec(spec, source));
  if (bytes.size() > static_cast<std::size_t>(INT_MAX))
    return line_error(Errc::Corruption, source, 0, "image file too large");
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int len = static_cast<int>(bytes.size());
  int w = 0;
  int h = 0;
  int comp = 0;
  if (!stbi_info_from_memory(data, len, &w, &h, &comp)) return decode_error(source);
  if (int64_t{w} * h > kMaxPixels)
    return line_error(Errc::Corruption, source, 0,
                      "image too large: " + std::to_string(w) + "x" + std::to_string(h));
  const int c = static_cast<int>(spec.channels);
  stbi_uc* pixels = stbi_load_from_memory(data, len, &w, &h, &comp, c);
  if (!pixels) return decode_error(source);
  Tensor image = Tensor::empty({h, w, spec.channels});
  constexpr float kScale = 1.0f / 255.0f;
  for (int64_t i = 0; i < image.numel(); ++i) image[i] = static_cast<float>(pixels[i]) * kScale;
  stbi_image_free(pixels);
  if (h == spec.height && w == spec.width) return image;
  return resize_bilinear(image, spec.height, spec.width);
}

Tensor resize_bilinear(const Tensor& image, int64_t height, int64_t width) {
  DISCO_CHECK(image.rank() == 3 && height > 0 && width > 0, "resize_bilinear needs (h, w, c)");
  const int64_t in_h = image.dim(0);
  const int64_t in_w = image.dim(1);
  const int64_t c = image.dim(2);
  if (in_h == height && in_w == width) return image.clone();
  // Source coordinate of each output row / column and its interpolation weight.
  struct Tap {
    int64_t lo, hi;
    float w;
  };
  auto taps = [](int64_t in, int64_t out) {
    std::vector<Tap> t(static_cast<std::size_t>(out));
    const double scale = static_cast<double>(in) / static_cast<double>(out);
    for (int64_t i = 0; i < out; ++i) {
      double s = (static_cast<double>(i) + 0.5) * scale - 0.5;
      s = std::clamp(s, 0.0, static_cast<double>(in - 1));
      const auto lo = static_cast<int64_t>(std::floor(s));
      t[static_cast<std::size_t>(i)] = {lo, std::min(lo + 1, in - 1),
                                        static_cast<float>(s - static_cast<double>(lo))};
    }
    return t;
  };
  const std::vector<Tap> ys = taps(in_h, height);
  const std::vector<Tap> xs = taps(in_w, width);
  Tensor out = Tensor::empty({height, width, c});
  const float* src = image.data();
  float* dst = out.data();
  for (const Tap& ty : ys) {
    const float* r0 = src + ty.lo * in_w * c;
    const float* r1 = src + ty.hi * in_w * c;
    for (const Tap& tx : xs) {
      for (int64_t k = 0; k < c; ++k) {
        const float top = r0[tx.lo * c + k] + tx.w * (r0[tx.hi * c + k] - r0[tx.lo * c + k]);
        const float bottom = r1[tx.lo * c + k] + tx.w * (r1[tx.hi * c + k] - r1[tx.lo * c + k]);
        *dst++ = top + ty.w * (bottom - top);
      }
    }
  }
  return out;
}

ImageDatasetBuilder::ImageDatasetBuilder(ImageSpec spec, std::vector<std::string> labels)
    : spec_(spec), labels_(std::move(labels)), discover_labels_(labels_.empty()) {}

Result<void> ImageDatasetBuilder::add(std::span<const std::byte> bytes, std::string_view label,
                                      std::string_view source) {
  if (!discover_labels_ && std::find(labels_.begin(), labels_.end(), label) == labels_.end()) {
    std::string known;
    for (std::size_t i = 0; i < labels_.size() && i < 20; ++i)
      known += (i ? ", " : "") + labels_[i];
    return line_error(Errc::InvalidArgument, source, 0,
                      "unknown label " + in_quotes(label) + " (labels: " + known + ")");
  }
  DISCO_ASSIGN_OR_RETURN(image, decode_image(bytes, spec_, source));
  pixels_.insert(pixels_.end(), image.data(), image.data() + image.numel());
  labels_of_images_.emplace_back(label);
  return {};
}

Dataset ImageDatasetBuilder::finish() {
  if (discover_labels_) {
    labels_ = labels_of_images_;
    std::sort(labels_.begin(), labels_.end());
    labels_.erase(std::unique(labels_.begin(), labels_.end()), labels_.end());
  }
  const int64_t n = size();
  Dataset d;
  d.x = Tensor::from({n, spec_.height, spec_.width, spec_.channels}, pixels_);
  d.y = Tensor::empty({n});
  for (int64_t i = 0; i < n; ++i) {
    const std::string& label = labels_of_images_[static_cast<std::size_t>(i)];
    d.y[i] = static_cast<float>(std::find(labels_.begin(), labels_.end(), label) - labels_.begin());
  }
  d.n_classes = static_cast<int64_t>(labels_.size());
  d.label_names = labels_;
  pixels_ = {};
  labels_of_images_.clear();
  if (discover_labels_) labels_.clear();
  return d;
}

Result<Dataset> make_image_dataset(std::span<const ImageItem> items, const ImageSpec& spec,
                                   std::vector<std::string> labels) {
  ImageDatasetBuilder builder(spec, std::move(labels));
  for (const ImageItem& item : items) DISCO_TRY(builder.add(item.bytes, item.label, item.name));
  return builder.finish();
}

std::string_view strip_extension(std::string_view name) {
  const std::size_t slash = name.find_last_of('/');
  const std::size_t base = slash == std::string_view::npos ? 0 : slash + 1;
  const std::size_t dot = name.find_last_of('.');
  if (dot == std::string_view::npos || dot <= base) return name;
  return name.substr(0, dot);
}

Result<std::vector<std::string>> match_csv_labels(const CsvTable& mapping,
                                                  std::span<const std::string> file_names,
                                                  std::string_view csv_source) {
  DISCO_ASSIGN_OR_RETURN(name_col, mapping.require_column("filename", csv_source));
  DISCO_ASSIGN_OR_RETURN(label_col, mapping.require_column("label", csv_source));
  struct Entry {
    std::string label;
    int64_t line;
    bool ambiguous = false;  // several rows share this stem with different labels
  };
  std::map<std::string, Entry, std::less<>> exact;
  std::map<std::string, Entry, std::less<>> stems;
  for (const CsvRow& row : mapping.rows) {
    const std::string name(trim(row.cells[name_col]));
    const std::string label(trim(row.cells[label_col]));
    auto [it, inserted] = exact.try_emplace(name, Entry{label, row.line});
    if (!inserted && it->second.label != label)
      return line_error(Errc::Corruption, csv_source, row.line,
                        "conflicting labels for " + in_quotes(name) + " (line " +
                            std::to_string(it->second.line) + " says " +
                            in_quotes(it->second.label) + ", this line " + in_quotes(label) + ")");
    auto [st, fresh] =
        stems.try_emplace(std::string(strip_extension(name)), Entry{label, row.line});
    if (!fresh && st->second.label != label) st->second.ambiguous = true;
  }
  std::vector<std::string> labels;
  labels.reserve(file_names.size());
  for (const std::string& file : file_names) {
    if (auto it = exact.find(file); it != exact.end()) {
      labels.push_back(it->second.label);
      continue;
    }
    auto st = stems.find(strip_extension(file));
    if (st == stems.end())
      return line_error(Errc::NotFound, csv_source, 0, "no label for image " + in_quotes(file));
    if (st->second.ambiguous)
      return line_error(
          Errc::Corruption, csv_source, 0,
          "several labels match image " + in_quotes(file) + "; name it with its extension");
    labels.push_back(st->second.label);
  }
  return labels;
}

}  // namespace disco::core
