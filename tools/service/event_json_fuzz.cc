// Fuzz target: one event JSON line. Never crashes; an event that parses
// and validates prints as JSON that parses back to the same event.
#include <cstddef>
#include <cstdint>
#include <string>

#include "google/protobuf/util/message_differencer.h"
#include "ledger/validation.h"
#include "tools/service/event_json.h"
#include "tools/service/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace provledger;
  const absl::string_view line(reinterpret_cast<const char*>(data), size);
  auto event = ParseEventJson(line);
  if (!event.ok()) {
    fuzz::Check(event.status().code() == absl::StatusCode::kInvalidArgument,
                "a refused line is InvalidArgument");
    fuzz::Check(!event.status().message().empty(), "a refusal says why");
    return 0;
  }
  if (!ValidateEvent(*event).ok()) return 0;
  const std::string printed = EventToJson(*event);
  auto again = ParseEventJson(printed);
  fuzz::Check(again.ok(), "a printed event parses");
  fuzz::Check(google::protobuf::util::MessageDifferencer::Equals(*event, *again),
              "a printed event parses back to itself");
  return 0;
}
