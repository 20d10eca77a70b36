"""Run status in the stores (schema v4), tests queued as they finish, and whether a run lives."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, get_args

import pytest
import sqlite_utils

import xray_core as xray
from xray_core.models import RUN_STATUSES, RunStatus
from xray_core.runstate import process_alive, shown_status, status_phrase
from xray_core.store.schema import MIGRATIONS, SCHEMA_VERSION

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def make_v3_database(path: Path) -> None:
    """A database as the previous release wrote it (schema version 3) with a run and a trace."""
    conn = sqlite3.connect(path, isolation_level=None)
    for version in (1, 2, 3):
        MIGRATIONS[version](sqlite_utils.Database(conn))
    conn.execute("PRAGMA user_version = 3")
    conn.execute(
        "INSERT INTO runs VALUES ('r3', '2025-01-01T00:00:00.000000+00:00', "
        "'2025-01-01T00:00:05.000000+00:00', 'abc', 'main', 0, 'pytest --xray-db', "
        "'{\"tests\": 1}')"
    )
    conn.execute("INSERT INTO run_tests VALUES ('r3', 't::a', 'failed', 'failed', 2.5, 'boom')")
    conn.execute(
        "INSERT INTO traces (trace_id, name, start_time, status, metadata, run_id, test_id) "
        "VALUES ('t3', 'legacy', '2025-01-01T00:00:01+00:00', 'completed', '{}', 'r3', 't::a')"
    )
    conn.close()


def test_the_run_status_literal_is_defined_once() -> None:
    assert get_args(RunStatus) == RUN_STATUSES == ("running", "completed", "interrupted", "failed")
    assert xray.Run(run_id="r", started_at=T0).status == "completed"  # e.g. an older export
    with pytest.raises(ValueError, match="status"):
        xray.Run(run_id="r", started_at=T0, status="crashed")  # type: ignore[arg-type]


def test_a_version_3_database_migrates_its_runs_to_completed(tmp_path: Path) -> None:
    db = tmp_path / "v3.db"
    make_v3_database(db)
    with xray.SQLiteStore(db, strict=True) as store:
        [run] = store.list_runs()
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 4
        tests = store.run_tests("r3")
        trace = store.get_trace("t3")
    assert run.status == "completed" and (run.host, run.pid) == (None, None)
    assert (run.git_commit, run.git_branch, run.git_dirty) == ("abc", "main", False)
    assert run.counts == {"tests": 1} and run.finished_at is not None
    assert tests == [{"test_id": "t::a", "outcome": "failed", "baseline": "failed",
                      "duration_ms": 2.5, "message": "boom"}]  # fmt: skip
    assert trace is not None and trace.name == "legacy" and trace.run_id == "r3"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        with pytest.raises(sqlite3.IntegrityError):  # the column is NOT NULL
            conn.execute("UPDATE runs SET status = NULL")


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_list_runs_filters_by_status(tmp_path: Path, kind: str) -> None:
    store: xray.Store = (
        xray.MemoryStore() if kind == "memory" else xray.SQLiteStore(tmp_path / "s.db", strict=True)
    )
    statuses: list[RunStatus] = ["completed", "interrupted", "running", "completed", "failed"]
    for i, status in enumerate(statuses):
        store.save_run(xray.Run(run_id=f"r{i}", started_at=T0 + timedelta(minutes=i),
                                status=status, host="h", pid=i))  # fmt: skip
    assert [r.run_id for r in store.list_runs(status="completed")] == ["r3", "r0"]
    assert [r.run_id for r in store.list_runs(1, status="completed")] == ["r3"]
    assert [r.status for r in store.list_runs()] == list(reversed(statuses))
    assert store.get_run("r2") == xray.Run(run_id="r2", started_at=T0 + timedelta(minutes=2),
                                           status="running", host="h", pid=2)  # fmt: skip
    with pytest.raises(ValueError, match="status must be one of running, completed, interrupted"):
        store.list_runs(status="done")  # type: ignore[arg-type]
    store.close()


def _trace_records(trace_id: str, test_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A finished trace as the recorder keeps it: plain dicts with epoch times."""
    start = T0.timestamp()
    record = {"trace_id": trace_id, "name": "pipeline", "status": "completed",
              "start_time": start, "end_time": start + 0.01, "duration_ms": 10.0,
              "metadata": {"k": "v"}, "run_id": "run", "test_id": test_id}  # fmt: skip
    steps = [{"step_id": f"{trace_id}.{i}", "trace_id": trace_id, "parent_id": None,
              "name": f"s{i}", "step_order": i, "input": {"i": i}, "metadata": {},
              "status": "completed", "start_time": start, "end_time": start,
              "duration_ms": 0.5} for i in range(2)]  # fmt: skip
    return record, steps


def test_queued_tests_are_written_by_the_writer_thread(store: xray.SQLiteStore) -> None:
    store.save_run(xray.Run(run_id="run", started_at=T0, status="running"))
    record, steps = _trace_records("t1", "m::a")
    row = {"test_id": "m::a", "outcome": "passed", "baseline": "passed", "duration_ms": 3.0}
    store.queue_test("run", row, [(record, steps)])
    store.queue_test("run", None, [_trace_records("t2", "")])  # traces without a test row
    record["name"] = "changed after queueing"  # the queue took its own copy of the record
    store.flush()
    trace = store.get_trace("t1")
    assert trace is not None and trace.name == "pipeline" and trace.metadata == {"k": "v"}
    assert [s.input for s in trace.steps] == [{"i": 0}, {"i": 1}]
    assert store.get_trace("t2") is not None
    assert store.run_tests("run") == [{**row, "message": None}]


def test_a_test_row_that_fails_loses_only_itself(store: xray.SQLiteStore) -> None:
    # no run row: the test row breaks its foreign key, its trace is kept
    store.queue_test("no-such-run", {"test_id": "m::a", "outcome": "passed"},
                     [_trace_records("t1", "m::a")])  # fmt: skip
    with pytest.raises(xray.StoreError, match="could not write a test row"):
        store.flush()
    assert store.get_trace("t1") is not None
    assert store.errors == 1


def test_the_final_save_keeps_rows_written_as_tests_finished(store: xray.SQLiteStore) -> None:
    run = xray.Run(run_id="run", started_at=T0, status="running")
    store.save_run(run)
    kept = {"test_id": "m::a", "outcome": "passed", "baseline": "passed", "duration_ms": 1.0}
    store.queue_test("run", kept)
    end = run.model_copy(update={"status": "interrupted", "finished_at": T0})
    store.save_run(end, [{"test_id": "m::a", "outcome": "passed", "baseline": None},
                         {"test_id": "m::b", "outcome": "error", "message": "crashed"}],
                   keep_tests=True)  # fmt: skip
    assert store.get_run("run") == end
    assert [(t["test_id"], t["baseline"], t["message"]) for t in store.run_tests("run")] == [
        ("m::a", "passed", None),
        ("m::b", None, "crashed"),
    ]
    store.save_run(end, [{"test_id": "m::a", "outcome": "failed"}])  # replacing is the default
    assert store.run_tests("run")[0]["outcome"] == "failed"


def test_a_live_process_a_gone_one_and_one_elsewhere() -> None:
    host = socket.gethostname()
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    gone = int(done.stdout)  # reaped by run(): no such process any more (unless reused)
    assert process_alive(host, os.getpid()) is True
    assert process_alive("another-host", os.getpid()) is None
    assert process_alive(host, None) is None

    def run(status: RunStatus, pid: int | None, on: str | None = host) -> xray.Run:
        return xray.Run(run_id="r", started_at=T0, status=status, host=on, pid=pid)

    if sys.platform != "win32":
        assert process_alive(host, gone) is False
        assert shown_status(run("running", gone)) == "unfinished"
        assert "did not finish" in status_phrase(run("running", gone))
    assert shown_status(run("running", os.getpid())) == "running"
    assert shown_status(run("running", gone, on="ci-runner-7")) == "running"
    assert shown_status(run("interrupted", gone)) == "interrupted"
    assert status_phrase(run("interrupted", None)).startswith("was interrupted")
    assert status_phrase(run("failed", None)).startswith("failed")
