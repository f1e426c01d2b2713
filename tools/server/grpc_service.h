// provledgerd's gRPC service: the service layer's calls over one ledger,
// with tokens and roles, each query answered from one read view.
#ifndef PROVLEDGER_TOOLS_SERVER_GRPC_SERVICE_H_
#define PROVLEDGER_TOOLS_SERVER_GRPC_SERVICE_H_

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "ledger/ledger.h"
#include "projections/payer_rules.h"
#include "provledger/v1/service.grpc.pb.h"
#include "tools/server/metrics.h"
#include "tools/server/tokens.h"
#include "tools/service/service.h"

namespace provledger::server {

// InvalidArgument (with the event's index) if an event of `request` names
// an actor other than `caller`: the server records events under the
// token's identity.
absl::Status RefuseOtherActors(const v1::AppendRequest& request,
                               const std::string& caller);

// Sends the events from `from_seq` of `view` that pass the filters (an
// NPI's stream, a body type; "" for all), as `caller` may see them (an
// auditor gets individuals' TINs masked), until `send` returns false
// (Cancelled); returns the next seq to send.
absl::StatusOr<uint64_t> SendEvents(
    const LedgerView& view, const Identity& caller, uint64_t from_seq,
    const std::string& npi, const std::string& body_type,
    const std::function<bool(const v1::Event&)>& send);

// The queries as `caller` may see them, answered from a view of `ledger`
// taken now: an auditor's answers have individuals' TINs masked.
service::QueryService QueriesFor(const Ledger& ledger, const PayerRules& rules,
                                 const Identity& caller);

// `status` as a gRPC status (the codes are the same); an append error's
// EventError travels in the details as an ErrorStatus.
grpc::Status ToGrpc(const absl::Status& status);
// That ErrorStatus (code, message, and an append error's EventError).
v1::ErrorStatus ErrorStatusOf(const absl::Status& status);

// Turns Abseil's lock-order (deadlock) tracking off, once, at the start of
// main in every program that uses gRPC. Debian's Abseil is built with it
// on, so each absl::Mutex that gRPC takes (several per call) updates a
// process-wide graph of lock orders and records a stack trace; provledger's
// own locks are std:: ones, which ThreadSanitizer checks instead.
void StopLockOrderTracking();

// The point queries are answered on gRPC's own threads as the call arrives
// (the callback API: no hand-over to a thread of the synchronous pool), and
// appends are handed to the ledger's group commit there and answered from
// the ledger's completing thread once durable (no thread waits for an
// fsync per call);
// calls that stream many answers or run long use the synchronous pool.
using CallbackCalls = v1::Ledger::WithCallbackMethod_Append<
    v1::Ledger::WithCallbackMethod_AppendStream<
        v1::Ledger::WithCallbackMethod_AsOf<
            v1::Ledger::WithCallbackMethod_History<
                v1::Ledger::WithCallbackMethod_Diff<
                    v1::Ledger::WithCallbackMethod_ClaimCheck<
                        v1::Ledger::WithCallbackMethod_Stats<
                            v1::Ledger::WithCallbackMethod_Digest<
                                v1::Ledger::Service>>>>>>>>;

class LedgerService final : public CallbackCalls {
 public:
  struct Options {
    // Null: no authentication (loopback only); every caller is
    // `local_identity` with the admin role.
    const Tokens* tokens = nullptr;
    std::string local_identity = "local";
    PayerRules rules;
    Metrics* metrics = nullptr;  // none: not counted
  };
  // `ledger` must outlive the service.
  LedgerService(Ledger* ledger, Options options);

  // At shutdown: refuses new writes (UNAVAILABLE), ends every live
  // subscription, and returns once the writes in flight (appends, compact,
  // rebuild) have finished and been acknowledged. The gRPC server can then
  // be shut down at once, cancelling what is left (reads only).
  void Stop();

  grpc::ServerUnaryReactor* Append(grpc::CallbackServerContext* context,
                                   const v1::AppendRequest* request,
                                   v1::AppendResponse* response) override;
  grpc::ServerBidiReactor<v1::AppendRequest, v1::AppendStreamReply>*
  AppendStream(grpc::CallbackServerContext* context) override;
  grpc::Status Read(grpc::ServerContext* context,
                    const v1::ReadRequest* request,
                    grpc::ServerWriter<v1::Event>* writer) override;
  grpc::Status Subscribe(
      grpc::ServerContext* context, const v1::SubscribeRequest* request,
      grpc::ServerWriter<v1::SubscribeResponse>* writer) override;
  grpc::ServerUnaryReactor* AsOf(grpc::CallbackServerContext* context,
                                const v1::AsOfRequest* request,
                                v1::AsOfResponse* response) override;
  grpc::ServerUnaryReactor* History(grpc::CallbackServerContext* context,
                                const v1::HistoryRequest* request,
                                v1::HistoryResponse* response) override;
  grpc::ServerUnaryReactor* Diff(grpc::CallbackServerContext* context,
                                const v1::DiffRequest* request,
                                v1::DiffResponse* response) override;
  grpc::ServerUnaryReactor* ClaimCheck(grpc::CallbackServerContext* context,
                                const v1::ClaimCheckRequest* request,
                                v1::ClaimCheckResponse* response) override;
  grpc::Status ClaimChecks(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::ClaimCheckResult, v1::ClaimCheckRequest>*
          stream) override;
  grpc::ServerUnaryReactor* Stats(grpc::CallbackServerContext* context,
                                const v1::StatsRequest* request,
                                v1::StatsResponse* response) override;
  grpc::ServerUnaryReactor* Digest(grpc::CallbackServerContext* context,
                                const v1::DigestRequest* request,
                                v1::DigestResponse* response) override;
  grpc::Status Report(grpc::ServerContext* context,
                      const v1::ReportRequest* request,
                      v1::ReportResponse* response) override;
  grpc::Status Search(grpc::ServerContext* context,
                      const v1::SearchRequest* request,
                      v1::SearchResponse* response) override;
  grpc::Status VerifyDigest(grpc::ServerContext* context,
                            const v1::VerifyDigestRequest* request,
                            v1::VerifyResponse* response) override;
  grpc::Status Reconcile(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::ReconcileReply, v1::ReconcileUpload>*
          stream) override;
  grpc::Status CheckClaimsFile(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::ClaimsFileReply, v1::ClaimsFileUpload>*
          stream) override;
  grpc::Status Verify(grpc::ServerContext* context,
                      const v1::VerifyRequest* request,
                      v1::VerifyResponse* response) override;
  grpc::Status Compact(grpc::ServerContext* context,
                       const v1::CompactRequest* request,
                       v1::CompactResponse* response) override;
  grpc::Status Backup(grpc::ServerContext* context,
                      const v1::BackupRequest* request,
                      v1::BackupResponse* response) override;
  grpc::Status Rebuild(grpc::ServerContext* context,
                       const v1::RebuildRequest* request,
                       v1::RebuildResponse* response) override;

 private:
  // The caller, if its token allows `needed`: UNAUTHENTICATED without a
  // valid token, PERMISSION_DENIED below the role.
  absl::StatusOr<Identity> Authorize(const grpc::ServerContextBase& context,
                                     Role needed, const char* call) const;
  class AppendStreamReactor;
  // One batch of Append or AppendStream from `caller` (a writer), counted
  // for the metrics: `done` gets the answer once the batch is committed (on
  // the committing thread), or at once if it is refused before.
  void AppendAs(const Identity& caller, const v1::AppendRequest& request,
                std::function<void(absl::StatusOr<v1::AppendResponse>)> done);
  // Answers a query from one view, for a caller with at least the auditor
  // role, timed as `method`: call(queries, request) gives the answer (a
  // QueryService member, or a function of both).
  template <typename Request, typename Response, typename Call>
  grpc::Status Query(const grpc::ServerContextBase& context,
                     const char* method, const Request& request,
                     Response* response, Call call) const;
  // The same as a finished callback-API call.
  template <typename Request, typename Response, typename Call>
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                   const char* method, const Request* request,
                                   Response* response, Call call) const;
  // An admin call that writes (compact, backup, rebuild): refused while
  // stopping, counted as a write in flight for Stop().
  template <typename Work>
  grpc::Status AdminWrite(const grpc::ServerContext& context, const char* call,
                          Work work);

  // Times a read call for provledger_query_duration_seconds{method}.
  class Timed {
   public:
    Timed(const LedgerService* service, const char* method)
        : metrics_(service->options_.metrics),
          method_(method),
          start_(absl::Now()) {}
    ~Timed() {
      if (metrics_ != nullptr) metrics_->OnQuery(method_, absl::Now() - start_);
    }

   private:
    Metrics* metrics_;
    const char* method_;
    absl::Time start_;
  };

  // Counts a write in flight for Stop(); false (and nothing counted) once
  // stopping.
  bool BeginWrite();
  void EndWrite();

  Ledger* const ledger_;
  const Options options_;
  std::atomic<bool> stopping_{false};
  std::mutex writes_mu_;
  std::condition_variable writes_done_;
  int writes_in_flight_ = 0;  // guarded by writes_mu_
};

}  // namespace provledger::server

#endif  // PROVLEDGER_TOOLS_SERVER_GRPC_SERVICE_H_
