// A self-contained HTML timeline report for compliance review: per
// relationship, bars for enrollment, credentialing, association,
// reassignment and contract periods on a dated time axis, event markers
// (seq, actor, source on hover), voided events struck through, backdated
// events marked, and a table of the events. Inline SVG and CSS only: no
// scripts, no external assets; readable when printed.
#ifndef PROVLEDGER_TOOLS_SERVICE_REPORT_H_
#define PROVLEDGER_TOOLS_SERVICE_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "ledger/date.h"
#include "ledger/ledger.h"

namespace provledger {

struct ReportOptions {
  std::string npi;
  bool is_org = false;  // --org: relationships where the NPI is the group
  std::string payer;    // "" for every payer
  uint64_t known_seq = UINT64_MAX;
  bool mask_individual_tins = false;  // MaskIndividualTins on every event
  std::optional<DayNumber> date_of_service;  // a marked line on the axis
};

// Events whose paperwork reached us (filed_on, else recorded_at) more than
// this many days after their effective date are marked backdated.
constexpr int kBackdatedDays = 30;

// Every part of the report comes from `view` (one state of the ledger).
absl::StatusOr<std::string> RenderReport(const LedgerView& view,
                                         const ReportOptions& request);

}  // namespace provledger

#endif  // PROVLEDGER_TOOLS_SERVICE_REPORT_H_
