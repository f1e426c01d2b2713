// Comparing the names people and payers write: legal business names and
// personal names as they appear on enrollment records, reassignment forms
// and payer rosters.
#ifndef PROVLEDGER_PROJECTIONS_NAMES_H_
#define PROVLEDGER_PROJECTIONS_NAMES_H_

#include <string>

#include "absl/strings/string_view.h"

namespace provledger {

// The form two names are compared in. Two names match iff their normalized
// forms are equal. The rule, applied to UTF-8 text with ICU:
//   - compatibility decomposition (NFKD), then combining marks dropped, so
//     accents do not count ("SANTÉ" == "SANTE" == "Santé"), as CMS files
//     often drop them;
//   - Unicode case folding ("ÉLODIE" == "élodie", "STRASSE" == "Straße");
//   - periods and apostrophes inside a name are dropped ("P.L.L.C." ==
//     "PLLC", "St. Mary's" == "ST MARYS");
//   - every other run of characters that are not letters or digits
//     (spaces, punctuation, symbols) becomes one space, none at either end
//     ("Riverbend Family Medicine, PLLC" == "RIVERBEND FAMILY MEDICINE PLLC").
// Invalid UTF-8 bytes count as separators. The result is for comparing,
// never for display: show names as they were written.
// Thread-safe.
std::string NormalizeName(absl::string_view name);

}  // namespace provledger

#endif  // PROVLEDGER_PROJECTIONS_NAMES_H_
