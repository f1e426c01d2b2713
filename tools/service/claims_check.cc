// QueryService::CheckClaimsFile: a claims file checked line by line, each
// line on each of its days, against one view.
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

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

  // One line's result: its claim checks, one per day of service.
  auto check = [&](ClaimLine& line, v1::ClaimLineResult* out) -> absl::Status {
    out->set_claim_id(line.claim_id);
    out->set_line(line.line);
    out->set_position(line.position);
    out->set_rendering_npi(line.rendering_npi);
    out->set_billing_npi(line.billing_npi);
    if (line.error.empty()) {
      out->set_dos_from(FormatDate(line.from));
      out->set_dos_to(FormatDate(line.to));
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
    out->set_payer(CanonicalPayer(payer));
    if (!line.error.empty()) {
      out->set_result("error");
      out->set_error(line.error);
      return absl::OkStatus();
    }
    for (DayNumber day = line.from; day <= line.to; ++day) {
      ASSIGN_OR_RETURN(ClaimCheckResult r,
                       q.ClaimCheck(line.rendering_npi, line.billing_npi,
                                    payer, day, known_seq, rules_));
      for (const Finding& f : r.findings) Note(f, day, out->mutable_findings());
      for (const Finding& w : r.warnings) Note(w, day, out->mutable_warnings());
      if (day == line.from) {
        for (const std::string& npi : r.not_in_registry) {
          out->add_not_in_registry(npi);
        }
      }
    }
    out->set_result(out->findings().empty() ? "payable" : "denied");
    return absl::OkStatus();
  };

  // This thread reads the file a batch of lines at a time, up to
  // kBatchesAhead batches ahead; two threads check them (the two cores);
  // the results go to `sink` in the file's order, as each batch is done.
  struct Batch {
    std::vector<ClaimLine> lines;
    std::vector<v1::ClaimLineResult> results;
    uint64_t bytes = 0;  // read by its end
    absl::Status status;
    bool done = false;
  };
  constexpr size_t kBatchLines = 256;
  constexpr size_t kBatchesAhead = 8;
  std::mutex mu;
  std::condition_variable changed;
  std::deque<Batch*> todo;
  bool stop = false;
  auto work = [&] {
    while (true) {
      Batch* batch;
      {
        std::unique_lock<std::mutex> lock(mu);
        changed.wait(lock, [&] { return stop || !todo.empty(); });
        if (todo.empty()) return;
        batch = todo.front();
        todo.pop_front();
      }
      batch->results.resize(batch->lines.size());
      for (size_t i = 0; i < batch->lines.size() && batch->status.ok(); ++i) {
        batch->status = check(batch->lines[i], &batch->results[i]);
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        batch->done = true;
      }
      changed.notify_all();
    }
  };
  std::vector<std::thread> checkers;
  for (int i = 0; i < 2; ++i) checkers.emplace_back(work);

  v1::ClaimsFileSummary summary;
  summary.set_known_seq(known_seq);
  std::map<std::string, uint32_t> by_code;
  std::set<std::string> registry_samples;
  std::string last_claim;
  bool any_claim = false;
  auto count = [&](const v1::ClaimLineResult& out) {
    // A claim's lines come together; a note about no claim (a skipped
    // transaction set, a line outside any claim) is no claim.
    if (!out.claim_id().empty() &&
        (out.claim_id() != last_claim || !any_claim)) {
      summary.set_claims(summary.claims() + 1);
      last_claim = out.claim_id();
      any_claim = true;
    }
    summary.set_lines(summary.lines() + 1);
    if (out.result() == "error") {
      summary.set_errors(summary.errors() + 1);
      return;
    }
    if (out.result() == "payable") {
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
  };

  std::deque<std::unique_ptr<Batch>> ahead;  // in the file's order
  absl::Status status;
  bool eof = false;
  while (status.ok()) {
    if (!eof && ahead.size() < kBatchesAhead) {
      auto batch = std::make_unique<Batch>();
      while (batch->lines.size() < kBatchLines) {
        ClaimLine line;
        absl::StatusOr<bool> more = reader->Next(&line);
        if (!more.ok()) status = more.status();
        if (!more.ok() || !*more) {
          eof = true;
          break;
        }
        batch->lines.push_back(std::move(line));
      }
      batch->bytes = reader->bytes();
      if (batch->lines.empty()) continue;
      {
        std::lock_guard<std::mutex> lock(mu);
        todo.push_back(batch.get());
      }
      changed.notify_all();
      ahead.push_back(std::move(batch));
      continue;
    }
    if (ahead.empty()) break;
    {
      std::unique_lock<std::mutex> lock(mu);
      changed.wait(lock, [&] { return ahead.front()->done; });
    }
    Batch& batch = *ahead.front();
    if (!batch.status.ok()) {
      status = batch.status;
      break;
    }
    for (const v1::ClaimLineResult& out : batch.results) {
      count(out);
      sink(out);
    }
    if (progress) progress(batch.bytes);
    ahead.pop_front();
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
    todo.clear();
  }
  changed.notify_all();
  for (std::thread& t : checkers) t.join();
  RETURN_IF_ERROR(status);
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
