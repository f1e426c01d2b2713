#include "projections/names.h"

#include "gtest/gtest.h"

namespace provledger {
namespace {

TEST(NormalizeNameTest, FoldsCaseSpacesAndPunctuation) {
  EXPECT_EQ(NormalizeName("Riverbend Family Medicine, PLLC"),
            "riverbend family medicine pllc");
  EXPECT_EQ(NormalizeName("  RIVERBEND   FAMILY MEDICINE PLLC. "),
            "riverbend family medicine pllc");
  EXPECT_EQ(NormalizeName("O'Brien-Smith"), "obrien smith");
  EXPECT_EQ(NormalizeName("Sante Familiale, P.L.L.C."),
            "sante familiale pllc");
  EXPECT_EQ(NormalizeName("St. Mary\u2019s Clinic"), NormalizeName("ST MARYS CLINIC"));
  EXPECT_EQ(NormalizeName(""), "");
  EXPECT_EQ(NormalizeName(" ,. "), "");
}

TEST(NormalizeNameTest, AccentsAndCaseOutsideAsciiCompareEqual) {
  // The roster row and the ledger of issue 14.
  EXPECT_EQ(NormalizeName("ÉLODIE FRANÇOIS"), NormalizeName("Élodie François"));
  EXPECT_EQ(NormalizeName("ÉLODIE FRANÇOIS"), "elodie francois");
  // CMS files often drop the accents altogether.
  EXPECT_EQ(NormalizeName("SANTÉ FAMILIALE PLLC"),
            NormalizeName("Sante Familiale, PLLC"));
  EXPECT_EQ(NormalizeName("Santé Familiale PLLC"), "sante familiale pllc");
  // Full case folding, not only lowering: ß folds to ss.
  EXPECT_EQ(NormalizeName("STRASSE KLINIK"), NormalizeName("Straße Klinik"));
  // Precomposed and decomposed spellings of the same letter.
  EXPECT_EQ(NormalizeName("Jos\xC3\xA9"), NormalizeName("Jose\xCC\x81"));
  // Letters of other scripts are kept, folded.
  EXPECT_EQ(NormalizeName("ΣΟΦΙΑ"), NormalizeName("σοφια"));
  EXPECT_EQ(NormalizeName("Łukasz"), "łukasz");
}

TEST(NormalizeNameTest, DifferentNamesStayDifferent) {
  EXPECT_NE(NormalizeName("Élodie François"), NormalizeName("Elodie Francis"));
  EXPECT_NE(NormalizeName("Santé Familiale PLLC"),
            NormalizeName("Santé Familiale PC"));
}

TEST(NormalizeNameTest, InvalidUtf8IsASeparatorNotACrash) {
  // Latin-1 bytes that were never converted: \xC9 alone is not UTF-8.
  EXPECT_EQ(NormalizeName("A\xC9" "B"), "a b");
  EXPECT_EQ(NormalizeName("\xFF\xFE"), "");
}

}  // namespace
}  // namespace provledger
