// Raw access to a ledger's RocksDB database, for tests that tamper with the
// stored bytes and for the benchmark's baselines. Not part of the public
// API: nothing a front end calls.
#ifndef PROVLEDGER_LEDGER_INTERNAL_RAW_ACCESS_H_
#define PROVLEDGER_LEDGER_INTERNAL_RAW_ACCESS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "ledger/ledger.h"

namespace provledger {

class LedgerInternals {
 public:
  static rocksdb::DB* Db(const Ledger& ledger);
  static rocksdb::ColumnFamilyHandle* EventsCf(const Ledger& ledger);
  static rocksdb::ColumnFamilyHandle* TimelinesCf(const Ledger& ledger);
  static rocksdb::ColumnFamilyHandle* EventIdsCf(const Ledger& ledger);
  static rocksdb::ColumnFamilyHandle* StreamsCf(const Ledger& ledger);
  // Every key/value of the projection column families, in order, each key
  // prefixed with its family's name and '/'.
  static absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  DumpProjections(const Ledger& ledger);
  // Pins new views to the database as it is now, after writes made through
  // Db() (views pin the state each commit leaves).
  static void Repin(Ledger& ledger);

  // Holding commits: while held, the writer at the front of the queue
  // waits to commit, and Append calls queue up behind it (to test groups
  // deterministically).
  static void HoldCommits(Ledger& ledger);
  static void ReleaseCommits(Ledger& ledger);
  // Blocks until `n` Append calls are queued.
  static void AwaitQueuedAppends(Ledger& ledger, size_t n);
  // Write-ahead log fsyncs so far (needs LedgerOptions::collect_statistics;
  // 0 without).
  static uint64_t WalSyncs(const Ledger& ledger);
};

}  // namespace provledger

#endif  // PROVLEDGER_LEDGER_INTERNAL_RAW_ACCESS_H_
