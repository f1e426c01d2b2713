#include "projections/csv.h"

#include <cctype>
#include <cstdint>
#include <cstring>

namespace provledger {

bool CsvReader::ReadLine(std::string* line) {
  if (!std::getline(in_, *line)) return false;
  bytes_ += line->size() + 1;
  if (!line->empty() && line->back() == '\r') line->pop_back();
  ++next_line_;
  return true;
}

namespace {

// Whether `s` is valid UTF-8.
bool IsUtf8(absl::string_view s) {
  size_t i = 0;
  // Most payer files are ASCII: skip it eight bytes at a time.
  while (i + 8 <= s.size()) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    if ((word & 0x8080808080808080ull) != 0) break;
    i += 8;
  }
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3
                              : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

// `*field` in UTF-8: as it is when it is, else read as Latin-1.
void FixUtf8(std::string* field) {
  if (!IsUtf8(*field)) *field = ToUtf8(*field);
}

}  // namespace

bool CsvReader::Next(std::vector<std::string>* fields, std::string* error) {
  error->clear();
  record_line_ = next_line_;
  if (!ReadLine(&line_)) {
    fields->clear();
    return false;
  }
  if (record_line_ == 1 && line_.compare(0, 3, "\xEF\xBB\xBF") == 0) {
    line_.erase(0, 3);
  }
  // The strings of *fields are reused from record to record: a wide file
  // (NPPES has 330 columns) allocates nothing per field.
  size_t n = 0;
  auto next_field = [&]() -> std::string* {
    if (n == fields->size()) fields->emplace_back();
    std::string* f = &(*fields)[n++];
    f->clear();
    return f;
  };
  std::string* field = next_field();
  // Spans of the line are appended whole; most NPPES fields are an empty
  // "" and cost a few compares.
  const char* p = line_.data();
  const char* end = p + line_.size();
  while (true) {
    if (p < end && *p == '"') {
      // A quoted field: up to the closing quote, "" standing for one.
      ++p;
      while (true) {
        const char* start = p;
        while (p < end && *p != '"') ++p;
        if (p > start) field->append(start, p - start);
        if (p == end) {
          // A line break inside the quoted field.
          std::string more;
          if (!ReadLine(&more)) {
            *error = "a quoted field is never closed";
            if (!field->empty()) FixUtf8(field);
            fields->resize(n);
            return true;
          }
          field->push_back('\n');
          line_ = std::move(more);
          p = line_.data();
          end = p + line_.size();
          continue;
        }
        if (p + 1 < end && p[1] == '"') {
          field->push_back('"');
          p += 2;
          continue;
        }
        ++p;  // the closing quote
        break;
      }
    }
    // Unquoted (or what follows a closing quote): up to the next comma.
    const char* start = p;
    while (p < end && *p != ',') ++p;
    if (p > start) field->append(start, p - start);
    if (!field->empty()) FixUtf8(field);
    if (p == end) {
      fields->resize(n);
      return true;
    }
    ++p;
    field = next_field();
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
