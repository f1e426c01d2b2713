#include "tools/server/client.h"

#include <chrono>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "ledger/knowledge_point.h"
#include "provledger/v1/errors.pb.h"

namespace provledger::server {
namespace {

// Every call's deadline: long enough for a large report or a slow disk.
constexpr auto kCallDeadline = std::chrono::minutes(5);
// Roster bytes per message of a Reconcile upload.
constexpr size_t kUploadChunkBytes = 64 * 1024;

}  // namespace

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status s(static_cast<absl::StatusCode>(status.error_code()),
                 status.error_message());
  v1::ErrorStatus details;
  if (!status.error_details().empty() &&
      details.ParseFromString(status.error_details())) {
    for (const auto& any : details.details()) {
      v1::EventError error;
      if (any.UnpackTo(&error)) s = WithEventError(std::move(s), error);
    }
  }
  return s;
}

namespace {

std::shared_ptr<grpc::ChannelCredentials> CredentialsFor(
    const std::string& tls_roots) {
  if (tls_roots.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = tls_roots;
  return grpc::SslCredentials(ssl);
}

}  // namespace

RemoteAnswers::RemoteAnswers(const std::string& address, std::string token,
                             const std::string& tls_roots)
    : address_(address),
      token_(std::move(token)),
      stub_(v1::Ledger::NewStub(
          grpc::CreateChannel(address, CredentialsFor(tls_roots)))) {}

std::unique_ptr<grpc::ClientContext> RemoteAnswers::NewContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  if (!token_.empty()) {
    context->AddMetadata("authorization", "Bearer " + token_);
  }
  return context;
}

absl::Status RemoteAnswers::StatusOf(const grpc::Status& status) const {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return absl::UnavailableError(absl::StrCat(
        "cannot reach provledgerd at ", address_, ": ",
        status.error_message()));
  }
  return FromGrpc(status);
}

template <typename Request, typename Response, typename Method>
absl::StatusOr<Response> RemoteAnswers::Call(Method method,
                                             const Request& request) const {
  auto context = NewContext();
  Response response;
  grpc::Status status = ((*stub_).*method)(context.get(), request, &response);
  if (!status.ok()) return StatusOf(status);
  return response;
}

absl::StatusOr<v1::AsOfResponse> RemoteAnswers::AsOf(
    const v1::AsOfRequest& request) const {
  return Call<v1::AsOfRequest, v1::AsOfResponse>(&v1::Ledger::Stub::AsOf,
                                                 request);
}

absl::StatusOr<v1::SearchResponse> RemoteAnswers::Search(
    const v1::SearchRequest& request) const {
  return Call<v1::SearchRequest, v1::SearchResponse>(&v1::Ledger::Stub::Search,
                                                     request);
}

absl::StatusOr<v1::HistoryResponse> RemoteAnswers::History(
    const v1::HistoryRequest& request) const {
  return Call<v1::HistoryRequest, v1::HistoryResponse>(
      &v1::Ledger::Stub::History, request);
}

absl::StatusOr<v1::DiffResponse> RemoteAnswers::Diff(
    const v1::DiffRequest& request) const {
  return Call<v1::DiffRequest, v1::DiffResponse>(&v1::Ledger::Stub::Diff,
                                                 request);
}

absl::StatusOr<v1::ClaimCheckResponse> RemoteAnswers::ClaimCheck(
    const v1::ClaimCheckRequest& request) const {
  return Call<v1::ClaimCheckRequest, v1::ClaimCheckResponse>(
      &v1::Ledger::Stub::ClaimCheck, request);
}

absl::StatusOr<v1::StatsResponse> RemoteAnswers::Stats(
    const v1::StatsRequest& request) const {
  return Call<v1::StatsRequest, v1::StatsResponse>(&v1::Ledger::Stub::Stats,
                                                   request);
}

absl::StatusOr<v1::ReportResponse> RemoteAnswers::Report(
    const v1::ReportRequest& request) const {
  return Call<v1::ReportRequest, v1::ReportResponse>(
      &v1::Ledger::Stub::Report, request);
}

absl::StatusOr<v1::DigestResponse> RemoteAnswers::Digest() const {
  return Call<v1::DigestRequest, v1::DigestResponse>(
      &v1::Ledger::Stub::Digest, v1::DigestRequest());
}

absl::StatusOr<v1::AppendResponse> RemoteAnswers::Append(
    const v1::AppendRequest& request) const {
  return Call<v1::AppendRequest, v1::AppendResponse>(
      &v1::Ledger::Stub::Append, request);
}

absl::Status RemoteAnswers::Read(
    const v1::ReadRequest& request,
    const std::function<void(const v1::Event&)>& each) const {
  auto context = NewContext();
  auto events = stub_->Read(context.get(), request);
  v1::Event e;
  while (events->Read(&e)) each(e);
  return StatusOf(events->Finish());
}

absl::StatusOr<v1::VerifyResponse> RemoteAnswers::Verify(
    const v1::VerifyRequest& request) const {
  if (!request.chain_only()) {
    return Call<v1::VerifyRequest, v1::VerifyResponse>(
        &v1::Ledger::Stub::Verify, request);
  }
  v1::VerifyDigestRequest digest;
  digest.set_digest(request.digest());
  return Call<v1::VerifyDigestRequest, v1::VerifyResponse>(
      &v1::Ledger::Stub::VerifyDigest, digest);
}

absl::StatusOr<v1::RebuildResponse> RemoteAnswers::Rebuild() const {
  return Call<v1::RebuildRequest, v1::RebuildResponse>(
      &v1::Ledger::Stub::Rebuild, v1::RebuildRequest());
}

absl::Status RemoteAnswers::Compact() const {
  return Call<v1::CompactRequest, v1::CompactResponse>(
             &v1::Ledger::Stub::Compact, v1::CompactRequest())
      .status();
}

absl::StatusOr<v1::BackupResponse> RemoteAnswers::Backup(
    const v1::BackupRequest& request) const {
  return Call<v1::BackupRequest, v1::BackupResponse>(
      &v1::Ledger::Stub::Backup, request);
}

absl::StatusOr<uint64_t> RemoteAnswers::HeadSeq() const {
  auto head = Digest();
  if (head.ok()) return head->seq();
  // An empty ledger has no digest.
  if (absl::IsFailedPrecondition(head.status())) return 0;
  return head.status();
}

namespace {

// Uploads `file` after `request` on an upload call (Reconcile,
// CheckClaimsFile), handing each reply to `take_reply`. The upload goes on in its own thread while the replies are
// read here: the server answers as it reads, and neither side may wait for
// the other to finish first.
template <typename Upload, typename Reply, typename Request,
          typename SetRequest, typename SetChunk, typename TakeReply>
void UploadFile(grpc::ClientReaderWriter<Upload, Reply>* call,
                const Request& request, std::istream& file,
                const service::ProgressFn& progress, SetRequest set_request,
                SetChunk set_chunk, TakeReply take_reply) {
  std::thread upload([&] {
    Upload part;
    set_request(&part, request);
    bool open = call->Write(part);
    std::string chunk(kUploadChunkBytes, '\0');
    uint64_t sent = 0;
    while (open && file) {
      file.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      const auto n = static_cast<size_t>(file.gcount());
      if (n == 0) break;
      set_chunk(&part, chunk.data(), n);
      open = call->Write(part);
      sent += n;
      if (progress) progress(sent);
    }
    call->WritesDone();
  });
  Reply reply;
  while (call->Read(&reply)) take_reply(reply);
  upload.join();
}

}  // namespace

absl::StatusOr<v1::ReconcileSummary> RemoteAnswers::Reconcile(
    const v1::ReconcileRequest& request, std::istream& roster,
    const std::function<void(const v1::Discrepancy&)>& sink,
    const service::ProgressFn& progress) const {
  auto context = NewContext();
  auto call = stub_->Reconcile(context.get());
  std::optional<v1::ReconcileSummary> summary;
  UploadFile(
      call.get(), request, roster, progress,
      [](v1::ReconcileUpload* p, const v1::ReconcileRequest& r) {
        *p->mutable_request() = r;
      },
      [](v1::ReconcileUpload* p, const char* data, size_t n) {
        p->set_roster_chunk(data, n);
      },
      [&](v1::ReconcileReply& reply) {
        if (reply.has_discrepancy()) sink(reply.discrepancy());
        if (reply.has_summary()) summary = std::move(*reply.mutable_summary());
      });
  grpc::Status status = call->Finish();
  if (!status.ok()) return StatusOf(status);
  if (!summary.has_value()) {
    return absl::InternalError("the server ended Reconcile without a summary");
  }
  return *summary;
}

absl::StatusOr<v1::ClaimsFileSummary> RemoteAnswers::CheckClaimsFile(
    const v1::ClaimsFileRequest& request, std::istream& file,
    const std::function<void(const v1::ClaimLineResult&)>& sink,
    const service::ProgressFn& progress) const {
  auto context = NewContext();
  auto call = stub_->CheckClaimsFile(context.get());
  std::optional<v1::ClaimsFileSummary> summary;
  UploadFile(
      call.get(), request, file, progress,
      [](v1::ClaimsFileUpload* p, const v1::ClaimsFileRequest& r) {
        *p->mutable_request() = r;
      },
      [](v1::ClaimsFileUpload* p, const char* data, size_t n) {
        p->set_file_chunk(data, n);
      },
      [&](v1::ClaimsFileReply& reply) {
        if (reply.has_line()) sink(reply.line());
        if (reply.has_summary()) summary = std::move(*reply.mutable_summary());
      });
  grpc::Status status = call->Finish();
  if (!status.ok()) return StatusOf(status);
  if (!summary.has_value()) {
    return absl::InternalError(
        "the server ended CheckClaimsFile without a summary");
  }
  return *summary;
}

std::string RemoteAnswers::KnownAtCaption(uint64_t known_seq,
                                          absl::TimeZone zone) const {
  auto head = HeadSeq();
  const uint64_t head_seq = head.ok() ? *head : 0;
  std::optional<absl::Time> recorded;
  if (known_seq > 0 && known_seq != head_seq) {
    auto context = NewContext();
    v1::ReadRequest read;
    read.set_from_seq(known_seq);
    auto events = stub_->Read(context.get(), read);
    v1::Event e;
    if (events->Read(&e) && e.seq() == known_seq) {
      recorded = ToAbslTime(e.recorded_at());
    }
    context->TryCancel();
    events->Finish();
  }
  return service::KnownAtCaption(known_seq, head_seq, recorded, zone);
}

}  // namespace provledger::server
