"""Regenerate docs/img/serve-*.png: ``PYTHONPATH=. python docs/img/make_serve_screenshots.py``
(from the repository root).

Records a history of the demo pipeline (twelve runs at twelve commits; from the eighth commit on
the catalog lists B0GOOD002 at $11.99, under the price filter's bound for B0REF0001, so it is
rejected by price; the jittered test's decisions vary from seed to seed), serves it with the
real ``xray serve`` and photographs in headless Debian Chromium the runs list, the history of
B0GOOD002 and a comparison of the runs on both sides of the change.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import signal
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from playwright.sync_api import sync_playwright

from demo.data import CATALOG
from demo.pipeline import run_pipeline
from xray_core import MemoryStore, Run, SQLiteStore, Trace, XRay

HERE = Path(__file__).resolve().parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
T0 = datetime(2026, 11, 17, 9, 0, tzinfo=timezone.utc)
CHANGE_AT = 7
TESTS = {
    "demo/tests/test_pipeline.py::test_bottle_selection": ("B0REF0001", None),
    "demo/tests/test_pipeline.py::test_earbuds_selection": ("B0REF0002", None),
    "demo/tests/test_pipeline.py::test_yoga_mat_selection": ("B0REF0003", None),
    "demo/tests/test_properties.py::test_jittered_catalog": ("B0REF0001", "seed"),
}


def catalog_at(index: int) -> list:
    """The catalog of commit ``index`` (B0GOOD002's price drops at CHANGE_AT)."""
    if index < CHANGE_AT:
        return list(CATALOG)
    return [dataclasses.replace(p, price=11.99) if p.asin == "B0GOOD002" else p for p in CATALOG]


def record(db: Path, index: int) -> None:
    """Keep run ``index`` (its traces recorded by the real demo pipeline)."""
    started = T0 + timedelta(hours=6 * index)
    run_id = hashlib.sha1(f"run{index}".encode()).hexdigest()[:32]
    xr = XRay(store=MemoryStore())
    traces: list[Trace] = []
    for n, (test_id, (asin, seeded)) in enumerate(TESTS.items()):
        for seed in ([index * 7 + k for k in range(3)] if seeded else [None]):
            selection = run_pipeline(asin, seed=seed, catalog=catalog_at(index), recorder=xr)
            trace = xr.store.get_trace(selection.trace_id or "")
            assert trace is not None
            when = started + timedelta(seconds=2 * len(traces))
            shift = when - trace.start_time
            steps = [s.model_copy(update={"start_time": s.start_time + shift,
                                          "end_time": s.end_time + shift}) for s in trace.steps]  # fmt: skip
            traces.append(trace.model_copy(update={
                "run_id": run_id, "test_id": test_id, "steps": steps, "start_time": when,
                "end_time": trace.end_time + shift}))  # fmt: skip
    commit = hashlib.sha1(f"commit{index}".encode()).hexdigest()
    run = Run(run_id=run_id, started_at=started, finished_at=started + timedelta(seconds=41),
              git_commit=commit, git_branch="main", git_dirty=False,
              command="pytest --xray-db", status="completed",
              counts={"tests": len(TESTS), "passed": len(TESTS), "failed": 0,
                      "traces": len(traces), "baseline_failed": 0})  # fmt: skip
    with SQLiteStore(db, strict=True) as store:
        store.save_traces(traces)
        store.save_run(run, [{"test_id": t, "outcome": "passed", "duration_ms": 12.0}
                             for t in TESTS])  # fmt: skip


def main() -> None:
    """Record the history, serve it, take the screenshots."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "runs.db"
        for index in range(12):
            record(db, index)
        server = subprocess.Popen([sys.executable, "-m", "xray_core.cli", "serve", "--db",
                                   str(db), "--port", "0"], stdout=subprocess.PIPE, text=True)  # fmt: skip
        try:
            assert server.stdout is not None
            found = re.search(r"http://\S+/", server.stdout.readline())
            assert found, "xray serve printed no address"
            url = found.group(0)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                     args=ARGS)  # fmt: skip
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                page.goto(url)
                page.wait_for_selector("body[data-ready=runs]")
                page.screenshot(path=str(HERE / "serve-runs.png"))
                page.goto(url + "#/history?test=test_bottle_selection&item=B0GOOD002")
                page.wait_for_selector("body[data-ready=history] li.tl-entry")
                page.screenshot(path=str(HERE / "serve-history.png"))
                page.goto(url + f"compare?a=latest~{12 - CHANGE_AT}&b=latest~{11 - CHANGE_AT}")
                page.wait_for_selector("body[data-ready=true]")
                page.screenshot(path=str(HERE / "serve-compare.png"))
                browser.close()
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(30)


if __name__ == "__main__":
    main()
