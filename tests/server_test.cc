// provledgerd as clients see it: a real server process on 127.0.0.1, talked
// to over gRPC.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <thread>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "httplib.h"
#include "ledger/internal/keys.h"
#include "ledger/internal/raw_access.h"
#include "ledger/testing.h"
#include "rocksdb/db.h"
#include "provledger/v1/service.grpc.pb.h"
#include "tools/server/process.h"
#include "tools/server/tokens.h"
#include "tools/service/service.h"

namespace provledger {
namespace {

using provledger::testing::TempDir;
using namespace provledger::testing;  // kDrA, event builders

// A provledgerd process (stopped when destroyed), with a stub for it.
class Server : public server::ServerProcess {
 public:
  Server(std::vector<std::string> args, const std::string& err_path,
         const std::string& listen = "127.0.0.1:0")
      : ServerProcess(PROVLEDGERD_PATH, std::move(args), err_path, listen) {}

  std::unique_ptr<v1::Ledger::Stub> Stub() const {
    return v1::Ledger::NewStub(
        grpc::CreateChannel(address(), grpc::InsecureChannelCredentials()));
  }
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs `provledger <args>`; stdout, stderr and the exit code.
struct CliRun {
  int exit_code;
  std::string out, err;
  bool operator==(const CliRun& o) const {
    return exit_code == o.exit_code && out == o.out && err == o.err;
  }
};

CliRun RunCli(const TempDir& dir, const std::string& args) {
  const std::string out = dir.Sub("cli.out"), err = dir.Sub("cli.err");
  const std::string cmd = absl::StrCat(PROVLEDGER_PATH, " ", args, " >", out,
                                       " 2>", err, " </dev/null");
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadAll(out),
          ReadAll(err)};
}

// A free loopback port below /proc/sys/net/ipv4/ip_local_port_range, so
// no outgoing connection (another test's, or a client reconnecting to
// this port, which can connect to itself) is ever given it while a
// server restarted on it is down. 0 if none of 200 tries was free.
int PortOutsideTheEphemeralRange(std::mt19937& random) {
  int low = 32768;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low;
  if (low <= 10000) return 0;
  for (int i = 0; i < 200; ++i) {
    const int port = 10000 + static_cast<int>(random() % (low - 10000));
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool free =
        bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    if (free) return port;
  }
  return 0;
}

// The HTTP header that carries `token`.
httplib::Headers BearerHeaders(const char* token) {
  return httplib::Headers{{"Authorization", std::string("Bearer ") + token}};
}

// `e` as a client sends it: no actor (the server records the caller's).
v1::Event Sent(v1::Event e) {
  e.clear_actor();
  return e;
}

// A context with a 20 s deadline and, if given, the bearer token.
std::unique_ptr<grpc::ClientContext> Context(const std::string& token = "") {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  if (!token.empty()) c->AddMetadata("authorization", "Bearer " + token);
  return c;
}

// The standard health service's answer for `service`, as its raw bytes
// (a generic client's call: "\x08\x01" SERVING, "\x08\x02" NOT_SERVING).
std::string HealthOf(const std::string& address, const std::string& service) {
  grpc::GenericStub stub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  std::string request = "\x0a";
  request.push_back(static_cast<char>(service.size()));
  request += service;
  grpc::Slice slice(request);
  grpc::ByteBuffer in(&slice, 1), out;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(20));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check",
                                    in, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&out, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  if (!cq.Next(&tag, &ok) || !ok || !status.ok()) return "error";
  std::vector<grpc::Slice> slices;
  if (!out.Dump(&slices).ok()) return "error";
  std::string bytes;
  for (const auto& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return bytes;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.Sub("db");
    LedgerOptions options;
    options.create_if_missing = true;
    auto ledger = Ledger::Open(options, db_);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    std::ifstream demo(PROVLEDGER_DEMO_EVENTS);
    service::ImportSummary summary;
    size_t failed = 0;
    ASSERT_TRUE(service::Import(**ledger, demo, service::ImportOptions(),
                                nullptr, &summary, &failed)
                    .ok());
    ASSERT_EQ(summary.written, 26u);
  }

  // A private tokens file: "clerk" writer, "auditor1" auditor, "root" admin.
  std::string WriteTokens(mode_t mode = 0600) {
    const std::string path = dir_.Sub("tokens");
    std::ofstream(path)
        << "# provledgerd tokens\n"
        << server::TokenHash(kWriter) << " clerk writer\n"
        << server::TokenHash(kAuditor) << " auditor1 auditor\n"
        << server::TokenHash(kAdmin) << " root admin\n";
    chmod(path.c_str(), mode);
    return path;
  }

  // A server with the tokens of WriteTokens and an HTTP address; null
  // (the failure recorded) if it did not start.
  std::unique_ptr<Server> StartWithHttp() {
    auto server = std::make_unique<Server>(
        std::vector<std::string>{"--db", db_, "--tokens", WriteTokens(),
                                 "--http", "127.0.0.1:0"},
        dir_.Sub("server.err"));
    if (server->http_address().empty()) {
      ADD_FAILURE() << ReadAll(dir_.Sub("server.err"));
      return nullptr;
    }
    return server;
  }

  static constexpr char kWriter[] = "writer-token-0123456789";
  static constexpr char kAuditor[] = "auditor-token-0123456789";
  static constexpr char kAdmin[] = "admin-token-0123456789";
  TempDir dir_;
  std::string db_;
};

TEST_F(ServerTest, TheBackgroundScrubReportsDamageOnHealthAndMetrics) {
  {
    auto ledger = Ledger::Open(LedgerOptions(), db_);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ASSERT_TRUE(LedgerInternals::Db(**ledger)
                    ->Put(rocksdb::WriteOptions(),
                          LedgerInternals::TimelinesCf(**ledger),
                          PairKey(Relation::kReassignment, "1526374859",
                                  "1245319599", "medicare"),
                          "")
                    .ok());
  }
  Server server({"--db", db_, "--scrub-every", "50ms", "--metrics",
                 "127.0.0.1:0"},
                dir_.Sub("server.err"));
  ASSERT_NE(server.address(), "") << ReadAll(dir_.Sub("server.err"));
  // Serving overall; the scrub's status turns NOT_SERVING once its first
  // run (50 ms in) finds the altered timeline. Bounded: 20 s.
  EXPECT_EQ(HealthOf(server.address(), ""), "\x08\x01");
  std::string scrub;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((scrub = HealthOf(server.address(), "provledger.scrub")) == "\x08\x01" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(scrub, "\x08\x02");
  httplib::Client metrics(
      "http://" + server.metrics_address().substr(
                      0, server.metrics_address().rfind('/')));
  auto page = metrics.Get("/metrics");
  ASSERT_TRUE(page) << server.metrics_address();
  EXPECT_TRUE(absl::StrContains(page->body, "\nprovledger_scrub_ok 0\n"))
      << page->body;
  EXPECT_FALSE(absl::StrContains(page->body, "\nprovledger_scrub_failures_total 0\n"));
  // stderr says what was found.
  EXPECT_EQ(server.Stop(), 0);
  EXPECT_TRUE(absl::StrContains(
      ReadAll(dir_.Sub("server.err")),
      "provledgerd: the background scrub found damage: the reassignment "
      "timeline of 1526374859 to 1245319599 at medicare differs from a "
      "replay of the log\n"));
}

TEST_F(ServerTest, ABadScrubPaceIsRefused) {
  Server server({"--db", db_, "--scrub-every", "often"}, dir_.Sub("server.err"));
  EXPECT_EQ(server.address(), "");
  EXPECT_EQ(server.Wait(std::chrono::seconds(20)), 2);
  EXPECT_TRUE(absl::StrContains(
      ReadAll(dir_.Sub("server.err")),
      "--scrub-every: 'often' is not a duration (30m, 6h, 24h; 0 never)"));
}

TEST_F(ServerTest, EveryAnswerEqualsTheLocalAnswerByteForByte) {
  Server server({"--db", db_}, dir_.Sub("server.err"));
  ASSERT_NE(server.address(), "") << ReadAll(dir_.Sub("server.err"));
  auto stub = server.Stub();
  // The same ledger opened beside the server, read-only.
  LedgerOptions read_only;
  read_only.read_only = true;
  auto local = Ledger::Open(read_only, db_);
  ASSERT_TRUE(local.ok()) << local.status();
  const service::QueryService here((*local)->View());

  v1::AsOfRequest asof;
  asof.set_date("2024-03-10");
  v1::AsOfRequest earlier = asof;
  earlier.mutable_known()->set_known_seq(24);
  earlier.mutable_filter()->set_org(kGroupX);
  for (const v1::AsOfRequest& r : {asof, earlier}) {
    v1::AsOfResponse remote;
    ASSERT_TRUE(stub->AsOf(Context().get(), r, &remote).ok());
    EXPECT_EQ(remote.SerializeAsString(), here.AsOf(r)->SerializeAsString());
    EXPECT_GT(remote.reassignments_size(), 0);
  }
  v1::ClaimCheckRequest claim;
  claim.set_rendering_npi(kDrB);
  claim.set_billing_npi(kGroupX);
  claim.set_payer("medicare");
  claim.set_date_of_service("2024-03-10");
  for (uint64_t known : {0, 24}) {
    if (known != 0) claim.mutable_known()->set_known_seq(known);
    v1::ClaimCheckResponse remote;
    ASSERT_TRUE(stub->ClaimCheck(Context().get(), claim, &remote).ok());
    EXPECT_EQ(remote.SerializeAsString(),
              here.ClaimCheck(claim)->SerializeAsString());
    EXPECT_EQ(remote.payable(), known == 24);
  }
  v1::HistoryRequest history;
  history.set_npi(kDrB);
  history.mutable_known()->set_known_at("2999-01-01");
  v1::HistoryResponse remote_history;
  ASSERT_TRUE(stub->History(Context().get(), history, &remote_history).ok());
  EXPECT_EQ(remote_history.SerializeAsString(),
            here.History(history)->SerializeAsString());
  v1::DiffRequest diff;
  diff.set_from("2024-01-01");
  diff.set_to("2024-12-31");
  v1::DiffResponse remote_diff;
  ASSERT_TRUE(stub->Diff(Context().get(), diff, &remote_diff).ok());
  EXPECT_EQ(remote_diff.SerializeAsString(),
            here.Diff(diff)->SerializeAsString());
  v1::StatsRequest stats;
  stats.set_date("2024-03-10");
  v1::StatsResponse remote_stats;
  ASSERT_TRUE(stub->Stats(Context().get(), stats, &remote_stats).ok());
  EXPECT_EQ(remote_stats.SerializeAsString(),
            here.Stats(stats)->SerializeAsString());
  v1::DigestResponse remote_digest;
  ASSERT_TRUE(
      stub->Digest(Context().get(), v1::DigestRequest(), &remote_digest).ok());
  EXPECT_EQ(remote_digest.digest(), service::DigestOf((*local)->head()));
  v1::ReportRequest report;
  report.set_npi(kDrB);
  v1::ReportResponse remote_report;
  ASSERT_TRUE(stub->Report(Context().get(), report, &remote_report).ok());
  EXPECT_EQ(remote_report.html(), here.Report(report)->html());

  // A bad request is the same error, with the same code.
  v1::AsOfRequest bad;
  bad.set_date("2024-02-30");
  v1::AsOfResponse ignored;
  grpc::Status s = stub->AsOf(Context().get(), bad, &ignored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "date: '2024-02-30' is not a real calendar day");

  // Read streams the log as export does.
  v1::ReadRequest read;
  read.set_from_seq(20);
  auto read_context = Context();
  auto events = stub->Read(read_context.get(), read);
  std::vector<uint64_t> seqs;
  v1::Event e;
  while (events->Read(&e)) {
    EXPECT_EQ(e.SerializeAsString(), (*local)->View()->Get(e.seq())->SerializeAsString());
    seqs.push_back(e.seq());
  }
  EXPECT_TRUE(events->Finish().ok());
  EXPECT_EQ(seqs, std::vector<uint64_t>({20, 21, 22, 23, 24, 25, 26}));
  EXPECT_EQ(server.Stop(), 0);
}

TEST_F(ServerTest, TokensAndRolesDecideWhoMayDoWhat) {
  Server server({"--db", db_, "--tokens", WriteTokens()},
                dir_.Sub("server.err"));
  ASSERT_NE(server.address(), "") << ReadAll(dir_.Sub("server.err"));
  auto stub = server.Stub();
  v1::DigestResponse digest;
  grpc::Status none = stub->Digest(Context().get(), {}, &digest);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(none.error_message(),
            "no token: send the metadata 'authorization: Bearer <token>'");
  EXPECT_EQ(stub->Digest(Context("not-a-token").get(), {}, &digest).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(stub->Digest(Context(kAuditor).get(), {}, &digest).ok());

  v1::AppendRequest append;
  *append.add_events() = Sent(Credentialed("srv-1", "2024-05-01", kDrA));
  append.mutable_events(0)->clear_actor();
  v1::AppendResponse appended;
  grpc::Status denied = stub->Append(Context(kAuditor).get(), append, &appended);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(denied.error_message(),
            "Append needs the writer role; auditor1 is an auditor");
  ASSERT_TRUE(stub->Append(Context(kWriter).get(), append, &appended).ok());
  EXPECT_EQ(appended.seqs(0), 27u);
  // Recorded under the token's identity.
  v1::ReadRequest read;
  read.set_from_seq(27);
  auto read_context = Context(kAuditor);
  auto events = stub->Read(read_context.get(), read);
  v1::Event e;
  ASSERT_TRUE(events->Read(&e));
  EXPECT_EQ(e.actor(), "clerk");
  EXPECT_TRUE(events->Finish().ok());
  events.reset();
  // Nobody records events in someone else's name.
  *append.mutable_events(0) = Sent(Credentialed("srv-2", "2024-05-01", kDrA));
  append.mutable_events(0)->set_actor("mallory");
  grpc::Status impostor = stub->Append(Context(kWriter).get(), append, &appended);
  EXPECT_EQ(impostor.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(impostor.error_message(),
                               "actor: 'mallory' is not the caller"))
      << impostor.error_message();

  // An individual's TIN is often an SSN: auditors see its last four
  // digits only, in events and in the sentences describing them.
  v1::AppendRequest with_tin;
  v1::Event individual = Sent(EnrolledIndividual("tin-1", "2024-05-01", kDrA, "aetna"));
  individual.mutable_enrolled()->set_tin("123456789");
  *with_tin.add_events() = individual;
  v1::Event demographics = Sent(Base("tin-2", "2024-05-02"));
  demographics.mutable_demographics_changed()->set_npi(kDrA);
  demographics.mutable_demographics_changed()->set_tin("123456789");
  *with_tin.add_events() = demographics;
  grpc::Status tin_append = stub->Append(Context(kWriter).get(), with_tin, &appended);
  ASSERT_TRUE(tin_append.ok()) << tin_append.error_message();
  for (const char* token : {kAuditor, kWriter}) {
    const bool masked = token == std::string(kAuditor);
    v1::ReadRequest tins;
    tins.set_from_seq(appended.seqs(0));
    auto tins_context = Context(token);
    auto stream = stub->Read(tins_context.get(), tins);
    std::vector<std::string> seen;
    while (stream->Read(&e)) {
      seen.push_back(e.has_enrolled() ? e.enrolled().tin()
                                      : e.demographics_changed().tin());
    }
    EXPECT_TRUE(stream->Finish().ok());
    const std::string tin = masked ? "*****6789" : "123456789";
    EXPECT_EQ(seen, std::vector<std::string>({tin, tin})) << token;
    // History masks for everyone unless show_tins, which only a writer or
    // admin may set.
    v1::HistoryRequest history;
    history.set_npi(kDrA);
    v1::HistoryResponse answer;
    ASSERT_TRUE(stub->History(Context(token).get(), history, &answer).ok());
    EXPECT_EQ(answer.entries(answer.entries_size() - 1).detail(),
              absl::StrCat(kDrA, " TIN *****6789"))
        << token;
    history.set_show_tins(true);
    answer.Clear();
    grpc::Status full = stub->History(Context(token).get(), history, &answer);
    if (masked) {
      EXPECT_EQ(full.error_code(), grpc::StatusCode::PERMISSION_DENIED);
      EXPECT_EQ(full.error_message(),
                "show_tins: an auditor sees an individual's TIN as its last "
                "four digits; a writer or admin may ask for it in full");
    } else {
      ASSERT_TRUE(full.ok()) << full.error_message();
      EXPECT_EQ(answer.entries(answer.entries_size() - 1).detail(),
                absl::StrCat(kDrA, " TIN 123456789"));
    }
    v1::ReportRequest report;
    report.set_npi(kDrA);
    report.set_show_tins(true);
    v1::ReportResponse html;
    EXPECT_EQ(stub->Report(Context(token).get(), report, &html).error_code(),
              masked ? grpc::StatusCode::PERMISSION_DENIED
                     : grpc::StatusCode::OK)
        << token;
  }

  v1::CompactResponse compacted;
  EXPECT_EQ(stub->Compact(Context(kWriter).get(), {}, &compacted).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::VerifyResponse verified;
  grpc::Status verify = stub->Verify(Context(kAdmin).get(), {}, &verified);
  ASSERT_TRUE(verify.ok()) << verify.error_message();
  EXPECT_EQ(verified.events_checked(), 29u);
  EXPECT_EQ(server.Stop(), 0);
}

TEST_F(ServerTest, ATokensFileOthersMayReadIsRefused) {
  const std::string err = dir_.Sub("server.err");
  Server server({"--db", db_, "--tokens", WriteTokens(0644)}, err);
  EXPECT_EQ(server.address(), "");
  EXPECT_EQ(server.Wait(std::chrono::seconds(20)), 2);
  EXPECT_EQ(ReadAll(err),
            absl::StrCat("provledgerd: tokens file '", dir_.Sub("tokens"),
                         "' may be read by others; make it private (chmod "
                         "600 ",
                         dir_.Sub("tokens"), ")\n"));
}

TEST_F(ServerTest, ANonLoopbackAddressNeedsTokensAndTls) {
  const std::string err = dir_.Sub("server.err");
  const std::string refused =
      "provledgerd: refusing to listen on 0.0.0.0:0, which is not a loopback "
      "address, without both --tokens and --tls-cert/--tls-key (anyone on "
      "the network could read and write the ledger)\n";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--db", db_},
        std::vector<std::string>{"--db", db_, "--tokens", WriteTokens()}}) {
    Server server(args, err, "0.0.0.0:0");
    EXPECT_EQ(server.address(), "");
    EXPECT_EQ(server.Wait(std::chrono::seconds(20)), 2);
    EXPECT_EQ(ReadAll(err), refused);
  }
  // The same rule for the metrics and the HTTP API.
  for (const auto& [flag, refusal] :
       std::vector<std::pair<std::string, std::string>>{
           {"--metrics", "serve metrics on 0.0.0.0:9464, which is not a "
                         "loopback address, without both --tokens and "
                         "--tls-cert/--tls-key (scrape them on loopback or "
                         "through a proxy)"},
           {"--http", "serve HTTP on 0.0.0.0:9464, which is not a loopback "
                      "address, without both --tokens and --tls-cert/"
                      "--tls-key (or run it on loopback behind a TLS "
                      "proxy)"}}) {
    Server server({"--db", db_, "--tokens", WriteTokens(), flag,
                   "0.0.0.0:9464"},
                  err);
    EXPECT_EQ(server.address(), "");
    EXPECT_EQ(server.Wait(std::chrono::seconds(20)), 2);
    EXPECT_EQ(ReadAll(err), "provledgerd: refusing to " + refusal + "\n");
  }
}

TEST_F(ServerTest, OverTlsWithTokens) {
  // A certificate for 127.0.0.1, made for the test.
  const std::string key = dir_.Sub("key.pem"), cert = dir_.Sub("cert.pem");
  const std::string openssl = absl::StrCat(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=IP:127.0.0.1 -keyout ",
      key, " -out ", cert, " >/dev/null 2>&1");
  ASSERT_EQ(std::system(openssl.c_str()), 0);
  Server server({"--db", db_, "--tokens", WriteTokens(), "--tls-cert", cert,
                 "--tls-key", key},
                dir_.Sub("server.err"));
  ASSERT_NE(server.address(), "") << ReadAll(dir_.Sub("server.err"));
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadAll(cert);
  auto secure = v1::Ledger::NewStub(
      grpc::CreateChannel(server.address(), grpc::SslCredentials(ssl)));
  v1::DigestResponse digest;
  grpc::Status s = secure->Digest(Context(kAuditor).get(), {}, &digest);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(digest.seq(), 26u);
  // A client that does not speak TLS gets nothing.
  v1::DigestResponse plain;
  EXPECT_EQ(server.Stub()->Digest(Context(kAuditor).get(), {}, &plain)
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // The CLI over TLS: --server-ca names the certificate to trust.
  const std::string token_file = dir_.Sub("auditor.token");
  std::ofstream(token_file) << kAuditor << "\n";
  const CliRun cli = RunCli(
      dir_, absl::StrCat("--server ", server.address(), " --server-ca ", cert,
                         " --token-file ", token_file, " digest"));
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(cli.out, digest.digest() + "\n");
  const CliRun no_ca = RunCli(
      dir_, absl::StrCat("--server ", server.address(), " --token-file ",
                         token_file, " digest"));
  EXPECT_EQ(no_ca.exit_code, 1);
  EXPECT_TRUE(absl::StartsWith(
      no_ca.err, absl::StrCat("provledger: cannot reach provledgerd at ",
                              server.address(), ": ")))
      << no_ca.err;
  const CliRun bad_ca = RunCli(
      dir_, absl::StrCat("--server ", server.address(), " --server-ca ",
                         dir_.Sub("missing.pem"), " digest"));
  EXPECT_EQ(bad_ca.exit_code, 2);
  EXPECT_EQ(bad_ca.err,
            absl::StrCat("provledger: --server-ca: cannot read PEM "
                         "certificates from '",
                         dir_.Sub("missing.pem"), "'\n"));
  EXPECT_EQ(server.Stop(), 0);
}

TEST_F(ServerTest, AppendErrorsCarryGrpcCodesAndTheFailingEvent) {
  Server server({"--db", db_}, dir_.Sub("server.err"));
  ASSERT_NE(server.address(), "");
  auto stub = server.Stub();
  v1::AppendRequest bad;
  *bad.add_events() = Sent(Credentialed("ok-1", "2024-05-01", kDrA));
  *bad.add_events() = Sent(Credentialed("bad-npi", "2024-05-01", "1234567890"));
  v1::AppendResponse r;
  grpc::Status s = stub->Append(Context().get(), bad, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ErrorStatus details;
  ASSERT_TRUE(details.ParseFromString(s.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  v1::EventError error;
  ASSERT_TRUE(details.details(0).UnpackTo(&error));
  EXPECT_EQ(error.index(), 1u);
  EXPECT_EQ(error.field(), "credentialed.npi");
  EXPECT_EQ(error.code(), "INVALID_FIELD");

  v1::AppendRequest stale;
  *stale.add_events() = Sent(Credentialed("ok-2", "2024-05-01", kDrA));
  stale.mutable_expected()->set_npi(kDrA);
  stale.mutable_expected()->set_version(3);
  s = stub->Append(Context().get(), stale, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();

  v1::AppendRequest revoke;  // Dr. Chen has no reassignment to Lakeside
  *revoke.add_events() = Sent(Revoked("rv", "2024-05-01", kDrB, kGroupY));
  s = stub->Append(Context().get(), revoke, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  v1::AppendRequest first;
  *first.add_events() = Sent(Credentialed("same-id", "2024-05-01", kDrA));
  ASSERT_TRUE(stub->Append(Context().get(), first, &r).ok());
  *first.mutable_events(0) = Sent(Credentialed("same-id", "2024-06-01", kDrA));
  s = stub->Append(Context().get(), first, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  // Nothing of the refused batches was written.
  v1::DigestResponse digest;
  ASSERT_TRUE(stub->Digest(Context().get(), {}, &digest).ok());
  EXPECT_EQ(digest.seq(), 27u);
}

TEST_F(ServerTest, AnAppendStreamAnswersEachBatchInOrderAndGoesOnAfterAnError) {
  Server server({"--db", db_, "--tokens", WriteTokens()}, dir_.Sub("server.err"));
  ASSERT_NE(server.address(), "");
  auto stub = server.Stub();
  {
    auto context = Context(kWriter);
    auto call = stub->AppendStream(context.get());
    std::vector<v1::AppendRequest> batches(4);
    *batches[0].add_events() = Sent(Credentialed("st-1", "2024-05-01", kDrA));
    *batches[1].add_events() = Sent(Credentialed("st-2", "2024-05-01", kDrA));
    *batches[1].add_events() =
        Sent(Credentialed("st-bad", "2024-05-01", "1234567890"));
    *batches[2].add_events() = Sent(Credentialed("st-3", "2024-05-02", kDrA));
    batches[3] = batches[0];  // a retry: its original seq
    std::vector<v1::AppendStreamReply> replies;
    for (const v1::AppendRequest& batch : batches) {
      ASSERT_TRUE(call->Write(batch));
      v1::AppendStreamReply reply;
      ASSERT_TRUE(call->Read(&reply));
      replies.push_back(reply);
    }
    call->WritesDone();
    grpc::Status end = call->Finish();
    EXPECT_TRUE(end.ok()) << end.error_message();
    ASSERT_EQ(replies.size(), 4u);
    for (uint64_t i = 0; i < 4; ++i) EXPECT_EQ(replies[i].index(), i);
    ASSERT_TRUE(replies[0].has_appended());
    EXPECT_EQ(replies[0].appended().appended(), 1u);
    EXPECT_EQ(replies[0].appended().seqs(0), 27u);
    ASSERT_TRUE(replies[1].has_error());
    EXPECT_EQ(replies[1].error().code(),
              static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
    ASSERT_EQ(replies[1].error().details_size(), 1);
    v1::EventError error;
    ASSERT_TRUE(replies[1].error().details(0).UnpackTo(&error));
    EXPECT_EQ(error.index(), 1u);
    EXPECT_EQ(error.field(), "credentialed.npi");
    EXPECT_EQ(error.code(), "INVALID_FIELD");
    ASSERT_TRUE(replies[2].has_appended());
    EXPECT_EQ(replies[2].appended().seqs(0), 28u);  // the bad batch wrote nothing
    EXPECT_EQ(replies[2].appended().head().substr(0, 3), "28:");
    ASSERT_TRUE(replies[3].has_appended());
    EXPECT_EQ(replies[3].appended().appended(), 0u);
    EXPECT_EQ(replies[3].appended().duplicates(), 1u);
    EXPECT_EQ(replies[3].appended().seqs(0), 27u);
  }
  // Recorded under the token's identity, like Append's.
  v1::HistoryRequest history;
  history.set_npi(kDrA);
  v1::HistoryResponse events;
  ASSERT_TRUE(stub->History(Context(kAuditor).get(), history, &events).ok());
  ASSERT_GE(events.entries_size(), 2);
  const v1::HistoryEntry& last = events.entries(events.entries_size() - 1);
  EXPECT_EQ(last.seq(), 28u);
  EXPECT_EQ(last.actor(), "clerk");
  // An auditor's stream ends at once; no token, likewise.
  for (const std::string& token : {std::string(kAuditor), std::string()}) {
    auto context = Context(token);
    auto call = stub->AppendStream(context.get());
    v1::AppendRequest batch;
    *batch.add_events() = Sent(Credentialed("st-4", "2024-05-03", kDrA));
    call->Write(batch);
    v1::AppendStreamReply reply;
    EXPECT_FALSE(call->Read(&reply));
    grpc::Status end = call->Finish();
    if (token.empty()) {
      EXPECT_EQ(end.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    } else {
      EXPECT_EQ(end.error_code(), grpc::StatusCode::PERMISSION_DENIED);
      EXPECT_EQ(end.error_message(),
                "AppendStream needs the writer role; auditor1 is an auditor");
    }
  }
  v1::DigestResponse digest;
  ASSERT_TRUE(stub->Digest(Context(kAuditor).get(), {}, &digest).ok());
  EXPECT_EQ(digest.seq(), 28u);
}

TEST_F(ServerTest, ManyClaimsInOneCallAreJudgedAgainstOneView) {
  Server server({"--db", db_, "--tokens", WriteTokens()},
                dir_.Sub("server.err"));
  ASSERT_NE(server.address(), "") << ReadAll(dir_.Sub("server.err"));
  auto stub = server.Stub();
  v1::ClaimCheckRequest payable;
  payable.set_rendering_npi("1526374859");
  payable.set_billing_npi("1245319599");
  payable.set_payer("medicare");
  payable.set_date_of_service("2024-03-10");
  payable.mutable_known()->set_known_seq(24);  // before Dr. Chen's departure
  v1::ClaimCheckRequest denied = payable;
  denied.clear_known();
  denied.set_date_of_service("2019-03-10");
  v1::ClaimCheckRequest bad = payable;
  bad.set_date_of_service("2024-02-30");
  // Each answer is the one-claim call's answer.
  std::vector<v1::ClaimCheckResponse> one_by_one(2);
  ASSERT_TRUE(
      stub->ClaimCheck(Context(kAuditor).get(), payable, &one_by_one[0]).ok());
  ASSERT_TRUE(
      stub->ClaimCheck(Context(kAuditor).get(), denied, &one_by_one[1]).ok());
  v1::ClaimCheckResponse unused;
  grpc::Status bad_alone =
      stub->ClaimCheck(Context(kAuditor).get(), bad, &unused);
  ASSERT_EQ(bad_alone.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(one_by_one[0].result(), "payable");
  EXPECT_EQ(one_by_one[1].result(), "denied");

  auto context = Context(kAuditor);
  auto call = stub->ClaimChecks(context.get());
  v1::ClaimCheckResult result;
  ASSERT_TRUE(call->Write(payable));
  ASSERT_TRUE(call->Read(&result));
  EXPECT_EQ(result.index(), 0u);
  EXPECT_EQ(result.answer().SerializeAsString(),
            one_by_one[0].SerializeAsString());
  // An event appended meanwhile is not seen by the rest of the call.
  v1::AppendRequest append;
  *append.add_events() = Sent(Credentialed("mid-call", "2024-05-01", kDrA));
  v1::AppendResponse appended;
  ASSERT_TRUE(stub->Append(Context(kWriter).get(), append, &appended).ok());
  ASSERT_EQ(appended.seqs(0), 27u);
  ASSERT_TRUE(call->Write(bad));
  ASSERT_TRUE(call->Write(denied));
  ASSERT_TRUE(call->WritesDone());
  ASSERT_TRUE(call->Read(&result));
  EXPECT_EQ(result.index(), 1u);
  EXPECT_EQ(result.error().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(result.error().message(), bad_alone.error_message());
  ASSERT_TRUE(call->Read(&result));
  EXPECT_EQ(result.index(), 2u);
  EXPECT_EQ(result.answer().SerializeAsString(),
            one_by_one[1].SerializeAsString());
  EXPECT_EQ(result.answer().known_seq(), 26u);
  EXPECT_FALSE(call->Read(&result));
  EXPECT_TRUE(call->Finish().ok());

  // A claims stream needs a token like every call.
  auto anonymous = Context();
  auto refused = stub->ClaimChecks(anonymous.get());
  refused->WritesDone();
  EXPECT_FALSE(refused->Read(&result));
  EXPECT_EQ(refused->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(server.Stop(), 0);
}

TEST_F(ServerTest, ReconcileVerifyDigestAndRebuildByRole) {
  Server server({"--db", db_, "--tokens", WriteTokens()},
                dir_.Sub("server.err"));
  ASSERT_NE(server.address(), "") << ReadAll(dir_.Sub("server.err"));
  auto stub = server.Stub();
  // A Reconcile call starts with its request.
  {
    auto context = Context(kAuditor);
    auto call = stub->Reconcile(context.get());
    v1::ReconcileUpload chunk;
    chunk.set_roster_chunk("provider_npi,org_npi,payer,effective_date\n");
    ASSERT_TRUE(call->Write(chunk));
    call->WritesDone();
    v1::ReconcileReply reply;
    EXPECT_FALSE(call->Read(&reply));
    grpc::Status s = call->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(),
              "the first message of a Reconcile call must hold the request, "
              "then the roster in roster_chunk messages");
  }
  // A roster split in chunks anywhere (here mid-line) reads as the file.
  {
    const std::string roster =
        "provider_npi,org_npi,payer,effective_date,end_date\n"
        "1526374859,1245319599,medicare,2022-03-01,\n"
        "1234567893,1245319599,medicare,2023-01-01,\n";
    auto context = Context(kAuditor);
    auto call = stub->Reconcile(context.get());
    v1::ReconcileUpload part;
    part.mutable_request()->set_roster_format("csv");
    part.mutable_request()->set_as_of("2024-06-01");
    ASSERT_TRUE(call->Write(part));
    for (size_t i = 0; i < roster.size(); i += 7) {
      part.set_roster_chunk(roster.substr(i, 7));
      ASSERT_TRUE(call->Write(part));
    }
    call->WritesDone();
    v1::ReconcileReply reply;
    std::optional<v1::ReconcileSummary> summary;
    while (call->Read(&reply)) {
      if (reply.has_summary()) summary = reply.summary();
    }
    ASSERT_TRUE(call->Finish().ok());
    ASSERT_TRUE(summary.has_value());
    EXPECT_EQ(summary->rows(), 2u);
    EXPECT_EQ(summary->unparseable(), 0u);
  }
  // VerifyDigest: any reader. Verify and Rebuild: the admin only.
  v1::DigestResponse digest;
  ASSERT_TRUE(stub->Digest(Context(kAuditor).get(), {}, &digest).ok());
  v1::VerifyDigestRequest check;
  check.set_digest(digest.digest());
  v1::VerifyResponse verified;
  ASSERT_TRUE(
      stub->VerifyDigest(Context(kAuditor).get(), check, &verified).ok());
  EXPECT_EQ(verified.failure(), v1::VerifyResponse::NONE);
  EXPECT_TRUE(verified.digest_checked());
  EXPECT_FALSE(verified.projections_checked());
  EXPECT_EQ(verified.head(), digest.digest());
  check.set_digest(absl::StrCat("26:", std::string(64, '0')));
  ASSERT_TRUE(
      stub->VerifyDigest(Context(kAuditor).get(), check, &verified).ok());
  EXPECT_EQ(verified.failure(), v1::VerifyResponse::DIGEST_REWRITTEN);
  EXPECT_EQ(verified.failed_seq(), 26u);
  check.set_digest("26");
  grpc::Status malformed =
      stub->VerifyDigest(Context(kAuditor).get(), check, &verified);
  EXPECT_EQ(malformed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(malformed.error_message(),
            "digest: '26' is not a digest <seq>:<64 hex digits> as printed "
            "by `digest`");
  grpc::Status verify_denied =
      stub->Verify(Context(kAuditor).get(), {}, &verified);
  EXPECT_EQ(verify_denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(verify_denied.error_message(),
            "Verify needs the admin role; auditor1 is an auditor");
  v1::RebuildResponse rebuilt;
  grpc::Status rebuild_denied =
      stub->Rebuild(Context(kWriter).get(), {}, &rebuilt);
  EXPECT_EQ(rebuild_denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(rebuild_denied.error_message(),
            "Rebuild needs the admin role; clerk is a writer");
  ASSERT_TRUE(stub->Rebuild(Context(kAdmin).get(), {}, &rebuilt).ok());
  EXPECT_EQ(rebuilt.events_replayed(), 26u);
  v1::VerifyRequest full;
  full.set_digest(digest.digest());
  ASSERT_TRUE(stub->Verify(Context(kAdmin).get(), full, &verified).ok());
  EXPECT_EQ(verified.failure(), v1::VerifyResponse::NONE);
  EXPECT_TRUE(verified.projections_checked());
  EXPECT_EQ(verified.events_checked(), 26u);
  EXPECT_EQ(server.Stop(), 0);
}

TEST_F(ServerTest, SubscribeCatchesUpThenFollowsWithHeartbeats) {
  Server server({"--db", db_}, dir_.Sub("server.err"));
  ASSERT_NE(server.address(), "");
  auto stub = server.Stub();
  v1::SubscribeRequest request;
  request.set_from_seq(25);
  request.set_heartbeat_seconds(1);
  auto context = Context();
  auto stream = stub->Subscribe(context.get(), request);
  v1::SubscribeResponse item;
  std::vector<uint64_t> seqs;
  while (seqs.size() < 2 && stream->Read(&item)) {
    if (item.has_event()) seqs.push_back(item.event().seq());
  }
  EXPECT_EQ(seqs, std::vector<uint64_t>({25, 26}));
  // Nothing new: a heartbeat at the head.
  ASSERT_TRUE(stream->Read(&item));
  ASSERT_TRUE(item.has_heartbeat());
  EXPECT_EQ(item.heartbeat().head_seq(), 26u);
  // A commit by another client arrives live.
  v1::AppendRequest append;
  *append.add_events() = Sent(Credentialed("live", "2024-05-01", kDrA));
  v1::AppendResponse appended;
  ASSERT_TRUE(stub->Append(Context().get(), append, &appended).ok());
  uint64_t live = 0;
  while (live == 0 && stream->Read(&item)) {
    if (item.has_event()) live = item.event().seq();
  }
  EXPECT_EQ(live, 27u);
  EXPECT_EQ(item.event().event_id(), "live");
  context->TryCancel();
  stream->Finish();
  EXPECT_EQ(server.Stop(), 0);
}

// A subscriber that stops reading holds up only itself: 4,000 events of
// about 1 KB (more than gRPC's flow-control windows hold) are appended and
// acknowledged while it reads nothing, and then it reads them all, in
// order.
TEST_F(ServerTest, ASlowSubscriberFallsBehindWithoutSlowingAppends) {
  Server server({"--db", db_}, dir_.Sub("server.err"));
  ASSERT_NE(server.address(), "");
  auto stub = server.Stub();
  v1::SubscribeRequest request;
  request.set_from_seq(26);
  auto context = Context();
  auto stream = stub->Subscribe(context.get(), request);
  v1::SubscribeResponse item;
  ASSERT_TRUE(stream->Read(&item));
  ASSERT_EQ(item.event().seq(), 26u);
  // Now it stalls; a writer on another connection appends.
  auto writer = v1::Ledger::NewStub(grpc::CreateChannel(
      server.address(), grpc::InsecureChannelCredentials()));
  constexpr int kBatches = 40, kPerBatch = 100;
  for (int b = 0; b < kBatches; ++b) {
    v1::AppendRequest append;
    for (int e = 0; e < kPerBatch; ++e) {
      v1::Event event = Sent(Credentialed(absl::StrCat("slow-", b, "-", e),
                                          "2024-05-01", kDrA));
      // At most kMaxTextBytes: 4 MB in all.
      event.set_source(std::string(1000, 's'));
      *append.add_events() = event;
    }
    v1::AppendResponse appended;
    grpc::Status s = writer->Append(Context().get(), append, &appended);
    ASSERT_TRUE(s.ok()) << b << ": " << s.error_message();
  }
  uint64_t expect = 27;
  const uint64_t last = 26 + kBatches * kPerBatch;
  while (expect <= last && stream->Read(&item)) {
    if (!item.has_event()) continue;
    ASSERT_EQ(item.event().seq(), expect);
    ++expect;
  }
  EXPECT_EQ(expect, last + 1);
  context->TryCancel();
  stream->Finish();
  EXPECT_EQ(server.Stop(), 0);
}

TEST_F(ServerTest, ConcurrentClientsShareGroupCommitsAndSigtermLosesNothing) {
  auto server = std::make_unique<Server>(std::vector<std::string>{"--db", db_},
                                         dir_.Sub("server.err"));
  ASSERT_NE(server->address(), "");
  constexpr int kClients = 8, kEach = 10;
  std::vector<std::vector<uint64_t>> acked(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto stub = server->Stub();
      for (int i = 0; i < kEach; ++i) {
        v1::AppendRequest append;
        *append.add_events() = Sent(Credentialed(absl::StrCat("c", c, "-", i),
                                            "2024-05-01", kDrA));
        v1::AppendResponse r;
        if (stub->Append(Context().get(), append, &r).ok()) {
          acked[c].push_back(r.seqs(0));
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(server->Stop(), 0);
  server.reset();
  // Every acknowledged event is in the log, the seqs gapless.
  auto ledger = Ledger::Open(LedgerOptions(), db_);
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  EXPECT_EQ((*ledger)->head().seq, 26u + kClients * kEach);
  for (int c = 0; c < kClients; ++c) {
    ASSERT_EQ(acked[c].size(), static_cast<size_t>(kEach));
    for (int i = 0; i < kEach; ++i) {
      auto seq = (*ledger)->View()->FindEventId(absl::StrCat("c", c, "-", i));
      ASSERT_TRUE(seq.ok() && seq->has_value());
      EXPECT_EQ(**seq, acked[c][i]);
    }
  }
}

// 32 writers and 8 readers while the server is SIGKILLed at 10 random
// moments and restarted on the same port: every batch a writer saw
// acknowledged is in the log whole, no batch is there in part, the seqs
// are gapless, and verify passes.
TEST_F(ServerTest, SigkillAtRandomMomentsLosesNoAcknowledgedBatch) {
  constexpr int kWriters = 32, kReaders = 8, kBatches = 30, kPerBatch = 3,
                kKills = 10;
  const unsigned seed = std::random_device()();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937 random(seed);
  const int port = PortOutsideTheEphemeralRange(random);
  ASSERT_NE(port, 0);
  const std::string err = dir_.Sub("server.err");
  const std::string address = absl::StrCat("127.0.0.1:", port);
  auto server = std::make_unique<Server>(std::vector<std::string>{"--db", db_},
                                         err, address);
  ASSERT_EQ(server->address(), address) << ReadAll(err);
  // Reconnect soon after each restart (gRPC's default reconnect backoff
  // and its pause between name resolutions grow to seconds).
  grpc::ChannelArguments quick;
  quick.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
  quick.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 20);
  quick.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
  quick.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, 10);
  auto channel = grpc::CreateCustomChannel(
      address, grpc::InsecureChannelCredentials(), quick);
  auto id = [](int w, int b, int e) {
    return absl::StrCat("w", w, "-b", b, "-e", e);
  };
  // acked[w][b]: the seqs the server acknowledged for writer w's batch b.
  std::vector<std::vector<std::vector<uint64_t>>> acked(
      kWriters, std::vector<std::vector<uint64_t>>(kBatches));
  std::atomic<int> acked_batches{0}, writers_done{0}, gave_up{0}, retries{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      auto stub = v1::Ledger::NewStub(channel);
      for (int b = 0; b < kBatches; ++b) {
        v1::AppendRequest append;
        for (int e = 0; e < kPerBatch; ++e) {
          *append.add_events() =
              Sent(Credentialed(id(w, b, e), "2024-05-01", kDrA));
        }
        // A batch whose reply was lost is sent again: the same content is
        // a duplicate, answered with the seqs first given. Bounded: 600
        // tries 25 ms apart, at most 15 s of restarts.
        bool done = false;
        for (int attempt = 0; attempt < 600 && !done; ++attempt) {
          v1::AppendResponse r;
          grpc::Status s = stub->Append(Context().get(), append, &r);
          if (s.ok()) {
            acked[w][b].assign(r.seqs().begin(), r.seqs().end());
            ++acked_batches;
            done = true;
          } else {
            ++retries;
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
          }
        }
        if (!done) ++gave_up;
      }
      ++writers_done;
    });
  }
  std::atomic<int> torn_reads{0};
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      auto stub = v1::Ledger::NewStub(channel);
      // Each read answers from one view: its seqs run without a gap.
      for (int i = 0; i < 400 && writers_done < kWriters; ++i) {
        v1::ReadRequest read;
        read.set_from_seq(20 + r);
        auto context = Context();
        auto events = stub->Read(context.get(), read);
        v1::Event e;
        uint64_t expect = 20 + r;
        while (events->Read(&e)) {
          if (e.seq() != expect++) ++torn_reads;
        }
        events->Finish();
        v1::ClaimCheckRequest claim;
        claim.set_rendering_npi("1526374859");
        claim.set_billing_npi("1245319599");
        claim.set_payer("medicare");
        claim.set_date_of_service("2024-03-10");
        v1::ClaimCheckResponse answer;
        if (stub->ClaimCheck(Context().get(), claim, &answer).ok() &&
            answer.result() != "denied") {
          ++torn_reads;  // the demo's answer at the head never changes
        }
      }
    });
  }
  // Each kill comes once a further share of the batches is acknowledged,
  // plus a random 0-30 ms, so it lands mid-append.
  const int total = kWriters * kBatches;
  int acked_at_restart = 0;
  for (int k = 1; k <= kKills; ++k) {
    // Some batches acknowledged since the last restart, a random share of
    // those left.
    const int left = total - acked_at_restart;
    const int target = std::min(
        total, acked_at_restart + 1 +
                   static_cast<int>(random() %
                                    std::max(1, left / (kKills - k + 2))));
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (acked_batches < target && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(random() % 31));
    server->Kill();
    server = std::make_unique<Server>(std::vector<std::string>{"--db", db_},
                                      err, address);
    acked_at_restart = acked_batches;
    ASSERT_EQ(server->address(), address) << ReadAll(err);
  }
  for (auto& t : threads) t.join();
  RecordProperty("append_retries", retries.load());
  EXPECT_EQ(gave_up, 0);
  EXPECT_EQ(torn_reads, 0);
  EXPECT_EQ(acked_batches, total);

  // The whole log, read back: gapless, each event id once, no batch torn.
  auto stub = server->Stub();
  auto context = Context();
  auto events = stub->Read(context.get(), v1::ReadRequest());
  v1::Event e;
  uint64_t expect = 1;
  std::map<std::string, uint64_t> seq_of;
  while (events->Read(&e)) {
    EXPECT_EQ(e.seq(), expect++);
    EXPECT_TRUE(seq_of.emplace(e.event_id(), e.seq()).second) << e.event_id();
  }
  grpc::Status read_all = events->Finish();
  ASSERT_TRUE(read_all.ok()) << read_all.error_code() << " "
                             << read_all.error_message() << ReadAll(err);
  EXPECT_EQ(expect - 1, 26u + static_cast<uint64_t>(total) * kPerBatch);
  for (int w = 0; w < kWriters; ++w) {
    for (int b = 0; b < kBatches; ++b) {
      ASSERT_EQ(acked[w][b].size(), static_cast<size_t>(kPerBatch));
      for (int e = 0; e < kPerBatch; ++e) {
        auto it = seq_of.find(id(w, b, e));
        ASSERT_NE(it, seq_of.end()) << id(w, b, e);
        EXPECT_EQ(it->second, acked[w][b][e]) << id(w, b, e);
        // A batch's events are consecutive.
        EXPECT_EQ(it->second, acked[w][b][0] + e) << id(w, b, e);
      }
    }
  }
  v1::VerifyResponse verified;
  ASSERT_TRUE(stub->Verify(Context().get(), {}, &verified).ok());
  EXPECT_EQ(verified.failure(), v1::VerifyResponse::NONE) << verified.problem();
  EXPECT_TRUE(verified.projections_checked());
  EXPECT_EQ(server->Stop(), 0);
}

TEST_F(ServerTest, ASubscriberSeesEverySeqOnceInOrderAcrossARestart) {
  auto server = std::make_unique<Server>(std::vector<std::string>{"--db", db_},
                                         dir_.Sub("server.err"));
  const std::string address = server->address();
  ASSERT_NE(address, "");
  constexpr int kWriters = 16, kEach = 5;
  constexpr uint64_t kLast = 26 + 2 * kWriters * kEach;
  // The subscriber resumes from the last seq it saw whenever its stream
  // ends (the restart), waiting for the server to be back.
  std::vector<uint64_t> seen;
  std::atomic<bool> done{false};
  std::thread subscriber([&] {
    auto stub = v1::Ledger::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    const auto give_up =
        std::chrono::system_clock::now() + std::chrono::seconds(60);
    while (!done && std::chrono::system_clock::now() < give_up) {
      v1::SubscribeRequest request;
      request.set_from_seq(seen.empty() ? 0 : seen.back() + 1);
      request.set_heartbeat_seconds(1);
      grpc::ClientContext context;
      context.set_wait_for_ready(true);
      context.set_deadline(give_up);
      auto stream = stub->Subscribe(&context, request);
      v1::SubscribeResponse item;
      while (stream->Read(&item)) {
        if (!item.has_event()) continue;
        seen.push_back(item.event().seq());
        if (item.event().seq() == kLast) {
          done = true;
          context.TryCancel();
        }
      }
      stream->Finish();
    }
  });
  auto append_from_writers = [&](int round) {
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        auto stub = v1::Ledger::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
        for (int i = 0; i < kEach; ++i) {
          v1::AppendRequest append;
          *append.add_events() = Sent(Credentialed(
              absl::StrCat("r", round, "-w", w, "-", i), "2024-05-01", kDrA));
          v1::AppendResponse r;
          auto context = Context();
          context->set_wait_for_ready(true);
          EXPECT_TRUE(stub->Append(context.get(), append, &r).ok());
        }
      });
    }
    for (auto& t : writers) t.join();
  };
  append_from_writers(0);
  EXPECT_EQ(server->Stop(), 0);
  server = std::make_unique<Server>(std::vector<std::string>{"--db", db_},
                                    dir_.Sub("server2.err"), address);
  ASSERT_EQ(server->address(), address) << ReadAll(dir_.Sub("server2.err"));
  append_from_writers(1);
  subscriber.join();
  ASSERT_TRUE(done);
  std::vector<uint64_t> every(kLast);
  for (uint64_t i = 0; i < kLast; ++i) every[i] = i + 1;
  EXPECT_EQ(seen, every);
  EXPECT_EQ(server->Stop(), 0);
}

TEST_F(ServerTest, TheCliThroughTheServerPrintsWhatItPrintsLocally) {
  // The same ledger, copied before the server takes it: local runs read the
  // copy (no note that a writer is active), --server runs ask the server.
  const std::string copy = dir_.Sub("copy");
  std::filesystem::copy(db_, copy, std::filesystem::copy_options::recursive);
  Server server({"--db", db_}, dir_.Sub("server.err"));
  ASSERT_NE(server.address(), "");
  // The digest of seq 20, from the export's line for it.
  const std::string line20 =
      RunCli(dir_, absl::StrCat("--db ", copy, " export --from-seq 20")).out;
  const size_t at = line20.find("\"hash\":\"");
  ASSERT_NE(at, std::string::npos) << line20;
  const std::string hash20 = line20.substr(at + 8, 64);
  const std::string other_hash(64, 'a');
  const std::string data = PROVLEDGER_TEST_DATA;
  std::vector<std::string> commands = {
      "digest", "stats", "stats --format json", "stats --format csv",
      "search chen", "search 'sante' --format json", "search a --limit 2",
      "search 5561237789 --known-seq 3 --format csv", "search ' '",
      "search chen --limit 501",
      "export", "export --from-seq 20 --actor k.osei@riverbend",
      "verify", "verify --chain-only",
      absl::StrCat("verify --digest 20:", hash20),
      absl::StrCat("verify --chain-only --digest 20:", hash20),
      absl::StrCat("verify --chain-only --digest 20:", other_hash),
      absl::StrCat("verify --digest 99:", hash20),
      "verify --digest 20:xyz"};
  for (const char* format : {"table", "json", "csv"}) {
    for (const std::string& reconcile : {
             absl::StrCat("reconcile --roster ", data,
                          "/cms_reassignment_2024-06.csv --as-of 2024-06-01 "
                          "--org O20150101000123"),
             absl::StrCat("reconcile --roster ", data,
                          "/roster_generic.csv --roster-format csv --as-of "
                          "2024-06-01 --known-seq 20"),
             absl::StrCat("reconcile --roster ", data,
                          "/roster_generic.csv --roster-format xml --as-of "
                          "2024-06-01"),
             absl::StrCat("claims-check ", data, "/claims_2024-03.csv"),
             absl::StrCat("claims-check ", data, "/claims_2024-03.837 "
                          "--payer-map ", data, "/payer_map.csv --known-seq 20"),
             absl::StrCat("claims-check ", data, "/roster_generic.csv")}) {
      commands.push_back(absl::StrCat(reconcile, " --format ", format));
    }
  }
  for (const char* format : {"table", "json", "csv"}) {
    for (const char* query : {
             "asof --date 2024-03-10",
             "asof --date 2024-03-10 --known-seq 24 --org 1245319599",
             "asof --date 2024-03-10 --known-at 2999-01-01 --payer MEDICARE",
             "history --provider 1526374859",
             "history --provider 1526374859 --known-seq 16 --payer medicare",
             "history --provider 1234567893 --show-tins",
             "diff --from 2024-01-01 --to 2024-12-31",
             "claim-check --rendering 1526374859 --billing 1245319599 "
             "--payer medicare --dos 2024-03-10",
             "claim-check --rendering 1526374859 --billing 1245319599 "
             "--payer medicare --dos 2024-03-10 --known-seq 24",
             "asof --date 2024-02-30",
             "asof --date 2024-03-10 --known-seq 99",
             "claim-check --rendering 1234567890 --billing 1245319599 "
             "--payer medicare --dos 2024-03-10"}) {
      commands.push_back(absl::StrCat(query, " --format ", format));
    }
  }
  size_t answered = 0;  // runs that printed an answer (not an error)
  for (const std::string& command : commands) {
    const CliRun local = RunCli(dir_, absl::StrCat("--db ", copy, " ", command));
    // 3: a claim denied; 4: discrepancies found.
    if (!local.out.empty() && (local.exit_code == 0 || local.exit_code == 3 ||
                               local.exit_code == 4)) {
      ++answered;
    }
    const CliRun remote = RunCli(
        dir_, absl::StrCat("--server ", server.address(), " ", command));
    EXPECT_TRUE(local == remote)
        << command << "\nlocal (" << local.exit_code << "):\n"
        << local.out << local.err << "server (" << remote.exit_code
        << "):\n" << remote.out << remote.err;
  }
  // All but the bad requests answered: 3 queries, a reconcile and a
  // claims file (a roster) per format, 2 searches, and 3 verify runs (a
  // rewritten prefix, a removed one, a bad digest).
  EXPECT_EQ(answered, commands.size() - 20);
  // The report: the same HTML.
  const std::string report = "report --provider 1526374859 --known-seq 24";
  const CliRun local = RunCli(
      dir_, absl::StrCat("--db ", copy, " ", report, " --out ", dir_.Sub("l.html")));
  const CliRun remote =
      RunCli(dir_, absl::StrCat("--server ", server.address(), " ", report,
                                " --out ", dir_.Sub("r.html")));
  EXPECT_EQ(local.exit_code, 0) << local.err;
  EXPECT_EQ(remote.exit_code, 0) << remote.err;
  EXPECT_EQ(ReadAll(dir_.Sub("l.html")), ReadAll(dir_.Sub("r.html")));
  // An import through the server: the events are recorded under the
  // server's caller (here its local user), and export reads them back.
  {
    std::ofstream lines(dir_.Sub("more.jsonl"));
    lines << service::ToJson(Sent(Credentialed("imp-1", "2024-05-01", kDrA)))
          << "\n\n"
          << service::ToJson(Sent(Credentialed("imp-2", "2024-05-02", kDrA)))
          << "\n";
  }
  const CliRun imported = RunCli(
      dir_, absl::StrCat("--server ", server.address(), " import --batch-size 1 ",
                         dir_.Sub("more.jsonl")));
  EXPECT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_TRUE(absl::StartsWith(imported.out,
                               "imported 2 event(s) in 2 batch(es); head 28:"))
      << imported.out;
  const CliRun exported = RunCli(
      dir_, absl::StrCat("--server ", server.address(), " export --from-seq 27"));
  const char* user = std::getenv("USER");
  const std::string actor = user != nullptr && *user ? user : "local";
  EXPECT_EQ(std::count(exported.out.begin(), exported.out.end(), '\n'), 2);
  EXPECT_TRUE(absl::StrContains(exported.out,
                                absl::StrCat("\"actor\":\"", actor, "\"")))
      << exported.out;
  // The admin commands, as the server's local (admin) caller.
  const CliRun compacted =
      RunCli(dir_, absl::StrCat("--server ", server.address(), " compact"));
  EXPECT_EQ(compacted.exit_code, 0) << compacted.err;
  EXPECT_EQ(compacted.out, "compacted the projections\n");
  EXPECT_EQ(compacted.err, "compacting the projections of 28 event(s)...\n");
  const CliRun rebuilt =
      RunCli(dir_, absl::StrCat("--server ", server.address(), " rebuild"));
  EXPECT_EQ(rebuilt.exit_code, 0) << rebuilt.err;
  EXPECT_EQ(rebuilt.out, "rebuilt the projections from 28 event(s)\n");
  const CliRun verified =
      RunCli(dir_, absl::StrCat("--server ", server.address(), " verify"));
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  // A command that does not go through a server says so.
  const CliRun replay = RunCli(
      dir_, absl::StrCat("--server ", server.address(),
                         " replay --until-seq 3 --into ", dir_.Sub("r")));
  EXPECT_EQ(replay.exit_code, 2);
  EXPECT_EQ(replay.err,
            "provledger: this command does not work through --server "
            "(asof, history, diff, claim-check, stats, report, digest, "
            "verify, reconcile, append, import, export and backup do); run "
            "it with --db on a ledger no server holds\n");
  // The ledger the server holds, opened for writing, names --server.
  const CliRun held = RunCli(dir_, absl::StrCat("--db ", db_, " compact"));
  EXPECT_EQ(held.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(held.err, "give --server ADDR instead of --db"))
      << held.err;
  EXPECT_EQ(server.Stop(), 0);
}

// A backup through the server while clients append: it holds one head
// exactly, restores to that digest, and its log is a prefix of the live
// one. Only an admin may take one.
TEST_F(ServerTest, ABackupTakenWhileClientsAppendRestoresToItsHead) {
  Server server({"--db", db_, "--tokens", WriteTokens()},
                dir_.Sub("server.err"));
  ASSERT_NE(server.address(), "") << ReadAll(dir_.Sub("server.err"));
  auto stub = server.Stub();
  std::atomic<int> appended{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto mine = server.Stub();
      for (int i = 0; i < 50; ++i) {
        v1::AppendRequest append;
        *append.add_events() = Sent(Credentialed(absl::StrCat("bk-", w, "-", i),
                                                 "2024-05-01", kDrA));
        v1::AppendResponse r;
        if (mine->Append(Context(kWriter).get(), append, &r).ok()) ++appended;
      }
    });
  }
  v1::BackupRequest request;
  request.set_to(dir_.Sub("backup"));
  v1::BackupResponse backup;
  grpc::Status denied = stub->Backup(Context(kWriter).get(), request, &backup);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(denied.error_message(),
            "Backup needs the admin role; clerk is a writer");
  grpc::Status taken = stub->Backup(Context(kAdmin).get(), request, &backup);
  for (auto& t : writers) t.join();
  ASSERT_TRUE(taken.ok()) << taken.error_message();
  EXPECT_EQ(appended, 200);
  EXPECT_GE(backup.events(), 26u);
  EXPECT_TRUE(absl::StartsWith(backup.head(), absl::StrCat(backup.events(), ":")));
  // The live log, read through the server.
  std::vector<std::string> live;
  {
    auto context = Context(kAuditor);
    auto events = stub->Read(context.get(), v1::ReadRequest());
    v1::Event e;
    while (events->Read(&e)) live.push_back(e.hash());
    ASSERT_TRUE(events->Finish().ok());
  }
  ASSERT_EQ(live.size(), 226u);
  EXPECT_EQ(server.Stop(), 0);

  const std::string restored = dir_.Sub("restored");
  const CliRun restore = RunCli(
      dir_, absl::StrCat("--db ", restored, " restore --from ", dir_.Sub("backup")));
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  auto ledger = Ledger::Open(LedgerOptions(), restored);
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  EXPECT_EQ(service::DigestOf((*ledger)->head()), backup.head());
  // Its events are the live log's first ones.
  auto view = (*ledger)->View();
  uint64_t seq = 0;
  for (auto it = view->Read(1); it->Valid(); it->Next()) {
    ASSERT_LT(seq, live.size());
    EXPECT_EQ(it->event().hash(), live[seq]) << it->event().seq();
    ++seq;
  }
  EXPECT_EQ(seq, backup.events());
}

// The HTTP/JSON API: the same answers as gRPC, byte for byte in JSON, and
// each error status with its JSON body.
// "<event_id> <actor>" of each event from `from_seq` on, read with
// `token`.
std::vector<std::string> IdsAndActorsFrom(v1::Ledger::Stub& stub,
                                          uint64_t from_seq,
                                          const std::string& token) {
  v1::ReadRequest read;
  read.set_from_seq(from_seq);
  auto context = Context(token);
  auto events = stub.Read(context.get(), read);
  std::vector<std::string> out;
  v1::Event e;
  while (events->Read(&e)) out.push_back(e.event_id() + " " + e.actor());
  EXPECT_TRUE(events->Finish().ok());
  return out;
}

// What the web console stands on: its own files (and nothing from
// elsewhere), who the caller is, search, the report's date-of-service
// marker, and an upload of JSON lines that reports every bad line and
// writes nothing unless all are good.
TEST_F(ServerTest, TheConsoleIsServedWithItsCalls) {
  auto started = StartWithHttp();
  ASSERT_NE(started, nullptr);
  Server& server = *started;
  auto stub = server.Stub();
  httplib::Client http("http://" + server.http_address());
  auto headers = BearerHeaders;
  // The files, with a policy that loads nothing from elsewhere.
  for (const auto& [path, type, start] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"/", "text/html; charset=utf-8", "<!DOCTYPE html>"},
           {"/console.js", "text/javascript; charset=utf-8", "// provledger"},
           {"/console.css", "text/css; charset=utf-8", "/* provledger"}}) {
    SCOPED_TRACE(path);
    auto r = http.Get(path.c_str());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("Content-Type"), type);
    EXPECT_TRUE(absl::StartsWith(r->body, start));
    EXPECT_TRUE(absl::StartsWith(r->get_header_value("Content-Security-Policy"),
                                 "default-src 'self';"));
    EXPECT_FALSE(absl::StrContains(r->body, "http://"));
    EXPECT_FALSE(absl::StrContains(r->body, "https://"));
  }
  // Who is asking: without a token, that one is needed.
  auto r = http.Get("/v1/whoami");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"identity\":\"\",\"role\":\"\",\"tokens\":true}\n");
  r = http.Get("/v1/whoami", headers(kAuditor));
  EXPECT_EQ(r->body,
            "{\"identity\":\"auditor1\",\"role\":\"auditor\",\"tokens\":true}\n");
  r = http.Get("/v1/whoami", headers("not-a-token"));
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->body,
            "{\"code\":\"UNAUTHENTICATED\",\"message\":\"the token is not one "
            "this server knows\"}\n");
  // Search: the gRPC answer, in JSON.
  for (const auto& [text, path] : std::vector<std::pair<std::string, std::string>>{
           {"chen", "/v1/search?text=chen"},
           {"1526374859", "/v1/search?text=1526374859&known_seq=3"},
           {"I20180115001122", "/v1/search?text=I20180115001122"},
           {"a", "/v1/search?text=a&limit=2"}}) {
    SCOPED_TRACE(path);
    v1::SearchRequest request;
    request.set_text(text);
    if (absl::StrContains(path, "known_seq")) {
      request.mutable_known()->set_known_seq(3);
    }
    if (absl::StrContains(path, "limit")) request.set_limit(2);
    v1::SearchResponse answer;
    ASSERT_TRUE(stub->Search(Context(kAuditor).get(), request, &answer).ok());
    r = http.Get(path.c_str(), headers(kAuditor));
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, service::ToJson(answer) + "\n");
    if (text == "chen") {
      ASSERT_EQ(answer.hits_size(), 1);
      EXPECT_EQ(answer.hits(0).name(), "James Chen");
      EXPECT_EQ(answer.hits(0).matched(), "name");
    }
    if (text == "1526374859") {
      EXPECT_EQ(answer.hits_size(), 0);  // enrolled at seq 4
    }
    if (text == "a") {
      EXPECT_TRUE(answer.truncated());
    }
  }
  r = http.Get("/v1/search?text=%20", headers(kAuditor));
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body,
            "{\"code\":\"INVALID_ARGUMENT\",\"message\":\"text: is required (an "
            "NPI, a PAC id, an enrollment id or a name)\"}\n");
  r = http.Get("/v1/search?text=chen&limit=501", headers(kAuditor));
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body,
            "{\"code\":\"INVALID_ARGUMENT\",\"message\":\"limit: 501 is more "
            "than 500\"}\n");
  // The report with a date-of-service line, and the reassignment's late end.
  r = http.Get(
      "/v1/providers/1526374859/report?date_of_service=2024-03-10",
      headers(kAuditor));
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(absl::StrContains(r->body, "<g class=\"dos\" data-date=\"2024-03-10\">"));
  EXPECT_TRUE(absl::StrContains(
      r->body,
      "<rect class=\"bar reassignment backdated-end\" data-kind=\"reassignment\" "
      "data-start=\"2022-03-01\" data-end=\"2024-02-29\""));
  r = http.Get("/v1/providers/1526374859/report?date_of_service=2024-3-1",
               headers(kAuditor));
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(absl::StartsWith(
      r->body, "{\"code\":\"INVALID_ARGUMENT\",\"message\":\"date_of_service: "))
      << r->body;

  // An upload: two bad lines (a bad NPI, not JSON) and a good one: both
  // bad lines named, nothing written.
  v1::DigestResponse before;
  ASSERT_TRUE(stub->Digest(Context(kAuditor).get(), {}, &before).ok());
  const std::string good =
      service::ToJson(Sent(Credentialed("up-1", "2024-05-01", kDrA)));
  v1::Event bad_npi = Sent(Credentialed("up-2", "2024-05-01", kDrA));
  bad_npi.mutable_credentialed()->set_npi("1234567890");
  const std::string upload =
      good + "\n" + service::ToJson(bad_npi) + "\n\nnot json\n";
  r = http.Post("/v1/events:import", headers(kWriter), upload,
                "application/x-ndjson");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body,
            "{\"code\":\"INVALID_ARGUMENT\",\"message\":\"2 lines are not a "
            "valid event; nothing was written\",\"line_errors\":[{\"line\":2,"
            "\"message\":\"line 2: credentialed.npi: '1234567890' fails the NPI "
            "check digit (Luhn over prefix 80840)\",\"event_error\":{\"field\":"
            "\"credentialed.npi\",\"code\":\"INVALID_FIELD\"}},{\"line\":4,"
            "\"message\":\"line 4: not valid JSON at column 1: this is not JSON "
            "here\",\"event_error\":{\"code\":\"INVALID_FIELD\"}}]}\n");
  v1::DigestResponse after;
  ASSERT_TRUE(stub->Digest(Context(kAuditor).get(), {}, &after).ok());
  EXPECT_EQ(after.digest(), before.digest());
  // An auditor may not; an empty file is refused; the good line alone is
  // appended, under the writer's identity.
  r = http.Post("/v1/events:import", headers(kAuditor), good, "application/x-ndjson");
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->body,
            "{\"code\":\"PERMISSION_DENIED\",\"message\":\"Append needs the "
            "writer role; auditor1 is an auditor\"}\n");
  r = http.Post("/v1/events:import", headers(kWriter), "\n\n", "application/x-ndjson");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body,
            "{\"code\":\"INVALID_ARGUMENT\",\"message\":\"the file holds no "
            "events\"}\n");
  r = http.Post("/v1/events:import", headers(kWriter), "\n" + good + "\n",
                "application/x-ndjson");
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(absl::StartsWith(r->body, "{\"appended\":1,\"duplicates\":0,"
                                        "\"seqs\":[\"27\"],"))
      << r->body;
  // A refusal that needs the ledger: the same id with other content, on
  // line 2 of the file.
  const std::string other =
      service::ToJson(Sent(Credentialed("up-1", "2024-06-01", kDrA)));
  r = http.Post("/v1/events:import", headers(kWriter),
                service::ToJson(Sent(Credentialed("up-3", "2024-05-01", kDrB))) +
                    "\n" + other + "\n",
                "application/x-ndjson");
  EXPECT_EQ(r->status, 409);
  EXPECT_TRUE(absl::StartsWith(r->body,
                               "{\"code\":\"ALREADY_EXISTS\",\"message\":\"line "
                               "2: event_id: "))
      << r->body;
  EXPECT_TRUE(absl::StrContains(
      r->body, "\"line_errors\":[{\"line\":2,\"message\":\"line 2: event_id: "))
      << r->body;
  // Nothing of the refused file.
  EXPECT_EQ(IdsAndActorsFrom(*stub, 27, kAuditor),
            (std::vector<std::string>{"up-1 clerk"}));
  EXPECT_EQ(server.Stop(), 0);
}

TEST_F(ServerTest, TheHttpApiAnswersAsGrpcDoesWithHttpStatuses) {
  auto started = StartWithHttp();
  ASSERT_NE(started, nullptr);
  Server& server = *started;
  auto stub = server.Stub();
  httplib::Client http("http://" + server.http_address());
  auto headers = BearerHeaders;
  auto get = [&](const std::string& path, const char* token = kAuditor) {
    return http.Get(path.c_str(), headers(token));
  };
  auto post = [&](const std::string& path, const std::string& body,
                  const char* token) {
    return http.Post(path.c_str(), headers(token), body, "application/json");
  };
  // Each answer is the gRPC answer in protobuf's JSON mapping.
  auto same_as_grpc = [&](const std::string& path, auto method,
                          const auto& request, auto answer) {
    SCOPED_TRACE(path);
    ASSERT_TRUE(((*stub).*method)(Context(kAuditor).get(), request, &answer).ok());
    auto r = get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, service::ToJson(answer) + "\n");
  };
  same_as_grpc("/v1/digest", &v1::Ledger::Stub::Digest, v1::DigestRequest(),
               v1::DigestResponse());
  v1::AsOfRequest asof;
  asof.set_date("2024-03-10");
  asof.mutable_known()->set_known_seq(24);
  asof.mutable_filter()->set_provider("1526374859");
  same_as_grpc("/v1/providers/1526374859/asof?date=2024-03-10&known_seq=24",
               &v1::Ledger::Stub::AsOf, asof, v1::AsOfResponse());
  asof.clear_filter();
  asof.mutable_filter()->set_org("1245319599");
  asof.mutable_filter()->set_payer("medicare");
  same_as_grpc(
      "/v1/orgs/1245319599/asof?date=2024-03-10&known_seq=24&payer=medicare",
      &v1::Ledger::Stub::AsOf, asof, v1::AsOfResponse());
  v1::HistoryRequest history;
  history.set_npi("1526374859");
  history.mutable_known()->set_known_seq(16);
  same_as_grpc("/v1/providers/1526374859/history?known_seq=16",
               &v1::Ledger::Stub::History, history, v1::HistoryResponse());
  v1::DiffRequest diff;
  diff.set_from("2024-01-01");
  diff.set_to("2024-12-31");
  same_as_grpc("/v1/diff?from=2024-01-01&to=2024-12-31",
               &v1::Ledger::Stub::Diff, diff, v1::DiffResponse());
  v1::StatsRequest stats;
  stats.set_date("2024-03-10");
  same_as_grpc("/v1/stats?date=2024-03-10", &v1::Ledger::Stub::Stats, stats,
               v1::StatsResponse());
  {
    v1::ClaimCheckRequest request;
    request.set_rendering_npi("1526374859");
    request.set_billing_npi("1245319599");
    request.set_payer("medicare");
    request.set_date_of_service("2024-03-10");
    request.mutable_known()->set_known_seq(24);
    v1::ClaimCheckResponse answer;
    ASSERT_TRUE(
        stub->ClaimCheck(Context(kAuditor).get(), request, &answer).ok());
    EXPECT_EQ(answer.result(), "payable");
    auto r = post("/v1/claims:check",
                  R"({"rendering_npi":"1526374859","billing_npi":"1245319599",)"
                  R"("payer":"medicare","date_of_service":"2024-03-10",)"
                  R"("known_seq":24})",
                  kAuditor);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, service::ToJson(answer) + "\n");
  }
  {
    v1::ReportRequest request;
    request.set_npi("1526374859");
    request.mutable_known()->set_known_seq(24);
    v1::ReportResponse answer;
    ASSERT_TRUE(stub->Report(Context(kAuditor).get(), request, &answer).ok());
    auto r = get("/v1/providers/1526374859/report?known_seq=24");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(r->body, answer.html());
  }
  {
    v1::DigestResponse digest;
    ASSERT_TRUE(stub->Digest(Context(kAuditor).get(), {}, &digest).ok());
    v1::VerifyDigestRequest request;
    request.set_digest(digest.digest());
    v1::VerifyResponse answer;
    ASSERT_TRUE(
        stub->VerifyDigest(Context(kAuditor).get(), request, &answer).ok());
    auto r = post("/v1/digest:verify",
                  "{\"digest\":\"" + digest.digest() + "\"}", kAuditor);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, service::ToJson(answer) + "\n");
  }
  {
    // The roster as the body (sent as a form, as curl --data-binary does).
    const std::string roster =
        ReadAll(std::string(PROVLEDGER_TEST_DATA) + "/cms_reassignment_2024-06.csv");
    v1::ReconcileReport expected;
    auto context = Context(kAuditor);
    auto call = stub->Reconcile(context.get());
    v1::ReconcileUpload part;
    part.mutable_request()->set_as_of("2024-06-01");
    part.mutable_request()->set_org("O20150101000123");
    ASSERT_TRUE(call->Write(part));
    part.set_roster_chunk(roster);
    ASSERT_TRUE(call->Write(part));
    call->WritesDone();
    v1::ReconcileReply reply;
    while (call->Read(&reply)) {
      if (reply.has_discrepancy()) *expected.add_discrepancies() = reply.discrepancy();
      if (reply.has_summary()) *expected.mutable_summary() = reply.summary();
    }
    ASSERT_TRUE(call->Finish().ok());
    ASSERT_EQ(expected.discrepancies_size(), 2);
    auto r = http.Post("/v1/rosters:reconcile?as_of=2024-06-01&org=O20150101000123",
                       headers(kAuditor), roster,
                       "application/x-www-form-urlencoded");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->body, service::ToJson(expected) + "\n");
  }
  {
    // A claims file as the body, the payer map as a parameter: the same
    // answer as the CheckClaimsFile call.
    const std::string claims =
        ReadAll(std::string(PROVLEDGER_TEST_DATA) + "/claims_2024-03.837");
    v1::ClaimsFileReport expected;
    auto context = Context(kAuditor);
    auto call = stub->CheckClaimsFile(context.get());
    v1::ClaimsFileUpload part;
    part.mutable_request()->set_claims_format("x12-837p");
    (*part.mutable_request()->mutable_payer_map())["00431"] = "medicare";
    (*part.mutable_request()->mutable_payer_map())["62308"] = "cigna";
    part.mutable_request()->mutable_known()->set_known_seq(24);
    ASSERT_TRUE(call->Write(part));
    // In two chunks, split inside a segment.
    part.set_file_chunk(claims.substr(0, 1000));
    ASSERT_TRUE(call->Write(part));
    part.set_file_chunk(claims.substr(1000));
    ASSERT_TRUE(call->Write(part));
    call->WritesDone();
    v1::ClaimsFileReply reply;
    while (call->Read(&reply)) {
      if (reply.has_line()) *expected.add_lines() = reply.line();
      if (reply.has_summary()) *expected.mutable_summary() = reply.summary();
    }
    ASSERT_TRUE(call->Finish().ok());
    ASSERT_EQ(expected.lines_size(), 14);
    EXPECT_EQ(expected.summary().known_seq(), 24u);
    EXPECT_EQ(expected.lines(0).result(), "payable");
    auto r = http.Post(
        "/v1/claims:checkFile?claims_format=x12-837p&known_seq=24&"
        "payer_map=00431:medicare,62308:cigna",
        headers(kAuditor), claims, "application/x-www-form-urlencoded");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->body, service::ToJson(expected) + "\n");
    r = http.Post("/v1/claims:checkFile?claims_format=pdf", headers(kAuditor),
                  claims, "application/x-www-form-urlencoded");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_NE(r->body.find("claims_format: 'pdf' is not a claims format (csv "
                           "or x12-837p)"),
              std::string::npos)
        << r->body;
    r = http.Post("/v1/claims:checkFile?payer_map=00431", headers(kAuditor),
                  claims, "application/x-www-form-urlencoded");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_NE(r->body.find("payer_map: '00431' is not PAYER_ID:payer"),
              std::string::npos)
        << r->body;
  }
  {
    // A page of the log: the events Read streams, `limit` at a time.
    v1::EventPage expected;
    v1::ReadRequest read;
    read.set_from_seq(20);
    auto context = Context(kAuditor);
    auto events = stub->Read(context.get(), read);
    v1::Event e;
    while (expected.events_size() < 3 && events->Read(&e)) {
      *expected.add_events() = e;
    }
    context->TryCancel();
    events->Finish();
    expected.set_next_seq(23);
    auto r = get("/v1/events?from_seq=20&limit=3");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, service::ToJson(expected) + "\n");
    r = get("/v1/events?from_seq=25");
    ASSERT_TRUE(r);
    EXPECT_TRUE(absl::EndsWith(r->body, "],\"next_seq\":\"27\"}\n")) << r->body;
    r = get("/v1/events?limit=0");
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(r->body,
              "{\"code\":\"INVALID_ARGUMENT\",\"message\":\"limit: '0' is "
              "not a number from 1 to 10000\"}\n");
  }
  // The error statuses, each with its JSON body.
  {
    auto r = http.Get("/v1/digest");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(r->body,
              "{\"code\":\"UNAUTHENTICATED\",\"message\":\"no token: send the "
              "header 'authorization: Bearer \\u003ctoken\\u003e'\"}\n");
    r = get("/v1/digest", "not-a-token");
    EXPECT_EQ(r->status, 401);
    r = get("/v1/asof?date=2024-02-30");
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(r->body,
              "{\"code\":\"INVALID_ARGUMENT\",\"message\":\"date: '2024-02-30' "
              "is not a real calendar day\"}\n");
    r = get("/v1/asof?date=2024-03-10&colour=blue");
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(r->body,
              "{\"code\":\"INVALID_ARGUMENT\",\"message\":\"'colour' is not a "
              "parameter of this call\"}\n");
    r = get("/v1/asof?date=2024-03-10&known_seq=-1");
    EXPECT_EQ(r->status, 400);
    r = get("/v1/nothing");
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(r->body,
              "{\"code\":\"NOT_FOUND\",\"message\":\"no call GET "
              "/v1/nothing\"}\n");
  }
  const std::string event =
      service::ToJson(Sent(Credentialed("http-1", "2024-05-01", kDrA)));
  {
    auto r = post("/v1/events:append", "{\"events\":[" + event + "]}", kAuditor);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403);
    EXPECT_EQ(r->body,
              "{\"code\":\"PERMISSION_DENIED\",\"message\":\"Append needs the "
              "writer role; auditor1 is an auditor\"}\n");
    r = post("/v1/events:append", "{\"events\":[" + event + "]}", kWriter);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_TRUE(absl::StartsWith(r->body, "{\"appended\":1,")) << r->body;
    // The same event_id with other content: 409 naming the event.
    const std::string other =
        service::ToJson(Sent(Credentialed("http-1", "2024-06-01", kDrA)));
    r = post("/v1/events:append", "{\"events\":[" + other + "]}", kWriter);
    EXPECT_EQ(r->status, 409);
    EXPECT_TRUE(absl::StrContains(
        r->body, "\"event_error\":{\"index\":0,\"field\":\"event_id\","
                 "\"code\":\"DUPLICATE_EVENT_ID\"}"))
        << r->body;
    // A stale expected version: 409 too (ABORTED).
    r = post("/v1/events:append",
             "{\"events\":[" +
                 service::ToJson(Sent(Credentialed("http-2", "2024-05-01", kDrA))) +
                 "],\"expected\":{\"npi\":\"" + kDrA + "\",\"version\":\"3\"}}",
             kWriter);
    EXPECT_EQ(r->status, 409);
    EXPECT_TRUE(absl::StartsWith(r->body, "{\"code\":\"ABORTED\"")) << r->body;
    // A revocation of a reassignment that does not exist: 412.
    r = post("/v1/events:append",
             "{\"events\":[" +
                 service::ToJson(Sent(Revoked("rv", "2024-05-01", kDrB, kGroupY))) +
                 "]}",
             kWriter);
    EXPECT_EQ(r->status, 412);
    EXPECT_TRUE(absl::StartsWith(r->body, "{\"code\":\"FAILED_PRECONDITION\""))
        << r->body;
    // Bad JSON: 400 naming the body.
    r = post("/v1/events:append", "{\"events\":[{\"nope\":1}]}", kWriter);
    EXPECT_EQ(r->status, 400);
    EXPECT_TRUE(absl::StartsWith(
        r->body, "{\"code\":\"INVALID_ARGUMENT\",\"message\":\"body: "))
        << r->body;    // A key given twice is refused, not resolved by the last one.
    r = post("/v1/events:append",
             "{\"events\":[{\"event_id\":\"a\",\"event_id\":\"b\"}]}", kWriter);
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(r->body,
              "{\"code\":\"INVALID_ARGUMENT\",\"message\":\"body: "
              "events.event_id: is given twice (give each field once)\"}\n");
  }
  // Recorded under the writer's identity.
  EXPECT_EQ(IdsAndActorsFrom(*stub, 27, kAuditor),
            (std::vector<std::string>{"http-1 clerk"}));
  EXPECT_EQ(server.Stop(), 0);
}

TEST_F(ServerTest, TheCliSendsItsTokenFileAndNamesWhatTheRoleAllows) {
  Server server({"--db", db_, "--tokens", WriteTokens()},
                dir_.Sub("server.err"));
  ASSERT_NE(server.address(), "") << ReadAll(dir_.Sub("server.err"));
  const std::string token_file = dir_.Sub("auditor.token");
  std::ofstream(token_file) << kAuditor << "\n";
  chmod(token_file.c_str(), 0600);
  const std::string as_auditor =
      absl::StrCat("--server ", server.address(), " --token-file ", token_file);
  const CliRun full = RunCli(dir_, absl::StrCat(as_auditor, " verify"));
  EXPECT_EQ(full.exit_code, 1);
  EXPECT_EQ(full.out, "");
  EXPECT_EQ(full.err,
            "provledger: Verify needs the admin role; auditor1 is an auditor "
            "(verify --chain-only, with or without --digest, is open to any "
            "reader)\n");
  const CliRun chain =
      RunCli(dir_, absl::StrCat(as_auditor, " verify --chain-only"));
  EXPECT_EQ(chain.exit_code, 0) << chain.err;
  EXPECT_TRUE(absl::StartsWith(chain.out, "hash chain verified: 26 event(s)\n"))
      << chain.out;
  const CliRun anonymous = RunCli(
      dir_, absl::StrCat("--server ", server.address(), " verify --chain-only"));
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_EQ(anonymous.err,
            "provledger: no token: send the metadata 'authorization: Bearer "
            "<token>'\n");
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace provledger
