#include <sstream>

#include "tools/demo.h"
#include "tools/service/service.h"

namespace provledger {

absl::StatusOr<size_t> LoadDemoEvents(Ledger& ledger) {
  std::istringstream in(kDemoEventsJsonl);
  service::EventLines lines;
  size_t line_no = 0;
  uint64_t bytes = 0;
  absl::Status read = service::ReadEventLines(in, 0, &line_no, &bytes, &lines);
  if (!read.ok()) return read;
  auto result = ledger.Append(lines.events);
  if (!result.ok()) return service::AtLine(result.status(), lines);
  return result->written;
}

}  // namespace provledger
