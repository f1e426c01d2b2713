// Claims and registry files: claims-check (a claims file, line by line)
// and load-nppes (the NPPES NPI registry).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/cli.h"
#include "tools/service/nppes.h"
#include "tools/service/service.h"
#include "tools/table.h"

namespace provledger {
namespace {

struct ClaimsFlags {
  std::string file;
  std::string claims_format;  // "" from the file's name
  std::string payer_map;
  std::string payer_rules;
  std::string format = "table";
  std::string known_at;
  uint64_t known_seq = 0;
  std::string tz;
};

// "csv" unless the name says X12 (.837, .x12, .edi) or it starts "ISA".
std::string GuessClaimsFormat(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  for (const char* x12 : {".837", ".x12", ".edi", ".837p"}) {
    if (absl::EqualsIgnoreCase(ext, x12)) return "x12-837p";
  }
  std::ifstream in(path, std::ios::binary);
  char head[3] = {};
  in.read(head, 3);
  return std::string(head, 3) == "ISA" ? "x12-837p" : "csv";
}

std::string Dates(const v1::ClaimLineResult& l) {
  if (l.dos_from().empty()) return "";
  return l.dos_from() == l.dos_to() ? l.dos_from()
                                    : absl::StrCat(l.dos_from(), "..", l.dos_to());
}

std::string SummaryText(const v1::ClaimsFileSummary& s) {
  std::string text = absl::StrCat(s.lines(), " claim lines in ", s.claims(),
                                  " claims: ", s.payable(), " payable, ",
                                  s.denied(), " denied, ", s.errors(),
                                  " not checked (unreadable)");
  std::vector<std::string> counts;
  for (const v1::Count& c : s.by_code()) {
    counts.push_back(absl::StrCat(c.name(), "=", c.count()));
  }
  if (!counts.empty()) {
    absl::StrAppend(&text, "; denials by code: ", absl::StrJoin(counts, ", "));
  }
  if (s.lines_not_in_registry() > 0) {
    absl::StrAppend(&text, "; ", s.lines_not_in_registry(),
                    s.lines_not_in_registry() == 1 ? " line names" : " lines name",
                    " NPIs the NPPES registry data does not hold (",
                    absl::StrJoin(s.npis_not_in_registry(), ", "),
                    s.npis_not_in_registry_size() >= 10 ? ", ..." : "",
                    "): the registry checks were skipped for them");
  }
  return text;
}

int RunClaimsCheck(const Context& ctx, const ClaimsFlags& f) {
  auto format = ParseFormat(f.format);
  if (!format.ok()) return ReportError(format.status());
  auto known = KnowledgeFlags(f.known_at, f.known_seq, f.tz);
  if (!known.ok()) return ReportError(known.status());
  v1::ClaimsFileRequest request;
  request.set_claims_format(f.claims_format.empty() ? GuessClaimsFormat(f.file)
                                                    : f.claims_format);
  *request.mutable_known() = *known;
  if (!f.payer_map.empty()) {
    std::ifstream map(f.payer_map, std::ios::binary);
    if (!map) {
      return ReportError(absl::NotFoundError(
          absl::StrCat("cannot read the payer map '", f.payer_map, "'")));
    }
    absl::Status read = service::ReadPayerMap(map, request.mutable_payer_map());
    if (!read.ok()) {
      return ReportError(absl::InvalidArgumentError(
          absl::StrCat("--payer-map ", f.payer_map, " ", read.message())));
    }
  }
  std::ifstream in(f.file, std::ios::binary);
  if (!in) {
    return ReportError(absl::NotFoundError(
        absl::StrCat("cannot read the claims file '", f.file, "'")));
  }
  int rc = kExitOk;
  FileAnswers answers;
  if (!OpenFileAnswers(ctx, f.payer_rules, &answers, &rc)) return rc;
  const auto& server = answers.server;
  auto& local = answers.local;

  std::error_code ec;
  Progress progress("claims-check", std::filesystem::file_size(f.file, ec));
  bool first = true;
  const std::vector<std::string> csv_header = {
      "claim_id", "line",   "rendering_npi", "billing_npi",
      "payer",    "dos_from", "dos_to",      "result",
      "severity", "code",   "first_day",     "message"};
  auto csv_row = [](const std::vector<std::string>& cells) {
    std::vector<std::string> quoted;
    for (const std::string& c : cells) quoted.push_back(CsvField(c));
    std::cout << absl::StrJoin(quoted, ",") << "\n";
  };
  auto sink = [&](const v1::ClaimLineResult& l) {
    switch (*format) {
      case Format::kTable:
        if (first) {
          std::cout << absl::StrFormat("%-12s %4s  %-10s  %-10s  %-10s %-22s %s\n",
                                       "claim", "line", "rendering", "billing",
                                       "payer", "service dates", "result");
        }
        std::cout << absl::StrFormat("%-12s %4d  %-10s  %-10s  %-10s %-22s %s\n",
                                     TerminalSafe(l.claim_id()), l.line(),
                                     l.rendering_npi(), l.billing_npi(),
                                     TerminalSafe(l.payer()), Dates(l),
                                     l.result());
        if (!l.error().empty()) {
          std::cout << "    " << TerminalSafe(l.error()) << "\n";
        }
        for (const v1::LineFinding& x : l.findings()) {
          std::cout << "    " << x.code()
                    << (l.dos_from() == l.dos_to() ? ""
                                                   : " from " + x.first_day())
                    << ": " << x.message() << "\n";
        }
        for (const v1::LineFinding& w : l.warnings()) {
          std::cout << "    warning " << w.code() << ": " << w.message() << "\n";
        }
        break;
      case Format::kCsv: {
        if (first) csv_row(csv_header);
        std::vector<std::string> head = {
            l.claim_id(), absl::StrCat(l.line()), l.rendering_npi(),
            l.billing_npi(), l.payer(), l.dos_from(), l.dos_to(), l.result()};
        auto row = [&](const std::string& severity, const std::string& code,
                       const std::string& day, const std::string& message) {
          std::vector<std::string> r = head;
          r.insert(r.end(), {severity, code, day, message});
          csv_row(r);
        };
        if (!l.error().empty()) row("error", "", "", l.error());
        for (const v1::LineFinding& x : l.findings()) {
          row("denial", x.code(), x.first_day(), x.message());
        }
        for (const v1::LineFinding& w : l.warnings()) {
          row("warning", w.code(), w.first_day(), w.message());
        }
        if (l.error().empty() && l.findings().empty() && l.warnings().empty()) {
          row("", "", "", "");
        }
        break;
      }
      case Format::kJson:
        std::cout << (first ? "{\"lines\":[\n" : ",\n") << service::ToJson(l);
        break;
    }
    first = false;
  };
  auto on_progress = [&](uint64_t bytes) { progress.Update(bytes); };
  auto summary = server ? server->CheckClaimsFile(request, in, sink, on_progress)
                        : local->CheckClaimsFile(request, in, sink, on_progress);
  progress.Finish();
  if (!summary.ok()) {
    return ReportError(WithFlagNames(summary.status(),
                                     {{"claims_format", "--claims-format"},
                                      {"payer_map", "--payer-map"}}));
  }
  switch (*format) {
    case Format::kTable:
      if (first) std::cout << "no claim lines\n";
      std::cout << "summary: " << SummaryText(*summary) << ", "
                << (server ? server->KnownAtCaption(summary->known_seq(),
                                                    *service::ZoneOf(*known))
                           : local->KnownAtCaption(summary->known_seq(),
                                                   *service::ZoneOf(*known)))
                << "\n";
      break;
    case Format::kCsv:
      if (first) csv_row(csv_header);
      std::cerr << "summary: " << SummaryText(*summary) << "\n";
      break;
    case Format::kJson:
      std::cout << (first ? "{\"lines\":[" : "\n")
                << "],\"summary\":" << service::ToJson(*summary) << "}\n";
      break;
  }
  const bool all_payable =
      summary->denied() == 0 && summary->errors() == 0;
  return all_payable ? kExitOk : kExitDenied;
}

struct NppesFlags {
  std::string file;
  std::string file_date;
  size_t batch_size = 1000;
  bool no_sync = false;
};

int RunLoadNppes(const Context& ctx, const NppesFlags& f) {
  std::optional<DayNumber> day = NppesFileDate(f.file);
  if (!f.file_date.empty()) {
    auto given = ParseDate(f.file_date);
    if (!given.ok()) {
      return ReportError(absl::InvalidArgumentError(
          absl::StrCat("--file-date: ", given.status().message())));
    }
    day = *given;
  }
  if (!day.has_value()) {
    return ReportError(absl::InvalidArgumentError(absl::StrCat(
        "the file's date is not in its name '", f.file,
        "' (npidata_pfile_YYYYMMDD-YYYYMMDD.csv): give it with --file-date")));
  }
  std::ifstream in(f.file, std::ios::binary);
  if (!in) {
    return ReportError(
        absl::NotFoundError(absl::StrCat("cannot read '", f.file, "'")));
  }
  int rc = kExitOk;
  auto ledger = OpenLedger(ctx, &rc);
  if (!ledger) return rc;
  NppesOptions options;
  options.file_date = *day;
  options.batch_size = std::max<size_t>(1, f.batch_size);
  options.sync = !f.no_sync;
  std::error_code ec;
  Progress progress("load-nppes", std::filesystem::file_size(f.file, ec));
  auto result = LoadNppes(
      *ledger, in, options,
      [](const std::string& p) { std::cerr << "skipped " << p << "\n"; },
      [&](uint64_t bytes) { progress.Update(bytes); });
  progress.Finish();
  if (!result.ok()) {
    return ReportError(absl::Status(
        result.status().code(),
        absl::StrCat(f.file, " ", result.status().message())));
  }
  std::cout << "NPPES file of " << FormatDate(*day) << ": " << result->rows
            << " rows read"
            << "\nnew NPIs recorded: " << result->new_npis
            << "\nchanged records: " << result->updated
            << "\ndeactivations: " << result->deactivated
            << "\nreactivations: " << result->reactivated
            << "\nrows already known (nothing added): " << result->unchanged
            << "\nrows skipped (see stderr): " << result->skipped_rows << "\n";
  return result->skipped_rows == 0 ? kExitOk : kExitBadInput;
}

}  // namespace

void RegisterClaimsCommands(CLI::App& app, Context& ctx) {
  {
    auto f = std::make_shared<ClaimsFlags>();
    auto* cmd = app.add_subcommand(
        "claims-check",
        "Check every line of a claims file (CSV or X12 837P) before it is "
        "sent: payable, or denied with every code; exit 0 all payable, 3 any "
        "denied or unreadable, 2 if the file cannot be read at all");
    cmd->add_option("FILE", f->file, "claims file")->required();
    cmd->add_option("--claims-format", f->claims_format,
                    "csv (claim_id,line,rendering_npi,billing_npi,payer,"
                    "dos_from[,dos_to]) or x12-837p; default from the file "
                    "(an X12 file starts with ISA)");
    cmd->add_option("--payer-map", f->payer_map,
                    "CSV of payer_id,payer: an 837P payer id (NM109 of "
                    "NM1*PR) to the ledger's payer name");
    cmd->add_option("--payer-rules", f->payer_rules,
                    "CSV of payer,min_group_providers (default: "
                    "DIR/payer_rules.csv if present)");
    AddKnowledgeFlags(cmd, &f->known_at, &f->known_seq, &f->tz);
    cmd->add_option("--format", f->format, "table, json or csv")
        ->capture_default_str();
    cmd->callback([&ctx, f] { ctx.exit_code = RunClaimsCheck(ctx, *f); });
  }
  {
    auto f = std::make_shared<NppesFlags>();
    auto* cmd = app.add_subcommand(
        "load-nppes",
        "Load an NPPES NPI registry file (npidata_pfile_*.csv, full or "
        "weekly) as registry_updated events: what is new since the files "
        "loaded before; loading a file again adds nothing");
    cmd->add_option("FILE", f->file, "NPPES data file")->required();
    cmd->add_option("--file-date", f->file_date,
                    "the file's date YYYY-MM-DD (default: the last date in "
                    "its name)");
    cmd->add_option("--batch-size", f->batch_size,
                    "rows judged, and their events appended, per atomic batch")
        ->capture_default_str()
        ->check(PlainDecimal());
    cmd->add_flag("--no-sync", f->no_sync, "do not fsync each batch");
    cmd->callback([&ctx, f] { ctx.exit_code = RunLoadNppes(ctx, *f); });
  }
}

}  // namespace provledger
