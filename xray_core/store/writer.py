"""The group-commit writer: one thread commits whatever rows have been queued, in one transaction.

Queuing a row (:meth:`GroupCommitWriter.put`) is a ``SimpleQueue.put`` of the caller's record
with the statement and the function that turns it into a row: no SQL and no conversion run on
the caller's thread. The writer thread, started on the first row, takes everything queued so
far (up to ``batch`` rows), builds the rows, and writes them in one ``BEGIN IMMEDIATE`` ...
``COMMIT``: each statement's rows together (the rows others refer to first, see
:attr:`Statement.order`), many rows per ``INSERT`` (see :func:`_insert_rows`). A quiet caller therefore has
each row committed a moment after queuing it; a busy one has many committed together.
:meth:`~GroupCommitWriter.flush` waits until everything queued before it is committed.

A group (:meth:`~GroupCommitWriter.put_group`, the pytest plugin's finished tests) waits
``linger`` seconds first, so that groups queued close together share a commit.

Failures are handed to ``on_failure`` and never stop the thread: a batch refused as a whole
(locked past the busy timeout, read-only file, full disk) is lost at once (retrying row by row
would wait the busy timeout once per row); a batch with a bad row is written again row by row,
so the bad row loses only itself. At interpreter exit every writer commits what is queued and
stops; before a fork it commits what is queued, and in the forked child a writer inherited from
the parent starts afresh (the parent's thread and connection are not usable there).
"""

from __future__ import annotations

import atexit
import os
import queue
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any

from ..exceptions import StoreError
from .database import rollback
from .rows import scrubbed

#: how long the writer lets groups (finished tests) accumulate before committing them: a
#: transaction per test would slow a suite of quick tests down (each wakes the writer, which
#: competes for the GIL), while a finished test stays on disk well within the durability window
GROUP_LINGER_S = 0.05
#: at most this many queued items per transaction
BATCH = 2000
#: how long :meth:`GroupCommitWriter.flush` and :meth:`~GroupCommitWriter.close` wait
FLUSH_TIMEOUT_S = 60.0
#: how long ``fork()`` waits for each writer to commit what is queued (see _commit_before_fork)
FORK_FLUSH_TIMEOUT_S = 5.0
#: at most this many ``?`` in one statement (SQLite's limit before 3.32 was 999)
MAX_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999


@dataclass(frozen=True, eq=False)
class Statement:
    """The SQL that writes one kind of row.

    :param sql: the statement, with one ``?`` per value of the row.
    :param what: the row's name in failure messages ("step", "test row").
    :param on_conflict: the statement that writes the row when ``sql`` meets a row already
        stored (a uniqueness conflict), e.g. the ``INSERT OR REPLACE`` of a plain ``INSERT``.
    :param order: a transaction writes the rows of lower orders first (rows that others refer to
        by foreign key: a trace before the steps), each statement's rows in the order queued.
    """

    sql: str
    what: str = "row"
    on_conflict: str | None = None
    order: int = 1


#: builds the row of a queued record (on the writer thread)
Build = Callable[[Any], Sequence[Any]]
#: a queued row: its statement, its builder and the record
Item = tuple[Statement, Build, Any]
#: expands a queued group into its rows (on the writer thread)
Expand = Callable[[Any], Iterable[Item]]

_GROUP, _FLUSH, _STOP = "group", "flush", "stop"  # the other things the queue carries

_live: weakref.WeakSet[GroupCommitWriter] = weakref.WeakSet()
_inherited: list[sqlite3.Connection] = []  # a forked child's copies of the parent's, never closed


class GroupCommitWriter:
    """Commits queued rows on one background thread, many rows per transaction.

    :param connect: opens the thread's connection (autocommit mode: the writer issues
        ``BEGIN``/``COMMIT``); called on the first :meth:`put`.
    :param on_failure: called on the writer thread with each failure and the number of records
        it lost; it must not raise.
    :param name: names the database in messages.
    :param linger: seconds a group waits for others before its commit.
    :param batch: at most this many queued items per transaction.
    """

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        on_failure: Callable[[StoreError, int], None],
        *,
        name: str = "database",
        linger: float = GROUP_LINGER_S,
        batch: int = BATCH,
    ) -> None:
        self.connect = connect
        self.on_failure = on_failure
        self.name = name
        self.linger = linger
        self.batch = batch
        self._refusal: StoreError | None = None
        self._fresh()
        _live.add(self)

    def _fresh(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Any, Any, Any]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._running = False  # the only test on the hot path
        self._lock = threading.Lock()
        #: set by :meth:`flush`: a group's linger ends at once (someone waits for the commit)
        self._hurry = threading.Event()

    # -- queuing (any thread) --
    def put(self, statement: Statement, build: Build, record: Any) -> None:
        """Queue ``record``, written as ``statement`` with the row ``build(record)``.

        :raises StoreError: the writer refuses rows (see :meth:`refuse`), or its connection
            cannot be opened (then every later row is refused the same way).
        """
        if not self._running:
            self._start()
        self._queue.put((statement, build, record))

    def put_group(self, expand: Expand, payload: Any) -> None:
        """Queue the rows ``expand(payload)``, committed together after :attr:`linger`.

        :raises StoreError: as :meth:`put`.
        """
        if not self._running:
            self._start()
        self._queue.put((_GROUP, expand, payload))

    def flush(self, timeout: float = FLUSH_TIMEOUT_S) -> bool:
        """Wait until everything queued so far is committed (or counted as lost).

        :returns: False when that took longer than ``timeout`` (the rows may still come).
        """
        thread = self._thread
        if thread is None or not thread.is_alive():
            return True
        done = threading.Event()
        self._queue.put((_FLUSH, None, done))
        self._hurry.set()
        deadline = time.monotonic() + timeout
        while not done.wait(min(1.0, max(0.0, deadline - time.monotonic()))):
            if not thread.is_alive():  # stopped by a bug after this flush was queued
                return True
            if time.monotonic() >= deadline:
                return False
        return True

    def refuse(self, reason: StoreError) -> None:
        """Refuse every later row with (a copy of) ``reason``; rows already queued are written."""
        with self._lock:
            self._refusal = reason
            self._running = False

    def close(self, reason: StoreError | None = None, timeout: float = FLUSH_TIMEOUT_S) -> None:
        """Commit what is queued, stop the thread and refuse later rows (with ``reason``)."""
        self.refuse(reason or StoreError(f"{self.name}: the writer is closed"))
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put((_STOP, None, None))
            thread.join(timeout)

    def _start(self) -> None:
        with self._lock:
            if self._running:
                return
            if self._refusal is not None:
                raise type(self._refusal)(str(self._refusal))
            try:
                conn = self.connect()
            except (OSError, sqlite3.Error) as exc:
                self._refusal = StoreError(f"{self.name}: cannot open for writing: {exc}")
                raise type(self._refusal)(str(self._refusal)) from exc
            thread = threading.Thread(
                target=self._run, args=(conn, self._queue), name="xray-sqlite-writer", daemon=True
            )
            thread.start()
            self._conn, self._thread, self._running = conn, thread, True

    def _forked(self) -> None:
        """In a forked child: the thread and connection are the parent's; start afresh."""
        if self._conn is not None:
            _inherited.append(self._conn)  # closing the parent's connection here is unsafe
        self._fresh()

    # -- the writer thread --
    def _run(self, conn: sqlite3.Connection, pending: queue.SimpleQueue[Any]) -> None:
        try:
            self._loop(conn, pending)
        except BaseException as exc:  # noqa: BLE001 - a bug, not a failed write: say so, not hang
            stopped = StoreError(f"{self.name}: the writer thread stopped: {exc!r}")
            self.refuse(stopped)
            lost, waiting = 1, []
            while True:  # what is still queued is lost too; whoever waits for it is told
                try:
                    head, _, payload = pending.get_nowait()
                except queue.Empty:
                    break
                if head is _FLUSH:
                    waiting.append(payload)
                else:
                    lost += head is not _STOP
            self.on_failure(stopped, lost)
            for event in waiting:
                event.set()

    def _loop(self, conn: sqlite3.Connection, pending: queue.SimpleQueue[Any]) -> None:
        while True:
            batch = [pending.get()]
            if batch[0][0] is _GROUP and self.linger:
                self._hurry.wait(self.linger)  # cut short by a flush: nobody waits for nothing
            self._hurry.clear()
            while len(batch) < self.batch:
                try:
                    batch.append(pending.get_nowait())
                except queue.Empty:
                    break
            items: list[Item] = []
            done: list[threading.Event] = []
            stop = False
            for item in batch:
                head = item[0]
                if head.__class__ is Statement:
                    items.append(item)
                elif head is _GROUP:
                    items += self._expanded(item[1], item[2])
                elif head is _FLUSH:
                    done.append(item[2])
                else:
                    stop = True
            if items:
                self._commit(conn, items)
            for event in done:
                event.set()
            if stop:
                conn.close()
                return

    def _expanded(self, expand: Expand, payload: Any) -> list[Item]:
        try:
            return list(expand(payload))
        except Exception as exc:  # noqa: BLE001 - a malformed group loses only itself
            self.on_failure(StoreError(f"{self.name}: could not write a group: {exc}"), 1)
            return []

    def _commit(self, conn: sqlite3.Connection, items: list[Item]) -> None:
        try:
            _write(conn, items)
            return
        except sqlite3.OperationalError as exc:
            return self._lost(items, exc)
        except sqlite3.IntegrityError:
            # Some row is stored already (a step written twice): write them all replacing.
            if any(item[0].on_conflict for item in items):
                try:
                    _write(conn, items, on_conflict=True)
                    return
                except sqlite3.OperationalError as exc:
                    return self._lost(items, exc)
                except Exception:  # noqa: BLE001, S110 - retried row by row below
                    pass
        except Exception:  # noqa: BLE001, S110 - a bad row: row by row, it loses only itself
            pass
        for item in items:
            self._commit_one(conn, item)

    def _lost(self, items: list[Item], exc: sqlite3.OperationalError) -> None:
        # Locked past the timeout, read-only, disk full: retrying row by row would only wait the
        # busy timeout once per row, so the batch is counted as lost at once.
        message = f"{self.name}: could not write {len(items)} record(s): {exc}"
        self.on_failure(StoreError(message), len(items))

    def _commit_one(self, conn: sqlite3.Connection, item: Item) -> None:
        statement, build, record = item
        try:
            row = tuple(build(record))
            try:
                _write(conn, [(statement, tuple, row)], on_conflict=True)
            except UnicodeEncodeError:  # lone surrogates (surrogateescape'd file names)
                _write(conn, [(statement, tuple, scrubbed(row))], on_conflict=True)
        except Exception as exc:  # noqa: BLE001
            message = f"{self.name}: could not write a {statement.what}: {exc}"
            self.on_failure(StoreError(message), 1)


def _write(conn: sqlite3.Connection, items: list[Item], *, on_conflict: bool = False) -> None:
    """Write ``items`` in one transaction: the rows of each statement together (see
    :attr:`Statement.order`), many rows per ``INSERT`` (see :func:`_insert_rows`)."""
    # Queued test by test (trace, steps, test row): each statement's rows together, in the
    # order queued (one pass, no sort of the items), the statements in order of first use
    # within their Statement.order.
    runs: dict[Statement, list[Sequence[Any]]] = {}
    for statement, build, record in items:
        rows = runs.get(statement)
        if rows is None:
            rows = runs[statement] = []
        rows.append(build(record))
    ordered = sorted(runs.items(), key=_by_order) if len(runs) > 1 else runs.items()
    conn.execute("BEGIN IMMEDIATE")  # outside the try: a failed BEGIN has nothing to roll back
    try:
        for statement, rows in ordered:
            sql = statement.on_conflict if on_conflict and statement.on_conflict else statement.sql
            _insert_rows(conn, sql, rows)
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise


def _by_order(run: tuple[Statement, list[Sequence[Any]]]) -> int:
    return run[0].order  # sorted() is stable: statements of one order stay in order of first use


_VALUES = re.compile(r" VALUES (\(\?(?:, \?)*\))")


@lru_cache(maxsize=64)
def _many(sql: str, count: int) -> str | None:
    """``sql`` (``INSERT ... VALUES (?, ...) [ON CONFLICT ...]``) inserting ``count`` rows in one
    statement, or None when ``sql`` is not of that form."""
    match = _VALUES.search(sql)
    if match is None:
        return None
    values = ", ".join([match.group(1)] * count)
    return f"{sql[: match.start()]} VALUES {values}{sql[match.end() :]}"


def _insert_rows(conn: sqlite3.Connection, sql: str, rows: list[Sequence[Any]]) -> None:
    """Insert ``rows`` with ``sql``, many rows per statement.

    Not ``executemany``: Python's sqlite3 lets go of the GIL around every row's step and takes it
    back after, so a writer thread inserting row by row waits for the GIL once per row while the
    tests' thread computes (a CPU-bound thread keeps it for the switch interval), its batches
    grow while it waits, and the tests' thread is interrupted once per row. One statement per
    chunk of rows takes the GIL back once per chunk. SQLite inserts a statement's rows in order,
    as ``executemany`` did: a later row's conflict with an earlier one is resolved the same way.
    """
    width = len(rows[0]) if rows else 0
    per = MAX_VARIABLES // width if width else 0
    if len(rows) < 2 or per < 2 or _many(sql, 2) is None:
        conn.executemany(sql, rows)
        return
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        conn.execute(_many(sql, len(chunk)) or sql, list(chain.from_iterable(chunk)))


@atexit.register
def _close_all() -> None:
    """At interpreter exit, every writer commits what is queued and stops."""
    for writer in list(_live):
        writer.close(StoreError(f"{writer.name}: closed at interpreter exit"))


def _commit_before_fork() -> None:
    """Before ``fork()``, every writer commits what is queued: a child's rows may refer to rows
    its parent had only queued (a step of the trace the parent started, whose row the parent's
    thread had not yet committed), and the database refuses a step of a trace it does not have."""
    for writer in list(_live):
        writer.flush(FORK_FLUSH_TIMEOUT_S)


def _after_fork_in_child() -> None:
    for writer in list(_live):
        writer._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_commit_before_fork, after_in_child=_after_fork_in_child)
