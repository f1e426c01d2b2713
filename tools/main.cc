// provledger: the command-line tool.
#include "tools/cli.h"

int main(int argc, char** argv) {
  provledger::TuneAllocator();
  return provledger::RunCommandLine(argc, argv);
}
