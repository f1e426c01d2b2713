// Public API (see the README's Layout: what a front end may include).
// Point-in-time questions over the projections: every query takes a valid
// date D and a knowledge point K (a seq; kHeadSeq for everything recorded),
// and answers exactly what a ledger stopped at seq K would answer about D.
#ifndef PROVLEDGER_PROJECTIONS_QUERY_H_
#define PROVLEDGER_PROJECTIONS_QUERY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ledger/date.h"
#include "ledger/ledger.h"
#include "projections/names.h"
#include "projections/payer_rules.h"
#include "projections/timeline.h"

namespace provledger {

// Optional filters; empty means any.
struct RelationFilter {
  std::string provider;
  std::string org;
  std::string payer;
};

// One reassignment period.
struct ReassignmentRow {
  std::string provider;
  std::string org;
  std::string payer;
  Interval interval;  // as known at the query's K
};

// One event of a provider's (or organization's) history.
struct HistoryRow {
  v1::Event event;       // seq, recorded_at, hashes filled
  uint64_t voided_by = 0;  // seq of the void retracting it, 0 if none
};

// A reassignment that started or ended in a window.
struct ChangeRow {
  DayNumber day = 0;
  bool started = false;  // false: ended
  std::string provider;
  std::string org;
  std::string payer;
  uint64_t seq = 0;  // the event that made the change
};

// A group contract whose covered providers on D fall below the payer's
// minimum for group contracts.
struct GroupMinimumFlag {
  std::string holder;
  std::string payer;
  std::string contract_id;
  int covered_on_day = 0;  // covered providers reassigned to the holder on D
  int minimum = 0;
};

// One missing or broken link of the billing chain.
struct Finding {
  std::string code;     // stable, e.g. "NO_REASSIGNMENT"
  std::string message;  // a sentence for people
};

// The GROUP_BELOW_MINIMUM warning for `flag` on `day`.
Finding GroupBelowMinimumWarning(const GroupMinimumFlag& flag, DayNumber day);

struct ClaimCheckResult {
  bool payable = false;
  std::vector<Finding> findings;   // why not payable (empty when payable)
  std::vector<Finding> warnings;   // do not block payment
  uint64_t known_seq = 0;
  // The seqs, ascending, of the events known at known_seq (and the voids
  // of them) in every timeline the check read: enrollments, credentialing,
  // the group's demographics, association, reassignment, registry records,
  // the group's contracts (and the provider's own, when the group's do not
  // cover them or they bill for themself). What the answer rests on (the GROUP_BELOW_MINIMUM
  // warning's reads of the group's other reassignments are not listed).
  std::vector<uint64_t> sources;
  // The claim's NPIs of which the NPPES registry (registry_updated events)
  // knows nothing at known_seq: the registry's checks were skipped for
  // them (RENDERING_NPI_DEACTIVATED, RENDERING_NOT_INDIVIDUAL,
  // BILLING_NPI_DEACTIVATED, BILLING_NOT_ORGANIZATION).
  std::vector<std::string> not_in_registry;
};

struct LedgerStats {
  std::map<std::string, uint64_t> events_by_type;
  uint64_t voided = 0;
  uint64_t providers = 0;      // NPIs enrolled as INDIVIDUAL
  uint64_t organizations = 0;  // NPIs enrolled as ORGANIZATION
  std::vector<std::string> payers;
  uint64_t active_reassignments = 0;  // in effect on `day`, head knowledge
};

// A provider or organization found by Queries::Search.
struct SearchHit {
  std::string npi;
  v1::Enrolled::Entity entity = v1::Enrolled::ENTITY_UNSPECIFIED;
  // As written on its latest enrollment ("James Chen", "Riverbend Family
  // Medicine PLLC"), a later legal-name change applied; "" if never
  // enrolled.
  std::string name;
  std::vector<std::string> payers;          // enrolled at, sorted
  std::vector<std::string> enrollment_ids;  // sorted, distinct
  std::vector<std::string> pac_ids;
  std::string matched;  // "npi", "enrollment_id", "pac_id" or "name"
};

struct SearchResult {
  std::vector<SearchHit> hits;  // by NPI
  bool truncated = false;       // more matched than the limit
};

// Read-only queries. Safe for concurrent use if the ledger is.
class Queries {
 public:
  // Every answer read through `view`: one state of the ledger, whatever is
  // appended meanwhile. Safe to share between threads.
  explicit Queries(std::shared_ptr<const LedgerView> view)
      : ledger_(nullptr), view_(std::move(view)) {}
  // Each call reads through a fresh view of `ledger` (its latest head);
  // `ledger` must outlive this object.
  explicit Queries(const Ledger* ledger) : ledger_(ledger) {}

  // Reassignments in effect on `day` as known at `known_seq`, ordered by
  // (provider, org, payer).
  absl::StatusOr<std::vector<ReassignmentRow>> ReassignmentsOn(
      DayNumber day, uint64_t known_seq, const RelationFilter& filter) const;

  // The same rows, in the same order, handed to `fn` one at a time and held
  // nowhere: a national snapshot (millions of rows) in constant memory.
  // `row` is valid only during the call.
  absl::Status ForEachReassignmentOn(
      DayNumber day, uint64_t known_seq, const RelationFilter& filter,
      const std::function<void(const ReassignmentRow& row)>& fn) const;

  // Every reassignment period (all dates) as known at `known_seq`.
  absl::StatusOr<std::vector<ReassignmentRow>> ReassignmentPeriods(
      uint64_t known_seq, const RelationFilter& filter) const;

  // Reassignments that started or ended on a day in [from, to], as known at
  // `known_seq`, ordered by day then seq.
  absl::StatusOr<std::vector<ChangeRow>> Changes(
      DayNumber from, DayNumber to, uint64_t known_seq,
      const RelationFilter& filter) const;

  // Every event touching `npi` recorded by `known_seq`, in seq order; with
  // `payer`, only events of that payer (voids follow their target). A void
  // recorded after `known_seq` is not applied (voided_by stays 0).
  absl::StatusOr<std::vector<HistoryRow>> History(
      const std::string& npi, const std::string& payer,
      uint64_t known_seq = kHeadSeq) const;

  // Can `billing` bill `payer` for a service `rendering` gave on `dos`,
  // according to what was known at `known_seq`? Self-billing
  // (rendering == billing) needs no reassignment.
  absl::StatusOr<ClaimCheckResult> ClaimCheck(const std::string& rendering,
                                              const std::string& billing,
                                              const std::string& payer,
                                              DayNumber dos,
                                              uint64_t known_seq,
                                              const PayerRules& rules) const;

  // Group contracts held by `org` in effect on `day` whose covered
  // providers (with a reassignment to `org` in effect on `day`) fall below
  // the payer's minimum.
  absl::StatusOr<std::vector<GroupMinimumFlag>> GroupMinimumFlags(
      const std::string& org, const std::string& payer, DayNumber day,
      uint64_t known_seq, const PayerRules& rules) const;

  // Counts over the whole log; active reassignments on `day`.
  absl::StatusOr<LedgerStats> Stats(DayNumber day) const;

  // The providers and organizations `text` names, as known at known_seq:
  // a 10-digit NPI (or PAC id), an enrollment id (index lookups), or a
  // part of a name, compared as NormalizeName compares names ("chen",
  // "SANTE FAMILIALE"; this reads every enrollment). At most `limit` hits.
  absl::StatusOr<SearchResult> Search(absl::string_view text, size_t limit,
                                      uint64_t known_seq) const;

  // The identifying data of `npi` at `payer` on `day` as known at K: the
  // enrollment in effect then, with later demographics changes applied.
  struct Identity {
    bool ever_enrolled = false;  // any enrollment known, on any date
    bool enrolled = false;       // an enrollment in effect on the day
    std::string tin;
    std::string legal_name;
    std::string first_name;
    std::string last_name;
    std::string state;
    std::string enrollment_id;
    std::string pac_id;
    v1::Enrolled::Entity entity = v1::Enrolled::ENTITY_UNSPECIFIED;
  };
  absl::StatusOr<Identity> IdentityOn(const std::string& npi,
                                      const std::string& payer, DayNumber day,
                                      uint64_t known_seq) const;

  // IdentityOn of every NPI that starts with `npi_prefix` (digits) and has
  // an enrollment timeline at `payer`, in NPI order, read in one scan of
  // their timelines instead of two point reads each (a reconcile of a
  // national roster asks it of a million NPIs). An NPI without one gets
  // no call: IdentityOn would say it was never enrolled. `fn` also gets
  // the enrollment timeline the identity was read from.
  absl::Status ForEachIdentityOn(
      absl::string_view npi_prefix, const std::string& payer, DayNumber day,
      uint64_t known_seq,
      const std::function<void(absl::string_view, const Identity&,
                               const storage::Timeline&)>& fn) const;

  // The enrollment ids ('e') and PAC ids ('c') that the `enrolled` entries
  // of an enrollment timeline visible at known_seq carry, in entry order
  // (what NpisForId matches).
  static void ForEachIdIn(
      const storage::Timeline& enrollment, uint64_t known_seq,
      const std::function<void(char, const std::string&)>& fn);

  // The NPIs whose `enrolled` events (visible at known_seq, at `payer`)
  // carry this enrollment id ('e') or PAC id ('c').
  absl::StatusOr<std::vector<std::string>> NpisForId(char kind,
                                                     const std::string& id,
                                                     const std::string& payer,
                                                     uint64_t known_seq) const;

  // Whether an enrollment of `npi` at `payer` is in effect on `day` as known
  // at `known_seq` (one timeline read; IdentityOn also reads demographics).
  absl::StatusOr<bool> EnrolledOn(const std::string& npi,
                                  const std::string& payer, DayNumber day,
                                  uint64_t known_seq) const;

  // The latest next_due_on known for `npi` at `payer` from revalidations
  // effective on or before `day`.
  absl::StatusOr<std::optional<DayNumber>> RevalidationDue(
      const std::string& npi, const std::string& payer, DayNumber day,
      uint64_t known_seq) const;

 private:
  // Calls fn(key, timeline) for each reassignment timeline matching filter,
  // in key order: (provider, org, payer).
  absl::Status ForEachReassignment(
      const RelationFilter& filter,
      const std::function<void(absl::string_view, const storage::Timeline&)>&
          fn) const;
  absl::StatusOr<std::optional<Interval>> InEffect(const std::string& key,
                                                   DayNumber day,
                                                   uint64_t known_seq) const;
  // The contract timelines of `holder` at `payer`, in key order.
  absl::StatusOr<std::vector<storage::Timeline>> ContractTimelines(
      const std::string& holder, const std::string& payer) const;
  // Of `contracts` (one holder's at one payer), the one for which `wanted`
  // holds that ended last on or before `day`, as known at `known_seq`.
  struct EndedContract {
    v1::ContractSigned contract;
    Interval interval;
    // "group contract G-1 of NPI was last in effect on D (ended from E by
    // seq N)".
    std::string Describe() const;
  };
  static std::optional<EndedContract> LatestEndedContract(
      const std::vector<storage::Timeline>& contracts, DayNumber day,
      uint64_t known_seq,
      const std::function<bool(const v1::ContractSigned&)>& wanted);
  // Of `contracts`, those in effect on `day`.
  static std::vector<v1::ContractSigned> ContractsOn(
      const std::vector<storage::Timeline>& contracts, DayNumber day,
      uint64_t known_seq);

  // A Queries over a fresh view (REQUIRES: constructed from a Ledger).
  Queries Pinned() const { return Queries(ledger_->View()); }

  const Ledger* ledger_;
  // Null when constructed from a Ledger: each public call then pins one.
  std::shared_ptr<const LedgerView> view_;
};

}  // namespace provledger

#endif  // PROVLEDGER_PROJECTIONS_QUERY_H_
