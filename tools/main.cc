// provledger: the command-line tool.
#include "tools/cli.h"

int main(int argc, char** argv) { return provledger::RunCommandLine(argc, argv); }
