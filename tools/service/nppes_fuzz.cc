// Fuzz target: an NPPES data file loaded into a ledger. Never crashes; a
// bad row is skipped with its line named; loading the same file again adds
// nothing; what was appended verifies.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tools/service/fuzz_support.h"
#include "tools/service/nppes.h"
#include "tools/service/service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace provledger;
  static Ledger* ledger = fuzz::NewLedger().release();
  static uint64_t runs = 0;
  const std::string input(reinterpret_cast<const char*>(data), size);
  NppesOptions options;
  options.file_date = 19905;  // 2024-07-01
  options.sync = false;
  auto problem = [](const std::string& p) {
    fuzz::Check(absl::StartsWith(p, "line "), "a skipped row names its line");
  };
  std::istringstream first(input);
  auto result = LoadNppes(*ledger, first, options, problem);
  if (!result.ok()) {
    fuzz::Check(result.status().code() == absl::StatusCode::kInvalidArgument &&
                    absl::StartsWith(result.status().message(), "line 1: "),
                absl::StrCat("only a bad header refuses the file, not: ",
                             result.status().ToString()));
    return 0;
  }
  const uint64_t head = ledger->head().seq;
  std::istringstream again(input);
  auto reloaded = LoadNppes(*ledger, again, options, problem);
  fuzz::Check(reloaded.ok() && ledger->head().seq == head,
              "loading the same file again adds nothing");
  if (++runs % 256 == 0) {
    auto verified = service::Verify(*ledger, v1::VerifyRequest());
    fuzz::Check(verified.ok() && verified->failure() == v1::VerifyResponse::NONE,
                "the ledger verifies");
  }
  return 0;
}
