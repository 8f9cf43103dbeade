// SPDX-License-Identifier: Apache-2.0
#include "core/data/csv.hpp"

#include "core/data/parse_util.hpp"

namespace disco::core {
namespace {

// A cursor over the CSV text that tracks the physical line it is on.
struct Reader {
  std::string_view text;
  std::string_view source;
  char delimiter;
  std::size_t pos = 0;
  int64_t line = 1;

  bool at_end() const { return pos >= text.size(); }

  // Consumes a line end (LF, CRLF or CR) at pos if there is one.
  bool eat_newline() {
    if (pos < text.size() && text[pos] == '\n') {
      ++pos;
      ++line;
      return true;
    }
    if (pos < text.size() && text[pos] == '\r') {
      ++pos;
      if (pos < text.size() && text[pos] == '\n') ++pos;
      ++line;
      return true;
    }
    return false;
  }

  // Reads the record at pos and moves past its line end.
  Result<std::vector<std::string>> record() {
    std::vector<std::string> cells;
    while (true) {
      std::string cell;
      if (pos < text.size() && text[pos] == '"') {
        const int64_t quote_line = line;
        ++pos;
        bool closed = false;
        while (pos < text.size()) {
          const char c = text[pos];
          if (c == '"') {
            if (pos + 1 < text.size() && text[pos + 1] == '"') {
              cell += '"';
              pos += 2;
              continue;
            }
            ++pos;
            closed = true;
            break;
          }
          if (c == '\n' || (c == '\r' && !(pos + 1 < text.size() && text[pos + 1] == '\n'))) ++line;
          cell += c;
          ++pos;
        }
        if (!closed)
          return line_error(Errc::Corruption, source, quote_line, "unterminated quoted field");
        if (pos < text.size() && text[pos] != delimiter && text[pos] != '\n' && text[pos] != '\r')
          return line_error(Errc::Corruption, source, line,
                            "unexpected " + in_quotes(text.substr(pos, 1)) +
                                " after a closing quote (field " +
                                std::to_string(cells.size() + 1) + ")");
      } else {
        while (pos < text.size() && text[pos] != delimiter && text[pos] != '\n' &&
               text[pos] != '\r') {
          cell += text[pos];
          ++pos;
        }
      }
      cells.push_back(std::move(cell));
      if (pos < text.size() && text[pos] == delimiter) {
        ++pos;
        continue;
      }
      eat_newline();
      break;
    }
    return cells;
  }

  // Skips empty lines (nothing but spaces or tabs) before a record.
  void skip_blank_lines() {
    while (pos < text.size()) {
      std::size_t p = pos;
      while (p < text.size() && (text[p] == ' ' || text[p] == '\t')) ++p;
      if (p < text.size() && text[p] != '\n' && text[p] != '\r') return;
      pos = p;
      if (!eat_newline()) return;  // blanks up to the end of the text
    }
  }
};

}  // namespace

std::optional<std::size_t> CsvTable::column(std::string_view name) const {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  return std::nullopt;
}

Result<std::size_t> CsvTable::require_column(std::string_view name, std::string_view source) const {
  if (auto i = column(name)) return *i;
  std::string names;
  for (const std::string& h : header) names += (names.empty() ? "" : ", ") + h;
  return line_error(Errc::NotFound, source, 0,
                    "no column " + in_quotes(name) + " (columns: " + names + ")");
}

Result<CsvTable> parse_csv(std::string_view text, std::string_view source, CsvOptions options) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  Reader reader{text, source, options.delimiter};
  CsvTable table;
  reader.skip_blank_lines();
  if (reader.at_end()) return line_error(Errc::Corruption, source, 0, "empty CSV: no header row");
  const int64_t header_line = reader.line;
  DISCO_ASSIGN_OR_RETURN(header, reader.record());
  for (std::size_t i = 0; i < header.size(); ++i) {
    const std::string name(trim(header[i]));
    if (name.empty())
      return line_error(Errc::Corruption, source, header_line,
                        "column " + std::to_string(i + 1) + " has an empty name");
    for (std::size_t j = 0; j < i; ++j)
      if (table.header[j] == name)
        return line_error(Errc::Corruption, source, header_line,
                          "duplicate column name " + in_quotes(name));
    table.header.push_back(name);
  }
  while (true) {
    reader.skip_blank_lines();
    if (reader.at_end()) break;
    CsvRow row;
    row.line = reader.line;
    DISCO_ASSIGN_OR_RETURN(cells, reader.record());
    if (cells.size() != table.header.size())
      return line_error(Errc::Corruption, source, row.line,
                        "expected " + std::to_string(table.header.size()) + " fields, found " +
                            std::to_string(cells.size()));
    row.cells = std::move(cells);
    table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace disco::core
