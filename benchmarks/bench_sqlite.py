"""Persisting steps to SQLite: X-Ray's ``SQLiteStore`` vs raw ``sqlite3`` ``executemany``.

Both sides get the same step dicts (recorded once by the real recorder, then given fresh ids) and
are timed until the rows are durable: for the store, ``start_trace`` + ``save_step`` per step +
``end_trace`` (which returns once every write is committed); for raw sqlite3, ``json.dumps`` of
the dict fields, one ``executemany`` in one transaction, ``COMMIT``. Both databases are in WAL
mode with ``synchronous=NORMAL`` and the same schema, in a temporary directory.

The durability window is the time from a step's exit until a second connection sees its row.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xray_core

from .harness import Figure, check

GROUP = "sqlite"
# The columns of the store's ``steps`` table (the raw writer fills the same schema); spelled out
# here rather than imported, so a refactor of the store's modules cannot change what is measured.
STEP_COLUMNS = ("step_id", "trace_id", "parent_id", "name", "step_order", "input", "output",
                "reasoning", "metadata", "status", "error", "start_time", "end_time",
                "duration_ms")  # fmt: skip
_RAW_INSERT = (
    f"INSERT INTO steps ({', '.join(STEP_COLUMNS)}) VALUES ({', '.join('?' * len(STEP_COLUMNS))})"
)
_RAW_TRACE = "INSERT INTO traces (trace_id, name, start_time, status) VALUES (?, ?, ?, ?)"


def _filters(i: int) -> list[dict[str, Any]]:
    return [
        {"name": "price", "passed": True, "detail": "22.00 in [12.50, 50.00]"},
        {"name": "rating", "passed": True, "detail": "4.20 > 3.8"},
        {"name": "reviews", "passed": i % 3 > 0, "detail": f"{37 * i} > 100"},
    ]


class RecordsKept(xray_core.MemoryStore):
    """A memory store that also keeps the last trace and step records the recorder gave it."""

    trace: dict[str, Any]
    step: dict[str, Any]

    def save_step(self, record: dict[str, Any]) -> None:
        self.step = dict(record)
        super().save_step(record)

    def end_trace(self, record: dict[str, Any]) -> None:
        self.trace = dict(record)
        super().end_trace(record)


def template_steps(evaluations: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A trace record and one step record made by the real recorder (in memory)."""
    store = RecordsKept()
    recorder = xray_core.XRay(store=store)
    with (
        recorder.trace("bench") as trace,
        trace.step("filter_and_select", input={"product_id": "B0REF0001"}) as step,
    ):
        for i in range(evaluations):
            step.add_evaluation(
                item_id=f"B0ITEM{i:03d}",
                item_data={"title": f"Steel Water Bottle {i}", "price": 20.0 + i, "rating": 4.2,
                           "reviews": 100 + 37 * i},
                filters=_filters(i),
                qualified=i % 3 > 0,
                reasoning="Rejected by reviews" if i % 3 == 0 else "Qualified",
            )  # fmt: skip
        step.set_output({"selected": "B0ITEM001", "count": evaluations})
        step.set_reasoning("the most reviewed qualified candidate")
    return store.trace, store.step


def fresh_batch(
    template: tuple[dict[str, Any], dict[str, Any]], n: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``n`` copies of the template step under a new trace id."""
    trace, step = template
    trace_id = uuid.uuid4().hex
    steps = [
        dict(step, step_id=f"{trace_id}.{i}", trace_id=trace_id, step_order=i) for i in range(n)
    ]
    return dict(trace, trace_id=trace_id), steps


def store_writer(path: Path) -> tuple[Callable[[dict[str, Any], list[dict[str, Any]]], None], Any]:
    """Persist a batch through :class:`xray_core.SQLiteStore` (durable when end_trace returns)."""
    store = xray_core.SQLiteStore(path, strict=True)

    def write(trace: dict[str, Any], steps: list[dict[str, Any]]) -> None:
        store.start_trace(trace)
        for step in steps:
            store.save_step(step)
        store.end_trace(dict(trace, status="completed"))

    return write, store.close


def raw_writer(path: Path) -> tuple[Callable[[dict[str, Any], list[dict[str, Any]]], None], Any]:
    """Persist a batch with plain sqlite3: json.dumps, one executemany, one commit."""
    xray_core.SQLiteStore(path).close()  # the same schema as the store's
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    encode = json.dumps

    def dumps(value: Any) -> str:
        # The recorder keeps a step's input and output as their JSON text (bytes) when it can:
        # taken as it is here too, so the peer does no more work than the store for them.
        return value.decode("utf-8") if type(value) is bytes else encode(value)

    def write(trace: dict[str, Any], steps: list[dict[str, Any]]) -> None:
        rows = [
            (s["step_id"], s["trace_id"], s.get("parent_id"), s["name"], s["step_order"],
             dumps(s.get("input")), dumps(s.get("output")), s.get("reasoning"),
             dumps(s.get("metadata")), s["status"], s.get("error"), s["start_time"],
             s.get("end_time"), s.get("duration_ms"))
            for s in steps
        ]  # fmt: skip
        conn.execute("BEGIN")
        conn.execute(_RAW_TRACE, (trace["trace_id"], trace["name"], trace["start_time"], "ok"))
        conn.executemany(_RAW_INSERT, rows)
        conn.execute("COMMIT")

    return write, conn.close


def throughput(evaluations: int, n: int, repeat: int, tmp: Path) -> dict[str, float]:
    """Median steps per second of each writer, their repeats interleaved."""
    template = template_steps(evaluations)
    writers = {
        "store": store_writer(tmp / f"store{evaluations}.db"),
        "raw": raw_writer(tmp / f"raw{evaluations}.db"),
    }
    times: dict[str, list[float]] = {name: [] for name in writers}
    try:
        for _ in range(repeat):
            for name, (write, _close) in writers.items():
                trace, steps = fresh_batch(template, n)
                start = time.perf_counter()
                write(trace, steps)
                times[name].append(time.perf_counter() - start)
    finally:
        for _write, close in writers.values():
            close()
    return {name: n / statistics.median(values) for name, values in times.items()}


def durability_window(steps: int, tmp: Path) -> list[float]:
    """Milliseconds from each step's exit until a second connection sees its row."""
    path = tmp / "window.db"
    store = xray_core.SQLiteStore(path, strict=True)
    recorder = xray_core.XRay(store=store)
    reader = sqlite3.connect(path, isolation_level=None)
    latencies = []
    try:
        with recorder.trace("durability") as trace:
            for i in range(steps):
                with trace.step("step", input={"i": i}) as step:
                    step.set_output({"ok": True})
                ended = time.perf_counter()
                while not reader.execute(
                    "SELECT 1 FROM steps WHERE step_id = ?", (step.step_id,)
                ).fetchone():
                    time.sleep(0.0002)
                latencies.append((time.perf_counter() - ended) * 1000)
    finally:
        reader.close()
        store.close()
    return latencies


def run(quick: bool = False) -> list[Figure]:
    """Steps per second (small steps, 50-evaluation steps) and the durability window."""
    small, large, repeat, window = (2_000, 100, 3, 20) if quick else (20_000, 1_000, 7, 200)
    figures = []
    with tempfile.TemporaryDirectory(prefix="xray-bench-") as tmp:
        for label, evaluations, n, target in (
            ("small steps", 0, small, 0.8),
            ("50-evaluation steps", 50, large, 0.5),
        ):
            rates = throughput(evaluations, n, repeat, Path(tmp))
            figure = Figure(GROUP, f"{label} persisted", rates["store"], "steps/s",
                            "raw sqlite3 executemany", rates["raw"], f">= {target}x")  # fmt: skip
            figure.met = check(figure.ratio, ">=", target)
            figures.append(figure)
        latencies = durability_window(window, Path(tmp))
    for label, value in (("median", statistics.median(latencies)), ("max", max(latencies))):
        figures.append(Figure(GROUP, f"durability window ({label})", value, "ms",
                              target="<= 100 ms", met=value <= 100))  # fmt: skip
    return figures
