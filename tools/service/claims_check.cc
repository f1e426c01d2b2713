// QueryService::CheckClaimsFile: a claims file checked line by line, each
// line on each of its days, against one view.
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "ledger/status_macros.h"
#include "ledger/validation.h"
#include "projections/claims_file.h"
#include "projections/csv.h"
#include "projections/query.h"
#include "tools/service/service.h"

namespace provledger::service {
namespace {

constexpr size_t kRegistrySamples = 10;

// Adds `f` seen on `day` unless its code is already there (the first day
// each code applies is kept, with that day's sentence).
void Note(const Finding& f, DayNumber day,
          google::protobuf::RepeatedPtrField<v1::LineFinding>* out) {
  for (const v1::LineFinding& seen : *out) {
    if (seen.code() == f.code) return;
  }
  v1::LineFinding* x = out->Add();
  x->set_code(f.code);
  x->set_message(f.message);
  x->set_first_day(FormatDate(day));
}

}  // namespace

absl::StatusOr<v1::ClaimsFileSummary> QueryService::CheckClaimsFile(
    const v1::ClaimsFileRequest& request, std::istream& file,
    const std::function<void(const v1::ClaimLineResult&)>& sink,
    const ProgressFn& progress) const {
  const std::string format =
      request.claims_format().empty() ? "csv" : request.claims_format();
  ASSIGN_OR_RETURN(const uint64_t known_seq,
                   ResolveKnowledge(*view_, request.known()));
  for (const auto& [id, payer] : request.payer_map()) {
    if (!IsValidPayer(payer)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "payer_map: payer id '", id, "' maps to '", payer,
          "', which is not a payer name (letters, digits, '.', '_', '-')"));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ClaimsReader> reader,
                   NewClaimsReader(format, file));
  const Queries q(view_);
  v1::ClaimsFileSummary summary;
  summary.set_known_seq(known_seq);
  std::map<std::string, uint32_t> by_code;
  std::set<std::string> registry_samples;
  std::string last_claim;
  bool any_claim = false;
  ClaimLine line;
  v1::ClaimLineResult out;
  uint64_t last_progress = 0;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(&line));
    if (!more) break;
    out.Clear();
    out.set_claim_id(line.claim_id);
    out.set_line(line.line);
    out.set_position(line.position);
    out.set_rendering_npi(line.rendering_npi);
    out.set_billing_npi(line.billing_npi);
    if (line.error.empty()) {
      out.set_dos_from(FormatDate(line.from));
      out.set_dos_to(FormatDate(line.to));
    }
    // The ledger's payer: mapped by id, else as written.
    std::string payer = line.payer;
    const std::string& id = line.payer_id.empty() ? line.payer : line.payer_id;
    if (auto it = request.payer_map().find(id); it != request.payer_map().end()) {
      payer = it->second;
    }
    if (line.error.empty() && !IsValidPayer(payer)) {
      line.error = absl::StrCat(
          "claim '", line.claim_id, "': the payer '", payer, "'",
          line.payer_id.empty() ? "" : absl::StrCat(" (payer id ", line.payer_id, ")"),
          " is not a ledger payer name: map its payer id to one in the "
          "payer map");
    }
    out.set_payer(CanonicalPayer(payer));
    // A claim's lines come together; a note about no claim (a skipped
    // transaction set, a line outside any claim) is no claim.
    if (!line.claim_id.empty() && (line.claim_id != last_claim || !any_claim)) {
      summary.set_claims(summary.claims() + 1);
      last_claim = line.claim_id;
      any_claim = true;
    }
    summary.set_lines(summary.lines() + 1);
    if (!line.error.empty()) {
      out.set_result("error");
      out.set_error(line.error);
      summary.set_errors(summary.errors() + 1);
    } else {
      for (DayNumber day = line.from; day <= line.to; ++day) {
        ASSIGN_OR_RETURN(ClaimCheckResult r,
                         q.ClaimCheck(line.rendering_npi, line.billing_npi,
                                      payer, day, known_seq, rules_));
        for (const Finding& f : r.findings) Note(f, day, out.mutable_findings());
        for (const Finding& w : r.warnings) Note(w, day, out.mutable_warnings());
        if (day == line.from) {
          for (const std::string& npi : r.not_in_registry) {
            out.add_not_in_registry(npi);
          }
        }
      }
      const bool payable = out.findings().empty();
      out.set_result(payable ? "payable" : "denied");
      if (payable) {
        summary.set_payable(summary.payable() + 1);
      } else {
        summary.set_denied(summary.denied() + 1);
      }
      for (const v1::LineFinding& f : out.findings()) ++by_code[f.code()];
      if (!out.not_in_registry().empty()) {
        summary.set_lines_not_in_registry(summary.lines_not_in_registry() + 1);
        for (const std::string& npi : out.not_in_registry()) {
          if (registry_samples.size() < kRegistrySamples) {
            registry_samples.insert(npi);
          }
        }
      }
    }
    sink(out);
    if (progress && reader->bytes() - last_progress >= (1 << 16)) {
      last_progress = reader->bytes();
      progress(last_progress);
    }
  }
  if (progress) progress(reader->bytes());
  for (const auto& [code, n] : by_code) {
    v1::Count* c = summary.add_by_code();
    c->set_name(code);
    c->set_count(n);
  }
  for (const std::string& npi : registry_samples) {
    summary.add_npis_not_in_registry(npi);
  }
  return summary;
}

absl::Status ReadPayerMap(std::istream& in,
                          google::protobuf::Map<std::string, std::string>* map) {
  CsvReader reader(in);
  std::vector<std::string> fields;
  std::string error;
  if (!reader.Next(&fields, &error) || !error.empty() || fields.size() < 2 ||
      NormalizeHeader(fields[0]) != "payer id" ||
      NormalizeHeader(fields[1]) != "payer") {
    return absl::InvalidArgumentError(
        "line 1: the header is not payer_id,payer");
  }
  while (reader.Next(&fields, &error)) {
    auto where = [&] { return absl::StrCat("line ", reader.line(), ": "); };
    if (!error.empty()) return absl::InvalidArgumentError(where() + error);
    if (fields.size() == 1 && fields[0].empty()) continue;
    if (fields.size() != 2 || fields[0].empty()) {
      return absl::InvalidArgumentError(
          where() + "expected two fields: a payer id and a payer");
    }
    if (!IsValidPayer(fields[1])) {
      return absl::InvalidArgumentError(absl::StrCat(
          where(), "payer '", fields[1],
          "' is not a payer name (letters, digits, '.', '_', '-')"));
    }
    if (!map->insert({fields[0], fields[1]}).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "payer id '", fields[0], "' is listed twice"));
    }
  }
  return absl::OkStatus();
}

}  // namespace provledger::service
