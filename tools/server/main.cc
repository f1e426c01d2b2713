// provledgerd: one process owns a ledger and serves it over gRPC.
#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "httplib.h"
#include "ledger/ledger.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"
#include "tools/server/grpc_service.h"
#include "tools/server/http_api.h"
#include "tools/server/metrics.h"
#include "tools/server/scrub.h"
#include "tools/server/tokens.h"

namespace provledger::server {
namespace {

// The health service's name for the background scrub's result.
constexpr char kScrubHealth[] = "provledger.scrub";

struct Flags {
  std::string db;
  std::string listen = "127.0.0.1:7447";
  std::string tokens;
  std::string tls_cert, tls_key;
  std::string payer_rules;
  std::string metrics;  // "" none
  std::string http;     // "" none
  size_t timeline_cache_mb = 256;
  std::string scrub_every = "24h";
};

// The host of `address` ("host:port", "[::1]:port"), as written.
std::string HostOf(const std::string& address) {
  return address.substr(0, address.rfind(':'));
}

// The host of `address` without IPv6 brackets, as sockets take it.
std::string BareHostOf(const std::string& address) {
  absl::string_view host = address;
  host = host.substr(0, host.rfind(':'));
  if (absl::ConsumePrefix(&host, "[")) absl::ConsumeSuffix(&host, "]");
  return std::string(host);
}

// Whether `address` ("host:port") names a loopback interface.
bool IsLoopback(const std::string& address) {
  const std::string host = BareHostOf(address);
  return host == "localhost" || host == "::1" ||
         absl::StartsWith(host, "127.");
}

std::string ReadFile(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  *ok = static_cast<bool>(in);
  return s.str();
}

int Fail(const std::string& message) {
  std::cerr << "provledgerd: " << message << "\n";
  return 2;
}

int Serve(const Flags& f) {
  const bool tls = !f.tls_cert.empty() || !f.tls_key.empty();
  if (tls && (f.tls_cert.empty() || f.tls_key.empty())) {
    return Fail("give both --tls-cert and --tls-key");
  }
  // Off loopback only with tokens and TLS, for every address served.
  struct Served {
    const char* what;
    const std::string& address;
    const char* why;
  };
  for (const Served& served :
       {Served{"listen on", f.listen,
               "anyone on the network could read and write the ledger"},
        Served{"serve metrics on", f.metrics,
               "scrape them on loopback or through a proxy"},
        Served{"serve HTTP on", f.http,
               "or run it on loopback behind a TLS proxy"}}) {
    if (!served.address.empty() && !IsLoopback(served.address) &&
        (f.tokens.empty() || !tls)) {
      return Fail(absl::StrCat(
          "refusing to ", served.what, " ", served.address,
          ", which is not a loopback address, without both --tokens and "
          "--tls-cert/--tls-key (",
          served.why, ")"));
    }
  }
  absl::Duration scrub_every;
  if (!absl::ParseDuration(f.scrub_every, &scrub_every) ||
      scrub_every < absl::ZeroDuration()) {
    return Fail(absl::StrCat("--scrub-every: '", f.scrub_every,
                             "' is not a duration (30m, 6h, 24h; 0 never)"));
  }
  std::optional<Tokens> tokens;
  if (!f.tokens.empty()) {
    auto loaded = Tokens::Load(f.tokens);
    if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
    tokens = std::move(*loaded);
  }
  LedgerService::Options options;
  if (tokens.has_value()) options.tokens = &*tokens;
  if (const char* user = std::getenv("USER"); user != nullptr && *user) {
    options.local_identity = user;
  }
  if (!f.payer_rules.empty()) {
    auto rules = PayerRules::Load(f.payer_rules);
    if (!rules.ok()) return Fail(std::string(rules.status().message()));
    options.rules = *rules;
  }

  // SIGTERM and SIGINT are taken by a thread of their own (sigwait), so
  // block them before any other thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Metrics metrics;
  LedgerOptions ledger_options;
  ledger_options.timeline_cache_mb = f.timeline_cache_mb;
  ledger_options.on_commit = [&metrics](const CommitStats& stats) {
    metrics.OnCommit(stats);
  };
  auto ledger = Ledger::Open(ledger_options, f.db);
  if (!ledger.ok()) {
    std::string message(ledger.status().message());
    if (ledger.status().GetPayload(kNoLedgerPayload).has_value()) {
      absl::StrAppend(&message, " (create one with: provledger --db ", f.db,
                      " init)");
    }
    return Fail(message);
  }
  // Point-in-time answers read only timelines: read them into their cache
  // once, before the first caller waits on a cold file.
  if (f.timeline_cache_mb > 0) {
    const absl::Time start = absl::Now();
    auto warmed = (*ledger)->WarmTimelines();
    if (warmed.ok()) {
      std::cerr << absl::StrFormat(
          "provledgerd: read %.1f MiB of timelines into the cache in %.2f s\n",
          static_cast<double>(*warmed) / (1 << 20),
          absl::ToDoubleSeconds(absl::Now() - start));
    }
  }
  metrics.SetHead((*ledger)->head().seq);
  options.metrics = &metrics;
  std::unique_ptr<prometheus::Exposer> exposer;
  if (!f.metrics.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(f.metrics, 1);
    } catch (const std::exception& e) {
      return Fail(absl::StrCat("cannot serve metrics on ", f.metrics, ": ",
                               e.what()));
    }
    exposer->RegisterCollectable(metrics.registry());
    const std::vector<int> ports = exposer->GetListeningPorts();
    std::cout << "metrics on " << HostOf(f.metrics) << ":"
              << (ports.empty() ? 0 : ports[0]) << "/metrics" << std::endl;
  }
  LedgerService service(ledger->get(), options);

  // The HTTP/JSON API, over TLS when the gRPC side has it.
  std::unique_ptr<HttpApi> http_api;
  std::unique_ptr<httplib::Server> http;
  std::thread http_thread;
  if (!f.http.empty()) {
    http = tls ? std::make_unique<httplib::SSLServer>(f.tls_cert.c_str(),
                                                      f.tls_key.c_str())
               : std::make_unique<httplib::Server>();
    http_api = std::make_unique<HttpApi>(ledger->get(), options);
    http_api->Register(http.get());
    const size_t colon = f.http.rfind(':');
    int port = 0;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(f.http.substr(colon + 1), &port)) {
      return Fail(absl::StrCat("--http: '", f.http, "' is not host:port"));
    }
    const std::string bind_host = BareHostOf(f.http);
    const int bound =
        port == 0 ? http->bind_to_any_port(bind_host.c_str())
                  : (http->bind_to_port(bind_host.c_str(), port) ? port : -1);
    if (!http->is_valid() || bound <= 0) {
      return Fail(absl::StrCat("cannot serve HTTP on ", f.http,
                               " (in use, or not an address of this host)"));
    }
    std::cout << "http on " << HostOf(f.http) << ":" << bound << std::endl;
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (tls) {
    bool cert_ok = false, key_ok = false;
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back(
        {ReadFile(f.tls_key, &key_ok), ReadFile(f.tls_cert, &cert_ok)});
    if (!cert_ok || !key_ok) {
      return Fail(absl::StrCat("cannot read '",
                               cert_ok ? f.tls_key : f.tls_cert, "'"));
    }
    credentials = grpc::SslServerCredentials(ssl);
  } else {
    credentials = grpc::InsecureServerCredentials();
  }
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(f.listen, credentials, &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return Fail(absl::StrCat("cannot listen on ", f.listen,
                             " (in use, or not an address of this host)"));
  }
  // Only now that nothing can fail any more: a return would end the
  // process with a running thread.
  if (http) http_thread = std::thread([&] { http->listen_after_bind(); });
  std::cerr << "provledgerd: serving " << f.db << " (head seq "
            << (*ledger)->head().seq << ")"
            << (tls ? " over TLS" : "")
            << (tokens.has_value()
                    ? absl::StrCat(", ", tokens->size(), " token(s)")
                    : absl::StrCat("; no --tokens: loopback only, every "
                                   "caller is '",
                                   options.local_identity,
                                   "' with the admin role"))
            << "\n";
  // The address with the port bound (for --listen HOST:0), on stdout.
  std::cout << "listening on " << HostOf(f.listen) << ":" << port << std::endl;

  // The background scrub, reported on the health service as
  // "provledger.scrub" and in the metrics.
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(kScrubHealth, true);
  auto scrubber = std::make_unique<Scrubber>(ledger->get(), [&](const ScrubResult& r) {
    metrics.OnScrub(r.runs, r.failures, r.ok, r.finished, r.took);
    health->SetServingStatus(kScrubHealth, r.ok);
    if (!r.ok) {
      std::cerr << "provledgerd: the background scrub found damage: "
                << r.problem << "\n";
    }
  });
  if (scrub_every > absl::ZeroDuration()) scrubber->Start(scrub_every);

  std::thread stopper([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::cerr << "provledgerd: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
              << ": finishing the calls in flight\n";
    // The writes in flight finish first; what is left only reads, and is
    // cancelled at once.
    service.Stop();
    if (http) http->stop();
    server->Shutdown(std::chrono::system_clock::now());
  });
  server->Wait();
  stopper.join();
  scrubber.reset();  // a scrub in progress is cancelled
  if (http_thread.joinable()) http_thread.join();
  absl::Status synced = (*ledger)->Sync();
  ledger->reset();
  if (!synced.ok()) {
    std::cerr << "provledgerd: " << synced.message() << "\n";
    return 1;
  }
  std::cerr << "provledgerd: stopped\n";
  return 0;
}

int HashToken(const std::string& identity, const std::string& role) {
  if (role != "auditor" && role != "writer" && role != "admin") {
    return Fail(absl::StrCat("role '", role,
                             "' is not auditor, writer or admin"));
  }
  std::string token;
  std::getline(std::cin, token);
  token = std::string(absl::StripAsciiWhitespace(token));
  if (token.size() < 16) {
    return Fail("give a token of at least 16 characters on standard input");
  }
  std::cout << TokenHash(token) << " " << identity << " " << role << "\n";
  return 0;
}

}  // namespace
}  // namespace provledger::server

int main(int argc, char** argv) {
  provledger::server::StopLockOrderTracking();
  using provledger::server::Flags;
  CLI::App app{
      "provledgerd: serves one provledger ledger over gRPC "
      "(proto/provledger/v1/service.proto) to many clients at once"};
  Flags f;
  app.add_option("--db", f.db, "ledger directory (this process owns it)");
  app.add_option("--listen", f.listen,
                 "address to listen on, host:port (port 0: any free port); "
                 "a non-loopback address needs --tokens and TLS")
      ->capture_default_str();
  app.add_option("--tokens", f.tokens,
                 "tokens file: '<sha256 hex> <identity> <role>' per line "
                 "(role auditor, writer or admin); mode 600");
  app.add_option("--tls-cert", f.tls_cert, "PEM certificate chain");
  app.add_option("--tls-key", f.tls_key, "PEM private key");
  app.add_option("--http", f.http,
                 "also serve the HTTP/JSON API at HOST:PORT (port 0: any free "
                 "port; loopback unless --tokens and TLS are set)");
  app.add_option("--metrics", f.metrics,
                 "serve Prometheus metrics at http://HOST:PORT/metrics "
                 "(loopback unless --tokens and TLS are set)");
  app.add_option("--timeline-cache-mb", f.timeline_cache_mb,
                 "memory for the timelines point-in-time answers read, MiB "
                 "(read in at start; 0: none)")
      ->capture_default_str();
  app.add_option("--scrub-every", f.scrub_every,
                 "verify the whole ledger in the background this often (hash "
                 "chain, indexes, projections; 30m, 6h, ...; 0 never); the "
                 "result is the health service's \"provledger.scrub\" status "
                 "and the provledger_scrub_* metrics")
      ->capture_default_str();
  app.add_option("--payer-rules", f.payer_rules,
                 "CSV of payer,min_group_providers");
  std::string identity, role;
  auto* hash = app.add_subcommand(
      "hash-token",
      "Read a token on standard input and print its tokens-file line");
  hash->add_option("identity", identity, "who the token is")->required();
  hash->add_option("role", role, "auditor, writer or admin")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (hash->parsed()) return provledger::server::HashToken(identity, role);
  if (f.db.empty()) {
    std::cerr << "provledgerd: --db DIR is required\n";
    return 2;
  }
  return provledger::server::Serve(f);
}
