#include "tools/server/http_api.h"

#include <functional>
#include <optional>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "httplib.h"
#include "ledger/status_macros.h"
#include "provledger/v1/service.pb.h"
#include "tools/server/console.h"
#include "tools/server/grpc_service.h"
#include "tools/service/service.h"
#include "tools/service/strict_json.h"

namespace provledger::server {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr uint32_t kDefaultEventPage = 1000;
constexpr uint32_t kMaxEventPage = 10000;
// Bad lines an upload reports (the rest are counted).
constexpr size_t kMaxLineErrors = 100;

// Sets the scalar field `name` of `message` from the text `value`; false
// if `message` has no such field.
absl::StatusOr<bool> SetScalar(Message* message, const std::string& name,
                               const std::string& value) {
  const FieldDescriptor* field = message->GetDescriptor()->FindFieldByName(name);
  if (field == nullptr || field->is_repeated() ||
      field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    return false;
  }
  const auto* reflection = message->GetReflection();
  auto number = [&](auto* out) -> absl::Status {
    if (!absl::SimpleAtoi(value, out) || value.empty() ||
        !std::isdigit(static_cast<unsigned char>(value[0]))) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": '", value, "' is not a plain decimal number"));
    }
    return absl::OkStatus();
  };
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      reflection->SetString(message, field, value);
      return true;
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t n = 0;
      if (absl::Status s = number(&n); !s.ok()) return s;
      reflection->SetUInt64(message, field, n);
      return true;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t n = 0;
      if (absl::Status s = number(&n); !s.ok()) return s;
      reflection->SetUInt32(message, field, n);
      return true;
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      if (value != "true" && value != "false") {
        return absl::InvalidArgumentError(
            absl::StrCat(name, ": '", value, "' is not true or false"));
      }
      reflection->SetBool(message, field, value == "true");
      return true;
    default:
      return false;
  }
}

// The sub-message `name` of `message` (known, filter), or null.
Message* SubMessage(Message* message, const char* name) {
  const FieldDescriptor* field = message->GetDescriptor()->FindFieldByName(name);
  if (field == nullptr || field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
    return nullptr;
  }
  return message->GetReflection()->MutableMessage(message, field);
}

// Fills `request` from query parameters: a request field, else a field of
// its knowledge point, else of its filter.
absl::Status FromParams(const httplib::Params& params, Message* request) {
  for (const auto& [name, value] : params) {
    bool set = false;
    for (Message* target : {request, SubMessage(request, "known"),
                            SubMessage(request, "filter")}) {
      if (target == nullptr) continue;
      absl::StatusOr<bool> done = SetScalar(target, name, value);
      if (!done.ok()) return done.status();
      if (*done) {
        set = true;
        break;
      }
    }
    if (!set) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", name, "' is not a parameter of this call"));
    }
  }
  return absl::OkStatus();
}

// The parameters in the request's URL only: the body of an upload (a
// roster or claims file sent as a form, as curl --data-binary does) is not
// parameters.
httplib::Params UrlParams(const httplib::Request& req) {
  httplib::Params query;
  if (const size_t mark = req.target.find('?'); mark != std::string::npos) {
    httplib::detail::parse_query_text(req.target.substr(mark + 1), query);
  }
  return query;
}

// Parses a JSON body into `request` (protobuf's JSON mapping, unknown
// fields refused); knowledge-point fields may be given at the top level.
absl::Status FromBody(const std::string& body, Message* request) {
  if (absl::Status strict = CheckStrictJson(body, request->GetDescriptor());
      !strict.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("body: ", strict.message()));
  }
  google::protobuf::Struct object;
  auto parsed = google::protobuf::util::JsonStringToMessage(body, &object);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("body: not a JSON object: ", parsed.message().as_string()));
  }
  const auto* descriptor = request->GetDescriptor();
  if (descriptor->FindFieldByName("known") != nullptr) {
    auto* fields = object.mutable_fields();
    google::protobuf::Struct known;
    for (const char* name : {"known_at", "known_seq", "tz"}) {
      auto it = fields->find(name);
      if (it == fields->end()) continue;
      (*known.mutable_fields())[name] = it->second;
      fields->erase(it);
    }
    if (!known.fields().empty()) {
      if (fields->contains("known")) {
        return absl::InvalidArgumentError(
            "body: give known_at / known_seq either at the top level or in "
            "known, not both");
      }
      *(*fields)["known"].mutable_struct_value() = known;
    }
  }
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(object, &json);
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto filled = google::protobuf::util::JsonStringToMessage(json, request, options);
  if (!filled.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("body: ", filled.message().as_string()));
  }
  return absl::OkStatus();
}

void Reply(httplib::Response& res, const Message& message) {
  res.status = 200;
  res.set_content(service::ToJson(message) + "\n", "application/json");
}

void SendError(httplib::Response& res, absl::StatusCode code,
               const v1::HttpError& error) {
  res.status = HttpStatusOf(code);
  // The event error and line errors only when there are some.
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(error, &json, options);
  res.set_content(json + "\n", "application/json");
}

// `status` as an HttpError: its code, message and event error.
v1::HttpError HttpErrorOf(const absl::Status& status) {
  v1::HttpError error;
  error.set_code(absl::StatusCodeToString(status.code()));
  error.set_message(std::string(status.message()));
  if (auto event = EventErrorOf(status)) *error.mutable_event_error() = *event;
  return error;
}

void ReplyError(httplib::Response& res, const absl::Status& status) {
  SendError(res, status.code(), HttpErrorOf(status));
}

}  // namespace

int HttpStatusOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kFailedPrecondition:
      return 412;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

HttpApi::HttpApi(Ledger* ledger, Options options)
    : ledger_(ledger), options_(std::move(options)) {}

absl::StatusOr<Identity> HttpApi::Caller(const httplib::Request& request,
                                         Role needed, const char* call) const {
  std::optional<std::string> header;
  if (request.has_header("Authorization")) {
    header = request.get_header_value("Authorization");
  }
  std::optional<absl::string_view> value;
  if (header.has_value()) value = *header;
  return Authorize(options_.tokens, options_.local_identity, value, needed,
                   call, "header");
}

void HttpApi::Register(httplib::Server* server) {
  // A read: the caller authorized as a reader, work(caller, req, res) timed
  // as `method` (as over gRPC, refused calls too), an error replied as an
  // HttpError.
  auto read = [this](const char* method, auto work) {
    return [this, method, work](const httplib::Request& req,
                                httplib::Response& res) {
      const absl::Time start = absl::Now();
      auto caller = Caller(req, Role::kAuditor, method);
      const absl::Status status =
          caller.ok() ? work(*caller, req, res) : caller.status();
      if (options_.metrics != nullptr) {
        options_.metrics->OnQuery(method, absl::Now() - start);
      }
      if (!status.ok()) ReplyError(res, status);
    };
  };
  // A query: make_request(req) gives the request, call(queries, request)
  // the answer, from one view, as the caller may see it.
  auto query = [this, read](const char* method, auto make_request, auto call) {
    return read(method, [this, make_request, call](
                            const Identity& caller, const httplib::Request& req,
                            httplib::Response& res) -> absl::Status {
      ASSIGN_OR_RETURN(auto request, make_request(req));
      ASSIGN_OR_RETURN(
          auto answer,
          call(QueriesFor(*ledger_, options_.rules, caller), request));
      Reply(res, answer);
      return absl::OkStatus();
    });
  };
  // The request from the query parameters, with `path_field` (of the
  // request, or of its filter) set from the path's capture.
  auto params = [](auto prototype, const char* path_field) {
    return [prototype, path_field](const httplib::Request& req)
               -> absl::StatusOr<decltype(prototype)> {
      decltype(prototype) request = prototype;
      if (absl::Status s = FromParams(req.params, &request); !s.ok()) return s;
      if (path_field != nullptr && req.matches.size() > 1) {
        Message* target = &request;
        if (request.GetDescriptor()->FindFieldByName(path_field) == nullptr) {
          target = SubMessage(&request, "filter");
        }
        (void)SetScalar(target, path_field, req.matches[1].str());
      }
      return request;
    };
  };
  auto body = [](auto prototype) {
    return [prototype](const httplib::Request& req)
               -> absl::StatusOr<decltype(prototype)> {
      decltype(prototype) request = prototype;
      if (absl::Status s = FromBody(req.body, &request); !s.ok()) return s;
      return request;
    };
  };
  using QS = service::QueryService;
  server->Get("/v1/digest",
              query("Digest", params(v1::DigestRequest(), nullptr),
                    [](const QS& s, const v1::DigestRequest&) {
                      return s.Digest();
                    }));
  server->Get("/v1/stats",
              query("Stats", params(v1::StatsRequest(), nullptr),
                    [](const QS& s, const v1::StatsRequest& r) {
                      return s.Stats(r);
                    }));
  auto asof = [](const QS& s, const v1::AsOfRequest& r) { return s.AsOf(r); };
  server->Get("/v1/asof", query("AsOf", params(v1::AsOfRequest(), nullptr), asof));
  server->Get(R"(/v1/providers/(\d+)/asof)",
              query("AsOf", params(v1::AsOfRequest(), "provider"), asof));
  server->Get(R"(/v1/orgs/(\d+)/asof)",
              query("AsOf", params(v1::AsOfRequest(), "org"), asof));
  server->Get(R"(/v1/providers/(\d+)/history)",
              query("History", params(v1::HistoryRequest(), "npi"),
                    [](const QS& s, const v1::HistoryRequest& r) {
                      return s.History(r);
                    }));
  server->Get("/v1/search",
              query("Search", params(v1::SearchRequest(), nullptr),
                    [](const QS& s, const v1::SearchRequest& r) {
                      return s.Search(r);
                    }));
  server->Get("/v1/diff",
              query("Diff", params(v1::DiffRequest(), nullptr),
                    [](const QS& s, const v1::DiffRequest& r) {
                      return s.Diff(r);
                    }));
  server->Post("/v1/claims:check",
               query("ClaimCheck", body(v1::ClaimCheckRequest()),
                     [](const QS& s, const v1::ClaimCheckRequest& r) {
                       return s.ClaimCheck(r);
                     }));
  // A page of the log (from_seq, npi, body_type, limit: at most 10,000).
  server->Get("/v1/events", read("Read", [this](const Identity& caller,
                                                const httplib::Request& req,
                                                httplib::Response& res)
                                             -> absl::Status {
    httplib::Params params = req.params;
    uint32_t limit = kDefaultEventPage;
    if (auto it = params.find("limit"); it != params.end()) {
      if (!absl::SimpleAtoi(it->second, &limit) || limit == 0 ||
          limit > kMaxEventPage) {
        return absl::InvalidArgumentError(
            absl::StrCat("limit: '", it->second, "' is not a number from 1 to ",
                         kMaxEventPage));
      }
      params.erase(it);
    }
    v1::ReadRequest request;
    RETURN_IF_ERROR(FromParams(params, &request));
    v1::EventPage page;
    auto next = SendEvents(*ledger_->View(), caller, request.from_seq(),
                           request.npi(), request.body_type(),
                           [&](const v1::Event& e) {
                             if (page.events_size() >= static_cast<int>(limit)) {
                               return false;
                             }
                             *page.add_events() = e;
                             return true;
                           });
    if (next.ok()) {
      page.set_next_seq(*next);
    } else if (absl::IsCancelled(next.status())) {
      page.set_next_seq(page.events(page.events_size() - 1).seq() + 1);
    } else {
      return next.status();
    }
    Reply(res, page);
    return absl::OkStatus();
  }));
  // The HTML timeline report of a provider or an organization.
  auto report = [this, read](bool is_org) {
    return read("Report", [this, is_org](const Identity& caller,
                                         const httplib::Request& req,
                                         httplib::Response& res)
                              -> absl::Status {
      v1::ReportRequest request;
      RETURN_IF_ERROR(FromParams(req.params, &request));
      request.set_npi(req.matches[1].str());
      request.set_is_org(is_org);
      ASSIGN_OR_RETURN(
          v1::ReportResponse answer,
          QueriesFor(*ledger_, options_.rules, caller).Report(request));
      res.status = 200;
      res.set_content(answer.html(), "text/html; charset=utf-8");
      return absl::OkStatus();
    });
  };
  server->Get(R"(/v1/providers/(\d+)/report)", report(false));
  server->Get(R"(/v1/orgs/(\d+)/report)", report(true));
  // Is the log still the one a digest saw? (Any reader.)
  server->Post("/v1/digest:verify",
               read("VerifyDigest", [this](const Identity&,
                                           const httplib::Request& req,
                                           httplib::Response& res)
                                        -> absl::Status {
                 v1::VerifyRequest request;
                 RETURN_IF_ERROR(FromBody(req.body, &request));
                 request.set_chain_only(true);
                 ASSIGN_OR_RETURN(v1::VerifyResponse answer,
                                  service::Verify(*ledger_, request));
                 Reply(res, answer);
                 return absl::OkStatus();
               }));
  // A roster file as the body; the request's fields as the URL's
  // parameters only (a roster sent as a form body is not parameters).
  server->Post("/v1/rosters:reconcile",
               read("Reconcile", [this](const Identity&,
                                        const httplib::Request& req,
                                        httplib::Response& res)
                                     -> absl::Status {
                 httplib::Params query = UrlParams(req);
                 v1::ReconcileRequest request;
                 RETURN_IF_ERROR(FromParams(query, &request));
                 const service::QueryService queries(ledger_->View(),
                                                     options_.rules);
                 std::istringstream roster(req.body);
                 v1::ReconcileReport report;
                 ASSIGN_OR_RETURN(
                     *report.mutable_summary(),
                     queries.Reconcile(request, roster,
                                       [&](const v1::Discrepancy& d) {
                                         *report.add_discrepancies() = d;
                                       }));
                 Reply(res, report);
                 return absl::OkStatus();
               }));
  // A claims file as the body, the request's fields as the URL's
  // parameters; payer_map as "ID:payer,ID:payer".
  server->Post("/v1/claims:checkFile",
               read("CheckClaimsFile", [this](const Identity&,
                                              const httplib::Request& req,
                                              httplib::Response& res)
                                           -> absl::Status {
                 httplib::Params query = UrlParams(req);
                 v1::ClaimsFileRequest request;
                 for (auto it = query.find("payer_map"); it != query.end();
                      it = query.find("payer_map")) {
                   for (absl::string_view pair :
                        absl::StrSplit(it->second, ',', absl::SkipEmpty())) {
                     const size_t colon = pair.find(':');
                     if (colon == absl::string_view::npos) {
                       return absl::InvalidArgumentError(absl::StrCat(
                           "payer_map: '", pair,
                           "' is not PAYER_ID:payer (pairs separated by ',')"));
                     }
                     (*request.mutable_payer_map())[std::string(
                         pair.substr(0, colon))] =
                         std::string(pair.substr(colon + 1));
                   }
                   query.erase(it);
                 }
                 RETURN_IF_ERROR(FromParams(query, &request));
                 const service::QueryService queries(ledger_->View(),
                                                     options_.rules);
                 std::istringstream file(req.body);
                 v1::ClaimsFileReport report;
                 ASSIGN_OR_RETURN(
                     *report.mutable_summary(),
                     queries.CheckClaimsFile(request, file,
                                             [&](const v1::ClaimLineResult& l) {
                                               *report.add_lines() = l;
                                             }));
                 Reply(res, report);
                 return absl::OkStatus();
               }));
  // An append as `caller` (the actor is the caller's identity, as over
  // gRPC), counted in the metrics.
  auto append = [this](const absl::StatusOr<Identity>& caller,
                       absl::Status status, const v1::AppendRequest& request)
      -> absl::StatusOr<v1::AppendResponse> {
    if (status.ok()) status = RefuseOtherActors(request, caller->name);
    absl::StatusOr<v1::AppendResponse> answer =
        status.ok() ? service::Append(*ledger_, request, caller->name)
                    : absl::StatusOr<v1::AppendResponse>(status);
    if (options_.metrics != nullptr) {
      options_.metrics->OnAppend(answer.status().code(),
                                 answer.ok() ? answer->appended() : 0);
    }
    return answer;
  };
  server->Post("/v1/events:append", [this, append](const httplib::Request& req,
                                                   httplib::Response& res) {
    auto caller = Caller(req, Role::kWriter, "Append");
    absl::Status status = caller.status();
    v1::AppendRequest request;
    if (status.ok()) status = FromBody(req.body, &request);
    absl::StatusOr<v1::AppendResponse> answer = append(caller, status, request);
    if (!answer.ok()) return ReplyError(res, answer.status());
    Reply(res, *answer);
  });
  // A JSON lines file as one batch: every line read and checked first, each
  // bad one reported (at most 100) and nothing written; then appended.
  server->Post("/v1/events:import", [this, append](const httplib::Request& req,
                                                   httplib::Response& res) {
    auto caller = Caller(req, Role::kWriter, "Append");
    if (!caller.ok()) return ReplyError(res, caller.status());
    std::istringstream in(req.body);
    service::EventLines lines;
    std::vector<v1::LineError> errors;
    size_t more = 0;
    absl::Status status =
        service::CheckEventLines(in, kMaxLineErrors, &lines, &errors, &more);
    if (status.ok() && errors.empty() && lines.events.empty()) {
      status = absl::InvalidArgumentError("the file holds no events");
    }
    if (!errors.empty()) {
      const size_t bad = errors.size() + more;
      v1::HttpError error;
      error.set_code("INVALID_ARGUMENT");
      error.set_message(absl::StrCat(
          bad, bad == 1 ? " line is" : " lines are",
          " not a valid event; nothing was written",
          more > 0 ? absl::StrCat(" (the first ", errors.size(), " shown)")
                   : ""));
      for (v1::LineError& e : errors) *error.add_line_errors() = std::move(e);
      if (options_.metrics != nullptr) {
        options_.metrics->OnAppend(absl::StatusCode::kInvalidArgument, 0);
      }
      return SendError(res, absl::StatusCode::kInvalidArgument, error);
    }
    v1::AppendRequest request;
    for (v1::Event& e : lines.events) *request.add_events() = std::move(e);
    absl::StatusOr<v1::AppendResponse> answer = append(caller, status, request);
    if (!answer.ok()) {
      // A refusal about one event (another actor, or one that needs the
      // ledger's state): named by its line.
      const absl::Status at = service::AtLine(answer.status(), lines);
      v1::HttpError error = HttpErrorOf(at);
      if (error.has_event_error() && error.event_error().has_index() &&
          error.event_error().index() < lines.lines.size()) {
        v1::LineError* e = error.add_line_errors();
        e->set_line(
            static_cast<uint32_t>(lines.lines[error.event_error().index()]));
        e->set_message(std::string(at.message()));
        *e->mutable_event_error() = error.event_error();
        e->mutable_event_error()->clear_index();
      }
      return SendError(res, at.code(), error);
    }
    Reply(res, *answer);
  });
  // Who the caller is, for the console. Asked without a token of a server
  // with tokens, the answer is that one is needed (no identity), not 401:
  // the console asks so before anyone has signed in.
  auto whoami = read("WhoAmI", [this](const Identity& caller,
                                      const httplib::Request&,
                                      httplib::Response& res) {
    v1::Caller answer;
    answer.set_identity(caller.name);
    answer.set_role(RoleName(caller.role));
    answer.set_tokens(options_.tokens != nullptr);
    Reply(res, answer);
    return absl::OkStatus();
  });
  server->Get("/v1/whoami", [this, whoami](const httplib::Request& req,
                                           httplib::Response& res) {
    if (options_.tokens != nullptr && !req.has_header("Authorization")) {
      v1::Caller answer;
      answer.set_tokens(true);
      return Reply(res, answer);
    }
    whoami(req, res);
  });
  // The console: its files, embedded in the binary.
  for (const ConsoleFile& f : ConsoleFiles()) {
    const std::string path = f.path == "index.html" ? "/" : "/" + f.path;
    const std::string type = f.content_type;
    const std::string_view body = f.body;
    server->Get(path, [type, body](const httplib::Request&,
                                   httplib::Response& res) {
      res.set_content(body.data(), body.size(), type);
      // Nothing from elsewhere: no scripts, styles, images or frames but
      // the console's own (the report is shown in a sandboxed srcdoc
      // frame).
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; img-src 'self' data:; "
                     "style-src 'self' 'unsafe-inline'; frame-src 'self'; "
                     "object-src 'none'; base-uri 'none'; "
                     "form-action 'none'; frame-ancestors 'none'");
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Cache-Control", "no-cache");
    });
  }
  // Anything else under /v1/.
  server->set_error_handler([](const httplib::Request& req,
                               httplib::Response& res) {
    if (res.status == 404 && res.body.empty()) {
      ReplyError(res, absl::NotFoundError(absl::StrCat(
                          "no call ", req.method, " ", req.path)));
    }
  });
}

}  // namespace provledger::server
