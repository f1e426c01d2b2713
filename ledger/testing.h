// Test helpers: event builders and temporary directories. Tests only.
#ifndef PROVLEDGER_LEDGER_TESTING_H_
#define PROVLEDGER_LEDGER_TESTING_H_

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "provledger/v1/events.pb.h"

namespace provledger::testing {

// Valid NPIs (Luhn over 80840).
inline constexpr char kDrA[] = "1234567893";
inline constexpr char kDrB[] = "1526374859";
inline constexpr char kDrC[] = "1637485966";
inline constexpr char kGroupX[] = "1245319599";
inline constexpr char kGroupY[] = "1407201544";

// A fresh directory removed (with its contents) on destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/provledger-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline v1::Event Base(const std::string& id, const std::string& date) {
  v1::Event e;
  e.set_event_id(id);
  e.set_effective_date(date);
  e.set_source("test");
  e.set_actor("tester");
  return e;
}

inline v1::Event EnrolledIndividual(const std::string& id,
                                    const std::string& date,
                                    const std::string& npi,
                                    const std::string& payer = "medicare") {
  v1::Event e = Base(id, date);
  auto* b = e.mutable_enrolled();
  b->set_npi(npi);
  b->set_payer(payer);
  b->set_entity(v1::Enrolled::INDIVIDUAL);
  b->set_first_name("Test");
  b->set_last_name("Provider");
  return e;
}

inline v1::Event EnrolledOrg(const std::string& id, const std::string& date,
                             const std::string& npi,
                             const std::string& payer = "medicare",
                             const std::string& tin = "274839201",
                             const std::string& name = "Test Group LLC") {
  v1::Event e = Base(id, date);
  auto* b = e.mutable_enrolled();
  b->set_npi(npi);
  b->set_payer(payer);
  b->set_entity(v1::Enrolled::ORGANIZATION);
  b->set_tin(tin);
  b->set_legal_name(name);
  return e;
}

inline v1::Event EnrollmentEnded(const std::string& id, const std::string& date,
                                 const std::string& npi,
                                 const std::string& payer = "medicare") {
  v1::Event e = Base(id, date);
  e.mutable_enrollment_ended()->set_npi(npi);
  e.mutable_enrollment_ended()->set_payer(payer);
  return e;
}

inline v1::Event Reassigned(const std::string& id, const std::string& date,
                            const std::string& provider, const std::string& org,
                            const std::string& payer = "medicare") {
  v1::Event e = Base(id, date);
  auto* b = e.mutable_reassigned();
  b->set_provider_npi(provider);
  b->set_org_npi(org);
  b->set_payer(payer);
  return e;
}

inline v1::Event Revoked(const std::string& id, const std::string& date,
                         const std::string& provider, const std::string& org,
                         const std::string& payer = "medicare") {
  v1::Event e = Base(id, date);
  auto* b = e.mutable_revoked();
  b->set_provider_npi(provider);
  b->set_org_npi(org);
  b->set_payer(payer);
  b->set_reason(v1::Revoked::DEPARTURE);
  return e;
}

inline v1::Event Associated(const std::string& id, const std::string& date,
                            const std::string& provider, const std::string& org,
                            const std::string& payer = "medicare") {
  v1::Event e = Base(id, date);
  auto* b = e.mutable_associated();
  b->set_provider_npi(provider);
  b->set_org_npi(org);
  b->set_payer(payer);
  return e;
}

inline v1::Event AssociationEnded(const std::string& id,
                                  const std::string& date,
                                  const std::string& provider,
                                  const std::string& org,
                                  const std::string& payer = "medicare") {
  v1::Event e = Base(id, date);
  auto* b = e.mutable_association_ended();
  b->set_provider_npi(provider);
  b->set_org_npi(org);
  b->set_payer(payer);
  return e;
}

inline v1::Event Credentialed(const std::string& id, const std::string& date,
                              const std::string& npi,
                              const std::string& payer = "medicare",
                              const std::string& expires = "") {
  v1::Event e = Base(id, date);
  e.mutable_credentialed()->set_npi(npi);
  e.mutable_credentialed()->set_payer(payer);
  e.mutable_credentialed()->set_expires_on(expires);
  return e;
}

inline v1::Event GroupContract(const std::string& id, const std::string& date,
                               const std::string& holder,
                               std::initializer_list<std::string> covered,
                               const std::string& payer = "medicare",
                               const std::string& contract_id = "G-1") {
  v1::Event e = Base(id, date);
  auto* b = e.mutable_contract_signed();
  b->set_payer(payer);
  b->set_holder_npi(holder);
  b->set_kind(v1::ContractSigned::GROUP);
  b->set_contract_id(contract_id);
  for (const auto& n : covered) b->add_covered_npis(n);
  return e;
}

inline v1::Event IndividualContract(const std::string& id,
                                    const std::string& date,
                                    const std::string& holder,
                                    const std::string& payer = "medicare",
                                    const std::string& contract_id = "I-1") {
  v1::Event e = Base(id, date);
  auto* b = e.mutable_contract_signed();
  b->set_payer(payer);
  b->set_holder_npi(holder);
  b->set_kind(v1::ContractSigned::INDIVIDUAL);
  b->set_contract_id(contract_id);
  return e;
}

inline v1::Event ContractEnded(const std::string& id, const std::string& date,
                               const std::string& holder,
                               const std::string& payer = "medicare",
                               const std::string& contract_id = "G-1") {
  v1::Event e = Base(id, date);
  auto* b = e.mutable_contract_ended();
  b->set_payer(payer);
  b->set_holder_npi(holder);
  b->set_contract_id(contract_id);
  return e;
}

// What the NPPES registry says of `npi` from `date` on.
inline v1::Event Registry(
    const std::string& id, const std::string& date, const std::string& npi,
    v1::Enrolled::Entity entity,
    v1::RegistryUpdated::Status status = v1::RegistryUpdated::ACTIVE) {
  v1::Event e = Base(id, date);
  e.set_source("NPPES 2024-06-16");
  auto* b = e.mutable_registry_updated();
  b->set_npi(npi);
  b->set_entity(entity);
  b->set_status(status);
  return e;
}

inline v1::Event Voided(const std::string& id, const std::string& date,
                        uint64_t target, const std::string& reason = "error") {
  v1::Event e = Base(id, date);
  e.mutable_voided()->set_target_seq(target);
  e.mutable_voided()->set_reason(reason);
  return e;
}

}  // namespace provledger::testing

#endif  // PROVLEDGER_LEDGER_TESTING_H_
