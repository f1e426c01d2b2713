#include "projections/query.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ledger/status_macros.h"
#include "ledger/validation.h"

namespace provledger {

using storage::Timeline;
using storage::TimelineEntry;
using v1::Event;

namespace {

// The payload of the entry for `seq` ("" if none).
const std::string& PayloadOf(const Timeline& t, uint64_t seq) {
  static const std::string kEmpty;
  for (const TimelineEntry& e : t.entries()) {
    if (e.seq() == seq) return e.payload();
  }
  return kEmpty;
}

bool Matches(const std::string& want, absl::string_view have) {
  return want.empty() || want == have;
}

Finding Find(std::string code, std::string message) {
  return Finding{std::move(code), std::move(message)};
}

// Whether a credentialing timeline has a visible entry in effect on `day`.
bool CredentialedOn(const std::optional<Timeline>& t, DayNumber day,
                    uint64_t known_seq) {
  if (!t.has_value()) return false;
  for (const TimelineEntry& e : t->entries()) {
    if (e.day() > day) break;
    if (Visible(e, known_seq) && (!e.has_until_day() || day < e.until_day())) {
      return true;
    }
  }
  return false;
}

// "was last in effect on D (ended from E by seq N)": the last day of an
// ended period, and the event that ended it.
std::string LastInEffect(const Interval& i) {
  if (*i.end <= i.start) {
    return absl::StrCat("starting ", FormatDate(i.start),
                        " was ended on its first day by seq ", i.end_seq,
                        ", so it was never in effect");
  }
  return absl::StrCat("was last in effect on ", FormatDate(*i.end - 1),
                      " (ended from ", FormatDate(*i.end), " by seq ",
                      i.end_seq, ")");
}

bool Covers(const v1::ContractSigned& c, const std::string& npi) {
  return c.covered_npis().empty() ||
         std::find(c.covered_npis().begin(), c.covered_npis().end(), npi) !=
             c.covered_npis().end();
}

std::optional<Interval> IntervalIn(const std::optional<Timeline>& t,
                                   DayNumber day, uint64_t known_seq) {
  return t.has_value() ? IntervalOn(*t, day, known_seq) : std::nullopt;
}

// What the NPPES registry entries of one NPI say on `day`, as known at K.
struct RegistryFacts {
  bool known = false;  // any visible registry record
  // The record in effect on `day` (the latest on or before it), if any.
  const TimelineEntry* on_day = nullptr;
  v1::RegistryUpdated record;  // *on_day's
  v1::Enrolled::Entity entity = v1::Enrolled::ENTITY_UNSPECIFIED;
  uint64_t entity_seq = 0;  // the record `entity` comes from
};

RegistryFacts RegistryOn(const std::optional<Timeline>& t, DayNumber day,
                         uint64_t known_seq) {
  RegistryFacts f;
  if (!t.has_value()) return f;
  for (const TimelineEntry& e : t->entries()) {
    if (!Visible(e, known_seq)) continue;
    f.known = true;
    if (e.day() > day) break;
    f.on_day = &e;
  }
  if (f.on_day != nullptr) f.record.ParseFromString(f.on_day->payload());
  f.entity = RegistryEntity(*t, day, known_seq, &f.entity_seq);
  return f;
}

// The registry's findings about the rendering (and, when it is not the
// same NPI, the billing) NPI on `dos`. NPIs the registry does not know go
// to *unknown; they are never denied for it.
void RegistryFindings(const std::string& rendering, const std::string& billing,
                      const std::optional<Timeline>& rendering_registry,
                      const std::optional<Timeline>* billing_registry,
                      DayNumber dos, uint64_t known_seq,
                      std::vector<Finding>* out,
                      std::vector<std::string>* unknown) {
  const std::string d = FormatDate(dos);
  auto deactivated = [&](const RegistryFacts& f, const char* code,
                         const char* role, const std::string& npi) {
    if (f.on_day == nullptr ||
        f.record.status() != v1::RegistryUpdated::DEACTIVATED) {
      return;
    }
    out->push_back(Find(
        code, absl::StrCat(role, " NPI ", npi,
                           " is deactivated in the NPPES registry from ",
                           FormatDate(f.on_day->day()), " (seq ",
                           f.on_day->seq(), "), so it is not active on ", d)));
  };
  const RegistryFacts r = RegistryOn(rendering_registry, dos, known_seq);
  if (!r.known) unknown->push_back(rendering);
  deactivated(r, "RENDERING_NPI_DEACTIVATED", "rendering", rendering);
  if (r.entity == v1::Enrolled::ORGANIZATION) {
    out->push_back(Find(
        "RENDERING_NOT_INDIVIDUAL",
        absl::StrCat("rendering NPI ", rendering,
                     " is an organization (NPI Type 2) in the NPPES registry "
                     "(seq ",
                     r.entity_seq,
                     "): services are rendered by individuals (Type 1)")));
  }
  if (billing_registry == nullptr) return;
  const RegistryFacts b = RegistryOn(*billing_registry, dos, known_seq);
  if (!b.known) unknown->push_back(billing);
  deactivated(b, "BILLING_NPI_DEACTIVATED", "billing", billing);
  if (b.entity == v1::Enrolled::INDIVIDUAL) {
    out->push_back(Find(
        "BILLING_NOT_ORGANIZATION",
        absl::StrCat("billing NPI ", billing,
                     " is an individual (NPI Type 1) in the NPPES registry "
                     "(seq ",
                     b.entity_seq, "), so it cannot bill for ", rendering,
                     "'s service: only an organization (Type 2) bills for "
                     "others")));
  }
}

// IdentityOn's first half: the enrollment in effect on `day`, if any.
Queries::Identity EnrollmentIdentity(const Timeline& enrollment,
                                     DayNumber day, uint64_t known_seq) {
  Queries::Identity id;
  std::optional<Interval> in_effect;
  for (const Interval& i : FoldIntervals(enrollment, known_seq)) {
    id.ever_enrolled = true;
    if (i.Contains(day)) in_effect = i;
  }
  if (!in_effect.has_value()) return id;
  v1::Enrolled b;
  b.ParseFromString(PayloadOf(enrollment, in_effect->start_seq));
  id.enrolled = true;
  id.tin = b.tin();
  id.legal_name = b.legal_name();
  id.first_name = b.first_name();
  id.last_name = b.last_name();
  id.state = b.state();
  id.enrollment_id = b.enrollment_id();
  id.pac_id = b.pac_id();
  id.entity = b.entity();
  return id;
}
Queries::Identity EnrollmentIdentity(const std::optional<Timeline>& enrollment,
                                     DayNumber day, uint64_t known_seq) {
  return enrollment.has_value() ? EnrollmentIdentity(*enrollment, day, known_seq)
                                : Queries::Identity();
}

// Its second half: demographics changes effective by `day` applied.
void ApplyDemographics(const Timeline& demographics, DayNumber day,
                       uint64_t known_seq, Queries::Identity* id) {
  for (const TimelineEntry& entry : demographics.entries()) {
    if (entry.day() > day) break;
    if (!Visible(entry, known_seq)) continue;
    v1::DemographicsChanged c;
    c.ParseFromString(entry.payload());
    if (!c.tin().empty()) id->tin = c.tin();
    if (!c.legal_name().empty()) id->legal_name = c.legal_name();
    if (!c.state().empty()) id->state = c.state();
  }
}
void ApplyDemographics(const std::optional<Timeline>& demographics,
                       DayNumber day, uint64_t known_seq,
                       Queries::Identity* id) {
  if (demographics.has_value()) ApplyDemographics(*demographics, day, known_seq, id);
}

}  // namespace

absl::Status Queries::ForEachReassignment(
    const RelationFilter& filter,
    const std::function<void(absl::string_view, const Timeline&)>& fn) const {
  RelationFilter f = filter;
  f.payer = CanonicalPayer(f.payer);
  const std::string r(1, static_cast<char>(Relation::kReassignment));
  if (!f.provider.empty() || (f.org.empty() && f.payer.empty())) {
    return view_->ScanTimelines(
        TimelinePrefix(Relation::kReassignment, f.provider),
        [&](absl::string_view key, const Timeline& t) {
          PairParts p = DecodePairKey(key);
          if (Matches(f.org, p.org) && Matches(f.payer, p.payer)) fn(key, t);
          return true;
        });
  }
  // Through an index, each key's timeline is read as the scan reaches it
  // (nothing is collected: a payer's index lists millions of keys). Both
  // indexes list providers in order, so rows come in key order too.
  absl::Status read;
  auto visit = [&](const std::string& key) {
    absl::StatusOr<std::optional<Timeline>> t = view_->GetTimeline(key);
    if (!t.ok()) {
      read = t.status();
      return false;
    }
    if (t->has_value()) fn(key, **t);
    return true;
  };
  if (!f.org.empty()) {
    const std::string prefix = "o" + r + f.org;
    RETURN_IF_ERROR(view_->ScanIndex(prefix, [&](absl::string_view k) {
      absl::string_view rest = k.substr(prefix.size());
      absl::string_view payer = rest.substr(10);
      if (!Matches(f.payer, payer)) return true;
      return visit(
          PairKey(Relation::kReassignment, rest.substr(0, 10), f.org, payer));
    }));
  } else {
    std::string prefix = "p" + r + f.payer;
    prefix.push_back('\0');
    RETURN_IF_ERROR(view_->ScanIndex(prefix, [&](absl::string_view k) {
      absl::string_view rest = k.substr(prefix.size());
      return visit(PairKey(Relation::kReassignment, rest.substr(0, 10),
                           rest.substr(10, 10), f.payer));
    }));
  }
  return read;
}

absl::Status Queries::ForEachReassignmentOn(
    DayNumber day, uint64_t known_seq, const RelationFilter& filter,
    const std::function<void(const ReassignmentRow&)>& fn) const {
  if (view_ == nullptr) return Pinned().ForEachReassignmentOn(day, known_seq, filter, fn);
  ReassignmentRow row;
  return ForEachReassignment(
      filter, [&](absl::string_view key, const Timeline& t) {
        std::optional<Interval> i = IntervalOn(t, day, known_seq);
        if (!i.has_value()) return;
        PairParts p = DecodePairKey(key);
        row.provider = std::move(p.provider);
        row.org = std::move(p.org);
        row.payer = std::move(p.payer);
        row.interval = *std::move(i);
        fn(row);
      });
}

absl::StatusOr<std::vector<ReassignmentRow>> Queries::ReassignmentsOn(
    DayNumber day, uint64_t known_seq, const RelationFilter& filter) const {
  if (view_ == nullptr) return Pinned().ReassignmentsOn(day, known_seq, filter);
  std::vector<ReassignmentRow> rows;
  RETURN_IF_ERROR(ForEachReassignmentOn(
      day, known_seq, filter,
      [&](const ReassignmentRow& row) { rows.push_back(row); }));
  return rows;
}

absl::StatusOr<std::vector<ReassignmentRow>> Queries::ReassignmentPeriods(
    uint64_t known_seq, const RelationFilter& filter) const {
  if (view_ == nullptr) return Pinned().ReassignmentPeriods(known_seq, filter);
  std::vector<ReassignmentRow> rows;
  RETURN_IF_ERROR(ForEachReassignment(
      filter, [&](absl::string_view key, const Timeline& t) {
        PairParts p = DecodePairKey(key);
        for (const Interval& i : FoldIntervals(t, known_seq)) {
          rows.push_back({p.provider, p.org, p.payer, i});
        }
      }));
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tie(a.provider, a.org, a.payer, a.interval.start) <
           std::tie(b.provider, b.org, b.payer, b.interval.start);
  });
  return rows;
}

absl::StatusOr<std::vector<ChangeRow>> Queries::Changes(
    DayNumber from, DayNumber to, uint64_t known_seq,
    const RelationFilter& filter) const {
  if (view_ == nullptr) return Pinned().Changes(from, to, known_seq, filter);
  std::vector<ChangeRow> rows;
  RETURN_IF_ERROR(ForEachReassignment(filter, [&](absl::string_view key,
                                                  const Timeline& t) {
    PairParts p = DecodePairKey(key);
    for (const Interval& i : FoldIntervals(t, known_seq)) {
      if (from <= i.start && i.start <= to) {
        rows.push_back(
            {i.start, true, p.provider, p.org, p.payer, i.start_seq});
      }
      if (i.end.has_value() && from <= *i.end && *i.end <= to) {
        rows.push_back({*i.end, false, p.provider, p.org, p.payer, i.end_seq});
      }
    }
  }));
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tie(a.day, a.seq) < std::tie(b.day, b.seq);
  });
  return rows;
}

absl::StatusOr<std::vector<HistoryRow>> Queries::History(
    const std::string& npi, const std::string& payer_filter,
    uint64_t known_seq) const {
  if (view_ == nullptr) return Pinned().History(npi, payer_filter, known_seq);
  const std::string payer = CanonicalPayer(payer_filter);
  ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, view_->StreamSeqs(npi));
  absl::flat_hash_map<std::string, Timeline> timelines;
  absl::flat_hash_map<uint64_t, std::string> payer_of;  // for voids
  std::vector<HistoryRow> rows;
  for (uint64_t seq : seqs) {
    if (seq > known_seq) break;
    ASSIGN_OR_RETURN(Event e, view_->Get(seq));
    HistoryRow row;
    std::string event_payer;
    if (e.body_case() == Event::kVoided) {
      auto it = payer_of.find(e.voided().target_seq());
      event_payer = it == payer_of.end() ? "" : it->second;
    } else {
      event_payer = PayerOf(e);
      payer_of[seq] = event_payer;
      TimelineRef ref = TimelineOf(e);
      auto it = timelines.find(ref.key);
      if (it == timelines.end()) {
        ASSIGN_OR_RETURN(std::optional<Timeline> t,
                         view_->GetTimeline(ref.key));
        it = timelines.emplace(ref.key, t.value_or(Timeline())).first;
      }
      if (TimelineEntry* entry = FindEntry(&it->second, seq);
          entry != nullptr && entry->voided_by() <= known_seq) {
        row.voided_by = entry->voided_by();
      }
    }
    if (!payer.empty() && !event_payer.empty() && event_payer != payer) {
      continue;
    }
    row.event = std::move(e);
    rows.push_back(std::move(row));
  }
  return rows;
}

absl::StatusOr<std::optional<Interval>> Queries::InEffect(
    const std::string& key, DayNumber day, uint64_t known_seq) const {
  ASSIGN_OR_RETURN(std::optional<Timeline> t, view_->GetTimeline(key));
  return IntervalIn(t, day, known_seq);
}

absl::StatusOr<std::vector<Timeline>> Queries::ContractTimelines(
    const std::string& holder, const std::string& payer) const {
  std::vector<Timeline> out;
  RETURN_IF_ERROR(view_->ScanTimelines(
      ContractPrefix(holder, payer), [&](absl::string_view, const Timeline& t) {
        out.push_back(t);
        return true;
      }));
  return out;
}

std::vector<v1::ContractSigned> Queries::ContractsOn(
    const std::vector<Timeline>& contracts, DayNumber day,
    uint64_t known_seq) {
  std::vector<v1::ContractSigned> out;
  for (const Timeline& t : contracts) {
    if (auto i = IntervalOn(t, day, known_seq)) {
      v1::ContractSigned c;
      c.ParseFromString(PayloadOf(t, i->start_seq));
      out.push_back(std::move(c));
    }
  }
  return out;
}

Finding GroupBelowMinimumWarning(const GroupMinimumFlag& f, DayNumber day) {
  return Find("GROUP_BELOW_MINIMUM",
              absl::StrCat("group contract ", f.contract_id, " of ", f.holder,
                           " covers ", f.covered_on_day,
                           " reassigned provider(s) on ", FormatDate(day),
                           "; ", f.payer, " requires at least ", f.minimum));
}

absl::StatusOr<bool> Queries::EnrolledOn(const std::string& npi,
                                         const std::string& payer,
                                         DayNumber day,
                                         uint64_t known_seq) const {
  if (view_ == nullptr) return Pinned().EnrolledOn(npi, payer, day, known_seq);
  ASSIGN_OR_RETURN(
      std::optional<Interval> i,
      InEffect(NpiPayerKey(Relation::kEnrollment, npi, payer), day, known_seq));
  return i.has_value();
}

std::string Queries::EndedContract::Describe() const {
  return absl::StrCat(
      contract.kind() == v1::ContractSigned::GROUP ? "group" : "individual",
      " contract ", contract.contract_id(), " of ", contract.holder_npi(), " ",
      LastInEffect(interval));
}

std::optional<Queries::EndedContract> Queries::LatestEndedContract(
    const std::vector<Timeline>& contracts, DayNumber day, uint64_t known_seq,
    const std::function<bool(const v1::ContractSigned&)>& wanted) {
  std::optional<EndedContract> latest;
  for (const Timeline& t : contracts) {
    for (const Interval& i : FoldIntervals(t, known_seq)) {
      if (!i.end.has_value() || *i.end > day) continue;
      if (latest.has_value() && *latest->interval.end >= *i.end) continue;
      v1::ContractSigned c;
      c.ParseFromString(PayloadOf(t, i.start_seq));
      if (wanted(c)) latest = EndedContract{std::move(c), i};
    }
  }
  return latest;
}

absl::StatusOr<Queries::Identity> Queries::IdentityOn(
    const std::string& npi, const std::string& payer, DayNumber day,
    uint64_t known_seq) const {
  if (view_ == nullptr) return Pinned().IdentityOn(npi, payer, day, known_seq);
  // The demographics are read only when an enrollment is in effect (the
  // reconcile asks this of millions of NPIs, many not enrolled).
  ASSIGN_OR_RETURN(
      std::optional<Timeline> enrollment,
      view_->GetTimeline(NpiPayerKey(Relation::kEnrollment, npi, payer)));
  Identity id = EnrollmentIdentity(enrollment, day, known_seq);
  if (id.enrolled) {
    ASSIGN_OR_RETURN(std::optional<Timeline> demographics,
                     view_->GetTimeline(DemographicsKey(npi)));
    ApplyDemographics(demographics, day, known_seq, &id);
  }
  return id;
}

absl::Status Queries::ForEachIdentityOn(
    absl::string_view npi_prefix, const std::string& payer, DayNumber day,
    uint64_t known_seq,
    const std::function<void(absl::string_view, const Identity&,
                             const Timeline&)>& fn) const {
  if (view_ == nullptr) {
    return Pinned().ForEachIdentityOn(npi_prefix, payer, day, known_seq, fn);
  }
  const std::string canonical = CanonicalPayer(payer);
  constexpr size_t kNpi = 10;
  // An NPI's demographics key ('D') sorts before its enrollments ('E').
  Timeline demographics;
  std::string demographics_npi;
  return view_->ScanTimelines(
      npi_prefix,
      [&](absl::string_view key) {
        if (key.size() <= kNpi || RelationOfKey(key) == Relation::kReassignment) {
          return false;
        }
        const Relation r = static_cast<Relation>(key[kNpi]);
        return (r == Relation::kDemographics && key.size() == kNpi + 1) ||
               (r == Relation::kEnrollment && key.substr(kNpi + 1) == canonical);
      },
      [&](absl::string_view key, const Timeline& t) {
        const absl::string_view npi = key.substr(0, kNpi);
        if (static_cast<Relation>(key[kNpi]) == Relation::kDemographics) {
          demographics = t;
          demographics_npi.assign(npi.data(), npi.size());
          return true;
        }
        Identity id = EnrollmentIdentity(t, day, known_seq);
        if (id.enrolled && demographics_npi == npi) {
          ApplyDemographics(demographics, day, known_seq, &id);
        }
        fn(npi, id, t);
        return true;
      });
}

namespace {

// What an NPI's timelines say about it as known at known_seq, for a
// search hit; seen() is false if none of them has a visible entry.
class HitBuilder {
 public:
  explicit HitBuilder(uint64_t known_seq) : known_seq_(known_seq) {}

  // Adds the timeline at `key` (any relation whose first NPI is the hit's).
  void Add(absl::string_view key, const Timeline& t) {
    const Relation r = RelationOfKey(key);
    for (const TimelineEntry& e : t.entries()) {
      if (!Visible(e, known_seq_)) continue;
      seen_ = true;
      if (e.payload().empty()) continue;
      if (r == Relation::kEnrollment) {
        v1::Enrolled b;
        if (!b.ParseFromString(e.payload())) continue;
        hit_.entity = b.entity();
        payers_.insert(std::string(PayerOfKey(key)));
        if (!b.enrollment_id().empty()) ids_.insert(b.enrollment_id());
        if (!b.pac_id().empty()) pacs_.insert(b.pac_id());
        std::string name =
            b.entity() == v1::Enrolled::ORGANIZATION
                ? b.legal_name()
                : absl::StrCat(b.first_name(), " ", b.last_name());
        if (e.day() >= name_day_) {
          name_day_ = e.day();
          hit_.name = name;
        }
        names_.insert(std::move(name));
      } else if (r == Relation::kDemographics) {
        v1::DemographicsChanged c;
        if (!c.ParseFromString(e.payload()) || c.legal_name().empty()) continue;
        names_.insert(c.legal_name());
        if (e.day() >= legal_name_day_) {
          legal_name_day_ = e.day();
          legal_name_ = c.legal_name();
        }
      }
    }
  }

  bool seen() const { return seen_; }
  // Every name it was enrolled under or renamed to, as written.
  const std::set<std::string>& names() const { return names_; }

  SearchHit Finish(std::string npi, std::string matched) {
    hit_.npi = std::move(npi);
    hit_.matched = std::move(matched);
    if (!legal_name_.empty() && hit_.entity == v1::Enrolled::ORGANIZATION &&
        legal_name_day_ >= name_day_) {
      hit_.name = legal_name_;
    }
    hit_.payers.assign(payers_.begin(), payers_.end());
    hit_.enrollment_ids.assign(ids_.begin(), ids_.end());
    hit_.pac_ids.assign(pacs_.begin(), pacs_.end());
    return std::move(hit_);
  }

 private:
  uint64_t known_seq_;
  bool seen_ = false;
  SearchHit hit_;
  int64_t name_day_ = INT64_MIN, legal_name_day_ = INT64_MIN;
  std::string legal_name_;
  std::set<std::string> payers_, ids_, pacs_, names_;
};

}  // namespace

absl::StatusOr<SearchResult> Queries::Search(absl::string_view raw,
                                             size_t limit,
                                             uint64_t known_seq) const {
  if (view_ == nullptr) return Pinned().Search(raw, limit, known_seq);
  const std::string text(absl::StripAsciiWhitespace(raw));
  std::map<std::string, SearchHit> found;  // by NPI
  SearchResult result;
  // What all of an NPI's own timelines say about it.
  auto build = [&](const std::string& npi) -> absl::StatusOr<HitBuilder> {
    HitBuilder b(known_seq);
    auto add = [&](absl::string_view key, const Timeline& t) {
      b.Add(key, t);
      return true;
    };
    RETURN_IF_ERROR(view_->ScanTimelines(npi, add));
    RETURN_IF_ERROR(view_->ScanTimelines(
        TimelinePrefix(Relation::kReassignment, npi), add));
    return b;
  };
  // The NPIs an id index names, each confirmed by a visible enrollment
  // carrying the id (the indexes are never pruned).
  auto by_id = [&](char kind, const std::string& id,
                   const std::string& matched) -> absl::Status {
    std::set<std::string> npis;
    RETURN_IF_ERROR(view_->ScanIndex(
        std::string(1, kind) + id, [&](absl::string_view key) {
          if (key.size() >= 1 + id.size() + 10) {
            npis.emplace(key.substr(1 + id.size(), 10));
          }
          return true;
        }));
    for (const std::string& npi : npis) {
      ASSIGN_OR_RETURN(HitBuilder b, build(npi));
      SearchHit hit = b.Finish(npi, matched);
      const std::vector<std::string>& ids =
          kind == 'e' ? hit.enrollment_ids : hit.pac_ids;
      if (std::find(ids.begin(), ids.end(), id) != ids.end()) {
        found.emplace(npi, std::move(hit));
      }
    }
    return absl::OkStatus();
  };
  if (text.empty()) return result;
  if (text.size() == 10 && absl::c_all_of(text, absl::ascii_isdigit)) {
    ASSIGN_OR_RETURN(HitBuilder b, build(text));
    if (b.seen()) found.emplace(text, b.Finish(text, "npi"));
    RETURN_IF_ERROR(by_id('c', text, "pac_id"));
  } else if (IsValidEnrollmentId(absl::AsciiStrToUpper(text))) {
    RETURN_IF_ERROR(by_id('e', absl::AsciiStrToUpper(text), "enrollment_id"));
  }
  const std::string wanted = NormalizeName(text);
  if (found.empty() && !wanted.empty()) {
    // Every enrollment and legal-name change, the NPIs in key order.
    std::string npi;
    HitBuilder b(known_seq);
    auto flush = [&] {
      if (npi.empty() || !b.seen()) return;
      for (const std::string& name : b.names()) {
        if (absl::StrContains(NormalizeName(name), wanted)) {
          found.emplace(npi, b.Finish(npi, "name"));
          return;
        }
      }
    };
    auto names_a_person = [](absl::string_view key) {
      const Relation r = RelationOfKey(key);
      return r == Relation::kEnrollment || r == Relation::kDemographics;
    };
    RETURN_IF_ERROR(view_->ScanTimelines(
        "", names_a_person, [&](absl::string_view key, const Timeline& t) {
          if (key.substr(0, 10) != npi) {
            flush();
            if (found.size() > limit) return false;
            npi = std::string(key.substr(0, 10));
            b = HitBuilder(known_seq);
          }
          b.Add(key, t);
          return true;
        }));
    if (found.size() <= limit) flush();
  }
  for (auto& [npi, hit] : found) {
    if (result.hits.size() == limit) {
      result.truncated = true;
      break;
    }
    result.hits.push_back(std::move(hit));
  }
  return result;
}

absl::StatusOr<std::vector<std::string>> Queries::NpisForId(
    char kind, const std::string& id, const std::string& payer_filter,
    uint64_t known_seq) const {
  if (view_ == nullptr) return Pinned().NpisForId(kind, id, payer_filter, known_seq);
  const std::string payer = CanonicalPayer(payer_filter);
  std::vector<std::pair<std::string, std::string>> candidates;  // npi, payer
  const std::string prefix = std::string(1, kind) + id;
  RETURN_IF_ERROR(view_->ScanIndex(prefix, [&](absl::string_view key) {
    absl::string_view rest = key.substr(prefix.size());
    if (rest.size() > 10 && rest.substr(10) == payer) {
      candidates.emplace_back(std::string(rest.substr(0, 10)), payer);
    }
    return true;
  }));
  std::vector<std::string> npis;
  for (const auto& [npi, p] : candidates) {
    ASSIGN_OR_RETURN(
        std::optional<Timeline> t,
        view_->GetTimeline(NpiPayerKey(Relation::kEnrollment, npi, p)));
    if (!t.has_value()) continue;
    bool carries = false;
    ForEachIdIn(*t, known_seq, [&](char k, const std::string& value) {
      carries = carries || (k == kind && value == id);
    });
    if (carries) npis.push_back(npi);
  }
  return npis;
}

void Queries::ForEachIdIn(
    const Timeline& enrollment, uint64_t known_seq,
    const std::function<void(char, const std::string&)>& fn) {
  v1::Enrolled b;
  for (const TimelineEntry& e : enrollment.entries()) {
    if (!Visible(e, known_seq) || e.payload().empty()) continue;
    if (!b.ParseFromString(e.payload())) continue;
    if (!b.enrollment_id().empty()) fn('e', b.enrollment_id());
    if (!b.pac_id().empty()) fn('c', b.pac_id());
  }
}

absl::StatusOr<std::optional<DayNumber>> Queries::RevalidationDue(
    const std::string& npi, const std::string& payer, DayNumber day,
    uint64_t known_seq) const {
  if (view_ == nullptr) return Pinned().RevalidationDue(npi, payer, day, known_seq);
  ASSIGN_OR_RETURN(
      std::optional<Timeline> t,
      view_->GetTimeline(NpiPayerKey(Relation::kRevalidation, npi, payer)));
  if (!t.has_value()) return std::nullopt;
  const TimelineEntry* latest = LatestPointOn(*t, day, known_seq);
  if (latest == nullptr || !latest->has_until_day()) return std::nullopt;
  return latest->until_day();
}

absl::StatusOr<std::vector<GroupMinimumFlag>> Queries::GroupMinimumFlags(
    const std::string& org, const std::string& payer, DayNumber day,
    uint64_t known_seq, const PayerRules& rules) const {
  if (view_ == nullptr) return Pinned().GroupMinimumFlags(org, payer, day, known_seq, rules);
  std::vector<v1::ContractSigned> contracts;
  RETURN_IF_ERROR(view_->ScanTimelines(
      TimelinePrefix(Relation::kContract, org),
      [&](absl::string_view, const Timeline& t) {
        if (auto i = IntervalOn(t, day, known_seq)) {
          contracts.emplace_back();
          contracts.back().ParseFromString(PayloadOf(t, i->start_seq));
        }
        return true;
      }));
  std::vector<GroupMinimumFlag> flags;
  for (const v1::ContractSigned& c : contracts) {
    if (c.kind() != v1::ContractSigned::GROUP) continue;
    if (!payer.empty() && CanonicalPayer(c.payer()) != CanonicalPayer(payer)) {
      continue;
    }
    std::optional<int> minimum = rules.MinGroupProviders(c.payer());
    if (!minimum.has_value()) continue;
    int covered = 0;
    if (c.covered_npis().empty()) {
      ASSIGN_OR_RETURN(auto rows,
                       ReassignmentsOn(day, known_seq, {"", org, c.payer()}));
      covered = static_cast<int>(rows.size());
    }
    for (const std::string& npi : c.covered_npis()) {
      ASSIGN_OR_RETURN(
          std::optional<Interval> r,
          InEffect(PairKey(Relation::kReassignment, npi, org, c.payer()), day,
                   known_seq));
      if (r.has_value()) ++covered;
    }
    if (covered < *minimum) {
      flags.push_back({org, c.payer(), c.contract_id(), covered, *minimum});
    }
  }
  return flags;
}

absl::StatusOr<ClaimCheckResult> Queries::ClaimCheck(
    const std::string& rendering, const std::string& billing,
    const std::string& payer, DayNumber dos, uint64_t known_seq,
    const PayerRules& rules) const {
  if (view_ == nullptr) return Pinned().ClaimCheck(rendering, billing, payer, dos, known_seq, rules);
  ClaimCheckResult result;
  result.known_seq = std::min(known_seq, view_->head().seq);
  const std::string d = FormatDate(dos);
  auto& out = result.findings;

  // Every timeline of the chain but the contracts, in one batched read: the
  // rendering provider's lie in one block, the group's in another.
  const bool self_billing = rendering == billing;
  enum : size_t {
    kRenderingEnrollment,
    kCredentialing,
    kGroupEnrollment,
    kGroupDemographics,
    kAssociation,
    kReassignment,
    kBillingRegistry,
  };
  std::vector<std::string> keys = {
      NpiPayerKey(Relation::kEnrollment, rendering, payer),
      NpiPayerKey(Relation::kCredential, rendering, payer)};
  if (!self_billing) {
    keys.push_back(NpiPayerKey(Relation::kEnrollment, billing, payer));
    keys.push_back(DemographicsKey(billing));
    keys.push_back(PairKey(Relation::kAssociation, rendering, billing, payer));
    keys.push_back(PairKey(Relation::kReassignment, rendering, billing, payer));
    keys.push_back(RegistryKey(billing));
  }
  // The rendering NPI's registry record last: its key sorts after the
  // rendering provider's other timelines.
  keys.push_back(RegistryKey(rendering));
  ASSIGN_OR_RETURN(const std::vector<std::optional<Timeline>> chain,
                   view_->GetTimelines(keys));

  // What the answer rests on: every event known at K of each timeline read
  // (sorted when the answer is complete).
  auto rests_on = [&](const Timeline& t) {
    for (const TimelineEntry& e : t.entries()) {
      if (e.seq() <= known_seq) result.sources.push_back(e.seq());
      if (e.voided_by() != 0 && e.voided_by() <= known_seq) {
        result.sources.push_back(e.voided_by());
      }
    }
  };
  for (const std::optional<Timeline>& t : chain) {
    if (t.has_value()) rests_on(*t);
  }
  auto finish = [&]() -> ClaimCheckResult {
    std::sort(result.sources.begin(), result.sources.end());
    result.sources.erase(
        std::unique(result.sources.begin(), result.sources.end()),
        result.sources.end());
    result.payable = out.empty();
    return std::move(result);
  };
  // The contracts an NPI holds at the payer, read once, when needed.
  auto contracts_of = [&](const std::string& holder)
      -> absl::StatusOr<std::vector<Timeline>> {
    ASSIGN_OR_RETURN(std::vector<Timeline> contracts,
                     ContractTimelines(holder, payer));
    for (const Timeline& t : contracts) rests_on(t);
    return contracts;
  };

  RegistryFindings(rendering, billing, chain.back(),
                   self_billing ? nullptr : &chain[kBillingRegistry], dos,
                   known_seq, &out, &result.not_in_registry);

  if (!IntervalIn(chain[kRenderingEnrollment], dos, known_seq).has_value()) {
    out.push_back(
        Find("RENDERING_NOT_ENROLLED",
             absl::StrCat("rendering provider ", rendering,
                          " is not enrolled with ", payer, " on ", d)));
  }
  if (!CredentialedOn(chain[kCredentialing], dos, known_seq)) {
    out.push_back(
        Find("NOT_CREDENTIALED", absl::StrCat("rendering provider ", rendering,
                                              " has no credentialing with ",
                                              payer, " in effect on ", d)));
  }

  if (self_billing) {
    // Self-billing: the individual's own contract; no reassignment needed.
    ASSIGN_OR_RETURN(const std::vector<Timeline> rendering_contracts,
                     contracts_of(rendering));
    const std::vector<v1::ContractSigned> contracts =
        ContractsOn(rendering_contracts, dos, known_seq);
    bool individual = std::any_of(
        contracts.begin(), contracts.end(), [](const v1::ContractSigned& c) {
          return c.kind() == v1::ContractSigned::INDIVIDUAL;
        });
    if (!individual) {
      const std::optional<EndedContract> ended = LatestEndedContract(
          rendering_contracts, dos, known_seq, [](const v1::ContractSigned& c) {
            return c.kind() == v1::ContractSigned::INDIVIDUAL;
          });
      out.push_back(Find(
          "NO_CONTRACT",
          absl::StrCat("no individual contract held by ", rendering, " with ",
                       payer, " is in force on ", d,
                       ended.has_value() ? ": " + ended->Describe() : "")));
    }
    return finish();
  }

  Identity group = EnrollmentIdentity(chain[kGroupEnrollment], dos, known_seq);
  if (group.enrolled) {
    ApplyDemographics(chain[kGroupDemographics], dos, known_seq, &group);
  }
  if (!group.enrolled) {
    out.push_back(
        Find("BILLING_NOT_ENROLLED",
             absl::StrCat("billing organization ", billing,
                          " is not enrolled with ", payer, " on ", d)));
  }
  if (!IntervalIn(chain[kAssociation], dos, known_seq).has_value()) {
    out.push_back(Find("NOT_ASSOCIATED",
                       absl::StrCat(rendering, " is not associated with ",
                                    billing, " at ", payer, " on ", d)));
  }

  const std::optional<Timeline>& reassignment = chain[kReassignment];
  std::vector<Interval> periods;
  if (reassignment.has_value())
    periods = FoldIntervals(*reassignment, known_seq);
  std::optional<Interval> current, latest_before;
  for (const Interval& i : periods) {
    if (i.Contains(dos)) current = i;
    if (i.start <= dos) latest_before = i;
  }
  if (periods.empty()) {
    out.push_back(
        Find("NO_REASSIGNMENT",
             absl::StrCat(rendering, " has no reassignment of benefits to ",
                          billing, " at ", payer)));
  } else if (!current.has_value() && !latest_before.has_value()) {
    out.push_back(
        Find("DOS_BEFORE_REASSIGNMENT_EFFECTIVE",
             absl::StrCat("the date of service ", d,
                          " is before the reassignment's effective date ",
                          FormatDate(periods.front().start), " (seq ",
                          periods.front().start_seq, ")")));
  } else if (!current.has_value()) {
    out.push_back(Find(
        "REASSIGNMENT_ENDED",
        absl::StrCat("the reassignment of ", rendering, " to ", billing, " ",
                     LastInEffect(*latest_before),
                     ", before the date of service ", d)));
  }

  // The group's contract must cover the rendering provider, or the provider
  // holds an individual contract.
  ASSIGN_OR_RETURN(const std::vector<Timeline> billing_contracts,
                   contracts_of(billing));
  const std::vector<v1::ContractSigned> group_contracts =
      ContractsOn(billing_contracts, dos, known_seq);
  std::vector<Timeline> rendering_contracts;
  bool covered = std::any_of(
      group_contracts.begin(), group_contracts.end(),
      [&](const v1::ContractSigned& c) {
        return c.kind() == v1::ContractSigned::GROUP && Covers(c, rendering);
      });
  if (!covered) {
    ASSIGN_OR_RETURN(rendering_contracts, contracts_of(rendering));
    covered = !ContractsOn(rendering_contracts, dos, known_seq).empty();
  }
  if (!covered) {
    // Name the contract that used to cover them, if one ended before.
    std::optional<EndedContract> ended = LatestEndedContract(
        billing_contracts, dos, known_seq, [&](const v1::ContractSigned& c) {
          return c.kind() == v1::ContractSigned::GROUP && Covers(c, rendering);
        });
    const std::optional<EndedContract> own_ended = LatestEndedContract(
        rendering_contracts, dos, known_seq,
        [](const v1::ContractSigned&) { return true; });
    if (!ended.has_value() ||
        (own_ended.has_value() && *own_ended->interval.end > *ended->interval.end)) {
      ended = own_ended;
    }
    std::string message = absl::StrCat(
        "no contract with ", payer, " in force on ", d, " covers ", rendering,
        " billed by ", billing);
    if (ended.has_value()) {
      absl::StrAppend(&message, ": ", ended->Describe());
    } else {
      absl::StrAppend(&message, " (no group contract of ", billing,
                      " lists them, and they hold no individual contract)");
    }
    out.push_back(Find("NO_CONTRACT", std::move(message)));
  }

  // The reassignment's organization data must agree with the group's
  // enrollment record.
  if (current.has_value() && group.enrolled) {
    v1::Reassigned r;
    r.ParseFromString(PayloadOf(*reassignment, current->start_seq));
    if (!r.org_tin().empty() && !group.tin.empty() &&
        r.org_tin() != group.tin) {
      out.push_back(Find(
          "GROUP_DATA_MISMATCH",
          absl::StrCat("the reassignment (seq ", current->start_seq,
                       ") names TIN ", r.org_tin(), " but ", billing,
                       "'s enrollment record on ", d, " has TIN ", group.tin)));
    }
    if (!r.org_legal_name().empty() && !group.legal_name.empty() &&
        NormalizeName(r.org_legal_name()) != NormalizeName(group.legal_name)) {
      out.push_back(
          Find("GROUP_DATA_MISMATCH",
               absl::StrCat("the reassignment (seq ", current->start_seq,
                            ") names '", r.org_legal_name(), "' but ", billing,
                            "'s enrollment record on ", d, " has legal name '",
                            group.legal_name, "'")));
    }
  }

  std::vector<GroupMinimumFlag> flags;
  if (rules.MinGroupProviders(payer).has_value()) {
    ASSIGN_OR_RETURN(flags,
                     GroupMinimumFlags(billing, payer, dos, known_seq, rules));
  }
  for (const GroupMinimumFlag& f : flags) {
    result.warnings.push_back(GroupBelowMinimumWarning(f, dos));
  }
  return finish();
}

absl::StatusOr<LedgerStats> Queries::Stats(DayNumber day) const {
  if (view_ == nullptr) return Pinned().Stats(day);
  LedgerStats stats;
  std::set<std::string> individuals, organizations, payers;
  auto it = view_->Read(1);
  for (; it->Valid(); it->Next()) {
    const Event& e = it->event();
    ++stats.events_by_type[std::string(BodyName(e))];
    if (e.body_case() == Event::kVoided) ++stats.voided;
    if (e.body_case() == Event::kEnrolled) {
      (e.enrolled().entity() == v1::Enrolled::ORGANIZATION ? organizations
                                                           : individuals)
          .insert(e.enrolled().npi());
    }
    std::string p = PayerOf(e);
    if (!p.empty()) payers.insert(p);
  }
  RETURN_IF_ERROR(it->status());
  stats.providers = individuals.size();
  stats.organizations = organizations.size();
  stats.payers.assign(payers.begin(), payers.end());
  RETURN_IF_ERROR(ForEachReassignment(
      RelationFilter(), [&](absl::string_view, const Timeline& t) {
        if (IntervalOn(t, day, kHeadSeq).has_value()) {
          ++stats.active_reassignments;
        }
      }));
  return stats;
}

}  // namespace provledger
