"""GroupCommitWriter alone: a real SQLite file, a real thread, no store around it.

Transactions are counted from the writer connection's own statement trace
(``Connection.set_trace_callback``): every ``COMMIT`` it ran.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from xray_core.exceptions import StoreError
from xray_core.store.database import connect
from xray_core.store.writer import GroupCommitWriter, Item, Statement

INSERT = Statement("INSERT INTO kv (k, v) VALUES (?, ?)", "pair",
                   on_conflict="INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)")  # fmt: skip
STRICT_INSERT = Statement("INSERT INTO kv (k, v) VALUES (?, ?)", "pair")


def pair(record: dict[str, Any]) -> tuple[Any, ...]:
    return (record["k"], record["v"])


class Harness:
    """A writer on ``path`` whose connections log their statements and whose failures are kept."""

    def __init__(self, path: Path, *, busy_timeout: float = 0.2, **options: Any) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.statements: list[str] = []
        self.failures: list[tuple[StoreError, int]] = []
        self.writer = GroupCommitWriter(self.connect, self.failed, name=str(path), **options)

    def connect(self) -> sqlite3.Connection:
        conn = connect(self.path, timeout=self.busy_timeout)
        conn.set_trace_callback(self.statements.append)
        return conn

    def failed(self, exc: StoreError, records: int) -> None:
        self.failures.append((exc, records))

    @property
    def commits(self) -> int:
        return self.statements.count("COMMIT")

    def stored(self) -> dict[str, str]:
        with sqlite3.connect(self.path) as conn:
            return dict(conn.execute("SELECT k, v FROM kv").fetchall())


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "kv.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
    conn.close()
    return path


@pytest.fixture
def harness(db: Path) -> Iterator[Harness]:
    made = Harness(db)
    yield made
    made.writer.close()


def test_queued_rows_are_committed_by_the_thread_and_flush_waits_for_them(
    harness: Harness,
) -> None:
    assert harness.writer.flush()  # nothing started: nothing to wait for
    caller = threading.current_thread().name
    seen: list[str] = []

    def built_where(record: dict[str, Any]) -> tuple[Any, ...]:
        seen.append(threading.current_thread().name)
        return pair(record)

    for n in range(5):
        harness.writer.put(INSERT, built_where, {"k": f"k{n}", "v": str(n)})
    assert harness.writer.flush()
    assert harness.stored() == {f"k{n}": str(n) for n in range(5)}  # another connection sees them
    assert set(seen) == {"xray-sqlite-writer"} != {caller}  # rows are built on the writer thread
    assert harness.failures == []


def test_rows_queued_while_the_writer_waits_share_one_commit(harness: Harness) -> None:
    blocker = sqlite3.connect(harness.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer's first commit waits for this lock
    harness.writer.put(INSERT, pair, {"k": "first", "v": "1"})
    for n in range(200):
        harness.writer.put(INSERT, pair, {"k": f"k{n}", "v": "x"})
    blocker.execute("ROLLBACK")
    blocker.close()
    assert harness.writer.flush()
    assert len(harness.stored()) == 201 and harness.failures == []
    assert harness.commits <= 2  # the first row alone at most, then the 200 together


def test_groups_linger_so_that_groups_queued_together_share_a_commit(db: Path) -> None:
    harness = Harness(db, linger=0.5)

    def rows(keys: list[str]) -> list[Item]:
        return [(INSERT, pair, {"k": k, "v": "g"}) for k in keys]

    harness.writer.put_group(rows, ["a", "b"])
    harness.writer.put_group(rows, ["c"])
    harness.writer.close()
    assert harness.stored() == {"a": "g", "b": "g", "c": "g"}
    assert harness.commits == 1


def test_a_flush_cuts_a_groups_linger_short(db: Path) -> None:
    """Whoever flushes waits for the commit (the plugin's session end), not for more groups."""
    harness = Harness(db, linger=3600.0)  # a linger nobody would wait out
    harness.writer.put_group(lambda keys: [(INSERT, pair, {"k": k, "v": "g"}) for k in keys], ["a"])
    assert harness.writer.flush(timeout=60.0)  # False: still lingering when the timeout passed
    assert harness.stored() == {"a": "g"} and harness.commits == 1
    harness.writer.close()


def test_a_bad_row_loses_only_itself_and_names_what_it_was(harness: Harness) -> None:
    harness.writer.put(INSERT, pair, {"k": "good1", "v": "1"})
    harness.writer.put(INSERT, pair, {"k": "bad"})  # no "v": its row cannot be built
    harness.writer.put(INSERT, pair, {"k": "none", "v": None})  # NOT NULL: refused by SQLite
    harness.writer.put(INSERT, pair, {"k": "good2", "v": "2"})
    harness.writer.flush()
    assert harness.stored() == {"good1": "1", "good2": "2"}
    assert [records for _, records in harness.failures] == [1, 1]
    assert all("could not write a pair" in str(exc) for exc, _ in harness.failures)
    assert str(harness.path) in str(harness.failures[0][0])


def test_a_row_already_stored_is_replaced_through_the_statement_s_conflict_sql(
    harness: Harness,
) -> None:
    harness.writer.put(INSERT, pair, {"k": "a", "v": "old"})
    harness.writer.flush()
    for n, value in enumerate(("new", "newer")):
        harness.writer.put(INSERT, pair, {"k": f"other{n}", "v": "x"})
        harness.writer.put(INSERT, pair, {"k": "a", "v": value})
    harness.writer.put(STRICT_INSERT, pair, {"k": "a", "v": "refused"})  # no conflict SQL
    harness.writer.flush()
    assert harness.stored() == {"a": "newer", "other0": "x", "other1": "x"}
    [(exc, records)] = harness.failures
    assert records == 1 and "UNIQUE constraint failed" in str(exc)


def test_text_utf8_cannot_encode_is_written_escaped(harness: Harness) -> None:
    harness.writer.put(INSERT, pair, {"k": "file", "v": "report-\udc80.csv"})
    harness.writer.flush()
    assert harness.stored() == {"file": "report-\\udc80.csv"} and harness.failures == []


def test_a_batch_locked_past_the_busy_timeout_is_lost_at_once_then_writing_goes_on(
    harness: Harness,
) -> None:
    blocker = sqlite3.connect(harness.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        harness.writer.put_group(
            lambda keys: [(INSERT, pair, {"k": k, "v": "x"}) for k in keys], ["a", "b", "c"]
        )
        harness.writer.flush()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    [(exc, records)] = harness.failures
    assert records == 3 and "could not write 3 record(s)" in str(exc) and "locked" in str(exc)
    harness.writer.put(INSERT, pair, {"k": "later", "v": "1"})
    harness.writer.flush()
    assert harness.stored() == {"later": "1"}


def test_a_group_that_cannot_be_expanded_loses_only_itself(harness: Harness) -> None:
    harness.writer.put_group(lambda payload: payload["missing"], {})
    harness.writer.put(INSERT, pair, {"k": "kept", "v": "1"})
    harness.writer.flush()
    assert harness.stored() == {"kept": "1"}
    [(exc, records)] = harness.failures
    assert records == 1 and "could not write a group" in str(exc)


def test_a_refused_or_closed_writer_raises_a_copy_of_its_reason(harness: Harness) -> None:
    harness.writer.put(INSERT, pair, {"k": "a", "v": "1"})
    reason = StoreError("db: store is closed")
    harness.writer.close(reason)
    assert harness.stored() == {"a": "1"}  # close commits what was queued
    for _ in range(2):
        with pytest.raises(StoreError, match="store is closed") as info:
            harness.writer.put(INSERT, pair, {"k": "b", "v": "2"})
        assert info.value is not reason
    assert harness.stored() == {"a": "1"}


def test_a_connection_that_cannot_open_refuses_every_row(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "missing-folder" / "kv.db")
    for _ in range(2):
        with pytest.raises(StoreError, match="cannot open for writing: unable to open"):
            harness.writer.put(INSERT, pair, {"k": "a", "v": "1"})
    assert not (tmp_path / "missing-folder").exists()


def _write_in_child(writer: GroupCommitWriter) -> None:
    writer.put(INSERT, pair, {"k": "child", "v": "c"})
    writer.close()


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # 3.12+: fork with threads
def test_a_forked_child_writes_through_its_own_thread_and_connection(harness: Harness) -> None:
    harness.writer.put(INSERT, pair, {"k": "parent", "v": "p"})
    harness.writer.flush()  # the parent's thread and connection exist before the fork
    child = multiprocessing.get_context("fork").Process(
        target=_write_in_child, args=(harness.writer,)
    )
    child.start()
    child.join(30)
    assert child.exitcode == 0
    harness.writer.put(INSERT, pair, {"k": "parent2", "v": "p"})  # the parent's still works
    harness.writer.flush()
    assert harness.stored() == {"parent": "p", "child": "c", "parent2": "p"}


def test_a_writer_thread_that_dies_says_so_and_refuses_later_rows(harness: Harness) -> None:
    def exits(record: dict[str, Any]) -> tuple[Any, ...]:
        raise SystemExit("a builder that ends the thread")

    harness.writer.put(INSERT, exits, {})
    assert harness.writer.flush()  # returns: nothing left to wait for
    [(exc, records)] = harness.failures
    assert "the writer thread stopped" in str(exc) and records == 1
    with pytest.raises(StoreError, match="the writer thread stopped"):
        harness.writer.put(INSERT, pair, {"k": "a", "v": "1"})


def test_a_batch_inserts_many_rows_per_statement_in_the_order_queued(db: Path) -> None:
    """executemany would take the GIL back once per row; one INSERT per chunk of rows, with a
    later row of the batch replacing an earlier one as executemany's rows did."""
    # the writer waits on the blocker while 40,000 rows are queued: a loaded machine takes
    # seconds for that, so the busy timeout must outlast it (0.2 s lost the first batch in CI)
    harness = Harness(db, busy_timeout=60.0)
    blocker = sqlite3.connect(harness.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # everything below queues up for one transaction
    harness.writer.put(INSERT, pair, {"k": "first", "v": "1"})
    replacing = Statement("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", "pair")
    for n in range(40_000):  # more rows than one statement may hold (MAX_VARIABLES)
        harness.writer.put(replacing, pair, {"k": f"k{n % 30_000}", "v": str(n)})
    blocker.execute("ROLLBACK")
    blocker.close()
    assert harness.writer.flush()
    stored = harness.stored()
    assert len(stored) == 30_001 and harness.failures == []
    assert stored["k0"] == "30000" and stored["k29999"] == "29999"  # the later row won
    inserts = [s for s in harness.statements if s.startswith("INSERT OR REPLACE")]
    # chunks of rows, not one statement per row (how many rows a batch holds depends on timing)
    assert 2 <= len(inserts) <= 40_000 // 100
    harness.writer.close()


def test_a_batch_writes_rows_referred_to_before_the_rows_referring_to_them(db: Path) -> None:
    """Queued test by test (a step, then the next trace and its step), a batch writes each
    statement's rows together, the lower ``order`` first: a step never precedes its trace."""
    with sqlite3.connect(db, isolation_level=None) as conn:
        conn.execute("CREATE TABLE parent (id TEXT PRIMARY KEY)")
        conn.execute("CREATE TABLE child (id TEXT PRIMARY KEY, parent TEXT NOT NULL "
                     "REFERENCES parent(id))")  # fmt: skip
    conn.close()
    parent = Statement("INSERT INTO parent (id) VALUES (?)", "parent", order=0)
    child = Statement("INSERT INTO child (id, parent) VALUES (?, ?)", "child")
    harness = Harness(db)
    try:
        harness.writer.put(parent, tuple, ("p0",))
        assert harness.writer.flush()
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        harness.writer.put(child, tuple, ("c0", "p0"))  # its parent committed before
        for n in range(1, 4):
            harness.writer.put(parent, tuple, (f"p{n}",))
            harness.writer.put(child, tuple, (f"c{n}", f"p{n}"))
        blocker.execute("ROLLBACK")
        blocker.close()
        assert harness.writer.flush()
        assert harness.failures == []
        with sqlite3.connect(db) as check:
            rows = check.execute("SELECT id, parent FROM child ORDER BY id").fetchall()
        check.close()
        assert rows == [(f"c{n}", f"p{n}") for n in range(4)]
        assert harness.commits == 2
    finally:
        harness.writer.close()


def test_runs_of_records_queued_with_a_batch_build_are_built_by_one_call(db: Path) -> None:
    """``batch_builds``: consecutive records of one statement queued with ``pair`` are built by
    one call of its batch form (values row after row); others row by row, in the order queued."""
    calls: list[list[str]] = []

    def pairs(records: list[dict[str, Any]]) -> list[Any]:
        calls.append([r["k"] for r in records])
        return [value for record in records for value in pair(record)]

    def upper(record: dict[str, Any]) -> tuple[Any, ...]:
        return (record["k"], record["v"].upper())

    harness = Harness(db, batch_builds={pair: pairs})
    try:
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # the rows below queue up for one batch
        harness.writer.put(INSERT, pair, {"k": "a", "v": "1"})
        harness.writer.put(INSERT, pair, {"k": "b", "v": "2"})
        harness.writer.put(INSERT, upper, {"k": "c", "v": "x"})
        harness.writer.put(INSERT, pair, {"k": "a", "v": "3"})  # replaces: written after "a"
        blocker.execute("ROLLBACK")
        blocker.close()
        assert harness.writer.flush()
        assert harness.stored() == {"a": "3", "b": "2", "c": "X"} and harness.failures == []
        assert calls[-2:] == [["a", "b"], ["a"]]  # the retry with the conflict SQL builds again
    finally:
        harness.writer.close()


def test_a_row_of_another_width_loses_only_itself(harness: Harness) -> None:
    """Rows are bound as one list of values: a row of another width never shifts the others'."""
    harness.writer.put(INSERT, pair, {"k": "good1", "v": "1"})
    harness.writer.put(INSERT, lambda r: (r["k"],), {"k": "short"})
    harness.writer.put(INSERT, lambda r: (r["k"], "x", "y"), {"k": "long"})
    harness.writer.put(INSERT, pair, {"k": "good2", "v": "2"})
    harness.writer.flush()
    assert harness.stored() == {"good1": "1", "good2": "2"}
    assert [records for _, records in harness.failures] == [1, 1]
    assert all("could not write a pair" in str(exc) for exc, _ in harness.failures)
