// Public API (see the README's Layout: what a front end may include).
// Format checks on events as written (before any timeline check).
#ifndef PROVLEDGER_LEDGER_VALIDATION_H_
#define PROVLEDGER_LEDGER_VALIDATION_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "provledger/v1/events.pb.h"

namespace provledger {

// True iff `npi` is 10 digits whose last digit is the Luhn check digit
// computed over "80840" followed by the first nine digits.
bool IsValidNpi(absl::string_view npi);

// The check digit that makes a valid NPI of nine digits `base`.
// REQUIRES: base is 9 digits.
char NpiCheckDigit(absl::string_view base);

// True iff `tin` is exactly 9 digits.
bool IsValidTin(absl::string_view tin);

// `tin` with every character but the last four shown as '*' ("*****6789"):
// an individual's TIN is often an SSN, so answers and messages show this.
std::string MaskTin(absl::string_view tin);

// True iff `id` is "I" or "O" followed by 14 digits.
bool IsValidEnrollmentId(absl::string_view id);

// True iff `payer` is 1-64 characters of [A-Za-z0-9._-].
bool IsValidPayer(absl::string_view payer);

// Payer ids are case-insensitive: "Cigna", "CIGNA" and "cigna" name one
// payer. Every key, index, filter and comparison uses this form, ASCII lower
// case (a valid payer id holds no other letters); events keep the spelling
// as written, which history and export show.
std::string CanonicalPayer(absl::string_view payer);

// The character starting at byte `i` of UTF-8 `text`, if it is one no
// output may show as it is: a C0 control (tab included), DEL, a C1
// control (U+0080-U+009F), or a bidirectional control (U+061C, U+200E/F,
// U+202A-E, U+2066-9). Its code point, with its length in bytes in *bytes;
// nullopt for any other character.
std::optional<uint32_t> ControlCharacterAt(absl::string_view text, size_t i,
                                           size_t* bytes);

// The most bytes a text field of an event may hold (event_id: 256).
inline constexpr size_t kMaxTextBytes = 1024;

// Checks the writer's fields of `event`: required fields present, NPIs,
// TINs, enrollment ids, PAC ids, states and dates well formed, one body set;
// every text field at most kMaxTextBytes, with no control character but tab
// and no bidirectional control (U+061C, U+200E/F, U+202A-E, U+2066-9);
// event_id, source and a given actor not blank.
// Returns OK, or InvalidArgument with the message "<field>: <reason>", where
// <field> is the proto field path (e.g. "reassigned.provider_npi").
absl::Status ValidateEvent(const v1::Event& event);

// The name of the event's body field ("reassigned", ...), or "" if unset.
absl::string_view BodyName(const v1::Event& event);

}  // namespace provledger

#endif  // PROVLEDGER_LEDGER_VALIDATION_H_
