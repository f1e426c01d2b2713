// The one adapter from rocksdb::Status to absl::Status.
#ifndef PROVLEDGER_LEDGER_INTERNAL_ROCKS_STATUS_H_
#define PROVLEDGER_LEDGER_INTERNAL_ROCKS_STATUS_H_

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/status.h"

namespace provledger {

// Marks a status that says the disk is full.
inline constexpr char kDiskFullPayload[] = "provledger/disk-full";

// OK for OK; otherwise a status of the matching code whose message is
// "<context>: <rocksdb message>".
inline absl::Status FromRocks(const rocksdb::Status& s,
                              absl::string_view context) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat(context, ": ", s.ToString());
  if (s.IsNoSpace() ||
      (s.IsIOError() && absl::StrContains(s.ToString(), "No space left"))) {
    absl::Status full = absl::ResourceExhaustedError(absl::StrCat(
        "the disk holding the ledger is full, so this command could not "
        "finish: free some space and run it again (an append run again "
        "records each event once)"));
    full.SetPayload(kDiskFullPayload, absl::Cord());
    return full;
  }
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    return absl::UnavailableError(msg);
  }
  if (s.IsIOError()) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

}  // namespace provledger

#endif  // PROVLEDGER_LEDGER_INTERNAL_ROCKS_STATUS_H_
