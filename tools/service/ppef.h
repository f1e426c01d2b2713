// Public API (see the README's Layout: what a front end may include).
// Loading a Medicare PPEF snapshot (Public Provider Enrollment extract:
// enrollment and reassignment files) as ledger events.
//
// The extracts carry no dates, so every event is effective on the
// snapshot's date (--as-of). Event ids are deterministic, so loading the
// same snapshot twice adds nothing; a later snapshot adds `reassigned` for
// new pairs and `revoked` for PPEF-loaded reassignments that disappeared.
#ifndef PROVLEDGER_TOOLS_SERVICE_PPEF_H_
#define PROVLEDGER_TOOLS_SERVICE_PPEF_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <string>

#include "absl/status/statusor.h"
#include "ledger/date.h"
#include "ledger/ledger.h"

namespace provledger {

struct PpefOptions {
  // The snapshot's date: effective date of every event. Required.
  DayNumber as_of = 0;
  // Default: "medicare".
  std::string payer = "medicare";
  // Events per atomic batch. Default: 1000.
  size_t batch_size = 1000;
  // fsync each batch. Default: true.
  bool sync = true;
};

struct PpefResult {
  uint64_t enrolled = 0;
  uint64_t reassigned = 0;
  uint64_t revoked = 0;
  uint64_t already_enrolled = 0;       // NPI enrolled at the payer already
  uint64_t already_reassigned = 0;     // pair already in effect
  uint64_t duplicates = 0;             // event ids already recorded
  uint64_t skipped_rows = 0;           // reported through `problem`
};

// Reads both extracts and appends the events. `problem(line description)`
// receives each skipped row ("enrollment line 7: ..."). Returns the first
// append error (earlier batches stay written; re-running resumes).
absl::StatusOr<PpefResult> LoadPpef(
    Ledger& ledger, std::istream& enrollment, std::istream& reassignment,
    const PpefOptions& options,
    const std::function<void(const std::string&)>& problem);

}  // namespace provledger

#endif  // PROVLEDGER_TOOLS_SERVICE_PPEF_H_
