#include "tools/server/scrub.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <vector>

#include "ledger/internal/keys.h"
#include "ledger/internal/raw_access.h"
#include "ledger/testing.h"
#include "rocksdb/db.h"

namespace provledger::server {
namespace {

using namespace provledger::testing;

class ScrubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LedgerOptions options;
    options.create_if_missing = true;
    auto l = Ledger::Open(options, dir_.Sub("db"));
    ASSERT_TRUE(l.ok()) << l.status();
    ledger_ = std::move(*l);
    for (const auto& e : {EnrolledOrg("e1", "2015-01-01", kGroupX),
                          Reassigned("r1", "2024-01-01", kDrA, kGroupX)}) {
      ASSERT_TRUE(ledger_->Append({e}).ok());
    }
  }
  // Replaces DrA's reassignment timeline with garbage that still parses.
  void Tamper() {
    ASSERT_TRUE(LedgerInternals::Db(*ledger_)
                    ->Put(rocksdb::WriteOptions(),
                          LedgerInternals::TimelinesCf(*ledger_),
                          PairKey(Relation::kReassignment, kDrA, kGroupX,
                                  "medicare"),
                          "")
                    .ok());
    LedgerInternals::Repin(*ledger_);
  }
  TempDir dir_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(ScrubTest, RunOnceReportsWhatVerifyFindsAndCounts) {
  std::vector<ScrubResult> seen;
  Scrubber scrubber(ledger_.get(),
                    [&](const ScrubResult& r) { seen.push_back(r); });
  EXPECT_TRUE(scrubber.last().ok);
  EXPECT_EQ(scrubber.last().runs, 0u);

  ScrubResult clean = scrubber.RunOnce();
  EXPECT_TRUE(clean.ok);
  EXPECT_EQ(clean.runs, 1u);
  EXPECT_EQ(clean.failures, 0u);
  EXPECT_EQ(clean.head_seq, 2u);
  EXPECT_EQ(clean.problem, "");

  Tamper();
  ScrubResult damaged = scrubber.RunOnce();
  EXPECT_FALSE(damaged.ok);
  EXPECT_EQ(damaged.runs, 2u);
  EXPECT_EQ(damaged.failures, 1u);
  EXPECT_EQ(damaged.problem,
            "the reassignment timeline of 1234567893 to 1245319599 at "
            "medicare differs from a replay of the log");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[0].ok);
  EXPECT_FALSE(seen[1].ok);
  EXPECT_EQ(seen[1].problem, damaged.problem);
  EXPECT_EQ(scrubber.last().problem, damaged.problem);

  // Repaired, the next scrub is clean again; the failure stays counted.
  ASSERT_TRUE(ledger_->Rebuild().ok());
  ScrubResult repaired = scrubber.RunOnce();
  EXPECT_TRUE(repaired.ok);
  EXPECT_EQ(repaired.runs, 3u);
  EXPECT_EQ(repaired.failures, 1u);
}

TEST_F(ScrubTest, AfterStopAScrubIsCancelledAndNotCounted) {
  std::vector<ScrubResult> seen;
  Scrubber scrubber(ledger_.get(),
                    [&](const ScrubResult& r) { seen.push_back(r); });
  ASSERT_EQ(scrubber.RunOnce().runs, 1u);
  scrubber.Stop();
  Tamper();
  ScrubResult after = scrubber.RunOnce();
  EXPECT_EQ(after.runs, 1u);
  EXPECT_TRUE(after.ok);
  EXPECT_EQ(seen.size(), 1u);
  // The ledger's own calls, cancelled, say so.
  std::atomic<bool> cancel{true};
  EXPECT_EQ(ledger_->VerifyChain(&cancel).status().code(),
            absl::StatusCode::kCancelled);
  EXPECT_EQ(ledger_->VerifyProjections(&cancel).code(),
            absl::StatusCode::kCancelled);
}

TEST_F(ScrubTest, TheThreadScrubsAtItsPaceAndStopsWithTheScrubber) {
  Tamper();
  std::mutex mu;
  std::condition_variable cv;
  std::vector<ScrubResult> seen;
  {
    Scrubber scrubber(ledger_.get(), [&](const ScrubResult& r) {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(r);
      cv.notify_all();
    });
    scrubber.Start(absl::Milliseconds(1));
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30),
                            [&] { return seen.size() >= 2; }));
  }  // joined here
  std::lock_guard<std::mutex> lock(mu);
  const size_t runs = seen.size();
  EXPECT_GE(runs, 2u);
  for (size_t i = 0; i < runs; ++i) {
    EXPECT_EQ(seen[i].runs, i + 1);
    EXPECT_FALSE(seen[i].ok);
  }
  EXPECT_EQ(seen.back().failures, runs);
}

}  // namespace
}  // namespace provledger::server
