#include "tools/cli.h"

#include <filesystem>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "ledger/knowledge_point.h"
#include "ledger/status_macros.h"

namespace provledger {

int ReportError(const absl::Status& status) {
  std::cerr << "provledger: " << status.message() << "\n";
  if (status.GetPayload(kNeedsRebuildPayload).has_value()) {
    std::cerr << "provledger: check the log first (provledger verify "
                 "--chain-only), then run provledger rebuild\n";
  }
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:  // a stale --expect-version
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
      return kExitBadInput;
    default:
      return kExitFailure;
  }
}

absl::Status WithFlagNames(const absl::Status& status,
                           std::initializer_list<FlagName> flags) {
  static constexpr FlagName kKnowledge[] = {
      {"known_at", "--known-at"}, {"known_seq", "--known-seq"}, {"tz", "--tz"}};
  const absl::string_view message = status.message();
  auto rename = [&](const FlagName& f) -> std::optional<absl::Status> {
    const absl::string_view field = f.field;
    if (!absl::StartsWith(message, field) ||
        !absl::StartsWith(message.substr(field.size()), ": ")) {
      return std::nullopt;
    }
    return WithMessage(status,
                       absl::StrCat(f.flag, message.substr(field.size())));
  };
  for (const FlagName& f : flags) {
    if (auto r = rename(f)) return *r;
  }
  for (const FlagName& f : kKnowledge) {
    if (auto r = rename(f)) return *r;
  }
  return status;
}

std::unique_ptr<Ledger> OpenLedger(const Context& ctx, int* exit_code,
                                   const LedgerOptions& options) {
  if (!ctx.server.empty()) {
    std::cerr << "provledger: "
              << (ctx.db.empty()
                      ? "this command does not work through --server "
                        "(asof, history, diff, claim-check, stats, report, "
                        "digest, verify, reconcile, append, import, export "
                        "and backup do); run it with --db on a ledger no "
                        "server holds"
                      : "give --db or --server, not both")
              << "\n";
    *exit_code = kExitBadInput;
    return nullptr;
  }
  if (ctx.db.empty()) {
    std::cerr << "provledger: --db DIR is required (the ledger directory)\n";
    *exit_code = kExitBadInput;
    return nullptr;
  }
  auto ledger = Ledger::Open(options, ctx.db);
  if (!ledger.ok()) {
    absl::Status s = ledger.status();
    if (s.GetPayload(kNoLedgerPayload).has_value()) {
      s = absl::Status(s.code(), absl::StrCat(s.message(),
                                              " (create one with: provledger "
                                              "--db ",
                                              ctx.db, " init)"));
    } else if (absl::IsUnavailable(s) &&
               absl::StrContains(s.message(), "in use by another process")) {
      s = absl::Status(s.code(),
                       absl::StrCat(s.message(),
                                    " (if provledgerd serves it, give "
                                    "--server ADDR instead of --db)"));
    } else if (s.GetPayload(kNeedsRebuildPayload).has_value()) {
      s = absl::Status(s.code(), absl::StrCat(s.message(),
                                              "; run: provledger --db ",
                                              ctx.db, " rebuild"));
    }
    *exit_code = ReportError(s);
    return nullptr;
  }
  if (options.read_only && Ledger::HeldByAWriter(ctx.db)) {
    std::cerr << "provledger: another process is writing to this ledger; "
                 "answering from the log as it stood when this command "
                 "opened it (seq "
              << (*ledger)->head().seq << ")\n";
  }
  return std::move(*ledger);
}

const CLI::Validator& PlainDecimal() {
  static const CLI::Validator* const v = new CLI::Validator(
      [](std::string& s) -> std::string {
        const bool digits =
            !s.empty() && (s.size() == 1 || s[0] != '0') &&
            std::all_of(s.begin(), s.end(),
                        [](char c) { return c >= '0' && c <= '9'; });
        if (digits) return "";
        return "'" + s +
               "' is not a plain decimal number (digits only: no sign, "
               "leading zero or prefix)";
      },
      "DECIMAL");
  return *v;
}

const CLI::Validator& NonEmpty() {
  static const CLI::Validator* const v = new CLI::Validator(
      [](std::string& s) -> std::string {
        return s.empty() ? "is empty" : "";
      },
      "TEXT");
  return *v;
}

std::unique_ptr<server::RemoteAnswers> ConnectServer(const Context& ctx,
                                                     int* exit_code) {
  if (!ctx.db.empty()) {
    std::cerr << "provledger: give --db or --server, not both\n";
    *exit_code = kExitBadInput;
    return nullptr;
  }
  std::string token;
  if (!ctx.token_file.empty()) {
    std::ifstream in(ctx.token_file);
    if (!in || !std::getline(in, token)) {
      *exit_code = ReportError(absl::NotFoundError(absl::StrCat(
          "--token-file: cannot read a token from '", ctx.token_file, "'")));
      return nullptr;
    }
    token = std::string(absl::StripAsciiWhitespace(token));
  }
  std::string roots;
  if (!ctx.server_ca.empty()) {
    std::ifstream in(ctx.server_ca, std::ios::binary);
    roots.assign(std::istreambuf_iterator<char>(in), {});
    if (!in.good() && !in.eof()) roots.clear();
    if (roots.empty()) {
      *exit_code = ReportError(absl::NotFoundError(absl::StrCat(
          "--server-ca: cannot read PEM certificates from '", ctx.server_ca,
          "'")));
      return nullptr;
    }
  }
  return std::make_unique<server::RemoteAnswers>(ctx.server, token, roots);
}

LedgerOptions ReadOnly() {
  LedgerOptions options;
  options.read_only = true;
  return options;
}

absl::StatusOr<PayerRules> LoadPayerRules(const Context& ctx,
                                          const std::string& flag) {
  if (!ctx.server.empty()) {
    if (!flag.empty()) {
      return absl::InvalidArgumentError(
          "--payer-rules: with --server the server's rules apply "
          "(provledgerd --payer-rules)");
    }
    return PayerRules();
  }
  std::string path = flag;
  if (path.empty() && !ctx.db.empty() &&
      std::filesystem::exists(ctx.db + "/payer_rules.csv")) {
    path = ctx.db + "/payer_rules.csv";
  }
  if (path.empty()) return PayerRules();
  return PayerRules::Load(path);
}

bool OpenFileAnswers(const Context& ctx, const std::string& rules_flag,
                     FileAnswers* out, int* exit_code) {
  auto rules = LoadPayerRules(ctx, rules_flag);
  if (!rules.ok()) {
    *exit_code = ReportError(rules.status());
    return false;
  }
  if (!ctx.server.empty()) {
    out->server = ConnectServer(ctx, exit_code);
    return out->server != nullptr;
  }
  out->ledger = OpenLedger(ctx, exit_code, ReadOnly());
  if (!out->ledger) return false;
  out->local.emplace(out->ledger->View(), std::move(*rules));
  return true;
}

absl::StatusOr<absl::TimeZone> ResolveZone(const std::string& flag) {
  std::string name = flag;
  const char* source = "--tz";
  if (name.empty()) {
    const char* env = std::getenv("PROVLEDGER_TZ");
    if (env != nullptr) name = env;
    source = "PROVLEDGER_TZ";
  }
  auto zone = LoadTimeZone(name);
  if (!zone.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", zone.status().message()));
  }
  return zone;
}

absl::StatusOr<v1::KnowledgePoint> KnowledgeFlags(
    const std::string& known_at, uint64_t known_seq, const std::string& tz,
    const char* at_flag, const char* seq_flag) {
  if (!known_at.empty() && known_seq != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("give ", at_flag, " or ", seq_flag, ", not both"));
  }
  ASSIGN_OR_RETURN(absl::TimeZone zone, ResolveZone(tz));
  v1::KnowledgePoint known;
  known.set_tz(zone.name());
  if (!known_at.empty()) known.set_known_at(known_at);
  if (known_seq != 0) known.set_known_seq(known_seq);
  return known;
}

void AddKnowledgeFlags(CLI::App* cmd, std::string* known_at,
                       uint64_t* known_seq, std::string* tz) {
  cmd->add_option("--known-at", *known_at,
                  "answer with what was recorded by this time: RFC 3339 "
                  "(2024-04-02T17:00:00Z), a local time in --tz "
                  "(2024-04-02T17:00), or a date (the end of that day in --tz)")
      ->check(NonEmpty());
  cmd->add_option("--known-seq", *known_seq,
                  "answer with the events up to this seq")
      ->check(PlainDecimal());
  cmd->add_option("--tz", *tz,
                  "time zone for --known-at and the times shown, an IANA "
                  "name such as America/Chicago (default: $PROVLEDGER_TZ, "
                  "else UTC)")
      ->check(NonEmpty());
}

int CompactProjections(uint64_t events,
                       const std::function<absl::Status()>& compact) {
  std::cerr << "compacting the projections of " << events << " event(s)...\n";
  absl::Status s = compact();
  if (!s.ok()) return ReportError(s);
  std::cout << "compacted the projections\n";
  return kExitOk;
}

void AddReplayMemoryFlag(CLI::App* cmd, size_t* memory_mb) {
  cmd->add_option("--memory-mb", *memory_mb,
                  "memory for replaying the log, in MiB; a larger log is "
                  "replayed in several passes")
      ->capture_default_str()
      ->check(PlainDecimal())
      ->check(CLI::Range(size_t{16}, size_t{1} << 20));
}

Progress::Progress(std::string label, uint64_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

Progress::~Progress() { Finish(); }

void Progress::Update(uint64_t done) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  double frac = total_ == 0 ? 1.0 : std::min(1.0, double(done) / total_);
  int filled = static_cast<int>(frac * 30);
  std::string bar = std::string(filled, '#') + std::string(30 - filled, ' ');
  std::fprintf(stderr, "\r%s [%s] %3d%%  %.1fs", label_.c_str(), bar.c_str(),
               static_cast<int>(frac * 100), secs);
  std::fflush(stderr);
}

void Progress::Finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  std::fprintf(stderr, "\n");
}

void TuneAllocator() {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
}

int RunCommandLine(int argc, const char* const* argv) {
  CLI::App app{
      "provledger: an event-sourced, bitemporal ledger of healthcare provider "
      "enrollments, reassignments of benefits and payer contracts.\n"
      "Exit codes: 0 ok, 1 failure, 2 bad input, 3 claim denied, "
      "4 reconciliation discrepancies."};
  app.require_subcommand(1);
  Context ctx;
  app.add_option("--db", ctx.db, "ledger directory")->check(NonEmpty());
  app.add_option("--server", ctx.server,
                 "ask the provledgerd at host:port instead of opening a "
                 "ledger (asof, history, diff, claim-check, stats, report, "
                 "digest, verify, reconcile, append, import, export, and "
                 "for an admin compact, rebuild and backup)")
      ->envname("PROVLEDGER_SERVER")
      ->check(NonEmpty());
  app.add_option("--server-ca", ctx.server_ca,
                 "PEM certificate(s) to trust: talk TLS to --server (needed "
                 "for a server on another host)")
      ->envname("PROVLEDGER_SERVER_CA")
      ->check(NonEmpty());
  app.add_option("--token-file", ctx.token_file,
                 "file holding the token to send to --server")
      ->envname("PROVLEDGER_TOKEN_FILE")
      ->check(NonEmpty());
  RegisterLogCommands(app, ctx);
  RegisterQueryCommands(app, ctx);
  RegisterRosterCommands(app, ctx);
  RegisterClaimsCommands(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitBadInput;
  }
  return ctx.exit_code;
}

int RunCommandLine(const std::vector<std::string>& args) {
  std::vector<const char*> argv = {"provledger"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  return RunCommandLine(static_cast<int>(argv.size()), argv.data());
}

std::string DefaultActor() {
  const char* user = std::getenv("USER");
  return user == nullptr ? "" : user;
}

}  // namespace provledger
