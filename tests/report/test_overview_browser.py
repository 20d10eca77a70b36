"""The report's front page at scale, in real headless Chromium: the trace list grouped by test
(and flat), and the run overview as the landing view, on the demo's own run (253 traces in 13
tests) and on made-up runs with failures and hostile names."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from xray_core import XRay
from xray_core.report import ReportData, TestResult, write_report

from .recording import CATALOG, HOSTILE, select_competitors
from . import test_browser
from .test_browser import ARTIFACTS, Watched

# the browser tests' fixtures: the session's Chromium, a page watched for errors and dialogs
browser = test_browser.browser
watched = test_browser.watched

ROOT = Path(__file__).resolve().parents[2]


def documents(report: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The report's small (list) and full JSON documents, as the page reads them."""
    html = report.read_text(encoding="utf-8")
    found = dict(re.findall(r'<script type="application/json" id="([^"]+)">(.*?)</script>',
                            html, re.S))  # fmt: skip
    return json.loads(found["xray-list"]), json.loads(found["xray-data"])


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the demo's own test suite, written by ``pytest --xray-report``."""
    report = tmp_path_factory.mktemp("demo") / "report.html"
    subprocess.run([sys.executable, "-m", "pytest", "demo/tests", "-q", "-p", "no:cacheprovider",
                    f"--xray-report={report}", f"--xray-db={report.parent / 'runs.db'}"],
                   cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    return report


def test_xray_report_of_the_stored_run_has_the_same_overview(
    watched: Watched, demo_report: Path
) -> None:
    stored = demo_report.parent / "stored.html"
    subprocess.run([sys.executable, "-m", "xray_core.cli", "report", "--db", "runs.db",
                    "-o", str(stored)], cwd=demo_report.parent, check=True,
                   capture_output=True)  # fmt: skip
    live, stored_doc = documents(demo_report)[0]["overview"], documents(stored)[0]["overview"]
    for key in ("baselines", "candidates", "filters", "differing", "differing_total",
                "steps_total"):  # fmt: skip
        assert stored_doc[key] == live[key], key

    def tests(overview: dict[str, Any]) -> list[Any]:  # durations are stored rounded
        return [{k: v for k, v in t.items() if k != "dur"} for t in overview["tests"]]

    assert tests(stored_doc) == tests(live)
    page = watched.open(stored)
    assert len(groups(page)) == sum(1 for t in live["tests"] if t["traces"] > 1)
    assert page.locator("#ov-filters li.ov-filter").count() == len(live["filters"])


def haystack(trace: dict[str, Any]) -> str:
    """What the list's search looks in, as the page builds it (app.js: haystack)."""
    parts = [trace["test"] or "", trace["name"]]
    for step in trace["steps"]:
        parts += [step["name"], step["reasoning"] or ""]
        for e in (step["meta"] or {}).get("evaluations", []):
            parts += [str(e["item_id"]), e.get("reasoning") or ""]
    return "\n".join(parts).lower()


def groups(page: Any) -> dict[str, dict[str, Any]]:
    """The list's group headers, by test id."""
    return {
        g.get_attribute("data-test"): {
            "count": g.locator(".group-count").inner_text(),
            "worst": g.locator(".badge").inner_text(),
            "open": g.locator("button").get_attribute("aria-expanded") == "true",
        }
        for g in page.locator("#trace-list .group").all()
    }


def wait_rows(page: Any, n: int) -> None:
    page.wait_for_function(f"document.querySelectorAll('#trace-list .row').length === {n}")


def test_demo_run_groups_collapse_expand_and_flatten(watched: Watched, demo_report: Path) -> None:
    small, _ = documents(demo_report)
    tests = small["overview"]["tests"]
    assert len(small["rows"]) == 253 and len(tests) == 13
    several = {t["id"]: t for t in tests if t["traces"] > 1}
    page = watched.open(demo_report)
    assert groups(page) == {
        k: {"count": f"{t['traces']} traces", "worst": "passed", "open": False}
        for k, t in several.items()
    }
    singles = len(tests) - len(several)
    assert watched.rows().count() == singles  # one row per test with a single trace
    assert f"253 traces · {len(several)} tests with several, grouped" == page.inner_text("#list-count")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-overview.png"))
    biggest = max(several.values(), key=lambda t: t["traces"])
    head = page.locator(f"#trace-list .group[data-test='{biggest['id']}'] button")
    head.click()
    wait_rows(page, singles + biggest["traces"])
    assert groups(page)[biggest["id"]]["open"]
    assert page.locator(".row.in-group").count() == biggest["traces"]
    assert {r.inner_text().split("\n")[1] for r in page.locator(".row.in-group").all()} == {
        biggest["id"]}  # fmt: skip
    page.locator(f"#trace-list .group[data-test='{biggest['id']}'] button").click()
    wait_rows(page, singles)
    page.uncheck("#grouped")  # the flat list, one click away
    wait_rows(page, 253)
    assert page.locator("#trace-list .group").count() == 0
    assert page.inner_text("#list-count") == "253 traces"
    page.check("#grouped")
    wait_rows(page, singles)
    assert len(groups(page)) == len(several)


def test_demo_run_search_in_groups_and_flat(watched: Watched, demo_report: Path) -> None:
    small, full = documents(demo_report)
    hay = [haystack(t) for t in full["traces"]]
    size = {t["id"]: t["traces"] for t in small["overview"]["tests"]}
    # a candidate some traces of a test evaluated and others did not
    items = sorted({str(e["item_id"]).lower() for t in full["traces"] for s in t["steps"]
                    for e in (s["meta"] or {}).get("evaluations", [])})  # fmt: skip
    term = next(i for i in items if any(
        0 < sum(i in h for t, h in zip(full["traces"], hay) if t["test"] == k) < n
        for k, n in size.items()))  # fmt: skip
    matching = [t for t, h in zip(full["traces"], hay) if term in h]
    per_test: dict[str, int] = {}
    for t in matching:
        per_test[t["test"]] = per_test.get(t["test"], 0) + 1
    assert 0 < len(matching) < 253 and any(0 < n < size[k] for k, n in per_test.items())
    page = watched.open(demo_report)
    page.fill("#search", term)
    page.wait_for_function(f"document.getElementById('list-count').textContent.startsWith("
                           f"'{len(matching)} shown')")  # fmt: skip
    expected = {k: f"{n} of {size[k]} traces" if n < size[k] else f"{n} traces"
                for k, n in per_test.items() if size[k] > 1}  # fmt: skip
    assert {k: g["count"] for k, g in groups(page).items()} == expected
    singles = sum(1 for k in per_test if size[k] == 1)
    assert watched.rows().count() == singles
    partial = next(k for k, n in per_test.items() if 0 < n < size[k])
    page.locator(f"#trace-list .group[data-test='{partial}'] button").click()
    wait_rows(page, singles + per_test[partial])
    page.uncheck("#grouped")
    wait_rows(page, len(matching))
    shown = {r.get_attribute("href") for r in watched.rows().all()}
    assert shown == {f"#trace={t['id']}" for t in matching}


def test_demo_run_overview_figures_match_the_data(watched: Watched, demo_report: Path) -> None:
    small, full = documents(demo_report)
    ov = small["overview"]
    page = watched.open(demo_report)
    assert page.inner_text("#ov-tests .ov-summary") == (
        f"13 tests: 13 passed · 253 traces, {sum(len(t['steps']) for t in full['traces'])} steps")
    assert page.inner_text("#ov-tests .ov-baselines") == "baselines: 4 passed"
    rows = page.locator("#ov-tests tbody tr")
    assert rows.count() == 13
    assert [r.get_attribute("data-test") for r in rows.all()] == [t["id"] for t in ov["tests"]]
    assert [r.locator("td").nth(4).inner_text() for r in rows.all()] == [
        str(t["traces"]) for t in ov["tests"]]  # fmt: skip
    # rejections per filter across the run, recounted here from the traces themselves
    counts: dict[str, list[int]] = {}
    for trace in full["traces"]:
        for step in trace["steps"]:
            for e in (step["meta"] or {}).get("evaluations", []):
                for f in e["filters"]:
                    seen = counts.setdefault(f["name"], [0, 0])
                    seen[0] += 1
                    seen[1] += not f["passed"]
    lines = page.locator("#ov-filters li.ov-filter")
    assert lines.count() == 3
    for line in lines.all():
        name = line.get_attribute("data-filter")
        evaluated, rejected = counts[name]
        assert line.locator(".ov-filter-text").inner_text() == (
            f" rejected {round(rejected / evaluated * 100)}% of {evaluated:,} candidates")
    assert page.inner_text("#ov-filters p.muted") == (
        f"{sum(c[0] for c in counts.values()) // 3:,} candidate evaluations across the run")
    differing = page.locator("#ov-differing tbody tr")
    assert differing.count() == min(len(ov["differing"]), 50) > 0
    slowest = page.locator("#ov-slowest tbody tr")
    durations = sorted((s["dur"] for t in full["traces"] for s in t["steps"]), reverse=True)
    assert slowest.count() == 10
    assert [s["dur"] for s in ov["slowest"]] == durations[:10]


def follow(watched: Watched, link: Any) -> dict[str, str]:
    """Click a link of the overview; the fragment it opened, as a dict."""
    watched.click(link)
    page = watched.page
    return {k: v[0] for k, v in parse_qs(page.evaluate("location.hash")[1:]).items()}


def test_demo_run_overview_links_open_trace_step_and_item(
    watched: Watched, demo_report: Path
) -> None:
    small, full = documents(demo_report)
    ov = small["overview"]
    traces = {t["id"]: t for t in full["traces"]}
    page = watched.open(demo_report)
    # a filter's example: the step where it rejected most, its first rejected candidate
    example = ov["filters"][0]["example"]
    assert follow(watched, page.locator("#ov-filters a.ov-example").first) == example_hash(example)
    target = page.locator("table.evals tr.target")
    assert target.get_attribute("data-item") == example["item"]
    assert "rejected" in target.inner_text()
    assert page.inner_text("#step-detail .step-head h3") == f"Step {ov['filters'][0]['step']}"
    trace = traces[example["trace"]]
    assert page.locator(".row.selected").get_attribute("href") == f"#trace={trace['id']}"
    assert groups(page).get(trace["test"], {"open": True})["open"]  # its group was opened
    # a candidate with differing verdicts: where it was qualified, where it was rejected
    for kind, verdict in (("qualified", "qualified"), ("rejected", "rejected")):
        watched.open(demo_report)
        first = ov["differing"][0]
        link = page.locator("#ov-differing tbody tr").first.locator(f"a.ov-{kind}")
        assert follow(watched, link) == example_hash(first[f"{kind}_in"])
        assert page.locator("table.evals tr.target").get_attribute("data-item") == first["item"]
        assert verdict in page.locator("table.evals tr.target td").nth(-2).inner_text()
        assert page.inner_text(".trace-detail .test-id") == first["test"]
    # the slowest step
    watched.open(demo_report)
    slow = ov["slowest"][0]
    assert follow(watched, page.locator("#ov-slowest tbody a").first) == {
        "trace": slow["trace"], "step": slow["step"]}  # fmt: skip
    assert page.locator(".wf-row.selected").get_attribute("data-step") == slow["step"]
    # a test of the tests table opens that test's first trace
    watched.open(demo_report)
    test = ov["tests"][-1]
    assert follow(watched, page.locator("#ov-tests a.test-link").last) == {"test": test["id"]}
    assert page.inner_text(".trace-detail .test-id") == test["id"]


def example_hash(target: dict[str, Any]) -> dict[str, str]:
    return {k: target[k] for k in ("trace", "step", "item")}


def repeat_data(xr: XRay, test_id: str = "t::repeat") -> ReportData:
    """Three traces of one test (one failed, one where B01 is rejected), one other test."""
    cheaper = [dict(CATALOG[0], price=9.0), *CATALOG[1:]]
    traces = [select_competitors(xr, test_id=test_id),
              select_competitors(xr, catalog=cheaper, test_id=test_id),
              select_competitors(xr, fail=True, test_id=test_id),
              select_competitors(xr, test_id="t::single")]  # fmt: skip
    tests = [TestResult(test_id, "passed", 3.0), TestResult("t::single", "passed", 1.0,
                                                            baseline="failed")]  # fmt: skip
    return ReportData(traces=traces, tests=tests)


def test_worst_status_and_status_filter_in_groups_and_flat(
    watched: Watched, tmp_path: Path, xr: XRay
) -> None:
    page = watched.open(write_report(tmp_path / "r.html", repeat_data(xr)))
    assert groups(page) == {"t::repeat": {"count": "3 traces", "worst": "failed", "open": False}}
    assert page.locator("#ov-tests tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.test, r.cells[1].textContent])") == [
        ["t::repeat", "failed"], ["t::single", "baseline failed"]]  # fmt: skip
    page.select_option("#status", "failed")
    assert groups(page)["t::repeat"]["count"] == "1 of 3 traces"
    assert watched.rows().count() == 0
    page.uncheck("#grouped")
    assert watched.rows().count() == 1 and "failed" in watched.rows().inner_text()
    page.select_option("#status", "baseline-failed")
    assert watched.rows().count() == 1 and "t::single" in watched.rows().inner_text()
    page.check("#grouped")
    assert groups(page) == {} and watched.rows().count() == 1


def test_keyboard_and_deep_link_open_a_collapsed_group(
    watched: Watched, tmp_path: Path, xr: XRay
) -> None:
    data = repeat_data(xr)
    report = write_report(tmp_path / "r.html", data)
    second = data.traces[1]
    page = watched.open(report, f"#trace={second.trace_id}")
    assert groups(page)["t::repeat"]["open"]
    assert page.locator(".row.selected").get_attribute("href") == f"#trace={second.trace_id}"
    page.locator("#trace-list .group button").click()  # collapsed by hand: it stays so
    assert not groups(page)["t::repeat"]["open"] and page.locator(".row.selected").count() == 0
    before = page.evaluate("document.body.dataset.routed")
    page.keyboard.press("j")  # the next trace, in the collapsed group: shown again
    page.wait_for_function(f"document.body.dataset.routed !== {before!r}")
    assert page.evaluate("location.hash") == f"#trace={data.traces[2].trace_id}"
    assert groups(page)["t::repeat"]["open"] and page.locator(".row.selected").count() == 1


def test_hostile_test_ids_filter_names_and_items_stay_text(
    watched: Watched, tmp_path: Path, xr: XRay
) -> None:
    traces = []
    for verdict in (True, False):
        with xr.trace(HOSTILE) as trace, trace.step(HOSTILE) as step:
            step.add_evaluation(item_id=HOSTILE, qualified=verdict, reasoning=HOSTILE,
                                filters=[{"name": HOSTILE, "passed": verdict, "detail": HOSTILE}])  # fmt: skip
        recorded = xr.store.get_trace(trace.trace_id)
        assert recorded is not None
        traces.append(recorded.model_copy(update={"test_id": HOSTILE}))
    data = ReportData(title=HOSTILE, traces=traces, tests=[TestResult(HOSTILE, "passed")])
    page = watched.open(write_report(tmp_path / "hostile.html", data))

    def texts(selector: str) -> list[str]:
        return page.locator(selector).evaluate_all("nodes => nodes.map(n => n.textContent)")

    assert texts("#trace-list .group-name") == [HOSTILE]
    assert page.locator("#trace-list .group").get_attribute("data-test") == HOSTILE
    assert texts("#ov-tests a.test-link") == [HOSTILE]
    assert texts("#ov-filters .ov-filter-name") == [HOSTILE]
    assert texts("#ov-filters .ov-filter .muted .ident") == [HOSTILE]
    assert texts("#ov-differing tbody td.ident") == [HOSTILE, HOSTILE]
    assert texts("#ov-slowest tbody td:first-child a") == [HOSTILE, HOSTILE]
    assert texts("#ov-slowest tbody a.test-link") == [HOSTILE, HOSTILE]
    assert follow(watched, page.locator("#ov-differing a.ov-rejected")) == {
        "trace": traces[1].trace_id, "step": traces[1].steps[0].step_id, "item": HOSTILE}  # fmt: skip
    assert page.locator("table.evals tr.target").count() == 1
    assert page.locator("img").count() == 0 and page.locator("script").count() == 3
    assert page.evaluate("typeof window.alert") == "function"

