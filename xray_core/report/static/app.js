/* The page: run header, filter bar, the lazily rendered trace list (grouped by test, or flat),
   the run overview as the landing view, and fragment routing
   (#trace=ID&step=ID&item=ID, #test=ID, #view=compare|stability).

   A report file carries two JSON documents: a small one (#xray-list: the header and one row per
   trace), placed before this script, and the full one (#xray-data), placed after it. The header
   and the list are shown from the small one while the browser is still reading the full one;
   traces, tests' details and the other views need the full one (see loadData). `xray serve`
   sends no small one: its loader puts the full document in #xray-data before these scripts
   run, and the list is taken from it (listOf). */

const LIST_ELEMENT = document.getElementById("xray-list");
let DATA = LIST_ELEMENT ? null : reportData();  // the full document, once it has been read
const LIST = LIST_ELEMENT ? JSON.parse(LIST_ELEMENT.textContent) : listOf(DATA);
const FIRST_ROWS = 80;
const ROW_CHUNK = 400;

const testsById = new Map(LIST.tests.map((t) => [t.id, t]));
const entries = buildEntries();
const byTrace = new Map(entries.filter((e) => e.row).map((e) => [e.row.id, e]));
/* The list's groups: one per test id ("" for traces recorded outside a test), their counts and
   worst status computed by the payload (overview.tests); a test with one entry is a plain row. */
const groupInfo = new Map(LIST.overview.tests.map((g) => [g.id == null ? "" : g.id, g]));
const groupSize = new Map();
for (const e of entries) groupSize.set(e.testId, (groupSize.get(e.testId) || 0) + 1);
const expanded = new Set();
const rowCache = new Map();
const listEl = document.getElementById("trace-list");
const detailEl = document.getElementById("detail");
const groupedBox = document.getElementById("grouped");
let listGeneration = 0;
let shownEntries = [];

/* One entry per trace (in recording order), then one per test that recorded none. An entry's
   `row` and `test` come from the small document; `trace`, and the test's full record (its
   failure text and baseline diffs), are set by loadData. */
function buildEntries() {
  const out = [];
  const traced = new Set();
  LIST.rows.forEach((row) => {
    traced.add(row.test);
    out.push(makeEntry(row, row.test != null ? testsById.get(row.test) || null : null));
  });
  for (const test of LIST.tests) if (!traced.has(test.id)) out.push(makeEntry(null, test));
  out.forEach((e, i) => { e.index = i; });
  return out;
}

function makeEntry(row, test) {
  const testFailed = !!test && (test.outcome === "failed" || test.outcome === "error");
  return {
    row, test, trace: null,
    failedSteps: row ? row.failed : 0,
    failed: testFailed || (!!row && row.status === "failed"),
    baselineFailed: !!test && test.baseline === "failed",
    name: row ? row.name : "",
    testId: row ? row.test || "" : test.id,
    dur: row ? row.dur : test.dur,
    hay: null,
  };
}

/* ---- data source --------------------------------------------------------------------------
   The page's JSON document. A report file embeds it in #xray-data; `xray serve` fetches it from
   its API and puts it in the same element before these scripts run (serve/static/loader.js). */

function reportData() {
  return JSON.parse(document.getElementById("xray-data").textContent);
}

/* The small document of a full one: what xray_core.report.payload.list_payload writes. */
function listOf(data) {
  return {
    title: data.title, generated: data.generated, run: data.run, overview: data.overview,
    views: { compare: data.comparison != null, stability: data.stability.length > 0 },
    tests: data.tests.map((t) => ({ id: t.id, outcome: t.outcome, dur: t.dur, baseline: t.baseline })),
    rows: data.traces.map((t) => ({
      id: t.id, name: t.name, status: t.status, test: t.test, dur: t.dur, steps: t.steps.length,
      failed: t.steps.filter((s) => s.status === "failed").length, rejected: t.rejected,
    })),
  };
}

/* Read the full document, if not read yet, and give each entry its trace and its test's record. */
function loadData() {
  if (DATA === null) DATA = reportData();
  const fullTests = new Map(DATA.tests.map((t) => [t.id, t]));
  let next = 0;
  for (const entry of entries) {
    if (entry.row) entry.trace = DATA.traces[next++];
    if (entry.test) entry.test = fullTests.get(entry.test.id) || entry.test;
    entry.hay = null;
  }
}

/* ---- header -------------------------------------------------------------------------- */

function renderHeader() {
  const run = LIST.run;
  const info = document.getElementById("run-info");
  const when = run ? run.started_at : LIST.generated;
  add(info, el("span", null, (run ? "run " : "generated ") + fmtTime(when)));
  if (run && run.git_commit) {
    add(info, el("span", { class: "mono", title: run.git_commit }, "commit " + run.git_commit.slice(0, 10)));
  }
  if (run && run.git_branch) add(info, el("span", { class: "mono" }, "branch " + run.git_branch));
  if (run && run.git_dirty) add(info, badge("uncommitted changes", "warn"));
  if (run && run.command) add(info, el("span", { class: "mono cmd" }, run.command));
  const tests = LIST.tests;
  const failedTests = tests.filter((t) => t.outcome === "failed" || t.outcome === "error").length;
  const steps = LIST.rows.reduce((n, r) => n + r.steps, 0);
  const failedSteps = entries.reduce((n, e) => n + e.failedSteps, 0);
  const baseline = {};
  for (const t of tests) if (t.baseline) baseline[t.baseline] = (baseline[t.baseline] || 0) + 1;
  const totals = document.getElementById("totals");
  if (tests.length) {
    add(totals, chip("tests", tests.length));
    add(totals, chip("passed", tests.filter((t) => t.outcome === "passed").length, "good"));
    add(totals, chip("failed", failedTests, failedTests ? "bad" : ""));
  }
  add(totals, chip("traces", LIST.rows.length));
  add(totals, chip("steps", steps));
  add(totals, chip("failed steps", failedSteps, failedSteps ? "bad" : ""));
  for (const verdict of Object.keys(baseline).sort()) {
    add(totals, chip("baseline " + verdict, baseline[verdict], verdict === "passed" || verdict === "written" ? "good" : "bad"));
  }
  const tabs = document.getElementById("tabs");
  add(tabs, el("a", { href: "#view=traces", "data-view": "traces" }, "Traces"));
  if (LIST.views.compare) add(tabs, el("a", { href: "#view=compare", "data-view": "compare" }, "Comparison"));
  if (LIST.views.stability) add(tabs, el("a", { href: "#view=stability", "data-view": "stability" }, "Stability"));
  tabs.hidden = tabs.children.length < 2;
}

/* ---- list ---------------------------------------------------------------------------- */

function haystack(entry) {
  if (entry.hay === null) {
    const parts = [entry.testId, entry.name];
    const trace = entry.trace;
    if (!trace && entry.row) return parts.join("\n").toLowerCase();  // steps not read yet
    if (trace) {
      for (const s of trace.steps) {
        parts.push(s.name, s.reasoning || "");
        const evaluations = s.meta && s.meta.evaluations;
        if (Array.isArray(evaluations)) {
          for (const e of evaluations) if (e) parts.push(String(e.item_id), e.reasoning || "");
        }
      }
    }
    entry.hay = parts.join("\n").toLowerCase();
  }
  return entry.hay;
}

function matches(entry, terms, status) {
  if (status === "passed" && entry.failed) return false;
  if (status === "failed" && !entry.failed) return false;
  if (status === "baseline-failed" && !entry.baselineFailed) return false;
  if (terms.length === 0) return true;
  const hay = haystack(entry);
  return terms.every((t) => hay.includes(t));
}

const SORTS = {
  order: (a, b) => a.index - b.index,
  duration: (a, b) => (b.dur || 0) - (a.dur || 0),
  name: (a, b) => compareText(a.name, b.name) || compareText(a.testId, b.testId) || a.index - b.index,
  failures: (a, b) => (b.failed - a.failed) || (b.baselineFailed - a.baselineFailed) ||
    (b.failedSteps - a.failedSteps) || a.index - b.index,
};

function compareText(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

function visibleEntries() {
  const terms = document.getElementById("search").value.toLowerCase().split(/\s+/).filter(Boolean);
  const status = document.getElementById("status").value;
  const sort = SORTS[document.getElementById("sort").value] || SORTS.order;
  return entries.filter((e) => matches(e, terms, status)).sort(sort);
}

function grouped() {
  return groupedBox.checked;
}

/* The visible entries in list order, and what the list shows of them: in the grouped list a
   group header (a test with several entries), then its entries while it is expanded. */
function listItems(visible) {
  if (!grouped()) return { order: visible, items: visible, groups: 0 };
  const members = new Map();
  for (const e of visible) {
    if (!members.has(e.testId)) members.set(e.testId, []);
    members.get(e.testId).push(e);
  }
  const order = [];
  const items = [];
  let groups = 0;
  for (const [key, shown] of members) {
    order.push(...shown);
    if (groupSize.get(key) < 2) {
      items.push(...shown);
      continue;
    }
    groups++;
    items.push({ group: key, shown: shown.length });
    if (expanded.has(key)) items.push(...shown);
  }
  return { order, items, groups };
}

function renderList() {
  const generation = ++listGeneration;
  const { order, items, groups } = listItems(visibleEntries());
  shownEntries = order;
  clear(listEl);
  const untraced = entries.length - LIST.rows.length;
  const total = plural(LIST.rows.length, "trace") + (untraced ? `, ${plural(untraced, "test")} without trace` : "");
  document.getElementById("list-count").textContent =
    (order.length === entries.length ? total : `${order.length} shown of ${total}`) +
    (groups ? ` \u00b7 ${plural(groups, "test")} with several, grouped` : "");
  if (order.length === 0) listEl.appendChild(el("p", { class: "hint" }, entries.length ? "Nothing matches." : "No trace was recorded."));
  let next = 0;
  const chunk = () => {
    if (generation !== listGeneration) return;
    const end = Math.min(items.length, next + (next === 0 ? FIRST_ROWS : ROW_CHUNK));
    const frag = document.createDocumentFragment();
    for (; next < end; next++) {
      const item = items[next];
      frag.appendChild(item.group !== undefined ? groupRow(item.group, item.shown) : rowFor(item));
    }
    listEl.appendChild(frag);
    if (next < items.length) setTimeout(chunk, 0);
  };
  chunk();
  markSelected();
}

const WORST_KIND = { failed: "bad", "baseline failed": "bad", running: "warn", skipped: "warn", passed: "good" };

/* A group's header: a button that expands or collapses the test's traces. */
function groupRow(key, shown) {
  const info = groupInfo.get(key) || { traces: groupSize.get(key), worst: "passed" };
  const size = groupSize.get(key);
  const open = expanded.has(key);
  const head = el("button", {
    type: "button", class: "group-head", "aria-expanded": String(open),
    title: (open ? "collapse" : "expand") + " this test's traces",
  },
  el("span", { class: "caret", "aria-hidden": "true" }, open ? "\u25be" : "\u25b8"),
  el("span", { class: "group-name mono" }, key || "(no test)"),
  el("span", { class: "group-count" }, shown === size ? plural(info.traces, "trace") : `${shown} of ${plural(size, "trace")}`),
  badge(info.worst, WORST_KIND[info.worst] || ""));
  head.addEventListener("click", () => {
    if (expanded.has(key)) expanded.delete(key);
    else expanded.add(key);
    renderList();
  });
  return el("div", { class: "group worst-" + info.worst.replace(" ", "-") + (open ? " open" : ""), "data-test": key }, head);
}

function rowFor(entry) {
  let row = rowCache.get(entry.index);
  if (row) return row;
  const trace = entry.row;  // what the list shows of the trace: its row of the small document
  const href = trace ? hashFor({ trace: trace.id }) : hashFor({ test: entry.test.id });
  row = el("a", {
    class: "row" + (entry.failed ? " failed" : "") + (entry.baselineFailed ? " baseline-failed" : "") +
      (groupSize.get(entry.testId) > 1 ? " in-group" : ""),
    href, "data-index": entry.index,
  },
  el("span", { class: "dot " + (entry.failed ? "bad" : trace && trace.status === "running" ? "warn" : "good"), "aria-hidden": "true" }),
  el("span", { class: "row-main" },
    el("span", { class: "row-line" },
      el("span", { class: "row-name" }, trace ? trace.name : el("span", { class: "muted" }, "no trace")),
      entry.failed && badge(trace && trace.status === "failed" ? "failed" : "test " + entry.test.outcome, "bad"),
      entry.baselineFailed && badge("baseline", "bad")),
    el("span", { class: "row-test mono" }, entry.testId || "(no test)")),
  el("span", { class: "row-meta" },
    el("span", { class: "row-dur mono" }, fmtMs(entry.dur)),
    trace && el("span", { class: "row-counts" }, plural(trace.steps, "step"), " \u00b7 ",
      el("span", { class: trace.rejected ? "rej" : "" }, `${trace.rejected} rejected`))));
  rowCache.set(entry.index, row);
  return row;
}

function markSelected() {
  const selected = listEl.querySelector(".row.selected");
  if (selected) selected.classList.remove("selected");
  const entry = currentEntry();
  if (!entry) return;
  const row = rowCache.get(entry.index);
  if (row && row.parentNode === listEl) row.classList.add("selected");
}

/* ---- routing ------------------------------------------------------------------------- */

function currentEntry() {
  const params = readHash();
  if (params.trace) return byTrace.get(params.trace) || null;
  // a test link opens the test's first trace (or the test itself when it recorded none)
  if (params.test) return entries.find((e) => (e.row ? e.row.test : e.test.id) === params.test) || null;
  return null;
}

function route() {
  if (DATA === null) {  // a click before the page was read to its end: loadData routes then
    markSelected();
    return;
  }
  const params = readHash();
  const view = params.view === "compare" && DATA.comparison ? "compare"
    : params.view === "stability" && DATA.stability.length ? "stability" : "traces";
  for (const name of ["traces", "compare", "stability"]) {
    document.getElementById("view-" + name).hidden = name !== view;
  }
  for (const tab of document.querySelectorAll("#tabs a")) tab.classList.toggle("active", tab.dataset.view === view);
  if (view === "compare") showOnce("view-compare", () => comparisonView(DATA.comparison));
  else if (view === "stability") showOnce("view-stability", () => stabilityView(DATA.stability));
  else showTraces(params);
  document.body.dataset.routed = String(Number(document.body.dataset.routed || 0) + 1);
}

/* The selected entry's row must be in the list: open its group if it is collapsed. */
function revealEntry(entry) {
  if (!entry || !grouped() || groupSize.get(entry.testId) < 2 || expanded.has(entry.testId)) return;
  expanded.add(entry.testId);
  renderList();
}

function showTraces(params) {
  const entry = currentEntry();
  revealEntry(entry);
  clear(detailEl);
  if (!entry) {
    add(detailEl, overview(params));
  } else {
    try {
      add(detailEl, entry.trace ? traceDetail(entry, params.step, params.item) : testDetail(entry.test));
    } catch (error) {
      // one malformed trace must not take the rest of the report down
      add(detailEl, el("p", { class: "notice" }, "This trace could not be displayed: " + String(error)));
    }
    document.title = `${entry.trace ? entry.trace.name : entry.test.id} \u00b7 ${DATA.title}`;
  }
  markSelected();
  revealTarget(params);
}

function showOnce(id, build) {
  const node = document.getElementById(id);
  if (!node.firstChild) node.appendChild(build());
}

function revealTarget(params) {
  const target = detailEl.querySelector(params.item ? "tr.target" : "#step-detail");
  if (target) target.scrollIntoView({ block: params.item ? "center" : "nearest" });
  else detailEl.scrollTop = 0;
  const entry = currentEntry();
  const row = entry && rowCache.get(entry.index);
  if (row && row.parentNode === listEl) row.scrollIntoView({ block: "nearest" });
}

function overview(params) {
  document.title = DATA.title;
  const missing = params.trace || params.test;
  const failing = attentionEntries();
  const shown = failing.slice(0, ATTENTION_MAX);
  return el("div", { class: "overview" },
    missing && el("p", { class: "notice" }, "The linked trace is not in this report: ", el("span", { class: "mono" }, missing)),
    entries.length === 0 && el("p", { class: "hint" }, "No trace was recorded in this run."),
    shown.length > 0 && section("Needs attention",
      el("ul", { class: "attention" }, shown.map(attentionItem)),
      failing.length > shown.length && el("p", { class: "muted" },
        `+${failing.length - shown.length} more: list them with the status filter "failed".`)),
    entries.length > 0 && runOverview(LIST.overview));
}

/* ---- needs attention: what broke, without a click ------------------------------------- */

const ATTENTION_MAX = 50;
const FLIPS_SHOWN = 3;

/* One entry per failing test (its first trace), then failed traces of tests that passed. */
function attentionEntries() {
  const seen = new Set();
  return entries.filter((e) => {
    if (!e.failed && !e.baselineFailed) return false;
    const key = testFailed(e.test) || e.baselineFailed || !e.trace ? "test " + e.test.id : "trace " + e.trace.id;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function testFailed(test) {
  return !!test && (test.outcome === "failed" || test.outcome === "error");
}

function attentionItem(e) {
  const test = e.test;
  const failedTest = testFailed(test);
  const href = failedTest || e.baselineFailed || !e.trace ? hashFor({ test: test.id }) : hashFor({ trace: e.trace.id });
  const error = e.trace && e.trace.status === "failed" && e.trace.meta && e.trace.meta.error;
  const why = (failedTest && test.why) || (typeof error === "string" ? clip(error.split("\n")[0], 240) : null);
  return el("li", { class: "attn" },
    el("div", { class: "attn-head" },
      el("a", { href }, el("span", { class: "mono" }, e.testId || "(no test)"), e.trace ? " \u00b7 " + e.trace.name : ""),
      " ", failedTest ? badge("test " + test.outcome, "bad") : e.failed && badge("trace failed", "bad"),
      e.baselineFailed && badge("baseline", "bad")),
    why && el("div", { class: "attn-why mono" }, why),
    e.baselineFailed && flipList(test));
}

/* The decisions a failed baseline check flipped (a few, then how many more). */
function flipList(test) {
  const diffs = test.diffs || [];
  if (diffs.length === 0) return null;  // no diff data (e.g. `xray report` of the run history)
  const flips = [];
  let changes = 0;
  for (const diff of diffs) {
    changes += diff.changes.length;
    for (const c of diff.changes) if (c.kind === "DecisionChanged" && c.flipped) flips.push(c);
  }
  if (flips.length === 0) {
    return el("div", { class: "attn-flips muted" }, `no verdict flipped; ${plural(changes, "other change")}`);
  }
  return el("ul", { class: "attn-flips" },
    flips.slice(0, FLIPS_SHOWN).map((c) => {
      const filters = flippedFilters(c.before, c.after);
      return el("li", { class: "attn-flip" },
        el("span", { class: "mono ident" }, c.item), " ", verdictBadge(c.before), " \u2192 ", verdictBadge(c.after),
        el("span", { class: "muted" }, filters.length ? ` (${filters.join(", ")} flipped; step ` : " (step ",
          el("span", { class: "mono" }, c.step), ")"));
    }),
    flips.length > FLIPS_SHOWN && el("li", { class: "attn-more muted" }, `+${flips.length - FLIPS_SHOWN} more`));
}

function verdictBadge(evaluation) {
  const failed = Object.keys(evaluation.filters || {}).filter((n) => !evaluation.filters[n].passed);
  if (evaluation.qualified) return badge("qualified", "good");
  return badge(failed.length ? "rejected by " + failed.join(", ") : "rejected", "bad");
}

/* Filters whose pass/fail outcome differs between two evaluations of a candidate. */
function flippedFilters(before, after) {
  const a = before.filters || {};
  const b = after.filters || {};
  const names = [...Object.keys(a), ...Object.keys(b).filter((n) => !(n in a))];
  return names.filter((n) => !a[n] || !b[n] || !!a[n].passed !== !!b[n].passed);
}

function clip(text, max) {
  return text.length > max ? text.slice(0, max - 1) + "\u2026" : text;
}

/* j/k or the arrow keys move through the listed traces (outside text fields). */
function onKey(event) {
  if (event.target.closest("input, select, textarea") || event.altKey || event.ctrlKey || event.metaKey) return;
  const step = { ArrowDown: 1, j: 1, ArrowUp: -1, k: -1 }[event.key];
  if (!step || document.getElementById("view-traces").hidden || shownEntries.length === 0) return;
  event.preventDefault();
  const at = shownEntries.indexOf(currentEntry());
  const next = shownEntries[Math.max(0, Math.min(shownEntries.length - 1, at < 0 ? 0 : at + step))];
  location.hash = next.row ? hashFor({ trace: next.row.id }) : hashFor({ test: next.test.id });
}

function debounce(fn, ms) {
  let timer = null;
  return () => { clearTimeout(timer); timer = setTimeout(fn, ms); };
}

function init() {
  renderHeader();
  document.getElementById("search").addEventListener("input", debounce(renderList, 120));
  document.getElementById("status").addEventListener("change", renderList);
  document.getElementById("sort").addEventListener("change", renderList);
  groupedBox.addEventListener("change", () => {
    const entry = currentEntry();
    if (entry && grouped()) expanded.add(entry.testId);  // the selected row stays in view
    renderList();
    revealTarget(readHash());
  });
  window.addEventListener("hashchange", route);
  document.addEventListener("keydown", onKey);
  renderList();
  add(detailEl, el("p", { class: "hint" }, "Reading the traces\u2026"));
  const load = () => {
    try {
      loadData();
    } catch (error) {  // a cut-off file: the list stays usable, the detail says why
      clear(detailEl);
      add(detailEl, el("p", { class: "notice" }, "The report's data could not be read: " + String(error)));
      return;
    }
    if (document.getElementById("search").value) renderList();  // now searching the steps too
    route();
    document.body.dataset.ready = "true";
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", load);
  else load();
}

init();
