#include "tools/server/scrub.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tools/service/service.h"

namespace provledger::server {

Scrubber::Scrubber(const Ledger* ledger,
                   std::function<void(const ScrubResult&)> on_result)
    : ledger_(ledger), on_result_(std::move(on_result)) {}

Scrubber::~Scrubber() { Stop(); }

void Scrubber::Stop() {
  cancel_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scrubber::Start(absl::Duration interval) {
  thread_ = std::thread([this, interval] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_cv_.wait_for(lock, absl::ToChronoNanoseconds(interval),
                              [this] { return stopping_; })) {
      lock.unlock();
      RunOnce();
      lock.lock();
    }
  });
}

ScrubResult Scrubber::RunOnce() {
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::VerifyResponse> verified =
      service::Verify(*ledger_, v1::VerifyRequest(), &cancel_);
  ScrubResult result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    result = last_;
  }
  if (absl::IsCancelled(verified.status())) return result;
  ++result.runs;
  result.finished = absl::Now();
  result.took = result.finished - start;
  if (!verified.ok()) {
    result.ok = false;
    result.problem = absl::StrCat("the scrub could not finish: ",
                                  verified.status().message());
  } else if (verified->failure() != v1::VerifyResponse::NONE) {
    result.ok = false;
    result.problem = verified->problem();
  } else {
    result.ok = true;
    result.problem.clear();
  }
  if (!result.ok) ++result.failures;
  if (verified.ok()) {
    const std::string& head = verified->head();
    if (!absl::SimpleAtoi(head.substr(0, head.find(':')), &result.head_seq)) {
      result.head_seq = 0;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_ = result;
  }
  if (on_result_) on_result_(result);
  return result;
}

ScrubResult Scrubber::last() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

}  // namespace provledger::server
