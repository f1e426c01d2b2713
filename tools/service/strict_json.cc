#include "tools/service/strict_json.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"

namespace provledger {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// The file a message's field names are written in, for messages:
// "events.proto".
std::string FileOf(const Descriptor* message) {
  absl::string_view name = message->file()->name();
  const size_t slash = name.rfind('/');
  return std::string(slash == absl::string_view::npos ? name
                                                      : name.substr(slash + 1));
}

// nlohmann's reason for a syntax error ("syntax error while parsing value -
// invalid string: forbidden character after backslash; last read: ..."),
// in our words.
std::string SyntaxReason(absl::string_view what) {
  const size_t dash = what.find(" - ");
  if (dash != absl::string_view::npos) what = what.substr(dash + 3);
  const size_t last = what.find("; last read");
  if (last != absl::string_view::npos) what = what.substr(0, last);
  if (absl::StartsWith(what, "invalid string: forbidden character after backslash")) {
    return "a backslash starts an escape JSON does not have (write \\\\ for "
           "a backslash, \\\" for a quote)";
  }
  if (absl::StartsWith(what, "invalid string: control character")) {
    return "a control character inside a string must be escaped (write \\t "
           "for a tab)";
  }
  if (absl::StartsWith(what, "invalid string: ill-formed UTF-8")) {
    return "the text is not UTF-8";
  }
  if (absl::StartsWith(what, "invalid string: '\\u'")) {
    return "\\u must be followed by 4 hexadecimal digits";
  }
  if (absl::StartsWith(what, "invalid string: surrogate")) {
    return "a \\u escape names half of a character (an unpaired surrogate)";
  }
  if (absl::StartsWith(what, "invalid number")) {
    return "this is not a JSON number (no leading zeros, no '+', digits "
           "after a point)";
  }
  if (absl::StartsWith(what, "unexpected end of input")) {
    return "the line ends too early";
  }
  if (absl::StrContains(what, "expected end of input")) {
    return "there is more after the end of the object";
  }
  return std::string(what);
}

// Walks the parser's events, keeping one frame per open object or list.
class Checker : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit Checker(const Descriptor* root) : root_(root) {}

  const absl::Status& status() const { return status_; }

  bool null() override { return Scalar(/*is_null=*/true); }
  bool boolean(bool) override { return Scalar(false); }
  bool number_integer(number_integer_t) override { return Scalar(false); }
  bool number_unsigned(number_unsigned_t) override { return Scalar(false); }
  bool number_float(number_float_t, const string_t&) override {
    return Scalar(false);
  }
  bool string(string_t&) override { return Scalar(false); }
  bool binary(binary_t&) override { return Scalar(false); }

  bool start_object(std::size_t) override {
    Frame frame;
    if (stack_.empty()) {
      frame.message = root_;
    } else {
      const Frame& parent = stack_.back();
      const FieldDescriptor* f = parent.list != nullptr ? parent.list : pending_;
      if (parent.list == nullptr && !ListOk(/*is_list=*/false, false)) {
        return false;
      }
      frame.path = parent.list != nullptr ? parent.path : pending_path_;
      if (f != nullptr && !f->is_map() &&
          f->type() == FieldDescriptor::TYPE_MESSAGE &&
          !absl::StartsWith(f->message_type()->full_name(), "google.protobuf.")) {
        frame.message = f->message_type();
      }
    }
    stack_.push_back(std::move(frame));
    pending_ = nullptr;
    return true;
  }

  bool key(string_t& k) override {
    Frame& frame = stack_.back();
    std::string name = frame.path.empty() ? k : absl::StrCat(frame.path, ".", k);
    if (!frame.keys.insert(k).second) {
      return Fail(absl::StrCat(name, ": is given twice (give each field once)"));
    }
    pending_ = nullptr;
    pending_path_ = name;
    if (frame.message == nullptr) return true;
    pending_ = frame.message->FindFieldByName(k);
    if (pending_ != nullptr) return true;
    for (int i = 0; i < frame.message->field_count(); ++i) {
      const FieldDescriptor* f = frame.message->field(i);
      if (f->json_name() == k) {
        return Fail(absl::StrCat(
            name, ": write it as ",
            frame.path.empty() ? f->name() : absl::StrCat(frame.path, ".", f->name()),
            " (field names are as in ", FileOf(frame.message), ", snake_case)"));
      }
    }
    return true;  // not a field: the protobuf parser names it
  }

  bool end_object() override {
    stack_.pop_back();
    pending_ = nullptr;
    return true;
  }

  bool start_array(std::size_t) override {
    Frame frame;
    if (!stack_.empty()) {
      const Frame& parent = stack_.back();
      if (parent.list == nullptr) {
        if (!ListOk(/*is_list=*/true, false)) return false;
        frame.path = pending_path_;
        // A list frame of an unknown or opaque field has no element type.
        if (pending_ != nullptr && pending_->is_repeated()) frame.list = pending_;
      } else {
        frame.path = parent.path;
      }
    }
    frame.is_list = true;
    stack_.push_back(std::move(frame));
    pending_ = nullptr;
    return true;
  }

  bool end_array() override {
    stack_.pop_back();
    pending_ = nullptr;
    return true;
  }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    status_ = absl::InvalidArgumentError(absl::StrCat(
        "not valid JSON at column ", position, ": ", SyntaxReason(ex.what())));
    return false;
  }

 private:
  struct Frame {
    const Descriptor* message = nullptr;  // null: not one of ours
    const FieldDescriptor* list = nullptr;  // the repeated field, in a list
    bool is_list = false;
    std::string path;
    absl::flat_hash_set<std::string> keys;
  };

  bool Scalar(bool is_null) {
    if (stack_.empty() || stack_.back().is_list) return true;
    return ListOk(/*is_list=*/false, is_null);
  }

  // A value for the pending field of an object: a list field takes a list.
  bool ListOk(bool is_list, bool is_null) {
    if (is_list || is_null || pending_ == nullptr || !pending_->is_repeated() ||
        pending_->is_map()) {
      return true;
    }
    return Fail(absl::StrCat(pending_path_,
                             ": is a list; write its values in [ ], even one"));
  }

  bool Fail(std::string message) {
    status_ = absl::InvalidArgumentError(std::move(message));
    return false;
  }

  const Descriptor* root_;
  std::vector<Frame> stack_;
  const FieldDescriptor* pending_ = nullptr;
  std::string pending_path_;
  absl::Status status_;
};

}  // namespace

absl::Status CheckStrictJson(absl::string_view json, const Descriptor* message) {
  Checker checker(message);
  nlohmann::json::sax_parse(json.begin(), json.end(), &checker,
                            nlohmann::json::input_format_t::json,
                            /*strict=*/true, /*ignore_comments=*/false);
  return checker.status();
}

}  // namespace provledger
