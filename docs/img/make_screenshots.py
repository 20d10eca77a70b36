"""Regenerate docs/img/report.png and report-dark.png: ``python docs/img/make_screenshots.py``.

Records the demo pipeline (several products and seeds, one baseline that drifted), writes the
report, and photographs the evaluations view in headless Debian Chromium (light and dark).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from demo.data import REFERENCE_PRODUCTS
from demo.pipeline import run_pipeline
from xray_core import MemoryStore, Trace, XRay, diff_traces
from xray_core.models import Run
from xray_core.report import ReportData, TestResult, write_report

HERE = Path(__file__).resolve().parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
SCROLL_TO_TIMELINE = """() => {
  const pane = document.querySelector('#detail');
  const box = document.querySelector('.waterfall').closest('section').getBoundingClientRect();
  pane.scrollTop += box.top - pane.getBoundingClientRect().top - 8;
}"""


def demo_report() -> ReportData:
    """A realistic run: the demo's products, jittered repeats, one failed baseline."""
    xr = XRay(store=MemoryStore())

    def record(asin: str, test_id: str, seed: int | None = None) -> Trace:
        selection = run_pipeline(asin, seed=seed, recorder=xr)
        trace = xr.store.get_trace(selection.trace_id or "")
        assert trace is not None
        return trace.model_copy(update={"test_id": test_id, "run_id": "7f3a91c2e4b8d0a1"})

    traces, tests = [], []
    for product in REFERENCE_PRODUCTS:
        trace = record(
            product.asin, f"demo/tests/test_pipeline.py::test_selects_competitor[{product.asin}]"
        )
        traces.append(trace)
        tests.append(TestResult(trace.test_id or "", "passed", 3.0, baseline="passed"))
    for seed in (1, 2, 3):
        trace = record(
            "B0REF0001", f"demo/tests/test_pipeline.py::test_stable_under_jitter[seed={seed}]", seed
        )
        traces.append(trace)
        tests.append(TestResult(trace.test_id or "", "passed", 2.0))
    before = record("B0REF0002", "baseline")
    after = record("B0REF0002", "demo/tests/test_baselines.py::test_earbuds_baseline", seed=7)
    diff = diff_traces(before, after)
    traces.append(after)
    tests.append(
        TestResult(
            after.test_id or "",
            "failed",
            4.0,
            baseline="failed",
            baseline_diffs=[diff],
            message="AssertionError: baseline differs\n" + str(diff),
        )
    )
    tests.append(
        TestResult("demo/tests/test_hypothesis.py::test_prices_never_crash", "passed", 412.0)
    )
    run = Run(
        run_id="7f3a91c2e4b8d0a1",
        started_at=traces[0].start_time,
        git_commit="3c9e1f27b5a04d6e8f1c2b3a4d5e6f7a8b9c0d1e",
        git_branch="main",
        git_dirty=False,
        command="pytest demo/tests --xray-report=report.html",
    )
    return ReportData(title="demo — competitor selection", run=run, traces=traces, tests=tests)


def main() -> None:
    """Write the report to a temporary folder and take both screenshots."""
    data = demo_report()
    first = data.traces[0]
    fragment = f"#trace={first.trace_id}&step={first.step('filter_and_select').step_id}"
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        path = write_report(Path(tmp) / "report.html", data)
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(path.as_uri() + fragment)
        page.wait_for_selector("body[data-ready]")
        for scheme, name in (("light", "report.png"), ("dark", "report-dark.png")):
            page.emulate_media(color_scheme=scheme)
            page.evaluate(SCROLL_TO_TIMELINE)
            time.sleep(0.3)
            page.screenshot(path=str(HERE / name))
        browser.close()


if __name__ == "__main__":
    main()
