// One-line human descriptions of events (history, reports).
#ifndef PROVLEDGER_TOOLS_SERVICE_DESCRIBE_H_
#define PROVLEDGER_TOOLS_SERVICE_DESCRIBE_H_

#include <string>

#include "provledger/v1/events.pb.h"

namespace provledger {

// E.g. "1234567893 -> 1245319599 at medicare (DEPARTURE)".
std::string Describe(const v1::Event& event);

// Masks (MaskTin, ledger/validation.h) the TINs of `event` that may be an individual's Social Security
// number: an INDIVIDUAL enrollment's, and a demographics change's (the
// event does not say whose; an organization's TIN stays readable on its
// enrollment and on reassignments to it).
void MaskIndividualTins(v1::Event* event);

}  // namespace provledger

#endif  // PROVLEDGER_TOOLS_SERVICE_DESCRIBE_H_
