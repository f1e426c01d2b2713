#include "tools/service/event_json.h"

#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "tools/service/strict_json.h"

namespace provledger {
namespace {

// What a JSON value of protobuf's type `type` must look like, for people.
std::string Expected(absl::string_view type) {
  if (type == "TYPE_UINT64" || type == "TYPE_UINT32") {
    return "a whole number of 0 or more";
  }
  if (type == "TYPE_INT64" || type == "TYPE_INT32") return "a whole number";
  if (type == "TYPE_STRING") return "a string in double quotes";
  if (type == "TYPE_BOOL") return "true or false";
  // An enum: "type.googleapis.com/provledger.v1.Enrolled.Entity".
  absl::string_view name = type;
  absl::ConsumePrefix(&name, "type.googleapis.com/");
  const google::protobuf::EnumDescriptor* e =
      google::protobuf::DescriptorPool::generated_pool()->FindEnumTypeByName(
          std::string(name));
  if (e == nullptr) return absl::StrCat("of type ", type);
  std::vector<std::string> values;
  for (int i = 0; i < e->value_count(); ++i) {
    if (e->value(i)->number() != 0) values.push_back(e->value(i)->name());
  }
  return absl::StrCat("one of ", absl::StrJoin(values, ", "));
}

// A syntax error's reason, in our words.
std::string SyntaxReason(absl::string_view reason) {
  if (reason == "Closing quote expected in string.") {
    return "a string is missing its closing quote";
  }
  if (reason == "Expected , or } after key:value pair.") {
    return "expected ',' or '}' after a value";
  }
  if (reason == "Expected , or ] after array value.") {
    return "expected ',' or ']' after a list item";
  }
  if (reason == "Expected : between key:value pair.") {
    return "expected ':' after a field name";
  }
  if (reason == "Unexpected token.") return "this is not JSON here";
  if (reason == "Unexpected end of string.") return "the line ends too early";
  if (reason == "Encountered non UTF-8 code points.") {
    return "the text is not UTF-8";
  }
  std::string r(absl::StripSuffix(reason, "."));
  if (!r.empty()) r[0] = absl::ascii_tolower(static_cast<unsigned char>(r[0]));
  return r;
}

}  // namespace

std::string DescribeJsonError(absl::string_view line, absl::string_view error) {
  std::vector<absl::string_view> parts = absl::StrSplit(error, '\n');
  const absl::string_view first = parts[0];
  // Syntax: "<reason>\n<snippet of the line>\n<spaces>^".
  if (parts.size() >= 3) {
    const size_t caret = parts[2].find('^');
    const size_t at = line.find(parts[1]);
    std::string where;
    if (caret != absl::string_view::npos && at != absl::string_view::npos) {
      where = absl::StrCat(" at column ", at + caret + 1);
    }
    return absl::StrCat("not valid JSON", where, ": ", SyntaxReason(first));
  }
  // "[(<path>) ]<field>: Cannot find field."
  constexpr absl::string_view kUnknown = ": Cannot find field.";
  if (absl::EndsWith(first, kUnknown)) {
    absl::string_view path, field = first.substr(0, first.size() - kUnknown.size());
    const size_t close = field.find(") ");
    if (absl::StartsWith(field, "(") && close != absl::string_view::npos) {
      path = field.substr(1, close - 1);
      field = field.substr(close + 2);
    }
    {
      return absl::StrCat(path.empty() ? "" : absl::StrCat(path, "."), field,
                          ": is not a field of ",
                          path.empty() ? std::string("an event")
                                       : absl::StrCat("'", path, "'"),
                          " (field names are as in events.proto, snake_case)");
    }
  }
  // "(<path>): invalid value <value> for type <type>"
  if (absl::StartsWith(first, "(")) {
    const size_t close = first.find("): invalid value ");
    const size_t type = first.rfind(" for type ");
    if (close != absl::string_view::npos && type != absl::string_view::npos &&
        type > close) {
      absl::string_view path = first.substr(1, close - 1);
      const size_t value_at = close + strlen("): invalid value ");
      absl::string_view value = first.substr(value_at, type - value_at);
      return absl::StrCat(path, ": ", value, " is not ",
                          Expected(first.substr(type + strlen(" for type "))));
    }
  }
  if (absl::StrContains(first, "oneof field 'body' is already set")) {
    return "body: an event has exactly one body (enrolled, reassigned, ...), "
           "and this line has two";
  }
  return absl::StrCat("not a valid event: ", first);
}

absl::StatusOr<v1::Event> ParseEventJson(absl::string_view line) {
  v1::Event event;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      std::string(line), &event, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(DescribeJsonError(
        line, absl::string_view(status.message().data(),
                                status.message().size())));
  }
  // What protobuf let through (escapes it drops, a key given twice, a
  // camelCase alias, one value for a list) is refused here, after it, so
  // its messages stay the ones people see for what it refuses.
  if (absl::Status strict = CheckStrictJson(line, v1::Event::descriptor());
      !strict.ok()) {
    return strict;
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
