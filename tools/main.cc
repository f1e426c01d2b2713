// provledger: the command-line tool.
#include <iostream>

#include "tools/cli.h"

int main(int argc, char** argv) {
  CLI::App app{
      "provledger: an event-sourced, bitemporal ledger of healthcare provider "
      "enrollments, reassignments of benefits and payer contracts.\n"
      "Exit codes: 0 ok, 1 failure, 2 bad input, 3 claim denied, "
      "4 reconciliation discrepancies."};
  app.require_subcommand(1);
  provledger::Context ctx;
  app.add_option("--db", ctx.db, "ledger directory");
  provledger::RegisterLogCommands(app, ctx);
  provledger::RegisterQueryCommands(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : provledger::kExitBadInput;
  }
  return ctx.exit_code;
}
