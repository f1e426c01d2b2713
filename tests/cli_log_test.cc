// Acceptance tests of the log commands through the provledger binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ledger/internal/coding.h"
#include "ledger/internal/raw_access.h"
#include "ledger/ledger.h"
#include "rocksdb/db.h"
#include "tests/cli_support.h"
#include "tools/service/event_json.h"

namespace provledger {
namespace {

using namespace provledger::testing;

std::string CredLine(int i, const std::string& npi = kDrA) {
  return absl::StrCat(
      R"({"event_id":"c)", i,
      R"(","effective_date":"2024-01-01","source":"test","credentialed":{"npi":")",
      npi, R"(","payer":"medicare"}})", "\n");
}

class CliLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.Sub("db");
    ASSERT_EQ(RunCli(dir_, "--db " + db_ + " init").exit_code, 0);
  }
  TempDir dir_;
  std::string db_;
};

TEST_F(CliLogTest, EveryCommandHasHelp) {
  for (const char* cmd : {"init", "append", "import", "export", "verify",
                          "backup", "restore", "demo"}) {
    RunResult r = RunCli(dir_, absl::StrCat(cmd, " --help"));
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_TRUE(absl::StrContains(r.out, "Usage")) << cmd << ": " << r.out;
  }
  RunResult none = RunCli(dir_, "");
  EXPECT_EQ(none.exit_code, 2);
}

TEST_F(CliLogTest, InitTwiceAndMissingLedgerAreClearErrors) {
  RunResult again = RunCli(dir_, "--db " + db_ + " init");
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(again.err, "a ledger already exists")) << again.err;
  RunResult missing = RunCli(dir_, "--db " + dir_.Sub("nope") + " export");
  EXPECT_EQ(missing.exit_code, 2);
  // The library says what is wrong; the CLI adds the command that helps.
  EXPECT_EQ(missing.err, "provledger: no ledger at '" + dir_.Sub("nope") +
                             "' (create one with: provledger --db " +
                             dir_.Sub("nope") + " init)\n");
  {
    auto ledger = Ledger::Open(LedgerOptions(), db_);
    ASSERT_TRUE(ledger.ok());
    ASSERT_TRUE(LedgerInternals::Db(**ledger)
                    ->Put(rocksdb::WriteOptions(), "projection_version", "1")
                    .ok());
  }
  RunResult stale = RunCli(dir_, "--db " + db_ + " stats");
  EXPECT_EQ(stale.exit_code, 2);
  EXPECT_EQ(stale.err, "provledger: ledger '" + db_ +
                           "' has projections of version 1, this provledger "
                           "reads version 5: they must be rebuilt from the "
                           "log; run: provledger --db " +
                           db_ + " rebuild\n");
}

TEST_F(CliLogTest, BadLine700OfA1000LineBatchWritesNothing) {
  std::string text;
  for (int i = 1; i <= 1000; ++i) {
    text += CredLine(i, i == 700 ? "1234567890" : kDrA);
  }
  WriteFile(dir_.Sub("batch.jsonl"), text);
  RunResult r = RunCli(dir_, "--db " + db_ + " append " + dir_.Sub("batch.jsonl"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "provledger: line 700: credentialed.npi: '1234567890' fails the "
            "NPI check digit (Luhn over prefix 80840)\n"
            "provledger: nothing was written\n");
  EXPECT_EQ(RunCli(dir_, "--db " + db_ + " export").out, "");

  // Unparseable JSON is named by line too.
  WriteFile(dir_.Sub("bad.jsonl"), CredLine(1) + "\n{\"event_id\": oops}\n");
  RunResult bad = RunCli(dir_, "--db " + db_ + " append " + dir_.Sub("bad.jsonl"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err,
            "provledger: line 3: not valid JSON at column 14: this is not JSON "
            "here\nprovledger: nothing was written\n");
  EXPECT_EQ(RunCli(dir_, "--db " + db_ + " export").out, "");
}

TEST_F(CliLogTest, AppendPrintsSeqsAndIsIdempotent) {
  WriteFile(dir_.Sub("a.jsonl"), CredLine(1) + CredLine(2));
  RunResult r = RunCli(dir_, "--db " + db_ + " append -", dir_.Sub("a.jsonl"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\tc1\n2\tc2\n");
  RunResult again = RunCli(dir_, "--db " + db_ + " append --format json " +
                                     dir_.Sub("a.jsonl"));
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_TRUE(absl::StartsWith(
      again.out, R"({"appended":0,"duplicates":2,"seqs":["1","2"],"head":"2:)"))
      << again.out;
}

TEST_F(CliLogTest, TheSameFileFromAnotherOperatorOrARetryIsADuplicate) {
  WriteFile(dir_.Sub("batch.jsonl"), CredLine(1) + CredLine(2));
  const std::string append = "--db " + db_ + " append " + dir_.Sub("batch.jsonl");
  RunResult first =
      RunCli(dir_, append + " --actor alice --expect-version " + kDrA + ":0");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out, "1\tc1\n2\tc2\n");
  // Another operator sends the same file: a duplicate, the actor stays.
  RunResult bob = RunCli(dir_, append + " --actor bob");
  ASSERT_EQ(bob.exit_code, 0) << bob.err;
  EXPECT_EQ(bob.out, "1\tc1\talready recorded\n2\tc2\talready recorded\n");
  // A client that lost the reply retries with the same expected version.
  RunResult retry = RunCli(
      dir_, append + " --actor alice --expect-version " + kDrA + ":0");
  ASSERT_EQ(retry.exit_code, 0) << retry.err;
  EXPECT_EQ(retry.out, bob.out);
  RunResult exported = RunCli(dir_, "--db " + db_ + " export");
  EXPECT_EQ(std::count(exported.out.begin(), exported.out.end(), '\n'), 2);
  EXPECT_TRUE(absl::StrContains(exported.out, "\"actor\":\"alice\""));
  EXPECT_FALSE(absl::StrContains(exported.out, "bob"));

  // Really different content names the fields that differ.
  WriteFile(dir_.Sub("changed.jsonl"),
            R"({"event_id":"c1","effective_date":"2024-02-01","source":"other","credentialed":{"npi":")" +
                std::string(kDrA) + R"(","payer":"medicare"}})" + "\n");
  RunResult changed =
      RunCli(dir_, "--db " + db_ + " append " + dir_.Sub("changed.jsonl"));
  EXPECT_EQ(changed.exit_code, 2);
  EXPECT_EQ(changed.err,
            "provledger: line 1: event_id: 'c1' was already used for different "
            "content (seq 1); differing field(s): effective_date, source\n"
            "provledger: nothing was written\n");
}

TEST_F(CliLogTest, ACorrectionFileVoidsByEventId) {
  WriteFile(dir_.Sub("batch.jsonl"), CredLine(1) + CredLine(2));
  ASSERT_EQ(RunCli(dir_, "--db " + db_ + " append " + dir_.Sub("batch.jsonl"))
                .exit_code,
            0);
  WriteFile(dir_.Sub("void.jsonl"),
            R"({"event_id":"v1","effective_date":"2024-01-01","source":"correction","voided":{"target_event_id":"c2","reason":"entered twice"}})"
            "\n");
  RunResult v = RunCli(dir_, "--db " + db_ + " append " + dir_.Sub("void.jsonl"));
  ASSERT_EQ(v.exit_code, 0) << v.err;
  EXPECT_EQ(v.out, "3\tv1\n");
  RunResult exported = RunCli(dir_, "--db " + db_ + " export --from-seq 3");
  EXPECT_TRUE(absl::StrContains(
      exported.out,
      R"("voided":{"target_seq":"2","reason":"entered twice","target_event_id":"c2"})"))
      << exported.out;
  RunResult history = RunCli(dir_, "--db " + db_ + " history --provider " + kDrA);
  EXPECT_TRUE(absl::StrContains(history.out, "VOIDED by seq 3")) << history.out;
}

TEST_F(CliLogTest, ParserAndStorageErrorsAreSentences) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"event_id":"x","effective_date":"2024-01-01,"source":"s"})",
       "not valid JSON at column 47: expected ',' or '}' after a value"},
      {R"(not json)", "not valid JSON at column 1: this is not JSON here"},
      {R"({"event_id":"x","reassigned":{"effective_until":"2024-01-01"}})",
       "reassigned.effective_until: is not a field of 'reassigned' (field "
       "names are as in events.proto, snake_case)"},
      {R"({"event_id":"x","bogus":1})",
       "bogus: is not a field of an event (field names are as in "
       "events.proto, snake_case)"},
      {R"({"event_id":"x","voided":{"target_seq":-1}})",
       "voided.target_seq: -1 is not a whole number of 0 or more"},
      {R"({"event_id":"x","enrolled":{"entity":"PERSON"}})",
       "enrolled.entity: \"PERSON\" is not one of INDIVIDUAL, ORGANIZATION"},
      {R"({"event_id":"x","reassigned":{"payer":5}})",
       "reassigned.payer: 5 is not a string in double quotes"},
      {R"({"event_id":"x","voided":{"target_seq":"1"},"reassigned":{}})",
       "body: an event has exactly one body (enrolled, reassigned, ...), and "
       "this line has two"},      {R"({"event_id":"x","source":"C:\dir"})",
       "not valid JSON at column 30: a backslash starts an escape JSON does "
       "not have (write \\\\ for a backslash, \\\" for a quote)"},
      {R"({"event_id":"x","eventId":"   "})",
       "eventId: write it as event_id (field names are as in events.proto, "
       "snake_case)"},
      {R"({"event_id":"x","event_id":"y"})",
       "event_id: is given twice (give each field once)"},
  };
  for (const auto& [line, message] : cases) {
    WriteFile(dir_.Sub("bad.jsonl"), CredLine(1) + line + "\n");
    RunResult r = RunCli(dir_, "--db " + db_ + " append " + dir_.Sub("bad.jsonl"));
    EXPECT_EQ(r.exit_code, 2) << line;
    EXPECT_EQ(r.err, "provledger: line 2: " + message +
                         "\nprovledger: nothing was written\n")
        << line;
  }
  RunResult parent = RunCli(dir_, "--db " + dir_.Sub("no/such/folder") + " init");
  EXPECT_EQ(parent.exit_code, 2);
  EXPECT_EQ(parent.err, "provledger: cannot create a ledger at '" +
                            dir_.Sub("no/such/folder") + "': the folder '" +
                            dir_.Sub("no/such") + "' does not exist\n");
  {
    // Another process holds the ledger: a second writer is refused.
    auto holder = Ledger::Open(LedgerOptions(), db_);
    ASSERT_TRUE(holder.ok()) << holder.status();
    WriteFile(dir_.Sub("one.jsonl"), CredLine(1));
    RunResult busy =
        RunCli(dir_, "--db " + db_ + " append " + dir_.Sub("one.jsonl"));
    EXPECT_EQ(busy.exit_code, 1);
    EXPECT_EQ(busy.err, "provledger: the ledger at '" + db_ +
                            "' is in use by another process (an import, a "
                            "server, or another command that writes); wait "
                            "for it to finish and try again (if provledgerd "
                            "serves it, give --server ADDR instead of --db)\n");
  }
}

// Every file in a directory with its size.
std::vector<std::pair<std::string, uintmax_t>> Listing(const std::string& dir) {
  std::vector<std::pair<std::string, uintmax_t>> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    out.emplace_back(e.path().string(),
                     e.is_regular_file() ? e.file_size() : 0);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(CliLogTest, ReadersRunBesideEachOtherAndBesideAWriter) {
  ASSERT_EQ(RunCli(dir_, absl::StrCat("--db ", db_, " append ",
                                      PROVLEDGER_DEMO_EVENTS))
                .exit_code,
            0);
  // Reading commands write nothing into the ledger's directory.
  const auto before = Listing(db_);
  for (const char* cmd :
       {"stats", "export", "digest", "verify",
        "asof --date 2024-03-10 --org 1245319599",
        "history --provider 1526374859",
        "claim-check --rendering 1234567893 --billing 1245319599 --payer "
        "medicare --dos 2024-03-10"}) {
    RunResult r = RunCli(dir_, absl::StrCat("--db ", db_, " ", cmd));
    EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
  }
  EXPECT_EQ(Listing(db_), before);

  // A writer holds the ledger and appends; eight claim checks started
  // together all answer, from the log as it stood when each opened it.
  auto writer = Ledger::Open(LedgerOptions(), db_);
  ASSERT_TRUE(writer.ok()) << writer.status();
  AppendOptions no_sync;
  no_sync.sync = false;
  ASSERT_TRUE((*writer)->Append({Credentialed("c-late", "2024-01-01", kDrB)},
                                no_sync)
                  .ok());
  std::string script;
  for (int i = 0; i < 8; ++i) {
    absl::StrAppend(&script, PROVLEDGER_PATH, " --db ", db_,
                    " claim-check --rendering 1234567893 --billing 1245319599 "
                    "--payer medicare --dos 2024-03-10 >",
                    dir_.Sub(absl::StrCat("check", i, ".out")), " 2>",
                    dir_.Sub(absl::StrCat("check", i, ".err")), " & ");
  }
  script += "wait";
  ASSERT_EQ(std::system(script.c_str()), 0);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(ReadFile(dir_.Sub(absl::StrCat("check", i, ".out"))),
              "payable: rendering 1234567893, billing 1245319599, medicare, "
              "date of service 2024-03-10, as known now (seq 27)\n"
              "  not in the NPPES registry: 1234567893, 1245319599 (its "
              "checks were skipped)\n"
              "  rests on seqs 1, 3, 6, 9, 11, 12\n");
    EXPECT_EQ(ReadFile(dir_.Sub(absl::StrCat("check", i, ".err"))),
              "provledger: another process is writing to this ledger; "
              "answering from the log as it stood when this command opened "
              "it (seq 27)\n");
  }
  // Writing commands are still refused while it holds the ledger.
  EXPECT_EQ(RunCli(dir_, "--db " + db_ + " compact").exit_code, 1);
}

TEST_F(CliLogTest, AnArchivedLedgerOnAReadOnlyMountCanBeAudited) {
  ASSERT_EQ(RunCli(dir_, absl::StrCat("--db ", db_, " append ",
                                      PROVLEDGER_DEMO_EVENTS))
                .exit_code,
            0);
  const std::string mnt = dir_.Sub("archive");
  std::filesystem::create_directories(mnt);
  const std::string mount = absl::StrCat(
      "mount --bind ", db_, " ", mnt, " 2>/dev/null && mount -o remount,ro,bind ",
      mnt, " 2>/dev/null");
  if (std::system(mount.c_str()) != 0) {
    std::system(("umount " + mnt + " 2>/dev/null").c_str());
    GTEST_SKIP() << "this environment cannot make a read-only bind mount";
  }
  RunResult asof =
      RunCli(dir_, "--db " + mnt + " asof --date 2024-03-10 --org 1245319599 "
                                   "--format csv");
  RunResult verify = RunCli(dir_, "--db " + mnt + " verify");
  RunResult append = RunCli(dir_, "--db " + mnt + " compact");
  ASSERT_EQ(std::system(("umount " + mnt).c_str()), 0);
  EXPECT_EQ(asof.exit_code, 0) << asof.err;
  EXPECT_EQ(asof.out,
            "provider,org,payer,effective_from,effective_until,start_seq,end_seq,"
            "note\n"
            "1234567893,1245319599,medicare,2023-01-01,,12,,\n");
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_TRUE(absl::StrContains(verify.out, "projections match a replay"));
  EXPECT_EQ(append.exit_code, 1);  // a writer cannot use a read-only copy
}

TEST_F(CliLogTest, OnlyOurOwnLedgersAreOpened) {
  // init refuses a folder that holds something else.
  const std::string busy = dir_.Sub("papers");
  std::filesystem::create_directories(busy);
  WriteFile(busy + "/notes.txt", "keep me\n");
  RunResult init = RunCli(dir_, "--db " + busy + " init");
  EXPECT_EQ(init.exit_code, 2);
  EXPECT_EQ(init.err, "provledger: cannot create a ledger in '" + busy +
                          "': the folder is not empty and holds no ledger\n");
  EXPECT_EQ(ReadFile(busy + "/notes.txt"), "keep me\n");

  // Another application's RocksDB is refused and left untouched.
  const std::string other = dir_.Sub("other-app");
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, other, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "k", "v").ok());
  }
  for (const char* cmd : {"stats", "compact"}) {
    RunResult r = RunCli(dir_, "--db " + other + " " + cmd);
    EXPECT_EQ(r.exit_code, 2) << cmd;
    EXPECT_EQ(r.err, "provledger: '" + other +
                         "' is a RocksDB database but not a provledger ledger "
                         "(it has no 'events' column family); it was left "
                         "untouched\n")
        << cmd;
  }
  std::vector<std::string> families;
  ASSERT_TRUE(
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), other, &families)
          .ok());
  EXPECT_EQ(families, std::vector<std::string>{"default"});

  // A ledger written by a newer provledger is refused, rebuild included.
  {
    auto ledger = Ledger::Open(LedgerOptions(), db_);
    ASSERT_TRUE(ledger.ok());
    ASSERT_TRUE(LedgerInternals::Db(**ledger)
                    ->Put(rocksdb::WriteOptions(), "projection_version", "99")
                    .ok());
  }
  for (const char* cmd : {"rebuild", "stats"}) {
    RunResult r = RunCli(dir_, "--db " + db_ + " " + cmd);
    EXPECT_EQ(r.exit_code, 2) << cmd;
    EXPECT_TRUE(absl::StartsWith(
        r.err, "provledger: ledger '" + db_ +
                   "' was written by a newer provledger (projections of "
                   "version 99; this one reads up to version "))
        << cmd << ": " << r.err;
  }
}

TEST_F(CliLogTest, ImportCommitsEarlierBatchesAndResumes) {
  std::string text;
  for (int i = 1; i <= 25; ++i) text += CredLine(i, i == 23 ? "123" : kDrA);
  WriteFile(dir_.Sub("big.jsonl"), text);
  RunResult r = RunCli(dir_, "--db " + db_ + " import --batch-size 10 " +
                                 dir_.Sub("big.jsonl"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(
      r.err, "line 23: credentialed.npi: '123' is not a 10-digit NPI"))
      << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "20 event(s) in 2 earlier batch(es)"))
      << r.err;
  std::vector<std::string> lines = absl::StrSplit(
      RunCli(dir_, "--db " + db_ + " export").out, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 20u);

  // Fix the line and run the same import: only the rest is added.
  text.clear();
  for (int i = 1; i <= 25; ++i) text += CredLine(i);
  WriteFile(dir_.Sub("big.jsonl"), text);
  RunResult again = RunCli(dir_, "--db " + db_ + " import --batch-size 10 " +
                                     dir_.Sub("big.jsonl"));
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(absl::StartsWith(
      again.out, "imported 5 event(s) in 3 batch(es), 20 already recorded"))
      << again.out;
}

TEST_F(CliLogTest, ImportCompactsTheProjectionsAfterALargeImport) {
  std::string text;
  for (int i = 1; i <= 25; ++i) text += CredLine(i);
  WriteFile(dir_.Sub("big.jsonl"), text);
  const std::string import = "--db " + db_ + " import --batch-size 10 ";
  // Below the threshold (the default is a million events): no compaction.
  RunResult small = RunCli(dir_, import + "--compact-after 26 " +
                                     dir_.Sub("big.jsonl"));
  EXPECT_EQ(small.exit_code, 0) << small.err;
  EXPECT_FALSE(absl::StrContains(small.out + small.err, "compact"))
      << small.out << small.err;

  RunResult large = RunCli(dir_, "--db " + dir_.Sub("db2") + " init");
  ASSERT_EQ(large.exit_code, 0) << large.err;
  large = RunCli(dir_, "--db " + dir_.Sub("db2") +
                           " import --compact-after 25 " +
                           dir_.Sub("big.jsonl"));
  EXPECT_EQ(large.exit_code, 0) << large.err;
  EXPECT_TRUE(absl::StartsWith(large.out, "imported 25 event(s) in 1 batch(es)"))
      << large.out;
  EXPECT_TRUE(absl::EndsWith(large.out, "\ncompacted the projections\n"))
      << large.out;
  EXPECT_EQ(large.err, "compacting the projections of 25 event(s)...\n");
  EXPECT_EQ(RunCli(dir_, "--db " + dir_.Sub("db2") + " verify").exit_code, 0);

  // A re-run writes nothing, so it does not compact again.
  RunResult again = RunCli(dir_, "--db " + dir_.Sub("db2") +
                                     " import --compact-after 25 " +
                                     dir_.Sub("big.jsonl"));
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_FALSE(absl::StrContains(again.out + again.err, "compact"))
      << again.out << again.err;
}

TEST_F(CliLogTest, ExportRoundTripsThroughImport) {
  RunResult demo = RunCli(dir_, "demo --keep");
  ASSERT_EQ(demo.exit_code, 0) << demo.err;
  // Build a ledger with the demo's events, export, import elsewhere.
  WriteFile(dir_.Sub("demo.jsonl"), ReadFile(PROVLEDGER_DEMO_EVENTS));
  ASSERT_EQ(RunCli(dir_, "--db " + db_ + " append " + dir_.Sub("demo.jsonl"))
                .exit_code,
            0);
  RunResult exported = RunCli(dir_, "--db " + db_ + " export");
  ASSERT_EQ(exported.exit_code, 0);
  WriteFile(dir_.Sub("export.jsonl"), exported.out);
  const std::string db2 = dir_.Sub("db2");
  ASSERT_EQ(RunCli(dir_, "--db " + db2 + " init").exit_code, 0);
  RunResult imported =
      RunCli(dir_, "--db " + db2 + " import " + dir_.Sub("export.jsonl"));
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  RunResult exported2 = RunCli(dir_, "--db " + db2 + " export");

  std::vector<std::string> a = absl::StrSplit(exported.out, '\n', absl::SkipEmpty());
  std::vector<std::string> b = absl::StrSplit(exported2.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(a.size(), 26u);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    auto ea = ParseEventJson(a[i]);
    auto eb = ParseEventJson(b[i]);
    ASSERT_TRUE(ea.ok() && eb.ok());
    EXPECT_EQ(ea->seq(), eb->seq());
    ea->clear_recorded_at(), ea->clear_prev_hash(), ea->clear_hash();
    eb->clear_recorded_at(), eb->clear_prev_hash(), eb->clear_hash();
    EXPECT_EQ(ea->SerializeAsString(), eb->SerializeAsString()) << a[i];
  }
}

TEST_F(CliLogTest, ABackupRestoresToTheSameDigestAndAnAlteredOneIsRefused) {
  WriteFile(dir_.Sub("demo.jsonl"), ReadFile(PROVLEDGER_DEMO_EVENTS));
  ASSERT_EQ(RunCli(dir_, "--db " + db_ + " append " + dir_.Sub("demo.jsonl"))
                .exit_code,
            0);
  const std::string digest = RunCli(dir_, "--db " + db_ + " digest").out;
  ASSERT_TRUE(absl::StartsWith(digest, "26:")) << digest;
  const std::string head = digest.substr(0, digest.size() - 1);
  const std::string backup = dir_.Sub("backup");
  RunResult backed = RunCli(dir_, "--db " + db_ + " backup --to " + backup);
  ASSERT_EQ(backed.exit_code, 0) << backed.err;
  EXPECT_EQ(backed.out,
            absl::StrCat("backed up 26 event(s) to ", backup, ": head ", head,
                         "\nrestore with: provledger --db NEWDIR restore "
                         "--from ", backup, "\n"));
  // The ledger goes on; the backup keeps the state it was taken at.
  const std::string exported = RunCli(dir_, "--db " + db_ + " export").out;
  WriteFile(dir_.Sub("more.jsonl"), CredLine(1));
  ASSERT_EQ(RunCli(dir_, "--db " + db_ + " append " + dir_.Sub("more.jsonl"))
                .exit_code,
            0);
  const std::string restored_db = dir_.Sub("restored");
  RunResult restored =
      RunCli(dir_, "--db " + restored_db + " restore --from " + backup);
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_EQ(restored.out,
            absl::StrCat("restored ", backup, " into ", restored_db,
                         ": hash chain verified (26 event(s)), projections "
                         "match a replay, head ", head, " is the backup's\n"));
  EXPECT_EQ(RunCli(dir_, "--db " + restored_db + " digest").out, digest);
  EXPECT_EQ(RunCli(dir_, "--db " + restored_db + " export").out, exported);

  // Into a directory that exists; from one that is not a backup; a backup
  // into a directory that exists.
  RunResult again =
      RunCli(dir_, "--db " + restored_db + " restore --from " + backup);
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_EQ(again.err, absl::StrCat("provledger: '", restored_db,
                                    "' exists: a backup is restored into a "
                                    "new directory\n"));
  RunResult not_backup = RunCli(
      dir_, "--db " + dir_.Sub("r2") + " restore --from " + db_);
  EXPECT_EQ(not_backup.exit_code, 2);
  EXPECT_EQ(not_backup.err,
            absl::StrCat("provledger: '", db_,
                         "' is not a provledger backup (no readable "
                         "PROVLEDGER_BACKUP file)\n"));
  RunResult twice = RunCli(dir_, "--db " + db_ + " backup --to " + backup);
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_EQ(twice.err, absl::StrCat("provledger: '", backup,
                                    "' exists: a backup goes into a new "
                                    "directory\n"));
  // A backup whose head was altered does not restore, and leaves nothing.
  std::string marker = ReadFile(backup + "/PROVLEDGER_BACKUP");
  const std::string forged = absl::StrCat("26:", std::string(64, '0'));
  marker.replace(marker.find(head), head.size(), forged);
  WriteFile(backup + "/PROVLEDGER_BACKUP", marker);
  RunResult altered =
      RunCli(dir_, "--db " + dir_.Sub("r3") + " restore --from " + backup);
  EXPECT_EQ(altered.exit_code, 1);
  EXPECT_EQ(altered.err,
            absl::StrCat("provledger: the restored ledger's head ", head,
                         " is not the one PROVLEDGER_BACKUP names (", forged,
                         "): the backup was altered\n"));
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("r3")));
}

TEST_F(CliLogTest, VerifyNamesTheTamperedSeq) {
  std::string text;
  for (int i = 1; i <= 8; ++i) text += CredLine(i);
  WriteFile(dir_.Sub("a.jsonl"), text);
  ASSERT_EQ(RunCli(dir_, "--db " + db_ + " append " + dir_.Sub("a.jsonl")).exit_code, 0);
  RunResult ok = RunCli(dir_, "--db " + db_ + " verify");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_TRUE(absl::StrContains(ok.out, "hash chain verified: 8 event(s)"));
  {
    auto ledger = Ledger::Open(LedgerOptions(), db_);
    ASSERT_TRUE(ledger.ok());
    std::string value;
    auto* db = LedgerInternals::Db(**ledger);
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), LedgerInternals::EventsCf(**ledger),
                        EncodeSeq(6), &value).ok());
    value[40] ^= 0x04;
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), LedgerInternals::EventsCf(**ledger),
                        EncodeSeq(6), value).ok());
  }
  RunResult bad = RunCli(dir_, "--db " + db_ + " verify");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(absl::StartsWith(bad.err, "provledger: verify FAILED at seq 6: "))
      << bad.err;
  // The damage is the log's: rebuilding would hide it.
  EXPECT_TRUE(absl::EndsWith(
      bad.err,
      "provledger: the log itself is damaged from seq 6. Do not run rebuild: "
      "it would make the projections agree with the damaged log. Check the "
      "log against a digest you saved (provledger verify --digest TOKEN) and "
      "restore the ledger from a backup.\n"))
      << bad.err;
}

TEST_F(CliLogTest, VerifyOfAShortenedLogSaysEventsWereRemoved) {
  std::string text;
  for (int i = 1; i <= 8; ++i) text += CredLine(i);
  WriteFile(dir_.Sub("a.jsonl"), text);
  ASSERT_EQ(RunCli(dir_, "--db " + db_ + " append " + dir_.Sub("a.jsonl")).exit_code, 0);
  {
    // The last event removed: the chain of the rest still verifies.
    auto ledger = Ledger::Open(LedgerOptions(), db_);
    ASSERT_TRUE(ledger.ok());
    ASSERT_TRUE(LedgerInternals::Db(**ledger)
                    ->Delete(rocksdb::WriteOptions(), LedgerInternals::EventsCf(**ledger),
                             EncodeSeq(8))
                    .ok());
  }
  RunResult bad = RunCli(dir_, "--db " + db_ + " verify");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.out, "hash chain verified: 7 event(s)\n");
  EXPECT_EQ(bad.err,
            "provledger: verify FAILED: the event_ids index names seq 8 for "
            "event 'c8', after the log's last event (seq 7): events were "
            "removed from the log, or the index was altered\n"
            "provledger: the projections and the log disagree: either was "
            "altered. First check the log against a digest you saved "
            "(provledger verify --digest TOKEN); if it fails, restore the "
            "ledger from a backup. Run provledger rebuild only once the log is "
            "known to be intact: a rebuild makes the projections agree with "
            "whatever the log now holds.\n");
}

}  // namespace
}  // namespace provledger
