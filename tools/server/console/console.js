// provledger console: plain JavaScript over the HTTP/JSON API (/v1/...),
// no build step and nothing from elsewhere. Every text shown is set as text
// (never as markup); the one piece of server HTML, the timeline report, is
// shown in a sandboxed frame without scripts.
"use strict";

const TOKEN_KEY = "provledger.token";
let caller = null;  // {identity, role, tokens} from /v1/whoami

// ---- DOM and API helpers ----

// h("td", {class: "x"}, "text", child, ...): an element; strings are text.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function view() { return document.getElementById("view"); }

function show(...children) {
  const v = view();
  v.replaceChildren(...children);
}

class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : "HTTP " + status);
    this.status = status;
    this.body = body || {};
  }
}

// A call to the API with the session's token; the JSON answer (the text of
// an answer that is not JSON: the report's HTML), or an ApiError with the
// server's HttpError body.
async function api(method, path, body, contentType) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers["Authorization"] = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = contentType || "application/json";
  const res = await fetch(path, {
    method, headers,
    body: body === undefined ? undefined
        : (typeof body === "string" ? body : JSON.stringify(body)),
  });
  const text = await res.text();
  const isJson = (res.headers.get("Content-Type") || "").startsWith("application/json");
  let json = null;
  if (isJson) {
    try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  }
  if (!res.ok) throw new ApiError(res.status, json || {message: text});
  return isJson ? json : text;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && String(v) !== "") q.set(k, v);
  }
  const s = q.toString();
  return s ? "?" + s : "";
}

function errorBox(e) {
  const box = h("div", {class: "error", role: "alert"});
  if (e instanceof ApiError) {
    box.append(h("span", {class: "code"}, e.body.code || ("HTTP " + e.status)), ": ",
               e.message);
    if (e.body.event_error && e.body.event_error.field) {
      box.append(h("div", {}, "field: ", e.body.event_error.field));
    }
  } else {
    box.append(String(e && e.message ? e.message : e));
  }
  return box;
}

// A "known at" value typed by a person: a seq number, or a time.
function knownParams(text) {
  const t = (text || "").trim();
  if (t === "") return {};
  if (/^[0-9]+$/.test(t)) return {known_seq: t};
  return {known_at: t};
}

function field(label, input) {
  return h("label", {}, label, input);
}

function input(name, attrs) {
  return h("input", Object.assign({name, id: "f-" + name}, attrs || {}));
}

// CSV a spreadsheet opens safely: quoted cells, and a cell that would start
// a formula (= + - @, tab, carriage return) prefixed with an apostrophe.
function toCsv(header, rows) {
  const cell = (v) => {
    let s = v === undefined || v === null ? "" : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
    return /[",\r\n']/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  };
  return [header, ...rows].map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
}

function downloadButton(label, filename, header, rows) {
  return h("button", {type: "button", class: "download", onclick: () => {
    const blob = new Blob([toCsv(header, rows())], {type: "text/csv"});
    const a = h("a", {href: URL.createObjectURL(blob), download: filename});
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }}, label);
}

function table(header, rows, rowClass) {
  return h("table", {},
    h("thead", {}, h("tr", {}, header.map((c) => h("th", {scope: "col"}, c)))),
    h("tbody", {}, rows.map((r, i) => h("tr", {class: rowClass ? rowClass(i) : null},
      r.map((c) => c instanceof Node ? h("td", {}, c) : h("td", {}, c))))));
}

function busy(text) { return h("p", {class: "muted", role: "status"}, text || "Loading…"); }

// ---- Signing in ----

// Who the session's token is: the caller, or null when a token is needed.
// Throws the server's refusal of a token it does not know (401).
async function whoAmI() {
  caller = null;
  try {
    const me = await api("GET", "/v1/whoami");
    if (me.identity) caller = me;  // else a token is needed
  } finally {
    renderWho();
  }
  return caller;
}

function renderWho() {
  const who = document.getElementById("who");
  for (const a of document.querySelectorAll("nav a[data-role=writer]")) {
    a.hidden = !(caller && (caller.role === "writer" || caller.role === "admin"));
  }
  if (!caller) { who.replaceChildren("not signed in"); return; }
  const parts = ["Signed in as ", h("strong", {id: "identity"}, caller.identity),
                 " (", h("span", {id: "role"}, caller.role), ")"];
  if (caller.tokens) {
    parts.push(h("button", {type: "button", id: "signout", onclick: () => {
      sessionStorage.removeItem(TOKEN_KEY);
      caller = null;
      route();
    }}, "Sign out"));
  } else {
    parts.push(h("span", {class: "muted"}, " · no tokens: loopback only"));
  }
  who.replaceChildren(...parts);
}

function signInPage(message) {
  const token = input("token", {type: "password", autocomplete: "off", required: true,
                                size: 40});
  const out = h("div");
  if (message) out.append(errorBox(message));
  show(h("h1", {}, "Sign in"),
    h("p", {}, "Enter the token your administrator gave you. It is kept for this ",
      "browser tab only (session storage) and sent in a header, never in a URL."),
    h("form", {class: "inline", onsubmit: async (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, token.value.trim());
      try {
        if (await whoAmI()) { route(); return; }
        out.replaceChildren(errorBox("Enter a token."));
      } catch (e) {
        sessionStorage.removeItem(TOKEN_KEY);
        out.replaceChildren(errorBox(e));
      }
    }}, field("Token", token), h("button", {class: "primary"}, "Sign in")),
    out);
  token.focus();
}

// ---- Search ----

async function searchPage(params) {
  const q = input("q", {type: "search", value: params.get("q") || "", size: 40,
                        placeholder: "NPI, name, enrollment id or PAC id", required: true});
  const out = h("div", {id: "results"});
  show(h("h1", {}, "Find a provider or organization"),
    h("form", {class: "inline", role: "search", onsubmit: (ev) => {
      ev.preventDefault();
      location.hash = "#search" + query({q: q.value.trim()});
    }}, field("NPI, name, enrollment id or PAC id", q),
       h("button", {class: "primary"}, "Search")),
    out);
  q.focus();
  const text = (params.get("q") || "").trim();
  if (!text) return;
  out.replaceChildren(busy("Searching…"));
  try {
    const r = await api("GET", "/v1/search" + query({text}));
    if (r.hits.length === 0) {
      out.replaceChildren(h("p", {}, "Nothing in the ledger matches ", h("q", {}, text), "."));
      return;
    }
    out.replaceChildren(
      table(["NPI", "Name", "Kind", "Payers", "Enrollment ids", "PAC ids", "Matched on"],
        r.hits.map((hit) => [
          h("a", {href: (hit.entity === "ORGANIZATION" ? "#org/" : "#provider/") + hit.npi,
                  class: "hit"}, hit.npi),
          hit.name, hit.entity.toLowerCase(), hit.payers.join(", "),
          hit.enrollment_ids.join(", "), hit.pac_ids.join(", "), hit.matched.replace("_", " ")])),
      r.truncated ? h("p", {class: "muted"}, "More match: narrow the search.") : "");
  } catch (e) {
    out.replaceChildren(errorBox(e));
  }
}

// ---- Provider and organization pages ----

// The points the ledger's knowledge of this NPI changed: each seq of its
// history, with the time its batch was recorded.
async function entityPage(kind, npi, params) {
  const isOrg = kind === "org";
  show(busy());
  let now, hits;
  try {
    [now, hits] = await Promise.all([
      api("GET", "/v1/providers/" + npi + "/history"),
      api("GET", "/v1/search" + query({text: npi})),
    ]);
  } catch (e) {
    show(h("h1", {}, npi), errorBox(e));
    return;
  }
  const hit = hits.hits.find((x) => x.npi === npi);
  const head = Number(now.known_seq);
  // (The head itself is "now".)
  const points = now.entries.map((e) => ({seq: Number(e.seq), at: e.recorded_at}))
                            .filter((p) => p.seq < head);
  // The slider: each point of this NPI's history, and "now".
  let index = points.length;
  const wanted = params.get("known_seq");
  if (wanted !== null) {
    const k = points.findIndex((p) => p.seq >= Number(wanted));
    index = k < 0 ? points.length : (points[k].seq === Number(wanted) ? k : Math.max(0, k - 1));
  }
  const slider = h("input", {type: "range", id: "knownat", min: 0, max: points.length,
                             value: index, step: 1, "aria-label": "Known at"});
  const caption = h("span", {id: "knownat-caption", "aria-live": "polite"});
  const dos = input("dos", {type: "date", value: params.get("dos") || ""});
  const frame = h("iframe", {class: "report", title: "Timeline report",
                             sandbox: "allow-same-origin", id: "report"});
  frame.addEventListener("load", () => {
    const doc = frame.contentDocument;
    if (doc && doc.documentElement) {
      frame.style.height = (doc.documentElement.scrollHeight + 20) + "px";
    }
  });
  const events = h("div", {id: "events"});
  const status = h("div", {id: "page-status"});
  const knownSeq = () => (Number(slider.value) >= points.length ? head
                          : points[Number(slider.value)].seq);
  const step = (d) => {
    slider.value = Math.min(points.length, Math.max(0, Number(slider.value) + d));
    redraw();
  };
  async function redraw() {
    const i = Number(slider.value);
    const seq = knownSeq();
    caption.textContent = i >= points.length
      ? "now (seq " + head + ")"
      : "seq " + seq + ", recorded " + points[i].at;
    const hash = "#" + kind + "/" + npi +
        query({known_seq: i >= points.length ? "" : seq, dos: dos.value});
    if (location.hash !== hash) history.replaceState(null, "", hash);
    status.replaceChildren(busy("Redrawing as known at seq " + seq + "…"));
    try {
      const [report, hist] = await Promise.all([
        api("GET", "/v1/" + (isOrg ? "orgs/" : "providers/") + npi + "/report" +
            query({known_seq: seq, date_of_service: dos.value})),
        // The history as known now was read when the page opened.
        seq === head ? now
            : api("GET", "/v1/providers/" + npi + "/history" + query({known_seq: seq})),
      ]);
      frame.srcdoc = report;
      events.replaceChildren(h("h2", {}, "Events as known at seq " + seq),
        table(["seq", "recorded at", "effective", "event", "detail", "actor", "source",
               "status", "hash"],
          hist.entries.map((e) => [e.seq, e.recorded_at, e.effective_date, e.event,
            e.detail, e.actor || "", e.source,
            e.voided_by ? "voided by seq " + e.voided_by
                        : (e.voids ? "voids seq " + e.voids : ""),
            h("span", {title: e.hash}, e.hash.slice(0, 12) + "…")]),
          (r) => hist.entries[r].voided_by ? "voided" : null));
      status.replaceChildren();
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  }
  slider.addEventListener("input", redraw);
  dos.addEventListener("change", redraw);
  const title = hit && hit.name ? hit.name + " · NPI " + npi : "NPI " + npi;
  show(h("h1", {}, title),
    h("p", {class: "muted"}, isOrg ? "Organization" : "Provider",
      hit && hit.payers.length ? " · enrolled at " + hit.payers.join(", ") : "",
      hit && hit.enrollment_ids.length ? " · enrollment " + hit.enrollment_ids.join(", ") : "",
      hit && hit.pac_ids.length ? " · PAC id " + hit.pac_ids.join(", ") : "",
      isOrg ? " · " : "", isOrg ? h("a", {href: "#roster" + query({org: npi})}, "roster") : ""),
    h("div", {class: "knownat"},
      h("strong", {}, "Known at"),
      h("button", {type: "button", id: "earlier", onclick: () => step(-1),
                   "aria-label": "Earlier"}, "◀"),
      slider,
      h("button", {type: "button", id: "later", onclick: () => step(1),
                   "aria-label": "Later"}, "▶"),
      caption,
      field("Date of service", dos),
      h("a", {href: "#claim" + query({rendering: isOrg ? "" : npi,
                                      billing: isOrg ? npi : ""})}, "check a claim")),
    h("p", {class: "muted"},
      "The timeline as the ledger knew it at that point: later events, and voids ",
      "recorded later, are not shown. Backdated events (paperwork that reached us more ",
      "than 30 days after its effective date) are marked, voided ones struck through."),
    status, frame, events);
  await redraw();
}

// ---- Claim check ----

function claimPage(params) {
  const f = {
    rendering: input("rendering", {required: true, inputmode: "numeric", size: 12,
                                   value: params.get("rendering") || ""}),
    billing: input("billing", {required: true, inputmode: "numeric", size: 12,
                               value: params.get("billing") || ""}),
    payer: input("payer", {required: true, value: params.get("payer") || "medicare", size: 12}),
    dos: input("dos", {type: "date", required: true, value: params.get("dos") || ""}),
    known: input("known", {size: 24, placeholder: "now", value: params.get("known") || ""}),
  };
  const out = h("div", {id: "claim-answer", "aria-live": "polite"});
  show(h("h1", {}, "Check a claim"),
    h("p", {class: "muted"}, "Could the billing NPI bill the payer for the rendering ",
      "NPI's service on that date? Give “known at” (a seq, or a time such as ",
      "2024-03-01T12:00:00Z) to ask what the ledger knew then: “what did our records say ",
      "on the day we billed?”"),
    h("form", {class: "inline", onsubmit: async (ev) => {
      ev.preventDefault();
      out.replaceChildren(busy("Checking…"));
      try {
        const r = await api("POST", "/v1/claims:check", Object.assign({
          rendering_npi: f.rendering.value.trim(), billing_npi: f.billing.value.trim(),
          payer: f.payer.value.trim(), date_of_service: f.dos.value,
        }, knownParams(f.known.value)));
        out.replaceChildren(
          h("p", {class: "answer"}, h("span", {class: r.result, id: "result"}, r.result),
            " as known at seq " + r.known_seq),
          r.findings.length ? h("ul", {class: "findings"}, r.findings.map((x) =>
            h("li", {}, h("span", {class: "code"}, x.code), ": ", x.message))) : "",
          r.warnings.length ? h("div", {}, h("h2", {}, "Warnings"),
            h("ul", {class: "findings"}, r.warnings.map((x) =>
              h("li", {}, h("span", {class: "code"}, x.code), ": ", x.message)))) : "");
      } catch (e) {
        out.replaceChildren(errorBox(e));
      }
    }},
      field("Rendering NPI", f.rendering), field("Billing NPI", f.billing),
      field("Payer", f.payer), field("Date of service", f.dos),
      field("Known at (seq or time; empty: now)", f.known),
      h("button", {class: "primary", id: "check"}, "Check")),
    out);
  f.rendering.focus();
}

// ---- Roster on a date, and changes between two dates ----

function rosterPage(params) {
  const org = input("org", {required: true, size: 12, value: params.get("org") || ""});
  const date = input("date", {type: "date", required: true,
                              value: params.get("date") || new Date().toISOString().slice(0, 10)});
  const payer = input("payer", {size: 12, value: params.get("payer") || ""});
  const known = input("known", {size: 20, placeholder: "now"});
  const rosterOut = h("div", {id: "roster"});
  const from = input("from", {type: "date", required: true});
  const to = input("to", {type: "date", required: true});
  const diffOrg = input("diff-org", {size: 12, value: params.get("org") || ""});
  const diffOut = h("div", {id: "diff"});
  const rosterHeader = ["provider", "org", "payer", "effective from", "effective until",
                        "start seq", "note"];
  show(h("h1", {}, "Roster and changes"),
    h("h2", {}, "An organization's reassignments on a date"),
    h("form", {class: "inline", onsubmit: async (ev) => {
      ev.preventDefault();
      rosterOut.replaceChildren(busy());
      try {
        const r = await api("GET", "/v1/orgs/" + encodeURIComponent(org.value.trim()) + "/asof" +
            query(Object.assign({date: date.value, payer: payer.value.trim()},
                                knownParams(known.value))));
        const rows = r.reassignments.map((x) => [x.provider, x.org, x.payer, x.effective_from,
          x.effective_until || "", x.start_seq, x.note || ""]);
        rosterOut.replaceChildren(
          h("p", {}, rows.length + " reassignment(s) in effect on " + r.date +
            ", as known at seq " + r.known_seq + " ",
            downloadButton("Download CSV", "roster-" + org.value.trim() + "-" + r.date + ".csv",
                           rosterHeader, () => rows)),
          r.warnings.map((w) => h("p", {class: "error"}, h("span", {class: "code"}, w.code),
                                  ": ", w.message)),
          table(rosterHeader, rows));
      } catch (e) {
        rosterOut.replaceChildren(errorBox(e));
      }
    }}, field("Organization NPI", org), field("Date", date), field("Payer (empty: all)", payer),
       field("Known at", known), h("button", {class: "primary"}, "Show roster")),
    rosterOut,
    h("h2", {}, "Reassignments that started or ended between two dates"),
    h("form", {class: "inline", onsubmit: async (ev) => {
      ev.preventDefault();
      diffOut.replaceChildren(busy());
      try {
        const r = await api("GET", "/v1/diff" + query({from: from.value, to: to.value,
                                                       org: diffOrg.value.trim()}));
        const header = ["date", "change", "provider", "org", "payer", "seq"];
        const rows = r.changes.map((c) => [c.date, c.change, c.provider, c.org, c.payer, c.seq]);
        diffOut.replaceChildren(
          h("p", {}, rows.length + " change(s), as known at seq " + r.known_seq + " ",
            downloadButton("Download CSV", "changes-" + from.value + "-" + to.value + ".csv",
                           header, () => rows)),
          table(header, rows));
      } catch (e) {
        diffOut.replaceChildren(errorBox(e));
      }
    }}, field("From", from), field("To (inclusive)", to),
       field("Organization (empty: all)", diffOrg),
       h("button", {class: "primary"}, "Show changes")),
    diffOut);
  if (org.value) org.form.requestSubmit();
}

// ---- Reconcile ----

function reconcilePage() {
  const file = input("roster-file", {type: "file", required: true, accept: ".csv,.txt"});
  const format = h("select", {name: "format", id: "f-format"},
    h("option", {value: "cms-reassignment"}, "CMS Revalidation Reassignment List"),
    h("option", {value: "csv"}, "Generic roster (CSV)"));
  const org = input("org", {size: 12});
  const asof = input("as_of", {type: "date"});
  const payer = input("payer", {size: 12, value: "medicare"});
  const out = h("div", {id: "reconcile-result"});
  show(h("h1", {}, "Reconcile a payer roster"),
    h("p", {class: "muted"}, "Compare a roster with the ledger: every row that disagrees ",
      "is listed with its line; nothing is written."),
    h("form", {class: "inline", onsubmit: async (ev) => {
      ev.preventDefault();
      if (!file.files.length) return;
      out.replaceChildren(busy("Reading " + file.files[0].name + "…"));
      try {
        const text = await file.files[0].text();
        const r = await api("POST", "/v1/rosters:reconcile" + query({
          roster_format: format.value, org: org.value.trim(), as_of: asof.value,
          payer: payer.value.trim()}), text, "text/csv");
        showDiscrepancies(out, r, file.files[0].name);
      } catch (e) {
        out.replaceChildren(errorBox(e));
      }
    }}, field("Roster file", file), field("Format", format),
       field("Organization (NPI or enrollment id)", org), field("As of (empty: today)", asof),
       field("Payer", payer), h("button", {class: "primary"}, "Reconcile")),
    out);
}

function showDiscrepancies(out, r, name) {
  const s = r.summary;
  const all = r.discrepancies;
  const codes = [...new Set(all.map((d) => d.code))].sort();
  const code = h("select", {id: "f-code"}, h("option", {value: ""}, "every code"),
                 codes.map((c) => h("option", {value: c}, c)));
  const text = input("filter", {type: "search", placeholder: "NPI or words"});
  const header = ["code", "line", "provider", "org", "detail"];
  const shown = () => all.filter((d) => (!code.value || d.code === code.value) &&
      (!text.value || [d.provider_npi, d.org, d.detail].join(" ").toLowerCase()
                        .includes(text.value.toLowerCase())))
    .map((d) => [d.code, d.line || "", d.provider_npi || "", d.org || "", d.detail]);
  const body = h("div");
  const redraw = () => body.replaceChildren(table(header, shown()));
  code.addEventListener("change", redraw);
  text.addEventListener("input", redraw);
  out.replaceChildren(
    h("p", {id: "reconcile-summary"}, s.rows + " row(s): " + s.matched + " matched, " +
      s.mismatched + " mismatched, " + s.not_compared + " not compared, " + s.unparseable +
      " unparseable; " + all.length + " discrepancy(ies)"),
    h("div", {class: "controls"}, field("Code", code), field("Filter", text),
      downloadButton("Download CSV", "discrepancies-" + name.replace(/\.[^.]*$/, "") + ".csv",
                     header, shown)),
    body);
  redraw();
}

// ---- Upload (writers) ----

function uploadPage() {
  if (!caller || (caller.role !== "writer" && caller.role !== "admin")) {
    show(h("h1", {}, "Upload events"),
      h("p", {class: "error", role: "alert", id: "no-upload"},
        "Your role (" + (caller ? caller.role : "none") + ") may not append events; ",
        "ask for a writer's token."));
    return;
  }
  const file = input("events-file", {type: "file", required: true, accept: ".jsonl,.json,.txt"});
  const out = h("div", {id: "upload-result", "aria-live": "polite"});
  show(h("h1", {}, "Upload events"),
    h("p", {class: "muted"}, "A JSON lines file (one event per line) is appended as one ",
      "batch: if any line is bad, each bad line is listed and nothing is written. Events ",
      "are recorded under your identity (" + caller.identity + ")."),
    h("form", {class: "inline", onsubmit: async (ev) => {
      ev.preventDefault();
      if (!file.files.length) return;
      out.replaceChildren(busy("Appending " + file.files[0].name + "…"));
      try {
        const text = await file.files[0].text();
        const r = await api("POST", "/v1/events:import", text, "application/x-ndjson");
        out.replaceChildren(h("p", {class: "answer", id: "upload-ok"},
          r.appended + " event(s) appended, " + r.duplicates + " already recorded; head " +
          r.head));
      } catch (e) {
        const lines = e instanceof ApiError && e.body.line_errors ? e.body.line_errors : [];
        out.replaceChildren(errorBox(e), lines.length ? table(["line", "field", "error"],
          lines.map((l) => [l.line, l.event_error ? l.event_error.field || "" : "", l.message]))
          : "");
      }
    }}, field("Events file (JSON lines)", file),
       h("button", {class: "primary", id: "upload"}, "Append as one batch")),
    out);
}

// ---- Digest ----

async function digestPage() {
  const mine = h("p", {class: "digest", id: "digest"}, "…");
  const digest = input("digest", {size: 80, required: true,
                                  placeholder: "<seq>:<64 hex digits>"});
  const out = h("div", {id: "verify-result", "aria-live": "polite"});
  show(h("h1", {}, "Digest"),
    h("p", {}, "The ledger's head: give it to whoever must later check that nothing ",
      "recorded up to it was changed."), mine,
    h("h2", {}, "Verify a digest"),
    h("form", {class: "inline", onsubmit: async (ev) => {
      ev.preventDefault();
      out.replaceChildren(busy("Recomputing the hash chain…"));
      try {
        const r = await api("POST", "/v1/digest:verify", {digest: digest.value.trim()});
        out.replaceChildren(r.failure && r.failure !== "NONE"
          ? h("p", {class: "error", role: "alert"}, h("span", {class: "code"}, r.failure),
              ": ", r.problem)
          : h("p", {class: "answer"}, h("span", {class: "payable"}, "verified"),
              ": the hash chain of " + r.events_checked + " event(s) recomputes, and the " +
              "ledger still holds what the digest names, unchanged; head " + r.head));
      } catch (e) {
        out.replaceChildren(errorBox(e));
      }
    }}, field("Digest", digest), h("button", {class: "primary"}, "Verify")),
    out);
  try {
    const d = await api("GET", "/v1/digest");
    mine.textContent = d.digest;
  } catch (e) {
    mine.replaceChildren(errorBox(e));
  }
}

// ---- Routing ----

async function route() {
  const hash = location.hash.replace(/^#/, "") || "search";
  const [path, q] = hash.split("?");
  const params = new URLSearchParams(q || "");
  const [name, arg] = path.split("/");
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.view === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (!caller) {
    try {
      if (!(await whoAmI())) {
        signInPage(null);
        return;
      }
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        sessionStorage.removeItem(TOKEN_KEY);
        signInPage(e);
      } else {
        show(h("h1", {}, "provledger"), errorBox(e));
      }
      return;
    }
  }
  if ((name === "provider" || name === "org") && /^[0-9]{10}$/.test(arg || "")) {
    await entityPage(name, arg, params);
  } else if (name === "claim") claimPage(params);
  else if (name === "roster") rosterPage(params);
  else if (name === "reconcile") reconcilePage();
  else if (name === "upload") uploadPage();
  else if (name === "digest") await digestPage();
  else await searchPage(params);
  view().focus();
}

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", route);
