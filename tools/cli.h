// Shared pieces of the provledger command-line tool.
#ifndef PROVLEDGER_TOOLS_CLI_H_
#define PROVLEDGER_TOOLS_CLI_H_

#include <chrono>
#include <initializer_list>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ledger/ledger.h"
#include "provledger/v1/api.pb.h"
#include "tools/server/client.h"
#include "tools/service/service.h"

namespace provledger {

// Exit codes of every command.
enum ExitCode {
  kExitOk = 0,
  kExitFailure = 1,      // I/O error, failed verification
  kExitBadInput = 2,     // bad command line, bad event, bad file
  kExitDenied = 3,       // claim-check: not payable
  kExitDiscrepancy = 4,  // reconcile: discrepancies found
};

struct Context {
  std::string db;
  // --server ADDR: a provledgerd to ask instead of a local ledger, with the
  // token in --token-file.
  std::string server;
  std::string token_file;
  // --server-ca FILE: talk TLS to the server, trusting these PEM roots.
  std::string server_ca;
  int exit_code = kExitOk;
};

// Prints "provledger: <message>" to stderr and returns the exit code that
// fits the status (bad input for InvalidArgument/FailedPrecondition/
// AlreadyExists/NotFound, failure otherwise).
int ReportError(const absl::Status& status);

// A flag of the command line and the request field it sets.
struct FlagName {
  const char* field;  // "date", "known_seq"
  const char* flag;   // "--date", "--known-seq"
};

// `status` with the request field its message starts with ("date: ...")
// written as the flag that set it ("--date: ..."); the knowledge fields
// (known_at, known_seq, tz) always map to --known-at, --known-seq, --tz.
absl::Status WithFlagNames(const absl::Status& status,
                           std::initializer_list<FlagName> flags = {});

// Opens the ledger at ctx.db; if it cannot (also when --db was not given,
// or --server was)
// prints an error, sets *exit_code and returns nullptr. Commands that only
// read pass options with read_only set: they run beside each other and
// beside one writer (then saying so on stderr).
std::unique_ptr<Ledger> OpenLedger(const Context& ctx, int* exit_code,
                                   const LedgerOptions& options = {});

// A client of the server at ctx.server, with the token of ctx.token_file;
// on error prints it, sets *exit_code and returns nullptr.
std::unique_ptr<server::RemoteAnswers> ConnectServer(const Context& ctx,
                                                     int* exit_code);

// LedgerOptions for a command that only reads.
LedgerOptions ReadOnly();

// The payer rules of --payer-rules `flag`; when it is empty, of
// DIR/payer_rules.csv if there is one (none through a server, whose own
// rules apply: --payer-rules with --server is refused).
absl::StatusOr<PayerRules> LoadPayerRules(const Context& ctx,
                                          const std::string& flag);

// Where a command that checks a file row by row (reconcile, claims-check)
// gets its answers: the server of ctx.server, or one view of the local
// ledger, so that every row is judged against one state.
struct FileAnswers {
  std::unique_ptr<server::RemoteAnswers> server;
  std::unique_ptr<Ledger> ledger;
  std::optional<service::QueryService> local;
};
// Fills *out (with the rules of `rules_flag`, LoadPayerRules); on error
// prints it, sets *exit_code and returns false.
bool OpenFileAnswers(const Context& ctx, const std::string& rules_flag,
                     FileAnswers* out, int* exit_code);

// The time zone of --tz `flag`; when it is empty, of $PROVLEDGER_TZ; else
// UTC. Error messages name --tz.
absl::StatusOr<absl::TimeZone> ResolveZone(const std::string& flag);

// The request's knowledge point for --known-at / --known-seq / --tz (the
// zone of --tz, else $PROVLEDGER_TZ). InvalidArgument when both points are
// given, or --tz is not a zone (messages name the flags `at_flag` /
// `seq_flag`).
absl::StatusOr<v1::KnowledgePoint> KnowledgeFlags(
    const std::string& known_at, uint64_t known_seq, const std::string& tz,
    const char* at_flag = "--known-at", const char* seq_flag = "--known-seq");

// CLI11 checks. Numeric flags take plain decimal digits only (no sign,
// leading zero or 0x prefix, not empty), so "010" never means 8 and "-1"
// never wraps; text flags that are given must not be empty.
const CLI::Validator& PlainDecimal();
const CLI::Validator& NonEmpty();

// Adds --known-at, --known-seq and --tz to a command.
void AddKnowledgeFlags(CLI::App* cmd, std::string* known_at,
                       uint64_t* known_seq, std::string* tz);

// A progress bar on stderr, drawn only when stderr is a terminal.
class Progress {
 public:
  Progress(std::string label, uint64_t total);
  ~Progress();
  void Update(uint64_t done);
  void Finish();

 private:
  std::string label_;
  uint64_t total_;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

// The value of $USER, or "" if unset.
std::string DefaultActor();

// Runs `compact` (a ledger's or a server's CompactProjections) on the
// projections of `events` events, saying so on stderr before and on stdout
// after; returns the exit code.
int CompactProjections(uint64_t events,
                       const std::function<absl::Status()>& compact);

// Registers --memory-mb: memory for replaying the log (rebuild, verify).
void AddReplayMemoryFlag(CLI::App* cmd, size_t* memory_mb);

// Sets the process's allocator up for RocksDB, once, at the start of main:
// large blocks (memtable arenas, a rebuild's buffers) always come from
// their own mappings and go back to the system when freed. glibc otherwise
// raises its mapping threshold to the largest block freed so far, and then
// serves such blocks from a heap that rarely shrinks (7% less resident
// memory through the benchmark at 300k providers).
void TuneAllocator();

// Parses the command line and runs the command; returns the exit code.
int RunCommandLine(int argc, const char* const* argv);
// The same, with the arguments after the program name.
int RunCommandLine(const std::vector<std::string>& args);

// Command registration, one function per group of commands.
void RegisterLogCommands(CLI::App& app, Context& ctx);
void RegisterQueryCommands(CLI::App& app, Context& ctx);
void RegisterRosterCommands(CLI::App& app, Context& ctx);
void RegisterClaimsCommands(CLI::App& app, Context& ctx);

}  // namespace provledger

#endif  // PROVLEDGER_TOOLS_CLI_H_
