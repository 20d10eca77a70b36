"""``xray serve`` on a big history: 500 runs x 200 traces (100,000 traces) in one database.

The database is written straight into the real schema with ``executemany`` (rows built from one
trace recorded by the real recorder, with fresh ids and times; candidate ``B0FLIP`` is rejected
by price in the first half of the runs and qualified in the second). Its peer is the store's
own ``save_traces`` writing the same rows, timed on a few runs and scaled to the whole history.

Measured against the real server (``xray serve --port 0`` in a subprocess), over HTTP with one
keep-alive client: each API call's median time the *first* time (the first request of a server
just started, one server per call, so that nothing is kept from another request) and *again*
(the same request repeated, where the server keeps results); and in headless Chromium the time
from navigation to the runs list, and to a run's first list row, being visible. Target: each
call < 100 ms, first or again, each page < 1 s.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import xray_core
from xray_core import Run, SQLiteStore, Trace
from xray_core.store.records import trace_to_records
from xray_core.store.rows import run_test_row, step_row, trace_digest, trace_row
from xray_core.store.schema import RUN_COLUMNS, RUN_TEST_ROW_COLUMNS, STEP_COLUMNS, TRACE_ROW_COLUMNS

from .harness import Figure

GROUP = "serve"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
TESTS_PER_RUN = 20
ITEMS = ["B0FLIP", *(f"B0{i:03d}" for i in range(9))]
#: a run page's first list row: a test's group or a trace
FIRST_LIST_ROW = "#trace-list .group, #trace-list .row"
API_MS = 100.0
PAGE_S = 1.0


def template_trace(flip_qualified: bool) -> Trace:
    """A demo-shaped trace (3 steps, 10 evaluations of 3 filters) from the real recorder."""
    recorder = xray_core.XRay(store=xray_core.MemoryStore())
    with recorder.trace("competitor-selection", metadata={"product_id": "P1"}) as trace:
        with trace.step("keyword_generation", input={"title": "Steel Water Bottle 750ml"}) as step:
            step.set_output({"keywords": ["steel", "water bottle", "750ml"]})
            step.set_reasoning("Extracted material and capacity")
            step.add_llm_metadata(model="mock-llm", tokens_used=42, temperature=0.2)
        with trace.step("candidate_search", input={"keywords": ["steel", "water bottle"]}) as step:
            step.set_output({"found": len(ITEMS)})
        with trace.step("filter_and_select") as step:
            for i, item in enumerate(ITEMS):
                price_ok = flip_qualified if item == "B0FLIP" else i % 4 > 0
                step.add_evaluation(
                    item_id=item, item_data={"price": 20.0 + i, "rating": 4.2, "reviews": 300},
                    filters=[{"name": "price", "passed": price_ok, "detail": "in [12.50, 50.00]"},
                             {"name": "rating", "passed": True, "detail": "4.20 > 3.8"},
                             {"name": "reviews", "passed": True, "detail": "300 > 100"}],
                    qualified=price_ok, reasoning="ok" if price_ok else "price out of range",
                )  # fmt: skip
            step.set_output({"selected": [i for n, i in enumerate(ITEMS) if n % 4]})
    recorded = recorder.store.get_trace(trace.trace_id)
    assert recorded is not None
    return recorded


def history_rows(runs: int, traces: int) -> Iterator[tuple[str, list[Any]]]:
    """(table, rows) batches of the whole history, one run at a time, oldest run first."""
    templates = {flag: trace_to_records(template_trace(flag)) for flag in (False, True)}
    for r in range(runs):
        run_id = f"run{r:05d}" + "0" * 24
        started = T0 + timedelta(hours=r)
        record, steps = templates[r >= runs // 2]
        base = trace_row(record)
        step_bases = [step_row(s) for s in steps]
        digest = trace_digest(step_bases)  # the same steps under other ids: the same digest
        index_of = {s["step_id"]: k for k, s in enumerate(steps)}
        trace_rows, step_rows = [], []
        for t in range(traces):
            trace_id = f"{r:05d}{t:04d}" + "f" * 23
            start = started + timedelta(milliseconds=10 * t)
            shift = start - record["start_time"]
            test_id = f"tests/test_bench.py::test_case_{t % TESTS_PER_RUN}"
            trace_rows.append((trace_id, base[1], start.isoformat(timespec="microseconds"),
                               (record["end_time"] + shift).isoformat(timespec="microseconds"),
                               *base[4:7], run_id, test_id, digest))  # fmt: skip
            for k, (s, row) in enumerate(zip(steps, step_bases, strict=True)):
                parent = None if row[2] is None else f"{trace_id}.{index_of[row[2]]}"
                step_rows.append((f"{trace_id}.{k}", trace_id, parent, *row[3:11],
                                  (s["start_time"] + shift).isoformat(timespec="microseconds"),
                                  (s["end_time"] + shift).isoformat(timespec="microseconds"),
                                  *row[13:]))  # fmt: skip
        run = Run(run_id=run_id, started_at=started, finished_at=started + timedelta(minutes=5),
                  git_commit=f"{r:08x}" * 5, git_branch="main", git_dirty=False,
                  command="pytest --xray-db",
                  counts={"tests": TESTS_PER_RUN, "passed": TESTS_PER_RUN, "failed": 0,
                          "traces": traces})  # fmt: skip
        yield "traces", trace_rows
        yield "steps", step_rows
        yield "runs", [(run.run_id, started.isoformat(timespec="microseconds"),
                        run.finished_at.isoformat(timespec="microseconds") if run.finished_at
                        else None, run.git_commit, run.git_branch, 0, run.command,
                        json.dumps(run.counts, sort_keys=True), "completed", None, None)]  # fmt: skip
        yield "run_tests", [run_test_row(run_id, {"test_id": f"tests/test_bench.py::test_case_{i}",
                                                  "outcome": "passed", "duration_ms": 3.0})
                            for i in range(TESTS_PER_RUN)]  # fmt: skip


COLUMNS = {"traces": TRACE_ROW_COLUMNS, "steps": STEP_COLUMNS, "runs": RUN_COLUMNS,
           "run_tests": RUN_TEST_ROW_COLUMNS}  # fmt: skip


def write_history(db: Path, runs: int, traces: int) -> float:
    """Write the history with ``executemany`` into the real schema; returns seconds taken."""
    SQLiteStore(db, strict=True).close()  # the schema, as the store creates it
    started = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN")
    for table, rows in history_rows(runs, traces):
        columns = COLUMNS[table]
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                         f"({', '.join('?' * len(columns))})", rows)  # fmt: skip
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def store_seconds_per_run(folder: Path, traces: int, runs: int = 3) -> float:
    """The store's own writes (``save_traces`` + ``save_run``) of one run, median of ``runs``."""
    source = folder / "source.db"
    write_history(source, runs, traces)
    with SQLiteStore(source, read_only=True, strict=True) as store:
        every = [(run, store.list_traces(None, run_id=run.run_id), store.run_tests(run.run_id))
                 for run in store.list_runs()]  # fmt: skip
    target = folder / "store.db"
    times = []
    with SQLiteStore(target, strict=True) as store:
        for run, run_traces, tests in every:
            started = time.perf_counter()
            store.save_traces(run_traces)
            store.save_run(run, tests)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


@contextmanager
def served(db: Path) -> Iterator[str]:
    """The real ``xray serve`` on ``db``; yields its address."""
    process = subprocess.Popen([sys.executable, "-m", "xray_core.cli", "serve", "--db", str(db),
                                "--port", "0"], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"http://\S+/", line)
        if not found:
            raise RuntimeError(f"xray serve did not start: {line!r}")
        yield found.group(0)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)


def api_calls(client: Any, runs: int) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each API call measured: its name, path and parameters (the same in every server)."""
    first = client.get("/api/traces", params={"run": f"latest~{runs // 2}", "limit": 1}).json()
    middle, cursor = first["traces"][0], first["next"]  # a cursor half-way through all
    flip = runs - runs // 2  # latest~flip is the last run before B0FLIP's verdict changed
    return {
        "GET /api/runs (first page of 50)": ("/api/runs", {}),
        "GET /api/runs?limit=100 (the runs page)": ("/api/runs", {"limit": 100}),
        "GET /api/runs/latest": ("/api/runs/latest", {}),
        "GET /api/traces?run= (a run's first page)": ("/api/traces", {"run": middle["run_id"]}),
        "GET /api/traces (first page, all runs)": ("/api/traces", {}),
        "GET /api/traces?cursor= (a page half-way through)": ("/api/traces", {"cursor": cursor}),
        "GET /api/traces?test=&status=": ("/api/traces", {"test": "test_case_7",
                                                          "status": "completed"}),
        "GET /api/traces?q= (text in every trace)": ("/api/traces", {"q": "case_13"}),
        "GET /api/traces/{id}": (f"/api/traces/{middle['trace_id']}", {}),
        "GET /api/history?test=&item= (last 50 runs)": (
            "/api/history", {"test": "test_case_3", "item": "B0FLIP"}),
        f"GET /api/history?...&last={runs} (every run)": (
            "/api/history", {"test": "test_case_3", "item": "B0FLIP", "last": runs}),
        "GET /api/report?run= (a run page's data)": ("/api/report", {"run": "latest~7"}),
        "GET /api/diff?a=&b= (two runs, same decisions)": (
            "/api/diff", {"a": "latest~3", "b": "latest~2"}),
        "GET /api/diff?a=&b= (every trace changed)": (
            "/api/diff", {"a": f"latest~{flip}", "b": f"latest~{flip - 1}"}),
        "GET /api/stability (10 runs, every test)": ("/api/stability", {}),
        "GET /api/stability?last=5&test=": ("/api/stability", {"last": 5, "test": "case_1"}),
    }  # fmt: skip


def api_times(db: Path, runs: int, repeat: int, starts: int) -> dict[str, tuple[float, float]]:
    """Median milliseconds of each API call: ``first``, the first request of a server just
    started (nothing kept yet: median over ``starts`` servers, one per call and start), and
    ``again``, the same request repeated on a server that answered it before."""
    import httpx

    def timed(client: httpx.Client, path: str, params: dict[str, Any]) -> float:
        """Milliseconds to the body (not parsed: a browser's parsing is not the server's time)."""
        started = time.perf_counter()
        response = client.get(path, params=params)
        response.raise_for_status()
        assert response.content
        return (time.perf_counter() - started) * 1000

    with served(db) as url, httpx.Client(base_url=url, timeout=120) as client:
        calls = api_calls(client, runs)
        for path, params in calls.values():
            timed(client, path, params)  # kept by the server from now on, where it keeps any
        again: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(repeat):
            for name, (path, params) in calls.items():
                again[name].append(timed(client, path, params))
    first: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(starts):
        for name, (path, params) in calls.items():
            with served(db) as url, httpx.Client(base_url=url, timeout=120) as client:
                client.get("/docs").raise_for_status()  # the connection, not the call
                first[name].append(timed(client, path, params))
    return {name: (statistics.median(first[name]), statistics.median(again[name]))
            for name in calls}  # fmt: skip


def page_times(url: str, repeat: int) -> dict[str, float]:
    """Median seconds from navigation to the runs list, and to a run's first row, visible."""
    from playwright.sync_api import sync_playwright

    found: dict[str, list[float]] = {"runs": [], "run": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for i in range(repeat):
            # a run's list shows one row per test (collapsed groups) when a test recorded several
            # traces, one row per trace otherwise: its first row, whichever it is
            for name, path, selector in (("runs", "", "tr.run-row"),
                                         ("run", f"runs/latest~{i}", FIRST_LIST_ROW)):  # fmt: skip
                page.goto("about:blank")
                started = time.perf_counter()
                page.goto(url + path, wait_until="commit")
                page.wait_for_selector(selector, state="visible", timeout=60_000)
                found[name].append(time.perf_counter() - started)
        browser.close()
    return {name: statistics.median(values) for name, values in found.items()}


def run(quick: bool = False) -> list[Figure]:
    """The figures of ``xray serve`` on a 500 x 200 history (``quick``: 40 x 50)."""
    runs, traces = (40, 50) if quick else (500, 200)
    label = f"{runs} runs x {traces} traces"
    figures = []
    with tempfile.TemporaryDirectory(prefix="xray-bench-serve-") as tmp:
        folder = Path(tmp)
        db = folder / "runs.db"
        write_s = write_history(db, runs, traces)
        per_run = store_seconds_per_run(folder, traces)
        figures.append(Figure(GROUP, f"write the history ({label}) with executemany", write_s,
                              "s", "SQLiteStore.save_traces, scaled", per_run * runs))  # fmt: skip
        for name, (first, again) in api_times(db, runs, 3 if quick else 7,
                                              1 if quick else 3).items():  # fmt: skip
            for when, ms in (("first", first), ("again", again)):
                figures.append(Figure(GROUP, f"{name}, {when}, {label}", ms, "ms",
                                      target=f"< {API_MS:.0f} ms", met=ms < API_MS))  # fmt: skip
        if Path(CHROMIUM).exists():
            with served(db) as url:
                pages = page_times(url, 2 if quick else 5)
            for name, what in (("runs", "the runs list"), ("run", "a run's first row")):
                figures.append(Figure(GROUP, f"Chromium: {what} visible, {label}",
                                      pages[name], "s", target=f"< {PAGE_S:.0f} s",
                                      met=pages[name] < PAGE_S))  # fmt: skip
    return figures
