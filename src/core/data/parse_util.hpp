// SPDX-License-Identifier: Apache-2.0
// Small text helpers shared by the data parsers: error locations ("path:17: ..."), trimming and
// locale-independent number parsing (strtod; never std::stod, which throws, nor floating
// from_chars, which em++'s libc++ lacks). Internal to src/core/data.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/base/result.hpp"

namespace disco::core {

// "source:line: message", or "source: message" when line <= 0.
std::string at_line(std::string_view source, int64_t line, std::string_view message);
inline Error line_error(Errc code, std::string_view source, int64_t line,
                        std::string_view message) {
  return make_error(code, at_line(source, line, message));
}

// s without leading and trailing spaces and tabs.
std::string_view trim(std::string_view s);

// The finite decimal number that all of (trimmed) s spells, or nullopt ("", "abc", "1x", "nan",
// "inf", hex floats are rejected).
std::optional<double> parse_number(std::string_view s);

// Shortest round-trippable decimal for a double ("%.17g" trimmed), for messages and JSON-free
// output.
std::string format_number(double v);

// Bytes viewed as text, without copying; the bytes must outlive the view.
inline std::string_view as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}
inline std::span<const std::byte> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

// "'x'" with non-printable bytes escaped and long values cut, for quoting user data in messages.
std::string in_quotes(std::string_view value);

}  // namespace disco::core
