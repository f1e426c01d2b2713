// Public API (see the README's Layout: what a front end may include).
// Revalidation reconciliation: compare a payer roster (the CMS Revalidation
// Reassignment List, or a simple generic CSV) with the ledger as of a date.
// The roster is streamed: memory is bounded by the ledger side, not by the
// roster's size.
#ifndef PROVLEDGER_PROJECTIONS_RECONCILE_H_
#define PROVLEDGER_PROJECTIONS_RECONCILE_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "ledger/date.h"
#include "ledger/ledger.h"

namespace provledger {

enum class RosterFormat {
  // CMS Revalidation Reassignment List: columns mapped by header name.
  kCmsReassignment,
  // provider_npi,org_npi,payer,effective_date,end_date (ISO dates; blank
  // end = open).
  kGeneric,
};

struct ReconcileOptions {
  RosterFormat format = RosterFormat::kCmsReassignment;
  // The date the roster describes. Default: none (required).
  DayNumber as_of = 0;
  // The payer of a CMS roster, and of a generic roster without rows (a
  // generic roster's rows name their payers). Default: "medicare".
  std::string payer = "medicare";
  // Restrict to one organization: its NPI or enrollment id. Default: all.
  std::string org;
  // Report REVALIDATION_DUE for due dates on or before as_of + N days.
  // Default: unset (not reported).
  std::optional<int> due_within_days;
  // Knowledge point of the ledger side. Default: head.
  uint64_t known_seq = UINT64_MAX;
  // Once the roster passes this many rows (a national roster), or its
  // first 1,000 rows' length says a roster of its size will, the ledger
  // side of each payer is read in one scan of its reassignments and its
  // enrollments, on two threads, into tables the rest of the rows are
  // compared with (about 100 bytes per reassignment in effect and per
  // enrolled NPI) instead of a few point reads per row. The answer is the
  // same either way. Without an `org` filter only.
  uint64_t scan_after_rows = 50000;
};

// One discrepancy. Codes (stable): MISSING_AT_PAYER, STALE_AT_PAYER,
// ENDED_AT_PAYER (a generic roster's row ends the reassignment, the ledger
// has it in effect), NAME_MISMATCH, STATE_MISMATCH, UNKNOWN_PROVIDER,
// UNKNOWN_ORGANIZATION, REVALIDATION_DUE, UNPARSEABLE_ROW.
struct Discrepancy {
  std::string code;
  size_t line = 0;  // roster line; 0 for findings from the ledger side
  std::string provider_npi;
  std::string org;  // NPI, or the roster's enrollment id when unknown
  std::string detail;
};

struct ReconcileSummary {
  uint64_t rows = 0;           // data rows read
  uint64_t compared = 0;       // reassignment rows compared with the ledger
  uint64_t matched = 0;        // ... that the ledger agrees with
  uint64_t mismatched = 0;     // ... in effect in both, but a party's name
                               // or state differs
  uint64_t not_compared = 0;   // rows of other record types (e.g. PA)
  uint64_t unparseable = 0;    // rows reported and skipped
  std::map<std::string, uint64_t> by_code;
  uint64_t total() const {
    uint64_t n = 0;
    for (const auto& [code, count] : by_code) n += count;
    return n;
  }
};

// Streams `roster`, calling `sink` for each discrepancy as it is found
// (roster-side ones in file order, then MISSING_AT_PAYER). `progress(bytes)`
// is called now and then. InvalidArgument if the header lacks a required
// column; I/O errors as statuses.
// Every answer comes from `view` (one state of the ledger).
absl::StatusOr<ReconcileSummary> Reconcile(
    const LedgerView& view, std::istream& roster, const ReconcileOptions& options,
    const std::function<void(const Discrepancy&)>& sink,
    const std::function<void(uint64_t)>& progress = nullptr);

}  // namespace provledger

#endif  // PROVLEDGER_PROJECTIONS_RECONCILE_H_
