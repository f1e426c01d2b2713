// A deterministic generator of realistic provider lifecycles, for the
// benchmark and for `provledger generate`: enrollments, credentialing,
// associations, reassignments, departures (some recorded late and
// backdated), moves between groups, concurrent multi-group reassignments,
// individual and group contracts, revalidations and a small share of voids.
//
// Every event it produces is accepted by an EMPTY ledger when appended in
// the order produced (voids name their targets by the seq they get there).
#ifndef PROVLEDGER_TOOLS_GENERATOR_H_
#define PROVLEDGER_TOOLS_GENERATOR_H_

#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "ledger/date.h"
#include "provledger/v1/events.pb.h"

namespace provledger {

struct GeneratorOptions {
  // Individual providers. Default: 1000.
  uint64_t providers = 1000;
  // Organizations; 0 means providers / 10 (at least 1). Default: 0.
  uint64_t orgs = 0;
  // Payers, 1-8 (medicare first). Default: 3.
  int payers = 3;
  // Years of history, starting 2017-01-01. Default: 8.
  int years = 8;
  // Default: 1.
  uint64_t seed = 1;
};

// Not thread-safe.
class Generator {
 public:
  explicit Generator(const GeneratorOptions& options);

  // Appends up to `max` further events to *out. False once exhausted.
  bool Next(size_t max, std::vector<v1::Event>* out);

  // Events produced so far.
  uint64_t produced() const { return produced_; }

  std::string ProviderNpi(uint64_t i) const;
  std::string OrgNpi(uint64_t j) const;
  const std::vector<std::string>& payers() const { return payers_; }
  uint64_t providers() const { return options_.providers; }
  uint64_t orgs() const { return orgs_; }
  DayNumber first_day() const { return first_day_; }
  DayNumber last_day() const { return last_day_; }
  // The organization most stints go to.
  uint64_t largest_org() const { return 0; }

 private:
  // An event of one provider's stream before it is numbered; a void names
  // its target by position in that stream.
  struct Pending {
    DayNumber record_day;
    int order;
    v1::Event event;
    int void_target = -1;
  };
  void EmitOrg(uint64_t j);
  void EmitProvider(uint64_t i);
  uint64_t PickOrg();
  v1::Event Make(const std::string& id, DayNumber day);

  GeneratorOptions options_;
  uint64_t orgs_;
  std::vector<std::string> payers_;
  DayNumber first_day_, last_day_;
  std::mt19937_64 rng_;
  uint64_t next_org_ = 0, next_provider_ = 0;
  uint64_t produced_ = 0;
  std::deque<v1::Event> ready_;
};

}  // namespace provledger

#endif  // PROVLEDGER_TOOLS_GENERATOR_H_
