// A brute-force fold of accepted events into reassignment periods, to check
// the projections' answers against (tests only).
#ifndef PROVLEDGER_PROJECTIONS_TESTING_FOLD_H_
#define PROVLEDGER_PROJECTIONS_TESTING_FOLD_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ledger/date.h"
#include "ledger/validation.h"
#include "projections/query.h"
#include "provledger/v1/events.pb.h"

namespace provledger::testing {

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
  v1::Event event;
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
      const v1::Event& e = a.event;
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

}  // namespace provledger::testing

#endif  // PROVLEDGER_PROJECTIONS_TESTING_FOLD_H_
