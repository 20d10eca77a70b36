"""Schema 5: each step's content digest, written by the store, and the migration from version 4."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils
from hypothesis import given
from hypothesis import strategies as st

import xray_core as xray
from xray_core.store.rows import step_digest
from xray_core.store.schema import CREATE_CURRENT, MIGRATIONS, SCHEMA_VERSION

#: texts that would make a naive encoding ambiguous: separators, digits, "None", NUL
texts = st.text(alphabet="a,0\x00N", max_size=4) | st.sampled_from(["None", "-1", "0,"])
contents = st.tuples(texts, st.sampled_from(["completed", "failed"]),
                     *(st.none() | texts for _ in range(5)))  # fmt: skip


@given(a=contents, b=contents)
def test_equal_digests_are_equal_contents(a: tuple[str, ...], b: tuple[str, ...]) -> None:
    assert (step_digest(*a) == step_digest(*b)) == (a == b)
    assert len(step_digest(*a)) == 16


def test_a_lone_surrogate_is_hashed() -> None:
    assert step_digest("s\udc80", "completed", None, None, None, "{}", None) != step_digest(
        "s\\udc80", "completed", None, None, None, "{}", None
    )


def stored_steps(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT name, status, input, output, reasoning, metadata, error, digest, step_id "
            "FROM steps ORDER BY step_id"
        ).fetchall()
    finally:
        conn.close()


def record(store: xray.SQLiteStore, name: str) -> xray.Trace:
    recorder = xray.XRay(store=store)
    with recorder.trace(name) as trace:
        with trace.step("pick", input={"q": name}) as step:
            step.add_evaluation(item_id="B1", filters=[{"name": "price", "passed": False}],
                                qualified=False)  # fmt: skip
            step.set_reasoning("é\n")
        with trace.step("empty"):
            pass
    found = store.get_trace(trace.trace_id)
    assert found is not None
    return found


def test_the_writer_stores_each_steps_digest_of_its_stored_texts(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with xray.SQLiteStore(path, strict=True) as store:
        recorded = record(store, "one")
        store.save_traces([recorded.model_copy(update={"trace_id": "copy", "steps": [
            s.model_copy(update={"step_id": f"copy.{i}", "trace_id": "copy"})
            for i, s in enumerate(recorded.steps)]})])  # fmt: skip
    rows = stored_steps(path)
    assert len(rows) == 4
    for row in rows:
        assert row[7] == step_digest(*row[:7])  # type: ignore[arg-type]
    by_id = {row[8]: row[7] for row in rows}
    # the same content saved again under other ids: the same digests
    assert sorted(by_id[f"copy.{i}"] for i in range(2)) == sorted(
        by_id[s.step_id] for s in recorded.steps
    )


def test_a_version_4_database_is_migrated_and_its_steps_keep_no_digest(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for version in range(1, 5):
        MIGRATIONS[version](sqlite_utils.Database(conn))
    conn.execute("PRAGMA user_version = 4")
    conn.execute("INSERT INTO traces (trace_id, name, start_time, status, metadata) "
                 "VALUES ('old', 'legacy', '2025-01-01T00:00:00+00:00', 'completed', '{}')")  # fmt: skip
    conn.execute("INSERT INTO steps (step_id, trace_id, name, step_order, metadata, status, "
                 "start_time) VALUES ('old.0', 'old', 's', 0, '{}', 'completed', "
                 "'2025-01-01T00:00:00+00:00')")  # fmt: skip
    conn.close()
    with xray.SQLiteStore(path, strict=True) as store:
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
        old = store.get_trace("old")
        assert old is not None and [s.step_id for s in old.steps] == ["old.0"]
        record(store, "new")
    rows = {row[8]: row for row in stored_steps(path)}
    assert rows["old.0"][7] is None  # stored before: readers fall back to its text
    assert all(row[7] == step_digest(*row[:7]) for key, row in rows.items() if key != "old.0")  # type: ignore[arg-type]
    conn = sqlite3.connect(path)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                          "AND sql IS NOT NULL")}  # fmt: skip
    conn.close()
    created = {s.split('"')[1] for s in CREATE_CURRENT if s.startswith("CREATE INDEX")}
    assert indexes == created
    assert not {"idx_steps_trace_id", "idx_traces_created_at", "idx_traces_test_id"} & indexes
