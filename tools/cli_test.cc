#include "tools/cli.h"
#include "tools/table.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace provledger {
namespace {

// Sanitizers replace the allocator: nothing to observe there.
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
// Bytes held in the allocator's own mappings (returned to the system on
// free), as opposed to its heap.
size_t MappedBytes() { return mallinfo2().hblkhd; }

TEST(TuneAllocatorTest, LargeBlocksStayMappedAfterALargerOneIsFreed) {
  TuneAllocator();
  // Untuned, freeing this 8 MiB block would raise glibc's threshold to
  // 8 MiB, and the 2 MiB block below would come from the heap.
  void* big = std::malloc(8 << 20);
  ASSERT_NE(big, nullptr);
  std::memset(big, 1, 8 << 20);
  std::free(big);
  const size_t before = MappedBytes();
  void* block = std::malloc(2 << 20);
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, 2 << 20);
  EXPECT_GE(MappedBytes(), before + (2 << 20));
  std::free(block);
  EXPECT_EQ(MappedBytes(), before);
}
#endif

TEST(WithFlagNamesTest, TheLeadingRequestFieldBecomesItsFlag) {
  const absl::Status date =
      absl::InvalidArgumentError("date: '2024-02-30' is not a real calendar day");
  EXPECT_EQ(WithFlagNames(date, {{"date", "--dos"}}),
            absl::InvalidArgumentError(
                "--dos: '2024-02-30' is not a real calendar day"));
  // The knowledge fields always have their flags; payloads stay.
  absl::Status seq = absl::InvalidArgumentError("known_seq: 9 is beyond");
  seq.SetPayload("p", absl::Cord("x"));
  const absl::Status renamed = WithFlagNames(seq);
  EXPECT_EQ(renamed.message(), "--known-seq: 9 is beyond");
  EXPECT_EQ(renamed.GetPayload("p"), absl::Cord("x"));
  // Only a whole leading field: "dates: ..." and a message without one stay.
  const absl::Status other = absl::InvalidArgumentError("dates: x");
  EXPECT_EQ(WithFlagNames(other, {{"date", "--date"}}), other);
  const absl::Status plain = absl::NotFoundError("cannot read roster 'r'");
  EXPECT_EQ(WithFlagNames(plain, {{"date", "--date"}}), plain);
}

}  // namespace
// A cell can neither drive the terminal nor run as a spreadsheet formula.
TEST(TableTest, TableCellsAreTerminalSafeAndCsvCellsAreNotFormulas) {
  Table t({"id", "name"});
  t.AddRow({"a\x1b[31mred", "x\r\n1  forged  row"});
  t.AddRow({"=HYPERLINK(\"http://x\")", "Riverbend \xE2\x80\xAE" "PLLC"});
  t.AddRow({"-1+2", "Santé\tFamiliale"});
  std::ostringstream table, csv;
  t.Print(table, Format::kTable);
  EXPECT_EQ(table.str(),
            "id" + std::string(22, ' ') + "name\n"
            "a\\x1b[31mred            x\\x0d\\x0a1  forged  row\n"
            "=HYPERLINK(\"http://x\")  Riverbend \\u202ePLLC\n"
            "-1+2" + std::string(20, ' ') + "Santé\\x09Familiale\n");
  t.Print(csv, Format::kCsv);
  EXPECT_EQ(csv.str(),
            "id,name\n"
            "a\x1b[31mred,\"x\r\n1  forged  row\"\n"
            "\"'=HYPERLINK(\"\"http://x\"\")\",Riverbend \xE2\x80\xAE" "PLLC\n"
            "\"'-1+2\",Santé\tFamiliale\n");
  EXPECT_EQ(CsvField("@SUM(A1)"), "\"'@SUM(A1)\"");
  EXPECT_EQ(CsvField("+1"), "\"'+1\"");
  EXPECT_EQ(CsvField("\tx"), "\"'\tx\"");
  EXPECT_EQ(CsvField("2024-03-10"), "2024-03-10");
  EXPECT_EQ(CsvField(""), "");
}

}  // namespace provledger
