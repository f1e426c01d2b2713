// Point-in-time query commands: asof, history, diff, claim-check, rebuild,
// compact, stats.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"
#include "ledger/knowledge_point.h"
#include "ledger/status_macros.h"
#include "ledger/validation.h"
#include "projections/query.h"
#include "tools/cli.h"
#include "tools/describe.h"
#include "tools/report.h"
#include "tools/table.h"

namespace provledger {
namespace {

using v1::Event;

// Flags shared by the point-in-time commands.
struct QueryFlags {
  std::string format = "table";
  std::string known_at;
  uint64_t known_seq = 0;
  std::string tz;
  std::string provider;
  std::string org;
  std::string payer;
  std::string payer_rules;
};

void AddKnowledgeFlags(CLI::App* cmd, QueryFlags* f) {
  provledger::AddKnowledgeFlags(cmd, &f->known_at, &f->known_seq, &f->tz);
}

void AddFormatFlag(CLI::App* cmd, QueryFlags* f) {
  cmd->add_option("--format", f->format, "table, json or csv")
      ->capture_default_str();
}

void AddFilterFlags(CLI::App* cmd, QueryFlags* f) {
  cmd->add_option("--provider", f->provider, "only this provider NPI");
  cmd->add_option("--org", f->org, "only this organization NPI");
  cmd->add_option("--payer", f->payer, "only this payer");
}

void AddRulesFlag(CLI::App* cmd, QueryFlags* f) {
  cmd->add_option("--payer-rules", f->payer_rules,
                  "CSV of payer,min_group_providers (default: "
                  "DIR/payer_rules.csv if present)");
}

// Everything a query command needs once its flags are read.
struct Session {
  std::unique_ptr<Ledger> ledger;
  // Every answer of the command comes from this one view.
  std::shared_ptr<const LedgerView> view;
  Format format = Format::kTable;
  uint64_t known_seq = 0;
  absl::TimeZone zone;  // of --known-at and the times shown
  PayerRules rules;
};

// Opens the ledger and resolves format, knowledge point and rules; on error
// prints it and returns the exit code in *rc.
std::optional<Session> Start(const Context& ctx, const QueryFlags& f, int* rc) {
  Session s;
  auto format = ParseFormat(f.format);
  if (!format.ok()) {
    *rc = ReportError(format.status());
    return std::nullopt;
  }
  s.format = *format;
  for (const std::string* npi : {&f.provider, &f.org}) {
    if (!npi->empty() && !IsValidNpi(*npi)) {
      *rc = ReportError(absl::InvalidArgumentError(
          absl::StrCat("'", *npi, "' is not a valid NPI (10 digits, Luhn "
                       "check over 80840)")));
      return std::nullopt;
    }
  }
  s.ledger = OpenLedger(ctx, rc, ReadOnly());
  if (!s.ledger) return std::nullopt;
  auto zone = ResolveZone(f.tz);
  if (!zone.ok()) {
    *rc = ReportError(zone.status());
    return std::nullopt;
  }
  s.zone = *zone;
  s.view = s.ledger->View();
  auto known = ResolveKnownAt(*s.view, f.known_at, f.known_seq, s.zone);
  if (!known.ok()) {
    *rc = ReportError(known.status());
    return std::nullopt;
  }
  s.known_seq = *known;
  std::string rules_path = f.payer_rules;
  if (rules_path.empty()) {
    std::string fallback = ctx.db + "/payer_rules.csv";
    if (std::filesystem::exists(fallback)) rules_path = fallback;
  }
  if (!rules_path.empty()) {
    auto rules = PayerRules::Load(rules_path);
    if (!rules.ok()) {
      *rc = ReportError(rules.status());
      return std::nullopt;
    }
    s.rules = *rules;
  }
  return s;
}

std::optional<DayNumber> ParseDay(const std::string& flag,
                                  const std::string& value, int* rc) {
  auto day = ParseDate(value);
  if (!day.ok()) {
    *rc = ReportError(absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", day.status().message())));
    return std::nullopt;
  }
  return *day;
}

std::string KnownAtCaption(const Session& s) {
  const LedgerView& ledger = *s.view;
  if (s.known_seq == ledger.head().seq) {
    return absl::StrCat("as known now (seq ", s.known_seq, ")");
  }
  std::string when;
  if (s.known_seq > 0) {
    auto e = ledger.Lookup(s.known_seq);
    if (e.ok()) {
      when =
          " recorded " + FormatKnownTime(ToAbslTime(e->recorded_at()), s.zone);
    }
  }
  return absl::StrCat("as known at seq ", s.known_seq, when);
}

std::string Seq(uint64_t seq) { return seq == 0 ? "" : absl::StrCat(seq); }

// `notes` is parallel to `rows`.
Table ReassignmentTable(const std::vector<ReassignmentRow>& rows,
                        const std::vector<std::string>& notes) {
  Table t({"provider", "org", "payer", "effective_from", "effective_until",
           "start_seq", "end_seq", "note"});
  for (size_t i = 0; i < rows.size(); ++i) {
    const ReassignmentRow& r = rows[i];
    t.AddRow({r.provider, r.org, r.payer, FormatDate(r.interval.start),
              r.interval.end ? FormatDate(*r.interval.end) : "",
              Seq(r.interval.start_seq), Seq(r.interval.end_seq), notes[i]});
  }
  return t;
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

std::string FindingsJson(const std::vector<Finding>& findings) {
  std::vector<std::string> items;
  for (const Finding& f : findings) {
    items.push_back(absl::StrCat("{\"code\":", JsonString(f.code),
                                 ",\"message\":", JsonString(f.message), "}"));
  }
  return "[" + absl::StrJoin(items, ",") + "]";
}

int RunAsOf(const Context& ctx, const QueryFlags& f, const std::string& date) {
  int rc = kExitOk;
  auto day = ParseDay("--date", date, &rc);
  if (!day) return rc;
  auto s = Start(ctx, f, &rc);
  if (!s) return rc;
  Queries q(s->view);
  auto rows = q.ReassignmentsOn(*day, s->known_seq, {f.provider, f.org, f.payer});
  if (!rows.ok()) return ReportError(rows.status());
  // Every group whose reassignments are listed is checked against the
  // payers' minimums, whatever the filter.
  std::vector<Finding> warnings;
  if (!s->rules.min_group_providers.empty()) {
    std::set<std::string> orgs;
    for (const ReassignmentRow& r : *rows) orgs.insert(r.org);
    if (!f.org.empty()) orgs.insert(f.org);
    for (const std::string& org : orgs) {
      auto flags =
          q.GroupMinimumFlags(org, f.payer, *day, s->known_seq, s->rules);
      if (!flags.ok()) return ReportError(flags.status());
      for (const auto& g : *flags) {
        warnings.push_back(GroupBelowMinimumWarning(g, *day));
      }
    }
  }
  auto notes = EnrollmentNotes(q, *rows, *day, s->known_seq);
  if (!notes.ok()) return ReportError(notes.status());
  Table table = ReassignmentTable(*rows, *notes);
  switch (s->format) {
    case Format::kTable:
      std::cout << "Reassignments in effect on " << date << ", "
                << KnownAtCaption(*s) << ":\n";
      table.Print(std::cout, Format::kTable);
      for (const auto& w : warnings) {
        std::cout << "warning " << w.code << ": " << w.message << "\n";
      }
      break;
    case Format::kCsv:
      table.Print(std::cout, Format::kCsv);
      for (const auto& w : warnings) {
        std::cerr << "warning " << w.code << ": " << w.message << "\n";
      }
      break;
    case Format::kJson: {
      std::ostringstream rows_json;
      table.Print(rows_json, Format::kJson);
      std::string list = rows_json.str();
      list.pop_back();  // newline
      std::cout << "{\"date\":" << JsonString(date)
                << ",\"known_seq\":" << JsonString(absl::StrCat(s->known_seq))
                << ",\"reassignments\":" << list
                << ",\"warnings\":" << FindingsJson(warnings) << "}\n";
      break;
    }
  }
  return kExitOk;
}

int RunHistory(const Context& ctx, const QueryFlags& f, const std::string& npi,
               const std::string& actor, const std::string& source) {
  int rc = kExitOk;
  QueryFlags with_npi = f;
  with_npi.provider = npi;
  auto s = Start(ctx, with_npi, &rc);
  if (!s) return rc;
  Queries q(s->view);
  auto rows = q.History(npi, f.payer, s->known_seq);
  if (!rows.ok()) return ReportError(rows.status());
  Table t({"seq", "recorded_at", "effective_date", "event", "detail", "actor",
           "source", "status", "hash"});
  for (const HistoryRow& r : *rows) {
    const Event& e = r.event;
    if (!actor.empty() && e.actor() != actor) continue;
    if (!source.empty() && e.source() != source) continue;
    std::string status;
    if (r.voided_by != 0) status = absl::StrCat("VOIDED by seq ", r.voided_by);
    if (e.body_case() == Event::kVoided) {
      status = absl::StrCat("voids seq ", e.voided().target_seq());
    }
    t.AddRow({absl::StrCat(e.seq()),
              FormatKnownTime(ToAbslTime(e.recorded_at()), s->zone),
              e.effective_date(), std::string(BodyName(e)), Describe(e),
              e.actor(), e.source(), status, e.hash()});
  }
  if (s->format == Format::kTable) {
    std::cout << "History of " << npi
              << (f.payer.empty() ? "" : " at " + f.payer) << ", "
              << KnownAtCaption(*s) << " (" << t.size() << " events):\n";
  }
  t.Print(std::cout, s->format);
  return kExitOk;
}

int RunDiff(const Context& ctx, const QueryFlags& f, const std::string& from,
            const std::string& to) {
  int rc = kExitOk;
  auto d1 = ParseDay("--from", from, &rc);
  if (!d1) return rc;
  auto d2 = ParseDay("--to", to, &rc);
  if (!d2) return rc;
  if (*d2 < *d1) {
    return ReportError(absl::InvalidArgumentError(
        absl::StrCat("--to ", to, " is before --from ", from)));
  }
  auto s = Start(ctx, f, &rc);
  if (!s) return rc;
  Queries q(s->view);
  auto rows = q.Changes(*d1, *d2, s->known_seq, {f.provider, f.org, f.payer});
  if (!rows.ok()) return ReportError(rows.status());
  Table t({"date", "change", "provider", "org", "payer", "seq"});
  for (const ChangeRow& r : *rows) {
    t.AddRow({FormatDate(r.day), r.started ? "STARTED" : "ENDED", r.provider,
              r.org, r.payer, absl::StrCat(r.seq)});
  }
  if (s->format == Format::kTable) {
    std::cout << "Reassignments that started or ended from " << from << " to "
              << to << " (inclusive), "
              << KnownAtCaption(*s) << ":\n";
  }
  t.Print(std::cout, s->format);
  return kExitOk;
}

struct ClaimFlags {
  std::string rendering, billing, dos;
};

int RunClaimCheck(const Context& ctx, const QueryFlags& f, const ClaimFlags& c) {
  int rc = kExitOk;
  auto dos = ParseDay("--dos", c.dos, &rc);
  if (!dos) return rc;
  QueryFlags checked = f;
  checked.provider = c.rendering;
  checked.org = c.billing;
  auto s = Start(ctx, checked, &rc);
  if (!s) return rc;
  Queries q(s->view);
  auto result =
      q.ClaimCheck(c.rendering, c.billing, f.payer, *dos, s->known_seq, s->rules);
  if (!result.ok()) return ReportError(result.status());
  const char* verdict = result->payable ? "payable" : "denied";
  switch (s->format) {
    case Format::kTable:
      std::cout << verdict << ": rendering " << c.rendering << ", billing "
                << c.billing << ", " << f.payer << ", date of service "
                << c.dos << ", " << KnownAtCaption(*s)
                << "\n";
      for (const auto& x : result->findings) {
        std::cout << "  " << x.code << ": " << x.message << "\n";
      }
      for (const auto& w : result->warnings) {
        std::cout << "  warning " << w.code << ": " << w.message << "\n";
      }
      break;
    case Format::kCsv: {
      Table t({"result", "severity", "code", "message"});
      for (const auto& x : result->findings) {
        t.AddRow({verdict, "denial", x.code, x.message});
      }
      for (const auto& w : result->warnings) {
        t.AddRow({verdict, "warning", w.code, w.message});
      }
      if (t.size() == 0) t.AddRow({verdict, "", "", ""});
      t.Print(std::cout, Format::kCsv);
      break;
    }
    case Format::kJson:
      std::cout << "{\"result\":" << JsonString(verdict)
                << ",\"known_seq\":" << JsonString(absl::StrCat(result->known_seq))
                << ",\"findings\":" << FindingsJson(result->findings)
                << ",\"warnings\":" << FindingsJson(result->warnings) << "}\n";
      break;
  }
  return result->payable ? kExitOk : kExitDenied;
}

int RunRebuild(const Context& ctx, size_t memory_mb) {
  LedgerOptions options;
  options.skip_projection_check = true;
  options.rebuild_memory_mb = memory_mb;
  int rc = kExitOk;
  auto ledger = OpenLedger(ctx, &rc, options);
  if (!ledger) return rc;
  const uint64_t total = ledger->head().seq;
  Progress progress("rebuild", total);
  absl::Status s = ledger->Rebuild(
      [&](uint64_t done, uint64_t) { progress.Update(done); });
  progress.Finish();
  if (!s.ok()) return ReportError(s);
  std::cout << "rebuilt the projections from " << total << " event(s)\n";
  return kExitOk;
}

int RunCompact(const Context& ctx) {
  int rc = kExitOk;
  auto ledger = OpenLedger(ctx, &rc);
  if (!ledger) return rc;
  return CompactProjections(*ledger);
}

int RunStats(const Context& ctx, const QueryFlags& f) {
  int rc = kExitOk;
  auto s = Start(ctx, f, &rc);
  if (!s) return rc;
  Queries q(s->view);
  const DayNumber today = Today();
  auto stats = q.Stats(today);
  if (!stats.ok()) return ReportError(stats.status());
  Table t({"statistic", "value"});
  t.AddRow({"events", absl::StrCat(s->view->head().seq)});
  for (const auto& [type, n] : stats->events_by_type) {
    t.AddRow({"events." + type, absl::StrCat(n)});
  }
  t.AddRow({"providers", absl::StrCat(stats->providers)});
  t.AddRow({"organizations", absl::StrCat(stats->organizations)});
  t.AddRow({"payers", absl::StrCat(stats->payers.size())});
  t.AddRow({"payer_names", absl::StrJoin(stats->payers, " ")});
  t.AddRow({"active_reassignments_" + FormatDate(today),
            absl::StrCat(stats->active_reassignments)});
  t.Print(std::cout, s->format);
  return kExitOk;
}

struct ReportFlags {
  std::string provider, org, out;
};

int RunReport(const Context& ctx, const QueryFlags& f, const ReportFlags& r) {
  if (r.provider.empty() == r.org.empty()) {
    return ReportError(
        absl::InvalidArgumentError("give exactly one of --provider or --org"));
  }
  int rc = kExitOk;
  QueryFlags checked = f;
  checked.provider = r.provider;
  checked.org = r.org;
  auto s = Start(ctx, checked, &rc);
  if (!s) return rc;
  ReportRequest request;
  request.npi = r.provider.empty() ? r.org : r.provider;
  request.is_org = !r.org.empty();
  request.payer = f.payer;
  request.known_seq = s->known_seq;
  auto html = RenderReport(*s->view, request);
  if (!html.ok()) return ReportError(html.status());
  std::ofstream out(r.out, std::ios::binary);
  out << *html;
  out.close();
  if (!out) {
    return ReportError(
        absl::UnavailableError(absl::StrCat("cannot write '", r.out, "'")));
  }
  std::cout << "wrote " << r.out << " (" << html->size() << " bytes)\n";
  return kExitOk;
}

}  // namespace

void RegisterQueryCommands(CLI::App& app, Context& ctx) {
  {
    auto f = std::make_shared<QueryFlags>();
    auto r = std::make_shared<ReportFlags>();
    auto* cmd = app.add_subcommand(
        "report",
        "Write a self-contained HTML timeline (inline SVG, no scripts) of a "
        "provider's or organization's relationships, with the events table");
    cmd->add_option("--provider", r->provider, "provider NPI");
    cmd->add_option("--org", r->org, "organization NPI");
    cmd->add_option("--payer", f->payer, "only this payer");
    AddKnowledgeFlags(cmd, f.get());
    cmd->add_option("--out", r->out, "HTML file to write")->required();
    cmd->callback([&ctx, f, r] { ctx.exit_code = RunReport(ctx, *f, *r); });
  }
  {
    auto f = std::make_shared<QueryFlags>();
    auto date = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand(
        "asof",
        "Reassignments in effect on a date, as known now or at an earlier "
        "point (--known-at / --known-seq)");
    cmd->add_option("--date", *date, "valid date YYYY-MM-DD")->required();
    AddKnowledgeFlags(cmd, f.get());
    AddFilterFlags(cmd, f.get());
    AddFormatFlag(cmd, f.get());
    AddRulesFlag(cmd, f.get());
    cmd->callback([&ctx, f, date] { ctx.exit_code = RunAsOf(ctx, *f, *date); });
  }
  {
    auto f = std::make_shared<QueryFlags>();
    auto npi = std::make_shared<std::string>();
    auto actor = std::make_shared<std::string>();
    auto source = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand(
        "history",
        "Every event touching a provider (or organization), in seq order, "
        "with recorded_at, actor, source and hash; voided events marked");
    cmd->add_option("--provider,--npi", *npi, "the NPI")->required();
    cmd->add_option("--payer", f->payer, "only events of this payer");
    cmd->add_option("--actor", *actor, "only events recorded by this actor");
    cmd->add_option("--source", *source, "only events from this source");
    AddKnowledgeFlags(cmd, f.get());
    AddFormatFlag(cmd, f.get());
    cmd->callback([&ctx, f, npi, actor, source] {
      ctx.exit_code = RunHistory(ctx, *f, *npi, *actor, *source);
    });
  }
  {
    auto f = std::make_shared<QueryFlags>();
    auto from = std::make_shared<std::string>();
    auto to = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand(
        "diff", "Reassignments that started or ended between two dates");
    cmd->add_option("--from", *from, "first day YYYY-MM-DD")->required();
    cmd->add_option("--to", *to, "last day YYYY-MM-DD (inclusive)")->required();
    AddKnowledgeFlags(cmd, f.get());
    AddFilterFlags(cmd, f.get());
    AddFormatFlag(cmd, f.get());
    cmd->callback(
        [&ctx, f, from, to] { ctx.exit_code = RunDiff(ctx, *f, *from, *to); });
  }
  {
    auto f = std::make_shared<QueryFlags>();
    auto c = std::make_shared<ClaimFlags>();
    auto* cmd = app.add_subcommand(
        "claim-check",
        "Could the billing NPI be paid by the payer for the rendering NPI's "
        "service on the date of service? Exit 0 payable, 3 denied; every "
        "missing link is named");
    cmd->add_option("--rendering", c->rendering, "rendering provider NPI")
        ->required();
    cmd->add_option("--billing", c->billing,
                    "billing NPI (the group; or the provider when self-billing)")
        ->required();
    cmd->add_option("--payer", f->payer, "payer")->required();
    cmd->add_option("--dos", c->dos, "date of service YYYY-MM-DD")->required();
    AddKnowledgeFlags(cmd, f.get());
    AddFormatFlag(cmd, f.get());
    AddRulesFlag(cmd, f.get());
    cmd->callback(
        [&ctx, f, c] { ctx.exit_code = RunClaimCheck(ctx, *f, *c); });
  }
  {
    auto* cmd = app.add_subcommand(
        "rebuild", "Drop every projection and rebuild it by replaying the log");
    auto memory_mb = std::make_shared<size_t>(LedgerOptions().rebuild_memory_mb);
    AddReplayMemoryFlag(cmd, memory_mb.get());
    cmd->callback(
        [&ctx, memory_mb] { ctx.exit_code = RunRebuild(ctx, *memory_mb); });
  }
  {
    auto* cmd = app.add_subcommand(
        "compact",
        "Rewrite the projections compactly (drops the superseded timeline "
        "versions appends leave behind); worth running after a bulk import");
    cmd->callback([&ctx] { ctx.exit_code = RunCompact(ctx); });
  }
  {
    auto f = std::make_shared<QueryFlags>();
    auto* cmd = app.add_subcommand(
        "stats",
        "Counts of events by type, providers, organizations, payers, and "
        "reassignments in effect today");
    AddFormatFlag(cmd, f.get());
    cmd->callback([&ctx, f] { ctx.exit_code = RunStats(ctx, *f); });
  }
}

}  // namespace provledger
