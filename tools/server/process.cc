#include "tools/server/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/match.h"

namespace provledger::server {

ServerProcess::ServerProcess(const std::string& provledgerd,
                             std::vector<std::string> args,
                             const std::string& err_path,
                             const std::string& listen) {
  args.insert(args.begin(), provledgerd);
  args.push_back("--listen");
  args.push_back(listen);
  // Everything the child needs is made before fork: the caller may have
  // other threads, and one of them may hold the allocator's lock at the
  // fork, so between fork and exec the child makes only async-signal-safe
  // calls (a malloc there can deadlock it before it ever runs).
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return;
  const int err =
      open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (err < 0) {
    close(out[0]);
    close(out[1]);
    return;
  }
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], 1);  // dup2 leaves the copies open across exec
    dup2(err, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(err);
  close(out[1]);
  // "metrics on HOST:PORT/metrics" (with --metrics), "http on HOST:PORT"
  // (with --http), then "listening on HOST:PORT", within 20 s.
  std::string text;
  pollfd p{out[0], POLLIN, 0};
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
    const size_t at = text.find("listening on ");
    if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
      break;
    }
    if (poll(&p, 1, 200) <= 0) continue;
    char buf[256];
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  auto value = [&](const std::string& label) -> std::string {
    const size_t at = text.find(label);
    if (at == std::string::npos) return "";
    const size_t end = text.find('\n', at);
    if (end == std::string::npos) return "";
    return text.substr(at + label.size(), end - at - label.size());
  };
  address_ = value("listening on ");
  metrics_ = value("metrics on ");
  http_ = value("http on ");
}

int ServerProcess::Stop() {
  if (pid_ <= 0) return exit_code_;
  kill(pid_, SIGTERM);
  return Wait(std::chrono::seconds(20));
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = 0;
  exit_code_ = -1;
}

int ServerProcess::Wait(std::chrono::seconds within) {
  if (pid_ <= 0) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + within;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      Kill();
      return exit_code_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = 0;
  return exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace provledger::server
