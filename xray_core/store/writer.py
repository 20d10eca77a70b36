"""The group-commit writer: one thread commits whatever rows have been queued, in one transaction.

Queuing a row (:meth:`GroupCommitWriter.put`) is a ``SimpleQueue.put`` of the caller's record
with the statement and the function that turns it into a row: no SQL and no conversion run on
the caller's thread. The writer thread, started on the first row, takes everything queued so
far (up to ``batch`` rows), builds the rows, and writes them in one ``BEGIN IMMEDIATE`` ...
``COMMIT``: each statement's rows together (the rows others refer to first, see
:attr:`Statement.order`), many rows per ``INSERT`` (see :func:`_insert_values`). A quiet caller therefore has
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, groupby, islice
from operator import itemgetter
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
#: builds the rows of many records queued with one :data:`Build`: the values of the same rows,
#: row after row, in one list (what a many-row ``INSERT`` binds)
BuildMany = Callable[[list[Any]], list[Any]]
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
    :param batch_builds: for a :data:`Build`, a :data:`BuildMany` making the same rows for many
        records at once: consecutive records of one statement queued with that build are built
        by one call (rows built per record cost the writer thread more, see
        :func:`~.rows.step_values`).
    """

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        on_failure: Callable[[StoreError, int], None],
        *,
        name: str = "database",
        linger: float = GROUP_LINGER_S,
        batch: int = BATCH,
        batch_builds: Mapping[Build, BuildMany] | None = None,
    ) -> None:
        self.connect = connect
        self.on_failure = on_failure
        self.name = name
        self.linger = linger
        self.batch = batch
        self.batch_builds: Mapping[Build, BuildMany] = dict(batch_builds or {})
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
        # Written for speed (every recorded step passes here): the queue is drained and the
        # batch sorted out in C-level passes (islice, groupby), not Python bytecode per item.
        while True:
            batch = [pending.get()]
            if batch[0][0] is _GROUP and self.linger:
                self._hurry.wait(self.linger)  # cut short by a flush: nobody waits for nothing
            self._hurry.clear()
            # this thread alone takes from the queue: the qsize() items queued now are there
            batch += islice(iter(pending.get_nowait, None), min(pending.qsize(), self.batch - 1))
            items: list[Item] = []
            done: list[threading.Event] = []
            stop = False
            for head, run in groupby(batch, _HEAD):  # runs of one kind of item
                if head.__class__ is Statement:
                    items += run
                elif head is _GROUP:
                    for _, expand, payload in run:
                        items += self._expanded(expand, payload)
                elif head is _FLUSH:
                    done += map(_PAYLOAD, run)
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
            _write(conn, items, self.batch_builds)
            return
        except sqlite3.OperationalError as exc:
            return self._lost(items, exc)
        except sqlite3.IntegrityError:
            # Some row is stored already (a step written twice): write them all replacing.
            if any(item[0].on_conflict for item in items):
                try:
                    _write(conn, items, self.batch_builds, on_conflict=True)
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
                _write(conn, [(statement, tuple, row)], _NO_BATCH_BUILDS, on_conflict=True)
            except UnicodeEncodeError:  # lone surrogates (surrogateescape'd file names)
                _write(conn, [(statement, tuple, scrubbed(row))], _NO_BATCH_BUILDS,
                       on_conflict=True)  # fmt: skip
        except Exception as exc:  # noqa: BLE001
            message = f"{self.name}: could not write a {statement.what}: {exc}"
            self.on_failure(StoreError(message), 1)


def _write(
    conn: sqlite3.Connection,
    items: list[Item],
    batch_builds: Mapping[Build, BuildMany],
    *,
    on_conflict: bool = False,
) -> None:
    """Write ``items`` in one transaction: the rows of each statement together (see
    :attr:`Statement.order`), many rows per ``INSERT`` (see :func:`_insert_values`)."""
    # Queued test by test (trace, steps, test row): each statement's rows together, in the
    # order queued (no sort of the items), the statements in order of first use within their
    # Statement.order. Runs of items of one statement are moved whole (groupby), not one by one.
    runs: dict[Statement, list[Item]] = {}
    for statement, run in groupby(items, _HEAD):
        kept = runs.get(statement)
        if kept is None:
            runs[statement] = list(run)
        else:
            kept += run
    built = [(statement, _values(statement, run, batch_builds)) for statement, run in runs.items()]
    ordered = sorted(built, key=_by_order) if len(built) > 1 else built
    conn.execute("BEGIN IMMEDIATE")  # outside the try: a failed BEGIN has nothing to roll back
    try:
        for statement, (width, values) in ordered:
            sql = statement.on_conflict if on_conflict and statement.on_conflict else statement.sql
            _insert_values(conn, sql, width, values)
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise


def _values(
    statement: Statement, items: list[Item], batch_builds: Mapping[Build, BuildMany]
) -> tuple[int, list[Any]]:
    """The width of ``statement``'s rows and the values of the rows of ``items``, row after row,
    in order: each run of items queued with a build that has a :data:`BuildMany` built by one
    call of it (no tuple per row), the others row by row.

    :raises ValueError: rows of unlike widths, or of another width than the statement's (so that
        no value is ever bound to another row's column: the batch is then written row by row).
    """
    width = _width(statement.sql)
    values: list[Any] = []
    for build, run in groupby(items, _BUILD):
        records = list(map(_RECORD, run))
        many = batch_builds.get(build) if width else None
        if many is not None:
            values += many(records)
            continue
        rows = list(map(build, records))
        widths = {*map(len, rows)}
        if not width and len(widths) == 1:  # a statement of another form: its rows tell
            width = widths.pop()
        elif widths != {width}:
            raise ValueError(f"{statement.what} rows of {sorted(widths)} values, not {width}")
        values += chain.from_iterable(rows)
    return width, values


@lru_cache(maxsize=64)
def _width(sql: str) -> int:
    """How many values one row of ``sql`` (``INSERT ... VALUES (?, ...)``) binds; 0 for a
    statement of another form."""
    match = _VALUES.search(sql)
    return 0 if match is None else match.group(1).count("?")


_HEAD, _BUILD, _RECORD = itemgetter(0), itemgetter(1), itemgetter(2)
_PAYLOAD = _RECORD  # a flush's event
_NO_BATCH_BUILDS: Mapping[Build, BuildMany] = {}


def _by_order(run: tuple[Statement, Any]) -> int:
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


def _insert_values(conn: sqlite3.Connection, sql: str, width: int, values: list[Any]) -> None:
    """Insert the rows whose ``values`` (``width`` a row, row after row) are given, with
    ``sql``, many rows per statement.

    Not ``executemany``: Python's sqlite3 lets go of the GIL around every row's step and takes it
    back after, so a writer thread inserting row by row waits for the GIL once per row while the
    tests' thread computes (a CPU-bound thread keeps it for the switch interval), its batches
    grow while it waits, and the tests' thread is interrupted once per row. One statement per
    chunk of rows takes the GIL back once per chunk. SQLite inserts a statement's rows in order,
    as ``executemany`` did: a later row's conflict with an earlier one is resolved the same way.
    """
    count = len(values) // width if width else 0
    per = MAX_VARIABLES // width if width else 0
    if count < 2 or per < 2 or _many(sql, 2) is None:
        conn.executemany(sql, [values[start : start + width]
                               for start in range(0, len(values), width or 1)])  # fmt: skip
        return
    if count <= per:  # one statement (a batch of small steps): the list as it is
        conn.execute(_many(sql, count) or sql, values)
        return
    step = per * width
    for start in range(0, len(values), step):
        chunk = values[start : start + step]
        conn.execute(_many(sql, len(chunk) // width) or sql, chunk)


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
