// SPDX-License-Identifier: Apache-2.0
// Tests of the CSV parser: quoting rules, line ends, blank lines, and errors that carry the
// right line number.
#include "core/data/csv.hpp"

#include <gtest/gtest.h>

namespace disco::core {
namespace {

TEST(Csv, ParsesHeaderAndRows) {
  auto t = parse_csv("a,b, c \n1,2,3\n4,5,6\n", "t.csv");
  ASSERT_TRUE(t.has_value()) << t.error().to_string();
  EXPECT_EQ(t->header, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_EQ(t->rows[1].cells, (std::vector<std::string>{"4", "5", "6"}));
  EXPECT_EQ(t->rows[1].line, 3);
  EXPECT_EQ(t->column("c"), 2u);
  EXPECT_FALSE(t->column("d").has_value());
}

TEST(Csv, HandlesQuotesEscapedQuotesAndEmbeddedNewlines) {
  auto t = parse_csv(
      "name,text\n\"Smith, J\",\"say \"\"hi\"\"\"\nx,\"two\nlines\"\ny,\"\"\nz,last\n", "q.csv");
  ASSERT_TRUE(t.has_value()) << t.error().to_string();
  ASSERT_EQ(t->rows.size(), 4u);
  EXPECT_EQ(t->rows[0].cells[0], "Smith, J");
  EXPECT_EQ(t->rows[0].cells[1], "say \"hi\"");
  EXPECT_EQ(t->rows[1].cells[1], "two\nlines");
  EXPECT_EQ(t->rows[2].cells[1], "");
  EXPECT_EQ(t->rows[3].line, 6);  // the quoted newline counts as a line
}

TEST(Csv, AcceptsCrlfBomBlankLinesAndNoFinalNewline) {
  auto t = parse_csv("\xEF\xBB\xBFid,v\r\n\r\n1,a\r\n  \r\n2,\r\n3,c", "w.csv");
  ASSERT_TRUE(t.has_value()) << t.error().to_string();
  EXPECT_EQ(t->header[0], "id");
  ASSERT_EQ(t->rows.size(), 3u);
  EXPECT_EQ(t->rows[0].line, 3);
  EXPECT_EQ(t->rows[1].cells[1], "");
  EXPECT_EQ(t->rows[2].cells[1], "c");
  EXPECT_EQ(t->rows[2].line, 6);
}

TEST(Csv, SupportsOtherDelimiters) {
  auto t = parse_csv("a;b\n1,5;2\n", "s.csv", CsvOptions{';'});
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->rows[0].cells[0], "1,5");
}

TEST(Csv, RejectsRaggedRowWithLineNumber) {
  auto t = parse_csv("a,b,c\n1,2,3\n\n4,5\n", "data/x.csv");
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, Errc::Corruption);
  EXPECT_EQ(t.error().message, "data/x.csv:4: expected 3 fields, found 2");
}

TEST(Csv, RejectsUnterminatedQuoteAtItsStartLine) {
  auto t = parse_csv("a,b\n1,\"open\n2,3\n", "u.csv");
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().message, "u.csv:2: unterminated quoted field");
}

TEST(Csv, RejectsTextAfterClosingQuote) {
  auto t = parse_csv("a,b\n\"x\"y,2\n", "g.csv");
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().message, "g.csv:2: unexpected 'y' after a closing quote (field 1)");
}

TEST(Csv, RejectsEmptyInputAndBadHeaders) {
  EXPECT_EQ(parse_csv("", "e.csv").error().message, "e.csv: empty CSV: no header row");
  EXPECT_EQ(parse_csv("\n\n", "e.csv").error().code, Errc::Corruption);
  EXPECT_EQ(parse_csv("a,,c\n", "h.csv").error().message, "h.csv:1: column 2 has an empty name");
  EXPECT_EQ(parse_csv("a,b,a\n", "h.csv").error().message, "h.csv:1: duplicate column name 'a'");
}

TEST(Csv, RequireColumnNamesTheColumns) {
  auto t = parse_csv("x,y\n", "r.csv");
  ASSERT_TRUE(t.has_value());
  EXPECT_TRUE(t->rows.empty());
  auto c = t->require_column("z", "r.csv");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, Errc::NotFound);
  EXPECT_EQ(c.error().message, "r.csv: no column 'z' (columns: x, y)");
}

}  // namespace
}  // namespace disco::core
