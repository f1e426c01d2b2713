// Maintains the projection column families from events: relationship
// timelines, plus the by-organization and by-payer indexes of associations
// and reassignments. Used both by append (in the same WriteBatch as the
// events) and by rebuild, so both produce byte-identical projections.
#ifndef PROVLEDGER_PROJECTIONS_INTERNAL_PROJECTOR_H_
#define PROVLEDGER_PROJECTIONS_INTERNAL_PROJECTOR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "google/protobuf/arena.h"
#include "projections/timeline.h"
#include "provledger/v1/events.pb.h"
#include "provledger/v1/storage.pb.h"
#include "rocksdb/write_batch.h"

namespace provledger {

// Version of the projection layout; stored in the ledger's meta, checked at
// open. Bump when the projection format changes (then `rebuild`).
constexpr int kProjectionVersion = 5;

// What the projector reads of the stored state. Implementations must see
// events appended earlier in the same batch (LoadEvent) as well as stored
// ones.
class ProjectionSource {
 public:
  virtual ~ProjectionSource() = default;
  // The stored timeline at `key`, or nullopt if there is none.
  virtual absl::StatusOr<std::optional<storage::Timeline>> LoadTimeline(
      const std::string& key) = 0;
  // The event at `seq`, or nullopt if there is none.
  virtual absl::StatusOr<std::optional<v1::Event>> LoadEvent(uint64_t seq) = 0;
};

// Sorts `keys` by the strings they point at. The strings lie scattered on
// the heap; comparing a copy of their first 8 bytes first settles most
// comparisons without touching them (a rebuild sorts millions of keys).
void SortKeys(std::vector<const std::string*>* keys);

// Accumulates projection changes for a run of events. Not thread-safe.
class Projector {
 public:
  // `source` must outlive the projector.
  explicit Projector(ProjectionSource* source) : source_(source) {}
  // For replaying a log that was judged when appended: CheckTimelines()
  // then has nothing to judge, and nothing is kept for it.
  void SkipChecks() { check_ = false; }
  // The timelines changed since the last Clear(), by key (unordered).
  const absl::flat_hash_map<std::string, storage::Timeline*>&
  changed_timelines() const {
    return dirty_;
  }
  // The same in key order, and the new index keys in key order, each once:
  // what WriteTo() puts, and what a rebuild writes as table files.
  std::vector<std::pair<const std::string*, const storage::Timeline*>>
  SortedTimelines() const;
  std::vector<const std::string*> SortedIndexKeys() const;
  Projector(const Projector&) = delete;
  Projector& operator=(const Projector&) = delete;

  // Applies `event` (seq assigned, format already validated) to its
  // timeline. Returns InvalidArgument/FailedPrecondition
  // ("voided.target_seq: <why>") for a void whose target does not exist, is
  // a void or is already voided. Timeline coherence is not judged here but
  // by CheckTimelines, once a whole batch is applied.
  absl::Status Apply(const v1::Event& event);

  // Judges every timeline touched since the last Clear(): its START/END
  // entries, with the batch's events inserted at their effective dates and
  // its voids applied, must alternate from a START. On the first incoherent
  // timeline returns FailedPrecondition ("<body>: <why>") and sets
  // *blamed_seq to the batch event to blame: the breaking entry itself if it
  // is new, else the latest new event before it on that timeline.
  absl::Status CheckTimelines(uint64_t* blamed_seq) const;

  // The NPIs whose streams `event` belongs to (for a void: its target's).
  // REQUIRES: for a void, the target exists.
  absl::StatusOr<std::vector<std::string>> StreamNpis(const v1::Event& event);

  // Adds every changed timeline and new index key to `batch`.
  void WriteTo(rocksdb::WriteBatch* batch,
               rocksdb::ColumnFamilyHandle* timelines,
               rocksdb::ColumnFamilyHandle* indexes) const;

  // Forgets accumulated changes (after they were written).
  void Clear();

 private:
  absl::StatusOr<storage::Timeline*> Load(const std::string& key);
  absl::Status ApplyVoid(const v1::Event& event);

  ProjectionSource* const source_;
  bool check_ = true;
  // A batch event placed on a timeline (for blame in CheckTimelines).
  struct Touch {
    int32_t day;
    uint64_t seq;        // the event's seq
    uint64_t entry_seq;  // the entry it placed or voided
    bool is_void;
    std::string body;    // body name
    std::string date;    // effective date as written
    bool start;
  };
  // Changed timelines live on an arena: one allocation block for many
  // entries and payloads, freed at once by Clear().
  std::unique_ptr<google::protobuf::Arena> arena_ =
      std::make_unique<google::protobuf::Arena>();
  absl::flat_hash_map<std::string, storage::Timeline*> dirty_;
  // Enrollments of the batch, judged against the NPPES registry's entity
  // type by CheckTimelines; and the stored registry timelines of their
  // NPIs (nullopt: none) when the batch does not change them.
  struct EntityClaim {
    uint64_t seq;
    int32_t day;
    std::string npi;
    v1::Enrolled::Entity entity;
  };
  std::vector<EntityClaim> entity_claims_;
  absl::flat_hash_map<std::string, std::optional<storage::Timeline>>
      stored_registry_;
  // Per touched timeline key, in apply order; with its noun.
  absl::flat_hash_map<std::string, std::pair<const char*, std::vector<Touch>>>
      touched_;
  std::vector<std::string> new_index_keys_;
};

}  // namespace provledger

#endif  // PROVLEDGER_PROJECTIONS_INTERNAL_PROJECTOR_H_
