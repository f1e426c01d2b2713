// Query commands (filled in by the projections work).
#include "tools/cli.h"

namespace provledger {
void RegisterQueryCommands(CLI::App& app, Context& ctx) {}
}  // namespace provledger
