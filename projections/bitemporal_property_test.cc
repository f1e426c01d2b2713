// Property test: random event streams (seeded; shuffled effective dates,
// voids, batches) are appended; every point-in-time answer must equal a
// brute-force fold of the raw accepted events, for random (D, K); a ledger
// truncated at K must answer as the full one does at K; and a rebuild must
// reproduce the incremental projections byte for byte.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "ledger/internal/raw_access.h"
#include "ledger/testing.h"
#include "ledger/validation.h"
#include "projections/testing_fold.h"
#include "projections/query.h"

namespace provledger {
namespace {

using namespace provledger::testing;
using v1::Event;

class BitemporalPropertyTest : public ::testing::TestWithParam<int> {};

TEST_P(BitemporalPropertyTest, QueriesEqualABruteForceFold) {
  const int seed = GetParam();
  std::mt19937 rng(seed);
  TempDir dir;
  LedgerOptions options;
  options.create_if_missing = true;
  auto ledger = std::move(*Ledger::Open(options, dir.Sub("full")));
  Queries queries(ledger.get());

  const std::vector<std::string> providers = MakeNpis(6, 1);
  const std::vector<std::string> orgs = MakeNpis(3, 2);
  const std::vector<std::string> payers = {"medicare", "cigna"};
  const DayNumber first = *ParseDate("2020-01-01");
  const DayNumber last = *ParseDate("2025-12-31");
  auto pick = [&](const auto& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
  };
  auto random_day = [&] {
    return std::uniform_int_distribution<DayNumber>(first, last)(rng);
  };

  std::vector<Accepted> log;
  std::vector<uint64_t> batch_ends;  // head seq after each accepted batch
  AppendOptions no_sync;
  no_sync.sync = false;
  int refused = 0, id = 0;
  for (int attempt = 0; attempt < 2500; ++attempt) {
    int batch_size = std::uniform_int_distribution<int>(1, 10)(rng) <= 8
                         ? 1
                         : std::uniform_int_distribution<int>(2, 4)(rng);
    std::vector<Event> batch;
    for (int b = 0; b < batch_size; ++b) {
      const std::string date = FormatDate(random_day());
      const std::string eid = absl::StrCat("ev", id++);
      int kind = std::uniform_int_distribution<int>(0, 99)(rng);
      if (kind < 10 && ledger->head().seq > 0) {
        uint64_t target = std::uniform_int_distribution<uint64_t>(
            1, ledger->head().seq)(rng);
        batch.push_back(Voided(eid, date, target));
      } else if (kind < 70) {
        // Mostly at the relationship's tail: start after the last end, or
        // end the open period; still often refused inside batches.
        const std::string p = pick(providers), o = pick(orgs), y = pick(payers);
        auto t = ledger->View()->GetTimeline(PairKey(Relation::kReassignment, p, o, y));
        ASSERT_TRUE(t.ok());
        std::vector<Interval> periods;
        if (t->has_value()) periods = FoldIntervals(**t, kHeadSeq);
        DayNumber after = periods.empty()
                              ? first
                              : periods.back().end.value_or(periods.back().start);
        DayNumber day = std::min<DayNumber>(
            last, after + std::uniform_int_distribution<int>(0, 300)(rng));
        const bool open = !periods.empty() && !periods.back().end.has_value();
        batch.push_back(open ? Revoked(eid, FormatDate(day), p, o, y)
                             : Reassigned(eid, FormatDate(day), p, o, y));
      } else if (kind < 80) {
        batch.push_back(Reassigned(eid, date, pick(providers), pick(orgs), pick(payers)));
      } else if (kind < 95) {
        batch.push_back(Revoked(eid, date, pick(providers), pick(orgs), pick(payers)));
      } else {
        batch.push_back(Credentialed(eid, date, pick(providers), pick(payers)));
      }
    }
    auto r = ledger->Append(batch, no_sync);
    if (!r.ok()) {
      ASSERT_TRUE(r.status().code() == absl::StatusCode::kFailedPrecondition ||
                  r.status().code() == absl::StatusCode::kInvalidArgument)
          << r.status();
      ++refused;
      continue;
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      log.push_back({r->seqs[i], batch[i]});
    }
    batch_ends.push_back(r->head.seq);
  }
  const uint64_t head = ledger->head().seq;
  ASSERT_EQ(head, log.size());
  EXPECT_GT(head, 1000u);
  EXPECT_GT(refused, 100);

  std::set<uint64_t> boundaries(batch_ends.begin(), batch_ends.end());
  boundaries.insert(0);
  BruteForce brute(log, boundaries);
  for (int q = 0; q < 300; ++q) {
    DayNumber d = random_day();
    uint64_t k = std::uniform_int_distribution<uint64_t>(0, head)(rng);
    RelationFilter f;
    switch (q % 4) {
      case 1: f.provider = pick(providers); break;
      case 2: f.org = pick(orgs); break;
      case 3: f.payer = pick(payers); break;
    }
    auto rows = queries.ReassignmentsOn(d, k, f);
    ASSERT_TRUE(rows.ok()) << rows.status();
    ASSERT_EQ(ToRows(*rows), brute.On(d, k, f))
        << "D=" << FormatDate(d) << " K=" << k << " query " << q;
    if (q % 10 == 0) {
      DayNumber a = random_day(), b = random_day();
      if (b < a) std::swap(a, b);
      auto changes = queries.Changes(a, b, k, {});
      ASSERT_TRUE(changes.ok());
      std::vector<std::tuple<DayNumber, uint64_t, bool>> got;
      for (const auto& c : *changes) got.emplace_back(c.day, c.seq, c.started);
      std::sort(got.begin(), got.end());
      ASSERT_EQ(got, brute.Changes(a, b, k));
    }
  }

  // A ledger that stopped at K (after a batch) answers as the full ledger
  // does at K. It is built from the stored events, in the original batches.
  for (size_t b : {batch_ends.size() / 5, batch_ends.size() / 2,
                   batch_ends.size() - 2}) {
    const uint64_t k = batch_ends[b];
    TempDir tdir;
    auto truncated = std::move(*Ledger::Open(options, tdir.Sub("t")));
    auto it = ledger->View()->Read(1);
    for (size_t i = 0; i <= b; ++i) {
      std::vector<Event> batch;
      for (; it->Valid() && it->event().seq() <= batch_ends[i]; it->Next()) {
        batch.push_back(it->event());
      }
      auto r = truncated->Append(batch, no_sync);
      ASSERT_TRUE(r.ok()) << r.status();
    }
    ASSERT_EQ(truncated->head().seq, k);
    Queries tq(truncated.get());
    for (int q = 0; q < 40; ++q) {
      DayNumber d = random_day();
      ASSERT_EQ(ToRows(*tq.ReassignmentsOn(d, kHeadSeq, {})),
                ToRows(*queries.ReassignmentsOn(d, k, {})))
          << "D=" << FormatDate(d) << " K=" << k;
    }
  }

  // Incremental projections equal a full rebuild, byte for byte.
  auto incremental = LedgerInternals::DumpProjections(*ledger);
  ASSERT_TRUE(incremental.ok());
  ASSERT_TRUE(ledger->Rebuild().ok());
  auto rebuilt = LedgerInternals::DumpProjections(*ledger);
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(*incremental, *rebuilt);

  // The same in several passes (as a log too large for memory is rebuilt);
  // voids go in their target's pass.
  const std::string path = dir.Sub("full");
  ledger.reset();
  LedgerOptions passes = options;
  passes.rebuild_passes = 3;
  ledger = std::move(*Ledger::Open(passes, path));
  ASSERT_TRUE(ledger->Rebuild().ok());
  auto rebuilt3 = LedgerInternals::DumpProjections(*ledger);
  ASSERT_TRUE(rebuilt3.ok());
  EXPECT_EQ(*incremental, *rebuilt3);
  EXPECT_TRUE(ledger->VerifyProjections().ok());
}

INSTANTIATE_TEST_SUITE_P(Seeds, BitemporalPropertyTest,
                         ::testing::Values(1, 2, 3));

}  // namespace
}  // namespace provledger
