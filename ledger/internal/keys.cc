#include "ledger/internal/keys.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "ledger/validation.h"

namespace provledger {

namespace {
// Every key but a reassignment's: the NPI, then the relation.
std::string NpiFirst(Relation r, absl::string_view npi) {
  std::string key(npi);
  key.push_back(static_cast<char>(r));
  return key;
}
// Where the org, payer or contract part of a key starts: after the first
// NPI and the relation byte, whichever of the two comes first.
constexpr size_t kAfterNpi = 11;
}  // namespace

std::string TimelinePrefix(Relation r, absl::string_view npi) {
  if (r == Relation::kReassignment) {
    return absl::StrCat(std::string(1, static_cast<char>(r)), npi);
  }
  return NpiFirst(r, npi);
}

std::string NpiPayerKey(Relation r, absl::string_view npi,
                        absl::string_view payer) {
  return absl::StrCat(TimelinePrefix(r, npi), CanonicalPayer(payer));
}

std::string PairKey(Relation r, absl::string_view provider,
                    absl::string_view org, absl::string_view payer) {
  return absl::StrCat(TimelinePrefix(r, provider), org, CanonicalPayer(payer));
}

std::string ContractPrefix(absl::string_view holder, absl::string_view payer) {
  std::string key = absl::StrCat(NpiFirst(Relation::kContract, holder),
                                 CanonicalPayer(payer));
  key.push_back('\0');
  return key;
}

std::string ContractKey(absl::string_view holder, absl::string_view payer,
                        absl::string_view contract_id) {
  return absl::StrCat(ContractPrefix(holder, payer), contract_id);
}

std::string DemographicsKey(absl::string_view npi) {
  return NpiFirst(Relation::kDemographics, npi);
}

std::string RegistryKey(absl::string_view npi) {
  return NpiFirst(Relation::kRegistry, npi);
}

Relation RelationOfKey(absl::string_view key) {
  // NPIs are digits; only a reassignment key starts with its relation.
  if (!key.empty() && key[0] == static_cast<char>(Relation::kReassignment)) {
    return Relation::kReassignment;
  }
  return static_cast<Relation>(key.size() > 10 ? key[10] : '\0');
}

absl::string_view PayerOfKey(absl::string_view key) {
  switch (RelationOfKey(key)) {
    case Relation::kEnrollment:
    case Relation::kCredential:
    case Relation::kRevalidation:
      return key.substr(kAfterNpi);
    case Relation::kAssociation:
    case Relation::kReassignment:
      return key.substr(kAfterNpi + 10);
    case Relation::kContract: {
      absl::string_view rest = key.substr(kAfterNpi);
      return rest.substr(0, rest.find('\0'));
    }
    case Relation::kDemographics:
    case Relation::kRegistry:
      break;
  }
  return absl::string_view();
}

std::string DescribeTimelineKey(absl::string_view key) {
  auto digits = [](absl::string_view s) {
    return s.size() == 10 && std::all_of(s.begin(), s.end(), [](char c) {
             return c >= '0' && c <= '9';
           });
  };
  const Relation r = RelationOfKey(key);
  const bool pair = r == Relation::kAssociation || r == Relation::kReassignment;
  const size_t first = r == Relation::kReassignment ? 1 : 0;
  if (key.size() < kAfterNpi + (pair ? 10 : 0) ||
      !digits(key.substr(first, 10)) ||
      (pair && !digits(key.substr(kAfterNpi, 10)))) {
    return absl::StrCat("the timeline key '", absl::CHexEscape(key), "'");
  }
  const std::string npi(key.substr(first, 10));
  const std::string payer = absl::CHexEscape(PayerOfKey(key));
  switch (r) {
    case Relation::kEnrollment:
      return absl::StrCat("the enrollment timeline of ", npi, " at ", payer);
    case Relation::kCredential:
      return absl::StrCat("the credentialing timeline of ", npi, " at ", payer);
    case Relation::kRevalidation:
      return absl::StrCat("the revalidation timeline of ", npi, " at ", payer);
    case Relation::kAssociation:
      return absl::StrCat("the association timeline of ", npi, " with ",
                          key.substr(kAfterNpi, 10), " at ", payer);
    case Relation::kReassignment:
      return absl::StrCat("the reassignment timeline of ", npi, " to ",
                          key.substr(kAfterNpi, 10), " at ", payer);
    case Relation::kContract:
      return absl::StrCat("the timeline of contract ",
                          absl::CHexEscape(ContractIdOfKey(key)), " held by ",
                          npi, " at ", payer);
    case Relation::kDemographics:
      return absl::StrCat("the demographics timeline of ", npi);
    case Relation::kRegistry:
      return absl::StrCat("the NPPES registry timeline of ", npi);
  }
  return absl::StrCat("the timeline key '", absl::CHexEscape(key), "'");
}

PairParts DecodePairKey(absl::string_view key) {
  const size_t provider = RelationOfKey(key) == Relation::kReassignment ? 1 : 0;
  return PairParts{std::string(key.substr(provider, 10)),
                   std::string(key.substr(kAfterNpi, 10)),
                   std::string(key.substr(kAfterNpi + 10))};
}

absl::string_view ContractIdOfKey(absl::string_view key) {
  size_t nul = key.find('\0');
  return nul == absl::string_view::npos ? absl::string_view()
                                        : key.substr(nul + 1);
}


std::string OrgIndexKey(Relation r, absl::string_view org,
                        absl::string_view provider, absl::string_view payer) {
  return absl::StrCat("o", std::string(1, static_cast<char>(r)), org,
                      provider, payer);
}

std::string PayerIndexKey(Relation r, absl::string_view payer,
                          absl::string_view provider, absl::string_view org) {
  std::string key = absl::StrCat("p", std::string(1, static_cast<char>(r)),
                                 payer);
  key.push_back('\0');
  absl::StrAppend(&key, provider, org);
  return key;
}

std::string IdIndexKey(char kind, absl::string_view id, absl::string_view npi,
                       absl::string_view payer) {
  return absl::StrCat(std::string(1, kind), id, npi, CanonicalPayer(payer));
}

}  // namespace provledger
