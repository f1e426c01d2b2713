#include "projections/timeline.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace provledger {
namespace {

using storage::Timeline;
using storage::TimelineEntry;

DayNumber D(const char* date) { return *ParseDate(date); }

TimelineEntry Entry(const char* date, uint64_t seq, TimelineEntry::Kind kind,
                    uint64_t voided_by = 0) {
  TimelineEntry e;
  e.set_day(D(date));
  e.set_seq(seq);
  e.set_kind(kind);
  e.set_voided_by(voided_by);
  return e;
}

TEST(TimelineTest, InsertKeepsDayThenSeqOrder) {
  Timeline t;
  InsertEntry(&t, Entry("2024-03-01", 5, TimelineEntry::END));
  InsertEntry(&t, Entry("2024-01-01", 7, TimelineEntry::START));
  InsertEntry(&t, Entry("2024-03-01", 2, TimelineEntry::START));
  ASSERT_EQ(t.entries_size(), 3);
  EXPECT_EQ(t.entries(0).seq(), 7u);
  EXPECT_EQ(t.entries(1).seq(), 2u);
  EXPECT_EQ(t.entries(2).seq(), 5u);
}

TEST(TimelineTest, FoldsHalfOpenIntervalsAtAKnowledgePoint) {
  Timeline t;
  InsertEntry(&t, Entry("2024-01-01", 1, TimelineEntry::START));
  // A departure on 2024-03-01 recorded later, as seq 9.
  InsertEntry(&t, Entry("2024-03-01", 9, TimelineEntry::END));

  auto head = FoldIntervals(t, kHeadSeq);
  ASSERT_EQ(head.size(), 1u);
  EXPECT_EQ(head[0], (Interval{D("2024-01-01"), D("2024-03-01"), 1, 9}));
  EXPECT_TRUE(head[0].Contains(D("2024-02-29")));
  EXPECT_FALSE(head[0].Contains(D("2024-03-01")));  // end is exclusive
  EXPECT_FALSE(head[0].Contains(D("2023-12-31")));

  // As known at seq 8 the departure was not yet recorded: still open.
  auto before = FoldIntervals(t, 8);
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0].end, std::nullopt);
  EXPECT_TRUE(IntervalOn(t, D("2024-06-01"), 8).has_value());
  EXPECT_FALSE(IntervalOn(t, D("2024-06-01"), 9).has_value());
  EXPECT_TRUE(FoldIntervals(t, 0).empty());
}

TEST(TimelineTest, VoidedEntriesDropOutOnceTheVoidIsKnown) {
  Timeline t;
  InsertEntry(&t, Entry("2024-01-01", 3, TimelineEntry::START, /*voided_by=*/6));
  EXPECT_EQ(FoldIntervals(t, 5).size(), 1u);
  EXPECT_TRUE(FoldIntervals(t, 6).empty());
  EXPECT_TRUE(FoldIntervals(t, kHeadSeq).empty());
}

TEST(TimelineTest, CoherenceNamesTheBreakingEntry) {
  Timeline t;
  InsertEntry(&t, Entry("2024-01-01", 1, TimelineEntry::START));
  EXPECT_TRUE(CheckCoherent(t, "reassignment").ok());

  Timeline second = t;
  InsertEntry(&second, Entry("2024-02-01", 2, TimelineEntry::START));
  uint64_t failing = 0;
  absl::Status s = CheckCoherent(second, "reassignment", 2, &failing);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "the start on 2024-02-01 (this event) would begin a reassignment "
            "while the one started on 2024-01-01 (seq 1) is still in effect");
  EXPECT_EQ(failing, 2u);

  // An end dated before the start: nothing is in effect then.
  Timeline early_end = t;
  InsertEntry(&early_end, Entry("2023-06-01", 2, TimelineEntry::END));
  s = CheckCoherent(early_end, "reassignment", 2, &failing);
  EXPECT_EQ(s.message(),
            "the end on 2023-06-01 (this event) would end a reassignment "
            "when none is in effect");
  EXPECT_EQ(CheckCoherent(second, "enrollment", 2, &failing).message(),
            "the start on 2024-02-01 (this event) would begin an enrollment "
            "while the one started on 2024-01-01 (seq 1) is still in effect");
  EXPECT_EQ(CheckCoherent(early_end, "association", 2, &failing).message(),
            "the end on 2023-06-01 (this event) would end an association "
            "when none is in effect");

  // Voided entries do not count.
  Timeline voided;
  InsertEntry(&voided, Entry("2024-01-01", 1, TimelineEntry::START, 4));
  InsertEntry(&voided, Entry("2024-02-01", 5, TimelineEntry::START));
  EXPECT_TRUE(CheckCoherent(voided, "reassignment").ok());
}

TEST(TimelineTest, LatestPointOn) {
  Timeline t;
  InsertEntry(&t, Entry("2022-04-30", 2, TimelineEntry::POINT));
  InsertEntry(&t, Entry("2027-04-30", 8, TimelineEntry::POINT));
  EXPECT_EQ(LatestPointOn(t, D("2026-01-01"), kHeadSeq)->seq(), 2u);
  EXPECT_EQ(LatestPointOn(t, D("2028-01-01"), kHeadSeq)->seq(), 8u);
  EXPECT_EQ(LatestPointOn(t, D("2028-01-01"), 7)->seq(), 2u);
  EXPECT_EQ(LatestPointOn(t, D("2020-01-01"), kHeadSeq), nullptr);
}

TEST(TimelineTest, KeysDecode) {
  std::string key = PairKey(Relation::kReassignment, "1234567893",
                            "1245319599", "medicare");
  PairParts p = DecodePairKey(key);
  EXPECT_EQ(p.provider, "1234567893");
  EXPECT_EQ(p.org, "1245319599");
  EXPECT_EQ(p.payer, "medicare");
  EXPECT_EQ(ContractIdOfKey(ContractKey("1245319599", "cigna", "G-7")), "G-7");

  PairParts a = DecodePairKey(
      PairKey(Relation::kAssociation, "1234567893", "1245319599", "cigna"));
  EXPECT_EQ(a.provider, "1234567893");
  EXPECT_EQ(a.org, "1245319599");
  EXPECT_EQ(a.payer, "cigna");
}

TEST(TimelineTest, EveryKeyNamesItsRelationAndPayer) {
  const std::string npi = "1234567893", org = "1245319599";
  struct Case {
    std::string key;
    Relation relation;
    std::string payer;
  };
  const std::vector<Case> cases = {
      {NpiPayerKey(Relation::kEnrollment, npi, "medicare"),
       Relation::kEnrollment, "medicare"},
      {NpiPayerKey(Relation::kCredential, npi, "cigna"), Relation::kCredential,
       "cigna"},
      {NpiPayerKey(Relation::kRevalidation, npi, "aetna"),
       Relation::kRevalidation, "aetna"},
      {PairKey(Relation::kAssociation, npi, org, "medicare"),
       Relation::kAssociation, "medicare"},
      {PairKey(Relation::kReassignment, npi, org, "cigna"),
       Relation::kReassignment, "cigna"},
      {ContractKey(org, "aetna", "G-7"), Relation::kContract, "aetna"},
      {DemographicsKey(npi), Relation::kDemographics, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key);
    EXPECT_EQ(RelationOfKey(c.key), c.relation);
    EXPECT_EQ(PayerOfKey(c.key), c.payer);
  }
  EXPECT_EQ(ContractPrefix(org, "aetna"),
            ContractKey(org, "aetna", "G-7").substr(0, 17));
}

// A claim check reads an NPI's enrollment, credentialing, associations,
// contracts, revalidations and demographics: their keys sort next to one
// another (no other NPI's key between them), reassignments apart from all.
TEST(TimelineTest, OneNpisKeysSortTogetherReassignmentsApart) {
  const std::string a = "1234567893", b = "1234567901", org = "1245319599";
  std::vector<std::pair<std::string, std::string>> keys;  // key, owner
  for (const std::string& npi : {a, b}) {
    for (Relation r : {Relation::kEnrollment, Relation::kCredential,
                       Relation::kRevalidation}) {
      keys.emplace_back(NpiPayerKey(r, npi, "medicare"), npi);
      keys.emplace_back(NpiPayerKey(r, npi, "cigna"), npi);
    }
    keys.emplace_back(PairKey(Relation::kAssociation, npi, org, "medicare"),
                      npi);
    keys.emplace_back(ContractKey(npi, "medicare", "I-1"), npi);
    keys.emplace_back(DemographicsKey(npi), npi);
    keys.emplace_back(PairKey(Relation::kReassignment, npi, org, "medicare"),
                      "R");
  }
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> owners;
  for (const auto& k : keys) {
    if (owners.empty() || owners.back() != k.second) {
      owners.push_back(k.second);
    }
  }
  EXPECT_EQ(owners, (std::vector<std::string>{a, b, "R"}));
  for (const auto& [key, owner] : keys) {
    if (owner == "R") continue;
    EXPECT_EQ(key.substr(0, 10), owner);
    EXPECT_EQ(key.substr(0, 11), TimelinePrefix(RelationOfKey(key), owner));
  }
}

}  // namespace
}  // namespace provledger
