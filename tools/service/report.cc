#include "tools/service/report.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "ledger/status_macros.h"
#include "ledger/validation.h"
#include "projections/timeline.h"
#include "tools/service/describe.h"

namespace provledger {
namespace {

using storage::Timeline;
using storage::TimelineEntry;
using v1::Event;

std::string Html(absl::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

struct Bar {
  DayNumber start;
  std::optional<DayNumber> end;
  uint64_t start_seq;
  uint64_t end_seq;
};

struct EventInfo {
  Event event;
  DayNumber day = 0;
  bool voided = false;
  uint64_t voided_by = 0;
  bool backdated = false;
  int lag_days = 0;
};

struct Row {
  std::string key;
  std::string kind;  // css class: enrollment, credential, association, ...
  std::string label;
  std::vector<Bar> bars;
  std::vector<uint64_t> seqs;  // events on this row
};

DayNumber KnowledgeDay(const Event& e) {
  if (!e.filed_on().empty()) {
    auto d = ParseDate(e.filed_on());
    if (d.ok()) return *d;
  }
  absl::Time t = absl::FromUnixSeconds(e.recorded_at().seconds());
  return FromCivilDay(absl::ToCivilDay(t, absl::UTCTimeZone()));
}

class Builder {
 public:
  Builder(const LedgerView& ledger, const ReportOptions& req)
      : ledger_(ledger), req_(req) {}

  absl::StatusOr<std::string> Build() {
    known_ = std::min(req_.known_seq, ledger_.head().seq);
    RETURN_IF_ERROR(Collect());
    if (rows_.empty()) {
      return absl::NotFoundError(absl::StrCat(
          "the ledger holds nothing about ", req_.npi,
          req_.payer.empty() ? "" : " at " + req_.payer,
          known_ < ledger_.head().seq ? " as known at that point" : ""));
    }
    return Render();
  }

 private:
  // `e` as this report shows it (TINs masked if asked).
  Event Shown(const Event& e) const {
    Event shown = e;
    if (req_.mask_individual_tins) MaskIndividualTins(&shown);
    return shown;
  }

  absl::Status AddTimeline(absl::string_view key, const Timeline& t) {
    const std::string payer(PayerOfKey(key));
    if (!req_.payer.empty() && !payer.empty() && payer != req_.payer) {
      return absl::OkStatus();
    }
    Row row;
    row.key = std::string(key);
    const Relation r = RelationOfKey(key);
    const std::string at = payer.empty() ? "" : " · " + payer;
    switch (r) {
      case Relation::kEnrollment:
        row.kind = "enrollment";
        row.label = "Enrollment" + at;
        break;
      case Relation::kCredential:
        row.kind = "credential";
        row.label = "Credentialing" + at;
        break;
      case Relation::kRevalidation:
        row.kind = "revalidation";
        row.label = "Revalidation (to next due)" + at;
        break;
      case Relation::kDemographics:
        row.kind = "demographics";
        row.label = "Demographics changes";
        break;
      case Relation::kRegistry:
        row.kind = "registry";
        row.label = "NPPES registry (active)";
        break;
      case Relation::kAssociation:
      case Relation::kReassignment: {
        PairParts p = DecodePairKey(key);
        row.kind = r == Relation::kAssociation ? "association" : "reassignment";
        const std::string noun =
            r == Relation::kAssociation ? "Association" : "Reassignment";
        row.label = req_.is_org ? absl::StrCat(noun, " ← ", p.provider, at)
                                : absl::StrCat(noun, " → ", p.org, at);
        break;
      }
      case Relation::kContract:
        row.kind = "contract";
        row.label = absl::StrCat("Contract ", ContractIdOfKey(key), at);
        break;
    }
    if (r == Relation::kCredential || r == Relation::kRevalidation) {
      for (const TimelineEntry& e : t.entries()) {
        if (!Visible(e, known_)) continue;
        std::optional<DayNumber> until;
        if (e.has_until_day()) until = e.until_day();
        row.bars.push_back({e.day(), until, e.seq(), 0});
      }
    } else if (r == Relation::kRegistry) {
      // Active from each ACTIVE record to the next record.
      std::vector<const TimelineEntry*> seen;
      for (const TimelineEntry& e : t.entries()) {
        if (Visible(e, known_)) seen.push_back(&e);
      }
      for (size_t i = 0; i < seen.size(); ++i) {
        v1::RegistryUpdated b;
        if (!b.ParseFromString(seen[i]->payload()) ||
            b.status() != v1::RegistryUpdated::ACTIVE) {
          continue;
        }
        std::optional<DayNumber> until;
        if (i + 1 < seen.size()) until = seen[i + 1]->day();
        row.bars.push_back({seen[i]->day(), until, seen[i]->seq(), 0});
      }
    } else if (r != Relation::kDemographics) {
      for (const Interval& i : FoldIntervals(t, known_)) {
        row.bars.push_back({i.start, i.end, i.start_seq, i.end_seq});
      }
    }
    for (const TimelineEntry& e : t.entries()) {
      if (e.seq() > known_) continue;
      row.seqs.push_back(e.seq());
      EventInfo info;
      ASSIGN_OR_RETURN(info.event, ledger_.Lookup(e.seq()));
      info.day = e.day();
      info.voided_by = e.voided_by() <= known_ ? e.voided_by() : 0;
      info.voided = info.voided_by != 0;
      info.lag_days = KnowledgeDay(info.event) - e.day();
      info.backdated = info.lag_days > kBackdatedDays;
      if (info.voided) {
        ASSIGN_OR_RETURN(Event v, ledger_.Lookup(info.voided_by));
        EventInfo void_info;
        void_info.event = std::move(v);
        void_info.day = *ParseDate(void_info.event.effective_date());
        events_[info.voided_by] = std::move(void_info);
      }
      events_[e.seq()] = std::move(info);
    }
    if (!row.seqs.empty()) rows_.push_back(std::move(row));
    return absl::OkStatus();
  }

  absl::Status Collect() {
    auto add = [&](absl::string_view key, const Timeline& t) {
      status_.Update(AddTimeline(key, t));
      return status_.ok();
    };
    using R = Relation;
    std::vector<R> relations = {R::kEnrollment, R::kCredential,
                                R::kRevalidation, R::kContract,
                                R::kDemographics, R::kRegistry};
    if (!req_.is_org) {
      relations = {R::kEnrollment,  R::kCredential,   R::kRevalidation,
                   R::kAssociation, R::kReassignment, R::kContract,
                   R::kDemographics, R::kRegistry};
    }
    for (R r : relations) {
      RETURN_IF_ERROR(ledger_.ScanTimelines(TimelinePrefix(r, req_.npi), add));
      RETURN_IF_ERROR(status_);
    }
    if (req_.is_org) {
      for (Relation r : {Relation::kAssociation, Relation::kReassignment}) {
        const std::string prefix =
            absl::StrCat("o", std::string(1, static_cast<char>(r)), req_.npi);
        std::vector<std::string> keys;
        RETURN_IF_ERROR(ledger_.ScanIndex(prefix, [&](absl::string_view k) {
          absl::string_view rest = k.substr(prefix.size());
          keys.push_back(
              PairKey(r, rest.substr(0, 10), req_.npi, rest.substr(10)));
          return true;
        }));
        for (const std::string& key : keys) {
          ASSIGN_OR_RETURN(std::optional<Timeline> t, ledger_.GetTimeline(key));
          if (t.has_value()) RETURN_IF_ERROR(AddTimeline(key, *t));
        }
      }
    }
    // Name from any enrollment payload.
    for (const Row& row : rows_) {
      if (row.kind != "enrollment") continue;
      auto t = ledger_.GetTimeline(row.key);
      if (!t.ok() || !t->has_value()) continue;
      for (const TimelineEntry& e : (*t)->entries()) {
        v1::Enrolled b;
        if (!e.payload().empty() && b.ParseFromString(e.payload())) {
          name_ = b.entity() == v1::Enrolled::ORGANIZATION
                      ? b.legal_name()
                      : absl::StrCat(b.first_name(), " ", b.last_name());
        }
      }
    }
    return absl::OkStatus();
  }

  std::string Render() {
    // The time axis.
    DayNumber lo = INT32_MAX, hi = INT32_MIN;
    auto see = [&](DayNumber d) {
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    };
    for (const Row& row : rows_) {
      for (const Bar& b : row.bars) {
        see(b.start);
        if (b.end) see(*b.end);
      }
    }
    for (const auto& [seq, info] : events_) see(info.day);
    if (req_.date_of_service) see(*req_.date_of_service);
    const int span = std::max(180, hi - lo);
    lo -= span / 20 + 30;
    hi += span / 10 + 60;
    const double kWidth = 1120, kLabel = 300, kRight = 20, kRowH = 36,
                 kTop = 46;
    const double plot = kWidth - kLabel - kRight;
    auto X = [&](DayNumber d) {
      return kLabel + plot * (d - lo) / static_cast<double>(hi - lo);
    };
    const double height = kTop + rows_.size() * kRowH + 16;

    std::string svg = absl::StrFormat(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" "
        "viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
        "aria-label=\"Relationship timeline\">\n",
        kWidth, height, kWidth, height);
    // Ticks: years, or quarters for short spans.
    absl::CivilDay first = ToCivilDay(lo);
    const bool quarters = hi - lo < 3 * 365;
    absl::CivilDay tick(first.year(), 1, 1);
    for (; FromCivilDay(tick) <= hi;
         tick = quarters ? absl::CivilDay(tick.year(), tick.month() + 3, 1)
                         : absl::CivilDay(tick.year() + 1, 1, 1)) {
      const DayNumber d = FromCivilDay(tick);
      if (d < lo) continue;
      const std::string label =
          quarters ? absl::StrFormat("%04d-%02d", tick.year(), tick.month())
                   : absl::StrFormat("%04d", tick.year());
      absl::StrAppendFormat(
          &svg,
          "<g class=\"tick\" data-date=\"%s\"><line x1=\"%.1f\" y1=\"%.0f\" "
          "x2=\"%.1f\" y2=\"%.0f\"/><text x=\"%.1f\" "
          "y=\"%.0f\">%s</text></g>\n",
          FormatDate(d), X(d), kTop - 12, X(d), height - 10, X(d), kTop - 18,
          label);
    }
    for (size_t i = 0; i < rows_.size(); ++i) {
      const Row& row = rows_[i];
      const double y = kTop + i * kRowH;
      absl::StrAppendFormat(
          &svg,
          "<g class=\"row %s\" data-relationship=\"%s\">\n"
          "<rect class=\"band\" x=\"0\" y=\"%.0f\" width=\"%.0f\" "
          "height=\"%.0f\"/>\n<text class=\"label\" x=\"8\" "
          "y=\"%.0f\">%s</text>\n",
          row.kind, Html(absl::CHexEscape(row.key)), y, kWidth, kRowH, y + 22,
          Html(row.label));
      for (const Bar& b : row.bars) {
        const DayNumber end = b.end.value_or(hi);
        const std::string until = b.end ? FormatDate(*b.end) : "";
        // An end whose paperwork came late: for a while the ledger said
        // the period was still open.
        auto ender = events_.find(b.end_seq);
        const bool late_end = b.end_seq != 0 && ender != events_.end() &&
                              ender->second.backdated;
        absl::StrAppendFormat(
            &svg,
            "<rect class=\"bar %s%s%s\" data-kind=\"%s\" data-start=\"%s\" "
            "data-end=\"%s\" x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" "
            "height=\"14\" rx=\"3\"><title>%s: %s to %s (seq "
            "%d%s%s)</title></rect>\n",
            row.kind, b.end ? "" : " open", late_end ? " backdated-end" : "",
            row.kind, FormatDate(b.start), until, X(b.start), y + 11,
            std::max(2.0, X(end) - X(b.start)), Html(row.label),
            FormatDate(b.start),
            b.end ? FormatDate(*b.end) : std::string("open"), b.start_seq,
            b.end_seq ? absl::StrCat(", ended by seq ", b.end_seq) : "",
            late_end ? ", recorded late: backdated" : "");
      }
      for (uint64_t seq : row.seqs) {
        const EventInfo& info = events_.at(seq);
        const Event& e = info.event;
        const double cx = X(info.day), cy = y + 18;
        std::string title = absl::StrCat(
            "seq ", seq, " · ", BodyName(e), " · effective ",
            e.effective_date(), " · recorded ",
            google::protobuf::util::TimeUtil::ToString(e.recorded_at()),
            e.filed_on().empty() ? "" : " · filed " + e.filed_on(), " · actor ",
            e.actor().empty() ? "(none)" : e.actor(), " · source ", e.source());
        if (info.voided)
          absl::StrAppend(&title, " · VOIDED by seq ", info.voided_by);
        if (info.backdated) {
          absl::StrAppend(&title, " · backdated: reached us ", info.lag_days,
                          " days after its effective date");
        }
        absl::StrAppendFormat(
            &svg,
            "<g class=\"event%s%s\" data-seq=\"%d\" data-date=\"%s\">"
            "<circle cx=\"%.1f\" cy=\"%.0f\" r=\"5\"/>",
            info.voided ? " voided" : "", info.backdated ? " backdated" : "",
            seq, e.effective_date(), cx, cy);
        if (info.voided) {
          absl::StrAppendFormat(
              &svg,
              "<line class=\"strike\" x1=\"%.1f\" y1=\"%.0f\" "
              "x2=\"%.1f\" y2=\"%.0f\"/>",
              cx - 8, cy + 6, cx + 8, cy - 6);
        }
        if (info.backdated) {
          absl::StrAppendFormat(&svg,
                                "<text class=\"late\" x=\"%.1f\" y=\"%.0f\">"
                                "backdated</text>",
                                cx + 7, cy - 7);
        }
        absl::StrAppend(&svg, "<title>", Html(title), "</title></g>\n");
      }
      svg += "</g>\n";
    }
    if (req_.date_of_service) {
      const double x = X(*req_.date_of_service);
      absl::StrAppendFormat(
          &svg,
          "<g class=\"dos\" data-date=\"%s\"><line x1=\"%.1f\" "
          "y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\"/><text x=\"%.1f\" "
          "y=\"%.0f\">date of service %s</text></g>\n",
          FormatDate(*req_.date_of_service), x, kTop - 8, x, height - 6,
          x + 4, height - 4, FormatDate(*req_.date_of_service));
    }
    svg += "</svg>\n";

    // The table of events.
    std::string table =
        "<table>\n<thead><tr><th>seq</th><th>recorded at</th><th>effective</th>"
        "<th>filed on</th><th>event</th><th>detail</th><th>actor</th>"
        "<th>source</th><th>status</th><th>hash</th></tr></thead>\n<tbody>\n";
    for (const auto& [seq, info] : events_) {
      const Event& e = info.event;
      std::string status;
      if (info.voided) status = absl::StrCat("VOIDED by seq ", info.voided_by);
      if (e.has_voided())
        status = absl::StrCat("voids seq ", e.voided().target_seq());
      if (info.backdated) {
        absl::StrAppend(&status, status.empty() ? "" : "; ", "backdated (",
                        info.lag_days, " days)");
      }
      absl::StrAppendFormat(
          &table,
          "<tr class=\"%s%s\"><td>%d</td><td>%s</td><td>%s</td><td>%s</td>"
          "<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
          "<td class=\"hash\">%s</td></tr>\n",
          info.voided ? "voided" : "", info.backdated ? " backdated" : "", seq,
          google::protobuf::util::TimeUtil::ToString(e.recorded_at()),
          e.effective_date(), e.filed_on(), BodyName(e), Html(Describe(Shown(e))),
          Html(e.actor()), Html(e.source()), Html(status),
          e.hash().substr(0, 16));
    }
    table += "</tbody>\n</table>\n";

    const std::string who =
        absl::StrCat(req_.is_org ? "Organization " : "Provider ", req_.npi,
                     name_.empty() ? "" : " — " + name_);
    const std::string knowledge =
        known_ == ledger_.head().seq
            ? absl::StrCat("as known now (seq ", known_, ")")
            : absl::StrCat("as known at seq ", known_);
    std::string html = absl::StrCat(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
        "charset=\"utf-8\">\n"
        "<title>provledger timeline: ",
        Html(who), "</title>\n<style>\n", kCss,
        "</style>\n</head>\n<body>\n<h1>", Html(who),
        "</h1>\n<p class=\"sub\">", Html(knowledge),
        req_.payer.empty() ? "" : " · payer " + Html(req_.payer), " · ",
        rows_.size(), " relationships · ", events_.size(), " events</p>\n", svg,
        "<p class=\"legend\"><span class=\"key enrollment\"></span>enrollment "
        "<span class=\"key credential\"></span>credentialing "
        "<span class=\"key association\"></span>association "
        "<span class=\"key reassignment\"></span>reassignment "
        "<span class=\"key contract\"></span>contract "
        "<span class=\"key revalidation\"></span>revalidation "
        "<span class=\"key registry\"></span>NPPES registry (active) · "
        "● event (hover for seq, actor, source) · struck ● voided · "
        "<em>backdated</em>: paperwork reached us more than ",
        kBackdatedDays,
        " days after its effective date · open bars run to the right "
        "edge</p>\n",
        "<h2>Events</h2>\n", table, "</body>\n</html>\n");
    return html;
  }

  static constexpr const char* kCss =
      "body{font:13px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;"
      "color:#1b1f24;margin:24px;}\n"
      "h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}\n"
      ".sub{color:#57606a;margin:0 0 12px}\n"
      "svg.timeline{display:block;max-width:100%;height:auto;"
      "border:1px solid #d0d7de;background:#fff}\n"
      ".band{fill:#fff}.row:nth-child(odd) .band{fill:#f6f8fa}\n"
      ".label{font-size:12px;fill:#1b1f24}\n"
      ".tick line{stroke:#d0d7de;stroke-dasharray:2 3}"
      ".tick text{font-size:11px;fill:#57606a;text-anchor:middle}\n"
      ".bar{stroke:none}.bar.open{opacity:.75}"
      ".bar.backdated-end{stroke:#9a6700;stroke-width:2;stroke-dasharray:4 2}\n"
      ".dos line{stroke:#cf222e;stroke-width:2}"
      ".dos text{font-size:11px;fill:#cf222e;font-weight:600}\n"
      ".enrollment{fill:#2f81f7}.credential{fill:#8250df}"
      ".association{fill:#1f883d}.reassignment{fill:#bf8700}"
      ".contract{fill:#cf222e}.revalidation{fill:#6e7781}.registry{fill:#0e8a7e}\n"
      ".event circle{fill:#fff;stroke:#1b1f24;stroke-width:1.5}\n"
      ".event.voided circle{stroke:#cf222e;stroke-dasharray:2 2}"
      ".strike{stroke:#cf222e;stroke-width:2}\n"
      ".event.backdated circle{fill:#ffd33d}"
      ".late{font-size:10px;font-style:italic;fill:#9a6700}\n"
      ".legend{color:#57606a}.key{display:inline-block;width:12px;height:10px;"
      "margin:0 4px 0 10px;border-radius:2px}\n"
      ".key.enrollment{background:#2f81f7}.key.credential{background:#8250df}"
      ".key.association{background:#1f883d}.key.reassignment{background:#"
      "bf8700}"
      ".key.contract{background:#cf222e}.key.revalidation{background:#6e7781}"
      ".key.registry{background:#0e8a7e}\n"
      "table{border-collapse:collapse;width:100%;font-size:12px}\n"
      "th,td{border-bottom:1px solid #d0d7de;padding:4px 6px;text-align:left;"
      "vertical-align:top}th{background:#f6f8fa}\n"
      "tr.voided td{text-decoration:line-through;color:#8c959f}\n"
      "tr.backdated td:first-child{border-left:3px solid #d4a72c}\n"
      "td.hash{font-family:ui-monospace,monospace;color:#57606a}\n"
      "td:nth-child(-n+4){white-space:nowrap}\n"
      "@media print{body{margin:0}svg.timeline{border:none}"
      ".key,.bar,.band{-webkit-print-color-adjust:exact;print-color-adjust:"
      "exact}"
      "tr{break-inside:avoid}}\n";

  const LedgerView& ledger_;
  const ReportOptions& req_;
  uint64_t known_ = 0;
  std::vector<Row> rows_;
  std::map<uint64_t, EventInfo> events_;
  std::string name_;
  absl::Status status_;
};

}  // namespace

absl::StatusOr<std::string> RenderReport(const LedgerView& view,
                                         const ReportOptions& request) {
  Builder builder(view, request);
  return builder.Build();
}

}  // namespace provledger
