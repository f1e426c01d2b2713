#include "tools/generator.h"

#include <gtest/gtest.h>

#include <map>

#include "ledger/ledger.h"
#include "ledger/testing.h"
#include "ledger/validation.h"

namespace provledger {
namespace {

std::vector<v1::Event> All(const GeneratorOptions& o) {
  Generator gen(o);
  std::vector<v1::Event> out;
  while (gen.Next(1000, &out)) {
  }
  return out;
}

TEST(GeneratorTest, EveryEventIsAcceptedByAnEmptyLedger) {
  GeneratorOptions o;
  o.providers = 600;
  o.payers = 4;
  o.seed = 11;
  testing::TempDir dir;
  LedgerOptions lo;
  lo.create_if_missing = true;
  auto ledger = std::move(*Ledger::Open(lo, dir.Sub("db")));
  Generator gen(o);
  std::vector<v1::Event> batch;
  AppendOptions ao;
  ao.sync = false;
  std::map<std::string, int> kinds;
  while (gen.Next(1000, &batch)) {
    auto r = ledger->Append(batch, ao);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->written, batch.size());
    for (const auto& e : batch) ++kinds[std::string(BodyName(e))];
    batch.clear();
  }
  EXPECT_EQ(ledger->head().seq, gen.produced());
  // Realistic lifecycles: every kind of event shows up.
  for (const char* kind :
       {"enrolled", "credentialed", "associated", "association_ended",
        "reassigned", "revoked", "contract_signed", "revalidated",
        "enrollment_ended", "voided"}) {
    EXPECT_GT(kinds[kind], 0) << kind;
  }
  // Some departures were recorded late (backdated).
  int late = 0;
  for (auto it = ledger->View()->Read(1); it->Valid(); it->Next()) {
    if (it->event().has_revoked() &&
        it->event().filed_on() != it->event().effective_date()) {
      ++late;
    }
  }
  EXPECT_GT(late, 10);
  EXPECT_TRUE(ledger->VerifyProjections().ok());
}

TEST(GeneratorTest, DeterministicForASeed) {
  GeneratorOptions o;
  o.providers = 200;
  auto a = All(o), b = All(o);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].SerializeAsString(), b[i].SerializeAsString()) << i;
  }
  o.seed = 2;
  auto c = All(o);
  EXPECT_NE(a.size() == c.size() ? a.back().SerializeAsString() : "",
            c.back().SerializeAsString());
}

TEST(GeneratorTest, NpisAreValid) {
  Generator gen(GeneratorOptions{});
  for (uint64_t i : {0ull, 1ull, 999ull, 123456ull}) {
    EXPECT_TRUE(IsValidNpi(gen.ProviderNpi(i))) << gen.ProviderNpi(i);
    EXPECT_TRUE(IsValidNpi(gen.OrgNpi(i))) << gen.OrgNpi(i);
  }
  EXPECT_NE(gen.ProviderNpi(5), gen.OrgNpi(5));
}

}  // namespace
}  // namespace provledger
