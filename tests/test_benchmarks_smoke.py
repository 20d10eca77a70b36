"""``python -m benchmarks`` runs and prints its table (a smoke test, not a timing assertion)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

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
    assert {"recording", "sqlite", "trace", "plugin_suite", "pytester"} <= set(available())
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


def test_quick_trace_prints_the_three_step_trace_figures() -> None:
    result = run_benchmarks("--quick", "--only", "trace")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "3-step trace, XRay(store=MemoryStore())" in out
    assert "OpenTelemetry: 1 + 3 spans" in out and "bare dict recorder" in out
    assert "<= 0.10x" in out and "<= 3x" in out
    assert "bare dict recorder, CPU time" in out  # the floor ratio in CPU time too


def test_trace_contenders_check_what_they_recorded() -> None:
    from benchmarks.bench_trace import BareTraces, OTelTraces, XRayTraces

    for contender in (XRayTraces(4), OTelTraces(4), BareTraces(4)):
        with pytest.raises(AssertionError):
            contender.check()  # nothing recorded yet: the check must not pass
        contender()
        contender.check()


def test_plugin_suite_records_one_trace_per_test(tmp_path: Path) -> None:
    from benchmarks.bench_plugin_suite import check_recorded, pytest_process, write_suite

    root = write_suite(tmp_path / "suite", 10)
    assert len(list(root.glob("test_mod*.py"))) == 10
    db, report = tmp_path / "runs.db", tmp_path / "report.html"
    pytest_process(root, 10, lambda: [f"--xray-db={db}", f"--xray-report={report}"], {})()
    check_recorded(db, report, 10)
    with pytest.raises(AssertionError, match="10 traces"):
        check_recorded(db, report, 11)
    pytest_process(root, 10, lambda: ["-p", "no:xray"], {"XRAY_ENABLED": "0"})()


def test_pytester_workload_logs_the_peak_after_each_inline_session(tmp_path: Path) -> None:
    from benchmarks.bench_pytester import outer_session, requirements, write_suite

    pins = {pin.split("==")[0] for pin in requirements()}
    assert {"pytest", "pytest-xdist", "pydantic"} <= pins and "decisiontracex" not in pins
    empty = tmp_path / "empty"
    empty.mkdir()
    log = tmp_path / "rss.log"
    suite = write_suite(tmp_path / "suite", 1, log)
    # decisiontracex is installed in this interpreter: the sessions must see the plugin ...
    elapsed, cpu, peaks = outer_session(Path(sys.executable), suite, empty, True, log, 1)
    assert elapsed > 0 and cpu > 0 and len(peaks) == 1 and peaks[0] > 0
    # ... and the suite notices when that is not what the contender expects (-x: fails fast)
    with pytest.raises(RuntimeError, match="without the plugin"):
        outer_session(Path(sys.executable), suite, empty, False, log, 1)


def test_pytester_figures_are_the_medians_of_each_round_s_own_ratio() -> None:
    from benchmarks.bench_pytester import figures

    def run(seconds: float, peak_kib: int) -> tuple[float, float, list[int]]:
        return seconds, seconds * 2, [1024] * 4 + [peak_kib]

    # the rounds' own ratios are 2, 0.9 and 1.1; the ratio of the medians would be 9 / 10
    paired = [{"installed": run(2, 2048), "not installed": run(1, 1024)},
              {"installed": run(9, 1024), "not installed": run(10, 1024)},
              {"installed": run(11, 1024), "not installed": run(10, 1024)}]  # fmt: skip
    alone = [{"installed": run(5, 1024), "not installed": run(4, 1024)}]
    wall, cpu, wall_alone, _, outer_peak, growth, _ = figures(paired, alone, 5)
    assert (wall.value, wall.peer_value, wall.ratio, wall.met) == (9, 10, 1.1, False)
    assert (cpu.value, cpu.ratio, cpu.target) == (18, 1.1, "<= 1.05x")
    assert "side by side, 3 rounds" in wall.name and "alone" in wall_alone.name
    assert (wall_alone.ratio, wall_alone.target, wall_alone.met) == (1.25, None, None)
    assert (outer_peak.value, outer_peak.ratio) == (1.0, 1.0)
    assert (growth.peer, growth.ratio) == ("after 1 sessions", 1.0)


def test_side_by_side_runs_every_call_at_the_same_time() -> None:
    from benchmarks.harness import side_by_side

    barrier = threading.Barrier(3, timeout=30)  # passed only once all three are waiting

    def call(name: str) -> Callable[[], str]:
        return lambda: f"{name}{barrier.wait()}"

    results = side_by_side({n: call(n) for n in "abc"})  # one after the other: BrokenBarrierError
    assert sorted(results) == ["a", "b", "c"] and all(results[n][0] == n for n in results)
    assert sorted(value[1] for value in results.values()) == ["0", "1", "2"]
    with pytest.raises(ZeroDivisionError):
        side_by_side({"ok": lambda: 1, "fails": lambda: 1 / 0})


def test_quick_run_says_why_the_pytester_figures_are_missing() -> None:
    result = run_benchmarks("--quick", "--only", "pytester")
    assert result.returncode == 0, result.stderr
    assert "not run with --quick" in result.stdout and "--only pytester" in result.stdout


def test_each_round_of_interleaved_repeats_starts_one_contender_further_on() -> None:
    from benchmarks.harness import interleaved_medians

    calls: list[str] = []
    funcs = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    medians = interleaved_medians(funcs, repeat=4)
    assert "".join(calls) == "abc" + "bca" + "cab" + "abc"
    assert set(medians) == {"a", "b", "c"}


def test_wall_and_cpu_medians_come_from_the_same_interleaved_calls() -> None:
    from benchmarks.harness import interleaved_wall_and_cpu

    calls: list[str] = []
    funcs = {name: (lambda name=name: calls.append(name)) for name in "ab"}
    wall, cpu = interleaved_wall_and_cpu(funcs, repeat=3, number=2)
    assert "".join(calls) == "aabb" + "bbaa" + "aabb"  # one pass: both clocks read around it
    assert set(wall) == set(cpu) == {"a", "b"}
    assert all(value >= 0 for value in (*wall.values(), *cpu.values()))
