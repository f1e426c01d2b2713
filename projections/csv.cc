#include "projections/csv.h"

#include <cctype>

namespace provledger {

bool CsvReader::ReadLine(std::string* line) {
  if (!std::getline(in_, *line)) return false;
  bytes_ += line->size() + 1;
  if (!line->empty() && line->back() == '\r') line->pop_back();
  ++next_line_;
  return true;
}

bool CsvReader::Next(std::vector<std::string>* fields, std::string* error) {
  fields->clear();
  error->clear();
  record_line_ = next_line_;
  if (!ReadLine(&line_)) return false;
  if (record_line_ == 1 && line_.compare(0, 3, "\xEF\xBB\xBF") == 0) {
    line_.erase(0, 3);
  }
  std::string field;
  bool quoted = false;
  size_t i = 0;
  while (true) {
    if (i >= line_.size()) {
      if (quoted) {
        // A line break inside a quoted field.
        std::string more;
        if (!ReadLine(&more)) {
          *error = "a quoted field is never closed";
          fields->push_back(ToUtf8(field));
          return true;
        }
        field += '\n';
        line_ = std::move(more);
        i = 0;
        continue;
      }
      fields->push_back(ToUtf8(field));
      return true;
    }
    char c = line_[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line_.size() && line_[i + 1] == '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += c;
      }
      ++i;
    } else if (c == ',') {
      fields->push_back(ToUtf8(field));
      field.clear();
      ++i;
    } else if (c == '"' && field.empty()) {
      quoted = true;
      ++i;
    } else {
      field += c;
      ++i;
    }
  }
}

std::string ToUtf8(absl::string_view s) {
  // Validate UTF-8.
  size_t i = 0;
  bool valid = true;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3
                              : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) {
      valid = false;
      break;
    }
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) valid = false;
    }
    if (!valid) break;
    i += n;
  }
  if (valid) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += ch;
    } else {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return out;
}

std::string NormalizeHeader(absl::string_view name) {
  std::string out;
  bool space = false;
  for (char ch : name) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '_' || std::isspace(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

}  // namespace provledger
