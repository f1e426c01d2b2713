#include "projections/names.h"

#include "absl/strings/ascii.h"
#include "unicode/normalizer2.h"
#include "unicode/uchar.h"
#include "unicode/unistr.h"
#include "unicode/utf16.h"

namespace provledger {
namespace {

bool IsAscii(absl::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// Appends `piece` to `out`, a space first if a separator came before it.
void AppendWord(std::string* out, bool* gap, absl::string_view piece) {
  if (*gap && !out->empty()) out->push_back(' ');
  out->append(piece.data(), piece.size());
  *gap = false;
}

// Periods and apostrophes (also U+2019, the typographic one) join the
// letters around them.
bool IsJoiner(uint32_t c) { return c == '.' || c == '\'' || c == 0x2019; }

// Names written in ASCII alone (nearly all of them): the same rule without
// ICU's conversions. Case folding of ASCII is lowering.
std::string NormalizeAscii(absl::string_view name) {
  std::string out;
  out.reserve(name.size());
  bool gap = false;
  for (char c : name) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u)) {
      const char lower = absl::ascii_tolower(u);
      AppendWord(&out, &gap, absl::string_view(&lower, 1));
    } else if (!IsJoiner(u)) {
      gap = true;
    }
  }
  return out;
}

}  // namespace

std::string NormalizeName(absl::string_view name) {
  if (IsAscii(name)) return NormalizeAscii(name);
  UErrorCode error = U_ZERO_ERROR;
  // ICU owns the instance; it is immutable and thread-safe.
  static const icu::Normalizer2* const nfkd =
      icu::Normalizer2::getNFKDInstance(error);
  icu::UnicodeString text = icu::UnicodeString::fromUTF8(
      icu::StringPiece(name.data(), static_cast<int32_t>(name.size())));
  text.foldCase();
  icu::UnicodeString decomposed;
  if (nfkd != nullptr) {
    error = U_ZERO_ERROR;
    decomposed = nfkd->normalize(text, error);
    if (U_FAILURE(error)) decomposed = text;
  } else {
    decomposed = text;
  }
  // Folding after the decomposition too: NFKD can produce upper case
  // (compatibility forms such as U+2160 ROMAN NUMERAL ONE).
  decomposed.foldCase();

  std::string out;
  out.reserve(name.size());
  bool gap = false;
  std::string utf8;
  for (int32_t i = 0; i < decomposed.length();) {
    const UChar32 c = decomposed.char32At(i);
    i += U16_LENGTH(c);
    const int8_t type = u_charType(c);
    if (type == U_NON_SPACING_MARK || type == U_ENCLOSING_MARK ||
        type == U_COMBINING_SPACING_MARK) {
      continue;  // accents: "é" is "e" + U+0301
    }
    if (IsJoiner(static_cast<uint32_t>(c))) continue;
    if (!u_isalnum(c)) {
      gap = true;
      continue;
    }
    utf8.clear();
    icu::UnicodeString(c).toUTF8String(utf8);
    AppendWord(&out, &gap, utf8);
  }
  return out;
}

}  // namespace provledger
