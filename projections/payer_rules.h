// Per-payer rules from a small CSV file, e.g.
//   payer,min_group_providers
//   cigna,4
//   optum,6
// Lines starting with '#' and blank lines are ignored.
#ifndef PROVLEDGER_PROJECTIONS_PAYER_RULES_H_
#define PROVLEDGER_PROJECTIONS_PAYER_RULES_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace provledger {

struct PayerRules {
  // The fewest providers a group contract must cover, by payer.
  std::map<std::string, int> min_group_providers;

  std::optional<int> MinGroupProviders(const std::string& payer) const {
    auto it = min_group_providers.find(payer);
    if (it == min_group_providers.end()) return std::nullopt;
    return it->second;
  }

  // Parses the CSV text; InvalidArgument "<name> line N: <why>" on error.
  static absl::StatusOr<PayerRules> Parse(absl::string_view text,
                                          absl::string_view name);
  // Reads and parses a file; NotFound if it does not exist.
  static absl::StatusOr<PayerRules> Load(const std::string& path);
};

}  // namespace provledger

#endif  // PROVLEDGER_PROJECTIONS_PAYER_RULES_H_
