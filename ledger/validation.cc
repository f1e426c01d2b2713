#include "ledger/validation.h"

#include <cctype>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ledger/date.h"
#include "ledger/status_macros.h"

namespace provledger {
namespace {

using v1::Event;

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

absl::Status FieldError(absl::string_view field, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", reason));
}

// Builds "<body>.<field>" paths and checks one field at a time.
class Checker {
 public:
  explicit Checker(absl::string_view body) : body_(body) {}

  std::string Path(absl::string_view field) const {
    return absl::StrCat(body_, ".", field);
  }

  absl::Status Required(absl::string_view field, const std::string& value) {
    if (value.empty()) return FieldError(Path(field), "is required");
    return absl::OkStatus();
  }

  absl::Status Npi(absl::string_view field, const std::string& value) {
    if (value.empty()) return FieldError(Path(field), "is required");
    if (value.size() != 10 || !AllDigits(value)) {
      return FieldError(Path(field),
                        absl::StrCat("'", value, "' is not a 10-digit NPI"));
    }
    if (!IsValidNpi(value)) {
      return FieldError(Path(field),
                        absl::StrCat("'", value,
                                     "' fails the NPI check digit (Luhn over "
                                     "prefix 80840)"));
    }
    return absl::OkStatus();
  }

  absl::Status Payer(const std::string& value) {
    if (value.empty()) return FieldError(Path("payer"), "is required");
    if (!IsValidPayer(value)) {
      return FieldError(Path("payer"),
                        absl::StrCat("'", value,
                                     "' must be 1-64 characters of letters, "
                                     "digits, '.', '_' or '-'"));
    }
    return absl::OkStatus();
  }

  absl::Status Tin(const std::string& value, absl::string_view field = "tin") {
    if (!value.empty() && !IsValidTin(value)) {
      // A TIN may be an SSN: the message masks it, as every answer does.
      return FieldError(
          Path(field),
          value.size() > 64
              ? absl::StrCat("is not a 9-digit TIN (", value.size(),
                             " characters)")
              : absl::StrCat("'", MaskTin(value),
                             "' is not a 9-digit TIN (only its last four "
                             "characters are shown)"));
    }
    return absl::OkStatus();
  }

  absl::Status State(const std::string& value) {
    if (value.empty()) return absl::OkStatus();
    if (value.size() != 2 || !std::isupper(static_cast<unsigned char>(value[0])) ||
        !std::isupper(static_cast<unsigned char>(value[1]))) {
      return FieldError(Path("state"),
                        absl::StrCat("'", value,
                                     "' is not a two-letter upper-case state "
                                     "code"));
    }
    return absl::OkStatus();
  }

  // An optional date that, when present, must fall after `after`.
  absl::Status DateAfter(absl::string_view field, const std::string& value,
                         DayNumber after, bool required) {
    if (value.empty()) {
      return required ? FieldError(Path(field), "is required")
                      : absl::OkStatus();
    }
    auto day = ParseDate(value);
    if (!day.ok()) return FieldError(Path(field), day.status().message());
    if (*day <= after) {
      return FieldError(Path(field),
                        absl::StrCat("'", value,
                                     "' must be after the effective date ",
                                     FormatDate(after)));
    }
    return absl::OkStatus();
  }

 private:
  absl::string_view body_;
};

#define PL_CHECK(expr)                 \
  do {                                 \
    absl::Status s_ = (expr);          \
    if (!s_.ok()) return s_;           \
  } while (0)

absl::Status CheckPair(Checker& c, const std::string& provider,
                       const std::string& org, const std::string& payer) {
  PL_CHECK(c.Npi("provider_npi", provider));
  PL_CHECK(c.Npi("org_npi", org));
  if (provider == org) {
    return FieldError(c.Path("org_npi"),
                      "must differ from provider_npi (a provider cannot "
                      "reassign to or associate with itself)");
  }
  return c.Payer(payer);
}

absl::Status CheckBody(const Event& e, DayNumber effective) {
  Checker c(BodyName(e));
  switch (e.body_case()) {
    case Event::kEnrolled: {
      const auto& b = e.enrolled();
      PL_CHECK(c.Npi("npi", b.npi()));
      PL_CHECK(c.Payer(b.payer()));
      if (b.entity() == v1::Enrolled::ENTITY_UNSPECIFIED) {
        return FieldError(c.Path("entity"),
                          "is required (INDIVIDUAL or ORGANIZATION)");
      }
      if (!b.enrollment_id().empty() && !IsValidEnrollmentId(b.enrollment_id())) {
        return FieldError(c.Path("enrollment_id"),
                          absl::StrCat("'", b.enrollment_id(),
                                       "' is not 'I' or 'O' followed by 14 "
                                       "digits"));
      }
      if (!b.pac_id().empty() &&
          (b.pac_id().size() != 10 || !AllDigits(b.pac_id()))) {
        return FieldError(c.Path("pac_id"),
                          absl::StrCat("'", b.pac_id(),
                                       "' is not a 10-digit PAC id"));
      }
      PL_CHECK(c.Tin(b.tin()));
      PL_CHECK(c.State(b.state()));
      if (b.entity() == v1::Enrolled::ORGANIZATION) {
        PL_CHECK(c.Required("legal_name", b.legal_name()));
      } else {
        PL_CHECK(c.Required("last_name", b.last_name()));
      }
      return absl::OkStatus();
    }
    case Event::kEnrollmentEnded:
      PL_CHECK(c.Npi("npi", e.enrollment_ended().npi()));
      return c.Payer(e.enrollment_ended().payer());
    case Event::kCredentialed:
      PL_CHECK(c.Npi("npi", e.credentialed().npi()));
      PL_CHECK(c.Payer(e.credentialed().payer()));
      return c.DateAfter("expires_on", e.credentialed().expires_on(), effective,
                         /*required=*/false);
    case Event::kAssociated:
      return CheckPair(c, e.associated().provider_npi(),
                       e.associated().org_npi(), e.associated().payer());
    case Event::kAssociationEnded:
      return CheckPair(c, e.association_ended().provider_npi(),
                       e.association_ended().org_npi(),
                       e.association_ended().payer());
    case Event::kReassigned:
      PL_CHECK(CheckPair(c, e.reassigned().provider_npi(),
                         e.reassigned().org_npi(), e.reassigned().payer()));
      return c.Tin(e.reassigned().org_tin(), "org_tin");
    case Event::kRevoked:
      return CheckPair(c, e.revoked().provider_npi(), e.revoked().org_npi(),
                       e.revoked().payer());
    case Event::kContractSigned: {
      const auto& b = e.contract_signed();
      PL_CHECK(c.Payer(b.payer()));
      PL_CHECK(c.Npi("holder_npi", b.holder_npi()));
      PL_CHECK(c.Required("contract_id", b.contract_id()));
      if (b.kind() == v1::ContractSigned::KIND_UNSPECIFIED) {
        return FieldError(c.Path("kind"), "is required (INDIVIDUAL or GROUP)");
      }
      if (b.kind() == v1::ContractSigned::INDIVIDUAL &&
          b.covered_npis_size() > 0) {
        return FieldError(c.Path("covered_npis"),
                          "must be empty for an INDIVIDUAL contract (it "
                          "covers its holder)");
      }
      for (int i = 0; i < b.covered_npis_size(); ++i) {
        PL_CHECK(c.Npi(absl::StrCat("covered_npis[", i, "]"),
                       b.covered_npis(i)));
      }
      return absl::OkStatus();
    }
    case Event::kContractEnded:
      PL_CHECK(c.Payer(e.contract_ended().payer()));
      PL_CHECK(c.Npi("holder_npi", e.contract_ended().holder_npi()));
      return c.Required("contract_id", e.contract_ended().contract_id());
    case Event::kRevalidated:
      PL_CHECK(c.Npi("npi", e.revalidated().npi()));
      PL_CHECK(c.Payer(e.revalidated().payer()));
      return c.DateAfter("next_due_on", e.revalidated().next_due_on(),
                         effective, /*required=*/true);
    case Event::kDemographicsChanged: {
      const auto& b = e.demographics_changed();
      PL_CHECK(c.Npi("npi", b.npi()));
      PL_CHECK(c.Tin(b.tin()));
      PL_CHECK(c.State(b.state()));
      if (b.tin().empty() && b.legal_name().empty() && b.state().empty()) {
        return FieldError("demographics_changed",
                          "names no change (set tin, legal_name or state)");
      }
      return absl::OkStatus();
    }
    case Event::kRegistryUpdated: {
      const auto& b = e.registry_updated();
      PL_CHECK(c.Npi("npi", b.npi()));
      if (b.status() == v1::RegistryUpdated::STATUS_UNSPECIFIED) {
        return FieldError(c.Path("status"),
                          "is required (ACTIVE or DEACTIVATED)");
      }
      if (b.status() == v1::RegistryUpdated::ACTIVE &&
          b.entity() == v1::Enrolled::ENTITY_UNSPECIFIED) {
        return FieldError(c.Path("entity"),
                          "is required on an ACTIVE record (INDIVIDUAL or "
                          "ORGANIZATION)");
      }
      if (!b.replacement_npi().empty()) {
        PL_CHECK(c.Npi("replacement_npi", b.replacement_npi()));
      }
      return absl::OkStatus();
    }
    case Event::kVoided:
      if (e.voided().target_seq() == 0 && e.voided().target_event_id().empty()) {
        return FieldError(c.Path("target_seq"),
                          "is required (a seq >= 1), or target_event_id");
      }
      return c.Required("reason", e.voided().reason());
    case Event::BODY_NOT_SET:
      break;
  }
  return FieldError("body",
                    "is required: one of enrolled, enrollment_ended, "
                    "credentialed, associated, association_ended, reassigned, "
                    "revoked, contract_signed, contract_ended, revalidated, "
                    "demographics_changed, voided, registry_updated");
}

}  // namespace

char NpiCheckDigit(absl::string_view base) {
  // Luhn over "80840" + the nine digits; the constant 24 is the prefix's
  // contribution, as published by CMS.
  int sum = 24;
  for (int i = 0; i < 9; ++i) {
    int d = base[8 - i] - '0';
    if (i % 2 == 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

bool IsValidNpi(absl::string_view npi) {
  if (npi.size() != 10 || !AllDigits(npi)) return false;
  return NpiCheckDigit(npi.substr(0, 9)) == npi[9];
}

bool IsValidTin(absl::string_view tin) {
  return tin.size() == 9 && AllDigits(tin);
}

std::string MaskTin(absl::string_view tin) {
  const size_t shown = tin.size() < 4 ? tin.size() : 4;
  return absl::StrCat(std::string(tin.size() - shown, '*'),
                      tin.substr(tin.size() - shown));
}

bool IsValidEnrollmentId(absl::string_view id) {
  return id.size() == 15 && (id[0] == 'I' || id[0] == 'O') &&
         AllDigits(id.substr(1));
}

bool IsValidPayer(absl::string_view payer) {
  if (payer.empty() || payer.size() > 64) return false;
  for (char c : payer) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

std::string CanonicalPayer(absl::string_view payer) {
  return absl::AsciiStrToLower(payer);
}

absl::string_view BodyName(const v1::Event& event) {
  if (event.body_case() == Event::BODY_NOT_SET) return "";
  const auto* field =
      Event::descriptor()->FindFieldByNumber(event.body_case());
  return field->name();
}

std::optional<uint32_t> ControlCharacterAt(absl::string_view text, size_t i,
                                           size_t* bytes) {
  const unsigned char c = static_cast<unsigned char>(text[i]);
  auto next = [&](size_t k) {
    return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0;
  };
  *bytes = 1;
  if (c < 0x20 || c == 0x7f) return c;
  if (c == 0xc2 && next(1) >= 0x80 && next(1) <= 0x9f) {
    *bytes = 2;
    return next(1);  // C1 controls, U+0080-U+009F
  }
  if (c == 0xd8 && next(1) == 0x9c) {
    *bytes = 2;
    return 0x061c;  // ARABIC LETTER MARK
  }
  if (c == 0xe2 && (next(1) == 0x80 || next(1) == 0x81) && next(2) >= 0x80 &&
      next(2) <= 0xbf) {
    const uint32_t cp = 0x2000 + ((next(1) & 0x3f) << 6) + (next(2) & 0x3f);
    if (cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
        (cp >= 0x2066 && cp <= 0x2069)) {
      *bytes = 3;
      return cp;
    }
  }
  return std::nullopt;
}

namespace {

// Why `text` may not be stored, or "" if it may: a control character
// (other than tab) or a character that reorders text when shown
// (bidirectional controls: a row of a table could be made to read as
// another), each named with its code point and byte offset.
std::string TextProblem(absl::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    // Printable ASCII, nearly every byte of every field, is never a control.
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) continue;
    size_t bytes = 1;
    const std::optional<uint32_t> code = ControlCharacterAt(text, i, &bytes);
    if (!code.has_value() || *code == '\t') continue;
    const bool bidi = *code == 0x061c || *code >= 0x200e;
    return absl::StrFormat(
        "holds %s U+%04X at byte %d; text may hold tab but no other control "
        "character and no bidirectional control",
        bidi ? "the bidirectional control" : "the control character", *code,
        i);
  }
  return "";
}

// Every text field of `m` (its sub-messages too): no control characters,
// at most kMaxTextBytes; the path of the first bad one in the error.
absl::Status CheckText(const google::protobuf::Message& m,
                       const std::string& prefix) {
  const auto* reflection = m.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(m, &fields);
  for (const auto* field : fields) {
    const std::string path = prefix + field->name();
    using FD = google::protobuf::FieldDescriptor;
    if (field->cpp_type() == FD::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(m, field); ++i) {
          RETURN_IF_ERROR(
              CheckText(reflection->GetRepeatedMessage(m, field, i), path + "."));
        }
      } else {
        RETURN_IF_ERROR(CheckText(reflection->GetMessage(m, field), path + "."));
      }
      continue;
    }
    if (field->cpp_type() != FD::CPPTYPE_STRING ||
        field->type() == FD::TYPE_BYTES) {
      continue;
    }
    auto check = [&](const std::string& text) -> absl::Status {
      if (text.size() > kMaxTextBytes) {
        return FieldError(path, absl::StrCat("is longer than ", kMaxTextBytes,
                                             " bytes (", text.size(), ")"));
      }
      if (std::string problem = TextProblem(text); !problem.empty()) {
        return FieldError(path, problem);
      }
      return absl::OkStatus();
    };
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(m, field); ++i) {
        RETURN_IF_ERROR(check(reflection->GetRepeatedString(m, field, i)));
      }
    } else {
      RETURN_IF_ERROR(check(reflection->GetString(m, field)));
    }
  }
  return absl::OkStatus();
}

bool Blank(absl::string_view s) {
  return absl::StripAsciiWhitespace(s).empty();
}

}  // namespace

absl::Status ValidateEvent(const v1::Event& e) {
  if (e.event_id().empty()) return FieldError("event_id", "is required");
  RETURN_IF_ERROR(CheckText(e, ""));
  if (Blank(e.event_id())) {
    return FieldError("event_id", "is blank: it needs a character other than spaces");
  }
  if (e.event_id().size() > 256) {
    return FieldError("event_id", "is longer than 256 characters");
  }
  if (e.effective_date().empty()) {
    return FieldError("effective_date", "is required");
  }
  auto effective = ParseDate(e.effective_date());
  if (!effective.ok()) {
    return FieldError("effective_date", effective.status().message());
  }
  if (e.source().empty()) return FieldError("source", "is required");
  if (Blank(e.source())) {
    return FieldError("source", "is blank: it needs a character other than spaces");
  }
  if (!e.actor().empty() && Blank(e.actor())) {
    return FieldError("actor", "is blank: it needs a character other than spaces");
  }
  if (!e.filed_on().empty()) {
    auto filed = ParseDate(e.filed_on());
    if (!filed.ok()) return FieldError("filed_on", filed.status().message());
  }
  return CheckBody(e, *effective);
}

}  // namespace provledger
