"""The report in real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from xray_core import Run, XRay, diff_runs, diff_traces
from xray_core.report import Panel, ReportData, TestResult, render_report, write_report
from xray_core.stability import decision_stability

from tests.chromium import ARTIFACTS, require_playwright

from .recording import CATALOG, HOSTILE, select_competitors
from .test_plugin_report import PIPELINE
from .test_render import MARKUP_FAILURE, hostile_data

require_playwright()  # skips this module without Chromium or Playwright (an error in CI)


@pytest.fixture
def browser(chromium: Any) -> Any:
    return chromium


@dataclass
class Watched:
    """A page and everything suspicious it did: dialogs, console errors, script errors."""

    page: Any
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: Path, fragment: str = "") -> Any:
        self.page.goto(path.as_uri() + fragment)
        self.page.wait_for_selector("body[data-ready]")
        return self.page

    def click(self, target: Any) -> None:
        """Click a link (a selector or locator) and wait until the page has routed to it."""
        before = self.page.evaluate("document.body.dataset.routed")
        (self.page.locator(target) if isinstance(target, str) else target).click()
        self.page.wait_for_function(f"document.body.dataset.routed !== {before!r}")

    def rows(self) -> Any:
        return self.page.locator("#trace-list .row")


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    # bypass_csp: the hostile-data test must show that escaping alone keeps data inert (the
    # page's Content-Security-Policy is a second layer), and Playwright's waits need eval.
    context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
    page = context.new_page()
    seen = Watched(page)

    def on_dialog(dialog: Any) -> None:
        seen.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    yield seen
    context.close()
    assert seen.errors == [] and seen.dialogs == []


@pytest.fixture
def report(tmp_path: Path, sample_data: ReportData) -> Path:
    return write_report(tmp_path / "report.html", sample_data)


def step_fragment(data: ReportData, index: int, step: str, item: str | None = None) -> str:
    trace = data.traces[index]
    fragment = f"#trace={trace.trace_id}&step={trace.step(step).step_id}"
    return fragment + (f"&item={item}" if item else "")


def test_list_shows_every_trace_as_text(
    watched: Watched, report: Path, sample_data: ReportData
) -> None:
    page = watched.open(report)
    rows = watched.rows()
    assert rows.count() == 4  # three traces and the test that recorded none
    texts = rows.all_inner_texts()
    for trace, text in zip(sample_data.traces, texts):
        assert trace.name in text and (trace.test_id or "") in text
    assert "tests/test_other.py::test_without_trace" in texts[3]
    assert page.locator(".row.failed").count() == 2
    assert page.title() == "Pipeline regression report"
    assert "3 traces, 1 test without trace" in page.inner_text("#list-count")
    header = page.inner_text("header.top")
    assert "commit aaaaaaaaaa" in header and "branch main" in header


def test_trace_evaluations_and_rejected_only(
    watched: Watched, report: Path, sample_data: ReportData
) -> None:
    page = watched.open(report)
    watched.click(watched.rows().first)
    trace = sample_data.traces[0]
    assert page.evaluate("location.hash") == f"#trace={trace.trace_id}"
    assert page.locator(".wf-row").count() == 4
    assert page.locator(".wf-row .wf-name").all_inner_texts()[3].strip().endswith("rank")
    watched.click(page.locator(".wf-row", has_text="filter_and_select"))
    assert page.evaluate("location.hash") == step_fragment(sample_data, 0, "filter_and_select")
    table = page.locator("table.evals")
    rows = table.locator("tbody tr")
    assert rows.count() == len(CATALOG)
    headers = table.locator("thead th").all_inner_texts()
    assert headers[0] == "candidate" and headers[-2:] == ["verdict", "reasoning"]
    assert [h.split("\n")[0] for h in headers[1:4]] == ["price", "rating", "reviews"]
    assert [h.split("\n")[-1] for h in headers[1:4]] == ["2 rejected", "1 rejected", "2 rejected"]
    b02 = table.locator("tr[data-item=B02]")
    assert "✗ 8.00 in [10.00, 40.00]" in b02.inner_text() and "fails price" in b02.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-evaluations.png"))
    page.check("#rejected-only")
    visible = [r for r in rows.all() if r.is_visible()]
    assert [r.get_attribute("data-item") for r in visible] == ["B02", "B03", "B05"]
    page.uncheck("#rejected-only")
    assert sum(r.is_visible() for r in rows.all()) == len(CATALOG)
    table.locator("th", has_text="reviews").locator("button.rej-count").click()
    visible = [r.get_attribute("data-item") for r in rows.all() if r.is_visible()]
    assert visible == ["B03", "B05"]  # the candidates the reviews filter failed
    table.locator("th", has_text="reviews").locator("button.rej-count").click()
    assert sum(r.is_visible() for r in rows.all()) == len(CATALOG)


def test_keyboard_moves_through_the_list(
    watched: Watched, report: Path, sample_data: ReportData
) -> None:
    page = watched.open(report)
    for key, index in (("j", 0), ("j", 1), ("ArrowDown", 2), ("k", 1)):
        before = page.evaluate("document.body.dataset.routed")
        page.keyboard.press(key)
        page.wait_for_function(f"document.body.dataset.routed !== {before!r}")
        assert page.evaluate("location.hash") == f"#trace={sample_data.traces[index].trace_id}"
        assert sample_data.traces[index].test_id in page.inner_text(".row.selected")
    page.focus("#search")
    page.keyboard.press("j")  # typing in the search box does not move the selection
    assert page.evaluate("location.hash") == f"#trace={sample_data.traces[1].trace_id}"


def test_llm_panel_json_tree_and_custom_panel(
    watched: Watched, report: Path, sample_data: ReportData
) -> None:
    page = watched.open(report, step_fragment(sample_data, 0, "keyword_generation"))
    llm = page.inner_text("section.llm")
    for expected in ("model", "mock-llm", "tokens_used", "42", "temperature", "0.2", "prompt",
                     "Keywords for: Steel water bottle 750ml", "response"):  # fmt: skip
        assert expected in llm
    output = page.locator(".io .block", has_text="Output")
    assert "keywords: [3 items]" in output.inner_text().replace("\n", " ")
    assert '"steel"' in output.inner_text()
    page.goto(page.url.split("#")[0] + step_fragment(sample_data, 0, "filter_and_select"))
    panel = page.locator("section.panel")
    assert panel.locator("h3").text_content() == "Price histogram"
    assert panel.locator("tbody tr").all_inner_texts() == ["0-10\t1", "10-40\t3"]


def test_failed_step_shows_error_and_traceback(
    watched: Watched, report: Path, sample_data: ReportData
) -> None:
    page = watched.open(report, step_fragment(sample_data, 1, "rank"))
    assert page.inner_text("#step-detail .error-head") == "ValueError: ranking exploded"
    assert "Traceback" in page.inner_text("#step-detail .traceback")
    assert "ranking exploded" in page.inner_text(".failure")
    assert page.locator(".wf-row.st-failed").count() == 2  # rank and its parent step


def test_baseline_diff_flipped_first(
    watched: Watched, report: Path, sample_data: ReportData
) -> None:
    page = watched.open(report, f"#trace={sample_data.traces[2].trace_id}")
    first = page.locator("section.baseline table.decisions tbody tr").first
    assert "B01" in first.inner_text() and "flipped" in first.inner_text()
    assert "qualified" in first.locator("td").nth(2).inner_text()
    assert "rejected" in first.locator("td").nth(3).inner_text()
    assert "filter_and_select.output.selected" in page.inner_text("section.baseline .changes")


def test_search_status_filter_and_sort(watched: Watched, report: Path) -> None:
    page = watched.open(report)
    page.fill("#search", "rank_fails")
    page.wait_for_function("document.querySelectorAll('#trace-list .row').length === 1")
    assert "test_rank_fails" in watched.rows().inner_text()
    page.fill("#search", "passes every filter")  # evaluation reasoning
    page.wait_for_function("document.querySelectorAll('#trace-list .row').length === 3")
    page.fill("#search", "no-such-item")
    page.wait_for_selector("#trace-list .hint")
    page.fill("#search", "")
    page.select_option("#status", "failed")
    assert watched.rows().count() == 2
    page.select_option("#status", "baseline-failed")
    assert "test_baseline" in watched.rows().inner_text()
    page.select_option("#status", "")
    page.select_option("#sort", "failures")
    assert "test_baseline" in watched.rows().first.inner_text()


def test_deep_link_selects_trace_step_and_item(
    watched: Watched, report: Path, sample_data: ReportData
) -> None:
    page = watched.open(report, step_fragment(sample_data, 0, "filter_and_select", item="B03"))
    assert page.locator(".row.selected").count() == 1
    assert "test_selects_best" in page.inner_text(".row.selected")
    assert page.locator(".wf-row.selected").inner_text().startswith("filter_and_select")
    target = page.locator("tr.target")
    assert target.get_attribute("data-item") == "B03" and target.is_visible()
    watched.click("tr[data-item=B05] a.item-id")
    assert page.evaluate("location.hash").endswith("&item=B05")
    page.go_back()
    page.wait_for_function("document.querySelector('tr.target').dataset.item === 'B03'")
    missing = watched.open(report, "#trace=nope")
    assert "not in this report" in missing.inner_text("#detail")


def test_comparison_and_stability_views(watched: Watched, tmp_path: Path, xr: XRay) -> None:
    cheaper = [dict(CATALOG[0], price=9.0), *CATALOG[1:]]
    old = [select_competitors(xr, test_id="t::a"), select_competitors(xr, test_id="t::gone")]
    new = [select_competitors(xr, catalog=cheaper, test_id="t::a")]
    data = ReportData(traces=new, baseline_traces=old, comparison=diff_runs(old, new),
                      stability=decision_stability([*old[:1], *new]))  # fmt: skip
    page = watched.open(write_report(tmp_path / "r.html", data))
    watched.click("#tabs a[data-view=compare]")
    view = page.locator("#view-compare")
    assert view.is_visible() and not page.locator("#view-traces").is_visible()
    row = view.locator("table.decisions tbody tr").first
    assert "B01" in row.inner_text() and "flipped" in row.inner_text()
    assert "t::gone" in view.inner_text()
    watched.click("#tabs a[data-view=stability]")
    first = page.locator("#view-stability tbody tr").first
    assert "B01" in first.inner_text() and "100%" in first.inner_text()
    watched.click("#tabs a[data-view=traces]")
    assert page.locator("#view-traces").is_visible()


def test_hostile_trace_runs_no_script(watched: Watched, tmp_path: Path, xr: XRay) -> None:
    data = hostile_data(xr)
    trace = data.traces[0]
    page = watched.open(write_report(tmp_path / "hostile.html", data))
    assert page.title() == HOSTILE
    assert HOSTILE in watched.rows().inner_text()  # the name and test id, as text
    watched.click(watched.rows().first)
    watched.click(page.locator(".wf-row").first)
    page.locator(".io details, #step-detail details").evaluate_all(
        "nodes => nodes.forEach(n => { n.open = true; })")  # fmt: skip

    def texts(selector: str) -> list[str]:
        return page.locator(selector).evaluate_all("nodes => nodes.map(n => n.textContent)")

    assert texts(".trace-name") == [HOSTILE]
    assert texts(".failure pre") == [HOSTILE]
    assert texts("#step-detail p.reasoning") == [HOSTILE]
    assert texts("table.evals a.item-id") == [HOSTILE]
    assert texts("table.evals th.filter-col")[0].startswith(HOSTILE)
    assert texts("table.evals .f-detail") == [" " + HOSTILE]
    assert texts("table.evals td.reasoning") == [HOSTILE]
    assert HOSTILE in texts("section.llm dd") and texts("section.llm pre") == [HOSTILE, HOSTILE]
    assert texts("section.panel h3") == [HOSTILE]
    assert texts("section.panel th") == texts("section.panel td") == [HOSTILE]
    assert HOSTILE in texts("section.panel .j-key") and HOSTILE in texts("section.panel pre")
    assert HOSTILE in texts("#step-detail .io .j-key")  # input keys in the JSON tree
    page.goto(page.url.split("#")[0] + f"#trace={trace.trace_id}&step={trace.steps[1].step_id}")
    assert HOSTILE.split("\u2028")[0] in page.inner_text("#step-detail .error-head")
    assert page.title() == f"{HOSTILE} · {HOSTILE}"
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 3  # the two data elements and the code
    assert page.evaluate("typeof window.alert") == "function"


def test_two_thousand_traces_render_lazily(watched: Watched, tmp_path: Path, xr: XRay) -> None:
    one = select_competitors(xr)
    traces = [one.model_copy(update={"trace_id": f"t{i:04d}", "test_id": f"t::{i}"})
              for i in range(2000)]  # fmt: skip
    page = watched.open(write_report(tmp_path / "big.html", ReportData(traces=traces)))
    page.wait_for_function("document.querySelectorAll('#trace-list .row').length === 2000")
    assert page.evaluate("document.getElementsByTagName('*').length") < 30_000
    assert "t::1999" in watched.rows().last.inner_text()
    assert page.inner_text("#run-info").startswith("generated ")  # no run, no git: still a header
    assert page.locator("table.evals").count() == 0  # details are built on demand
    panel = ReportData(traces=traces[:1], panels={"x": [Panel("p", text="t")]})
    assert (
        write_report(tmp_path / "small.html", panel).stat().st_size
        < (tmp_path / "big.html").stat().st_size
    )


def test_ids_in_comparison_and_stability_tables_do_not_break(
    watched: Watched, tmp_path: Path, xr: XRay
) -> None:
    test_id = "tests/test_a_rather_long_module_name.py::test_reference_products_match[B0REF0001]"
    cheaper = [dict(CATALOG[0], price=9.0), *CATALOG[1:]]
    old = [select_competitors(xr, test_id=test_id)]
    new = [select_competitors(xr, catalog=cheaper, test_id=test_id)]
    data = ReportData(traces=new, baseline_traces=old, comparison=diff_runs(old, new),
                      stability=decision_stability([*old, *new]))  # fmt: skip
    page = watched.page
    page.set_viewport_size({"width": 1000, "height": 800})
    watched.open(write_report(tmp_path / "r.html", data), "#view=stability")
    lines = "cells => cells.map(c => { const r = document.createRange(); r.selectNodeContents(c);" \
            " return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; })"
    stability = page.locator("#view-stability tbody tr").first.locator("td")
    assert stability.evaluate_all(lines)[1:4] == [1, 1, 1]  # trace, step, candidate
    watched.open(write_report(tmp_path / "r.html", data), "#view=compare")
    decision = page.locator("#view-compare table.decisions tbody tr").first.locator("td")
    assert decision.evaluate_all(lines)[1] == 1  # the step name
    assert page.locator("#view-compare table.decisions tbody tr .mono").first.evaluate(
        "n => n.getClientRects().length") == 1  # the candidate id


def test_baseline_diff_comes_before_the_failure_text(
    watched: Watched, report: Path, sample_data: ReportData
) -> None:
    page = watched.open(report, f"#trace={sample_data.traces[2].trace_id}")
    order = page.locator("section.baseline, details.failure").evaluate_all(
        "nodes => nodes.map(n => n.className)")  # fmt: skip
    assert order == ["block baseline", "block failure"]


def test_test_link_opens_the_tests_first_trace(
    watched: Watched, report: Path, sample_data: ReportData
) -> None:
    trace = sample_data.traces[1]
    page = watched.open(report, "#test=" + quote(trace.test_id or "", safe=""))
    assert page.inner_text(".trace-detail .test-id") == trace.test_id
    assert "test_rank_fails" in page.inner_text(".row.selected")
    untraced = watched.open(report, "#test=" + quote("tests/test_other.py::test_without_trace"))
    assert "This test recorded no trace." in untraced.inner_text("#detail")


class HeldBackPage:
    """Serves a report over HTTP, holding its full data document back until :meth:`release`:
    what a browser shows while it is still reading a large report."""

    def __init__(self, html: str) -> None:
        cut = html.index('<script type="application/json" id="xray-data">')
        self.head, self.tail = html[:cut].encode(), html[cut:].encode()
        self.released = threading.Event()
        page = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page.head) + len(page.tail)))
                self.end_headers()
                self.wfile.write(page.head)
                self.wfile.flush()
                if page.released.wait(60):
                    self.wfile.write(page.tail)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/report.html"

    def release(self) -> None:
        self.released.set()

    def __enter__(self) -> HeldBackPage:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


def test_the_list_is_usable_before_the_full_data_is_read(watched: Watched, xr: XRay) -> None:
    traces = [select_competitors(xr, name=f"pick-{i}", test_id=f"t.py::test_{i}") for i in range(3)]
    tests = [TestResult(t.test_id or "", "passed", 2.0) for t in traces]
    with HeldBackPage(render_report(ReportData(traces=traces, tests=tests))) as held:
        page = watched.page
        page.goto(held.url, wait_until="commit")
        page.wait_for_function("document.querySelectorAll('#trace-list .row').length === 3")
        assert "t.py::test_2" in watched.rows().last.inner_text()
        assert f"{len(traces[0].steps)} steps" in watched.rows().first.inner_text()
        assert page.inner_text("#list-count") == "3 traces"
        assert page.inner_text("#detail") == "Reading the traces…"
        assert page.evaluate("document.body.dataset.ready") is None
        watched.rows().nth(1).click()  # chosen before the traces are there: shown once they are
        page.wait_for_function("location.hash.startsWith('#trace=')")
        held.release()
        page.wait_for_selector("body[data-ready]")
        assert page.inner_text("#detail .trace-name") == "pick-1"
        assert page.evaluate("document.body.dataset.routed") == "1"
        # closed while its server still answers: a request the browser makes after the page has
        # loaded (its icon) would otherwise fail against the stopped server and log an error
        page.close()


def test_empty_report_says_nothing_was_recorded(watched: Watched, tmp_path: Path) -> None:
    page = watched.open(write_report(tmp_path / "empty.html", ReportData()))
    assert page.inner_text("#trace-list") == "No trace was recorded."
    assert page.inner_text("#list-count") == "0 traces"


def test_hostile_run_comparison_and_stability_run_no_script(
    watched: Watched, tmp_path: Path, xr: XRay
) -> None:
    data = hostile_data(xr)
    after = data.traces[0]
    step = after.steps[0]
    evaluation = {**step.metadata["evaluations"][0], "qualified": True}
    before = after.model_copy(update={"trace_id": "before", "steps": [
        step.model_copy(update={"metadata": {**step.metadata, "evaluations": [evaluation]}}),
        *after.steps[1:]]})  # fmt: skip
    data.run = data.baseline_run = Run(
        run_id=HOSTILE, started_at=after.start_time, git_commit=HOSTILE, git_branch=HOSTILE,
        git_dirty=True, command=HOSTILE)  # fmt: skip
    data.baseline_traces, data.comparison = [before], diff_runs([before], [after])
    data.stability = decision_stability([before, after])
    data.tests[0].baseline, data.tests[0].baseline_diffs = HOSTILE, [diff_traces(before, after)]
    page = watched.open(write_report(tmp_path / "hostile.html", data), f"#trace={after.trace_id}")
    assert HOSTILE in page.inner_text("header.top").replace("\n", "")  # branch, command
    assert page.locator("section.baseline table.decisions .ident").first.text_content() == HOSTILE
    for view in ("compare", "stability"):
        watched.click(f"#tabs a[data-view={view}]")
        assert HOSTILE in page.inner_text(f"#view-{view} tbody tr")
    assert page.locator("img").count() == 0 and page.locator("script").count() == 3
    assert page.title() == f"{HOSTILE} · {HOSTILE}"


def test_metadata_not_in_a_known_pattern_is_still_shown(
    watched: Watched, tmp_path: Path, xr: XRay
) -> None:
    with (
        xr.trace("hand-written", metadata={"error": {"code": 5}}) as trace,
        trace.step("ask") as step,
    ):
        step.set_metadata({"llm": "gpt-4o", "evaluations": "n/a", "other": 1})
    recorded = xr.store.get_trace(trace.trace_id)
    assert recorded is not None
    page = watched.open(write_report(tmp_path / "r.html", ReportData(traces=[recorded])),
                        f"#trace={trace.trace_id}&step={recorded.steps[0].step_id}")  # fmt: skip
    assert page.locator("section.llm, section.evaluations").count() == 0
    shown = page.locator("#step-detail .block", has_text="Metadata").inner_text()
    for text in ('llm: "gpt-4o"', 'evaluations: "n/a"', "other: 1"):
        assert text in shown
    assert "error: {1 key}" in page.locator(".block", has_text="Trace metadata").inner_text()


# -- the landing page: what broke, without a click -----------------------------------------------
def attention(page: Any) -> dict[str, dict[str, Any]]:
    """The "Needs attention" items of the landing page, by test id (or trace name)."""
    found: dict[str, dict[str, Any]] = {}
    for item in page.locator("#detail .attn").all():
        why = item.locator(".attn-why")
        assert why.count() == 0 or why.is_visible()
        found[item.locator(".attn-head .mono").first.text_content()] = {
            "badges": item.locator(".attn-head .badge").all_text_contents(),
            "why": why.text_content() if why.count() else None,
            "flips": item.locator(".attn-flips li, div.attn-flips").all_text_contents(),
        }
    return found


def test_landing_page_says_why_each_test_failed(watched: Watched, report: Path) -> None:
    page = watched.open(report)
    assert page.evaluate("document.body.dataset.routed") == "1"  # nothing was clicked
    assert attention(page) == {
        "tests/test_pipeline.py::test_rank_fails": {
            "badges": ["test failed"], "why": "ValueError: ranking exploded", "flips": []},
        "tests/test_pipeline.py::test_baseline": {
            "badges": ["test failed", "baseline"], "why": "baseline differs: B01 flipped",
            "flips": ["B01 qualified → rejected by price (price flipped; step filter_and_select)"]},
    }  # fmt: skip


def test_landing_page_shows_a_few_flips_then_how_many_more(
    watched: Watched, tmp_path: Path, xr: XRay
) -> None:
    catalog = [{"id": f"C{i}", "price": 20.0, "rating": 4.5, "reviews": 500} for i in range(6)]
    before = select_competitors(xr, catalog=catalog)
    after = select_competitors(xr, catalog=[dict(c, price=100.0) for c in catalog])
    nudged = select_competitors(xr, catalog=[dict(catalog[0], rating=4.6), *catalog[1:]])
    quiet = diff_traces(before, nudged)  # a candidate's data changed, no verdict did
    tests = [TestResult("t::many", "failed", baseline="failed",
                        baseline_diffs=[diff_traces(before, after)]),
             TestResult("t::quiet", "failed", baseline="failed", baseline_diffs=[quiet])]  # fmt: skip
    page = watched.open(write_report(tmp_path / "r.html", ReportData(traces=[], tests=tests)))
    found = attention(page)
    flip = "{} qualified → rejected by price (price flipped; step filter_and_select)"
    assert found["t::many"]["flips"] == [flip.format(f"C{i}") for i in range(3)] + ["+3 more"]
    assert len(quiet.changes) == 1 and not quiet.decisions
    assert found["t::quiet"]["flips"] == ["no verdict flipped; 1 other change"]


def test_landing_page_failure_line_with_markup_is_text(watched: Watched, tmp_path: Path) -> None:
    test_id = f"tests/test_pick.py::test_pick[{HOSTILE}]"
    data = ReportData(tests=[TestResult(test_id, "failed", message=MARKUP_FAILURE)])
    page = watched.open(write_report(tmp_path / "r.html", data))
    assert attention(page)[test_id]["why"] == 'AssertionError: </script><script>alert("x")</script>'
    assert page.locator("img").count() == 0 and page.locator("script").count() == 3


ATTENTION_SUITE = """
import os

import pytest

import xray_core as xc
from pipeline import select

PRICES = [float(p) for p in os.environ.get("PRICES", "12 50 30").split()]


@pytest.fixture
def catalog():
    raise ConnectionError("catalog service unreachable")


def test_rejects_expensive(xray):
    select([12.0, 30.0])
    xray.assert_rejected("B1", by="price")


def test_baseline(xray):
    select(PRICES)
    xray.assert_baseline()


def test_needs_catalog(catalog):
    pass


def test_passes():
    select([12.0])


def test_pipeline_error_is_expected():
    with pytest.raises(ZeroDivisionError), xc.trace("ratio") as trace:
        with trace.step("divide"):
            1 / 0
"""


def test_landing_page_of_a_run_and_of_its_history(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, watched: Watched
) -> None:
    pytester.makepyfile(pipeline=PIPELINE, test_suite=ATTENTION_SUITE)
    pytester.runpytest("--xray-update").assert_outcomes(passed=3, failed=1, errors=1)
    monkeypatch.setenv("PRICES", "12 30 30")  # B1 now qualifies: the baseline's decision flips
    result = pytester.runpytest("--xray-report=report.html", "--xray-db=runs.db")
    result.assert_outcomes(passed=2, failed=2, errors=1)
    found = attention(watched.open(pytester.path / "report.html"))
    assert set(found) == {"test_suite.py::test_rejects_expensive", "test_suite.py::test_baseline",
                          "test_suite.py::test_needs_catalog",
                          "test_suite.py::test_pipeline_error_is_expected"}  # fmt: skip
    assert found["test_suite.py::test_rejects_expensive"]["why"] == (
        "AssertionError: B1 was qualified in step 'filter_and_select', expected rejected by 'price'."
    )
    assert found["test_suite.py::test_needs_catalog"] == {
        "badges": ["test error"], "why": "ConnectionError: catalog service unreachable",
        "flips": []}  # fmt: skip
    assert found["test_suite.py::test_pipeline_error_is_expected"] == {
        "badges": ["trace failed"], "why": "ZeroDivisionError: division by zero",
        "flips": []}  # fmt: skip
    baseline = found["test_suite.py::test_baseline"]
    assert baseline["badges"] == ["test failed", "baseline"]
    assert "decisions differ" in baseline["why"]
    assert baseline["flips"] == [
        "B1 rejected by price → qualified (price flipped; step filter_and_select)"
    ]
    # each line is the one pytest marked as the error of that test
    errors = {line[1:].strip() for line in result.outlines if line.startswith("E ")}
    assert {f["why"] for f in found.values() if f["badges"] != ["trace failed"]} <= errors

    subprocess.run([sys.executable, "-m", "xray_core.cli", "report", "--db", "runs.db",
                    "-o", "history.html"], cwd=pytester.path, check=True, capture_output=True)  # fmt: skip
    history = attention(watched.open(pytester.path / "history.html"))
    assert {k: v["why"] for k, v in history.items()} == {k: v["why"] for k, v in found.items()}
    assert history["test_suite.py::test_baseline"]["flips"] == []  # the run history keeps no diff
