"""``python -m benchmarks`` runs and prints its table (a smoke test, not a timing assertion)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.__main__ import available, format_number

ROOT = Path(__file__).parents[1]


def run_benchmarks(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_quick_recording_prints_the_table() -> None:
    result = run_benchmarks("--quick", "--only", "recording")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for header in ("group", "figure", "value", "peer", "ratio", "target", "met"):
        assert header in out
    assert "OpenTelemetry span" in out and "bare dict recorder" in out
    assert "<= 0.25x" in out and "µs" in out
    assert "persisted" not in out and "durability" not in out  # --only kept sqlite out


def test_unknown_benchmark_is_refused_with_the_choices() -> None:
    result = run_benchmarks("--only", "nope")
    assert result.returncode == 2
    assert "--only 'nope': no such benchmark" in result.stderr
    assert "recording" in result.stderr and "sqlite" in result.stderr


def test_discovery_and_number_formatting() -> None:
    assert {"recording", "sqlite"} <= set(available())
    assert [format_number(v) for v in (48709.3, 25.61, 0.0386, None)] == [
        "48,709", "25.6", "0.0386", "-",
    ]  # fmt: skip


def test_sqlite_benchmark_functions_on_tiny_sizes(tmp_path: Path) -> None:
    from benchmarks.bench_sqlite import durability_window, template_steps, throughput

    trace, step = template_steps(50)
    assert len(step["metadata"]["evaluations"]) == 50 and step["trace_id"] == trace["trace_id"]
    rates = throughput(50, 20, 1, tmp_path)
    assert set(rates) == {"store", "raw"} and all(rate > 0 for rate in rates.values())
    latencies = durability_window(3, tmp_path)
    assert len(latencies) == 3 and all(ms >= 0 for ms in latencies)
