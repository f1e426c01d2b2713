#include "tools/service/nppes.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <regex>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "ledger/hash.h"
#include "ledger/internal/keys.h"
#include "ledger/status_macros.h"
#include "ledger/validation.h"
#include "projections/csv.h"
#include "tools/service/service.h"
#include "projections/timeline.h"

namespace provledger {
namespace {

using v1::Event;
using v1::RegistryUpdated;

// One row's facts.
struct Row {
  size_t line = 0;
  std::string npi;
  v1::Enrolled::Entity entity = v1::Enrolled::ENTITY_UNSPECIFIED;
  std::string name, replacement, taxonomy;
  std::optional<DayNumber> enumerated, updated, deactivated, reactivated;

  // Still deactivated at the end of the file's knowledge.
  bool Deactivated() const {
    return deactivated.has_value() &&
           !(reactivated.has_value() && *reactivated >= *deactivated);
  }
};

// A registry record as the loader compares them.
struct Known {
  DayNumber day;
  RegistryUpdated record;  // npi cleared
};

bool SameRecord(const RegistryUpdated& a, const RegistryUpdated& b) {
  return a.entity() == b.entity() && a.name() == b.name() &&
         a.primary_taxonomy() == b.primary_taxonomy() &&
         a.replacement_npi() == b.replacement_npi();
}

class Loader {
 public:
  Loader(Ledger& ledger, const NppesOptions& options,
         const std::function<void(const std::string&)>& problem)
      : ledger_(ledger), options_(options), problem_(problem),
        source_("NPPES " + FormatDate(options.file_date)) {}

  // A thread reads and parses the file a chunk of rows ahead (the two
  // cores split the work about evenly), while this one judges and appends
  // the chunk before; at most two chunks are in memory.
  absl::StatusOr<NppesResult> Run(std::istream& in,
                                  const std::function<void(uint64_t)>& progress) {
    CsvReader reader(in);
    RETURN_IF_ERROR(Header(reader));
    struct Chunk {
      std::vector<Row> rows;
      std::vector<std::string> problems;  // of rows not in `rows`
      uint64_t bytes = 0;                 // read by its end
      bool last = false;
    };
    std::mutex mu;
    std::condition_variable changed;
    std::deque<Chunk> ready;
    bool stop = false;
    const size_t rows_per_chunk = std::max<size_t>(1, options_.batch_size);
    std::thread parser([&] {
      std::vector<std::string> f;
      std::string error;
      bool more = true;
      while (more) {
        Chunk chunk;
        while (chunk.rows.size() < rows_per_chunk &&
               (more = reader.Next(&f, &error))) {
          if (!error.empty()) {
            chunk.problems.push_back(
                absl::StrCat("line ", reader.line(), ": ", error));
            continue;
          }
          std::optional<Row> row = Parse(f, reader.line(), &chunk.problems);
          if (row.has_value()) chunk.rows.push_back(std::move(*row));
        }
        chunk.bytes = reader.bytes();
        chunk.last = !more;
        std::unique_lock<std::mutex> lock(mu);
        changed.wait(lock, [&] { return stop || ready.size() < 1; });
        if (stop) return;
        ready.push_back(std::move(chunk));
        changed.notify_all();
      }
    });
    absl::Status status;
    while (status.ok()) {
      Chunk chunk;
      {
        std::unique_lock<std::mutex> lock(mu);
        changed.wait(lock, [&] { return !ready.empty(); });
        chunk = std::move(ready.front());
        ready.pop_front();
        changed.notify_all();
      }
      for (const std::string& p : chunk.problems) Skip(p);
      status = Judge(chunk.rows);
      if (progress) progress(chunk.bytes);
      if (chunk.last) break;
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
      changed.notify_all();
    }
    parser.join();
    RETURN_IF_ERROR(status);
    return result_;
  }

 private:
  void Skip(const std::string& why) {
    ++result_.skipped_rows;
    problem_(why);
  }

  absl::Status Header(CsvReader& reader) {
    std::vector<std::string> fields;
    std::string error;
    if (!reader.Next(&fields, &error) || !error.empty()) {
      return absl::InvalidArgumentError("line 1: the file is empty");
    }
    std::map<std::string, size_t> columns;
    for (size_t i = 0; i < fields.size(); ++i) {
      columns.emplace(NormalizeHeader(fields[i]), i);
    }
    auto find = [&](const char* name) -> std::optional<size_t> {
      auto it = columns.find(name);
      if (it == columns.end()) return std::nullopt;
      return it->second;
    };
    for (const char* required : {"npi", "entity type code"}) {
      if (!find(required).has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "line 1: the header has no '",
            required == std::string("npi") ? "NPI" : "Entity Type Code",
            "' column (is this an NPPES npidata_pfile?)"));
      }
    }
    npi_ = *find("npi");
    entity_ = *find("entity type code");
    replacement_ = find("replacement npi");
    org_name_ = find("provider organization name (legal business name)");
    last_name_ = find("provider last name (legal name)");
    first_name_ = find("provider first name");
    enumerated_ = find("provider enumeration date");
    updated_ = find("last update date");
    deactivated_ = find("npi deactivation date");
    reactivated_ = find("npi reactivation date");
    for (int i = 1; i <= 15; ++i) {
      taxonomy_.push_back(
          {find(absl::StrCat("healthcare provider taxonomy code ", i).c_str()),
           find(absl::StrCat("healthcare provider primary taxonomy switch ", i)
                    .c_str())});
    }
    return absl::OkStatus();
  }

  std::string Get(const std::vector<std::string>& f,
                  std::optional<size_t> column) const {
    if (!column.has_value() || *column >= f.size()) return "";
    return std::string(absl::StripAsciiWhitespace(f[*column]));
  }

  // One row's facts, or nullopt with the reason in *problems (none for a
  // blank line). Runs on the reading thread: touches no loader state.
  std::optional<Row> Parse(const std::vector<std::string>& f, size_t line,
                           std::vector<std::string>* problems) const {
    Row row;
    row.line = line;
    row.npi = Get(f, npi_);
    const std::string where = absl::StrCat("line ", line, ": ");
    if (row.npi.empty() && f.size() <= 1) return std::nullopt;  // blank line
    if (!IsValidNpi(row.npi)) {
      problems->push_back(absl::StrCat(where, "NPI '", row.npi, "' is not a valid NPI"));
      return std::nullopt;
    }
    const std::string entity = Get(f, entity_);
    if (entity == "1") {
      row.entity = v1::Enrolled::INDIVIDUAL;
      const std::string first = Get(f, first_name_);
      row.name = Get(f, last_name_);
      if (!first.empty()) absl::StrAppend(&row.name, ", ", first);
    } else if (entity == "2") {
      row.entity = v1::Enrolled::ORGANIZATION;
      row.name = Get(f, org_name_);
    } else if (!entity.empty()) {
      problems->push_back(absl::StrCat(where, "Entity Type Code '", entity,
                        "' is not 1 (individual) or 2 (organization)"));
      return std::nullopt;
    }
    row.replacement = Get(f, replacement_);
    if (!row.replacement.empty() && !IsValidNpi(row.replacement)) {
      problems->push_back(absl::StrCat(where, "Replacement NPI '", row.replacement,
                        "' is not a valid NPI"));
      return std::nullopt;
    }
    struct DateColumn {
      std::optional<size_t> column;
      const char* name;
      std::optional<DayNumber>* out;
    };
    for (const DateColumn& d :
         {DateColumn{enumerated_, "Provider Enumeration Date", &row.enumerated},
          DateColumn{updated_, "Last Update Date", &row.updated},
          DateColumn{deactivated_, "NPI Deactivation Date", &row.deactivated},
          DateColumn{reactivated_, "NPI Reactivation Date", &row.reactivated}}) {
      const std::string text = Get(f, d.column);
      if (text.empty()) continue;
      auto day = ParseUsDate(text);
      if (!day.ok()) {
        problems->push_back(absl::StrCat(where, d.name, ": ", day.status().message()));
        return std::nullopt;
      }
      *d.out = *day;
    }
    if (row.entity == v1::Enrolled::ENTITY_UNSPECIFIED &&
        !row.deactivated.has_value()) {
      problems->push_back(absl::StrCat(where, "no Entity Type Code, and no NPI Deactivation "
                               "Date to explain why"));
      return std::nullopt;
    }
    // The primary taxonomy: the code switched "Y", else a lone code.
    std::vector<std::string> codes;
    for (const auto& [code_column, switch_column] : taxonomy_) {
      const std::string code = Get(f, code_column);
      if (code.empty()) continue;
      codes.push_back(code);
      if (absl::AsciiStrToUpper(Get(f, switch_column)) == "Y") {
        row.taxonomy = code;
      }
    }
    if (row.taxonomy.empty() && codes.size() == 1) row.taxonomy = codes[0];
    return row;
  }

  RegistryUpdated RecordOf(const Row& row, RegistryUpdated::Status status) {
    RegistryUpdated r;
    r.set_entity(row.entity);
    r.set_status(status);
    r.set_name(row.name);
    r.set_replacement_npi(row.replacement);
    r.set_primary_taxonomy(row.taxonomy);
    return r;
  }

  void Emit(const Row& row, DayNumber day, RegistryUpdated record,
            std::vector<Known>* known, uint64_t* counter) {
    std::string fingerprint;
    record.SerializeToString(&fingerprint);
    Event e;
    e.set_event_id(absl::StrCat(
        "nppes:", row.npi, ":",
        record.status() == RegistryUpdated::ACTIVE ? "active" : "deactivated",
        ":", FormatDate(day), ":",
        ToHex(Sha256(fingerprint)).substr(0, 12)));
    e.set_effective_date(FormatDate(day));
    e.set_source(source_);
    e.set_actor("provledger load-nppes");
    known->push_back(Known{day, record});
    *e.mutable_registry_updated() = std::move(record);
    e.mutable_registry_updated()->set_npi(row.npi);
    row_events_.emplace_back(std::move(e), counter);
  }

  // What the ledger already says of each NPI of the chunk (an NPI is
  // listed once); appends what the rows add, as one batch.
  absl::Status Judge(const std::vector<Row>& chunk) {
    if (chunk.empty()) return absl::OkStatus();
    std::vector<std::string> keys;
    keys.reserve(chunk.size());
    for (const Row& row : chunk) keys.push_back(RegistryKey(row.npi));
    ASSIGN_OR_RETURN(const std::vector<std::optional<storage::Timeline>> stored,
                     ledger_.View()->GetTimelines(keys));
    // The line each NPI of the chunk was read on.
    absl::flat_hash_map<std::string, size_t> first_line;
    for (size_t i = 0; i < chunk.size(); ++i) {
      const Row& row = chunk[i];
      auto [it, fresh] = first_line.try_emplace(row.npi, row.line);
      if (!fresh) {
        // An NPPES file lists each NPI once.
        Skip(absl::StrCat("line ", row.line, ": NPI ", row.npi,
                          " is listed again (first on line ", it->second,
                          "); only that row is loaded"));
        continue;
      }
      ++result_.rows;
      // What the ledger's registry says of the NPI, and then what this
      // row adds.
      std::vector<Known> known;
      if (stored[i].has_value()) {
        for (const storage::TimelineEntry& e : stored[i]->entries()) {
          if (!Visible(e, kHeadSeq)) continue;
          Known k{e.day(), {}};
          if (k.record.ParseFromString(e.payload())) known.push_back(std::move(k));
        }
      }
      row_events_.clear();
      auto has = [&](DayNumber day, RegistryUpdated::Status status) {
        return std::any_of(known.begin(), known.end(), [&](const Known& k) {
          return k.day == day && k.record.status() == status;
        });
      };
      const RegistryUpdated active = RecordOf(row, RegistryUpdated::ACTIVE);
      if (known.empty() && row.entity != v1::Enrolled::ENTITY_UNSPECIFIED) {
        Emit(row,
             row.enumerated.value_or(row.updated.value_or(options_.file_date)),
             active, &known, &result_.new_npis);
      }
      if (row.deactivated.has_value() &&
          !has(*row.deactivated, RegistryUpdated::DEACTIVATED)) {
        Emit(row, *row.deactivated, RecordOf(row, RegistryUpdated::DEACTIVATED),
             &known, &result_.deactivated);
      }
      if (row.reactivated.has_value() && !row.Deactivated() &&
          !has(*row.reactivated, RegistryUpdated::ACTIVE)) {
        Emit(row, *row.reactivated, active, &known, &result_.reactivated);
      }
      if (!row.Deactivated() && row.entity != v1::Enrolled::ENTITY_UNSPECIFIED) {
        // The record in effect on the row's Last Update Date must say what
        // the row says (an older file loaded after a newer one adds
        // nothing).
        const DayNumber day = row.updated.value_or(options_.file_date);
        const Known* in_effect = nullptr;
        for (const Known& k : known) {
          if (k.day <= day && (in_effect == nullptr || k.day >= in_effect->day)) {
            in_effect = &k;
          }
        }
        if (in_effect == nullptr ||
            in_effect->record.status() != RegistryUpdated::ACTIVE ||
            !SameRecord(in_effect->record, active)) {
          Emit(row, day, active, &known, &result_.updated);
        }
      }
      // A row whose record the ledger would refuse (a control character
      // in a name, say) is skipped whole, its line named.
      absl::Status valid;
      for (const auto& [e, counter] : row_events_) {
        valid = ValidateEvent(e);
        if (!valid.ok()) break;
      }
      if (!valid.ok()) {
        --result_.rows;
        Skip(absl::StrCat("line ", row.line, ": ", valid.message()));
        continue;
      }
      if (row_events_.empty()) ++result_.unchanged;
      for (auto& [e, counter] : row_events_) {
        pending_.push_back(std::move(e));
        ++*counter;
      }
    }
    return Flush();
  }

  absl::Status Flush() {
    if (pending_.empty()) return absl::OkStatus();
    AppendOptions ao;
    ao.sync = options_.sync;
    ASSIGN_OR_RETURN(AppendResult r,
                     service::AppendNamingEvent(ledger_, pending_, ao));
    pending_.clear();
    return absl::OkStatus();
  }

  Ledger& ledger_;
  const NppesOptions options_;
  const std::function<void(const std::string&)>& problem_;
  const std::string source_;
  NppesResult result_;
  std::vector<Event> pending_;
  // The events of the row being judged, each with the count it adds to.
  std::vector<std::pair<Event, uint64_t*>> row_events_;
  size_t npi_ = 0, entity_ = 0;
  std::optional<size_t> replacement_, org_name_, last_name_, first_name_,
      enumerated_, updated_, deactivated_, reactivated_;
  std::vector<std::pair<std::optional<size_t>, std::optional<size_t>>> taxonomy_;
};

}  // namespace

std::optional<DayNumber> NppesFileDate(const std::string& path) {
  static const std::regex kName(R"(npidata_pfile_(\d{8})-(\d{8}))",
                                std::regex::icase);
  std::smatch m;
  if (!std::regex_search(path, m, kName)) return std::nullopt;
  auto day = ParseCompactDate(m[2].str());
  if (!day.ok()) return std::nullopt;
  return *day;
}

absl::StatusOr<NppesResult> LoadNppes(
    Ledger& ledger, std::istream& in, const NppesOptions& options,
    const std::function<void(const std::string&)>& problem,
    const std::function<void(uint64_t)>& progress) {
  Loader loader(ledger, options, problem);
  return loader.Run(in, progress);
}

}  // namespace provledger
