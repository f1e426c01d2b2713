// Public API (see the README's Layout: what a front end may include).
// SHA-256 for the hash chain (OpenSSL libcrypto).
#ifndef PROVLEDGER_LEDGER_HASH_H_
#define PROVLEDGER_LEDGER_HASH_H_

#include <array>
#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

namespace provledger {

constexpr size_t kHashSize = 32;
using Hash = std::array<uint8_t, kHashSize>;

// The hash before the first event: 32 zero bytes.
constexpr Hash kZeroHash{};

// SHA-256(bytes).
Hash Sha256(absl::string_view bytes);

// SHA-256(prev || bytes): the chain hash of an event whose stored bytes are
// `bytes` and whose predecessor's hash is `prev`.
Hash ChainHash(const Hash& prev, absl::string_view bytes);

// Lower-case hex of a hash (64 characters).
std::string ToHex(const Hash& h);

// Parses 64 hex characters; false if `hex` is not that.
bool FromHex(absl::string_view hex, Hash* out);

}  // namespace provledger

#endif  // PROVLEDGER_LEDGER_HASH_H_
