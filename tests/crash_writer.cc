// Child process of crash_test: appends batches of 10 events with fsync
// forever from THREADS threads at once (group commit), printing
// "ACK <batch>" after each Append returns, until killed. Thread t appends
// batches FIRST_BATCH + t, + t + THREADS, ...
// Usage: crash_writer DB_DIR FIRST_BATCH [THREADS]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ledger/ledger.h"
#include "ledger/testing.h"

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: crash_writer DB_DIR FIRST_BATCH [THREADS]\n");
    return 2;
  }
  const long first = std::atol(argv[2]);
  const int threads = argc == 4 ? std::atoi(argv[3]) : 1;
  provledger::LedgerOptions options;
  options.create_if_missing = true;
  auto ledger = provledger::Ledger::Open(options, argv[1]);
  if (!ledger.ok()) {
    std::fprintf(stderr, "open: %s\n", ledger.status().ToString().c_str());
    return 1;
  }
  const char* npis[] = {provledger::testing::kDrA, provledger::testing::kDrB,
                        provledger::testing::kDrC};
  auto writer = [&](int t) {
    for (long batch = first + t;; batch += threads) {
      std::vector<provledger::v1::Event> events;
      for (int i = 0; i < 10; ++i) {
        events.push_back(provledger::testing::Credentialed(
            absl::StrCat("b", batch, "-", i), "2024-01-01", npis[i % 3]));
      }
      auto r = (*ledger)->Append(events);  // sync by default
      if (!r.ok()) {
        std::fprintf(stderr, "append: %s\n", r.status().ToString().c_str());
        std::exit(1);
      }
      // One write per line, so lines from several threads never mix.
      const std::string ack = absl::StrCat("ACK ", batch, "\n");
      std::fputs(ack.c_str(), stdout);
      std::fflush(stdout);
    }
  };
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t) running.emplace_back(writer, t);
  for (auto& th : running) th.join();
}
