// What the benchmark's parts share: timing, percentiles, the figures, and
// the raw RocksDB baseline of synced one-key writes from many threads.
#ifndef PROVLEDGER_TOOLS_BENCH_BENCH_H_
#define PROVLEDGER_TOOLS_BENCH_BENCH_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace rocksdb {
class DB;
}

namespace provledger {

class Generator;
class Ledger;

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The p-th percentile (0..1) of `v`; 0 if empty.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * v.size()));
  return v[i];
}

// The figures of a run, printed on stderr as they are measured.
struct Result {
  std::vector<std::pair<std::string, double>> figures;
  void Add(const std::string& name, double value) {
    figures.emplace_back(name, value);
    std::fprintf(stderr, "  %-40s %14.3f\n", name.c_str(), value);
  }
};

// Runs body(t) on `threads` threads from a common start (thread creation
// not counted); returns the seconds until the last one is done.
double RunThreads(int threads, const std::function<void(int)>& body);

// The raw baseline: `threads` threads each doing synced one-key Puts of
// `value_size` bytes, keys [first, last) of its own, into `db` (RocksDB's
// own write grouping); appends each write's microseconds to *us and
// returns the seconds taken.
double RawSyncedPuts(rocksdb::DB* db, int threads, uint64_t first,
                     uint64_t last, size_t value_size, std::vector<double>* us);

// provledger-bench --server: a provledgerd (the binary `provledgerd`) on
// loopback over the ledger at `db_dir`, measured against same-run
// in-process baselines; scratch files go in `work_dir`. With
// `appends_only`, only the appends and the live lag (to profile them).
void ServerBench(const std::string& provledgerd, const std::string& db_dir,
                 const std::string& work_dir, const Generator& gen, bool quick,
                 size_t timeline_cache_mb, bool appends_only, Result* res);

// A generated 837P file of `lines` claim lines checked against `ledger`
// (QueryService::CheckClaimsFile), beside the same lines' claim checks
// called in-process: claims_file_lines_per_s and claims_file_ratio.
void ClaimsFileBench(const Ledger& ledger, const Generator& gen, int32_t day,
                     const std::string& work_dir, uint64_t lines,
                     uint64_t seed, Result* res);

// A generated NPPES data file of `rows` rows (330 quoted columns) loaded
// into a fresh ledger in `work_dir` by the `provledger` binary at
// `provledger`, in its own process, then loaded again (adds nothing).
void NppesBench(const std::string& provledger, const std::string& work_dir,
                uint64_t rows, Result* res);

}  // namespace provledger

#endif  // PROVLEDGER_TOOLS_BENCH_BENCH_H_
