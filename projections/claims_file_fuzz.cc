// Fuzz target: a claims file, CSV or X12 837P (the first byte's low bit
// picks). Never crashes; the file is read to its end; every line that
// could not be read says where, and every other line has valid NPIs and a
// range of at most kMaxServiceDays days.
#include <cstddef>
#include <cstdint>
#include <sstream>

#include "absl/strings/match.h"
#include "ledger/internal/fuzz_check.h"
#include "ledger/validation.h"
#include "projections/claims_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string format = (data[0] & 1) ? "x12-837p" : "csv";
  std::istringstream in(
      std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  auto reader = provledger::NewClaimsReader(format, in);
  if (!reader.ok()) {
    provledger::fuzz::Check(
        reader.status().code() == absl::StatusCode::kInvalidArgument &&
            absl::StartsWith(reader.status().message(), "claims file: "),
        "a file refused at its start says so");
    return 0;
  }
  provledger::ClaimLine line;
  size_t lines = 0;
  while (true) {
    auto more = (*reader)->Next(&line);
    provledger::fuzz::Check(more.ok(), "reading on never fails");
    if (!*more) break;
    provledger::fuzz::Check(++lines <= size, "no more lines than bytes");
    if (!line.error.empty()) {
      provledger::fuzz::Check(absl::StartsWith(line.error, "segment ") ||
                                  absl::StartsWith(line.error, "line ") ||
                                  absl::StartsWith(line.error, "claim '"),
                              "an unreadable line says where");
      continue;
    }
    provledger::fuzz::Check(provledger::IsValidNpi(line.billing_npi) &&
                                provledger::IsValidNpi(line.rendering_npi),
                            "a readable line has valid NPIs");
    provledger::fuzz::Check(
        line.from <= line.to &&
            line.to - line.from < provledger::kMaxServiceDays,
        "a readable line has a bounded range of dates");
  }
  provledger::fuzz::Check((*reader)->bytes() <= size, "bytes are counted");
  return 0;
}
