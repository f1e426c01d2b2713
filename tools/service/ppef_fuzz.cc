// Fuzz target: a pair of PPEF extracts (enrollment, then reassignment,
// separated by the first NUL byte) loaded into a ledger. Never crashes; a
// bad row is skipped with its line named, and what was appended verifies.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "tools/service/fuzz_support.h"
#include "tools/service/ppef.h"
#include "tools/service/service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace provledger;
  static Ledger* ledger = fuzz::NewLedger().release();
  static uint64_t runs = 0;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  std::istringstream enrollment(input.substr(0, nul));
  std::istringstream reassignment(nul == std::string::npos ? "" : input.substr(nul + 1));
  PpefOptions options;
  options.as_of = 19905;  // 2024-07-01
  options.sync = false;
  auto result = LoadPpef(*ledger, enrollment, reassignment, options,
                         [](const std::string& problem) {
                           fuzz::Check(absl::StartsWith(problem, "enrollment line ") ||
                                           absl::StartsWith(problem, "reassignment line "),
                                       "a skipped row names its extract and line");
                         });
  if (!result.ok()) {
    const absl::StatusCode code = result.status().code();
    fuzz::Check(code == absl::StatusCode::kInvalidArgument ||
                    code == absl::StatusCode::kFailedPrecondition ||
                    code == absl::StatusCode::kAlreadyExists,
                "a refused extract is the input's fault");
  }
  // Every so often, the whole ledger against a replay.
  if (++runs % 256 == 0) {
    auto verified = service::Verify(*ledger, v1::VerifyRequest());
    fuzz::Check(verified.ok() && verified->failure() == v1::VerifyResponse::NONE,
                "the ledger verifies");
  }
  return 0;
}
