#include "projections/claims_file.h"

#include <cctype>
#include <cstring>
#include <deque>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ledger/status_macros.h"
#include "ledger/validation.h"
#include "projections/csv.h"

namespace provledger {
namespace {

// "" if `npi` is a valid NPI, else why not.
std::string NpiProblem(absl::string_view npi) {
  if (npi.empty()) return "is empty";
  if (npi.size() != 10 ||
      !std::all_of(npi.begin(), npi.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return absl::StrCat("'", npi, "' is not a 10-digit NPI");
  }
  if (!IsValidNpi(npi)) {
    return absl::StrCat("'", npi,
                        "' fails the NPI check digit (Luhn over prefix 80840)");
  }
  return "";
}

// Checks a range of service dates; "" if it is fine.
std::string RangeProblem(DayNumber from, DayNumber to) {
  if (to < from) {
    return absl::StrCat("the service dates end (", FormatDate(to),
                        ") before they begin (", FormatDate(from), ")");
  }
  if (to - from + 1 > kMaxServiceDays) {
    return absl::StrCat("the service dates span ", to - from + 1,
                        " days, more than ", kMaxServiceDays);
  }
  return "";
}

// ---------------------------------------------------------------- CSV

class CsvClaimsReader : public ClaimsReader {
 public:
  explicit CsvClaimsReader(std::istream& in) : reader_(in) {}

  absl::Status Start() {
    std::vector<std::string> header;
    std::string error;
    if (!reader_.Next(&header, &error) || !error.empty()) {
      return absl::InvalidArgumentError(
          "claims file: empty, or no header line (claim_id,line,"
          "rendering_npi,billing_npi,payer,dos_from[,dos_to])");
    }
    for (size_t i = 0; i < header.size(); ++i) {
      const std::string h = NormalizeHeader(header[i]);
      for (size_t c = 0; c < kColumns; ++c) {
        if (h == kNames[c] && !column_[c].has_value()) column_[c] = i;
      }
    }
    std::vector<std::string> missing;
    for (size_t c = 0; c < kColumns; ++c) {
      if (!column_[c].has_value() && c != kDosTo) {
        missing.push_back(kHeaderNames[c]);
      }
    }
    if (!missing.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "claims file: line 1: the header has no column ",
          absl::StrJoin(missing, ", "),
          " (expected claim_id,line,rendering_npi,billing_npi,payer,"
          "dos_from[,dos_to])"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<bool> Next(ClaimLine* out) override {
    std::vector<std::string> fields;
    std::string error;
    while (true) {
      fields.clear();
      error.clear();
      if (!reader_.Next(&fields, &error)) return false;
      if (!error.empty()) break;
      bool blank = std::all_of(fields.begin(), fields.end(),
                               [](const std::string& f) {
                                 return absl::StripAsciiWhitespace(f).empty();
                               });
      if (!blank) break;
    }
    *out = ClaimLine();
    out->position = reader_.line();
    auto fail = [&](absl::string_view field, absl::string_view why) {
      out->error = absl::StrCat("line ", reader_.line(), ": ", field,
                                field.empty() ? "" : ": ", why);
      return true;
    };
    if (!error.empty()) return fail("", error);
    auto get = [&](size_t c) -> std::string {
      if (!column_[c].has_value() || *column_[c] >= fields.size()) return "";
      return std::string(absl::StripAsciiWhitespace(fields[*column_[c]]));
    };
    out->claim_id = get(kClaimId);
    out->billing_npi = get(kBilling);
    out->rendering_npi = get(kRendering);
    out->payer = get(kPayer);
    const std::string line = get(kLine);
    if (out->claim_id.empty()) return fail("claim_id", "is empty");
    if (!absl::SimpleAtoi(line, &out->line) || line.empty() ||
        !std::isdigit(static_cast<unsigned char>(line[0]))) {
      return fail("line", absl::StrCat("'", line, "' is not a line number"));
    }
    if (std::string p = NpiProblem(out->billing_npi); !p.empty()) {
      return fail("billing_npi", p);
    }
    if (out->rendering_npi.empty()) out->rendering_npi = out->billing_npi;
    if (std::string p = NpiProblem(out->rendering_npi); !p.empty()) {
      return fail("rendering_npi", p);
    }
    if (out->payer.empty()) return fail("payer", "is empty");
    auto from = ParseDate(get(kDosFrom));
    if (!from.ok()) return fail("dos_from", from.status().message());
    out->from = out->to = *from;
    if (const std::string to_text = get(kDosTo); !to_text.empty()) {
      auto to = ParseDate(to_text);
      if (!to.ok()) return fail("dos_to", to.status().message());
      out->to = *to;
    }
    if (std::string p = RangeProblem(out->from, out->to); !p.empty()) {
      return fail("dos_to", p);
    }
    return true;
  }

  uint64_t bytes() const override { return reader_.bytes(); }

 private:
  enum Column : size_t {
    kClaimId,
    kLine,
    kRendering,
    kBilling,
    kPayer,
    kDosFrom,
    kDosTo,
    kColumns
  };
  static constexpr const char* kNames[kColumns] = {
      "claim id", "line", "rendering npi", "billing npi",
      "payer",    "dos from", "dos to"};
  static constexpr const char* kHeaderNames[kColumns] = {
      "claim_id", "line",     "rendering_npi", "billing_npi",
      "payer",    "dos_from", "dos_to"};

  CsvReader reader_;
  std::optional<size_t> column_[kColumns];
};

// ---------------------------------------------------------------- X12

// One segment's elements, split on the element separator (views of its
// text, valid until the next segment is read into it).
struct Segment {
  uint64_t number = 0;  // 1-based, from the start of the file
  std::string text;
  std::vector<absl::string_view> elements;
  bool unterminated = false;  // the file ended inside it

  absl::string_view id() const { return elements[0]; }
  // Element `i` (1-based, as X12 counts), "" when absent.
  absl::string_view operator[](size_t i) const {
    return i < elements.size() ? elements[i] : absl::string_view();
  }
  // "segment 23 (NM1*82)": where, for messages.
  std::string Where() const {
    std::string name(elements.empty() ? "" : elements[0]);
    if (!name.empty() && elements.size() > 1 &&
        (name == "NM1" || name == "DTP" || name == "HL" || name == "ST")) {
      absl::StrAppend(&name, "*", name == "HL" ? (*this)[3] : (*this)[1]);
    }
    return absl::StrCat("segment ", number, name.empty() ? "" : " (", name,
                        name.empty() ? "" : ")");
  }
};

class X12ClaimsReader : public ClaimsReader {
 public:
  explicit X12ClaimsReader(std::istream& in) : in_(in) {}

  absl::Status Start() {
    // The ISA segment is fixed-width: 106 characters, whose 4th is the
    // element separator, 105th the component separator and 106th the
    // segment terminator.
    std::string head;
    int c;
    while ((c = Get()) != EOF &&
           (std::isspace(c) || c == 0xEF || c == 0xBB || c == 0xBF)) {
    }
    if (c != EOF) head.push_back(static_cast<char>(c));
    while (head.size() < 106 && (c = Get()) != EOF) {
      head.push_back(static_cast<char>(c));
    }
    if (head.size() < 106 || head.compare(0, 3, "ISA") != 0) {
      return absl::InvalidArgumentError(
          "claims file: not an X12 interchange: it does not start with an "
          "ISA segment of 106 characters");
    }
    element_ = head[3];
    terminator_ = head[105];
    if (element_ == terminator_ || std::isalnum(static_cast<unsigned char>(element_)) ||
        std::isalnum(static_cast<unsigned char>(terminator_))) {
      return absl::InvalidArgumentError(
          "claims file: segment 1 (ISA): its separators are not usable "
          "(element separator and segment terminator must be distinct "
          "non-alphanumeric characters)");
    }
    pending_isa_ = head.substr(0, 105);
    return absl::OkStatus();
  }

  absl::StatusOr<bool> Next(ClaimLine* out) override {
    while (ready_.empty()) {
      Segment& s = segment_;
      if (!ReadSegment(&s)) {
        if (done_) return false;
        done_ = true;
        FlushClaim();
        continue;
      }
      Handle(s);
    }
    *out = std::move(ready_.front());
    ready_.pop_front();
    return true;
  }

  uint64_t bytes() const override { return bytes_; }

 private:
  // The file is read a block at a time; Get() and ReadSegment() take
  // bytes from the block.
  bool Fill() {
    if (eof_) return false;
    in_.read(buffer_, sizeof(buffer_));
    end_ = static_cast<size_t>(in_.gcount());
    pos_ = 0;
    if (end_ == 0) eof_ = true;
    return end_ > 0;
  }

  int Get() {
    if (pos_ == end_ && !Fill()) return EOF;
    ++bytes_;
    return static_cast<unsigned char>(buffer_[pos_++]);
  }

  // The next segment into *s; false at the end of the file.
  bool ReadSegment(Segment* s) {
    std::string& text = s->text;
    text.clear();
    s->unterminated = false;
    if (!pending_isa_.empty()) {
      text.swap(pending_isa_);
    } else {
      int c;
      while ((c = Get()) != EOF && (c == '\r' || c == '\n' || c == ' ' || c == '\t')) {
      }
      if (c == EOF) return false;
      text.push_back(static_cast<char>(c));
      // A new interchange names its own separators: its ISA is read by its
      // fixed width.
      while (text.size() < 3 && text.back() != terminator_ &&
             (c = Get()) != EOF) {
        text.push_back(static_cast<char>(c));
      }
      if (text == "ISA") {
        while (text.size() < 106 && (c = Get()) != EOF) {
          text.push_back(static_cast<char>(c));
        }
        if (text.size() == 106) {
          element_ = text[3];
          terminator_ = text[105];
          text.pop_back();
        } else {
          s->unterminated = true;
        }
      } else if (!text.empty() && text.back() == terminator_) {
        text.pop_back();
      } else if (c == EOF) {
        s->unterminated = true;
      } else {
        // The rest, up to the terminator, a span of the block at a time.
        while (true) {
          if (pos_ == end_ && !Fill()) {
            s->unterminated = true;
            break;
          }
          const char* start = buffer_ + pos_;
          const void* found = std::memchr(start, terminator_, end_ - pos_);
          const size_t n = found != nullptr
                               ? static_cast<const char*>(found) - start
                               : end_ - pos_;
          text.append(start, n);
          pos_ += n;
          bytes_ += n;
          if (found != nullptr) {
            ++pos_;
            ++bytes_;
            break;
          }
        }
      }
    }
    s->number = ++segments_;
    s->elements = absl::StrSplit(text, element_);
    return true;
  }

  // Where a malformed segment's error goes: the innermost open scope.
  void Malformed(const Segment& s, absl::string_view why) {
    std::string message = absl::StrCat(s.Where(), ": ", why);
    if (line_ != nullptr) {
      if (line_->error.empty()) line_->error = std::move(message);
    } else if (in_claim_) {
      if (claim_error_.empty()) claim_error_ = std::move(message);
    } else if (in_billing_) {
      if (billing_error_.empty()) billing_error_ = std::move(message);
    } else {
      ClaimLine orphan;
      orphan.position = s.number;
      orphan.error = std::move(message);
      ready_.push_back(std::move(orphan));
    }
  }

  // The NPI an NM1 segment names (NM108 "XX", NM109); "" after reporting.
  std::string NpiOf(const Segment& s) {
    if (s[8] != "XX") {
      Malformed(s, absl::StrCat("NM108 is '", s[8],
                                "', not 'XX' (an NPI follows 'XX' in NM109)"));
      return "";
    }
    if (std::string p = NpiProblem(s[9]); !p.empty()) {
      Malformed(s, absl::StrCat("NM109 ", p));
      return "";
    }
    return std::string(s[9]);
  }

  // Parses DTP03 as a D8 date or an RD8 range.
  bool Dates(const Segment& s, DayNumber* from, DayNumber* to) {
    const absl::string_view format = s[2];
    const absl::string_view value = s[3];
    if (format == "D8") {
      auto d = ParseCompactDate(value);
      if (!d.ok()) {
        Malformed(s, absl::StrCat("DTP03 ", d.status().message()));
        return false;
      }
      *from = *to = *d;
      return true;
    }
    if (format == "RD8") {
      std::vector<std::string> parts = absl::StrSplit(value, '-');
      if (parts.size() != 2) {
        Malformed(s, absl::StrCat("DTP03 '", value,
                                  "' is not a range CCYYMMDD-CCYYMMDD"));
        return false;
      }
      auto a = ParseCompactDate(parts[0]);
      auto b = ParseCompactDate(parts[1]);
      if (!a.ok() || !b.ok()) {
        Malformed(s, absl::StrCat("DTP03 ",
                                  (!a.ok() ? a : b).status().message()));
        return false;
      }
      if (std::string p = RangeProblem(*a, *b); !p.empty()) {
        Malformed(s, absl::StrCat("DTP03 '", value, "': ", p));
        return false;
      }
      *from = *a;
      *to = *b;
      return true;
    }
    Malformed(s, absl::StrCat("DTP02 is '", format,
                              "', not D8 (a date) or RD8 (a range)"));
    return false;
  }

  void Handle(const Segment& s) {
    const absl::string_view id = s.id();
    const bool id_ok =
        (id.size() == 2 || id.size() == 3) &&
        std::all_of(id.begin(), id.end(), [](char c) {
          return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        });
    if (!id_ok) {
      Segment where = s;
      where.elements = {""};  // "segment N", not its garbled id
      Malformed(where, absl::StrCat("'", absl::CHexEscape(id.substr(0, 20)),
                                    "' is not a segment id"));
      return;
    }
    if (s.unterminated) {
      Malformed(s, absl::StrCat("the file ends inside this segment (no '",
                                std::string(1, terminator_),
                                "' terminator)"));
      return;
    }
    if (id == "ISA") {
      FlushClaim();
      EndTransaction();
      return;
    }
    if (id == "ST") {
      FlushClaim();
      EndTransaction();
      if (s[1] != "837" || (!s[3].empty() && !absl::StrContains(s[3], "X222"))) {
        skipping_ = true;
        ClaimLine note;
        note.position = s.number;
        note.error = absl::StrCat(
            s.Where(), ": transaction set ", s[1],
            s[3].empty() ? "" : " ", s[3],
            " is not an 837P professional claim (005010X222A1); its "
            "segments were skipped");
        ready_.push_back(std::move(note));
      }
      return;
    }
    if (id == "SE" || id == "GE" || id == "IEA") {
      FlushClaim();
      EndTransaction();
      return;
    }
    if (skipping_) return;
    if (id == "HL") {
      FlushClaim();
      const absl::string_view level = s[3];
      if (level == "20") {
        in_billing_ = true;
        billing_npi_.clear();
        billing_error_.clear();
        payer_ = Payer();
      } else if (level == "22") {
        payer_ = Payer();
      }
      return;
    }
    if (id == "CLM") {
      FlushClaim();
      in_claim_ = true;
      claim_id_ = std::string(s[1]);
      if (claim_id_.empty()) {
        Malformed(s, "CLM01 (the claim's id) is empty");
      }
      if (!in_billing_) {
        Malformed(s, "the claim has no billing provider (no HL*20 loop "
                     "before it)");
      }
      return;
    }
    if (id == "LX") {
      if (!in_claim_) {
        ClaimLine orphan;
        orphan.position = s.number;
        orphan.error = absl::StrCat(
            s.Where(), ": a service line outside any claim (no CLM before it)");
        ready_.push_back(std::move(orphan));
        return;
      }
      lines_.emplace_back();
      line_ = &lines_.back().line;
      line_->position = s.number;
      if (!absl::SimpleAtoi(s[1], &line_->line) || s[1].empty() ||
          !std::isdigit(static_cast<unsigned char>(s[1][0]))) {
        Malformed(s, absl::StrCat("LX01 '", s[1], "' is not a line number"));
      }
      return;
    }
    if (id == "NM1") {
      const absl::string_view who = s[1];
      if (who == "85") {
        if (in_claim_ || !in_billing_) {
          Malformed(s, "a billing provider name outside loop 2010AA");
          return;
        }
        billing_npi_ = NpiOf(s);
      } else if (who == "PR") {
        payer_ = Payer();
        payer_.name = std::string(s[3]);
        payer_.id = std::string(s[9]);
        if (payer_.name.empty() && payer_.id.empty()) {
          Malformed(s, "the payer has neither a name (NM103) nor an id "
                       "(NM109)");
        }
      } else if (who == "82") {
        if (!in_claim_) {
          Malformed(s, "a rendering provider outside any claim");
          return;
        }
        std::string npi = NpiOf(s);
        if (line_ != nullptr) {
          line_->rendering_npi = npi;  // 2420A: this line only
        } else {
          claim_rendering_ = npi;  // 2310B: the claim's lines
        }
      }
      return;
    }
    if (id == "DTP" && s[1] == "472") {
      DayNumber from = 0, to = 0;
      if (line_ != nullptr) {
        if (Dates(s, &from, &to)) {
          line_->from = from;
          line_->to = to;
          lines_.back().dated = true;
        }
      } else if (in_claim_) {
        if (Dates(s, &from, &to)) {
          claim_from_ = from;
          claim_to_ = to;
          claim_dated_ = true;
        }
      }
      return;
    }
  }

  void EndTransaction() {
    skipping_ = false;
    in_billing_ = false;
    billing_npi_.clear();
    billing_error_.clear();
    payer_ = Payer();
  }

  // Hands the open claim's lines on, completed from their loops.
  void FlushClaim() {
    if (!in_claim_) return;
    if (lines_.empty()) {
      ClaimLine none;
      none.claim_id = claim_id_;
      none.error = absl::StrCat("claim '", claim_id_,
                                "' has no service lines (no LX segment)");
      if (!claim_error_.empty()) none.error = claim_error_;
      ready_.push_back(std::move(none));
    }
    for (PendingLine& pending : lines_) {
      ClaimLine& l = pending.line;
      l.claim_id = claim_id_;
      l.billing_npi = billing_npi_;
      l.payer = payer_.name;
      l.payer_id = payer_.id;
      const bool line_rendering = !l.rendering_npi.empty();
      if (!line_rendering) {
        l.rendering_npi = claim_rendering_.empty() ? billing_npi_ : claim_rendering_;
      }
      if (!pending.dated && claim_dated_) {
        l.from = claim_from_;
        l.to = claim_to_;
        pending.dated = true;
      }
      // The innermost problem explains the line.
      if (l.error.empty() && !claim_error_.empty()) l.error = claim_error_;
      if (l.error.empty() && !billing_error_.empty()) l.error = billing_error_;
      if (l.error.empty() && billing_npi_.empty()) {
        l.error = absl::StrCat("claim '", claim_id_,
                               "': no billing provider NPI (NM1*85 in loop "
                               "2010AA)");
      }
      if (l.error.empty() && payer_.name.empty() && payer_.id.empty()) {
        l.error = absl::StrCat("claim '", claim_id_,
                               "': no payer (NM1*PR in loop 2010BB)");
      }
      if (l.error.empty() && !pending.dated) {
        l.error = absl::StrCat("segment ", l.position, " (LX): line ", l.line,
                               " of claim '", claim_id_,
                               "' has no service date (DTP*472)");
      }
      ready_.push_back(std::move(l));
    }
    lines_.clear();
    line_ = nullptr;
    in_claim_ = false;
    claim_id_.clear();
    claim_rendering_.clear();
    claim_error_.clear();
    claim_dated_ = false;
  }

  struct Payer {
    std::string name, id;
  };

  std::istream& in_;
  char buffer_[1 << 16];
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  uint64_t bytes_ = 0;
  uint64_t segments_ = 0;
  char element_ = '*';
  char terminator_ = '~';
  std::string pending_isa_;  // the first segment, read by Start()
  Segment segment_;          // the last one read
  bool done_ = false;
  std::deque<ClaimLine> ready_;

  bool skipping_ = false;  // inside a transaction that is not an 837P
  bool in_billing_ = false;
  std::string billing_npi_, billing_error_;
  Payer payer_;
  bool in_claim_ = false;
  std::string claim_id_, claim_rendering_, claim_error_;
  bool claim_dated_ = false;
  DayNumber claim_from_ = 0, claim_to_ = 0;
  struct PendingLine {
    ClaimLine line;
    bool dated = false;  // a DTP*472 of its own
  };
  std::deque<PendingLine> lines_;  // stable addresses for line_
  ClaimLine* line_ = nullptr;      // the open line's, if any
};

}  // namespace

absl::StatusOr<std::unique_ptr<ClaimsReader>> NewClaimsReader(
    const std::string& format, std::istream& in) {
  if (format == "csv") {
    auto reader = std::make_unique<CsvClaimsReader>(in);
    RETURN_IF_ERROR(reader->Start());
    return reader;
  }
  if (format == "x12-837p") {
    auto reader = std::make_unique<X12ClaimsReader>(in);
    RETURN_IF_ERROR(reader->Start());
    return reader;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "claims_format: '", format, "' is not a claims format (csv or x12-837p)"));
}

}  // namespace provledger
