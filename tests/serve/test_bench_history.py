"""The serve benchmark's history, written with executemany, is a database X-Ray reads as its own."""

from __future__ import annotations

from pathlib import Path

from benchmarks.bench_serve import TESTS_PER_RUN, store_seconds_per_run, write_history
from xray_core import SQLiteStore
from xray_core.serve.api import runs_page, traces_page
from xray_core.serve.database import ServedDatabase
from xray_core.serve.history import item_history


def test_the_generated_history_reads_like_a_recorded_one(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    assert write_history(db, 4, 25) > 0
    with SQLiteStore(db, read_only=True, strict=True) as store:
        runs = store.list_runs()
        assert len(runs) == 4 and all(r.status == "completed" for r in runs)
        traces = store.list_traces(None, run_id=runs[0].run_id)
        assert len(traces) == 25 and len(store.run_tests(runs[0].run_id)) == TESTS_PER_RUN
        trace = traces[0]
        assert [s.name for s in trace.steps] == ["keyword_generation", "candidate_search",
                                                 "filter_and_select"]  # fmt: skip
        assert trace.decision("B0FLIP").qualified  # the newer half of the runs
        assert all(s.trace_id == trace.trace_id and s.start_time >= trace.start_time
                   for s in trace.steps)  # fmt: skip
    served = ServedDatabase(db)
    try:
        assert len(runs_page(served, limit=10)["runs"]) == 4
        assert len(traces_page(served, limit=500)["traces"]) == 100
        history = item_history(served, test="test_case_3", item="B0FLIP")
        assert [e["verdict"] for e in history["runs"]] == ["rejected by price"] * 2 + [
            "qualified"] * 2  # fmt: skip
    finally:
        served.close()
    assert store_seconds_per_run(tmp_path, 5, runs=2) > 0
