#include "ledger/ledger.h"

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/cleanup/cleanup.h"
#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "ledger/internal/coding.h"
#include "ledger/internal/keys.h"
#include "ledger/internal/raw_access.h"
#include "ledger/knowledge_point.h"
#include "ledger/internal/rocks_status.h"
#include "ledger/status_macros.h"
#include "ledger/validation.h"
#include "projections/internal/projector.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/sst_file_writer.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/statistics.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"

namespace provledger {

using storage::Timeline;
using v1::Event;

namespace {

constexpr char kEventErrorUrl[] = "type.googleapis.com/provledger.v1.EventError";
constexpr int kFormatVersion = 1;
// Events between progress reports while replaying the log.
constexpr uint64_t kReplayChunk = 100000;
// Events one commit group holds at most (the first batch may be larger).
constexpr size_t kMaxGroupEvents = 100000;

// `s`, marked as curable by rebuilding the projections (kNeedsRebuildPayload).
absl::Status NeedsRebuild(absl::Status s) {
  s.SetPayload(kNeedsRebuildPayload, absl::Cord());
  return s;
}

// The stable code of an append error of this status code.
const char* EventErrorCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument: return "INVALID_FIELD";
    case absl::StatusCode::kAlreadyExists: return "DUPLICATE_EVENT_ID";
    case absl::StatusCode::kFailedPrecondition: return "INCOHERENT_TIMELINE";
    case absl::StatusCode::kAborted: return "STALE_VERSION";
    default: return "STORAGE";
  }
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  int64_t micros = absl::ToUnixMicros(t);
  ts.set_seconds(micros / 1000000);
  ts.set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
  if (ts.nanos() < 0) {
    ts.set_seconds(ts.seconds() - 1);
    ts.set_nanos(ts.nanos() + 1000000000);
  }
  return ts;
}

// Splits a stored event record into hash and bytes; false if too short.
bool SplitRecord(absl::string_view value, Hash* hash, absl::string_view* bytes) {
  if (value.size() < kHashSize) return false;
  std::copy(value.begin(), value.begin() + kHashSize, hash->begin());
  *bytes = value.substr(kHashSize);
  return true;
}

// RocksDB's info log, dropped (a read-only ledger writes nothing).
class DiscardingLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

// RocksDB's info log, in the ledger's LOG file, written through stdio with
// every error ignored: RocksDB's own file logger aborts the process on its
// next line once a write to it has failed (a full disk), in builds with
// assertions such as Debian's. Kept to about kMaxBytes, the older half in
// LOG.old.
class ForgivingLogger : public rocksdb::Logger {
 public:
  explicit ForgivingLogger(std::string path) : path_(std::move(path)) {
    std::error_code ec;
    const uintmax_t size = std::filesystem::file_size(path_, ec);
    if (!ec && size > kMaxBytes / 2) Rotate();
    file_ = std::fopen(path_.c_str(), "ae");
  }
  ~ForgivingLogger() override {
    if (file_ != nullptr) std::fclose(file_);
  }
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    va_list copy;
    va_copy(copy, ap);
    const int n = std::vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    if (n < 0) return;
    std::string line = absl::FormatTime("%Y/%m/%d-%H:%M:%E6S ", absl::Now(),
                                        absl::UTCTimeZone());
    const size_t at = line.size();
    line.resize(at + static_cast<size_t>(n) + 1);
    std::vsnprintf(line.data() + at, static_cast<size_t>(n) + 1, format, ap);
    line.back() = '\n';
    std::lock_guard<std::mutex> lock(mu_);
    if (file_ == nullptr) return;
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fflush(file_);
    written_ += line.size();
    if (written_ > kMaxBytes / 2) {
      std::fclose(file_);
      Rotate();
      file_ = std::fopen(path_.c_str(), "ae");
      written_ = 0;
    }
  }

 private:
  static constexpr uintmax_t kMaxBytes = 8 << 20;
  void Rotate() {
    std::error_code ec;
    std::filesystem::rename(path_, path_ + ".old", ec);
  }
  const std::string path_;
  std::mutex mu_;
  std::FILE* file_ = nullptr;  // guarded by mu_; null if it cannot be opened
  uintmax_t written_ = 0;
};

// The writer's part of an event: what idempotency compares.
Event WriterFields(const Event& e) {
  Event copy = e;
  copy.clear_seq();
  copy.clear_recorded_at();
  copy.clear_prev_hash();
  copy.clear_hash();
  return copy;
}

// Collects the paths of the fields a MessageDifferencer finds different.
class DifferingFieldCollector
    : public google::protobuf::util::MessageDifferencer::Reporter {
 public:
  using SpecificField =
      google::protobuf::util::MessageDifferencer::SpecificField;
  void ReportAdded(const google::protobuf::Message&,
                   const google::protobuf::Message&,
                   const std::vector<SpecificField>& path) override {
    Add(path);
  }
  void ReportDeleted(const google::protobuf::Message&,
                     const google::protobuf::Message&,
                     const std::vector<SpecificField>& path) override {
    Add(path);
  }
  void ReportModified(const google::protobuf::Message&,
                      const google::protobuf::Message&,
                      const std::vector<SpecificField>& path) override {
    Add(path);
  }
  std::vector<std::string> fields;

 private:
  void Add(const std::vector<SpecificField>& path) {
    std::string name;
    for (const SpecificField& f : path) {
      if (f.field == nullptr) continue;
      if (!name.empty()) name += '.';
      name += f.field->name();
    }
    if (std::find(fields.begin(), fields.end(), name) == fields.end()) {
      fields.push_back(std::move(name));
    }
  }
};

// The proto paths of the fields in which `a` and `b` differ (none: empty).
std::vector<std::string> DifferingFields(const Event& a, const Event& b) {
  DifferingFieldCollector collector;
  {
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesTo(&collector);
    differ.Compare(a, b);
  }
  // A message field is reported after the fields inside it: keep the
  // innermost ("reassigned.org_tin", not "reassigned" too).
  std::vector<std::string> leaves;
  for (const std::string& f : collector.fields) {
    const bool has_inner = std::any_of(
        collector.fields.begin(), collector.fields.end(),
        [&](const std::string& o) { return absl::StartsWith(o, f + "."); });
    if (!has_inner) leaves.push_back(f);
  }
  return leaves;
}

absl::string_view ToView(const rocksdb::Slice& s) {
  return absl::string_view(s.data(), s.size());
}

// Positions of the projection column families in the descriptors.
constexpr size_t kTimelinesCf = 4;
constexpr size_t kIndexesCf = 5;

// Read options for a scan of the keys that start with `prefix`, in a column
// family whose prefix extractor takes `extractor` bytes (0: it has none).
// The upper bound stops the scan at the prefix's end without touching the
// next key's blocks; a prefix that covers the extractor's lets the bloom
// filters skip table files that hold none of its keys.
class PrefixScan {
 public:
  PrefixScan(absl::string_view prefix, size_t extractor,
             const rocksdb::Snapshot* snapshot)
      : upper_(prefix) {
    options_.snapshot = snapshot;
    while (!upper_.empty() && static_cast<unsigned char>(upper_.back()) == 0xff) {
      upper_.pop_back();
    }
    if (!upper_.empty()) {
      upper_.back() = static_cast<char>(upper_.back() + 1);
      upper_slice_ = rocksdb::Slice(upper_);
      options_.iterate_upper_bound = &upper_slice_;
    }
    if (extractor > 0) {
      if (prefix.size() >= extractor) {
        options_.prefix_same_as_start = true;
      } else {
        options_.total_order_seek = true;
      }
    }
  }
  PrefixScan(const PrefixScan&) = delete;
  PrefixScan& operator=(const PrefixScan&) = delete;
  const rocksdb::ReadOptions& options() const { return options_; }

 private:
  std::string upper_;
  rocksdb::Slice upper_slice_;
  rocksdb::ReadOptions options_;
};

}  // namespace

namespace internal {

// The projection column families of one generation (Rebuild replaces
// them); their handles live as long as any view that reads them.
struct ProjectionFamilies {
  rocksdb::DB* db = nullptr;
  rocksdb::ColumnFamilyHandle* timelines = nullptr;
  rocksdb::ColumnFamilyHandle* indexes = nullptr;
  ProjectionFamilies() = default;
  ProjectionFamilies(const ProjectionFamilies&) = delete;
  ProjectionFamilies& operator=(const ProjectionFamilies&) = delete;
  ~ProjectionFamilies() {
    for (auto* h : {timelines, indexes}) {
      if (h != nullptr) db->DestroyColumnFamilyHandle(h);
    }
  }
};

struct PinnedState {
  Head head;
  // Null for a read-only ledger (nothing changes under it).
  std::shared_ptr<const rocksdb::Snapshot> snapshot;
  std::shared_ptr<const ProjectionFamilies> families;

  rocksdb::ReadOptions Options() const {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot.get();
    return ro;
  }
};

}  // namespace internal

using internal::PinnedState;
using internal::ProjectionFamilies;

bool IsDiskFull(const absl::Status& status) {
  return status.GetPayload(kDiskFullPayload).has_value();
}

std::optional<v1::EventError> EventErrorOf(const absl::Status& status) {
  auto payload = status.GetPayload(kEventErrorUrl);
  if (!payload.has_value()) return std::nullopt;
  v1::EventError details;
  if (!details.ParseFromString(std::string(*payload))) return std::nullopt;
  return details;
}

std::optional<size_t> FailedEventIndex(const absl::Status& status) {
  std::optional<v1::EventError> details = EventErrorOf(status);
  if (!details.has_value() || !details->has_index()) return std::nullopt;
  return details->index();
}

absl::Status WithEventError(absl::Status s, const v1::EventError& error) {
  s.SetPayload(kEventErrorUrl, absl::Cord(error.SerializeAsString()));
  return s;
}

absl::Status WithEventError(absl::Status s, std::optional<size_t> index) {
  v1::EventError details;
  if (index.has_value()) details.set_index(static_cast<uint32_t>(*index));
  const absl::string_view message = s.message();
  const size_t colon = message.find(": ");
  if (colon != absl::string_view::npos &&
      std::all_of(message.begin(), message.begin() + colon, [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
               c == '.' || c == '[' || c == ']';
      })) {
    details.set_field(std::string(message.substr(0, colon)));
  }
  details.set_code(EventErrorCode(s.code()));
  return WithEventError(std::move(s), details);
}

absl::Status WithMessage(const absl::Status& s, absl::string_view message) {
  absl::Status out(s.code(), message);
  s.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  return out;
}

namespace {
absl::Status CorruptTimeline() {
  return NeedsRebuild(absl::DataLossError(
      "a stored timeline is corrupt: the projections must be rebuilt from "
      "the log"));
}

// A stored timeline's value, parsed; nullopt for NotFound.
// A damaged table block (RocksDB's checksums) in the projections: named by
// the key read (or, for a scan, the last key read before it).
absl::Status DamagedProjections(const rocksdb::Status& s,
                                absl::string_view what) {
  return NeedsRebuild(absl::DataLossError(absl::StrCat(
      what, " cannot be read: the projections are damaged there (RocksDB: ",
      s.ToString(), "); rebuild them from the log")));
}

// A damaged table block in the log's own indexes, found looking up the
// entries of event `seq`. A rebuild does not mend it (it rewrites only
// entries that disagree).
absl::Status DamagedLogIndex(const rocksdb::Status& s, absl::string_view index,
                             uint64_t seq) {
  return absl::DataLossError(absl::StrCat(
      "the ", index, " index cannot be read where it holds seq ", seq,
      ": it is damaged there (RocksDB: ", s.ToString(),
      "); restore the ledger from a backup (provledger restore)"));
}

absl::StatusOr<std::optional<Timeline>> ParseTimeline(
    const rocksdb::Status& s, const rocksdb::Slice& value,
    absl::string_view key) {
  if (s.IsNotFound()) return std::nullopt;
  if (s.IsCorruption()) {
    return DamagedProjections(s, DescribeTimelineKey(key));
  }
  RETURN_IF_ERROR(FromRocks(s, "read timeline"));
  Timeline t;
  if (!t.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return CorruptTimeline();
  }
  return t;
}
}  // namespace

// What the batches of a group that were judged before the current one
// wrote (not yet in the database).
struct Ledger::GroupOverlay {
  absl::flat_hash_map<std::string, Timeline> timelines;
  absl::flat_hash_map<uint64_t, Event> events;
  absl::flat_hash_map<std::string, uint64_t> event_ids;
  // NPI -> the latest seq of the group touching it.
  absl::flat_hash_map<std::string, uint64_t> streams;
};

// The event_ids column family's answers for the events of a group, looked
// up at once (one pass over its files, instead of one per batch).
struct Ledger::StoredIds {
  std::vector<rocksdb::PinnableSlice> values;
  std::vector<rocksdb::Status> statuses;
};

// An Append call waiting in the queue, or an AppendAsync's batch (which
// owns its batch and options, and has a callback instead of a thread).
struct Ledger::Writer {
  Writer(const std::vector<Event>* b, const AppendOptions* o)
      : batch(b), options(o) {}
  Writer(std::vector<Event> b, AppendOptions o, AppendCallback cb)
      : owned_batch(std::move(b)),
        owned_options(std::move(o)),
        callback(std::move(cb)),
        batch(&owned_batch),
        options(&owned_options) {}
  bool async() const { return callback != nullptr; }

  std::vector<Event> owned_batch;
  AppendOptions owned_options;
  AppendCallback callback;
  const std::vector<Event>* batch;
  const AppendOptions* options;
  absl::StatusOr<AppendResult> result;
  // Guarded by queue_mu_: an Append's result is set.
  bool done = false;
  std::condition_variable cv;
};

// A first-in first-out hand-over of written groups from one thread of the
// AppendAsync pipeline to the next.
class Ledger::GroupPipe {
 public:
  void Push(WrittenGroup group) {
    std::lock_guard<std::mutex> lock(mu_);
    groups_.push_back(std::move(group));
    cv_.notify_one();
  }
  // Waits for groups and takes every one there; none once closed and
  // drained.
  std::deque<WrittenGroup> TakeAll() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !groups_.empty() || closed_; });
    std::deque<WrittenGroup> taken;
    taken.swap(groups_);
    return taken;
  }
  // No more groups will come.
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WrittenGroup> groups_;  // guarded by mu_
  bool closed_ = false;              // guarded by mu_
};

// Reads events from the ledger (as of `snapshot`, if given); knows no
// stored timeline (a replay builds every timeline itself).
class Ledger::ReplaySource : public ProjectionSource {
 public:
  explicit ReplaySource(const Ledger* ledger,
                        const rocksdb::Snapshot* snapshot = nullptr)
      : ledger_(ledger), snapshot_(snapshot) {}
  absl::StatusOr<std::optional<Timeline>> LoadTimeline(
      const std::string&) override {
    return std::nullopt;
  }
  absl::StatusOr<std::optional<Event>> LoadEvent(uint64_t seq) override {
    return ledger_->LoadStoredEvent(seq, snapshot_);
  }

 private:
  const Ledger* ledger_;
  const rocksdb::Snapshot* snapshot_;
};

// Sees events of the batch being appended and of the batches before it in
// its group, as well as stored ones. Used only by the committing leader,
// the one writer of the database, so it reads without a snapshot.
class Ledger::BatchSource : public ProjectionSource {
 public:
  BatchSource(const Ledger* ledger, const ProjectionFamilies* families,
              const GroupOverlay* overlay)
      : ledger_(ledger), families_(families), overlay_(overlay) {}

  absl::StatusOr<std::optional<Timeline>> LoadTimeline(
      const std::string& key) override {
    if (auto it = overlay_->timelines.find(key);
        it != overlay_->timelines.end()) {
      return it->second;
    }
    rocksdb::PinnableSlice value;
    rocksdb::Status s = ledger_->db_->Get(rocksdb::ReadOptions(),
                                          families_->timelines, key, &value);
    return ParseTimeline(s, value, key);
  }
  absl::StatusOr<std::optional<Event>> LoadEvent(uint64_t seq) override {
    if (seq > first_seq_ && seq - first_seq_ <= written_.size()) {
      return written_[seq - first_seq_ - 1];
    }
    if (auto it = overlay_->events.find(seq); it != overlay_->events.end()) {
      return it->second;
    }
    return ledger_->LoadStoredEvent(seq, nullptr);
  }
  // Events of this batch: seqs first_seq+1, first_seq+2, ...
  void SetFirstSeq(uint64_t seq) { first_seq_ = seq; }
  std::vector<Event>& written() { return written_; }

 private:
  const Ledger* ledger_;
  const ProjectionFamilies* families_;
  const GroupOverlay* overlay_;
  uint64_t first_seq_ = 0;
  std::vector<Event> written_;
};

class Ledger::IteratorImpl : public EventIterator {
 public:
  IteratorImpl(const Ledger* ledger, std::shared_ptr<const PinnedState> state,
               uint64_t from_seq)
      : ledger_(ledger),
        state_(std::move(state)),
        upper_(EncodeSeq(state_->head.seq + 1)) {
    rocksdb::ReadOptions ro = state_->Options();
    upper_slice_ = rocksdb::Slice(upper_);
    ro.iterate_upper_bound = &upper_slice_;
    if (from_seq == 0) from_seq = 1;
    if (from_seq > 1) {
      std::string value;
      rocksdb::Status s = ledger->db_->Get(state_->Options(),
                                           ledger->cf_events_,
                                           EncodeSeq(from_seq - 1), &value);
      absl::string_view bytes;
      if (s.ok() && !SplitRecord(value, &prev_, &bytes)) {
        status_ = absl::DataLossError(
            absl::StrCat("event ", from_seq - 1, ": record too short"));
      } else if (s.IsCorruption()) {
        status_ = ledger->LogDamage(from_seq - 1, s);
      } else if (!s.ok() && !s.IsNotFound()) {
        status_ = FromRocks(s, "read");
      }
    }
    next_seq_ = from_seq;
    it_.reset(ledger->db_->NewIterator(ro, ledger->cf_events_));
    it_->Seek(EncodeSeq(from_seq));
    Decode();
  }

  bool Valid() const override { return status_.ok() && it_->Valid(); }
  void Next() override {
    prev_ = hash_;
    it_->Next();
    Decode();
  }
  const Event& event() const override { return event_; }
  absl::string_view stored_bytes() const override { return bytes_; }
  absl::Status status() const override {
    if (!status_.ok()) return status_;
    if (it_->status().IsCorruption()) {
      return ledger_->LogDamage(next_seq_, it_->status());
    }
    return FromRocks(it_->status(), "read events");
  }

 private:
  void Decode() {
    if (!status_.ok() || !it_->Valid()) return;
    uint64_t seq = DecodeBigEndian64(ToView(it_->key()));
    if (!SplitRecord(ToView(it_->value()), &hash_, &bytes_) ||
        !event_.ParseFromArray(bytes_.data(), static_cast<int>(bytes_.size())) ||
        event_.seq() != seq) {
      status_ = absl::DataLossError(
          absl::StrCat("event ", seq, ": stored record is corrupt"));
      return;
    }
    event_.set_prev_hash(ToHex(prev_));
    event_.set_hash(ToHex(hash_));
    next_seq_ = seq + 1;
  }

  const Ledger* const ledger_;
  const std::shared_ptr<const PinnedState> state_;  // keeps the snapshot
  uint64_t next_seq_ = 1;  // the first seq not yet read
  std::string upper_;
  rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
  absl::Status status_;
  Hash prev_ = kZeroHash;
  Hash hash_ = kZeroHash;
  absl::string_view bytes_;
  Event event_;
};

absl::StatusOr<std::unique_ptr<Ledger>> Ledger::Open(
    const LedgerOptions& options, absl::string_view path) {
  std::string dir(path);
  std::error_code ec;
  bool exists = std::filesystem::exists(dir + "/CURRENT", ec);
  if (!exists && !options.create_if_missing) {
    absl::Status none =
        absl::NotFoundError(absl::StrCat("no ledger at '", dir, "'"));
    none.SetPayload(kNoLedgerPayload, absl::Cord());
    return none;
  }
  if (exists && options.error_if_exists) {
    return absl::AlreadyExistsError(
        absl::StrCat("a ledger already exists at '", dir, "'"));
  }
  if (!exists && options.read_only) {
    return absl::NotFoundError(absl::StrCat("no ledger at '", dir, "'"));
  }
  if (!exists && std::filesystem::is_directory(dir, ec) &&
      !std::filesystem::is_empty(dir, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create a ledger in '", dir,
        "': the folder is not empty and holds no ledger"));
  }
  if (exists) {
    // Only our own ledgers: another application's RocksDB is refused
    // before it is opened (opening would add our column families to it).
    // The log's families are always there; the projections' may be missing
    // while a rebuild that died is pending.
    std::vector<std::string> families;
    RETURN_IF_ERROR(FromRocks(
        rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &families),
        absl::StrCat("read the column families of '", dir, "'")));
    for (const char* wanted : {"events", "event_ids", "streams"}) {
      if (std::find(families.begin(), families.end(), wanted) ==
          families.end()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "'", dir, "' is a RocksDB database but not a provledger ledger (it "
            "has no '", wanted, "' column family); it was left untouched"));
      }
    }
  }
  if (!exists) {
    const std::filesystem::path parent =
        std::filesystem::path(dir).lexically_normal().parent_path();
    if (!parent.empty() && !std::filesystem::is_directory(parent, ec)) {
      return absl::NotFoundError(absl::StrCat(
          "cannot create a ledger at '", dir, "': the folder '",
          parent.string(), "' does not exist"));
    }
  }

  std::unique_ptr<Ledger> ledger(new Ledger());
  ledger->options_ = options;
  if (!ledger->options_.clock) ledger->options_.clock = [] { return absl::Now(); };

  rocksdb::Options db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  // Bounds the write-ahead log an import leaves behind it: past this, the
  // families holding its oldest part are flushed and it is deleted.
  db_options.max_total_wal_size = 16 << 20;
  // No space reserved ahead of writes (RocksDB reserves 1.1x the memtable
  // size for each log file and 1.1x the target file size for each table
  // file it writes): a nearly full disk is not made full by reservations.
  db_options.allow_fallocate = false;
  if (options.collect_statistics) {
    db_options.statistics = rocksdb::CreateDBStatistics();
  }

  rocksdb::BlockBasedTableOptions table;
  ledger->block_cache_ = rocksdb::NewLRUCache(options.block_cache_mb << 20);
  table.block_cache = ledger->block_cache_;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
  // Keep every bloom filter and index in memory (about 1.3 bytes per key).
  // Cached in the block cache instead, they thrash once the ledger outgrows
  // it: each miss on a new event_id or timeline then re-reads and
  // re-checksums filter blocks (80% of ingest time at 1M providers).
  table.cache_index_and_filter_blocks = false;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.compression = rocksdb::kLZ4Compression;
  cf_options.bottommost_compression = rocksdb::kZSTD;
  cf_options.write_buffer_size = 32 << 20;

  // Memtable inserts dominate ingest CPU. Append puts the keys of each
  // column family in sorted order, so consecutive inserts share most of the
  // skiplist's search path (its sequential-insert splice).
  //
  // Point-in-time queries read only timelines. With timeline_cache_mb they
  // get a second cache holding their compressed blocks, so a query finds
  // its block in the process's own memory rather than relying on the OS
  // page cache (which some hosts reclaim from files left idle for a minute;
  // then a query waits on the disk). This is RocksDB 7.8's compressed block
  // cache; later releases replace it with a compressed secondary cache.
  rocksdb::ColumnFamilyOptions timeline_options = cf_options;
  if (options.timeline_cache_mb > 0) {
    ledger->timeline_cache_ =
        rocksdb::NewLRUCache(options.timeline_cache_mb << 20);
    rocksdb::BlockBasedTableOptions timeline_table = table;
    timeline_table.block_cache_compressed = ledger->timeline_cache_;
    timeline_options.table_factory.reset(
        rocksdb::NewBlockBasedTableFactory(timeline_table));
  }
  // Queries scan one NPI's timelines and stream: prefix bloom filters let
  // such a scan skip every table file without that NPI.
  auto with_prefix = [](rocksdb::ColumnFamilyOptions o, size_t bytes) {
    o.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(bytes));
    return o;
  };
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, cf_options},
      {"events", cf_options},
      {"event_ids", cf_options},
      {"streams", with_prefix(cf_options, kStreamPrefix)},
      {"timelines", with_prefix(timeline_options, kTimelinePrefix)},
      {"indexes", cf_options},
  };
  ledger->descriptors_ = cfs;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status opened;
  if (options.read_only) {
    // No info log in the ledger's directory, and every table file opened
    // now: a writer beside us may compact files away after we listed them.
    db_options.info_log = std::make_shared<DiscardingLogger>();
    db_options.max_open_files = -1;
    // A writer may delete a file between our reading the manifest and
    // opening it: try again.
    for (int attempt = 0; attempt < 10; ++attempt) {
      ledger->handles_.clear();
      opened = rocksdb::DB::OpenForReadOnly(db_options, dir, cfs,
                                            &ledger->handles_, &raw,
                                            /*error_if_wal_file_exists=*/false);
      // (RocksDB reports such a file as missing, sometimes wrapped in a
      // Corruption status naming the manifest that lists it.)
      const bool vanished =
          opened.IsIOError() || opened.IsPathNotFound() ||
          absl::StrContains(opened.ToString(), "No such file or directory");
      if (opened.ok() || !vanished) break;
    }
  } else {
    if (!exists) std::filesystem::create_directories(dir, ec);
    db_options.info_log = std::make_shared<ForgivingLogger>(dir + "/LOG");
    opened = rocksdb::DB::Open(db_options, dir, cfs, &ledger->handles_, &raw);
  }
  if (opened.IsIOError() &&
      absl::StrContains(opened.ToString(), "While lock file")) {
    return absl::UnavailableError(absl::StrCat(
        "the ledger at '", dir,
        "' is in use by another process (an import, a server, or another "
        "command that writes); wait for it to finish and try again"));
  }
  RETURN_IF_ERROR(FromRocks(opened, absl::StrCat("open ledger '", dir, "'")));
  ledger->db_.reset(raw);
  ledger->cf_default_ = ledger->handles_[0];
  ledger->cf_events_ = ledger->handles_[1];
  ledger->cf_event_ids_ = ledger->handles_[2];
  ledger->cf_streams_ = ledger->handles_[3];
  {
    auto families = std::make_shared<ProjectionFamilies>();
    families->db = raw;
    families->timelines = std::exchange(ledger->handles_[kTimelinesCf], nullptr);
    families->indexes = std::exchange(ledger->handles_[kIndexesCf], nullptr);
    ledger->families_ = std::move(families);
  }

  rocksdb::DB* db = ledger->db_.get();
  std::string value;
  rocksdb::Status s =
      db->Get(rocksdb::ReadOptions(), ledger->cf_default_, kMetaFormat, &value);
  if (s.IsNotFound() && options.read_only) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", dir, "' holds no provledger ledger metadata"));
  }
  if (s.IsNotFound()) {
    rocksdb::WriteBatch wb;
    wb.Put(ledger->cf_default_, kMetaFormat, absl::StrCat(kFormatVersion));
    wb.Put(ledger->cf_default_, kMetaProjection,
           absl::StrCat(kProjectionVersion));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    RETURN_IF_ERROR(FromRocks(db->Write(wo, &wb), "initialize ledger"));
  } else {
    RETURN_IF_ERROR(FromRocks(s, "read ledger meta"));
    if (value != absl::StrCat(kFormatVersion)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "ledger '", dir, "' has format version ", value,
          "; this provledger reads version ", kFormatVersion));
    }
    std::string pv, rebuilding;
    RETURN_IF_ERROR(FromRocks(db->Get(rocksdb::ReadOptions(),
                                      ledger->cf_default_, kMetaProjection,
                                      &pv),
                              "read projection version"));
    // Projections from a newer provledger are not ours to rewrite, not even
    // by a rebuild.
    int stored_version = 0;
    if (absl::SimpleAtoi(pv, &stored_version) &&
        stored_version > kProjectionVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "ledger '", dir, "' was written by a newer provledger (projections "
          "of version ", pv, "; this one reads up to version ",
          kProjectionVersion, "): use that provledger"));
    }
    if (!options.skip_projection_check) {
      if (pv != absl::StrCat(kProjectionVersion)) {
        return NeedsRebuild(absl::FailedPreconditionError(absl::StrCat(
            "ledger '", dir, "' has projections of version ", pv,
            ", this provledger reads version ", kProjectionVersion,
            ": they must be rebuilt from the log")));
      }
      if (db->Get(rocksdb::ReadOptions(), ledger->cf_default_, kMetaRebuilding,
                  &rebuilding)
              .ok()) {
        return NeedsRebuild(absl::FailedPreconditionError(absl::StrCat(
            "an interrupted rebuild left the projections of '", dir,
            "' incomplete: they must be rebuilt from the log")));
      }
    }
  }
  {
    std::lock_guard<std::mutex> lock(ledger->write_mu_);
    RETURN_IF_ERROR(ledger->LoadHead(&ledger->written_head_));
    if (!options.read_only) {
      // A tail that does not verify (or cannot be read) refuses appends,
      // not the other commands (a backup, a verify).
      absl::StatusOr<std::string> tail =
          ledger->CheckTail(ledger->written_head_);
      ledger->tail_problem_ =
          tail.ok() ? *std::move(tail) : std::string(tail.status().message());
    }
    ledger->written_seq_ = ledger->written_head_.seq;
    ledger->synced_seq_ = ledger->written_head_.seq;
    ledger->Publish(ledger->Written(), /*force=*/true);
  }
  return ledger;
}

Ledger::~Ledger() {
  if (db_ == nullptr) return;
  if (committer_.joinable()) {
    // Each thread of the pipeline ends once the stage before it has ended
    // and it has handed on (or completed) every group.
    {
      std::lock_guard<std::mutex> queue(queue_mu_);
      stop_committer_ = true;
      committer_cv_.notify_all();
    }
    committer_.join();
    written_->Close();
    syncer_.join();
    synced_->Close();
    completer_.join();
  }
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    // The last reference, unless a view outlives its ledger.
    state_.reset();
  }
  if (!options_.read_only) {
    // Written out as table files, the write-ahead log can go: the ledger's
    // folder then holds its data and no more (an import's log is several
    // times the size of its tables), and the next open replays nothing, so
    // it needs no space to write. On failure (a full disk) the log stays,
    // and is replayed then.
    std::vector<rocksdb::ColumnFamilyHandle*> all = {families_->timelines,
                                                     families_->indexes};
    for (auto* h : handles_) {
      if (h != nullptr) all.push_back(h);
    }
    db_->Flush(rocksdb::FlushOptions(), all).PermitUncheckedError();
  }
  families_.reset();
  for (auto* h : handles_) {
    if (h != nullptr) db_->DestroyColumnFamilyHandle(h);
  }
  db_->Close();
}

std::shared_ptr<const PinnedState> Ledger::Current() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return state_;
}

std::shared_ptr<const PinnedState> Ledger::Written() const {
  auto state = std::make_shared<PinnedState>();
  state->head = written_head_;
  state->families = families_;
  if (!options_.read_only) {
    // Taken right after the write, by the one writer: exactly that head.
    rocksdb::DB* db = db_.get();
    state->snapshot = std::shared_ptr<const rocksdb::Snapshot>(
        db->GetSnapshot(),
        [db](const rocksdb::Snapshot* s) { db->ReleaseSnapshot(s); });
  }
  return state;
}

void Ledger::Publish(std::shared_ptr<const PinnedState> state, bool force) {
  std::lock_guard<std::mutex> lock(state_mu_);
  if (!force && state_ != nullptr && state->head.seq <= state_->head.seq) {
    return;  // a later group was published first; it holds this one
  }
  state_ = std::move(state);
  state_cv_.notify_all();
}

std::shared_ptr<const LedgerView> Ledger::View() const {
  return std::shared_ptr<const LedgerView>(new LedgerView(this, Current()));
}

Head Ledger::WaitForHead(uint64_t after_seq, absl::Time deadline) const {
  std::unique_lock<std::mutex> lock(state_mu_);
  auto moved_on = [&] { return state_->head.seq > after_seq; };
  if (deadline == absl::InfiniteFuture()) {
    state_cv_.wait(lock, moved_on);
  } else {
    state_cv_.wait_until(lock, absl::ToChronoTime(deadline), moved_on);
  }
  return state_->head;
}

rocksdb::DB* LedgerInternals::Db(const Ledger& ledger) {
  return ledger.db_.get();
}
rocksdb::ColumnFamilyHandle* LedgerInternals::EventsCf(const Ledger& ledger) {
  return ledger.cf_events_;
}
rocksdb::ColumnFamilyHandle* LedgerInternals::EventIdsCf(const Ledger& ledger) {
  return ledger.cf_event_ids_;
}
rocksdb::ColumnFamilyHandle* LedgerInternals::StreamsCf(const Ledger& ledger) {
  return ledger.cf_streams_;
}
rocksdb::ColumnFamilyHandle* LedgerInternals::TimelinesCf(
    const Ledger& ledger) {
  return ledger.Current()->families->timelines;
}
absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
LedgerInternals::DumpProjections(const Ledger& ledger) {
  return ledger.DumpProjections();
}
void LedgerInternals::Repin(Ledger& ledger) {
  std::lock_guard<std::mutex> lock(ledger.write_mu_);
  ledger.Publish(ledger.Written(), /*force=*/true);
}
void LedgerInternals::HoldCommits(Ledger& ledger) { ledger.write_mu_.lock(); }
void LedgerInternals::ReleaseCommits(Ledger& ledger) {
  ledger.write_mu_.unlock();
}
void LedgerInternals::AwaitQueuedAppends(Ledger& ledger, size_t n) {
  std::unique_lock<std::mutex> lock(ledger.queue_mu_);
  ledger.queued_cv_.wait(lock, [&] { return ledger.writers_.size() >= n; });
}
uint64_t LedgerInternals::WalSyncs(const Ledger& ledger) {
  const auto& stats = ledger.db_->GetDBOptions().statistics;
  return stats ? stats->getTickerCount(rocksdb::WAL_FILE_SYNCED) : 0;
}

LedgerView::LedgerView(const Ledger* ledger,
                       std::shared_ptr<const PinnedState> state)
    : ledger_(ledger), state_(std::move(state)) {}

LedgerView::~LedgerView() = default;

const Head& LedgerView::head() const { return state_->head; }

absl::Status Ledger::LoadHead(Head* out) {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_events_));
  it->SeekToLast();
  RETURN_IF_ERROR(FromRocks(it->status(), "read head"));
  Head head;
  if (it->Valid()) {
    head.seq = DecodeBigEndian64(ToView(it->key()));
    absl::string_view bytes;
    Event e;
    if (!SplitRecord(ToView(it->value()), &head.hash, &bytes) ||
        !e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return absl::DataLossError(
          absl::StrCat("event ", head.seq, " (the head) is corrupt"));
    }
    head.recorded_at = ToAbslTime(e.recorded_at());
  }
  *out = head;
  return absl::OkStatus();
}

absl::StatusOr<bool> Ledger::LinkVerifies(uint64_t seq,
                                          const rocksdb::Snapshot* snapshot,
                                          std::string* bytes) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  // The stored hash of `at`'s record and the bytes it covers; false if the
  // record is too short to hold them.
  auto record = [&](uint64_t at, std::string* value, Hash* hash,
                    absl::string_view* covered) -> absl::StatusOr<bool> {
    rocksdb::Status s = db_->Get(ro, cf_events_, EncodeSeq(at), value);
    if (s.IsCorruption()) return LogDamage(at, s);
    if (s.IsNotFound()) {
      return absl::DataLossError(absl::StrCat("seq ", at, " is not in the log"));
    }
    RETURN_IF_ERROR(FromRocks(s, absl::StrCat("read event ", at)));
    return SplitRecord(*value, hash, covered);
  };
  std::string value, prev_value;
  Hash hash, prev = kZeroHash;
  absl::string_view covered, prev_covered;
  ASSIGN_OR_RETURN(bool whole, record(seq, &value, &hash, &covered));
  if (whole && seq > 1) {
    ASSIGN_OR_RETURN(whole, record(seq - 1, &prev_value, &prev, &prev_covered));
  }
  if (!whole || ChainHash(prev, covered) != hash) return false;
  if (bytes != nullptr) bytes->assign(covered.data(), covered.size());
  return true;
}

absl::StatusOr<std::string> Ledger::CheckTail(const Head& head) const {
  if (head.seq == 0) return std::string();
  ASSIGN_OR_RETURN(bool verifies, LinkVerifies(head.seq, nullptr, nullptr));
  if (!verifies) {
    return absl::StrCat("the log's last event (seq ", head.seq,
                        ") does not verify: its stored hash is not "
                        "SHA-256(prev_hash || stored bytes), so it or the "
                        "event before it was altered");
  }
  return std::string();
}

bool Ledger::HeldByAWriter(absl::string_view path) {
  // RocksDB's lock is a POSIX record lock on the LOCK file.
  const std::string lock = absl::StrCat(path, "/LOCK");
  const int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock probe = {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  const bool held = ::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

absl::Status Ledger::CheckWritable() const {
  if (!options_.read_only) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "the ledger was opened read-only: it cannot be written");
}

absl::Status Ledger::Sync() {
  RETURN_IF_ERROR(CheckWritable());
  return FromRocks(db_->FlushWAL(/*sync=*/true), "sync");
}

Head Ledger::head() const { return Current()->head; }

absl::StatusOr<std::optional<Event>> Ledger::LoadStoredEvent(
    uint64_t seq, const rocksdb::Snapshot* snapshot) const {
  std::string value;
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  rocksdb::Status s = db_->Get(ro, cf_events_, EncodeSeq(seq), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (s.IsCorruption()) return LogDamage(seq, s);
  RETURN_IF_ERROR(FromRocks(s, absl::StrCat("read event ", seq)));
  Hash hash;
  absl::string_view bytes;
  Event e;
  if (!SplitRecord(value, &hash, &bytes) ||
      !e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("event ", seq, " is corrupt"));
  }
  e.set_hash(ToHex(hash));
  return e;
}

absl::StatusOr<std::optional<Event>> LedgerView::LoadStoredEvent(
    uint64_t seq) const {
  if (seq > state_->head.seq) return std::nullopt;
  return ledger_->LoadStoredEvent(seq, state_->snapshot.get());
}

absl::StatusOr<Event> LedgerView::Lookup(uint64_t seq) const {
  ASSIGN_OR_RETURN(std::optional<Event> e, LoadStoredEvent(seq));
  if (!e.has_value()) {
    return absl::NotFoundError(absl::StrCat("no event with seq ", seq));
  }
  return *std::move(e);
}

absl::StatusOr<Event> LedgerView::Get(uint64_t seq) const {
  ASSIGN_OR_RETURN(Event e, Lookup(seq));
  if (seq > 1) {
    ASSIGN_OR_RETURN(std::optional<Event> prev, LoadStoredEvent(seq - 1));
    if (prev.has_value()) e.set_prev_hash(prev->hash());
  } else {
    e.set_prev_hash(ToHex(kZeroHash));
  }
  return e;
}

absl::StatusOr<std::optional<uint64_t>> LedgerView::FindEventId(
    absl::string_view event_id) const {
  std::string value;
  rocksdb::Status s = ledger_->db_->Get(
      state_->Options(), ledger_->cf_event_ids_,
      rocksdb::Slice(event_id.data(), event_id.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  RETURN_IF_ERROR(FromRocks(s, "read event id"));
  if (value.size() != 8) {
    return absl::DataLossError(
        absl::StrCat("event id index entry for '", event_id, "' is corrupt"));
  }
  return DecodeBigEndian64(value);
}

absl::StatusOr<uint64_t> LedgerView::StreamVersion(absl::string_view npi,
                                                   uint64_t known_seq) const {
  known_seq = std::min(known_seq, state_->head.seq);
  const std::string lower = StreamKey(npi, 0), upper = StreamKey(npi, known_seq);
  PrefixScan scan(npi, kStreamPrefix, state_->snapshot.get());
  rocksdb::ReadOptions ro = scan.options();
  rocksdb::Slice lower_slice(lower);
  ro.iterate_lower_bound = &lower_slice;
  std::unique_ptr<rocksdb::Iterator> it(
      ledger_->db_->NewIterator(ro, ledger_->cf_streams_));
  it->SeekForPrev(upper);
  RETURN_IF_ERROR(FromRocks(it->status(), "read stream"));
  if (!it->Valid() || !it->key().starts_with(rocksdb::Slice(npi.data(), npi.size()))) {
    return 0;
  }
  uint64_t seq = SeqOfStreamKey(ToView(it->key()));
  return seq <= known_seq ? seq : 0;
}

absl::StatusOr<std::vector<uint64_t>> LedgerView::StreamSeqs(
    absl::string_view npi) const {
  std::vector<uint64_t> seqs;
  PrefixScan scan(npi, kStreamPrefix, state_->snapshot.get());
  std::unique_ptr<rocksdb::Iterator> it(
      ledger_->db_->NewIterator(scan.options(), ledger_->cf_streams_));
  rocksdb::Slice prefix(npi.data(), npi.size());
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    if (it->key().size() != npi.size() + 8) continue;
    const uint64_t seq =
        SeqOfStreamKey(ToView(it->key()));
    if (seq > state_->head.seq) break;
    seqs.push_back(seq);
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "read stream"));
  return seqs;
}

absl::Status LedgerView::VerifyTimelinesOf(
    const std::vector<std::string>& npis) const {
  std::vector<uint64_t> seqs;
  for (const std::string& npi : npis) {
    ASSIGN_OR_RETURN(std::vector<uint64_t> s, StreamSeqs(npi));
    seqs.insert(seqs.end(), s.begin(), s.end());
  }
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());

  // Replays only these events; a void's target touches the same NPIs, so
  // it is among them.
  Ledger::ReplaySource source(ledger_, state_->snapshot.get());
  Projector projector(&source);
  projector.SkipChecks();
  std::string bytes;
  Event e;
  for (uint64_t seq : seqs) {
    ASSIGN_OR_RETURN(bool verifies,
                     ledger_->LinkVerifies(seq, state_->snapshot.get(), &bytes));
    if (!verifies || !e.ParseFromString(bytes) || e.seq() != seq) {
      return absl::DataLossError(absl::StrCat(
          "event ", seq,
          " does not verify against the hash chain (its stored hash is not "
          "SHA-256(prev_hash || stored bytes)): the log was altered"));
    }
    RETURN_IF_ERROR(projector.Apply(e));
  }

  auto owned = [&](absl::string_view key) {
    for (const std::string& npi : npis) {
      if (absl::StartsWith(key, npi) ||
          (RelationOfKey(key) == Relation::kReassignment &&
           key.substr(1, npi.size()) == npi)) {
        return true;
      }
    }
    return false;
  };
  std::map<std::string, std::string> replayed, stored;
  for (const auto& [key, timeline] : projector.changed_timelines()) {
    if (owned(key)) timeline->SerializeToString(&replayed[key]);
  }
  for (const std::string& npi : npis) {
    for (const std::string& prefix :
         {npi, TimelinePrefix(Relation::kReassignment, npi)}) {
      RETURN_IF_ERROR(ScanTimelines(
          prefix, [&](absl::string_view key, const Timeline& t) {
            t.SerializeToString(&stored[std::string(key)]);
            return true;
          }));
    }
  }
  auto r = replayed.begin();
  auto s = stored.begin();
  while (r != replayed.end() || s != stored.end()) {
    std::string why;
    std::string key;
    if (s == stored.end() || (r != replayed.end() && r->first < s->first)) {
      key = r->first;
      why = "is missing, but the events in the log give it";
    } else if (r == replayed.end() || s->first < r->first) {
      key = s->first;
      why = "is stored, but no event in the log gives it";
    } else if (r->second != s->second) {
      key = r->first;
      why = "differs from what the events in the log give";
    } else {
      ++r;
      ++s;
      continue;
    }
    return NeedsRebuild(absl::DataLossError(absl::StrCat(
        DescribeTimelineKey(key), " ", why,
        ": the projections were altered; rebuild them from the log")));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> LedgerView::SeqAtTime(absl::Time t) const {
  // recorded_at never decreases with seq: binary search.
  uint64_t lo = 0, hi = state_->head.seq;  // answer in [lo, hi]
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo + 1) / 2;
    ASSIGN_OR_RETURN(std::optional<Event> e, LoadStoredEvent(mid));
    if (!e.has_value()) {
      return absl::DataLossError(absl::StrCat("event ", mid, " is missing"));
    }
    if (ToAbslTime(e->recorded_at()) <= t) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

absl::StatusOr<std::optional<Timeline>> LedgerView::GetTimeline(
    absl::string_view key) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = ledger_->db_->Get(
      state_->Options(), state_->families->timelines,
      rocksdb::Slice(key.data(), key.size()), &value);
  return ParseTimeline(s, value, key);
}

absl::StatusOr<std::vector<std::optional<Timeline>>> LedgerView::GetTimelines(
    const std::vector<std::string>& keys) const {
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  if (!keys.empty()) {
    ledger_->db_->MultiGet(state_->Options(), state_->families->timelines,
                           keys.size(), slices.data(), values.data(),
                           statuses.data());
  }
  std::vector<std::optional<Timeline>> timelines;
  timelines.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSIGN_OR_RETURN(std::optional<Timeline> t,
                     ParseTimeline(statuses[i], values[i], keys[i]));
    timelines.push_back(std::move(t));
  }
  return timelines;
}

absl::Status LedgerView::ScanTimelines(
    absl::string_view prefix,
    const std::function<bool(absl::string_view, const Timeline&)>& fn) const {
  return ScanTimelines(prefix, nullptr, fn);
}

absl::Status LedgerView::ScanTimelines(
    absl::string_view prefix,
    const std::function<bool(absl::string_view)>& wanted,
    const std::function<bool(absl::string_view, const Timeline&)>& fn) const {
  PrefixScan scan(prefix, kTimelinePrefix, state_->snapshot.get());
  std::unique_ptr<rocksdb::Iterator> it(ledger_->db_->NewIterator(
      scan.options(), state_->families->timelines));
  rocksdb::Slice p(prefix.data(), prefix.size());
  Timeline t;
  std::string last;
  for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next()) {
    if (wanted && !wanted(ToView(it->key()))) continue;
    if (!t.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      return CorruptTimeline();
    }
    if (!fn(ToView(it->key()), t)) break;
    last.assign(it->key().data(), it->key().size());
  }
  if (it->status().IsCorruption()) {
    return DamagedProjections(
        it->status(),
        last.empty() ? absl::StrCat("the timelines from '",
                                    absl::CHexEscape(prefix), "' on")
                     : absl::StrCat("the timelines after ",
                                    DescribeTimelineKey(last)));
  }
  return FromRocks(it->status(), "scan timelines");
}

absl::Status LedgerView::ScanIndex(
    absl::string_view prefix,
    const std::function<bool(absl::string_view)>& fn) const {
  PrefixScan scan(prefix, 0, state_->snapshot.get());
  std::unique_ptr<rocksdb::Iterator> it(
      ledger_->db_->NewIterator(scan.options(), state_->families->indexes));
  rocksdb::Slice p(prefix.data(), prefix.size());
  for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next()) {
    if (!fn(ToView(it->key()))) break;
  }
  if (it->status().IsCorruption()) {
    return DamagedProjections(
        it->status(),
        absl::StrCat("the index entries from '", absl::CHexEscape(prefix),
                     "' on"));
  }
  return FromRocks(it->status(), "scan index");
}

std::unique_ptr<EventIterator> LedgerView::Read(uint64_t from_seq) const {
  return std::make_unique<Ledger::IteratorImpl>(ledger_, state_, from_seq);
}

absl::Status Ledger::ScanColumnFamily(
    rocksdb::ColumnFamilyHandle* cf, const rocksdb::Snapshot* snapshot,
    const std::function<void(absl::string_view, absl::string_view)>& fn)
    const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  ro.total_order_seek = true;   // every key, not one prefix
  ro.readahead_size = 2 << 20;  // the files are read front to back
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    fn(ToView(it->key()), ToView(it->value()));
  }
  return FromRocks(it->status(), "scan column family");
}

absl::StatusOr<uint64_t> Ledger::WarmTimelines() const {
  const std::shared_ptr<const PinnedState> state = Current();
  uint64_t bytes = 0;
  RETURN_IF_ERROR(ScanColumnFamily(
      state->families->timelines, state->snapshot.get(),
      [&](absl::string_view k, absl::string_view v) {
        bytes += k.size() + v.size();
      }));
  return bytes;
}

size_t Ledger::timeline_cache_usage() const {
  return timeline_cache_ ? timeline_cache_->GetUsage() : 0;
}

absl::Status Ledger::CheckAppendable() const {
  RETURN_IF_ERROR(CheckWritable());
  if (!tail_problem_.empty()) {
    return absl::DataLossError(absl::StrCat(
        "append refused: ", tail_problem_,
        "; nothing was appended (run verify, and restore the ledger from a "
        "backup)"));
  }
  return absl::OkStatus();
}

void Ledger::Enqueue(Writer* w) {
  writers_.push_back(w);
  queued_cv_.notify_all();
  if (writers_.size() == 1) NotifyFront();
}

void Ledger::NotifyFront() {
  if (writers_.empty()) {
    if (stop_committer_) committer_cv_.notify_all();
    return;
  }
  Writer* front = writers_.front();
  if (front->async()) {
    committer_cv_.notify_one();
  } else {
    front->cv.notify_one();
  }
}

absl::StatusOr<AppendResult> Ledger::Append(const std::vector<Event>& batch,
                                            const AppendOptions& options) {
  RETURN_IF_ERROR(CheckAppendable());
  // leveldb's writer queue: the writer at the front commits every writer
  // queued behind it (those that arrived while the previous group was
  // being written and synced) in one group.
  Writer w(&batch, &options);
  std::unique_lock<std::mutex> queue(queue_mu_);
  Enqueue(&w);
  w.cv.wait(queue, [&] { return w.done || writers_.front() == &w; });
  if (w.done) return std::move(w.result);
  WrittenGroup group = WriteNextGroup(queue, /*leader_syncs=*/true);
  queue.unlock();
  // The next group is judged and written while this one syncs (and syncs
  // with it, if it is written before this one's sync starts).
  const absl::Status synced = group.must_sync
                                  ? WaitDurable(group.written->head.seq)
                                  : absl::OkStatus();
  return CompleteGroup(std::move(group), synced, &w);
}

void Ledger::AppendAsync(std::vector<Event> batch, AppendOptions options,
                         AppendCallback done) {
  if (absl::Status refused = CheckAppendable(); !refused.ok()) {
    done(std::move(refused));
    return;
  }
  auto* w = new Writer(std::move(batch), std::move(options), std::move(done));
  std::lock_guard<std::mutex> queue(queue_mu_);
  if (!committer_.joinable()) {
    written_ = std::make_unique<GroupPipe>();
    synced_ = std::make_unique<GroupPipe>();
    committer_ = std::thread([this] { CommitterLoop(); });
    syncer_ = std::thread([this] { SyncerLoop(); });
    completer_ = std::thread([this] { CompleterLoop(); });
  }
  Enqueue(w);
}

void Ledger::CommitterLoop() {
  std::unique_lock<std::mutex> queue(queue_mu_);
  while (true) {
    committer_cv_.wait(queue, [&] {
      return (!writers_.empty() && writers_.front()->async()) ||
             (stop_committer_ && writers_.empty());
    });
    if (writers_.empty()) return;  // stopping, and nothing left to commit
    // The sync thread syncs it: the next group is written meanwhile.
    WrittenGroup group = WriteNextGroup(queue, /*leader_syncs=*/false);
    written_->Push(std::move(group));
  }
}

void Ledger::SyncerLoop() {
  while (true) {
    std::deque<WrittenGroup> groups = written_->TakeAll();
    if (groups.empty()) return;  // stopping, and all handed on
    // One sync for every group written so far.
    uint64_t sync_to = 0;
    for (const WrittenGroup& group : groups) {
      if (group.must_sync) sync_to = group.written->head.seq;
    }
    const absl::Status synced =
        sync_to > 0 ? WaitDurable(sync_to) : absl::OkStatus();
    for (WrittenGroup& group : groups) {
      group.synced = synced;
      synced_->Push(std::move(group));
    }
  }
}

void Ledger::CompleterLoop() {
  while (true) {
    std::deque<WrittenGroup> groups = synced_->TakeAll();
    if (groups.empty()) return;  // stopping, and all complete
    for (WrittenGroup& group : groups) {
      const absl::Status synced = group.synced;
      CompleteGroup(std::move(group), synced, nullptr).IgnoreError();
    }
  }
}

Ledger::WrittenGroup Ledger::WriteNextGroup(std::unique_lock<std::mutex>& queue,
                                            bool leader_syncs) {
  WrittenGroup group;
  size_t events = 0;
  for (Writer* writer : writers_) {
    // A bounded group: a huge import batch is not held up by many small
    // ones, nor they by it, beyond one group.
    if (!group.writers.empty() &&
        events + writer->batch->size() > kMaxGroupEvents) {
      break;
    }
    group.writers.push_back(writer);
    events += writer->batch->size();
  }
  // With nobody queued behind the group there is nothing to judge while it
  // syncs: a leader that syncs it itself writes it with the sync (one
  // call, as RocksDB's own group commit does).
  const bool sync_in_write =
      leader_syncs && writers_.size() == group.writers.size();
  queue.unlock();
  group.started = absl::Now();
  group.written = WriteGroup(group.writers, sync_in_write, &group.must_sync);
  if (group.written == nullptr) group.must_sync = false;
  queue.lock();
  for (size_t i = 0; i < group.writers.size(); ++i) writers_.pop_front();
  NotifyFront();
  return group;
}

absl::StatusOr<AppendResult> Ledger::CompleteGroup(WrittenGroup group,
                                                   const absl::Status& synced,
                                                   const Writer* leader) {
  const uint64_t group_head =
      group.written != nullptr ? group.written->head.seq : 0;
  if (group.written != nullptr) {
    // Views see the group only once it is durable (a later group's sync
    // covers it too: the write-ahead log is one sequence).
    if (synced.ok()) {
      Publish(std::move(group.written));
    } else {
      for (Writer* writer : group.writers) {
        if (writer->result.ok() && writer->result->written > 0) {
          writer->result = synced;
        }
      }
    }
  }
  if (options_.on_commit) {
    CommitStats stats;
    stats.batches = group.writers.size();
    for (Writer* writer : group.writers) {
      if (writer->result.ok()) stats.events_written += writer->result->written;
    }
    stats.duration = absl::Now() - group.started;
    stats.head_seq = group_head;
    options_.on_commit(stats);
  }

  // The callbacks run without the queue's lock (one may queue its
  // caller's next batch); the writers are off the queue, so no one else
  // touches them.
  std::vector<Writer*> waiting;
  for (Writer* writer : group.writers) {
    if (!writer->async()) {
      waiting.push_back(writer);
      continue;
    }
    writer->callback(std::move(writer->result));
    delete writer;
  }
  absl::StatusOr<AppendResult> result;
  if (waiting.empty()) return result;
  std::lock_guard<std::mutex> queue(queue_mu_);
  for (Writer* writer : waiting) {
    if (writer == leader) {
      result = std::move(writer->result);
    } else {
      writer->done = true;
      writer->cv.notify_one();
    }
  }
  return result;
}

absl::Status Ledger::WaitDurable(uint64_t seq) {
  std::unique_lock<std::mutex> lock(sync_mu_);
  while (synced_seq_ < seq) {
    if (syncing_) {
      sync_cv_.wait(lock);
      continue;
    }
    syncing_ = true;
    // Everything written before this read is in the log's buffer: the
    // sync covers it.
    const uint64_t target = written_seq_.load();
    lock.unlock();
    absl::Status s = FromRocks(db_->SyncWAL(), "sync the append");
    lock.lock();
    syncing_ = false;
    if (s.ok()) synced_seq_ = std::max(synced_seq_, target);
    sync_cv_.notify_all();
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

std::shared_ptr<const PinnedState> Ledger::WriteGroup(
    const std::vector<Writer*>& group, bool sync_in_write, bool* must_sync) {
  std::lock_guard<std::mutex> lock(write_mu_);
  GroupOverlay overlay;
  rocksdb::WriteBatch wb;
  Head head = written_head_;
  const absl::Time now = options_.clock();
  std::vector<Writer*> accepted;
  bool sync = false;  // a batch asked for it
  std::vector<rocksdb::Slice> id_keys;
  for (Writer* writer : group) {
    for (const Event& e : *writer->batch) id_keys.emplace_back(e.event_id());
  }
  StoredIds stored;
  stored.values.resize(id_keys.size());
  stored.statuses.resize(id_keys.size());
  if (!id_keys.empty()) {
    db_->MultiGet(rocksdb::ReadOptions(), cf_event_ids_, id_keys.size(),
                  id_keys.data(), stored.values.data(), stored.statuses.data());
  }
  size_t first_id = 0;
  for (size_t i = 0; i < group.size(); ++i) {
    Writer* writer = group[i];
    // The last batch's writes need not be remembered for the ones after it.
    writer->result = PrepareBatch(*writer->batch, *writer->options, now,
                                  /*update_overlay=*/i + 1 < group.size(),
                                  stored, first_id, &overlay, &head, &wb);
    first_id += writer->batch->size();
    if (writer->result.ok() && writer->result->written > 0) {
      accepted.push_back(writer);
      sync = sync || writer->options->sync;
    }
  }
  if (accepted.empty()) return nullptr;
  rocksdb::WriteOptions wo;
  wo.sync = sync && sync_in_write;
  *must_sync = sync && !sync_in_write;
  absl::Status written = FromRocks(db_->Write(wo, &wb), "append");
  if (!written.ok()) {
    for (Writer* writer : accepted) writer->result = written;
    return nullptr;
  }
  written_head_ = head;
  written_seq_ = head.seq;
  if (wo.sync) {
    // Durable already: nothing left to wait for.
    std::lock_guard<std::mutex> sync_lock(sync_mu_);
    synced_seq_ = std::max(synced_seq_, head.seq);
  }
  return Written();
}

absl::StatusOr<AppendResult> Ledger::PrepareBatch(
    const std::vector<Event>& batch, const AppendOptions& options,
    absl::Time now, bool update_overlay, const StoredIds& stored_ids,
    size_t first_id, GroupOverlay* overlay, Head* head_io,
    rocksdb::WriteBatch* wb_out) {
  const Head start = *head_io;
  // The database as written (earlier groups included, synced or not).
  auto start_state = std::make_shared<PinnedState>();
  start_state->head = start;
  start_state->families = families_;
  const ProjectionFamilies* families = families_.get();
  BatchSource source(this, families, overlay);
  source.SetFirstSeq(start.seq);
  source.written().reserve(batch.size());
  Projector projector(&source);
  // The batch's writes go straight into the group's batch, undone unless
  // the batch is accepted whole.
  rocksdb::WriteBatch& wb = *wb_out;
  wb.SetSavePoint();
  bool accepted = false;
  absl::Cleanup undo = [&] {
    if (accepted) {
      wb.PopSavePoint();
    } else {
      wb.RollbackToSavePoint();
    }
  };
  absl::flat_hash_map<std::string, uint64_t> batch_ids;

  const rocksdb::PinnableSlice* id_values = stored_ids.values.data() + first_id;
  const rocksdb::Status* id_statuses = stored_ids.statuses.data() + first_id;
  AppendResult result;
  result.seqs.reserve(batch.size());
  result.duplicate.reserve(batch.size());
  Head head = start;
  std::string bytes, value;
  // Keys of the random-order column families, put sorted at the end (so
  // consecutive memtable inserts share their skiplist search path).
  std::vector<std::pair<std::string, std::string>> ids;
  std::vector<std::string> streams;

  // A void naming its target by event_id gets the target's seq (an event
  // of this batch or a recorded one); a seq given too must agree.
  auto resolve_void = [&](v1::Voided* v) -> absl::Status {
    std::optional<uint64_t> seq;
    if (auto it = batch_ids.find(v->target_event_id()); it != batch_ids.end()) {
      seq = it->second;
    } else if (auto it = overlay->event_ids.find(v->target_event_id());
               it != overlay->event_ids.end()) {
      seq = it->second;
    } else {
      ASSIGN_OR_RETURN(seq, LedgerView(this, start_state).FindEventId(
                                v->target_event_id()));
    }
    if (!seq.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("voided.target_event_id: no recorded event has "
                       "event_id '",
                       v->target_event_id(), "'"));
    }
    if (v->target_seq() != 0 && v->target_seq() != *seq) {
      return absl::InvalidArgumentError(absl::StrCat(
          "voided.target_seq: ", v->target_seq(), " is not the seq of event '",
          v->target_event_id(), "' (seq ", *seq, ")"));
    }
    v->set_target_seq(*seq);
    return absl::OkStatus();
  };

  for (size_t i = 0; i < batch.size(); ++i) {
    const Event& in = batch[i];
    absl::Status valid = ValidateEvent(in);
    if (!valid.ok()) return WithEventError(valid, i);
    // The event as it would be stored: a defaulted actor, a void's target
    // resolved.
    Event candidate = WriterFields(in);
    const bool defaulted_actor = in.actor().empty();
    if (defaulted_actor) candidate.set_actor(options.default_actor);
    if (candidate.has_voided() &&
        !candidate.voided().target_event_id().empty()) {
      absl::Status resolved = resolve_void(candidate.mutable_voided());
      if (!resolved.ok()) return WithEventError(resolved, i);
    }

    // Idempotency by event_id.
    std::optional<uint64_t> existing;
    if (auto it = batch_ids.find(in.event_id()); it != batch_ids.end()) {
      existing = it->second;
    } else if (auto it = overlay->event_ids.find(in.event_id());
               it != overlay->event_ids.end()) {
      existing = it->second;
    } else if (id_statuses[i].ok()) {
      if (id_values[i].size() != 8) {
        return WithEventError(absl::DataLossError("event id index is corrupt"), i);
      }
      existing = DecodeBigEndian64(
          absl::string_view(id_values[i].data(), id_values[i].size()));
    } else if (!id_statuses[i].IsNotFound()) {
      return WithEventError(FromRocks(id_statuses[i], "read event id"), i);
    }
    if (existing.has_value()) {
      auto original = source.LoadEvent(*existing);
      if (!original.ok()) return WithEventError(original.status(), i);
      if (!original->has_value()) {
        return WithEventError(absl::DataLossError(absl::StrCat(
                             "event id index names seq ", *existing,
                             ", which is not in the log")),
                         i);
      }
      const Event recorded = WriterFields(**original);
      // An actor filled in by default is no part of what the writer said:
      // the same file sent again by another operator is a duplicate, and
      // the recorded actor stays.
      if (defaulted_actor) candidate.set_actor(recorded.actor());
      std::vector<std::string> differing = DifferingFields(recorded, candidate);
      if (!differing.empty()) {
        return WithEventError(
            absl::AlreadyExistsError(absl::StrCat(
                "event_id: '", in.event_id(),
                "' was already used for different content (seq ", *existing,
                "); differing field(s): ", absl::StrJoin(differing, ", "))),
            i);
      }
      result.seqs.push_back(*existing);
      result.duplicate.push_back(true);
      continue;
    }

    source.written().push_back(std::move(candidate));
    Event& ev = source.written().back();
    const uint64_t seq = head.seq + 1;
    ev.set_seq(seq);
    absl::Time recorded = std::max(now, head.recorded_at);
    if (options.preserve_recorded_at) {
      if (!in.has_recorded_at()) {
        return WithEventError(absl::InvalidArgumentError(
                             "recorded_at: is required when preserving it"),
                         i);
      }
      recorded = ToAbslTime(in.recorded_at());
      if (recorded < head.recorded_at) {
        return WithEventError(absl::InvalidArgumentError(
                             "recorded_at: goes backwards from the previous "
                             "event"),
                         i);
      }
    }
    *ev.mutable_recorded_at() = ToProto(recorded);

    absl::Status applied = projector.Apply(ev);
    if (!applied.ok()) return WithEventError(applied, i);
    auto npis = projector.StreamNpis(ev);
    if (!npis.ok()) return WithEventError(npis.status(), i);

    bytes.clear();
    ev.SerializeToString(&bytes);
    Hash hash = ChainHash(head.hash, bytes);
    value.assign(reinterpret_cast<const char*>(hash.data()), hash.size());
    value.append(bytes);
    const std::string key = EncodeSeq(seq);
    wb.Put(cf_events_, key, value);
    ids.emplace_back(ev.event_id(), key);
    for (const std::string& npi : *npis) streams.push_back(StreamKey(npi, seq));
    batch_ids.emplace(ev.event_id(), seq);
    result.seqs.push_back(seq);
    result.duplicate.push_back(false);
    ++result.written;
    head.seq = seq;
    head.hash = hash;
    head.recorded_at = recorded;
  }

  // A batch whose events are all recorded already is a retry of one that
  // succeeded (a client that lost the reply): its original seqs are the
  // answer, whatever the expected version says now.
  if (result.written > 0 && options.expected.has_value()) {
    uint64_t version = 0;
    if (auto it = overlay->streams.find(options.expected->npi);
        it != overlay->streams.end()) {
      version = it->second;
    } else {
      ASSIGN_OR_RETURN(version, LedgerView(this, start_state)
                                    .StreamVersion(options.expected->npi));
    }
    if (version != options.expected->version) {
      return WithEventError(
          absl::AbortedError(absl::StrCat(
              "expected_version: stream ", options.expected->npi,
              " is at version ", version, ", not the expected ",
              options.expected->version, " (someone appended meanwhile)")),
          std::nullopt);
    }
  }

  if (result.written > 0) {
    uint64_t blamed = 0;
    absl::Status coherent = projector.CheckTimelines(&blamed);
    if (!coherent.ok()) {
      // Batch events that were written have seqs start.seq+1.., in order.
      size_t index = 0;
      for (size_t i = 0; i < result.seqs.size(); ++i) {
        if (!result.duplicate[i] && result.seqs[i] == blamed) index = i;
      }
      return WithEventError(coherent, index);
    }
    std::sort(ids.begin(), ids.end());
    for (const auto& [id, key] : ids) wb.Put(cf_event_ids_, id, key);
    std::sort(streams.begin(), streams.end());
    for (const std::string& key : streams) {
      wb.Put(cf_streams_, key, rocksdb::Slice());
    }
    projector.WriteTo(&wb, families->timelines, families->indexes);
    if (update_overlay) {
      for (const auto& [key, timeline] : projector.changed_timelines()) {
        overlay->timelines[key] = *timeline;
      }
      for (const std::string& key : streams) {
        const absl::string_view k(key);
        uint64_t& latest = overlay->streams[NpiOfStreamKey(k)];
        latest = std::max(latest, SeqOfStreamKey(k));
      }
      for (Event& e : source.written()) {
        overlay->event_ids[e.event_id()] = e.seq();
        const uint64_t seq = e.seq();
        overlay->events.emplace(seq, std::move(e));
      }
    }
    *head_io = head;
  }
  accepted = true;
  result.head = head;
  return result;
}

namespace {

// Cancelled if `cancel` is set, looked at on every 4096th call (`call`
// counts them from 0).
absl::Status CheckCancel(const std::atomic<bool>* cancel, uint64_t call) {
  if (cancel != nullptr && (call & 4095) == 0 &&
      cancel->load(std::memory_order_relaxed)) {
    return absl::CancelledError("verify: cancelled");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<VerifyReport> Ledger::VerifyChain(
    const std::atomic<bool>* cancel) const {
  uint64_t calls = 0;
  VerifyReport report;
  const std::shared_ptr<const PinnedState> view = Current();
  report.head = view->head;
  rocksdb::ReadOptions ro = view->Options();
  // Up to the view's head: appends may go on meanwhile.
  const std::string upper = EncodeSeq(view->head.seq + 1);
  const rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_events_));
  Hash prev = kZeroHash;
  uint64_t expected = 1;
  Event e;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++expected) {
    RETURN_IF_ERROR(CheckCancel(cancel, calls++));
    auto fail = [&](uint64_t seq, std::string why) {
      report.first_bad_seq = seq;
      report.problem = std::move(why);
    };
    if (it->key().size() != 8) {
      fail(expected, "a key in the events column family is not a seq");
      break;
    }
    uint64_t seq = DecodeBigEndian64(ToView(it->key()));
    if (seq != expected) {
      fail(expected, absl::StrCat("seq ", expected, " is missing (next is ",
                                  seq, ")"));
      break;
    }
    Hash stored;
    absl::string_view bytes;
    if (!SplitRecord(ToView(it->value()), &stored, &bytes)) {
      fail(seq, "the stored record is too short");
      break;
    }
    if (ChainHash(prev, bytes) != stored) {
      fail(seq,
           "the stored hash does not match SHA-256(prev_hash || stored "
           "bytes): this record (or its predecessor's hash) was altered");
      break;
    }
    if (!e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
        e.seq() != seq) {
      fail(seq, "the stored bytes are not the event with this seq");
      break;
    }
    prev = stored;
    ++report.events_checked;
  }
  if (report.first_bad_seq == 0 && it->status().IsCorruption()) {
    report.first_bad_seq = expected;
    report.problem = std::string(LogDamage(expected, it->status()).message());
    return report;
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "verify"));
  if (report.first_bad_seq == 0 && report.events_checked != report.head.seq) {
    report.first_bad_seq = report.events_checked + 1;
    report.problem = "the log ends before the head";
  }
  if (report.first_bad_seq == 0 && prev != report.head.hash) {
    report.first_bad_seq = report.head.seq;
    report.problem = "the head hash changed while verifying";
  }
  return report;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
Ledger::DumpProjections() const {
  std::vector<std::pair<std::string, std::string>> out;
  const std::shared_ptr<const PinnedState> state = Current();
  for (auto family :
       {std::pair{state->families->timelines, "timelines/"},
        std::pair{state->families->indexes, "indexes/"}}) {
    // Not a structured binding: C++17 lambdas cannot capture those.
    const char* name = family.second;
    RETURN_IF_ERROR(ScanColumnFamily(
        family.first, state->snapshot.get(),
        [&](absl::string_view k, absl::string_view v) {
          out.emplace_back(absl::StrCat(name, k), std::string(v));
        }));
  }
  return out;
}

namespace {

// Hands memory the process has freed back to the system. glibc keeps freed
// memory for reuse, so without this the memory a rebuild frees (or the
// cache it empties) stays resident for the rest of the process.
void ReleaseFreeMemory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

// Bytes of memory one event's share of the projections takes while a
// replay holds them (measured: arena timelines and index keys in hash maps,
// with their overhead), to size the passes.
constexpr uint64_t kRebuildBytesPerEvent = 280;

// A scratch directory for table files, removed when it goes out of scope.
class ScratchDir {
 public:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    std::filesystem::create_directories(path_, ec);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Writes `rows` sorted rows, produced by put(i, writer), to a table file at
// `path` and adds it to `files`; writes nothing for no rows.
absl::Status WriteTableFile(
    const rocksdb::Options& options, const std::string& path, size_t rows,
    const std::function<rocksdb::Status(size_t, rocksdb::SstFileWriter*)>& put,
    std::vector<std::string>* files) {
  if (rows == 0) return absl::OkStatus();
  // Keep the written pages in the OS cache: the first queries after a
  // rebuild read exactly these files.
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options,
                                /*column_family=*/nullptr,
                                /*invalidate_page_cache=*/false);
  RETURN_IF_ERROR(FromRocks(writer.Open(path), "write " + path));
  for (size_t i = 0; i < rows; ++i) {
    RETURN_IF_ERROR(FromRocks(put(i, &writer), "write " + path));
  }
  RETURN_IF_ERROR(FromRocks(writer.Finish(), "write " + path));
  files->push_back(path);
  return absl::OkStatus();
}

// Writes a rebuild pass's projections, sorted, as one table file per column
// family in `dir`, and adds the files' paths.
absl::Status WritePass(const Projector& projector, const std::string& dir,
                       uint32_t pass, const rocksdb::Options& timeline_options,
                       const rocksdb::Options& index_options,
                       std::vector<std::string>* timeline_files,
                       std::vector<std::string>* index_files) {
  const std::string suffix = absl::StrCat("-", pass, ".sst");
  const auto timelines = projector.SortedTimelines();
  std::string value;
  RETURN_IF_ERROR(WriteTableFile(
      timeline_options, dir + "/timelines" + suffix, timelines.size(),
      [&](size_t i, rocksdb::SstFileWriter* w) {
        value.clear();
        timelines[i].second->SerializeToString(&value);
        return w->Put(*timelines[i].first, value);
      },
      timeline_files));
  const auto index_keys = projector.SortedIndexKeys();
  RETURN_IF_ERROR(WriteTableFile(
      index_options, dir + "/indexes" + suffix, index_keys.size(),
      [&](size_t i, rocksdb::SstFileWriter* w) {
        return w->Put(*index_keys[i], rocksdb::Slice());
      },
      index_files));
  return absl::OkStatus();
}

}  // namespace


uint32_t Ledger::ReplayPasses(uint64_t events, uint64_t shares) const {
  if (options_.rebuild_passes > 0) {
    return std::min<uint32_t>(64, options_.rebuild_passes);
  }
  const uint64_t budget =
      (std::max<uint64_t>(shares, options_.rebuild_memory_mb) << 20) / shares;
  return static_cast<uint32_t>(
      std::min<uint64_t>(64, events * kRebuildBytesPerEvent / budget + 1));
}

namespace {

// Threads a replay runs on: this machine's cores, at most two (the log's
// reads and the projectors' memory do not gain from more).
uint32_t ReplayThreads() {
  return std::clamp<uint32_t>(std::thread::hardware_concurrency(), 1, 2);
}

// Runs fn(i) for i in [0, n) on n threads; the first error wins.
absl::Status RunThreads(uint32_t n,
                        const std::function<absl::Status(uint32_t)>& fn) {
  std::vector<absl::Status> status(n);
  std::vector<std::thread> threads;
  for (uint32_t i = 1; i < n; ++i) {
    threads.emplace_back([&, i] { status[i] = fn(i); });
  }
  status[0] = fn(0);
  for (std::thread& t : threads) t.join();
  for (const absl::Status& st : status) RETURN_IF_ERROR(st);
  return absl::OkStatus();
}

// Reports a replay's progress from several threads: each counts events
// locally and adds them in chunks; reports never go backwards.
class ReplayProgress {
 public:
  ReplayProgress(const std::function<void(uint64_t, uint64_t)>& report,
                 uint64_t total, uint64_t units)
      : report_(report), total_(total), units_(std::max<uint64_t>(1, units)) {}
  // Call once per event with the thread's own counter.
  void Tick(uint64_t* local) {
    if (++*local == kLocalChunk) Flush(local);
  }
  void Flush(uint64_t* local) {
    if (!report_ || *local == 0) {
      *local = 0;
      return;
    }
    const uint64_t before = done_.fetch_add(*local);
    const uint64_t after = before + *local;
    *local = 0;
    if (before / kReplayChunk == after / kReplayChunk) return;
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t at = std::min(total_, after * total_ / units_);
    if (at > reported_) {
      reported_ = at;
      report_(at, total_);
    }
  }

 private:
  static constexpr uint64_t kLocalChunk = 4096;
  const std::function<void(uint64_t, uint64_t)>& report_;
  const uint64_t total_, units_;
  std::atomic<uint64_t> done_{0};
  std::mutex mu_;
  uint64_t reported_ = 0;  // guarded by mu_
};

absl::Status ParseEvent(absl::string_view bytes, uint64_t seq, Event* e) {
  if (e->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::OkStatus();
  }
  return seq == 0 ? absl::InternalError(
                        "rebuild: a spilled event is corrupt (disk error?)")
                  : absl::DataLossError(
                        absl::StrCat("event ", seq, " is corrupt"));
}

}  // namespace

absl::Status Ledger::ReadLog(
    uint64_t from, uint64_t to,
    const std::function<absl::Status(uint64_t, absl::string_view)>& fn) const {
  rocksdb::ReadOptions scan;
  scan.fill_cache = false;  // read once; keep the cache for queries
  scan.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(scan, cf_events_));
  uint64_t next = from;  // the first seq not yet read
  for (it->Seek(EncodeSeq(from)); it->Valid(); it->Next()) {
    const uint64_t seq = DecodeBigEndian64(ToView(it->key()));
    if (seq > to) break;
    Hash hash;
    absl::string_view bytes;
    if (!SplitRecord(ToView(it->value()), &hash, &bytes)) {
      return absl::DataLossError(absl::StrCat("event ", seq, " is corrupt"));
    }
    RETURN_IF_ERROR(fn(seq, bytes));
    next = seq + 1;
  }
  if (it->status().IsCorruption()) return LogDamage(next, it->status());
  return FromRocks(it->status(), "read the log");
}

absl::Status Ledger::LogDamage(uint64_t first, const rocksdb::Status& s) const {
  // A damaged table block holds consecutive seqs: the stretch ends before
  // the first seq that reads again (or is not there).
  constexpr uint64_t kProbes = 1 << 14;
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::string value;
  uint64_t last = first;
  bool ended = false;
  for (uint64_t seq = first + 1; seq - first <= kProbes; ++seq) {
    if (!db_->Get(ro, cf_events_, EncodeSeq(seq), &value).IsCorruption()) {
      ended = true;
      break;
    }
    last = seq;
  }
  std::string range = last == first
                          ? absl::StrCat("seq ", first)
                          : absl::StrCat("seqs ", first, " to ", last);
  if (!ended) absl::StrAppend(&range, " and perhaps more after");
  return absl::DataLossError(absl::StrCat(
      "the log cannot be read at ", range,
      ": the events table is damaged there (RocksDB: ", s.ToString(),
      "); restore the ledger from a backup (provledger restore)"));
}

namespace {

// A hash of a set of entries that does not depend on their order: the
// lane-wise sum of two 64-bit hashes of each entry (and their count), so
// that the log's view of an index and the index itself, each read in its
// own order, can be compared in one sequential pass over each. The hashes
// are Abseil's, seeded anew in each process: both sides of a comparison
// are computed in the same one, and no one can aim at a collision.
class SetDigest {
 public:
  void Add(absl::string_view a, absl::string_view b = {}) {
    sum_[0] += absl::HashOf(a, b, 0x6c6f67);
    sum_[1] += absl::HashOf(b, a, 0x696478);
    ++count_;
  }
  SetDigest& operator+=(const SetDigest& o) {
    sum_[0] += o.sum_[0];
    sum_[1] += o.sum_[1];
    count_ += o.count_;
    return *this;
  }
  bool operator==(const SetDigest& o) const {
    return count_ == o.count_ && sum_ == o.sum_;
  }

 private:
  std::array<uint64_t, 2> sum_{};
  uint64_t count_ = 0;
};

}  // namespace

// What the log says the event_ids and streams indexes hold, as set
// digests, gathered event by event from up to `readers` threads (one slot
// each).
class Ledger::LogIndexDigests {
 public:
  LogIndexDigests(const Ledger* ledger, uint32_t readers)
      : slots_(readers), source_(ledger) {
    for (Slot& s : slots_) s.projector = std::make_unique<Projector>(&source_);
  }
  absl::Status Add(uint32_t reader, const Event& e) {
    Slot& s = slots_[reader];
    s.ids.Add(e.event_id(), EncodeSeq(e.seq()));
    ASSIGN_OR_RETURN(std::vector<std::string> npis,
                     s.projector->StreamNpis(e));
    for (const std::string& npi : npis) s.streams.Add(StreamKey(npi, e.seq()));
    return absl::OkStatus();
  }
  void Sum(SetDigest* ids, SetDigest* streams) const {
    for (const Slot& s : slots_) {
      *ids += s.ids;
      *streams += s.streams;
    }
  }

 private:
  struct Slot {
    std::unique_ptr<Projector> projector;  // for StreamNpis only
    SetDigest ids, streams;
  };
  std::vector<Slot> slots_;
  ReplaySource source_;  // thread-safe: point reads of the log
};

absl::Status Ledger::CheckLogIndexes(const PinnedState& state,
                                     rocksdb::WriteBatch* repair,
                                     const LogIndexDigests* expected) const {
  // The fast path: set digests of what the log says the indexes hold (as
  // a replay computes them, or here) and of what they hold, each in one
  // sequential pass. Only when they differ is each entry looked up
  // (below), to name the difference and repair it.
  {
    LogIndexDigests computed(this, 1);
    if (expected == nullptr) {
      Event e;
      RETURN_IF_ERROR(ReadLog(1, state.head.seq,
                              [&](uint64_t seq, absl::string_view bytes) {
        RETURN_IF_ERROR(ParseEvent(bytes, seq, &e));
        return computed.Add(0, e);
      }));
      expected = &computed;
    }
    SetDigest want_ids, want_streams, have_ids, have_streams;
    expected->Sum(&want_ids, &want_streams);
    rocksdb::ReadOptions all = state.Options();
    all.total_order_seek = true;
    all.fill_cache = false;
    for (auto [cf, digest, name] :
         {std::tuple{cf_event_ids_, &have_ids, "event_ids"},
          std::tuple{cf_streams_, &have_streams, "streams"}}) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(all, cf));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (cf == cf_event_ids_) {
          digest->Add(ToView(it->key()), ToView(it->value()));
        } else {
          digest->Add(ToView(it->key()));
        }
      }
      if (it->status().IsCorruption()) {
        return absl::DataLossError(absl::StrCat(
            "the ", name, " index is damaged (RocksDB: ",
            it->status().ToString(),
            "); restore the ledger from a backup (provledger restore)"));
      }
      RETURN_IF_ERROR(FromRocks(it->status(), "read the log's indexes"));
    }
    if (want_ids == have_ids && want_streams == have_streams) {
      return absl::OkStatus();
    }
  }

  constexpr size_t kChunk = 1024;
  const uint64_t total = state.head.seq;
  rocksdb::ReadOptions ro = state.Options();
  ro.fill_cache = false;
  ReplaySource source(this, ro.snapshot);
  Projector projector(&source);
  std::optional<std::string> problem;
  auto found = [&](std::string why) {
    if (!problem.has_value()) problem = std::move(why);
  };
  // Repairs made so far (id -> seq), which the stored entries do not show.
  absl::flat_hash_map<std::string, uint64_t> fixed;
  uint64_t distinct_ids = 0, stream_entries = 0, added_ids = 0, added_streams = 0;
  struct Pending {
    uint64_t seq;
    std::string id;
    std::vector<std::string> stream_keys;
  };
  std::vector<Pending> chunk;
  auto same_id = [&](uint64_t seq, const std::string& id) -> absl::StatusOr<bool> {
    ASSIGN_OR_RETURN(std::optional<Event> e, LoadStoredEvent(seq, ro.snapshot));
    return e.has_value() && e->event_id() == id;
  };
  auto flush = [&]() -> absl::Status {
    std::vector<rocksdb::Slice> ids, streams;
    for (const Pending& p : chunk) {
      ids.emplace_back(p.id);
      for (const std::string& k : p.stream_keys) streams.emplace_back(k);
    }
    std::vector<rocksdb::PinnableSlice> id_values(ids.size()),
        stream_values(streams.size());
    std::vector<rocksdb::Status> id_status(ids.size()),
        stream_status(streams.size());
    db_->MultiGet(ro, cf_event_ids_, ids.size(), ids.data(), id_values.data(),
                  id_status.data());
    db_->MultiGet(ro, cf_streams_, streams.size(), streams.data(),
                  stream_values.data(), stream_status.data());
    size_t k = 0;
    for (size_t i = 0; i < chunk.size(); ++i) {
      const Pending& p = chunk[i];
      std::optional<uint64_t> indexed;
      if (auto it = fixed.find(p.id); it != fixed.end()) {
        indexed = it->second;
      } else if (id_status[i].ok() && id_values[i].size() == 8) {
        indexed = DecodeBigEndian64(ToView(id_values[i]));
      } else if (id_status[i].IsCorruption()) {
        return DamagedLogIndex(id_status[i], "event_ids", p.seq);
      } else if (!id_status[i].ok() && !id_status[i].IsNotFound()) {
        return FromRocks(id_status[i], "read the event_ids index");
      }
      const std::string quoted = absl::StrCat("'", absl::CHexEscape(p.id), "'");
      if (indexed == p.seq) {
        ++distinct_ids;
      } else {
        // Another event with this id: the log itself holds a duplicate
        // (recorded while the index was damaged). The index keeps the
        // first.
        bool duplicate = false;
        if (indexed.has_value()) {
          ASSIGN_OR_RETURN(duplicate, same_id(*indexed, p.id));
        }
        auto duplicated = [&](uint64_t first, uint64_t again) {
          return absl::StrCat("event_id ", quoted, " is used by seq ", first,
                              " and again by seq ", again,
                              ": the log holds a duplicate, recorded while "
                              "the event_ids index was damaged");
        };
        if (duplicate && *indexed < p.seq) {
          found(duplicated(*indexed, p.seq));
        } else {
          ++distinct_ids;
          if (duplicate) {
            found(duplicated(p.seq, *indexed));
          } else if (!indexed.has_value()) {
            found(absl::StrCat("the event_ids index has no entry for event ",
                               quoted, " (seq ", p.seq,
                               "), which the log holds: the event could be "
                               "stored twice"));
            ++added_ids;
          } else {
            found(absl::StrCat("the event_ids index names seq ", *indexed,
                               " for event ", quoted, ", which is seq ",
                               p.seq));
          }
          if (repair != nullptr) {
            repair->Put(cf_event_ids_, p.id, EncodeSeq(p.seq));
          }
          fixed[p.id] = p.seq;
        }
      }
      for (const std::string& key : p.stream_keys) {
        const rocksdb::Status& st = stream_status[k++];
        ++stream_entries;
        if (st.ok()) continue;
        if (st.IsCorruption()) return DamagedLogIndex(st, "streams", p.seq);
        if (!st.IsNotFound()) return FromRocks(st, "read the streams index");
        found(absl::StrCat("the stream of NPI ", NpiOfStreamKey(key),
                           " has no entry for seq ", p.seq,
                           ", an event that touches it"));
        ++added_streams;
        if (repair != nullptr) repair->Put(cf_streams_, key, rocksdb::Slice());
      }
    }
    chunk.clear();
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(ReadLog(1, total, [&](uint64_t seq, absl::string_view bytes) {
    Event e;
    RETURN_IF_ERROR(ParseEvent(bytes, seq, &e));
    Pending p{seq, e.event_id(), {}};
    ASSIGN_OR_RETURN(std::vector<std::string> npis, projector.StreamNpis(e));
    for (const std::string& npi : npis) {
      p.stream_keys.push_back(StreamKey(npi, seq));
    }
    chunk.push_back(std::move(p));
    return chunk.size() >= kChunk ? flush() : absl::OkStatus();
  }));
  RETURN_IF_ERROR(flush());
  if (problem.has_value() && repair == nullptr) {
    return absl::DataLossError(*problem);
  }

  // Entries the log does not account for.
  auto extras = [&](rocksdb::ColumnFamilyHandle* cf, uint64_t expected,
                    const std::function<absl::StatusOr<std::optional<std::string>>(
                        absl::string_view, absl::string_view)>& check)
      -> absl::Status {
    rocksdb::ReadOptions all = ro;
    all.total_order_seek = true;
    uint64_t stored = 0;
    {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(all, cf));
      for (it->SeekToFirst(); it->Valid(); it->Next()) ++stored;
      RETURN_IF_ERROR(FromRocks(it->status(), "read the log's indexes"));
    }
    if (stored == expected) return absl::OkStatus();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(all, cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ASSIGN_OR_RETURN(std::optional<std::string> why,
                       check(ToView(it->key()), ToView(it->value())));
      if (!why.has_value()) continue;
      found(*std::move(why));
      if (repair == nullptr) return absl::OkStatus();
      repair->Delete(cf, it->key());
    }
    return FromRocks(it->status(), "read the log's indexes");
  };
  RETURN_IF_ERROR(extras(
      cf_event_ids_, distinct_ids - added_ids,
      [&](absl::string_view id, absl::string_view value)
          -> absl::StatusOr<std::optional<std::string>> {
        const std::string quoted = absl::StrCat("'", absl::CHexEscape(id), "'");
        if (value.size() == 8) {
          const uint64_t seq = DecodeBigEndian64(value);
          if (seq > total) {
            return absl::StrCat("the event_ids index names seq ", seq,
                                " for event ", quoted,
                                ", after the log's last event (seq ", total,
                                "): events were removed from the log, or "
                                "the index was altered");
          }
          ASSIGN_OR_RETURN(bool same, same_id(seq, std::string(id)));
          if (same) return std::nullopt;
          return absl::StrCat("the event_ids index names seq ", seq,
                              " for event ", quoted,
                              ", which no event in the log has");
        }
        return absl::StrCat("the event_ids index entry for ", quoted,
                            " is not a seq");
      }));
  RETURN_IF_ERROR(extras(
      cf_streams_, stream_entries - added_streams,
      [&](absl::string_view key, absl::string_view)
          -> absl::StatusOr<std::optional<std::string>> {
        const std::string npi(key.size() == kStreamPrefix + 8
                                  ? NpiOfStreamKey(key)
                                  : absl::string_view());
        if (!npi.empty()) {
          const uint64_t seq = SeqOfStreamKey(key);
          if (seq > total) {
            return absl::StrCat("the stream of NPI ", npi, " lists seq ", seq,
                                ", after the log's last event (seq ", total,
                                "): events were removed from the log, or "
                                "the index was altered");
          }
          ASSIGN_OR_RETURN(std::optional<Event> e,
                           LoadStoredEvent(seq, ro.snapshot));
          if (e.has_value()) {
            ASSIGN_OR_RETURN(std::vector<std::string> npis,
                             projector.StreamNpis(*e));
            if (std::find(npis.begin(), npis.end(), npi) != npis.end()) {
              return std::nullopt;
            }
          }
          return absl::StrCat("the stream of NPI ", npi, " lists seq ", seq,
                              ", an event that does not touch it");
        }
        return absl::StrCat("the streams index holds a malformed key '",
                            absl::CHexEscape(key), "'");
      }));
  if (problem.has_value() && repair == nullptr) {
    return absl::DataLossError(*problem);
  }
  return absl::OkStatus();
}

absl::Status Ledger::ReplayInPasses(
    uint64_t total, uint32_t passes, uint32_t workers,
    const std::string& scratch_dir,
    const std::function<void(uint64_t, uint64_t)>& progress,
    const std::function<absl::Status(std::unique_ptr<Projector>, uint32_t)>&
        on_pass,
    const std::function<absl::Status(uint32_t, const Event&)>& on_read) const {
  // Replays into memory, never reading stored projections. A log that fits
  // is replayed as it is read. A larger one goes in passes: pass p builds
  // the relationships whose timeline key hashes to p (a void goes with its
  // target).
  if (passes <= 1) {
    ReplayProgress meter(progress, total, total);
    ReplaySource source(this);
    auto projector = std::make_unique<Projector>(&source);
    projector->SkipChecks();
    Event e;
    uint64_t ticks = 0;
    RETURN_IF_ERROR(ReadLog(1, total, [&](uint64_t seq, absl::string_view b) {
      meter.Tick(&ticks);
      RETURN_IF_ERROR(ParseEvent(b, seq, &e));
      if (on_read) RETURN_IF_ERROR(on_read(0, e));
      return projector->Apply(e);
    }));
    meter.Flush(&ticks);
    return on_pass(std::move(projector), 0);
  }

  // Split: each reader thread reads its own range of the log and spills
  // every event, as length-prefixed stored bytes, to its file for the
  // event's pass. Replay: each worker takes the next pass, reads that
  // pass's files in range order (so in seq order), and hands the projector
  // on. Every event is read from the log once, parsed twice.
  const uint32_t readers = ReplayThreads();
  ReplayProgress meter(progress, total, 2 * total);
  auto spill_path = [&](uint32_t reader, uint32_t pass) {
    return absl::StrCat(scratch_dir, "/events-", pass, "-", reader);
  };
  std::vector<std::vector<std::FILE*>> spill(
      readers, std::vector<std::FILE*>(passes, nullptr));
  auto close_spills = absl::MakeCleanup([&] {
    for (auto& files : spill) {
      for (std::FILE* f : files) {
        if (f != nullptr) std::fclose(f);
      }
    }
  });
  for (uint32_t r = 0; r < readers; ++r) {
    for (uint32_t pass = 0; pass < passes; ++pass) {
      std::FILE* f = std::fopen(spill_path(r, pass).c_str(), "w+b");
      if (f == nullptr) {
        return absl::InternalError(absl::StrCat("rebuild: cannot create ",
                                                spill_path(r, pass), ": ",
                                                std::strerror(errno)));
      }
      std::setvbuf(f, nullptr, _IOFBF, 256 << 10);  // fewer syscalls
      spill[r][pass] = f;
    }
  }

  std::vector<uint8_t> pass_of(total + 1);  // each reader writes its range
  auto pass_of_key = [&](const std::string& key) {
    return static_cast<uint8_t>(absl::HashOf(key) % passes);
  };
  RETURN_IF_ERROR(RunThreads(readers, [&](uint32_t r) -> absl::Status {
    const uint64_t from = 1 + total * r / readers;
    const uint64_t to = total * (r + 1) / readers;
    Event e;
    uint64_t ticks = 0;
    RETURN_IF_ERROR(ReadLog(from, to, [&](uint64_t seq, absl::string_view b) {
      meter.Tick(&ticks);
      RETURN_IF_ERROR(ParseEvent(b, seq, &e));
      if (on_read) RETURN_IF_ERROR(on_read(r, e));
      uint8_t pass = 0;
      if (e.body_case() != Event::kVoided) {
        pass = pass_of_key(TimelineOf(e).key);
      } else if (const uint64_t target = e.voided().target_seq();
                 target >= from && target < seq) {
        pass = pass_of[target];
      } else if (target >= 1 && target < from) {  // another reader's range
        ASSIGN_OR_RETURN(std::optional<Event> t, LoadStoredEvent(target, nullptr));
        if (t.has_value() && t->body_case() != Event::kVoided) {
          pass = pass_of_key(TimelineOf(*t).key);
        }
      }  // else: a void of nothing, which its replay reports
      pass_of[seq] = pass;
      const uint32_t size = static_cast<uint32_t>(b.size());
      std::FILE* f = spill[r][pass];
      if (std::fwrite(&size, sizeof size, 1, f) != 1 ||
          std::fwrite(b.data(), 1, size, f) != size) {
        return absl::InternalError(absl::StrCat(
            "rebuild: cannot write ", spill_path(r, pass), " (disk full?)"));
      }
      return absl::OkStatus();
    }));
    meter.Flush(&ticks);
    return absl::OkStatus();
  }));
  pass_of = {};

  std::atomic<uint32_t> next_pass{0};
  std::atomic<bool> failed{false};
  return RunThreads(
      std::clamp<uint32_t>(workers, 1, passes), [&](uint32_t) -> absl::Status {
        ReplaySource source(this);
        Event e;
        std::string bytes;
        uint64_t ticks = 0;
        for (uint32_t pass = next_pass++; pass < passes && !failed;
             pass = next_pass++) {
          auto projector = std::make_unique<Projector>(&source);
          projector->SkipChecks();
          for (uint32_t r = 0; r < readers; ++r) {
            std::FILE* f = spill[r][pass];
            std::rewind(f);
            uint32_t size = 0;
            while (std::fread(&size, sizeof size, 1, f) == 1) {
              bytes.resize(size);
              if (std::fread(bytes.data(), 1, size, f) != size) {
                failed = true;
                return absl::InternalError(absl::StrCat(
                    "rebuild: ", spill_path(r, pass), " ends inside a record"));
              }
              meter.Tick(&ticks);
              absl::Status st = ParseEvent(bytes, 0, &e);
              if (st.ok()) st = projector->Apply(e);
              if (!st.ok()) {
                failed = true;
                return st;
              }
            }
            if (std::ferror(f)) {
              failed = true;
              return absl::InternalError(
                  absl::StrCat("rebuild: cannot read ", spill_path(r, pass)));
            }
            std::fclose(f);
            spill[r][pass] = nullptr;
            std::filesystem::remove(spill_path(r, pass));
          }
          meter.Flush(&ticks);
          absl::Status st = on_pass(std::move(projector), pass);
          if (!st.ok()) {
            failed = true;
            return st;
          }
        }
        return absl::OkStatus();
      });
}

absl::Status Ledger::Rebuild(
    const std::function<void(uint64_t, uint64_t)>& progress) {
  RETURN_IF_ERROR(CheckWritable());
  std::lock_guard<std::mutex> maintenance(maintenance_mu_);
  std::lock_guard<std::mutex> lock(write_mu_);
  const std::shared_ptr<const ProjectionFamilies> old_families = families_;
  rocksdb::WriteOptions sync;
  sync.sync = true;
  // Everything up to the swap below builds beside the current projections:
  // a rebuild that fails before it (a damaged log, a full disk) leaves the
  // ledger as it was. The log's own indexes are repaired in place, in the
  // write that finishes the rebuild: only entries that disagree with the
  // log change.
  rocksdb::WriteBatch finish;
  const std::shared_ptr<const PinnedState> state = Written();
  // The replay reads the log past the caches: give the memory they hold
  // unused back to the system before the replay takes its own.
  block_cache_->EraseUnRefEntries();
  if (timeline_cache_) timeline_cache_->EraseUnRefEntries();
  ReleaseFreeMemory();

  // Replay the log into memory (see ReplayInPasses) and write each pass's
  // projections, sorted, as table files that are then loaded into the
  // column families: no memtable inserts, no write-ahead log. Each worker
  // writes its pass's files itself, while the other worker replays.
  // Every event written, a group still syncing included.
  const uint64_t total = written_head_.seq;
  const uint32_t workers = ReplayThreads();
  const uint32_t passes = ReplayPasses(total, /*shares=*/workers);
  ScratchDir scratch(db_->GetName() + "/rebuild.tmp");
  std::vector<std::string> timeline_files, index_files;
  std::mutex files_mu;
  // A table builder puts every block it writes into the compressed block
  // cache (the timeline cache), under the key of the file it writes; the
  // files are renumbered when loaded, so queries would never find those
  // blocks, which would only crowd out the ones they read (at 1M providers
  // 470 MB of the 512 MiB cache). The files are written without it.
  rocksdb::Options timeline_options =
      db_->GetOptions(old_families->timelines);
  if (const auto* table =
          timeline_options.table_factory
              ->GetOptions<rocksdb::BlockBasedTableOptions>();
      table != nullptr && table->block_cache_compressed != nullptr) {
    rocksdb::BlockBasedTableOptions without_cache = *table;
    without_cache.block_cache_compressed = nullptr;
    timeline_options.table_factory.reset(
        rocksdb::NewBlockBasedTableFactory(without_cache));
  }
  const rocksdb::Options index_options =
      db_->GetOptions(old_families->indexes);
  // What the log says its own indexes hold, gathered as it is replayed.
  LogIndexDigests log_indexes(this, std::max<uint32_t>(1, ReplayThreads()));
  RETURN_IF_ERROR(ReplayInPasses(
      total, passes, workers, scratch.path(), progress,
      [&](std::unique_ptr<Projector> projector, uint32_t pass) {
        std::vector<std::string> timelines, indexes;
        RETURN_IF_ERROR(WritePass(*projector, scratch.path(), pass,
                                  timeline_options, index_options, &timelines,
                                  &indexes));
        std::lock_guard<std::mutex> lock(files_mu);
        timeline_files.insert(timeline_files.end(), timelines.begin(),
                              timelines.end());
        index_files.insert(index_files.end(), indexes.begin(), indexes.end());
        return absl::OkStatus();
      },
      [&](uint32_t reader, const Event& e) {
        return log_indexes.Add(reader, e);
      }));
  RETURN_IF_ERROR(CheckLogIndexes(*state, &finish, &log_indexes));

  // Swap in fresh column families holding the files: the old ones are
  // dropped (instant, whatever their size: no deletion to compact away)
  // but stay readable through their handles, which live as long as a view
  // that reads them. A crash from here on leaves the rebuild mark, and
  // Open recreates a missing family.
  RETURN_IF_ERROR(FromRocks(db_->Put(sync, cf_default_, kMetaRebuilding, "1"),
                            "mark rebuild"));
  auto families = std::make_shared<ProjectionFamilies>();
  families->db = db_.get();
  for (auto [i, old, handle] :
       {std::tuple{kTimelinesCf, old_families->timelines, &families->timelines},
        std::tuple{kIndexesCf, old_families->indexes, &families->indexes}}) {
    RETURN_IF_ERROR(FromRocks(db_->DropColumnFamily(old), "drop projections"));
    RETURN_IF_ERROR(FromRocks(
        db_->CreateColumnFamily(descriptors_[i].options, descriptors_[i].name,
                                handle),
        "recreate projections"));
  }
  rocksdb::IngestExternalFileOptions ingest;
  ingest.move_files = true;
  // The families are new: no snapshot has anything in them to be kept
  // from. Without this, the ledger's snapshots would make the files take a
  // global seqno, and RocksDB would then rewrite every one of them in the
  // background (a "bottommost files" compaction to zero it).
  ingest.snapshot_consistency = false;
  for (auto [cf, files] : {std::pair{families->timelines, &timeline_files},
                           std::pair{families->indexes, &index_files}}) {
    if (files->empty()) continue;
    RETURN_IF_ERROR(FromRocks(db_->IngestExternalFile(cf, *files, ingest),
                              "load rebuilt projections"));
  }
  if (progress) progress(total, total);
  finish.Put(cf_default_, kMetaProjection, absl::StrCat(kProjectionVersion));
  finish.Delete(cf_default_, kMetaRebuilding);
  RETURN_IF_ERROR(FromRocks(db_->Write(sync, &finish), "finish rebuild"));
  // The finishing write was synced, so everything written is durable: new
  // views see all of it, in the new families.
  families_ = std::move(families);
  Publish(Written(), /*force=*/true);
  ReleaseFreeMemory();  // the replay's
  return absl::OkStatus();
}


absl::StatusOr<Head> Ledger::Checkpoint(const std::string& dir) {
  RETURN_IF_ERROR(CheckWritable());
  if (std::filesystem::exists(dir)) {
    return absl::AlreadyExistsError(
        absl::StrCat("'", dir, "' exists: a backup goes into a new directory"));
  }
  rocksdb::Checkpoint* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw),
                            "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // No append between reading the head and the copy; Rebuild, which swaps
  // the column families, waits too.
  std::lock_guard<std::mutex> maintenance(maintenance_mu_);
  std::lock_guard<std::mutex> lock(write_mu_);
  const Head head = written_head_;
  // 0: flush the memtables first, so the copy needs no log replay.
  RETURN_IF_ERROR(FromRocks(
      checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0),
      "checkpoint"));
  return head;
}

absl::Status Ledger::CompactProjections() {
  RETURN_IF_ERROR(CheckWritable());
  // Not the write lock: appends go on. Rebuild, which replaces the
  // families, waits.
  std::lock_guard<std::mutex> lock(maintenance_mu_);
  const std::shared_ptr<const PinnedState> state = Current();
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForceOptimized;
  for (auto* cf : {state->families->timelines, state->families->indexes}) {
    RETURN_IF_ERROR(FromRocks(db_->CompactRange(options, cf, nullptr, nullptr),
                              "compact projections"));
  }
  return absl::OkStatus();
}

absl::Status Ledger::VerifyProjections(
    const std::atomic<bool>* cancel) const {
  std::atomic<uint64_t> calls{0};  // on_read runs on the reader threads
  // Replay in passes (bounded memory) and look every replayed entry up in
  // the stored projections; then the stored ones must be no more.
  const std::shared_ptr<const PinnedState> view = Current();
  const uint64_t total = view->head.seq;
  rocksdb::ColumnFamilyHandle* const timelines = view->families->timelines;
  rocksdb::ColumnFamilyHandle* const indexes = view->families->indexes;
  // A read-only ledger's directory is not ours to write in.
  ScratchDir scratch(
      options_.read_only
          ? (std::filesystem::temp_directory_path() /
             absl::StrCat("provledger-verify-", ::getpid(), "-",
                          reinterpret_cast<uintptr_t>(this)))
                .string()
          : absl::StrCat(db_->GetName(), "/verify.tmp"));
  uint64_t replayed = 0;
  // The smallest differing entry (family name + key) and what is wrong.
  std::optional<std::pair<std::string, std::string>> first_bad;
  auto check = [&](const std::string& name, rocksdb::ColumnFamilyHandle* cf,
                   const std::string& key,
                   const std::string& want) -> absl::Status {
    ++replayed;
    std::string have;
    rocksdb::Status s = db_->Get(view->Options(), cf, key, &have);
    if (s.IsCorruption()) {
      return DamagedProjections(
          s, cf == timelines ? DescribeTimelineKey(key)
                             : absl::StrCat("the index entry '",
                                            absl::CHexEscape(key), "'"));
    }
    if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "read projections");
    if (s.IsNotFound() || have != want) {
      std::string entry = name + key;
      if (first_bad.has_value() && entry >= first_bad->first) {
        return absl::OkStatus();
      }
      const bool timeline = cf == timelines;
      std::string what =
          timeline ? DescribeTimelineKey(key)
                   : absl::StrCat("the index entry '", absl::CHexEscape(key),
                                  "'");
      std::string why = s.IsNotFound() ? " is missing, but a replay of the "
                                         "log has it"
                                       : " differs from a replay of the log";
      Timeline stored;
      if (timeline && s.ok() && stored.ParseFromString(have)) {
        uint64_t latest = 0;
        for (const auto& e : stored.entries()) {
          latest = std::max({latest, e.seq(), e.voided_by()});
        }
        if (latest > total) {
          why = absl::StrCat(" names seq ", latest,
                             ", after the log's last event (seq ", total,
                             "): events were removed from the log, or the "
                             "projections were altered");
        }
      }
      first_bad = {std::move(entry), what + why};
    }
    return absl::OkStatus();
  };
  std::string value;
  // What the log says its own indexes hold, gathered as it is replayed.
  LogIndexDigests log_indexes(this, std::max<uint32_t>(1, ReplayThreads()));
  RETURN_IF_ERROR(ReplayInPasses(
      total, ReplayPasses(total, /*shares=*/1), /*workers=*/1, scratch.path(),
      nullptr,
      [&](std::unique_ptr<Projector> p, uint32_t) -> absl::Status {
        for (const auto& [key, timeline] : p->changed_timelines()) {
          value.clear();
          timeline->SerializeToString(&value);
          RETURN_IF_ERROR(check("timelines/", timelines, key, value));
        }
        for (const std::string* key : p->SortedIndexKeys()) {
          RETURN_IF_ERROR(check("indexes/", indexes, *key, ""));
        }
        return absl::OkStatus();
      },
      [&](uint32_t reader, const Event& e) {
        RETURN_IF_ERROR(CheckCancel(cancel, calls++));
        return log_indexes.Add(reader, e);
      }));
  // The log's own indexes first: an event they lost could be stored twice.
  RETURN_IF_ERROR(CheckLogIndexes(*view, nullptr, &log_indexes));
  if (first_bad.has_value()) return absl::DataLossError(first_bad->second);
  uint64_t stored = 0;
  for (auto* cf : {timelines, indexes}) {
    rocksdb::ReadOptions all = view->Options();
    all.total_order_seek = true;
    all.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(all, cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++stored;
    RETURN_IF_ERROR(FromRocks(it->status(), "read projections"));
  }
  if (stored != replayed) {
    return absl::DataLossError(absl::StrCat(
        "the stored projections hold ", stored, " entries, a replay of the log ",
        replayed, ": the projections were altered, or events were removed "
        "from the log"));
  }
  return absl::OkStatus();
}

}  // namespace provledger
