// Public API (see the README's Layout: what a front end may include).
// Knowledge points given as a time: what the ledger had recorded by a
// moment, written the way staff write it (a timestamp, a local time in
// their time zone, or a bare date meaning the end of that day).
#ifndef PROVLEDGER_LEDGER_KNOWLEDGE_POINT_H_
#define PROVLEDGER_LEDGER_KNOWLEDGE_POINT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace provledger {

// The IANA time zone `name` ("America/Chicago"), from the system's tzdata;
// "" and "UTC" are UTC. InvalidArgument "'<name>' is not a time zone ..." if
// the system does not know it.
absl::StatusOr<absl::TimeZone> LoadTimeZone(absl::string_view name);

// The moment `text` names, in `zone`:
//   "2024-04-02T17:00:00Z", "2024-04-02T12:00:00-05:00"  RFC 3339: absolute
//   "2024-04-02T17:00", "2024-04-02T17:00:00"          local time in zone
//   "2024-04-02"                                       the end of that day
//                                                      in zone (its last
//                                                      nanosecond)
// InvalidArgument "'<text>' is not ..." otherwise (no flag names: the
// front end adds them).
absl::StatusOr<absl::Time> ParseKnownAt(absl::string_view text,
                                        absl::TimeZone zone);

// A protobuf Timestamp (an event's recorded_at) as an absl::Time.
absl::Time ToAbslTime(const google::protobuf::Timestamp& ts);

// `t` as RFC 3339 with microseconds (the precision of recorded_at): "2026-11-22T20:02:21.290508Z" in
// UTC; elsewhere with the zone's offset and name,
// "2026-11-22T14:02:21.290508-06:00 (America/Chicago)".
std::string FormatKnownTime(absl::Time t, absl::TimeZone zone);

}  // namespace provledger

#endif  // PROVLEDGER_LEDGER_KNOWLEDGE_POINT_H_
