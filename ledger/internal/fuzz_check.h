// For the fuzz targets only (the *_fuzz.cc files, built with
// -DPROVLEDGER_FUZZ=ON): a check that stops the fuzzer on a broken
// property, which libFuzzer reports as a finding with its input.
#ifndef PROVLEDGER_LEDGER_INTERNAL_FUZZ_CHECK_H_
#define PROVLEDGER_LEDGER_INTERNAL_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#include "absl/strings/string_view.h"

namespace provledger::fuzz {

// Aborts (a finding) with `what` when `ok` is false.
inline void Check(bool ok, absl::string_view what) {
  if (ok) return;
  std::fprintf(stderr, "property broken: %.*s\n", static_cast<int>(what.size()),
               what.data());
  std::abort();
}

}  // namespace provledger::fuzz

#endif  // PROVLEDGER_LEDGER_INTERNAL_FUZZ_CHECK_H_
