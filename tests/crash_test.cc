// Kills a writer with SIGKILL at random moments; after each kill the ledger
// must verify and hold every acknowledged batch whole, and no batch partly.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "ledger/ledger.h"
#include "ledger/testing.h"

namespace provledger {
namespace {

struct Child {
  pid_t pid;
  FILE* out;
};

Child Spawn(const std::string& db, long first_batch, int threads) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::string first = std::to_string(first_batch);
    std::string n = std::to_string(threads);
    execl(CRASH_WRITER_PATH, CRASH_WRITER_PATH, db.c_str(), first.c_str(),
          n.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  return Child{pid, fdopen(fds[0], "r")};
}

// `threads` writer threads (group commit when more than one), killed
// `iterations` times.
void SurviveKills(int threads, int iterations, unsigned seed) {
  testing::TempDir dir;
  const std::string db = dir.Sub("db");
  std::mt19937 rng(seed);
  std::set<long> acked;
  long next_batch = 0;
  for (int iter = 0; iter < iterations; ++iter) {
    Child child = Spawn(db, next_batch, threads);
    ASSERT_NE(child.out, nullptr);
    // Wait for a random number of acknowledgements, then kill at a random
    // moment while the next batch is in flight.
    const int wait_acks = std::uniform_int_distribution<int>(1, 15)(rng);
    char line[64];
    int seen = 0;
    while (seen < wait_acks && std::fgets(line, sizeof line, child.out)) {
      long b;
      if (std::sscanf(line, "ACK %ld", &b) == 1) {
        acked.insert(b);
        ++seen;
      }
    }
    usleep(std::uniform_int_distribution<int>(0, 4000)(rng));
    ASSERT_EQ(kill(child.pid, SIGKILL), 0);
    // Acknowledgements printed before the kill still count.
    while (std::fgets(line, sizeof line, child.out)) {
      long b;
      if (std::sscanf(line, "ACK %ld", &b) == 1) acked.insert(b);
    }
    std::fclose(child.out);
    int status = 0;
    ASSERT_EQ(waitpid(child.pid, &status, 0), child.pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited on its own: " << status;
    ASSERT_GE(seen, 1) << "writer produced no acknowledgement";

    auto ledger = Ledger::Open(LedgerOptions(), db);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    auto report = (*ledger)->VerifyChain();
    ASSERT_TRUE(report.ok()) << report.status();
    ASSERT_EQ(report->first_bad_seq, 0u) << report->problem;
    ASSERT_TRUE((*ledger)->VerifyProjections().ok());

    // The writer started at next_batch; each thread may have begun one
    // batch past its last acknowledged one.
    long last_started = *acked.rbegin() + threads;
    uint64_t present_events = 0;
    for (long b = 0; b <= last_started; ++b) {
      int present = 0;
      for (int i = 0; i < 10; ++i) {
        auto seq = (*ledger)->View()->FindEventId(absl::StrCat("b", b, "-", i));
        ASSERT_TRUE(seq.ok());
        if (seq->has_value()) ++present;
      }
      ASSERT_TRUE(present == 0 || present == 10)
          << "batch " << b << " is partial: " << present << " of 10";
      if (acked.count(b)) {
        ASSERT_EQ(present, 10) << "acked batch " << b << " lost";
      }
      present_events += present;
    }
    EXPECT_EQ(report->head.seq, present_events);
    next_batch = last_started + 1;
  }
  EXPECT_GE(acked.size(), static_cast<size_t>(iterations));
}

TEST(CrashTest, AcknowledgedBatchesSurviveSigkillAndNoneIsPartial) {
  SurviveKills(/*threads=*/1, /*iterations=*/20, 20241122);
}

// Several threads appending at once: their batches are committed in groups,
// and a kill in the middle of a group's write loses none that was
// acknowledged and leaves none partial.
TEST(CrashTest, ConcurrentWritersGroupCommitSurvivesSigkill) {
  SurviveKills(/*threads=*/4, /*iterations=*/12, 20261201);
}

}  // namespace
}  // namespace provledger
