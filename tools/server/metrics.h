// provledgerd's Prometheus metrics: counts and durations only, never an
// NPI, a token or an identity in a label.
#ifndef PROVLEDGER_TOOLS_SERVER_METRICS_H_
#define PROVLEDGER_TOOLS_SERVER_METRICS_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ledger/ledger.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace provledger::server {

class Metrics {
 public:
  Metrics();
  ~Metrics();

  // provledger_commit_group_size, provledger_commit_duration_seconds,
  // provledger_head_seq (pass to LedgerOptions::on_commit).
  void OnCommit(const CommitStats& stats);
  // provledger_append_batches_total{code}; provledger_append_events_total
  // counts the events written.
  void OnAppend(absl::StatusCode code, uint64_t events_written);
  // provledger_query_duration_seconds{method}.
  void OnQuery(const std::string& method, absl::Duration took);
  // provledger_subscribers.
  void SubscriberAdded();
  void SubscriberRemoved();
  void SetHead(uint64_t seq);
  // provledger_scrub_runs_total, provledger_scrub_failures_total,
  // provledger_scrub_ok (1 while the last scrub found nothing),
  // provledger_scrub_last_finished_seconds (Unix time),
  // provledger_scrub_duration_seconds (the last one's).
  void OnScrub(uint64_t runs, uint64_t failures, bool ok, absl::Time finished,
               absl::Duration took);

  const std::shared_ptr<prometheus::Registry>& registry() const {
    return registry_;
  }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter* append_events_;
  prometheus::Family<prometheus::Counter>* append_batches_;
  prometheus::Histogram* group_size_;
  prometheus::Histogram* commit_duration_;
  prometheus::Family<prometheus::Histogram>* query_duration_;
  prometheus::Gauge* subscribers_;
  prometheus::Gauge* head_seq_;
  prometheus::Gauge* scrub_runs_;
  prometheus::Gauge* scrub_failures_;
  prometheus::Gauge* scrub_ok_;
  prometheus::Gauge* scrub_finished_;
  prometheus::Gauge* scrub_duration_;
  std::mutex head_mu_;
  uint64_t head_ = 0;  // guarded by head_mu_
};

}  // namespace provledger::server

#endif  // PROVLEDGER_TOOLS_SERVER_METRICS_H_
