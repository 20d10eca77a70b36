"""Export/import as JSON lines: round trip, idempotence, all-or-nothing on a malformed line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xray_core import SQLiteStore
from xray_core.jsonl import (
    ExportFormatError,
    bundle_run,
    import_bundles,
    read_export,
    write_export,
)

from .conftest import COMMIT_A, add_run


def _export(db: Path, target: Path) -> list[str]:
    with SQLiteStore(db, strict=True) as store:
        bundles = [bundle_run(store, run) for run in store.list_runs()]
    with target.open("w", encoding="utf-8") as out:
        write_export(out, bundles)
    return target.read_text(encoding="utf-8").splitlines()


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    add_run(db, 10.0, commit=COMMIT_A, index=0, tests=("t.py::a", "t.py::b"), repeats=2)
    lines = _export(db, tmp_path / "e.jsonl")
    assert json.loads(lines[0]) == {"format": "xray-runs", "version": 1}
    kinds = [json.loads(line)["type"] for line in lines[1:]]
    assert kinds == ["run"] + ["test"] * 2 + ["trace"] * 4

    other = tmp_path / "b.db"
    with SQLiteStore(other, strict=True) as store:
        result = import_bundles(store, read_export(tmp_path / "e.jsonl"))
        assert (len(result.added), result.present, result.traces) == (1, [], 4)
    with SQLiteStore(db) as a, SQLiteStore(other) as b:
        assert a.list_runs() == b.list_runs()
        run_id = a.list_runs()[0].run_id
        assert a.run_tests(run_id) == b.run_tests(run_id)
        assert a.list_traces(None) == b.list_traces(None)  # ids, steps, evaluations, times


def test_import_twice_adds_nothing(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    add_run(db, 10.0, commit=COMMIT_A, index=0)
    _export(db, tmp_path / "e.jsonl")
    target = tmp_path / "b.db"
    with SQLiteStore(target, strict=True) as store:
        first = import_bundles(store, read_export(tmp_path / "e.jsonl"))
        second = import_bundles(store, read_export(tmp_path / "e.jsonl"))
        assert len(first.added) == 1 and second.added == [] and second.present == first.added
        assert len(store.list_runs()) == 1
        assert len(store.list_traces(None)) == 1
        counts = [store._rows(f"SELECT count(*) AS n FROM {t}")[0]["n"]
                  for t in ("runs", "run_tests", "traces", "steps")]  # fmt: skip
    assert counts == [1, 1, 1, 2]


HEADER = '{"format": "xray-runs", "version": 1}'
RUN = ('{"type": "run", "run": {"run_id": "r1", "started_at": "2026-01-01T00:00:00Z"}}')


@pytest.mark.parametrize(
    ("lines", "line_no", "message"),
    [
        (["not json"], 1, "not valid JSON"),
        (['{"format": "other"}'], 1, "not an X-Ray export"),
        (['{"format": "xray-runs", "version": 99}'], 1, "format version 99 is not supported"),
        ([HEADER, "[1, 2]"], 2, "expected a JSON object, got list"),
        ([HEADER, RUN, '{"type": "span"}'], 3, "unknown line type 'span'"),
        ([HEADER, '{"type": "run", "run": {"run_id": "r1"}}'], 2, "invalid run: started_at"),
        ([HEADER, RUN, '{"type": "test", "run_id": "r9", "test_id": "t"}'], 3, "run 'r9'"),
        ([HEADER, RUN, '{"type": "test", "run_id": "r1"}'], 3, "no test_id"),
        ([HEADER, RUN, RUN], 3, "run 'r1' appears twice"),
        ([HEADER, RUN, '{"type": "trace", "trace": {"trace_id": "x", "run_id": "r1"}}'], 3,
         "invalid trace: name"),
        ([HEADER, RUN, '{"type": "trace", "trace": {"trace_id": "x", "name": "n", '
          '"start_time": "2026-01-01T00:00:00Z", "run_id": "r2"}}'], 3, "belongs to run 'r2'"),
    ],
)
def test_malformed_line_names_file_and_line(
    tmp_path: Path, lines: list[str], line_no: int, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ExportFormatError) as info:
        read_export(path)
    text = str(info.value)
    assert text.startswith(f"{path}:{line_no}: ")
    assert message in text


def test_empty_and_unreadable_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(ExportFormatError, match="empty file"):
        read_export(empty)
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ExportFormatError, match="not UTF-8"):
        read_export(binary)
    with pytest.raises(ExportFormatError, match="cannot read"):
        read_export(tmp_path / "missing.jsonl")


def test_blank_lines_are_skipped_and_numbering_stays_true(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(f"{HEADER}\n\n{RUN}\n\nbroken\n")
    with pytest.raises(ExportFormatError, match=r"e\.jsonl:5: not valid JSON"):
        read_export(path)


def test_a_file_cut_at_a_line_boundary_imports_nothing(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    add_run(db, 10.0, commit=COMMIT_A, index=0, tests=("t.py::a", "t.py::b"), repeats=2)
    lines = _export(db, tmp_path / "e.jsonl")
    assert (json.loads(lines[1])["tests"], json.loads(lines[1])["traces"]) == (2, 4)
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")  # an interrupted upload
    with pytest.raises(ExportFormatError, match=r"cut\.jsonl:2: run '\w+' announces 2 test "
                       r"row\(s\) and 4 trace\(s\), the file holds 2 and 3: it is incomplete"):
        read_export(cut)
