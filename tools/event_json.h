// Events as JSON lines, in protobuf's JSON mapping (snake_case names).
#ifndef PROVLEDGER_TOOLS_EVENT_JSON_H_
#define PROVLEDGER_TOOLS_EVENT_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "provledger/v1/events.pb.h"

namespace provledger {

// Parses one JSON object into an Event. Unknown fields are errors.
// InvalidArgument with the parser's reason on failure.
absl::StatusOr<v1::Event> ParseEventJson(absl::string_view line);

// One line of JSON (no trailing newline), field names as in the proto.
std::string EventToJson(const google::protobuf::Message& message);

}  // namespace provledger

#endif  // PROVLEDGER_TOOLS_EVENT_JSON_H_
