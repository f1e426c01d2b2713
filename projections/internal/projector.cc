#include "projections/internal/projector.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ledger/status_macros.h"
#include "ledger/validation.h"

namespace provledger {

using storage::Timeline;
using storage::TimelineEntry;
using v1::Event;

namespace {

// The first 8 bytes of `s` as a big-endian number, zero-padded: a < b
// between two of them implies the same between the strings.
uint64_t Prefix8(const std::string& s) {
  uint64_t p = 0;
  for (size_t i = 0; i < 8; ++i) {
    p = (p << 8) | (i < s.size() ? static_cast<unsigned char>(s[i]) : 0u);
  }
  return p;
}

// Sorts items by key_of(item) (a const std::string&), prefixes first.
template <typename T, typename KeyOf>
void SortByKey(std::vector<T>* items, KeyOf key_of) {
  std::vector<std::pair<uint64_t, T>> keyed;
  keyed.reserve(items->size());
  for (T& item : *items) keyed.emplace_back(Prefix8(key_of(item)), item);
  std::sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return key_of(a.second) < key_of(b.second);
  });
  for (size_t i = 0; i < keyed.size(); ++i) (*items)[i] = keyed[i].second;
}

}  // namespace

void SortKeys(std::vector<const std::string*>* keys) {
  SortByKey(keys, [](const std::string* k) -> const std::string& { return *k; });
}

absl::StatusOr<Timeline*> Projector::Load(const std::string& key) {
  auto it = dirty_.find(key);
  if (it != dirty_.end()) return it->second;
  ASSIGN_OR_RETURN(std::optional<Timeline> stored, source_->LoadTimeline(key));
  if (!stored.has_value()) {
    // A new relationship: index associations and reassignments.
    Relation r = RelationOfKey(key);
    if (r == Relation::kAssociation || r == Relation::kReassignment) {
      PairParts p = DecodePairKey(key);
      new_index_keys_.push_back(OrgIndexKey(r, p.org, p.provider, p.payer));
      new_index_keys_.push_back(PayerIndexKey(r, p.payer, p.provider, p.org));
    }
  }
  Timeline* t = google::protobuf::Arena::CreateMessage<Timeline>(arena_.get());
  if (stored.has_value()) t->CopyFrom(*stored);
  dirty_.emplace(key, t);
  return t;
}

absl::Status Projector::Apply(const Event& event) {
  if (event.body_case() == Event::kVoided) return ApplyVoid(event);
  TimelineRef ref = TimelineOf(event);
  ASSIGN_OR_RETURN(Timeline * timeline, Load(ref.key));
  TimelineEntry entry;
  entry.set_day(*ParseDate(event.effective_date()));
  entry.set_seq(event.seq());
  entry.set_kind(ref.kind);
  if (ref.until.has_value()) entry.set_until_day(*ref.until);
  // Bodies that queries read often ride along in the timeline entry, less
  // the NPIs and payer its key already holds (a third of a reassignment's
  // body).
  if (event.has_contract_signed()) {
    event.contract_signed().SerializeToString(entry.mutable_payload());
  } else if (event.has_demographics_changed()) {
    event.demographics_changed().SerializeToString(entry.mutable_payload());
  } else if (event.has_registry_updated()) {
    v1::RegistryUpdated b = event.registry_updated();
    b.clear_npi();
    b.SerializeToString(entry.mutable_payload());
  } else if (event.has_reassigned()) {
    v1::Reassigned b = event.reassigned();
    b.clear_provider_npi();
    b.clear_org_npi();
    b.clear_payer();
    b.SerializeToString(entry.mutable_payload());
  } else if (event.has_enrolled()) {
    const v1::Enrolled& b = event.enrolled();
    v1::Enrolled kept = b;
    kept.clear_npi();
    kept.clear_payer();
    kept.SerializeToString(entry.mutable_payload());
    if (!b.enrollment_id().empty()) {
      new_index_keys_.push_back(
          IdIndexKey('e', b.enrollment_id(), b.npi(), b.payer()));
    }
    if (!b.pac_id().empty()) {
      new_index_keys_.push_back(IdIndexKey('c', b.pac_id(), b.npi(), b.payer()));
    }
  }
  InsertEntry(timeline, entry);
  if (check_ && event.has_enrolled()) {
    const std::string key = RegistryKey(event.enrolled().npi());
    if (!dirty_.contains(key) && !stored_registry_.contains(key)) {
      ASSIGN_OR_RETURN(std::optional<Timeline> stored,
                       source_->LoadTimeline(key));
      stored_registry_.emplace(key, std::move(stored));
    }
    entity_claims_.push_back(EntityClaim{event.seq(), entry.day(),
                                         event.enrolled().npi(),
                                         event.enrolled().entity()});
  }
  if (check_ && ref.kind != TimelineEntry::POINT) {
    auto& [noun, touches] = touched_[ref.key];
    noun = ref.noun;
    touches.push_back(Touch{entry.day(), event.seq(), event.seq(), false,
                            std::string(BodyName(event)),
                            event.effective_date(),
                            ref.kind == TimelineEntry::START});
  }
  return absl::OkStatus();
}

absl::Status Projector::ApplyVoid(const Event& event) {
  const uint64_t target_seq = event.voided().target_seq();
  ASSIGN_OR_RETURN(std::optional<Event> target, source_->LoadEvent(target_seq));
  if (!target.has_value() || target_seq >= event.seq()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "voided.target_seq: no event with seq ", target_seq, " exists"));
  }
  if (target->body_case() == Event::kVoided) {
    return absl::InvalidArgumentError(absl::StrCat(
        "voided.target_seq: seq ", target_seq,
        " is itself a void; a void cannot be voided (append the retracted "
        "event again instead)"));
  }
  TimelineRef ref = TimelineOf(*target);
  ASSIGN_OR_RETURN(Timeline * timeline, Load(ref.key));
  TimelineEntry* entry = FindEntry(timeline, target_seq);
  if (entry == nullptr) {
    return absl::InternalError(absl::StrCat(
        "timeline of seq ", target_seq, " does not list it (run rebuild)"));
  }
  if (entry->voided_by() != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("voided.target_seq: seq ", target_seq,
                     " was already voided by seq ", entry->voided_by()));
  }
  entry->set_voided_by(event.seq());
  if (check_ && ref.kind != TimelineEntry::POINT) {
    auto& [noun, touches] = touched_[ref.key];
    noun = ref.noun;
    touches.push_back(Touch{entry->day(), event.seq(), target_seq, true,
                            "voided", event.effective_date(), false});
  }
  return absl::OkStatus();
}

absl::Status Projector::CheckTimelines(uint64_t* blamed_seq) const {
  absl::Status first;
  uint64_t first_blamed = 0;
  for (const auto& [key, noun_touches] : touched_) {
    const auto& [noun, touches] = noun_touches;
    const Timeline& timeline = *dirty_.at(key);
    uint64_t failing = 0;
    if (CheckCoherent(timeline, noun, 0, &failing).ok()) continue;
    // Where the breaking entry sits on the timeline.
    int32_t failing_day = 0;
    for (const TimelineEntry& e : timeline.entries()) {
      if (e.seq() == failing) failing_day = e.day();
    }
    auto before = [&](const Touch& t) {
      return t.day != failing_day ? t.day < failing_day
                                  : t.entry_seq <= failing;
    };
    const Touch* blame = nullptr;
    for (const Touch& t : touches) {
      if (!t.is_void && t.seq == failing) {
        blame = &t;
        break;
      }
      if (before(t) && (blame == nullptr || t.day > blame->day ||
                        (t.day == blame->day && t.entry_seq > blame->entry_seq))) {
        blame = &t;
      }
    }
    if (blame == nullptr) blame = &touches.front();
    if (first_blamed != 0 && blame->seq >= first_blamed) continue;
    absl::Status why = CheckCoherent(timeline, noun, blame->seq);
    std::string message;
    if (blame->is_void) {
      message = absl::StrCat("voided.target_seq: voiding seq ", blame->entry_seq,
                             " would leave its ", noun,
                             " timeline incoherent: ", why.message());
    } else if (blame->seq == failing) {
      message = absl::StrCat(blame->body, ": ", why.message());
    } else {
      message = absl::StrCat(blame->body, ": with this ",
                             blame->start ? "start" : "end", " inserted on ",
                             blame->date, ", ", why.message());
    }
    first = absl::FailedPreconditionError(message);
    first_blamed = blame->seq;
  }
  for (const EntityClaim& claim : entity_claims_) {
    if (first_blamed != 0 && claim.seq >= first_blamed) continue;
    const std::string key = RegistryKey(claim.npi);
    const Timeline* registry = nullptr;
    if (auto it = dirty_.find(key); it != dirty_.end()) {
      registry = it->second;
    } else if (auto st = stored_registry_.find(key);
               st != stored_registry_.end() && st->second.has_value()) {
      registry = &*st->second;
    }
    if (registry == nullptr) continue;
    uint64_t seq = 0;
    const v1::Enrolled::Entity entity =
        RegistryEntity(*registry, claim.day, kHeadSeq, &seq);
    if (entity == v1::Enrolled::ENTITY_UNSPECIFIED || entity == claim.entity) {
      continue;
    }
    first = absl::FailedPreconditionError(absl::StrCat(
        "enrolled.entity: the NPPES registry has ", claim.npi, " as ",
        entity == v1::Enrolled::ORGANIZATION
            ? "an organization (NPI Type 2"
            : "an individual (NPI Type 1",
        "; seq ", seq, "), not ",
        claim.entity == v1::Enrolled::ORGANIZATION ? "an organization"
                                                   : "an individual"));
    first_blamed = claim.seq;
  }
  if (blamed_seq != nullptr) *blamed_seq = first_blamed;
  return first;
}

absl::StatusOr<std::vector<std::string>> Projector::StreamNpis(
    const Event& event) {
  switch (event.body_case()) {
    case Event::kEnrolled:
      return std::vector<std::string>{event.enrolled().npi()};
    case Event::kEnrollmentEnded:
      return std::vector<std::string>{event.enrollment_ended().npi()};
    case Event::kCredentialed:
      return std::vector<std::string>{event.credentialed().npi()};
    case Event::kAssociated:
      return std::vector<std::string>{event.associated().provider_npi(),
                                      event.associated().org_npi()};
    case Event::kAssociationEnded:
      return std::vector<std::string>{event.association_ended().provider_npi(),
                                      event.association_ended().org_npi()};
    case Event::kReassigned:
      return std::vector<std::string>{event.reassigned().provider_npi(),
                                      event.reassigned().org_npi()};
    case Event::kRevoked:
      return std::vector<std::string>{event.revoked().provider_npi(),
                                      event.revoked().org_npi()};
    case Event::kContractSigned: {
      std::vector<std::string> npis{event.contract_signed().holder_npi()};
      for (const auto& n : event.contract_signed().covered_npis()) {
        if (std::find(npis.begin(), npis.end(), n) == npis.end()) {
          npis.push_back(n);
        }
      }
      return npis;
    }
    case Event::kContractEnded:
      return std::vector<std::string>{event.contract_ended().holder_npi()};
    case Event::kRevalidated:
      return std::vector<std::string>{event.revalidated().npi()};
    case Event::kDemographicsChanged:
      return std::vector<std::string>{event.demographics_changed().npi()};
    case Event::kRegistryUpdated:
      return std::vector<std::string>{event.registry_updated().npi()};
    case Event::kVoided: {
      ASSIGN_OR_RETURN(std::optional<Event> target,
                       source_->LoadEvent(event.voided().target_seq()));
      if (!target.has_value() || target->body_case() == Event::kVoided) {
        return absl::InvalidArgumentError(
            absl::StrCat("voided.target_seq: no voidable event with seq ",
                         event.voided().target_seq()));
      }
      return StreamNpis(*target);
    }
    case Event::BODY_NOT_SET:
      break;
  }
  return std::vector<std::string>{};
}

std::vector<std::pair<const std::string*, const Timeline*>>
Projector::SortedTimelines() const {
  std::vector<std::pair<const std::string*, const Timeline*>> out;
  out.reserve(dirty_.size());
  for (const auto& [key, timeline] : dirty_) out.emplace_back(&key, timeline);
  SortByKey(&out, [](const auto& item) -> const std::string& {
    return *item.first;
  });
  return out;
}

std::vector<const std::string*> Projector::SortedIndexKeys() const {
  std::vector<const std::string*> out;
  out.reserve(new_index_keys_.size());
  for (const std::string& key : new_index_keys_) out.push_back(&key);
  SortKeys(&out);
  out.erase(std::unique(out.begin(), out.end(),
                        [](const auto* a, const auto* b) { return *a == *b; }),
            out.end());
  return out;
}

void Projector::WriteTo(rocksdb::WriteBatch* batch,
                        rocksdb::ColumnFamilyHandle* timelines,
                        rocksdb::ColumnFamilyHandle* indexes) const {
  // Sorted: consecutive memtable inserts then share most of their skiplist
  // search path.
  std::string value;
  for (const auto& [key, timeline] : SortedTimelines()) {
    value.clear();
    timeline->SerializeToString(&value);
    batch->Put(timelines, *key, value);
  }
  for (const std::string* key : SortedIndexKeys()) {
    batch->Put(indexes, *key, rocksdb::Slice());
  }
}

void Projector::Clear() {
  dirty_.clear();
  arena_ = std::make_unique<google::protobuf::Arena>();
  touched_.clear();
  entity_claims_.clear();
  stored_registry_.clear();
  new_index_keys_.clear();
}

}  // namespace provledger
