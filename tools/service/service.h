// Public API (see the README's Layout: what a front end may include).
// provledger's calls, for every front end (the command line, a server):
// requests and responses are the messages of proto/provledger/v1/api.proto,
// every query is answered from one read view, and errors name request
// fields, never a front end's flags ("date: '2024-02-30' is not a real
// calendar day"; the command line turns "date" into "--date").
// Links no command-line parser.
#ifndef PROVLEDGER_TOOLS_SERVICE_SERVICE_H_
#define PROVLEDGER_TOOLS_SERVICE_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ledger/ledger.h"
#include "projections/payer_rules.h"
#include "provledger/v1/api.pb.h"

namespace provledger::service {

// Called with work done so far (bytes read, events replayed).
using ProgressFn = std::function<void(uint64_t done)>;

// The zone of a KnowledgePoint's tz ("" is UTC).
// InvalidArgument "tz: '<name>' is not a time zone ...".
absl::StatusOr<absl::TimeZone> ZoneOf(const v1::KnowledgePoint& known);

// The seq an answer at `known` is given at, in `view`: known_seq (at most
// the head), the last event recorded by known_at, else the head.
// InvalidArgument "known_at: ..." / "known_seq: N is beyond the head (H)".
absl::StatusOr<uint64_t> ResolveKnowledge(const LedgerView& view,
                                          const v1::KnowledgePoint& known);

// "as known now (seq 26)" when known_seq is the head, else "as known at
// seq 24 recorded <recorded_at of seq 24, in zone>" (without the time when
// it is not known).
std::string KnownAtCaption(uint64_t known_seq, uint64_t head_seq,
                           std::optional<absl::Time> recorded,
                           absl::TimeZone zone);

// Search hits when a request does not say, and at most.
inline constexpr uint32_t kDefaultSearchHits = 50;
inline constexpr uint32_t kMaxSearchHits = 500;

// The queries a front end asks, answered here (QueryService) or by a
// server (the command line's --server).
class Answers {
 public:
  virtual ~Answers() = default;
  virtual absl::StatusOr<v1::AsOfResponse> AsOf(
      const v1::AsOfRequest& request) const = 0;
  virtual absl::StatusOr<v1::HistoryResponse> History(
      const v1::HistoryRequest& request) const = 0;
  virtual absl::StatusOr<v1::DiffResponse> Diff(
      const v1::DiffRequest& request) const = 0;
  virtual absl::StatusOr<v1::ClaimCheckResponse> ClaimCheck(
      const v1::ClaimCheckRequest& request) const = 0;
  virtual absl::StatusOr<v1::StatsResponse> Stats(
      const v1::StatsRequest& request) const = 0;
  virtual absl::StatusOr<v1::ReportResponse> Report(
      const v1::ReportRequest& request) const = 0;
  virtual absl::StatusOr<v1::DigestResponse> Digest() const = 0;
  virtual absl::StatusOr<v1::SearchResponse> Search(
      const v1::SearchRequest& request) const = 0;
  // "as known now (seq 26)" or "as known at seq 24 recorded <time>", for
  // an answer given at `known_seq`.
  virtual std::string KnownAtCaption(uint64_t known_seq,
                                     absl::TimeZone zone) const = 0;
};

// The queries, each answered from the one view given at construction (a
// server pins a view per call; the command line one per command).
class QueryService : public Answers {
 public:
  explicit QueryService(std::shared_ptr<const LedgerView> view,
                        PayerRules rules = {});

  // History and reports show an individual's TIN (often an SSN) as its
  // last four digits (MaskIndividualTins) unless the request sets
  // show_tins. After this call, as a server does for auditors, show_tins is
  // refused (PermissionDenied).
  void RefuseFullTins() { full_tins_refused_ = true; }

  const LedgerView& view() const { return *view_; }
  std::string KnownAtCaption(uint64_t known_seq,
                             absl::TimeZone zone) const override;

  // Reassignments in effect on request.date, with enrollment notes and the
  // GROUP_BELOW_MINIMUM warnings of every group listed.
  absl::StatusOr<v1::AsOfResponse> AsOf(const v1::AsOfRequest& request) const override;
  // Every event touching request.npi, in seq order, voids marked.
  absl::StatusOr<v1::HistoryResponse> History(
      const v1::HistoryRequest& request) const override;
  // Reassignments that started or ended from `from` to `to`, inclusive.
  absl::StatusOr<v1::DiffResponse> Diff(const v1::DiffRequest& request) const override;
  absl::StatusOr<v1::ClaimCheckResponse> ClaimCheck(
      const v1::ClaimCheckRequest& request) const override;
  // request.date "" is today (UTC).
  absl::StatusOr<v1::StatsResponse> Stats(const v1::StatsRequest& request) const override;
  // The HTML timeline report.
  absl::StatusOr<v1::ReportResponse> Report(
      const v1::ReportRequest& request) const override;
  // The view's head as a digest. FailedPrecondition on an empty ledger.
  absl::StatusOr<v1::DigestResponse> Digest() const override;
  // Queries::Search; request.limit 0 is 50, more than 500 InvalidArgument.
  absl::StatusOr<v1::SearchResponse> Search(
      const v1::SearchRequest& request) const override;
  // Compares a roster with the ledger; each discrepancy goes to `sink` as
  // it is found, `progress` gets the roster bytes read.
  absl::StatusOr<v1::ReconcileSummary> Reconcile(
      const v1::ReconcileRequest& request, std::istream& roster,
      const std::function<void(const v1::Discrepancy&)>& sink,
      const ProgressFn& progress = nullptr) const;
  // Checks every line of a claims file (request.claims_format) on each of
  // its days; each line's result goes to `sink` as it is checked. An
  // unreadable line is a result ("error"), not a failure: InvalidArgument
  // only when the file is not of the format at all ("claims file: ...").
  absl::StatusOr<v1::ClaimsFileSummary> CheckClaimsFile(
      const v1::ClaimsFileRequest& request, std::istream& file,
      const std::function<void(const v1::ClaimLineResult&)>& sink,
      const ProgressFn& progress = nullptr) const;

 private:
  std::shared_ptr<const LedgerView> view_;
  PayerRules rules_;
  bool full_tins_refused_ = false;

  // Whether an answer to a request with `show_tins` masks TINs.
  absl::StatusOr<bool> MaskTins(bool show_tins) const;
};

// Reads a payer map (CSV payer_id,payer) into *map. InvalidArgument
// "line N: ..." on a bad line, a bad payer name or an id listed twice.
absl::Status ReadPayerMap(std::istream& in,
                          google::protobuf::Map<std::string, std::string>* map);

// "<seq>:<64 hex digits>".
std::string DigestOf(const Head& head);

// Recomputes the hash chain; with request.digest, checks that the log
// still holds the prefix it names; unless request.chain_only, checks the
// projections against a replay. What is wrong is the answer's `failure`;
// an error only when the check could not run (InvalidArgument "digest:
// ..." on a malformed digest; Cancelled once `*cancel` is set).
absl::StatusOr<v1::VerifyResponse> Verify(
    const Ledger& ledger, const v1::VerifyRequest& request,
    const std::atomic<bool>* cancel = nullptr);

// Copies the ledger, consistently, into the new directory request.to, with
// a PROVLEDGER_BACKUP file naming the head it holds.
absl::StatusOr<v1::BackupResponse> Backup(Ledger& ledger,
                                          const v1::BackupRequest& request);

// Restores the backup in `from` into the new directory `into`, then checks
// the hash chain, the projections against a replay, and that the head is
// the backup's. On any failure `into` is removed again. FailedPrecondition
// when `from` is not a backup, AlreadyExists when `into` exists, DataLoss
// when the copy does not verify.
absl::StatusOr<v1::BackupResponse> Restore(const std::string& from,
                                           const std::string& into);

// The one JSON form of every answer: protobuf's JSON mapping with the proto
// field names, every field without presence printed (an empty list as []),
// an unset optional field left out, 64-bit numbers as strings.
std::string ToJson(const google::protobuf::Message& message);

// Appends request.events as one atomic batch; `default_actor` fills an
// event's empty actor. Errors carry the EventError payload (index of the
// failing event).
absl::StatusOr<v1::AppendResponse> Append(Ledger& ledger,
                                          const v1::AppendRequest& request,
                                          const std::string& default_actor);
// The same without waiting (Ledger::AppendAsync): `done` gets the answer
// once the batch's group is committed, on the committing thread.
void AppendAsync(
    Ledger& ledger, const v1::AppendRequest& request,
    const std::string& default_actor,
    std::function<void(absl::StatusOr<v1::AppendResponse>)> done);

// Appends `batch` as a loader does (PPEF, NPPES): an error names the
// failing event by its id ("event <id>: <why>").
absl::StatusOr<AppendResult> AppendNamingEvent(
    Ledger& ledger, const std::vector<v1::Event>& batch,
    const AppendOptions& options);

// Events read from JSON lines, with the line each came from.
struct EventLines {
  std::vector<v1::Event> events;
  std::vector<size_t> lines;
  void clear() {
    events.clear();
    lines.clear();
  }
};

// Reads up to `max_events` events (0: all) from `in`, counting lines in
// *line_no and bytes in *bytes_read. Blank lines are skipped.
// InvalidArgument "line N: <reason>" on a line that is not an event.
absl::Status ReadEventLines(std::istream& in, size_t max_events,
                            size_t* line_no, uint64_t* bytes_read,
                            EventLines* out);

// Reads every line of `in` as an event and checks each on its own (the
// checks that need no ledger state): the events of the good lines go to
// *out, and each bad line to *errors as "line N: <field>: <reason>" with
// its field and code, up to `max_errors` of them (the rest are counted in
// *more_errors). InvalidArgument only when the input cannot be read.
absl::Status CheckEventLines(std::istream& in, size_t max_errors,
                             EventLines* out,
                             std::vector<v1::LineError>* errors,
                             size_t* more_errors);

// "line N: <message>" for an append error about one event of `lines`.
absl::Status AtLine(const absl::Status& s, const EventLines& lines);

struct ImportOptions {
  size_t batch_size = 1000;  // events per atomic batch; at least 1
  std::string default_actor;
  bool sync = true;
};

struct ImportSummary {
  uint64_t batches = 0;
  uint64_t written = 0;
  uint64_t duplicates = 0;
  std::string head;  // the digest after the last batch written ("" none)
};

// Appends one batch (locally, or through a server).
using AppendFn = std::function<absl::StatusOr<v1::AppendResponse>(
    const v1::AppendRequest& request)>;

// Appends the JSON lines of `in` in batches through `append`. On a bad
// line or a refused batch returns the error ("line N: ...") with *summary
// holding what the earlier batches wrote and *failed_line the first line of
// the batch that was not written; importing the same input again skips
// what was recorded.
absl::Status Import(const AppendFn& append, std::istream& in,
                    const ImportOptions& options, const ProgressFn& progress,
                    ImportSummary* summary, size_t* failed_line);

// The same into `ledger`, with options.default_actor for empty actors.
absl::Status Import(Ledger& ledger, std::istream& in,
                    const ImportOptions& options, const ProgressFn& progress,
                    ImportSummary* summary, size_t* failed_line);

// Appends the first `until_seq` events of `from` to the empty ledger
// `target`, batch by batch as they were recorded (one recorded_at), with
// their recorded_at, so the hash chain comes out identical; syncs at the
// end. `progress` gets events replayed.
absl::StatusOr<Head> ReplayInto(const LedgerView& from, uint64_t until_seq,
                                Ledger& target,
                                const ProgressFn& progress = nullptr);

}  // namespace provledger::service

#endif  // PROVLEDGER_TOOLS_SERVICE_SERVICE_H_
