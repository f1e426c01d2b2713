// The bundled demo: a small, realistic ledger of two groups and three
// clinicians (multi-group reassignment, a departure recorded late and
// backdated, a correction by void).
#ifndef PROVLEDGER_TOOLS_DEMO_H_
#define PROVLEDGER_TOOLS_DEMO_H_

#include <string>

#include "absl/status/statusor.h"
#include "ledger/ledger.h"

namespace provledger {

// tools/demo_events.jsonl, compiled in.
extern const char kDemoEventsJsonl[];

// Appends the demo events to `ledger` as one batch; returns how many were
// written.
absl::StatusOr<size_t> LoadDemoEvents(Ledger& ledger);

// Creates a ledger at `path`, loads the demo and prints a tour. Exit code.
int RunDemoIn(const std::string& path);

// `provledger demo`: RunDemoIn in a temporary directory.
int RunDemo(bool keep);

}  // namespace provledger

#endif  // PROVLEDGER_TOOLS_DEMO_H_
