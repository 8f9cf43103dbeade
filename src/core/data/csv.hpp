// SPDX-License-Identifier: Apache-2.0
// CSV parsing, RFC 4180 with the usual leniencies: fields separated by a delimiter (',' by
// default), optionally quoted with '"' (a quoted field may hold delimiters, newlines and "" for
// one quote), records ended by LF or CRLF (a lone CR too), a UTF-8 BOM ignored, and blank lines
// (nothing but spaces or tabs) skipped. The first record is the header. Every record remembers the
// physical line it starts on, so later stages (tabular.hpp, image labels) can report "path:17:
// ...". Cells are kept as raw strings; typing is tabular.hpp's job.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.hpp"

namespace disco::core {

struct CsvRow {
  int64_t line = 0;  // 1-based line on which the record starts
  std::vector<std::string> cells;
};

// Invariant: every row has header.size() cells.
struct CsvTable {
  std::vector<std::string> header;  // column names, trimmed of spaces and tabs
  std::vector<CsvRow> rows;

  // Index of the column named `name` (exact match), or nullopt.
  std::optional<std::size_t> column(std::string_view name) const;
  // Like column(), but NotFound "source: no column 'x' (columns: a, b, c)" when absent.
  Result<std::size_t> require_column(std::string_view name, std::string_view source) const;
};

struct CsvOptions {
  char delimiter = ',';
};

// Parses a whole CSV text. `source` names the input in errors.
// Errors (all Corruption, with the line number): empty input or no header; an empty or
// duplicate column name in the header; a record whose number of fields differs from the
// header's ("path:17: expected 12 fields, found 11"); an unterminated quoted field (reported at
// the line where it starts); a character other than a delimiter or line end after a closing
// quote.
Result<CsvTable> parse_csv(std::string_view text, std::string_view source, CsvOptions options = {});

}  // namespace disco::core
