// One ledger shared by many threads at once: appenders (with refused
// batches, retried batches and reused event ids), readers whose every answer
// is checked against a brute-force fold of the log as their view saw it, and
// compaction, verification and rebuilds running meanwhile. Bounded in rounds
// and time; no sleeps. Runs under ThreadSanitizer in CI.
//
// Also: group commit, made deterministic by holding commits while appends
// queue up.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "ledger/internal/raw_access.h"
#include "ledger/ledger.h"
#include "ledger/testing.h"
#include "projections/query.h"
#include "projections/testing_fold.h"
#include "tools/service/service.h"

namespace provledger {
namespace {

using namespace provledger::testing;
using v1::Event;

enum class Kind { kOwned, kContested, kBad, kRetry, kReusedId };

struct Attempt {
  Kind kind;
  std::vector<Event> batch;
  absl::StatusOr<AppendResult> result;
};

// The events of `view`, 1..head, in order (every seq present).
std::vector<Accepted> LogOf(const LedgerView& view) {
  std::vector<Accepted> log;
  for (auto it = view.Read(1); it->Valid(); it->Next()) {
    log.push_back({it->event().seq(), it->event()});
  }
  return log;
}

TEST(ConcurrencyTest, AppendsQueriesAndMaintenanceShareOneLedger) {
  TempDir dir;
  LedgerOptions options;
  options.create_if_missing = true;
  auto opened = Ledger::Open(options, dir.Sub("db"));
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<Ledger> ledger = *std::move(opened);

  constexpr int kAppenders = 4;
  constexpr int kRounds = 120;
  constexpr int kOwnedPerThread = 3;
  const std::vector<std::string> providers =
      MakeNpis(kAppenders * kOwnedPerThread + 1, 1);
  const std::vector<std::string> orgs = MakeNpis(2, 2);
  const std::string contested = providers.back();
  const DayNumber first_day = *ParseDate("2020-01-01");
  const absl::Time deadline = absl::Now() + absl::Seconds(120);

  std::vector<std::vector<Attempt>> attempts(kAppenders);
  std::atomic<int> appending{kAppenders};
  std::atomic<int> contested_day{0};
  // Maintenance threads that have done their work at least once.
  std::atomic<int> maintained{0};

  auto appender = [&](int t) {
    std::mt19937 rng(t + 1);
    // Each owned relationship: open or not, and its last effective day.
    struct Owned {
      std::string provider, org;
      bool open = false;
      DayNumber last = 0;
    };
    std::vector<Owned> owned;
    for (int i = 0; i < kOwnedPerThread; ++i) {
      owned.push_back({providers[t * kOwnedPerThread + i], orgs[i % 2]});
      owned.back().last = first_day;
    }
    std::vector<size_t> acked;  // indexes into attempts[t]
    // At least kRounds rounds, and on until each maintenance thread has
    // done its work once beside the appends (a bounded number of rounds).
    for (int r = 0; (r < kRounds || (maintained.load() < 3 && r < 20 * kRounds)) &&
                    absl::Now() < deadline;
         ++r) {
      const std::string id = absl::StrCat("t", t, "-r", r);
      Attempt a;
      const int roll = std::uniform_int_distribution<int>(0, 99)(rng);
      a.kind = roll < 40   ? Kind::kOwned
               : roll < 70 ? Kind::kContested
               : roll < 82 ? Kind::kBad
               : roll < 91 ? Kind::kRetry
                           : Kind::kReusedId;
      if ((a.kind == Kind::kRetry || a.kind == Kind::kReusedId) &&
          acked.empty()) {
        a.kind = Kind::kOwned;
      }
      Owned& o = owned[std::uniform_int_distribution<int>(
          0, kOwnedPerThread - 1)(rng)];
      // The owned relationship's next change: always coherent.
      auto next_owned = [&](const std::string& eid, DayNumber day) {
        return o.open ? Revoked(eid, FormatDate(day), o.provider, o.org)
                      : Reassigned(eid, FormatDate(day), o.provider, o.org);
      };
      switch (a.kind) {
        case Kind::kOwned: {
          // One or two changes, at later dates than any before.
          const int n = std::uniform_int_distribution<int>(1, 2)(rng);
          DayNumber day = o.last;
          bool open = o.open;
          for (int i = 0; i < n; ++i) {
            day += std::uniform_int_distribution<int>(1, 30)(rng);
            const std::string eid = absl::StrCat(id, "-", i);
            a.batch.push_back(
                open ? Revoked(eid, FormatDate(day), o.provider, o.org)
                     : Reassigned(eid, FormatDate(day), o.provider, o.org));
            open = !open;
          }
          break;
        }
        case Kind::kContested: {
          // Threads race on one relationship with blind starts and ends at
          // ever later dates: the ledger takes those coherent with what was
          // recorded before them (batches earlier in the same group
          // included) and refuses the rest.
          const std::string date = FormatDate(first_day + ++contested_day);
          a.batch.push_back(rng() % 2 == 0
                                ? Reassigned(id, date, contested, orgs[0])
                                : Revoked(id, date, contested, orgs[0]));
          break;
        }
        case Kind::kBad:
          // A good event and an invalid one: refused whole.
          a.batch.push_back(next_owned(id + "-good", o.last + 1));
          a.batch.push_back(Reassigned(id + "-bad", "2024-01-01", "123",
                                       orgs[0]));
          break;
        case Kind::kRetry:
          a.batch = attempts[t][acked[std::uniform_int_distribution<size_t>(
                                    0, acked.size() - 1)(rng)]]
                        .batch;
          break;
        case Kind::kReusedId: {
          Event e = attempts[t][acked[std::uniform_int_distribution<size_t>(
                                    0, acked.size() - 1)(rng)]]
                        .batch[0];
          e.set_effective_date("2019-06-30");
          a.batch.push_back(e);
          break;
        }
      }
      AppendOptions ao;
      ao.sync = r % 2 == 0;
      if (t % 2 == 0) {
        a.result = ledger->Append(a.batch, ao);
      } else {
        // Half the appenders hand their batches over without waiting in
        // the ledger (as the server does) and wait for the callback.
        std::promise<absl::StatusOr<AppendResult>> done;
        ledger->AppendAsync(a.batch, ao,
                            [&done](absl::StatusOr<AppendResult> result) {
                              done.set_value(std::move(result));
                            });
        a.result = done.get_future().get();
      }
      if (a.kind == Kind::kOwned) {
        ASSERT_TRUE(a.result.ok()) << a.result.status();
        for (const Event& e : a.batch) {
          o.open = e.has_reassigned();
          o.last = *ParseDate(e.effective_date());
        }
      }
      attempts[t].push_back(std::move(a));
      if (attempts[t].back().result.ok() &&
          attempts[t].back().kind != Kind::kRetry) {
        acked.push_back(attempts[t].size() - 1);
      }
    }
  };

  // Readers: every answer equals the brute-force fold of the log the view
  // pinned, at its head and at an earlier knowledge point.
  std::atomic<int> answers{0};
  auto reader = [&](int t) {
    std::mt19937 rng(100 + t);
    for (int q = 0; q < 5000 && absl::Now() < deadline; ++q) {
      const bool last = appending.load() == 0;
      auto view = ledger->View();
      const uint64_t head = view->head().seq;
      const std::vector<Accepted> log = LogOf(*view);
      ASSERT_EQ(log.size(), head);
      for (size_t i = 0; i < log.size(); ++i) ASSERT_EQ(log[i].seq, i + 1);
      BruteForce brute(log, {head});
      const DayNumber day =
          first_day + std::uniform_int_distribution<int>(0, 3000)(rng);
      for (uint64_t k :
           {head, std::uniform_int_distribution<uint64_t>(0, head)(rng)}) {
        auto rows = Queries(view).ReassignmentsOn(day, k, {});
        ASSERT_TRUE(rows.ok()) << rows.status();
        ASSERT_EQ(ToRows(*rows), brute.On(day, k, {}))
            << "day " << FormatDate(day) << " K=" << k << " head " << head;
      }
      ++answers;
      if (last) break;
    }
  };

  std::atomic<int> compactions{0}, verifications{0}, rebuilds{0};
  // Each runs at least once, and on while appends go on (bounded).
  auto maintain = [&](std::atomic<int>* count, int most,
                      const std::function<void()>& work) {
    do {
      work();
      if (++*count == 1) ++maintained;
    } while (appending.load() > 0 && count->load() < most);
  };
  auto compactor = [&] {
    maintain(&compactions, 6, [&] {
      absl::Status s = ledger->CompactProjections();
      EXPECT_TRUE(s.ok()) << s;
    });
  };
  auto verifier = [&] {
    maintain(&verifications, 30, [&] {
      auto chain = ledger->VerifyChain();
      ASSERT_TRUE(chain.ok()) << chain.status();
      EXPECT_EQ(chain->first_bad_seq, 0u) << chain->problem;
      absl::Status s = ledger->VerifyProjections();
      EXPECT_TRUE(s.ok()) << s;
    });
  };
  auto rebuilder = [&] {
    maintain(&rebuilds, 3, [&] {
      absl::Status s = ledger->Rebuild();
      EXPECT_TRUE(s.ok()) << s;
    });
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kAppenders; ++t) {
    threads.emplace_back([&, t] {
      appender(t);
      --appending;
    });
  }
  for (int t = 0; t < 2; ++t) threads.emplace_back(reader, t);
  threads.emplace_back(compactor);
  threads.emplace_back(verifier);
  threads.emplace_back(rebuilder);
  for (auto& th : threads) th.join();

  EXPECT_GT(answers.load(), 0);
  EXPECT_EQ(maintained.load(), 3);

  // The log verifies, its seqs are gapless, and the projections equal a
  // replay of it.
  auto chain = ledger->VerifyChain();
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ(chain->first_bad_seq, 0u) << chain->problem;
  EXPECT_EQ(chain->events_checked, ledger->head().seq);
  EXPECT_TRUE(ledger->VerifyProjections().ok());
  auto view = ledger->View();
  const std::vector<Accepted> log = LogOf(*view);
  ASSERT_EQ(log.size(), view->head().seq);

  // Every acknowledged batch is there whole, in consecutive seqs; every
  // refused one is absent.
  size_t written = 0;
  std::set<std::string> ids;
  for (const auto& thread_attempts : attempts) {
    for (const Attempt& a : thread_attempts) {
      if (a.result.ok()) {
        ASSERT_EQ(a.result->seqs.size(), a.batch.size());
        for (size_t i = 0; i < a.batch.size(); ++i) {
          const Event& stored = log[a.result->seqs[i] - 1].event;
          EXPECT_EQ(stored.event_id(), a.batch[i].event_id());
          EXPECT_EQ(stored.effective_date(), a.batch[i].effective_date());
          if (i > 0 && !a.result->duplicate[i]) {
            EXPECT_EQ(a.result->seqs[i], a.result->seqs[i - 1] + 1);
          }
        }
        EXPECT_EQ(a.kind == Kind::kRetry, a.result->written == 0);
        written += a.result->written;
        continue;
      }
      switch (a.kind) {
        case Kind::kBad:
          EXPECT_EQ(a.result.status().code(),
                    absl::StatusCode::kInvalidArgument);
          break;
        case Kind::kContested:
          EXPECT_EQ(a.result.status().code(),
                    absl::StatusCode::kFailedPrecondition)
              << a.result.status();
          break;
        case Kind::kReusedId:
          EXPECT_EQ(a.result.status().code(), absl::StatusCode::kAlreadyExists);
          break;
        default:
          ADD_FAILURE() << "refused: " << a.result.status();
      }
      for (const Event& e : a.batch) {
        if (a.kind == Kind::kReusedId) continue;  // the id is the original's
        auto found = view->FindEventId(e.event_id());
        ASSERT_TRUE(found.ok());
        EXPECT_FALSE(found->has_value()) << e.event_id() << " was written";
      }
    }
  }
  EXPECT_EQ(written, log.size());
}

// A new ledger in `dir` that counts its write-ahead log's syncs
// (LedgerInternals::WalSyncs).
std::unique_ptr<Ledger> OpenCountingSyncs(const TempDir& dir) {
  LedgerOptions options;
  options.create_if_missing = true;
  options.collect_statistics = true;
  return std::move(*Ledger::Open(options, dir.Sub("db")));
}

// N threads appending one synced event each, all queued while commits are
// held: two groups (the first writer's, alone, and everyone else's), so at
// most two fsyncs instead of N.
TEST(GroupCommitTest, QueuedAppendsShareOneWriteAndOneSync) {
  TempDir dir;
  auto ledger = OpenCountingSyncs(dir);
  constexpr int kThreads = 16;
  const std::vector<std::string> providers = MakeNpis(kThreads, 3);
  const uint64_t syncs_before = LedgerInternals::WalSyncs(*ledger);

  LedgerInternals::HoldCommits(*ledger);
  std::vector<absl::StatusOr<AppendResult>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      results[t] = ledger->Append({Reassigned(absl::StrCat("e", t),
                                              "2024-01-01", providers[t],
                                              kGroupX)});
    });
  }
  LedgerInternals::AwaitQueuedAppends(*ledger, kThreads);
  LedgerInternals::ReleaseCommits(*ledger);
  for (auto& th : threads) th.join();

  std::set<uint64_t> seqs;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->seqs.size(), 1u);
    seqs.insert(r->seqs[0]);
  }
  EXPECT_EQ(seqs.size(), static_cast<size_t>(kThreads));
  EXPECT_EQ(*seqs.begin(), 1u);
  EXPECT_EQ(*seqs.rbegin(), static_cast<uint64_t>(kThreads));
  // The first writer's group and everyone else's: two syncs, or one when
  // the second group is written before the first one's sync starts.
  const uint64_t syncs = LedgerInternals::WalSyncs(*ledger) - syncs_before;
  EXPECT_GE(syncs, 1u);
  EXPECT_LE(syncs, 2u);
  EXPECT_EQ(ledger->head().seq, static_cast<uint64_t>(kThreads));
}

// In one group: a batch refused for an incoherent timeline, one refused for
// a bad field, and good ones before and after; the good ones are written
// (judged against each other: the second start of one relationship is
// refused), the refused ones leave nothing.
TEST(GroupCommitTest, ARefusedBatchFailsAloneInItsGroup) {
  TempDir dir;
  LedgerOptions options;
  options.create_if_missing = true;
  auto ledger = std::move(*Ledger::Open(options, dir.Sub("db")));

  // The holder's own append leads the first group; the rest queue behind.
  LedgerInternals::HoldCommits(*ledger);
  const std::vector<std::vector<Event>> batches = {
      {Reassigned("lead", "2024-01-01", kDrC, kGroupY)},
      {Reassigned("a", "2024-01-01", kDrA, kGroupX)},
      {Revoked("b", "2024-02-01", kDrB, kGroupX)},  // never started
      {Reassigned("c1", "2024-01-01", kDrB, kGroupX),
       Reassigned("c2", "2024-01-01", "123", kGroupX)},  // bad NPI
      {Reassigned("d", "2024-03-01", kDrA, kGroupX)},  // after "a": refused
      {Revoked("e", "2024-04-01", kDrA, kGroupX)},     // ends "a"
  };
  std::vector<absl::StatusOr<AppendResult>> results(batches.size());
  std::vector<std::thread> threads;
  // One at a time into the queue, so the group keeps this order.
  for (size_t i = 0; i < batches.size(); ++i) {
    threads.emplace_back(
        [&, i] { results[i] = ledger->Append(batches[i]); });
    LedgerInternals::AwaitQueuedAppends(*ledger, i + 1);
  }
  LedgerInternals::ReleaseCommits(*ledger);
  for (auto& th : threads) th.join();

  ASSERT_TRUE(results[0].ok()) << results[0].status();
  EXPECT_EQ(results[0]->seqs, std::vector<uint64_t>({1}));
  ASSERT_TRUE(results[1].ok()) << results[1].status();
  EXPECT_EQ(results[1]->seqs, std::vector<uint64_t>({2}));
  EXPECT_EQ(results[2].status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(results[3].status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(results[4].status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(results[5].ok()) << results[5].status();
  EXPECT_EQ(results[5]->seqs, std::vector<uint64_t>({3}));
  EXPECT_EQ(ledger->head().seq, 3u);
  for (const char* id : {"b", "c1", "c2", "d"}) {
    EXPECT_FALSE(ledger->View()->FindEventId(id)->has_value()) << id;
  }
  RelationFilter dr_a;
  dr_a.provider = kDrA;
  auto rows = Queries(ledger.get()).ReassignmentPeriods(kHeadSeq, dr_a);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].interval.start_seq, 2u);
  EXPECT_EQ((*rows)[0].interval.end_seq, 3u);
  EXPECT_TRUE(ledger->VerifyProjections().ok());
}

// A batch queued behind a group that changes its relationship is judged on
// the timeline as that group left it (not as it was when the batch was
// handed to Append).
TEST(GroupCommitTest, ABatchIsJudgedOnTheStateTheGroupAheadLeft) {
  TempDir dir;
  LedgerOptions options;
  options.create_if_missing = true;
  auto ledger = std::move(*Ledger::Open(options, dir.Sub("db")));

  LedgerInternals::HoldCommits(*ledger);
  // The first leads a group of its own (nobody else queued yet) and waits
  // for the commits to be released; the second queues behind it.
  absl::StatusOr<AppendResult> started, revoked;
  std::thread first([&] {
    started = ledger->Append({Reassigned("r", "2024-01-01", kDrA, kGroupX)});
  });
  LedgerInternals::AwaitQueuedAppends(*ledger, 1);
  std::thread second([&] {
    revoked = ledger->Append({Revoked("x", "2024-06-01", kDrA, kGroupX)});
  });
  LedgerInternals::AwaitQueuedAppends(*ledger, 2);
  LedgerInternals::ReleaseCommits(*ledger);
  first.join();
  second.join();

  ASSERT_TRUE(started.ok()) << started.status();
  // Judged on the state before "r", it would be refused as revoking what
  // never started.
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->seqs, std::vector<uint64_t>({2}));
  RelationFilter dr_a;
  dr_a.provider = kDrA;
  auto rows = Queries(ledger.get()).ReassignmentPeriods(kHeadSeq, dr_a);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].interval.end_seq, 2u);
  EXPECT_TRUE(ledger->VerifyProjections().ok());
}

// What AppendAsync callbacks were given, and on which threads.
class Callbacks {
 public:
  Ledger::AppendCallback For(size_t i) {
    return [this, i](absl::StatusOr<AppendResult> result) {
      std::lock_guard<std::mutex> lock(mu_);
      results_[i].push_back(std::move(result));
      threads_[i] = std::this_thread::get_id();
      order_.push_back(i);
      ++called_;
      cv_.notify_all();
    };
  }
  // Waits until `n` callbacks have been called.
  void Await(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return called_ >= n; });
  }
  // REQUIRES: Await'ed.
  std::map<size_t, std::vector<absl::StatusOr<AppendResult>>> results_;
  std::map<size_t, std::thread::id> threads_;
  std::vector<size_t> order_;  // which callback was called when

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t called_ = 0;
};

// Batches handed over without waiting share the queue and groups with
// Append's: judged in queue order against the ones ahead (a revoke after
// its start is accepted, one of a relationship never started refused), a
// refused one failing alone, every callback called once with the seqs in
// queue order; those committed in a group an Append led are called on its
// thread, the rest on the ledger's own.
TEST(GroupCommitTest, AsyncAppendsShareGroupsWithWaitingOnes) {
  TempDir dir;
  auto ledger = OpenCountingSyncs(dir);
  const uint64_t syncs_before = LedgerInternals::WalSyncs(*ledger);

  Callbacks callbacks;
  LedgerInternals::HoldCommits(*ledger);
  ledger->AppendAsync({Reassigned("a", "2024-01-01", kDrA, kGroupX)}, {},
                      callbacks.For(0));
  LedgerInternals::AwaitQueuedAppends(*ledger, 1);
  absl::StatusOr<AppendResult> waited;
  std::thread::id waiting_thread;
  std::thread waiter([&] {
    waiting_thread = std::this_thread::get_id();
    waited = ledger->Append({Reassigned("b", "2024-01-01", kDrB, kGroupX)});
  });
  LedgerInternals::AwaitQueuedAppends(*ledger, 2);
  ledger->AppendAsync({Revoked("c", "2024-02-01", kDrC, kGroupX)}, {},
                      callbacks.For(2));
  ledger->AppendAsync({Revoked("d", "2024-03-01", kDrB, kGroupX)}, {},
                      callbacks.For(3));
  LedgerInternals::AwaitQueuedAppends(*ledger, 4);
  LedgerInternals::ReleaseCommits(*ledger);
  waiter.join();
  callbacks.Await(3);

  ASSERT_EQ(callbacks.results_.size(), 3u);
  for (const auto& [i, results] : callbacks.results_) {
    EXPECT_EQ(results.size(), 1u) << "callback " << i;
  }
  const auto& a = callbacks.results_[0][0];
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->seqs, std::vector<uint64_t>({1}));
  ASSERT_TRUE(waited.ok()) << waited.status();
  EXPECT_EQ(waited->seqs, std::vector<uint64_t>({2}));
  const auto& c = callbacks.results_[2][0];
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(c.status().message(),
            "revoked: the end on 2024-02-01 (this event) would end a "
            "reassignment when none is in effect");
  ASSERT_TRUE(EventErrorOf(c.status()).has_value());
  EXPECT_EQ(EventErrorOf(c.status())->index(), 0u);
  const auto& d = callbacks.results_[3][0];
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->seqs, std::vector<uint64_t>({3}));
  EXPECT_EQ(d->head.seq, 3u);
  EXPECT_EQ(ledger->head().seq, 3u);
  EXPECT_FALSE(ledger->View()->FindEventId("c")->has_value());
  // "a" alone (its committing thread took it before the rest queued) or
  // with "b"; the group after it, if any, is led by the Append.
  EXPECT_NE(callbacks.threads_[0], std::this_thread::get_id());
  EXPECT_NE(callbacks.threads_[0], waiting_thread);
  if (callbacks.threads_[2] == waiting_thread) {
    EXPECT_EQ(callbacks.threads_[3], waiting_thread);
  }
  const uint64_t syncs = LedgerInternals::WalSyncs(*ledger) - syncs_before;
  EXPECT_GE(syncs, 1u);
  EXPECT_LE(syncs, 2u);
  EXPECT_TRUE(ledger->VerifyProjections().ok());
}

// Batches still queued when the ledger closes are committed first (their
// callbacks called in the order they were queued), and are there when it
// is opened again; a ledger that refuses appends calls the callback at
// once, on the caller's thread.
TEST(GroupCommitTest, AsyncAppendsQueuedAtCloseAreCommittedFirst) {
  TempDir dir;
  LedgerOptions options;
  options.create_if_missing = true;
  constexpr size_t kBatches = 50;
  const std::vector<std::string> providers = MakeNpis(kBatches, 3);
  Callbacks callbacks;
  {
    auto ledger = std::move(*Ledger::Open(options, dir.Sub("db")));
    for (size_t i = 0; i < kBatches; ++i) {
      ledger->AppendAsync({Reassigned(absl::StrCat("e", i), "2024-01-01",
                                      providers[i], kGroupX)},
                          {}, callbacks.For(i));
    }
  }
  callbacks.Await(kBatches);
  std::vector<size_t> queued(kBatches);
  std::iota(queued.begin(), queued.end(), 0);
  EXPECT_EQ(callbacks.order_, queued);
  for (size_t i = 0; i < kBatches; ++i) {
    const auto& r = callbacks.results_[i][0];
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->seqs, std::vector<uint64_t>({i + 1}));
  }
  LedgerOptions read_only;
  read_only.read_only = true;
  auto reopened = std::move(*Ledger::Open(read_only, dir.Sub("db")));
  EXPECT_EQ(reopened->head().seq, kBatches);
  EXPECT_EQ(LogOf(*reopened->View()).back().event.event_id(),
            absl::StrCat("e", kBatches - 1));

  Callbacks refused;
  reopened->AppendAsync({Reassigned("x", "2024-01-01", kDrA, kGroupX)}, {},
                        refused.For(0));
  refused.Await(1);
  EXPECT_EQ(refused.threads_[0], std::this_thread::get_id());
  EXPECT_EQ(refused.results_[0][0].status(),
            absl::FailedPreconditionError(
                "the ledger was opened read-only: it cannot be written"));
}

// A view keeps answering from its head while appends and a rebuild go on;
// a new view sees them.
TEST(ViewTest, AViewIsPinnedThroughAppendsAndRebuilds) {
  TempDir dir;
  LedgerOptions options;
  options.create_if_missing = true;
  auto ledger = std::move(*Ledger::Open(options, dir.Sub("db")));
  ASSERT_TRUE(ledger->Append({Reassigned("a", "2024-01-01", kDrA, kGroupX)})
                  .ok());
  auto before = ledger->View();
  ASSERT_TRUE(
      ledger->Append({Revoked("b", "2024-06-01", kDrA, kGroupX),
                      Reassigned("c", "2024-01-01", kDrB, kGroupX)})
          .ok());
  ASSERT_TRUE(ledger->Rebuild().ok());
  ASSERT_TRUE(ledger->CompactProjections().ok());

  const DayNumber july = *ParseDate("2024-07-01");
  EXPECT_EQ(before->head().seq, 1u);
  auto old_rows = Queries(before).ReassignmentsOn(july, kHeadSeq, {});
  ASSERT_TRUE(old_rows.ok()) << old_rows.status();
  ASSERT_EQ(old_rows->size(), 1u);
  EXPECT_EQ((*old_rows)[0].provider, kDrA);
  EXPECT_FALSE(before->Lookup(2).ok());
  EXPECT_EQ(*before->StreamSeqs(kDrA), std::vector<uint64_t>({1}));
  EXPECT_FALSE(before->FindEventId("c")->has_value());

  auto now = Queries(ledger->View()).ReassignmentsOn(july, kHeadSeq, {});
  ASSERT_TRUE(now.ok());
  ASSERT_EQ(now->size(), 1u);
  EXPECT_EQ((*now)[0].provider, kDrB);
}

// WaitForHead returns as soon as an append moves the head past the seq,
// and with the old head when the deadline passes first.
TEST(ViewTest, WaitForHeadWakesOnAppendAndTimesOut) {
  TempDir dir;
  LedgerOptions options;
  options.create_if_missing = true;
  auto ledger = std::move(*Ledger::Open(options, dir.Sub("db")));
  EXPECT_EQ(ledger->WaitForHead(0, absl::Now() + absl::Milliseconds(20)).seq,
            0u);
  Head seen;
  std::thread follower(
      [&] { seen = ledger->WaitForHead(0, absl::Now() + absl::Seconds(60)); });
  ASSERT_TRUE(ledger->Append({Reassigned("a", "2024-01-01", kDrA, kGroupX)})
                  .ok());
  follower.join();
  EXPECT_EQ(seen.seq, 1u);
  EXPECT_EQ(seen.hash, ledger->head().hash);
}

}  // namespace
}  // namespace provledger

namespace provledger {
namespace {

// A claims file is checked by two threads while another appends: every
// line's result, in the file's order, is the claim check a single thread
// gives on the same view (pinned when the check began).
TEST(ClaimsFileTest, CheckedByTwoThreadsAsOneWouldCheckIt) {
  TempDir dir;
  LedgerOptions options;
  options.create_if_missing = true;
  auto ledger = std::move(*Ledger::Open(options, dir.Sub("db")));
  const std::vector<std::string> providers = {kDrA, kDrB, "1111111112",
                                              "1222222220"};
  std::vector<Event> setup = {EnrolledOrg("enr-x", "2015-01-01", kGroupX)};
  for (const std::string& p : providers) {
    setup.push_back(EnrolledIndividual("enr-" + p, "2019-01-01", p));
    setup.push_back(Credentialed("cred-" + p, "2019-01-01", p, "medicare",
                                 "2029-01-01"));
    setup.push_back(Associated("asc-" + p, "2023-01-01", p, kGroupX));
    setup.push_back(Reassigned("r-" + p, "2023-01-01", p, kGroupX));
  }
  setup.push_back(GroupContract("ctr", "2015-01-01", kGroupX,
                                {kDrA, kDrB, "1111111112", "1222222220"}));
  setup.push_back(Revoked("end-" + providers[1], "2024-02-10", providers[1], kGroupX));
  AppendOptions fast;
  fast.sync = false;
  ASSERT_TRUE(ledger->Append(setup, fast).ok());
  // 3000 lines (12 batches for the checkers), one to three days each.
  std::string csv = "claim_id,line,rendering_npi,billing_npi,payer,dos_from,dos_to\n";
  std::mt19937 rng(7);
  for (int i = 0; i < 3000; ++i) {
    const std::string& p = providers[rng() % providers.size()];
    const DayNumber from = *ParseDate("2024-02-01") + static_cast<int>(rng() % 20);
    absl::StrAppend(&csv, "C-", i / 2, ",", i % 2 + 1, ",", p, ",", kGroupX,
                    ",medicare,", FormatDate(from), ",",
                    FormatDate(from + static_cast<int>(rng() % 3)), "\n");
  }
  std::shared_ptr<const LedgerView> view = ledger->View();
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 200 && !done; ++i) {
      // Ends a reassignment the view still has in effect, and starts it
      // again: the view's answers must not move.
      const std::string& p = providers[i % providers.size()];
      ledger->Append({Revoked(absl::StrCat("end", i), "2024-02-05", p, kGroupX),
                      Reassigned(absl::StrCat("again", i), "2024-02-15", p,
                                 kGroupX)},
                     fast)
          .IgnoreError();
    }
  });
  service::QueryService service(view);
  v1::ClaimsFileRequest request;
  request.set_claims_format("csv");
  std::istringstream in(csv);
  std::vector<v1::ClaimLineResult> results;
  auto summary = service.CheckClaimsFile(
      request, in, [&](const v1::ClaimLineResult& r) { results.push_back(r); });
  done = true;
  writer.join();
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_EQ(results.size(), 3000u);
  EXPECT_EQ(summary->lines(), 3000u);
  EXPECT_EQ(summary->claims(), 1500u);
  // The brute force: each line, each day, one claim check on the view.
  Queries q(view);
  std::istringstream again(csv);
  std::string header, row;
  std::getline(again, header);
  uint32_t denied = 0;
  for (size_t i = 0; std::getline(again, row); ++i) {
    std::vector<std::string> f = absl::StrSplit(row, ',');
    ASSERT_EQ(results[i].claim_id(), f[0]);
    ASSERT_EQ(absl::StrCat(results[i].line()), f[1]);
    std::vector<std::string> codes;
    for (DayNumber d = *ParseDate(f[5]); d <= *ParseDate(f[6]); ++d) {
      auto r = q.ClaimCheck(f[2], f[3], "medicare", d, kHeadSeq, PayerRules());
      ASSERT_TRUE(r.ok());
      for (const Finding& x : r->findings) {
        if (std::find(codes.begin(), codes.end(), x.code) == codes.end()) {
          codes.push_back(x.code);
        }
      }
    }
    std::vector<std::string> got;
    for (const auto& x : results[i].findings()) got.push_back(x.code());
    EXPECT_EQ(got, codes) << row;
    EXPECT_EQ(results[i].result(), codes.empty() ? "payable" : "denied");
    if (!codes.empty()) ++denied;
  }
  EXPECT_EQ(summary->denied(), denied);
  EXPECT_GT(denied, 0u);
  EXPECT_LT(denied, 3000u);
}

}  // namespace
}  // namespace provledger
