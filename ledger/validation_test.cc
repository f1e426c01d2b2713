#include "ledger/validation.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "ledger/testing.h"

namespace provledger {
namespace {

using namespace provledger::testing;

TEST(NpiTest, LuhnWithPrefix80840) {
  EXPECT_TRUE(IsValidNpi("1234567893"));
  EXPECT_TRUE(IsValidNpi("1245319599"));
  EXPECT_FALSE(IsValidNpi("1234567890"));
  EXPECT_FALSE(IsValidNpi("123456789"));
  EXPECT_FALSE(IsValidNpi("12345678931"));
  EXPECT_FALSE(IsValidNpi("12345678a3"));
  EXPECT_FALSE(IsValidNpi(""));
}

TEST(FormatTest, TinsEnrollmentIdsPayers) {
  EXPECT_TRUE(IsValidTin("274839201"));
  EXPECT_FALSE(IsValidTin("27-4839201"));
  EXPECT_FALSE(IsValidTin("27483920"));
  EXPECT_EQ(MaskTin("123456789"), "*****6789");
  EXPECT_EQ(MaskTin("123-45-6789"), "*******6789");
  EXPECT_EQ(MaskTin("6789"), "6789");
  EXPECT_EQ(MaskTin(""), "");
  EXPECT_TRUE(IsValidEnrollmentId("O20150101000123"));
  EXPECT_TRUE(IsValidEnrollmentId("I20190701000789"));
  EXPECT_FALSE(IsValidEnrollmentId("X20190701000789"));
  EXPECT_FALSE(IsValidEnrollmentId("I2019070100078"));
  EXPECT_TRUE(IsValidPayer("medicare"));
  EXPECT_TRUE(IsValidPayer("medicaid-oh"));
  EXPECT_FALSE(IsValidPayer("blue cross"));
  EXPECT_FALSE(IsValidPayer(""));
}

void ExpectError(const v1::Event& e, const std::string& message) {
  absl::Status s = ValidateEvent(e);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << message;
  EXPECT_EQ(s.message(), message);
}

TEST(ValidateEventTest, AcceptsWellFormedEvents) {
  EXPECT_TRUE(ValidateEvent(Reassigned("r1", "2024-02-01", kDrA, kGroupX)).ok());
  EXPECT_TRUE(ValidateEvent(EnrolledOrg("e1", "2024-02-01", kGroupX)).ok());
  EXPECT_TRUE(ValidateEvent(Voided("v", "2024-02-01", 3)).ok());
}

TEST(ValidateEventTest, NamesTheFieldAndTheReason) {
  ExpectError(Reassigned("r1", "2024-02-01", "1234567890", kGroupX),
              "reassigned.provider_npi: '1234567890' fails the NPI check "
              "digit (Luhn over prefix 80840)");
  ExpectError(Reassigned("r1", "2024-02-01", kDrA, "12345"),
              "reassigned.org_npi: '12345' is not a 10-digit NPI");
  ExpectError(Reassigned("r1", "2024-02-01", kDrA, kDrA),
              "reassigned.org_npi: must differ from provider_npi (a provider "
              "cannot reassign to or associate with itself)");
  ExpectError(Reassigned("", "2024-02-01", kDrA, kGroupX),
              "event_id: is required");
  ExpectError(Reassigned("r1", "2024-02-30", kDrA, kGroupX),
              "effective_date: '2024-02-30' is not a real calendar day");
  ExpectError(Reassigned("r1", "", kDrA, kGroupX),
              "effective_date: is required");
  ExpectError(Reassigned("r1", "2024-02-01", kDrA, kGroupX, ""),
              "reassigned.payer: is required");

  v1::Event no_source = Reassigned("r1", "2024-02-01", kDrA, kGroupX);
  no_source.clear_source();
  ExpectError(no_source, "source: is required");

  v1::Event no_body = Base("x", "2024-02-01");
  EXPECT_EQ(ValidateEvent(no_body).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(ValidateEvent(no_body).message(),
                               "body: is required"));

  v1::Event bad_tin = EnrolledOrg("e", "2024-01-01", kGroupX, "medicare",
                                  "12345678");
  ExpectError(bad_tin,
              "enrolled.tin: '****5678' is not a 9-digit TIN (only its last "
              "four characters are shown)");
  bad_tin.mutable_enrolled()->set_tin(std::string(65, '1'));
  ExpectError(bad_tin, "enrolled.tin: is not a 9-digit TIN (65 characters)");

  v1::Event bad_enrollment = EnrolledOrg("e", "2024-01-01", kGroupX);
  bad_enrollment.mutable_enrolled()->set_enrollment_id("O123");
  ExpectError(bad_enrollment,
              "enrolled.enrollment_id: 'O123' is not 'I' or 'O' followed by "
              "14 digits");

  v1::Event org_no_name = EnrolledOrg("e", "2024-01-01", kGroupX);
  org_no_name.mutable_enrolled()->clear_legal_name();
  ExpectError(org_no_name, "enrolled.legal_name: is required");

  v1::Event no_entity = EnrolledOrg("e", "2024-01-01", kGroupX);
  no_entity.mutable_enrolled()->clear_entity();
  ExpectError(no_entity,
              "enrolled.entity: is required (INDIVIDUAL or ORGANIZATION)");

  ExpectError(Credentialed("c", "2024-01-01", kDrA, "medicare", "2023-12-31"),
              "credentialed.expires_on: '2023-12-31' must be after the "
              "effective date 2024-01-01");
  ExpectError(Voided("v", "2024-01-01", 0),
              "voided.target_seq: is required (a seq >= 1), or target_event_id");

  v1::Event covered = GroupContract("k", "2024-01-01", kGroupX,
                                    {kDrA, "1111111111"});
  ExpectError(covered,
              "contract_signed.covered_npis[1]: '1111111111' fails the NPI "
              "check digit (Luhn over prefix 80840)");
}

// Text that would forge output (a terminal escape, a bidirectional
// override that makes a row read as another), a blank id or source, or a
// name of megabytes is refused, naming the field and what is wrong.
TEST(ValidateEventTest, RefusesControlCharactersBlankIdsAndLongText) {
  ExpectError(Reassigned("r1\x1b[31m", "2024-02-01", kDrA, kGroupX),
              "event_id: holds the control character U+001B at byte 2; text "
              "may hold tab but no other control character and no "
              "bidirectional control");
  ExpectError(Reassigned(std::string("r\0x", 3), "2024-02-01", kDrA, kGroupX),
              "event_id: holds the control character U+0000 at byte 1; text "
              "may hold tab but no other control character and no "
              "bidirectional control");
  v1::Event named = EnrolledOrg("e", "2024-01-01", kGroupX);
  named.mutable_enrolled()->set_legal_name("Riverbend \xE2\x80\xAE" "DLLP");
  ExpectError(named,
              "enrolled.legal_name: holds the bidirectional control U+202E at "
              "byte 10; text may hold tab but no other control character and "
              "no bidirectional control");
  named.mutable_enrolled()->set_legal_name("Riverbend\xC2\x9B" "PLLC");
  ExpectError(named,
              "enrolled.legal_name: holds the control character U+009B at "
              "byte 9; text may hold tab but no other control character and "
              "no bidirectional control");
  named.mutable_enrolled()->set_legal_name(std::string(1025, 'a'));
  ExpectError(named,
              "enrolled.legal_name: is longer than 1024 bytes (1025)");
  // Tab, accents and other scripts are text.
  named.mutable_enrolled()->set_legal_name("Santé\tFamiliale \xD8\xB4\xD9\x81\xD8\xA7");
  EXPECT_TRUE(ValidateEvent(named).ok()) << ValidateEvent(named);
  named.mutable_enrolled()->set_legal_name(std::string(1024, 'a'));
  EXPECT_TRUE(ValidateEvent(named).ok());

  ExpectError(Reassigned("   ", "2024-02-01", kDrA, kGroupX),
              "event_id: is blank: it needs a character other than spaces");
  v1::Event blank_source = Reassigned("r1", "2024-02-01", kDrA, kGroupX);
  blank_source.set_source(" \t ");
  ExpectError(blank_source,
              "source: is blank: it needs a character other than spaces");
  v1::Event blank_actor = Reassigned("r1", "2024-02-01", kDrA, kGroupX);
  blank_actor.set_actor("  ");
  ExpectError(blank_actor,
              "actor: is blank: it needs a character other than spaces");
  v1::Event note = Voided("v", "2024-02-01", 3, "entered\nin error");
  ExpectError(note,
              "voided.reason: holds the control character U+000A at byte 7; "
              "text may hold tab but no other control character and no "
              "bidirectional control");
}

}  // namespace
}  // namespace provledger
