#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "ledger/internal/coding.h"
#include "rocksdb/db.h"
#include "tools/bench/bench.h"

namespace provledger {

double RunThreads(int threads, const std::function<void(int)>& body) {
  std::atomic<bool> go{false};
  std::atomic<int> ready{0};
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t) {
    running.emplace_back([&, t] {
      ++ready;
      while (!go.load()) std::this_thread::yield();
      body(t);
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  auto start = Clock::now();
  go = true;
  for (auto& th : running) th.join();
  return Seconds(Clock::now() - start);
}

double RawSyncedPuts(rocksdb::DB* db, int threads, uint64_t first,
                     uint64_t last, size_t value_size,
                     std::vector<double>* us) {
  std::mutex mu;
  const std::string value(std::max<size_t>(1, value_size), 'x');
  return RunThreads(threads, [&](int t) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    std::vector<double> mine;
    for (uint64_t i = first; i < last; ++i) {
      std::string key = EncodeSeq(static_cast<uint64_t>(t) << 32 | i);
      auto begin = Clock::now();
      if (!db->Put(wo, key, value).ok()) std::exit(1);
      mine.push_back(Seconds(Clock::now() - begin) * 1e6);
    }
    std::lock_guard<std::mutex> lock(mu);
    us->insert(us->end(), mine.begin(), mine.end());
  });
}

}  // namespace provledger
