// Acceptance tests of the point-in-time commands on the bundled demo ledger.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "ledger/internal/coding.h"
#include "ledger/internal/keys.h"
#include "ledger/internal/raw_access.h"
#include "ledger/ledger.h"
#include "rocksdb/db.h"
#include "tests/cli_support.h"

namespace provledger {
namespace {

using namespace provledger::testing;

class CliQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.Sub("db");
    ASSERT_EQ(RunCli(dir_, "--db " + db_ + " init").exit_code, 0);
    RunResult r = RunCli(dir_, absl::StrCat("--db ", db_, " append ",
                                            PROVLEDGER_DEMO_EVENTS));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  RunResult Run(const std::string& args) {
    return RunCli(dir_, "--db " + db_ + " " + args);
  }
  // Every projection entry of the ledger at db_ (empty, with a failure
  // recorded, if it cannot be read).
  std::vector<std::pair<std::string, std::string>> Projections() {
    auto ledger = Ledger::Open(LedgerOptions(), db_);
    if (!ledger.ok()) {
      ADD_FAILURE() << ledger.status();
      return {};
    }
    auto dump = LedgerInternals::DumpProjections(**ledger);
    if (!dump.ok()) {
      ADD_FAILURE() << dump.status();
      return {};
    }
    return *dump;
  }
  TempDir dir_;
  std::string db_;
};

TEST_F(CliQueryTest, EveryQueryCommandHasHelp) {
  for (const char* cmd :
       {"asof", "history", "diff", "claim-check", "rebuild", "compact",
        "stats"}) {
    RunResult r = RunCli(dir_, absl::StrCat(cmd, " --help"));
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_TRUE(absl::StrContains(r.out, "Usage")) << cmd;
  }
}

TEST_F(CliQueryTest, AsOfAsKnownNowAndBeforeTheLateTermination) {
  RunResult now = Run("asof --date 2024-03-10 --org 1245319599 --format csv");
  EXPECT_EQ(now.exit_code, 0) << now.err;
  EXPECT_EQ(now.out,
            "provider,org,payer,effective_from,effective_until,start_seq,end_seq,"
            "note\n"
            "1234567893,1245319599,medicare,2023-01-01,,12,,\n");
  RunResult then = Run(
      "asof --date 2024-03-10 --org 1245319599 --known-seq 24 --format csv");
  EXPECT_EQ(then.out,
            "provider,org,payer,effective_from,effective_until,start_seq,end_seq,"
            "note\n"
            "1234567893,1245319599,medicare,2023-01-01,,12,,\n"
            "1526374859,1245319599,medicare,2022-03-01,,16,,\n");
  RunResult table = Run("asof --date 2024-03-10 --provider 1234567893");
  EXPECT_EQ(table.out,
            "Reassignments in effect on 2024-03-10, as known now (seq 26):\n"
            "provider    org         payer     effective_from  "
            "effective_until  start_seq  end_seq  note\n"
            "1234567893  1245319599  medicare  2023-01-01                       "
            "12                  \n"
            "1234567893  1407201544  medicare  2023-06-01                       "
            "14                  \n");
  RunResult json = Run("asof --date 2021-01-01 --format json");
  EXPECT_EQ(json.out,
            "{\"date\":\"2021-01-01\",\"known_seq\":\"26\",\"reassignments\":[],"
            "\"warnings\":[]}\n");
}

TEST_F(CliQueryTest, KnownAtTimestampBeforeTheFirstRecordSeesNothing) {
  RunResult r = Run(
      "asof --date 2024-03-10 --known-at 2000-01-01T00:00:00Z --format csv");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "provider,org,payer,effective_from,effective_until,start_seq,end_seq,"
            "note\n");
  RunResult future = Run(
      "asof --date 2024-03-10 --known-at 2999-01-01T00:00:00Z --format csv");
  EXPECT_TRUE(absl::StrContains(future.out, "1637485966")) << future.out;
}

TEST_F(CliQueryTest, BadQueryInputIsAClearError) {
  RunResult date = Run("asof --date 2024-02-30");
  EXPECT_EQ(date.exit_code, 2);
  EXPECT_EQ(date.err,
            "provledger: --date: '2024-02-30' is not a real calendar day\n");
  RunResult known = Run("asof --date 2024-02-01 --known-at yesterday");
  EXPECT_EQ(known.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(known.err, "--known-at: 'yesterday' is not"))
      << known.err;
  RunResult seq = Run("asof --date 2024-02-01 --known-seq 99");
  EXPECT_EQ(seq.exit_code, 2);
  EXPECT_EQ(seq.err, "provledger: --known-seq: 99 is beyond the head (26)\n");
  RunResult npi = Run("asof --date 2024-02-01 --provider 1234567890");
  EXPECT_EQ(npi.exit_code, 2);
  RunResult format = Run("stats --format xml");
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_EQ(format.err,
            "provledger: --format: 'xml' is not table, json or csv\n");
}

TEST_F(CliQueryTest, ClaimCheckExitCodesAndCodes) {
  RunResult denied = Run(
      "claim-check --rendering 1526374859 --billing 1245319599 --payer "
      "medicare --dos 2024-03-10 --format json");
  EXPECT_EQ(denied.exit_code, 3);
  EXPECT_TRUE(absl::StartsWith(
      denied.out,
      "{\"result\":\"denied\",\"known_seq\":\"26\",\"findings\":[{\"code\":"
      "\"NOT_ASSOCIATED\""))
      << denied.out;
  EXPECT_TRUE(absl::StrContains(denied.out, "\"code\":\"REASSIGNMENT_ENDED\""));
  RunResult payable = Run(
      "claim-check --rendering 1526374859 --billing 1245319599 --payer "
      "medicare --dos 2024-03-10 --known-seq 24");
  EXPECT_EQ(payable.exit_code, 0);
  EXPECT_TRUE(absl::StartsWith(payable.out, "payable: ")) << payable.out;
  RunResult self = Run(
      "claim-check --rendering 1234567893 --billing 1234567893 --payer cigna "
      "--dos 2024-03-10 --format csv");
  EXPECT_EQ(self.exit_code, 0);
  EXPECT_EQ(self.out, "result,severity,code,message\npayable,,,\n");
  RunResult mismatch = Run(
      "claim-check --rendering 1637485966 --billing 1407201544 --payer "
      "medicare --dos 2024-02-01 --known-seq 18 --format csv");
  EXPECT_EQ(mismatch.exit_code, 3);
  EXPECT_EQ(mismatch.out,
            "result,severity,code,message\n"
            "denied,denial,GROUP_DATA_MISMATCH,the reassignment (seq 18) names "
            "TIN 310928347 but 1407201544's enrollment record on 2024-02-01 "
            "has TIN 310928374\n");
  EXPECT_EQ(Run("claim-check --rendering 1637485966 --billing 1407201544 "
                "--payer medicare --dos 2024-02-01")
                .exit_code,
            0);
}

TEST_F(CliQueryTest, AClaimCheckNamesItsSourcesAndVerifiesThemOnRequest) {
  const std::string chen =
      "claim-check --rendering 1526374859 --billing 1245319599 --payer "
      "medicare --dos 2024-03-10";
  RunResult denied = Run(chen);
  EXPECT_EQ(denied.exit_code, 3);
  // Chen's and the group's enrollments (4, 1), credentialing (7), the
  // group's contract (9), association (15, ended by 26) and reassignment
  // (16, revoked by 25); not the group's revalidation (21), which a claim
  // check does not read.
  EXPECT_TRUE(absl::EndsWith(denied.out,
                             "  rests on seqs 1, 4, 7, 9, 15, 16, 25, 26\n"))
      << denied.out;
  RunResult earlier = Run(chen + " --known-seq 24");
  EXPECT_TRUE(absl::EndsWith(earlier.out, "  rests on seqs 1, 4, 7, 9, 15, 16\n"))
      << earlier.out;
  RunResult verified = Run(chen + " --verify-sources");
  EXPECT_EQ(verified.exit_code, 3);
  EXPECT_TRUE(absl::EndsWith(
      verified.out,
      "  rests on seqs 1, 4, 7, 9, 15, 16, 25, 26 (re-hashed against the "
      "chain; the timelines re-derived from them agree)\n"))
      << verified.out;

  // Chen's departure erased from the projections: his association and
  // reassignment replaced by copies of Alvarez's, which are in effect.
  {
    auto ledger = Ledger::Open(LedgerOptions(), db_);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    rocksdb::DB* db = LedgerInternals::Db(**ledger);
    rocksdb::ColumnFamilyHandle* cf = LedgerInternals::TimelinesCf(**ledger);
    for (Relation r : {Relation::kAssociation, Relation::kReassignment}) {
      std::string value;
      ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), cf,
                          PairKey(r, "1234567893", "1245319599", "medicare"),
                          &value)
                      .ok());
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf,
                          PairKey(r, "1526374859", "1245319599", "medicare"),
                          value)
                      .ok());
    }
  }
  RunResult fooled = Run(chen);
  EXPECT_EQ(fooled.exit_code, 0) << fooled.out;
  RunResult refused = Run(chen + " --verify-sources");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.out, "");
  EXPECT_EQ(refused.err,
            "provledger: the association timeline of 1526374859 with 1245319599 "
            "at medicare differs from what the events in the log give: the "
            "projections were altered; rebuild them from the log\n"
            "provledger: check the log first (provledger verify --chain-only), "
            "then run provledger rebuild\n");
  ASSERT_EQ(Run("rebuild").exit_code, 0);
  EXPECT_EQ(Run(chen + " --verify-sources").out, verified.out);

  // An event the answer rests on, altered in the log.
  {
    auto ledger = Ledger::Open(LedgerOptions(), db_);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    rocksdb::DB* db = LedgerInternals::Db(**ledger);
    rocksdb::ColumnFamilyHandle* cf = LedgerInternals::EventsCf(**ledger);
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), cf, EncodeSeq(16), &value).ok());
    value[value.size() - 2] ^= 0x01;
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf, EncodeSeq(16), value).ok());
  }
  RunResult altered = Run(chen + " --verify-sources");
  EXPECT_EQ(altered.exit_code, 1);
  EXPECT_EQ(altered.err,
            "provledger: event 16 does not verify against the hash chain (its "
            "stored hash is not SHA-256(prev_hash || stored bytes)): the log "
            "was altered\n");
}

TEST_F(CliQueryTest, GroupMinimumFromThePayerRulesFile) {
  WriteFile(dir_.Sub("rules.csv"), "payer,min_group_providers\nmedicare,3\n");
  RunResult r = Run("asof --date 2024-03-10 --org 1407201544 --payer-rules " +
                    dir_.Sub("rules.csv"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(
      r.out,
      "warning GROUP_BELOW_MINIMUM: group contract PAR-310928374 of "
      "1407201544 covers 2 reassigned provider(s) on 2024-03-10; medicare "
      "requires at least 3\n"))
      << r.out;
  // Wherever the group's reassignments are listed, in every format.
  const std::string rules = " --payer-rules " + dir_.Sub("rules.csv");
  for (const char* filter : {"--payer medicare", "--payer MEDICARE", "",
                             "--provider 1637485966"}) {
    RunResult any = Run(absl::StrCat("asof --date 2024-03-10 ", filter, rules));
    EXPECT_TRUE(absl::StrContains(
        any.out, "warning GROUP_BELOW_MINIMUM: group contract PAR-310928374"))
        << filter << ": " << any.out;
    RunResult json =
        Run(absl::StrCat("asof --date 2024-03-10 --format json ", filter, rules));
    EXPECT_TRUE(absl::StrContains(
        json.out,
        "{\"code\":\"GROUP_BELOW_MINIMUM\",\"message\":\"group "
        "contract PAR-310928374 of 1407201544"))
        << filter << ": " << json.out;
    RunResult csv =
        Run(absl::StrCat("asof --date 2024-03-10 --format csv ", filter, rules));
    EXPECT_TRUE(absl::StrContains(
        csv.err, "warning GROUP_BELOW_MINIMUM: group contract PAR-310928374"))
        << filter << ": " << csv.err;
  }
  // Only Riverbend's reassignments listed: a warning about Riverbend (two
  // providers then), none about Lakeside.
  RunResult riverbend =
      Run("asof --date 2024-03-10 --provider 1526374859 --known-seq 24" + rules);
  EXPECT_TRUE(absl::StrContains(
      riverbend.out,
      "warning GROUP_BELOW_MINIMUM: group contract PAR-274839201 of "
      "1245319599 covers 2 reassigned provider(s) on 2024-03-10"))
      << riverbend.out;
  EXPECT_FALSE(absl::StrContains(riverbend.out, "PAR-310928374"));
  // The ledger directory's payer_rules.csv is the default.
  WriteFile(db_ + "/payer_rules.csv", "payer,min_group_providers\nmedicare,2\n");
  EXPECT_FALSE(absl::StrContains(Run("asof --date 2024-03-10 --org 1407201544").out,
                                 "warning"));
}

TEST_F(CliQueryTest, AsOfMarksReassignmentsWhoseEnrollmentEnded) {
  // Lakeside's Medicare enrollment ends; Dr. Natarajan's reassignment to it
  // was never revoked.
  WriteFile(dir_.Sub("end.jsonl"),
            R"({"event_id":"end-lakeside","effective_date":"2024-03-01","source":"CMS letter","enrollment_ended":{"npi":"1407201544","payer":"medicare","reason":"REVOKED"}})"
            "\n");
  ASSERT_EQ(Run("append " + dir_.Sub("end.jsonl")).exit_code, 0);
  RunResult r = Run("asof --date 2024-03-10 --org 1407201544 --format csv");
  EXPECT_EQ(r.out,
            "provider,org,payer,effective_from,effective_until,start_seq,end_seq,"
            "note\n"
            "1234567893,1407201544,medicare,2023-06-01,,14,,group not enrolled\n"
            "1637485966,1407201544,medicare,2024-01-15,,20,,group not enrolled\n");
  // The day before the end, nothing to mark.
  EXPECT_FALSE(absl::StrContains(
      Run("asof --date 2024-02-29 --org 1407201544 --format csv").out,
      "not enrolled"));
}

TEST_F(CliQueryTest, JsonHasOneTypePerFieldAndLeavesMissingValuesOut) {
  // As in protobuf's JSON mapping (export): seqs are strings, a missing
  // value is absent, never "" or null.
  RunResult asof = Run("asof --date 2024-03-10 --known-seq 24 --org 1245319599 "
                       "--format json");
  EXPECT_EQ(asof.out,
            "{\"date\":\"2024-03-10\",\"known_seq\":\"24\",\"reassignments\":["
            "{\"provider\":\"1234567893\",\"org\":\"1245319599\",\"payer\":"
            "\"medicare\",\"effective_from\":\"2023-01-01\",\"start_seq\":\"12\"},"
            "{\"provider\":\"1526374859\",\"org\":\"1245319599\",\"payer\":"
            "\"medicare\",\"effective_from\":\"2022-03-01\",\"start_seq\":\"16\"}],"
            "\"warnings\":[]}\n");
  RunResult diff = Run("diff --from 2024-01-01 --to 2024-12-31 --format json");
  EXPECT_TRUE(absl::StrContains(diff.out, "\"seq\":\"25\"")) << diff.out;
  RunResult history =
      Run("history --provider 1526374859 --format json --known-seq 16");
  EXPECT_TRUE(absl::StrContains(history.out, "\"seq\":\"16\"")) << history.out;
  EXPECT_FALSE(absl::StrContains(history.out, "\"\"")) << history.out;
  RunResult exported = Run("export --from-seq 26");
  EXPECT_TRUE(absl::StartsWith(exported.out, "{\"seq\":\"26\"")) << exported.out;
  WriteFile(dir_.Sub("roster.csv"),
            "provider_npi,org_npi,payer,effective_date,end_date\n");
  RunResult reconcile = Run("reconcile --roster-format csv --roster " +
                            dir_.Sub("roster.csv") +
                            " --as-of 2024-06-01 --format json");
  EXPECT_FALSE(absl::StrContains(reconcile.out, "null")) << reconcile.out;
  EXPECT_FALSE(absl::StrContains(reconcile.out, "\"line\"")) << reconcile.out;
}

TEST_F(CliQueryTest, NumericFlagsArePlainDecimalAndGivenTextIsNotEmpty) {
  // "010" once meant 8, "0x10" 16, "-1" the largest seq and "" the head.
  for (const char* bad : {"010", "0x10", "-1", "1e3", "+5", "''"}) {
    RunResult r = Run(absl::StrCat("asof --date 2024-03-10 --known-seq ", bad));
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_EQ(r.out, "") << bad;
  }
  RunResult octal = Run("asof --date 2024-03-10 --known-seq 010");
  EXPECT_TRUE(absl::StrContains(
      octal.err,
      "--known-seq: '010' is not a plain decimal number (digits only: no "
      "sign, leading zero or prefix)"))
      << octal.err;
  EXPECT_EQ(Run("asof --date 2024-03-10 --known-seq 10 --format csv").exit_code, 0);
  RunResult negative = RunCli(dir_, "generate --providers -1");
  EXPECT_EQ(negative.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(negative.err, "'-1' is not a plain decimal"))
      << negative.err;
  RunResult batch = Run("import --batch-size -1 /dev/null");
  EXPECT_EQ(batch.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(batch.err, "'-1' is not a plain decimal"))
      << batch.err;
  // An empty digest no longer skips the check.
  RunResult digest = Run("verify --digest ''");
  EXPECT_EQ(digest.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(digest.err, "--digest: is empty")) << digest.err;
  EXPECT_EQ(Run("asof --date 2024-03-10 --known-at ''").exit_code, 2);
}

TEST_F(CliQueryTest, HistoryAsKnownAtAnEarlierPoint) {
  // Seq 18 (Natarajan's mistyped reassignment) was voided by seq 19.
  RunResult now = Run("history --provider 1637485966 --format csv");
  EXPECT_TRUE(absl::StrContains(now.out, ",VOIDED by seq 19,")) << now.out;
  RunResult then = Run("history --provider 1637485966 --known-seq 18 --format csv");
  EXPECT_EQ(then.exit_code, 0) << then.err;
  // Events recorded later are absent, and the later void is not applied.
  EXPECT_FALSE(absl::StrContains(then.out, "VOIDED")) << then.out;
  EXPECT_FALSE(absl::StrContains(then.out, "voids seq")) << then.out;
  EXPECT_FALSE(absl::StrContains(then.out, "\n19,")) << then.out;
  EXPECT_TRUE(absl::StrContains(then.out, "\n18,")) << then.out;
  RunResult table = Run("history --provider 1637485966 --known-seq 18");
  EXPECT_TRUE(absl::StartsWith(
      table.out, "History of 1637485966, as known at seq 18 recorded "))
      << table.out;
  EXPECT_EQ(Run("history --provider 1637485966 --known-seq 99").err,
            "provledger: --known-seq: 99 is beyond the head (26)\n");
}

TEST_F(CliQueryTest, KnownAtReadsLocalTimesInTheTimeZone) {
  // When the demo was recorded, in Chicago's local time.
  RunResult exported = Run("export --from-seq 26");
  const std::string marker = "\"recorded_at\":\"";
  const size_t at = exported.out.find(marker);
  ASSERT_NE(at, std::string::npos) << exported.out;
  absl::Time recorded;
  std::string err;
  ASSERT_TRUE(absl::ParseTime(
      absl::RFC3339_full,
      exported.out.substr(at + marker.size(),
                          exported.out.find('"', at + marker.size()) - at -
                              marker.size()),
      &recorded, &err))
      << err;
  absl::TimeZone chicago;
  ASSERT_TRUE(absl::LoadTimeZone("America/Chicago", &chicago));
  auto local = [&](absl::Duration d) {
    return absl::FormatTime("%Y-%m-%dT%H:%M", recorded + d, chicago);
  };
  // A minute after, in Chicago time: everything; a minute before: nothing.
  const std::string csv = " --format csv --tz America/Chicago";
  EXPECT_TRUE(absl::StrContains(
      Run("asof --date 2024-03-10 --known-at " + local(absl::Minutes(1)) + csv)
          .out,
      "1234567893"));
  EXPECT_EQ(
      Run("asof --date 2024-03-10 --known-at " + local(-absl::Minutes(1)) + csv)
          .out,
      "provider,org,payer,effective_from,effective_until,start_seq,end_seq,"
      "note\n");
  // The same local time read as UTC is hours away from it.
  EXPECT_NE(Run("asof --date 2024-03-10 --format csv --known-at " +
                local(absl::Minutes(1)))
                .out,
            Run("asof --date 2024-03-10 --known-at " + local(absl::Minutes(1)) +
                csv)
                .out);
  // PROVLEDGER_TZ is the default; the zone is shown with the time.
  setenv("PROVLEDGER_TZ", "America/Chicago", 1);
  RunResult env = Run("history --provider 1637485966 --known-seq 18");
  unsetenv("PROVLEDGER_TZ");
  EXPECT_TRUE(absl::StrContains(env.out, " (America/Chicago) (")) << env.out;
  RunResult bad = Run("asof --date 2024-03-10 --tz Mars/Base");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err,
            "provledger: --tz: 'Mars/Base' is not a time zone this system "
            "knows (an IANA name such as America/Chicago, from the tzdata "
            "package)\n");
}

TEST_F(CliQueryTest, HistoryMarksVoidsAndFilters) {
  RunResult r = Run("history --provider 1637485966 --format csv");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, ",VOIDED by seq 19,")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, ",voids seq 18,")) << r.out;
  RunResult cigna = Run("history --provider 1234567893 --payer cigna --format csv");
  // Header plus the three Cigna events.
  EXPECT_EQ(std::count(cigna.out.begin(), cigna.out.end(), '\n'), 4) << cigna.out;
  RunResult by_actor =
      Run("history --provider 1234567893 --actor m.alvarez --format csv");
  EXPECT_EQ(std::count(by_actor.out.begin(), by_actor.out.end(), '\n'), 4);
}

TEST_F(CliQueryTest, AnIndividualsTinIsMaskedUnlessAskedFor) {
  // An individual's TIN is often an SSN: history and report show its last
  // four digits unless --show-tins; export (the backup format) keeps it.
  WriteFile(dir_.Sub("tin.jsonl"),
            "{\"event_id\":\"dem-alvarez\",\"effective_date\":\"2024-05-02\","
            "\"actor\":\"k.osei@riverbend\",\"source\":\"CMS-855I\","
            "\"demographics_changed\":{\"npi\":\"1234567893\","
            "\"tin\":\"987654321\"}}\n");
  ASSERT_EQ(Run("append " + dir_.Sub("tin.jsonl")).exit_code, 0);
  auto last_detail = [](const std::string& csv) {
    const std::vector<std::string> lines =
        absl::StrSplit(csv, '\n', absl::SkipEmpty());
    const std::vector<std::string> cells = absl::StrSplit(lines.back(), ',');
    return cells.size() > 4 ? cells[4] : "";
  };
  RunResult masked = Run("history --provider 1234567893 --format csv");
  EXPECT_EQ(masked.exit_code, 0) << masked.err;
  EXPECT_EQ(last_detail(masked.out), "1234567893 TIN *****4321");
  EXPECT_FALSE(absl::StrContains(masked.out, "987654321"));
  RunResult full = Run("history --provider 1234567893 --format csv --show-tins");
  EXPECT_EQ(last_detail(full.out), "1234567893 TIN 987654321");
  RunResult table = Run("history --provider 1234567893");
  EXPECT_TRUE(absl::StrContains(table.out, "1234567893 TIN *****4321"))
      << table.out;
  EXPECT_FALSE(absl::StrContains(table.out, "987654321"));

  ASSERT_EQ(Run("report --provider 1234567893 --out " + dir_.Sub("m.html"))
                .exit_code, 0);
  EXPECT_TRUE(absl::StrContains(ReadFile(dir_.Sub("m.html")), "TIN *****4321"));
  EXPECT_FALSE(absl::StrContains(ReadFile(dir_.Sub("m.html")), "987654321"));
  ASSERT_EQ(Run("report --show-tins --provider 1234567893 --out " +
                dir_.Sub("f.html")).exit_code, 0);
  EXPECT_TRUE(absl::StrContains(ReadFile(dir_.Sub("f.html")), "TIN 987654321"));

  RunResult exported = Run("export --from-seq 27");
  EXPECT_TRUE(absl::StrContains(exported.out, "\"tin\":\"987654321\""))
      << exported.out;
}

TEST_F(CliQueryTest, RebuildReproducesTheProjectionsByteForByte) {
  const auto before = Projections();
  RunResult r = Run("rebuild");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "rebuilt the projections from 26 event(s)\n");
  EXPECT_FALSE(before.empty());
  EXPECT_EQ(Projections(), before);

  // With the least memory allowed (the same result), and with too little.
  RunResult small = Run("rebuild --memory-mb 16");
  EXPECT_EQ(small.exit_code, 0) << small.err;
  EXPECT_EQ(Projections(), before);
  RunResult bad = Run("rebuild --memory-mb 1");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(bad.err, "--memory-mb")) << bad.err;
  RunResult verify = Run("verify --memory-mb 16");
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
}

TEST_F(CliQueryTest, CompactKeepsTheProjections) {
  const auto before = Projections();
  RunResult r = Run("compact");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "compacted the projections\n");
  EXPECT_EQ(r.err, "compacting the projections of 26 event(s)...\n");
  EXPECT_FALSE(before.empty());
  EXPECT_EQ(Projections(), before);
  RunResult verify = Run("verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
}

TEST_F(CliQueryTest, StatsCountsTheDemo) {
  RunResult r = Run("stats --format csv");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.out, "events,26\n"));
  EXPECT_TRUE(absl::StrContains(r.out, "events.reassigned,5\n"));
  EXPECT_TRUE(absl::StrContains(r.out, "providers,3\n"));
  EXPECT_TRUE(absl::StrContains(r.out, "organizations,2\n"));
  EXPECT_TRUE(absl::StrContains(r.out, "payer_names,cigna medicare\n"));
}

}  // namespace
}  // namespace provledger
