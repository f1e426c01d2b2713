#include "projections/payer_rules.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ledger/validation.h"

namespace provledger {

absl::StatusOr<PayerRules> PayerRules::Parse(absl::string_view text,
                                             absl::string_view name) {
  PayerRules rules;
  int line_no = 0;
  bool header_seen = false;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_no;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    for (auto& f : fields) f = std::string(absl::StripAsciiWhitespace(f));
    auto error = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " line ", line_no, ": ", why));
    };
    if (!header_seen) {
      if (fields != std::vector<std::string>{"payer", "min_group_providers"}) {
        return error("the header must be 'payer,min_group_providers'");
      }
      header_seen = true;
      continue;
    }
    if (fields.size() != 2) return error("expected 2 fields");
    if (!IsValidPayer(fields[0])) {
      return error(absl::StrCat("'", fields[0], "' is not a payer name"));
    }
    int minimum = 0;
    if (!absl::SimpleAtoi(fields[1], &minimum) || minimum < 1) {
      return error(absl::StrCat("min_group_providers '", fields[1],
                                "' is not a whole number >= 1"));
    }
    if (!rules.min_group_providers.emplace(CanonicalPayer(fields[0]), minimum)
             .second) {
      return error(absl::StrCat("payer '", fields[0],
                                "' is listed twice (payer ids are "
                                "case-insensitive)"));
    }
  }
  return rules;
}

std::optional<int> PayerRules::MinGroupProviders(absl::string_view payer) const {
  auto it = min_group_providers.find(CanonicalPayer(payer));
  if (it == min_group_providers.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<PayerRules> PayerRules::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read payer rules '", path, "'"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path);
}

}  // namespace provledger
