/* The run overview, the landing view: the tests and baselines at a glance, rejections per filter
   across the run, the candidates whose verdict differs between traces of one test, the slowest
   steps. Every figure comes from the payload's `overview` (xray_core/report/overview.py): nothing
   is recounted here. Each entry links to its trace, step or candidate. */

const OVERVIEW_TESTS_SHOWN = 50;
const WORST_RANK = { failed: 0, "baseline failed": 1, running: 2, skipped: 3, passed: 4 };

function runOverview(ov) {
  return el("div", { class: "run-overview", id: "run-overview" },
    overviewTests(ov),
    overviewFilters(ov),
    overviewDiffering(ov),
    overviewSlowest(ov));
}

function count(n) {
  return Number(n).toLocaleString("en-US");
}

function testLink(id) {
  return id == null
    ? el("span", { class: "muted" }, "(no test)")
    : el("a", { class: "mono test-link", href: hashFor({ test: id }) }, id);
}

function tally(values) {
  const out = {};
  for (const v of values) if (v != null) out[v] = (out[v] || 0) + 1;
  return out;
}

function tallyText(counts, order) {
  const keys = [...order.filter((k) => k in counts), ...Object.keys(counts).filter((k) => !order.includes(k)).sort()];
  return keys.map((k) => `${count(counts[k])} ${k}`).join(", ");
}

function overviewTests(ov) {
  const tests = ov.tests.filter((t) => t.outcome != null);
  const traces = ov.tests.reduce((n, t) => n + t.traces, 0);
  const outcomes = tally(tests.map((t) => t.outcome));
  const baselines = ov.baselines;
  const ranked = ov.tests.map((t, i) => [t, i])
    .sort((a, b) => (WORST_RANK[a[0].worst] - WORST_RANK[b[0].worst]) || a[1] - b[1]).map((p) => p[0]);
  const body = el("tbody");
  const more = el("button", { class: "link", type: "button" });
  let shown = 0;
  const showMore = () => {
    const end = Math.min(ranked.length, shown + OVERVIEW_TESTS_SHOWN);
    for (; shown < end; shown++) body.appendChild(testOverviewRow(ranked[shown]));
    more.textContent = `show ${Math.min(OVERVIEW_TESTS_SHOWN, ranked.length - shown)} more of ${ranked.length - shown}`;
    more.hidden = shown >= ranked.length;
  };
  more.addEventListener("click", showMore);
  showMore();
  return el("section", { class: "block ov-tests", id: "ov-tests" },
    el("h3", null, "Tests"),
    el("p", { class: "ov-summary" },
      tests.length > 0 && el("span", { class: "ov-outcomes" }, `${plural(tests.length, "test")}: ${tallyText(outcomes, ["failed", "error", "passed", "skipped", "xfailed", "xpassed"])}`),
      tests.length > 0 && " \u00b7 ",
      el("span", { class: "ov-traces" }, `${plural(traces, "trace")}, ${plural(ov.steps_total, "step")}`)),
    el("p", { class: "ov-baselines" }, Object.keys(baselines).length
      ? "baselines: " + tallyText(baselines, ["failed", "error", "missing", "written", "passed"])
      : el("span", { class: "muted" }, "no baseline was checked in this run")),
    el("div", { class: "table-wrap" }, el("table", { class: "grid ov-tests-table" },
      el("thead", null, el("tr", null, ["test", "status", "outcome", "baseline", "traces", "failed traces"].map((h) => el("th", null, h)))),
      body)),
    more);
}

function testOverviewRow(t) {
  return el("tr", { class: "worst-" + t.worst.replace(" ", "-"), "data-test": t.id == null ? "" : t.id },
    el("td", null, testLink(t.id)),
    el("td", null, badge(t.worst, WORST_KIND[t.worst] || "")),
    el("td", null, t.outcome || el("span", { class: "muted" }, "\u2013")),
    el("td", null, t.baseline ? badge(t.baseline, t.baseline === "passed" || t.baseline === "written" ? "good" : "bad") : el("span", { class: "muted" }, "\u2013")),
    el("td", { class: "num" }, String(t.traces)),
    el("td", { class: "num" }, String(t.failed)));
}

function overviewFilters(ov) {
  if (ov.filters.length === 0) return null;
  return el("section", { class: "block ov-filters", id: "ov-filters" },
    el("h3", null, "Rejections by filter"),
    el("p", { class: "muted" }, `${count(ov.candidates)} candidate ${ov.candidates === 1 ? "evaluation" : "evaluations"} across the run`),
    el("ul", { class: "ov-list" }, ov.filters.map((f) => {
      const rate = f.evaluated ? Math.round((f.rejected / f.evaluated) * 100) : 0;
      const ex = f.example;
      return el("li", { class: "ov-filter", "data-filter": f.filter, "data-step": f.step },
        el("span", { class: "rate" }, el("span", { class: "rate-bar", style: { width: rate + "%" } })),
        " ", el("span", { class: "mono ident ov-filter-name" }, f.filter),
        el("span", { class: "ov-filter-text" }, ` rejected ${rate}% of ${count(f.evaluated)} candidates`),
        el("span", { class: "muted" }, " (step ", el("span", { class: "mono ident" }, f.step), ")"),
        ex && el("span", null, " \u00b7 ",
          el("a", { class: "ov-example", href: hashFor({ trace: ex.trace, step: ex.step, item: ex.item }) },
            `${ex.rejected} in one step, e.g. ${ex.item}`)));
    })),
    ov.filters_total > ov.filters.length && el("p", { class: "muted" }, `+${ov.filters_total - ov.filters.length} more filters`));
}

function overviewDiffering(ov) {
  const rows = ov.differing.map((d) => el("tr", { "data-item": d.item },
    el("td", null, testLink(d.test)),
    el("td", { class: "mono ident" }, d.step),
    el("td", { class: "mono ident" }, d.item),
    el("td", null, el("a", { class: "ov-qualified", href: hashFor(d.qualified_in) }, `qualified in ${plural(d.qualified, "trace")}`)),
    el("td", null, el("a", { class: "ov-rejected", href: hashFor(d.rejected_in) }, `rejected in ${plural(d.rejected, "trace")}`))));
  return el("section", { class: "block ov-differing", id: "ov-differing" },
    el("h3", null, "Verdicts that differ between traces of a test"),
    rows.length === 0
      ? el("p", { class: "muted" }, "Every candidate got the same verdict in every trace of its test.")
      : el("div", { class: "table-wrap" }, el("table", { class: "grid" },
        el("thead", null, el("tr", null, ["test", "step", "candidate", "qualified", "rejected"].map((h) => el("th", null, h)))),
        el("tbody", null, rows))),
    ov.differing_total > ov.differing.length && el("p", { class: "muted" }, `+${ov.differing_total - ov.differing.length} more candidates`));
}

function overviewSlowest(ov) {
  if (ov.slowest.length === 0) return null;
  return el("section", { class: "block ov-slowest", id: "ov-slowest" },
    el("h3", null, "Slowest steps"),
    el("div", { class: "table-wrap" }, el("table", { class: "grid" },
      el("thead", null, el("tr", null, ["step", "trace", "test", "duration"].map((h) => el("th", null, h)))),
      el("tbody", null, ov.slowest.map((s) => el("tr", null,
        el("td", null, el("a", { class: "mono ident", href: hashFor({ trace: s.trace, step: s.step }) }, s.name)),
        el("td", { class: "mono ident" }, s.trace_name),
        el("td", null, testLink(s.test)),
        el("td", { class: "num mono" }, fmtMs(s.dur))))))));
}
