// Fuzz target: dates, time zones and knowledge points as given on a
// command line or in a request. Never crashes; a date that parses prints
// as itself.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_split.h"
#include "ledger/date.h"
#include "ledger/internal/fuzz_check.h"
#include "ledger/knowledge_point.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace provledger;
  using fuzz::Check;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto day = ParseDate(text); day.ok()) {
    Check(FormatDate(*day) == text, "an ISO date prints as itself");
  } else {
    Check(day.status().code() == absl::StatusCode::kInvalidArgument,
          "a refused date is InvalidArgument");
  }
  if (auto day = ParseUsDate(text); day.ok()) {
    auto iso = ParseDate(FormatDate(*day));
    Check(iso.ok() && *iso == *day, "a US date is a real day");
  }
  // "<zone>|<known at>": the zone as --tz, the rest as --known-at.
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(text, absl::MaxSplits('|', 1));
  auto zone = LoadTimeZone(parts.first);
  if (!zone.ok()) {
    Check(zone.status().code() == absl::StatusCode::kInvalidArgument,
          "a refused zone is InvalidArgument");
    zone = absl::UTCTimeZone();
  }
  auto at = ParseKnownAt(parts.second, *zone);
  if (at.ok()) {
    (void)FormatKnownTime(*at, *zone);
  } else {
    Check(at.status().code() == absl::StatusCode::kInvalidArgument,
          "a refused knowledge point is InvalidArgument");
  }
  return 0;
}
