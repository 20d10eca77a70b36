"""Schema 5: each step's content digest, written by the store, and the migration from version 4."""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import xray_core as xray
from xray_core.store.rows import step_digest, to_json
from xray_core.store.schema import CREATE_CURRENT, SCHEMA_VERSION

from .older import database_at

#: texts that would make a naive encoding ambiguous: separators, digits, "None", NUL
texts = st.text(alphabet="a,0\x00N", max_size=4) | st.sampled_from(["None", "-1", "0,"])
#: JSON text (input, output, metadata), as the store writes it: of the same characters
json_texts = st.recursive(st.none() | texts | st.integers(-1, 1),
                          lambda inner: st.lists(inner, max_size=2)
                          | st.dictionaries(texts, inner, max_size=2),
                          max_leaves=4).map(to_json).filter(lambda t: t is not None)  # fmt: skip
#: name, status, input, output, reasoning, metadata, error
contents = st.tuples(texts, st.sampled_from(["completed", "failed"]), st.none() | json_texts,
                     st.none() | json_texts, st.none() | texts, json_texts,
                     st.none() | texts)  # fmt: skip


@given(a=contents, b=contents)
def test_equal_digests_are_equal_contents(a: tuple[str, ...], b: tuple[str, ...]) -> None:
    assert (step_digest(*a) == step_digest(*b)) == (a == b)
    assert len(step_digest(*a)) == 16


@given(a=contents)
def test_contents_whose_texts_join_alike_have_other_digests(a: tuple[str | None, ...]) -> None:
    """Every other way of cutting the same NUL-joined text into a step's fields (and "None" or
    an empty text read as a NULL) gives another digest: the encoding is not the texts joined."""
    fields = [a[0], a[1], a[2], a[3], a[5], a[4], a[6]]  # in the order the digest joins them
    pieces = "\x00".join(str(f) for f in fields).split("\x00")
    seen = 0
    for cuts in itertools.combinations(range(1, len(pieces)), 6):
        parts = ["\x00".join(pieces[i:j]) for i, j in zip((0, *cuts), (*cuts, len(pieces)))]
        for nulls in itertools.product(*([False, True] if p in ("None", "") else [False]
                                         for p in parts)):  # fmt: skip
            b = [None if null else p for p, null in zip(parts, nulls)]
            if b[0] is None or b[1] is None or b[4] is None:  # name, status, metadata: text
                continue
            if not all(t is None or is_json(t) for t in (b[2], b[3], b[4])):
                continue  # input, output, metadata: JSON text or NULL
            other = (b[0], b[1], b[2], b[3], b[5], b[4], b[6])
            seen += 1
            assert (step_digest(*other) == step_digest(*a)) == (other == a)  # type: ignore[arg-type]
    assert seen >= 1  # a itself


def is_json(text: str) -> bool:
    """JSON text as the store writes it (never a NUL: JSON escapes it)."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return "\x00" not in text


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
    conn = database_at(path, 4)
    conn.execute("INSERT INTO steps (step_id, trace_id, name, step_order, metadata, status, "
                 "start_time) VALUES ('old.0', 'old', 's', 0, '{}', 'completed', "
                 "'2025-01-01T00:00:00+00:00')")  # fmt: skip
    conn.close()
    with xray.SQLiteStore(path, strict=True) as store:
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
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
