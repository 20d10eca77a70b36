"""``xray report``: the ReportData it builds from the database, and the HTML it writes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

from xray_core import Run, SQLiteStore
from xray_core.commands.report import build_report_data
from xray_core.report.data import TestResult

Cli = Callable[..., tuple[int, str, str]]
History = tuple[Path, list[Run]]

OPTIONS = argparse.Namespace(title=None, ignore=[], tolerance=0.0, include_llm=False,
                             include_reasoning=False, test=None)  # fmt: skip


def _traces(db: Path, runs: list[Run]) -> list[list]:  # type: ignore[type-arg]
    with SQLiteStore(db) as store:
        return [store.list_traces(None, run_id=r.run_id) for r in runs]


def test_one_run(history: History) -> None:
    db, runs = history
    tests = [TestResult("tests/test_pick.py::test_pick", "passed", 5.0)]
    data = build_report_data(OPTIONS, [runs[2]], _traces(db, [runs[2]]), tests)
    assert data.run == runs[2] and len(data.traces) == 1 and data.tests == tests
    assert data.comparison is None and data.baseline_run is None and data.stability == []
    assert data.title == f"X-Ray report: run {runs[2].run_id[:8]} @ bbbbbbbb"


def test_two_runs_compare_the_last_with_the_one_before(history: History) -> None:
    db, runs = history
    data = build_report_data(OPTIONS, [runs[1], runs[2]], _traces(db, [runs[1], runs[2]]), [])
    assert (data.run, data.baseline_run) == (runs[2], runs[1])
    assert data.baseline_traces[0].run_id == runs[1].run_id
    assert data.comparison is not None
    (diff,) = data.comparison.changed.values()
    assert [c.item_id for c in diff.decisions] == ["B02"]
    flipping = [s for s in data.stability if not s.stable]
    assert [(s.item_id, s.verdicts) for s in flipping] == [("B02", [True, False])]


def test_stability_over_several_runs_is_oldest_first(history: History) -> None:
    db, runs = history
    given = [runs[2], runs[0], runs[1]]  # any order on the command line
    data = build_report_data(OPTIONS, given, _traces(db, given), [])
    b02 = next(s for s in data.stability if s.item_id == "B02")
    assert b02.verdicts == [True, True, False]


def test_report_command_writes_html(cli: Cli, history: History, tmp_path: Path) -> None:
    db, runs = history
    target = tmp_path / "site" / "report.html"
    status, out, err = cli("report", "--db", db, "latest~1", "latest", "-o", target)
    assert (status, err) == (0, ""), err
    assert f"report written: {target}" in out and "decisions differ" in out
    html = target.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    for text in (runs[2].run_id, runs[1].run_id, "tests/test_pick.py::test_pick", "B02"):
        assert text in html
    status, out, _ = cli("report", "--db", db, "-o", tmp_path / "one.html")  # default: latest
    assert status == 0 and f"run {runs[2].run_id[:8]}, 1 trace(s)" in out


def test_report_unwritable_target(cli: Cli, history: History, tmp_path: Path) -> None:
    db, _ = history
    blocker = tmp_path / "file"
    blocker.write_text("x")
    status, _out, err = cli("report", "--db", db, "-o", blocker / "r.html")
    assert status == 2 and err.startswith(f"xray: error: {blocker / 'r.html'}: cannot write")
