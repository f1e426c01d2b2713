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
#include "ledger/testing.h"
#include "ledger/validation.h"
#include "projections/query.h"

namespace provledger {
namespace {

using namespace provledger::testing;
using v1::Event;

// Valid NPIs made from a seeded base.
std::vector<std::string> MakeNpis(int n, int salt) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string base = absl::StrCat(100000000 + salt * 1000 + i * 7);
    for (char c = '0'; c <= '9'; ++c) {
      if (IsValidNpi(base + c)) {
        out.push_back(base + c);
        break;
      }
    }
  }
  return out;
}

struct Accepted {
  uint64_t seq;
  Event event;
};

using Row = std::tuple<std::string, std::string, std::string, DayNumber,
                       std::optional<DayNumber>, uint64_t, uint64_t>;

// The brute force: fold the raw accepted events known at K.
class BruteForce {
 public:
  BruteForce(const std::vector<Accepted>& log,
             const std::set<uint64_t>& batch_ends)
      : log_(log), batch_ends_(batch_ends) {}

  // All reassignment periods as known at K, keyed by relationship.
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<Row>>
  Periods(uint64_t k) const {
    std::set<uint64_t> voided;
    for (const Accepted& a : log_) {
      if (a.seq <= k && a.event.has_voided()) {
        voided.insert(a.event.voided().target_seq());
      }
    }
    // (provider, org, payer) -> (day, seq, is_start)
    std::map<std::tuple<std::string, std::string, std::string>,
             std::vector<std::tuple<DayNumber, uint64_t, bool>>>
        entries;
    for (const Accepted& a : log_) {
      if (a.seq > k || voided.count(a.seq)) continue;
      const Event& e = a.event;
      DayNumber day = *ParseDate(e.effective_date());
      if (e.has_reassigned()) {
        entries[{e.reassigned().provider_npi(), e.reassigned().org_npi(),
                 e.reassigned().payer()}]
            .emplace_back(day, a.seq, true);
      } else if (e.has_revoked()) {
        entries[{e.revoked().provider_npi(), e.revoked().org_npi(),
                 e.revoked().payer()}]
            .emplace_back(day, a.seq, false);
      }
    }
    std::map<std::tuple<std::string, std::string, std::string>, std::vector<Row>>
        out;
    for (auto& [key, list] : entries) {
      std::sort(list.begin(), list.end());
      std::vector<Row>& rows = out[key];
      bool open = false;
      for (const auto& [day, seq, is_start] : list) {
        if (open == is_start) {
          // Only possible inside a batch: the ledger keeps every timeline
          // coherent at every batch boundary. Such entries do not count.
          EXPECT_FALSE(batch_ends_.count(k))
              << "incoherent timeline at batch boundary K=" << k;
          continue;
        }
        if (is_start) {
          rows.emplace_back(std::get<0>(key), std::get<1>(key),
                            std::get<2>(key), day, std::nullopt, seq, 0);
        } else {
          std::get<4>(rows.back()) = day;
          std::get<6>(rows.back()) = seq;
        }
        open = is_start;
      }
    }
    return out;
  }

  std::vector<Row> On(DayNumber d, uint64_t k, const RelationFilter& f) const {
    std::vector<Row> out;
    for (const auto& [key, rows] : Periods(k)) {
      for (const Row& r : rows) {
        if (!f.provider.empty() && std::get<0>(r) != f.provider) continue;
        if (!f.org.empty() && std::get<1>(r) != f.org) continue;
        if (!f.payer.empty() && std::get<2>(r) != f.payer) continue;
        auto end = std::get<4>(r);
        if (std::get<3>(r) <= d && (!end || d < *end)) out.push_back(r);
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<std::tuple<DayNumber, uint64_t, bool>> Changes(
      DayNumber from, DayNumber to, uint64_t k) const {
    std::vector<std::tuple<DayNumber, uint64_t, bool>> out;
    for (const auto& [key, rows] : Periods(k)) {
      for (const Row& r : rows) {
        if (from <= std::get<3>(r) && std::get<3>(r) <= to) {
          out.emplace_back(std::get<3>(r), std::get<5>(r), true);
        }
        auto end = std::get<4>(r);
        if (end && from <= *end && *end <= to) {
          out.emplace_back(*end, std::get<6>(r), false);
        }
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  const std::vector<Accepted>& log_;
  const std::set<uint64_t>& batch_ends_;
};

// Kept in the query's order: it must already be the sorted one.
std::vector<Row> ToRows(const std::vector<ReassignmentRow>& rows) {
  std::vector<Row> out;
  for (const auto& r : rows) {
    out.emplace_back(r.provider, r.org, r.payer, r.interval.start,
                     r.interval.end, r.interval.start_seq, r.interval.end_seq);
  }
  return out;
}

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
        auto t = ledger->GetTimeline(PairKey(Relation::kReassignment, p, o, y));
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
    auto it = ledger->Read(1);
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
  auto incremental = ledger->DumpProjections();
  ASSERT_TRUE(incremental.ok());
  ASSERT_TRUE(ledger->Rebuild().ok());
  auto rebuilt = ledger->DumpProjections();
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
  auto rebuilt3 = ledger->DumpProjections();
  ASSERT_TRUE(rebuilt3.ok());
  EXPECT_EQ(*incremental, *rebuilt3);
  EXPECT_TRUE(ledger->VerifyProjections().ok());
}

INSTANTIATE_TEST_SUITE_P(Seeds, BitemporalPropertyTest,
                         ::testing::Values(1, 2, 3));

}  // namespace
}  // namespace provledger
