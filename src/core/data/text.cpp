// SPDX-License-Identifier: Apache-2.0
#include "core/data/text.hpp"

#include <algorithm>
#include <cmath>

#include "core/data/parse_util.hpp"

namespace disco::core {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '\n' && c != '\r') {
      ++i;
      continue;
    }
    lines.push_back(text.substr(start, i - start));
    i += (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ? 2 : 1;
    start = i;
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

std::vector<int32_t> encode_bytes(std::string_view text) {
  std::vector<int32_t> ids(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) ids[i] = static_cast<unsigned char>(text[i]);
  return ids;
}

std::string decode_bytes(std::span<const float> ids) {
  std::string s;
  for (float f : ids) {
    const long id = std::lround(f);
    if (id >= 0 && id < 256) s += static_cast<char>(static_cast<unsigned char>(id));
  }
  return s;
}

namespace {

// Appends one sample built from window w (w.size() <= T + 1, left-padded to T + 1).
void append_sample(std::span<const int32_t> w, int64_t t, std::vector<float>& x,
                   std::vector<float>& y) {
  const auto len = static_cast<int64_t>(w.size());
  std::vector<int32_t> padded(static_cast<std::size_t>(t + 1), kPadToken);
  for (int64_t i = 0; i < len; ++i)
    padded[static_cast<std::size_t>(t + 1 - len + i)] = w[static_cast<std::size_t>(i)];
  for (int64_t i = 0; i < t; ++i) {
    x.push_back(static_cast<float>(padded[static_cast<std::size_t>(i)]));
    y.push_back(static_cast<float>(padded[static_cast<std::size_t>(i + 1)]));
  }
}

}  // namespace

Result<Dataset> make_text_dataset(std::string_view text, const TextConfig& config,
                                  std::string_view source) {
  const int64_t t = config.sequence_length;
  if (t < 1)
    return line_error(Errc::InvalidArgument, source, 0,
                      "sequence length must be >= 1, got " + std::to_string(t));
  std::vector<float> x;
  std::vector<float> y;
  if (config.sampling == TextSampling::Lines) {
    for (std::string_view line : split_lines(text)) {
      if (line.empty()) continue;
      const std::vector<int32_t> ids =
          encode_bytes(line.substr(0, static_cast<std::size_t>(t + 1)));
      append_sample(ids, t, x, y);
    }
  } else {
    const std::vector<int32_t> ids = encode_bytes(text);
    const auto n = static_cast<int64_t>(ids.size());
    for (int64_t start = 0; start + 1 < n; start += t) {
      const int64_t len = std::min(t + 1, n - start);
      append_sample(std::span<const int32_t>(ids).subspan(static_cast<std::size_t>(start),
                                                          static_cast<std::size_t>(len)),
                    t, x, y);
    }
  }
  if (x.empty()) return line_error(Errc::InvalidArgument, source, 0, "no text");
  const auto n = static_cast<int64_t>(x.size()) / t;
  Dataset d;
  d.x = Tensor::from({n, t}, x);
  d.y = Tensor::from({n, t}, y);
  d.n_classes = kTextVocabSize;
  return d;
}

}  // namespace disco::core
