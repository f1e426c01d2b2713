#include "tools/table.h"

#include <algorithm>
#include <cassert>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace provledger {

absl::StatusOr<Format> ParseFormat(const std::string& name) {
  if (name == "table") return Format::kTable;
  if (name == "json") return Format::kJson;
  if (name == "csv") return Format::kCsv;
  return absl::InvalidArgumentError(
      absl::StrCat("--format: '", name, "' is not table, json or csv"));
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

void Table::Print(std::ostream& out, Format format) const {
  switch (format) {
    case Format::kCsv: {
      std::vector<std::string> fields;
      for (const auto& c : columns_) fields.push_back(CsvField(c));
      out << absl::StrJoin(fields, ",") << "\n";
      for (const auto& row : rows_) {
        fields.clear();
        for (const auto& c : row) fields.push_back(CsvField(c));
        out << absl::StrJoin(fields, ",") << "\n";
      }
      return;
    }
    case Format::kJson:
      // Never a table: answers print their messages (service::ToJson).
      assert(false);
      [[fallthrough]];
    case Format::kTable: {
      std::vector<size_t> width(columns_.size());
      for (size_t i = 0; i < columns_.size(); ++i) width[i] = columns_[i].size();
      for (const auto& row : rows_) {
        for (size_t i = 0; i < row.size(); ++i) {
          width[i] = std::max(width[i], row[i].size());
        }
      }
      auto line = [&](const std::vector<std::string>& cells) {
        std::string s;
        for (size_t i = 0; i < cells.size(); ++i) {
          s += cells[i];
          if (i + 1 < cells.size()) s += std::string(width[i] - cells[i].size() + 2, ' ');
        }
        out << s << "\n";
      };
      line(columns_);
      if (rows_.empty()) out << "(none)\n";
      for (const auto& row : rows_) line(row);
      return;
    }
  }
}

}  // namespace provledger
