// Claims files read as a stream of claim lines: a CSV of claim lines, or
// an X12 837P (005010X222A1) professional claims interchange. Memory is
// bounded by one claim, whatever the file's size. A line that cannot be
// read is handed on with its error (where, and why), and reading goes on.
#ifndef PROVLEDGER_PROJECTIONS_CLAIMS_FILE_H_
#define PROVLEDGER_PROJECTIONS_CLAIMS_FILE_H_

#include <cstdint>
#include <istream>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "ledger/date.h"

namespace provledger {

// One service line of a claim.
struct ClaimLine {
  std::string claim_id;
  uint32_t line = 0;      // its number in the claim (LX01, or CSV "line")
  uint64_t position = 0;  // CSV: the file's line; 837P: the LX segment's number
  std::string rendering_npi;  // who rendered the service
  std::string billing_npi;
  std::string payer;     // as written: CSV "payer"; 837P the payer's name
  std::string payer_id;  // 837P: NM109 of NM1*PR ("" in a CSV)
  DayNumber from = 0;    // service dates, inclusive
  DayNumber to = 0;
  // Not empty: the line could not be read, and this says where and why
  // ("segment 23 (DTP*472): ..."; "line 5: rendering_npi: ..."); the
  // fields above hold what could be read.
  std::string error;
};

// The longest range of service dates a line may give, in days.
inline constexpr int kMaxServiceDays = 366;

class ClaimsReader {
 public:
  virtual ~ClaimsReader() = default;
  // The next claim line into *line; false at the end of the file.
  // InvalidArgument only when the file is not of the format at all (no
  // CSV header naming the columns; no ISA segment to start an
  // interchange), at its start.
  virtual absl::StatusOr<bool> Next(ClaimLine* line) = 0;
  // Bytes consumed so far.
  virtual uint64_t bytes() const = 0;
};

// "csv": claim_id,line,rendering_npi,billing_npi,payer,dos_from[,dos_to]
// by header name, dates YYYY-MM-DD; an empty rendering_npi means the
// billing provider rendered. "x12-837p": an 837P interchange (several
// ISA/GS/ST envelopes allowed). InvalidArgument "claims_format: ..." for
// any other format. `in` must outlive the reader.
absl::StatusOr<std::unique_ptr<ClaimsReader>> NewClaimsReader(
    const std::string& format, std::istream& in);

}  // namespace provledger

#endif  // PROVLEDGER_PROJECTIONS_CLAIMS_FILE_H_
