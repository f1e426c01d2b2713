// Scenario tests written from the domain documents (shared/domain): the
// mistakes that stall claims, and the point-in-time questions auditors ask.
#include "projections/query.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "ledger/testing.h"

namespace provledger {
namespace {

using namespace provledger::testing;
using v1::Event;

DayNumber D(const char* date) { return *ParseDate(date); }

std::vector<std::string> Codes(const ClaimCheckResult& r) {
  std::vector<std::string> codes;
  for (const auto& f : r.findings) codes.push_back(f.code);
  return codes;
}

class QueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LedgerOptions options;
    options.create_if_missing = true;
    ledger_ = std::move(*Ledger::Open(options, dir_.Sub("db")));
    queries_ = std::make_unique<Queries>(ledger_.get());
  }

  uint64_t Add(std::vector<Event> batch) {
    AppendOptions options;
    options.sync = false;
    auto r = ledger_->Append(batch, options);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->head.seq : 0;
  }

  // Group X enrolled with TIN 274839201, provider enrolled and credentialed,
  // associated, covered by X's group contract: everything but the
  // reassignment.
  void Onboard(const std::string& provider, const std::string& org = kGroupX) {
    Add({EnrolledOrg("enr-" + org, "2015-01-01", org),
         EnrolledIndividual("enr-" + provider, "2019-01-01", provider),
         Credentialed("cred-" + provider, "2019-01-01", provider, "medicare",
                      "2029-01-01"),
         Associated("asc-" + provider + org, "2023-01-01", provider, org),
         GroupContract("ctr-" + org + provider, "2015-01-01", org, {provider},
                       "medicare", "G-" + provider)});
  }

  ClaimCheckResult Check(const std::string& rendering,
                         const std::string& billing, const char* dos,
                         uint64_t known = kHeadSeq,
                         const std::string& payer = "medicare") {
    auto r = queries_->ClaimCheck(rendering, billing, payer, D(dos), known,
                                  rules_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ClaimCheckResult();
  }

  TempDir dir_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<Queries> queries_;
  PayerRules rules_;
};

TEST_F(QueryTest, OnboardedWithoutReassignmentDenies) {
  Onboard(kDrA);
  ClaimCheckResult r = Check(kDrA, kGroupX, "2024-03-10");
  EXPECT_FALSE(r.payable);
  EXPECT_EQ(Codes(r), std::vector<std::string>{"NO_REASSIGNMENT"});
  EXPECT_EQ(r.findings[0].message,
            "1234567893 has no reassignment of benefits to 1245319599 at "
            "medicare");
  auto rows = queries_->ReassignmentsOn(D("2024-03-10"), kHeadSeq, {kDrA, "", ""});
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty());
}

TEST_F(QueryTest, BillingBeforeTheEffectiveDateDenies) {
  Onboard(kDrA);
  uint64_t seq = Add({Reassigned("r1", "2024-02-01", kDrA, kGroupX)});
  ClaimCheckResult before = Check(kDrA, kGroupX, "2024-01-31");
  EXPECT_EQ(Codes(before),
            std::vector<std::string>{"DOS_BEFORE_REASSIGNMENT_EFFECTIVE"});
  EXPECT_EQ(before.findings[0].message,
            absl::StrCat("the date of service 2024-01-31 is before the "
                         "reassignment's effective date 2024-02-01 (seq ",
                         seq, ")"));
  EXPECT_TRUE(Check(kDrA, kGroupX, "2024-02-01").payable);
}

TEST_F(QueryTest, DepartureNeverTerminatedStaysInEffect) {
  Onboard(kDrA);
  Add({Reassigned("r1", "2023-01-01", kDrA, kGroupX)});
  // The provider left in 2024, but nobody recorded it: years later the
  // reassignment still routes money to the old group.
  auto rows = queries_->ReassignmentsOn(D("2026-06-01"), kHeadSeq, {"", kGroupX, ""});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].provider, kDrA);
  EXPECT_EQ((*rows)[0].interval.end, std::nullopt);
  EXPECT_TRUE(Check(kDrA, kGroupX, "2026-06-01").payable);
}

TEST_F(QueryTest, StreamedRowsComeInProviderOrgPayerOrder) {
  // Appended out of order, read back through each path: a provider's
  // timelines, the organization index and the payer index.
  Add({Reassigned("r1", "2023-01-01", kDrB, kGroupY),
       Reassigned("r2", "2023-01-01", kDrB, kGroupX, "cigna"),
       Reassigned("r3", "2023-01-01", kDrA, kGroupY),
       Reassigned("r4", "2023-01-01", kDrB, kGroupX),
       Reassigned("r5", "2023-01-01", kDrA, kGroupX, "cigna")});
  auto streamed = [&](const RelationFilter& f) {
    std::vector<std::string> out;
    absl::Status s = queries_->ForEachReassignmentOn(
        D("2024-01-01"), kHeadSeq, f, [&](const ReassignmentRow& r) {
          out.push_back(absl::StrCat(r.provider, " ", r.org, " ", r.payer, " ",
                                     r.interval.start_seq));
        });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  };
  EXPECT_EQ(streamed({}),
            (std::vector<std::string>{"1234567893 1245319599 cigna 5",
                                      "1234567893 1407201544 medicare 3",
                                      "1526374859 1245319599 cigna 2",
                                      "1526374859 1245319599 medicare 4",
                                      "1526374859 1407201544 medicare 1"}));
  EXPECT_EQ(streamed({"", kGroupX, ""}),
            (std::vector<std::string>{"1234567893 1245319599 cigna 5",
                                      "1526374859 1245319599 cigna 2",
                                      "1526374859 1245319599 medicare 4"}));
  EXPECT_EQ(streamed({"", "", "medicare"}),
            (std::vector<std::string>{"1234567893 1407201544 medicare 3",
                                      "1526374859 1245319599 medicare 4",
                                      "1526374859 1407201544 medicare 1"}));
  EXPECT_EQ(streamed({kDrB, "", "medicare"}),
            (std::vector<std::string>{"1526374859 1245319599 medicare 4",
                                      "1526374859 1407201544 medicare 1"}));
  // The collected form holds the same rows.
  auto rows = queries_->ReassignmentsOn(D("2024-01-01"), kHeadSeq, {});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 5u);
  EXPECT_EQ((*rows)[2].provider, kDrB);
  EXPECT_EQ((*rows)[2].payer, "cigna");
}

TEST_F(QueryTest, LateBackdatedDepartureChangesAnswersOnlyFromItsRecord) {
  Onboard(kDrA);
  Add({Reassigned("r1", "2023-01-01", kDrA, kGroupX)});
  const uint64_t billed_at = Add({Credentialed("other", "2024-04-01", kDrB)});
  // Recorded three months after it happened.
  const uint64_t recorded = Add({Revoked("x1", "2024-02-29", kDrA, kGroupX),
                                 AssociationEnded("xa", "2024-02-29", kDrA, kGroupX)});

  // What our records said on the day we billed: in effect.
  EXPECT_TRUE(Check(kDrA, kGroupX, "2024-03-10", billed_at).payable);
  auto then = queries_->ReassignmentsOn(D("2024-03-10"), billed_at, {kDrA, "", ""});
  ASSERT_EQ(then->size(), 1u);
  // What we know now: ended on 2024-02-29.
  ClaimCheckResult now = Check(kDrA, kGroupX, "2024-03-10");
  EXPECT_EQ(Codes(now),
            (std::vector<std::string>{"NOT_ASSOCIATED", "REASSIGNMENT_ENDED"}));
  EXPECT_EQ(now.findings[1].message,
            absl::StrCat("the reassignment of 1234567893 to 1245319599 was "
                         "last in effect on 2024-02-28 (ended from 2024-02-29 "
                         "by seq ",
                         recorded - 1, "), before the date of service 2024-03-10"));
  // On the end's own day, the message still names the day before.
  EXPECT_EQ(Check(kDrA, kGroupX, "2024-02-29").findings[1].message,
            absl::StrCat("the reassignment of 1234567893 to 1245319599 was "
                         "last in effect on 2024-02-28 (ended from 2024-02-29 "
                         "by seq ",
                         recorded - 1, "), before the date of service 2024-02-29"));
  EXPECT_TRUE(queries_->ReassignmentsOn(D("2024-03-10"), kHeadSeq, {kDrA, "", ""})
                  ->empty());
  // The last day in effect is the day before the end.
  EXPECT_TRUE(Check(kDrA, kGroupX, "2024-02-28").payable);

  auto changes = queries_->Changes(D("2024-01-01"), D("2024-12-31"), kHeadSeq, {});
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_FALSE((*changes)[0].started);
  EXPECT_EQ((*changes)[0].day, D("2024-02-29"));
  EXPECT_TRUE(queries_->Changes(D("2024-01-01"), D("2024-12-31"), billed_at, {})
                  ->empty());
}

TEST_F(QueryTest, AnEndedContractIsNamedWithItsLastDay) {
  Onboard(kDrA);  // group contract G-1234567893 of X since 2015
  Add({Reassigned("r1", "2023-01-01", kDrA, kGroupX)});
  const uint64_t ended = Add({ContractEnded("ke", "2024-01-01", kGroupX,
                                            "medicare", "G-1234567893")});
  EXPECT_TRUE(Check(kDrA, kGroupX, "2023-12-31").payable);
  ClaimCheckResult r = Check(kDrA, kGroupX, "2024-03-10");
  ASSERT_EQ(Codes(r), std::vector<std::string>{"NO_CONTRACT"});
  EXPECT_EQ(r.findings[0].message,
            absl::StrCat("no contract with medicare in force on 2024-03-10 "
                         "covers 1234567893 billed by 1245319599: group "
                         "contract G-1234567893 of 1245319599 was last in "
                         "effect on 2023-12-31 (ended from 2024-01-01 by seq ",
                         ended, ")"));
  // Known before the end was recorded: payable; never a contract: the
  // general sentence.
  EXPECT_TRUE(Check(kDrA, kGroupX, "2024-03-10", ended - 1).payable);
  Onboard(kDrB, kGroupY);
  ASSERT_TRUE(ledger_->Append({ContractEnded("ke2", "2016-01-01", kGroupY,
                                             "medicare", "G-" + std::string(kDrB))})
                  .ok());
  Add({Reassigned("r2", "2023-01-01", kDrB, kGroupY)});
  EXPECT_EQ(Check(kDrB, kGroupX, "2024-03-10").findings.back().message,
            "no contract with medicare in force on 2024-03-10 covers "
            "1526374859 billed by 1245319599 (no group contract of 1245319599 "
            "lists them, and they hold no individual contract)");
}

TEST_F(QueryTest, ReassignedToTwoGroupsAtOnce) {
  Onboard(kDrA, kGroupX);
  Onboard(kDrA, kGroupY);
  Add({Reassigned("rx", "2023-01-01", kDrA, kGroupX),
       Reassigned("ry", "2023-06-01", kDrA, kGroupY)});
  auto rows = queries_->ReassignmentsOn(D("2024-01-01"), kHeadSeq, {kDrA, "", ""});
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].org, kGroupX);
  EXPECT_EQ((*rows)[1].org, kGroupY);
  EXPECT_TRUE(Check(kDrA, kGroupX, "2024-01-01").payable);
  EXPECT_TRUE(Check(kDrA, kGroupY, "2024-01-01").payable);
  // Only one of them existed in March 2023.
  EXPECT_EQ(queries_->ReassignmentsOn(D("2023-03-01"), kHeadSeq, {kDrA, "", ""})
                ->size(),
            1u);
  // By organization and by payer.
  EXPECT_EQ(queries_->ReassignmentsOn(D("2024-01-01"), kHeadSeq, {"", kGroupY, ""})
                ->size(),
            1u);
  EXPECT_EQ(queries_
                ->ReassignmentsOn(D("2024-01-01"), kHeadSeq, {"", "", "medicare"})
                ->size(),
            2u);
  EXPECT_TRUE(queries_
                  ->ReassignmentsOn(D("2024-01-01"), kHeadSeq, {"", "", "cigna"})
                  ->empty());
}

TEST_F(QueryTest, ReassignmentVoidedAsEnteredInError) {
  Onboard(kDrA);
  const uint64_t entered = Add({Reassigned("r1", "2023-01-01", kDrA, kGroupX)});
  const uint64_t voided = Add({Voided("v1", "2023-01-01", entered)});
  EXPECT_TRUE(Check(kDrA, kGroupX, "2024-01-01", entered).payable);
  EXPECT_EQ(Codes(Check(kDrA, kGroupX, "2024-01-01", voided)),
            std::vector<std::string>{"NO_REASSIGNMENT"});
  auto history = queries_->History(kDrA, "");
  ASSERT_TRUE(history.ok());
  bool found = false;
  for (const HistoryRow& row : *history) {
    if (row.event.seq() == entered) {
      EXPECT_EQ(row.voided_by, voided);
      found = true;
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(history->back().event.seq(), voided);  // the void itself
}

TEST_F(QueryTest, MismatchedTinOnTheReassignment) {
  Onboard(kDrA);
  Event r = Reassigned("r1", "2023-01-01", kDrA, kGroupX);
  r.mutable_reassigned()->set_org_tin("274839210");
  r.mutable_reassigned()->set_org_legal_name("test group, llc");
  const uint64_t seq = Add({r});
  ClaimCheckResult bad = Check(kDrA, kGroupX, "2024-01-01");
  EXPECT_EQ(Codes(bad), std::vector<std::string>{"GROUP_DATA_MISMATCH"});
  EXPECT_EQ(bad.findings[0].message,
            absl::StrCat("the reassignment (seq ", seq,
                         ") names TIN 274839210 but 1245319599's enrollment "
                         "record on 2024-01-01 has TIN 274839201"));
  // The group's TIN changes to the filed one from 2024-06-01 on.
  Event change = Base("d1", "2024-06-01");
  change.mutable_demographics_changed()->set_npi(kGroupX);
  change.mutable_demographics_changed()->set_tin("274839210");
  Add({change});
  EXPECT_EQ(Codes(Check(kDrA, kGroupX, "2024-05-31")),
            std::vector<std::string>{"GROUP_DATA_MISMATCH"});
  EXPECT_TRUE(Check(kDrA, kGroupX, "2024-06-01").payable);
}

TEST_F(QueryTest, GroupNamesCompareAfterUnicodeCaseFoldingAndAccents) {
  Onboard(kDrA);
  Event renamed = Base("d-name", "2015-01-01");
  renamed.mutable_demographics_changed()->set_npi(kGroupX);
  renamed.mutable_demographics_changed()->set_legal_name("Santé Familiale PLLC");
  Add({renamed});
  // Upper case with accents, the accents dropped (as CMS files often do),
  // and other punctuation: all the same group.
  const std::vector<std::pair<const char*, const char*>> filed = {
      {kDrA, "SANTÉ FAMILIALE PLLC"},
      {kDrB, "Sante Familiale, P.L.L.C."},
      {kDrC, "  SANTE   FAMILIALE PLLC"}};
  for (const auto& [npi, name] : filed) {
    Onboard(npi);
    Event r = Reassigned(std::string("r-") + npi, "2023-01-01", npi, kGroupX);
    r.mutable_reassigned()->set_org_legal_name(name);
    Add({r});
    ClaimCheckResult c = Check(npi, kGroupX, "2024-01-01");
    EXPECT_TRUE(c.payable) << name << ": "
                           << (c.findings.empty() ? "" : c.findings[0].message);
  }
  // A real difference is reported with both spellings as written.
  Add({Revoked("rv", "2024-02-01", kDrC, kGroupX)});
  Event wrong = Reassigned("r-wrong", "2024-03-01", kDrC, kGroupX);
  wrong.mutable_reassigned()->set_org_legal_name("SANTÉ FAMILIALE PC");
  const uint64_t seq = Add({wrong});
  ClaimCheckResult bad = Check(kDrC, kGroupX, "2024-03-10");
  ASSERT_EQ(Codes(bad), std::vector<std::string>{"GROUP_DATA_MISMATCH"});
  EXPECT_EQ(bad.findings[0].message,
            absl::StrCat("the reassignment (seq ", seq,
                         ") names 'SANTÉ FAMILIALE PC' but 1245319599's "
                         "enrollment record on 2024-03-10 has legal name "
                         "'Santé Familiale PLLC'"));
}

TEST_F(QueryTest, PayerIdsAreCaseInsensitiveEverywhere) {
  Onboard(kDrA);  // recorded for "medicare"
  Add({Reassigned("r1", "2023-01-01", kDrA, kGroupX, "Medicare")});
  // One payer, whatever the spelling of the question or of the events.
  for (const char* payer : {"medicare", "Medicare", "MEDICARE"}) {
    ClaimCheckResult r = Check(kDrA, kGroupX, "2024-01-01", kHeadSeq, payer);
    EXPECT_TRUE(r.payable) << payer << ": "
                           << (r.findings.empty() ? "" : r.findings[0].code);
    auto rows = queries_->ReassignmentsOn(D("2024-01-01"), kHeadSeq,
                                          {"", "", payer});
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 1u) << payer;
    EXPECT_EQ((*rows)[0].payer, "medicare");
    auto by_org = queries_->ReassignmentsOn(D("2024-01-01"), kHeadSeq,
                                            {"", kGroupX, payer});
    ASSERT_TRUE(by_org.ok());
    EXPECT_EQ(by_org->size(), 1u) << payer;
    auto history = queries_->History(kDrA, payer);
    ASSERT_TRUE(history.ok());
    // enrolled, credentialed, associated, the group contract listing them, r1
    EXPECT_EQ(history->size(), 5u) << payer;
  }
  // A second start for "MEDICARE" meets the first: no second payer.
  auto twice = ledger_->Append(
      {Reassigned("r2", "2023-06-01", kDrA, kGroupX, "MEDICARE")});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kFailedPrecondition);
  auto stats = queries_->Stats(D("2024-01-01"));
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->payers, std::vector<std::string>{"medicare"});
  // The event keeps the spelling as written.
  EXPECT_EQ(ledger_->View()->Get(6)->reassigned().payer(), "Medicare");
}

TEST_F(QueryTest, EveryMissingLinkIsNamed) {
  // Nothing recorded at all.
  ClaimCheckResult r = Check(kDrA, kGroupX, "2024-01-01");
  EXPECT_EQ(Codes(r), (std::vector<std::string>{
                          "RENDERING_NOT_ENROLLED", "NOT_CREDENTIALED",
                          "BILLING_NOT_ENROLLED", "NOT_ASSOCIATED",
                          "NO_REASSIGNMENT", "NO_CONTRACT"}));
  // An expired credential.
  Onboard(kDrA);
  Add({Reassigned("r1", "2023-01-01", kDrA, kGroupX)});
  EXPECT_EQ(Codes(Check(kDrA, kGroupX, "2029-01-01")),
            std::vector<std::string>{"NOT_CREDENTIALED"});
  // The group's enrollment ends.
  Add({EnrollmentEnded("ee", "2025-01-01", kGroupX)});
  EXPECT_EQ(Codes(Check(kDrA, kGroupX, "2025-01-01")),
            std::vector<std::string>{"BILLING_NOT_ENROLLED"});
  // The contract ends.
  Add({ContractEnded("ce", "2024-07-01", kGroupX, "medicare",
                     std::string("G-") + kDrA)});
  EXPECT_EQ(Codes(Check(kDrA, kGroupX, "2024-07-01")),
            std::vector<std::string>{"NO_CONTRACT"});
  EXPECT_TRUE(Check(kDrA, kGroupX, "2024-06-30").payable);
}

TEST_F(QueryTest, SelfBillingNeedsAnIndividualContractNotAReassignment) {
  Add({EnrolledIndividual("e", "2020-01-01", kDrA, "cigna"),
       Credentialed("c", "2020-01-01", kDrA, "cigna")});
  ClaimCheckResult r = Check(kDrA, kDrA, "2024-01-01", kHeadSeq, "cigna");
  EXPECT_EQ(Codes(r), std::vector<std::string>{"NO_CONTRACT"});
  EXPECT_EQ(r.findings[0].message,
            "no individual contract held by 1234567893 with cigna is in force "
            "on 2024-01-01");
  Add({IndividualContract("k", "2021-01-01", kDrA, "cigna")});
  EXPECT_TRUE(Check(kDrA, kDrA, "2024-01-01", kHeadSeq, "cigna").payable);
}

TEST_F(QueryTest, GroupContractBelowThePayersMinimumIsFlagged) {
  rules_.min_group_providers["cigna"] = 4;
  std::vector<Event> batch = {EnrolledOrg("eg", "2020-01-01", kGroupX, "cigna"),
                              GroupContract("k", "2020-01-01", kGroupX,
                                            {kDrA, kDrB, kDrC}, "cigna", "CG-1")};
  for (const char* npi : {kDrA, kDrB, kDrC}) {
    batch.push_back(EnrolledIndividual(std::string("e") + npi, "2020-01-01", npi, "cigna"));
    batch.push_back(Credentialed(std::string("c") + npi, "2020-01-01", npi, "cigna"));
    batch.push_back(Associated(std::string("a") + npi, "2020-01-01", npi, kGroupX, "cigna"));
    batch.push_back(Reassigned(std::string("r") + npi, "2020-01-01", npi, kGroupX, "cigna"));
  }
  Add(batch);
  auto flags = queries_->GroupMinimumFlags(kGroupX, "", D("2024-01-01"),
                                           kHeadSeq, rules_);
  ASSERT_TRUE(flags.ok());
  ASSERT_EQ(flags->size(), 1u);
  EXPECT_EQ((*flags)[0].covered_on_day, 3);
  EXPECT_EQ((*flags)[0].minimum, 4);
  ClaimCheckResult r = Check(kDrA, kGroupX, "2024-01-01", kHeadSeq, "cigna");
  EXPECT_TRUE(r.payable);  // a warning, not a denial
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].code, "GROUP_BELOW_MINIMUM");
  EXPECT_EQ(r.warnings[0].message,
            "group contract CG-1 of 1245319599 covers 3 reassigned "
            "provider(s) on 2024-01-01; cigna requires at least 4");
  rules_.min_group_providers["cigna"] = 3;
  EXPECT_TRUE(Check(kDrA, kGroupX, "2024-01-01", kHeadSeq, "cigna").warnings.empty());
}

TEST_F(QueryTest, IdentityFollowsDemographicsChanges) {
  Event e = EnrolledOrg("e", "2015-01-01", kGroupX, "medicare", "274839201",
                        "Old Name LLC");
  e.mutable_enrolled()->set_state("OH");
  Add({e});
  Event change = Base("d1", "2024-06-01");
  change.mutable_demographics_changed()->set_npi(kGroupX);
  change.mutable_demographics_changed()->set_legal_name("New Name LLC");
  change.mutable_demographics_changed()->set_state("KY");
  Add({change});
  auto before = queries_->IdentityOn(kGroupX, "medicare", D("2024-05-31"), kHeadSeq);
  auto after = queries_->IdentityOn(kGroupX, "medicare", D("2024-06-01"), kHeadSeq);
  EXPECT_EQ(before->legal_name, "Old Name LLC");
  EXPECT_EQ(before->state, "OH");
  EXPECT_EQ(after->legal_name, "New Name LLC");
  EXPECT_EQ(after->state, "KY");
  EXPECT_EQ(after->tin, "274839201");
  EXPECT_FALSE(queries_->IdentityOn(kGroupX, "medicare", D("2014-01-01"), kHeadSeq)
                   ->enrolled);
}

// Search by NPI, PAC id, enrollment id or a part of a name, as known at a
// point: a later enrollment is not found before it was recorded, a voided
// one not at all, and names compare as NormalizeName compares them.
TEST_F(QueryTest, SearchFindsByEveryIdAndByNameAsKnownAtAPoint) {
  Event chen = EnrolledIndividual("enr-b", "2018-01-15", kDrB);
  chen.mutable_enrolled()->set_first_name("James");
  chen.mutable_enrolled()->set_last_name("Chen");
  chen.mutable_enrolled()->set_enrollment_id("I20180115001122");
  chen.mutable_enrolled()->set_pac_id("5561237789");
  Event sante = EnrolledOrg("enr-y", "2016-01-01", kGroupY, "medicare",
                            "310928374", "Santé Familiale PLLC");
  const uint64_t first = Add({chen, sante});
  Event chen_aetna = chen;
  chen_aetna.set_event_id("enr-b-aetna");
  chen_aetna.mutable_enrolled()->set_payer("aetna");
  chen_aetna.mutable_enrolled()->clear_enrollment_id();
  Event alvarez = EnrolledIndividual("enr-a", "2019-07-01", kDrA);
  alvarez.mutable_enrolled()->set_first_name("Maria");
  alvarez.mutable_enrolled()->set_last_name("Álvarez");
  const uint64_t alvarez_seq = Add({chen_aetna, alvarez});
  Event rename = Base("d-y", "2024-06-01");
  rename.mutable_demographics_changed()->set_npi(kGroupY);
  rename.mutable_demographics_changed()->set_legal_name("Santé Nord PLLC");
  Add({rename});
  Add({Voided("void-a", "2024-07-01", alvarez_seq, "entered in error")});

  auto found = [&](const std::string& text, uint64_t known = kHeadSeq,
                   size_t limit = 50) {
    auto r = queries_->Search(text, limit, known);
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> out;
    for (const SearchHit& h : r->hits) {
      out.push_back(absl::StrCat(h.npi, " ", h.matched, " ", h.name, " [",
                                 absl::StrJoin(h.payers, ","), "] [",
                                 absl::StrJoin(h.enrollment_ids, ","), "] [",
                                 absl::StrJoin(h.pac_ids, ","), "]",
                                 r->truncated ? " more" : ""));
    }
    return out;
  };
  using V = std::vector<std::string>;
  const std::string chen_row =
      "1526374859 %s James Chen [aetna,medicare] [I20180115001122] "
      "[5561237789]";
  auto row = [&](const char* matched) {
    return absl::StrReplaceAll(chen_row, {{"%s", matched}});
  };
  EXPECT_EQ(found(kDrB), V{row("npi")});
  EXPECT_EQ(found("  5561237789 "), V{row("pac_id")});
  EXPECT_EQ(found("i20180115001122"), V{row("enrollment_id")});
  EXPECT_EQ(found("CHEN"), V{row("name")});
  EXPECT_EQ(found("james ch"), V{row("name")});
  // Accents and case do not count; the name is shown as written, the
  // latest legal name applied; a former name still finds it.
  EXPECT_EQ(found("sante familiale"),
            V{"1407201544 name Santé Nord PLLC [medicare] [] []"});
  EXPECT_EQ(found("SANTÉ NORD"),
            V{"1407201544 name Santé Nord PLLC [medicare] [] []"});
  // As known at the first batch: Chen at medicare only, Alvarez unknown.
  EXPECT_EQ(found(kDrB, first),
            V{"1526374859 npi James Chen [medicare] [I20180115001122] "
              "[5561237789]"});
  EXPECT_EQ(found("alvarez", first), V{});
  // Voided: found only as known before the void.
  EXPECT_EQ(found("ALVAREZ", alvarez_seq),
            V{"1234567893 name Maria Álvarez [medicare] [] []"});
  EXPECT_EQ(found("alvarez"), V{});
  EXPECT_EQ(found(kDrA), V{});
  // A limit: the first hits by NPI, and word that there were more.
  EXPECT_EQ(found("a", kHeadSeq, 1).size(), 1u);
  EXPECT_EQ(found("a", kHeadSeq, 1)[0].substr(0, 10), kGroupY);
  EXPECT_TRUE(absl::EndsWith(found("a", kHeadSeq, 1)[0], " more"));
  EXPECT_EQ(found("zzz"), V{});
  EXPECT_EQ(found("0000000000"), V{});
}

// The NPPES registry's checks: deactivation on the date of service, a
// Type 2 NPI as rendering, a Type 1 NPI billing for someone else; none
// without registry data, which the answer names.
TEST_F(QueryTest, RegistryDeactivationAndNpiTypes) {
  Onboard(kDrA);
  Add({Reassigned("r1", "2023-01-01", kDrA, kGroupX)});
  ClaimCheckResult before = Check(kDrA, kGroupX, "2024-07-01");
  EXPECT_TRUE(before.payable);
  EXPECT_EQ(before.not_in_registry, (std::vector<std::string>{kDrA, kGroupX}));

  const uint64_t a = Add({Registry("n1", "2019-01-01", kDrA, v1::Enrolled::INDIVIDUAL),
                          Registry("n2", "2014-05-23", kGroupX,
                                   v1::Enrolled::ORGANIZATION)});
  const uint64_t deactivated = Add({Registry(
      "n3", "2024-06-01", kDrA, v1::Enrolled::ENTITY_UNSPECIFIED,
      v1::RegistryUpdated::DEACTIVATED)});
  ClaimCheckResult may = Check(kDrA, kGroupX, "2024-05-31");
  EXPECT_TRUE(may.payable);
  EXPECT_TRUE(may.not_in_registry.empty());
  ClaimCheckResult july = Check(kDrA, kGroupX, "2024-07-01");
  EXPECT_EQ(Codes(july), (std::vector<std::string>{"RENDERING_NPI_DEACTIVATED"}));
  EXPECT_EQ(july.findings[0].message,
            absl::StrCat("rendering NPI ", kDrA,
                         " is deactivated in the NPPES registry from "
                         "2024-06-01 (seq ",
                         deactivated,
                         "), so it is not active on 2024-07-01"));
  // As known before the deactivation was loaded: payable.
  EXPECT_TRUE(Check(kDrA, kGroupX, "2024-07-01", a).payable);
  // Reactivated from 2024-08-01.
  Add({Registry("n4", "2024-08-01", kDrA, v1::Enrolled::INDIVIDUAL)});
  EXPECT_TRUE(Check(kDrA, kGroupX, "2024-08-01").payable);
  EXPECT_EQ(Codes(Check(kDrA, kGroupX, "2024-07-31")),
            (std::vector<std::string>{"RENDERING_NPI_DEACTIVATED"}));

  // The group as rendering, the provider as billing for the group.
  ClaimCheckResult swapped = Check(kGroupX, kDrA, "2024-03-10");
  std::vector<std::string> codes = Codes(swapped);
  ASSERT_GE(codes.size(), 2u);
  EXPECT_EQ(std::vector<std::string>(codes.begin(), codes.begin() + 2),
            (std::vector<std::string>{"RENDERING_NOT_INDIVIDUAL",
                                      "BILLING_NOT_ORGANIZATION"}));
  EXPECT_EQ(swapped.findings[0].message,
            absl::StrCat("rendering NPI ", kGroupX,
                         " is an organization (NPI Type 2) in the NPPES "
                         "registry (seq ",
                         a, "): services are rendered by individuals (Type 1)"));
  EXPECT_EQ(swapped.findings[1].message,
            absl::StrCat("billing NPI ", kDrA,
                         " is an individual (NPI Type 1) in the NPPES registry "
                         "(seq ",
                         a - 1, "), so it cannot bill for ", kGroupX,
                         "'s service: only an organization (Type 2) bills "
                         "for others"));
  // An individual billing for themself is fine.
  EXPECT_EQ(Codes(Check(kDrA, kDrA, "2024-03-10")),
            (std::vector<std::string>{"NO_CONTRACT"}));
  // Voiding the registry record takes its checks away again.
  Add({Voided("v1", "2024-06-01", a)});
  ClaimCheckResult voided = Check(kGroupX, kDrA, "2024-03-10");
  EXPECT_EQ(Codes(voided)[0], "BILLING_NOT_ORGANIZATION");
  EXPECT_EQ(voided.not_in_registry, (std::vector<std::string>{kGroupX}));
}

// A claim check lists the events of exactly the timelines it read: the
// chain, the registry records and the group's contracts (the provider's
// own only when those do not cover them), not a revalidation.
TEST_F(QueryTest, AClaimCheckRestsOnTheTimelinesItRead) {
  Onboard(kDrA);                                                  // 1-5
  Add({Reassigned("r1", "2023-01-01", kDrA, kGroupX)});            // 6
  Add({Registry("n1", "2019-01-01", kDrA, v1::Enrolled::INDIVIDUAL),
       Registry("n2", "2014-05-23", kGroupX, v1::Enrolled::ORGANIZATION),
       IndividualContract("ic", "2020-01-01", kDrA, "medicare", "IND-1")});  // 7-9
  Event revalidated = Base("rv", "2022-04-30");
  revalidated.mutable_revalidated()->set_npi(kGroupX);
  revalidated.mutable_revalidated()->set_payer("medicare");
  revalidated.mutable_revalidated()->set_next_due_on("2027-04-30");
  Add({revalidated, Voided("v", "2023-01-01", 7)});               // 10, 11
  ClaimCheckResult r = Check(kDrA, kGroupX, "2024-03-10");
  EXPECT_TRUE(r.payable);
  EXPECT_EQ(r.sources, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 11}));
  // Not covered by the group's contract on a day after it ended: the
  // provider's own contract is read too.
  Add({ContractEnded("ce", "2024-01-01", kGroupX, "medicare", "G-" + std::string(kDrA))});  // 12
  EXPECT_EQ(Check(kDrA, kGroupX, "2024-03-10").sources,
            (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12}));
  EXPECT_EQ(Check(kDrA, kGroupX, "2024-03-10", 8).sources,
            (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  // Self-billing reads the provider's own timelines only.
  EXPECT_EQ(Check(kDrA, kDrA, "2024-03-10").sources,
            (std::vector<uint64_t>{2, 3, 7, 9, 11}));
}

// An enrollment whose entity the registry contradicts is refused, even
// when the registry record comes earlier in the same batch; nothing is
// written.
TEST_F(QueryTest, AnEnrollmentTheRegistryContradictsIsRefused) {
  const uint64_t seq =
      Add({Registry("n1", "2014-05-23", kGroupX, v1::Enrolled::ORGANIZATION)});
  AppendOptions options;
  options.sync = false;
  auto wrong = ledger_->Append(
      {EnrolledIndividual("enr-x", "2015-01-01", kGroupX)}, options);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(wrong.status().message(),
            absl::StrCat("enrolled.entity: the NPPES registry has ", kGroupX,
                         " as an organization (NPI Type 2; seq ", seq,
                         "), not an individual"));
  EXPECT_EQ(FailedEventIndex(wrong.status()), std::optional<size_t>(0));
  auto batch = ledger_->Append(
      {EnrolledOrg("enr-y", "2015-01-01", kGroupY),
       Registry("n2", "2016-01-11", kGroupY, v1::Enrolled::INDIVIDUAL)},
      options);
  EXPECT_EQ(batch.status().message(),
            absl::StrCat("enrolled.entity: the NPPES registry has ", kGroupY,
                         " as an individual (NPI Type 1; seq ", seq + 2,
                         "), not an organization"));
  EXPECT_EQ(ledger_->head().seq, seq);
  // Agreeing, and unknown to the registry: both fine.
  EXPECT_TRUE(ledger_->Append({EnrolledOrg("enr-x", "2015-01-01", kGroupX),
                               EnrolledIndividual("enr-a", "2019-01-01", kDrA)},
                              options)
                  .ok());
}

}  // namespace
}  // namespace provledger
