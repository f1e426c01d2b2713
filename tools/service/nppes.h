// Public API (see the README's Layout: what a front end may include).
// Loading the NPPES NPI registry's data files (the full monthly
// npidata_pfile_*.csv and the weekly updates) as registry_updated events.
//
// Columns are found by header name (NPI, Entity Type Code, Replacement
// NPI, the provider's or organization's name, Provider Enumeration Date,
// Last Update Date, NPI Deactivation Date, NPI Reactivation Date, and the
// 15 Healthcare Provider Taxonomy Code_N / Primary Taxonomy Switch_N
// pairs); the other 300-odd columns are not read. The file is streamed.
//
// What each row adds, against what the ledger's registry already says of
// its NPI (event ids are deterministic, so loading a file again adds
// nothing):
//   - an NPI new to the ledger: its record (ACTIVE, effective its
//     enumeration date);
//   - a record whose name, entity type, primary taxonomy or replacement NPI
//     differ from the record in effect on its Last Update Date: the new
//     record, effective that date (an older file loaded after a newer one
//     adds nothing);
//   - a deactivation date not yet recorded: DEACTIVATED from that date;
//   - a reactivation date not yet recorded: ACTIVE again from that date.
// Every event's source is "NPPES <file date>".
#ifndef PROVLEDGER_TOOLS_SERVICE_NPPES_H_
#define PROVLEDGER_TOOLS_SERVICE_NPPES_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "ledger/date.h"
#include "ledger/ledger.h"

namespace provledger {

struct NppesOptions {
  // The file's date (its name's last date: npidata_pfile_20240101-20240107
  // is 2024-01-07). Required: it names the events' source.
  DayNumber file_date = 0;
  // Rows read and judged together (one batched read of their NPIs'
  // registry records); at most one atomic batch of events per chunk.
  size_t batch_size = 1000;
  bool sync = true;  // fsync each batch
};

struct NppesResult {
  uint64_t rows = 0;         // rows judged (skipped ones not counted)
  uint64_t new_npis = 0;      // first record of an NPI
  uint64_t updated = 0;       // a changed record
  uint64_t deactivated = 0;
  uint64_t reactivated = 0;
  uint64_t unchanged = 0;     // rows that added nothing
  uint64_t skipped_rows = 0;  // reported through `problem`
};

// The date in an NPPES file name ("npidata_pfile_20050523-20240107.csv"
// -> 2024-01-07), if it has one.
std::optional<DayNumber> NppesFileDate(const std::string& path);

// Reads the file and appends what it adds. `problem` receives each skipped
// row ("line 7: NPI '123' is not a valid NPI"); `progress` the bytes read.
// InvalidArgument "line 1: ..." when the header lacks the NPI or Entity
// Type Code column. Returns the first append error (earlier batches stay
// written; loading the file again resumes).
absl::StatusOr<NppesResult> LoadNppes(
    Ledger& ledger, std::istream& in, const NppesOptions& options,
    const std::function<void(const std::string&)>& problem,
    const std::function<void(uint64_t)>& progress = nullptr);

}  // namespace provledger

#endif  // PROVLEDGER_TOOLS_SERVICE_NPPES_H_
