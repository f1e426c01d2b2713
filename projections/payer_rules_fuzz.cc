// Fuzz target: a payer rules file. Never crashes; a refusal names the line.
#include <cstddef>
#include <cstdint>

#include "absl/strings/match.h"
#include "ledger/internal/fuzz_check.h"
#include "projections/payer_rules.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto rules = provledger::PayerRules::Parse(text, "rules.csv");
  if (!rules.ok()) {
    provledger::fuzz::Check(
        rules.status().code() == absl::StatusCode::kInvalidArgument &&
            absl::StartsWith(rules.status().message(), "rules.csv line "),
        "a refusal names its line");
  }
  return 0;
}
