// For the fuzz targets only (the *_fuzz.cc files, built with
// -DPROVLEDGER_FUZZ=ON): a ledger holding the bundled demo events, made
// once per process in a temporary folder that is removed at exit, and
// fuzz::Check (ledger/internal/fuzz_check.h).
#ifndef PROVLEDGER_TOOLS_SERVICE_FUZZ_SUPPORT_H_
#define PROVLEDGER_TOOLS_SERVICE_FUZZ_SUPPORT_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ledger/internal/fuzz_check.h"
#include "ledger/ledger.h"
#include "tools/demo.h"

namespace provledger::fuzz {

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

// The demo ledger (LoadDemoEvents, tools/demo.h), made on first use; only
// for targets linking provledger_demo_events.
inline Ledger& DemoLedger() {
  static Ledger* ledger = [] {
    std::unique_ptr<Ledger> l = NewLedger();
    Check(LoadDemoEvents(*l).ok(), "load the demo events");
    return l.release();
  }();
  return *ledger;
}

}  // namespace provledger::fuzz

#endif  // PROVLEDGER_TOOLS_SERVICE_FUZZ_SUPPORT_H_
