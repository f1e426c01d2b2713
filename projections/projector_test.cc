#include "projections/projector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace provledger {
namespace {

TEST(SortKeysTest, OrdersExactlyAsStringComparison) {
  // Keys that tie on their first 8 bytes, are shorter than 8, hold zero and
  // high bytes, or are prefixes of one another.
  std::vector<std::string> strings = {
      "",         std::string(1, '\0'), std::string("a\0", 2), "a",
      "abcdefgh", "abcdefgh",            "abcdefghi",           "abcdefgg",
      "abcdefg",  "abcdefgh\xff",        "\xff\xff",            "R1234567890",
      "R1234567891234", "R12345678"};
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string s(std::uniform_int_distribution<int>(0, 12)(rng), 'R');
    for (char& c : s) c = "R\0\xff" "19"[std::uniform_int_distribution<int>(0, 4)(rng)];
    strings.push_back(s);
  }
  std::vector<const std::string*> keys;
  for (const std::string& s : strings) keys.push_back(&s);
  SortKeys(&keys);
  std::vector<std::string> got;
  for (const std::string* k : keys) got.push_back(*k);
  std::vector<std::string> want = strings;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace provledger
