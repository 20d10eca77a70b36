"""What exporting every trace as OpenTelemetry spans adds to the recording thread.

The workload: ``n`` traces of three steps (input, output, reasoning, one evaluation each) recorded
with ``XRay(store=MemoryStore())``, timed on the recording thread, with export off and on:

- **queue filling**: ``XRay(exporter=...)`` with an exporter that blocks (the slowest there is)
  and a queue with room for every trace of a repeat: the queue hand-off, and the memory the
  waiting traces hold (which the garbage collector goes through);
- **queue full**: a blocked exporter whose queue is full: every trace is dropped (and counted) —
  a stalled collector must not slow the pipeline;
- **live exporter**: an exporter that takes the spans and discards them; the export thread builds
  the spans meanwhile and, under CPython's GIL, shares the CPU with the pipeline (the figure says
  how much that costs a CPU-bound pipeline; one that waits on I/O leaves the thread its gaps);
- **worker**: what the export thread spends per trace (model + spans), for scale.

Each contender's repeats are interleaved; the live queue is flushed between repeats, untimed.
After timing, the exporters are checked to have received what they were given.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import xray_core

from .harness import Figure, check

GROUP = "otel export"
STEPS = ("keyword_generation", "candidate_search", "filter_and_select")
INPUT: dict[str, Any] = {"product_id": "B0REF0001", "title": "Steel Water Bottle", "limit": 10}
OUTPUT: dict[str, Any] = {"ids": ["B0ITEM001", "B0ITEM002", "B0ITEM003"], "count": 3}
FILTERS = [{"name": "price", "passed": False, "detail": "9.50 < 12.50"}]


def exporters() -> tuple[Any, Any]:
    """A blocked exporter (with its release event) and a discarding one, as SpanExporters."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class Blocked(SpanExporter):
        def __init__(self) -> None:
            self.release = threading.Event()
            self.spans = 0

        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            self.release.wait()
            self.spans += len(spans)
            return SpanExportResult.SUCCESS

    class Discarding(SpanExporter):
        def __init__(self) -> None:
            self.spans = 0

        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            self.spans += len(spans)
            return SpanExportResult.SUCCESS

    return Blocked(), Discarding()


def record(recorder: xray_core.XRay, n: int) -> float:
    """Seconds the recording thread takes to record ``n`` traces."""
    start = time.perf_counter()
    for _ in range(n):
        with recorder.trace("competitor-selection") as trace:
            for name in STEPS:
                with trace.step(name, input=INPUT) as step:
                    step.set_output(OUTPUT)
                    step.set_reasoning("3 candidates share a keyword")
                    step.add_evaluation("B0ITEM001", {"price": 9.5}, FILTERS, qualified=False)
    return time.perf_counter() - start


def figures(quick: bool) -> list[Figure]:
    from xray_core.otel import ExportQueue, trace_spans

    n, repeat = (200, 3) if quick else (2_000, 7)
    (blocked, discarding), (stalled_exporter, _) = exporters(), exporters()
    off = xray_core.XRay(store=xray_core.MemoryStore(max_traces=n))
    hand_off = xray_core.XRay(store=xray_core.MemoryStore(max_traces=n))
    roomy = ExportQueue(blocked, max_queue=n)  # room for a repeat: the hand-off alone
    hand_off._hand_off = roomy.submit
    full = xray_core.XRay(store=xray_core.MemoryStore(max_traces=n))
    stalled = ExportQueue(stalled_exporter, max_queue=1)
    full._hand_off = stalled.submit
    record(full, 2)  # one trace held by the blocked worker, one queued: the queue is full
    live = xray_core.XRay(store=xray_core.MemoryStore(max_traces=n), exporter=discarding)
    live_queue = live._hand_off.__self__
    times: dict[str, list[float]] = {"off": [], "hand-off": [], "full": [], "live": []}
    try:
        for _ in range(repeat):
            for name, recorder in (("off", off), ("hand-off", hand_off), ("full", full),
                                   ("live", live)):  # fmt: skip
                times[name].append(record(recorder, n) / n * 1e6)
            live_queue.flush()  # untimed: the queues start each repeat empty
            blocked.release.set()
            roomy.flush()
            blocked.release.clear()  # the worker waits for the next trace: blocks on it
        us = {name: statistics.median(values) for name, values in times.items()}
        model = off.store.list_traces(limit=1)[0]
        worker = min(_time(lambda: trace_spans(model), 50) for _ in range(3)) * 1e6
    finally:
        blocked.release.set()
        stalled_exporter.release.set()
        for queue in (roomy, stalled, live_queue):
            queue.shutdown(timeout=60)
    assert stalled.dropped >= n * repeat, "the full queue did not drop"
    assert roomy.exported == n * repeat and roomy.dropped == 0, "the hand-off lost traces"
    assert blocked.spans == 4 * n * repeat, "the blocked exporter lost spans"
    assert discarding.spans == 4 * live_queue.exported, "the live exporter lost spans"
    return [
        Figure(GROUP, "trace of 3 steps, export off", us["off"], "µs"),
        Figure(GROUP, f"export on: exporter stalled, queue filling ({n:,} held)",
               us["hand-off"], "µs", "export off", us["off"]),  # fmt: skip
        _within("export on: exporter stalled, queue full (dropped)", us["full"], us["off"], 1.1),
        Figure(GROUP, "export on: live exporter (GIL shared)", us["live"], "µs",
               "export off", us["off"]),  # fmt: skip
        Figure(GROUP, "export thread: trace -> spans", worker, "µs", "recording it", us["off"]),
    ]


def _within(name: str, value: float, peer: float, bound: float) -> Figure:
    figure = Figure(GROUP, name, value, "µs", "export off", peer, f"<= {bound:g}x")
    figure.met = check(figure.ratio, "<=", bound)
    return figure


def _time(func: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        func()
    return (time.perf_counter() - start) / number


def run(quick: bool = False) -> list[Figure]:
    """Every export figure (see the module docstring)."""
    return figures(quick)
