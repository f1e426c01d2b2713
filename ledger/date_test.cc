#include "ledger/date.h"

#include <gtest/gtest.h>

namespace provledger {
namespace {

TEST(DateTest, RoundTripsIsoDates) {
  auto d = ParseDate("2024-02-29");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(FormatDate(*d), "2024-02-29");
  EXPECT_EQ(*ParseDate("1970-01-01"), 0);
  EXPECT_EQ(*ParseDate("1970-01-02"), 1);
  EXPECT_EQ(*ParseDate("1969-12-31"), -1);
}

TEST(DateTest, RejectsDaysThatDoNotExist) {
  auto d = ParseDate("2023-02-29");
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d.status().message(), "'2023-02-29' is not a real calendar day");
  EXPECT_FALSE(ParseDate("2024-13-01").ok());
  EXPECT_FALSE(ParseDate("2024-04-31").ok());
  EXPECT_FALSE(ParseDate("2024-00-10").ok());
}

TEST(DateTest, RejectsOtherShapes) {
  for (const char* bad : {"2024-1-01", "20240101", "2024/01/01", "", "abcd-ef-gh",
                          "2024-01-01T00:00:00Z", " 2024-01-01"}) {
    auto d = ParseDate(bad);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ParseDate("1899-12-31").status().message(),
            "'1899-12-31' has a year outside 1900-2199");
}

TEST(DateTest, ParsesUsDates) {
  EXPECT_EQ(FormatDate(*ParseUsDate("04/30/2027")), "2027-04-30");
  EXPECT_FALSE(ParseUsDate("02/30/2027").ok());
  EXPECT_FALSE(ParseUsDate("TBD").ok());
  EXPECT_FALSE(ParseUsDate("4/30/2027").ok());
}

}  // namespace
}  // namespace provledger
