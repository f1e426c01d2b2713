// A provledgerd child process, for tests and the benchmark: started with
// `--listen HOST:0` (or a given address), its bound address read from its
// stdout, stopped with SIGTERM (SIGKILL if it does not stop) when
// destroyed.
#ifndef PROVLEDGER_TOOLS_SERVER_PROCESS_H_
#define PROVLEDGER_TOOLS_SERVER_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace provledger::server {

class ServerProcess {
 public:
  // Starts `provledgerd <args> --listen <listen>` with its stderr in
  // `err_path`, and waits (up to 20 s) for its "listening on" line;
  // address() is "" if it did not come (then Wait() gives the exit code).
  ServerProcess(const std::string& provledgerd, std::vector<std::string> args,
                const std::string& err_path,
                const std::string& listen = "127.0.0.1:0");
  ~ServerProcess() { Stop(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // "127.0.0.1:PORT".
  const std::string& address() const { return address_; }
  // "127.0.0.1:PORT/metrics" when started with --metrics, else "".
  const std::string& metrics_address() const { return metrics_; }
  // "127.0.0.1:PORT" when started with --http, else "".
  const std::string& http_address() const { return http_; }

  // SIGTERM, then the exit code (-1 if it had to be killed after 20 s).
  int Stop();
  // SIGKILL: the process dies wherever it is.
  void Kill();
  // Waits for the process to exit on its own; SIGKILL after `within`.
  int Wait(std::chrono::seconds within);

 private:
  pid_t pid_ = 0;
  int exit_code_ = -1;
  std::string address_;
  std::string metrics_;
  std::string http_;
};

}  // namespace provledger::server

#endif  // PROVLEDGER_TOOLS_SERVER_PROCESS_H_
