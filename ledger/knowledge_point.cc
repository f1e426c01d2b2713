#include "ledger/knowledge_point.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"

namespace provledger {
namespace {

bool IsUtc(absl::TimeZone zone) { return zone.name() == "UTC"; }

// An IANA zone name ("America/Argentina/Buenos_Aires", "Etc/GMT+5",
// "EST5EDT"): parts of letters, digits, '_', '-' and '+', each starting
// with a letter, joined by '/'. Anything else (an absolute path, "..", a
// FIFO a request names) never reaches the zone loader, which would open it
// as a file.
bool IsZoneName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  bool part_start = true;
  for (char c : name) {
    if (c == '/') {
      if (part_start) return false;
      part_start = true;
      continue;
    }
    const bool letter = absl::ascii_isalpha(static_cast<unsigned char>(c));
    if (part_start && !letter) return false;
    if (!letter && !absl::ascii_isdigit(static_cast<unsigned char>(c)) &&
        c != '_' && c != '-' && c != '+') {
      return false;
    }
    part_start = false;
  }
  return !part_start;
}

}  // namespace

absl::StatusOr<absl::TimeZone> LoadTimeZone(absl::string_view name) {
  if (name.empty() || name == "UTC") return absl::UTCTimeZone();
  absl::TimeZone zone;
  if (!IsZoneName(name) || !absl::LoadTimeZone(std::string(name), &zone)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", name,
        "' is not a time zone this system knows (an IANA name such as "
        "America/Chicago, from the tzdata package)"));
  }
  return zone;
}

absl::StatusOr<absl::Time> ParseKnownAt(absl::string_view text,
                                        absl::TimeZone zone) {
  const std::string s(text);
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return t;
  for (const char* local : {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"}) {
    if (absl::ParseTime(local, s, zone, &t, &err)) return t;
  }
  absl::CivilDay day;
  if (absl::ParseCivilTime(s, &day)) {
    return absl::FromCivil(day + 1, zone) - absl::Nanoseconds(1);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "'", text,
      "' is not an RFC 3339 timestamp (2024-04-02T17:00:00Z), a local time "
      "(2024-04-02T17:00) or a date (2024-04-02, the end of that day)"));
}

absl::Time ToAbslTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

std::string FormatKnownTime(absl::Time t, absl::TimeZone zone) {
  if (IsUtc(zone)) return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, zone);
  return absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E6S%Ez", t, zone),
                      " (", zone.name(), ")");
}

}  // namespace provledger
