#include "ledger/internal/keys.h"

#include <gtest/gtest.h>

#include <string>

namespace provledger {
namespace {

constexpr char kA[] = "1234567893";
constexpr char kB[] = "1245319599";

TEST(KeysTest, StreamKeysRoundTripAndSortBySeqWithinAnNpi) {
  const std::string k = StreamKey(kA, 258);
  EXPECT_EQ(k, std::string(kA) + std::string("\0\0\0\0\0\0\x01\x02", 8));
  EXPECT_EQ(NpiOfStreamKey(k), kA);
  EXPECT_EQ(SeqOfStreamKey(k), 258u);
  EXPECT_LT(StreamKey(kA, 255), StreamKey(kA, 256));
  EXPECT_LT(StreamKey(kA, UINT64_MAX), StreamKey(kB, 0));
}

TEST(KeysTest, TimelineKeysDecodeToWhatMadeThem) {
  const std::string r = PairKey(Relation::kReassignment, kA, kB, "Cigna");
  EXPECT_EQ(r, std::string("R") + kA + kB + "cigna");
  EXPECT_EQ(RelationOfKey(r), Relation::kReassignment);
  EXPECT_EQ(PayerOfKey(r), "cigna");
  const PairParts parts = DecodePairKey(r);
  EXPECT_EQ(parts.provider, kA);
  EXPECT_EQ(parts.org, kB);
  EXPECT_EQ(parts.payer, "cigna");

  const std::string a = PairKey(Relation::kAssociation, kA, kB, "medicare");
  EXPECT_EQ(a, std::string(kA) + "A" + kB + "medicare");
  EXPECT_EQ(DecodePairKey(a).org, kB);

  const std::string e = NpiPayerKey(Relation::kEnrollment, kA, "MEDICARE");
  EXPECT_EQ(e, std::string(kA) + "Emedicare");
  EXPECT_EQ(RelationOfKey(e), Relation::kEnrollment);
  EXPECT_EQ(PayerOfKey(e), "medicare");

  const std::string c = ContractKey(kB, "aetna", "G-1");
  EXPECT_EQ(c, std::string(kB) + "Kaetna" + std::string(1, '\0') + "G-1");
  EXPECT_EQ(ContractIdOfKey(c), "G-1");
  EXPECT_EQ(PayerOfKey(c), "aetna");
  EXPECT_EQ(c.rfind(ContractPrefix(kB, "aetna"), 0), 0u);

  const std::string d = DemographicsKey(kA);
  EXPECT_EQ(RelationOfKey(d), Relation::kDemographics);
  EXPECT_EQ(PayerOfKey(d), "");

  // One NPI's timelines share the prefix the bloom filter covers.
  EXPECT_EQ(e.substr(0, kTimelinePrefix), TimelinePrefix(Relation::kEnrollment, kA));
  EXPECT_EQ(r.substr(0, kTimelinePrefix), TimelinePrefix(Relation::kReassignment, kA));
}

TEST(KeysTest, IndexKeys) {
  EXPECT_EQ(OrgIndexKey(Relation::kReassignment, kB, kA, "medicare"),
            std::string("oR") + kB + kA + "medicare");
  EXPECT_EQ(PayerIndexKey(Relation::kAssociation, "medicare", kA, kB),
            std::string("pAmedicare") + std::string(1, '\0') + kA + kB);
  EXPECT_EQ(IdIndexKey('e', "I20240101000001", kA, "Medicare"),
            std::string("eI20240101000001") + kA + "medicare");
}

}  // namespace
}  // namespace provledger
