/* xray serve's index: the runs list, an item's history across commits, decision stability.
   Routes are fragments (#/runs, #/history?test=&item=, #/stability?last=&test=), so every view
   is a link. Built with the report's DOM helpers (dom.js): data only ever becomes text. */

const app = document.getElementById("app");
const RUNS_PAGE = 100;
let routeGeneration = 0;

function api(path, params) {
  const query = new URLSearchParams();
  for (const key of Object.keys(params || {})) {
    const value = params[key];
    if (Array.isArray(value)) value.forEach((v) => query.append(key, v));
    else if (value != null && value !== "") query.set(key, value);
  }
  const url = "/api/" + path + (query.toString() ? "?" + query.toString() : "");
  return fetch(url, { headers: { Accept: "application/json" } }).then((response) =>
    response.json().catch(() => ({ error: `${response.status} ${response.statusText}` })).then((data) => {
      if (!response.ok) throw new Error(data.error || String(response.status));
      return data;
    }));
}

function shortId(value, n) {
  return value ? String(value).slice(0, n || 8) : "";
}

function runHref(runId, fragment) {
  return "/runs/" + encodeURIComponent(runId) + (fragment || "");
}

function compareHref(a, b) {
  return "/compare?" + new URLSearchParams({ a, b }).toString();
}

function statusBadge(run) {
  const status = run.shown_status || run.status;
  return badge(status, status === "completed" ? "good" : status === "running" ? "warn" : "bad");
}

function commitText(run) {
  return run.git_commit
    ? el("span", { class: "mono", title: run.git_commit }, shortId(run.git_commit, 10), run.git_dirty ? "+" : "")
    : el("span", { class: "muted" }, "no commit");
}

function failure(error) {
  return el("p", { class: "notice load-error" }, String(error.message || error));
}

function done(name) {
  document.body.dataset.ready = name;
  document.body.dataset.routed = String(Number(document.body.dataset.routed || 0) + 1);
}

/* ---- runs ------------------------------------------------------------------------------- */

function runsView(params, generation) {
  const selected = [];
  const body = el("tbody");
  const more = el("button", { class: "link", type: "button", hidden: true }, "show more runs");
  const count = el("span", { class: "muted" });
  const compare = el("a", { class: "button disabled", id: "compare-selected", href: "#/runs" }, "Compare the 2 selected runs");
  let previous = null;  // the last run listed: the one before a listed run is the next row
  let cursor = null;
  let shown = 0;
  const select = (run, box) => {
    const at = selected.findIndex((r) => r.run_id === run.run_id);
    if (box.checked && at < 0) selected.push(run);
    if (!box.checked && at >= 0) selected.splice(at, 1);
    while (selected.length > 2) {
      const dropped = selected.shift();
      const other = body.querySelector(`input[data-run="${CSS.escape(dropped.run_id)}"]`);
      if (other) other.checked = false;
    }
    if (selected.length === 2) {
      const [a, b] = selected.slice().sort((x, y) => (x.started_at < y.started_at ? -1 : 1));
      compare.setAttribute("href", compareHref(a.run_id, b.run_id));
      compare.classList.remove("disabled");
    } else {
      compare.setAttribute("href", "#/runs");
      compare.classList.add("disabled");
    }
  };
  const row = (run) => {
    const box = el("input", { type: "checkbox", "data-run": run.run_id, "aria-label": "select run " + shortId(run.run_id) });
    box.addEventListener("change", () => select(run, box));
    const counts = run.counts || {};
    return el("tr", { class: "run-row", "data-run": run.run_id },
      el("td", null, box),
      el("td", null, el("a", { class: "mono run-link", href: runHref(run.run_id) }, shortId(run.run_id, 12))),
      el("td", { class: "mono" }, fmtTime(run.started_at)),
      el("td", null, statusBadge(run)),
      el("td", null, commitText(run)),
      el("td", { class: "mono" }, run.git_branch || ""),
      el("td", { class: "num" }, counts.tests != null ? String(counts.tests) : "–"),
      el("td", { class: "num" }, counts.failed ? el("span", { class: "rej" }, String(counts.failed)) : String(counts.failed || 0)),
      el("td", { class: "num" }, String(run.traces)),
      el("td", { class: "prev-cell" }));
  };
  const load = () => {
    more.disabled = true;
    api("runs", { limit: RUNS_PAGE, cursor }).then((page) => {
      if (generation !== routeGeneration) return;
      for (const run of page.runs) {
        const tr = row(run);
        if (previous) {  // rows are newest first: this run is the one before the previous row's
          previous.cells[9].appendChild(el("a", { class: "vs-prev", href: compareHref(run.run_id, previous.dataset.run) }, "vs previous"));
        }
        body.appendChild(tr);
        previous = tr;
      }
      shown += page.runs.length;
      cursor = page.next;
      more.hidden = !cursor;
      more.disabled = false;
      count.textContent = shown === 0 ? "No run recorded yet (pytest --xray-db records one)." :
        `${plural(shown, "run")}${cursor ? " shown, more below" : ""}, most recent first.`;
      done("runs");
    }).catch((error) => { app.appendChild(failure(error)); done("runs"); });
  };
  more.addEventListener("click", load);
  load();
  return el("div", { class: "wide" },
    el("div", { class: "view-head" }, el("h2", null, "Runs"), count, compare),
    el("div", { class: "block" }, el("div", { class: "table-wrap" }, el("table", { class: "grid runs" },
      el("thead", null, el("tr", null, ["", "run", "started", "status", "commit", "branch", "tests", "failed", "traces", ""].map((h) => el("th", null, h)))),
      body))),
    more);
}

/* ---- an item's history -------------------------------------------------------------------- */

function historyForm(params, fields) {
  const form = el("form", { class: "query-form" });
  const inputs = {};
  for (const [name, label, placeholder] of fields) {
    inputs[name] = el("input", { name, value: params[name] || "", placeholder, "aria-label": label, autocomplete: "off" });
    form.appendChild(el("label", null, label, " ", inputs[name]));
  }
  form.appendChild(el("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const name of Object.keys(inputs)) if (inputs[name].value) query.set(name, inputs[name].value);
    location.hash = "#/" + readRoute().name + "?" + query.toString();
  });
  return form;
}

function historyView(params, generation) {
  const out = el("div", { class: "wide" },
    el("div", { class: "view-head" }, el("h2", null, "An item's history across runs")),
    historyForm(params, [["test", "test", "node id, part of it, or a glob"], ["item", "item", "item id"],
      ["step", "step", "any step"], ["last", "runs", "50"]]));
  if (!params.test || !params.item) {
    out.appendChild(el("p", { class: "hint" }, "Name a test and an item: the page shows the item's verdict in each run, oldest first, and marks each change. From a run, the ‘history’ link beside a candidate opens it here."));
    done("history");
    return out;
  }
  api("history", { test: params.test, item: params.item, step: params.step, last: params.last }).then((data) => {
    if (generation !== routeGeneration) return;
    out.appendChild(historyTimeline(data));
    done("history");
  }).catch((error) => { out.appendChild(failure(error)); done("history"); });
  return out;
}

function verdictKind(verdict) {
  return verdict === "qualified" ? "good" : verdict.startsWith("rejected") ? "bad" : "warn";
}

function historyTimeline(data) {
  const current = data.current;
  const since = current.since;
  const headline = el("p", { class: "history-headline" },
    el("span", { class: "mono ident" }, data.item), ": ", badge(current.verdict, verdictKind(current.verdict)),
    current.before == null
      ? ` in all ${plural(current.runs, "run")} shown`
      : el("span", null, " since ", commitText(since), ` (${fmtTime(since.started_at)})`,
        ` — ${current.before} in the ${plural(current.runs_before, "run")} before`));
  const strip = el("div", { class: "strip", "aria-label": "verdict per run, oldest first" },
    data.runs.map((entry) => el("button", {
      type: "button", class: "cell " + verdictKind(entry.verdict) + (entry.changed ? " changed" : ""),
      title: `${shortId(entry.run.git_commit) || "no commit"} · ${entry.verdict}`,
      onclick: () => document.getElementById("h-" + entry.run.run_id).scrollIntoView({ block: "center" }),
    })));
  const list = el("ol", { class: "timeline" }, data.runs.map((entry) => {
    const run = entry.run;
    // each distinct decision of the run once, with the traces holding it: the first one shown
    const first = entry.decisions[0];
    const traces = entry.decisions.reduce((n, d) => n + d.traces.length, 0);
    const target = first ? runHref(run.run_id, hashFor({ trace: first.traces[0], step: first.step_id, item: data.item })) : runHref(run.run_id);
    const failed = first ? first.failed : [];
    return el("li", { class: "tl-entry" + (entry.changed ? " changed" : ""), id: "h-" + run.run_id, "data-run": run.run_id },
      el("span", { class: "tl-dot " + verdictKind(entry.verdict), "aria-hidden": "true" }),
      el("div", { class: "tl-main" },
        el("div", { class: "tl-line" },
          badge(entry.verdict, verdictKind(entry.verdict)),
          entry.changed && badge("changed", "info"),
          el("a", { class: "tl-open", href: target }, "open in run ", el("span", { class: "mono" }, shortId(run.run_id)))),
        el("div", { class: "tl-meta muted" }, commitText(run), run.git_branch ? " " + run.git_branch : "", " · ",
          fmtTime(run.started_at), " · ", statusBadge(run),
          traces > 1 ? ` · ${plural(traces, "trace")}` : "",
          entry.decisions.length > 1 ? ` · ${plural(entry.decisions.length, "decision")}` : ""),
        failed.length > 0 && el("ul", { class: "tl-filters" }, failed.map((f) =>
          el("li", null, el("span", { class: "mono" }, f.name), f.detail != null ? ": " + f.detail : ""))),
        first && first.reasoning != null && el("div", { class: "tl-reason muted" }, first.reasoning)));
  }));
  return el("div", null, headline,
    el("p", { class: "muted" }, `${plural(data.runs.length, "run")} of ${data.tests.length === 1 ? data.tests[0] : plural(data.tests.length, "test")}, oldest first.`),
    strip, list);
}

/* ---- stability ------------------------------------------------------------------------------ */

function stabilityPage(params, generation) {
  const out = el("div", { class: "wide" },
    historyForm(params, [["last", "runs", "10"], ["test", "test", "all tests"]]));
  api("stability", { last: params.last, test: params.test }).then((data) => {
    if (generation !== routeGeneration) return;
    out.appendChild(el("p", { class: "muted" }, `Over the last ${plural(data.runs.length, "run")} (${plural(data.traces, "trace")}).`));
    out.appendChild(stabilityView(data.decisions.map((d) => ({
      test: d.test_id, trace: d.trace, step: d.step, item: d.item_id, n: d.observations,
      qualified: d.qualified, rejected: d.rejected, flips: d.flips, rate: d.flip_rate, rejected_by: d.rejected_by,
    }))));
    done("stability");
  }).catch((error) => { out.appendChild(failure(error)); done("stability"); });
  return out;
}

/* ---- routing ------------------------------------------------------------------------------- */

const VIEWS = { runs: runsView, history: historyView, stability: stabilityPage };

function readRoute() {
  const text = location.hash.replace(/^#\/?/, "");
  const at = text.indexOf("?");
  const name = (at < 0 ? text : text.slice(0, at)).split("/")[0];
  const params = {};
  for (const [k, v] of new URLSearchParams(at < 0 ? "" : text.slice(at + 1))) params[k] = v;
  return { name: VIEWS[name] ? name : "runs", params };
}

function route() {
  const { name, params } = readRoute();
  const generation = ++routeGeneration;
  for (const tab of document.querySelectorAll("#tabs a")) tab.classList.toggle("active", tab.dataset.view === name);
  clear(app);
  app.appendChild(VIEWS[name](params, generation));
  document.title = { runs: "X-Ray runs", history: "X-Ray: item history", stability: "X-Ray: stability" }[name];
}

window.addEventListener("hashchange", route);
route();
