"""A full disk is reported as a full disk.

After SQLITE_FULL SQLite rolls the transaction back itself, so the store's own ROLLBACK fails
with "cannot rollback - no transaction is active"; that error must not replace the real one.
``PRAGMA max_page_count`` makes SQLite fail with a real SQLITE_FULL ("database or disk is
full") as soon as a write would grow the file, without filling a disk.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

import xray_core as xray
from xray_core.jsonl import RunBundle, import_bundles

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
FULL = "database or disk is full"


class FullDiskStore(xray.SQLiteStore):
    """The real store, on a "disk" that can hold ``pages`` pages (0: what the file has now)."""

    pages = 0

    def _connect(self) -> sqlite3.Connection:
        conn = super()._connect()
        pages = self.pages or conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite keeps it >= the current size
        return conn


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    xray.SQLiteStore(path, strict=True).close()  # the schema, then nothing more fits
    return path


def _runs(path: Path) -> list[str]:
    with xray.SQLiteStore(path, strict=True) as store:
        return [r.run_id for r in store.list_runs()]


def test_a_run_that_does_not_fit_says_the_disk_is_full(db: Path) -> None:
    store = FullDiskStore(db, strict=True)
    run = xray.Run(run_id="big", started_at=T0, command="pytest " + "x" * 200_000)
    with pytest.raises(xray.StoreError) as info:
        store.save_run(run)
    assert FULL in str(info.value) and "cannot rollback" not in str(info.value)
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    store.save_run(xray.Run(run_id="small", started_at=T0))  # the store goes on working
    store.close()
    assert _runs(db) == ["small"]


def test_recording_on_a_full_disk_reports_the_full_disk(db: Path) -> None:
    store = FullDiskStore(db, strict=True)
    recorder = xray.XRay(store=store)
    with pytest.raises(xray.StoreError) as info, \
            recorder.trace("big", metadata={"blob": "x" * 200_000}) as trace, trace.step("only"):
        pass
    assert FULL in str(info.value) and "cannot rollback" not in str(info.value)
    store.close()
    lenient = FullDiskStore(db)
    with xray.XRay(store=lenient).trace("big", metadata={"blob": "x" * 200_000}):
        pass  # not strict: counted and logged, the pipeline goes on
    lenient.close()
    assert lenient.errors == 2  # the trace's start and end rows


def test_an_import_that_does_not_fit_writes_nothing_and_says_why(db: Path) -> None:
    trace = xray.Trace(trace_id="t1", name="big", status="completed", start_time=T0,
                       run_id="r1", metadata={"blob": "x" * 200_000})  # fmt: skip
    bundle = RunBundle(xray.Run(run_id="r1", started_at=T0), [], [trace])
    store = FullDiskStore(db, strict=True)
    with pytest.raises(xray.StoreError, match=FULL) as info:
        import_bundles(store, [bundle])
    assert "cannot rollback" not in str(info.value)
    store.close()
    lenient = FullDiskStore(db)  # an import is asked for: it raises even without strict
    with pytest.raises(xray.StoreError, match=FULL):
        import_bundles(lenient, [bundle])
    lenient.close()
    assert _runs(db) == []
    with xray.SQLiteStore(db, strict=True) as reader:
        assert reader.get_trace("t1") is None


def test_creating_the_schema_on_a_full_disk_says_the_disk_is_full(tmp_path: Path) -> None:
    FullDiskStore.pages = 2  # room for the header and one table, not for the schema
    try:
        with pytest.raises(xray.StoreError) as info:
            FullDiskStore(tmp_path / "new.db", strict=True)
    finally:
        FullDiskStore.pages = 0
    assert FULL in str(info.value) and "cannot rollback" not in str(info.value)


def test_the_cli_reports_a_full_disk_in_one_line(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from xray_core.cli import main
    from xray_core.commands import common
    from xray_core.jsonl import write_export

    trace = xray.Trace(trace_id="t1", name="big", status="completed", start_time=T0,
                       run_id="r1", metadata={"blob": "x" * 200_000})  # fmt: skip
    export = tmp_path / "big.jsonl"
    with export.open("w", encoding="utf-8") as out:
        write_export(out, [RunBundle(xray.Run(run_id="r1", started_at=T0), [], [trace])])
    monkeypatch.setattr(common, "SQLiteStore", FullDiskStore)  # the CLI opens the "full disk"
    assert main(["import", str(export), "--db", str(db)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"xray: error: {db}: {FULL}")
    assert _runs(db) == []
