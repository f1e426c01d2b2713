#include "tools/server/grpc_service.h"

#include <algorithm>
#include <functional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "ledger/status_macros.h"
#include "ledger/validation.h"
#include "tools/service/describe.h"
#include "tools/service/service.h"

namespace provledger::server {
namespace {

using v1::Event;

constexpr uint32_t kDefaultHeartbeatSeconds = 15;

}  // namespace

absl::Status RefuseOtherActors(const v1::AppendRequest& request,
                               const std::string& caller) {
  for (int i = 0; i < request.events_size(); ++i) {
    const std::string& actor = request.events(i).actor();
    if (!actor.empty() && actor != caller) {
      return WithEventError(
          absl::InvalidArgumentError(absl::StrCat(
              "actor: '", actor, "' is not the caller; the server records ",
              "events under the token's identity ('", caller,
              "'): leave actor empty")),
          static_cast<size_t>(i));
    }
  }
  return absl::OkStatus();
}

service::QueryService QueriesFor(const Ledger& ledger, const PayerRules& rules,
                                 const Identity& caller) {
  service::QueryService queries(ledger.View(), rules);
  if (caller.role == Role::kAuditor) queries.RefuseFullTins();
  return queries;
}

v1::ErrorStatus ErrorStatusOf(const absl::Status& status) {
  v1::ErrorStatus details;
  details.set_code(static_cast<int>(status.code()));
  details.set_message(std::string(status.message()));
  if (std::optional<v1::EventError> error = EventErrorOf(status)) {
    details.add_details()->PackFrom(*error);
  }
  return details;
}

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  const std::string message(status.message());
  if (!EventErrorOf(status).has_value()) return grpc::Status(code, message);
  return grpc::Status(code, message, ErrorStatusOf(status).SerializeAsString());
}

void StopLockOrderTracking() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

LedgerService::LedgerService(Ledger* ledger, Options options)
    : ledger_(ledger), options_(std::move(options)) {}

void LedgerService::Stop() {
  std::unique_lock lock(writes_mu_);
  stopping_ = true;
  writes_done_.wait(lock, [&] { return writes_in_flight_ == 0; });
}

bool LedgerService::BeginWrite() {
  std::lock_guard lock(writes_mu_);
  if (stopping_) return false;
  ++writes_in_flight_;
  return true;
}

void LedgerService::EndWrite() {
  std::lock_guard lock(writes_mu_);
  if (--writes_in_flight_ == 0) writes_done_.notify_all();
}

namespace {

absl::Status ShuttingDown() {
  return absl::UnavailableError(
      "the server is shutting down: nothing was written; send it again once "
      "the server is back");
}

}  // namespace

absl::StatusOr<Identity> LedgerService::Authorize(
    const grpc::ServerContextBase& context, Role needed,
    const char* call) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  std::optional<absl::string_view> value;
  if (it != metadata.end()) value.emplace(it->second.data(), it->second.size());
  return server::Authorize(options_.tokens, options_.local_identity, value,
                           needed, call, "metadata");
}

grpc::ServerUnaryReactor* LedgerService::Append(
    grpc::CallbackServerContext* context, const v1::AppendRequest* request,
    v1::AppendResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = Authorize(*context, Role::kWriter, "Append");
  if (!caller.ok()) {
    reactor->Finish(ToGrpc(caller.status()));
    return reactor;
  }
  AppendAs(*caller, *request,
           [reactor, response](absl::StatusOr<v1::AppendResponse> answer) {
             if (answer.ok()) *response = *std::move(answer);
             reactor->Finish(ToGrpc(answer.status()));
           });
  return reactor;
}

// A writer's batches over one stream, one at a time: the next is read once
// the last one's reply is sent, so the replies keep the batches' order.
class LedgerService::AppendStreamReactor final
    : public grpc::ServerBidiReactor<v1::AppendRequest, v1::AppendStreamReply> {
 public:
  AppendStreamReactor(LedgerService* service, Identity caller)
      : service_(service), caller_(std::move(caller)) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client has sent its last batch (or is gone)
      Finish(grpc::Status::OK);
      return;
    }
    service_->AppendAs(caller_, request_,
                       [this](absl::StatusOr<v1::AppendResponse> answer) {
                         reply_.Clear();
                         reply_.set_index(index_++);
                         if (answer.ok()) {
                           *reply_.mutable_appended() = *std::move(answer);
                         } else {
                           *reply_.mutable_error() =
                               ErrorStatusOf(answer.status());
                         }
                         StartWrite(&reply_);
                       });
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {  // the client is gone
      Finish(grpc::Status::OK);
      return;
    }
    StartRead(&request_);
  }
  void OnDone() override { delete this; }

 private:
  LedgerService* const service_;
  const Identity caller_;
  v1::AppendRequest request_;
  v1::AppendStreamReply reply_;
  uint64_t index_ = 0;
};

grpc::ServerBidiReactor<v1::AppendRequest, v1::AppendStreamReply>*
LedgerService::AppendStream(grpc::CallbackServerContext* context) {
  auto caller = Authorize(*context, Role::kWriter, "AppendStream");
  if (caller.ok()) return new AppendStreamReactor(this, *std::move(caller));
  // Refused: the stream ends with the status, reading nothing.
  class Refused final : public grpc::ServerBidiReactor<v1::AppendRequest,
                                                        v1::AppendStreamReply> {
   public:
    explicit Refused(const grpc::Status& status) { Finish(status); }
    void OnDone() override { delete this; }
  };
  return new Refused(ToGrpc(caller.status()));
}

void LedgerService::AppendAs(
    const Identity& caller, const v1::AppendRequest& request,
    std::function<void(absl::StatusOr<v1::AppendResponse>)> done) {
  // Counted for the metrics, then answered; a write in flight until then
  // (Stop() waits for it).
  auto finish = [this, done = std::move(done)](
                    absl::StatusOr<v1::AppendResponse> answer, bool counted) {
    if (options_.metrics != nullptr) {
      options_.metrics->OnAppend(answer.status().code(),
                                 answer.ok() ? answer->appended() : 0);
    }
    done(std::move(answer));
    if (counted) EndWrite();
  };
  // The actor recorded is who the token says the caller is; a client
  // cannot record events in someone else's name.
  if (absl::Status refused = RefuseOtherActors(request, caller.name);
      !refused.ok()) {
    finish(refused, false);
    return;
  }
  if (!BeginWrite()) {
    finish(ShuttingDown(), false);
    return;
  }
  service::AppendAsync(*ledger_, request, caller.name,
                       [finish = std::move(finish)](
                           absl::StatusOr<v1::AppendResponse> answer) {
                         finish(std::move(answer), true);
                       });
}

absl::StatusOr<uint64_t> SendEvents(
    const LedgerView& view, const Identity& caller, uint64_t from_seq,
    const std::string& npi, const std::string& body_type,
    const std::function<bool(const Event&)>& send) {
  from_seq = std::max<uint64_t>(from_seq, 1);
  const uint64_t head = view.head().seq;
  // False once the client is gone. An auditor gets individuals' TINs
  // masked.
  Event shown;
  auto deliver = [&](const Event& e) {
    if (!body_type.empty() && BodyName(e) != body_type) return true;
    if (caller.role != Role::kAuditor) return send(e);
    shown = e;
    MaskIndividualTins(&shown);
    return send(shown);
  };
  if (!npi.empty()) {
    ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, view.StreamSeqs(npi));
    for (uint64_t seq : seqs) {
      if (seq < from_seq) continue;
      ASSIGN_OR_RETURN(Event e, view.Get(seq));
      if (!deliver(e)) return absl::CancelledError("client gone");
    }
    return std::max(from_seq, head + 1);
  }
  auto it = view.Read(from_seq);
  for (; it->Valid(); it->Next()) {
    if (!deliver(it->event())) return absl::CancelledError("client gone");
  }
  RETURN_IF_ERROR(it->status());
  return std::max(from_seq, head + 1);
}

grpc::Status LedgerService::Read(grpc::ServerContext* context,
                                 const v1::ReadRequest* request,
                                 grpc::ServerWriter<Event>* writer) {
  Timed timed(this, "Read");
  auto caller = Authorize(*context, Role::kAuditor, "Read");
  if (!caller.ok()) return ToGrpc(caller.status());
  auto sent = SendEvents(*ledger_->View(), *caller, request->from_seq(),
                         request->npi(), request->body_type(),
                         [&](const Event& e) { return writer->Write(e); });
  return ToGrpc(sent.status());
}

grpc::Status LedgerService::Subscribe(
    grpc::ServerContext* context, const v1::SubscribeRequest* request,
    grpc::ServerWriter<v1::SubscribeResponse>* writer) {
  auto caller = Authorize(*context, Role::kAuditor, "Subscribe");
  if (!caller.ok()) return ToGrpc(caller.status());
  struct Counted {
    Metrics* metrics;
    explicit Counted(Metrics* m) : metrics(m) {
      if (metrics != nullptr) metrics->SubscriberAdded();
    }
    ~Counted() {
      if (metrics != nullptr) metrics->SubscriberRemoved();
    }
  } counted(options_.metrics);
  const absl::Duration beat = absl::Seconds(
      request->heartbeat_seconds() == 0 ? kDefaultHeartbeatSeconds
                                        : request->heartbeat_seconds());
  // Reads come from the log, never from a buffer the appends fill: a slow
  // subscriber only falls behind (gRPC's flow control holds its writes).
  uint64_t next = std::max<uint64_t>(request->from_seq(), 1);
  v1::SubscribeResponse item;
  while (!context->IsCancelled() && !stopping_) {
    auto view = ledger_->View();
    auto sent = SendEvents(*view, *caller, next, request->npi(),
                           request->body_type(), [&](const Event& e) {
                             *item.mutable_event() = e;
                             return writer->Write(item);
                           });
    if (!sent.ok()) {
      if (absl::IsCancelled(sent.status())) return grpc::Status::OK;
      return ToGrpc(sent.status());
    }
    next = *sent;
    // Wait for the next commit, in short waits so that a cancelled call or
    // a shutdown ends the loop soon; none by the heartbeat: say so.
    const absl::Time heartbeat_at = absl::Now() + beat;
    uint64_t head = view->head().seq;
    while (head < next && absl::Now() < heartbeat_at &&
           !context->IsCancelled() && !stopping_) {
      head = ledger_
                 ->WaitForHead(next - 1,
                               std::min(heartbeat_at,
                                        absl::Now() + absl::Milliseconds(200)))
                 .seq;
    }
    if (head < next && absl::Now() >= heartbeat_at) {
      item.mutable_heartbeat()->set_head_seq(head);
      if (!writer->Write(item)) return grpc::Status::OK;
    }
  }
  if (stopping_) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "the server is shutting down; resubscribe from the "
                        "last seq seen + 1");
  }
  return grpc::Status::OK;
}

template <typename Request, typename Response, typename Call>
grpc::ServerUnaryReactor* LedgerService::Answer(
    grpc::CallbackServerContext* context, const char* method,
    const Request* request, Response* response, Call call) const {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(Query(*context, method, *request, response, call));
  return reactor;
}

template <typename Request, typename Response, typename Call>
grpc::Status LedgerService::Query(const grpc::ServerContextBase& context,
                                  const char* method, const Request& request,
                                  Response* response, Call call) const {
  Timed timed(this, method);
  auto caller = Authorize(context, Role::kAuditor, method);
  if (!caller.ok()) return ToGrpc(caller.status());
  const service::QueryService queries =
      QueriesFor(*ledger_, options_.rules, *caller);
  absl::StatusOr<Response> answer = std::invoke(call, queries, request);
  if (!answer.ok()) return ToGrpc(answer.status());
  *response = std::move(*answer);
  return grpc::Status::OK;
}

template <typename Work>
grpc::Status LedgerService::AdminWrite(const grpc::ServerContext& context,
                                       const char* call, Work work) {
  auto caller = Authorize(context, Role::kAdmin, call);
  if (!caller.ok()) return ToGrpc(caller.status());
  if (!BeginWrite()) return ToGrpc(ShuttingDown());
  absl::Status done = work();
  EndWrite();
  return ToGrpc(done);
}

grpc::ServerUnaryReactor* LedgerService::AsOf(
    grpc::CallbackServerContext* context, const v1::AsOfRequest* request,
    v1::AsOfResponse* response) {
  return Answer(context, "AsOf", request, response,
                &service::QueryService::AsOf);
}

grpc::ServerUnaryReactor* LedgerService::History(
    grpc::CallbackServerContext* context, const v1::HistoryRequest* request,
    v1::HistoryResponse* response) {
  return Answer(context, "History", request, response,
                &service::QueryService::History);
}

grpc::ServerUnaryReactor* LedgerService::Diff(
    grpc::CallbackServerContext* context, const v1::DiffRequest* request,
    v1::DiffResponse* response) {
  return Answer(context, "Diff", request, response,
                &service::QueryService::Diff);
}

grpc::ServerUnaryReactor* LedgerService::ClaimCheck(
    grpc::CallbackServerContext* context, const v1::ClaimCheckRequest* request,
    v1::ClaimCheckResponse* response) {
  return Answer(context, "ClaimCheck", request, response,
                &service::QueryService::ClaimCheck);
}

grpc::ServerUnaryReactor* LedgerService::Stats(
    grpc::CallbackServerContext* context, const v1::StatsRequest* request,
    v1::StatsResponse* response) {
  return Answer(context, "Stats", request, response,
                &service::QueryService::Stats);
}

grpc::Status LedgerService::Report(grpc::ServerContext* context,
                                 const v1::ReportRequest* request,
                                 v1::ReportResponse* response) {
  return Query(*context, "Report", *request, response,
               &service::QueryService::Report);
}

// A name search reads every enrollment: on the synchronous pool.
grpc::Status LedgerService::Search(grpc::ServerContext* context,
                                   const v1::SearchRequest* request,
                                   v1::SearchResponse* response) {
  return Query(*context, "Search", *request, response,
               &service::QueryService::Search);
}

grpc::ServerUnaryReactor* LedgerService::Digest(
    grpc::CallbackServerContext* context, const v1::DigestRequest* request,
    v1::DigestResponse* response) {
  return Answer(context, "Digest", request, response,
                [](const service::QueryService& queries,
                   const v1::DigestRequest&) { return queries.Digest(); });
}

grpc::Status LedgerService::ClaimChecks(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::ClaimCheckResult, v1::ClaimCheckRequest>*
        stream) {
  Timed timed(this, "ClaimChecks");
  auto caller = Authorize(*context, Role::kAuditor, "ClaimChecks");
  if (!caller.ok()) return ToGrpc(caller.status());
  // Every claim of the call is judged against one state of the ledger.
  const service::QueryService service =
      QueriesFor(*ledger_, options_.rules, *caller);
  v1::ClaimCheckRequest request;
  v1::ClaimCheckResult result;
  for (uint64_t index = 0; stream->Read(&request); ++index) {
    result.Clear();
    result.set_index(index);
    auto answer = service.ClaimCheck(request);
    if (answer.ok()) {
      *result.mutable_answer() = std::move(*answer);
    } else {
      result.mutable_error()->set_code(
          static_cast<int>(answer.status().code()));
      result.mutable_error()->set_message(
          std::string(answer.status().message()));
    }
    if (!stream->Write(result)) return grpc::Status::OK;  // client gone
  }
  return grpc::Status::OK;
}

namespace {

// The two calls that upload a file: a request, then the file's bytes in
// chunks; answered with items as they are found, then a summary.
struct ReconcileCall {
  using Upload = v1::ReconcileUpload;
  using Reply = v1::ReconcileReply;
  static constexpr const char* kName = "Reconcile";
  static constexpr const char* kFile = "roster";
  static constexpr const char* kChunkField = "roster_chunk";
  static constexpr auto kChunk = Upload::kRosterChunk;
  static std::string* Chunk(Upload& u) { return u.mutable_roster_chunk(); }
  static void SetItem(Reply* r, const v1::Discrepancy& d) {
    *r->mutable_discrepancy() = d;
  }
  static void SetSummary(Reply* r, v1::ReconcileSummary s) {
    *r->mutable_summary() = std::move(s);
  }
};

struct ClaimsFileCall {
  using Upload = v1::ClaimsFileUpload;
  using Reply = v1::ClaimsFileReply;
  static constexpr const char* kName = "CheckClaimsFile";
  static constexpr const char* kFile = "claims file";
  static constexpr const char* kChunkField = "file_chunk";
  static constexpr auto kChunk = Upload::kFileChunk;
  static std::string* Chunk(Upload& u) { return u.mutable_file_chunk(); }
  static void SetItem(Reply* r, const v1::ClaimLineResult& l) {
    *r->mutable_line() = l;
  }
  static void SetSummary(Reply* r, v1::ClaimsFileSummary s) {
    *r->mutable_summary() = std::move(s);
  }
};

// The file bytes of an upload call as an input stream: reads the next
// chunk from the call when the last one is used up.
template <typename Call>
class UploadBuffer : public std::streambuf {
 public:
  using Stream =
      grpc::ServerReaderWriter<typename Call::Reply, typename Call::Upload>;
  explicit UploadBuffer(Stream* stream) : stream_(stream) {}

  // Set when a part after the first was not a chunk of the file.
  const absl::Status& status() const { return status_; }

 protected:
  int_type underflow() override {
    while (gptr() == egptr()) {
      if (!status_.ok() || !stream_->Read(&part_)) return traits_type::eof();
      if (part_.part_case() != Call::kChunk) {
        status_ = absl::InvalidArgumentError(
            absl::StrCat("only the first message of a ", Call::kName,
                         " call holds the request; the others hold ",
                         Call::kChunkField));
        return traits_type::eof();
      }
      chunk_.swap(*Call::Chunk(part_));
      setg(chunk_.data(), chunk_.data(), chunk_.data() + chunk_.size());
    }
    return traits_type::to_int_type(*gptr());
  }

 private:
  Stream* stream_;
  typename Call::Upload part_;
  std::string chunk_;
  absl::Status status_;
};

// Serves an upload call: `run(request, file, sink)` answers it, handing
// each item to `sink`, and returns the summary.
template <typename Call, typename Run>
grpc::Status ServeUpload(typename UploadBuffer<Call>::Stream* stream, Run run) {
  typename Call::Upload first;
  if (!stream->Read(&first) || first.part_case() != Call::Upload::kRequest) {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("the first message of a ", Call::kName,
                     " call must hold the request, then the ", Call::kFile,
                     " in ",
                     Call::kChunkField, " messages"));
  }
  UploadBuffer<Call> buffer(stream);
  std::istream file(&buffer);
  typename Call::Reply reply;
  bool client_gone = false;
  auto summary = run(first.request(), file, [&](const auto& item) {
    if (client_gone) return;
    Call::SetItem(&reply, item);
    client_gone = !stream->Write(reply);
  });
  if (client_gone) return grpc::Status::OK;
  if (!buffer.status().ok()) return ToGrpc(buffer.status());
  if (!summary.ok()) return ToGrpc(summary.status());
  Call::SetSummary(&reply, std::move(*summary));
  stream->Write(reply);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status LedgerService::Reconcile(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::ReconcileReply, v1::ReconcileUpload>*
        stream) {
  Timed timed(this, "Reconcile");
  auto caller = Authorize(*context, Role::kAuditor, "Reconcile");
  if (!caller.ok()) return ToGrpc(caller.status());
  const service::QueryService service(ledger_->View(), options_.rules);
  return ServeUpload<ReconcileCall>(
      stream, [&](const v1::ReconcileRequest& request, std::istream& roster,
                  const std::function<void(const v1::Discrepancy&)>& sink) {
        return service.Reconcile(request, roster, sink);
      });
}

grpc::Status LedgerService::CheckClaimsFile(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::ClaimsFileReply, v1::ClaimsFileUpload>*
        stream) {
  Timed timed(this, "CheckClaimsFile");
  auto caller = Authorize(*context, Role::kAuditor, "CheckClaimsFile");
  if (!caller.ok()) return ToGrpc(caller.status());
  const service::QueryService service(ledger_->View(), options_.rules);
  return ServeUpload<ClaimsFileCall>(
      stream, [&](const v1::ClaimsFileRequest& request, std::istream& file,
                  const std::function<void(const v1::ClaimLineResult&)>& sink) {
        return service.CheckClaimsFile(request, file, sink);
      });
}

grpc::Status LedgerService::VerifyDigest(
    grpc::ServerContext* context, const v1::VerifyDigestRequest* request,
    v1::VerifyResponse* response) {
  Timed timed(this, "VerifyDigest");
  auto caller = Authorize(*context, Role::kAuditor, "VerifyDigest");
  if (!caller.ok()) return ToGrpc(caller.status());
  v1::VerifyRequest verify;
  verify.set_digest(request->digest());
  verify.set_chain_only(true);
  auto answer = service::Verify(*ledger_, verify);
  if (!answer.ok()) return ToGrpc(answer.status());
  *response = std::move(*answer);
  return grpc::Status::OK;
}

grpc::Status LedgerService::Verify(grpc::ServerContext* context,
                                   const v1::VerifyRequest* request,
                                   v1::VerifyResponse* response) {
  Timed timed(this, "Verify");
  auto caller = Authorize(*context, Role::kAdmin, "Verify");
  if (!caller.ok()) return ToGrpc(caller.status());
  auto answer = service::Verify(*ledger_, *request);
  if (!answer.ok()) return ToGrpc(answer.status());
  *response = std::move(*answer);
  return grpc::Status::OK;
}

grpc::Status LedgerService::Compact(grpc::ServerContext* context,
                                    const v1::CompactRequest*,
                                    v1::CompactResponse*) {
  return AdminWrite(*context, "Compact",
                    [&] { return ledger_->CompactProjections(); });
}

grpc::Status LedgerService::Backup(grpc::ServerContext* context,
                                   const v1::BackupRequest* request,
                                   v1::BackupResponse* response) {
  return AdminWrite(*context, "Backup", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(*response, service::Backup(*ledger_, *request));
    return absl::OkStatus();
  });
}

grpc::Status LedgerService::Rebuild(grpc::ServerContext* context,
                                    const v1::RebuildRequest*,
                                    v1::RebuildResponse* response) {
  return AdminWrite(*context, "Rebuild", [&]() -> absl::Status {
    uint64_t replayed = 0;
    RETURN_IF_ERROR(ledger_->Rebuild([&](uint64_t done, uint64_t) {
      replayed = std::max(replayed, done);
    }));
    response->set_events_replayed(replayed);
    return absl::OkStatus();
  });
}

}  // namespace provledger::server
