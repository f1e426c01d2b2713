// Public API (see the README's Layout: what a front end may include).
// Civil dates for valid time: ISO 8601 strings at the API, day numbers
// (days since 1970-01-01) in storage.
#ifndef PROVLEDGER_LEDGER_DATE_H_
#define PROVLEDGER_LEDGER_DATE_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"

namespace provledger {

// Days since 1970-01-01 (negative before).
using DayNumber = int32_t;

// Parses "YYYY-MM-DD". Fails with InvalidArgument unless `text` is exactly
// that shape and names a real calendar day between years 1900 and 2199.
absl::StatusOr<DayNumber> ParseDate(absl::string_view text);

// Parses "MM/DD/YYYY" (as in CMS files), with the same checks.
absl::StatusOr<DayNumber> ParseUsDate(absl::string_view text);

// Parses "CCYYMMDD" (as in X12 files), with the same checks.
absl::StatusOr<DayNumber> ParseCompactDate(absl::string_view text);

// "YYYY-MM-DD" for a day number.
std::string FormatDate(DayNumber day);

absl::CivilDay ToCivilDay(DayNumber day);
DayNumber FromCivilDay(absl::CivilDay day);

// Today in UTC.
DayNumber Today();

}  // namespace provledger

#endif  // PROVLEDGER_LEDGER_DATE_H_
