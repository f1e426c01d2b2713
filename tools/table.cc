#include "tools/table.h"

#include <algorithm>
#include <cassert>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ledger/validation.h"

namespace provledger {

absl::StatusOr<Format> ParseFormat(const std::string& name) {
  if (name == "table") return Format::kTable;
  if (name == "json") return Format::kJson;
  if (name == "csv") return Format::kCsv;
  return absl::InvalidArgumentError(
      absl::StrCat("--format: '", name, "' is not table, json or csv"));
}

std::string CsvField(const std::string& s) {
  // A cell a spreadsheet would run as a formula is made text (OWASP's CSV
  // injection advice: a leading apostrophe, and quoted).
  const bool formula =
      !s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' ||
                     s[0] == '@' || s[0] == '\t' || s[0] == '\r');
  if (!formula && s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = formula ? "\"'" : "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string TerminalSafe(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t bytes = 1;
    if (const std::optional<uint32_t> code = ControlCharacterAt(s, i, &bytes)) {
      out += *code < 0x80 ? absl::StrFormat("\\x%02x", *code)
                          : absl::StrFormat("\\u%04x", *code);
    } else {
      out.append(s, i, bytes);
    }
    i += bytes;
  }
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
      // Control characters shown escaped: a cell cannot move the cursor,
      // colour the terminal or forge a row.
      std::vector<std::vector<std::string>> rows;
      rows.reserve(rows_.size());
      for (const auto& row : rows_) {
        std::vector<std::string> safe;
        for (const auto& c : row) safe.push_back(TerminalSafe(c));
        rows.push_back(std::move(safe));
      }
      std::vector<size_t> width(columns_.size());
      for (size_t i = 0; i < columns_.size(); ++i) width[i] = columns_[i].size();
      for (const auto& row : rows) {
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
      for (const auto& row : rows) line(row);
      return;
    }
  }
}

}  // namespace provledger
