#include "projections/timeline.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "ledger/validation.h"

namespace provledger {

using storage::Timeline;
using storage::TimelineEntry;
using v1::Event;

namespace {
// Every key but a reassignment's: the NPI, then the relation.
std::string NpiFirst(Relation r, absl::string_view npi) {
  std::string key(npi);
  key.push_back(static_cast<char>(r));
  return key;
}
// Where the org, payer or contract part of a key starts: after the first
// NPI and the relation byte, whichever of the two comes first.
constexpr size_t kAfterNpi = 11;
}  // namespace

std::string TimelinePrefix(Relation r, absl::string_view npi) {
  if (r == Relation::kReassignment) {
    return absl::StrCat(std::string(1, static_cast<char>(r)), npi);
  }
  return NpiFirst(r, npi);
}

std::string NpiPayerKey(Relation r, absl::string_view npi,
                        absl::string_view payer) {
  return absl::StrCat(TimelinePrefix(r, npi), CanonicalPayer(payer));
}

std::string PairKey(Relation r, absl::string_view provider,
                    absl::string_view org, absl::string_view payer) {
  return absl::StrCat(TimelinePrefix(r, provider), org, CanonicalPayer(payer));
}

std::string ContractPrefix(absl::string_view holder, absl::string_view payer) {
  std::string key = absl::StrCat(NpiFirst(Relation::kContract, holder),
                                 CanonicalPayer(payer));
  key.push_back('\0');
  return key;
}

std::string ContractKey(absl::string_view holder, absl::string_view payer,
                        absl::string_view contract_id) {
  return absl::StrCat(ContractPrefix(holder, payer), contract_id);
}

std::string DemographicsKey(absl::string_view npi) {
  return NpiFirst(Relation::kDemographics, npi);
}

Relation RelationOfKey(absl::string_view key) {
  // NPIs are digits; only a reassignment key starts with its relation.
  if (!key.empty() && key[0] == static_cast<char>(Relation::kReassignment)) {
    return Relation::kReassignment;
  }
  return static_cast<Relation>(key.size() > 10 ? key[10] : '\0');
}

absl::string_view PayerOfKey(absl::string_view key) {
  switch (RelationOfKey(key)) {
    case Relation::kEnrollment:
    case Relation::kCredential:
    case Relation::kRevalidation:
      return key.substr(kAfterNpi);
    case Relation::kAssociation:
    case Relation::kReassignment:
      return key.substr(kAfterNpi + 10);
    case Relation::kContract: {
      absl::string_view rest = key.substr(kAfterNpi);
      return rest.substr(0, rest.find('\0'));
    }
    case Relation::kDemographics:
      break;
  }
  return absl::string_view();
}

std::string DescribeTimelineKey(absl::string_view key) {
  auto digits = [](absl::string_view s) {
    return s.size() == 10 && std::all_of(s.begin(), s.end(), [](char c) {
             return c >= '0' && c <= '9';
           });
  };
  const Relation r = RelationOfKey(key);
  const bool pair = r == Relation::kAssociation || r == Relation::kReassignment;
  const size_t first = r == Relation::kReassignment ? 1 : 0;
  if (key.size() < kAfterNpi + (pair ? 10 : 0) ||
      !digits(key.substr(first, 10)) ||
      (pair && !digits(key.substr(kAfterNpi, 10)))) {
    return absl::StrCat("the timeline key '", absl::CHexEscape(key), "'");
  }
  const std::string npi(key.substr(first, 10));
  const std::string payer = absl::CHexEscape(PayerOfKey(key));
  switch (r) {
    case Relation::kEnrollment:
      return absl::StrCat("the enrollment timeline of ", npi, " at ", payer);
    case Relation::kCredential:
      return absl::StrCat("the credentialing timeline of ", npi, " at ", payer);
    case Relation::kRevalidation:
      return absl::StrCat("the revalidation timeline of ", npi, " at ", payer);
    case Relation::kAssociation:
      return absl::StrCat("the association timeline of ", npi, " with ",
                          key.substr(kAfterNpi, 10), " at ", payer);
    case Relation::kReassignment:
      return absl::StrCat("the reassignment timeline of ", npi, " to ",
                          key.substr(kAfterNpi, 10), " at ", payer);
    case Relation::kContract:
      return absl::StrCat("the timeline of contract ",
                          absl::CHexEscape(ContractIdOfKey(key)), " held by ",
                          npi, " at ", payer);
    case Relation::kDemographics:
      return absl::StrCat("the demographics timeline of ", npi);
  }
  return absl::StrCat("the timeline key '", absl::CHexEscape(key), "'");
}

PairParts DecodePairKey(absl::string_view key) {
  const size_t provider = RelationOfKey(key) == Relation::kReassignment ? 1 : 0;
  return PairParts{std::string(key.substr(provider, 10)),
                   std::string(key.substr(kAfterNpi, 10)),
                   std::string(key.substr(kAfterNpi + 10))};
}

absl::string_view ContractIdOfKey(absl::string_view key) {
  size_t nul = key.find('\0');
  return nul == absl::string_view::npos ? absl::string_view()
                                        : key.substr(nul + 1);
}

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
            ") would begin a ", noun, " while the one started on ",
            FormatDate(open->day()), " (", name(*open),
            ") is still in effect"));
      }
      open = &e;
    } else if (e.kind() == TimelineEntry::END) {
      if (open == nullptr) {
        if (failing_seq != nullptr) *failing_seq = e.seq();
        return absl::FailedPreconditionError(absl::StrCat(
            "the end on ", FormatDate(e.day()), " (", name(e),
            ") would end a ", noun, " when none is in effect"));
      }
      open = nullptr;
    }
  }
  return absl::OkStatus();
}

}  // namespace provledger
