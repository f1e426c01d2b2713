#include "tools/generator.h"

#include <algorithm>
#include <climits>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ledger/validation.h"

namespace provledger {

using v1::Event;

namespace {

const char* const kPayers[] = {"medicare", "medicaid-oh", "aetna", "cigna",
                               "optum",    "humana",      "bcbs",  "uhc"};
const char* const kFirst[] = {"Maria", "James", "Priya", "Wei", "Fatima",
                              "John",  "Aisha", "Carlos", "Elena", "David",
                              "Grace", "Omar",  "Sofia",  "Liam",  "Mei"};
const char* const kLast[] = {"Alvarez", "Chen",   "Natarajan", "Okafor",
                             "Smith",   "Nguyen", "Patel",     "Kowalski",
                             "Haddad",  "Brown",  "Garcia",    "Kim"};
const char* const kStates[] = {"OH", "KY", "IN", "MI", "PA", "NY", "TX", "CA"};

std::string Npi(uint64_t base9) {
  std::string base = absl::StrFormat("%09d", base9);
  return base + NpiCheckDigit(base);
}

}  // namespace

Generator::Generator(const GeneratorOptions& options)
    : options_(options),
      orgs_(options.orgs != 0 ? options.orgs
                              : std::max<uint64_t>(1, options.providers / 10)),
      first_day_(FromCivilDay(absl::CivilDay(2017, 1, 1))),
      last_day_(FromCivilDay(absl::CivilDay(2017 + options.years, 1, 1))),
      rng_(options.seed) {
  int n = std::clamp(options.payers, 1, 8);
  payers_.assign(kPayers, kPayers + n);
}

std::string Generator::ProviderNpi(uint64_t i) const {
  return Npi(100000000 + i);
}
std::string Generator::OrgNpi(uint64_t j) const { return Npi(200000000 + j); }

uint64_t Generator::PickOrg() {
  // Skewed: a few large organizations, a long tail of small ones.
  double u = std::uniform_real_distribution<double>(0, 1)(rng_);
  return std::min<uint64_t>(orgs_ - 1, static_cast<uint64_t>(orgs_ * u * u));
}

Event Generator::Make(const std::string& id, DayNumber day) {
  Event e;
  e.set_event_id(id);
  e.set_effective_date(FormatDate(day));
  e.set_actor("generator");
  e.set_source("CMS-855");
  e.set_filed_on(FormatDate(day));  // paperwork received when it took effect
  return e;
}

void Generator::EmitOrg(uint64_t j) {
  auto U = [&](int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng_);
  };
  const std::string npi = OrgNpi(j);
  const std::string tin = absl::StrFormat("%09d", 300000000 + j);
  const std::string name = absl::StrCat("Org ", j, " Medical Group LLC");
  const std::string state = kStates[j % 8];
  for (size_t p = 0; p < payers_.size(); ++p) {
    const DayNumber day = first_day_ - U(0, 3650);
    Event e = Make(absl::StrCat("g:oenr:", j, ":", p), day);
    auto* b = e.mutable_enrolled();
    b->set_npi(npi);
    b->set_payer(payers_[p]);
    b->set_entity(v1::Enrolled::ORGANIZATION);
    b->set_enrollment_id(absl::StrFormat("O2%013d", j));
    b->set_pac_id(absl::StrFormat("2%09d", j));
    b->set_tin(tin);
    b->set_legal_name(name);
    b->set_state(state);
    ready_.push_back(std::move(e));
    Event c = Make(absl::StrCat("g:octr:", j, ":", p), day);
    c.set_source("group participation agreement");
    auto* k = c.mutable_contract_signed();
    k->set_payer(payers_[p]);
    k->set_holder_npi(npi);
    k->set_kind(v1::ContractSigned::GROUP);
    k->set_contract_id(absl::StrCat("G", j, "-", p));
    ready_.push_back(std::move(c));
    int n = 0;
    for (DayNumber d = day + 5 * 365; d < last_day_; d += 5 * 365, ++n) {
      Event r = Make(absl::StrCat("g:oreval:", j, ":", p, ":", n), d);
      r.mutable_revalidated()->set_npi(npi);
      r.mutable_revalidated()->set_payer(payers_[p]);
      r.mutable_revalidated()->set_next_due_on(FormatDate(d + 5 * 365));
      ready_.push_back(std::move(r));
    }
  }
}

void Generator::EmitProvider(uint64_t i) {
  auto U = [&](int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng_);
  };
  auto chance = [&](double p) {
    return std::uniform_real_distribution<double>(0, 1)(rng_) < p;
  };
  const std::string npi = ProviderNpi(i);
  std::vector<Pending> evs;
  int order = 0;
  auto add = [&](DayNumber record, Event e, int void_target = -1) {
    evs.push_back(Pending{record, order++, std::move(e), void_target});
    return static_cast<int>(evs.size()) - 1;
  };
  std::vector<size_t> mine = {0};
  for (size_t p = 1; p < payers_.size(); ++p) {
    if (chance(0.4)) mine.push_back(p);
  }
  const int span = last_day_ - first_day_;
  const DayNumber e0 = first_day_ + U(0, span * 6 / 10);
  for (size_t p : mine) {
    const DayNumber day = e0 + U(0, 30);
    Event e = Make(absl::StrCat("g:enr:", i, ":", p), day);
    auto* b = e.mutable_enrolled();
    b->set_npi(npi);
    b->set_payer(payers_[p]);
    b->set_entity(v1::Enrolled::INDIVIDUAL);
    b->set_enrollment_id(absl::StrFormat("I1%013d", i));
    b->set_pac_id(absl::StrFormat("1%09d", i));
    b->set_first_name(kFirst[i % 15]);
    b->set_last_name(kLast[(i / 15) % 12]);
    b->set_state(kStates[i % 8]);
    add(day, std::move(e));
    int n = 0;
    for (DayNumber d = day; d < last_day_; d += 3 * 365, ++n) {
      Event c = Make(absl::StrCat("g:cred:", i, ":", p, ":", n), d);
      c.mutable_credentialed()->set_npi(npi);
      c.mutable_credentialed()->set_payer(payers_[p]);
      c.mutable_credentialed()->set_expires_on(FormatDate(d + 3 * 365));
      add(d, std::move(c));
    }
    n = 0;
    for (DayNumber d = day + 5 * 365; d < last_day_; d += 5 * 365, ++n) {
      Event r = Make(absl::StrCat("g:reval:", i, ":", p, ":", n), d);
      r.mutable_revalidated()->set_npi(npi);
      r.mutable_revalidated()->set_payer(payers_[p]);
      r.mutable_revalidated()->set_next_due_on(FormatDate(d + 5 * 365));
      add(d, std::move(r));
    }
  }

  // Stints at organizations. An organization is free again once the end of
  // the previous stint there has been recorded.
  std::map<uint64_t, DayNumber> free_from;
  int stint = 0;
  auto pick_free = [&](DayNumber at, uint64_t avoid) -> int64_t {
    for (int tries = 0; tries < 6; ++tries) {
      uint64_t org = PickOrg();
      auto it = free_from.find(org);
      if (org != avoid && (it == free_from.end() || it->second <= at)) {
        return static_cast<int64_t>(org);
      }
    }
    return -1;
  };
  auto emit_stint = [&](uint64_t org, DayNumber start, DayNumber end) {
    const bool open = end >= last_day_;
    const bool late = !open && chance(0.2);
    const DayNumber recorded_end = late ? end + U(30, 120) : end;
    const std::string org_npi = OrgNpi(org);
    for (size_t p : mine) {
      const std::string tag = absl::StrCat(i, ":", stint, ":", p);
      Event a = Make("g:asc:" + tag, start);
      a.mutable_associated()->set_provider_npi(npi);
      a.mutable_associated()->set_org_npi(org_npi);
      a.mutable_associated()->set_payer(payers_[p]);
      add(start, std::move(a));
      Event r = Make("g:rea:" + tag, start);
      r.set_source("CMS-855R");
      auto* b = r.mutable_reassigned();
      b->set_provider_npi(npi);
      b->set_org_npi(org_npi);
      b->set_payer(payers_[p]);
      b->set_org_tin(absl::StrFormat("%09d", 300000000 + org));
      b->set_org_legal_name(absl::StrCat("Org ", org, " Medical Group LLC"));
      add(start, std::move(r));
      if (!open) {
        Event x = Make("g:rev:" + tag, end);
        x.set_source(late ? "CMS-855R termination (filed late)"
                          : "CMS-855R termination");
        if (late) x.set_filed_on(FormatDate(recorded_end));
        x.mutable_revoked()->set_provider_npi(npi);
        x.mutable_revoked()->set_org_npi(org_npi);
        x.mutable_revoked()->set_payer(payers_[p]);
        x.mutable_revoked()->set_reason(v1::Revoked::DEPARTURE);
        add(recorded_end, std::move(x));
        Event y = Make("g:ascend:" + tag, end);
        y.mutable_association_ended()->set_provider_npi(npi);
        y.mutable_association_ended()->set_org_npi(org_npi);
        y.mutable_association_ended()->set_payer(payers_[p]);
        add(recorded_end, std::move(y));
      }
    }
    free_from[org] = open ? INT_MAX : recorded_end;
    ++stint;
  };
  // Some providers retire: their stints stop and their enrollments end.
  const bool retires = chance(0.05);
  const DayNumber horizon =
      retires ? std::min<DayNumber>(last_day_ - 1, e0 + U(400, span))
              : last_day_;
  DayNumber t = e0 + U(0, 90);
  for (int n = 0; n < 6 && t < horizon; ++n) {
    int64_t org = pick_free(t, UINT64_MAX);
    if (org < 0) break;
    const DayNumber end = std::min(horizon, t + U(180, 6 * 365));
    emit_stint(org, t, end);
    if (chance(0.15)) {  // a concurrent second group
      const DayNumber t2 = t + U(30, 365);
      int64_t org2 = t2 < horizon ? pick_free(t2, org) : -1;
      if (org2 >= 0) {
        emit_stint(org2, t2, std::min(horizon, t2 + U(180, 3 * 365)));
      }
    }
    if (end >= horizon) break;
    t = end + U(0, 60);
  }
  if (retires) {
    t = horizon;
    for (size_t p : mine) {
      Event e = Make(absl::StrCat("g:enrend:", i, ":", p), t + 1);
      e.mutable_enrollment_ended()->set_npi(npi);
      e.mutable_enrollment_ended()->set_payer(payers_[p]);
      e.mutable_enrollment_ended()->set_reason(v1::EnrollmentEnded::VOLUNTARY);
      add(t + 1, std::move(e));
    }
  }
  if (chance(0.01)) {  // a reassignment keyed to the wrong group, then voided
    int64_t org = pick_free(INT_MAX - 1, UINT64_MAX);
    if (org >= 0 && !free_from.count(org)) {
      const DayNumber day = e0 + U(0, 365);
      Event r = Make(absl::StrCat("g:err:", i), day);
      r.mutable_reassigned()->set_provider_npi(npi);
      r.mutable_reassigned()->set_org_npi(OrgNpi(org));
      r.mutable_reassigned()->set_payer(payers_[0]);
      int target = add(day, std::move(r));
      Event v = Make(absl::StrCat("g:void:", i), day);
      v.set_source("internal correction");
      v.mutable_voided()->set_reason("keyed to the wrong group");
      add(day + U(1, 20), std::move(v), target);
    }
  }
  if (mine.size() > 1 && chance(0.1)) {  // an individual commercial contract
    size_t p = mine[1];
    const DayNumber day = e0 + U(0, 200);
    Event c = Make(absl::StrCat("g:ictr:", i), day);
    c.set_source("provider agreement");
    auto* k = c.mutable_contract_signed();
    k->set_payer(payers_[p]);
    k->set_holder_npi(npi);
    k->set_kind(v1::ContractSigned::INDIVIDUAL);
    k->set_contract_id(absl::StrCat("I", i, "-", p));
    add(day, std::move(c));
  }

  // Record order: by the day each fact reached us.
  std::vector<int> by_record(evs.size());
  for (size_t k = 0; k < evs.size(); ++k) by_record[k] = static_cast<int>(k);
  std::sort(by_record.begin(), by_record.end(), [&](int a, int b) {
    return std::tie(evs[a].record_day, evs[a].order) <
           std::tie(evs[b].record_day, evs[b].order);
  });
  std::vector<uint64_t> seq_of(evs.size());
  const uint64_t base = produced_ + ready_.size() + 1;
  for (size_t k = 0; k < by_record.size(); ++k) seq_of[by_record[k]] = base + k;
  for (int k : by_record) {
    Pending& pe = evs[k];
    if (pe.void_target >= 0) {
      pe.event.mutable_voided()->set_target_seq(seq_of[pe.void_target]);
    }
    ready_.push_back(std::move(pe.event));
  }
}

bool Generator::Next(size_t max, std::vector<Event>* out) {
  while (ready_.size() < max &&
         (next_org_ < orgs_ || next_provider_ < options_.providers)) {
    if (next_org_ < orgs_) {
      EmitOrg(next_org_++);
    } else {
      EmitProvider(next_provider_++);
    }
  }
  if (ready_.empty()) return false;
  size_t n = std::min(max, ready_.size());
  for (size_t k = 0; k < n; ++k) {
    out->push_back(std::move(ready_.front()));
    ready_.pop_front();
  }
  produced_ += n;
  return true;
}

}  // namespace provledger
