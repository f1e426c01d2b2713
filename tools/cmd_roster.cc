// Payer file commands: reconcile (roster vs ledger) and load-ppef.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/cli.h"
#include "tools/service/ppef.h"
#include "tools/service/service.h"
#include "tools/table.h"

namespace provledger {
namespace {

struct ReconcileFlags {
  std::string roster;
  std::string roster_format = "cms-reassignment";
  std::string as_of;
  std::string org;
  std::string payer = "medicare";
  std::string format = "table";
  int due_within = -1;
  std::string known_at;
  uint64_t known_seq = 0;
  std::string tz;
};

int RunReconcile(const Context& ctx, const ReconcileFlags& f) {
  auto format = ParseFormat(f.format);
  if (!format.ok()) return ReportError(format.status());
  auto known = KnowledgeFlags(f.known_at, f.known_seq, f.tz);
  if (!known.ok()) return ReportError(known.status());
  v1::ReconcileRequest request;
  request.set_roster_format(f.roster_format);
  request.set_as_of(f.as_of);
  request.set_org(f.org);
  request.set_payer(f.payer);
  if (f.due_within >= 0) request.set_due_within_days(f.due_within);
  *request.mutable_known() = *known;

  std::ifstream in(f.roster, std::ios::binary);
  if (!in) {
    return ReportError(
        absl::NotFoundError(absl::StrCat("cannot read roster '", f.roster, "'")));
  }
  // Locally or through a server, one view for the whole run: every row is
  // judged against one state.
  int rc = kExitOk;
  FileAnswers answers;
  if (!OpenFileAnswers(ctx, "", &answers, &rc)) return rc;
  const auto& server = answers.server;
  auto& local = answers.local;

  std::error_code ec;
  Progress progress("reconcile", std::filesystem::file_size(f.roster, ec));
  bool first = true;
  auto sink = [&](const v1::Discrepancy& d) {
    const std::string line = d.has_line() ? absl::StrCat(d.line()) : "";
    switch (*format) {
      case Format::kTable:
        if (first) {
          std::cout << absl::StrFormat("%-22s %-8s %-10s %-15s %s\n", "code",
                                       "line", "provider", "org", "detail");
        }
        std::cout << absl::StrFormat("%-22s %-8s %-10s %-15s %s\n", d.code(),
                                     line, d.provider_npi(), d.org(),
                                     d.detail());
        break;
      case Format::kCsv:
        if (first) std::cout << "code,line,provider_npi,org,detail\n";
        std::cout << d.code() << "," << line << "," << d.provider_npi() << ","
                  << CsvField(d.org()) << "," << CsvField(d.detail()) << "\n";
        break;
      case Format::kJson:
        // One discrepancy per line, as they are found.
        std::cout << (first ? "{\"discrepancies\":[\n" : ",\n")
                  << service::ToJson(d);
        break;
    }
    first = false;
  };
  auto on_progress = [&](uint64_t bytes) { progress.Update(bytes); };
  auto summary = server ? server->Reconcile(request, in, sink, on_progress)
                        : local->Reconcile(request, in, sink, on_progress);
  progress.Finish();
  if (!summary.ok()) {
    return ReportError(WithFlagNames(summary.status(),
                                     {{"roster_format", "--roster-format"},
                                      {"as_of", "--as-of"}}));
  }

  std::vector<std::string> counts;
  uint64_t total = 0;
  for (const v1::Count& c : summary->by_code()) {
    counts.push_back(absl::StrCat(c.name(), "=", c.count()));
    total += c.count();
  }
  std::string text = absl::StrCat(summary->rows(), " roster rows: ",
                                  summary->compared(), " compared, ",
                                  summary->matched(), " matched, ");
  if (summary->mismatched() > 0) {
    absl::StrAppend(&text, summary->mismatched(),
                    " in effect but with name or state mismatches, ");
  }
  // Only the CMS list has rows of other record types.
  if (f.roster_format == "cms-reassignment") {
    absl::StrAppend(&text, summary->not_compared(),
                    " not compared (Physician Assistant employment), ");
  }
  absl::StrAppend(&text, summary->unparseable(), " unparseable; ", total,
                  " discrepancies",
                  counts.empty() ? "" : " (" + absl::StrJoin(counts, ", ") + ")");
  switch (*format) {
    case Format::kTable:
      if (first) std::cout << "no discrepancies\n";
      std::cout << "summary: " << text << "\n";
      break;
    case Format::kCsv:
      if (first) std::cout << "code,line,provider_npi,org,detail\n";
      std::cerr << "summary: " << text << "\n";
      break;
    case Format::kJson:
      std::cout << (first ? "{\"discrepancies\":[" : "\n")
                << "],\"summary\":" << service::ToJson(*summary) << "}\n";
      break;
  }
  return total == 0 ? kExitOk : kExitDiscrepancy;
}

struct PpefFlags {
  std::string enrollment, reassignment, as_of, payer = "medicare";
  size_t batch_size = 1000;
  bool no_sync = false;
};

int RunLoadPpef(const Context& ctx, const PpefFlags& f) {
  auto as_of = ParseDate(f.as_of);
  if (!as_of.ok()) {
    return ReportError(absl::InvalidArgumentError(
        absl::StrCat("--as-of: ", as_of.status().message())));
  }
  std::ifstream enrollment(f.enrollment, std::ios::binary);
  std::ifstream reassignment(f.reassignment, std::ios::binary);
  if (!enrollment || !reassignment) {
    return ReportError(absl::NotFoundError(absl::StrCat(
        "cannot read '", !enrollment ? f.enrollment : f.reassignment, "'")));
  }
  int rc = kExitOk;
  auto ledger = OpenLedger(ctx, &rc);
  if (!ledger) return rc;
  PpefOptions options;
  options.as_of = *as_of;
  options.payer = f.payer;
  options.batch_size = std::max<size_t>(1, f.batch_size);
  options.sync = !f.no_sync;
  std::cout << "PPEF extracts carry no dates: every event loaded is effective "
            << f.as_of << " (--as-of), source \"PPEF " << f.as_of << "\".\n";
  auto result = LoadPpef(*ledger, enrollment, reassignment, options,
                         [](const std::string& p) {
                           std::cerr << "skipped " << p << "\n";
                         });
  if (!result.ok()) return ReportError(result.status());
  std::cout << "enrolled: " << result->enrolled
            << "\nreassigned: " << result->reassigned
            << "\nrevoked (absent from this snapshot): " << result->revoked
            << "\nalready enrolled at " << f.payer << ": "
            << result->already_enrolled
            << "\nreassignments already in effect: "
            << result->already_reassigned
            << "\nalready loaded (same event ids): " << result->duplicates
            << "\nrows skipped (see stderr): " << result->skipped_rows << "\n";
  return kExitOk;
}

}  // namespace

void RegisterRosterCommands(CLI::App& app, Context& ctx) {
  {
    auto f = std::make_shared<ReconcileFlags>();
    auto* cmd = app.add_subcommand(
        "reconcile",
        "Compare a payer roster (CMS Revalidation Reassignment List, or a "
        "generic CSV) with the ledger on a date; exit 4 if they disagree");
    cmd->add_option("--roster", f->roster, "roster CSV file")->required();
    cmd->add_option("--roster-format", f->roster_format,
                    "cms-reassignment, or csv (provider_npi,org_npi,payer,"
                    "effective_date,end_date)")
        ->capture_default_str();
    cmd->add_option("--as-of", f->as_of, "the date the roster describes")
        ->required();
    cmd->add_option("--org", f->org,
                    "only this organization (NPI or enrollment id)");
    cmd->add_option("--payer", f->payer, "payer of a CMS roster")
        ->capture_default_str();
    cmd->add_option("--due-within", f->due_within,
                    "report REVALIDATION_DUE for due dates within DAYS of "
                    "--as-of (or overdue)")
        ->check(PlainDecimal());
    AddKnowledgeFlags(cmd, &f->known_at, &f->known_seq, &f->tz);
    cmd->add_option("--format", f->format, "table, json or csv")
        ->capture_default_str();
    cmd->callback([&ctx, f] { ctx.exit_code = RunReconcile(ctx, *f); });
  }
  {
    auto f = std::make_shared<PpefFlags>();
    auto* cmd = app.add_subcommand(
        "load-ppef",
        "Load a Medicare PPEF snapshot (enrollment + reassignment extracts) "
        "as enrolled/reassigned events effective --as-of; a later snapshot "
        "revokes reassignments that disappeared");
    cmd->add_option("--enrollment", f->enrollment,
                    "PPEF_Enrollment_Extract CSV")
        ->required();
    cmd->add_option("--reassignment", f->reassignment,
                    "PPEF_Reassignment_Extract CSV")
        ->required();
    cmd->add_option("--as-of", f->as_of, "the snapshot's date")->required();
    cmd->add_option("--payer", f->payer, "payer")->capture_default_str();
    cmd->add_option("--batch-size", f->batch_size, "events per atomic batch")
        ->capture_default_str()
        ->check(PlainDecimal());
    cmd->add_flag("--no-sync", f->no_sync, "do not fsync each batch");
    cmd->callback([&ctx, f] { ctx.exit_code = RunLoadPpef(ctx, *f); });
  }
}

}  // namespace provledger
