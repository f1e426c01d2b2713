#include "projections/reconcile.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "ledger/status_macros.h"
#include "ledger/validation.h"
#include "ledger/internal/keys.h"
#include "projections/csv.h"
#include "projections/query.h"

namespace provledger {
namespace {

// Column positions (-1: absent).
struct Columns {
  int group_pac = -1, group_enrollment = -1, group_name = -1,
      group_state = -1, group_due = -1, record_type = -1, ind_npi = -1,
      ind_first = -1, ind_last = -1, ind_state = -1, ind_due = -1;
  int provider_npi = -1, org_npi = -1, payer = -1, effective = -1, end = -1;
};

absl::StatusOr<Columns> MapHeader(const std::vector<std::string>& header,
                                  RosterFormat format) {
  Columns c;
  const std::vector<std::pair<std::vector<const char*>, int Columns::*>> cms = {
      {{"group pac id"}, &Columns::group_pac},
      {{"group enrollment id"}, &Columns::group_enrollment},
      {{"group legal business name", "group legal name"}, &Columns::group_name},
      {{"group state code", "group state"}, &Columns::group_state},
      {{"group due date"}, &Columns::group_due},
      {{"record type"}, &Columns::record_type},
      {{"individual npi"}, &Columns::ind_npi},
      {{"individual first name"}, &Columns::ind_first},
      {{"individual last name"}, &Columns::ind_last},
      {{"individual state code", "individual state"}, &Columns::ind_state},
      {{"individual due date"}, &Columns::ind_due},
  };
  const std::vector<std::pair<std::vector<const char*>, int Columns::*>>
      generic = {
          {{"provider npi"}, &Columns::provider_npi},
          {{"org npi"}, &Columns::org_npi},
          {{"payer"}, &Columns::payer},
          {{"effective date"}, &Columns::effective},
          {{"end date"}, &Columns::end},
      };
  const auto& names = format == RosterFormat::kCmsReassignment ? cms : generic;
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string h = NormalizeHeader(header[i]);
    for (const auto& [aliases, slot] : names) {
      for (const char* alias : aliases) {
        if (h == alias) c.*slot = static_cast<int>(i);
      }
    }
  }
  auto missing = [](const char* what) {
    return absl::InvalidArgumentError(
        absl::StrCat("roster line 1: the header has no '", what, "' column"));
  };
  if (format == RosterFormat::kCmsReassignment) {
    if (c.ind_npi < 0) return missing("Individual NPI");
    if (c.group_enrollment < 0 && c.group_pac < 0) {
      return missing("Group Enrollment ID");
    }
  } else {
    if (c.provider_npi < 0) return missing("provider_npi");
    if (c.org_npi < 0) return missing("org_npi");
    if (c.payer < 0) return missing("payer");
    if (c.effective < 0) return missing("effective_date");
  }
  return c;
}

std::string Field(const std::vector<std::string>& f, int col) {
  if (col < 0 || col >= static_cast<int>(f.size())) return "";
  return std::string(absl::StripAsciiWhitespace(f[col]));
}

// One roster row, parsed.
struct Row {
  std::string provider;
  std::string org_npi;         // known directly (generic) or resolved
  std::string org_enrollment;  // CMS
  std::string org_pac;         // CMS
  std::string payer;
  std::string group_name, group_state;
  std::string first, last, ind_state;
  std::optional<DayNumber> group_due, ind_due;
  bool listed = true;  // generic: in effect at the payer on as_of
  DayNumber payer_start = 0;            // generic: effective_date
  std::optional<DayNumber> payer_end;   // generic: end_date, if passed
};

// The ledger side of a reconcile at one payer on one day, read in scans:
// every reassignment in effect, and the identity of every NPI enrolled
// there, in 100 shards by the NPI's first two digits, scanned by two
// threads. What a national roster needs, without point reads per row.
class PayerTables {
 public:
  // A reassignment in effect (provider, org: the NPIs' digits).
  struct Pair {
    uint64_t provider = 0, org = 0;
    DayNumber start = 0;
    uint64_t start_seq = 0;
  };

  static absl::StatusOr<std::unique_ptr<PayerTables>> Build(
      const LedgerView& view, const std::string& payer, DayNumber day,
      uint64_t known_seq) {
    auto t = std::unique_ptr<PayerTables>(new PayerTables());
    const Queries q(view.shared_from_this());
    // Tasks 0-99 are the identity shards, 100-199 the reassignment ones.
    std::atomic<int> next{0};
    std::mutex mu;
    absl::Status failed;
    auto work = [&] {
      for (int task = next++; task < 2 * kShards; task = next++) {
        const int shard = task % kShards;
        const std::string digits = absl::StrFormat("%02d", shard);
        absl::Status s = task < kShards
                             ? t->ReadIdentities(q, digits, payer, day, known_seq,
                                                 &t->identities_[shard])
                             : t->ReadPairs(view, digits, payer, day, known_seq,
                                            &t->pairs_[shard]);
        if (!s.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (failed.ok()) failed = s;
          next = 2 * kShards;
        }
      }
    };
    std::thread helper(work);
    work();
    helper.join();
    if (!failed.ok()) return failed;
    size_t ids = 0;
    for (const IdentityShard& shard : t->identities_) ids += shard.ids.size();
    t->ids_.reserve(ids);
    for (IdentityShard& shard : t->identities_) {
      t->ids_.insert(t->ids_.end(), shard.ids.begin(), shard.ids.end());
      shard.ids = {};
    }
    std::sort(t->ids_.begin(), t->ids_.end());
    return t;
  }

  // What NpisForId('e' or 'c', id).front() says at the payer (the lowest
  // NPI), or "".
  std::string NpiForId(char kind, absl::string_view id) const {
    const std::optional<uint64_t> code = IdCode(kind, id);
    if (!code.has_value()) return "";
    auto it = std::lower_bound(ids_.begin(), ids_.end(),
                               std::pair<uint64_t, uint64_t>{*code, 0});
    return it == ids_.end() || it->first != *code
               ? ""
               : absl::StrFormat("%010d", it->second);
  }

  // What Queries::IdentityOn says of `npi` (a valid NPI), into *out (its
  // strings keep their capacity): who it is and whether it is enrolled;
  // its ids and TIN are not kept (left empty).
  void IdentityOf(absl::string_view npi, Queries::Identity* out) const {
    Queries::Identity& id = *out;
    id.ever_enrolled = id.enrolled = false;
    id.entity = v1::Enrolled::ENTITY_UNSPECIFIED;
    for (std::string* field : {&id.tin, &id.legal_name, &id.first_name,
                               &id.last_name, &id.state, &id.enrollment_id,
                               &id.pac_id}) {
      field->clear();
    }
    const IdentityShard& shard = identities_[ShardOf(npi)];
    auto it = shard.rows.find(Digits(npi));
    if (it == shard.rows.end()) return;
    const IdentityRow& r = it->second;
    id.ever_enrolled = r.ever_enrolled;
    id.enrolled = r.enrolled;
    id.entity = r.entity;
    size_t at = r.offset;
    for (auto [field, length] :
         {std::pair{&id.legal_name, r.legal_name}, {&id.first_name, r.first_name},
          {&id.last_name, r.last_name}, {&id.state, r.state}}) {
      field->assign(shard.arena, at, length);
      at += length;
    }
  }

  // The reassignment of `provider` to `org` in effect, or nullptr.
  const Pair* InEffect(absl::string_view provider, absl::string_view org) const {
    const PairShard& shard = pairs_[ShardOf(provider)];
    auto it = shard.index.find(std::pair{Digits(provider), Digits(org)});
    return it == shard.index.end() ? nullptr : &shard.rows[it->second];
  }

  // Every reassignment in effect, in key order (provider, org).
  template <typename Fn>
  void ForEachPair(Fn fn) const {
    for (const PairShard& shard : pairs_) {
      for (const Pair& p : shard.rows) fn(p);
    }
  }

 private:
  static constexpr int kShards = 100;
  static constexpr size_t kNpi = 10;

  struct IdentityRow {
    uint32_t offset = 0;  // legal, first and last name, state, in the arena
    uint16_t legal_name = 0, first_name = 0, last_name = 0, state = 0;
    bool ever_enrolled = false, enrolled = false;
    v1::Enrolled::Entity entity = v1::Enrolled::ENTITY_UNSPECIFIED;
  };
  struct IdentityShard {
    absl::flat_hash_map<uint64_t, IdentityRow> rows;
    std::string arena;
    std::vector<std::pair<uint64_t, uint64_t>> ids;  // IdCode, NPI
  };
  struct PairShard {
    std::vector<Pair> rows;
    absl::flat_hash_map<std::pair<uint64_t, uint64_t>, uint32_t> index;
  };

  PayerTables() : identities_(kShards), pairs_(kShards) {}

  static int ShardOf(absl::string_view npi) {
    return (npi[0] - '0') * 10 + (npi[1] - '0');
  }
  // REQUIRES: digits only (at most 19).
  static uint64_t Digits(absl::string_view npi) {
    uint64_t n = 0;
    for (char c : npi) n = n * 10 + static_cast<uint64_t>(c - '0');
    return n;
  }

  // An enrollment id ('I' or 'O' and 14 digits) or a PAC id (10 digits) in
  // 64 bits, kinds apart; nullopt for any other text (which no recorded
  // enrollment carries: validation refuses it).
  static std::optional<uint64_t> IdCode(char kind, absl::string_view id) {
    auto digits = [](absl::string_view s) {
      return absl::c_all_of(s, absl::ascii_isdigit);
    };
    if (kind == 'e') {
      if (id.size() != 15 || (id[0] != 'I' && id[0] != 'O') ||
          !digits(id.substr(1))) {
        return std::nullopt;
      }
      return (uint64_t{id[0] == 'O' ? 2u : 1u} << 60) | Digits(id.substr(1));
    }
    if (id.size() != 10 || !digits(id)) return std::nullopt;
    return (uint64_t{3} << 60) | Digits(id);
  }

  static absl::Status ReadIdentities(const Queries& q, const std::string& digits,
                                     const std::string& payer, DayNumber day,
                                     uint64_t known_seq, IdentityShard* shard) {
    return q.ForEachIdentityOn(
        digits, payer, day, known_seq,
        [&](absl::string_view npi, const Queries::Identity& id,
            const storage::Timeline& enrollment) {
          // The ids NpisForId would match. Nearly always the timeline
          // holds one `enrolled` entry (the only entries with a payload),
          // the one in effect, whose ids `id` has already.
          auto add = [&](char kind, const std::string& value) {
            if (auto code = IdCode(kind, value)) {
              shard->ids.emplace_back(*code, Digits(npi));
            }
          };
          int carriers = 0;
          for (const storage::TimelineEntry& e : enrollment.entries()) {
            if (Visible(e, known_seq) && !e.payload().empty()) ++carriers;
          }
          if (id.enrolled && carriers == 1) {
            if (!id.enrollment_id.empty()) add('e', id.enrollment_id);
            if (!id.pac_id.empty()) add('c', id.pac_id);
          } else if (carriers > 0) {
            Queries::ForEachIdIn(enrollment, known_seq, add);
          }
          IdentityRow r;
          r.offset = static_cast<uint32_t>(shard->arena.size());
          r.ever_enrolled = id.ever_enrolled;
          r.enrolled = id.enrolled;
          r.entity = id.entity;
          // Text fields are at most 1024 bytes (validation.h).
          r.legal_name = static_cast<uint16_t>(id.legal_name.size());
          r.first_name = static_cast<uint16_t>(id.first_name.size());
          r.last_name = static_cast<uint16_t>(id.last_name.size());
          r.state = static_cast<uint16_t>(id.state.size());
          absl::StrAppend(&shard->arena, id.legal_name, id.first_name,
                          id.last_name, id.state);
          shard->rows.emplace(Digits(npi), r);
        });
  }

  static absl::Status ReadPairs(const LedgerView& view, const std::string& digits,
                                const std::string& payer, DayNumber day,
                                uint64_t known_seq, PairShard* shard) {
    const std::string prefix =
        TimelinePrefix(Relation::kReassignment, digits);
    constexpr size_t kPayerAt = 1 + 2 * kNpi;  // 'R' provider org payer
    return view.ScanTimelines(
        prefix,
        [&](absl::string_view key) {
          return key.size() > kPayerAt && key.substr(kPayerAt) == payer;
        },
        [&](absl::string_view key, const storage::Timeline& t) {
          std::optional<Interval> i = IntervalOn(t, day, known_seq);
          if (!i.has_value()) return true;
          Pair p{Digits(key.substr(1, kNpi)), Digits(key.substr(1 + kNpi, kNpi)),
                 i->start, i->start_seq};
          shard->index.emplace(std::pair{p.provider, p.org},
                               static_cast<uint32_t>(shard->rows.size()));
          shard->rows.push_back(p);
          return true;
        });
  }

  std::vector<IdentityShard> identities_;
  std::vector<PairShard> pairs_;
  std::vector<std::pair<uint64_t, uint64_t>> ids_;  // IdCode, NPI; sorted
};

class Reconciler {
 public:
  Reconciler(const LedgerView& view, const ReconcileOptions& options,
             const std::function<void(const Discrepancy&)>& sink)
      : ledger_(view), q_(view.shared_from_this()), options_(options),
        sink_(sink) {
    options_.payer = CanonicalPayer(options_.payer);
  }

  absl::Status Run(std::istream& in,
                   const std::function<void(uint64_t)>& progress) {
    RETURN_IF_ERROR(ResolveOrgFilter());
    CsvReader reader(in);
    std::vector<std::string> fields;
    std::string error;
    if (!reader.Next(&fields, &error)) {
      return absl::InvalidArgumentError("the roster is empty (no header row)");
    }
    ASSIGN_OR_RETURN(columns_, MapHeader(fields, options_.format));
    roster_bytes_ = SizeOf(in);
    // A second thread reads and parses the rows, a few batches ahead; they
    // are compared here, in the file's order.
    RowPipe pipe;
    std::thread parser([&] { ParseRows(reader, fields.size(), &pipe); });
    absl::Cleanup stop = [&] {
      pipe.Close();
      parser.join();
    };
    std::vector<ParsedRow> batch;
    uint64_t bytes = 0;
    while (pipe.Pop(&batch, &bytes)) {
      for (ParsedRow& p : batch) {
        ++summary_.rows;
        bytes_read_ = p.bytes;
        if (summary_.rows % 4096 == 0 && progress) progress(p.bytes);
        if (p.why == kNotCompared) {
          ++summary_.not_compared;
        } else if (!p.why.empty()) {
          Unparseable(p.line, p.why);
        } else {
          if (options_.format == RosterFormat::kGeneric) payers_.insert(p.row.payer);
          RETURN_IF_ERROR(Compare(p.line, &p.row));
        }
      }
    }
    if (progress) progress(bytes);
    return ReportMissing();
  }

  const ReconcileSummary& summary() const { return summary_; }

 private:
  // A roster row as the parser thread left it: `why` empty (compare it),
  // kNotCompared, or why it cannot be parsed.
  struct ParsedRow {
    size_t line = 0;
    uint64_t bytes = 0;  // read by its end
    std::string why;
    Row row;
  };
  static constexpr char kNotCompared[] = "not compared";

  // Batches of parsed rows from the parser thread to the comparing one,
  // at most kAhead waiting.
  class RowPipe {
   public:
    static constexpr size_t kAhead = 4;
    // False once the reader has stopped taking batches.
    bool Push(std::vector<ParsedRow> batch, uint64_t bytes) {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [&] { return closed_ || batches_.size() < kAhead; });
      if (closed_) return false;
      batches_.push_back(std::move(batch));
      bytes_ = bytes;
      changed_.notify_all();
      return true;
    }
    void Finish(uint64_t bytes) {
      std::lock_guard<std::mutex> lock(mu_);
      finished_ = true;
      bytes_ = bytes;
      changed_.notify_all();
    }
    // False at the end of the rows.
    bool Pop(std::vector<ParsedRow>* batch, uint64_t* bytes) {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [&] { return finished_ || !batches_.empty(); });
      if (batches_.empty()) {
        *bytes = bytes_;
        return false;
      }
      *batch = std::move(batches_.front());
      batches_.pop_front();
      changed_.notify_all();
      return true;
    }
    void Close() {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      changed_.notify_all();
    }

   private:
    std::mutex mu_;
    std::condition_variable changed_;
    std::deque<std::vector<ParsedRow>> batches_;
    uint64_t bytes_ = 0;
    bool finished_ = false, closed_ = false;
  };

  // The parser thread: every row after the header, in batches.
  void ParseRows(CsvReader& reader, size_t width, RowPipe* pipe) const {
    constexpr size_t kBatchRows = 1024;
    std::vector<std::string> fields;
    std::string error;
    std::vector<ParsedRow> batch;
    batch.reserve(kBatchRows);
    while (reader.Next(&fields, &error)) {
      if (fields.size() == 1 && fields[0].empty() && error.empty()) continue;
      ParsedRow& p = batch.emplace_back();
      p.line = reader.line();
      p.bytes = reader.bytes();
      if (!error.empty()) {
        p.why = error;
      } else if (fields.size() != width) {
        p.why = absl::StrCat("has ", fields.size(), " fields; the header has ",
                             width);
      } else {
        p.why = options_.format == RosterFormat::kCmsReassignment
                    ? ParseCms(fields, &p.row)
                    : ParseGeneric(fields, &p.row);
      }
      if (batch.size() == kBatchRows) {
        if (!pipe->Push(std::move(batch), reader.bytes())) return;
        batch.clear();
        batch.reserve(kBatchRows);
      }
    }
    if (!batch.empty() && !pipe->Push(std::move(batch), reader.bytes())) return;
    pipe->Finish(reader.bytes());
  }

  void Emit(std::string code, size_t line, std::string provider,
            std::string org, std::string detail) {
    ++summary_.by_code[code];
    sink_(Discrepancy{std::move(code), line, std::move(provider),
                      std::move(org), std::move(detail)});
  }

  void Unparseable(size_t line, const std::string& why) {
    ++summary_.unparseable;
    Emit("UNPARSEABLE_ROW", line, "", "", why);
  }

  // An entity (kind "org", "ind", "unknown-org", ...; an id) in 8 bytes.
  static uint64_t EntityId(absl::string_view kind, absl::string_view id) {
    return absl::HashOf(kind, id);
  }

  // True the first time an entity is seen.
  bool FirstTime(absl::string_view kind, absl::string_view id) {
    return seen_.insert(EntityId(kind, id)).second;
  }

  absl::Status ResolveOrgFilter() {
    if (options_.org.empty()) return absl::OkStatus();
    if (IsValidNpi(options_.org)) {
      org_filter_npi_ = options_.org;
      return absl::OkStatus();
    }
    if (!IsValidEnrollmentId(options_.org)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--org: '", options_.org, "' is neither an NPI nor an enrollment id"));
    }
    ASSIGN_OR_RETURN(auto npis, q_.NpisForId('e', options_.org, options_.payer,
                                             options_.known_seq));
    if (!npis.empty()) org_filter_npi_ = npis.front();
    return absl::OkStatus();
  }

  static std::string ParseDue(const std::string& text, const char* column,
                              std::optional<DayNumber>* out) {
    if (text.empty() || absl::AsciiStrToUpper(text) == "TBD") return "";
    auto day = ParseUsDate(text);
    if (!day.ok()) return absl::StrCat(column, ": ", day.status().message());
    *out = *day;
    return "";
  }

  std::string ParseCms(const std::vector<std::string>& f, Row* row) const {
    const std::string type = absl::AsciiStrToLower(Field(f, columns_.record_type));
    if (type == "physician assistant") return kNotCompared;
    if (!type.empty() && type != "reassignment") {
      return absl::StrCat("Record Type '", Field(f, columns_.record_type),
                          "' is neither Reassignment nor Physician Assistant");
    }
    row->provider = Field(f, columns_.ind_npi);
    if (!IsValidNpi(row->provider)) {
      return absl::StrCat("Individual NPI '", row->provider,
                          "' is not a valid NPI");
    }
    row->org_enrollment = Field(f, columns_.group_enrollment);
    row->org_pac = Field(f, columns_.group_pac);
    if (!row->org_enrollment.empty() && !IsValidEnrollmentId(row->org_enrollment)) {
      return absl::StrCat("Group Enrollment ID '", row->org_enrollment,
                          "' is not I/O followed by 14 digits");
    }
    if (row->org_enrollment.empty() && row->org_pac.empty()) {
      return "names no Group Enrollment ID or Group PAC ID";
    }
    row->payer = options_.payer;
    row->group_name = Field(f, columns_.group_name);
    row->group_state = Field(f, columns_.group_state);
    row->first = Field(f, columns_.ind_first);
    row->last = Field(f, columns_.ind_last);
    row->ind_state = Field(f, columns_.ind_state);
    std::string why = ParseDue(Field(f, columns_.group_due), "Group Due Date",
                               &row->group_due);
    if (why.empty()) {
      why = ParseDue(Field(f, columns_.ind_due), "Individual Due Date",
                     &row->ind_due);
    }
    return why;
  }

  std::string ParseGeneric(const std::vector<std::string>& f, Row* row) const {
    row->provider = Field(f, columns_.provider_npi);
    row->org_npi = Field(f, columns_.org_npi);
    row->payer = Field(f, columns_.payer);
    if (!IsValidNpi(row->provider)) {
      return absl::StrCat("provider_npi '", row->provider, "' is not a valid NPI");
    }
    if (!IsValidNpi(row->org_npi)) {
      return absl::StrCat("org_npi '", row->org_npi, "' is not a valid NPI");
    }
    if (!IsValidPayer(row->payer)) {
      return absl::StrCat("payer '", row->payer, "' is not a payer name");
    }
    row->payer = CanonicalPayer(row->payer);
    auto effective = ParseDate(Field(f, columns_.effective));
    if (!effective.ok()) {
      return absl::StrCat("effective_date: ", effective.status().message());
    }
    std::optional<DayNumber> end;
    const std::string end_text = Field(f, columns_.end);
    if (!end_text.empty()) {
      auto e = ParseDate(end_text);
      if (!e.ok()) return absl::StrCat("end_date: ", e.status().message());
      end = *e;
    }
    row->listed = *effective <= options_.as_of &&
                  (!end.has_value() || options_.as_of < *end);
    row->payer_start = *effective;
    if (end.has_value() && *end <= options_.as_of) row->payer_end = end;
    return "";
  }

  // The organization's NPI for a CMS row, or "" if the ledger does not know
  // it. Cached per enrollment/PAC id (bounded).
  absl::StatusOr<std::string> ResolveOrg(const Row& row) {
    if (!row.org_npi.empty()) {
      RETURN_IF_ERROR(IdentityOf(row.org_npi, row.payer, &org_identity_));
      return org_identity_.ever_enrolled ? row.org_npi : "";
    }
    ASSIGN_OR_RETURN(const PayerTables* tables, TablesFor(row.payer));
    if (tables != nullptr) {
      std::string npi;
      if (!row.org_enrollment.empty()) npi = tables->NpiForId('e', row.org_enrollment);
      if (npi.empty() && !row.org_pac.empty()) {
        npi = tables->NpiForId('c', row.org_pac);
      }
      return npi;
    }
    const std::string key = row.org_enrollment + "/" + row.org_pac;
    if (auto it = org_cache_.find(key); it != org_cache_.end()) return it->second;
    if (org_cache_.size() > 100000) org_cache_.clear();
    std::string npi;
    if (!row.org_enrollment.empty()) {
      ASSIGN_OR_RETURN(auto npis, q_.NpisForId('e', row.org_enrollment,
                                               row.payer, options_.known_seq));
      if (!npis.empty()) npi = npis.front();
    }
    if (npi.empty() && !row.org_pac.empty()) {
      ASSIGN_OR_RETURN(auto npis, q_.NpisForId('c', row.org_pac, row.payer,
                                               options_.known_seq));
      if (!npis.empty()) npi = npis.front();
    }
    org_cache_[key] = npi;
    return npi;
  }

  absl::Status CheckIdentity(size_t line, const std::string& npi,
                             const std::string& org_for_report,
                             const std::string& payer, bool is_org,
                             const std::string& roster_name,
                             const std::string& roster_state,
                             std::optional<DayNumber> roster_due,
                             const Queries::Identity* known = nullptr) {
    if (!FirstTime(is_org ? "org" : "ind", npi)) return absl::OkStatus();
    const uint64_t entity = EntityId(is_org ? "org" : "ind", npi);
    if (known == nullptr) {
      RETURN_IF_ERROR(IdentityOf(npi, payer, &org_identity_));
      known = &org_identity_;
    }
    const Queries::Identity& id = *known;
    const std::string provider = is_org ? "" : npi;
    const std::string org = is_org ? npi : org_for_report;
    const char* who = is_org ? "organization" : "provider";
    if (id.enrolled) {
      std::string ledger_name =
          is_org ? id.legal_name : absl::StrCat(id.first_name, " ", id.last_name);
      if (!roster_name.empty() && !NormalizeName(ledger_name).empty() &&
          NormalizeName(roster_name) != NormalizeName(ledger_name)) {
        Emit("NAME_MISMATCH", line, provider, org,
             absl::StrCat(who, " ", npi, ": the roster says '", roster_name,
                          "', the ledger says '", ledger_name, "'"));
        mismatched_.insert(entity);
      }
      if (!roster_state.empty() && !id.state.empty() &&
          absl::AsciiStrToUpper(roster_state) != id.state) {
        Emit("STATE_MISMATCH", line, provider, org,
             absl::StrCat(who, " ", npi, ": the roster says ", roster_state,
                          ", the ledger says ", id.state));
        mismatched_.insert(entity);
      }
    }
    if (options_.due_within_days.has_value()) {
      std::optional<DayNumber> due = roster_due;
      const char* from = "the roster";
      if (!due.has_value()) {
        ASSIGN_OR_RETURN(due, q_.RevalidationDue(npi, payer, options_.as_of,
                                                 options_.known_seq));
        from = "the ledger's last revalidation";
      }
      if (due.has_value() &&
          *due <= options_.as_of + *options_.due_within_days) {
        // A provider's revalidation is theirs, not one group's.
        Emit("REVALIDATION_DUE", line, provider, is_org ? org : "",
             absl::StrCat(who, " ", npi, ": revalidation due ",
                          FormatDate(*due), " (from ", from, ")",
                          *due < options_.as_of ? ", overdue" : ""));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Compare(size_t line, Row* row) {
    ASSIGN_OR_RETURN(std::string org, ResolveOrg(*row));
    if (!options_.org.empty()) {
      bool mine = (!org.empty() && org == org_filter_npi_) ||
                  row->org_enrollment == options_.org ||
                  row->org_npi == options_.org;
      if (!mine) return absl::OkStatus();
    }
    ++summary_.compared;
    const std::string org_label = !org.empty()            ? org
                                  : !row->org_npi.empty() ? row->org_npi
                                  : !row->org_enrollment.empty()
                                      ? row->org_enrollment
                                      : row->org_pac;
    if (org.empty()) {
      if (FirstTime("unknown-org", org_label)) {
        Emit("UNKNOWN_ORGANIZATION", line, "", org_label,
             absl::StrCat("no enrollment at ", row->payer,
                          " in the ledger matches organization ", org_label,
                          row->org_pac.empty() ? "" : " (PAC " + row->org_pac + ")",
                          "; its roster rows cannot be compared"));
      }
    }
    // One read answers both "known at all?" and the identity checks.
    RETURN_IF_ERROR(IdentityOf(row->provider, row->payer, &provider_identity_));
    const Queries::Identity& provider_id = provider_identity_;
    const bool provider_known = provider_id.ever_enrolled;
    if (!provider_known && FirstTime("unknown-provider", row->provider)) {
      // A generic roster carries no names.
      const std::string name = std::string(absl::StripAsciiWhitespace(
          absl::StrCat(row->first, " ", row->last)));
      Emit("UNKNOWN_PROVIDER", line, row->provider, org_label,
           absl::StrCat("provider ", row->provider,
                        name.empty() ? "" : absl::StrCat(" (", name, ")"),
                        " has no enrollment at ", row->payer, " in the ledger"));
    }
    if (!org.empty()) {
      RETURN_IF_ERROR(CheckIdentity(line, org, org, row->payer, true,
                                    row->group_name, row->group_state,
                                    row->group_due));
    }
    if (provider_known) {
      std::string name = absl::StrCat(row->first, " ", row->last);
      if (row->first.empty() && row->last.empty()) name.clear();
      RETURN_IF_ERROR(CheckIdentity(line, row->provider, org_label, row->payer,
                                    false, name, row->ind_state, row->ind_due,
                                    &provider_id));
    }
    if (org.empty() || !provider_known) return absl::OkStatus();

    // The reassignment in effect from the tables, else its periods read.
    ASSIGN_OR_RETURN(const PayerTables* tables, TablesFor(row->payer));
    std::optional<Interval> in_effect;
    std::vector<Interval> periods;
    if (tables != nullptr) {
      if (const PayerTables::Pair* p = tables->InEffect(row->provider, org)) {
        in_effect = Interval{p->start, std::nullopt, p->start_seq};
      }
    } else {
      ASSIGN_OR_RETURN(periods, Periods(row->provider, org, row->payer));
      for (const Interval& i : periods) {
        if (i.Contains(options_.as_of)) in_effect = i;
      }
    }
    // A row agrees with the ledger when both say in effect (or both say
    // not); one whose parties' names or states differ is not counted as
    // matched.
    const bool identity_agrees =
        !mismatched_.contains(EntityId("org", org)) &&
        !mismatched_.contains(EntityId("ind", row->provider));
    auto agree = [&] {
      if (identity_agrees) {
        ++summary_.matched;
      } else {
        ++summary_.mismatched;
      }
    };
    if (in_effect.has_value()) {
      matched_.insert(PairIdOf(row->provider, org, row->payer));
    }
    if (!row->listed) {
      // The payer's row is not in effect on as_of (ended, or not begun).
      if (!in_effect.has_value()) {
        agree();
        return absl::OkStatus();
      }
      Emit("ENDED_AT_PAYER", line, row->provider, org,
           absl::StrCat(row->payer, " lists this reassignment ",
                        row->payer_end.has_value()
                            ? absl::StrCat("as ended on ",
                                           FormatDate(*row->payer_end))
                            : absl::StrCat("as starting on ",
                                           FormatDate(row->payer_start)),
                        " but the ledger has it in effect since ",
                        FormatDate(in_effect->start), " (seq ",
                        in_effect->start_seq,
                        "): record the end, or ask the payer"));
      return absl::OkStatus();
    }
    if (in_effect.has_value()) {
      agree();
      return absl::OkStatus();
    }
    if (tables != nullptr) {
      ASSIGN_OR_RETURN(periods, Periods(row->provider, org, row->payer));
    }
    std::string detail;
    if (periods.empty()) {
      detail = "the ledger has no reassignment of this provider to this "
               "organization";
    } else {
      const Interval* last_before = nullptr;
      for (const Interval& i : periods) {
        if (i.start <= options_.as_of) last_before = &i;
      }
      if (last_before != nullptr) {
        detail = absl::StrCat("the ledger ended this reassignment on ",
                              FormatDate(*last_before->end), " (seq ",
                              last_before->end_seq, ")");
      } else {
        detail = absl::StrCat("the ledger's reassignment only starts on ",
                              FormatDate(periods.front().start), " (seq ",
                              periods.front().start_seq, ")");
      }
    }
    Emit("STALE_AT_PAYER", line, row->provider, org,
         absl::StrCat("listed by ", row->payer, " but ", detail,
                      ": payments may be routed to a group the provider left"));
    return absl::OkStatus();
  }

  absl::Status ReportMissing() {
    std::set<std::string> payers = payers_;
    // A CMS list is the payer's; a generic roster with no rows at all is
    // the payer's too (else an empty file would reconcile as clean).
    if (options_.format == RosterFormat::kCmsReassignment || payers.empty()) {
      payers.insert(options_.payer);
    }
    if (!options_.org.empty() && org_filter_npi_.empty()) return absl::OkStatus();
    // Streamed: a payer's reassignments in effect are millions of rows.
    for (const std::string& payer : payers) {
      ASSIGN_OR_RETURN(const PayerTables* tables, TablesFor(payer));
      if (tables != nullptr) {
        const uint64_t payer_number = PayerNumber(payer);
        tables->ForEachPair([&](const PayerTables::Pair& p) {
          if (matched_.contains(PairIdOf(p.provider, p.org, payer_number))) {
            return;
          }
          Missing(absl::StrFormat("%010d", p.provider),
                  absl::StrFormat("%010d", p.org), payer, p.start, p.start_seq);
        });
        continue;
      }
      RETURN_IF_ERROR(q_.ForEachReassignmentOn(
          options_.as_of, options_.known_seq, {"", org_filter_npi_, payer},
          [&](const ReassignmentRow& r) {
            if (matched_.contains(PairIdOf(r.provider, r.org, r.payer))) {
              return;
            }
            Missing(r.provider, r.org, payer, r.interval.start,
                    r.interval.start_seq);
          }));
    }
    return absl::OkStatus();
  }

  void Missing(std::string provider, std::string org, const std::string& payer,
               DayNumber start, uint64_t start_seq) {
    Emit("MISSING_AT_PAYER", 0, std::move(provider), std::move(org),
         absl::StrCat("in effect in the ledger since ", FormatDate(start),
                      " (seq ", start_seq, ") but absent from the ", payer,
                      " roster: claims will deny"));
  }

  // The periods of the reassignment of `provider` to `org` at `payer`.
  absl::StatusOr<std::vector<Interval>> Periods(const std::string& provider,
                                                const std::string& org,
                                                const std::string& payer) {
    ASSIGN_OR_RETURN(
        std::optional<storage::Timeline> t,
        ledger_.GetTimeline(PairKey(Relation::kReassignment, provider, org, payer)));
    if (!t.has_value()) return std::vector<Interval>();
    return FoldIntervals(*t, options_.known_seq);
  }

  // The ledger side's tables of `payer`, built the first time they are
  // asked for once the roster has passed options_.scan_after_rows rows;
  // nullptr before (or with an org filter): read point by point.
  absl::StatusOr<const PayerTables*> TablesFor(const std::string& payer) {
    if (auto it = tables_.find(payer); it != tables_.end()) return it->second.get();
    if (!options_.org.empty() || !PastScanRows()) return nullptr;
    ASSIGN_OR_RETURN(std::unique_ptr<PayerTables> t,
                     PayerTables::Build(ledger_, payer, options_.as_of,
                                        options_.known_seq));
    return (tables_[payer] = std::move(t)).get();
  }

  // Whether the roster has passed options_.scan_after_rows rows, or will
  // by its size (when the stream has one) and its first rows' length.
  bool PastScanRows() const {
    constexpr uint64_t kSampleRows = 1000;
    if (summary_.rows > options_.scan_after_rows) return true;
    if (!roster_bytes_.has_value() || summary_.rows < kSampleRows ||
        bytes_read_ < summary_.rows) {
      return false;
    }
    return *roster_bytes_ / (bytes_read_ / summary_.rows) >
           options_.scan_after_rows;
  }

  // The stream's length in bytes, if it can tell (a file can; a network
  // upload cannot); the position is left where it was.
  static std::optional<uint64_t> SizeOf(std::istream& in) {
    const std::istream::pos_type here = in.tellg();
    if (here == std::istream::pos_type(-1)) {
      in.clear();
      return std::nullopt;
    }
    in.seekg(0, std::ios::end);
    const std::istream::pos_type end = in.tellg();
    in.clear();
    in.seekg(here);
    if (end == std::istream::pos_type(-1) || !in) {
      in.clear();
      return std::nullopt;
    }
    return static_cast<uint64_t>(end);
  }

  // What Queries::IdentityOn says of `npi` at `payer` on as_of, into *out
  // (provider_identity_ or org_identity_); its ids and TIN left out once
  // the tables are read.
  absl::Status IdentityOf(const std::string& npi, const std::string& payer,
                          Queries::Identity* out) {
    ASSIGN_OR_RETURN(const PayerTables* tables, TablesFor(payer));
    if (tables != nullptr) {
      tables->IdentityOf(npi, out);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(*out,
                     q_.IdentityOn(npi, payer, options_.as_of, options_.known_seq));
    return absl::OkStatus();
  }

  // A (provider, org, payer) in 16 bytes (a national roster matches
  // millions of them): the NPIs' digits as numbers, the payer as a small
  // number of its own. REQUIRES: provider and org are valid NPIs.
  using PairId = std::pair<uint64_t, uint64_t>;
  PairId PairIdOf(absl::string_view provider, absl::string_view org,
                  absl::string_view payer) {
    uint64_t p = 0, o = 0;
    const bool digits = absl::SimpleAtoi(provider, &p) && absl::SimpleAtoi(org, &o);
    assert(digits);
    (void)digits;
    return PairIdOf(p, o, PayerNumber(payer));
  }
  static PairId PairIdOf(uint64_t provider, uint64_t org, uint64_t payer) {
    return {provider, org << 24 | payer};  // an NPI < 2^34
  }
  uint64_t PayerNumber(absl::string_view payer) {
    return payer_ids_.try_emplace(std::string(payer), payer_ids_.size())
        .first->second;
  }

  const LedgerView& ledger_;
  Queries q_;
  ReconcileOptions options_;  // payer canonical
  const std::function<void(const Discrepancy&)>& sink_;
  Columns columns_;
  ReconcileSummary summary_;
  std::string org_filter_npi_;
  absl::flat_hash_set<PairId> matched_;
  absl::flat_hash_map<std::string, uint64_t> payer_ids_;
  absl::flat_hash_set<size_t> seen_;
  absl::flat_hash_map<std::string, std::string> org_cache_;
  std::map<std::string, std::unique_ptr<PayerTables>> tables_;
  // The identities of the row being compared: its provider's, and the
  // organization's being checked.
  Queries::Identity provider_identity_, org_identity_;
  std::optional<uint64_t> roster_bytes_;  // the whole roster's, if known
  uint64_t bytes_read_ = 0;               // by the end of the last row
  std::set<std::string> payers_;
  // Entities (HashOf(kind, npi)) with a NAME_ or STATE_MISMATCH.
  absl::flat_hash_set<uint64_t> mismatched_;
};

}  // namespace

absl::StatusOr<ReconcileSummary> Reconcile(
    const LedgerView& view, std::istream& roster, const ReconcileOptions& options,
    const std::function<void(const Discrepancy&)>& sink,
    const std::function<void(uint64_t)>& progress) {
  Reconciler r(view, options, sink);
  RETURN_IF_ERROR(r.Run(roster, progress));
  return r.summary();
}

}  // namespace provledger
