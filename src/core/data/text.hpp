// SPDX-License-Identifier: Apache-2.0
// Text data for language-model tasks: line splitting (LF, CRLF or CR, as DISCO's web loader) and
// a byte-level tokeniser. Token ids are the UTF-8 bytes 0..255 plus kPadToken = 256, so the
// vocabulary is fixed (kTextVocabSize = 257), needs no fitting and can encode any input.
// make_text_dataset() produces fixed-length next-token samples: x (n, T) ids and y (n, T) the
// ids shifted by one, both as floats, with n_classes = kTextVocabSize.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.hpp"
#include "core/data/dataset.hpp"

namespace disco::core {

inline constexpr int32_t kPadToken = 256;
inline constexpr int32_t kTextVocabSize = 257;

// Lines of `text`, split at LF, CRLF or lone CR, without their terminators. A final terminator
// does not start an extra empty line. Views into `text`, which must outlive them.
std::vector<std::string_view> split_lines(std::string_view text);

// Byte-level tokens of `text` (each byte's value 0..255).
std::vector<int32_t> encode_bytes(std::string_view text);
// Inverse of encode_bytes; kPadToken and out-of-range ids are skipped. Accepts ids stored as
// floats (as in a Dataset row), rounding to the nearest integer.
std::string decode_bytes(std::span<const float> ids);

enum class TextSampling {
  // One sample per non-empty line (DISCO's text tasks): the line's first T + 1 tokens, left-padded
  // with kPadToken when shorter; the rest of a long line is dropped.
  Lines,
  // The whole text as one token stream cut into windows of T + 1 tokens with stride T (every
  // token is predicted once; newlines are tokens); a final partial window is left-padded.
  Stream,
};

struct TextConfig {
  int64_t sequence_length = 128;  // T
  TextSampling sampling = TextSampling::Lines;
};

// Builds next-token samples: for a window w of T + 1 ids, x = w[0:T], y = w[1:T+1]. Positions
// whose target is padding have y == kPadToken (a trainer may mask them).
// Errors: InvalidArgument if sequence_length < 1; InvalidArgument "source: no text" when no
// sample results (empty input or only empty lines).
Result<Dataset> make_text_dataset(std::string_view text, const TextConfig& config,
                                  std::string_view source);

}  // namespace disco::core
