// Fixed-width big-endian encoding, so keys sort in numeric order.
#ifndef PROVLEDGER_LEDGER_INTERNAL_CODING_H_
#define PROVLEDGER_LEDGER_INTERNAL_CODING_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

namespace provledger {

inline void PutBigEndian64(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst->append(buf, 8);
}

inline std::string EncodeSeq(uint64_t seq) {
  std::string s;
  PutBigEndian64(&s, seq);
  return s;
}

// REQUIRES: src.size() >= 8.
inline uint64_t DecodeBigEndian64(absl::string_view src) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | static_cast<uint8_t>(src[i]);
  return v;
}

}  // namespace provledger

#endif  // PROVLEDGER_LEDGER_INTERNAL_CODING_H_
