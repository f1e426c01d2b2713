// Child process of crash_test: appends batches of 10 events with fsync
// forever, printing "ACK <batch>" after each Append returns, until killed.
// Usage: crash_writer DB_DIR FIRST_BATCH
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "ledger/ledger.h"
#include "ledger/testing.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: crash_writer DB_DIR FIRST_BATCH\n");
    return 2;
  }
  provledger::LedgerOptions options;
  options.create_if_missing = true;
  auto ledger = provledger::Ledger::Open(options, argv[1]);
  if (!ledger.ok()) {
    std::fprintf(stderr, "open: %s\n", ledger.status().ToString().c_str());
    return 1;
  }
  const char* npis[] = {provledger::testing::kDrA, provledger::testing::kDrB,
                        provledger::testing::kDrC};
  for (long batch = std::atol(argv[2]);; ++batch) {
    std::vector<provledger::v1::Event> events;
    for (int i = 0; i < 10; ++i) {
      events.push_back(provledger::testing::Credentialed(
          absl::StrCat("b", batch, "-", i), "2024-01-01", npis[i % 3]));
    }
    auto r = (*ledger)->Append(events);  // sync by default
    if (!r.ok()) {
      std::fprintf(stderr, "append: %s\n", r.status().ToString().c_str());
      return 1;
    }
    std::printf("ACK %ld\n", batch);
    std::fflush(stdout);
  }
}
