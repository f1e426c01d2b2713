// Public API (see the README's Layout: what a front end may include).
// Events as JSON lines, in protobuf's JSON mapping (snake_case names).
#ifndef PROVLEDGER_TOOLS_SERVICE_EVENT_JSON_H_
#define PROVLEDGER_TOOLS_SERVICE_EVENT_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "provledger/v1/events.pb.h"

namespace provledger {

// Parses one JSON object into an Event, strictly: unknown fields, invalid
// escapes, a key given twice, a camelCase alias and one value for a list
// are errors (CheckStrictJson). InvalidArgument on failure, with a
// sentence naming the field or the column and the reason
// (DescribeJsonError).
absl::StatusOr<v1::Event> ParseEventJson(absl::string_view line);

// The JSON parser's `error` about `line`, for people: "not valid JSON at
// column 34: a string is missing its closing quote",
// "reassigned.effective_until: is not a field of 'reassigned' ...",
// "voided.target_seq: -1 is not a whole number of 0 or more".
std::string DescribeJsonError(absl::string_view line, absl::string_view error);

// One line of JSON (no trailing newline), field names as in the proto.
std::string EventToJson(const google::protobuf::Message& message);

}  // namespace provledger

#endif  // PROVLEDGER_TOOLS_SERVICE_EVENT_JSON_H_
