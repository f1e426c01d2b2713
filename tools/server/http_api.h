// provledgerd's HTTP/JSON API (--http): the gRPC API's calls as JSON over
// HTTP, built from the same request and response messages (protobuf's JSON
// mapping, proto field names), with the same bearer tokens and roles.
//
//   GET  /v1/digest                         DigestResponse
//   GET  /v1/stats?date=                    StatsResponse
//   GET  /v1/asof?date=&provider=&org=&payer=&known_at=&known_seq=&tz=
//   GET  /v1/providers/{npi}/asof?date=...  AsOf for one provider
//   GET  /v1/orgs/{npi}/asof?date=...       AsOf for one organization
//   GET  /v1/providers/{npi}/history?payer=&actor=&source=&known_...
//   GET  /v1/diff?from=&to=&provider=&org=&payer=&known_...
//   POST /v1/claims:check   ClaimCheckRequest (known_at / known_seq / tz
//                           also accepted at the top level)
//   GET  /v1/events?from_seq=&npi=&body_type=&limit=   EventPage
//   GET  /v1/providers/{npi}/report?payer=&known_... the HTML report
//   GET  /v1/orgs/{npi}/report?...          the same for an organization
//   POST /v1/digest:verify  {"digest": ...}: VerifyResponse (chain only)
//   POST /v1/rosters:reconcile?roster_format=&as_of=&org=&payer=&...
//                           the roster file as the body: ReconcileReport
//   POST /v1/claims:checkFile?claims_format=&payer_map=ID:payer,...&known_...
//                           a claims file as the body: ClaimsFileReport
//   POST /v1/events:append  AppendRequest (the writer role)
//
// A query parameter is a request field ("date"), a knowledge-point field
// ("known_seq") or a filter field ("payer"); any other is refused. Errors:
// the gRPC code mapped to an HTTP status (400, 401, 403, 404, 409, 412,
// 503, else 500) and an HttpError body naming the field, and for an append
// the failing event.
#ifndef PROVLEDGER_TOOLS_SERVER_HTTP_API_H_
#define PROVLEDGER_TOOLS_SERVER_HTTP_API_H_

#include <string>

#include "absl/status/status.h"
#include "ledger/ledger.h"
#include "tools/server/grpc_service.h"
#include "tools/server/tokens.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace provledger::server {

// The HTTP status for an error of `code`.
int HttpStatusOf(absl::StatusCode code);

class HttpApi {
 public:
  // The gRPC service's: the same callers, rules and metrics.
  using Options = LedgerService::Options;
  // `ledger` must outlive the API.
  HttpApi(Ledger* ledger, Options options);

  // Adds the routes to `server`.
  void Register(httplib::Server* server);

 private:
  absl::StatusOr<Identity> Caller(const httplib::Request& request,
                                  Role needed, const char* call) const;

  Ledger* const ledger_;
  const Options options_;
};

}  // namespace provledger::server

#endif  // PROVLEDGER_TOOLS_SERVER_HTTP_API_H_
