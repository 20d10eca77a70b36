"""The HTML report at scale: X-Ray's report vs pytest-html on a suite of the same size.

X-Ray side: 2,000 traces of 3 steps (keyword generation with LLM metadata, candidate search,
filter & select with 50 evaluations), recorded once by the real recorder and copied with fresh
ids and test ids. Measured: ``write_report`` time, the file size against the traces' own compact
JSON (``TypeAdapter(list[Trace]).dump_json``), and in headless Chromium the time from navigation
to the first list row being visible and to every row being in the list.

Peer: pytest-html 4 (``--self-contained-html``) on a generated suite with one test per trace, each
printing its trace's JSON (so both reports carry the same data). Its write time is the time of
``pytest_sessionfinish`` (where pytest-html renders and writes its file), timed by a hook wrapper
in the suite's conftest; its load time is measured like ours (first result row visible, every
result row rendered).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

import xray_core
from xray_core.models import Trace
from xray_core.report import ReportData, TestResult, write_report

from .harness import Figure, median_seconds

GROUP = "report"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def template_trace(evaluations: int = 50) -> Trace:
    """One realistic trace recorded by the real recorder (in memory)."""
    recorder = xray_core.XRay(store=xray_core.MemoryStore())
    with recorder.trace("competitor-selection", metadata={"product_id": "P1"}) as trace:
        with trace.step("keyword_generation", input={"title": "Steel Water Bottle 750ml"}) as step:
            step.set_output({"keywords": ["steel", "water bottle", "750ml"]})
            step.set_reasoning("Extracted material and capacity")
            step.add_llm_metadata(model="mock-llm", tokens_used=42, temperature=0.2)
        with trace.step("candidate_search", input={"keywords": ["steel", "water bottle"]}) as step:
            step.set_output({"found": evaluations})
        with trace.step("filter_and_select") as step:
            for i in range(evaluations):
                step.add_evaluation(
                    item_id=f"B0ITEM{i:03d}",
                    item_data={
                        "title": f"Steel Water Bottle {i}",
                        "price": 20.0 + i,
                        "rating": 4.2,
                        "reviews": 100 + 37 * i,
                    },
                    filters=[
                        {"name": "price", "passed": True, "detail": "22.00 in [12.50, 50.00]"},
                        {"name": "rating", "passed": True, "detail": "4.20 > 3.8"},
                        {"name": "reviews", "passed": i % 3 > 0, "detail": f"{37 * i} > 100"},
                    ],
                    qualified=i % 3 > 0,
                    reasoning="Rejected by reviews" if i % 3 == 0 else "Qualified",
                )
            step.set_output({"selected": "B0ITEM001"})
    recorded = recorder.store.get_trace(str(trace.trace_id))
    assert recorded is not None
    return recorded


def make_traces(n: int) -> list[Trace]:
    """``n`` copies of the template with fresh trace/step ids and one test id each."""
    template = template_trace()
    traces = []
    for i in range(n):
        trace_id = f"{i:032x}"
        steps = [s.model_copy(update={"trace_id": trace_id, "step_id": f"{trace_id}.{k}"})
                 for k, s in enumerate(template.steps)]  # fmt: skip
        traces.append(template.model_copy(
            update={"trace_id": trace_id, "test_id": f"tests/test_bench.py::test_case[{i}]",
                    "steps": steps}))  # fmt: skip
    return traces


def own_json_size(traces: list[Trace]) -> int:
    """Bytes of the traces' own compact JSON."""
    return len(TypeAdapter(list[Trace]).dump_json(traces))


def load_times(uri: str, first: str, count_js: str, n: int) -> tuple[float, float]:
    """Seconds from navigation to the first row visible, and to ``n`` rows in the page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, bypass_csp=True)
        started = time.perf_counter()
        page.goto(uri, wait_until="commit", timeout=120_000)
        page.wait_for_selector(first, state="visible", timeout=120_000)
        visible = time.perf_counter() - started
        page.wait_for_function(f"({count_js}) >= {n}", timeout=120_000, polling=50)
        complete = time.perf_counter() - started
        browser.close()
    return visible, complete


def pytest_html_suite(folder: Path, traces: list[Trace]) -> Path:
    """A test module with one test per trace, each printing its trace's JSON."""
    data = folder / "traces.jsonl"
    data.write_text("\n".join(t.model_dump_json() for t in traces), encoding="utf-8")
    (folder / "conftest.py").write_text(textwrap.dedent("""
        import time
        import pytest

        @pytest.hookimpl(hookwrapper=True, tryfirst=True)
        def pytest_sessionfinish(session):
            started = time.perf_counter()
            yield
            with open("sessionfinish.txt", "w") as out:
                out.write(str(time.perf_counter() - started))
    """), encoding="utf-8")  # fmt: skip
    module = folder / "test_bench.py"
    module.write_text(textwrap.dedent(f"""
        import pytest
        LINES = open({str(data)!r}, encoding="utf-8").read().splitlines()

        @pytest.mark.parametrize("i", range(len(LINES)))
        def test_case(i):
            print(LINES[i])
    """), encoding="utf-8")  # fmt: skip
    return module


def pytest_html_write_time(module: Path, report: Path) -> float:
    """Run ``module`` under pytest-html (X-Ray's plugin off); seconds its sessionfinish took."""
    if importlib.util.find_spec("pytest_html") is None:
        raise RuntimeError("pytest-html, the peer, is not installed: pip install -e '.[test,bench]'")
    command = [sys.executable, "-m", "pytest", str(module), "-q", "-p", "no:xray",
               "-p", "no:cacheprovider", "-o", "addopts=", f"--html={report}",
               "--self-contained-html"]  # fmt: skip
    subprocess.run(command, cwd=module.parent, check=True, capture_output=True,
                   env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})  # fmt: skip
    return float((module.parent / "sessionfinish.txt").read_text(encoding="utf-8"))


def run(quick: bool = False) -> list[Figure]:
    """Write time, size ratio and load times of both reports (``quick``: 200 traces)."""
    n = 200 if quick else 2000
    traces = make_traces(n)
    data = ReportData(title="bench", traces=traces,
                      tests=[TestResult(t.test_id or "", "passed", 1.0) for t in traces])  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="xray-bench-report-") as tmp:
        folder = Path(tmp)
        ours = folder / "xray.html"
        write_s = median_seconds(lambda: write_report(ours, data), repeat=1 if quick else 3)
        size, own = ours.stat().st_size, own_json_size(traces)
        module = pytest_html_suite(folder, traces)
        theirs = folder / "pytest-html.html"
        peer_write = pytest_html_write_time(module, theirs)
        peer_size = theirs.stat().st_size
        found: dict[str, Any] = {}
        if Path(CHROMIUM).exists():
            found["ours"] = load_times(
                ours.as_uri(),
                "#trace-list .row",
                "document.querySelectorAll('#trace-list .row').length",
                n,
            )
            found["theirs"] = load_times(
                theirs.as_uri(), "#results-table tbody.results-table-row",
                "document.querySelectorAll('#results-table tbody.results-table-row').length", n)  # fmt: skip
    label = f"{n} traces"
    peer = f"pytest-html ({n} tests)"
    figures = [
        Figure(GROUP, f"write_report, {label}", write_s, "s", peer, peer_write,
               "< 3 s", write_s < 3.0),
        Figure(GROUP, f"HTML size / traces' compact JSON, {label}", size / own, "x",
               None, None, "<= 2x", size / own <= 2.0),
        Figure(GROUP, f"HTML size, {label}", size / 1e6, "MB", peer, peer_size / 1e6),
    ]  # fmt: skip
    if found:
        (visible, complete), (peer_visible, peer_complete) = found["ours"], found["theirs"]
        figures += [
            Figure(GROUP, f"Chromium: list visible, {label}", visible, "s", peer, peer_visible,
                   "< 2 s", visible < 2.0),
            Figure(GROUP, f"Chromium: every row listed, {label}", complete, "s", peer,
                   peer_complete),
        ]  # fmt: skip
    return figures
