#include "tools/service/describe.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ledger/validation.h"

namespace provledger {

using v1::Event;

std::string Describe(const Event& e) {
  switch (e.body_case()) {
    case Event::kEnrolled: {
      const auto& b = e.enrolled();
      std::string who = b.entity() == v1::Enrolled::ORGANIZATION
                            ? b.legal_name()
                            : absl::StrCat(b.first_name(), " ", b.last_name());
      return absl::StrCat(b.npi(), " at ", b.payer(), " (", who,
                          b.enrollment_id().empty() ? "" : ", ",
                          b.enrollment_id(), ")");
    }
    case Event::kEnrollmentEnded:
      return absl::StrCat(e.enrollment_ended().npi(), " at ",
                          e.enrollment_ended().payer(), " (",
                          v1::EnrollmentEnded::Reason_Name(
                              e.enrollment_ended().reason()),
                          ")");
    case Event::kCredentialed:
      return absl::StrCat(e.credentialed().npi(), " at ",
                          e.credentialed().payer(),
                          e.credentialed().expires_on().empty()
                              ? ""
                              : " until " + e.credentialed().expires_on());
    case Event::kAssociated:
      return absl::StrCat(e.associated().provider_npi(), " -> ",
                          e.associated().org_npi(), " at ",
                          e.associated().payer());
    case Event::kAssociationEnded:
      return absl::StrCat(e.association_ended().provider_npi(), " -> ",
                          e.association_ended().org_npi(), " at ",
                          e.association_ended().payer());
    case Event::kReassigned:
      return absl::StrCat(e.reassigned().provider_npi(), " -> ",
                          e.reassigned().org_npi(), " at ",
                          e.reassigned().payer(),
                          e.reassigned().org_tin().empty()
                              ? ""
                              : " (TIN " + e.reassigned().org_tin() + ")");
    case Event::kRevoked:
      return absl::StrCat(e.revoked().provider_npi(), " -> ",
                          e.revoked().org_npi(), " at ", e.revoked().payer(),
                          " (", v1::Revoked::Reason_Name(e.revoked().reason()),
                          ")");
    case Event::kContractSigned: {
      const auto& c = e.contract_signed();
      std::string s = absl::StrCat(
          c.contract_id(), " ", v1::ContractSigned::Kind_Name(c.kind()),
          " held by ", c.holder_npi(), " at ", c.payer());
      if (c.covered_npis_size() > 0) {
        absl::StrAppend(&s, " covering ", absl::StrJoin(c.covered_npis(), " "));
      }
      return s;
    }
    case Event::kContractEnded:
      return absl::StrCat(e.contract_ended().contract_id(), " held by ",
                          e.contract_ended().holder_npi(), " at ",
                          e.contract_ended().payer());
    case Event::kRevalidated:
      return absl::StrCat(e.revalidated().npi(), " at ",
                          e.revalidated().payer(), ", next due ",
                          e.revalidated().next_due_on());
    case Event::kDemographicsChanged: {
      const auto& d = e.demographics_changed();
      std::string s = d.npi();
      if (!d.tin().empty()) absl::StrAppend(&s, " TIN ", d.tin());
      if (!d.legal_name().empty()) absl::StrAppend(&s, " name '", d.legal_name(), "'");
      if (!d.state().empty()) absl::StrAppend(&s, " state ", d.state());
      return s;
    }
    case Event::kRegistryUpdated: {
      const auto& r = e.registry_updated();
      std::string s = absl::StrCat(
          r.npi(), " ",
          r.status() == v1::RegistryUpdated::DEACTIVATED ? "deactivated"
                                                          : "active");
      if (r.entity() != v1::Enrolled::ENTITY_UNSPECIFIED) {
        absl::StrAppend(&s, " ", v1::Enrolled::Entity_Name(r.entity()));
      }
      if (!r.name().empty()) absl::StrAppend(&s, " '", r.name(), "'");
      if (!r.primary_taxonomy().empty()) {
        absl::StrAppend(&s, " taxonomy ", r.primary_taxonomy());
      }
      if (!r.replacement_npi().empty()) {
        absl::StrAppend(&s, " replaced by ", r.replacement_npi());
      }
      return s;
    }
    case Event::kVoided:
      return absl::StrCat("seq ", e.voided().target_seq(), ": ",
                          e.voided().reason());
    case Event::BODY_NOT_SET:
      break;
  }
  return "";
}

void MaskIndividualTins(v1::Event* event) {
  if (event->has_enrolled() &&
      event->enrolled().entity() == v1::Enrolled::INDIVIDUAL &&
      !event->enrolled().tin().empty()) {
    event->mutable_enrolled()->set_tin(MaskTin(event->enrolled().tin()));
  }
  if (event->has_demographics_changed() &&
      !event->demographics_changed().tin().empty()) {
    event->mutable_demographics_changed()->set_tin(
        MaskTin(event->demographics_changed().tin()));
  }
}

}  // namespace provledger
