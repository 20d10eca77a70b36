"""RunRecord: the pytest plugin's run without pydantic, stored and shown as the Run model is."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import xray_core
from xray_core.models import RUN_STATUSES, Run
from xray_core.store.base import RunRecord

times = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30))]),
)  # fmt: skip
text = st.none() | st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
records = st.builds(
    RunRecord,
    run_id=st.text("0123456789abcdef", min_size=1, max_size=32),
    started_at=times,
    finished_at=st.none() | times,
    git_commit=text,
    git_branch=text,
    git_dirty=st.none() | st.booleans(),
    command=text,
    counts=st.dictionaries(st.text(max_size=10), st.integers(0, 10**9), max_size=5),
    status=st.sampled_from(RUN_STATUSES),
    host=text,
    pid=st.none() | st.integers(1, 2**31),
)


@given(records)
def test_a_record_shows_as_its_model_does(record: RunRecord) -> None:
    model = record.model()
    assert isinstance(model, Run)
    assert record.as_json() == model.model_dump(mode="json")


def test_stores_keep_a_record_as_the_run_model_it_stands_for(tmp_path: Path) -> None:
    started = datetime(2026, 11, 30, 5, 0, 0, 123456, tzinfo=timezone.utc)
    record = RunRecord(run_id="r1", started_at=started, counts={"tests": 3}, status="running",
                       host="box", pid=42)  # fmt: skip
    sqlite = xray_core.SQLiteStore(tmp_path / "runs.db")
    memory = xray_core.MemoryStore()
    try:
        for store in (sqlite, memory):
            store.save_run(record, [{"test_id": "t::a", "outcome": "passed"}])
            assert store.get_run("r1") == record.model()
            assert [t["test_id"] for t in store.run_tests("r1")] == ["t::a"]
    finally:
        sqlite.close()


def test_count_runs_counts_one_status_up_to_a_limit_without_models(tmp_path: Path) -> None:
    store = xray_core.SQLiteStore(tmp_path / "runs.db")
    try:
        started = datetime(2026, 11, 30, tzinfo=timezone.utc)
        for n, status in enumerate(["completed", "running", "completed", "completed"]):
            store.save_run(RunRecord(run_id=f"r{n}", started_at=started, status=status))
        assert store.count_runs("completed") == 3
        assert store.count_runs("completed", limit=2) == 2
        assert store.count_runs("running") == 1
        assert store.count_runs("failed") == 0
        with pytest.raises(ValueError, match="status must be one of running, completed"):
            store.count_runs("done")  # type: ignore[arg-type]
    finally:
        store.close()
