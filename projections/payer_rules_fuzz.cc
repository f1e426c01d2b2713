// Fuzz target: a payer rules file. Never crashes; a refusal names the line.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/match.h"
#include "projections/payer_rules.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto rules = provledger::PayerRules::Parse(text, "rules.csv");
  if (!rules.ok() &&
      (rules.status().code() != absl::StatusCode::kInvalidArgument ||
       !absl::StartsWith(rules.status().message(), "rules.csv line "))) {
    std::fprintf(stderr, "property broken: a refusal names its line: %s\n",
                 std::string(rules.status().message()).c_str());
    std::abort();
  }
  return 0;
}
