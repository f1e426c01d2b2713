#include "tools/server/tokens.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "ledger/testing.h"

namespace provledger::server {
namespace {

std::string Write(const testing::TempDir& dir, const std::string& text,
                  mode_t mode = 0600) {
  const std::string path = dir.Sub("tokens");
  std::ofstream(path) << text;
  chmod(path.c_str(), mode);
  return path;
}

TEST(TokensTest, MapsATokensHashToItsIdentityAndRole) {
  testing::TempDir dir;
  const std::string path =
      Write(dir, absl::StrCat("# who may call\n\n", TokenHash("s3cret-token-1"),
                              " k.osei writer   # enrollment\n",
                              TokenHash("s3cret-token-2"), "\tauditor1\tauditor\n"));
  auto tokens = Tokens::Load(path);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(tokens->size(), 2u);
  auto clerk = tokens->Find("s3cret-token-1");
  ASSERT_TRUE(clerk.has_value());
  EXPECT_EQ(clerk->name, "k.osei");
  EXPECT_EQ(clerk->role, Role::kWriter);
  EXPECT_EQ(tokens->Find("s3cret-token-2")->role, Role::kAuditor);
  EXPECT_FALSE(tokens->Find("s3cret-token-3").has_value());
  // The hash itself is not a token.
  EXPECT_FALSE(tokens->Find(TokenHash("s3cret-token-1")).has_value());
}

TEST(TokensTest, BadFilesAreRefusedNamingTheLine) {
  testing::TempDir dir;
  const std::string h = TokenHash("t");
  struct Case {
    std::string text;
    std::string error;
  } cases[] = {
      {"abc clerk writer\n",
       ":1: 'abc' is not a SHA-256 in hex (64 digits); store the token's "
       "hash, never the token"},
      {absl::StrCat("# c\n", h, " clerk boss\n"),
       ":2: role 'boss' is not auditor, writer or admin"},
      {absl::StrCat(h, " clerk\n"),
       ":1: expected '<sha256 hex> <identity> <role>'"},
      {absl::StrCat(h, " a writer\n", h, " b admin\n"),
       ":2: the same token hash is listed twice"},
  };
  for (const Case& c : cases) {
    const std::string path = Write(dir, c.text);
    auto tokens = Tokens::Load(path);
    EXPECT_EQ(tokens.status(), absl::InvalidArgumentError(path + c.error));
  }
  const std::string open = Write(dir, absl::StrCat(h, " a writer\n"), 0640);
  EXPECT_EQ(Tokens::Load(open).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Tokens::Load(dir.Sub("missing")).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace provledger::server
