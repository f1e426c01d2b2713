// Fuzz target: a payer roster (PROVLEDGER_FUZZ_ROSTER_FORMAT: "cms-reassignment"
// or "csv") reconciled against the demo ledger. Never crashes; a roster is
// reconciled or refused as InvalidArgument, and the summary's counts by
// code add up to the discrepancies reported.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "tools/service/fuzz_support.h"
#include "tools/service/service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace provledger;
  static const service::QueryService* queries =
      new service::QueryService(fuzz::DemoLedger().View());
  std::istringstream roster(std::string(reinterpret_cast<const char*>(data), size));
  v1::ReconcileRequest request;
  request.set_roster_format(PROVLEDGER_FUZZ_ROSTER_FORMAT);
  request.set_as_of("2024-06-30");
  request.set_due_within_days(90);
  uint64_t reported = 0;
  auto summary = queries->Reconcile(request, roster, [&](const v1::Discrepancy& d) {
    fuzz::Check(!d.code().empty(), "a discrepancy has a code");
    ++reported;
  });
  if (!summary.ok()) {
    fuzz::Check(summary.status().code() == absl::StatusCode::kInvalidArgument,
                "a refused roster is InvalidArgument");
    return 0;
  }
  uint64_t counted = 0;
  for (const auto& c : summary->by_code()) counted += c.count();
  fuzz::Check(counted == reported, "the counts by code add up");
  return 0;
}
