// Runs the provledger binary for acceptance tests.
#ifndef PROVLEDGER_TESTS_CLI_SUPPORT_H_
#define PROVLEDGER_TESTS_CLI_SUPPORT_H_

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "ledger/testing.h"

namespace provledger::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Runs `provledger <args>` (args are passed through the shell) in `dir`'s
// scratch files; stdin from `stdin_path` if non-empty.
inline RunResult RunCli(const TempDir& dir, const std::string& args,
                        const std::string& stdin_path = "") {
  const std::string out = dir.Sub("cli.out"), err = dir.Sub("cli.err");
  std::string cmd = std::string(PROVLEDGER_PATH) + " " + args + " >" + out +
                    " 2>" + err;
  cmd += " <" + (stdin_path.empty() ? std::string("/dev/null") : stdin_path);
  int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  return r;
}

}  // namespace provledger::testing

#endif  // PROVLEDGER_TESTS_CLI_SUPPORT_H_
