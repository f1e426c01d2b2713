#include "tools/service/service.h"

#include <gtest/gtest.h>

#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ledger/testing.h"
#include "projections/query.h"
#include "tools/service/event_json.h"

namespace provledger::service {
namespace {

using provledger::testing::TempDir;
using namespace provledger::testing;  // kDrA, event builders

// 2024-04-02T17:00:00Z, then one second later per event.
absl::Time Clock(int i) {
  return absl::FromUnixSeconds(1712077200) + absl::Seconds(i);
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LedgerOptions options;
    options.create_if_missing = true;
    options.clock = [this] { return Clock(ticks_++); };
    auto ledger = Ledger::Open(options, dir_.path() + "/db");
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ledger_ = std::move(*ledger);
    // seq 1..3: the group, Dr. A and the reassignment, one batch each.
    for (const v1::Event& e : std::vector<v1::Event>{
             EnrolledOrg("org", "2020-01-01", kGroupX, "medicare"),
          EnrolledIndividual("a", "2020-01-01", kDrA, "medicare"),
          Reassigned("r", "2021-01-01", kDrA, kGroupX, "medicare")}) {
      ASSERT_TRUE(ledger_->Append({e}, AppendOptions()).ok());
    }
  }

  QueryService Service() const { return QueryService(ledger_->View()); }

  static v1::AsOfRequest AsOfOn(const std::string& date) {
    v1::AsOfRequest r;
    r.set_date(date);
    return r;
  }

  TempDir dir_;
  int ticks_ = 0;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(ServiceTest, ErrorsNameTheRequestFieldNotAFlag) {
  const QueryService service = Service();
  auto date = service.AsOf(AsOfOn("2024-02-30"));
  EXPECT_EQ(date.status(),
            absl::InvalidArgumentError(
                "date: '2024-02-30' is not a real calendar day"));
  v1::AsOfRequest beyond = AsOfOn("2024-01-01");
  beyond.mutable_known()->set_known_seq(9);
  EXPECT_EQ(service.AsOf(beyond).status(),
            absl::InvalidArgumentError("known_seq: 9 is beyond the head (3)"));
  v1::AsOfRequest zone = AsOfOn("2024-01-01");
  zone.mutable_known()->set_known_at("2024-01-01");
  zone.mutable_known()->set_tz("Mars/Olympus");
  EXPECT_TRUE(absl::StartsWith(service.AsOf(zone).status().message(),
                               "tz: 'Mars/Olympus' is not"))
      << service.AsOf(zone).status();

  v1::ClaimCheckRequest claim;
  claim.set_rendering_npi(kDrA);
  claim.set_billing_npi("1234567890");
  claim.set_payer("medicare");
  claim.set_date_of_service("2024-01-01");
  EXPECT_EQ(service.ClaimCheck(claim).status(),
            absl::InvalidArgumentError(
                "billing_npi: '1234567890' is not a valid NPI (10 digits, "
                "Luhn check over 80840)"));
  claim.set_billing_npi(kGroupX);
  claim.clear_payer();
  EXPECT_EQ(service.ClaimCheck(claim).status(),
            absl::InvalidArgumentError("payer: is required"));

  v1::DiffRequest diff;
  diff.set_from("2024-02-01");
  diff.set_to("2024-01-01");
  EXPECT_EQ(service.Diff(diff).status(),
            absl::InvalidArgumentError("to: 2024-01-01 is before from 2024-02-01"));
  EXPECT_EQ(service.History(v1::HistoryRequest()).status(),
            absl::InvalidArgumentError("npi: is required"));
}

TEST_F(ServiceTest, ABareDateKnownAtMeansTheEndOfThatDayInTheZone) {
  // Events were recorded 2024-04-02 17:00:00Z, :01, :02.
  const QueryService service = Service();
  v1::KnowledgePoint known;
  known.set_known_at("2024-04-02");
  EXPECT_EQ(*ResolveKnowledge(service.view(), known), 3u);
  known.set_known_at("2024-04-01");
  EXPECT_EQ(*ResolveKnowledge(service.view(), known), 0u);
  // In Chicago 2024-04-02 ends at 05:00Z on the 3rd; the 1st ends at
  // 05:00Z on the 2nd, before anything was recorded.
  known.set_tz("America/Chicago");
  EXPECT_EQ(*ResolveKnowledge(service.view(), known), 0u);
  known.set_known_at("2024-04-02T12:00:01");  // 17:00:01Z
  EXPECT_EQ(*ResolveKnowledge(service.view(), known), 2u);
  known.set_known_at("2024-04-02T17:00:01Z");
  EXPECT_EQ(*ResolveKnowledge(service.view(), known), 2u);
  EXPECT_EQ(*ResolveKnowledge(service.view(), v1::KnowledgePoint()), 3u);
}

TEST_F(ServiceTest, TheCaptionSaysWhatTheAnswerKnew) {
  const QueryService service = Service();
  EXPECT_EQ(service.KnownAtCaption(3, absl::UTCTimeZone()),
            "as known now (seq 3)");
  EXPECT_EQ(service.KnownAtCaption(2, absl::UTCTimeZone()),
            "as known at seq 2 recorded 2024-04-02T17:00:01.000000Z");
  // The same words for a front end that knows only the numbers (a client
  // of a server); an empty ledger's head is seq 0.
  EXPECT_EQ(KnownAtCaption(0, 0, std::nullopt, absl::UTCTimeZone()),
            "as known now (seq 0)");
  EXPECT_EQ(KnownAtCaption(0, 3, std::nullopt, absl::UTCTimeZone()),
            "as known at seq 0");
}

TEST_F(ServiceTest, AnAnswerComesFromTheViewItWasGiven) {
  const QueryService before = Service();
  ASSERT_TRUE(ledger_
                  ->Append({Revoked("x", "2022-01-01", kDrA, kGroupX,
                                             "medicare")},
                           AppendOptions())
                  .ok());
  const QueryService after = Service();
  auto then = before.AsOf(AsOfOn("2023-01-01"));
  ASSERT_TRUE(then.ok()) << then.status();
  EXPECT_EQ(then->known_seq(), 3u);
  ASSERT_EQ(then->reassignments_size(), 1);
  EXPECT_EQ(then->reassignments(0).provider(), kDrA);
  EXPECT_FALSE(then->reassignments(0).has_effective_until());
  auto now = after.AsOf(AsOfOn("2023-01-01"));
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->known_seq(), 4u);
  EXPECT_EQ(now->reassignments_size(), 0);
  // The later view asked for seq 3 answers as the earlier view does, byte
  // for byte.
  v1::AsOfRequest at3 = AsOfOn("2023-01-01");
  at3.mutable_known()->set_known_seq(3);
  EXPECT_EQ(ToJson(*after.AsOf(at3)), ToJson(*then));
  // And each answer agrees with the queries it is built from.
  auto rows = Queries(ledger_->View())
                  .ReassignmentsOn(*ParseDate("2023-01-01"), 3, {});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].interval.start_seq, then->reassignments(0).start_seq());
}

TEST_F(ServiceTest, JsonListsEveryPlainFieldAndLeavesUnsetOptionalsOut) {
  auto empty = Service().AsOf(AsOfOn("2019-01-01"));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(ToJson(*empty),
            R"({"date":"2019-01-01","known_seq":"3","reassignments":[],)"
            R"("warnings":[]})");
  auto one = Service().AsOf(AsOfOn("2021-06-01"));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(ToJson(one->reassignments(0)),
            absl::StrCat(R"({"provider":")", kDrA, R"(","org":")", kGroupX,
                         R"(","payer":"medicare","effective_from":)"
                         R"("2021-01-01","start_seq":"3"})"));
}

TEST_F(ServiceTest, AppendRetriedAfterSuccessReturnsTheOriginalSeqs) {
  v1::AppendRequest request;
  *request.add_events() =
      EnrolledIndividual("b", "2020-01-01", kDrB, "medicare");
  request.mutable_events(0)->clear_actor();  // filled by default
  request.mutable_expected()->set_npi(kDrB);
  request.mutable_expected()->set_version(0);
  auto first = Append(*ledger_, request, "clerk");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(ToJson(*first),
            absl::StrCat(R"({"appended":1,"duplicates":0,"seqs":["4"],"head":")",
                         DigestOf(ledger_->head()), R"(","duplicate":[false]})"));
  auto again = Append(*ledger_, request, "another clerk");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->appended(), 0u);
  EXPECT_EQ(again->seqs(0), 4u);
  EXPECT_TRUE(again->duplicate(0));
  EXPECT_EQ(ledger_->View()->Get(4).value().actor(), "clerk");
}

TEST_F(ServiceTest, ImportStopsAtTheBadLineAndKeepsTheEarlierBatches) {
  std::stringstream in;
  for (const v1::Event& e : std::vector<v1::Event>{
           EnrolledIndividual("b", "2020-01-01", kDrB, "medicare"),
        EnrolledIndividual("c", "2020-01-01", kDrC, "medicare")}) {
    in << EventToJson(e) << "\n";
  }
  in << "\n{\"event_id\": oops}\n";
  ImportOptions options;
  options.batch_size = 2;
  ImportSummary summary;
  size_t failed_line = 0;
  absl::Status s =
      Import(*ledger_, in, options, nullptr, &summary, &failed_line);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.message(), "line 4: not valid JSON"))
      << s.message();
  EXPECT_EQ(failed_line, 3u);
  EXPECT_EQ(summary.batches, 1u);
  EXPECT_EQ(summary.written, 2u);
  EXPECT_EQ(summary.head, DigestOf(ledger_->head()));
  EXPECT_TRUE(absl::StartsWith(summary.head, "5:")) << summary.head;
  EXPECT_EQ(ledger_->head().seq, 5u);
}

TEST_F(ServiceTest, ReplayIntoReproducesTheChainUpToTheSeq) {
  TempDir other;
  LedgerOptions options;
  options.create_if_missing = true;
  auto target = Ledger::Open(options, other.path() + "/db");
  ASSERT_TRUE(target.ok());
  std::vector<uint64_t> progress;
  auto head = ReplayInto(*ledger_->View(), 2, **target,
                         [&](uint64_t done) { progress.push_back(done); });
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->seq, 2u);
  EXPECT_EQ(DigestOf(*head),
            absl::StrCat("2:", ledger_->View()->Get(2).value().hash()));
  EXPECT_EQ(progress.back(), 2u);
  // Only into an empty ledger.
  EXPECT_EQ(ReplayInto(*ledger_->View(), 3, **target).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace provledger::service
