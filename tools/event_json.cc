#include "tools/event_json.h"

#include "google/protobuf/util/json_util.h"

namespace provledger {

absl::StatusOr<v1::Event> ParseEventJson(absl::string_view line) {
  v1::Event event;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      std::string(line), &event, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        std::string(status.message().data(), status.message().size()));
  }
  return event;
}

std::string EventToJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

}  // namespace provledger
