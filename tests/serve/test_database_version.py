"""What keys the server's kept results: the served database's version changes with every commit
to the file, whoever makes it, and only then; and the history's JSON, written without looking
for NaN (it holds no float), is the report's JSON."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xray_core import SQLiteStore
from xray_core.models import Run
from xray_core.serve.api import as_json_text
from xray_core.serve.database import ServedDatabase

from .histories import TEST_PICK, record_history

pytest.importorskip("fastapi", reason="the `test` extra installs the serve extra (fastapi)")


def test_the_version_changes_with_each_commit_and_only_then(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    writer = SQLiteStore(db, strict=True)  # open: the served file is read with locks
    writer.save_run(Run(run_id="r1", started_at=datetime(2026, 1, 1, tzinfo=timezone.utc)))
    served = ServedDatabase(db)
    try:
        first = served.version()
        served.rows("SELECT * FROM runs")
        assert served.version() == first  # reading changes nothing
        writer.save_run(Run(run_id="r2", started_at=datetime(2026, 1, 2, tzinfo=timezone.utc)))
        second = served.version()
        assert second != first
        conn = sqlite3.connect(db)  # another program's commit, of a value only
        conn.execute("UPDATE runs SET command = 'pytest' WHERE run_id = 'r1'")
        conn.commit()
        conn.close()
        assert served.version() not in (first, second)
    finally:
        served.close()
        writer.close()


def test_a_file_read_unlocked_gets_a_new_version_once_written(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    record_history(db, 2)  # closed: nothing beside the file, which is then read unlocked
    served = ServedDatabase(db)
    try:
        before = served.version()
        assert served.version() == before
        with SQLiteStore(db, strict=True) as store:
            store.delete_run(store.list_runs()[0].run_id)
        assert served.version() != before
        assert len(served.rows("SELECT run_id FROM runs")) == 1
    finally:
        served.close()


def test_a_kept_history_follows_a_trace_added_to_a_completed_run(tmp_path: Path) -> None:
    from xray_core.serve.cache import ResultCache
    from xray_core.serve.history import history_page

    from .test_freshness import add_trace

    db = tmp_path / "runs.db"
    runs = record_history(db, 2)
    served, cache = ServedDatabase(db), ResultCache()
    try:
        def observations() -> list[int]:
            page = history_page(served, cache, test=TEST_PICK, item="B02")
            return [sum(len(d["traces"]) for d in r["decisions"]) for r in _loads(page)["runs"]]

        assert observations() == [1, 1]
        assert observations() == [1, 1]  # kept
        add_trace(db, runs[0].run_id, 0)  # the run's end, status and trace list unchanged
        assert observations() == [2, 1]
    finally:
        served.close()


def _loads(text: str) -> Any:
    import json

    return json.loads(text)


#: JSON data without floats, as the history's (texts, ints, booleans, None)
_NO_FLOAT = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_NO_FLOAT)
def test_float_free_json_is_the_reports_json(data: Any) -> None:
    assert as_json_text(data, floats=False) == as_json_text(data)


def test_float_free_json_of_what_orjson_would_write_its_own_way() -> None:
    class Text(str):
        pass

    data = {"when": datetime(2026, 1, 1, tzinfo=timezone.utc), "id": Text("a<b"), "n": 2**70,
            "surrogate": "\udcff", "none": None}  # fmt: skip
    assert as_json_text(data, floats=False) == as_json_text(data)
