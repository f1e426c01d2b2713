// A client of provledgerd: the service layer's calls answered by a server
// (the command line's --server).
#ifndef PROVLEDGER_TOOLS_SERVER_CLIENT_H_
#define PROVLEDGER_TOOLS_SERVER_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "provledger/v1/service.grpc.pb.h"
#include "tools/service/service.h"

namespace provledger::server {

// A call's gRPC status as an absl::Status (the codes are the same); an
// append error's EventError (in the details) is its payload again, as the
// library sets it.
absl::Status FromGrpc(const grpc::Status& status);

class RemoteAnswers : public service::Answers {
 public:
  // Talks to the provledgerd at `address` ("host:port"), sending `token`
  // ("" for none); over TLS trusting the PEM `tls_roots` if given, else in
  // plain text (a loopback server). Connects on the first call.
  RemoteAnswers(const std::string& address, std::string token,
                const std::string& tls_roots = "");

  absl::StatusOr<v1::AsOfResponse> AsOf(
      const v1::AsOfRequest& request) const override;
  absl::StatusOr<v1::HistoryResponse> History(
      const v1::HistoryRequest& request) const override;
  absl::StatusOr<v1::SearchResponse> Search(
      const v1::SearchRequest& request) const override;
  absl::StatusOr<v1::DiffResponse> Diff(
      const v1::DiffRequest& request) const override;
  absl::StatusOr<v1::ClaimCheckResponse> ClaimCheck(
      const v1::ClaimCheckRequest& request) const override;
  absl::StatusOr<v1::StatsResponse> Stats(
      const v1::StatsRequest& request) const override;
  absl::StatusOr<v1::ReportResponse> Report(
      const v1::ReportRequest& request) const override;
  absl::StatusOr<v1::DigestResponse> Digest() const override;
  std::string KnownAtCaption(uint64_t known_seq,
                             absl::TimeZone zone) const override;

  absl::StatusOr<v1::AppendResponse> Append(
      const v1::AppendRequest& request) const;
  // request.chain_only: the VerifyDigest call (any reader); else Verify
  // (the admin role).
  absl::StatusOr<v1::VerifyResponse> Verify(
      const v1::VerifyRequest& request) const;
  // Uploads `roster` in chunks while the discrepancies come back to
  // `sink`; `progress` gets the roster bytes sent.
  absl::StatusOr<v1::ReconcileSummary> Reconcile(
      const v1::ReconcileRequest& request, std::istream& roster,
      const std::function<void(const v1::Discrepancy&)>& sink,
      const service::ProgressFn& progress = nullptr) const;
  // The same for a claims file.
  absl::StatusOr<v1::ClaimsFileSummary> CheckClaimsFile(
      const v1::ClaimsFileRequest& request, std::istream& file,
      const std::function<void(const v1::ClaimLineResult&)>& sink,
      const service::ProgressFn& progress = nullptr) const;
  // The admin calls.
  absl::StatusOr<v1::RebuildResponse> Rebuild() const;
  absl::Status Compact() const;
  absl::StatusOr<v1::BackupResponse> Backup(
      const v1::BackupRequest& request) const;
  // The server's head seq (0 on an empty ledger).
  absl::StatusOr<uint64_t> HeadSeq() const;
  // Streams the events from request.from_seq on to `each`.
  absl::Status Read(const v1::ReadRequest& request,
                    const std::function<void(const v1::Event&)>& each) const;

 private:
  // A call's context: its deadline and the token.
  std::unique_ptr<grpc::ClientContext> NewContext() const;
  // A failed call's status; an unreachable server named.
  absl::Status StatusOf(const grpc::Status& status) const;
  template <typename Request, typename Response, typename Method>
  absl::StatusOr<Response> Call(Method method, const Request& request) const;

  std::string address_;
  std::string token_;
  std::unique_ptr<v1::Ledger::Stub> stub_;
};

}  // namespace provledger::server

#endif  // PROVLEDGER_TOOLS_SERVER_CLIENT_H_
