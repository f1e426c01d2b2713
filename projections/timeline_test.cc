#include "projections/timeline.h"

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
}

}  // namespace
}  // namespace provledger
