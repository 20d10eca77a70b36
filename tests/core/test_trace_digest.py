"""Schema 6: each trace's digest of its steps, written by the store, and the migration from 5."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import xray_core as xray
from xray_core.store.records import trace_to_records
from xray_core.store.rows import step_row, trace_digest
from xray_core.store.schema import CREATE_CURRENT, SCHEMA_VERSION, STEP_COLUMNS

from .older import database_at


def record(name: str, *, store: xray.SQLiteStore | None = None, price: bool = False
           ) -> xray.Trace:  # fmt: skip
    """A two-step trace (the second nested in the first) recorded by the real recorder."""
    recorder = xray.XRay(store=store or xray.MemoryStore())
    with recorder.trace(name) as trace:
        with trace.step("pick", input={"q": name}) as step:
            step.add_evaluation(item_id="B1", filters=[{"name": "price", "passed": price}],
                                qualified=price)  # fmt: skip
            with step.step("inner") as inner:
                inner.set_output({"n": 1})
    found = recorder.store.get_trace(trace.trace_id)
    assert found is not None
    return found


def stored(path: Path) -> dict[str, tuple[bytes | None, list[tuple[object, ...]]]]:
    """Each stored trace's digest and its step rows (``STEP_COLUMNS``)."""
    conn = sqlite3.connect(path)
    try:
        traces = dict(conn.execute("SELECT trace_id, digest FROM traces").fetchall())
        steps = conn.execute(f"SELECT {', '.join(STEP_COLUMNS)} FROM steps").fetchall()
    finally:
        conn.close()
    return {t: (d, [s for s in steps if s[1] == t]) for t, d in traces.items()}


def copied(trace: xray.Trace, trace_id: str) -> xray.Trace:
    """``trace`` under other ids (same content)."""
    ids = {s.step_id: f"{trace_id}.{i}" for i, s in enumerate(trace.steps)}
    return trace.model_copy(update={"trace_id": trace_id, "steps": [
        s.model_copy(update={"step_id": ids[s.step_id], "trace_id": trace_id,
                             "parent_id": ids.get(s.parent_id or "")})
        for s in trace.steps]})  # fmt: skip


def test_saved_traces_carry_the_digest_of_their_stored_steps(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    one, other = record("one"), record("one", price=True)
    with xray.SQLiteStore(path, strict=True) as store:
        store.save_traces([one, copied(one, "copy"), other])
        with store.transaction():  # the other way save_traces writes
            store.save_traces([copied(one, "kept")])
    rows = stored(path)
    for digest, steps in rows.values():
        assert digest is not None and digest == trace_digest(steps)
    # the same content under other ids: the same digest; another decision: another digest
    assert rows[one.trace_id][0] == rows["copy"][0] == rows["kept"][0]
    assert rows[other.trace_id][0] != rows[one.trace_id][0]


def test_a_finished_test_queued_by_the_plugin_carries_its_traces_digests(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    traces = [record("a"), record("b", price=True)]
    with xray.SQLiteStore(path, strict=True) as store:
        store.save_run(xray.Run(run_id="r1", started_at=traces[0].start_time))
        store.queue_test("r1", {"test_id": "t.py::test_x", "outcome": "passed"},
                         [trace_to_records(t) for t in traces])  # fmt: skip
        store.flush()
    rows = stored(path)
    assert set(rows) == {t.trace_id for t in traces}
    for digest, steps in rows.values():
        assert digest is not None and digest == trace_digest(steps)


def test_a_trace_recorded_step_by_step_has_no_digest(tmp_path: Path) -> None:
    """The recorder's own calls (start, each step, end) never hold every step at once: such a
    trace is read by its steps, as one stored before schema 6 is."""
    path = tmp_path / "runs.db"
    with xray.SQLiteStore(path, strict=True) as store:
        trace = record("live", store=store)
    assert stored(path)[trace.trace_id][0] is None


def test_a_queued_trace_with_a_step_that_cannot_be_built_loses_only_that_step(
    tmp_path: Path,
) -> None:
    path = tmp_path / "runs.db"
    trace = record("a")
    trace_record, steps = trace_to_records(trace)
    broken = {**steps[1], "name": None}  # no name: its row cannot be written
    failures: list[int] = []
    store = xray.SQLiteStore(path)
    try:
        store.save_run(xray.Run(run_id="r1", started_at=trace.start_time))
        store.queue_test("r1", None, [(trace_record, [steps[0], broken])])
        store.flush()
        failures.append(store.errors)
    finally:
        store.close()
    rows = stored(path)
    assert rows[trace.trace_id][0] is None  # not every step at hand: read by its steps
    assert [s[0] for s in rows[trace.trace_id][1]] == [steps[0]["step_id"]]
    assert failures == [1]


#: a trace's steps as the digest sees them: (content digest, order, parent's index or None)
shapes = st.lists(st.tuples(st.sampled_from([b"a" * 16, b"b" * 16]), st.integers(0, 3),
                            st.none() | st.integers(0, 3)), max_size=4)  # fmt: skip


def rows_of(shape: list[tuple[bytes, int, int | None]], prefix: str) -> list[tuple[object, ...]]:
    """Step rows (``STEP_COLUMNS``) of ``shape``, their ids made with ``prefix``."""
    rows = []
    for i, (digest, order, parent) in enumerate(shape):
        row = [None] * len(STEP_COLUMNS)
        row[0], row[1], row[3], row[9] = f"{prefix}{i}", prefix, "s", "completed"
        row[2] = None if parent is None else f"{prefix}{parent}"
        row[4], row[14] = order, digest
        rows.append(tuple(row))
    return rows


def canonical(shape: list[tuple[bytes, int, int | None]]) -> tuple[object, ...] | None:
    """What the digest stands for: the steps in order, each with its digest, order and parent's
    place in that order (-1: none); None when orders repeat or a parent is not a step before."""
    if len({s[1] for s in shape}) != len(shape):
        return None
    ordered = sorted(range(len(shape)), key=lambda i: shape[i][1])
    place = {i: k for k, i in enumerate(ordered)}
    found = []
    for k, i in enumerate(ordered):
        parent = shape[i][2]
        if parent is not None and not (parent in place and place[parent] < k):
            return None
        found.append((shape[i][0], shape[i][1], -1 if parent is None else place[parent]))
    return tuple(found)


@given(a=shapes, b=shapes)
def test_equal_trace_digests_are_equal_steps_in_the_same_order_and_nesting(
    a: list[tuple[bytes, int, int | None]], b: list[tuple[bytes, int, int | None]]
) -> None:
    da, db = trace_digest(rows_of(a, "x")), trace_digest(rows_of(b, "y"))
    assert (da is None) == (canonical(a) is None)
    if da is not None and db is not None:
        assert (da == db) == (canonical(a) == canonical(b))
        assert len(da) == 16
    # the order the steps are given in does not matter
    assert trace_digest(list(reversed(rows_of(a, "x")))) == da


def test_a_step_without_a_digest_leaves_its_trace_without_one() -> None:
    trace_record, steps = trace_to_records(record("a"))
    rows = [step_row(s) for s in steps]
    assert trace_digest(rows) is not None
    assert trace_digest([rows[0], (*rows[1][:14], None)]) is None


def test_a_version_5_database_is_migrated_and_its_traces_keep_no_digest(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    conn = database_at(path, 5)
    conn.close()
    with xray.SQLiteStore(path, strict=True) as store:
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
        assert store.get_trace("old") is not None
        store.save_traces([record("new")])
    rows = stored(path)
    assert rows["old"][0] is None  # stored before: readers fall back to its steps
    assert all(d is not None and d == trace_digest(s) for t, (d, s) in rows.items() if t != "old")
    conn = sqlite3.connect(path)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                          "AND sql IS NOT NULL")}  # fmt: skip
    conn.close()
    assert indexes == {s.split('"')[1] for s in CREATE_CURRENT if s.startswith("CREATE INDEX")}
    assert "idx_traces_test_run" not in indexes
