// Claims files (tests/data/claims_2024-03.{csv,837}) checked against the
// demo ledger and the NPPES sample files (tests/data/npidata_pfile_*):
// every line's codes and first days, both formats agreeing, the summary,
// registry loads that add only what changed, and the command's exit codes.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ledger/testing.h"
#include "tests/cli_support.h"
#include "tools/demo.h"
#include "tools/service/nppes.h"
#include "tools/service/service.h"

namespace provledger {
namespace {

using namespace provledger::testing;

const std::string kData = PROVLEDGER_TEST_DATA;
const std::string kFull = kData + "/npidata_pfile_20050523-20240107.csv";
const std::string kWeekly = kData + "/npidata_pfile_20240610-20240616.csv";

class ClaimsCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LedgerOptions options;
    options.create_if_missing = true;
    ledger_ = std::move(*Ledger::Open(options, dir_.Sub("db")));
    ASSERT_TRUE(LoadDemoEvents(*ledger_).ok());
  }

  NppesResult Load(const std::string& path, const std::string& text = "") {
    std::ifstream file(path, std::ios::binary);
    std::istringstream inline_text(text);
    std::istream& in = text.empty() ? static_cast<std::istream&>(file)
                                    : static_cast<std::istream&>(inline_text);
    NppesOptions o;
    o.file_date = NppesFileDate(path).value_or(0);
    o.sync = false;
    problems_.clear();
    auto r = LoadNppes(*ledger_, in, o,
                       [&](const std::string& p) { problems_.push_back(p); });
    EXPECT_TRUE(r.ok()) << r.status();
    status_ = r.status();
    return r.ok() ? *r : NppesResult();
  }

  // "claim/line result CODE@first_day ..." per line, or its error.
  std::vector<std::string> Check(const std::string& file,
                                 const std::string& format,
                                 v1::ClaimsFileSummary* summary = nullptr,
                                 uint64_t known_seq = 0) {
    v1::ClaimsFileRequest request;
    request.set_claims_format(format);
    if (known_seq != 0) request.mutable_known()->set_known_seq(known_seq);
    (*request.mutable_payer_map())["00431"] = "medicare";
    (*request.mutable_payer_map())["62308"] = "cigna";
    std::ifstream in(file[0] == '/' ? file : kData + "/" + file,
                     std::ios::binary);
    std::vector<std::string> out;
    service::QueryService q(ledger_->View());
    auto s = q.CheckClaimsFile(request, in, [&](const v1::ClaimLineResult& l) {
      std::vector<std::string> parts = {
          absl::StrCat(l.claim_id(), "/", l.line(), " ", l.result())};
      for (const auto& f : l.findings()) {
        parts.push_back(absl::StrCat(f.code(), "@", f.first_day()));
      }
      if (!l.error().empty()) parts.push_back(l.error());
      out.push_back(absl::StrJoin(parts, " "));
    });
    EXPECT_TRUE(s.ok()) << s.status();
    if (summary != nullptr && s.ok()) *summary = *s;
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Ledger> ledger_;
  std::vector<std::string> problems_;
  absl::Status status_;
};

TEST_F(ClaimsCheckTest, RegistryLoadsAddOnlyWhatChanged) {
  const uint64_t demo = ledger_->head().seq;
  NppesResult full = Load(kFull);
  EXPECT_EQ(full.rows, 6u);
  EXPECT_EQ(full.new_npis, 5u);
  EXPECT_EQ(full.deactivated, 1u);  // 1111111112, deactivated in 2021
  EXPECT_EQ(full.updated + full.reactivated + full.unchanged + full.skipped_rows, 0u);
  const uint64_t after_full = ledger_->head().seq;
  EXPECT_EQ(after_full, demo + 6);
  // The same file again adds nothing.
  NppesResult again = Load(kFull);
  EXPECT_EQ(again.unchanged, 6u);
  EXPECT_EQ(ledger_->head().seq, after_full);
  // The weekly update: Chen deactivated, Lakeside's taxonomy changed,
  // Alvarez as before.
  NppesResult weekly = Load(kWeekly);
  EXPECT_EQ(weekly.deactivated, 1u);
  EXPECT_EQ(weekly.updated, 1u);
  EXPECT_EQ(weekly.unchanged, 1u);
  ASSERT_EQ(ledger_->head().seq, after_full + 2);
  auto chen = ledger_->View()->Get(after_full + 1);
  ASSERT_TRUE(chen.ok());
  EXPECT_EQ(chen->effective_date(), "2024-06-01");
  EXPECT_EQ(chen->source(), "NPPES 2024-06-16");
  EXPECT_EQ(chen->registry_updated().npi(), "1526374859");
  EXPECT_EQ(chen->registry_updated().status(), v1::RegistryUpdated::DEACTIVATED);
  auto lakeside = ledger_->View()->Get(after_full + 2);
  ASSERT_TRUE(lakeside.ok());
  EXPECT_EQ(lakeside->effective_date(), "2024-06-12");  // its Last Update Date
  EXPECT_EQ(lakeside->registry_updated().primary_taxonomy(), "207RI0011X");
  EXPECT_EQ(lakeside->registry_updated().name(),
            "LAKESIDE CARDIOLOGY ASSOCIATES LLC");
  EXPECT_EQ(Load(kWeekly).unchanged, 3u);
  EXPECT_EQ(ledger_->head().seq, after_full + 2);
  // The first file again after the weekly one: what it says was already
  // known on its dates.
  EXPECT_EQ(Load(kFull).unchanged, 6u);
}

TEST_F(ClaimsCheckTest, BadRowsAreSkippedAndNamed) {
  const std::string text =
      "\"NPI\",\"Entity Type Code\",\"Provider Last Name (Legal Name)\","
      "\"Provider Enumeration Date\",\"NPI Deactivation Date\"\n"
      "\"1234567890\",\"1\",\"X\",\"01/01/2020\",\"\"\n"
      "\"1234567893\",\"3\",\"X\",\"01/01/2020\",\"\"\n"
      "\"1234567893\",\"1\",\"X\",\"2020-01-01\",\"\"\n"
      "\"1234567893\",\"\",\"\",\"\",\"\"\n"
      "\"1234567893\",\"1\",\"ALVAREZ\",\"01/01/2020\",\"\"\n"
      "\"1234567893\",\"1\",\"ALVAREZ\",\"01/01/2020\",\"\"\n"
      "\"1526374859\",\"1\",\"CH\x07" "EN\",\"01/01/2020\",\"\"\n";
  NppesResult r = Load("npidata_pfile_20240101-20240107.csv", text);
  EXPECT_EQ(r.new_npis, 1u);
  EXPECT_EQ(problems_,
            (std::vector<std::string>{
                "line 2: NPI '1234567890' is not a valid NPI",
                "line 3: Entity Type Code '3' is not 1 (individual) or 2 "
                "(organization)",
                "line 4: Provider Enumeration Date: '2020-01-01' is not a date "
                "of the form MM/DD/YYYY",
                "line 5: no Entity Type Code, and no NPI Deactivation Date to "
                "explain why",
                "line 7: NPI 1234567893 is listed again (first on line 6); "
                "only that row is loaded",
                "line 8: registry_updated.name: holds the control character "
                "U+0007 at byte 2; text may hold tab but no other control "
                "character and no bidirectional control"}));
  EXPECT_EQ(r.rows, 1u);
  EXPECT_EQ(r.skipped_rows, 6u);
  std::istringstream no_header("\"NPI\",\"Name\"\n");
  auto refused = LoadNppes(*ledger_, no_header, NppesOptions(),
                           [](const std::string&) {});
  EXPECT_EQ(refused.status(),
            absl::InvalidArgumentError(
                "line 1: the header has no 'Entity Type Code' column (is "
                "this an NPPES npidata_pfile?)"));
  EXPECT_EQ(NppesFileDate("/x/npidata_pfile_20050523-20240107.csv"),
            std::optional<DayNumber>(*ParseDate("2024-01-07")));
  EXPECT_EQ(NppesFileDate("registry.csv"), std::nullopt);
}

// The expected result of every line of the sample claims files, with the
// registry loaded: the same in both formats.
const std::vector<std::string> kExpected = {
    "RB-24031001/1 payable",
    "RB-24031001/2 payable",
    // A range crossing the end of Dr Chen's reassignment (2024-02-29).
    "RB-24031002/1 denied NOT_ASSOCIATED@2024-02-29 REASSIGNMENT_ENDED@2024-02-29",
    "LK-24011001/1 denied NOT_ASSOCIATED@2024-01-10 "
    "DOS_BEFORE_REASSIGNMENT_EFFECTIVE@2024-01-10",
    // Line 2's own rendering provider (loop 2420A) is Dr Alvarez.
    "LK-24011001/2 payable",
    // Lakeside (an organization, enrolled and holding a contract) named as
    // the rendering provider.
    "RB-24031003/1 denied RENDERING_NOT_INDIVIDUAL@2024-03-10 "
    "NOT_CREDENTIALED@2024-03-10 NOT_ASSOCIATED@2024-03-10 "
    "NO_REASSIGNMENT@2024-03-10",
    // Dr Alvarez (an individual, enrolled) billing for Dr Chen.
    "RB-24031004/1 denied BILLING_NOT_ORGANIZATION@2024-03-10 "
    "NOT_ASSOCIATED@2024-03-10 NO_REASSIGNMENT@2024-03-10 "
    "NO_CONTRACT@2024-03-10",
    "RB-24031501/1 denied BILLING_NOT_ENROLLED@2024-03-15 "
    "NOT_ASSOCIATED@2024-03-15 NO_REASSIGNMENT@2024-03-15",
    "RB-24031502/1 denied RENDERING_NOT_ENROLLED@2024-03-15 "
    "NOT_CREDENTIALED@2024-03-15 NOT_ASSOCIATED@2024-03-15 "
    "NO_REASSIGNMENT@2024-03-15 NO_CONTRACT@2024-03-15",
    "RB-24031505/1 denied BILLING_NPI_DEACTIVATED@2024-03-15 "
    "BILLING_NOT_ENROLLED@2024-03-15 NOT_ASSOCIATED@2024-03-15 "
    "NO_REASSIGNMENT@2024-03-15 NO_CONTRACT@2024-03-15",
    // Self-billing (no rendering provider named): Chen's NPI deactivated.
    "RB-24060301/1 denied RENDERING_NPI_DEACTIVATED@2024-06-03 "
    "NO_CONTRACT@2024-06-03",
    // The group named as its own rendering provider.
    "RB-24060303/1 denied RENDERING_NOT_INDIVIDUAL@2024-06-03 "
    "NOT_CREDENTIALED@2024-06-03 NO_CONTRACT@2024-06-03",
};

TEST_F(ClaimsCheckTest, EveryLineInBothFormats) {
  Load(kFull);
  Load(kWeekly);
  v1::ClaimsFileSummary csv_summary, x12_summary;
  std::vector<std::string> expected_csv = kExpected;
  expected_csv.push_back(
      "RB-24060302/1 error line 14: rendering_npi: '1526374850' fails the NPI "
      "check digit (Luhn over prefix 80840)");
  expected_csv.push_back("LK-24011602/1 payable");
  EXPECT_EQ(Check("claims_2024-03.csv", "csv", &csv_summary), expected_csv);
  std::vector<std::string> expected_x12 = kExpected;
  expected_x12.push_back(
      "RB-24060302/1 error segment 234 (DTP*472): DTP03 '20240231' is not a "
      "real calendar day");
  expected_x12.push_back("LK-24011602/1 payable");
  EXPECT_EQ(Check("claims_2024-03.837", "x12-837p", &x12_summary), expected_x12);
  for (const v1::ClaimsFileSummary& s : {csv_summary, x12_summary}) {
    EXPECT_EQ(s.lines(), 14u);
    EXPECT_EQ(s.claims(), 12u);
    EXPECT_EQ(s.payable(), 4u);
    EXPECT_EQ(s.denied(), 9u);
    EXPECT_EQ(s.errors(), 1u);
    std::vector<std::string> counts;
    for (const v1::Count& c : s.by_code()) {
      counts.push_back(absl::StrCat(c.name(), "=", c.count()));
    }
    EXPECT_EQ(absl::StrJoin(counts, " "),
              "BILLING_NOT_ENROLLED=2 BILLING_NOT_ORGANIZATION=1 "
              "BILLING_NPI_DEACTIVATED=1 DOS_BEFORE_REASSIGNMENT_EFFECTIVE=1 "
              "NOT_ASSOCIATED=7 NOT_CREDENTIALED=3 NO_CONTRACT=5 "
              "NO_REASSIGNMENT=5 REASSIGNMENT_ENDED=1 "
              "RENDERING_NOT_ENROLLED=1 RENDERING_NOT_INDIVIDUAL=2 "
              "RENDERING_NPI_DEACTIVATED=1");
    // Only Dr Okafor's NPI is unknown to the registry sample.
    EXPECT_EQ(s.lines_not_in_registry(), 1u);
    EXPECT_EQ(std::vector<std::string>(s.npis_not_in_registry().begin(),
                                       s.npis_not_in_registry().end()),
              (std::vector<std::string>{"1999999992"}));
  }
}

TEST_F(ClaimsCheckTest, WithoutRegistryDataNothingIsDeniedForIt) {
  v1::ClaimsFileSummary summary;
  std::vector<std::string> lines = Check("claims_2024-03.csv", "csv", &summary);
  ASSERT_EQ(lines.size(), 14u);
  EXPECT_EQ(lines[5],
            "RB-24031003/1 denied NOT_CREDENTIALED@2024-03-10 "
            "NOT_ASSOCIATED@2024-03-10 NO_REASSIGNMENT@2024-03-10");
  EXPECT_EQ(lines[10], "RB-24060301/1 denied NO_CONTRACT@2024-06-03");
  EXPECT_EQ(summary.lines_not_in_registry(), 13u);
  EXPECT_EQ(summary.npis_not_in_registry_size(), 7);
}

// The file checked against what the ledger knew at seq 18: Dr Natarajan's
// reassignment as first keyed, with Lakeside's TIN transposed (voided at
// seq 19), and no registry data yet.
TEST_F(ClaimsCheckTest, AsKnownAtAnEarlierSeq) {
  Load(kFull);
  for (const char* format : {"csv", "x12-837p"}) {
    v1::ClaimsFileSummary summary;
    std::vector<std::string> lines =
        Check(format == std::string("csv") ? "claims_2024-03.csv"
                                           : "claims_2024-03.837",
              format, &summary, 18);
    ASSERT_EQ(lines.size(), 14u);
    EXPECT_EQ(lines[13], "LK-24011602/1 denied GROUP_DATA_MISMATCH@2024-01-16")
        << format;
    EXPECT_EQ(summary.known_seq(), 18u);
    EXPECT_EQ(summary.lines_not_in_registry(), 13u);
  }
}

// A transaction set that is not an 837P is a line of the answer (its
// segments skipped), not a claim.
TEST_F(ClaimsCheckTest, ANoteAboutNoClaimIsNoClaim) {
  std::string text = ReadFile(kData + "/claims_2024-03.837");
  const size_t second = text.find("ST*837*0002");
  ASSERT_NE(second, std::string::npos);
  text.insert(second, "ST*835*0009~\nBPR*I*1~\nSE*3*0009~\n");
  const std::string path = dir_.Sub("with-835.837");
  WriteFile(path, text);
  v1::ClaimsFileSummary summary;
  std::vector<std::string> lines = Check(path, "x12-837p", &summary);
  ASSERT_EQ(lines.size(), 15u);
  EXPECT_EQ(lines[5],
            "/0 error segment 70 (ST*835): transaction set 835 is not an 837P "
            "professional claim (005010X222A1); its segments were skipped");
  EXPECT_EQ(summary.lines(), 15u);
  EXPECT_EQ(summary.claims(), 12u);
  EXPECT_EQ(summary.errors(), 2u);
}

TEST_F(ClaimsCheckTest, CommandExitCodesAndSummary) {
  ledger_.reset();
  const std::string db = dir_.Sub("db");
  RunResult nppes = RunCli(dir_, absl::StrCat("--db ", db, " load-nppes ", kFull));
  EXPECT_EQ(nppes.exit_code, 0) << nppes.err;
  EXPECT_EQ(nppes.out,
            "NPPES file of 2024-01-07: 6 rows read\nnew NPIs recorded: 5\n"
            "changed records: 0\ndeactivations: 1\nreactivations: 0\n"
            "rows already known (nothing added): 0\n"
            "rows skipped (see stderr): 0\n");
  RunResult denied = RunCli(
      dir_, absl::StrCat("--db ", db, " claims-check ", kData,
                         "/claims_2024-03.837 --payer-map ", kData,
                         "/payer_map.csv"));
  EXPECT_EQ(denied.exit_code, 3) << denied.err;
  EXPECT_NE(denied.out.find(
                "RB-24031002     1  1526374859  1245319599  medicare   "
                "2024-02-26..2024-03-04 denied\n"
                "    NOT_ASSOCIATED from 2024-02-29: 1526374859 is not "
                "associated with 1245319599 at medicare on 2024-02-29\n"),
            std::string::npos)
      << denied.out;
  const std::string payable_file = dir_.Sub("payable.csv");
  WriteFile(payable_file,
            "claim_id,line,rendering_npi,billing_npi,payer,dos_from\n"
            "C-1,1,1234567893,1245319599,medicare,2024-03-10\n");
  RunResult payable = RunCli(
      dir_, absl::StrCat("--db ", db, " claims-check ", payable_file));
  EXPECT_EQ(payable.exit_code, 0) << payable.err;
  EXPECT_EQ(payable.out.substr(payable.out.find("summary:")),
            "summary: 1 claim lines in 1 claims: 1 payable, 0 denied, 0 not "
            "checked (unreadable), as known now (seq 32)\n");
  RunResult unreadable = RunCli(
      dir_, absl::StrCat("--db ", db, " claims-check ", payable_file,
                         " --claims-format x12-837p"));
  EXPECT_EQ(unreadable.exit_code, 2);
  EXPECT_EQ(unreadable.err,
            "provledger: claims file: not an X12 interchange: it does not "
            "start with an ISA segment of 106 characters\n");
  RunResult missing = RunCli(
      dir_, absl::StrCat("--db ", db, " claims-check ", dir_.Sub("none.csv")));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err, absl::StrCat("provledger: cannot read the claims file '",
                                      dir_.Sub("none.csv"), "'\n"));
}

}  // namespace
}  // namespace provledger
