#include <iostream>

#include "absl/strings/str_join.h"
#include "ledger/hash.h"
#include "tools/cli.h"
#include "tools/demo.h"

namespace provledger {

namespace {

// Prints the command, then runs it against the demo ledger.
int Show(const std::string& db, const std::string& why,
         const std::vector<std::string>& args) {
  std::cout << "\n# " << why << "\n$ provledger --db DEMO "
            << absl::StrJoin(args, " ") << "\n"
            << std::flush;
  std::vector<std::string> full = {"--db", db};
  full.insert(full.end(), args.begin(), args.end());
  int rc = RunCommandLine(full);
  std::cout << std::flush;
  return rc;
}

}  // namespace

int RunDemoIn(const std::string& path) {
  {
    LedgerOptions options;
    options.create_if_missing = true;
    auto ledger = Ledger::Open(options, path);
    if (!ledger.ok()) return ReportError(ledger.status());
    auto loaded = LoadDemoEvents(**ledger);
    if (!loaded.ok()) return ReportError(loaded.status());
    std::cout
        << "provledger demo: a temporary ledger (DEMO = " << path << ")\n\n"
        << "Loaded " << *loaded << " events (tools/demo_events.jsonl) in one "
           "atomic batch:\n"
        << "  - 2 groups enrolled with Medicare: Riverbend Family Medicine "
           "(NPI 1245319599) and\n"
        << "    Lakeside Cardiology Associates (NPI 1407201544), each with a "
           "group participation contract;\n"
        << "  - Dr. Maria Alvarez (1234567893) reassigns to BOTH groups "
           "(2023-01-01 and 2023-06-01),\n"
        << "    and holds an individual Cigna contract (self-billing);\n"
        << "  - Dr. James Chen (1526374859) reassigned to Riverbend on "
           "2022-03-01; he left on 2024-02-29,\n"
        << "    but the termination was filed on 2024-05-20 and recorded last "
           "(seq 25, backdated);\n"
        << "  - Dr. Priya Natarajan (1637485966) reassigned to Lakeside; the "
           "first entry (seq 18) had the\n"
        << "    TIN transposed, was voided (seq 19) and re-entered (seq 20).\n";
  }
  struct Step {
    std::string why;
    std::vector<std::string> args;
    int expected_rc;
  };
  const std::vector<Step> steps = {
      {"Who was reassigned to Riverbend on 2024-03-10, as we know it now?",
       {"asof", "--date", "2024-03-10", "--org", "1245319599"}, kExitOk},
      {"...and as our records stood before the late termination was recorded "
       "(seq 24)?",
       {"asof", "--date", "2024-03-10", "--org", "1245319599", "--known-seq",
        "24"},
       kExitOk},
      {"Could Riverbend bill Medicare for Dr. Chen's visit on 2024-03-10? "
       "What we know now:",
       {"claim-check", "--rendering", "1526374859", "--billing", "1245319599",
        "--payer", "medicare", "--dos", "2024-03-10"},
       kExitDenied},
      {"What our records said when we billed (before seq 25):",
       {"claim-check", "--rendering", "1526374859", "--billing", "1245319599",
        "--payer", "medicare", "--dos", "2024-03-10", "--known-seq", "24"},
       kExitOk},
      {"Dr. Natarajan's claim as known before the TIN correction (seq 18):",
       {"claim-check", "--rendering", "1637485966", "--billing", "1407201544",
        "--payer", "medicare", "--dos", "2024-02-01", "--known-seq", "18"},
       kExitDenied},
      {"Reassignments that started or ended in 2024:",
       {"diff", "--from", "2024-01-01", "--to", "2024-12-31"}, kExitOk},
      {"Tamper evidence: recompute the hash chain and replay the projections",
       {"verify"}, kExitOk},
  };
  for (const Step& step : steps) {
    int rc = Show(path, step.why, step.args);
    if (rc != step.expected_rc) {
      std::cerr << "provledger demo: unexpected exit code " << rc << "\n";
      return kExitFailure;
    }
  }
  return kExitOk;
}

}  // namespace provledger
