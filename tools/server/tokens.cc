#include "tools/server/tokens.h"

#include <sys/stat.h>

#include <fstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ledger/hash.h"

namespace provledger::server {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kAuditor: return "auditor";
    case Role::kWriter: return "writer";
    case Role::kAdmin: return "admin";
  }
  return "auditor";
}

std::string TokenHash(absl::string_view token) {
  return ToHex(Sha256(token));
}

absl::StatusOr<Tokens> Tokens::Load(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot read tokens file '", path, "'"));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "tokens file '", path,
        "' may be read by others; make it private (chmod 600 ", path, ")"));
  }
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read tokens file '", path, "'"));
  }
  Tokens tokens;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    absl::string_view text = line;
    if (size_t hash = text.find('#'); hash != absl::string_view::npos) {
      text = text.substr(0, hash);
    }
    text = absl::StripAsciiWhitespace(text);
    if (text.empty()) continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", n, ": ", why));
    };
    if (fields.size() != 3) {
      return bad("expected '<sha256 hex> <identity> <role>'");
    }
    Hash h;
    if (fields[0].size() != 64 || !FromHex(std::string(fields[0]), &h)) {
      return bad(absl::StrCat("'", fields[0],
                              "' is not a SHA-256 in hex (64 digits); store "
                              "the token's hash, never the token"));
    }
    Identity id;
    id.name = std::string(fields[1]);
    if (fields[2] == "auditor") {
      id.role = Role::kAuditor;
    } else if (fields[2] == "writer") {
      id.role = Role::kWriter;
    } else if (fields[2] == "admin") {
      id.role = Role::kAdmin;
    } else {
      return bad(absl::StrCat("role '", fields[2],
                              "' is not auditor, writer or admin"));
    }
    std::string key = absl::AsciiStrToLower(fields[0]);
    if (!tokens.by_hash_.emplace(key, std::move(id)).second) {
      return bad("the same token hash is listed twice");
    }
  }
  return tokens;
}

std::optional<Identity> Tokens::Find(absl::string_view token) const {
  auto it = by_hash_.find(TokenHash(token));
  if (it == by_hash_.end()) return std::nullopt;
  return it->second;
}

}  // namespace provledger::server

namespace provledger::server {

absl::StatusOr<Identity> Authorize(const Tokens* tokens,
                                   const std::string& local_identity,
                                   std::optional<absl::string_view> authorization,
                                   Role needed, absl::string_view call,
                                   absl::string_view carrier) {
  if (tokens == nullptr) return Identity{local_identity, Role::kAdmin};
  if (!authorization.has_value()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "no token: send the ", carrier, " 'authorization: Bearer <token>'"));
  }
  absl::string_view value = *authorization;
  if (!absl::ConsumePrefix(&value, "Bearer ")) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the authorization ", carrier, " is not 'Bearer <token>'"));
  }
  std::optional<Identity> id = tokens->Find(value);
  if (!id.has_value()) {
    return absl::UnauthenticatedError("the token is not one this server knows");
  }
  if (static_cast<int>(id->role) < static_cast<int>(needed)) {
    return absl::PermissionDeniedError(absl::StrCat(
        call, " needs the ", RoleName(needed), " role; ", id->name, " is ",
        id->role == Role::kWriter ? "a " : "an ", RoleName(id->role)));
  }
  return *id;
}

}  // namespace provledger::server
