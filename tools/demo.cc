#include <iostream>

#include "ledger/hash.h"
#include "tools/cli.h"
#include "tools/demo.h"

namespace provledger {

int RunDemoIn(const std::string& path) {
  LedgerOptions options;
  options.create_if_missing = true;
  auto ledger = Ledger::Open(options, path);
  if (!ledger.ok()) return ReportError(ledger.status());
  auto loaded = LoadDemoEvents(**ledger);
  if (!loaded.ok()) return ReportError(loaded.status());
  std::cout
      << "provledger demo: a temporary ledger at " << path << "\n\n"
      << "Loaded " << *loaded << " events in one atomic batch:\n"
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
         "(backdated);\n"
      << "  - Dr. Priya Natarajan (1637485966) reassigned to Lakeside; the "
         "first entry had the\n"
      << "    TIN transposed, was voided (seq 19) and re-entered (seq 20).\n\n";
  auto report = (*ledger)->VerifyChain();
  if (!report.ok()) return ReportError(report.status());
  std::cout << "Hash chain verified over " << report->events_checked
            << " events; head " << report->head.seq << ":"
            << ToHex(report->head.hash) << "\n";
  return report->first_bad_seq == 0 ? kExitOk : kExitFailure;
}

}  // namespace provledger
