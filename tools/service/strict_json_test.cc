#include "tools/service/strict_json.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "provledger/v1/api.pb.h"
#include "provledger/v1/events.pb.h"
#include "tools/service/event_json.h"

namespace provledger {
namespace {

TEST(StrictJsonTest, RefusesWhatProtobufWouldSilentlyAlter) {
  // Protobuf's parser accepts most of these and would store something
  // other than what was written; the last it refuses, in the same words.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"event_id":"x","source":"C:\dir"})",
       "not valid JSON at column 30: a backslash starts an escape JSON does "
       "not have (write \\\\ for a backslash, \\\" for a quote)"},
      {R"({"event_id":"x","event_id":"   "})",
       "event_id: is given twice (give each field once)"},
      {R"({"event_id":"x","reassigned":{"payer":"a","payer":"b"}})",
       "reassigned.payer: is given twice (give each field once)"},
      {R"({"event_id":"x","eventId":"y"})",
       "eventId: write it as event_id (field names are as in events.proto, "
       "snake_case)"},
      {R"({"event_id":"x","reassigned":{"orgNpi":"1245319599"}})",
       "reassigned.orgNpi: write it as reassigned.org_npi "
       "(field names are as in events.proto, snake_case)"},
      {R"({"event_id":"x","contract_signed":{"covered_npis":"1234567893"}})",
       "contract_signed.covered_npis: is a list; write its values in [ ], "
       "even one"},
      {"{\"event_id\":\"x\",\"source\":\"a\tb\"}",
       "not valid JSON at column 28: a control character inside a string "
       "must be escaped (write \\t for a tab)"},
      {"{\"event_id\":\"x\",\"source\":\"\xff\"}",
       "not valid JSON at column 27: the text is not UTF-8"},
  };
  for (const auto& [line, message] : cases) {
    SCOPED_TRACE(line);
    absl::Status s = CheckStrictJson(line, v1::Event::descriptor());
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << line;
    EXPECT_EQ(std::string(s.message()), message) << line;
    // And the event parser refuses the line with the same sentence.
    auto parsed = ParseEventJson(line);
    ASSERT_FALSE(parsed.ok()) << line;
    EXPECT_EQ(std::string(parsed.status().message()), message) << line;
  }
}

TEST(StrictJsonTest, AcceptsStrictJsonAsWritten) {
  const std::string line =
      R"({"event_id":"x","source":"C:\\dir \"q\" \u00e9\ttab",)"
      R"("contract_signed":{"covered_npis":["1234567893","1245319599"]},)"
      R"("effective_date":null})";
  EXPECT_TRUE(CheckStrictJson(line, v1::Event::descriptor()).ok());
  auto parsed = ParseEventJson(line);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->source(), "C:\\dir \"q\" \xc3\xa9\ttab");
  EXPECT_EQ(parsed->contract_signed().covered_npis_size(), 2);
  // The same key in two different objects is not a repeat.
  EXPECT_TRUE(CheckStrictJson(
                  R"({"reassigned":{"payer":"a"},"x":{"payer":"b"}})",
                  v1::Event::descriptor())
                  .ok());
  // Keys that are no field are left to protobuf's parser, which names them.
  EXPECT_TRUE(CheckStrictJson(R"({"bogus":{"eventId":1,"eventId":[2]}})",
                              v1::Event::descriptor())
                  .code() == absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckStrictJson(R"({"bogus":{"eventId":1}})",
                              v1::Event::descriptor())
                  .ok());
}

TEST(StrictJsonTest, ChecksRequestBodiesByTheirOwnMessage) {
  absl::Status s = CheckStrictJson(R"({"npi":"1","npi":"2"})",
                                   v1::HistoryRequest::descriptor());
  EXPECT_EQ(std::string(s.message()), "npi: is given twice (give each field once)");
  s = CheckStrictJson(R"({"dateOfService":"2024-01-01"})",
                      v1::ReportRequest::descriptor());
  EXPECT_EQ(std::string(s.message()),
            "dateOfService: write it as date_of_service (field names are as "
            "in api.proto, snake_case)");
  s = CheckStrictJson(R"({"npi":"1"} {"npi":"2"})",
                      v1::HistoryRequest::descriptor());
  EXPECT_EQ(std::string(s.message()),
            "not valid JSON at column 13: there is more after the end of the "
            "object");
}

}  // namespace
}  // namespace provledger
