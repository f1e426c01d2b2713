#include "ledger/date.h"

#include <cctype>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace provledger {
namespace {

const absl::CivilDay kEpoch(1970, 1, 1);

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return !s.empty();
}

int ToInt(absl::string_view digits) {
  int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

absl::StatusOr<DayNumber> MakeDay(absl::string_view text, int y, int m, int d) {
  if (y < 1900 || y > 2199) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' has a year outside 1900-2199"));
  }
  absl::CivilDay day(y, m, d);
  if (day.year() != y || day.month() != m || day.day() != d) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a real calendar day"));
  }
  return FromCivilDay(day);
}

}  // namespace

absl::StatusOr<DayNumber> ParseDate(absl::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' ||
      !AllDigits(text.substr(0, 4)) || !AllDigits(text.substr(5, 2)) ||
      !AllDigits(text.substr(8, 2))) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a date of the form YYYY-MM-DD"));
  }
  return MakeDay(text, ToInt(text.substr(0, 4)), ToInt(text.substr(5, 2)),
                 ToInt(text.substr(8, 2)));
}

absl::StatusOr<DayNumber> ParseUsDate(absl::string_view text) {
  if (text.size() != 10 || text[2] != '/' || text[5] != '/' ||
      !AllDigits(text.substr(0, 2)) || !AllDigits(text.substr(3, 2)) ||
      !AllDigits(text.substr(6, 4))) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a date of the form MM/DD/YYYY"));
  }
  return MakeDay(text, ToInt(text.substr(6, 4)), ToInt(text.substr(0, 2)),
                 ToInt(text.substr(3, 2)));
}

absl::StatusOr<DayNumber> ParseCompactDate(absl::string_view text) {
  if (text.size() != 8 || !AllDigits(text)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a date of the form CCYYMMDD"));
  }
  return MakeDay(text, ToInt(text.substr(0, 4)), ToInt(text.substr(4, 2)),
                 ToInt(text.substr(6, 2)));
}

absl::CivilDay ToCivilDay(DayNumber day) { return kEpoch + day; }

DayNumber FromCivilDay(absl::CivilDay day) {
  return static_cast<DayNumber>(day - kEpoch);
}

std::string FormatDate(DayNumber day) {
  absl::CivilDay c = ToCivilDay(day);
  return absl::StrFormat("%04d-%02d-%02d", c.year(), c.month(), c.day());
}

DayNumber Today() {
  return FromCivilDay(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()));
}

}  // namespace provledger
