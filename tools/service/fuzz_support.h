// For the fuzz targets only (the *_fuzz.cc files, built with
// -DPROVLEDGER_FUZZ=ON): a ledger holding the bundled demo events, made
// once per process in a temporary folder that is removed at exit, and a
// check that stops the fuzzer on a broken property.
#ifndef PROVLEDGER_TOOLS_SERVICE_FUZZ_SUPPORT_H_
#define PROVLEDGER_TOOLS_SERVICE_FUZZ_SUPPORT_H_

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/string_view.h"
#include "ledger/ledger.h"
#include "tools/service/service.h"

namespace provledger {

extern const char kDemoEventsJsonl[];  // tools/demo_data.cc, from CMake

namespace fuzz {

// Aborts (a finding) with `what` when `ok` is false.
inline void Check(bool ok, absl::string_view what) {
  if (ok) return;
  std::fprintf(stderr, "property broken: %.*s\n", static_cast<int>(what.size()),
               what.data());
  std::abort();
}

// A fresh, empty ledger in its own temporary folder (removed at exit).
inline std::unique_ptr<Ledger> NewLedger() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "provledger-fuzz-XXXXXX").string();
  Check(mkdtemp(pattern.data()) != nullptr, "mkdtemp");
  static std::vector<std::string>* folders = [] {
    auto* f = new std::vector<std::string>;
    std::atexit([] {
      for (const auto& dir : *folders) std::filesystem::remove_all(dir);
    });
    return f;
  }();
  folders->push_back(pattern);
  LedgerOptions options;
  options.create_if_missing = true;
  auto ledger = Ledger::Open(options, pattern + "/ledger");
  Check(ledger.ok(), "open a ledger");
  return std::move(*ledger);
}

// The demo ledger, made on first use.
inline Ledger& DemoLedger() {
  static Ledger* ledger = [] {
    std::unique_ptr<Ledger> l = NewLedger();
    std::istringstream in(kDemoEventsJsonl);
    service::EventLines lines;
    size_t line_no = 0;
    uint64_t bytes = 0;
    Check(service::ReadEventLines(in, 0, &line_no, &bytes, &lines).ok(), "demo events");
    Check(l->Append(lines.events).ok(), "append the demo events");
    return l.release();
  }();
  return *ledger;
}

}  // namespace fuzz
}  // namespace provledger

#endif  // PROVLEDGER_TOOLS_SERVICE_FUZZ_SUPPORT_H_
