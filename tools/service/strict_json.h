// The JSON rules protobuf's parser is lenient about, checked before it
// runs, so nothing a user sends is silently altered or overridden.
#ifndef PROVLEDGER_TOOLS_SERVICE_STRICT_JSON_H_
#define PROVLEDGER_TOOLS_SERVICE_STRICT_JSON_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"

namespace provledger {

// Checks `json` (one value, as read) against strict JSON (RFC 8259: escapes,
// control characters, UTF-8) and against the shape of `message`:
//   - a key given twice in one object ("event_id: is given twice");
//   - a field spelled by its JSON name instead of its proto name
//     ("eventId: write it as event_id ...");
//   - a single value where the field is a list.
// Keys that are not fields are left to the protobuf parser, which names
// them. InvalidArgument with one sentence naming the field or the column;
// OK when the text is strict (protobuf's parser may still refuse it).
absl::Status CheckStrictJson(absl::string_view json,
                             const google::protobuf::Descriptor* message);

}  // namespace provledger

#endif  // PROVLEDGER_TOOLS_SERVICE_STRICT_JSON_H_
