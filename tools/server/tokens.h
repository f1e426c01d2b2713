// Who may call provledgerd: a tokens file maps each token (stored only as
// its SHA-256) to an identity and a role.
//
// Format, one token per line ('#' starts a comment, blank lines skipped):
//   <sha256 of the token, 64 hex digits> <identity> <role>
// where role is auditor (reads), writer (reads and appends) or admin
// (everything). `provledgerd hash-token` prints a token's line. The file
// must not be readable by group or others.
#ifndef PROVLEDGER_TOOLS_SERVER_TOKENS_H_
#define PROVLEDGER_TOOLS_SERVER_TOKENS_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace provledger::server {

enum class Role { kAuditor = 0, kWriter = 1, kAdmin = 2 };

// "auditor", "writer", "admin".
const char* RoleName(Role role);

struct Identity {
  std::string name;
  Role role = Role::kAuditor;
};

class Tokens {
 public:
  // InvalidArgument "<path>:<line>: ..." for a bad line; PermissionDenied
  // if group or others may read the file; NotFound if it cannot be read.
  static absl::StatusOr<Tokens> Load(const std::string& path);

  // The identity of `token`, or nullopt.
  std::optional<Identity> Find(absl::string_view token) const;

  size_t size() const { return by_hash_.size(); }

 private:
  absl::flat_hash_map<std::string, Identity> by_hash_;  // hex SHA-256
};

// The caller presenting `authorization` (the value of its "authorization"
// metadata or header, nullopt if absent), if its role allows `needed` for
// `call`: UNAUTHENTICATED without a valid "Bearer <token>", PERMISSION_DENIED
// below the role. With no tokens (a loopback server) every caller is
// `local_identity` with the admin role. `carrier` names where the token goes
// ("metadata", "header") in the messages.
absl::StatusOr<Identity> Authorize(const Tokens* tokens,
                                   const std::string& local_identity,
                                   std::optional<absl::string_view> authorization,
                                   Role needed, absl::string_view call,
                                   absl::string_view carrier);

// The lowercase hex SHA-256 of `token`.
std::string TokenHash(absl::string_view token);

}  // namespace provledger::server

#endif  // PROVLEDGER_TOOLS_SERVER_TOKENS_H_
