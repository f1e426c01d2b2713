// Loading PPEF snapshots (tests/data): idempotent reloads, and a later
// snapshot revoking reassignments that disappeared.
#include "tools/service/ppef.h"

#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "ledger/testing.h"
#include "projections/query.h"

namespace provledger {
namespace {

using namespace provledger::testing;

class PpefTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LedgerOptions options;
    options.create_if_missing = true;
    ledger_ = std::move(*Ledger::Open(options, dir_.Sub("db")));
  }

  PpefResult Load(const std::string& date) {
    std::string d = date;
    std::replace(d.begin(), d.end(), '-', '.');
    std::ifstream enr(absl::StrCat(PROVLEDGER_TEST_DATA,
                                   "/PPEF_Enrollment_Extract_", d, ".csv"));
    std::ifstream rea(absl::StrCat(PROVLEDGER_TEST_DATA,
                                   "/PPEF_Reassignment_Extract_", d, ".csv"));
    EXPECT_TRUE(enr.good() && rea.good());
    PpefOptions o;
    o.as_of = *ParseDate(date);
    o.sync = false;
    problems_.clear();
    auto r = LoadPpef(*ledger_, enr, rea, o,
                      [&](const std::string& p) { problems_.push_back(p); });
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : PpefResult();
  }

  std::vector<std::string> InEffect(const char* date) {
    Queries q(ledger_.get());
    std::vector<std::string> out;
    auto rows = q.ReassignmentsOn(*ParseDate(date), kHeadSeq, {});
    EXPECT_TRUE(rows.ok());
    if (!rows.ok()) return out;
    for (const auto& r : *rows) {
      out.push_back(r.provider + "->" + r.org);
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Ledger> ledger_;
  std::vector<std::string> problems_;
};

TEST_F(PpefTest, FirstSnapshotThenIdenticalReloadAddsNothing) {
  PpefResult first = Load("2024-04-01");
  EXPECT_EQ(first.enrolled, 6u);
  EXPECT_EQ(first.reassigned, 5u);
  EXPECT_EQ(first.revoked, 0u);
  EXPECT_EQ(first.skipped_rows, 2u);
  EXPECT_EQ(problems_, (std::vector<std::string>{
                           "enrollment line 8: NPI '1234567890' is not a valid NPI",
                           "reassignment line 7: enrollment id 'I20230101000699' "
                           "is neither in the enrollment extract nor in the "
                           "ledger"}));
  const Head head = ledger_->head();
  EXPECT_EQ(head.seq, 11u);
  auto e = ledger_->View()->Get(1);
  EXPECT_EQ(e->event_id(), "ppef:medicare:enr:O20230101000501");
  EXPECT_EQ(e->source(), "PPEF 2024-04-01");
  EXPECT_EQ(e->effective_date(), "2024-04-01");
  EXPECT_EQ(e->enrolled().legal_name(), "NORTHGATE PEDIATRICS PC");
  EXPECT_EQ(e->enrolled().entity(), v1::Enrolled::ORGANIZATION);
  EXPECT_EQ(ledger_->View()->Get(2)->enrolled().legal_name(), "HARBOR VIEW IMAGING, LLC");

  PpefResult again = Load("2024-04-01");
  EXPECT_EQ(again.enrolled + again.reassigned + again.revoked, 0u);
  EXPECT_EQ(ledger_->head().seq, head.seq);
  EXPECT_EQ(ledger_->head().hash, head.hash);
}

TEST_F(PpefTest, LaterSnapshotRevokesWhatDisappearedAndAddsWhatIsNew) {
  Load("2024-04-01");
  EXPECT_EQ(InEffect("2024-05-01"),
            (std::vector<std::string>{"1384756650->1102938473",
                                      "1384756650->1293847566",
                                      "1748596073->1102938473",
                                      "1859607180->1102938473",
                                      "1960718298->1293847566"}));
  PpefResult later = Load("2024-07-01");
  EXPECT_EQ(later.enrolled, 0u);
  EXPECT_EQ(later.reassigned, 1u);
  EXPECT_EQ(later.revoked, 1u);
  EXPECT_EQ(later.already_reassigned, 4u);
  EXPECT_EQ(InEffect("2024-07-01"),
            (std::vector<std::string>{"1384756650->1102938473",
                                      "1384756650->1293847566",
                                      "1748596073->1102938473",
                                      "1859607180->1102938473",
                                      "1960718298->1102938473"}));
  // Before the later snapshot's date, the earlier state holds.
  EXPECT_EQ(InEffect("2024-06-30").back(), "1960718298->1293847566");
  auto revoke = ledger_->View()->Get(ledger_->head().seq);
  EXPECT_EQ(revoke->event_id(),
            "ppef:medicare:rev:1960718298:1293847566:2024-07-01");
  // Reloading the later snapshot adds nothing either.
  const uint64_t seq = ledger_->head().seq;
  Load("2024-07-01");
  EXPECT_EQ(ledger_->head().seq, seq);
  EXPECT_TRUE(ledger_->VerifyProjections().ok());
}

TEST_F(PpefTest, ReassignmentsFromOtherSourcesAreNeverRevoked) {
  Load("2024-04-01");
  // The group records its own CMS-855R reassignment, not in any snapshot.
  auto r = ledger_->Append({Reassigned("own", "2024-05-01", kDrA, "1102938473")});
  ASSERT_TRUE(r.ok()) << r.status();
  PpefResult later = Load("2024-07-01");
  EXPECT_EQ(later.revoked, 1u);  // only the PPEF-loaded one
  auto now = InEffect("2024-07-01");
  EXPECT_TRUE(std::find(now.begin(), now.end(),
                        std::string(kDrA) + "->1102938473") != now.end());
}

}  // namespace
}  // namespace provledger
