#include "projections/csv.h"

#include <gtest/gtest.h>

#include <sstream>

namespace provledger {
namespace {

std::vector<std::vector<std::string>> ReadAll(const std::string& text,
                                              std::vector<size_t>* lines = nullptr,
                                              std::vector<std::string>* errors = nullptr) {
  std::istringstream in(text);
  CsvReader reader(in);
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> fields;
  std::string error;
  while (reader.Next(&fields, &error)) {
    out.push_back(fields);
    if (lines) lines->push_back(reader.line());
    if (errors) errors->push_back(error);
  }
  return out;
}

TEST(CsvTest, QuotesCommasCrlfAndBom) {
  std::vector<size_t> lines;
  auto rows = ReadAll(
      "\xEF\xBB\xBFGroup PAC ID,Name\r\n"
      "1,\"Riverbend, PLLC\"\r\n"
      "2,\"He said \"\"hi\"\"\"\r\n"
      "3,\"two\nlines\"\r\n"
      "4,\r\n",
      &lines);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"Group PAC ID", "Name"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"1", "Riverbend, PLLC"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"2", "He said \"hi\""}));
  EXPECT_EQ(rows[3], (std::vector<std::string>{"3", "two\nlines"}));
  EXPECT_EQ(rows[4], (std::vector<std::string>{"4", ""}));
  EXPECT_EQ(lines, (std::vector<size_t>{1, 2, 3, 4, 6}));
}

TEST(CsvTest, Latin1BecomesUtf8AndUtf8IsKept) {
  auto rows = ReadAll("JOS\xC9,Jos\xC3\xA9\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "JOS\xC3\x89");
  EXPECT_EQ(rows[0][1], "Jos\xC3\xA9");
}

TEST(CsvTest, UnterminatedQuoteIsReported) {
  std::vector<std::string> errors;
  auto rows = ReadAll("a,\"never closed\nb,c\n", nullptr, &errors);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(errors[0], "a quoted field is never closed");
}

TEST(CsvTest, NormalizeHeader) {
  EXPECT_EQ(NormalizeHeader("Group Legal_Business Name"),
            "group legal business name");
  EXPECT_EQ(NormalizeHeader("  Individual  NPI "), "individual npi");
  EXPECT_EQ(NormalizeHeader("PECOS_ASCT_CNTL_ID"), "pecos asct cntl id");
}

}  // namespace
}  // namespace provledger
