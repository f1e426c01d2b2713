// Tabular command output as an aligned table or CSV.
#ifndef PROVLEDGER_TOOLS_TABLE_H_
#define PROVLEDGER_TOOLS_TABLE_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace provledger {

enum class Format { kTable, kJson, kCsv };

// "table", "json" or "csv"; InvalidArgument otherwise.
absl::StatusOr<Format> ParseFormat(const std::string& name);

class Table {
 public:
  explicit Table(std::vector<std::string> columns)
      : columns_(std::move(columns)) {}

  // REQUIRES: cells.size() == number of columns.
  void AddRow(std::vector<std::string> cells) {
    rows_.push_back(std::move(cells));
  }
  size_t size() const { return rows_.size(); }
  const std::vector<std::vector<std::string>>& rows() const { return rows_; }

  // Table: aligned columns with a header ("(none)" when empty), each cell
  // TerminalSafe.
  // CSV: RFC 4180 with a header row. (JSON output is the answer's message
  // in protobuf's JSON mapping, never a table.) REQUIRES: format is not
  // kJson.
  void Print(std::ostream& out, Format format) const;

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// RFC 4180 quoting of one CSV field; a field a spreadsheet would take for
// a formula (starting with =, +, -, @, tab or CR) is written as text: an
// apostrophe before it, quoted ("'=HYPERLINK(...)").
std::string CsvField(const std::string& s);

// `s` for a terminal: each ControlCharacterAt as \xNN (below U+0080) or
// \uNNNN; every other byte as it is.
std::string TerminalSafe(const std::string& s);

}  // namespace provledger

#endif  // PROVLEDGER_TOOLS_TABLE_H_
