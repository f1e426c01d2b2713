#include "projections/timeline.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "ledger/validation.h"

namespace provledger {

using storage::Timeline;
using storage::TimelineEntry;
using v1::Event;

TimelineRef TimelineOf(const Event& e) {
  using K = TimelineEntry;
  auto until = [](const std::string& date) -> std::optional<DayNumber> {
    if (date.empty()) return std::nullopt;
    auto d = ParseDate(date);
    return d.ok() ? std::optional<DayNumber>(*d) : std::nullopt;
  };
  switch (e.body_case()) {
    case Event::kEnrolled:
      return {Relation::kEnrollment,
              NpiPayerKey(Relation::kEnrollment, e.enrolled().npi(),
                          e.enrolled().payer()),
              K::START, std::nullopt, "enrollment"};
    case Event::kEnrollmentEnded:
      return {Relation::kEnrollment,
              NpiPayerKey(Relation::kEnrollment, e.enrollment_ended().npi(),
                          e.enrollment_ended().payer()),
              K::END, std::nullopt, "enrollment"};
    case Event::kCredentialed:
      return {Relation::kCredential,
              NpiPayerKey(Relation::kCredential, e.credentialed().npi(),
                          e.credentialed().payer()),
              K::POINT, until(e.credentialed().expires_on()), "credential"};
    case Event::kAssociated:
      return {Relation::kAssociation,
              PairKey(Relation::kAssociation, e.associated().provider_npi(),
                      e.associated().org_npi(), e.associated().payer()),
              K::START, std::nullopt, "association"};
    case Event::kAssociationEnded:
      return {Relation::kAssociation,
              PairKey(Relation::kAssociation,
                      e.association_ended().provider_npi(),
                      e.association_ended().org_npi(),
                      e.association_ended().payer()),
              K::END, std::nullopt, "association"};
    case Event::kReassigned:
      return {Relation::kReassignment,
              PairKey(Relation::kReassignment, e.reassigned().provider_npi(),
                      e.reassigned().org_npi(), e.reassigned().payer()),
              K::START, std::nullopt, "reassignment"};
    case Event::kRevoked:
      return {Relation::kReassignment,
              PairKey(Relation::kReassignment, e.revoked().provider_npi(),
                      e.revoked().org_npi(), e.revoked().payer()),
              K::END, std::nullopt, "reassignment"};
    case Event::kContractSigned:
      return {Relation::kContract,
              ContractKey(e.contract_signed().holder_npi(),
                          e.contract_signed().payer(),
                          e.contract_signed().contract_id()),
              K::START, std::nullopt, "contract"};
    case Event::kContractEnded:
      return {Relation::kContract,
              ContractKey(e.contract_ended().holder_npi(),
                          e.contract_ended().payer(),
                          e.contract_ended().contract_id()),
              K::END, std::nullopt, "contract"};
    case Event::kRevalidated:
      return {Relation::kRevalidation,
              NpiPayerKey(Relation::kRevalidation, e.revalidated().npi(),
                          e.revalidated().payer()),
              K::POINT, until(e.revalidated().next_due_on()), "revalidation"};
    case Event::kDemographicsChanged:
      return {Relation::kDemographics,
              DemographicsKey(e.demographics_changed().npi()), K::POINT,
              std::nullopt, "demographics"};
    case Event::kRegistryUpdated:
      return {Relation::kRegistry, RegistryKey(e.registry_updated().npi()),
              K::POINT, std::nullopt, "registry record"};
    case Event::kVoided:
    case Event::BODY_NOT_SET:
      break;
  }
  return {Relation::kDemographics, "", K::KIND_UNSPECIFIED, std::nullopt, ""};
}

namespace {
const std::string& PayerAsWritten(const Event& e) {
  static const std::string kNone;
  switch (e.body_case()) {
    case Event::kEnrolled: return e.enrolled().payer();
    case Event::kEnrollmentEnded: return e.enrollment_ended().payer();
    case Event::kCredentialed: return e.credentialed().payer();
    case Event::kAssociated: return e.associated().payer();
    case Event::kAssociationEnded: return e.association_ended().payer();
    case Event::kReassigned: return e.reassigned().payer();
    case Event::kRevoked: return e.revoked().payer();
    case Event::kContractSigned: return e.contract_signed().payer();
    case Event::kContractEnded: return e.contract_ended().payer();
    case Event::kRevalidated: return e.revalidated().payer();
    default: return kNone;
  }
}
}  // namespace

std::string PayerOf(const Event& e) {
  return CanonicalPayer(PayerAsWritten(e));
}

v1::Enrolled::Entity RegistryEntity(const Timeline& t, DayNumber day,
                                    uint64_t known_seq, uint64_t* seq) {
  v1::Enrolled::Entity entity = v1::Enrolled::ENTITY_UNSPECIFIED;
  *seq = 0;
  for (const TimelineEntry& e : t.entries()) {
    if (!Visible(e, known_seq)) continue;
    if (*seq != 0 && e.day() > day) break;
    v1::RegistryUpdated b;
    if (!b.ParseFromString(e.payload()) ||
        b.entity() == v1::Enrolled::ENTITY_UNSPECIFIED) {
      continue;
    }
    entity = b.entity();
    *seq = e.seq();
  }
  return entity;
}

std::vector<Interval> FoldIntervals(const Timeline& t, uint64_t known_seq) {
  std::vector<Interval> out;
  bool open = false;
  for (const TimelineEntry& e : t.entries()) {
    if (!Visible(e, known_seq)) continue;
    if (e.kind() == TimelineEntry::START && !open) {
      out.push_back(Interval{e.day(), std::nullopt, e.seq(), 0});
      open = true;
    } else if (e.kind() == TimelineEntry::END && open) {
      out.back().end = e.day();
      out.back().end_seq = e.seq();
      open = false;
    }
    // Incoherent entries cannot be stored (CheckCoherent guards appends);
    // skipping them keeps the fold total.
  }
  return out;
}

std::optional<Interval> IntervalOn(const Timeline& t, DayNumber day,
                                   uint64_t known_seq) {
  for (const Interval& i : FoldIntervals(t, known_seq)) {
    if (i.Contains(day)) return i;
  }
  return std::nullopt;
}

const TimelineEntry* LatestPointOn(const Timeline& t, DayNumber day,
                                   uint64_t known_seq) {
  const TimelineEntry* best = nullptr;
  for (const TimelineEntry& e : t.entries()) {
    if (e.day() > day) break;
    if (e.kind() == TimelineEntry::POINT && Visible(e, known_seq)) best = &e;
  }
  return best;
}

void InsertEntry(Timeline* t, const TimelineEntry& e) {
  auto* entries = t->mutable_entries();
  auto it = std::upper_bound(
      entries->begin(), entries->end(), e,
      [](const TimelineEntry& a, const TimelineEntry& b) {
        return a.day() != b.day() ? a.day() < b.day() : a.seq() < b.seq();
      });
  int pos = static_cast<int>(it - entries->begin());
  *entries->Add() = e;
  for (int i = entries->size() - 1; i > pos; --i) entries->SwapElements(i, i - 1);
}

TimelineEntry* FindEntry(Timeline* t, uint64_t seq) {
  for (TimelineEntry& e : *t->mutable_entries()) {
    if (e.seq() == seq) return &e;
  }
  return nullptr;
}

// "a reassignment", "an enrollment".
std::string WithArticle(absl::string_view noun) {
  const bool vowel =
      !noun.empty() && absl::string_view("aeiou").find(noun[0]) !=
                           absl::string_view::npos;
  return absl::StrCat(vowel ? "an " : "a ", noun);
}

absl::Status CheckCoherent(const Timeline& t, absl::string_view noun,
                           uint64_t new_seq, uint64_t* failing_seq) {
  auto name = [new_seq](const TimelineEntry& e) {
    return e.seq() == new_seq ? std::string("this event")
                              : absl::StrCat("seq ", e.seq());
  };
  const TimelineEntry* open = nullptr;
  for (const TimelineEntry& e : t.entries()) {
    if (!Visible(e, kHeadSeq)) continue;
    if (e.kind() == TimelineEntry::START) {
      if (open != nullptr) {
        if (failing_seq != nullptr) *failing_seq = e.seq();
        return absl::FailedPreconditionError(absl::StrCat(
            "the start on ", FormatDate(e.day()), " (", name(e),
            ") would begin ", WithArticle(noun), " while the one started on ",
            FormatDate(open->day()), " (", name(*open),
            ") is still in effect"));
      }
      open = &e;
    } else if (e.kind() == TimelineEntry::END) {
      if (open == nullptr) {
        if (failing_seq != nullptr) *failing_seq = e.seq();
        return absl::FailedPreconditionError(absl::StrCat(
            "the end on ", FormatDate(e.day()), " (", name(e),
            ") would end ", WithArticle(noun), " when none is in effect"));
      }
      open = nullptr;
    }
  }
  return absl::OkStatus();
}

}  // namespace provledger
