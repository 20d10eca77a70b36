"""The SQLite store: a database opened by :func:`~.database.open_database`, recorded into by a
:class:`~.writer.GroupCommitWriter`, read through :class:`~.queries.Queries`.

Durability: the recorder's writes (trace start, each finished step, trace end) are queued to the
store's writer thread, which commits whatever has accumulated in one transaction (group commit).
A finished step is committed as soon as the writer reaches it (well under 100 ms unless another
process holds the write lock), and ``end_trace`` returns only once every write of the trace is
committed. The database runs in WAL mode with ``synchronous=NORMAL``: a committed step survives
the process being killed (SIGKILL) at any moment; readers never block the writer. At interpreter
exit every open store is closed (its writer commits what is queued); a forked child gets its own
writer thread. The pytest plugin hands each finished test (its traces and its ``run_tests`` row)
to the same thread with :meth:`SQLiteStore.queue_test`.

Runs, deletions and imports are written at once, on the store's own connection (the one reads
use), after every queued write.

Errors: without ``strict``, a failed write is logged and counted in ``store.errors`` and the
pipeline goes on; a database written by a newer schema is refused and never modified. The full
design is in docs/storage.md.

``read_only=True`` opens the file with a ``mode=ro`` connection and no writer: nothing is
migrated, switched to WAL or checkpointed, so neither the file nor its ``-wal`` changes.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import StoreError
from .base import RunRecord, Store, TraceQuery
from .database import BUSY_TIMEOUT_S, connect, open_database, rollback
from .failures import Failures
from .queries import Queries
from .readonly import ReadOnlyFile
from .rows import run_row, run_test_row, scrubbed, step_row, step_values, trace_digest, trace_row
from .schema import (
    DELETE_TRACE_STEPS,
    INSERT_RUN_TEST_UNLESS_KEPT,
    INSERT_STEP,
    REPLACE_RUN_TEST,
    REPLACE_STEP,
    UPSERT_RUN,
    UPSERT_TRACE,
)
from .writer import FLUSH_TIMEOUT_S, Build, GroupCommitWriter, Item, Statement

if TYPE_CHECKING:  # a recorded pytest session writes records and never imports pydantic
    from ..models import Run, RunStatus, Trace

__all__ = ["BUSY_TIMEOUT_S", "SQLiteStore"]

_TRACE = Statement(UPSERT_TRACE, "trace", order=0)  # before the steps that refer to it
_STEP = Statement(INSERT_STEP, "step", on_conflict=REPLACE_STEP)
_STEP_REPLACING = Statement(REPLACE_STEP, "step")  # save_traces: a step saved again replaces
#: save_traces: the steps a trace had before, removed (order 0: before any step row is written)
_STEPS_REMOVED = Statement(DELETE_TRACE_STEPS, "trace's former steps", order=0)
_RUN_TEST = Statement(REPLACE_RUN_TEST, "test row")

_open_stores: weakref.WeakSet[SQLiteStore] = weakref.WeakSet()
_inherited: list[sqlite3.Connection] = []  # a forked child's copies of the parent's, never closed


class SQLiteStore(Store):
    """Traces and runs in a SQLite file.

    To create an instance::

        store = SQLiteStore("traces.db")

    :param path: the database file (parent directories are created).
    :param strict: raise :class:`~xray_core.exceptions.StoreError` on failures instead of
        logging them and counting them in :attr:`errors`.
    :param timeout: seconds a write waits for another process's write lock before failing.
    :param read_only: only read: the database file and its ``-wal`` are never written (no
        migration, no WAL switch, no checkpoint); every write is refused as a failure.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        strict: bool = False,
        timeout: float = BUSY_TIMEOUT_S,
        read_only: bool = False,
    ) -> None:
        if str(path) == ":memory:":  # each connection (reader, writer thread) would get its own
            raise ValueError(
                "SQLiteStore(':memory:'): an in-memory SQLite database is not shared between "
                "connections; use xray_core.MemoryStore() to keep traces in memory"
            )
        # Connections use the absolute path: the writer connects lazily, and a relative path must
        # not follow a later chdir (nor a forked child's working directory) to another file.
        self._location = str(Path(path).absolute())
        self.strict = strict
        self.timeout = timeout
        self.read_only = read_only
        self._read_only_file = ReadOnlyFile(self._location, timeout=timeout,
                                            check_same_thread=False) if read_only else None  # fmt: skip
        self._failures = Failures(strict=strict)
        self._writer = GroupCommitWriter(self._connect, self._writer_failed,
                                         batch_builds={step_row: step_values})  # fmt: skip
        self._queries = Queries(self._rows)
        self.path = Path(path)
        self._unusable: StoreError | None = None
        self._read_lock = threading.RLock()
        self._closed = False
        self._stale = False
        self._pending: list[tuple[str, Sequence[Any]]] | None = None  # see transaction()
        self._conn: sqlite3.Connection | None = None
        try:
            self._conn = open_database(self.path, timeout=timeout, read_only=read_only,
                                       connector=self._connect)  # fmt: skip
        except StoreError as exc:  # SchemaVersionError included
            self._unusable = exc
            if strict:
                raise
            self._failures.record(exc)
        if self._unusable is not None or read_only:
            self._writer.refuse(self._unusable or self._read_only_error())
        _open_stores.add(self)

    @property
    def path(self) -> Path:
        """The database file, as messages name it."""
        return self._path

    @path.setter
    def path(self, value: Path) -> None:
        self._path = value
        self._writer.name = self._queries.name = str(value)

    @property
    def errors(self) -> int:  # type: ignore[override]
        """Records that could not be written, plus failed opens (non-strict stores only count)."""
        return self._failures.count

    def __repr__(self) -> str:
        mode = ", read_only=True" if self.read_only else ""
        return f"SQLiteStore({str(self.path)!r}, strict={self.strict}{mode})"

    def _connect(self) -> sqlite3.Connection:
        """A new connection to the file (every connection of this store is made here)."""
        if self._read_only_file is not None:
            return self._read_only_file.connect()
        return connect(self._location, timeout=self.timeout)

    def _read_only_error(self) -> StoreError:
        return StoreError(f"{self.path}: opened read-only (read_only=True): nothing is written")

    def _closed_error(self) -> StoreError:
        """Why this store cannot write although it is usable: closed, or opened read-only."""
        if self.read_only and not self._closed:
            return self._read_only_error()
        return StoreError(f"{self.path}: store is closed")

    # -- failures --
    def _writer_failed(self, exc: StoreError, records: int) -> None:
        self._failures.record(exc, records, keep=True)

    def _refused(self, exc: StoreError) -> None:
        """A write the store cannot accept: raised when strict, else counted."""
        if self.strict:
            raise exc
        self._failures.record(exc)

    # -- recording (the hot path: nothing but a queue.put on the caller's thread) --
    def start_trace(self, record: dict[str, Any]) -> None:
        # The trace's row is built here: its record (metadata...) may change while it runs.
        self._put(_TRACE, _as_is, trace_row(record))

    def save_step(self, record: dict[str, Any]) -> None:
        try:  # _put inlined: this runs for every step
            self._writer.put(_STEP, step_row, record)
        except StoreError as exc:
            self._refused(exc)

    def end_trace(self, record: dict[str, Any]) -> None:
        if self._put(_TRACE, _as_is, trace_row(record)):
            self.flush()

    def _put(self, statement: Statement, build: Build, record: Any) -> bool:
        """Queue one record for the writer; False when it was refused (and counted)."""
        try:
            self._writer.put(statement, build, record)
        except StoreError as exc:
            self._refused(exc)
            return False
        return True

    def queue_test(
        self,
        run_id: str,
        test: dict[str, Any] | None,
        traces: Iterable[tuple[dict[str, Any], list[dict[str, Any]]]] = (),
    ) -> None:
        """Hand a finished test's traces and its ``run_tests`` row to the writer thread.

        Returns at once: the rows are built and committed on the writer thread, all in one
        transaction, within :data:`~.writer.GROUP_LINGER_S` plus the commit (:meth:`flush`
        waits for it).

        :param run_id: the run the test belongs to (its row must exist: see :meth:`save_run`).
        :param test: the test's row (keys: ``RUN_TEST_COLUMNS``), or None for traces alone.
        :param traces: (trace record, step records) pairs, as the recorder keeps them; they must
            not change any more (finished traces).
        """
        bundle = [(dict(record), list(steps)) for record, steps in traces]
        try:
            self._writer.put_group(_test_items, (run_id, test, bundle))
        except StoreError as exc:
            self._refused(exc)

    def flush(self) -> None:
        """Wait until every queued write is committed (raises the first failure when strict)."""
        if not self._writer.flush(FLUSH_TIMEOUT_S):
            late = f"{self.path}: writes not committed after {FLUSH_TIMEOUT_S}s"
            self._failures.record(StoreError(late), keep=True)
        failure = self._failures.take()
        if failure is not None:
            raise failure

    def close(self) -> None:
        """Commit pending writes and stop the writer thread (the store records nothing after)."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            _open_stores.discard(self)
            self._writer.close(self._closed_error(), FLUSH_TIMEOUT_S)
            if self._conn is not None:
                self._conn.close()

    # -- whole traces and runs --
    def save_traces(self, traces: Iterable[Trace]) -> int:
        from .records import trace_to_records  # models in, so the models are imported already

        count = 0
        for trace in traces:
            record, steps = trace_to_records(trace)
            # a trace saved again is replaced whole: steps it no longer has are not kept
            if self._pending is not None:
                rows = [step_row(step) for step in steps]
                self._pending.append((UPSERT_TRACE, trace_row(record, trace_digest(rows))))
                self._pending.append((DELETE_TRACE_STEPS, (record["trace_id"],)))
                self._pending.extend((REPLACE_STEP, row) for row in rows)
            else:
                self._put(_STEPS_REMOVED, _as_is, (record["trace_id"],))
                for item in _trace_items(record, steps, _STEP_REPLACING):
                    self._put(*item)
            count += 1
        if self._pending is None:
            self.flush()
        return count

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Keep every ``save_traces``/``save_run`` call of the block, or none of them.

        The writes are held until the block ends, then committed in one transaction; an
        exception in the block (or a failed commit) leaves the database as it was. Reads in the
        block do not see the held writes. Meant for one thread (``xray import``); the recorder's
        writes (``start_trace``...) are not held.

        :raises StoreError: the commit failed (even without ``strict``: the caller asked for it).
        """
        if self._pending is not None:
            raise RuntimeError(f"{self!r}: transaction() blocks do not nest")
        self._pending = []
        try:
            yield
            held = self._pending
        finally:
            self._pending = None
        if held:
            self._write_now([(sql, scrubbed(tuple(args))) for sql, args in held], strict=True)

    def save_run(
        self,
        run: Run | RunRecord,
        tests: Iterable[dict[str, Any]] = (),
        *,
        keep_tests: bool = False,
    ) -> None:
        """Insert or update ``run`` and write ``tests`` (keys: ``RUN_TEST_COLUMNS``), in one
        transaction, after every queued write.

        :param keep_tests: a test that already has a row keeps it (its row was written when it
            finished: see :meth:`queue_test`); by default the given rows replace them.
        """
        insert_test = INSERT_RUN_TEST_UNLESS_KEPT if keep_tests else REPLACE_RUN_TEST
        statements: list[tuple[str, Sequence[Any]]] = [(UPSERT_RUN, run_row(run))]
        statements += [(insert_test, run_test_row(run.run_id, test)) for test in tests]
        self._write_now(statements)

    def delete_run(self, run_id: str) -> None:
        self._write_now([
            ("DELETE FROM steps WHERE trace_id IN (SELECT trace_id FROM traces WHERE run_id = ?)",
             [run_id]),
            ("DELETE FROM traces WHERE run_id = ?", [run_id]),
            ("DELETE FROM run_tests WHERE run_id = ?", [run_id]),
            ("DELETE FROM runs WHERE run_id = ?", [run_id]),
        ])  # fmt: skip

    def _write_now(
        self,
        statements: list[tuple[str, Sequence[Any]]],
        *,
        strict: bool = False,
    ) -> None:
        """Run ``statements`` in one transaction now, after every queued write."""
        if self._pending is not None:
            self._pending.extend(statements)
            return
        try:
            conn = self._readable()
            if self.read_only or self._closed:
                raise self._closed_error()
            self.flush()
            with self._read_lock:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as exc:
                    raise StoreError(f"{self.path}: {exc}") from exc
                try:
                    for sql, args in statements:
                        conn.execute(sql, list(args))
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    rollback(conn)
                    raise StoreError(f"{self.path}: {exc}") from exc
        except StoreError as exc:
            if self.strict or strict:
                raise
            self._failures.record(exc)

    # -- reads --
    def get_trace(self, trace_id: str) -> Trace | None:
        return self._queries.get_trace(trace_id)

    def _select_traces(self, query: TraceQuery) -> list[Trace]:
        return self._queries.select_traces(query)

    def trace_ids_with_prefix(self, prefix: str, limit: int = 10) -> list[str]:
        return self._queries.trace_ids_with_prefix(prefix, limit)

    def trace_summaries(
        self, limit: int | None = 20, *, name: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """The most recently started traces first, without their steps (cheap on a big file).

        Each row has ``trace_id``, ``name``, ``status``, ``start_time``, ``end_time`` (aware
        datetimes), ``duration_ms``, ``run_id``, ``test_id`` and ``steps`` (how many).
        """
        return self._queries.trace_summaries(limit, name=name, status=status)

    def trace_owners(self, trace_ids: Iterable[str]) -> dict[str, str | None]:
        """The run of each stored trace among ``trace_ids`` (None: recorded outside a run)."""
        return self._queries.trace_owners(trace_ids)

    def step_owners(self, step_ids: Iterable[str]) -> dict[str, str]:
        """The trace of each stored step among ``step_ids``."""
        return self._queries.step_owners(step_ids)

    def get_run(self, run_id: str) -> Run | None:
        return self._queries.get_run(run_id)

    def list_runs(
        self, limit: int | None = None, offset: int = 0, *, status: RunStatus | None = None
    ) -> list[Run]:
        return self._queries.list_runs(limit, offset, status=status)

    def count_runs(self, status: RunStatus, limit: int | None = None) -> int:
        """How many runs of ``status`` the database holds, counting up to ``limit`` (no model
        is built: the pytest plugin's summary asks it without importing pydantic)."""
        return self._queries.count_runs(status, limit)

    def run_tests(self, run_id: str) -> list[dict[str, Any]]:
        return self._queries.run_tests(run_id)

    # -- the store's own connection --
    def _readable(self) -> sqlite3.Connection:
        """The store's connection, reopened in a forked child; raises why the store is unusable."""
        if self._stale:
            self._reconnect()
        if self._unusable is not None or self._conn is None:
            exc = self._unusable or StoreError(f"{self.path}: store is closed")
            raise type(exc)(str(exc))
        return self._conn

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a query after every queued write (a process reads its own writes)."""
        self._readable()
        self.flush()
        with self._read_lock:
            try:
                rows = self._query(sql, args)
            except StoreError:
                if not self._written_under_us():
                    raise
                rows = None
            if rows is None or self._written_under_us():  # read again, now with locks
                if self._conn is not None:
                    self._conn.close()
                self._conn = self._connect()
                rows = self._query(sql, args)
            return rows

    def _query(self, sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
        conn = self._readable()
        try:
            cursor = conn.execute(sql, list(args))
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    def _written_under_us(self) -> bool:
        """Whether a writer may have changed a file this read-only store reads without locks."""
        return self._read_only_file is not None and self._read_only_file.changed()

    def _forked(self) -> None:
        """In a forked child: the connection and locks are the parent's; the writer restarts
        itself (see :mod:`.writer`)."""
        self._read_lock = threading.RLock()
        self._failures.forked()
        self._stale = self._unusable is None and not self._closed  # reconnect on the first read

    def _reconnect(self) -> None:
        """Replace a connection inherited through fork() (used only by reads, so done lazily)."""
        if self._conn is not None:
            _inherited.append(self._conn)  # closing the parent's connection in the child is unsafe
        self._stale = False
        try:
            self._conn = self._connect()
        except sqlite3.Error as exc:
            self._conn = None
            self._unusable = StoreError(f"{self.path}: cannot reopen after fork: {exc}")


def _test_items(
    payload: tuple[str, dict[str, Any] | None, list[tuple[dict[str, Any], list[dict[str, Any]]]]],
) -> list[Item]:
    """The rows of a queued test (see :meth:`SQLiteStore.queue_test`): each trace before its
    steps (foreign key), the test row last.
    """
    run_id, test, traces = payload
    items: list[Item] = []
    for record, steps in traces:
        items += _trace_items(record, steps, _STEP)
    if test is not None:
        items.append((_RUN_TEST, _test_row, (run_id, test)))
    return items


def _trace_items(record: dict[str, Any], steps: list[dict[str, Any]], step: Statement
                 ) -> list[Item]:  # fmt: skip
    """The rows of a finished trace (each step written with ``step``): its steps' rows built
    now, all in hand, so that the trace's row carries their :func:`~.rows.trace_digest`."""
    try:
        rows = [step_row(s) for s in steps]
        trace = trace_row(record, trace_digest(rows))
    except Exception:  # noqa: BLE001 - a row that cannot be built: each built when written,
        # where a bad one loses only itself (the trace without a digest: read by its steps)
        return [(_TRACE, trace_row, record), *((step, step_row, s) for s in steps)]
    items: list[Item] = [(_TRACE, _as_is, trace)]
    items += [(step, _as_is, row) for row in rows]
    return items


def _as_is(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row queued built."""
    return row


def _test_row(payload: tuple[str, dict[str, Any]]) -> tuple[Any, ...]:
    return run_test_row(*payload)


@atexit.register
def _close_open_stores() -> None:
    """Close every open store at exit: the writer commits what is queued, and the connections
    close, the last one checkpointing the log into the file (no ``-wal`` left beside it)."""
    for store in list(_open_stores):
        store.close()


def _after_fork_in_child() -> None:
    for store in list(_open_stores):
        store._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
