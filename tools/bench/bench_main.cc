// provledger-bench: the project's benchmark. Every throughput figure comes
// with a raw-RocksDB baseline measured in the same run on the same machine,
// and is reported as a ratio to it. Prints a table, and with --json one JSON
// object on the last line.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ledger/internal/coding.h"
#include "ledger/internal/raw_access.h"
#include "ledger/ledger.h"
#include "projections/query.h"
#include "projections/reconcile.h"
#include "rocksdb/db.h"
#include "rocksdb/perf_context.h"
#include "rocksdb/perf_level.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "tools/bench/bench.h"
#include "tools/cli.h"
#include "tools/generator.h"
#include "tools/server/grpc_service.h"

namespace provledger {
namespace {

using v1::Event;

struct Flags {
  uint64_t providers = 100000;
  uint64_t orgs = 0;
  int payers = 3;
  int years = 8;
  uint64_t seed = 1;
  bool quick = false;
  bool json = false;
  std::string dir;
  uint64_t sync_events = 500000;
  uint64_t samples = 20000;
  uint64_t roster_rows = 3500000;
  uint64_t claim_lines = 1000000;
  uint64_t nppes_rows = 8000000;
  bool nppes_only = false;
  bool keep = false;
  bool reuse = false;
  bool skip_rebuild = false;
  bool concurrent_only = false;
  bool reconcile_only = false;
  bool compact = true;
  size_t block_cache_mb = LedgerOptions().block_cache_mb;
  // At 1M providers the timelines' compressed blocks (350 MB, 1.0 GB of
  // entries) all fit, and the run's peak memory stays under 2 GiB.
  size_t timeline_cache_mb = 512;
  bool server = false;
  std::string provledgerd;  // "" beside this binary's build
};

// Resident memory now (peak_rss_mb is the whole run's high-water mark).
double RssMb() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * sysconf(_SC_PAGESIZE) / (1 << 20);
}

double PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

// Commit groups of every ledger the bench opens (for the concurrent
// appends' group sizes).
std::atomic<uint64_t> commit_groups{0}, commit_batches{0}, commit_us{0};

LedgerOptions OptionsFrom(const Flags& f) {
  LedgerOptions options;
  options.block_cache_mb = f.block_cache_mb;
  options.timeline_cache_mb = f.timeline_cache_mb;
  options.on_commit = [](const CommitStats& stats) {
    ++commit_groups;
    commit_batches += stats.batches;
    commit_us += absl::ToInt64Microseconds(stats.duration);
  };
  return options;
}

std::unique_ptr<Ledger> OpenFresh(const std::string& path, const Flags& f) {
  std::filesystem::remove_all(path);
  LedgerOptions options = OptionsFrom(f);
  options.create_if_missing = true;
  auto l = Ledger::Open(options, path);
  if (!l.ok()) {
    std::cerr << "bench: " << l.status() << "\n";
    std::exit(1);
  }
  return std::move(*l);
}

// Appends up to `limit` generated events in batches of 1000; returns the
// time spent inside Append and the stored bytes of the events.
double Ingest(Ledger& ledger, const GeneratorOptions& g, uint64_t limit,
              bool sync, uint64_t* events, uint64_t* value_bytes) {
  Generator gen(g);
  std::vector<Event> batch;
  AppendOptions options;
  options.sync = sync;
  Clock::duration spent{};
  *events = 0;
  *value_bytes = 0;
  const uint64_t report_every = 1000000;
  while (*events < limit && gen.Next(std::min<uint64_t>(1000, limit - *events),
                                     &batch)) {
    auto start = Clock::now();
    auto r = ledger.Append(batch, options);
    spent += Clock::now() - start;
    if (!r.ok()) {
      std::cerr << "bench: generated event refused: " << r.status() << "\n";
      std::exit(1);
    }
    for (const Event& e : batch) *value_bytes += e.ByteSizeLong() + 32;
    uint64_t before = *events;
    *events += batch.size();
    if (before / report_every != *events / report_every) {
      std::fprintf(stderr, "    ... %llu events\n",
                   static_cast<unsigned long long>(*events));
    }
    batch.clear();
  }
  return Seconds(spent);
}

// Raw RocksDB: `count` puts of `value_size` bytes, batches of 1000, keyed by
// big-endian counter, with the ledger's table options.
double Baseline(const std::string& path, uint64_t count, size_t value_size,
                bool sync) {
  std::filesystem::remove_all(path);
  rocksdb::Options options;
  options.create_if_missing = true;
  options.compression = rocksdb::kLZ4Compression;
  options.write_buffer_size = 32 << 20;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(options, path, &raw).ok()) std::exit(1);
  std::unique_ptr<rocksdb::DB> db(raw);
  std::mt19937_64 rng(7);
  std::string value(value_size, 'x');
  for (char& c : value) c = static_cast<char>(rng());
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  Clock::duration spent{};
  for (uint64_t i = 0; i < count;) {
    rocksdb::WriteBatch wb;
    for (int k = 0; k < 1000 && i < count; ++k, ++i) {
      value[i % value_size] ^= 1;  // defeat trivial compression
      wb.Put(EncodeSeq(i + 1), value);
    }
    auto start = Clock::now();
    if (!db->Write(wo, &wb).ok()) std::exit(1);
    spent += Clock::now() - start;
  }
  db.reset();
  std::filesystem::remove_all(path);
  return Seconds(spent);
}

// Raw scan of the ledger's events column family plus one put per event
// into a scratch database.
double ScanPutBaseline(const Ledger& ledger, const std::string& path) {
  std::filesystem::remove_all(path);
  rocksdb::Options options;
  options.create_if_missing = true;
  options.compression = rocksdb::kLZ4Compression;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(options, path, &raw).ok()) std::exit(1);
  std::unique_ptr<rocksdb::DB> db(raw);
  auto start = Clock::now();
  // Read as the rebuild reads the log.
  rocksdb::ReadOptions scan;
  scan.fill_cache = false;
  scan.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(
      LedgerInternals::Db(ledger)->NewIterator(scan, LedgerInternals::EventsCf(ledger)));
  rocksdb::WriteBatch wb;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    wb.Put(it->key(), it->value());
    if (wb.Count() == 20000) {
      db->Write(rocksdb::WriteOptions(), &wb);
      wb.Clear();
    }
  }
  db->Write(rocksdb::WriteOptions(), &wb);
  double s = Seconds(Clock::now() - start);
  db.reset();
  std::filesystem::remove_all(path);
  return s;
}

// A CMS-format Medicare roster written from the ledger's own reassignments
// in effect on `day` (at most `max_rows` rows), as a payer that mostly
// agrees would send it: the groups' and providers' real enrollment ids,
// names and states, with about 2% of each discrepancy the reconcile finds.
// By a hash of the provider (so that a provider's rows agree with each
// other): a changed last name (NAME_MISMATCH), a changed state
// (STATE_MISMATCH), a revalidation due within 90 days (REVALIDATION_DUE).
// By row: the row left out (MISSING_AT_PAYER), a second row naming a group
// the provider has no reassignment to (STALE_AT_PAYER), a row for a
// provider the ledger does not know (UNKNOWN_PROVIDER). Returns the rows
// written.
constexpr int kRosterDueWithinDays = 90;
uint64_t WriteRoster(const std::string& path, const Ledger& ledger,
                     const Generator& gen, DayNumber day, uint64_t max_rows) {
  std::ofstream out(path, std::ios::binary);
  out << "Group PAC ID,Group Enrollment ID,Group Legal Business Name,Group "
         "State Code,Group Due Date,Group Reassignments and Physician "
         "Assistants,Record Type,Individual PAC ID,Individual Enrollment "
         "ID,Individual NPI,Individual First Name,Individual Last "
         "Name,Individual State Code,Individual Specialty "
         "Description,Individual Due Date,Individual Total Employer "
         "Associations\r\n";
  Queries q(&ledger);
  auto us_date = [](DayNumber d) {
    const absl::CivilDay c = ToCivilDay(d);
    return absl::StrFormat("%02d/%02d/%04d", c.month(), c.day(), c.year());
  };
  const std::string far_due = us_date(day + 1000);
  const std::string near_due = us_date(day + kRosterDueWithinDays / 3);
  std::map<std::string, Queries::Identity> orgs;
  auto org_identity = [&](const std::string& npi) -> const Queries::Identity& {
    auto it = orgs.find(npi);
    if (it == orgs.end()) {
      auto id = q.IdentityOn(npi, "medicare", day, kHeadSeq);
      it = orgs.emplace(npi, id.ok() ? *id : Queries::Identity()).first;
    }
    return it->second;
  };
  uint64_t written = 0, listed = 0, unknown = 0;
  auto write = [&](const Queries::Identity& org, const std::string& npi,
                   const Queries::Identity& ind, const std::string& last,
                   const std::string& state, const std::string& due) {
    out << org.pac_id << "," << org.enrollment_id << ",\"" << org.legal_name
        << "\"," << org.state << "," << far_due << ",3,Reassignment,"
        << ind.pac_id << "," << ind.enrollment_id << "," << npi << ","
        << ind.first_name << "," << last << "," << state
        << ",Family Practice," << due << ",1\r\n";
    ++written;
  };
  absl::Status status = q.ForEachReassignmentOn(
      day, kHeadSeq, {"", "", "medicare"}, [&](const ReassignmentRow& r) {
        if (written >= max_rows) return;
        const uint64_t row = listed++;
        if (row % 50 == 0) return;  // MISSING_AT_PAYER
        auto ind = q.IdentityOn(r.provider, "medicare", day, kHeadSeq);
        if (!ind.ok()) return;
        const uint64_t who = std::hash<std::string>()(r.provider) % 50;
        write(org_identity(r.org), r.provider, *ind,
              who == 1 ? ind->last_name + "-SMITH" : ind->last_name,
              who == 2 ? std::string(ind->state == "ZZ" ? "YY" : "ZZ")
                       : ind->state,
              who == 3 ? near_due : far_due);
        if (row % 50 == 4 && written < max_rows) {
          // A group this provider never reassigned to (the next one).
          const std::string other = gen.OrgNpi(
              (std::stoull(r.org.substr(1, 8)) + 1) % gen.orgs());
          write(org_identity(other), r.provider, *ind, ind->last_name,
                ind->state, far_due);
        }
        if (row % 50 == 5 && written < max_rows) {
          Queries::Identity stranger = *ind;
          stranger.enrollment_id.clear();
          stranger.pac_id.clear();
          write(org_identity(r.org),
                gen.ProviderNpi(gen.providers() + unknown++), stranger,
                "UNKNOWN", ind->state, far_due);
        }
      });
  if (!status.ok()) {
    std::cerr << "bench: listing reassignments failed: " << status << "\n";
    std::exit(1);
  }
  return written;
}

// A streamed reconcile of a national-size roster written from the ledger.
void ReconcileBench(const Ledger& ledger, const Generator& gen,
                    DayNumber snapshot_day, const std::string& dir,
                    uint64_t roster_rows, Result* res) {
  const std::string roster_path = dir + "/roster.csv";
  const uint64_t rows =
      WriteRoster(roster_path, ledger, gen, snapshot_day, roster_rows);
  {
    std::ifstream in(roster_path, std::ios::binary);
    ReconcileOptions ro;
    ro.as_of = snapshot_day;
    ro.due_within_days = kRosterDueWithinDays;
    uint64_t found = 0;
    auto start = Clock::now();
    auto s = Reconcile(*ledger.View(), in, ro, [&](const Discrepancy&) { ++found; });
    double secs = Seconds(Clock::now() - start);
    res->Add("reconcile_rows", rows);
    res->Add("reconcile_s", secs);
    res->Add("reconcile_rows_per_s", rows / secs);
    res->Add("reconcile_discrepancies", found);
    if (s.ok()) {
      res->Add("reconcile_matched", s->matched);
      for (const auto& [code, n] : s->by_code) {
        res->Add("reconcile_" + code, n);
      }
    } else {
      std::cerr << "bench: reconcile failed: " << s.status() << "\n";
    }
  }
  std::filesystem::remove(roster_path);
}

// Reads the timelines into the timeline cache, as a query service does when
// it starts.
void Warm(const Ledger& ledger, const std::string& prefix, Result* res) {
  auto start = Clock::now();
  auto warmed = ledger.WarmTimelines();
  if (!warmed.ok()) {
    std::cerr << "bench: warming the timelines failed: " << warmed.status()
              << "\n";
  }
  res->Add(prefix + "warm_s", Seconds(Clock::now() - start));
  res->Add(prefix + "warm_mb", warmed.ok() ? *warmed / 1e6 : 0);
  res->Add(prefix + "timeline_cache_used_mb",
           ledger.timeline_cache_usage() / 1e6);
}

// Times single-provider point-in-time queries (head knowledge and a random
// earlier knowledge point) and claim checks on random providers, dates and
// organizations; figure names start with `prefix`.
void MeasureQueries(const Ledger& ledger, const Generator& gen,
                    uint64_t samples, uint64_t seed, const std::string& prefix,
                    Result* res) {
  Queries q(&ledger);
  std::mt19937_64 rng(seed);
  auto rand_day = [&] {
    return std::uniform_int_distribution<DayNumber>(gen.first_day(),
                                                    gen.last_day())(rng);
  };
  auto rand_provider = [&] {
    return gen.ProviderNpi(
        std::uniform_int_distribution<uint64_t>(0, gen.providers() - 1)(rng));
  };
  const uint64_t head = ledger.head().seq;
  std::vector<double> head_us, known_us, claim_us, verified_us;
  // Data blocks read from files (not found in the block cache), counted by
  // RocksDB's per-thread perf context: what a query's tail is made of.
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  uint64_t head_blocks = 0, claim_blocks = 0;
  auto blocks_read = [] {
    return rocksdb::get_perf_context()->block_read_count;
  };
  std::vector<std::pair<std::string, std::string>> pairs;
  // The same-phase baseline: a raw RocksDB point read of one timeline (a
  // random provider's Medicare enrollment, which every generated provider
  // has) through the same caches, interleaved with the queries, so that a
  // latency reads as a ratio on any machine.
  std::mt19937_64 raw_rng(seed ^ 0x9e3779b97f4a7c15ull);
  std::vector<double> raw_us;
  std::string raw_value;
  auto raw_read = [&] {
    const std::string key = NpiPayerKey(
        Relation::kEnrollment,
        gen.ProviderNpi(std::uniform_int_distribution<uint64_t>(
            0, gen.providers() - 1)(raw_rng)),
        "medicare");
    auto start = Clock::now();
    rocksdb::Status s = LedgerInternals::Db(ledger)->Get(rocksdb::ReadOptions(),
                                             LedgerInternals::TimelinesCf(ledger), key,
                                             &raw_value);
    raw_us.push_back(Seconds(Clock::now() - start) * 1e6);
    if (!s.ok()) std::cerr << "bench: raw timeline read: " << s.ToString() << "\n";
  };
  for (uint64_t i = 0; i < samples; ++i) {
    const std::string p = rand_provider();
    const DayNumber d = rand_day();
    raw_read();
    const uint64_t blocks_before = blocks_read();
    auto start = Clock::now();
    auto rows = q.ReassignmentsOn(d, kHeadSeq, {p, "", ""});
    head_us.push_back(Seconds(Clock::now() - start) * 1e6);
    head_blocks += blocks_read() - blocks_before;
    if (rows.ok() && !rows->empty()) pairs.emplace_back(p, (*rows)[0].org);
    const uint64_t k = std::uniform_int_distribution<uint64_t>(1, head)(rng);
    start = Clock::now();
    auto known = q.ReassignmentsOn(d, k, {p, "", ""});
    known_us.push_back(Seconds(Clock::now() - start) * 1e6);
  }
  res->Add(prefix + "asof_provider_p50_us", Percentile(head_us, 0.5));
  res->Add(prefix + "asof_provider_p99_us", Percentile(head_us, 0.99));
  res->Add(prefix + "asof_known_p99_us", Percentile(known_us, 0.99));
  res->Add(prefix + "asof_provider_blocks_read",
           static_cast<double>(head_blocks) / samples);
  PayerRules rules;
  for (uint64_t i = 0; i < samples; ++i) {
    std::string p, org;
    if (!pairs.empty() && i % 2 == 0) {
      std::tie(p, org) = pairs[i % pairs.size()];
    } else {
      p = rand_provider();
      org = gen.OrgNpi(std::uniform_int_distribution<uint64_t>(
          0, gen.orgs() - 1)(rng));
    }
    const DayNumber d = rand_day();
    raw_read();
    const uint64_t blocks_before = blocks_read();
    auto start = Clock::now();
    auto r = q.ClaimCheck(p, org, "medicare", d, kHeadSeq, rules);
    claim_us.push_back(Seconds(Clock::now() - start) * 1e6);
    claim_blocks += blocks_read() - blocks_before;
    if (!r.ok()) std::cerr << "bench: claim check failed: " << r.status() << "\n";
    // The same check with its sources verified (--verify-sources): the
    // two NPIs' events re-hashed and their timelines re-derived.
    start = Clock::now();
    auto view = ledger.View();
    Queries vq(view);
    auto checked = vq.ClaimCheck(p, org, "medicare", d, kHeadSeq, rules);
    absl::Status verified = view->VerifyTimelinesOf({p, org});
    verified_us.push_back(Seconds(Clock::now() - start) * 1e6);
    if (!checked.ok() || !verified.ok()) {
      std::cerr << "bench: verified claim check failed: " << verified << "\n";
    }
  }
  res->Add(prefix + "claim_check_verified_p50_us", Percentile(verified_us, 0.5));
  res->Add(prefix + "claim_check_verified_p99_us", Percentile(verified_us, 0.99));
  res->Add(prefix + "verify_sources_p50_ratio",
           Percentile(verified_us, 0.5) / Percentile(claim_us, 0.5));
  res->Add(prefix + "claim_check_p50_us", Percentile(claim_us, 0.5));
  res->Add(prefix + "claim_check_p99_us", Percentile(claim_us, 0.99));
  res->Add(prefix + "claim_check_blocks_read",
           static_cast<double>(claim_blocks) / samples);
  const double raw_p99 = Percentile(raw_us, 0.99);
  res->Add(prefix + "baseline_timeline_get_p50_us", Percentile(raw_us, 0.5));
  res->Add(prefix + "baseline_timeline_get_p99_us", raw_p99);
  res->Add(prefix + "asof_p99_ratio", Percentile(head_us, 0.99) / raw_p99);
  res->Add(prefix + "claim_check_p99_ratio",
           Percentile(claim_us, 0.99) / raw_p99);
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
}

// Appends from `threads` threads at once, each `per_thread` one-event
// batches with fsync (credentialing events of existing providers: always
// accepted), while one more thread runs point-in-time queries; beside the
// same-run baseline of as many threads each doing one-key synced RocksDB
// Writes (RocksDB's own write grouping) of the same size. The two alternate
// in rounds, so that a drift in the disk's sync time falls on both.
void ConcurrentAppend(Ledger& ledger, const Generator& gen, int threads,
                      uint64_t per_thread, const std::string& baseline_dir,
                      Result* res) {
  const int kRounds = per_thread >= 16 ? 4 : 1;
  const std::string prefix = absl::StrCat("concurrent_append_", threads, "t_");
  // Event ids unique to this run (a --reuse run appends to the same ledger).
  const uint64_t run_id = ledger.head().seq;
  std::filesystem::remove_all(baseline_dir);
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(options, baseline_dir, &raw).ok()) std::exit(1);
  std::unique_ptr<rocksdb::DB> db(raw);

  std::vector<double> ack_us, raw_us, query_us;
  std::mutex mu;  // guards the three above
  const uint64_t groups_before = commit_groups, batches_before = commit_batches,
                 us_before = commit_us;
  double secs = 0, raw_secs = 0;
  uint64_t bytes = 0, events = 0;
  for (int round = 0; round < kRounds; ++round) {
    const uint64_t first = round * per_thread / kRounds;
    const uint64_t last = (round + 1) * per_thread / kRounds;
    // Queries back to back beside the writes (yielding between them), beside
    // the ledger's appends and beside the baseline's writes alike, so both
    // share the same competition for the CPU; the latencies are those
    // measured beside the ledger's appends.
    std::atomic<int> appending{threads};
    auto query_beside = [&](std::vector<double>* out) {
      Queries q(&ledger);
      std::mt19937_64 rng(7 + round);
      std::vector<double> mine;
      while (appending.load() > 0) {
        std::this_thread::yield();
        const std::string p = gen.ProviderNpi(std::uniform_int_distribution<uint64_t>(
            0, gen.providers() - 1)(rng));
        const DayNumber d = std::uniform_int_distribution<DayNumber>(
            gen.first_day(), gen.last_day())(rng);
        auto start = Clock::now();
        auto rows = q.ReassignmentsOn(d, kHeadSeq, {p, "", ""});
        mine.push_back(Seconds(Clock::now() - start) * 1e6);
        if (!rows.ok()) std::cerr << "bench: query: " << rows.status() << "\n";
      }
      if (out == nullptr) return;
      std::lock_guard<std::mutex> lock(mu);
      out->insert(out->end(), mine.begin(), mine.end());
    };
    std::thread querier(query_beside, &query_us);
    secs += RunThreads(threads, [&](int t) {
      std::mt19937_64 rng(1000 + t + round * threads);
      AppendOptions synced;
      std::vector<double> mine;
      uint64_t my_bytes = 0;
      for (uint64_t i = first; i < last; ++i) {
        v1::Event e;
        e.set_event_id(
            absl::StrCat("bench-concurrent-", run_id, "-", t, "-", i));
        e.set_effective_date("2024-01-01");
        e.set_source("bench");
        e.set_actor("bench");
        auto* c = e.mutable_credentialed();
        c->set_npi(gen.ProviderNpi(std::uniform_int_distribution<uint64_t>(
            0, gen.providers() - 1)(rng)));
        c->set_payer("medicare");
        my_bytes += e.ByteSizeLong();
        auto start = Clock::now();
        auto r = ledger.Append({e}, synced);
        mine.push_back(Seconds(Clock::now() - start) * 1e6);
        if (!r.ok()) {
          std::cerr << "bench: concurrent append: " << r.status() << "\n";
          std::exit(1);
        }
      }
      --appending;
      std::lock_guard<std::mutex> lock(mu);
      ack_us.insert(ack_us.end(), mine.begin(), mine.end());
      bytes += my_bytes;
    });
    querier.join();
    // The baseline: as many synced one-key writes of the same size.
    const std::string value(std::max<uint64_t>(1, bytes / ack_us.size()), 'x');
    appending = threads;
    std::thread baseline_querier(query_beside, nullptr);
    raw_secs += RawSyncedPuts(db.get(), threads, first, last, value.size(),
                              &raw_us);
    appending = 0;
    baseline_querier.join();
  }
  db.reset();
  std::filesystem::remove_all(baseline_dir);
  events = ack_us.size();

  res->Add(prefix + "events_per_s", events / secs);
  res->Add(prefix + "ack_p50_us", Percentile(ack_us, 0.5));
  res->Add(prefix + "ack_p99_us", Percentile(ack_us, 0.99));
  res->Add(prefix + "baseline_writes_per_s", raw_us.size() / raw_secs);
  res->Add(prefix + "baseline_ack_p99_us", Percentile(raw_us, 0.99));
  res->Add(prefix + "ratio", (events / secs) / (raw_us.size() / raw_secs));
  const double groups = static_cast<double>(commit_groups - groups_before);
  if (groups > 0) {
    res->Add(prefix + "batches_per_group", (commit_batches - batches_before) / groups);
    res->Add(prefix + "group_commit_us", (commit_us - us_before) / groups);
  }
  if (!query_us.empty()) {
    res->Add(prefix + "asof_beside_p99_us", Percentile(query_us, 0.99));
  }
}

// Prints the figures as a table, and with `json` one JSON object last.
int Report(const Result& res, bool json_line) {
  std::cout << absl::StrFormat("%-34s %16s\n", "figure", "value");
  for (const auto& [name, value] : res.figures) {
    std::cout << absl::StrFormat("%-34s %16.3f\n", name, value);
  }
  if (json_line) {
    std::string json = "{";
    for (size_t i = 0; i < res.figures.size(); ++i) {
      absl::StrAppend(&json, i ? "," : "", "\"", res.figures[i].first, "\":",
                      absl::StrFormat("%.3f", res.figures[i].second));
    }
    std::cout << json << "}\n";
  }
  return 0;
}

int Run(const Flags& f) {
  GeneratorOptions g;
  g.providers = f.quick ? 2000 : f.providers;
  g.orgs = f.orgs;
  g.payers = f.payers;
  g.years = f.years;
  g.seed = f.seed;
  const uint64_t samples = f.quick ? 2000 : f.samples;
  const uint64_t sync_limit = f.quick ? 20000 : f.sync_events;
  const uint64_t roster_rows = f.quick ? 20000 : f.roster_rows;

  if (f.reuse && f.dir.empty()) {
    std::cerr << "bench: --reuse needs the --dir of an earlier run\n";
    return 2;
  }
  std::string dir = f.dir;
  if (dir.empty()) {
    char tmpl[] = "/tmp/provledger-bench-XXXXXX";
    dir = mkdtemp(tmpl);
  }
  std::filesystem::create_directories(dir);
  std::fprintf(stderr,
               "provledger-bench: %llu providers, %d payers, %d years, seed "
               "%llu, in %s\n",
               static_cast<unsigned long long>(g.providers), g.payers, g.years,
               static_cast<unsigned long long>(g.seed), dir.c_str());
  Result res;
  const std::string provledger =
      (std::filesystem::read_symlink("/proc/self/exe").parent_path() / ".." /
       "provledger")
          .string();
  if (f.nppes_only) {
    NppesBench(provledger, dir, f.quick ? 20000 : f.nppes_rows, &res);
    res.Add("peak_rss_mb", PeakRssMb());
    if (!f.keep && f.dir.empty()) std::filesystem::remove_all(dir);
    return Report(res, f.json);
  }
  res.Add("providers", g.providers);

  std::unique_ptr<Ledger> ledger;
  uint64_t events = 0;
  if (f.reuse) {
    // Queries, reconcile and rebuild on a ledger a previous run kept.
    auto l = Ledger::Open(OptionsFrom(f), dir + "/main");
    if (!l.ok()) {
      std::cerr << "bench: --reuse: " << l.status() << "\n";
      return 1;
    }
    ledger = std::move(*l);
    events = ledger->head().seq;
    res.Add("events", events);
  } else {
    // Ingest with fsync per batch (a prefix of the stream) vs raw puts.
    uint64_t n = 0, bytes = 0;
    if (!f.server) {
      auto sync_ledger = OpenFresh(dir + "/sync", f);
      double t = Ingest(*sync_ledger, g, sync_limit, /*sync=*/true, &n, &bytes);
      double base = Baseline(dir + "/raw-sync", n, bytes / n, /*sync=*/true);
      res.Add("sync_events", n);
      res.Add("ingest_sync_events_per_s", n / t);
      res.Add("baseline_sync_puts_per_s", n / base);
      res.Add("ingest_sync_ratio", base / t);
    }
    std::filesystem::remove_all(dir + "/sync");

    // Bulk ingest of everything (no fsync) vs raw puts.
    ledger = OpenFresh(dir + "/main", f);
    double t = Ingest(*ledger, g, UINT64_MAX, /*sync=*/false, &n, &bytes);
    // The load ends as a bulk import does (`provledger import` compacts the
    // projections after a million events), and the compaction's time counts
    // as part of the load.
    double compact = 0;
    if (f.compact) {
      auto compact_start = Clock::now();
      if (absl::Status c = ledger->CompactProjections(); !c.ok()) {
        std::cerr << "bench: compacting the projections failed: " << c
                  << "\n";
        return 1;
      }
      compact = Seconds(Clock::now() - compact_start);
      t += compact;
    }
    events = n;
    double base = Baseline(dir + "/raw-bulk", n, bytes / n, /*sync=*/false);
    res.Add("events", events);
    res.Add("avg_event_bytes", static_cast<double>(bytes) / n);
    res.Add("ingest_bulk_events_per_s", n / t);
    res.Add("baseline_bulk_puts_per_s", n / base);
    res.Add("ingest_bulk_ratio", base / t);
    if (f.compact) res.Add("compact_s", compact);
  }
  res.Add("rss_after_ingest_mb", RssMb());

  // Queries are measured on a settled store, as after any bulk load: wait
  // (up to 10 minutes) for the flushes and compactions the load queued.
  {
    auto settle_start = Clock::now();
    LedgerInternals::Db(*ledger)->Flush(rocksdb::FlushOptions());
    for (;;) {
      uint64_t pending = 0, running = 0, flushing = 0;
      rocksdb::DB* db = LedgerInternals::Db(*ledger);
      db->GetAggregatedIntProperty("rocksdb.compaction-pending", &pending);
      db->GetAggregatedIntProperty("rocksdb.num-running-compactions", &running);
      db->GetAggregatedIntProperty("rocksdb.num-running-flushes", &flushing);
      if ((pending == 0 && running == 0 && flushing == 0) ||
          Clock::now() - settle_start > std::chrono::minutes(10)) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    res.Add("settle_s", Seconds(Clock::now() - settle_start));
  }
  res.Add("db_bytes_per_event",
          static_cast<double>(DirBytes(dir + "/main")) / events);

  Generator gen(g);  // for NPIs and dates only
  if (f.server) {
    ledger.reset();  // the server owns it now
    std::string provledgerd = f.provledgerd;
    if (provledgerd.empty()) {
      provledgerd = (std::filesystem::read_symlink("/proc/self/exe")
                         .parent_path() / ".." / "server" / "provledgerd")
                        .string();
    }
    ServerBench(provledgerd, dir + "/main", dir, gen, f.quick,
                f.timeline_cache_mb, f.concurrent_only, &res);
    res.Add("peak_rss_mb", PeakRssMb());
    if (!f.keep && f.dir.empty()) std::filesystem::remove_all(dir);
    return Report(res, f.json);
  }
  if (f.reconcile_only) {
    ReconcileBench(*ledger, gen, gen.last_day() - 200, dir, roster_rows, &res);
    return Report(res, f.json);
  }
  if (f.concurrent_only) {
    // As a query service starts: the timelines read into their cache.
    Warm(*ledger, "", &res);
  } else {
    // Point-in-time queries, first as they come straight after the load: a
    // block not in the ledger's caches is read from its file, which the OS
    // may or may not still hold (this machine's host pages out file pages
    // left idle for a minute). Then as a query service runs them, with the
    // timelines read into the timeline cache once at start.
    MeasureQueries(*ledger, gen, samples, f.seed * 31 + 6, "cold_", &res);
    Warm(*ledger, "", &res);
    MeasureQueries(*ledger, gen, samples, f.seed * 31 + 7, "", &res);
    res.Add("rss_after_queries_mb", RssMb());
    Queries q(ledger.get());
    const DayNumber snapshot_day = gen.last_day() - 200;
    auto start = Clock::now();
    auto roster = q.ReassignmentsOn(snapshot_day, kHeadSeq,
                                    {"", gen.OrgNpi(gen.largest_org()), ""});
    res.Add("org_roster_ms", Seconds(Clock::now() - start) * 1e3);
    res.Add("org_roster_rows", roster.ok() ? roster->size() : 0);
    // Every reassignment in effect on one date, streamed (as `asof --format
    // csv` with no filter would write them); here they are counted.
    start = Clock::now();
    uint64_t snapshot_rows = 0;
    absl::Status snapshot = q.ForEachReassignmentOn(
        snapshot_day, kHeadSeq, {},
        [&](const ReassignmentRow&) { ++snapshot_rows; });
    res.Add("snapshot_all_s", Seconds(Clock::now() - start));
    if (!snapshot.ok()) std::cerr << "bench: snapshot failed: " << snapshot << "\n";
    res.Add("snapshot_all_rows", snapshot_rows);
    res.Add("rss_after_snapshot_mb", RssMb());

    ReconcileBench(*ledger, gen, snapshot_day, dir, roster_rows, &res);

    // A day's claims file checked line by line, and the NPPES registry.
    ClaimsFileBench(*ledger, gen, snapshot_day, dir,
                    f.quick ? 20000 : f.claim_lines, f.seed * 31 + 9, &res);
    res.Add("rss_after_claims_file_mb", RssMb());
    if (f.nppes_rows > 0) {
      NppesBench(provledger, dir, f.quick ? 20000 : f.nppes_rows, &res);
    }

    // Rebuild vs raw scan + put.
    if (!f.skip_rebuild) {
      start = Clock::now();
      absl::Status rebuilt = ledger->Rebuild();
      double rebuild_s = Seconds(Clock::now() - start);
      if (!rebuilt.ok()) std::cerr << "bench: rebuild failed: " << rebuilt << "\n";
      double scan_s = ScanPutBaseline(*ledger, dir + "/raw-scan");
      res.Add("rebuild_events_per_s", events / rebuild_s);
      res.Add("baseline_scan_puts_per_s", events / scan_s);
      res.Add("rebuild_ratio", scan_s / rebuild_s);
      res.Add("rss_after_rebuild_mb", RssMb());
      // The same queries on the rebuilt layout: one sorted run per pass
      // instead of the levels an incremental load leaves behind.
      Warm(*ledger, "rebuilt_", &res);
      MeasureQueries(*ledger, gen, samples, f.seed * 31 + 8, "rebuilt_", &res);
      res.Add("rss_after_rebuilt_queries_mb", RssMb());
    }
  }
  // Many threads appending synced one-event batches at once (group
  // commit), with queries running beside them.
  for (int threads : {1, 8, 64}) {
    const uint64_t total = f.quick ? 512 : 4096;
    ConcurrentAppend(*ledger, gen, threads, std::max<uint64_t>(1, total / threads),
                     dir + "/raw-concurrent", &res);
  }
  res.Add("peak_rss_mb", PeakRssMb());

  ledger.reset();
  if (!f.keep && f.dir.empty()) std::filesystem::remove_all(dir);

  return Report(res, f.json);
}

}  // namespace
}  // namespace provledger

int main(int argc, char** argv) {
  provledger::TuneAllocator();
  provledger::server::StopLockOrderTracking();
  provledger::Flags f;
  CLI::App app{
      "provledger-bench: ingest, query, reconcile and rebuild figures, each "
      "with a same-run raw RocksDB baseline"};
  app.add_option("--providers", f.providers, "scale: individual providers")
      ->capture_default_str();
  app.add_option("--orgs", f.orgs, "organizations (default providers/10)");
  app.add_option("--payers", f.payers, "payers")->capture_default_str();
  app.add_option("--years", f.years, "years of history")->capture_default_str();
  app.add_option("--seed", f.seed, "generator seed")->capture_default_str();
  app.add_option("--sync-events", f.sync_events,
                 "events in the fsync-per-batch ingest measurement")
      ->capture_default_str();
  app.add_option("--samples", f.samples, "queries per latency figure")
      ->capture_default_str();
  app.add_option("--roster-rows", f.roster_rows,
                 "most rows of the reconcile roster (written from the ledger's "
                 "Medicare reassignments in effect, 2% of each discrepancy)")
      ->capture_default_str();
  app.add_option("--dir", f.dir, "work directory (default: a temporary one)");
  app.add_flag("--keep", f.keep, "keep the work directory");
  app.add_flag("--compact,!--no-compact", f.compact,
               "end the bulk load with `provledger compact`, as `provledger "
               "import` does after a million events (its time counted in the "
               "load; reports compact_s); default on");
  app.add_flag("--reconcile-only", f.reconcile_only,
               "measure only the reconcile of the roster (with --reuse: to "
               "profile it)");
  app.add_flag("--concurrent-only", f.concurrent_only,
               "measure only the concurrent appends (with --reuse: to profile "
               "group commit; with --server: the server's appends and live "
               "lag)");
  app.add_flag("--server", f.server,
               "measure provledgerd on loopback instead (appends from 1, 16 "
               "and 64 clients, claim checks from 16, a subscription's "
               "catch-up and live lag), each beside a same-run in-process "
               "baseline");
  app.add_option("--provledgerd", f.provledgerd,
                 "the provledgerd binary (default: the one built beside this "
                 "one)");
  app.add_flag("--skip-rebuild", f.skip_rebuild,
               "stop before the rebuild (keeps the ledger as ingested)");
  app.add_option("--block-cache-mb", f.block_cache_mb,
                 "the ledger's block cache, MiB")
      ->capture_default_str();
  app.add_option("--timeline-cache-mb", f.timeline_cache_mb,
                 "cache of the timelines' compressed blocks (0: none)")
      ->capture_default_str();
  app.add_flag("--reuse", f.reuse,
               "skip generation and ingest: measure on the ledger an earlier run "
               "with --dir D left in D/main (give the same --dir and generator "
               "flags)");
  app.add_option("--claim-lines", f.claim_lines,
                 "lines of the generated 837P claims file")
      ->capture_default_str();
  app.add_option("--nppes-rows", f.nppes_rows,
                 "rows of the generated NPPES file (0: skip that phase)")
      ->capture_default_str();
  app.add_flag("--nppes-only", f.nppes_only,
               "only the NPPES phase (no ledger of providers)");
  app.add_flag("--quick", f.quick,
               "a small scale that runs in seconds (CI): 2000 providers");
  app.add_flag("--json", f.json, "print one JSON object as the last line");
  CLI11_PARSE(app, argc, argv);
  return provledger::Run(f);
}
