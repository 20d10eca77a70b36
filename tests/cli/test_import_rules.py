"""``xray import`` only adds: ids are kept, stored rows never change, an id is never moved.

Every case runs the real command (``python -m xray_core.cli``) and reads the database afterwards.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from xray_core import Run, Trace
from xray_core.jsonl import MAX_NESTING, ExportFormatError, RunBundle, read_export, write_export

from .conftest import COMMIT_A, T0, add_run, select_competitors
from .realcli import digest, one_line_error, xray

HEADER = '{"format": "xray-runs", "version": 1}'


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _counts(db: Path) -> dict[str, int]:
    return {table: _rows(db, f"SELECT count(*) FROM {table}")[0][0]
            for table in ("runs", "run_tests", "traces", "steps")}  # fmt: skip


def _write(path: Path, bundles: list[RunBundle]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        write_export(out, bundles)
    return path


def _bundle(run_id: str, *traces: Trace, tests: tuple[str, ...] = ()) -> RunBundle:
    run = Run(run_id=run_id, started_at=T0 + timedelta(days=1), git_commit=COMMIT_A)
    rows = [{"test_id": t, "outcome": "passed", "baseline": None, "duration_ms": 1.0,
             "message": None} for t in tests]  # fmt: skip
    return RunBundle(run, rows, list(traces))


def test_an_export_whose_run_id_was_changed_is_refused_and_nothing_moves(
    tmp_path: Path,
) -> None:
    db = tmp_path / "runs.db"
    original = add_run(db, 10.0, commit=COMMIT_A, index=0, tests=("t.py::a", "t.py::b"))
    export = tmp_path / "e.jsonl"
    assert xray("export", "latest", "-o", export, "--db", db).returncode == 0
    renamed = tmp_path / "renamed.jsonl"
    renamed.write_text(export.read_text().replace(original.run_id, "renamed-run"))
    trace_ids = sorted(r[0] for r in _rows(db, "SELECT trace_id FROM traces"))
    before, counts = digest(db), _counts(db)

    err = one_line_error(xray("import", renamed, "--db", db), f"xray: error: {renamed}: trace ",
                         f"is already in run '{original.run_id}' in {db}, not in run "
                         "'renamed-run': importing it would move it; nothing was imported")  # fmt: skip
    assert any(f"trace '{i}'" in err for i in trace_ids)
    assert digest(db) == before and _counts(db) == counts
    assert _rows(db, "SELECT DISTINCT run_id FROM traces") == [(original.run_id,)]


def test_importing_the_same_export_twice_says_nothing_was_added(tmp_path: Path) -> None:
    source = tmp_path / "source.db"
    run = add_run(source, 10.0, commit=COMMIT_A, index=0, repeats=2)
    export = tmp_path / "e.jsonl"
    assert xray("export", "latest", "-o", export, "--db", source).returncode == 0
    db = tmp_path / "copy.db"
    first = xray("import", export, "--db", db)
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout == f"{export}: 1 run(s) added, 0 already present (2 trace(s) written) " \
                           f"in {db}\n"  # fmt: skip
    before, counts = digest(db), _counts(db)
    again = xray("import", export, "--db", db)
    assert (again.returncode, again.stderr) == (0, "")
    assert again.stdout == f"{export}: nothing added: its 1 run(s) were already present in {db}\n"
    assert digest(db) == before and _counts(db) == counts == {
        "runs": 1, "run_tests": 1, "traces": 2, "steps": 4}  # fmt: skip
    as_json = json.loads(xray("import", export, "--db", db, "--json").stdout)
    assert as_json["files"][0] == {
        "file": str(export), "added": [], "already_present": [run.run_id], "merged_shards": [],
        "traces": 0, "tests": 0, "kept_as_stored": 0, "nothing_added": True,
    }  # fmt: skip


def test_a_trace_recorded_outside_any_run_is_never_moved_into_one(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    add_run(db, 10.0, commit=COMMIT_A, index=0)
    recorded = record_in_production(db)
    stolen = select_competitors(10.0, test_id="t.py::x", run_id="r2", when=T0)
    stolen = stolen.model_copy(update={
        "trace_id": recorded,
        "steps": [s.model_copy(update={"trace_id": recorded,
                                       "step_id": f"{recorded}.x{s.step_order}"})
                  for s in stolen.steps],
    })  # fmt: skip
    path = _write(tmp_path / "x.jsonl", [_bundle("r2", stolen)])
    before = digest(db)
    one_line_error(xray("import", path, "--db", db),
                   f"trace '{recorded}' is already outside any run in {db}, not in run "
                   "'r2'")  # fmt: skip
    assert digest(db) == before
    assert _rows(db, f"SELECT run_id FROM traces WHERE trace_id = '{recorded}'") == [(None,)]


PRODUCTION = """
import xray_core as xray

with xray.trace("production", metadata={"request": 7}) as trace:
    with xray.step("only") as step:
        step.set_output({"ok": True})
print(trace.trace_id)
"""


def record_in_production(db: Path, *, name: str = "production") -> str:
    """Record one trace with ``XRAY_DB`` in a process of its own (no pytest, no run)."""
    done = subprocess.run([sys.executable, "-c", PRODUCTION.replace("production", name)],
                          env={**os.environ, "XRAY_DB": str(db)}, capture_output=True,
                          text=True, timeout=120, check=True)  # fmt: skip
    return done.stdout.strip()


def test_a_step_id_of_another_trace_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    run = add_run(db, 10.0, commit=COMMIT_A, index=0)
    ((owner, step_id),) = _rows(db, "SELECT trace_id, step_id FROM steps WHERE step_order = 0")
    intruder = select_competitors(10.0, test_id="t.py::x", run_id="r2", when=T0)
    intruder = intruder.model_copy(update={"steps": [
        s.model_copy(update={"step_id": step_id}) if s.step_order == 0 else s
        for s in intruder.steps
    ]})  # fmt: skip
    path = _write(tmp_path / "x.jsonl", [_bundle("r2", intruder)])
    before = digest(db)
    one_line_error(xray("import", path, "--db", db),
                   f"step '{step_id}' already belongs to trace '{owner}' in {db}")  # fmt: skip
    assert digest(db) == before
    assert _rows(db, f"SELECT trace_id FROM steps WHERE step_id = '{step_id}'") == [(owner,)]
    assert [r[0] for r in _rows(db, "SELECT run_id FROM runs")] == [run.run_id]


def test_one_refused_file_imports_nothing_of_the_others(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    original = add_run(db, 10.0, commit=COMMIT_A, index=0)
    good = _write(tmp_path / "good.jsonl", [_bundle(
        "fresh-run", select_competitors(10.0, test_id="t.py::y", run_id="fresh-run", when=T0),
        tests=("t.py::y",),
    )])  # fmt: skip
    export = tmp_path / "e.jsonl"
    assert xray("export", "latest", "-o", export, "--db", db).returncode == 0
    moved = tmp_path / "moved.jsonl"
    moved.write_text(export.read_text().replace(original.run_id, "moved-run"))
    before, counts = digest(db), _counts(db)
    one_line_error(xray("import", good, moved, "--db", db), f"xray: error: {moved}: trace ",
                   "nothing was imported")  # fmt: skip
    assert digest(db) == before and _counts(db) == counts  # good.jsonl was not written either
    # two files moving the same new trace between runs are refused too
    twin = _write(tmp_path / "twin.jsonl", [_bundle("other-run", *(
        t.model_copy(update={"run_id": "other-run"}) for t in _traces(good)))])  # fmt: skip
    one_line_error(xray("import", good, twin, "--db", db),
                   "is already in run 'fresh-run'", "not in run 'other-run'")  # fmt: skip
    assert _counts(db) == counts
    done = xray("import", good, good, "--db", db)  # the same file twice in one command
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"{good}: 1 run(s) added, 0 already present (1 trace(s) written) in {db}",
        f"{good}: nothing added: its 1 run(s) were already present in {db}",
    ]


def _traces(path: Path) -> list[Trace]:
    return [t for bundle in read_export(path) for t in bundle.traces]


def test_a_present_run_gains_only_what_is_missing_and_keeps_its_rows(tmp_path: Path) -> None:
    first = select_competitors(10.0, test_id="t.py::a", run_id="r1", when=T0)
    second = select_competitors(20.0, test_id="t.py::b", run_id="r1", when=T0 + timedelta(1))
    partial = _write(tmp_path / "partial.jsonl", [_bundle("r1", first, tests=("t.py::a",))])
    db = tmp_path / "runs.db"
    assert xray("import", partial, "--db", db).returncode == 0
    full = _bundle("r1", first.model_copy(update={"name": "renamed"}), second,
                   tests=("t.py::a", "t.py::b"))  # fmt: skip
    full.tests[0]["outcome"] = "failed"
    full.run = full.run.model_copy(update={"command": "pytest -x"})
    done = xray("import", _write(tmp_path / "full.jsonl", [full]), "--db", db)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"{tmp_path / 'full.jsonl'}: 0 run(s) added, 1 already present (1 trace(s) written); "
        "3 stored row(s) differ from the file's and were kept as stored"
    )  # fmt: skip
    assert _rows(db, "SELECT test_id, outcome FROM run_tests ORDER BY test_id") == [
        ("t.py::a", "passed"), ("t.py::b", "passed")]  # fmt: skip
    assert sorted(_rows(db, "SELECT name FROM traces")) == [("competitor-selection",)] * 2
    assert _rows(db, "SELECT command FROM runs") == [(None,)]


def _trace_line(**changes: Any) -> str:
    trace = select_competitors(10.0, test_id="t.py::a", run_id="r1", when=T0)
    data = trace.model_dump(mode="json")
    steps = changes.pop("steps", None)
    data.update(changes)
    if steps is not None:
        data["steps"] = [{**s, **steps} for s in data["steps"]]
    return json.dumps({"type": "trace", "trace": data})


RUN_LINE = '{"type": "run", "run": {"run_id": "r1", "started_at": "2026-01-01T00:00:00Z"}}'


def _deep(levels: int) -> str:
    return '{"type": "trace", "trace": ' + "[" * levels + "]" * levels + "}"


@pytest.mark.parametrize(("lines", "line_no", "message"), [
    (['{"format": "xray-runs", "version": true}'], 1, "format version True is not supported"),
    (['{"format": "xray-runs", "version": 1.0}'], 1, "format version 1.0 is not supported"),
    ([HEADER, '{"type": "run", "run": {"run_id": "r\\u0000", "started_at": "2026-01-01"}}'], 2,
     "run id 'r\\x00' contains a NUL character"),
    ([HEADER, '{"type": "run", "run": {"run_id": "", "started_at": "2026-01-01"}}'], 2,
     "empty run id"),
    ([HEADER, '{"type": "run", "run": {"run_id": "' + "r" * 5000 + '", "started_at": "2026"}}'],
     2, "is too long (5000 characters; at most 4096)"),
    ([HEADER, RUN_LINE, '{"type": "test", "run_id": "r1", "test_id": "t\\u0000"}'], 3,
     "test id 't\\x00' contains a NUL character"),
    ([HEADER, RUN_LINE, _trace_line(trace_id="x\u0000", steps={"trace_id": "x\u0000"})], 3,
     "trace id 'x\\x00' contains a NUL character"),
    ([HEADER, RUN_LINE, _trace_line(test_id="t.py::\u0000")], 3,
     "test id 't.py::\\x00' contains a NUL character"),
    ([HEADER, RUN_LINE, _trace_line(steps={"step_id": "s\u0000"})], 3,
     "step id 's\\x00' contains a NUL character"),
    ([HEADER, RUN_LINE, _trace_line(steps={"step_id": "same"})], 3, "step 'same' appears twice"),
    ([HEADER, RUN_LINE, _deep(100_000)], 3,
     f"nested too deeply (X-Ray reads at most {MAX_NESTING} levels)"),
    ([HEADER, RUN_LINE, _deep(MAX_NESTING)], 3, "nested too deeply"),
], ids=["version true", "version 1.0", "NUL run id", "empty run id", "run id too long",
        "NUL test row id", "NUL trace id", "NUL trace test id", "NUL step id", "step id twice",
        "100k deep", "just too deep"])  # fmt: skip
def test_malformed_files_are_refused_before_anything_is_written(
    tmp_path: Path, lines: list[str], line_no: int, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ExportFormatError) as info:
        read_export(path)
    assert str(info.value).startswith(f"{path}:{line_no}: ") and message in str(info.value)
    assert str(info.value).endswith("; nothing was imported from it")


def test_a_deep_but_readable_line_round_trips(tmp_path: Path) -> None:
    deep: Any = "bottom"
    for _ in range(MAX_NESTING - 8):  # the line wraps the value in 7 levels
        deep = [deep]
    trace = select_competitors(10.0, test_id="t.py::a", run_id="r1", when=T0)
    trace = trace.model_copy(update={"metadata": {"deep": deep}})
    path = _write(tmp_path / "deep.jsonl", [_bundle("r1", trace)])
    db = tmp_path / "runs.db"
    assert xray("import", path, "--db", db).returncode == 0
    done = xray("export", "latest", "-o", "-", "--db", db)
    assert done.returncode == 0 and json.dumps(deep) in done.stdout


def test_the_real_command_refuses_a_deep_file_and_a_nul_id_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    deep = tmp_path / "deep.jsonl"
    deep.write_text(f"{HEADER}\n{RUN_LINE}\n{_deep(100_000)}\n")
    one_line_error(xray("import", deep, "--db", db), f"{deep}:3: nested too deeply")
    nul = tmp_path / "nul.jsonl"
    nul.write_text(f"{HEADER}\n{RUN_LINE}\n" + '{"type": "test", "run_id": "r1", "test_id": '
                   '"a\\u0000b"}\n')  # fmt: skip
    one_line_error(xray("import", nul, "--db", db), f"{nul}:3: test id 'a\\x00b' contains a NUL")
    version = tmp_path / "version.jsonl"
    version.write_text('{"format": "xray-runs", "version": true}\n')
    one_line_error(xray("import", version, "--db", db), "format version True is not supported")
    assert not db.exists()
