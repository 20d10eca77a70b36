"""The capture benchmark runs (quick): both sides made the same steps (its own check), and it
reports a ratio for each figure."""

from __future__ import annotations

import xray_core
from benchmarks.bench_otel_capture import capture_loop, check_same_steps, run


def test_the_capture_benchmark_reports_both_figures() -> None:
    figures = run(quick=True)
    assert [f.name for f in figures] == [
        "span -> step, JSON input/output", "span -> step, text input/output",
    ]  # fmt: skip
    assert all(f.ratio is not None and f.ratio > 0 and f.met is not None for f in figures)


def test_the_timed_loop_really_captures() -> None:
    check_same_steps()  # raises when a captured step differs from the SDK's
    store = xray_core.MemoryStore()
    capture_loop(3, store=store)()
    [trace] = store.list_traces()
    assert [s.name for s in trace.steps] == ["bench", "search", "search", "search"]
    assert trace.steps[1].input == {"query": "steel water bottle", "limit": 10}
