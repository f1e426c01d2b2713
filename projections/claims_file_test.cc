#include "projections/claims_file.h"

#include <gtest/gtest.h>

#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace provledger {
namespace {

constexpr char kDrA[] = "1234567893";
constexpr char kDrB[] = "1111111112";
constexpr char kGroup[] = "1245319599";

// An ISA segment of exactly 106 characters with these separators.
std::string Isa(char element = '*', char component = ':', char term = '~') {
  std::string isa = absl::StrCat(
      "ISA", std::string(1, element), "00", std::string(1, element),
      std::string(10, ' '), std::string(1, element), "00",
      std::string(1, element), std::string(10, ' '), std::string(1, element),
      "ZZ", std::string(1, element), "SUBMITTER      ",
      std::string(1, element), "ZZ", std::string(1, element),
      "RECEIVER       ", std::string(1, element), "240315",
      std::string(1, element), "1200", std::string(1, element), "^",
      std::string(1, element), "00501", std::string(1, element), "000000001",
      std::string(1, element), "0", std::string(1, element), "P",
      std::string(1, element), std::string(1, component), std::string(1, term));
  EXPECT_EQ(isa.size(), 106u);
  return isa;
}

// One line as text, for comparing: claim/line rendering->billing payer
// (id) from..to, or the error.
std::string Show(const ClaimLine& l) {
  if (!l.error.empty()) return absl::StrCat(l.claim_id, "/", l.line, " ", l.error);
  return absl::StrCat(l.claim_id, "/", l.line, " ", l.rendering_npi, "->",
                      l.billing_npi, " ", l.payer, " (", l.payer_id, ") ",
                      FormatDate(l.from), "..", FormatDate(l.to), " @",
                      l.position);
}

std::vector<std::string> ReadAll(const std::string& format,
                                 const std::string& text,
                                 absl::Status* status = nullptr) {
  std::istringstream in(text);
  auto reader = NewClaimsReader(format, in);
  if (status != nullptr) *status = reader.status();
  if (!reader.ok()) return {};
  std::vector<std::string> out;
  ClaimLine line;
  while (true) {
    auto more = (*reader)->Next(&line);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
    out.push_back(Show(line));
  }
  EXPECT_EQ((*reader)->bytes(), text.size());
  return out;
}

// An 837P transaction: billing provider `billing`, payer MEDICARE (id
// 00431), then `claims` (segments from CLM on), wrapped in ST/SE.
std::string Transaction(const std::string& billing, const std::string& claims,
                        const std::string& control = "0001") {
  return absl::StrCat(
      "ST*837*", control, "*005010X222A1~",
      "BHT*0019*00*REF47517*20240315*1200*CH~",
      "NM1*41*2*BILLING SERVICE*****46*TGJ23~",
      "HL*1**20*1~",
      "NM1*85*2*RIVERBEND FAMILY MEDICINE PLLC*****XX*", billing, "~",
      "N3*100 MAIN ST~N4*LOUISVILLE*KY*402020000~REF*EI*274839210~",
      "HL*2*1*22*0~SBR*P*18*******MB~",
      "NM1*IL*1*DOE*JANE****MI*1EG4TE5MK72~",
      "NM1*PR*2*MEDICARE*****PI*00431~", claims, "SE*20*", control, "~");
}

std::string Interchange(const std::string& transactions) {
  return absl::StrCat(Isa(), "GS*HC*SUBMITTER*RECEIVER*20240315*1200*1*X*005010X222A1~",
                      transactions, "GE*1*1~IEA*1*000000001~\n");
}

TEST(X12ClaimsTest, RenderingFromLoop2310BOrTheBillingProviderAndLineOverride) {
  const std::string claims = absl::StrCat(
      // Claim 1: 2310B names Dr A; line 2's 2420A names Dr B.
      "CLM*C-1*150***11:B:1*Y*A*Y*Y~",
      "NM1*82*1*CHEN*JAMES****XX*", kDrA, "~",
      "LX*1~SV1*HC:99213*100*UN*1***1~DTP*472*D8*20240310~",
      "LX*2~SV1*HC:99214*50*UN*1***1~DTP*472*RD8*20240225-20240305~",
      "NM1*82*1*BROWN*ANN****XX*", kDrB, "~",
      // Claim 2: no 2310B: the billing provider rendered.
      "CLM*C-2*80***11:B:1*Y*A*Y*Y~",
      "LX*1~SV1*HC:99212*80*UN*1***1~DTP*472*D8*20240311~");
  auto lines = ReadAll("x12-837p", Interchange(Transaction(kGroup, claims)));
  EXPECT_EQ(lines,
            (std::vector<std::string>{
                absl::StrCat("C-1/1 ", kDrA, "->", kGroup,
                             " MEDICARE (00431) 2024-03-10..2024-03-10 @17"),
                absl::StrCat("C-1/2 ", kDrB, "->", kGroup,
                             " MEDICARE (00431) 2024-02-25..2024-03-05 @20"),
                absl::StrCat("C-2/1 ", kGroup, "->", kGroup,
                             " MEDICARE (00431) 2024-03-11..2024-03-11 @25"),
            }));
}

TEST(X12ClaimsTest, SeveralEnvelopesAndOtherSeparators) {
  const std::string one = absl::StrCat(
      "CLM*A-1*10***11:B:1*Y*A*Y*Y~NM1*82*1*CHEN*JAMES****XX*", kDrA,
      "~LX*1~DTP*472*D8*20240102~");
  std::string second = absl::StrCat(
      Isa('|', '>', '\n'),
      "GS|HC|S|R|20240315|1200|2|X|005010X222A1\n"
      "ST|837|0002|005010X222A1\nHL|1||20|1\nNM1|85|2|G|||||XX|",
      kGroup,
      "\nHL|2|1|22|0\nNM1|PR|2|AETNA|||||PI|60054\n"
      "CLM|B-1|10|||11>B>1|Y|A|Y|Y\nLX|1\nDTP|472|D8|20240103\n"
      "SE|9|0002\nGE|1|2\nIEA|1|000000002\n");
  auto lines = ReadAll(
      "x12-837p",
      absl::StrCat(Interchange(Transaction(kGroup, one) +
                               Transaction(kGroup, one, "0003")),
                   second));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], absl::StrCat("A-1/1 ", kDrA, "->", kGroup,
                                   " MEDICARE (00431) 2024-01-02..2024-01-02 @17"));
  EXPECT_EQ(lines[1], absl::StrCat("A-1/1 ", kDrA, "->", kGroup,
                                   " MEDICARE (00431) 2024-01-02..2024-01-02 @34"));
  EXPECT_EQ(lines[2], absl::StrCat("B-1/1 ", kGroup, "->", kGroup,
                                   " AETNA (60054) 2024-01-03..2024-01-03 @47"));
}

TEST(X12ClaimsTest, MalformedSegmentsAreNamedAndTheRestIsRead) {
  const std::string claims = absl::StrCat(
      // A bad date on line 1 spoils that line only.
      "CLM*C-1*150***11:B:1*Y*A*Y*Y~NM1*82*1*CHEN*JAMES****XX*", kDrA, "~",
      "LX*1~DTP*472*D8*20240231~", "LX*2~DTP*472*D8*20240301~",
      // A bad rendering NPI in 2310B spoils the whole claim.
      "CLM*C-2*80***11:B:1*Y*A*Y*Y~NM1*82*1*X*Y****XX*1234567890~",
      "LX*1~DTP*472*D8*20240301~LX*2~DTP*472*D8*20240302~",
      // A garbled segment inside a line; a range backwards; no date.
      "CLM*C-3*80***11:B:1*Y*A*Y*Y~LX*1~d#x*1~DTP*472*D8*20240301~",
      "LX*2~DTP*472*RD8*20240305-20240301~LX*3~SV1*HC:1~",
      "LX*4~DTP*472*XX*20240301~");
  auto lines = ReadAll("x12-837p", Interchange(Transaction(kGroup, claims)));
  EXPECT_EQ(lines,
            (std::vector<std::string>{
                "C-1/1 segment 18 (DTP*472): DTP03 '20240231' is not a real "
                "calendar day",
                absl::StrCat("C-1/2 ", kDrA, "->", kGroup,
                             " MEDICARE (00431) 2024-03-01..2024-03-01 @19"),
                "C-2/1 segment 22 (NM1*82): NM109 '1234567890' fails the NPI "
                "check digit (Luhn over prefix 80840)",
                "C-2/2 segment 22 (NM1*82): NM109 '1234567890' fails the NPI "
                "check digit (Luhn over prefix 80840)",
                "C-3/1 segment 29: 'd#x' is not a segment id",
                "C-3/2 segment 32 (DTP*472): DTP03 '20240305-20240301': the "
                "service dates end (2024-03-01) before they begin (2024-03-05)",
                "C-3/3 segment 33 (LX): line 3 of claim 'C-3' has no service "
                "date (DTP*472)",
                "C-3/4 segment 36 (DTP*472): DTP02 is 'XX', not D8 (a date) or "
                "RD8 (a range)",
            }));
}

TEST(X12ClaimsTest, ABadBillingProviderSpoilsItsClaimsAndOtherTransactionsAreSkipped) {
  const std::string claims = "CLM*C-1*1***11:B:1*Y*A*Y*Y~LX*1~DTP*472*D8*20240301~";
  std::string bad = Transaction("12345", claims);
  const std::string other = "ST*835*0009~BPR*I*1~SE*3*0009~";
  auto lines = ReadAll("x12-837p", Interchange(bad + other + Transaction(kGroup, claims)));
  EXPECT_EQ(lines,
            (std::vector<std::string>{
                "C-1/1 segment 7 (NM1*85): NM109 '12345' is not a 10-digit NPI",
                "/0 segment 19 (ST*835): transaction set 835 is not an 837P "
                "professional claim (005010X222A1); its segments were skipped",
                absl::StrCat("C-1/1 ", kGroup, "->", kGroup,
                             " MEDICARE (00431) 2024-03-01..2024-03-01 @35"),
            }));
}

TEST(X12ClaimsTest, TruncatedFileAndNotAnInterchange) {
  std::string text = Interchange(Transaction(
      kGroup, "CLM*C-1*1***11:B:1*Y*A*Y*Y~LX*1~DTP*472*D8*20240301~"));
  text = text.substr(0, text.find("DTP*472") + 12);  // "DTP*472*D8*2"
  auto lines = ReadAll("x12-837p", text);
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "C-1/1 segment 17 (DTP*472): the file ends inside "
                       "this segment "
                       "(no '~' terminator)"}));
  absl::Status status;
  ReadAll("x12-837p", "claim_id,line\n", &status);
  EXPECT_EQ(status, absl::InvalidArgumentError(
                        "claims file: not an X12 interchange: it does not "
                        "start with an ISA segment of 106 characters"));
  ReadAll("pdf", "", &status);
  EXPECT_EQ(status, absl::InvalidArgumentError(
                        "claims_format: 'pdf' is not a claims format (csv or "
                        "x12-837p)"));
}

TEST(CsvClaimsTest, ColumnsByNameRangesAndBadLines) {
  const std::string text = absl::StrCat(
      "Payer,Claim_ID,Line,Rendering_NPI,Billing_NPI,DOS_From,DOS_To\n",
      "medicare,C-1,1,", kDrA, ",", kGroup, ",2024-03-10,\n",
      "medicare,C-1,2,,", kGroup, ",2024-02-25,2024-03-05\n",
      "\n",
      "medicare,C-2,1,1234567890,", kGroup, ",2024-03-10,\n",
      "medicare,C-3,x,", kDrA, ",", kGroup, ",2024-03-10,\n",
      "medicare,C-4,1,", kDrA, ",", kGroup, ",2024-03-10,2023-03-10\n",
      ",C-5,1,", kDrA, ",", kGroup, ",2024-03-10,\n");
  EXPECT_EQ(ReadAll("csv", text),
            (std::vector<std::string>{
                absl::StrCat("C-1/1 ", kDrA, "->", kGroup,
                             " medicare () 2024-03-10..2024-03-10 @2"),
                absl::StrCat("C-1/2 ", kGroup, "->", kGroup,
                             " medicare () 2024-02-25..2024-03-05 @3"),
                "C-2/1 line 5: rendering_npi: '1234567890' fails the NPI check "
                "digit (Luhn over prefix 80840)",
                "C-3/0 line 6: line: 'x' is not a line number",
                "C-4/1 line 7: dos_to: the service dates end (2023-03-10) "
                "before they begin (2024-03-10)",
                "C-5/1 line 8: payer: is empty",
            }));
  absl::Status status;
  ReadAll("csv", "claim_id,line,rendering_npi,payer\n", &status);
  EXPECT_EQ(status, absl::InvalidArgumentError(
                        "claims file: line 1: the header has no column "
                        "billing_npi, dos_from (expected claim_id,line,"
                        "rendering_npi,billing_npi,payer,dos_from[,dos_to])"));
}

}  // namespace
}  // namespace provledger
