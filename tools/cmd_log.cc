// Commands on the log itself: init, append, import, export, verify, demo.
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ledger/hash.h"
#include "tools/cli.h"
#include "tools/demo.h"
#include "tools/service/event_json.h"
#include "tools/service/service.h"
#include "tools/generator.h"
#include "tools/table.h"

namespace provledger {
namespace {

using v1::Event;

using service::AtLine;
using service::EventLines;
using service::ReadEventLines;

// Opens FILE, or standard input for "-" / "".
std::istream* OpenInput(const std::string& path, std::ifstream* file) {
  if (path.empty() || path == "-") return &std::cin;
  file->open(path);
  if (!*file) {
    std::cerr << "provledger: cannot open '" << path << "'\n";
    return nullptr;
  }
  return file;
}


int RunInit(const Context& ctx) {
  if (ctx.db.empty()) {
    std::cerr << "provledger: --db DIR is required\n";
    return kExitBadInput;
  }
  LedgerOptions options;
  options.create_if_missing = true;
  options.error_if_exists = true;
  auto ledger = Ledger::Open(options, ctx.db);
  if (!ledger.ok()) return ReportError(ledger.status());
  std::cout << "initialized an empty ledger at " << ctx.db << "\n";
  return kExitOk;
}

struct AppendFlags {
  std::string file;
  std::string format = "text";
  std::string actor = DefaultActor();
  std::string expect;  // NPI:VERSION
  bool no_sync = false;
};

int RunAppend(const Context& ctx, const AppendFlags& f) {
  if (f.format != "text" && f.format != "json") {
    std::cerr << "provledger: --format must be text or json\n";
    return kExitBadInput;
  }
  v1::AppendRequest request;
  request.set_no_sync(f.no_sync);
  if (!f.expect.empty()) {
    std::vector<std::string> parts = absl::StrSplit(f.expect, ':');
    uint64_t version = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &version)) {
      std::cerr << "provledger: --expect-version: '" << f.expect
                << "' is not NPI:VERSION\n";
      return kExitBadInput;
    }
    request.mutable_expected()->set_npi(parts[0]);
    request.mutable_expected()->set_version(version);
  }
  std::ifstream file;
  std::istream* in = OpenInput(f.file, &file);
  if (in == nullptr) return kExitBadInput;
  int rc = kExitOk;
  // Through a server, events are recorded under the token's identity.
  std::unique_ptr<server::RemoteAnswers> server;
  std::unique_ptr<Ledger> ledger;
  if (!ctx.server.empty()) {
    server = ConnectServer(ctx, &rc);
    if (!server) return rc;
  } else {
    ledger = OpenLedger(ctx, &rc);
    if (!ledger) return rc;
  }

  EventLines lines;
  size_t line_no = 0;
  uint64_t bytes = 0;
  absl::Status read = ReadEventLines(*in, 0, &line_no, &bytes, &lines);
  if (!read.ok()) {
    rc = ReportError(read);
    std::cerr << "provledger: nothing was written\n";
    return rc;
  }
  for (Event& e : lines.events) *request.add_events() = std::move(e);
  auto result = server ? server->Append(request)
                       : service::Append(*ledger, request, f.actor);
  if (!result.ok()) {
    rc = ReportError(AtLine(result.status(), lines));
    std::cerr << "provledger: nothing was written\n";
    return rc;
  }
  if (f.format == "json") {
    std::cout << service::ToJson(*result) << "\n";
  } else {
    for (int i = 0; i < result->seqs_size(); ++i) {
      std::cout << result->seqs(i) << "\t" << request.events(i).event_id()
                << (result->duplicate(i) ? "\talready recorded" : "") << "\n";
    }
    std::cerr << "appended " << result->appended() << " event(s)";
    if (result->duplicates() > 0) {
      std::cerr << ", " << result->duplicates() << " already recorded";
    }
    std::cerr << "; head " << result->head() << "\n";
  }
  return kExitOk;
}

struct ImportFlags {
  std::string file;
  size_t batch_size = 1000;
  std::string actor = DefaultActor();
  bool no_sync = false;
  // An import that writes at least this many events ends by compacting the
  // projections (0: never).
  uint64_t compact_after = 1000000;
};

int RunImport(const Context& ctx, const ImportFlags& f) {
  if (f.batch_size == 0) {
    std::cerr << "provledger: --batch-size must be at least 1\n";
    return kExitBadInput;
  }
  std::ifstream file;
  std::istream* in = OpenInput(f.file, &file);
  if (in == nullptr) return kExitBadInput;
  uint64_t total_bytes = 0;
  if (in == &file) {
    std::error_code ec;
    total_bytes = std::filesystem::file_size(f.file, ec);
  }
  int rc = kExitOk;
  service::ImportOptions options;
  options.batch_size = f.batch_size;
  options.sync = !f.no_sync;
  options.default_actor = f.actor;
  Progress progress("import", total_bytes);
  auto update = [&](uint64_t bytes) { progress.Update(bytes); };
  service::ImportSummary summary;
  size_t failed_line = 0;
  absl::Status status;
  std::unique_ptr<Ledger> ledger;
  if (!ctx.server.empty()) {
    // Through a server: recorded under the token's identity.
    auto server = ConnectServer(ctx, &rc);
    if (!server) return rc;
    auto head = server->Digest();
    // An empty ledger has no digest: its head is seq 0.
    summary.head = head.ok() ? head->digest() : service::DigestOf(Head());
    status = service::Import(
        [&](const v1::AppendRequest& r) { return server->Append(r); }, *in,
        options, update, &summary, &failed_line);
  } else {
    ledger = OpenLedger(ctx, &rc);
    if (!ledger) return rc;
    status = service::Import(*ledger, *in, options, update, &summary,
                             &failed_line);
  }
  progress.Finish();
  if (IsDiskFull(status)) {
    std::cerr << "provledger: the disk holding the ledger is full: the batch "
                 "starting at line "
              << failed_line << " was not written (" << summary.written
              << " event(s) in " << summary.batches
              << " earlier batch(es) were); free some space and run the same "
                 "import again, which skips the events already recorded\n";
    return kExitFailure;
  }
  if (!status.ok()) {
    rc = ReportError(status);
    std::cerr << "provledger: the batch starting at line " << failed_line
              << " was not written; " << summary.written << " event(s) in "
              << summary.batches
              << " earlier batch(es) were. Fix the line and run the same "
                 "import again: events already recorded are skipped by "
                 "event_id.\n";
    return rc;
  }
  std::cout << "imported " << summary.written << " event(s) in "
            << summary.batches << " batch(es)";
  if (summary.duplicates > 0) {
    std::cout << ", " << summary.duplicates << " already recorded";
  }
  std::cout << "; head " << summary.head << "\n";
  if (ledger && f.compact_after > 0 && summary.written >= f.compact_after) {
    return CompactProjections(ledger->head().seq,
                              [&] { return ledger->CompactProjections(); });
  }
  return kExitOk;
}

struct ExportFlags {
  uint64_t from_seq = 1;
  std::string actor;
  std::string source;
};

int RunExport(const Context& ctx, const ExportFlags& f) {
  int rc = kExitOk;
  auto print = [&](const Event& e) {
    if (!f.actor.empty() && e.actor() != f.actor) return;
    if (!f.source.empty() && e.source() != f.source) return;
    std::cout << EventToJson(e) << "\n";
  };
  if (!ctx.server.empty()) {
    auto server = ConnectServer(ctx, &rc);
    if (!server) return rc;
    v1::ReadRequest request;
    request.set_from_seq(f.from_seq);
    absl::Status read = server->Read(request, print);
    return read.ok() ? kExitOk : ReportError(read);
  }
  auto ledger = OpenLedger(ctx, &rc, ReadOnly());
  if (!ledger) return rc;
  auto it = ledger->View()->Read(f.from_seq);
  for (; it->Valid(); it->Next()) print(it->event());
  if (!it->status().ok()) return ReportError(it->status());
  return kExitOk;
}

struct VerifyFlags {
  bool chain_only = false;
  std::string digest;
  size_t memory_mb = LedgerOptions().rebuild_memory_mb;
};

int RunVerify(const Context& ctx, const VerifyFlags& f) {
  v1::VerifyRequest request;
  request.set_digest(f.digest);
  request.set_chain_only(f.chain_only);
  int rc = kExitOk;
  absl::StatusOr<v1::VerifyResponse> answer;
  if (!ctx.server.empty()) {
    auto server = ConnectServer(ctx, &rc);
    if (!server) return rc;
    answer = server->Verify(request);
    if (absl::IsPermissionDenied(answer.status())) {
      answer = WithMessage(
          answer.status(),
          absl::StrCat(answer.status().message(),
                       " (verify --chain-only, with or without --digest, is "
                       "open to any reader)"));
    }
  } else {
    LedgerOptions options = ReadOnly();
    options.rebuild_memory_mb = f.memory_mb;
    auto ledger = OpenLedger(ctx, &rc, options);
    if (!ledger) return rc;
    answer = service::Verify(*ledger, request);
  }
  if (!answer.ok()) {
    return ReportError(WithFlagNames(answer.status(), {{"digest", "--digest"}}));
  }
  using Failure = v1::VerifyResponse;
  if (answer->failure() == Failure::CHAIN_DAMAGED) {
    std::cerr << "provledger: verify FAILED at seq " << answer->failed_seq()
              << ": " << answer->problem() << "\n"
              << "provledger: the log itself is damaged from seq "
              << answer->failed_seq()
              << ". Do not run rebuild: it would make the projections agree "
                 "with the damaged log. Check the log against a digest you "
                 "saved (provledger verify --digest TOKEN) and restore the "
                 "ledger from a backup.\n";
    return kExitFailure;
  }
  std::cout << "hash chain verified: " << answer->events_checked()
            << " event(s)\n";
  if (answer->digest_checked()) {
    if (answer->failure() == Failure::DIGEST_BEYOND_HEAD ||
        answer->failure() == Failure::DIGEST_REWRITTEN) {
      std::cerr << "provledger: verify FAILED: " << answer->problem() << "\n";
      return kExitFailure;
    }
    std::cout << "digest " << f.digest << " verified: the log still holds "
              << "exactly that prefix\n";
  }
  if (answer->projections_checked()) {
    if (answer->failure() == Failure::PROJECTIONS_DISAGREE) {
      std::cerr << "provledger: verify FAILED: " << answer->problem() << "\n"
                << "provledger: the projections and the log disagree: either "
                   "was altered. First check the log against a digest you "
                   "saved (provledger verify --digest TOKEN); if it fails, "
                   "restore the ledger from a backup. Run provledger rebuild "
                   "only once the log is known to be intact: a rebuild makes "
                   "the projections agree with whatever the log now holds.\n";
      return kExitFailure;
    }
    std::cout << "projections match a replay of the log\n";
  }
  std::cout << "head " << answer->head() << "\n";
  return kExitOk;
}

int RunBackup(const Context& ctx, const std::string& to) {
  v1::BackupRequest request;
  // A server writes the backup on its own host: it gets an absolute path.
  request.set_to(ctx.server.empty() ? to
                                    : std::filesystem::absolute(to).string());
  int rc = kExitOk;
  absl::StatusOr<v1::BackupResponse> answer;
  if (!ctx.server.empty()) {
    auto server = ConnectServer(ctx, &rc);
    if (!server) return rc;
    answer = server->Backup(request);
  } else {
    auto ledger = OpenLedger(ctx, &rc);
    if (!ledger) return rc;
    answer = service::Backup(*ledger, request);
  }
  if (!answer.ok()) return ReportError(WithFlagNames(answer.status(), {{"to", "--to"}}));
  std::cout << "backed up " << answer->events() << " event(s) to " << to
            << ": head " << answer->head() << "\n"
            << "restore with: provledger --db NEWDIR restore --from " << to
            << "\n";
  return kExitOk;
}

int RunRestore(const Context& ctx, const std::string& from) {
  if (!ctx.server.empty() || ctx.db.empty()) {
    std::cerr << "provledger: restore needs --db NEWDIR, the new ledger "
                 "directory (not --server)\n";
    return kExitBadInput;
  }
  auto restored = service::Restore(from, ctx.db);
  if (!restored.ok()) return ReportError(restored.status());
  std::cout << "restored " << from << " into " << ctx.db
            << ": hash chain verified (" << restored->events()
            << " event(s)), projections match a replay, head "
            << restored->head() << " is the backup's\n";
  return kExitOk;
}

int RunGenerate(const GeneratorOptions& options) {
  if (options.providers == 0) {
    std::cerr << "provledger: --providers must be at least 1\n";
    return kExitBadInput;
  }
  Generator gen(options);
  std::vector<Event> batch;
  // The total is not known in advance; show providers done instead.
  while (gen.Next(4096, &batch)) {
    for (const Event& e : batch) std::cout << EventToJson(e) << "\n";
    batch.clear();
  }
  std::cerr << "generated " << gen.produced() << " events for "
            << options.providers << " providers, " << gen.orgs()
            << " organizations, " << gen.payers().size()
            << " payers (append them to an empty ledger)\n";
  return std::cout.good() ? kExitOk : kExitFailure;
}

int RunDigest(const Context& ctx) {
  int rc = kExitOk;
  absl::StatusOr<v1::DigestResponse> digest;
  if (!ctx.server.empty()) {
    auto server = ConnectServer(ctx, &rc);
    if (!server) return rc;
    digest = server->Digest();
  } else {
    auto ledger = OpenLedger(ctx, &rc, ReadOnly());
    if (!ledger) return rc;
    digest = service::QueryService(ledger->View()).Digest();
  }
  if (!digest.ok()) return ReportError(digest.status());
  std::cout << digest->digest() << "\n";
  return kExitOk;
}

struct ReplayFlags {
  uint64_t until_seq = 0;
  std::string until_time;
  std::string into;
};

int RunReplay(const Context& ctx, const ReplayFlags& f) {
  if (f.into.empty()) {
    std::cerr << "provledger: --into NEWDIR is required\n";
    return kExitBadInput;
  }
  if ((f.until_seq != 0) == !f.until_time.empty()) {
    std::cerr << "provledger: give exactly one of --until-seq or --until-time\n";
    return kExitBadInput;
  }
  auto known = KnowledgeFlags(f.until_time, f.until_seq, "", "--until-time",
                              "--until-seq");
  if (!known.ok()) return ReportError(known.status());
  int rc = kExitOk;
  auto ledger = OpenLedger(ctx, &rc, ReadOnly());
  if (!ledger) return rc;
  const std::shared_ptr<const LedgerView> view = ledger->View();
  auto until = service::ResolveKnowledge(*view, *known);
  if (!until.ok()) {
    return ReportError(WithFlagNames(until.status(),
                                     {{"known_at", "--until-time"},
                                      {"known_seq", "--until-seq"}}));
  }
  LedgerOptions options;
  options.create_if_missing = true;
  options.error_if_exists = true;
  auto target = Ledger::Open(options, f.into);
  if (!target.ok()) return ReportError(target.status());
  Progress progress("replay", *until);
  auto head = service::ReplayInto(*view, *until, **target,
                                  [&](uint64_t done) { progress.Update(done); });
  progress.Finish();
  if (!head.ok()) return ReportError(head.status());
  std::cout << "replayed " << head->seq << " event(s) into " << f.into
            << "; head " << service::DigestOf(*head) << "\n";
  if (head->seq != *until) {
    std::cerr << "provledger: expected " << *until << " events\n";
    return kExitFailure;
  }
  return kExitOk;
}

// --actor and --no-sync, shared by the commands that append JSON lines.
void AddWriterFlags(CLI::App* cmd, std::string* actor, bool* no_sync) {
  cmd->add_option("--actor", *actor,
                  "actor recorded on events that name none (default: $USER)")
      ->check(NonEmpty());
  cmd->add_flag("--no-sync", *no_sync,
                "do not fsync each batch (faster bulk loads; a crash may lose "
                "the last batches, never part of one)");
}

}  // namespace

int RunDemo(bool keep) {
  char dir_template[] = "/tmp/provledger-demo-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (dir == nullptr) {
    std::cerr << "provledger: cannot create a temporary directory\n";
    return kExitFailure;
  }
  std::string path = std::string(dir) + "/ledger";
  int rc = RunDemoIn(path);
  if (keep) {
    std::cout << "\nThe demo ledger is kept at " << path
              << "; try: provledger --db " << path << " history --provider "
              << "1526374859\n";
  } else {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return rc;
}

void RegisterLogCommands(CLI::App& app, Context& ctx) {
  auto* init = app.add_subcommand("init", "Create an empty ledger at --db DIR");
  init->callback([&ctx] { ctx.exit_code = RunInit(ctx); });

  auto append_flags = std::make_shared<AppendFlags>();
  auto* append = app.add_subcommand(
      "append",
      "Append events (JSON lines, one event per line) as one atomic batch: "
      "all are written or none. Prints each event's seq.");
  append->add_option("file", append_flags->file,
                     "JSON lines file, or - for standard input (default)");
  append->add_option("--format", append_flags->format,
                     "text (seq and event_id per line) or json (a summary)")
      ->capture_default_str();
  append->add_option("--expect-version", append_flags->expect,
                     "NPI:VERSION - refuse the batch unless the NPI's stream "
                     "is at VERSION (seq of its latest event, 0 if none)");
  AddWriterFlags(append, &append_flags->actor, &append_flags->no_sync);
  append->callback([&ctx, append_flags] {
    ctx.exit_code = RunAppend(ctx, *append_flags);
  });

  auto import_flags = std::make_shared<ImportFlags>();
  auto* import = app.add_subcommand(
      "import",
      "Append a large JSON lines file in batches; each batch is atomic and a "
      "re-run skips events already recorded (by event_id)");
  import->add_option("file", import_flags->file, "JSON lines file, or -")
      ->required();
  import->add_option("--batch-size", import_flags->batch_size,
                     "events per atomic batch")
      ->capture_default_str()
      ->check(PlainDecimal());
  import->add_option("--compact-after", import_flags->compact_after,
                     "end with `provledger compact` when the import wrote at "
                     "least this many events (0: never)")
      ->capture_default_str()
      ->check(PlainDecimal());
  AddWriterFlags(import, &import_flags->actor, &import_flags->no_sync);
  import->callback([&ctx, import_flags] {
    ctx.exit_code = RunImport(ctx, *import_flags);
  });

  auto export_flags = std::make_shared<ExportFlags>();
  auto* exp = app.add_subcommand(
      "export",
      "Print stored events as JSON lines, with seq, recorded_at, prev_hash "
      "and hash. Every field is kept in full, an individual's TIN included "
      "(history and report show its last four digits): it is the backup "
      "format; through --server an auditor's token gets TINs masked");
  exp->add_option("--from-seq", export_flags->from_seq, "first seq")
      ->capture_default_str()
      ->check(PlainDecimal());
  exp->add_option("--actor", export_flags->actor, "only events by this actor");
  exp->add_option("--source", export_flags->source,
                  "only events from this source");
  exp->callback([&ctx, export_flags] {
    ctx.exit_code = RunExport(ctx, *export_flags);
  });

  auto verify_flags = std::make_shared<VerifyFlags>();
  auto* verify = app.add_subcommand(
      "verify",
      "Recompute the hash chain and check the projections against a replay; "
      "exit 1 naming the first bad seq");
  verify->add_flag("--chain-only", verify_flags->chain_only,
                   "check the hash chain only");
  verify->add_option("--digest", verify_flags->digest,
                     "also confirm the log still holds exactly the prefix "
                     "this digest (<seq>:<hash> from `digest`) names")
      ->check(NonEmpty());
  AddReplayMemoryFlag(verify, &verify_flags->memory_mb);

  auto* digest = app.add_subcommand(
      "digest",
      "Print the head as one token <seq>:<hash>, to keep outside the system "
      "(check it later with verify --digest)");
  digest->callback([&ctx] { ctx.exit_code = RunDigest(ctx); });

  auto backup_to = std::make_shared<std::string>();
  auto* backup = app.add_subcommand(
      "backup",
      "Copy the ledger, consistently, into a new directory (appends wait "
      "only while its files are linked or copied)");
  backup->add_option("--to", *backup_to, "the backup's new directory")
      ->required()
      ->check(NonEmpty());
  backup->callback(
      [&ctx, backup_to] { ctx.exit_code = RunBackup(ctx, *backup_to); });

  auto restore_from = std::make_shared<std::string>();
  auto* restore = app.add_subcommand(
      "restore",
      "Restore a backup into --db NEWDIR, then verify its hash chain, its "
      "projections and its head");
  restore->add_option("--from", *restore_from, "the backup directory")
      ->required()
      ->check(NonEmpty());
  restore->callback(
      [&ctx, restore_from] { ctx.exit_code = RunRestore(ctx, *restore_from); });

  auto replay_flags = std::make_shared<ReplayFlags>();
  auto* replay = app.add_subcommand(
      "replay",
      "Copy the log as it stood at a seq or time into a new, complete ledger "
      "(projections rebuilt) for exploring a past state");
  replay->add_option("--until-seq", replay_flags->until_seq, "last seq to copy")
      ->check(PlainDecimal());
  replay->add_option("--until-time", replay_flags->until_time,
                     "copy what was recorded by this time (RFC 3339)");
  replay->add_option("--into", replay_flags->into, "new ledger directory")
      ->required();
  replay->callback([&ctx, replay_flags] {
    ctx.exit_code = RunReplay(ctx, *replay_flags);
  });
  verify->callback([&ctx, verify_flags] {
    ctx.exit_code = RunVerify(ctx, *verify_flags);
  });

  auto gen = std::make_shared<GeneratorOptions>();
  auto* generate = app.add_subcommand(
      "generate",
      "Print realistic synthetic events (JSON lines) for an empty ledger: "
      "deterministic for a seed");
  generate->add_option("--providers", gen->providers, "individual providers")
      ->capture_default_str()
      ->check(PlainDecimal());
  generate->add_option("--orgs", gen->orgs,
                       "organizations (default: providers / 10)")
      ->check(PlainDecimal());
  generate->add_option("--payers", gen->payers, "payers, 1-8")
      ->capture_default_str()
      ->check(CLI::Range(1, 8))
      ->check(PlainDecimal());
  generate->add_option("--years", gen->years, "years of history from 2017")
      ->capture_default_str()
      ->check(CLI::Range(1, 30))
      ->check(PlainDecimal());
  generate->add_option("--seed", gen->seed, "random seed")
      ->capture_default_str()
      ->check(PlainDecimal());
  generate->callback([&ctx, gen] { ctx.exit_code = RunGenerate(*gen); });

  auto keep = std::make_shared<bool>(false);
  auto* demo = app.add_subcommand(
      "demo",
      "Load a bundled example into a temporary ledger and show what "
      "provledger answers");
  demo->add_flag("--keep", *keep, "keep the demo ledger and print its path");
  demo->callback([&ctx, keep] { ctx.exit_code = RunDemo(*keep); });
}

}  // namespace provledger
