// provledger: the command-line tool.
#include "tools/cli.h"
#include "tools/server/grpc_service.h"

int main(int argc, char** argv) {
  provledger::TuneAllocator();
  provledger::server::StopLockOrderTracking();
  return provledger::RunCommandLine(argc, argv);
}
