#include "projections/payer_rules.h"

#include <gtest/gtest.h>

namespace provledger {
namespace {

TEST(PayerRulesTest, ParsesMinimums) {
  auto rules = PayerRules::Parse(
      "# group contract minimums\npayer,min_group_providers\ncigna,4\n\n"
      "optum, 6\n",
      "rules.csv");
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_EQ(rules->MinGroupProviders("cigna"), std::optional<int>(4));
  EXPECT_EQ(rules->MinGroupProviders("optum"), std::optional<int>(6));
  EXPECT_EQ(rules->MinGroupProviders("medicare"), std::nullopt);
}

TEST(PayerRulesTest, ErrorsNameTheLine) {
  auto bad_header = PayerRules::Parse("payer,minimum\n", "r.csv");
  EXPECT_EQ(bad_header.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_header.status().message(),
            "r.csv line 1: the header must be 'payer,min_group_providers'");
  auto bad_value =
      PayerRules::Parse("payer,min_group_providers\ncigna,four\n", "r.csv");
  EXPECT_EQ(bad_value.status().message(),
            "r.csv line 2: min_group_providers 'four' is not a whole number >= 1");
  auto bad_payer =
      PayerRules::Parse("payer,min_group_providers\nblue cross,2\n", "r.csv");
  EXPECT_EQ(bad_payer.status().message(),
            "r.csv line 2: 'blue cross' is not a payer name");
  EXPECT_EQ(PayerRules::Load("/nonexistent/rules.csv").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace provledger
