// Every key provledger writes to RocksDB, in one place: the log's (events,
// event ids, streams, meta) and the projections' (timelines, indexes), each
// encoder beside its decoder.
//
// DO NOT CHANGE an encoding without bumping the format version (the log's
// keys, kFormatVersion in ledger.cc) or the projection version (timelines
// and indexes, kProjectionVersion in projections/internal/projector.h, after which
// ledgers are rebuilt), and updating proto/README.md.
#ifndef PROVLEDGER_LEDGER_INTERNAL_KEYS_H_
#define PROVLEDGER_LEDGER_INTERNAL_KEYS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "ledger/internal/coding.h"

namespace provledger {

// ---- The log ----
// events:    EncodeSeq(seq) (8 bytes big-endian) -> hash(32) || Event
// event_ids: event_id bytes -> EncodeSeq(seq)
// streams:   StreamKey(npi, seq) -> ""
// default:   the meta keys below -> ASCII

inline constexpr char kMetaFormat[] = "format_version";
inline constexpr char kMetaProjection[] = "projection_version";
inline constexpr char kMetaRebuilding[] = "rebuild_in_progress";

// Bytes of a stream key that the streams' prefix bloom filter covers: the
// NPI.
inline constexpr size_t kStreamPrefix = 10;

// npi(10) || seq (8 bytes big-endian): the events touching an NPI, in seq
// order.
inline std::string StreamKey(absl::string_view npi, uint64_t seq) {
  std::string key(npi);
  PutBigEndian64(&key, seq);
  return key;
}
// The parts of a stream key. REQUIRES: the key was made by StreamKey.
inline uint64_t SeqOfStreamKey(absl::string_view key) {
  return DecodeBigEndian64(key.substr(key.size() - 8));
}
inline absl::string_view NpiOfStreamKey(absl::string_view key) {
  return key.substr(0, key.size() - 8);
}

// ---- Timelines ----
// What a timeline is about. Reassignment keys lead with this byte, so that
// every reassignment (the national snapshot) is one contiguous scan; every
// other relation's key leads with its NPI and carries this byte after it,
// so that one NPI's enrollments, credentialing, associations, contracts,
// revalidations and demographics sit side by side in a block or two and a
// claim check reads three blocks rather than seven. Payers in keys are
// canonical (CanonicalPayer).
enum class Relation : char {
  kEnrollment = 'E',    // npi(10) 'E' payer
  kCredential = 'C',    // npi(10) 'C' payer
  kAssociation = 'A',   // provider(10) 'A' org(10) payer
  kReassignment = 'R',  // 'R' provider(10) org(10) payer
  kContract = 'K',      // holder(10) 'K' payer '\0' contract_id
  kRevalidation = 'V',  // npi(10) 'V' payer
  kDemographics = 'D',  // npi(10) 'D'
  kRegistry = 'N',      // npi(10) 'N': the NPPES registry's record
};

// Bytes of a timeline key that the timelines' prefix bloom filter covers:
// the first NPI and the relation byte.
inline constexpr size_t kTimelinePrefix = 11;

std::string NpiPayerKey(Relation r, absl::string_view npi,
                        absl::string_view payer);
std::string PairKey(Relation r, absl::string_view provider,
                    absl::string_view org, absl::string_view payer);
std::string ContractKey(absl::string_view holder, absl::string_view payer,
                        absl::string_view contract_id);
std::string DemographicsKey(absl::string_view npi);
std::string RegistryKey(absl::string_view npi);
// The prefix shared by every key of relation `r` whose first NPI is `npi`
// (all of it when `npi` is empty and `r` is kReassignment).
std::string TimelinePrefix(Relation r, absl::string_view npi);
// The prefix of `holder`'s contracts at `payer`.
std::string ContractPrefix(absl::string_view holder, absl::string_view payer);
// The relation of a key made by one of the functions above.
Relation RelationOfKey(absl::string_view key);
// The payer of such a key; "" for demographics.
absl::string_view PayerOfKey(absl::string_view key);

// A key made by one of the functions above, for people: "the reassignment
// timeline of 1526374859 to 1245319599 at medicare". Any bytes are safe.
std::string DescribeTimelineKey(absl::string_view key);

// The parts of an association or reassignment key.
struct PairParts {
  std::string provider;
  std::string org;
  std::string payer;
};
// REQUIRES: `key` was made by PairKey.
PairParts DecodePairKey(absl::string_view key);
// The contract id of a key made by ContractKey.
absl::string_view ContractIdOfKey(absl::string_view key);

// ---- Indexes (values empty) ----
//   'o' relation org(10) provider(10) payer        by organization
//   'p' relation payer '\0' provider(10) org(10)   by payer
//   'e' enrollment_id(15) npi(10) payer            enrollment id -> NPI
//   'c' pac_id(10) npi(10) payer                   PAC id -> NPI
// The id indexes are written when an `enrolled` event is applied and are
// never removed; readers confirm them against the enrollment timeline.
std::string OrgIndexKey(Relation r, absl::string_view org,
                        absl::string_view provider, absl::string_view payer);
std::string PayerIndexKey(Relation r, absl::string_view payer,
                          absl::string_view provider, absl::string_view org);
std::string IdIndexKey(char kind, absl::string_view id, absl::string_view npi,
                       absl::string_view payer);

}  // namespace provledger

#endif  // PROVLEDGER_LEDGER_INTERNAL_KEYS_H_
