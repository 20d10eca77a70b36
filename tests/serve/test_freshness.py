"""What the server keeps of costly results never hides a change to the database it serves."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from xray_core import SQLiteStore

from .conftest import start_server
from .histories import TEST_PICK, pipeline, placed, record_history, record_run


def add_trace(db: Path, run_id: str, when_hours: int) -> None:
    """One more trace in run ``run_id`` (as a still-running session or an import adds one)."""
    from .histories import T0

    trace = placed(pipeline(20.0), run_id=run_id, test_id=TEST_PICK,
                   when=T0 + timedelta(hours=when_hours, minutes=5))  # fmt: skip
    with SQLiteStore(db, strict=True) as store:
        store.save_traces([trace])


def test_results_follow_new_traces_status_changes_and_deletions(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    runs = record_history(db, 2)
    running = record_run(db, 2, status="running")
    server = start_server(db)
    try:
        def report_traces(run_id: str) -> int:
            return len(server.json("/api/report", {"run": run_id})["traces"])

        assert report_traces(running.run_id) == 4
        add_trace(db, running.run_id, 2)
        assert report_traces(running.run_id) == 5  # a running run's data is never kept

        assert report_traces(runs[0].run_id) == 4
        assert report_traces(runs[0].run_id) == 4  # kept now
        add_trace(db, runs[0].run_id, 0)
        assert report_traces(runs[0].run_id) == 5

        stability = server.json("/api/stability", {"last": 3})
        assert [r["status"] for r in stability["runs"]] == ["completed", "completed", "running"]
        with SQLiteStore(db, strict=True) as store:
            store.save_run(running.model_copy(update={"status": "completed"}))
        stability = server.json("/api/stability", {"last": 3})
        assert [r["status"] for r in stability["runs"]] == ["completed"] * 3
        diff = server.json("/api/diff", {"a": runs[0].run_id, "b": runs[1].run_id})
        assert diff["compared"] == 4 and len(diff["only_in_a"]) == 1
        with SQLiteStore(db, strict=True) as store:
            store.delete_run(runs[0].run_id)
        gone = server.get("/api/diff", {"a": runs[0].run_id, "b": runs[1].run_id})
        assert gone.status_code == 404
        assert server.get("/api/report", {"run": runs[0].run_id}).status_code == 404
    finally:
        status, err = server.stop()
    assert status == 0 and "Traceback" not in err
