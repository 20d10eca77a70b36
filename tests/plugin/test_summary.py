"""Part 6: the summary's text (unit tests of ``XraySummary.lines``) and its colours."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pytest_xray.summary import XraySummary
from xray_core.models import Run


def test_nothing_to_say() -> None:
    assert not XraySummary().has_content


def test_counts_and_plurals() -> None:
    summary = XraySummary(traces=1, tests_with_traces=1, verdicts={"passed": 1})
    assert summary.lines == [
        "1 trace captured in 1 test",
        "1 baseline: 1 passed",
        "Next: keep runs with --xray-db, or see the traces with --xray-report=PATH.",
    ]
    summary = XraySummary(traces=3, tests_with_traces=2, verdicts={"passed": 2, "written": 1})
    assert summary.lines[:2] == ["3 traces captured in 2 tests", "3 baselines: 2 passed, 1 written"]
    assert summary.lines[-1] == "Next: review the written baselines (git diff) and commit them."


def test_failing_baselines_come_with_the_update_command() -> None:
    summary = XraySummary(verdicts={"failed": 1, "passed": 1}, failing=["t.py::test_a[x y]"])
    assert summary.lines[-1] == (
        "Next: review the changes above; if the new decisions are right, accept them with: "
        "pytest --xray-update 't.py::test_a[x y]'"
    )
    broken = XraySummary(verdicts={"error": 1, "missing": 1}, failing=["t.py::a", "t.py::b"])
    assert broken.lines[-1] == (
        "Next: fix or rewrite the unreadable baselines with: pytest --xray-update t.py::a t.py::b"
    )
    many = XraySummary(verdicts={"missing": 4}, failing=[f"t.py::test_{i}" for i in range(4)])
    assert many.lines[-1] == "Next: create the missing baselines with: pytest --xray-update"


def test_unused_report_and_run() -> None:
    run = Run(
        run_id="0123456789abcdef",
        started_at=datetime.now(timezone.utc),
        git_commit="a" * 40,
        git_branch="main",
        git_dirty=True,
    )
    summary = XraySummary(
        unused=["b/x.json", "b/y.json"], report_path="r.html", db_path=".xray/runs.db", run=run
    )
    assert summary.lines == [
        "2 unused baselines:",
        "  b/x.json",
        "  b/y.json",
        "report: r.html",
        "run 0123456789ab saved to .xray/runs.db (commit aaaaaaaaaa on main, dirty)",
        "Next: re-run pytest with --xray-update to delete the unused baselines.",
    ]
    summary.unused_deleted = True
    assert summary.lines[0] == "2 unused baselines deleted:"
    assert summary.lines[-1] == "Next: open r.html in a browser."
    summary.report_path = None
    assert summary.lines[-1] == "Next: see the kept runs with: xray runs"  # the first run
    summary.completed_runs = 2
    assert summary.lines[-1] == "Next: compare with the previous run: xray diff latest~1 latest"
    summary.db_option = " --db 'my runs.db'"
    assert summary.lines[-1] == (
        "Next: compare with the previous run: xray diff --db 'my runs.db' latest~1 latest"
    )
    summary.run = run.model_copy(update={"status": "interrupted"})
    assert summary.lines[-2].startswith("run 0123456789ab (interrupted) saved to .xray/runs.db")
    assert summary.lines[-1] == "Next: see the kept runs with: xray runs --db 'my runs.db'"


def test_partial_selection_and_errors() -> None:
    summary = XraySummary(unused=["x.json"], partial=True, errors=["the run was not saved"])
    assert "error: the run was not saved" in summary.lines
    assert summary.lines[-1] == (
        "Next: run the whole suite with --xray-update to delete unused baselines."
    )
    summary.unused = []
    assert summary.lines[-1] == "Next: fix the errors above."


def test_render_with_and_without_colour() -> None:
    summary = XraySummary(traces=1, tests_with_traces=1, verdicts={"failed": 1}, failing=["t"])
    assert summary.render(color=False) == summary.lines
    coloured = summary.render(color=True)
    assert "\x1b[" in coloured[1] and "1 baseline: 1 failed" in coloured[1]


@pytest.mark.parametrize(
    ("args", "env", "coloured"),
    [
        (["--color=yes"], {}, True),
        (["--color=no"], {}, False),
        ([], {"FORCE_COLOR": "1", "PY_COLORS": ""}, True),
        # NO_COLOR wins over FORCE_COLOR: without it this run would be coloured (case above)
        ([], {"NO_COLOR": "1", "FORCE_COLOR": "1", "PY_COLORS": ""}, False),
    ],
)
def test_terminal_colour_follows_pytest(
    project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    coloured: bool,
) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value) if value else monkeypatch.delenv(name, raising=False)
    project.makepyfile(test_c="from pipeline import select\n\ndef test_c():\n    select([5])\n")
    result = project.runpytest_subprocess(*args)
    line = next(out for out in result.outlines if "trace captured" in out)
    assert ("\x1b[" in line) is coloured


def test_the_summary_counts_baseline_files_not_tests(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_named="""
        from pipeline import select

        def test_two_files(xray):
            with xray.capture() as first:
                select([5, 20])
            with xray.capture() as second:
                select([30])
            second.assert_baseline(name="second")
            first.assert_baseline(name="first")  # fails last, after both files were checked

        def test_one_file(xray):
            select([30])
            xray.assert_baseline()
        """
    )
    written = project.runpytest("--xray-update", "--xray-db=runs.db")
    written.stdout.fnmatch_lines(["3 baselines: 3 written"])
    source = project.path.joinpath("test_named.py").read_text()
    project.makepyfile(test_named=source.replace("select([5, 20])", "select([15, 20])"))
    checked = project.runpytest("--xray-db=runs.db")
    checked.assert_outcomes(failed=1, passed=1)
    checked.stdout.fnmatch_lines(["3 baselines: 2 passed, 1 failed"])
    from xray_core import SQLiteStore

    with SQLiteStore(project.path / "runs.db", strict=True) as store:
        first, second = sorted(store.list_runs(), key=lambda r: r.started_at)
    assert first.counts["baseline_written"] == 3
    assert (second.counts["baseline_passed"], second.counts["baseline_failed"]) == (2, 1)
