#include "tools/service/ppef.h"

#include <map>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ledger/status_macros.h"
#include "ledger/validation.h"
#include "projections/csv.h"
#include "tools/service/service.h"
#include "projections/query.h"

namespace provledger {
namespace {

using v1::Event;

// Header name (normalized) -> column, for the names asked for.
absl::StatusOr<std::map<std::string, int>> Header(
    CsvReader& reader, const char* file,
    const std::vector<std::string>& required) {
  std::vector<std::string> fields;
  std::string error;
  if (!reader.Next(&fields, &error)) {
    return absl::InvalidArgumentError(absl::StrCat(file, " is empty"));
  }
  std::map<std::string, int> columns;
  for (size_t i = 0; i < fields.size(); ++i) {
    columns[NormalizeHeader(fields[i])] = static_cast<int>(i);
  }
  for (const std::string& name : required) {
    if (!columns.count(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          file, " line 1: the header has no '", absl::AsciiStrToUpper(name),
          "' column"));
    }
  }
  return columns;
}

std::string Get(const std::vector<std::string>& f,
                const std::map<std::string, int>& cols, const char* name) {
  auto it = cols.find(name);
  if (it == cols.end() || it->second >= static_cast<int>(f.size())) return "";
  return std::string(absl::StripAsciiWhitespace(f[it->second]));
}

class Loader {
 public:
  Loader(Ledger& ledger, const PpefOptions& options,
         const std::function<void(const std::string&)>& problem)
      : ledger_(ledger), q_(&ledger), options_(options), problem_(problem),
        date_(FormatDate(options.as_of)), source_("PPEF " + date_) {
    options_.payer = CanonicalPayer(options_.payer);
  }

  absl::StatusOr<PpefResult> Run(std::istream& enrollment,
                                 std::istream& reassignment) {
    RETURN_IF_ERROR(LoadEnrollments(enrollment));
    RETURN_IF_ERROR(Flush());
    RETURN_IF_ERROR(LoadReassignments(reassignment));
    RETURN_IF_ERROR(RevokeDisappeared());
    RETURN_IF_ERROR(Flush());
    return result_;
  }

 private:
  void Skip(const std::string& why) {
    ++result_.skipped_rows;
    problem_(why);
  }

  Event Base(const std::string& id) {
    Event e;
    e.set_event_id(id);
    e.set_effective_date(date_);
    e.set_source(source_);
    e.set_actor("provledger load-ppef");
    return e;
  }

  absl::Status Add(Event e, uint64_t* counter) {
    pending_.push_back(std::move(e));
    counters_.push_back(counter);
    if (pending_.size() >= options_.batch_size) return Flush();
    return absl::OkStatus();
  }

  absl::Status Flush() {
    if (pending_.empty()) return absl::OkStatus();
    AppendOptions ao;
    ao.sync = options_.sync;
    ASSIGN_OR_RETURN(AppendResult r,
                     service::AppendNamingEvent(ledger_, pending_, ao));
    for (size_t i = 0; i < pending_.size(); ++i) {
      if (r.duplicate[i]) {
        ++result_.duplicates;
      } else {
        ++*counters_[i];
      }
    }
    pending_.clear();
    counters_.clear();
    return absl::OkStatus();
  }

  absl::Status LoadEnrollments(std::istream& in) {
    CsvReader reader(in);
    ASSIGN_OR_RETURN(auto cols,
                     Header(reader, "enrollment extract", {"npi", "enrlmt id"}));
    std::vector<std::string> f;
    std::string error;
    absl::flat_hash_set<std::string> emitted_npis;
    while (reader.Next(&f, &error)) {
      const std::string where =
          absl::StrCat("enrollment line ", reader.line(), ": ");
      if (!error.empty()) {
        Skip(where + error);
        continue;
      }
      const std::string npi = Get(f, cols, "npi");
      const std::string enrollment_id = Get(f, cols, "enrlmt id");
      if (npi.empty() && enrollment_id.empty()) continue;
      if (!IsValidNpi(npi)) {
        Skip(absl::StrCat(where, "NPI '", npi, "' is not a valid NPI"));
        continue;
      }
      if (!IsValidEnrollmentId(enrollment_id)) {
        Skip(absl::StrCat(where, "ENRLMT_ID '", enrollment_id,
                          "' is not I/O followed by 14 digits"));
        continue;
      }
      enrollment_npi_[enrollment_id] = npi;
      Event e = Base(absl::StrCat("ppef:", options_.payer, ":enr:", enrollment_id));
      v1::Enrolled* b = e.mutable_enrolled();
      b->set_npi(npi);
      b->set_payer(options_.payer);
      b->set_enrollment_id(enrollment_id);
      const std::string pac = Get(f, cols, "pecos asct cntl id");
      if (pac.size() == 10) b->set_pac_id(pac);
      const std::string state = absl::AsciiStrToUpper(Get(f, cols, "state cd"));
      if (state.size() == 2) b->set_state(state);
      if (enrollment_id[0] == 'O') {
        b->set_entity(v1::Enrolled::ORGANIZATION);
        b->set_legal_name(Get(f, cols, "org name"));
      } else {
        b->set_entity(v1::Enrolled::INDIVIDUAL);
        b->set_first_name(Get(f, cols, "first name"));
        b->set_last_name(Get(f, cols, "last name"));
      }
      absl::Status valid = ValidateEvent(e);
      if (!valid.ok()) {
        Skip(absl::StrCat(where, valid.message()));
        continue;
      }
      ASSIGN_OR_RETURN(std::optional<uint64_t> existing,
                       ledger_.View()->FindEventId(e.event_id()));
      if (existing.has_value()) {
        ++result_.duplicates;
        continue;
      }
      // One enrollment timeline per (NPI, payer): an NPI already enrolled
      // (by an earlier snapshot, another enrollment id or other paperwork)
      // keeps its enrollment.
      ASSIGN_OR_RETURN(Queries::Identity id,
                       q_.IdentityOn(npi, options_.payer, options_.as_of, kHeadSeq));
      if (id.enrolled || emitted_npis.contains(npi)) {
        ++result_.already_enrolled;
        continue;
      }
      emitted_npis.insert(npi);
      RETURN_IF_ERROR(Add(std::move(e), &result_.enrolled));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> NpiOf(const std::string& enrollment_id) {
    if (auto it = enrollment_npi_.find(enrollment_id); it != enrollment_npi_.end()) {
      return it->second;
    }
    ASSIGN_OR_RETURN(auto npis,
                     q_.NpisForId('e', enrollment_id, options_.payer, kHeadSeq));
    return npis.empty() ? "" : npis.front();
  }

  absl::Status LoadReassignments(std::istream& in) {
    CsvReader reader(in);
    ASSIGN_OR_RETURN(auto cols,
                     Header(reader, "reassignment extract",
                            {"reasgn bnft enrlmt id", "rcv bnft enrlmt id"}));
    std::vector<std::string> f;
    std::string error;
    while (reader.Next(&f, &error)) {
      const std::string where =
          absl::StrCat("reassignment line ", reader.line(), ": ");
      if (!error.empty()) {
        Skip(where + error);
        continue;
      }
      const std::string from = Get(f, cols, "reasgn bnft enrlmt id");
      const std::string to = Get(f, cols, "rcv bnft enrlmt id");
      if (from.empty() && to.empty()) continue;
      ASSIGN_OR_RETURN(std::string provider, NpiOf(from));
      ASSIGN_OR_RETURN(std::string org, NpiOf(to));
      if (provider.empty() || org.empty()) {
        Skip(absl::StrCat(where, "enrollment id '", provider.empty() ? from : to,
                          "' is neither in the enrollment extract nor in the "
                          "ledger"));
        continue;
      }
      if (provider == org) {
        Skip(absl::StrCat(where, from, " and ", to, " are the same NPI ",
                          provider, " (not a reassignment to another party)"));
        continue;
      }
      const std::string key =
          PairKey(Relation::kReassignment, provider, org, options_.payer);
      if (!snapshot_.insert(key).second) continue;  // listed twice
      ASSIGN_OR_RETURN(std::optional<storage::Timeline> t,
                       ledger_.View()->GetTimeline(key));
      if (t.has_value()) {
        if (IntervalOn(*t, options_.as_of, kHeadSeq).has_value()) {
          ++result_.already_reassigned;
          continue;
        }
        bool later = false;
        for (const auto& e : t->entries()) {
          if (Visible(e, kHeadSeq) && e.day() > options_.as_of) later = true;
        }
        if (later) {
          Skip(absl::StrCat(where, "the ledger already records this "
                                   "reassignment after ", date_,
                            "; not loaded"));
          continue;
        }
      }
      Event e = Base(absl::StrCat("ppef:", options_.payer, ":rea:", provider,
                                  ":", org, ":", date_));
      e.mutable_reassigned()->set_provider_npi(provider);
      e.mutable_reassigned()->set_org_npi(org);
      e.mutable_reassigned()->set_payer(options_.payer);
      RETURN_IF_ERROR(Add(std::move(e), &result_.reassigned));
    }
    return absl::OkStatus();
  }

  // PPEF-loaded reassignments in effect on the snapshot date but absent
  // from this snapshot end on it.
  absl::Status RevokeDisappeared() {
    RETURN_IF_ERROR(Flush());
    ASSIGN_OR_RETURN(auto rows, q_.ReassignmentsOn(options_.as_of, kHeadSeq,
                                                   {"", "", options_.payer}));
    for (const ReassignmentRow& r : rows) {
      const std::string key =
          PairKey(Relation::kReassignment, r.provider, r.org, r.payer);
      if (snapshot_.contains(key)) continue;
      ASSIGN_OR_RETURN(Event start, ledger_.View()->Get(r.interval.start_seq));
      if (!absl::StartsWith(start.source(), "PPEF ")) continue;
      Event e = Base(absl::StrCat("ppef:", options_.payer, ":rev:", r.provider,
                                  ":", r.org, ":", date_));
      e.mutable_revoked()->set_provider_npi(r.provider);
      e.mutable_revoked()->set_org_npi(r.org);
      e.mutable_revoked()->set_payer(options_.payer);
      e.mutable_revoked()->set_reason(v1::Revoked::OTHER);
      RETURN_IF_ERROR(Add(std::move(e), &result_.revoked));
    }
    return absl::OkStatus();
  }

  Ledger& ledger_;
  Queries q_;
  PpefOptions options_;  // payer canonical: it is part of the event ids
  const std::function<void(const std::string&)>& problem_;
  const std::string date_;
  const std::string source_;
  PpefResult result_;
  absl::flat_hash_map<std::string, std::string> enrollment_npi_;
  absl::flat_hash_set<std::string> snapshot_;
  std::vector<Event> pending_;
  std::vector<uint64_t*> counters_;
};

}  // namespace

absl::StatusOr<PpefResult> LoadPpef(
    Ledger& ledger, std::istream& enrollment, std::istream& reassignment,
    const PpefOptions& options,
    const std::function<void(const std::string&)>& problem) {
  Loader loader(ledger, options, problem);
  return loader.Run(enrollment, reassignment);
}

}  // namespace provledger
