#include "tools/server/metrics.h"

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace provledger::server {
namespace {

// Seconds: 50 µs to 10 s.
const prometheus::Histogram::BucketBoundaries& DurationBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,   10};
  return *buckets;
}

}  // namespace

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  append_events_ = &prometheus::BuildCounter()
                        .Name("provledger_append_events_total")
                        .Help("Events written by Append (duplicates not "
                              "counted)")
                        .Register(*registry_)
                        .Add({});
  append_batches_ = &prometheus::BuildCounter()
                         .Name("provledger_append_batches_total")
                         .Help("Append calls, by result code")
                         .Register(*registry_);
  group_size_ =
      &prometheus::BuildHistogram()
           .Name("provledger_commit_group_size")
           .Help("Append calls committed together with one write and fsync")
           .Register(*registry_)
           .Add({}, prometheus::Histogram::BucketBoundaries{
                        1, 2, 4, 8, 16, 32, 64, 128, 256});
  commit_duration_ =
      &prometheus::BuildHistogram()
           .Name("provledger_commit_duration_seconds")
           .Help("From judging a commit group to its being durable")
           .Register(*registry_)
           .Add({}, DurationBuckets());
  query_duration_ = &prometheus::BuildHistogram()
                         .Name("provledger_query_duration_seconds")
                         .Help("Time to answer a read call, by method")
                         .Register(*registry_);
  subscribers_ = &prometheus::BuildGauge()
                      .Name("provledger_subscribers")
                      .Help("Live Subscribe calls")
                      .Register(*registry_)
                      .Add({});
  head_seq_ = &prometheus::BuildGauge()
                   .Name("provledger_head_seq")
                   .Help("The seq of the last durable event")
                   .Register(*registry_)
                   .Add({});
  auto gauge = [&](const char* name, const char* help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(*registry_).Add({});
  };
  // (Gauges set from the scrubber's own counts: one source of truth.)
  scrub_runs_ = gauge("provledger_scrub_runs_total",
                      "Background scrubs finished");
  scrub_failures_ = gauge("provledger_scrub_failures_total",
                          "Background scrubs that found damage");
  scrub_ok_ = gauge("provledger_scrub_ok",
                    "1 while the last background scrub found nothing "
                    "(or none has run yet), 0 after one found damage");
  scrub_ok_->Set(1);
  scrub_finished_ = gauge("provledger_scrub_last_finished_seconds",
                          "When the last background scrub finished (Unix "
                          "time; 0 before the first)");
  scrub_duration_ = gauge("provledger_scrub_duration_seconds",
                          "How long the last background scrub took");
}

void Metrics::OnScrub(uint64_t runs, uint64_t failures, bool ok,
                      absl::Time finished, absl::Duration took) {
  scrub_runs_->Set(static_cast<double>(runs));
  scrub_failures_->Set(static_cast<double>(failures));
  scrub_ok_->Set(ok ? 1 : 0);
  scrub_finished_->Set(absl::ToDoubleSeconds(finished - absl::UnixEpoch()));
  scrub_duration_->Set(absl::ToDoubleSeconds(took));
}

Metrics::~Metrics() = default;

void Metrics::OnCommit(const CommitStats& stats) {
  group_size_->Observe(static_cast<double>(stats.batches));
  commit_duration_->Observe(absl::ToDoubleSeconds(stats.duration));
  if (stats.head_seq > 0) SetHead(stats.head_seq);
}

void Metrics::OnAppend(absl::StatusCode code, uint64_t events_written) {
  // Family::Add returns the existing series for known labels (thread-safe).
  append_batches_->Add({{"code", absl::StatusCodeToString(code)}}).Increment();
  append_events_->Increment(static_cast<double>(events_written));
}

void Metrics::OnQuery(const std::string& method, absl::Duration took) {
  query_duration_->Add({{"method", method}}, DurationBuckets())
      .Observe(absl::ToDoubleSeconds(took));
}

void Metrics::SubscriberAdded() { subscribers_->Increment(); }
void Metrics::SubscriberRemoved() { subscribers_->Decrement(); }
void Metrics::SetHead(uint64_t seq) {
  // Groups may report out of order: the gauge only moves forward.
  std::lock_guard lock(head_mu_);
  if (seq <= head_) return;
  head_ = seq;
  head_seq_->Set(static_cast<double>(seq));
}

}  // namespace provledger::server
