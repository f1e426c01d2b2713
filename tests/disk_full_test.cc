// A full disk, made for real: a small tmpfs mounted (and removed) by the
// test. Mounting needs root (CAP_SYS_ADMIN); elsewhere the test is skipped,
// unless PROVLEDGER_REQUIRE_TMPFS is set (CI sets it), when that fails.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/cli_support.h"

namespace provledger {
namespace {

using namespace provledger::testing;

constexpr char kDiskFull[] =
    "provledger: the disk holding the ledger is full, so this command could "
    "not finish: free some space and run it again (an append run again "
    "records each event once)\n";

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_ = dir_.Sub("fs");
    std::filesystem::create_directory(fs_);
    if (::mount("tmpfs", fs_.c_str(), "tmpfs", 0, "size=2m") != 0) {
      const std::string why =
          absl::StrCat("cannot mount a tmpfs at ", fs_, ": ",
                       std::strerror(errno), " (needs root)");
      if (std::getenv("PROVLEDGER_REQUIRE_TMPFS") != nullptr) FAIL() << why;
      GTEST_SKIP() << why;
    }
    mounted_ = true;
    db_ = fs_ + "/db";
  }
  void TearDown() override {
    if (mounted_) ::umount2(fs_.c_str(), MNT_DETACH);
  }

  // Fills the file system but for `leave` bytes: a file grown until a
  // write fails, then cut short.
  void Fill(uintmax_t leave = 0) {
    {
      std::ofstream out(fs_ + "/fill", std::ios::binary);
      const std::string block(4096, 'x');
      while (out.write(block.data(), block.size()) && out.flush()) {
      }
    }
    ASSERT_EQ(std::filesystem::space(fs_).available, 0u);
    const uintmax_t size = std::filesystem::file_size(fs_ + "/fill");
    std::filesystem::resize_file(fs_ + "/fill", size - std::min(size, leave));
  }
  void Free() { std::filesystem::remove(fs_ + "/fill"); }

  RunResult Run(const std::string& args) {
    return RunCli(dir_, "--db " + db_ + " " + args);
  }

  TempDir dir_;
  std::string fs_, db_;
  bool mounted_ = false;
};

std::string CredLine(const std::string& id) {
  return absl::StrCat(
      R"({"event_id":")", id,
      R"(","effective_date":"2024-01-01","source":"test","actor":"t","credentialed":{"npi":"1234567893","payer":"aetna"}})",
      "\n");
}

TEST_F(DiskFullTest, WritesFailWithOneSentenceReadsGoOnAndFreedSpaceIsEnough) {
  ASSERT_EQ(Run("init").exit_code, 0);
  ASSERT_EQ(Run(absl::StrCat("append ", PROVLEDGER_DEMO_EVENTS)).exit_code, 0);
  const std::vector<std::string> reads = {
      "asof --provider 1234567893 --date 2024-06-01",
      "history --provider 1234567893",
      "claim-check --rendering 1234567893 --billing 1245319599 --payer "
      "medicare --dos 2024-06-01",
      "stats",
      "verify",
      "digest",
  };
  std::vector<RunResult> before;
  for (const auto& r : reads) before.push_back(Run(r));
  WriteFile(dir_.Sub("one.jsonl"), CredLine("full-1"));
  std::string many;
  for (int i = 0; i < 3000; ++i) many += CredLine(absl::StrCat("bulk-", i));
  WriteFile(dir_.Sub("many.jsonl"), many);

  Fill();
  RunResult append = Run("append " + dir_.Sub("one.jsonl"));
  EXPECT_EQ(append.exit_code, 1);
  EXPECT_EQ(append.err, kDiskFull);
  EXPECT_EQ(append.out, "");
  RunResult import = Run("import " + dir_.Sub("many.jsonl"));
  EXPECT_EQ(import.exit_code, 1);
  EXPECT_EQ(import.err, kDiskFull);
  // Read-only commands answer as they did, on the full disk.
  for (size_t i = 0; i < reads.size(); ++i) {
    RunResult r = Run(reads[i]);
    EXPECT_EQ(r.exit_code, before[i].exit_code) << reads[i];
    EXPECT_EQ(r.out, before[i].out) << reads[i];
    EXPECT_EQ(r.err, before[i].err) << reads[i];
  }

  // Room to open the ledger, not to write the import's first batch.
  Free();
  Fill(/*leave=*/160 << 10);
  import = Run("import " + dir_.Sub("many.jsonl"));
  EXPECT_EQ(import.exit_code, 1);
  EXPECT_EQ(import.err,
            "provledger: the disk holding the ledger is full: the batch "
            "starting at line 1 was not written (0 event(s) in 0 earlier "
            "batch(es) were); free some space and run the same import again, "
            "which skips the events already recorded\n");
  EXPECT_EQ(Run("digest").out, before[5].out);

  // Space freed: the next command succeeds, no repair step.
  Free();
  RunResult again = Run("append " + dir_.Sub("one.jsonl"));
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "27\tfull-1\n");
  RunResult imported = Run("import " + dir_.Sub("many.jsonl"));
  EXPECT_EQ(imported.exit_code, 0) << imported.err;
  RunResult verify = Run("verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_TRUE(absl::StartsWith(verify.out, "hash chain verified: 3027 event(s)\n"))
      << verify.out;
}

}  // namespace
}  // namespace provledger
