// Public API (see the README's Layout: what a front end may include).
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
  // The fewest providers a group contract must cover, by canonical payer
  // id (CanonicalPayer).
  std::map<std::string, int> min_group_providers;

  // The minimum for `payer`, in any spelling.
  std::optional<int> MinGroupProviders(absl::string_view payer) const;

  // Parses the CSV text; InvalidArgument "<name> line N: <why>" on error.
  static absl::StatusOr<PayerRules> Parse(absl::string_view text,
                                          absl::string_view name);
  // Reads and parses a file; NotFound if it does not exist.
  static absl::StatusOr<PayerRules> Load(const std::string& path);
};

}  // namespace provledger

#endif  // PROVLEDGER_PROJECTIONS_PAYER_RULES_H_
