// provledger-bench --server: provledgerd on loopback, next to same-run
// in-process baselines: appends against raw synced RocksDB writes from as
// many threads, claim checks and log reads against the same calls made in
// the process, and a subscription's live delivery lag.
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "ledger/date.h"
#include "ledger/knowledge_point.h"
#include "ledger/ledger.h"
#include "provledger/v1/service.grpc.pb.h"
#include "rocksdb/db.h"
#include "tools/bench/bench.h"
#include "tools/generator.h"
#include "tools/server/process.h"
#include "tools/service/service.h"

namespace provledger {
namespace {

// The server of the run, killed if the benchmark dies.
server::ServerProcess* running_server = nullptr;

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "bench: " << what << "\n";
  if (running_server != nullptr) running_server->Kill();
  std::exit(1);
}

// A client of its own: a channel with its own connection, as a separate
// program would have, connected before it is timed.
std::unique_ptr<v1::Ledger::Stub> NewClient(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(
      address, grpc::InsecureChannelCredentials(), args);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 std::chrono::seconds(20))) {
    Die(absl::StrCat("cannot connect to provledgerd at ", address));
  }
  return v1::Ledger::NewStub(channel);
}

std::unique_ptr<grpc::ClientContext> CallContext() {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  // A connection that drops is made again within the deadline.
  c->set_wait_for_ready(true);
  return c;
}

// A random claim: a provider, an organization, a date in the history.
v1::ClaimCheckRequest RandomClaim(const Generator& gen, std::mt19937_64& rng) {
  v1::ClaimCheckRequest claim;
  claim.set_rendering_npi(gen.ProviderNpi(
      std::uniform_int_distribution<uint64_t>(0, gen.providers() - 1)(rng)));
  claim.set_billing_npi(gen.OrgNpi(
      std::uniform_int_distribution<uint64_t>(0, gen.orgs() - 1)(rng)));
  claim.set_payer("medicare");
  claim.set_date_of_service(FormatDate(std::uniform_int_distribution<DayNumber>(
      gen.first_day(), gen.last_day())(rng)));
  return claim;
}

// A credentialing event of a random existing provider: always accepted.
v1::Event Credentialing(const Generator& gen, std::mt19937_64& rng,
                        std::string event_id) {
  v1::Event e;
  e.set_event_id(std::move(event_id));
  e.set_effective_date("2024-01-01");
  e.set_source("bench");
  e.mutable_credentialed()->set_npi(gen.ProviderNpi(
      std::uniform_int_distribution<uint64_t>(0, gen.providers() - 1)(rng)));
  e.mutable_credentialed()->set_payer("medicare");
  return e;
}

// `threads` threads each timing `calls` calls of call(t, rng): the
// seconds for all, and each call's microseconds in *us.
double TimedCalls(int threads, uint64_t calls, uint64_t seed,
                  const std::function<void(int, std::mt19937_64&)>& call,
                  std::vector<double>* us) {
  std::mutex mu;
  return RunThreads(threads, [&](int t) {
    std::mt19937_64 rng(seed + t);
    std::vector<double> mine;
    for (uint64_t i = 0; i < calls; ++i) {
      auto start = Clock::now();
      call(t, rng);
      mine.push_back(Seconds(Clock::now() - start) * 1e6);
    }
    std::lock_guard<std::mutex> lock(mu);
    us->insert(us->end(), mine.begin(), mine.end());
  });
}

// Counts down to zero; Wait() returns then.
class Latch {
 public:
  explicit Latch(int n) : left_(n) {}
  void CountDown() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--left_ == 0) cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return left_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int left_;
};

// One client's appends: `count` one-event batches made by make(i), one in
// flight, each sent when the one before is acknowledged, as Append calls or
// over one AppendStream. Driven by gRPC's callback API, as a client
// program would be on a machine of its own: no thread of this process
// waits for a reply, so the load generator takes as little as it can of
// the cores it shares with the server. Counts `finished` down at the end;
// then us holds each acknowledgement's microseconds and error what went
// wrong ("" if nothing).
class AppendClient final
    : public grpc::ClientBidiReactor<v1::AppendRequest, v1::AppendStreamReply> {
 public:
  AppendClient(v1::Ledger::Stub* stub, bool over_stream, uint64_t count,
               std::function<v1::AppendRequest(uint64_t)> make,
               Latch* finished)
      : stub_(stub),
        over_stream_(over_stream),
        count_(count),
        make_(std::move(make)),
        finished_(finished) {
    us.reserve(count);
  }

  void Start() {
    if (!over_stream_) {
      SendCall();
      return;
    }
    context_ = CallContext();
    stub_->async()->AppendStream(context_.get(), this);
    StartCall();
    SendOnStream();
  }

  std::vector<double> us;
  std::string error;

 private:
  void SendCall() {
    if (sent_ == count_) {
      finished_->CountDown();
      return;
    }
    request_ = make_(sent_++);
    context_ = CallContext();
    start_ = Clock::now();
    stub_->async()->Append(context_.get(), &request_, &response_,
                           [this](grpc::Status status) {
                             us.push_back(Seconds(Clock::now() - start_) * 1e6);
                             if (!status.ok()) {
                               error = status.error_message();
                               finished_->CountDown();
                               return;
                             }
                             SendCall();
                           });
  }

  // The next batch once the last one's write and reply are both done (a
  // stream has one write in flight at a time).
  void SendOnStream() {
    if (sent_ == count_) {
      StartWritesDone();
      return;
    }
    request_ = make_(sent_++);
    pending_ = 2;
    start_ = Clock::now();
    StartRead(&reply_);
    StartWrite(&request_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      error = "the stream ended";
      return;  // OnReadDone fails too, and OnDone ends
    }
    if (--pending_ == 0) SendOnStream();
  }
  void OnReadDone(bool ok) override {
    if (!ok) {
      if (error.empty()) error = "the stream ended";
      return;
    }
    us.push_back(Seconds(Clock::now() - start_) * 1e6);
    if (reply_.has_error()) {
      error = reply_.error().message();
      StartWritesDone();
      return;
    }
    if (--pending_ == 0) SendOnStream();
  }
  void OnDone(const grpc::Status& status) override {
    if (!status.ok() && error.empty()) error = status.error_message();
    finished_->CountDown();
  }

  v1::Ledger::Stub* const stub_;
  const bool over_stream_;
  const uint64_t count_;
  const std::function<v1::AppendRequest(uint64_t)> make_;
  Latch* const finished_;
  std::unique_ptr<grpc::ClientContext> context_;
  v1::AppendRequest request_;
  v1::AppendResponse response_;
  v1::AppendStreamReply reply_;
  uint64_t sent_ = 0;
  std::atomic<int> pending_{0};
  Clock::time_point start_;
};

// One-event credentialing batches (always accepted) from `clients`
// clients of the server, alternating in rounds with the raw baseline of as
// many threads.
// With `over_stream`, each client sends its batches over one AppendStream
// (one in flight) instead of an Append call each.
void Appends(const std::string& address, const Generator& gen, int clients,
             uint64_t per_client, uint64_t run_id, bool over_stream,
             const std::string& raw_dir, Result* res) {
  const int kRounds = per_client >= 16 ? 4 : 1;
  const std::string prefix = absl::StrCat(
      over_stream ? "server_append_stream_" : "server_append_", clients, "c_");
  std::filesystem::remove_all(raw_dir);
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(options, raw_dir, &raw).ok()) Die("raw baseline");
  std::unique_ptr<rocksdb::DB> db(raw);
  std::vector<std::unique_ptr<v1::Ledger::Stub>> stubs;
  for (int c = 0; c < clients; ++c) stubs.push_back(NewClient(address));
  std::vector<double> ack_us, raw_us;
  double secs = 0, raw_secs = 0;
  uint64_t bytes = 0;
  for (int round = 0; round < kRounds; ++round) {
    const uint64_t first = round * per_client / kRounds;
    const uint64_t last = (round + 1) * per_client / kRounds;
    std::vector<std::mt19937_64> rngs;
    for (int c = 0; c < clients; ++c) {
      rngs.emplace_back(2000 + c + round * clients + (over_stream ? 7919 : 0));
    }
    // The batches are made before the clock starts.
    std::vector<std::vector<v1::AppendRequest>> requests(clients);
    for (int c = 0; c < clients; ++c) {
      for (uint64_t i = first; i < last; ++i) {
        v1::AppendRequest& request = requests[c].emplace_back();
        *request.add_events() = Credentialing(
            gen, rngs[c],
            absl::StrCat("bench-server-", run_id, over_stream ? "-s" : "-",
                         clients, "-", c, "-", i));
        bytes += request.events(0).ByteSizeLong();
      }
    }
    Latch finished(clients);
    std::vector<std::unique_ptr<AppendClient>> workers;
    for (int c = 0; c < clients; ++c) {
      workers.push_back(std::make_unique<AppendClient>(
          stubs[c].get(), over_stream, last - first,
          [&requests, c](uint64_t i) { return std::move(requests[c][i]); },
          &finished));
    }
    const auto start = Clock::now();
    for (auto& worker : workers) worker->Start();
    finished.Wait();
    secs += Seconds(Clock::now() - start);
    for (auto& worker : workers) {
      if (!worker->error.empty()) {
        Die(absl::StrCat(over_stream ? "server append stream: "
                                     : "server append: ",
                         worker->error));
      }
      ack_us.insert(ack_us.end(), worker->us.begin(), worker->us.end());
    }
    raw_secs += RawSyncedPuts(db.get(), clients, first, last,
                              bytes / std::max<size_t>(1, ack_us.size()),
                              &raw_us);
  }
  db.reset();
  std::filesystem::remove_all(raw_dir);
  const double rate = ack_us.size() / secs;
  const double raw_rate = raw_us.size() / raw_secs;
  res->Add(prefix + "events_per_s", rate);
  res->Add(prefix + "ack_p50_us", Percentile(ack_us, 0.5));
  res->Add(prefix + "ack_p99_us", Percentile(ack_us, 0.99));
  res->Add(prefix + "baseline_writes_per_s", raw_rate);
  res->Add(prefix + "ratio", rate / raw_rate);
}

}  // namespace

void ServerBench(const std::string& provledgerd, const std::string& db_dir,
                 const std::string& work_dir, const Generator& gen, bool quick,
                 size_t timeline_cache_mb, bool appends_only, Result* res) {
  constexpr int kClaimClients = 16;
  const uint64_t claims_each = quick ? 200 : 2000;
  uint64_t head = 0;
  // The in-process baselines, on the same ledger with the same cache,
  // before the server takes it: claim checks from as many threads, and the
  // whole log read.
  if (!appends_only) {
    LedgerOptions options;
    options.timeline_cache_mb = timeline_cache_mb;
    auto ledger = Ledger::Open(options, db_dir);
    if (!ledger.ok()) Die(std::string(ledger.status().message()));
    if (!(*ledger)->WarmTimelines().ok()) Die("warming the timelines");
    head = (*ledger)->head().seq;
    std::vector<double> us;
    const double secs = TimedCalls(
        kClaimClients, claims_each, 3000,
        [&](int, std::mt19937_64& rng) {
          // Each claim from a view of its own, as the server answers one.
          auto answer = service::QueryService((*ledger)->View())
                            .ClaimCheck(RandomClaim(gen, rng));
          if (!answer.ok()) Die(std::string(answer.status().message()));
        },
        &us);
    res->Add("inprocess_claim_check_16t_per_s", us.size() / secs);
    res->Add("inprocess_claim_check_16t_p99_us", Percentile(us, 0.99));
    auto start = Clock::now();
    auto view = (*ledger)->View();
    uint64_t read = 0;
    for (auto it = view->Read(1); it->Valid(); it->Next()) ++read;
    res->Add("inprocess_read_events_per_s",
             read / Seconds(Clock::now() - start));
  }

  server::ServerProcess server(
      provledgerd,
      {"--db", db_dir, "--timeline-cache-mb", absl::StrCat(timeline_cache_mb)},
      work_dir + "/provledgerd.err");
  if (server.address().empty()) {
    Die(absl::StrCat("provledgerd did not start; see ", work_dir,
                     "/provledgerd.err"));
  }
  const std::string address = server.address();
  running_server = &server;
  if (appends_only) {
    // The run's event ids start from the head, as in a full run.
    v1::DigestResponse digest;
    if (!NewClient(address)->Digest(CallContext().get(), {}, &digest).ok()) {
      Die("digest");
    }
    head = digest.seq();
  }

  // Claim checks from one client, one after another (the floor of a call's
  // latency), then from 16 clients at once.
  if (!appends_only) {
    std::vector<std::unique_ptr<v1::Ledger::Stub>> stubs;
    for (int c = 0; c < kClaimClients; ++c) stubs.push_back(NewClient(address));
    auto check = [&](int t, std::mt19937_64& rng) {
      v1::ClaimCheckResponse answer;
      grpc::Status s = stubs[t]->ClaimCheck(CallContext().get(),
                                            RandomClaim(gen, rng), &answer);
      if (!s.ok()) Die(absl::StrCat("server claim check: ", s.error_message()));
    };
    std::vector<double> one;
    TimedCalls(1, claims_each, 5000, check, &one);
    res->Add("server_claim_check_1c_p50_us", Percentile(one, 0.5));
    res->Add("server_claim_check_1c_p99_us", Percentile(one, 0.99));
    // The claims of the in-process run.
    std::vector<double> us;
    const double secs = TimedCalls(kClaimClients, claims_each, 3000, check, &us);
    res->Add("server_claim_check_16c_per_s", us.size() / secs);
    res->Add("server_claim_check_16c_p50_us", Percentile(us, 0.5));
    res->Add("server_claim_check_16c_p99_us", Percentile(us, 0.99));
    // The same claims over one ClaimChecks stream per client: a billing
    // system checking a day's claims.
    std::atomic<uint64_t> answered{0};
    const double stream_secs = RunThreads(kClaimClients, [&](int t) {
      std::mt19937_64 rng(3000 + t);
      auto context = CallContext();
      auto call = stubs[t]->ClaimChecks(context.get());
      std::thread send([&] {
        for (uint64_t i = 0; i < claims_each; ++i) {
          if (!call->Write(RandomClaim(gen, rng))) break;
        }
        call->WritesDone();
      });
      v1::ClaimCheckResult result;
      while (call->Read(&result)) {
        if (!result.has_answer()) Die("server claim checks: an error");
        ++answered;
      }
      send.join();
      if (!call->Finish().ok()) Die("server claim checks");
    });
    res->Add("server_claim_checks_stream_16c_per_s", answered / stream_secs);
    // Over the same 16 streams, one claim in flight each: a claim's
    // latency when the connection's stream is already open, as a billing
    // system that keeps one open sees it.
    std::vector<double> stream_us;
    std::mutex mu;
    const double one_secs = RunThreads(kClaimClients, [&](int t) {
      std::mt19937_64 rng(4000 + t);
      auto context = CallContext();
      auto call = stubs[t]->ClaimChecks(context.get());
      std::vector<double> mine;
      v1::ClaimCheckResult result;
      for (uint64_t i = 0; i < claims_each; ++i) {
        const v1::ClaimCheckRequest claim = RandomClaim(gen, rng);
        auto start = Clock::now();
        if (!call->Write(claim) || !call->Read(&result)) {
          Die("server claim checks: the stream ended");
        }
        mine.push_back(Seconds(Clock::now() - start) * 1e6);
        if (!result.has_answer()) Die("server claim checks: an error");
      }
      call->WritesDone();
      if (!call->Finish().ok()) Die("server claim checks");
      std::lock_guard<std::mutex> lock(mu);
      stream_us.insert(stream_us.end(), mine.begin(), mine.end());
    });
    res->Add("server_claim_checks_stream_1each_16c_per_s",
             stream_us.size() / one_secs);
    res->Add("server_claim_checks_stream_1each_16c_p50_us",
             Percentile(stream_us, 0.5));
    res->Add("server_claim_checks_stream_1each_16c_p99_us",
             Percentile(stream_us, 0.99));
  }

  // A subscription catching up on the whole log.
  if (!appends_only) {
    auto stub = NewClient(address);
    v1::SubscribeRequest request;
    request.set_from_seq(1);
    auto context = CallContext();
    auto start = Clock::now();
    auto stream = stub->Subscribe(context.get(), request);
    v1::SubscribeResponse item;
    uint64_t seen = 0;
    while (seen < head && stream->Read(&item)) {
      if (item.has_event()) seen = item.event().seq();
    }
    const double secs = Seconds(Clock::now() - start);
    context->TryCancel();
    stream->Finish();
    res->Add("server_subscribe_catchup_events_per_s", seen / secs);
  }

  // Appends from 1, 16 and 64 clients.
  uint64_t run_id = head;
  for (bool over_stream : {false, true}) {
    for (int clients : {1, 16, 64}) {
      const uint64_t total = quick ? 512 : 4096;
      Appends(address, gen, clients, std::max<uint64_t>(1, total / clients),
              run_id, over_stream, work_dir + "/raw-server", res);
    }
  }

  // Live delivery: a subscriber at the head while 16 clients append; the
  // lag of each event from its recorded_at (set as its batch is judged,
  // before the fsync) to its arrival.
  {
    v1::DigestResponse digest;
    auto stub = NewClient(address);
    if (!stub->Digest(CallContext().get(), {}, &digest).ok()) Die("digest");
    const uint64_t from = digest.seq() + 1;
    constexpr int kWriters = 16;
    const uint64_t each = quick ? 16 : 64;
    const uint64_t expected = kWriters * each;
    v1::SubscribeRequest request;
    request.set_from_seq(from);
    auto context = CallContext();
    auto stream = stub->Subscribe(context.get(), request);
    std::vector<double> lag_us;
    std::thread subscriber([&] {
      v1::SubscribeResponse item;
      while (lag_us.size() < expected && stream->Read(&item)) {
        if (!item.has_event()) continue;
        const absl::Duration lag =
            absl::Now() - ToAbslTime(item.event().recorded_at());
        lag_us.push_back(absl::ToDoubleMicroseconds(lag));
      }
    });
    std::vector<std::unique_ptr<v1::Ledger::Stub>> writers;
    for (int c = 0; c < kWriters; ++c) writers.push_back(NewClient(address));
    RunThreads(kWriters, [&](int c) {
      std::mt19937_64 rng(4000 + c);
      for (uint64_t i = 0; i < each; ++i) {
        v1::AppendRequest append;
        *append.add_events() = Credentialing(
            gen, rng, absl::StrCat("bench-live-", from, "-", c, "-", i));
        v1::AppendResponse reply;
        if (!writers[c]->Append(CallContext().get(), append, &reply).ok()) {
          Die("live append");
        }
      }
    });
    subscriber.join();
    context->TryCancel();
    stream->Finish();
    res->Add("server_live_lag_p50_us", Percentile(lag_us, 0.5));
    res->Add("server_live_lag_p99_us", Percentile(lag_us, 0.99));
  }
  const int stopped = server.Stop();
  running_server = nullptr;
  if (stopped != 0) Die("provledgerd did not stop cleanly");
}

}  // namespace provledger
