#include "tools/service/service.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "ledger/date.h"
#include "ledger/hash.h"
#include "ledger/knowledge_point.h"
#include "ledger/status_macros.h"
#include "ledger/validation.h"
#include "projections/query.h"
#include "projections/reconcile.h"
#include "tools/service/describe.h"
#include "tools/service/event_json.h"
#include "tools/service/report.h"

namespace provledger::service {
namespace {

using v1::Event;

// `s` with "<field>: " in front of its message.
absl::Status InField(const char* field, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(field, ": ", s.message()));
}

absl::StatusOr<DayNumber> DayOf(const char* field, const std::string& value) {
  auto day = ParseDate(value);
  if (!day.ok()) return InField(field, day.status());
  return *day;
}

// InvalidArgument unless `npi` is empty or a valid NPI.
absl::Status CheckNpi(const char* field, const std::string& npi) {
  if (npi.empty() || IsValidNpi(npi)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": '", npi,
                   "' is not a valid NPI (10 digits, Luhn check over 80840)"));
}

absl::Status CheckFilter(const v1::RelationFilter& filter) {
  RETURN_IF_ERROR(CheckNpi("provider", filter.provider()));
  return CheckNpi("org", filter.org());
}

RelationFilter FilterOf(const v1::RelationFilter& f) {
  return {f.provider(), f.org(), f.payer()};
}

void AddFindings(const std::vector<Finding>& findings,
                 google::protobuf::RepeatedPtrField<v1::Finding>* out) {
  for (const Finding& f : findings) {
    v1::Finding* x = out->Add();
    x->set_code(f.code);
    x->set_message(f.message);
  }
}

// For each row: who of the two is not enrolled at the payer on `day` (a
// reassignment still in effect whose provider or group left the payer is
// worth a look), "" when both are.
absl::StatusOr<std::vector<std::string>> EnrollmentNotes(
    const Queries& q, const std::vector<ReassignmentRow>& rows, DayNumber day,
    uint64_t known_seq) {
  std::map<std::pair<std::string, std::string>, bool> enrolled;
  auto is_enrolled = [&](const std::string& npi,
                         const std::string& payer) -> absl::StatusOr<bool> {
    auto it = enrolled.find({npi, payer});
    if (it != enrolled.end()) return it->second;
    ASSIGN_OR_RETURN(bool e, q.EnrolledOn(npi, payer, day, known_seq));
    enrolled.emplace(std::make_pair(npi, payer), e);
    return e;
  };
  std::vector<std::string> notes;
  for (const ReassignmentRow& r : rows) {
    ASSIGN_OR_RETURN(bool provider, is_enrolled(r.provider, r.payer));
    ASSIGN_OR_RETURN(bool group, is_enrolled(r.org, r.payer));
    notes.push_back(provider && group ? ""
                    : group           ? "provider not enrolled"
                    : provider        ? "group not enrolled"
                                      : "provider and group not enrolled");
  }
  return notes;
}

}  // namespace

absl::StatusOr<absl::TimeZone> ZoneOf(const v1::KnowledgePoint& known) {
  auto zone = LoadTimeZone(known.tz());
  if (!zone.ok()) return InField("tz", zone.status());
  return *zone;
}

absl::StatusOr<uint64_t> ResolveKnowledge(const LedgerView& view,
                                          const v1::KnowledgePoint& known) {
  const uint64_t head = view.head().seq;
  switch (known.point_case()) {
    case v1::KnowledgePoint::kKnownAt: {
      ASSIGN_OR_RETURN(absl::TimeZone zone, ZoneOf(known));
      auto t = ParseKnownAt(known.known_at(), zone);
      if (!t.ok()) return InField("known_at", t.status());
      return view.SeqAtTime(*t);
    }
    case v1::KnowledgePoint::kKnownSeq:
      if (known.known_seq() > head) {
        return absl::InvalidArgumentError(
            absl::StrCat("known_seq: ", known.known_seq(),
                         " is beyond the head (", head, ")"));
      }
      return known.known_seq();
    case v1::KnowledgePoint::POINT_NOT_SET:
      break;
  }
  return head;
}

std::string KnownAtCaption(uint64_t known_seq, uint64_t head_seq,
                           std::optional<absl::Time> recorded,
                           absl::TimeZone zone) {
  if (known_seq == head_seq) {
    return absl::StrCat("as known now (seq ", known_seq, ")");
  }
  return absl::StrCat(
      "as known at seq ", known_seq,
      recorded.has_value() ? " recorded " + FormatKnownTime(*recorded, zone)
                           : "");
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  // Printing a valid message cannot fail.
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

std::string DigestOf(const Head& head) {
  return absl::StrCat(head.seq, ":", ToHex(head.hash));
}

namespace {

// "<seq>:<64 hex digits>" as its parts.
absl::StatusOr<std::pair<uint64_t, Hash>> ParseDigest(
    const std::string& digest) {
  std::vector<std::string> parts = absl::StrSplit(digest, ':');
  uint64_t seq = 0;
  Hash hash{};
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &seq) || seq == 0 ||
      !FromHex(parts[1], &hash)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "digest: '", digest,
        "' is not a digest <seq>:<64 hex digits> as printed by `digest`"));
  }
  return std::make_pair(seq, hash);
}

}  // namespace

absl::StatusOr<v1::VerifyResponse> Verify(const Ledger& ledger,
                                          const v1::VerifyRequest& request,
                                          const std::atomic<bool>* cancel) {
  std::optional<std::pair<uint64_t, Hash>> digest;
  if (!request.digest().empty()) {
    ASSIGN_OR_RETURN(digest, ParseDigest(request.digest()));
  }
  v1::VerifyResponse answer;
  ASSIGN_OR_RETURN(VerifyReport chain, ledger.VerifyChain(cancel));
  answer.set_events_checked(chain.events_checked);
  answer.set_head(DigestOf(chain.head));
  if (chain.first_bad_seq != 0) {
    answer.set_failure(v1::VerifyResponse::CHAIN_DAMAGED);
    answer.set_failed_seq(chain.first_bad_seq);
    answer.set_problem(chain.problem);
    return answer;
  }
  if (digest.has_value()) {
    answer.set_digest_checked(true);
    const auto& [seq, hash] = *digest;
    if (seq > chain.head.seq) {
      answer.set_failure(v1::VerifyResponse::DIGEST_BEYOND_HEAD);
      answer.set_failed_seq(seq);
      answer.set_problem(absl::StrCat(
          "the digest names seq ", seq, " but the log ends at seq ",
          chain.head.seq, ": events were removed"));
      return answer;
    }
    ASSIGN_OR_RETURN(v1::Event at, ledger.View()->Lookup(seq));
    if (at.hash() != ToHex(hash)) {
      answer.set_failure(v1::VerifyResponse::DIGEST_REWRITTEN);
      answer.set_failed_seq(seq);
      answer.set_problem(absl::StrCat(
          "the event at seq ", seq, " has hash ", at.hash(),
          ", not the digest's ", ToHex(hash),
          ": the history up to that point was rewritten"));
      return answer;
    }
  }
  if (!request.chain_only()) {
    answer.set_projections_checked(true);
    absl::Status projections = ledger.VerifyProjections(cancel);
    if (absl::IsDataLoss(projections)) {
      answer.set_failure(v1::VerifyResponse::PROJECTIONS_DISAGREE);
      answer.set_problem(std::string(projections.message()));
    } else if (!projections.ok()) {
      return projections;
    }
  }
  return answer;
}

namespace {

constexpr char kBackupMarker[] = "PROVLEDGER_BACKUP";

}  // namespace

absl::StatusOr<v1::BackupResponse> Backup(Ledger& ledger,
                                          const v1::BackupRequest& request) {
  if (request.to().empty()) {
    return absl::InvalidArgumentError("to: give the backup's new directory");
  }
  ASSIGN_OR_RETURN(Head head, ledger.Checkpoint(request.to()));
  v1::BackupResponse answer;
  answer.set_head(DigestOf(head));
  answer.set_events(head.seq);
  std::ofstream marker(std::filesystem::path(request.to()) / kBackupMarker);
  marker << "provledger backup\nhead " << answer.head() << "\n";
  marker.close();
  if (!marker) {
    return absl::InternalError(absl::StrCat(
        "cannot write ", kBackupMarker, " in '", request.to(), "'"));
  }
  return answer;
}

absl::StatusOr<v1::BackupResponse> Restore(const std::string& from,
                                           const std::string& into) {
  namespace fs = std::filesystem;
  std::ifstream marker(fs::path(from) / kBackupMarker);
  std::string title, word, digest;
  std::getline(marker, title);
  marker >> word >> digest;
  if (!marker || title != "provledger backup" || word != "head") {
    return absl::FailedPreconditionError(absl::StrCat(
        "'", from, "' is not a provledger backup (no readable ",
        kBackupMarker, " file)"));
  }
  if (fs::exists(into)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "'", into, "' exists: a backup is restored into a new directory"));
  }
  std::error_code ec;
  fs::create_directories(into, ec);
  for (const auto& entry : fs::directory_iterator(from, ec)) {
    if (entry.path().filename() == kBackupMarker) continue;
    fs::copy(entry.path(), fs::path(into) / entry.path().filename(),
             fs::copy_options::recursive, ec);
    if (ec) break;
  }
  auto fail = [&](absl::Status s) {
    fs::remove_all(into, ec);
    return s;
  };
  if (ec) {
    return fail(absl::InternalError(absl::StrCat(
        "cannot copy '", from, "' into '", into, "': ", ec.message())));
  }
  absl::StatusOr<v1::VerifyResponse> verified;
  {
    auto ledger = Ledger::Open(LedgerOptions(), into);
    if (!ledger.ok()) {
      return fail(absl::DataLossError(absl::StrCat(
          "the backup in '", from, "' does not open as a ledger: ",
          ledger.status().message())));
    }
    verified = Verify(**ledger, v1::VerifyRequest());
  }
  if (!verified.ok()) return fail(verified.status());
  if (verified->failure() != v1::VerifyResponse::NONE) {
    return fail(absl::DataLossError(absl::StrCat(
        "the backup in '", from, "' does not verify: ", verified->problem())));
  }
  if (verified->head() != digest) {
    return fail(absl::DataLossError(absl::StrCat(
        "the restored ledger's head ", verified->head(), " is not the one ",
        kBackupMarker, " names (", digest, "): the backup was altered")));
  }
  v1::BackupResponse answer;
  answer.set_head(digest);
  answer.set_events(verified->events_checked());
  return answer;
}

std::string QueryService::KnownAtCaption(uint64_t known_seq,
                                         absl::TimeZone zone) const {
  std::optional<absl::Time> recorded;
  if (known_seq > 0 && known_seq != view_->head().seq) {
    auto e = view_->Lookup(known_seq);
    if (e.ok()) recorded = ToAbslTime(e->recorded_at());
  }
  return service::KnownAtCaption(known_seq, view_->head().seq, recorded, zone);
}

QueryService::QueryService(std::shared_ptr<const LedgerView> view,
                           PayerRules rules)
    : view_(std::move(view)), rules_(std::move(rules)) {}

absl::StatusOr<v1::AsOfResponse> QueryService::AsOf(
    const v1::AsOfRequest& request) const {
  ASSIGN_OR_RETURN(DayNumber day, DayOf("date", request.date()));
  RETURN_IF_ERROR(CheckFilter(request.filter()));
  ASSIGN_OR_RETURN(uint64_t known_seq,
                   ResolveKnowledge(*view_, request.known()));
  Queries q(view_);
  const RelationFilter filter = FilterOf(request.filter());
  ASSIGN_OR_RETURN(std::vector<ReassignmentRow> rows,
                   q.ReassignmentsOn(day, known_seq, filter));
  v1::AsOfResponse response;
  response.set_date(FormatDate(day));
  response.set_known_seq(known_seq);
  // Every group whose reassignments are listed is checked against the
  // payers' minimums, whatever the filter.
  if (!rules_.min_group_providers.empty()) {
    std::set<std::string> orgs;
    for (const ReassignmentRow& r : rows) orgs.insert(r.org);
    if (!filter.org.empty()) orgs.insert(filter.org);
    for (const std::string& org : orgs) {
      ASSIGN_OR_RETURN(
          std::vector<GroupMinimumFlag> flags,
          q.GroupMinimumFlags(org, filter.payer, day, known_seq, rules_));
      for (const GroupMinimumFlag& g : flags) {
        AddFindings({GroupBelowMinimumWarning(g, day)},
                    response.mutable_warnings());
      }
    }
  }
  ASSIGN_OR_RETURN(std::vector<std::string> notes,
                   EnrollmentNotes(q, rows, day, known_seq));
  for (size_t i = 0; i < rows.size(); ++i) {
    const ReassignmentRow& r = rows[i];
    v1::Reassignment* out = response.add_reassignments();
    out->set_provider(r.provider);
    out->set_org(r.org);
    out->set_payer(r.payer);
    out->set_effective_from(FormatDate(r.interval.start));
    if (r.interval.end) out->set_effective_until(FormatDate(*r.interval.end));
    out->set_start_seq(r.interval.start_seq);
    if (r.interval.end_seq != 0) out->set_end_seq(r.interval.end_seq);
    if (!notes[i].empty()) out->set_note(notes[i]);
  }
  return response;
}

absl::StatusOr<bool> QueryService::MaskTins(bool show_tins) const {
  if (show_tins && full_tins_refused_) {
    return absl::PermissionDeniedError(
        "show_tins: an auditor sees an individual's TIN as its last four "
        "digits; a writer or admin may ask for it in full");
  }
  return !show_tins;
}

absl::StatusOr<v1::HistoryResponse> QueryService::History(
    const v1::HistoryRequest& request) const {
  if (request.npi().empty()) {
    return absl::InvalidArgumentError("npi: is required");
  }
  RETURN_IF_ERROR(CheckNpi("npi", request.npi()));
  ASSIGN_OR_RETURN(uint64_t known_seq,
                   ResolveKnowledge(*view_, request.known()));
  Queries q(view_);
  ASSIGN_OR_RETURN(std::vector<HistoryRow> rows,
                   q.History(request.npi(), request.payer(), known_seq));
  v1::HistoryResponse response;
  response.set_npi(request.npi());
  response.set_known_seq(known_seq);
  ASSIGN_OR_RETURN(absl::TimeZone zone, ZoneOf(request.known()));
  ASSIGN_OR_RETURN(const bool mask, MaskTins(request.show_tins()));
  for (const HistoryRow& r : rows) {
    const Event& e = r.event;
    if (!request.actor().empty() && e.actor() != request.actor()) continue;
    if (!request.source().empty() && e.source() != request.source()) continue;
    v1::HistoryEntry* entry = response.add_entries();
    entry->set_seq(e.seq());
    entry->set_recorded_at(FormatKnownTime(ToAbslTime(e.recorded_at()), zone));
    entry->set_effective_date(e.effective_date());
    entry->set_event(std::string(BodyName(e)));
    if (mask) {
      Event shown = e;
      MaskIndividualTins(&shown);
      entry->set_detail(Describe(shown));
    } else {
      entry->set_detail(Describe(e));
    }
    if (!e.actor().empty()) entry->set_actor(e.actor());
    entry->set_source(e.source());
    if (r.voided_by != 0) entry->set_voided_by(r.voided_by);
    if (e.has_voided()) entry->set_voids(e.voided().target_seq());
    entry->set_hash(e.hash());
  }
  return response;
}

absl::StatusOr<v1::DiffResponse> QueryService::Diff(
    const v1::DiffRequest& request) const {
  ASSIGN_OR_RETURN(DayNumber from, DayOf("from", request.from()));
  ASSIGN_OR_RETURN(DayNumber to, DayOf("to", request.to()));
  if (to < from) {
    return absl::InvalidArgumentError(absl::StrCat(
        "to: ", request.to(), " is before from ", request.from()));
  }
  RETURN_IF_ERROR(CheckFilter(request.filter()));
  ASSIGN_OR_RETURN(uint64_t known_seq,
                   ResolveKnowledge(*view_, request.known()));
  Queries q(view_);
  ASSIGN_OR_RETURN(std::vector<ChangeRow> rows,
                   q.Changes(from, to, known_seq, FilterOf(request.filter())));
  v1::DiffResponse response;
  response.set_known_seq(known_seq);
  for (const ChangeRow& r : rows) {
    v1::Change* c = response.add_changes();
    c->set_date(FormatDate(r.day));
    c->set_change(r.started ? "STARTED" : "ENDED");
    c->set_provider(r.provider);
    c->set_org(r.org);
    c->set_payer(r.payer);
    c->set_seq(r.seq);
  }
  return response;
}

absl::StatusOr<v1::ClaimCheckResponse> QueryService::ClaimCheck(
    const v1::ClaimCheckRequest& request) const {
  for (const auto& [field, value] :
       {std::pair<const char*, const std::string*>{"rendering_npi",
                                                   &request.rendering_npi()},
        {"billing_npi", &request.billing_npi()},
        {"payer", &request.payer()}}) {
    if (value->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": is required"));
    }
  }
  RETURN_IF_ERROR(CheckNpi("rendering_npi", request.rendering_npi()));
  RETURN_IF_ERROR(CheckNpi("billing_npi", request.billing_npi()));
  ASSIGN_OR_RETURN(DayNumber dos,
                   DayOf("date_of_service", request.date_of_service()));
  ASSIGN_OR_RETURN(uint64_t known_seq,
                   ResolveKnowledge(*view_, request.known()));
  Queries q(view_);
  ASSIGN_OR_RETURN(ClaimCheckResult result,
                   q.ClaimCheck(request.rendering_npi(), request.billing_npi(),
                                request.payer(), dos, known_seq, rules_));
  v1::ClaimCheckResponse response;
  if (request.verify_sources()) {
    std::vector<std::string> npis = {request.rendering_npi()};
    if (request.billing_npi() != request.rendering_npi()) {
      npis.push_back(request.billing_npi());
    }
    RETURN_IF_ERROR(view_->VerifyTimelinesOf(npis));
    response.set_sources_verified(true);
  }
  response.set_result(result.payable ? "payable" : "denied");
  response.set_payable(result.payable);
  response.set_known_seq(result.known_seq);
  for (uint64_t seq : result.sources) response.add_sources(seq);
  for (const std::string& npi : result.not_in_registry) {
    response.add_not_in_registry(npi);
  }
  AddFindings(result.findings, response.mutable_findings());
  AddFindings(result.warnings, response.mutable_warnings());
  return response;
}

absl::StatusOr<v1::StatsResponse> QueryService::Stats(
    const v1::StatsRequest& request) const {
  DayNumber day = Today();
  if (!request.date().empty()) {
    ASSIGN_OR_RETURN(day, DayOf("date", request.date()));
  }
  Queries q(view_);
  ASSIGN_OR_RETURN(LedgerStats stats, q.Stats(day));
  v1::StatsResponse response;
  response.set_events(view_->head().seq);
  for (const auto& [type, n] : stats.events_by_type) {
    v1::Count* c = response.add_events_by_type();
    c->set_name(type);
    c->set_count(n);
  }
  response.set_providers(stats.providers);
  response.set_organizations(stats.organizations);
  for (const std::string& p : stats.payers) response.add_payers(p);
  response.set_date(FormatDate(day));
  response.set_active_reassignments(stats.active_reassignments);
  return response;
}

absl::StatusOr<v1::SearchResponse> QueryService::Search(
    const v1::SearchRequest& request) const {
  if (absl::StripAsciiWhitespace(request.text()).empty()) {
    return absl::InvalidArgumentError(
        "text: is required (an NPI, a PAC id, an enrollment id or a name)");
  }
  if (request.limit() > kMaxSearchHits) {
    return absl::InvalidArgumentError(absl::StrCat(
        "limit: ", request.limit(), " is more than ", kMaxSearchHits));
  }
  ASSIGN_OR_RETURN(uint64_t known_seq,
                   ResolveKnowledge(*view_, request.known()));
  Queries q(view_);
  ASSIGN_OR_RETURN(
      SearchResult found,
      q.Search(request.text(),
               request.limit() == 0 ? kDefaultSearchHits : request.limit(),
               known_seq));
  v1::SearchResponse response;
  response.set_known_seq(known_seq);
  response.set_truncated(found.truncated);
  for (const SearchHit& h : found.hits) {
    v1::SearchHit* hit = response.add_hits();
    hit->set_npi(h.npi);
    if (h.entity != v1::Enrolled::ENTITY_UNSPECIFIED) {
      hit->set_entity(v1::Enrolled::Entity_Name(h.entity));
    }
    hit->set_name(h.name);
    for (const std::string& p : h.payers) hit->add_payers(p);
    for (const std::string& e : h.enrollment_ids) hit->add_enrollment_ids(e);
    for (const std::string& c : h.pac_ids) hit->add_pac_ids(c);
    hit->set_matched(h.matched);
  }
  return response;
}

absl::StatusOr<v1::ReportResponse> QueryService::Report(
    const v1::ReportRequest& request) const {
  if (request.npi().empty()) {
    return absl::InvalidArgumentError("npi: is required");
  }
  RETURN_IF_ERROR(CheckNpi("npi", request.npi()));
  ASSIGN_OR_RETURN(uint64_t known_seq,
                   ResolveKnowledge(*view_, request.known()));
  ReportOptions options;
  options.npi = request.npi();
  options.is_org = request.is_org();
  options.payer = request.payer();
  options.known_seq = known_seq;
  ASSIGN_OR_RETURN(options.mask_individual_tins, MaskTins(request.show_tins()));
  if (!request.date_of_service().empty()) {
    ASSIGN_OR_RETURN(options.date_of_service,
                     DayOf("date_of_service", request.date_of_service()));
  }
  v1::ReportResponse response;
  ASSIGN_OR_RETURN(*response.mutable_html(), RenderReport(*view_, options));
  response.set_known_seq(known_seq);
  return response;
}

absl::StatusOr<v1::DigestResponse> QueryService::Digest() const {
  const Head& head = view_->head();
  if (head.seq == 0) {
    return absl::FailedPreconditionError(
        "the ledger is empty; there is nothing to digest");
  }
  v1::DigestResponse response;
  response.set_digest(DigestOf(head));
  response.set_seq(head.seq);
  response.set_hash(ToHex(head.hash));
  return response;
}

absl::StatusOr<v1::ReconcileSummary> QueryService::Reconcile(
    const v1::ReconcileRequest& request, std::istream& roster,
    const std::function<void(const v1::Discrepancy&)>& sink,
    const ProgressFn& progress) const {
  ReconcileOptions options;
  const std::string& format = request.roster_format();
  if (format == "cms-reassignment" || format.empty()) {
    options.format = RosterFormat::kCmsReassignment;
  } else if (format == "csv") {
    options.format = RosterFormat::kGeneric;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "roster_format: '", format, "' is not cms-reassignment or csv"));
  }
  ASSIGN_OR_RETURN(options.as_of, DayOf("as_of", request.as_of()));
  options.org = request.org();
  if (!request.payer().empty()) options.payer = request.payer();
  if (request.has_due_within_days()) {
    options.due_within_days = static_cast<int>(request.due_within_days());
  }
  ASSIGN_OR_RETURN(options.known_seq,
                   ResolveKnowledge(*view_, request.known()));
  v1::Discrepancy out;
  auto each = [&](const Discrepancy& d) {
    out.Clear();
    out.set_code(d.code);
    if (d.line != 0) out.set_line(static_cast<uint32_t>(d.line));
    if (!d.provider_npi.empty()) out.set_provider_npi(d.provider_npi);
    if (!d.org.empty()) out.set_org(d.org);
    out.set_detail(d.detail);
    sink(out);
  };
  ASSIGN_OR_RETURN(
      ReconcileSummary s,
      provledger::Reconcile(*view_, roster, options, each, progress));
  v1::ReconcileSummary summary;
  summary.set_rows(static_cast<uint32_t>(s.rows));
  summary.set_compared(static_cast<uint32_t>(s.compared));
  summary.set_matched(static_cast<uint32_t>(s.matched));
  summary.set_mismatched(static_cast<uint32_t>(s.mismatched));
  summary.set_not_compared(static_cast<uint32_t>(s.not_compared));
  summary.set_unparseable(static_cast<uint32_t>(s.unparseable));
  for (const auto& [code, n] : s.by_code) {
    v1::Count* c = summary.add_by_code();
    c->set_name(code);
    c->set_count(n);
  }
  return summary;
}

namespace {

AppendOptions AppendOptionsOf(const v1::AppendRequest& request,
                              const std::string& default_actor) {
  AppendOptions options;
  options.sync = !request.no_sync();
  options.default_actor = default_actor;
  if (request.has_expected()) {
    options.expected =
        ExpectedVersion{request.expected().npi(), request.expected().version()};
  }
  return options;
}

v1::AppendResponse AppendResponseOf(const AppendResult& result) {
  v1::AppendResponse response;
  response.set_appended(static_cast<uint32_t>(result.written));
  response.set_duplicates(
      static_cast<uint32_t>(result.seqs.size() - result.written));
  for (size_t i = 0; i < result.seqs.size(); ++i) {
    response.add_seqs(result.seqs[i]);
    response.add_duplicate(result.duplicate[i]);
  }
  response.set_head(DigestOf(result.head));
  return response;
}

}  // namespace

absl::StatusOr<v1::AppendResponse> Append(Ledger& ledger,
                                          const v1::AppendRequest& request,
                                          const std::string& default_actor) {
  const std::vector<Event> batch(request.events().begin(),
                                 request.events().end());
  ASSIGN_OR_RETURN(AppendResult result,
                   ledger.Append(batch, AppendOptionsOf(request, default_actor)));
  return AppendResponseOf(result);
}

void AppendAsync(
    Ledger& ledger, const v1::AppendRequest& request,
    const std::string& default_actor,
    std::function<void(absl::StatusOr<v1::AppendResponse>)> done) {
  ledger.AppendAsync(
      std::vector<Event>(request.events().begin(), request.events().end()),
      AppendOptionsOf(request, default_actor),
      [done = std::move(done)](absl::StatusOr<AppendResult> result) {
        if (!result.ok()) {
          done(result.status());
        } else {
          done(AppendResponseOf(*result));
        }
      });
}

absl::StatusOr<AppendResult> AppendNamingEvent(
    Ledger& ledger, const std::vector<v1::Event>& batch,
    const AppendOptions& options) {
  auto r = ledger.Append(batch, options);
  if (r.ok()) return r;
  const std::optional<size_t> index = FailedEventIndex(r.status());
  return absl::Status(
      r.status().code(),
      absl::StrCat("event ",
                   index && *index < batch.size() ? batch[*index].event_id()
                                                  : std::string("?"),
                   ": ", r.status().message()));
}

absl::Status ReadEventLines(std::istream& in, size_t max_events,
                            size_t* line_no, uint64_t* bytes_read,
                            EventLines* out) {
  std::string line;
  while ((max_events == 0 || out->events.size() < max_events) &&
         std::getline(in, line)) {
    ++*line_no;
    *bytes_read += line.size() + 1;
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty()) continue;
    auto event = ParseEventJson(text);
    if (!event.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", *line_no, ": ", event.status().message()));
    }
    out->events.push_back(std::move(*event));
    out->lines.push_back(*line_no);
  }
  if (in.bad()) {
    return absl::UnavailableError(
        absl::StrCat("read error after line ", *line_no));
  }
  return absl::OkStatus();
}

absl::Status CheckEventLines(std::istream& in, size_t max_errors,
                             EventLines* out,
                             std::vector<v1::LineError>* errors,
                             size_t* more_errors) {
  size_t line_no = 0;
  uint64_t bytes = 0;
  *more_errors = 0;
  auto bad = [&](size_t line, const absl::Status& s) {
    if (errors->size() >= max_errors) {
      ++*more_errors;
      return;
    }
    v1::LineError e;
    e.set_line(static_cast<uint32_t>(line));
    e.set_message(absl::StrCat("line ", line, ": ", s.message()));
    if (auto detail = EventErrorOf(WithEventError(s, std::nullopt))) {
      *e.mutable_event_error() = *detail;
    }
    errors->push_back(std::move(e));
  };
  while (true) {
    // One event at a time, so a bad line is reported and the next read.
    EventLines one;
    absl::Status read = ReadEventLines(in, 1, &line_no, &bytes, &one);
    if (absl::IsUnavailable(read)) return read;
    if (!read.ok()) {
      // ReadEventLines says "line N: <reason>"; keep the reason.
      absl::string_view reason = read.message();
      const std::string at = absl::StrCat("line ", line_no, ": ");
      absl::ConsumePrefix(&reason, at);
      bad(line_no, absl::InvalidArgumentError(reason));
      continue;
    }
    if (one.events.empty()) break;  // the end
    if (absl::Status valid = ValidateEvent(one.events[0]); !valid.ok()) {
      bad(one.lines[0], valid);
      continue;
    }
    out->events.push_back(std::move(one.events[0]));
    out->lines.push_back(one.lines[0]);
  }
  return absl::OkStatus();
}

absl::Status AtLine(const absl::Status& s, const EventLines& lines) {
  std::optional<size_t> index = FailedEventIndex(s);
  if (!index.has_value() || *index >= lines.lines.size()) return s;
  return WithMessage(
      s, absl::StrCat("line ", lines.lines[*index], ": ", s.message()));
}

absl::Status Import(const AppendFn& append, std::istream& in,
                    const ImportOptions& options, const ProgressFn& progress,
                    ImportSummary* summary, size_t* failed_line) {
  if (options.batch_size == 0) {
    return absl::InvalidArgumentError("batch_size: must be at least 1");
  }
  EventLines lines;
  size_t line_no = 0;
  uint64_t bytes = 0;
  v1::AppendRequest request;
  request.set_no_sync(!options.sync);
  while (true) {
    lines.clear();
    *failed_line = line_no + 1;
    RETURN_IF_ERROR(
        ReadEventLines(in, options.batch_size, &line_no, &bytes, &lines));
    if (!lines.events.empty()) {
      request.clear_events();
      for (const Event& e : lines.events) *request.add_events() = e;
      auto result = append(request);
      if (!result.ok()) return AtLine(result.status(), lines);
      ++summary->batches;
      summary->written += result->appended();
      summary->duplicates += result->duplicates();
      summary->head = result->head();
    }
    if (progress) progress(bytes);
    if (lines.events.empty() || !in) break;
  }
  *failed_line = 0;
  return absl::OkStatus();
}

absl::Status Import(Ledger& ledger, std::istream& in,
                    const ImportOptions& options, const ProgressFn& progress,
                    ImportSummary* summary, size_t* failed_line) {
  summary->head = DigestOf(ledger.head());
  return Import(
      [&](const v1::AppendRequest& request) {
        return Append(ledger, request, options.default_actor);
      },
      in, options, progress, summary, failed_line);
}

absl::StatusOr<Head> ReplayInto(const LedgerView& from, uint64_t until_seq,
                                Ledger& target, const ProgressFn& progress) {
  if (target.head().seq != 0) {
    return absl::FailedPreconditionError(
        "the ledger to replay into is not empty");
  }
  // Events recorded together (one recorded_at) were one batch: replay them
  // as one, with their original recorded_at, so every batch is judged as it
  // was and the hash chain comes out identical.
  AppendOptions append;
  append.sync = false;
  append.preserve_recorded_at = true;
  std::vector<Event> batch;
  auto flush = [&]() -> absl::Status {
    if (batch.empty()) return absl::OkStatus();
    auto r = target.Append(batch, append);
    batch.clear();
    return r.status();
  };
  auto it = from.Read(1);
  for (; it->Valid() && it->event().seq() <= until_seq; it->Next()) {
    const Event& e = it->event();
    if (!batch.empty() &&
        (batch.back().recorded_at().seconds() != e.recorded_at().seconds() ||
         batch.back().recorded_at().nanos() != e.recorded_at().nanos() ||
         batch.size() >= 10000)) {
      RETURN_IF_ERROR(flush());
      if (progress) progress(e.seq() - 1);
    }
    batch.push_back(e);
  }
  RETURN_IF_ERROR(it->status());
  RETURN_IF_ERROR(flush());
  RETURN_IF_ERROR(target.Sync());
  if (progress) progress(until_seq);
  return target.head();
}

}  // namespace provledger::service
