// Compliance review tooling: digests, replay, HTML reports, filters.
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ledger/internal/coding.h"
#include "ledger/hash.h"
#include "ledger/internal/raw_access.h"
#include "ledger/ledger.h"
#include "rocksdb/db.h"
#include "tests/cli_support.h"
#include "google/protobuf/util/time_util.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "tools/service/event_json.h"

namespace provledger {
namespace {

using namespace provledger::testing;

class ReviewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.Sub("db");
    ASSERT_EQ(Run("init").exit_code, 0);
    ASSERT_EQ(Run(absl::StrCat("append ", PROVLEDGER_DEMO_EVENTS)).exit_code, 0);
  }
  RunResult Run(const std::string& args) {
    return RunCli(dir_, "--db " + db_ + " " + args);
  }
  std::vector<std::string> Lines(const std::string& text) {
    return absl::StrSplit(text, '\n', absl::SkipEmpty());
  }
  TempDir dir_;
  std::string db_;
};

TEST_F(ReviewTest, DigestRoundTripAndExtension) {
  RunResult digest = Run("digest");
  ASSERT_EQ(digest.exit_code, 0);
  const std::string token(absl::StripTrailingAsciiWhitespace(digest.out));
  EXPECT_TRUE(absl::StartsWith(token, "26:")) << token;
  EXPECT_EQ(token.size(), 3u + 64u);
  RunResult ok = Run("verify --digest " + token);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_TRUE(absl::StrContains(ok.out, "digest " + token + " verified"));
  // Appending more keeps the digested prefix.
  WriteFile(dir_.Sub("more.jsonl"),
            R"({"event_id":"more","effective_date":"2024-06-01","source":"s","credentialed":{"npi":"1234567893","payer":"medicare"}})"
            "\n");
  ASSERT_EQ(Run("append " + dir_.Sub("more.jsonl")).exit_code, 0);
  EXPECT_EQ(Run("verify --digest " + token).exit_code, 0);
  // Malformed digests are bad input.
  RunResult bad = Run("verify --digest 26:xyz");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(bad.err, "is not a digest")) << bad.err;
}

TEST_F(ReviewTest, DigestDetectsARewrittenPrefixEvenWithAConsistentChain) {
  const std::string token(absl::StripTrailingAsciiWhitespace(Run("digest").out));
  {
    // A careful forger changes seq 3 and recomputes every later hash, so the
    // chain itself verifies.
    auto ledger = Ledger::Open(LedgerOptions(), db_);
    ASSERT_TRUE(ledger.ok());
    rocksdb::DB* db = LedgerInternals::Db(**ledger);
    Hash prev{};
    for (uint64_t seq = 1; seq <= 26; ++seq) {
      std::string value;
      ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), LedgerInternals::EventsCf(**ledger),
                          EncodeSeq(seq), &value).ok());
      std::string bytes = value.substr(kHashSize);
      if (seq == 3) {
        v1::Event e;
        ASSERT_TRUE(e.ParseFromString(bytes));
        e.set_effective_date("2018-07-01");  // a year earlier
        bytes = e.SerializeAsString();
      }
      Hash h = ChainHash(prev, bytes);
      std::string rewritten(reinterpret_cast<const char*>(h.data()), h.size());
      rewritten += bytes;
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), LedgerInternals::EventsCf(**ledger),
                          EncodeSeq(seq), rewritten).ok());
      prev = h;
    }
  }
  RunResult chain = Run("verify --chain-only");
  EXPECT_EQ(chain.exit_code, 0) << chain.err;  // the chain alone cannot tell
  RunResult r = Run("verify --chain-only --digest " + token);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StartsWith(
      r.err, "provledger: verify FAILED: the event at seq 26 has hash "))
      << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "the history up to that point was rewritten"));
}

TEST_F(ReviewTest, DigestDetectsRemovedEvents) {
  const std::string token(absl::StripTrailingAsciiWhitespace(Run("digest").out));
  {
    auto ledger = Ledger::Open(LedgerOptions(), db_);
    ASSERT_TRUE(ledger.ok());
    ASSERT_TRUE(LedgerInternals::Db(**ledger)->Delete(rocksdb::WriteOptions(),
                                            LedgerInternals::EventsCf(**ledger),
                                            EncodeSeq(26)).ok());
  }
  RunResult r = Run("verify --chain-only --digest " + token);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "provledger: verify FAILED: the digest names seq 26 but the log "
            "ends at seq 25: events were removed\n");
}

TEST_F(ReviewTest, ReplayEqualsALedgerBuiltFromTheTruncatedExport) {
  WriteFile(dir_.Sub("more.jsonl"),
            R"({"event_id":"later","effective_date":"2024-06-01","source":"s","credentialed":{"npi":"1234567893","payer":"medicare"}})"
            "\n");
  ASSERT_EQ(Run("append " + dir_.Sub("more.jsonl")).exit_code, 0);
  const std::vector<std::string> full = Lines(Run("export").out);
  ASSERT_EQ(full.size(), 27u);

  const std::string past = dir_.Sub("past");
  RunResult r = Run("replay --until-seq 20 --into " + past);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out, "replayed 20 event(s) into ")) << r.out;
  // Identical events, recorded_at and hashes.
  RunResult exported = RunCli(dir_, "--db " + past + " export");
  EXPECT_EQ(Lines(exported.out),
            std::vector<std::string>(full.begin(), full.begin() + 20));
  // Every query works on it and answers as the original did at seq 20.
  EXPECT_EQ(RunCli(dir_, "--db " + past + " verify").exit_code, 0);
  EXPECT_EQ(RunCli(dir_, "--db " + past + " asof --date 2024-03-10 --format csv").out,
            Run("asof --date 2024-03-10 --known-seq 20 --format csv").out);
  // The same ledger built by importing the truncated export.
  WriteFile(dir_.Sub("prefix.jsonl"),
            absl::StrJoin(full.begin(), full.begin() + 20, "\n") + "\n");
  const std::string imported = dir_.Sub("imported");
  ASSERT_EQ(RunCli(dir_, "--db " + imported + " init").exit_code, 0);
  ASSERT_EQ(RunCli(dir_, "--db " + imported + " import " + dir_.Sub("prefix.jsonl"))
                .exit_code,
            0);
  std::vector<std::pair<std::string, std::string>> a, b;
  {
    auto l1 = Ledger::Open(LedgerOptions(), past);
    auto l2 = Ledger::Open(LedgerOptions(), imported);
    ASSERT_TRUE(l1.ok() && l2.ok());
    a = *LedgerInternals::DumpProjections(*(*l1));
    b = *LedgerInternals::DumpProjections(*(*l2));
  }
  EXPECT_EQ(a, b);

  // By time: everything recorded up to the demo batch's recorded_at.
  auto demo_last = ParseEventJson(full[25]);
  ASSERT_TRUE(demo_last.ok());
  const std::string t = google::protobuf::util::TimeUtil::ToString(
      demo_last->recorded_at());
  RunResult by_time = Run("replay --until-time " + t + " --into " + dir_.Sub("t"));
  EXPECT_EQ(by_time.exit_code, 0) << by_time.err;
  EXPECT_TRUE(absl::StartsWith(by_time.out, "replayed 26 event(s)")) << by_time.out;

  RunResult exists = Run("replay --until-seq 5 --into " + past);
  EXPECT_EQ(exists.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(exists.err, "already exists")) << exists.err;
  EXPECT_EQ(Run("replay --until-seq 99 --into " + dir_.Sub("x")).err,
            "provledger: --until-seq: 99 is beyond the head (27)\n");
}

TEST_F(ReviewTest, ReportShowsBarsMarkersVoidsAndBackdating) {
  const std::string out = dir_.Sub("chen.html");
  RunResult r = Run("report --provider 1526374859 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = ReadFile(out);
  // Self-contained: no scripts, no external assets.
  EXPECT_FALSE(absl::StrContains(html, "<script"));
  EXPECT_FALSE(absl::StrContains(html, "src="));
  EXPECT_FALSE(absl::StrContains(html, "href="));
  // One row per relationship: enrollment, credential, association,
  // reassignment.
  EXPECT_EQ(std::count(html.begin(), html.end(), '\x01'), 0);
  size_t rows = 0;
  for (size_t p = 0; (p = html.find("<g class=\"row ", p)) != std::string::npos; ++p) ++rows;
  EXPECT_EQ(rows, 4u);
  EXPECT_TRUE(absl::StrContains(
      html, "class=\"bar reassignment backdated-end\" data-kind=\"reassignment\" "
            "data-start=\"2022-03-01\" data-end=\"2024-02-29\""))
      << html;
  EXPECT_TRUE(absl::StrContains(
      html, "class=\"bar enrollment open\" data-kind=\"enrollment\" "
            "data-start=\"2018-01-15\" data-end=\"\""));
  EXPECT_TRUE(absl::StrContains(
      html, "<g class=\"event backdated\" data-seq=\"25\" data-date=\"2024-02-29\">"));
  EXPECT_TRUE(absl::StrContains(html, "backdated (81 days)"));
  EXPECT_TRUE(absl::StrContains(html, "<g class=\"tick\" data-date=\"2020-01-01\">"));
  EXPECT_TRUE(absl::StrContains(html, "actor k.osei@riverbend"));

  // Before the late termination was recorded: the reassignment is open.
  ASSERT_EQ(Run("report --provider 1526374859 --known-seq 24 --out " + out).exit_code, 0);
  const std::string before = ReadFile(out);
  EXPECT_TRUE(absl::StrContains(
      before, "class=\"bar reassignment open\" data-kind=\"reassignment\" "
              "data-start=\"2022-03-01\" data-end=\"\""));
  EXPECT_FALSE(absl::StrContains(before, "data-seq=\"25\""));

  // Voided events are struck through; the organization view.
  ASSERT_EQ(Run("report --org 1407201544 --out " + out).exit_code, 0);
  const std::string org = ReadFile(out);
  EXPECT_TRUE(absl::StrContains(
      org, "<g class=\"event voided\" data-seq=\"18\" data-date=\"2024-01-15\">"));
  EXPECT_TRUE(absl::StrContains(org, "<line class=\"strike\""));
  EXPECT_TRUE(absl::StrContains(org, "<tr class=\"voided\"><td>18</td>"));
  EXPECT_TRUE(absl::StrContains(org, "Reassignment ← 1637485966 · medicare"));

  RunResult neither = Run("report --out " + out);
  EXPECT_EQ(neither.exit_code, 2);
  RunResult unknown = Run("report --provider 1748596073 --out " + out);
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err, "provledger: the ledger holds nothing about 1748596073\n");
}

TEST_F(ReviewTest, HistoryAndExportFilterByActorAndSource) {
  // Counted in tools/demo_events.jsonl with grep.
  EXPECT_EQ(Lines(Run("export --actor d.romero@lakeside").out).size(), 10u);
  EXPECT_EQ(Lines(Run("export --source CMS-855R").out).size(), 9u);
  EXPECT_EQ(Lines(Run("export --actor m.alvarez --source \"Cigna provider agreement\"").out).size(), 1u);
  EXPECT_EQ(Lines(Run("history --provider 1526374859 --source \"CMS-855R termination\" --format csv").out).size(),
            3u);  // header + 2
}

}  // namespace
}  // namespace provledger
