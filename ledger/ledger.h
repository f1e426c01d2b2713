// Public API (see the README's Layout: what a front end may include).
// The provledger log: an append-only, hash-chained sequence of events in
// RocksDB, with its projections kept in the same atomic writes.
//
// Storage (column families; see proto/README.md):
//   events      big-endian seq -> 32-byte chain hash || serialized Event
//   event_ids   event_id -> big-endian seq
//   streams     npi(10) || big-endian seq -> ""      (events touching an NPI)
//   timelines   relationship key -> storage.Timeline (projection)
//   indexes     by-organization / by-payer keys -> "" (projection)
//   default     meta (format and projection versions)
#ifndef PROVLEDGER_LEDGER_LEDGER_H_
#define PROVLEDGER_LEDGER_LEDGER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ledger/hash.h"
#include "provledger/v1/errors.pb.h"
#include "provledger/v1/events.pb.h"
#include "provledger/v1/storage.pb.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
struct ColumnFamilyDescriptor;
class Iterator;
class Cache;
class Snapshot;
class Status;
class WriteBatch;
}  // namespace rocksdb

namespace provledger {

class Projector;

// One commit group, as LedgerOptions::on_commit reports it.
struct CommitStats {
  size_t batches = 0;         // Append calls committed together
  size_t events_written = 0;  // new events (duplicates not counted)
  absl::Duration duration;    // from judging the first batch to durable
  uint64_t head_seq = 0;      // the head after the group
};

struct LedgerOptions {
  // Create the ledger if `path` holds none. Default: false.
  bool create_if_missing = false;
  // Fail if a ledger already exists at `path`. Default: false.
  bool error_if_exists = false;
  // Source of recorded_at. recorded_at never goes backwards: an append gets
  // max(clock(), previous recorded_at). Default: absl::Now.
  std::function<absl::Time()> clock;
  // RocksDB block cache size in MiB. Default: 256.
  size_t block_cache_mb = 256;
  // A cache of the timelines' compressed blocks, in MiB (0: none). Point-in-
  // time queries and claim checks read only timelines; this keeps them in
  // the process's memory, so such a query does not depend on the OS page
  // cache. Default: 0.
  size_t timeline_cache_mb = 0;
  // Open even if the projections are stale or a rebuild was interrupted;
  // only for running Rebuild(). Default: false.
  bool skip_projection_check = false;
  // Memory for the projections Rebuild() holds while replaying, in MiB. A
  // log whose projections need more is replayed in several passes, each
  // building a share of the relationships. Default: 512.
  size_t rebuild_memory_mb = 512;
  // Passes for Rebuild(); 0 chooses them from rebuild_memory_mb.
  uint32_t rebuild_passes = 0;
  // Open for reading only, beside any number of other readers and one
  // writer (another process holding the ledger): no lock is taken and
  // nothing is written into the ledger's directory, so a read-only copy or
  // mount works too. The ledger answers from the log as it stood when it
  // was opened. Append, Sync, Rebuild and CompactProjections then fail with
  // FailedPrecondition. Default: false.
  bool read_only = false;
  // Keep RocksDB's statistics (its tickers, such as write-ahead log syncs),
  // read by the benchmark and tests; a little overhead on every operation.
  // Default: false.
  bool collect_statistics = false;
  // Called by the thread that committed a group of appends, once the group
  // is durable (or has failed), for metrics. Must be quick and thread-safe.
  // Default: none.
  std::function<void(const CommitStats&)> on_commit;
};


// Optimistic concurrency on one NPI's stream.
struct ExpectedVersion {
  std::string npi;
  // The stream's version the writer last saw: the seq of the latest event
  // touching `npi`, 0 if none.
  uint64_t version = 0;
};

struct AppendOptions {
  // fsync the write-ahead log before Append returns. Default: true.
  bool sync = true;
  // If set, the batch is refused with Aborted unless the stream's version
  // equals the expected one. Default: unset.
  std::optional<ExpectedVersion> expected;
  // Keep the events' recorded_at as given (replaying a log into a new
  // ledger); they must not go backwards. Default: false.
  bool preserve_recorded_at = false;
  // The actor recorded on events that name none. Such an event that matches
  // a recorded one with its event_id in everything but the actor is a
  // duplicate (the recorded actor stays): the same file sent again by
  // another operator. Default: "" (recorded without an actor).
  std::string default_actor;
};

struct Head {
  uint64_t seq = 0;     // 0 for an empty ledger
  Hash hash = kZeroHash;
  absl::Time recorded_at = absl::InfinitePast();
};

struct AppendResult {
  // One per input event: its assigned seq, or the original seq of an
  // identical earlier event with the same event_id.
  std::vector<uint64_t> seqs;
  // Parallel to seqs: true where the event was a duplicate (nothing written).
  std::vector<bool> duplicate;
  // How many events were written.
  size_t written = 0;
  Head head;
};

// Payloads (empty) that front ends turn into hints naming their commands:
// the status is about a missing ledger, or one whose projections must be
// rebuilt from the log.
inline constexpr char kNoLedgerPayload[] = "provledger/no-ledger";
inline constexpr char kNeedsRebuildPayload[] = "provledger/needs-rebuild";

// Whether `status` says the disk holding the ledger is full
// (ResourceExhausted, with one sentence saying so and what to do).
bool IsDiskFull(const absl::Status& status);

// The structured details of an Append error (index of the event, field,
// stable code; see errors.proto), if it carries them.
std::optional<v1::EventError> EventErrorOf(const absl::Status& status);

// The index (0-based) of the batch event an Append error is about, if any.
std::optional<size_t> FailedEventIndex(const absl::Status& status);

// `s` carrying `error` as its structured details (what EventErrorOf reads).
absl::Status WithEventError(absl::Status s, const v1::EventError& error);

// `s` carrying the details of an error about batch event `index` (none:
// about the batch): its field is the message's leading "<field path>: ",
// if it has one, and its code follows from the status code.
absl::Status WithEventError(absl::Status s, std::optional<size_t> index);

// `s` (its code and payloads) with another message.
absl::Status WithMessage(const absl::Status& s, absl::string_view message);

// Iterates over stored events in seq order (leveldb style).
// Not thread-safe; the ledger must outlive it.
class EventIterator {
 public:
  virtual ~EventIterator() = default;
  virtual bool Valid() const = 0;
  virtual void Next() = 0;
  // The event, with seq, recorded_at, prev_hash and hash filled.
  // REQUIRES: Valid().
  virtual const v1::Event& event() const = 0;
  // The stored bytes the hash covers. REQUIRES: Valid().
  virtual absl::string_view stored_bytes() const = 0;
  // Non-OK if iteration stopped on an I/O error or a corrupt record.
  virtual absl::Status status() const = 0;
};

struct VerifyReport {
  Head head;
  uint64_t events_checked = 0;
  // The first seq whose stored record does not verify; 0 if none.
  uint64_t first_bad_seq = 0;
  std::string problem;
};

class Ledger;

namespace internal {
struct PinnedState;  // a head, its RocksDB snapshot and projection families
struct ProjectionFamilies;
}  // namespace internal

// An immutable view of the ledger pinned to one head: every read through it
// sees the log and the projections exactly as they stood when that head was
// committed, whatever is appended, compacted or rebuilt meanwhile. Cheap to
// take (no I/O, no RocksDB call) and safe to share between threads. Views
// must not outlive their ledger.
class LedgerView : public std::enable_shared_from_this<LedgerView> {
 public:
  LedgerView(const LedgerView&) = delete;
  LedgerView& operator=(const LedgerView&) = delete;
  ~LedgerView();

  // The head this view is pinned to.
  const Head& head() const;

  // Events from `from_seq` (>= 1) up to head().seq.
  std::unique_ptr<EventIterator> Read(uint64_t from_seq) const;

  // The event at `seq` (seq/recorded_at/hashes filled). NotFound if none.
  absl::StatusOr<v1::Event> Get(uint64_t seq) const;

  // The event at `seq` with seq, recorded_at and hash but no prev_hash: one
  // read instead of two. NotFound if none.
  absl::StatusOr<v1::Event> Lookup(uint64_t seq) const;

  // The seq of the event with this event_id, or nullopt.
  absl::StatusOr<std::optional<uint64_t>> FindEventId(
      absl::string_view event_id) const;

  // The version of an NPI's stream: the seq of the latest event touching it
  // (0 if none) as known at `known_seq`.
  absl::StatusOr<uint64_t> StreamVersion(absl::string_view npi,
                                         uint64_t known_seq = UINT64_MAX) const;

  // The seqs of the events touching `npi`, ascending.
  absl::StatusOr<std::vector<uint64_t>> StreamSeqs(absl::string_view npi) const;

  // The largest seq recorded at or before `t` (0 if none).
  absl::StatusOr<uint64_t> SeqAtTime(absl::Time t) const;

  // The stored timeline at `key`, or nullopt.
  absl::StatusOr<std::optional<storage::Timeline>> GetTimeline(
      absl::string_view key) const;
  // The stored timelines at `keys` (nullopt where none), read together:
  // cheaper than one GetTimeline per key, and keys that share a block read
  // it once.
  absl::StatusOr<std::vector<std::optional<storage::Timeline>>> GetTimelines(
      const std::vector<std::string>& keys) const;

  // Calls fn(key, timeline) for every stored timeline whose key starts with
  // `prefix`, in key order; stops early if fn returns false.
  absl::Status ScanTimelines(
      absl::string_view prefix,
      const std::function<bool(absl::string_view, const storage::Timeline&)>&
          fn) const;
  // The same for the keys `wanted` accepts; the others are not parsed.
  absl::Status ScanTimelines(
      absl::string_view prefix,
      const std::function<bool(absl::string_view)>& wanted,
      const std::function<bool(absl::string_view, const storage::Timeline&)>&
          fn) const;

  // Re-derives every timeline whose key leads with one of `npis` (their
  // enrollments, credentialing, associations, contracts, revalidations and
  // demographics, and the reassignments they give) from the events of
  // their streams, each event first re-hashed against the chain, and
  // compares them with the stored ones. OK if they agree; DataLoss naming
  // the first event or timeline that does not. What a claim check about
  // these NPIs rests on, checked in a few dozen reads: a tampered
  // projection cannot silently change its answer.
  absl::Status VerifyTimelinesOf(const std::vector<std::string>& npis) const;

  // Calls fn(key) for every index key starting with `prefix`.
  absl::Status ScanIndex(
      absl::string_view prefix,
      const std::function<bool(absl::string_view)>& fn) const;

 private:
  friend class Ledger;
  LedgerView(const Ledger* ledger,
             std::shared_ptr<const internal::PinnedState> state);
  absl::StatusOr<std::optional<v1::Event>> LoadStoredEvent(uint64_t seq) const;

  const Ledger* const ledger_;
  const std::shared_ptr<const internal::PinnedState> state_;
};

// Safe for concurrent use by any number of threads. Appends from many
// threads are committed in groups (one write and one fsync per group, each
// batch still atomic and judged against the batches queued before it);
// every read goes through a LedgerView, so one answer never mixes two
// states of the ledger.
class Ledger {
 public:
  // Opens (or with create_if_missing, creates) the ledger at `path`.
  // NotFound if there is none and create_if_missing is false;
  // FailedPrecondition if the projections were built by another version.
  static absl::StatusOr<std::unique_ptr<Ledger>> Open(
      const LedgerOptions& options, absl::string_view path);

  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;
  // REQUIRES: no LedgerView of this ledger is alive, no call is running.
  ~Ledger();

  // Appends `batch` atomically: every event is written, or none.
  // Each event is format-checked, de-duplicated by event_id, given a seq and
  // recorded_at, hash-chained, and its projections are updated in the same
  // WriteBatch. Every relationship timeline the batch touches must stay
  // coherent with the batch's events inserted at their effective dates (not
  // only at the tail) and its voids applied; so a complete backdated episode
  // (start and end) can be recorded in one batch.
  // Calls from several threads are queued and committed together: the
  // first in the queue judges each queued batch in order against the state
  // the ones before it leave, writes the accepted ones in one WriteBatch
  // and fsyncs once (if any of them asked for sync). A refused batch fails
  // alone. Append returns after its group is written (and synced).
  // Errors (nothing written; EventErrorOf gives the event's index, the
  // field and a stable code):
  //   InvalidArgument     "<field>: <reason>" (format, bad void target)
  //   AlreadyExists       "event_id: ..." same id, different content (the
  //                       message lists the differing fields)
  //   FailedPrecondition  "<body>: ..." incoherent timeline
  //   Aborted             "expected_version: ..." the stream moved on
  //                       (no index): read it again and retry. A batch
  //                       whose events are all recorded already (a
  //                       retry) returns their seqs, whatever the
  //                       expected version.
  //   Internal/DataLoss   storage failures
  absl::StatusOr<AppendResult> Append(const std::vector<v1::Event>& batch,
                                      const AppendOptions& options = {});

  // Append without waiting: the batch joins the same queue and group
  // commit, and `done` gets what Append would have returned, once, when
  // its group is written (and synced): on the thread that completed the
  // group (the ledger's completing thread, or a caller of Append leading
  // it), or at once on the calling thread if the ledger refuses appends.
  // `done` must be quick and must not wait for an append (it may queue
  // another AppendAsync). Batches are judged in the order they are
  // queued; the callbacks of the groups the ledger's threads
  // commit run in queue order, but those of a group an Append leads may
  // run at the same time on its thread.
  using AppendCallback = std::function<void(absl::StatusOr<AppendResult>)>;
  void AppendAsync(std::vector<v1::Event> batch, AppendOptions options,
                   AppendCallback done);

  // Makes every write so far durable (fsyncs the write-ahead log).
  absl::Status Sync();

  // Whether another process holds the ledger at `path` for writing (a
  // running import or server). A read-only Ledger opened beside it answers
  // from the log as it stood when it was opened.
  static bool HeldByAWriter(absl::string_view path);

  // A view pinned to the latest committed head.
  std::shared_ptr<const LedgerView> View() const;

  // The latest committed head.
  Head head() const;

  // Waits until the head is past `after_seq` or `deadline` passes, and
  // returns the head then (head().seq <= after_seq if the deadline passed).
  // For following the log without polling.
  Head WaitForHead(uint64_t after_seq, absl::Time deadline) const;

  // Every read goes through a view: ledger->View()->Get(seq), ...

  // Recomputes the hash chain from seq 1 to the head. Returns OK with
  // first_bad_seq == 0 when it verifies; OK with first_bad_seq set (and a
  // problem sentence) at the first record that does not. Non-OK only for
  // I/O errors, and Cancelled once `*cancel` is set (checked every few
  // thousand events).
  absl::StatusOr<VerifyReport> VerifyChain(
      const std::atomic<bool>* cancel = nullptr) const;

  // Checks the log's own indexes (every event's event_id and stream
  // entries, and no entry the log does not account for), then replays the
  // log up to the head of one view into fresh projections held
  // in memory and compares them with that view's stored ones; OK if
  // identical, DataLoss describing the first differing entry otherwise (a
  // difference may come from altered projections or from an altered log:
  // check the log against a saved digest before rebuilding). Appends may
  // run meanwhile. Cancelled once `*cancel` is set.
  absl::Status VerifyProjections(
      const std::atomic<bool>* cancel = nullptr) const;

  // Rewrites the projections into RocksDB's last level, dropping the
  // superseded versions that appends leave in the levels above (an append
  // rewrites its relationship's whole timeline): fewer, smaller blocks for
  // queries to read. Worth it after a bulk import. The log is untouched;
  // appends and queries go on meanwhile.
  absl::Status CompactProjections();

  // Reads every timeline block once, so queries find them in the caches
  // (with timeline_cache_mb large enough, all of them), as a query service
  // does when it starts. Returns the bytes of timeline data read.
  absl::StatusOr<uint64_t> WarmTimelines() const;

  // Bytes the timeline cache holds (0 without one).
  size_t timeline_cache_usage() const;

  // Writes a consistent copy of the whole ledger into the new directory
  // `dir` (which must not exist): a complete ledger, openable as it is,
  // holding exactly the returned head. Appends wait while the memtables are
  // flushed and the files linked (or copied, when `dir` is on another file
  // system); queries go on.
  absl::StatusOr<Head> Checkpoint(const std::string& dir);

  // Rebuilds every projection by replaying the log into memory (in passes,
  // see LedgerOptions::rebuild_memory_mb), writing the result as sorted
  // table files and loading them into fresh column families that replace
  // the old ones at once. `progress(done, total)` is called now and then
  // with events replayed over all passes. The event_ids and streams
  // indexes are repaired in place where they disagree with the log. Appends
  // wait meanwhile; queries go on, and views taken before the swap keep
  // reading the old projections. Everything is built beside the current
  // projections: a rebuild that fails (a damaged log, a full disk) leaves
  // the ledger as it was.
  absl::Status Rebuild(
      const std::function<void(uint64_t, uint64_t)>& progress = nullptr);

 private:
  friend class LedgerView;
  friend class LedgerInternals;  // ledger/internal/raw_access.h
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  DumpProjections() const;
  class BatchSource;
  class ReplaySource;
  class IteratorImpl;
  struct Writer;
  struct GroupOverlay;
  struct StoredIds;

  Ledger() = default;
  absl::Status LoadHead(Head* head);
  // The state new views pin.
  std::shared_ptr<const internal::PinnedState> Current() const;
  // The state of the database as the last write left it, to be published
  // (REQUIRES: write_mu_ held).
  std::shared_ptr<const internal::PinnedState> Written() const;
  // Makes `state` the one new views pin, unless a later one is (or, with
  // `force`, whatever is).
  void Publish(std::shared_ptr<const internal::PinnedState> state,
               bool force = false);
  // Whether the record of `seq` verifies against the one before it
  // (SHA-256(prev hash || stored bytes) is its stored hash), as of
  // `snapshot`; if so, `bytes` (if given) gets the stored bytes. DataLoss
  // if either cannot be read.
  absl::StatusOr<bool> LinkVerifies(uint64_t seq,
                                    const rocksdb::Snapshot* snapshot,
                                    std::string* bytes) const;
  // Why the log's last event does not verify against the one before it
  // ("" if it does, or the log is empty).
  absl::StatusOr<std::string> CheckTail(const Head& head) const;
  // FailedPrecondition if the ledger was opened read-only.
  absl::Status CheckWritable() const;
  // Why an append is refused before it is queued (read-only, a bad log
  // tail), or OK.
  absl::Status CheckAppendable() const;
  // Queues `w` (REQUIRES: queue_mu_ held by `queue`).
  void Enqueue(Writer* w);
  // Wakes whoever leads the writer now at the front of the queue, if any
  // (REQUIRES: queue_mu_ held).
  void NotifyFront();
  // A group of writers, judged and written (not yet known durable).
  struct WrittenGroup {
    std::vector<Writer*> writers;
    // The state to publish once durable (null if nothing was written).
    std::shared_ptr<const internal::PinnedState> written;
    bool must_sync = false;  // the write did not sync, and a batch asks it
    absl::Time started;
    absl::Status synced;  // once through the sync thread
  };
  class GroupPipe;
  // Takes the group of writers from the front of the queue (`queue` holds
  // queue_mu_, and holds it again on return), judges and writes it, and
  // takes it off the queue (the next group can then be written).
  // `leader_syncs`: the caller syncs the group itself (else a write of it
  // never syncs: the sync thread does).
  WrittenGroup WriteNextGroup(std::unique_lock<std::mutex>& queue,
                              bool leader_syncs);
  // Completes a written group once `synced` says whether it is durable:
  // publishes it, counts it (on_commit), calls each AppendAsync's callback
  // and sets each waiting Append's result and wakes it, except `leader`'s
  // (null for none), whose result it returns. Called without queue_mu_.
  absl::StatusOr<AppendResult> CompleteGroup(WrittenGroup group,
                                             const absl::Status& synced,
                                             const Writer* leader);
  // The committing thread: writes each group whose front is an
  // AppendAsync's, and hands it to the sync thread.
  void CommitterLoop();
  // The sync thread: syncs once for every group written meanwhile, and
  // hands them on in order.
  void SyncerLoop();
  // The completing thread: completes the synced groups in order.
  void CompleterLoop();
  absl::StatusOr<std::optional<v1::Event>> LoadStoredEvent(
      uint64_t seq, const rocksdb::Snapshot* snapshot) const;
  // Judges `batch` against the stored state and `overlay` (the batches of
  // the group queued before it), and on success adds its writes to `wb`
  // and (with `update_overlay`) what it wrote to `overlay`; `head` moves to
  // the batch's last event. `stored_ids` holds what the event_ids column
  // family said of each event's id, from `first_id` on. On failure nothing
  // changes.
  absl::StatusOr<AppendResult> PrepareBatch(const std::vector<v1::Event>& batch,
                                            const AppendOptions& options,
                                            absl::Time now, bool update_overlay,
                                            const StoredIds& stored_ids,
                                            size_t first_id,
                                            GroupOverlay* overlay, Head* head,
                                            rocksdb::WriteBatch* wb);
  // Judges `group` (the leader's call; the writers are at the front of the
  // queue) and writes the accepted batches: the state to publish once
  // durable (null if nothing was written). If a batch asked for a sync, the
  // write syncs when `sync_in_write`; otherwise *must_sync is set and the
  // caller syncs (WaitDurable).
  std::shared_ptr<const internal::PinnedState> WriteGroup(
      const std::vector<Writer*>& group, bool sync_in_write, bool* must_sync);
  // Returns once every event up to `seq` is synced to the write-ahead log.
  // One caller syncs at a time, for everything written so far; callers
  // that arrive meanwhile share the next sync.
  absl::Status WaitDurable(uint64_t seq);
  // Calls fn(key, value) for every entry of `cf`, in order.
  absl::Status ScanColumnFamily(
      rocksdb::ColumnFamilyHandle* cf, const rocksdb::Snapshot* snapshot,
      const std::function<void(absl::string_view, absl::string_view)>& fn)
      const;
  // Passes for replaying `events` events when `shares` passes may be held
  // in memory at once.
  uint32_t ReplayPasses(uint64_t events, uint64_t shares) const;
  // DataLoss naming the seqs from `first` on that cannot be read (RocksDB
  // said `s`, a corruption, reading `first`).
  absl::Status LogDamage(uint64_t first, const rocksdb::Status& s) const;
  // Compares the log's own indexes (event_ids, streams) with the log up to
  // `state`'s head. Without `repair`, DataLoss naming the first difference;
  // with it, OK, and `repair` holds the writes that make them agree.
  // `expected`, if given, is what a replay gathered of the log (else the
  // log is read for it).
  class LogIndexDigests;
  absl::Status CheckLogIndexes(const internal::PinnedState& state,
                               rocksdb::WriteBatch* repair,
                               const LogIndexDigests* expected = nullptr) const;
  // Calls fn(seq, stored bytes) for the events with seq in [from, to].
  absl::Status ReadLog(
      uint64_t from, uint64_t to,
      const std::function<absl::Status(uint64_t, absl::string_view)>& fn)
      const;
  // Replays events 1..total into in-memory projectors, one hash share of the
  // relationships per pass (with passes > 1 the log is read once, on two
  // threads, into per-pass files in `scratch_dir`), and hands each pass's
  // projector to `on_pass`, from up to `workers` threads at once; each
  // event read is also handed to `on_read` with its reader thread's index
  // (below ReplayThreads()).
  absl::Status ReplayInPasses(
      uint64_t total, uint32_t passes, uint32_t workers,
      const std::string& scratch_dir,
      const std::function<void(uint64_t, uint64_t)>& progress,
      const std::function<absl::Status(std::unique_ptr<Projector>, uint32_t)>&
          on_pass,
      const std::function<absl::Status(uint32_t, const v1::Event&)>& on_read =
          nullptr) const;

  // Constant after construction.
  LedgerOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* cf_default_ = nullptr;
  rocksdb::ColumnFamilyHandle* cf_events_ = nullptr;
  rocksdb::ColumnFamilyHandle* cf_event_ids_ = nullptr;
  rocksdb::ColumnFamilyHandle* cf_streams_ = nullptr;
  // The log's handles (the projections' belong to the pinned state).
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors_;
  std::shared_ptr<rocksdb::Cache> block_cache_;
  // The timelines' compressed-block cache (null without one).
  std::shared_ptr<rocksdb::Cache> timeline_cache_;

  // The locks are std:: ones, which ThreadSanitizer understands (Debian's
  // Abseil is built without its annotations).
  //
  // Appends waiting to be committed; the front one commits a group (an
  // AppendAsync's is committed by a committing thread).
  std::mutex queue_mu_;
  std::condition_variable queued_cv_;  // notified when an append queues
  std::deque<Writer*> writers_;        // guarded by queue_mu_
  // Started by the first AppendAsync, a pipeline of three threads: the
  // committing thread writes one group after another without waiting for
  // their syncs; the sync thread makes them durable (one sync for all the
  // groups written while the last one ran); the completing thread
  // publishes them and answers their callbacks (sending replies takes as
  // long as a sync: done apart, the next sync runs meanwhile).
  std::condition_variable committer_cv_;  // an AppendAsync is at the front
  bool stop_committer_ = false;           // guarded by queue_mu_
  std::unique_ptr<GroupPipe> written_;    // committing -> sync thread
  std::unique_ptr<GroupPipe> synced_;     // sync -> completing thread
  std::thread committer_;
  std::thread syncer_;
  std::thread completer_;
  // Held by the leader while it judges and writes a group (not while it
  // syncs: the next group is judged meanwhile) and by Rebuild: one writer
  // of the database at a time.
  std::mutex write_mu_;
  // Guarded by write_mu_: the head and projection families of the database
  // as written (a group being synced is in it, not yet in state_).
  Head written_head_;
  std::shared_ptr<const internal::ProjectionFamilies> families_;
  std::atomic<uint64_t> written_seq_{0};  // written_head_.seq, for syncing
  // Syncing the write-ahead log.
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  bool syncing_ = false;       // guarded by sync_mu_
  uint64_t synced_seq_ = 0;    // guarded by sync_mu_: durable up to here
  // Serializes Rebuild and CompactProjections.
  std::mutex maintenance_mu_;
  mutable std::mutex state_mu_;
  mutable std::condition_variable state_cv_;  // notified when state_ moves on
  // Guarded by state_mu_.
  std::shared_ptr<const internal::PinnedState> state_;
  // Constant after Open: why appends are refused (the log's tail does not
  // verify), or "".
  std::string tail_problem_;
};

}  // namespace provledger

#endif  // PROVLEDGER_LEDGER_LEDGER_H_
