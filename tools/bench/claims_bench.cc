// provledger-bench's claims-file and NPPES phases: a generated 837P file
// checked line by line (QueryService::CheckClaimsFile) beside the same
// lines' claim checks called in-process, and a generated NPPES data file
// loaded into a fresh ledger.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ledger/validation.h"
#include "projections/query.h"
#include "tools/bench/bench.h"
#include "tools/generator.h"
#include "tools/service/nppes.h"
#include "tools/service/service.h"

namespace provledger {
namespace {

// One generated claim line.
struct Line {
  std::string rendering, billing;
  DayNumber day;
};

// The claim lines, in order: mostly reassignments in effect around
// `day` (`pairs`), one in five a random provider and organization.
class Lines {
 public:
  Lines(const Generator& gen, const std::vector<std::pair<std::string, std::string>>& pairs,
        DayNumber day, uint64_t seed)
      : gen_(gen), pairs_(pairs), day_(day), rng_(seed) {}

  Line Next() {
    Line l;
    if (!pairs_.empty() && std::uniform_int_distribution<int>(0, 4)(rng_) != 0) {
      const auto& p = pairs_[std::uniform_int_distribution<size_t>(
          0, pairs_.size() - 1)(rng_)];
      l.rendering = p.first;
      l.billing = p.second;
    } else {
      l.rendering = gen_.ProviderNpi(std::uniform_int_distribution<uint64_t>(
          0, gen_.providers() - 1)(rng_));
      l.billing = gen_.OrgNpi(
          std::uniform_int_distribution<uint64_t>(0, gen_.orgs() - 1)(rng_));
    }
    l.day = day_ + std::uniform_int_distribution<int>(-30, 30)(rng_);
    return l;
  }

 private:
  const Generator& gen_;
  const std::vector<std::pair<std::string, std::string>>& pairs_;
  DayNumber day_;
  std::mt19937_64 rng_;
};

std::string Compact(DayNumber day) {
  absl::CivilDay c = ToCivilDay(day);
  return absl::StrFormat("%04d%02d%02d", c.year(), c.month(), c.day());
}

// Writes an 837P interchange of `count` lines: claims of one to four
// lines, each under its own billing provider and subscriber loops, the
// rendering provider in 2310B. Returns the file's bytes.
uint64_t Write837(const std::string& path, Lines lines, uint64_t count) {
  std::ofstream out(path, std::ios::binary);
  out << "ISA*00*          *00*          *ZZ*BENCHSUBMITTER *ZZ*BENCHRECEIVER  "
         "*240315*1200*^*00501*000000001*0*P*:~\n"
         "GS*HC*BENCHSUBMITTER*BENCHRECEIVER*20240315*1200*1*X*005010X222A1~\n"
         "ST*837*0001*005010X222A1~\nBHT*0019*00*1*20240315*1200*CH~\n";
  std::mt19937_64 rng(count);
  uint64_t written = 0, claim = 0, hl = 0;
  while (written < count) {
    const Line first = lines.Next();
    const uint64_t n = std::min<uint64_t>(
        count - written, std::uniform_int_distribution<int>(1, 4)(rng));
    const uint64_t billing_hl = ++hl;
    out << "HL*" << billing_hl << "**20*1~\nNM1*85*2*BENCH GROUP*****XX*"
        << first.billing << "~\nN3*1 MAIN ST~\nN4*COLUMBUS*OH*43215~\n"
        << "REF*EI*123456789~\nHL*" << ++hl << "*" << billing_hl
        << "*22*0~\nSBR*P*18*******MB~\nNM1*IL*1*DOE*JANE****MI*1EG4TE5MK72~\n"
        << "NM1*PR*2*MEDICARE*****PI*00431~\nCLM*C" << ++claim << "*"
        << 100 * n << "***11:B:1*Y*A*Y*Y~\nHI*ABK:I10~\nNM1*82*1*DOE*JOHN****XX*"
        << first.rendering << "~\n";
    for (uint64_t i = 0; i < n; ++i) {
      // The claim's other lines: the same providers, other days.
      const Line l = i == 0 ? first : Line{first.rendering, first.billing,
                                           lines.Next().day};
      out << "LX*" << i + 1 << "~\nSV1*HC:99213*100*UN*1***1~\nDTP*472*D8*"
          << Compact(l.day) << "~\n";
    }
    written += n;
  }
  out << "SE*1*0001~\nGE*1*1~\nIEA*1*000000001~\n";
  out.flush();
  return static_cast<uint64_t>(out.tellp());
}

// The lines Write837 wrote, in order, as claim checks.
std::vector<Line> LinesOf(Lines lines, uint64_t count) {
  std::vector<Line> out;
  out.reserve(count);
  std::mt19937_64 rng(count);
  while (out.size() < count) {
    const Line first = lines.Next();
    const uint64_t n = std::min<uint64_t>(
        count - out.size(), std::uniform_int_distribution<int>(1, 4)(rng));
    for (uint64_t i = 0; i < n; ++i) {
      out.push_back(i == 0 ? first
                           : Line{first.rendering, first.billing,
                                  lines.Next().day});
    }
  }
  return out;
}

// The NPPES data file's 330 column names, in order.
std::vector<std::string> NppesHeader() {
  std::vector<std::string> h = {
      "NPI", "Entity Type Code", "Replacement NPI",
      "Employer Identification Number (EIN)",
      "Provider Organization Name (Legal Business Name)",
      "Provider Last Name (Legal Name)", "Provider First Name",
      "Provider Middle Name", "Provider Name Prefix Text",
      "Provider Name Suffix Text", "Provider Credential Text",
      "Provider Other Organization Name",
      "Provider Other Organization Name Type Code", "Provider Other Last Name",
      "Provider Other First Name", "Provider Other Middle Name",
      "Provider Other Name Prefix Text", "Provider Other Name Suffix Text",
      "Provider Other Credential Text", "Provider Other Last Name Type Code",
      "Provider First Line Business Mailing Address",
      "Provider Second Line Business Mailing Address",
      "Provider Business Mailing Address City Name",
      "Provider Business Mailing Address State Name",
      "Provider Business Mailing Address Postal Code",
      "Provider Business Mailing Address Country Code (If outside U.S.)",
      "Provider Business Mailing Address Telephone Number",
      "Provider Business Mailing Address Fax Number",
      "Provider First Line Business Practice Location Address",
      "Provider Second Line Business Practice Location Address",
      "Provider Business Practice Location Address City Name",
      "Provider Business Practice Location Address State Name",
      "Provider Business Practice Location Address Postal Code",
      "Provider Business Practice Location Address Country Code (If outside "
      "U.S.)",
      "Provider Business Practice Location Address Telephone Number",
      "Provider Business Practice Location Address Fax Number",
      "Provider Enumeration Date", "Last Update Date",
      "NPI Deactivation Reason Code", "NPI Deactivation Date",
      "NPI Reactivation Date", "Provider Gender Code",
      "Authorized Official Last Name", "Authorized Official First Name",
      "Authorized Official Middle Name", "Authorized Official Title or Position",
      "Authorized Official Telephone Number"};
  for (int i = 1; i <= 15; ++i) {
    h.push_back(absl::StrCat("Healthcare Provider Taxonomy Code_", i));
    h.push_back(absl::StrCat("Provider License Number_", i));
    h.push_back(absl::StrCat("Provider License Number State Code_", i));
    h.push_back(absl::StrCat("Healthcare Provider Primary Taxonomy Switch_", i));
  }
  for (int i = 1; i <= 50; ++i) {
    h.push_back(absl::StrCat("Other Provider Identifier_", i));
    h.push_back(absl::StrCat("Other Provider Identifier Type Code_", i));
    h.push_back(absl::StrCat("Other Provider Identifier State_", i));
    h.push_back(absl::StrCat("Other Provider Identifier Issuer_", i));
  }
  for (const char* c :
       {"Is Sole Proprietor", "Is Organization Subpart",
        "Parent Organization LBN", "Parent Organization TIN",
        "Authorized Official Name Prefix Text",
        "Authorized Official Name Suffix Text",
        "Authorized Official Credential Text"}) {
    h.push_back(c);
  }
  for (int i = 1; i <= 15; ++i) {
    h.push_back(absl::StrCat("Healthcare Provider Taxonomy Group_", i));
  }
  h.push_back("Certification Date");
  return h;
}

// Writes an NPPES file of `rows` rows as NPPES writes them (every field
// quoted): nine in ten individuals, one in a hundred deactivated (only
// the NPI and the date left). Returns the file's bytes.
uint64_t WriteNppes(const std::string& path, uint64_t rows) {
  const std::vector<std::string> header = NppesHeader();
  std::ofstream out(path, std::ios::binary);
  for (size_t i = 0; i < header.size(); ++i) {
    out << (i ? ",\"" : "\"") << header[i] << "\"";
  }
  out << "\n";
  const std::string four_empty = ",\"\",\"\",\"\",\"\"";
  for (uint64_t r = 0; r < rows; ++r) {
    // NPIs from 300000000 on: apart from the ledger's generated ones.
    const std::string base = absl::StrFormat("%09d", 300000000 + r);
    const std::string npi = base + NpiCheckDigit(base);
    out << "\"" << npi << "\"";
    if (r % 100 == 99) {
      // Columns 1-38 empty, 39 the deactivation date, the rest empty.
      for (int i = 1; i <= 38; ++i) out << ",\"\"";
      out << ",\"09/30/2021\"";
      for (size_t i = 40; i < header.size(); ++i) out << ",\"\"";
      out << "\n";
      continue;
    }
    const bool org = r % 10 == 0;
    out << ",\"" << (org ? 2 : 1) << "\",\"\",\"\",\""
        << (org ? "BENCH GROUP " + std::to_string(r) : "") << "\",\""
        << (org ? "" : "DOE" + std::to_string(r % 997)) << "\",\""
        << (org ? "" : "JANE") << "\"";
    for (int i = 7; i < 20; ++i) out << ",\"\"";
    out << ",\"1 MAIN ST\",\"\",\"COLUMBUS\",\"OH\",\"432150001\",\"US\","
           "\"6145550100\",\"\",\"1 MAIN ST\",\"\",\"COLUMBUS\",\"OH\","
           "\"432150001\",\"US\",\"6145550100\",\"\"";
    out << ",\"05/23/2010\",\"03/0" << 1 + r % 9 << "/2022\",\"\",\"\",\"\",\""
        << (org ? "" : "F") << "\"" << four_empty << ",\"\"";
    // Taxonomy 1 (primary), then the rest empty.
    out << ",\"" << (org ? "261QP2300X" : "207Q00000X")
        << "\",\"35.123456\",\"OH\",\"Y\"";
    for (size_t i = 51; i < header.size(); ++i) out << ",\"\"";
    out << "\n";
  }
  out.flush();
  return static_cast<uint64_t>(out.tellp());
}

}  // namespace

void ClaimsFileBench(const Ledger& ledger, const Generator& gen,
                     DayNumber day, const std::string& work_dir,
                     uint64_t count, uint64_t seed, Result* res) {
  // Pairs in effect on `day`: mostly payable lines.
  std::vector<std::pair<std::string, std::string>> pairs;
  Queries q(ledger.View());
  absl::Status listed = q.ForEachReassignmentOn(
      day, kHeadSeq, {"", "", "medicare"}, [&](const ReassignmentRow& r) {
        if (pairs.size() < 200000) pairs.emplace_back(r.provider, r.org);
      });
  if (!listed.ok()) std::cerr << "bench: claims pairs: " << listed << "\n";
  const std::string path = work_dir + "/claims.837";
  auto start = Clock::now();
  const uint64_t bytes = Write837(path, Lines(gen, pairs, day, seed), count);
  res->Add("claims_file_write_s", Seconds(Clock::now() - start));
  res->Add("claims_file_mb", bytes / 1048576.0);

  // The same-run baseline: the same lines' claim checks, in-process, from
  // a vector (no file, no parsing).
  const std::vector<Line> lines = LinesOf(Lines(gen, pairs, day, seed), count);
  PayerRules rules;
  uint64_t payable = 0;
  start = Clock::now();
  for (const Line& l : lines) {
    auto r = q.ClaimCheck(l.rendering, l.billing, "medicare", l.day, kHeadSeq,
                          rules);
    if (r.ok() && r->payable) ++payable;
  }
  const double inproc_s = Seconds(Clock::now() - start);
  res->Add("claim_check_lines_per_s", count / inproc_s);

  std::ifstream in(path, std::ios::binary);
  v1::ClaimsFileRequest request;
  request.set_claims_format("x12-837p");
  (*request.mutable_payer_map())["00431"] = "medicare";
  service::QueryService service(ledger.View());
  uint64_t file_payable = 0;
  start = Clock::now();
  auto summary = service.CheckClaimsFile(
      request, in, [&](const v1::ClaimLineResult& l) {
        if (l.result() == "payable") ++file_payable;
      });
  const double file_s = Seconds(Clock::now() - start);
  if (!summary.ok()) std::cerr << "bench: claims file: " << summary.status() << "\n";
  if (summary.ok() && (summary->lines() != count || file_payable != payable)) {
    std::cerr << "bench: the claims file's " << summary->lines() << " lines ("
              << file_payable << " payable) are not the " << count << " ("
              << payable << " payable) checked in-process\n";
  }
  res->Add("claims_file_lines", count);
  res->Add("claims_file_payable", file_payable);
  res->Add("claims_file_s", file_s);
  res->Add("claims_file_lines_per_s", count / file_s);
  res->Add("claims_file_ratio", inproc_s / file_s);
  std::filesystem::remove(path);
}

namespace {

// A child process's exit code, wall time and peak resident memory.
struct ChildRun {
  int exit_code = -1;
  double seconds = 0;
  double peak_mb = 0;
};

// Runs `argv` (stdout and stderr to /dev/null) and waits for it.
ChildRun RunChild(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  ChildRun run;
  const auto start = Clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) == 0) {
    // The child's peak from its own VmHWM, sampled until it exits: its
    // rusage would count the pages it shared with this process before exec.
    const std::string status_path = absl::StrCat("/proc/", pid, "/status");
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      std::ifstream proc(status_path);
      for (std::string line; std::getline(proc, line);) {
        if (line.rfind("VmHWM:", 0) == 0) {
          run.peak_mb = std::max(run.peak_mb, std::stod(line.substr(6)) / 1024.0);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  }
  run.seconds = Seconds(Clock::now() - start);
  posix_spawn_file_actions_destroy(&actions);
  return run;
}

}  // namespace

void NppesBench(const std::string& provledger, const std::string& work_dir,
                uint64_t rows, Result* res) {
  const std::string path = work_dir + "/npidata_pfile_20050523-20240107.csv";
  auto start = Clock::now();
  const uint64_t bytes = WriteNppes(path, rows);
  res->Add("nppes_write_s", Seconds(Clock::now() - start));
  res->Add("nppes_file_mb", bytes / 1048576.0);
  const std::string db = work_dir + "/nppes";
  std::filesystem::remove_all(db);
  if (RunChild({provledger, "--db", db, "init"}).exit_code != 0) {
    std::cerr << "bench: provledger init " << db << " failed\n";
  }
  // As a user runs it: `provledger load-nppes FILE` in its own process,
  // fsync per batch; then the same file again (adds nothing).
  for (const char* pass : {"nppes_load", "nppes_reload"}) {
    const ChildRun run =
        RunChild({provledger, "--db", db, "load-nppes", path});
    if (run.exit_code != 0) {
      std::cerr << "bench: " << pass << ": provledger load-nppes exited "
                << run.exit_code << "\n";
    }
    res->Add(absl::StrCat(pass, "_s"), run.seconds);
    res->Add(absl::StrCat(pass, "_rows_per_s"), rows / run.seconds);
    res->Add(absl::StrCat(pass, "_mb_per_s"), bytes / 1048576.0 / run.seconds);
    res->Add(absl::StrCat(pass, "_peak_rss_mb"), run.peak_mb);
  }
  res->Add("nppes_rows", rows);
  {
    auto ledger = Ledger::Open(LedgerOptions(), db);
    res->Add("nppes_events", ledger.ok() ? (*ledger)->head().seq : 0);
  }
  std::filesystem::remove_all(db);
  std::filesystem::remove(path);
}

}  // namespace provledger
