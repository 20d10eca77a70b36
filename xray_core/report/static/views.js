/* The comparison of two runs and the decision-stability view. */

const STABILITY_CHUNK = 300;

function comparisonView(comparison) {
  const runLabel = (run) => run ? `${run.run_id.slice(0, 12)}${run.git_commit ? " @ " + run.git_commit.slice(0, 8) : ""}` : "\u2013";
  const keyLabel = (key) => el("span", null, el("span", { class: "mono" }, key[0] || "(no test)"), " \u00b7 ",
    el("span", { class: "mono" }, key[1]), key[2] > 0 ? ` #${key[2] + 1}` : "");
  const link = (item) => item.trace ? el("a", { href: hashFor({ trace: item.trace }) }, "open trace") : null;
  const changed = comparison.changed.filter((c) => c.changes.length > 0);
  const driftOnly = comparison.changed.filter((c) => c.changes.length === 0);
  return el("div", { class: "wide" },
    el("h2", null, "Comparison of two runs"),
    el("p", { class: "muted" }, "baseline run ", el("span", { class: "mono" }, runLabel(DATA.baseline_run)),
      " \u2192 this run ", el("span", { class: "mono" }, runLabel(DATA.run))),
    el("div", { class: "totals inline" },
      chip("changed", changed.length, changed.length ? "bad" : "good"), chip("unchanged", comparison.same),
      chip("drift only", driftOnly.length), chip("added", comparison.added.length), chip("removed", comparison.removed.length)),
    changed.length === 0 && el("p", { class: "hint" }, "No decision or step changed between the two runs."),
    changed.map((c) => el("section", { class: "block" }, diffBlock(c, el("span", null, keyLabel(c.key), " ", link(c))))),
    driftOnly.length > 0 && el("details", { class: "block" }, el("summary", null, el("h3", null, "Drift only")),
      driftOnly.map((c) => diffBlock(c, el("span", null, keyLabel(c.key), " ", link(c))))),
    comparison.added.length > 0 && section("Only in this run", el("ul", null, comparison.added.map((a) => el("li", null, keyLabel(a.key), " ", link(a))))),
    comparison.removed.length > 0 && section("Only in the baseline run", el("ul", null, comparison.removed.map((a) => el("li", null, keyLabel(a.key))))));
}

function stabilityView(entries) {
  const unstable = entries.filter((e) => e.flips > 0);
  const body = el("tbody");
  const more = el("button", { class: "link", type: "button" });
  const toggle = el("input", { type: "checkbox", id: "unstable-only", checked: unstable.length > 0 });
  let rows = [];
  let shown = 0;
  const showMore = () => {
    const end = Math.min(rows.length, shown + STABILITY_CHUNK);
    for (; shown < end; shown++) body.appendChild(stabilityRow(rows[shown]));
    more.textContent = `show ${Math.min(STABILITY_CHUNK, rows.length - shown)} more of ${rows.length - shown}`;
    more.hidden = shown >= rows.length;
  };
  const fill = () => {
    rows = toggle.checked ? unstable : entries;
    shown = 0;
    clear(body);
    showMore();
  };
  more.addEventListener("click", showMore);
  toggle.addEventListener("change", fill);
  fill();
  return el("div", { class: "wide" },
    el("h2", null, "Decision stability"),
    el("div", { class: "eval-bar" },
      el("p", { class: "muted" }, `${plural(entries.length, "decision")} observed; ${unstable.length} changed verdict at least once (flip rate = verdict changes per repetition).`),
      el("label", { class: "toggle" }, toggle, " changed verdicts only")),
    el("div", { class: "block" }, el("div", { class: "table-wrap" }, el("table", { class: "grid stability" },
      el("thead", null, el("tr", null, ["test", "trace", "step", "candidate", "seen", "qualified", "rejected", "flips", "flip rate", "rejected by"].map((h) => el("th", null, h)))),
      body)),
    more));
}

function stabilityRow(e) {
  const rate = Math.round(e.rate * 100);
  return el("tr", { class: e.flips > 0 ? "unstable" : "" },
    el("td", { class: "mono" }, e.test || "(no test)"), el("td", { class: "mono ident" }, e.trace),
    el("td", { class: "mono ident" }, e.step), el("td", { class: "mono ident" }, e.item),
    el("td", { class: "num" }, String(e.n)), el("td", { class: "num" }, String(e.qualified)),
    el("td", { class: "num" }, String(e.rejected)), el("td", { class: "num" }, String(e.flips)),
    el("td", null, el("span", { class: "rate" }, el("span", { class: "rate-bar", style: { width: rate + "%" } })), ` ${rate}%`),
    el("td", null, Object.keys(e.rejected_by).map((k) => `${k} \u00d7${e.rejected_by[k]}`).join(", ")));
}

function chip(label, value, kind) {
  return el("span", { class: "chip " + (kind || "") }, el("b", null, String(value)), " " + label);
}
