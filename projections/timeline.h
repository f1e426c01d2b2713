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
#include "provledger/v1/events.pb.h"
#include "provledger/v1/storage.pb.h"

namespace provledger {

// Knowledge point meaning "everything recorded so far".
constexpr uint64_t kHeadSeq = std::numeric_limits<uint64_t>::max();

// What a timeline is about. Reassignment keys lead with this byte, so that
// every reassignment (the national snapshot) is one contiguous scan; every
// other relation's key leads with its NPI and carries this byte after it,
// so that one NPI's enrollments, credentialing, associations, contracts,
// revalidations and demographics sit side by side in a block or two and a
// claim check reads three blocks rather than seven.
enum class Relation : char {
  kEnrollment = 'E',    // npi(10) 'E' payer
  kCredential = 'C',    // npi(10) 'C' payer
  kAssociation = 'A',   // provider(10) 'A' org(10) payer
  kReassignment = 'R',  // 'R' provider(10) org(10) payer
  kContract = 'K',      // holder(10) 'K' payer '\0' contract_id
  kRevalidation = 'V',  // npi(10) 'V' payer
  kDemographics = 'D',  // npi(10) 'D'
};

std::string NpiPayerKey(Relation r, absl::string_view npi,
                        absl::string_view payer);
std::string PairKey(Relation r, absl::string_view provider,
                    absl::string_view org, absl::string_view payer);
std::string ContractKey(absl::string_view holder, absl::string_view payer,
                        absl::string_view contract_id);
std::string DemographicsKey(absl::string_view npi);
// The prefix shared by every key of relation `r` whose first NPI is `npi`
// (all of it when `npi` is empty and `r` is kReassignment).
std::string TimelinePrefix(Relation r, absl::string_view npi);
// The prefix of `holder`'s contracts at `payer`.
std::string ContractPrefix(absl::string_view holder, absl::string_view payer);
// The relation of a key made by one of the functions above.
Relation RelationOfKey(absl::string_view key);
// The payer of such a key; "" for demographics.
absl::string_view PayerOfKey(absl::string_view key);

// A key made by one of the functions above, for people: "the reassignment
// timeline of 1526374859 to 1245319599 at medicare". Any bytes are safe.
std::string DescribeTimelineKey(absl::string_view key);

// The parts of an association or reassignment key.
struct PairParts {
  std::string provider;
  std::string org;
  std::string payer;
};
// REQUIRES: `key` was made by PairKey.
PairParts DecodePairKey(absl::string_view key);
// The contract id of a key made by ContractKey.
absl::string_view ContractIdOfKey(absl::string_view key);

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
