// A streaming CSV reader for payer files: RFC 4180 quoting (commas, quotes
// and line breaks inside quoted fields), CRLF or LF, a UTF-8 byte order mark,
// and Latin-1 bytes (converted to UTF-8).
#ifndef PROVLEDGER_PROJECTIONS_CSV_H_
#define PROVLEDGER_PROJECTIONS_CSV_H_

#include <istream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace provledger {

// Not thread-safe. `in` must outlive the reader.
class CsvReader {
 public:
  explicit CsvReader(std::istream& in) : in_(in) {}

  // Reads the next record into *fields. Returns false at end of input.
  // A record with an unterminated quote sets *error (and returns true) so
  // the caller can report and skip it.
  bool Next(std::vector<std::string>* fields, std::string* error);

  // The physical line (1-based) on which the last record started.
  size_t line() const { return record_line_; }
  // Bytes consumed so far.
  uint64_t bytes() const { return bytes_; }

 private:
  bool ReadLine(std::string* line);

  std::istream& in_;
  size_t next_line_ = 1;
  size_t record_line_ = 0;
  uint64_t bytes_ = 0;
  std::string line_;
};

// `s` if it is valid UTF-8; otherwise `s` read as Latin-1, in UTF-8.
std::string ToUtf8(absl::string_view s);

// Lower-case, '_' as space, runs of spaces folded, trimmed: header names
// compare after this ("Group Legal_Business Name" == "group legal business
// name").
std::string NormalizeHeader(absl::string_view name);

}  // namespace provledger

#endif  // PROVLEDGER_PROJECTIONS_CSV_H_
