// Relationship timelines: where each event sits, and how a timeline folds
// into intervals for a (valid date, known-at seq) question.
//
// A timeline holds every event of one relationship (an enrollment of an NPI
// at a payer, a reassignment of a provider to an organization at a payer,
// ...), voided ones included, ordered by (effective day, seq). Folding only
// the entries visible at knowledge point K (seq <= K, not voided by a void
// with seq <= K) gives exactly the answer a ledger stopped at K would give.
#ifndef PROVLEDGER_PROJECTIONS_TIMELINE_H_
#define PROVLEDGER_PROJECTIONS_TIMELINE_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ledger/date.h"
#include "ledger/internal/keys.h"
#include "provledger/v1/events.pb.h"
#include "provledger/v1/storage.pb.h"

namespace provledger {

// Knowledge point meaning "everything recorded so far".
constexpr uint64_t kHeadSeq = std::numeric_limits<uint64_t>::max();

// Where a non-void event sits.
struct TimelineRef {
  Relation relation;
  std::string key;
  storage::TimelineEntry::Kind kind;
  std::optional<DayNumber> until;  // POINT entries: expiry or next due date
  const char* noun;                // "reassignment", "enrollment", ...
};

// REQUIRES: ValidateEvent(event).ok() and the body is not `voided`.
TimelineRef TimelineOf(const v1::Event& event);

// The payer an event is about, in its canonical form (CanonicalPayer); ""
// for demographics (all payers) and voids (their target's payer applies).
std::string PayerOf(const v1::Event& event);

// True iff the entry is known at `known_seq` and not retracted by then.
inline bool Visible(const storage::TimelineEntry& e, uint64_t known_seq) {
  return e.seq() <= known_seq &&
         (e.voided_by() == 0 || e.voided_by() > known_seq);
}

// A half-open period [start, end) during which a relationship is in effect;
// end empty while it is still open.
struct Interval {
  DayNumber start = 0;
  std::optional<DayNumber> end;
  uint64_t start_seq = 0;
  uint64_t end_seq = 0;  // 0 while open

  bool Contains(DayNumber d) const {
    return start <= d && (!end.has_value() || d < *end);
  }
  bool operator==(const Interval& o) const {
    return start == o.start && end == o.end && start_seq == o.start_seq &&
           end_seq == o.end_seq;
  }
};

// The START/END entries visible at `known_seq`, folded into intervals in
// day order. Empty intervals (ended on their start day) are kept.
std::vector<Interval> FoldIntervals(const storage::Timeline& t,
                                    uint64_t known_seq);

// The interval in effect on `day`, if any.
std::optional<Interval> IntervalOn(const storage::Timeline& t, DayNumber day,
                                   uint64_t known_seq);

// The latest visible POINT entry with day <= `day`, or nullptr.
const storage::TimelineEntry* LatestPointOn(const storage::Timeline& t,
                                            DayNumber day, uint64_t known_seq);

// The entity type the NPPES registry timeline `t` gives its NPI on `day`
// as known at `known_seq`: that of the latest record on or before `day`
// that names one, else of the earliest after it (a deactivated record
// names none); *seq receives that record's seq. ENTITY_UNSPECIFIED (and
// *seq 0) when no visible record names one.
v1::Enrolled::Entity RegistryEntity(const storage::Timeline& t, DayNumber day,
                                    uint64_t known_seq, uint64_t* seq);

// Inserts `e` keeping entries ordered by (day, seq).
void InsertEntry(storage::Timeline* t, const storage::TimelineEntry& e);

// The entry for `seq`, or nullptr.
storage::TimelineEntry* FindEntry(storage::Timeline* t, uint64_t seq);

// OK iff the visible (head) START/END entries alternate, beginning with a
// START. Otherwise FailedPrecondition naming the first entry that breaks the
// timeline, e.g. "the end on 2024-01-01 (seq 9) would end a reassignment when
// none is in effect".
// Entries with seq `new_seq` are called "this event". *failing_seq, if
// given, receives the seq of the breaking entry.
absl::Status CheckCoherent(const storage::Timeline& t, absl::string_view noun,
                           uint64_t new_seq = 0,
                           uint64_t* failing_seq = nullptr);

}  // namespace provledger

#endif  // PROVLEDGER_PROJECTIONS_TIMELINE_H_
