/* The trace detail (header, failure, baseline diff, waterfall, metadata) and the step detail
   (error, reasoning, evaluations table, LLM call, custom panels, input/output, metadata). */

function traceDetail(entry, stepId, itemId) {
  const trace = entry.trace;
  const test = entry.test;
  const steps = orderedSteps(trace);
  const selected = steps.find((s) => s.id === stepId) || null;
  const meta = withoutKeys(trace.meta, traceError(trace) ? ["error"] : []);  // shown apart
  return el("article", { class: "trace-detail" },
    el("header", { class: "detail-head" },
      el("h2", { class: "trace-name" }, trace.name),
      el("div", { class: "badges" }, badge(trace.status, statusKind(trace.status)),
        test && test.outcome && badge("test " + test.outcome, statusKind(test.outcome)),
        test && test.baseline && badge("baseline " + test.baseline, test.baseline === "failed" || test.baseline === "missing" || test.baseline === "error" ? "bad" : "good")),
      el("div", { class: "test-id mono" }, trace.test || "(recorded outside a test)"),
      el("dl", { class: "facts" },
        fact("duration", fmtMs(trace.dur)), fact("steps", String(trace.steps.length)),
        fact("rejected", String(trace.rejected)), fact("started", fmtTime(trace.start)),
        fact("trace id", trace.id), trace.run && fact("run", trace.run))),
    baselineDiffs(test),
    testFailure(test),
    traceError(trace),
    section("Timeline", waterfall(trace, steps, selected)),
    selected ? stepDetail(trace, selected, itemId) : el("p", { class: "hint" }, steps.length ? "Select a step in the timeline to see its input, output and decisions." : "This trace recorded no steps."),
    Object.keys(meta).length > 0 && section("Trace metadata", jsonTree(meta, 1)));
}

function testDetail(test) {
  return el("article", { class: "trace-detail" },
    el("header", { class: "detail-head" },
      el("h2", { class: "trace-name mono" }, test.id),
      el("div", { class: "badges" }, badge("test " + test.outcome, statusKind(test.outcome)),
        test.baseline && badge("baseline " + test.baseline, test.baseline === "passed" || test.baseline === "written" ? "good" : "bad")),
      el("dl", { class: "facts" }, fact("duration", fmtMs(test.dur)), fact("traces", "0"))),
    baselineDiffs(test),
    testFailure(test),
    el("p", { class: "hint" }, "This test recorded no trace."));
}

function fact(name, value) {
  return el("div", { class: "fact" }, el("dt", null, name), el("dd", { class: "mono" }, value));
}

function withoutKeys(obj, keys) {
  const out = {};
  for (const k of Object.keys(obj || {})) if (!keys.includes(k)) out[k] = obj[k];
  return out;
}

function testFailure(test) {
  if (!test || !test.message) return null;
  return el("details", { class: "block failure", open: true },
    el("summary", null, el("h3", null, "Test failure")), pre(test.message, "traceback"));
}

function traceError(trace) {
  const error = trace.meta && trace.meta.error;
  return typeof error === "string" ? section("Trace error", errorBlock(error)) : null;
}

function errorBlock(error) {
  const lines = String(error).split("\n");
  return el("div", { class: "error" }, el("div", { class: "error-head" }, lines[0]),
    lines.length > 1 && pre(lines.slice(1).join("\n"), "traceback"));
}

/* Steps in tree order (parents before children, siblings by recording order) with depths. */
function orderedSteps(trace) {
  if (trace._ordered) return trace._ordered;
  const ids = new Set(trace.steps.map((s) => s.id));
  const children = new Map();
  for (const s of trace.steps) {
    const parent = s.parent && ids.has(s.parent) ? s.parent : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(s);
  }
  const out = [];
  const walk = (parent, depth) => {
    for (const s of children.get(parent) || []) {
      s._depth = depth;
      out.push(s);
      walk(s.id, depth + 1);
    }
  };
  walk(null, 0);
  trace._ordered = out;
  return out;
}

function waterfall(trace, steps, selected) {
  let total = trace.dur || 0;
  for (const s of steps) total = Math.max(total, (s.at || 0) + (s.dur || 0));
  if (!(total > 0)) total = 1;
  const rows = steps.map((s) => {
    const left = Math.max(0, Math.min(100, ((s.at || 0) / total) * 100));
    const width = Math.max(0.4, Math.min(100 - left, ((s.dur || 0) / total) * 100));
    const evals = Array.isArray(s.meta && s.meta.evaluations) ? s.meta.evaluations.length : 0;
    return el("a", {
      class: "wf-row st-" + s.status + (selected && selected.id === s.id ? " selected" : ""),
      href: hashFor({ trace: trace.id, step: s.id }), "data-step": s.id,
    },
    el("span", { class: "wf-name", style: { paddingLeft: (6 + s._depth * 16) + "px" } },
      s._depth > 0 && el("span", { class: "wf-indent", "aria-hidden": "true" }, "\u2514 "), s.name),
    el("span", { class: "wf-track" },
      el("span", { class: "wf-bar", style: { left: left + "%", width: width + "%" } })),
    el("span", { class: "wf-dur mono" }, fmtMs(s.dur)),
    el("span", { class: "wf-tags" },
      s.status === "failed" && badge("failed", "bad"),
      evals > 0 && badge(plural(evals, "candidate"), "info"),
      s.meta && s.meta.llm && typeof s.meta.llm === "object" && badge("LLM", "info"),
      (DATA.panels[s.id] || []).length > 0 && badge("panel", "info")));
  });
  return el("div", { class: "waterfall" },
    el("div", { class: "wf-axis" }, el("span", null, "step"),
      el("span", { class: "wf-scale" }, el("span", null, "0"), el("span", null, fmtMs(total / 2)), el("span", null, fmtMs(total))),
      el("span", null, "duration"), el("span", null, "")),
    rows);
}

function stepDetail(trace, step, itemId) {
  const meta = step.meta || {};
  const evaluations = Array.isArray(meta.evaluations) ? meta.evaluations.filter((e) => e && typeof e === "object") : [];
  const llm = meta.llm && typeof meta.llm === "object" && !Array.isArray(meta.llm) ? meta.llm : null;
  // a key goes to the JSON tree unless its panel shows all of it (metadata is free-form)
  const shown = [llm && "llm", evaluations.length && evaluations.length === meta.evaluations.length && "evaluations"];
  const rest = withoutKeys(meta, shown);
  return el("div", { class: "step-detail", id: "step-detail" },
    el("header", { class: "step-head" },
      el("h3", null, "Step ", el("span", { class: "mono" }, step.name)),
      badge(step.status, statusKind(step.status)),
      el("span", { class: "muted mono" }, `+${fmtMs(step.at)} \u00b7 ${fmtMs(step.dur)} \u00b7 ${step.id}`)),
    step.error && section("Error", errorBlock(step.error)),
    step.reasoning != null && section("Reasoning", el("p", { class: "reasoning" }, step.reasoning)),
    evaluations.length > 0 && evaluationsTable(trace, step, evaluations, itemId),
    llm && llmPanel(llm),
    (DATA.panels[step.id] || []).map(customPanel),
    el("div", { class: "io" },
      section("Input", jsonTree(step.input, 2)),
      section("Output", jsonTree(step.output, 2))),
    Object.keys(rest).length > 0 && section("Metadata", jsonTree(rest, 1)));
}

function evaluationsTable(trace, step, evaluations, itemId) {
  const filterNames = [];
  const rejections = new Map();
  for (const e of evaluations) {
    for (const f of Array.isArray(e.filters) ? e.filters : []) {
      const name = String(f && f.name);
      if (!rejections.has(name)) { rejections.set(name, 0); filterNames.push(name); }
      if (f && !f.passed) rejections.set(name, rejections.get(name) + 1);
    }
  }
  const qualified = evaluations.filter((e) => e.qualified).length;
  const table = el("table", { class: "evals" });
  const toggle = el("input", { type: "checkbox", id: "rejected-only" });
  toggle.addEventListener("change", () => table.classList.toggle("only-rejected", toggle.checked));
  const body = el("tbody");
  let only = null;
  const byFilter = (name, button) => {
    only = only === name ? null : name;
    for (const b of table.querySelectorAll(".rej-count")) b.classList.toggle("active", only !== null && b === button);
    for (const row of body.rows) row.classList.toggle("filtered-out", only !== null && !row._failed.includes(only));
  };
  const head = el("tr", null, el("th", null, "candidate"),
    filterNames.map((n) => {
      const button = el("button", { type: "button", class: "rej-count" + (rejections.get(n) ? " has" : ""),
        title: "show only the candidates this filter failed" }, rejections.get(n) + " rejected");
      button.addEventListener("click", () => byFilter(n, button));
      return el("th", { class: "filter-col" }, n, button);
    }),
    el("th", null, "verdict"), el("th", null, "reasoning"));
  for (const e of evaluations) {
    const byName = new Map((Array.isArray(e.filters) ? e.filters : []).map((f) => [String(f && f.name), f]));
    const id = String(e.item_id);
    const row = el("tr", { class: (e.qualified ? "qualified" : "rejected") + (id === itemId ? " target" : ""), "data-item": id },
      el("td", { class: "item" },
        el("a", { class: "mono item-id", href: hashFor({ trace: trace.id, step: step.id, item: id }) }, id),
        itemData(e.item_data, id)),
      filterNames.map((n) => filterCell(byName.get(n))),
      el("td", null, badge(e.qualified ? "qualified" : "rejected", e.qualified ? "good" : "bad")),
      el("td", { class: "reasoning" }, e.reasoning == null ? "" : String(e.reasoning)));
    row._failed = [...byName.values()].filter((f) => f && !f.passed).map((f) => String(f.name));
    body.appendChild(row);
  }
  table.append(el("thead", null, head), body);
  return el("section", { class: "block evaluations" },
    el("div", { class: "eval-bar" },
      el("h3", null, "Evaluations"),
      el("span", { class: "muted" }, `${plural(evaluations.length, "candidate")} \u00b7 ${qualified} qualified \u00b7 ${evaluations.length - qualified} rejected`),
      el("label", { class: "toggle" }, toggle, " rejected only")),
    el("div", { class: "table-wrap" }, table));
}

function itemData(data, itemId) {
  if (data == null || typeof data !== "object") return null;
  const keys = Object.keys(data).filter((k) => String(data[k]) !== itemId);
  if (keys.length === 0) return null;
  const clip = (text) => (text.length > 40 ? text.slice(0, 39) + "\u2026" : text);
  const text = keys.slice(0, 6).map((k) => `${k}: ${clip(shortValue(data[k]))}`).join(" \u00b7 ");
  return el("div", { class: "item-data muted" }, text);
}

function filterCell(result) {
  if (!result) return el("td", { class: "f-none muted" }, "\u2013");
  return el("td", { class: result.passed ? "f-pass" : "f-fail" },
    el("span", { class: "f-mark", "aria-label": result.passed ? "passed" : "failed" }, result.passed ? "\u2713" : "\u2717"),
    result.detail != null && el("span", { class: "f-detail" }, " " + String(result.detail)));
}

function llmPanel(llm) {
  const scalarKeys = Object.keys(llm).filter((k) => llm[k] === null || typeof llm[k] !== "object");
  const longKeys = scalarKeys.filter((k) => typeof llm[k] === "string" && (llm[k].length > 80 || llm[k].includes("\n") || k === "prompt" || k === "response"));
  const shortKeys = scalarKeys.filter((k) => !longKeys.includes(k));
  const nested = Object.keys(llm).filter((k) => !scalarKeys.includes(k));
  return el("section", { class: "block llm" }, el("h3", null, "LLM call"),
    el("dl", { class: "facts" }, shortKeys.map((k) => fact(k, shortValue(llm[k])))),
    longKeys.map((k) => el("div", { class: "llm-text" }, el("div", { class: "label" }, k), pre(llm[k], "wrap"))),
    nested.map((k) => el("div", { class: "llm-text" }, el("div", { class: "label" }, k), jsonTree(llm[k], 1))));
}

function customPanel(panel) {
  const body = [];
  if (Array.isArray(panel.rows)) body.push(rowsTable(panel.rows));
  if (panel.data !== null && panel.data !== undefined) body.push(jsonTree(panel.data, 2));
  if (panel.text != null) body.push(pre(panel.text, "wrap"));
  return el("section", { class: "block panel" }, el("h3", null, String(panel.title)), body);
}

function rowsTable(rows) {
  const columns = [];
  for (const row of rows) {
    if (row && typeof row === "object") for (const k of Object.keys(row)) if (!columns.includes(k)) columns.push(k);
  }
  return el("div", { class: "table-wrap" }, el("table", { class: "grid" },
    el("thead", null, el("tr", null, columns.map((c) => el("th", null, c)))),
    el("tbody", null, rows.map((row) => el("tr", null,
      columns.map((c) => el("td", null, row && typeof row === "object" && c in row ? shortValue(row[c]) : "")))))));
}

function baselineDiffs(test) {
  if (!test || !test.diffs || test.diffs.length === 0) return null;
  return el("section", { class: "block baseline" }, el("h3", null, "Baseline diff"),
    test.diffs.map((d) => diffBlock(d)));
}

function diffBlock(diff, title) {
  const decisions = diff.changes.filter((c) => c.kind === "DecisionChanged");
  const others = diff.changes.filter((c) => c.kind !== "DecisionChanged");
  return el("div", { class: "diff" },
    el("div", { class: "diff-title" }, title || el("span", null, "trace ", el("span", { class: "mono" }, diff.name)),
      " ", badge(plural(diff.changes.length, "change"), diff.changes.length ? "bad" : "good")),
    decisions.length > 0 && decisionTable(decisions),
    others.length > 0 && el("ul", { class: "changes" }, others.map((c) => el("li", { class: "change k-" + c.kind }, c.text))),
    diff.drift.length > 0 && el("details", { class: "drift" },
      el("summary", null, `not compared: ${plural(diff.drift.length, "drift")} (LLM configuration, reasoning)`),
      el("ul", { class: "changes" }, diff.drift.map((c) => el("li", { class: "change muted" }, c.text)))));
}

function decisionTable(decisions) {
  return el("div", { class: "table-wrap" }, el("table", { class: "grid decisions" },
    el("thead", null, el("tr", null, ["candidate", "step", "before", "after", "filters that changed"].map((h) => el("th", null, h)))),
    el("tbody", null, decisions.map((c) => el("tr", { class: c.flipped ? "flipped" : "" },
      el("td", null, el("span", { class: "mono ident" }, c.item), c.flipped && badge("flipped", "bad")),
      el("td", { class: "mono ident" }, c.step),
      el("td", null, verdictCell(c.before)),
      el("td", null, verdictCell(c.after)),
      el("td", null, c.filters.map((f) => el("div", { class: "flip" }, f))))))));
}

function verdictCell(evaluation) {
  if (!evaluation) return el("span", { class: "muted" }, "not evaluated");
  const failed = Object.keys(evaluation.filters || {}).filter((n) => !evaluation.filters[n].passed);
  return el("div", null,
    badge(evaluation.qualified ? "qualified" : "rejected", evaluation.qualified ? "good" : "bad"),
    failed.length > 0 && el("span", { class: "muted" }, " by " + failed.join(", ")),
    evaluation.reasoning != null && el("div", { class: "reasoning muted" }, String(evaluation.reasoning)));
}
