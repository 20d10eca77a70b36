"""The export benchmark runs (quick) and checks what its exporters received."""

from __future__ import annotations

from benchmarks.bench_otel_export import run


def test_the_export_benchmark_runs_and_reports_every_figure() -> None:
    figures = run(quick=True)  # its own asserts check the exporters got every trace
    assert [f.name for f in figures] == [
        "trace of 3 steps, export off",
        "export on: exporter stalled, queue filling (200 held)",
        "export on: exporter stalled, queue full (dropped)",
        "export on: live exporter (GIL shared)",
        "export thread: trace -> spans",
    ]
    assert all(f.value is not None and f.value > 0 for f in figures)
