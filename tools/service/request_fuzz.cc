// Fuzz target: a query as a hostile client could send it, over gRPC
// (binary protobuf) or HTTP (a JSON body), answered from the demo ledger.
// The first byte picks the call and the encoding; the rest is the request.
// Never crashes; a refusal is the request's fault (InvalidArgument,
// NotFound, FailedPrecondition), never an internal error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "google/protobuf/util/json_util.h"
#include "tools/service/fuzz_support.h"
#include "tools/service/service.h"
#include "tools/service/strict_json.h"

namespace {

using namespace provledger;

// `request` from `bytes`: binary, or strict JSON as the HTTP API reads it.
bool Decode(bool json, absl::string_view bytes, google::protobuf::Message* request) {
  if (!json) return request->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  if (!CheckStrictJson(bytes, request->GetDescriptor()).ok()) return false;
  google::protobuf::util::JsonParseOptions options;
  return google::protobuf::util::JsonStringToMessage(std::string(bytes), request,
                                                      options)
      .ok();
}

template <typename Answer>
void Expect(const absl::StatusOr<Answer>& answer) {
  if (answer.ok()) return;
  const absl::StatusCode code = answer.status().code();
  fuzz::Check(code == absl::StatusCode::kInvalidArgument ||
                  code == absl::StatusCode::kNotFound ||
                  code == absl::StatusCode::kFailedPrecondition ||
                  code == absl::StatusCode::kOutOfRange,
              "a refused request is the request's fault");
  fuzz::Check(!answer.status().message().empty(), "a refusal says why");
}

template <typename Request, typename Call>
void Run(bool json, absl::string_view bytes, Call call) {
  Request request;
  if (Decode(json, bytes, &request)) Expect(call(request));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const service::QueryService* queries =
      new service::QueryService(fuzz::DemoLedger().View());
  const service::QueryService& q = *queries;
  const bool json = (data[0] & 0x80) != 0;
  const absl::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] & 0x7f) {
    case 0:
      Run<v1::AsOfRequest>(json, bytes, [&](const auto& r) { return q.AsOf(r); });
      break;
    case 1:
      Run<v1::HistoryRequest>(json, bytes, [&](const auto& r) { return q.History(r); });
      break;
    case 2:
      Run<v1::DiffRequest>(json, bytes, [&](const auto& r) { return q.Diff(r); });
      break;
    case 3:
      Run<v1::ClaimCheckRequest>(json, bytes,
                                 [&](const auto& r) { return q.ClaimCheck(r); });
      break;
    case 4:
      Run<v1::StatsRequest>(json, bytes, [&](const auto& r) { return q.Stats(r); });
      break;
    case 5:
      Run<v1::ReportRequest>(json, bytes, [&](const auto& r) { return q.Report(r); });
      break;
    case 6:
      Run<v1::SearchRequest>(json, bytes, [&](const auto& r) { return q.Search(r); });
      break;
    default:
      break;
  }
  return 0;
}
