#include "ledger/internal/raw_access.h"
#include "ledger/ledger.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ledger/internal/coding.h"
#include "ledger/testing.h"
#include "ledger/validation.h"
#include "projections/timeline.h"
#include "rocksdb/db.h"
#include "rocksdb/perf_context.h"
#include "rocksdb/table_properties.h"

namespace provledger {
namespace {

using namespace provledger::testing;
using v1::Event;

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen(uint32_t rebuild_passes = 0, LedgerOptions options = {}) {
    ledger_.reset();
    options.create_if_missing = true;
    options.rebuild_passes = rebuild_passes;
    options.clock = [this] { return now_; };
    auto l = Ledger::Open(options, dir_.Sub("db"));
    ASSERT_TRUE(l.ok()) << l.status();
    ledger_ = std::move(*l);
  }

  absl::StatusOr<AppendResult> Append(std::vector<Event> batch,
                                      AppendOptions options = {}) {
    options.sync = false;
    return ledger_->Append(batch, options);
  }

  // Appends one event; expects success and returns its seq.
  uint64_t Must(const Event& e) {
    auto r = Append({e});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->seqs[0] : 0;
  }

  void ExpectRefused(const Event& e, absl::StatusCode code,
                     const std::string& message) {
    const uint64_t head = ledger_->head().seq;
    auto r = Append({e});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code);
    EXPECT_EQ(std::string(r.status().message()), message);
    EXPECT_EQ(FailedEventIndex(r.status()), std::optional<size_t>(0));
    // Every refusal carries its field and a stable code for its status.
    std::optional<v1::EventError> details = EventErrorOf(r.status());
    ASSERT_TRUE(details.has_value());
    EXPECT_EQ(details->field(), message.substr(0, message.find(": ")));
    const std::map<absl::StatusCode, std::string> codes = {
        {absl::StatusCode::kInvalidArgument, "INVALID_FIELD"},
        {absl::StatusCode::kAlreadyExists, "DUPLICATE_EVENT_ID"},
        {absl::StatusCode::kFailedPrecondition, "INCOHERENT_TIMELINE"}};
    EXPECT_EQ(details->code(), codes.at(code));
    EXPECT_EQ(ledger_->head().seq, head);
  }

  TempDir dir_;
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(LedgerTest, OpenWithoutCreateFailsClearly) {
  auto l = Ledger::Open(LedgerOptions(), dir_.Sub("nothing-here"));
  EXPECT_EQ(l.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(l.status().message(), "no ledger at"));
}

TEST_F(LedgerTest, AssignsGaplessSeqsAndChainsHashes) {
  auto r = Append({EnrolledIndividual("e1", "2020-01-01", kDrA),
                   EnrolledOrg("e2", "2020-01-01", kGroupX),
                   Reassigned("r1", "2021-05-01", kDrA, kGroupX)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->seqs, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(r->written, 3u);
  EXPECT_EQ(ledger_->head().seq, 3u);

  std::string prev = ToHex(kZeroHash);
  uint64_t expected = 1;
  for (auto it = ledger_->View()->Read(1); it->Valid(); it->Next(), ++expected) {
    const Event& e = it->event();
    EXPECT_EQ(e.seq(), expected);
    EXPECT_EQ(e.prev_hash(), prev);
    Hash h;
    ASSERT_TRUE(FromHex(e.prev_hash(), &h));
    EXPECT_EQ(ToHex(ChainHash(h, it->stored_bytes())), e.hash());
    EXPECT_EQ(e.recorded_at().seconds(), 1700000000);
    prev = e.hash();
  }
  EXPECT_EQ(expected, 4u);
  EXPECT_EQ(prev, ToHex(ledger_->head().hash));

  // Head and events survive a reopen.
  Head before = ledger_->head();
  Reopen();
  EXPECT_EQ(ledger_->head().seq, before.seq);
  EXPECT_EQ(ledger_->head().hash, before.hash);
  auto e2 = ledger_->View()->Get(2);
  ASSERT_TRUE(e2.ok());
  EXPECT_EQ(e2->event_id(), "e2");
  EXPECT_EQ(ledger_->View()->Read(2)->event().prev_hash(), ledger_->View()->Get(1)->hash());
}

TEST_F(LedgerTest, RecordedAtNeverGoesBackwards) {
  Must(EnrolledIndividual("e1", "2020-01-01", kDrA));
  now_ -= absl::Hours(1);  // the clock steps back
  Must(EnrolledIndividual("e2", "2020-01-01", kDrB));
  EXPECT_EQ(ledger_->View()->Get(2)->recorded_at().seconds(), 1700000000);
  now_ += absl::Hours(2);
  Must(EnrolledIndividual("e3", "2020-01-01", kDrC));
  EXPECT_EQ(*ledger_->View()->SeqAtTime(absl::FromUnixSeconds(1700000000)), 2u);
  EXPECT_EQ(*ledger_->View()->SeqAtTime(absl::FromUnixSeconds(1699999999)), 0u);
  EXPECT_EQ(*ledger_->View()->SeqAtTime(absl::FromUnixSeconds(1700003600)), 3u);
}

TEST_F(LedgerTest, SameEventIdSameContentReturnsOriginalSeqAndWritesNothing) {
  Event e = Reassigned("r-17", "2024-02-01", kDrA, kGroupX);
  EXPECT_EQ(Must(EnrolledIndividual("e1", "2020-01-01", kDrA)), 1u);
  EXPECT_EQ(Must(e), 2u);
  Head head = ledger_->head();

  now_ += absl::Hours(5);
  auto again = Append({e});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->seqs, std::vector<uint64_t>{2});
  EXPECT_EQ(again->duplicate, std::vector<bool>{true});
  EXPECT_EQ(again->written, 0u);
  EXPECT_EQ(ledger_->head().seq, head.seq);
  EXPECT_EQ(ledger_->head().hash, head.hash);

  // Ledger-assigned fields on input (an exported line) do not matter.
  Event exported = *ledger_->View()->Get(2);
  auto from_export = Append({exported});
  ASSERT_TRUE(from_export.ok());
  EXPECT_EQ(from_export->seqs, std::vector<uint64_t>{2});

  // A duplicate inside one batch, next to a new event.
  auto mixed = Append({EnrolledIndividual("e2", "2020-01-01", kDrB), e,
                       EnrolledIndividual("e2", "2020-01-01", kDrB)});
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  EXPECT_EQ(mixed->seqs, (std::vector<uint64_t>{3, 2, 3}));
  EXPECT_EQ(mixed->written, 1u);
}

TEST_F(LedgerTest, SameEventIdDifferentContentIsAnError) {
  Must(Reassigned("r-17", "2024-02-01", kDrA, kGroupX));
  ExpectRefused(Reassigned("r-17", "2024-03-01", kDrA, kGroupX),
                absl::StatusCode::kAlreadyExists,
                "event_id: 'r-17' was already used for different content "
                "(seq 1); differing field(s): effective_date");
  Event other = Reassigned("r-17", "2024-02-01", kDrA, kGroupY);
  other.mutable_reassigned()->set_org_tin("123456789");
  other.set_source("PECOS");
  ExpectRefused(other, absl::StatusCode::kAlreadyExists,
                "event_id: 'r-17' was already used for different content "
                "(seq 1); differing field(s): source, reassigned.org_npi, "
                "reassigned.org_tin");
  // Another body altogether.
  ExpectRefused(Revoked("r-17", "2024-02-01", kDrA, kGroupX),
                absl::StatusCode::kAlreadyExists,
                "event_id: 'r-17' was already used for different content "
                "(seq 1); differing field(s): reassigned, revoked");
}

TEST_F(LedgerTest, TheSameEventSentByAnotherOperatorIsADuplicate) {
  // Events that name no actor get the appending operator's.
  Event e = Reassigned("r-17", "2024-02-01", kDrA, kGroupX);
  e.clear_actor();
  AppendOptions alice;
  alice.default_actor = "alice";
  auto first = Append({e}, alice);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(ledger_->View()->Get(1)->actor(), "alice");

  AppendOptions bob;
  bob.default_actor = "bob";
  auto again = Append({e}, bob);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->seqs, std::vector<uint64_t>{1});
  EXPECT_EQ(again->duplicate, std::vector<bool>{true});
  EXPECT_EQ(ledger_->head().seq, 1u);
  EXPECT_EQ(ledger_->View()->Get(1)->actor(), "alice");  // the recorded actor stays

  // An actor written in the event is content: another one differs.
  Event signed_by_carol = e;
  signed_by_carol.set_actor("carol");
  auto r = Append({signed_by_carol}, bob);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(r.status().message(),
            "event_id: 'r-17' was already used for different content (seq 1); "
            "differing field(s): actor");
}

TEST_F(LedgerTest, VoidsNameTheirTargetBySeqOrByEventId) {
  Must(EnrolledIndividual("e1", "2020-01-01", kDrA));
  Must(EnrolledOrg("e2", "2020-01-01", kGroupX));
  Must(Reassigned("r1", "2021-05-01", kDrA, kGroupX));

  Event by_id = Voided("v1", "2021-05-01", 0);
  by_id.mutable_voided()->set_target_event_id("r1");
  EXPECT_EQ(Must(by_id), 4u);
  // Stored with the target's seq resolved, and the id as written.
  auto stored = ledger_->View()->Get(4);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->voided().target_seq(), 3u);
  EXPECT_EQ(stored->voided().target_event_id(), "r1");
  auto t = ledger_->View()->GetTimeline(
      PairKey(Relation::kReassignment, kDrA, kGroupX, "medicare"));
  ASSERT_TRUE(t.ok() && t->has_value());
  EXPECT_EQ((*t)->entries(0).voided_by(), 4u);

  // The same correction file sent again is a duplicate.
  auto again = Append({by_id});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->seqs, std::vector<uint64_t>{4});
  EXPECT_EQ(again->duplicate, std::vector<bool>{true});

  // A target in the same batch.
  Event late = Reassigned("r2", "2021-06-01", kDrA, kGroupX);
  Event void_late = Voided("v2", "2021-06-01", 0);
  void_late.mutable_voided()->set_target_event_id("r2");
  auto batch = Append({late, void_late});
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(ledger_->View()->Get(6)->voided().target_seq(), 5u);

  Event unknown = Voided("v3", "2021-05-01", 0);
  unknown.mutable_voided()->set_target_event_id("no-such-event");
  ExpectRefused(unknown, absl::StatusCode::kInvalidArgument,
                "voided.target_event_id: no recorded event has event_id "
                "'no-such-event'");
  Event disagree = Voided("v3", "2021-05-01", 2);
  disagree.mutable_voided()->set_target_event_id("e1");
  ExpectRefused(disagree, absl::StatusCode::kInvalidArgument,
                "voided.target_seq: 2 is not the seq of event 'e1' (seq 1)");
  // By seq, as before; both agreeing is fine.
  Event both = Voided("v3", "2020-01-01", 2);
  both.mutable_voided()->set_target_event_id("e2");
  EXPECT_EQ(Must(both), 7u);
}

TEST_F(LedgerTest, BatchWithOneBadEventWritesNothingAndNamesIt) {
  std::vector<Event> batch;
  for (int i = 0; i < 1000; ++i) {
    batch.push_back(Credentialed(absl::StrCat("c", i), "2024-01-01", kDrA));
  }
  batch[699].mutable_credentialed()->set_npi("1234567890");
  auto r = Append(batch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "credentialed.npi: '1234567890' fails the NPI check digit (Luhn "
            "over prefix 80840)");
  EXPECT_EQ(FailedEventIndex(r.status()), std::optional<size_t>(699));
  // The same as structured details, under protobuf's type URL.
  std::optional<v1::EventError> details = EventErrorOf(r.status());
  ASSERT_TRUE(details.has_value());
  EXPECT_EQ(details->index(), 699u);
  EXPECT_EQ(details->field(), "credentialed.npi");
  EXPECT_EQ(details->code(), "INVALID_FIELD");
  EXPECT_TRUE(r.status()
                  .GetPayload("type.googleapis.com/provledger.v1.EventError")
                  .has_value());
  EXPECT_EQ(ledger_->head().seq, 0u);
  EXPECT_FALSE(ledger_->View()->Read(1)->Valid());
  EXPECT_EQ(*ledger_->View()->FindEventId("c0"), std::nullopt);
  EXPECT_EQ(*ledger_->View()->StreamVersion(kDrA), 0u);
  auto dump = LedgerInternals::DumpProjections(*ledger_);
  ASSERT_TRUE(dump.ok());
  EXPECT_TRUE(dump->empty());

  // The same batch, fixed, lands whole.
  batch[699].mutable_credentialed()->set_npi(kDrA);
  auto fixed = Append(batch);
  ASSERT_TRUE(fixed.ok()) << fixed.status();
  EXPECT_EQ(fixed->written, 1000u);
  EXPECT_EQ(ledger_->head().seq, 1000u);
}

TEST_F(LedgerTest, TimelineRefusesIncoherentEventsAtTheirEffectiveDate) {
  Must(Reassigned("r1", "2024-01-01", kDrA, kGroupX));  // seq 1
  Must(Revoked("x1", "2024-06-01", kDrA, kGroupX));     // seq 2

  // A second start while one is in effect, backdated into the interval.
  ExpectRefused(Reassigned("r2", "2024-03-01", kDrA, kGroupX),
                absl::StatusCode::kFailedPrecondition,
                "reassigned: the start on 2024-03-01 (this event) would begin "
                "a reassignment while the one started on 2024-01-01 (seq 1) "
                "is still in effect");
  // An end inside the interval leaves the later end with nothing to end.
  ExpectRefused(Revoked("x2", "2024-03-01", kDrA, kGroupX),
                absl::StatusCode::kFailedPrecondition,
                "revoked: with this end inserted on 2024-03-01, the end on "
                "2024-06-01 (seq 2) would end a reassignment when none is in "
                "effect");
  // An end before any start.
  ExpectRefused(Revoked("x3", "2023-01-01", kDrA, kGroupX),
                absl::StatusCode::kFailedPrecondition,
                "revoked: the end on 2023-01-01 (this event) would end a "
                "reassignment when none is in effect");
  // A start before the existing start with no end in between.
  ExpectRefused(Reassigned("r0", "2023-01-01", kDrA, kGroupX),
                absl::StatusCode::kFailedPrecondition,
                "reassigned: with this start inserted on 2023-01-01, the start "
                "on 2024-01-01 (seq 1) would begin a reassignment while the "
                "one started on 2023-01-01 (this event) is still in effect");
  // Another organization or payer is another relationship.
  Must(Reassigned("r3", "2024-03-01", kDrA, kGroupY));
  Must(Reassigned("r4", "2024-03-01", kDrA, kGroupX, "cigna"));

  // A whole earlier episode, backdated, recorded out of order in one batch.
  auto episode = Append({Revoked("x0", "2023-06-01", kDrA, kGroupX),
                         Reassigned("r00", "2023-01-01", kDrA, kGroupX)});
  ASSERT_TRUE(episode.ok()) << episode.status();
  // A new start after the end works.
  Must(Reassigned("r5", "2024-06-01", kDrA, kGroupX));
  EXPECT_TRUE(ledger_->VerifyProjections().ok());
}

TEST_F(LedgerTest, VoidsRetractAndAreChecked) {
  Must(Reassigned("r1", "2024-01-01", kDrA, kGroupX));  // 1
  Must(Revoked("x1", "2024-06-01", kDrA, kGroupX));     // 2
  ExpectRefused(Voided("v0", "2024-07-01", 99),
                absl::StatusCode::kInvalidArgument,
                "voided.target_seq: no event with seq 99 exists");
  ExpectRefused(Voided("v1", "2024-07-01", 1),
                absl::StatusCode::kFailedPrecondition,
                "voided.target_seq: voiding seq 1 would leave its "
                "reassignment timeline incoherent: the end on 2024-06-01 "
                "(seq 2) would end a reassignment when none is in effect");
  EXPECT_EQ(Must(Voided("v2", "2024-07-01", 2)), 3u);
  ExpectRefused(Voided("v3", "2024-07-01", 2),
                absl::StatusCode::kFailedPrecondition,
                "voided.target_seq: seq 2 was already voided by seq 3");
  ExpectRefused(Voided("v4", "2024-07-01", 3),
                absl::StatusCode::kInvalidArgument,
                "voided.target_seq: seq 3 is itself a void; a void cannot be "
                "voided (append the retracted event again instead)");
  // The void reopened the reassignment: a new end is accepted.
  EXPECT_EQ(Must(Revoked("x2", "2024-08-01", kDrA, kGroupX)), 4u);
  // Void both in one batch, end first.
  auto both = Append({Voided("v5", "2024-09-01", 4), Voided("v6", "2024-09-01", 1)});
  ASSERT_TRUE(both.ok()) << both.status();
  // A void inside the batch of its target.
  auto same = Append({Reassigned("r9", "2025-01-01", kDrB, kGroupX),
                      Voided("v9", "2025-01-01", 7)});
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->seqs, (std::vector<uint64_t>{7, 8}));
  EXPECT_TRUE(ledger_->VerifyProjections().ok());
}

TEST_F(LedgerTest, ARetryOfASuccessfulAppendReturnsItsSeqsWhateverTheVersion) {
  Must(EnrolledIndividual("e1", "2020-01-01", kDrA));
  AppendOptions guarded;
  guarded.expected = ExpectedVersion{kDrA, 1};
  const std::vector<Event> batch = {Credentialed("c1", "2021-01-01", kDrA),
                                    Credentialed("c2", "2022-01-01", kDrA)};
  auto first = Append(batch, guarded);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->seqs, (std::vector<uint64_t>{2, 3}));

  // The client lost the reply and sends the same batch with the same
  // expected version: the stream is at 3 now, but nothing new would be
  // written, so this is the answer it missed.
  auto retry = Append(batch, guarded);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->seqs, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(retry->duplicate, (std::vector<bool>{true, true}));
  EXPECT_EQ(retry->written, 0u);
  EXPECT_EQ(ledger_->head().seq, 3u);

  // A batch with one new event is checked against the version as before.
  auto stale = Append({batch[0], Credentialed("c3", "2023-01-01", kDrA)},
                      guarded);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(stale.status().message(),
            "expected_version: stream 1234567893 is at version 3, not the "
            "expected 1 (someone appended meanwhile)");
  EXPECT_EQ(ledger_->head().seq, 3u);
}

TEST_F(LedgerTest, ExpectedVersionGuardsAStream) {
  Must(EnrolledIndividual("e1", "2020-01-01", kDrA));     // 1
  Must(Reassigned("r1", "2021-01-01", kDrA, kGroupX));    // 2, touches both
  EXPECT_EQ(*ledger_->View()->StreamVersion(kDrA), 2u);
  EXPECT_EQ(*ledger_->View()->StreamVersion(kGroupX), 2u);
  EXPECT_EQ(*ledger_->View()->StreamVersion(kDrB), 0u);
  EXPECT_EQ(*ledger_->View()->StreamVersion(kDrA, 1), 1u);
  EXPECT_EQ(*ledger_->View()->StreamSeqs(kDrA), (std::vector<uint64_t>{1, 2}));

  AppendOptions stale;
  stale.expected = ExpectedVersion{kDrA, 1};
  auto r = Append({Revoked("x1", "2022-01-01", kDrA, kGroupX)}, stale);
  ASSERT_FALSE(r.ok());
  // Aborted: retry at a higher level (read the stream again).
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(r.status().message(),
            "expected_version: stream 1234567893 is at version 2, not the "
            "expected 1 (someone appended meanwhile)");
  std::optional<v1::EventError> details = EventErrorOf(r.status());
  ASSERT_TRUE(details.has_value());
  EXPECT_FALSE(details->has_index());
  EXPECT_EQ(details->field(), "expected_version");
  EXPECT_EQ(details->code(), "STALE_VERSION");
  EXPECT_EQ(ledger_->head().seq, 2u);

  AppendOptions current;
  current.expected = ExpectedVersion{kDrA, 2};
  EXPECT_TRUE(Append({Revoked("x1", "2022-01-01", kDrA, kGroupX)}, current).ok());
  AppendOptions fresh;
  fresh.expected = ExpectedVersion{kDrB, 0};
  EXPECT_TRUE(Append({EnrolledIndividual("e2", "2020-01-01", kDrB)}, fresh).ok());
}

TEST_F(LedgerTest, VerifyDetectsATamperedByte) {
  for (int i = 0; i < 10; ++i) {
    Must(Credentialed(absl::StrCat("c", i), "2024-01-01", kDrA));
  }
  auto ok = ledger_->VerifyChain();
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->first_bad_seq, 0u);
  EXPECT_EQ(ok->events_checked, 10u);

  // Flip one byte of the stored event bytes of seq 5.
  rocksdb::DB* db = LedgerInternals::Db(*ledger_);
  std::string value;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), LedgerInternals::EventsCf(*ledger_),
                      EncodeSeq(5), &value)
                  .ok());
  value[value.size() - 3] ^= 0x01;
  ASSERT_TRUE(
      db->Put(rocksdb::WriteOptions(), LedgerInternals::EventsCf(*ledger_), EncodeSeq(5), value)
          .ok());
  LedgerInternals::Repin(*ledger_);  // see the raw writes
  auto bad = ledger_->VerifyChain();
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->first_bad_seq, 5u);
  EXPECT_EQ(bad->events_checked, 4u);
  EXPECT_TRUE(absl::StrContains(bad->problem, "stored hash does not match"));

  // Flip a byte of the stored hash of seq 7 instead (seq 5 restored).
  value[value.size() - 3] ^= 0x01;
  ASSERT_TRUE(
      db->Put(rocksdb::WriteOptions(), LedgerInternals::EventsCf(*ledger_), EncodeSeq(5), value)
          .ok());
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), LedgerInternals::EventsCf(*ledger_),
                      EncodeSeq(7), &value)
                  .ok());
  value[0] ^= 0x80;
  ASSERT_TRUE(
      db->Put(rocksdb::WriteOptions(), LedgerInternals::EventsCf(*ledger_), EncodeSeq(7), value)
          .ok());
  LedgerInternals::Repin(*ledger_);  // see the raw writes
  EXPECT_EQ(ledger_->VerifyChain()->first_bad_seq, 7u);

  // A deleted event is a gap.
  ASSERT_TRUE(
      db->Delete(rocksdb::WriteOptions(), LedgerInternals::EventsCf(*ledger_), EncodeSeq(3)).ok());
  LedgerInternals::Repin(*ledger_);  // see the raw writes
  auto gap = ledger_->VerifyChain();
  EXPECT_EQ(gap->first_bad_seq, 3u);
  EXPECT_EQ(gap->problem, "seq 3 is missing (next is 4)");
}

TEST_F(LedgerTest, RebuildIsByteIdenticalToIncremental) {
  Must(EnrolledOrg("e1", "2015-01-01", kGroupX));
  Must(Reassigned("r1", "2024-01-01", kDrA, kGroupX));
  Must(Reassigned("r2", "2024-01-01", kDrB, kGroupX));
  Must(Revoked("x1", "2024-06-01", kDrA, kGroupX));
  Must(Voided("v1", "2024-06-01", 3));
  auto before = LedgerInternals::DumpProjections(*ledger_);
  ASSERT_TRUE(before.ok());
  ASSERT_FALSE(before->empty());
  ASSERT_TRUE(ledger_->Rebuild().ok());
  auto after = LedgerInternals::DumpProjections(*ledger_);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*before, *after);
  EXPECT_TRUE(ledger_->VerifyProjections().ok());
}

TEST_F(LedgerTest, RebuildInPassesEqualsOnePassAndLeavesNoScratchFiles) {
  Must(EnrolledOrg("e1", "2015-01-01", kGroupX));
  Must(EnrolledOrg("e2", "2015-01-01", kGroupY));
  Must(Reassigned("r1", "2024-01-01", kDrA, kGroupX));
  Must(Reassigned("r2", "2024-01-01", kDrB, kGroupX));
  Must(Reassigned("r3", "2024-02-01", kDrC, kGroupY));
  Must(Revoked("x1", "2024-06-01", kDrA, kGroupX));
  // r2, in whatever pass it falls; with two readers the log splits after
  // seq 4, so this void's target lies in the other reader's half.
  Must(Voided("v1", "2024-06-01", 4));
  Must(Voided("v2", "2024-06-02", 6));   // x1
  Must(Reassigned("r4", "2024-07-01", kDrB, kGroupY));
  auto incremental = LedgerInternals::DumpProjections(*ledger_);
  ASSERT_TRUE(incremental.ok());
  for (uint32_t passes : {1u, 2u, 5u, 64u}) {
    Reopen(passes);
    ASSERT_TRUE(ledger_->Rebuild().ok()) << passes << " passes";
    auto rebuilt = LedgerInternals::DumpProjections(*ledger_);
    ASSERT_TRUE(rebuilt.ok());
    EXPECT_EQ(*rebuilt, *incremental) << passes << " passes";
    EXPECT_FALSE(std::filesystem::exists(dir_.Sub("db") + "/rebuild.tmp"));
  }
  EXPECT_TRUE(ledger_->VerifyProjections().ok());
}

// Progress comes from several threads during a rebuild in passes (the
// readers, then the workers); what the caller sees climbs to the total.
TEST_F(LedgerTest, RebuildProgressClimbsToTheTotal) {
  Must(EnrolledOrg("e0", "2015-01-01", kGroupX));
  std::vector<Event> batch;
  for (int i = 0; i < 240000; ++i) {
    std::string base = absl::StrCat(100000000 + i);
    batch.push_back(Reassigned(absl::StrCat("r", i), "2024-01-01",
                               base + NpiCheckDigit(base), kGroupX));
    if (batch.size() == 1000) {
      ASSERT_TRUE(Append(batch).ok());
      batch.clear();
    }
  }
  const uint64_t total = ledger_->head().seq;
  ASSERT_EQ(total, 240001u);
  auto incremental = LedgerInternals::DumpProjections(*ledger_);
  ASSERT_TRUE(incremental.ok());
  // Reports come every 100,000 units: events read (one pass), or events
  // split plus events replayed (several).
  for (auto [passes, reports] : {std::pair{1u, 3u}, std::pair{4u, 5u}}) {
    Reopen(passes);
    std::vector<std::pair<uint64_t, uint64_t>> calls;
    ASSERT_TRUE(ledger_
                    ->Rebuild([&](uint64_t done, uint64_t of) {
                      calls.emplace_back(done, of);
                    })
                    .ok());
    ASSERT_EQ(calls.size(), reports) << passes << " passes";
    for (size_t i = 0; i < calls.size(); ++i) {
      EXPECT_EQ(calls[i].second, total);
      if (i > 0) {
        EXPECT_LT(calls[i - 1].first, calls[i].first) << i;
      }
    }
    EXPECT_EQ(calls.back().first, total);
    auto rebuilt = LedgerInternals::DumpProjections(*ledger_);
    ASSERT_TRUE(rebuilt.ok());
    EXPECT_TRUE(*rebuilt == *incremental) << passes << " passes";
  }
}

TEST_F(LedgerTest, WarmedTimelineCacheServesQueriesWithoutReadingFiles) {
  Must(EnrolledOrg("e1", "2015-01-01", kGroupX));
  std::vector<std::string> doctors;
  for (int i = 0; i < 400; ++i) {
    std::string base = absl::StrCat(100000000 + i * 7919);
    doctors.push_back(base + NpiCheckDigit(base));
    Must(Reassigned(absl::StrCat("r", i), "2024-01-01", doctors.back(),
                    kGroupX));
  }
  // Reopening flushes the projections into table files. A block cache of
  // nothing leaves the timeline cache as the only place blocks are kept.
  LedgerOptions options;
  options.block_cache_mb = 0;
  options.timeline_cache_mb = 4;
  Reopen(0, options);
  auto dump = LedgerInternals::DumpProjections(*ledger_);  // keys named "<cf>/<key>"
  ASSERT_TRUE(dump.ok());
  uint64_t expected = 0;
  for (const auto& [k, v] : *dump) {
    if (absl::StartsWith(k, "timelines/")) expected += k.size() - 10 + v.size();
  }

  auto warmed = ledger_->WarmTimelines();
  ASSERT_TRUE(warmed.ok()) << warmed.status();
  EXPECT_EQ(*warmed, expected);
  EXPECT_GT(ledger_->timeline_cache_usage(), 0u);

  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  for (const std::string& npi : doctors) {
    auto t = ledger_->View()->GetTimeline(
        PairKey(Relation::kReassignment, npi, kGroupX, "medicare"));
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE(t->has_value()) << npi;
    EXPECT_EQ((*t)->entries_size(), 1);
  }
  EXPECT_EQ(rocksdb::get_perf_context()->block_read_count, 0u);

  // A rebuild drops the timelines and lets their cached blocks go: warmed
  // again, the cache holds the rebuilt blocks only (kept, the old blocks
  // would double it).
  const size_t warm_usage = ledger_->timeline_cache_usage();
  ASSERT_TRUE(ledger_->Rebuild().ok());
  // Writing the rebuilt table files put none of their blocks in the cache
  // (under keys no reader would ask for).
  EXPECT_EQ(ledger_->timeline_cache_usage(), 0u);
  ASSERT_TRUE(ledger_->WarmTimelines().ok());
  EXPECT_GT(ledger_->timeline_cache_usage(), warm_usage / 2);
  EXPECT_LT(ledger_->timeline_cache_usage(), warm_usage * 3 / 2);

  // Without the timeline cache the same reads go to the files.
  options.timeline_cache_mb = 0;
  Reopen(0, options);
  ASSERT_TRUE(ledger_->WarmTimelines().ok());
  EXPECT_EQ(ledger_->timeline_cache_usage(), 0u);
  rocksdb::get_perf_context()->Reset();
  ASSERT_TRUE(ledger_->View()->GetTimeline(PairKey(Relation::kReassignment,
                                           doctors[0], kGroupX, "medicare"))
                  .ok());
  EXPECT_GT(rocksdb::get_perf_context()->block_read_count, 0u);
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
}

TEST_F(LedgerTest, GetTimelinesAnswersInTheCallersOrderAndReadsAnNpisBlockOnce) {
  Must(EnrolledOrg("e1", "2015-01-01", kGroupX));
  Must(EnrolledIndividual("e2", "2016-01-01", kDrA));
  Must(EnrolledIndividual("e3", "2016-01-01", kDrA, "cigna"));
  Must(Credentialed("c1", "2016-02-01", kDrA));
  Must(Associated("a1", "2016-03-01", kDrA, kGroupX));
  Must(Reassigned("r1", "2016-03-01", kDrA, kGroupX));
  Must(Revoked("x1", "2019-03-01", kDrA, kGroupX));
  for (int i = 0; i < 300; ++i) {  // other NPIs' keys, many blocks of them
    std::string base = absl::StrCat(100000000 + i * 7919);
    const std::string npi = base + NpiCheckDigit(base);
    Must(EnrolledIndividual(absl::StrCat("oe", i), "2017-01-01", npi));
    Must(Credentialed(absl::StrCat("oc", i), "2017-01-01", npi));
  }
  const std::vector<std::string> keys = {
      PairKey(Relation::kReassignment, kDrA, kGroupX, "medicare"),
      NpiPayerKey(Relation::kEnrollment, kDrA, "medicare"),
      NpiPayerKey(Relation::kEnrollment, kDrB, "medicare"),  // none
      PairKey(Relation::kAssociation, kDrA, kGroupX, "medicare"),
      NpiPayerKey(Relation::kCredential, kDrA, "medicare"),
      NpiPayerKey(Relation::kEnrollment, kDrA, "medicare"),  // again
  };
  auto check = [&] {
    auto got = ledger_->View()->GetTimelines(keys);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->size(), keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      auto one = ledger_->View()->GetTimeline(keys[i]);
      ASSERT_TRUE(one.ok());
      ASSERT_EQ((*got)[i].has_value(), one->has_value()) << i;
      if (one->has_value()) {
        EXPECT_EQ((*got)[i]->SerializeAsString(), (*one)->SerializeAsString())
            << i;
      }
    }
    EXPECT_FALSE((*got)[2].has_value());
    ASSERT_TRUE((*got)[0].has_value());
    EXPECT_EQ((*got)[0]->entries_size(), 2);  // reassigned, revoked
  };
  check();  // from the memtable
  // From a table file, with no block cache: dr A's enrollment,
  // credentialing and association share one data block, read once.
  LedgerOptions options;
  options.block_cache_mb = 0;
  options.timeline_cache_mb = 0;
  Reopen(0, options);
  check();
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  ASSERT_TRUE(ledger_->View()
                  ->GetTimelines(
                      {NpiPayerKey(Relation::kEnrollment, kDrA, "medicare"),
                       NpiPayerKey(Relation::kCredential, kDrA, "medicare"),
                       PairKey(Relation::kAssociation, kDrA, kGroupX,
                               "medicare")})
                  .ok());
  EXPECT_EQ(rocksdb::get_perf_context()->block_read_count, 1u);
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
}

// Every reopen flushes the timelines rewritten since: superseded versions
// pile up in table files above the last level until a compaction.
TEST_F(LedgerTest, CompactProjectionsKeepsThemAndLeavesOnlyTheLastLevel) {
  Must(EnrolledOrg("e1", "2015-01-01", kGroupX));
  for (int round = 0; round < 3; ++round) {
    for (const char* dr : {kDrA, kDrB, kDrC}) {
      Must(Reassigned(absl::StrCat("r", round, dr),
                      absl::StrCat(2016 + 2 * round, "-01-01"), dr, kGroupX));
      Must(Revoked(absl::StrCat("x", round, dr),
                   absl::StrCat(2017 + 2 * round, "-01-01"), dr, kGroupX));
    }
    Reopen();
  }
  rocksdb::DB* db = LedgerInternals::Db(*ledger_);
  auto files_at = [&](int level) {
    std::string v;
    EXPECT_TRUE(db->GetProperty(LedgerInternals::TimelinesCf(*ledger_),
                                absl::StrCat("rocksdb.num-files-at-level", level),
                                &v));
    return std::stoi(v);
  };
  ASSERT_GE(files_at(0), 2);  // one per reopen
  auto before = LedgerInternals::DumpProjections(*ledger_);
  ASSERT_TRUE(before.ok());

  ASSERT_TRUE(ledger_->CompactProjections().ok());
  auto after = LedgerInternals::DumpProjections(*ledger_);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(*after == *before);
  EXPECT_TRUE(ledger_->VerifyProjections().ok());
  int levels_with_files = 0, files = 0;
  for (int level = 0; level < 7; ++level) {
    if (int n = files_at(level); n > 0) {
      ++levels_with_files;
      files += n;
    }
  }
  EXPECT_EQ(files_at(0), 0);
  EXPECT_EQ(levels_with_files, 1);
  EXPECT_EQ(files, 1);
}

TEST_F(LedgerTest, OlderProjectionsOrAnInterruptedRebuildRefuseToOpenUntilRebuilt) {
  Must(EnrolledOrg("e1", "2015-01-01", kGroupX));
  Must(Reassigned("r1", "2024-01-01", kDrA, kGroupX));
  auto good = LedgerInternals::DumpProjections(*ledger_);
  ASSERT_TRUE(good.ok());
  const std::string path = dir_.Sub("db");
  for (auto [meta, value, message] :
       {std::tuple{"projection_version", "1",
                   "ledger '" + path +
                       "' has projections of version 1, this provledger reads "
                       "version 5: they must be rebuilt from the log"},
        std::tuple{"rebuild_in_progress", "1",
                   "an interrupted rebuild left the projections of '" + path +
                       "' incomplete: they must be rebuilt from the log"}}) {
    ASSERT_TRUE(LedgerInternals::Db(*ledger_)
                    ->Put(rocksdb::WriteOptions(),
                          LedgerInternals::Db(*ledger_)->DefaultColumnFamily(), meta, value)
                    .ok());
    ledger_.reset();
    LedgerOptions options;
    auto refused = Ledger::Open(options, path);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(refused.status().message(), message);
    // The front end names its command (library messages name none).
    EXPECT_TRUE(refused.status().GetPayload(kNeedsRebuildPayload).has_value());

    options.skip_projection_check = true;
    auto l = Ledger::Open(options, path);
    ASSERT_TRUE(l.ok()) << l.status();
    ASSERT_TRUE((*l)->Rebuild().ok());
    l->reset();
    Reopen();  // opens normally again
    auto rebuilt = LedgerInternals::DumpProjections(*ledger_);
    ASSERT_TRUE(rebuilt.ok());
    EXPECT_EQ(*rebuilt, *good);
  }

  // A rebuild that died between dropping a projection column family and
  // creating it again: the family comes back empty, the mark refuses it.
  ASSERT_TRUE(LedgerInternals::Db(*ledger_)
                  ->Put(rocksdb::WriteOptions(),
                        LedgerInternals::Db(*ledger_)->DefaultColumnFamily(),
                        "rebuild_in_progress", "1")
                  .ok());
  ASSERT_TRUE(LedgerInternals::Db(*ledger_)->DropColumnFamily(LedgerInternals::TimelinesCf(*ledger_)).ok());
  ledger_.reset();
  auto refused = Ledger::Open(LedgerOptions(), path);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  LedgerOptions skip;
  skip.skip_projection_check = true;
  auto l = Ledger::Open(skip, path);
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_TRUE((*l)->Rebuild().ok());
  EXPECT_EQ(*LedgerInternals::DumpProjections(**l), *good);
}

TEST_F(LedgerTest, VerifyProjectionsNamesAlteredMissingAndExtraEntries) {
  Must(EnrolledOrg("e1", "2015-01-01", kGroupX));
  Must(Reassigned("r1", "2024-01-01", kDrA, kGroupX));
  Must(Reassigned("r2", "2024-01-01", kDrB, kGroupX));
  ASSERT_TRUE(ledger_->VerifyProjections().ok());
  rocksdb::DB* db = LedgerInternals::Db(*ledger_);
  const std::string key = PairKey(Relation::kReassignment, kDrB, kGroupX,
                                  "medicare");
  auto timelines = LedgerInternals::DumpProjections(*ledger_);
  ASSERT_TRUE(timelines.ok());
  std::string original;
  for (const auto& [k, v] : *timelines) {
    if (k == "timelines/" + key) original = v;
  }
  ASSERT_FALSE(original.empty());
  const std::string expected_message =
      "the reassignment timeline of 1526374859 to 1245319599 at medicare "
      "differs from a replay of the log";

  // An altered timeline.
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), LedgerInternals::TimelinesCf(*ledger_), key,
                      original + "x")
                  .ok());
  LedgerInternals::Repin(*ledger_);  // see the raw writes
  absl::Status altered = ledger_->VerifyProjections();
  EXPECT_EQ(altered.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(altered.message(), expected_message);

  // A missing one.
  ASSERT_TRUE(
      db->Delete(rocksdb::WriteOptions(), LedgerInternals::TimelinesCf(*ledger_), key).ok());
  LedgerInternals::Repin(*ledger_);  // see the raw writes
  absl::Status missing = ledger_->VerifyProjections();
  EXPECT_EQ(missing.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(missing.message(),
            "the reassignment timeline of 1526374859 to 1245319599 at medicare "
            "is missing, but a replay of the log has it");

  // Restored, plus an entry no event explains.
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), LedgerInternals::TimelinesCf(*ledger_), key,
                      original)
                  .ok());
  LedgerInternals::Repin(*ledger_);
  ASSERT_TRUE(ledger_->VerifyProjections().ok());
  const size_t entries = timelines->size();
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), LedgerInternals::TimelinesCf(*ledger_),
                      PairKey(Relation::kReassignment, kDrC, kGroupX,
                              "medicare"),
                      original)
                  .ok());
  LedgerInternals::Repin(*ledger_);  // see the raw writes
  absl::Status extra = ledger_->VerifyProjections();
  EXPECT_EQ(extra.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(extra.message(),
            absl::StrCat("the stored projections hold ", entries + 1,
                         " entries, a replay of the log ", entries,
                         ": the projections were altered, or events were "
                         "removed from the log"));
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("db") + "/verify.tmp"));
}

TEST_F(LedgerTest, VerifyChecksTheLogsOwnIndexesAndRebuildRepairsThem) {
  Must(EnrolledOrg("e1", "2015-01-01", kGroupX));
  Must(Reassigned("r1", "2024-01-01", kDrA, kGroupX));
  Must(Credentialed("c1", "2024-01-01", kDrB));
  ASSERT_TRUE(ledger_->VerifyProjections().ok());
  rocksdb::DB* db = LedgerInternals::Db(*ledger_);
  rocksdb::ColumnFamilyHandle* ids = LedgerInternals::EventIdsCf(*ledger_);
  rocksdb::ColumnFamilyHandle* streams = LedgerInternals::StreamsCf(*ledger_);
  auto dump = [&](rocksdb::ColumnFamilyHandle* cf) {
    std::map<std::string, std::string> out;
    rocksdb::ReadOptions all;
    all.total_order_seek = true;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(all, cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out[it->key().ToString()] = it->value().ToString();
    }
    return out;
  };
  const auto original_ids = dump(ids);
  const auto original_streams = dump(streams);
  ASSERT_EQ(original_ids.size(), 3u);
  ASSERT_EQ(original_streams.size(), 4u);  // r1 touches two NPIs
  const rocksdb::WriteOptions wo;
  auto expect_verify = [&](const std::string& message) {
    LedgerInternals::Repin(*ledger_);  // see the raw writes
    absl::Status s = ledger_->VerifyProjections();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << message;
    EXPECT_EQ(s.message(), message);
  };
  auto rebuild_restores = [&] {
    ASSERT_TRUE(ledger_->Rebuild().ok());
    EXPECT_TRUE(ledger_->VerifyProjections().ok());
    EXPECT_EQ(dump(ids), original_ids);
    EXPECT_EQ(dump(streams), original_streams);
  };

  ASSERT_TRUE(db->Delete(wo, ids, "r1").ok());
  expect_verify(
      "the event_ids index has no entry for event 'r1' (seq 2), which the "
      "log holds: the event could be stored twice");
  rebuild_restores();
  // With the entry back, the re-sent event is a duplicate again.
  auto again = Append({Reassigned("r1", "2024-01-01", kDrA, kGroupX)});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->seqs, std::vector<uint64_t>{2});
  EXPECT_EQ(again->written, 0u);

  ASSERT_TRUE(db->Put(wo, ids, "c1", EncodeSeq(1)).ok());
  expect_verify("the event_ids index names seq 1 for event 'c1', which is seq 3");
  rebuild_restores();

  ASSERT_TRUE(db->Put(wo, ids, "ghost", EncodeSeq(2)).ok());
  expect_verify(
      "the event_ids index names seq 2 for event 'ghost', which no event in "
      "the log has");
  rebuild_restores();

  ASSERT_TRUE(db->Delete(wo, streams, StreamKey(kGroupX, 2)).ok());
  expect_verify(
      "the stream of NPI 1245319599 has no entry for seq 2, an event that "
      "touches it");
  rebuild_restores();

  ASSERT_TRUE(db->Put(wo, streams, StreamKey(kDrB, 1), "").ok());
  expect_verify(
      "the stream of NPI 1526374859 lists seq 1, an event that does not "
      "touch it");
  rebuild_restores();

  // What a damaged index let through before verify looked at it: an event
  // stored twice. Verify names both seqs; the log keeps them (it is never
  // rewritten) and a rebuild points the id at the first.
  ASSERT_TRUE(db->Delete(wo, ids, "c1").ok());
  LedgerInternals::Repin(*ledger_);
  Must(Credentialed("c1", "2024-01-01", kDrB));  // seq 4
  expect_verify(
      "event_id 'c1' is used by seq 3 and again by seq 4: the log holds a "
      "duplicate, recorded while the event_ids index was damaged");
  ASSERT_TRUE(ledger_->Rebuild().ok());
  auto first = ledger_->View()->FindEventId("c1");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, std::optional<uint64_t>(3));
}

TEST_F(LedgerTest, AppendRefusesToExtendATailThatDoesNotVerify) {
  for (int i = 0; i < 3; ++i) {
    Must(Credentialed(absl::StrCat("c", i), "2024-01-01", kDrA));
  }
  rocksdb::DB* db = LedgerInternals::Db(*ledger_);
  std::string value;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(),
                      LedgerInternals::EventsCf(*ledger_), EncodeSeq(3), &value)
                  .ok());
  value[value.size() - 3] ^= 0x01;
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(),
                      LedgerInternals::EventsCf(*ledger_), EncodeSeq(3), value)
                  .ok());
  Reopen();
  auto refused = Append({Credentialed("c9", "2024-01-01", kDrB)});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(refused.status().message(),
            "append refused: the log's last event (seq 3) does not verify: "
            "its stored hash is not SHA-256(prev_hash || stored bytes), so it "
            "or the event before it was altered; nothing was appended (run "
            "verify, and restore the ledger from a backup)");
  EXPECT_EQ(ledger_->head().seq, 3u);
  // Reading goes on.
  auto first = ledger_->View()->Get(1);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->event_id(), "c0");
}

TEST_F(LedgerTest, VerifyTimelinesOfReDerivesAnNpisTimelinesFromItsEvents) {
  Must(EnrolledOrg("e1", "2015-01-01", kGroupX));
  Must(Reassigned("r1", "2024-01-01", kDrA, kGroupX));
  Must(Reassigned("r2", "2024-01-01", kDrB, kGroupX));
  const std::vector<std::string> npis = {kDrA, kGroupX};
  ASSERT_TRUE(ledger_->View()->VerifyTimelinesOf(npis).ok());
  rocksdb::DB* db = LedgerInternals::Db(*ledger_);
  rocksdb::ColumnFamilyHandle* cf = LedgerInternals::TimelinesCf(*ledger_);
  const std::string mine = PairKey(Relation::kReassignment, kDrA, kGroupX, "medicare");
  const std::string other = PairKey(Relation::kReassignment, kDrB, kGroupX, "medicare");
  std::string value;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), cf, mine, &value).ok());
  auto expect = [&](const std::string& message) {
    LedgerInternals::Repin(*ledger_);  // see the raw writes
    absl::Status s = ledger_->View()->VerifyTimelinesOf(npis);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(s.message(), message);
    EXPECT_TRUE(s.GetPayload(kNeedsRebuildPayload).has_value());
  };
  ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), cf, mine).ok());
  expect(
      "the reassignment timeline of 1234567893 to 1245319599 at medicare is "
      "missing, but the events in the log give it: the projections were "
      "altered; rebuild them from the log");
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf, mine, value).ok());
  const std::string extra = NpiPayerKey(Relation::kEnrollment, kDrA, "aetna");
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf, extra, value).ok());
  expect(absl::StrCat(DescribeTimelineKey(extra),
                      " is stored, but no event in the log gives it: the "
                      "projections were altered; rebuild them from the log"));
  ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), cf, extra).ok());
  // Only the NPIs asked about are checked: DrB's timeline, altered, is
  // not DrA's or the group's concern (the group's reassignments are their
  // providers').
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf, other, value).ok());
  LedgerInternals::Repin(*ledger_);
  EXPECT_TRUE(ledger_->View()->VerifyTimelinesOf(npis).ok());
  EXPECT_EQ(ledger_->View()->VerifyTimelinesOf({kDrB}).message(),
            "the reassignment timeline of 1526374859 to 1245319599 at medicare "
            "differs from what the events in the log give: the projections "
            "were altered; rebuild them from the log");
}

// Events of over 4 KiB (the table block size): each fills a block of its
// own, so damage to one block is damage to one event.
Event BlockSizedEvent(int i, std::mt19937* rng) {
  auto text = [&] {
    std::string s(1020, ' ');
    for (char& c : s) c = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[(*rng)() % 52];
    return s;
  };
  Event e = EnrolledIndividual(absl::StrCat("block-", i), "2024-01-01", kDrA,
                               absl::StrCat("payer", i));
  e.mutable_enrolled()->set_first_name(text());
  e.mutable_enrolled()->set_last_name(text());
  e.set_source(text());
  e.set_actor(text());
  return e;
}

TEST_F(LedgerTest, ADamagedTableBlockIsNamedBySeqAndRebuildLeavesTheLedgerAsItWas) {
  std::mt19937 rng(7);
  for (int i = 1; i <= 6; ++i) Must(BlockSizedEvent(i, &rng));
  // Into one table file at the last level, where it stays.
  rocksdb::DB* db = LedgerInternals::Db(*ledger_);
  rocksdb::CompactRangeOptions bottom;
  bottom.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForce;
  ASSERT_TRUE(db->CompactRange(bottom, LedgerInternals::EventsCf(*ledger_),
                               nullptr, nullptr)
                  .ok());
  rocksdb::TablePropertiesCollection tables;
  ASSERT_TRUE(db->GetPropertiesOfAllTables(LedgerInternals::EventsCf(*ledger_),
                                           &tables)
                  .ok());
  ASSERT_EQ(tables.size(), 1u);
  const std::string events_file = tables.begin()->first;
  const rocksdb::TableProperties& table = *tables.begin()->second;
  ASSERT_EQ(table.num_data_blocks, 6u);
  ledger_.reset();

  // Flip a byte in the middle of the third data block (they lie in key
  // order from the file's start, each about the same size).
  std::string bytes;
  {
    std::ifstream in(events_file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_EQ(bytes.size(), std::filesystem::file_size(events_file));
  bytes[table.data_size * 5 / 12] ^= 0x20;
  {
    std::ofstream out(events_file, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  Reopen();
  const std::string damage = "the log cannot be read at seq 3: the events table is damaged there (RocksDB: Corruption: block checksum mismatch";
  const std::string advice = "); restore the ledger from a backup (provledger restore)";
  auto chain = ledger_->VerifyChain();
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(chain->first_bad_seq, 3u);
  EXPECT_EQ(chain->events_checked, 2u);
  EXPECT_TRUE(absl::StartsWith(chain->problem, damage)) << chain->problem;
  EXPECT_TRUE(absl::EndsWith(chain->problem, advice)) << chain->problem;

  absl::Status rebuilt = ledger_->Rebuild();
  EXPECT_EQ(rebuilt.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StartsWith(rebuilt.message(), damage)) << rebuilt;

  // The failed rebuild changed nothing: the ledger opens as before, every
  // event outside the damaged block reads, and the damaged one is named.
  Reopen();
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("db") + "/rebuild.tmp"));
  // (Get(4) needs seq 3's hash, as its prev_hash; Lookup does not.)
  for (uint64_t seq : {1, 2, 4, 5, 6}) {
    auto e = ledger_->View()->Lookup(seq);
    ASSERT_TRUE(e.ok()) << seq << ": " << e.status();
    EXPECT_EQ(e->event_id(), absl::StrCat("block-", seq));
  }
  // Reading the log (export, replay) stops there, naming it.
  auto it = ledger_->View()->Read(1);
  uint64_t read = 0;
  for (; it->Valid(); it->Next()) ++read;
  EXPECT_EQ(read, 2u);
  EXPECT_EQ(it->status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StartsWith(it->status().message(), damage)) << it->status();
  auto lost = ledger_->View()->Get(3);
  EXPECT_EQ(lost.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StartsWith(lost.status().message(), damage)) << lost.status();
  auto timeline = ledger_->View()->GetTimeline(
      NpiPayerKey(Relation::kEnrollment, kDrA, "payer5"));
  ASSERT_TRUE(timeline.ok()) << timeline.status();
  EXPECT_TRUE(timeline->has_value());
}

}  // namespace
}  // namespace provledger
