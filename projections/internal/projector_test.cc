#include "projections/internal/projector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "ledger/testing.h"

namespace provledger {
namespace {

using storage::Timeline;
using v1::Event;

// A source with nothing stored: every timeline starts empty.
class EmptySource : public ProjectionSource {
 public:
  absl::StatusOr<std::optional<Timeline>> LoadTimeline(
      const std::string&) override {
    return std::nullopt;
  }
  absl::StatusOr<std::optional<Event>> LoadEvent(uint64_t) override {
    return std::nullopt;
  }
};

// The payload of the only entry of the timeline at `key`.
std::string OnlyPayload(const Projector& p, const std::string& key) {
  auto it = p.changed_timelines().find(key);
  if (it == p.changed_timelines().end()) return "<no timeline>";
  if (it->second->entries_size() != 1) return "<not one entry>";
  return it->second->entries(0).payload();
}

TEST(ProjectorTest, PayloadsLeaveOutWhatTheKeyHolds) {
  using namespace provledger::testing;
  EmptySource source;
  Projector p(&source);
  Event r = Reassigned("r", "2024-01-01", kDrA, kGroupX, "cigna");
  r.mutable_reassigned()->set_org_tin("274839201");
  r.mutable_reassigned()->set_org_legal_name("Test Group LLC");
  r.set_seq(1);
  Event org = EnrolledOrg("e", "2024-01-01", kGroupX, "cigna");
  org.mutable_enrolled()->set_enrollment_id("O20150101000123");
  org.mutable_enrolled()->set_pac_id("2345678901");
  org.mutable_enrolled()->set_state("OH");
  org.set_seq(2);
  Event ind = EnrolledIndividual("i", "2024-01-01", kDrA, "cigna");
  ind.set_seq(3);
  ASSERT_TRUE(p.Apply(r).ok());
  ASSERT_TRUE(p.Apply(org).ok());
  ASSERT_TRUE(p.Apply(ind).ok());

  v1::Reassigned want_r;
  want_r.set_org_tin("274839201");
  want_r.set_org_legal_name("Test Group LLC");
  EXPECT_EQ(
      OnlyPayload(p, PairKey(Relation::kReassignment, kDrA, kGroupX, "cigna")),
      want_r.SerializeAsString());

  v1::Enrolled want_org = org.enrolled();
  want_org.clear_npi();
  want_org.clear_payer();
  EXPECT_EQ(want_org.tin(), "274839201");
  EXPECT_EQ(
      OnlyPayload(p, NpiPayerKey(Relation::kEnrollment, kGroupX, "cigna")),
      want_org.SerializeAsString());

  v1::Enrolled want_ind;
  want_ind.set_entity(v1::Enrolled::INDIVIDUAL);
  want_ind.set_first_name("Test");
  want_ind.set_last_name("Provider");
  EXPECT_EQ(OnlyPayload(p, NpiPayerKey(Relation::kEnrollment, kDrA, "cigna")),
            want_ind.SerializeAsString());
}

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
