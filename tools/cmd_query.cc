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
#include "tools/service/service.h"
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
  bool show_tins = false;
};

void AddKnowledgeFlags(CLI::App* cmd, QueryFlags* f) {
  provledger::AddKnowledgeFlags(cmd, &f->known_at, &f->known_seq, &f->tz);
}

void AddFormatFlag(CLI::App* cmd, QueryFlags* f) {
  cmd->add_option("--format", f->format, "table, json or csv")
      ->capture_default_str();
}

void AddShowTinsFlag(CLI::App* cmd, QueryFlags* f) {
  cmd->add_flag("--show-tins", f->show_tins,
                "show an individual's TIN in full (by default only its last "
                "four digits: it is often an SSN); refused for an auditor's "
                "token through --server");
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
  std::unique_ptr<service::Answers> service;  // local, or a server's
  Format format = Format::kTable;
  v1::KnowledgePoint known;
  absl::TimeZone zone;  // of --known-at and the times shown
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
  auto known = KnowledgeFlags(f.known_at, f.known_seq, f.tz);
  if (!known.ok()) {
    *rc = ReportError(known.status());
    return std::nullopt;
  }
  s.known = *known;
  s.zone = *service::ZoneOf(s.known);
  auto rules = LoadPayerRules(ctx, f.payer_rules);
  if (!rules.ok()) {
    *rc = ReportError(rules.status());
    return std::nullopt;
  }
  if (!ctx.server.empty()) {
    s.service = ConnectServer(ctx, rc);
    if (!s.service) return std::nullopt;
    return s;
  }
  s.ledger = OpenLedger(ctx, rc, ReadOnly());
  if (!s.ledger) return std::nullopt;
  s.service = std::make_unique<service::QueryService>(s.ledger->View(),
                                                      std::move(*rules));
  return s;
}

std::string KnownAtCaption(const Session& s, uint64_t known_seq) {
  return s.service->KnownAtCaption(known_seq, s.zone);
}

// Prints the error of a call, its request fields named as `flags`.
int CallError(const absl::Status& status,
              std::initializer_list<FlagName> flags) {
  return ReportError(WithFlagNames(status, flags));
}

std::string Seq(uint64_t seq) { return seq == 0 ? "" : absl::StrCat(seq); }

v1::RelationFilter FilterOf(const QueryFlags& f) {
  v1::RelationFilter filter;
  filter.set_provider(f.provider);
  filter.set_org(f.org);
  filter.set_payer(f.payer);
  return filter;
}

int RunAsOf(const Context& ctx, const QueryFlags& f, const std::string& date) {
  int rc = kExitOk;
  auto s = Start(ctx, f, &rc);
  if (!s) return rc;
  v1::AsOfRequest request;
  request.set_date(date);
  *request.mutable_known() = s->known;
  *request.mutable_filter() = FilterOf(f);
  auto answer = s->service->AsOf(request);
  if (!answer.ok()) {
    return CallError(answer.status(), {{"date", "--date"},
                                       {"provider", "--provider"},
                                       {"org", "--org"}});
  }
  if (s->format == Format::kJson) {
    std::cout << service::ToJson(*answer) << "\n";
    return kExitOk;
  }
  Table t({"provider", "org", "payer", "effective_from", "effective_until",
           "start_seq", "end_seq", "note"});
  for (const v1::Reassignment& r : answer->reassignments()) {
    t.AddRow({r.provider(), r.org(), r.payer(), r.effective_from(),
              r.effective_until(), Seq(r.start_seq()), Seq(r.end_seq()),
              r.note()});
  }
  std::ostream& warnings = s->format == Format::kTable ? std::cout : std::cerr;
  if (s->format == Format::kTable) {
    std::cout << "Reassignments in effect on " << date << ", "
              << KnownAtCaption(*s, answer->known_seq()) << ":\n";
  }
  t.Print(std::cout, s->format);
  for (const v1::Finding& w : answer->warnings()) {
    warnings << "warning " << w.code() << ": " << w.message() << "\n";
  }
  return kExitOk;
}

int RunHistory(const Context& ctx, const QueryFlags& f, const std::string& npi,
               const std::string& actor, const std::string& source) {
  int rc = kExitOk;
  auto s = Start(ctx, f, &rc);
  if (!s) return rc;
  v1::HistoryRequest request;
  request.set_npi(npi);
  request.set_payer(f.payer);
  request.set_actor(actor);
  request.set_source(source);
  request.set_show_tins(f.show_tins);
  *request.mutable_known() = s->known;
  auto answer = s->service->History(request);
  if (!answer.ok()) return CallError(answer.status(), {{"npi", "--provider"}});
  if (s->format == Format::kJson) {
    std::cout << service::ToJson(*answer) << "\n";
    return kExitOk;
  }
  Table t({"seq", "recorded_at", "effective_date", "event", "detail", "actor",
           "source", "status", "hash"});
  for (const v1::HistoryEntry& e : answer->entries()) {
    std::string status;
    if (e.has_voided_by()) status = absl::StrCat("VOIDED by seq ", e.voided_by());
    if (e.has_voids()) status = absl::StrCat("voids seq ", e.voids());
    t.AddRow({absl::StrCat(e.seq()), e.recorded_at(), e.effective_date(),
              e.event(), e.detail(), e.actor(), e.source(), status, e.hash()});
  }
  if (s->format == Format::kTable) {
    std::cout << "History of " << npi
              << (f.payer.empty() ? "" : " at " + f.payer) << ", "
              << KnownAtCaption(*s, answer->known_seq()) << " (" << t.size()
              << " events):\n";
  }
  t.Print(std::cout, s->format);
  return kExitOk;
}

int RunSearch(const Context& ctx, const QueryFlags& f, const std::string& text,
              uint32_t limit) {
  int rc = kExitOk;
  auto s = Start(ctx, f, &rc);
  if (!s) return rc;
  v1::SearchRequest request;
  request.set_text(text);
  request.set_limit(limit);
  *request.mutable_known() = s->known;
  auto answer = s->service->Search(request);
  if (!answer.ok()) {
    return CallError(answer.status(), {{"text", "TEXT"}, {"limit", "--limit"}});
  }
  if (s->format == Format::kJson) {
    std::cout << service::ToJson(*answer) << "\n";
    return kExitOk;
  }
  Table t({"npi", "name", "entity", "payers", "enrollment_ids", "pac_ids",
           "matched"});
  for (const v1::SearchHit& h : answer->hits()) {
    t.AddRow({h.npi(), h.name(), h.entity(), absl::StrJoin(h.payers(), " "),
              absl::StrJoin(h.enrollment_ids(), " "),
              absl::StrJoin(h.pac_ids(), " "), h.matched()});
  }
  if (s->format == Format::kTable) {
    std::cout << "Providers and organizations matching '" << text << "', "
              << KnownAtCaption(*s, answer->known_seq()) << " (" << t.size()
              << (answer->truncated() ? ", more match: narrow the search" : "")
              << "):\n";
  }
  t.Print(std::cout, s->format);
  return kExitOk;
}

int RunDiff(const Context& ctx, const QueryFlags& f, const std::string& from,
            const std::string& to) {
  int rc = kExitOk;
  auto s = Start(ctx, f, &rc);
  if (!s) return rc;
  v1::DiffRequest request;
  request.set_from(from);
  request.set_to(to);
  *request.mutable_known() = s->known;
  *request.mutable_filter() = FilterOf(f);
  auto answer = s->service->Diff(request);
  if (!answer.ok()) {
    return CallError(answer.status(), {{"from", "--from"},
                                       {"to", "--to"},
                                       {"provider", "--provider"},
                                       {"org", "--org"}});
  }
  if (s->format == Format::kJson) {
    std::cout << service::ToJson(*answer) << "\n";
    return kExitOk;
  }
  Table t({"date", "change", "provider", "org", "payer", "seq"});
  for (const v1::Change& c : answer->changes()) {
    t.AddRow({c.date(), c.change(), c.provider(), c.org(), c.payer(),
              absl::StrCat(c.seq())});
  }
  if (s->format == Format::kTable) {
    std::cout << "Reassignments that started or ended from " << from << " to "
              << to << " (inclusive), "
              << KnownAtCaption(*s, answer->known_seq()) << ":\n";
  }
  t.Print(std::cout, s->format);
  return kExitOk;
}

struct ClaimFlags {
  std::string rendering, billing, dos;
  bool verify_sources = false;
};

int RunClaimCheck(const Context& ctx, const QueryFlags& f, const ClaimFlags& c) {
  int rc = kExitOk;
  auto s = Start(ctx, f, &rc);
  if (!s) return rc;
  v1::ClaimCheckRequest request;
  request.set_rendering_npi(c.rendering);
  request.set_billing_npi(c.billing);
  request.set_payer(f.payer);
  request.set_date_of_service(c.dos);
  request.set_verify_sources(c.verify_sources);
  *request.mutable_known() = s->known;
  auto answer = s->service->ClaimCheck(request);
  if (!answer.ok()) {
    return CallError(answer.status(), {{"rendering_npi", "--rendering"},
                                       {"billing_npi", "--billing"},
                                       {"payer", "--payer"},
                                       {"date_of_service", "--dos"}});
  }
  const std::string& verdict = answer->result();
  switch (s->format) {
    case Format::kTable:
      std::cout << verdict << ": rendering " << c.rendering << ", billing "
                << c.billing << ", " << f.payer << ", date of service "
                << c.dos << ", " << KnownAtCaption(*s, answer->known_seq())
                << "\n";
      for (const v1::Finding& x : answer->findings()) {
        std::cout << "  " << x.code() << ": " << x.message() << "\n";
      }
      for (const v1::Finding& w : answer->warnings()) {
        std::cout << "  warning " << w.code() << ": " << w.message() << "\n";
      }
      if (answer->not_in_registry_size() > 0) {
        std::cout << "  not in the NPPES registry: "
                  << absl::StrJoin(answer->not_in_registry(), ", ")
                  << " (its checks were skipped)\n";
      }
      std::cout << "  rests on "
                << (answer->sources().empty()
                        ? "no recorded event"
                        : absl::StrCat(answer->sources_size() == 1 ? "seq "
                                                                    : "seqs ",
                                       absl::StrJoin(answer->sources(), ", ")))
                << (answer->sources_verified()
                        ? " (re-hashed against the chain; the timelines "
                          "re-derived from them agree)"
                        : "")
                << "\n";
      break;
    case Format::kCsv: {
      Table t({"result", "severity", "code", "message"});
      for (const v1::Finding& x : answer->findings()) {
        t.AddRow({verdict, "denial", x.code(), x.message()});
      }
      for (const v1::Finding& w : answer->warnings()) {
        t.AddRow({verdict, "warning", w.code(), w.message()});
      }
      if (t.size() == 0) t.AddRow({verdict, "", "", ""});
      t.Print(std::cout, Format::kCsv);
      break;
    }
    case Format::kJson:
      std::cout << service::ToJson(*answer) << "\n";
      break;
  }
  return answer->payable() ? kExitOk : kExitDenied;
}

int RunRebuild(const Context& ctx, size_t memory_mb) {
  int rc = kExitOk;
  if (!ctx.server.empty()) {
    // The server's own --memory-mb applies.
    auto server = ConnectServer(ctx, &rc);
    if (!server) return rc;
    auto rebuilt = server->Rebuild();
    if (!rebuilt.ok()) return ReportError(rebuilt.status());
    std::cout << "rebuilt the projections from " << rebuilt->events_replayed()
              << " event(s)\n";
    return kExitOk;
  }
  LedgerOptions options;
  options.skip_projection_check = true;
  options.rebuild_memory_mb = memory_mb;
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
  if (!ctx.server.empty()) {
    auto server = ConnectServer(ctx, &rc);
    if (!server) return rc;
    auto head = server->HeadSeq();
    if (!head.ok()) return ReportError(head.status());
    return CompactProjections(*head, [&] { return server->Compact(); });
  }
  auto ledger = OpenLedger(ctx, &rc);
  if (!ledger) return rc;
  return CompactProjections(ledger->head().seq,
                            [&] { return ledger->CompactProjections(); });
}

int RunStats(const Context& ctx, const QueryFlags& f) {
  int rc = kExitOk;
  auto s = Start(ctx, f, &rc);
  if (!s) return rc;
  auto answer = s->service->Stats(v1::StatsRequest());
  if (!answer.ok()) return ReportError(answer.status());
  if (s->format == Format::kJson) {
    std::cout << service::ToJson(*answer) << "\n";
    return kExitOk;
  }
  Table t({"statistic", "value"});
  t.AddRow({"events", absl::StrCat(answer->events())});
  for (const v1::Count& c : answer->events_by_type()) {
    t.AddRow({"events." + c.name(), absl::StrCat(c.count())});
  }
  t.AddRow({"providers", absl::StrCat(answer->providers())});
  t.AddRow({"organizations", absl::StrCat(answer->organizations())});
  t.AddRow({"payers", absl::StrCat(answer->payers_size())});
  t.AddRow({"payer_names", absl::StrJoin(answer->payers(), " ")});
  t.AddRow({"active_reassignments_" + answer->date(),
            absl::StrCat(answer->active_reassignments())});
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
  auto s = Start(ctx, f, &rc);
  if (!s) return rc;
  v1::ReportRequest request;
  request.set_npi(r.provider.empty() ? r.org : r.provider);
  request.set_is_org(!r.org.empty());
  request.set_payer(f.payer);
  request.set_show_tins(f.show_tins);
  *request.mutable_known() = s->known;
  auto answer = s->service->Report(request);
  if (!answer.ok()) {
    return CallError(answer.status(),
                     {{"npi", r.org.empty() ? "--provider" : "--org"}});
  }
  std::ofstream out(r.out, std::ios::binary);
  out << answer->html();
  out.close();
  if (!out) {
    return ReportError(
        absl::UnavailableError(absl::StrCat("cannot write '", r.out, "'")));
  }
  std::cout << "wrote " << r.out << " (" << answer->html().size()
            << " bytes)\n";
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
    AddShowTinsFlag(cmd, f.get());
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
    AddShowTinsFlag(cmd, f.get());
    AddFormatFlag(cmd, f.get());
    cmd->callback([&ctx, f, npi, actor, source] {
      ctx.exit_code = RunHistory(ctx, *f, *npi, *actor, *source);
    });
  }
  {
    auto f = std::make_shared<QueryFlags>();
    auto text = std::make_shared<std::string>();
    auto limit = std::make_shared<uint32_t>(0);
    auto* cmd = app.add_subcommand(
        "search",
        "Find providers and organizations by NPI, PAC id, enrollment id or a "
        "part of a name (accents and case do not count)");
    cmd->add_option("text", *text, "what to look for")->required();
    cmd->add_option("--limit", *limit, "at most this many (default 50, at most 500)")
        ->check(PlainDecimal());
    AddKnowledgeFlags(cmd, f.get());
    AddFormatFlag(cmd, f.get());
    cmd->callback([&ctx, f, text, limit] {
      ctx.exit_code = RunSearch(ctx, *f, *text, *limit);
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
    cmd->add_flag("--verify-sources", c->verify_sources,
                  "first re-hash the events the answer rests on against the "
                  "chain and re-derive the NPIs' timelines from them: a "
                  "tampered projection is refused (exit 1), never answered");
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
