#include "ledger/hash.h"

#include <gtest/gtest.h>

namespace provledger {
namespace {

TEST(HashTest, ChainHashIsSha256OfPrevAndBytes) {
  // SHA-256 of 32 zero bytes followed by "abc", computed independently with
  // `printf '\0%.0s' {1..32}; printf abc` | sha256sum.
  EXPECT_EQ(ToHex(ChainHash(kZeroHash, "abc")),
            "365aa7d8f7f9402c4b9434502b4cc89ddb09fe50d7cd95b493b834c62d5a5370");
}

TEST(HashTest, Sha256OfBytes) {
  // `printf abc | sha256sum` (the FIPS 180-2 example).
  EXPECT_EQ(ToHex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HashTest, HexRoundTrips) {
  Hash h = ChainHash(kZeroHash, "x");
  Hash back{};
  ASSERT_TRUE(FromHex(ToHex(h), &back));
  EXPECT_EQ(back, h);
  EXPECT_FALSE(FromHex("abc", &back));
  EXPECT_FALSE(FromHex(std::string(64, 'g'), &back));
}

}  // namespace
}  // namespace provledger
