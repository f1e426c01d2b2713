// The server's background scrub: the whole ledger verified (hash chain,
// the log's indexes, projections against a replay) again and again at a
// set pace, on one thread, with the last result kept for the health
// service and the metrics.
#ifndef PROVLEDGER_TOOLS_SERVER_SCRUB_H_
#define PROVLEDGER_TOOLS_SERVER_SCRUB_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "ledger/ledger.h"

namespace provledger::server {

struct ScrubResult {
  uint64_t runs = 0;      // scrubs finished
  uint64_t failures = 0;  // of which found damage (or could not finish)
  bool ok = true;         // the last one found nothing (true before any)
  std::string problem;    // what the last failed one found
  uint64_t head_seq = 0;  // the head the last one covered
  absl::Time finished;    // when the last one ended
  absl::Duration took;    // how long it took
};

class Scrubber {
 public:
  // `on_result` is called (on the scrub thread) after each scrub.
  Scrubber(const Ledger* ledger,
           std::function<void(const ScrubResult&)> on_result);
  // Stop()s.
  ~Scrubber();

  // Cancels a scrub in progress (it ends within a few thousand events,
  // uncounted) and stops the thread. Later RunOnce calls do nothing.
  void Stop();

  // Scrubs every `interval`, the first one `interval` after this call.
  // REQUIRES: interval > 0; called at most once.
  void Start(absl::Duration interval);

  // One scrub, now, on the caller's thread: what the thread runs. After
  // Stop(), the last result, unchanged (on_result not called).
  ScrubResult RunOnce();

  ScrubResult last() const;

 private:
  const Ledger* const ledger_;
  const std::function<void(const ScrubResult&)> on_result_;
  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by mu_
  std::atomic<bool> cancel_{false};
  ScrubResult last_;       // guarded by mu_
  std::thread thread_;
};

}  // namespace provledger::server

#endif  // PROVLEDGER_TOOLS_SERVER_SCRUB_H_
