// Reconciliation of crafted rosters (tests/data) against the demo ledger.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "projections/query.h"
#include "projections/reconcile.h"
#include "tests/cli_support.h"
#include "tools/demo.h"
#include "tools/generator.h"

namespace provledger {
namespace {

using namespace provledger::testing;
using v1::Event;

// Reconcile(), run three ways that must agree to the byte: the ledger
// side read point by point, read in scans into tables from the first row
// on, and switched to the tables after the first row. Calls `sink` for
// the first run's discrepancies.
absl::StatusOr<ReconcileSummary> ReconcileEveryWay(
    const Ledger& ledger, const std::string& roster, ReconcileOptions o,
    const std::function<void(const Discrepancy&)>& sink) {
  auto text = [](const Discrepancy& d) {
    return absl::StrCat(d.code, "|", d.line, "|", d.provider_npi, "|", d.org,
                        "|", d.detail);
  };
  auto summary_text = [](const absl::StatusOr<ReconcileSummary>& s) {
    if (!s.ok()) return s.status().ToString();
    std::string out = absl::StrCat(s->rows, " ", s->compared, " ", s->matched,
                                   " ", s->mismatched, " ", s->not_compared,
                                   " ", s->unparseable);
    for (const auto& [code, n] : s->by_code) absl::StrAppend(&out, " ", code, n);
    return out;
  };
  std::vector<std::string> first;
  absl::StatusOr<ReconcileSummary> first_summary;
  for (uint64_t after : {UINT64_MAX, uint64_t{0}, uint64_t{1}}) {
    o.scan_after_rows = after;
    std::istringstream in(roster);
    std::vector<std::string> got;
    auto s = Reconcile(*ledger.View(), in, o, [&](const Discrepancy& d) {
      got.push_back(text(d));
      if (after == UINT64_MAX) sink(d);
    });
    if (after == UINT64_MAX) {
      first = got;
      first_summary = s;
    } else {
      EXPECT_EQ(got, first) << "scan_after_rows " << after;
      EXPECT_EQ(summary_text(s), summary_text(first_summary))
          << "scan_after_rows " << after;
    }
  }
  return first_summary;
}

class ReconcileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LedgerOptions options;
    options.create_if_missing = true;
    ledger_ = std::move(*Ledger::Open(options, dir_.Sub("db")));
    ASSERT_TRUE(LoadDemoEvents(*ledger_).ok());
  }

  // "CODE line provider org" per discrepancy.
  std::vector<std::string> Run(const std::string& file, ReconcileOptions o,
                               ReconcileSummary* summary = nullptr) {
    std::ifstream in(std::string(PROVLEDGER_TEST_DATA) + "/" + file,
                     std::ios::binary);
    EXPECT_TRUE(in.good()) << file;
    std::stringstream roster;
    roster << in.rdbuf();
    std::vector<std::string> out;
    details_.clear();
    auto s = ReconcileEveryWay(*ledger_, roster.str(), o, [&](const Discrepancy& d) {
      out.push_back(absl::StrCat(d.code, " ", d.line, " ", d.provider_npi, " ",
                                 d.org));
      details_.push_back(d.detail);
    });
    EXPECT_TRUE(s.ok()) << s.status();
    if (summary != nullptr && s.ok()) *summary = *s;
    return out;
  }

  // Reconciles a generic roster given as text, as of 2024-06-01; "CODE line
  // provider org detail" per discrepancy.
  std::vector<std::string> RunGeneric(const std::string& csv,
                                      ReconcileSummary* summary) {
    ReconcileOptions o = AsOf("2024-06-01");
    o.format = RosterFormat::kGeneric;
    std::vector<std::string> got;
    auto s = ReconcileEveryWay(*ledger_, csv, o, [&](const Discrepancy& d) {
      got.push_back(absl::StrCat(d.code, " ", d.line, " ", d.provider_npi, " ",
                                 d.org, " ", d.detail));
    });
    EXPECT_TRUE(s.ok()) << s.status();
    if (s.ok()) *summary = *s;
    return got;
  }

  static ReconcileOptions AsOf(const char* date) {
    ReconcileOptions o;
    o.as_of = *ParseDate(date);
    return o;
  }

  TempDir dir_;
  std::unique_ptr<Ledger> ledger_;
  std::vector<std::string> details_;
};

const std::vector<std::string> kCmsExpected = {
    "STALE_AT_PAYER 3 1526374859 1245319599",
    "STATE_MISMATCH 5  1407201544",
    "NAME_MISMATCH 5 1637485966 1407201544",
    "UNKNOWN_ORGANIZATION 6  O20990101000999",
    "UNKNOWN_PROVIDER 6 1960718298 O20990101000999",
    "UNKNOWN_PROVIDER 7 1748596073 1407201544",
    "UNPARSEABLE_ROW 8  ",
    "MISSING_AT_PAYER 0 1234567893 1407201544",
};

TEST_F(ReconcileTest, EveryCodeFromTheCmsRoster) {
  ReconcileSummary summary;
  EXPECT_EQ(Run("cms_reassignment_2024-06.csv", AsOf("2024-06-01"), &summary),
            kCmsExpected);
  EXPECT_EQ(details_[0],
            "listed by medicare but the ledger ended this reassignment on "
            "2024-02-29 (seq 25): payments may be routed to a group the "
            "provider left");
  EXPECT_EQ(details_[1],
            "organization 1407201544: the roster says KY, the ledger says OH");
  EXPECT_EQ(details_[2],
            "provider 1637485966: the roster says 'PRIYA NATARAJAN-RAO', the "
            "ledger says 'Priya Natarajan'");
  // Latin-1 bytes arrive as UTF-8.
  EXPECT_TRUE(absl::StrContains(details_[5], "(JOS\xC3\x89 RAM\xC3\x8DREZ)"));
  EXPECT_EQ(details_[6], "Individual NPI '12345' is not a valid NPI");
  EXPECT_EQ(details_[7],
            "in effect in the ledger since 2023-06-01 (seq 14) but absent "
            "from the medicare roster: claims will deny");
  EXPECT_EQ(summary.rows, 7u);
  EXPECT_EQ(summary.compared, 5u);
  // Alvarez at Riverbend; Natarajan at Lakeside is in effect on both sides
  // but with a name and a state mismatch, so not counted as matched.
  EXPECT_EQ(summary.matched, 1u);
  EXPECT_EQ(summary.mismatched, 1u);
  EXPECT_EQ(summary.not_compared, 1u);
  EXPECT_EQ(summary.unparseable, 1u);
  EXPECT_EQ(summary.total(), 8u);
  EXPECT_EQ(summary.by_code.at("UNKNOWN_PROVIDER"), 2u);
}

TEST_F(ReconcileTest, OlderHeaderVariantGivesTheSameAnswer) {
  EXPECT_EQ(Run("cms_reassignment_old_header.csv", AsOf("2024-06-01")),
            kCmsExpected);
}

TEST_F(ReconcileTest, RevalidationDueWithinTheWindow) {
  ReconcileOptions o = AsOf("2024-06-01");
  o.due_within_days = 500;
  std::vector<std::string> got = Run("cms_reassignment_2024-06.csv", o);
  // Only Natarajan's 09/01/2025 falls within 500 days; Riverbend's 2027 does not.
  EXPECT_EQ(std::count_if(got.begin(), got.end(),
                          [](const std::string& s) {
                            return absl::StartsWith(s, "REVALIDATION_DUE");
                          }),
            1);
  // Reported once, for the provider, not against the group of the row.
  EXPECT_TRUE(std::find(got.begin(), got.end(),
                        "REVALIDATION_DUE 5 1637485966 ") != got.end());
  o.due_within_days = 3 * 365;
  got = Run("cms_reassignment_2024-06.csv", o);
  EXPECT_TRUE(std::find(got.begin(), got.end(),
                        "REVALIDATION_DUE 2  1245319599") != got.end());
}

TEST_F(ReconcileTest, OrgFilterByEnrollmentIdOrNpi) {
  ReconcileOptions o = AsOf("2024-06-01");
  // Unparseable rows cannot be told apart by organization: always reported.
  o.org = "O20150101000123";  // Riverbend
  EXPECT_EQ(Run("cms_reassignment_2024-06.csv", o),
            (std::vector<std::string>{"STALE_AT_PAYER 3 1526374859 1245319599",
                                      "UNPARSEABLE_ROW 8  "}));
  o.org = "1407201544";  // Lakeside
  EXPECT_EQ(Run("cms_reassignment_2024-06.csv", o),
            (std::vector<std::string>{
                "STATE_MISMATCH 5  1407201544",
                "NAME_MISMATCH 5 1637485966 1407201544",
                "UNKNOWN_PROVIDER 7 1748596073 1407201544",
                "UNPARSEABLE_ROW 8  ",
                "MISSING_AT_PAYER 0 1234567893 1407201544"}));
}

TEST_F(ReconcileTest, GenericCsvRoster) {
  ReconcileOptions o = AsOf("2024-06-01");
  o.format = RosterFormat::kGeneric;
  EXPECT_EQ(Run("roster_generic.csv", o),
            (std::vector<std::string>{
                "STALE_AT_PAYER 3 1526374859 1245319599",
                "ENDED_AT_PAYER 4 1637485966 1407201544",
                "UNKNOWN_ORGANIZATION 5  1960718298",
                "UNPARSEABLE_ROW 7  "}));
  // The payer's ended row is compared as ended, not reported missing.
  EXPECT_EQ(details_[1],
            "medicare lists this reassignment as ended on 2024-05-01 but the "
            "ledger has it in effect since 2024-01-15 (seq 20): record the "
            "end, or ask the payer");
  EXPECT_EQ(details_[3],
            "effective_date: 'not-a-date' is not a date of the form YYYY-MM-DD");
}

TEST_F(ReconcileTest, ARosterWithOnlyItsHeaderIsNotClean) {
  ReconcileSummary summary;
  std::vector<std::string> got = RunGeneric(
      "provider_npi,org_npi,payer,effective_date,end_date\n", &summary);
  // Every Medicare reassignment in effect on 2024-06-01 is missing from it.
  EXPECT_EQ(got, (std::vector<std::string>{
                     "MISSING_AT_PAYER 0 1234567893 1245319599 in effect in "
                     "the ledger since 2023-01-01 (seq 12) but absent from "
                     "the medicare roster: claims will deny",
                     "MISSING_AT_PAYER 0 1234567893 1407201544 in effect in "
                     "the ledger since 2023-06-01 (seq 14) but absent from "
                     "the medicare roster: claims will deny",
                     "MISSING_AT_PAYER 0 1637485966 1407201544 in effect in "
                     "the ledger since 2024-01-15 (seq 20) but absent from "
                     "the medicare roster: claims will deny"}));
  EXPECT_EQ(summary.rows, 0u);
}

TEST_F(ReconcileTest, GenericRowsEndedOnBothSidesAgree) {
  ReconcileSummary summary;
  std::vector<std::string> got = RunGeneric(
      "provider_npi,org_npi,payer,effective_date,end_date\n"
      "1526374859,1245319599,Medicare,2022-03-01,2024-02-29\n"
      "1234567893,1245319599,MEDICARE,2023-01-01,\n"
      "1234567893,1407201544,medicare,2023-06-01,\n"
      "1637485966,1407201544,medicare,2024-01-15,\n",
      &summary);
  EXPECT_TRUE(got.empty()) << got[0];
  EXPECT_EQ(summary.compared, 4u);
  EXPECT_EQ(summary.matched, 4u);
}

TEST_F(ReconcileTest, AccentedNamesMatchAfterCaseFolding) {
  // The ledger writes her name with accents; the roster in capitals.
  Event e = EnrolledIndividual("enr-francois", "2020-01-01", "1073921482");
  e.mutable_enrolled()->set_first_name("Élodie");
  e.mutable_enrolled()->set_last_name("François");
  ASSERT_TRUE(ledger_->Append(
                  {e, Associated("asc-francois", "2021-01-01", "1073921482",
                                 kGroupX),
                   Reassigned("rea-francois", "2021-01-01", "1073921482",
                              kGroupX)})
                  .ok());
  const std::string header =
      "Group PAC ID,Group Enrollment ID,Group Legal Business Name,Group State "
      "Code,Group Due Date,Group Reassignments and Physician Assistants,Record "
      "Type,Individual PAC ID,Individual Enrollment ID,Individual NPI,"
      "Individual First Name,Individual Last Name,Individual State Code,"
      "Individual Specialty Description,Individual Due Date,Individual Total "
      "Employer Associations\n";
  for (const char* name : {"ÉLODIE,FRANÇOIS", "ELODIE,FRANCOIS"}) {
    const std::string roster =
        header + "4587912365,O20150101000123,\"RIVERBEND FAMILY MEDICINE, "
                 "PLLC\",OH,,3,Reassignment,,,1073921482," +
        name + ",OH,Family Practice,,1\n";
    ReconcileOptions o = AsOf("2024-01-01");
    o.org = "O20150101000123";
    std::vector<std::string> got;
    auto summary = ReconcileEveryWay(*ledger_, roster, o, [&](const Discrepancy& d) {
      got.push_back(absl::StrCat(d.code, " ", d.provider_npi, " ", d.detail));
    });
    ASSERT_TRUE(summary.ok()) << summary.status();
    EXPECT_EQ(summary->matched, 1u) << name;
    // Riverbend's other providers are missing from this one-row roster;
    // no NAME_MISMATCH for Élodie François.
    for (const std::string& g : got) {
      EXPECT_FALSE(absl::StartsWith(g, "NAME_MISMATCH")) << name << ": " << g;
    }
  }
  // A real difference is reported with both spellings as written.
  const std::string wrong =
      header + "4587912365,O20150101000123,\"RIVERBEND FAMILY MEDICINE, "
               "PLLC\",OH,,3,Reassignment,,,1073921482,ÉLODIE,FRANCIS,OH,"
               "Family Practice,,1\n";
  ReconcileOptions o = AsOf("2024-01-01");
  std::vector<std::string> details;
  auto summary = ReconcileEveryWay(*ledger_, wrong, o, [&](const Discrepancy& d) {
    if (d.code == "NAME_MISMATCH") details.push_back(d.detail);
  });
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(details, std::vector<std::string>{
                         "provider 1073921482: the roster says 'ÉLODIE "
                         "FRANCIS', the ledger says 'Élodie François'"});
}

TEST_F(ReconcileTest, MatchesArePerPayer) {
  // Alvarez reassigns to Riverbend at cigna as well as at medicare; the
  // roster lists the cigna one only, so the medicare one is missing.
  auto added = ledger_->Append(
      {EnrolledOrg("enr-riverbend-cigna", "2021-01-01", kGroupX, "cigna"),
       Reassigned("rea-alvarez-riverbend-cigna", "2023-01-01", kDrA, kGroupX,
                  "cigna")});
  ASSERT_TRUE(added.ok()) << added.status();
  ReconcileSummary summary;
  std::vector<std::string> got = RunGeneric(
      "provider_npi,org_npi,payer,effective_date,end_date\n"
      "1234567893,1245319599,cigna,2023-01-01,\n"
      "1234567893,1407201544,medicare,2023-06-01,\n"
      "1637485966,1407201544,medicare,2024-01-15,\n",
      &summary);
  EXPECT_EQ(summary.matched, 3u);
  EXPECT_EQ(got, std::vector<std::string>{
                     "MISSING_AT_PAYER 0 1234567893 1245319599 in effect in "
                     "the ledger since 2023-01-01 (seq 12) but absent from "
                     "the medicare roster: claims will deny"});
  // An unknown provider on a generic roster (which carries no names).
  got = RunGeneric(
      "provider_npi,org_npi,payer,effective_date,end_date\n"
      "1073921482,1245319599,medicare,2023-01-01,\n",
      &summary);
  EXPECT_EQ(got[0],
            "UNKNOWN_PROVIDER 2 1073921482 1245319599 provider 1073921482 has "
            "no enrollment at medicare in the ledger");
}

TEST_F(ReconcileTest, AsKnownBeforeTheLateTerminationChenIsNotStale) {
  ReconcileOptions o = AsOf("2024-06-01");
  o.known_seq = 24;
  std::vector<std::string> got = Run("cms_reassignment_2024-06.csv", o);
  EXPECT_EQ(std::count_if(got.begin(), got.end(),
                          [](const std::string& s) {
                            return absl::StartsWith(s, "STALE_AT_PAYER");
                          }),
            0);
}

TEST_F(ReconcileTest, MissingHeaderColumnIsAnError) {
  std::istringstream in("Group Enrollment ID,Individual Name\nO1,x\n");
  auto s = Reconcile(*ledger_->View(), in, AsOf("2024-06-01"), [](const Discrepancy&) {});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(),
            "roster line 1: the header has no 'Individual NPI' column");
}

TEST_F(ReconcileTest, CliExitCodes) {
  const std::string db = dir_.Sub("cli");
  ASSERT_EQ(RunCli(dir_, "--db " + db + " init").exit_code, 0);
  ASSERT_EQ(RunCli(dir_, absl::StrCat("--db ", db, " append ",
                                      PROVLEDGER_DEMO_EVENTS))
                .exit_code,
            0);
  RunResult dirty = RunCli(
      dir_, absl::StrCat("--db ", db, " reconcile --roster ", PROVLEDGER_TEST_DATA,
                         "/cms_reassignment_2024-06.csv --as-of 2024-06-01"));
  EXPECT_EQ(dirty.exit_code, 4);
  EXPECT_TRUE(absl::StrContains(
      dirty.out,
      "summary: 7 roster rows: 5 compared, 1 matched, 1 in effect but with "
      "name or state mismatches, 1 not compared (Physician Assistant "
      "employment), 1 unparseable; 8 discrepancies"))
      << dirty.out;
  // A roster that agrees with the ledger exits 0.
  WriteFile(dir_.Sub("clean.csv"),
            "provider_npi,org_npi,payer,effective_date,end_date\n"
            "1234567893,1245319599,medicare,2023-01-01,\n"
            "1234567893,1407201544,medicare,2023-06-01,\n"
            "1637485966,1407201544,medicare,2024-01-15,\n");
  RunResult clean = RunCli(
      dir_, "--db " + db + " reconcile --roster-format csv --roster " +
                dir_.Sub("clean.csv") + " --as-of 2024-06-01");
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  // A generic roster has no Physician Assistant rows to speak of.
  EXPECT_EQ(clean.out,
            "no discrepancies\nsummary: 3 roster rows: 3 compared, 3 matched, "
            "0 unparseable; 0 discrepancies\n");
  // CSV output always has its header.
  RunResult clean_csv = RunCli(
      dir_, "--db " + db + " reconcile --roster-format csv --roster " +
                dir_.Sub("clean.csv") + " --as-of 2024-06-01 --format csv");
  EXPECT_EQ(clean_csv.exit_code, 0);
  EXPECT_EQ(clean_csv.out, "code,line,provider_npi,org,detail\n");
  RunResult bad = RunCli(dir_, "--db " + db +
                                   " reconcile --roster nope.csv --as-of 2024-06-01");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "provledger: cannot read roster 'nope.csv'\n");
}

TEST_F(ReconcileTest, CliBadFlagsAndPpefLoad) {
  const std::string db = dir_.Sub("cli2");
  ASSERT_EQ(RunCli(dir_, "--db " + db + " init").exit_code, 0);
  const std::string roster =
      absl::StrCat(PROVLEDGER_TEST_DATA, "/roster_generic.csv");
  RunResult format = RunCli(dir_, "--db " + db + " reconcile --roster " + roster +
                                      " --roster-format xlsx --as-of 2024-06-01");
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_EQ(format.err,
            "provledger: --roster-format: 'xlsx' is not cms-reassignment or "
            "csv\n");
  RunResult date = RunCli(dir_, "--db " + db + " reconcile --roster " + roster +
                                    " --as-of 06/01/2024");
  EXPECT_EQ(date.exit_code, 2);
  EXPECT_EQ(date.err,
            "provledger: --as-of: '06/01/2024' is not a date of the form "
            "YYYY-MM-DD\n");

  const std::string enr = absl::StrCat(PROVLEDGER_TEST_DATA,
                                       "/PPEF_Enrollment_Extract_2024.04.01.csv");
  const std::string rea = absl::StrCat(
      PROVLEDGER_TEST_DATA, "/PPEF_Reassignment_Extract_2024.04.01.csv");
  const std::string load = "--db " + db + " load-ppef --enrollment " + enr +
                           " --reassignment " + rea + " --as-of 2024-04-01";
  RunResult first = RunCli(dir_, load);
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(absl::StartsWith(
      first.out,
      "PPEF extracts carry no dates: every event loaded is effective "
      "2024-04-01 (--as-of), source \"PPEF 2024-04-01\".\nenrolled: 6\n"
      "reassigned: 5\n"))
      << first.out;
  EXPECT_TRUE(absl::StrContains(
      first.err, "skipped enrollment line 8: NPI '1234567890' is not a valid NPI"));
  RunResult again = RunCli(dir_, load);
  EXPECT_TRUE(absl::StrContains(again.out, "enrolled: 0\nreassigned: 0\n"))
      << again.out;
  RunResult missing = RunCli(dir_, "--db " + db +
                                       " load-ppef --enrollment nope.csv "
                                       "--reassignment " + rea +
                                       " --as-of 2024-04-01");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err, "provledger: cannot read 'nope.csv'\n");
}

// A roster written from a generated ledger (400 providers, 3 payers, 8
// years of moves, late departures and voids), with rows left out, changed
// names and states, groups never reassigned to and unknown providers: the
// point reads and the tables give the same answer, at the head and as
// known at an earlier point, for a CMS roster and for a generic one.
TEST(ReconcileTablesTest, AGeneratedLedgerGetsTheSameAnswerFromTheTables) {
  TempDir dir;
  LedgerOptions options;
  options.create_if_missing = true;
  std::unique_ptr<Ledger> ledger = std::move(*Ledger::Open(options, dir.Sub("db")));
  GeneratorOptions g;
  g.providers = 400;
  g.seed = 7;
  Generator gen(g);
  std::vector<Event> batch;
  while (gen.Next(500, &batch)) {
    ASSERT_TRUE(ledger->Append(batch).ok());
    batch.clear();
  }
  if (!batch.empty()) {
    ASSERT_TRUE(ledger->Append(batch).ok());
  }
  const uint64_t head = ledger->head().seq;
  const DayNumber day = *ParseDate("2022-06-01");
  Queries q(ledger.get());
  std::string cms =
      "Group PAC ID,Group Enrollment ID,Group Legal Business Name,Group State "
      "Code,Group Due Date,Record Type,Individual NPI,Individual First "
      "Name,Individual Last Name,Individual State Code,Individual Due Date\n";
  std::string generic = "provider_npi,org_npi,payer,effective_date,end_date\n";
  uint64_t n = 0;
  auto periods = q.ReassignmentPeriods(head, {});
  ASSERT_TRUE(periods.ok());
  for (const ReassignmentRow& r : *periods) {
    ++n;
    absl::StrAppend(&generic, r.provider, ",", n % 9 == 0 ? gen.OrgNpi(n % 7) : r.org,
                    ",", r.payer, ",", FormatDate(r.interval.start), ",",
                    r.interval.end.has_value() && n % 5 != 0
                        ? FormatDate(*r.interval.end) : "",
                    "\n");
    if (r.payer != "medicare" || !r.interval.Contains(day) || n % 8 == 0) continue;
    auto org = q.IdentityOn(r.org, "medicare", day, head);
    auto ind = q.IdentityOn(r.provider, "medicare", day, head);
    ASSERT_TRUE(org.ok() && ind.ok());
    // Some groups named by PAC id alone, some by ids the ledger lacks.
    const std::string enrollment_id = n % 23 == 0   ? ""
                                      : n % 29 == 0 ? "O99999999999999"
                                                    : org->enrollment_id;
    const std::string pac_id = n % 29 == 0 ? "9999999999" : org->pac_id;
    absl::StrAppend(&cms, pac_id, ",", enrollment_id, ",\"",
                    org->legal_name, "\",", org->state, ",01/01/2030,Reassignment,",
                    r.provider, ",", ind->first_name, ",",
                    n % 11 == 0 ? "Other" : ind->last_name, ",",
                    n % 13 == 0 ? "ZZ" : ind->state, ",",
                    n % 17 == 0 ? "07/01/2022" : "", "\n");
    if (n % 19 == 0) {
      absl::StrAppend(&cms, org->pac_id, ",", org->enrollment_id, ",,,,Reassignment,",
                      gen.ProviderNpi(g.providers + n), ",A,B,OH,\n");
    }
  }
  uint64_t found = 0;
  std::set<std::string> codes;
  for (uint64_t known : {head, head / 2}) {
    ReconcileOptions o;
    o.as_of = day;
    o.known_seq = known;
    o.due_within_days = 60;
    auto s = ReconcileEveryWay(*ledger, cms, o, [&](const Discrepancy& d) {
      ++found;
      codes.insert(d.code);
      if (d.code == "UNPARSEABLE_ROW") ADD_FAILURE() << d.line << " " << d.detail;
    });
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_GT(s->matched, 0u);
    o.format = RosterFormat::kGeneric;
    s = ReconcileEveryWay(*ledger, generic, o, [&](const Discrepancy& d) {
      ++found;
      codes.insert(d.code);
      if (d.code == "UNPARSEABLE_ROW") ADD_FAILURE() << d.line << " " << d.detail;
    });
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_GT(s->matched, 0u);
  }
  // The roster exercises every code a ledger of this kind can give.
  EXPECT_EQ(absl::StrJoin(codes, " "),
            "ENDED_AT_PAYER MISSING_AT_PAYER NAME_MISMATCH REVALIDATION_DUE "
            "STALE_AT_PAYER STATE_MISMATCH UNKNOWN_ORGANIZATION "
            "UNKNOWN_PROVIDER");
  EXPECT_GT(found, 100u);
}

}  // namespace
}  // namespace provledger
