"""Regenerate docs/img/report*.png: ``python docs/img/make_screenshots.py``.

Records the demo pipeline (several products and seeds, one baseline that drifted, one decision
assertion that failed), writes the report, and photographs in headless Debian Chromium the
evaluations view (light and dark) and the landing page (``report-landing.png``).
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


def pytest_failure(call: str, lines: str, where: str) -> str:
    """A failure text as pytest writes it: the failing call, its ``E`` lines, where it failed."""
    marked = "\n".join(f"E       {line}" for line in lines.splitlines())
    return f">       {call}\n{marked}\n\n{where}"


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
    for seed in (1, 2, 9):
        trace = record(
            "B0REF0001", f"demo/tests/test_pipeline.py::test_stable_under_jitter[seed={seed}]", seed
        )
        traces.append(trace)
        tests.append(TestResult(trace.test_id or "", "passed", 2.0))
    flaky = traces[-1].decision("B0FLAKY01")  # seed 9 pushes its rating under the threshold
    failure = pytest_failure(
        'xray.assert_qualified("B0FLAKY01")',
        f"AssertionError: {flaky.headline()}, expected qualified.\n{flaky.details()}",
        "demo/tests/test_pipeline.py:41: AssertionError",
    )
    tests[-1] = TestResult(tests[-1].test_id, "failed", 2.0, message=failure)
    before = record("B0REF0001", "baseline")
    after = record("B0REF0001", "demo/tests/test_baselines.py::test_bottle_baseline", seed=10)
    diff = diff_traces(before, after)
    traces.append(after)
    tests.append(
        TestResult(
            after.test_id or "",
            "failed",
            4.0,
            baseline="failed",
            baseline_diffs=[diff],
            message=pytest_failure(
                "xray.assert_baseline()",
                "Failed: decisions differ from the baseline "
                f"demo/tests/__xray_baselines__/test_baselines.test_bottle_baseline.json:\n{diff}",
                "demo/tests/test_baselines.py:12: Failed",
            ),
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
        page.emulate_media(color_scheme="light")
        page.goto(path.as_uri())  # the landing page: what needs attention, and why
        page.wait_for_selector("body[data-ready]")
        time.sleep(0.3)
        page.screenshot(path=str(HERE / "report-landing.png"))
        browser.close()


if __name__ == "__main__":
    main()
