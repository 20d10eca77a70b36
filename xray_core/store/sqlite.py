"""The SQLite store: sqlite-utils for the schema and reads, a writer thread for recording.

Durability: the recorder's writes (trace start, each finished step, trace end) are queued to one
writer thread per store, which commits whatever has accumulated in one transaction (group
commit). A finished step is committed as soon as the writer reaches it (well under 100 ms unless
another process holds the write lock), and ``end_trace`` returns only once every write of the
trace is committed. The database runs in WAL mode with ``synchronous=NORMAL``: a committed step
survives the process being killed (SIGKILL) at any moment; readers never block the writer.
At interpreter exit every open store is flushed; a forked child gets its own writer thread.
The pytest plugin hands each finished test (its traces and its ``run_tests`` row) to the same
thread with :meth:`SQLiteStore.queue_test`.

Errors: without ``strict``, a failed write is logged and counted in ``store.errors`` and the
pipeline goes on; a database written by a newer schema is refused and never modified. The full
design is in docs/storage.md.

``read_only=True`` opens the file with a ``mode=ro`` connection and no writer: nothing is
migrated, switched to WAL or checkpointed, so neither the file nor its ``-wal`` changes.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlite_utils
from pydantic import ValidationError

from ..exceptions import SchemaVersionError, StoreError
from ..models import RUN_STATUSES, Run, RunStatus, Trace
from ..serialize import loads_json
from .base import RUN_TEST_COLUMNS, Store, check_query
from .readonly import ReadOnlyFile
from .records import trace_from_records, trace_to_records
from .schema import (
    _INSERT_RUN_TEST,
    _INSERT_STEP,
    _JSON_STEP_FIELDS,
    _UPSERT_RUN,
    _UPSERT_TRACE,
    MIGRATIONS,
    SCHEMA_VERSION,
    _iso,
    _scrubbed,
    run_test_row,
    step_row,
    trace_row,
)

logger = logging.getLogger("xray_core")

BUSY_TIMEOUT_S = 30.0
FLUSH_TIMEOUT_S = 60.0
_BATCH = 2000
_LOGGED_ERRORS = 10
#: how long the writer lets finished tests accumulate before committing them: one transaction
#: per test would slow a suite of quick tests down (each wakes the writer, which competes for
#: the GIL), while a finished test stays on disk well within the durability window
TEST_LINGER_S = 0.05
#: the SQL writing each kind of prepared row (see :func:`_prepared`)
_SQL = {
    "trace": _UPSERT_TRACE,
    "step": _INSERT_STEP,
    "run_test": _INSERT_RUN_TEST.format(verb="REPLACE"),
}

_open_stores: weakref.WeakSet[SQLiteStore] = weakref.WeakSet()
_inherited: list[Any] = []  # a forked child's copies of the parent's connections, never closed


@atexit.register
def _flush_open_stores() -> None:
    for store in list(_open_stores):
        store.close()


def _after_fork_in_child() -> None:
    for store in list(_open_stores):
        store._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


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
        self.path = Path(path)
        # Connections use the absolute path: the writer connects lazily, and a relative path must
        # not follow a later chdir (nor a forked child's working directory) to another file.
        self._location = str(self.path.absolute())
        self.strict = strict
        self.timeout = timeout
        self.read_only = read_only
        self._read_only_file = ReadOnlyFile(self._location, timeout=timeout,
                                            check_same_thread=False) if read_only else None  # fmt: skip
        #: records that could not be written, plus failed opens (non-strict stores only count)
        self.errors = 0
        self._errors_lock = threading.Lock()
        self._failure: BaseException | None = None
        self._unusable: StoreError | None = None
        self._read_lock = threading.RLock()
        self._closed = False
        self._stale = False
        self._pending: list[tuple[str, Sequence[Any]]] | None = None  # see transaction()
        self._reset_writer()
        self._db = self._open()
        _open_stores.add(self)

    def __repr__(self) -> str:
        mode = ", read_only=True" if self.read_only else ""
        return f"SQLiteStore({str(self.path)!r}, strict={self.strict}{mode})"

    def _reset_writer(self) -> None:
        self._queue: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()

    def _forked(self) -> None:
        """In a forked child: the writer thread and connections are the parent's; start afresh.

        Records the parent had queued stay with the parent, which writes them.
        """
        self._reset_writer()
        self._read_lock = threading.RLock()
        self._errors_lock = threading.Lock()
        self._stale = self._unusable is None and not self._closed  # reconnect on the first read

    def _reconnect(self) -> None:
        """Replace a connection inherited through fork() (used only by reads, so done lazily)."""
        _inherited.append(self._db)  # closing the parent's connection in the child is unsafe
        self._stale = False
        try:
            self._db = sqlite_utils.Database(self._connect())
        except sqlite3.Error as exc:
            self._unusable = StoreError(f"{self.path}: cannot reopen after fork: {exc}")
            self._db = sqlite_utils.Database(memory=True)

    # -- opening and schema --
    def _connect(self) -> sqlite3.Connection:
        if self._read_only_file is not None:
            return self._read_only_file.connect()
        conn = sqlite3.connect(
            self._location, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _open(self) -> sqlite_utils.Database:
        conn: sqlite3.Connection | None = None
        try:
            if not self.read_only:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._connect()
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except (OSError, sqlite3.Error) as exc:
            if conn is not None:
                conn.close()
            message = f"{self.path}: cannot open as an X-Ray database: {exc}"
            return self._give_up(StoreError(message))
        if version > SCHEMA_VERSION:
            conn.close()
            return self._give_up(SchemaVersionError(
                f"{self.path}: schema version {version} was written by a newer X-Ray "
                f"(this one reads up to {SCHEMA_VERSION}); upgrade decisiontracex. "
                "The database was not modified."
            ))  # fmt: skip
        if self.read_only:
            if version < SCHEMA_VERSION:
                conn.close()
                return self._give_up(StoreError(
                    f"{self.path}: schema version {version} is older than this X-Ray's "
                    f"({SCHEMA_VERSION}) and a read-only store does not upgrade it; open it "
                    "once without read_only=True. The database was not modified."
                ))  # fmt: skip
            return sqlite_utils.Database(conn)
        try:
            self._ensure_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            if version < SCHEMA_VERSION:
                self._migrate(conn)
        except sqlite3.Error as exc:
            conn.close()
            return self._give_up(StoreError(f"{self.path}: cannot prepare the database: {exc}"))
        return sqlite_utils.Database(conn)

    def _ensure_wal(self, conn: sqlite3.Connection) -> None:
        """Switch the file to WAL, waiting up to ``timeout`` for other processes opening it.

        SQLite answers "database is locked" to a journal-mode change at once, without calling
        the busy handler, while another connection (say, a second process creating the same
        file) holds a lock: so retry here until the file is in WAL mode or the timeout passes.
        A file system without WAL support answers with the old mode and no error: the same
        timeout ends that wait too.
        """
        deadline = time.monotonic() + self.timeout
        pause = 0.005
        while (mode := conn.execute("PRAGMA journal_mode").fetchone()[0]) != "wal":
            try:
                if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal":
                    return
            except sqlite3.OperationalError:
                if time.monotonic() + pause > deadline:
                    raise
            else:
                if time.monotonic() + pause > deadline:
                    raise sqlite3.OperationalError(f"cannot switch to WAL (journal mode: {mode})")
            time.sleep(pause)
            pause = min(pause * 2, 0.1)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read again under the write lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            db = sqlite_utils.Database(conn)
            for target in range(version + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[target](db)
                conn.execute(f"PRAGMA user_version = {target}")
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise

    def _closed_error(self) -> StoreError:
        """Why this store cannot write although it is usable: closed, or opened read-only."""
        if self.read_only and not self._closed:
            return StoreError(f"{self.path}: opened read-only (read_only=True): nothing is written")
        return StoreError(f"{self.path}: store is closed")

    def _give_up(self, exc: StoreError) -> sqlite_utils.Database:
        """The database cannot be used: raise when strict, else log, count and record nothing."""
        self._unusable = exc
        if self.strict:
            raise exc
        self._count(exc)
        return sqlite_utils.Database(memory=True)

    def _check_readable(self) -> None:
        if self._stale:
            self._reconnect()
        if self._unusable is not None:
            raise type(self._unusable)(str(self._unusable))

    def _count(self, exc: BaseException, records: int = 1) -> None:
        with self._errors_lock:
            self.errors += records
            total = self.errors
        # The first failures are logged in full; after that, a line per 1,000 keeps logs usable
        # when a database stays unwritable for a long-running process.
        if total - records < _LOGGED_ERRORS or total // 1000 > (total - records) // 1000:
            logger.error("xray: %s (%d store error(s) so far)", exc, total)

    def _fail(self, exc: StoreError, records: int = 1) -> None:
        self._count(exc, records)
        if self.strict and self._failure is None:
            self._failure = exc

    # -- recording --
    def start_trace(self, record: dict[str, Any]) -> None:
        self._enqueue("trace", trace_row(record))

    def save_step(self, record: dict[str, Any]) -> None:
        self._enqueue("step", record)

    def end_trace(self, record: dict[str, Any]) -> None:
        self._enqueue("trace", trace_row(record))
        self.flush()

    def queue_test(
        self,
        run_id: str,
        test: dict[str, Any] | None,
        traces: Iterable[tuple[dict[str, Any], list[dict[str, Any]]]] = (),
    ) -> None:
        """Hand a finished test's traces and its ``run_tests`` row to the writer thread.

        Returns at once: the rows are built and committed on the writer thread, all in one
        transaction, within :data:`TEST_LINGER_S` plus the commit (:meth:`flush` waits for it).

        :param run_id: the run the test belongs to (its row must exist: see :meth:`save_run`).
        :param test: the test's row (keys: ``RUN_TEST_COLUMNS``), or None for traces alone.
        :param traces: (trace record, step records) pairs, as the recorder keeps them; they must
            not change any more (finished traces).
        """
        bundle = [(dict(record), list(steps)) for record, steps in traces]
        self._enqueue("test", (run_id, test, bundle))

    def _enqueue(self, kind: str, payload: Any) -> None:
        if self._unusable is not None or self._closed or self.read_only:
            exc = self._unusable or self._closed_error()
            if self.strict:
                raise type(exc)(str(exc))
            self._count(exc)
            return
        if self._writer is None:
            try:
                self._start_writer()
            except StoreError as exc:
                if self.strict:
                    raise
                self._count(exc)
                return
        self._queue.put((kind, payload))

    def _start_writer(self) -> None:
        with self._writer_lock:
            if self._writer is None:
                try:
                    conn = self._connect()
                except sqlite3.Error as exc:
                    self._unusable = StoreError(f"{self.path}: cannot open for writing: {exc}")
                    raise self._unusable from exc
                writer = threading.Thread(
                    target=self._write_loop, args=(conn,), name="xray-sqlite-writer", daemon=True
                )
                writer.start()
                self._writer = writer

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        while True:
            batch = [self._queue.get()]
            if batch[0][0] == "test":
                time.sleep(TEST_LINGER_S)
            while len(batch) < _BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            done = [payload for kind, payload in batch if kind == "flush"]
            rows: list[tuple[str, Any]] = []
            for kind, payload in batch:
                if kind in ("trace", "step"):
                    rows.append((kind, payload))
                elif kind == "test":
                    rows += _test_records(*payload)
            if rows:
                self._commit(conn, rows)
            for event in done:
                event.set()
            if any(kind == "stop" for kind, _ in batch):
                conn.close()
                return

    def _commit(self, conn: sqlite3.Connection, rows: list[tuple[str, Any]]) -> None:
        try:
            self._execute(conn, [_prepared(k, p) for k, p in rows])
        except sqlite3.OperationalError as exc:
            # Locked past the timeout, read-only, disk full: retrying row by row would only wait
            # the busy timeout once per row, so the batch is counted as lost at once.
            self._fail(StoreError(f"{self.path}: could not write {len(rows)} record(s): {exc}"),
                       records=len(rows))  # fmt: skip
        except Exception:  # noqa: BLE001 - a bad row: retry one by one so it loses only itself
            for kind, payload in rows:
                try:
                    sql_kind, row = _prepared(kind, payload)
                    try:
                        self._execute(conn, [(sql_kind, row)])
                    except UnicodeEncodeError:  # lone surrogates (surrogateescape'd file names)
                        self._execute(conn, [(sql_kind, _scrubbed(row))])
                except Exception as exc:  # noqa: BLE001
                    what = {"run_test": "test row", "trace_record": "trace"}.get(kind, kind)
                    self._fail(StoreError(f"{self.path}: could not write a {what}: {exc}"))

    @staticmethod
    def _execute(conn: sqlite3.Connection, rows: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
        conn.execute("BEGIN IMMEDIATE")  # outside the try: a failed BEGIN has nothing to roll back
        try:
            start = 0
            while start < len(rows):  # consecutive rows of one kind go in one executemany
                kind = rows[start][0]
                end = start
                while end < len(rows) and rows[end][0] == kind:
                    end += 1
                conn.executemany(_SQL[kind], [row for _, row in rows[start:end]])
                start = end
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise

    def flush(self) -> None:
        """Wait until every queued write is committed (raises the first failure when strict)."""
        writer = self._writer
        if writer is not None and writer.is_alive():
            event = threading.Event()
            self._queue.put(("flush", event))
            if not event.wait(FLUSH_TIMEOUT_S):
                late = f"{self.path}: writes not committed after {FLUSH_TIMEOUT_S}s"
                self._fail(StoreError(late))
        failure, self._failure = self._failure, None
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
            if self._writer is not None and self._writer.is_alive():
                self._queue.put(("stop", None))
                self._writer.join(FLUSH_TIMEOUT_S)
            self._db.close()

    # -- whole traces and runs --
    def save_traces(self, traces: Iterable[Trace]) -> int:
        count = 0
        for trace in traces:
            record, steps = trace_to_records(trace)
            if self._pending is not None:
                self._pending.append((_UPSERT_TRACE, trace_row(record)))
                self._pending.extend((_INSERT_STEP, step_row(step)) for step in steps)
            else:
                self._enqueue("trace", trace_row(record))
                for step in steps:
                    self._enqueue("step", step)
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
            self._write_now([(sql, _scrubbed(tuple(args))) for sql, args in held], strict=True)

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        self._check_readable()
        if self._writer is not None:
            self.flush()
        with self._read_lock:
            try:
                rows = self._query(sql, args)
            except StoreError:
                if not self._written_under_us():
                    raise
                rows = None
            if rows is None or self._written_under_us():  # read again, now with locks
                self._db.close()
                self._db = sqlite_utils.Database(self._connect())
                rows = self._query(sql, args)
            return rows

    def _query(self, sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
        try:
            cursor = self._db.execute(sql, list(args))
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    def _written_under_us(self) -> bool:
        """Whether a writer may have changed a file this read-only store reads without locks."""
        return self._read_only_file is not None and self._read_only_file.changed()

    def get_trace(self, trace_id: str) -> Trace | None:
        found = self._load("SELECT * FROM traces WHERE trace_id = ?", [trace_id])
        return found[0] if found else None

    def list_traces(
        self,
        limit: int | None = 100,
        offset: int = 0,
        *,
        status: str | None = None,
        name: str | None = None,
        run_id: str | None = None,
        test_id: str | None = None,
        since: datetime | None = None,
    ) -> list[Trace]:
        check_query(limit, offset, status)
        clauses: list[str] = []
        args: list[Any] = []
        for column, value in (("status", status), ("name", name), ("run_id", run_id),
                              ("test_id", test_id)):  # fmt: skip
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if since is not None:
            clauses.append("start_time >= ?")
            args.append(_iso(since))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT * FROM traces{where} ORDER BY start_time, rowid LIMIT ? OFFSET ?"
        return self._load(sql, [*args, -1 if limit is None else limit, offset])

    def _load(self, sql: str, args: Sequence[Any]) -> list[Trace]:
        trace_rows = self._rows(sql, args)
        steps: dict[str, list[dict[str, Any]]] = {r["trace_id"]: [] for r in trace_rows}
        ids = list(steps)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for row in self._rows(f"SELECT * FROM steps WHERE trace_id IN ({marks})", chunk):
                with self._unreadable("step", row["step_id"]):
                    for field in _JSON_STEP_FIELDS:
                        row[field] = loads_json(row[field]) if row[field] is not None else None
                row["metadata"] = row["metadata"] or {}
                steps[row["trace_id"]].append(row)
        traces = []
        for row in trace_rows:
            row.pop("created_at", None)
            with self._unreadable("trace", row["trace_id"]):
                row["metadata"] = loads_json(row["metadata"]) if row["metadata"] else {}
                traces.append(trace_from_records(row, steps[row["trace_id"]]))
        return traces

    @contextmanager
    def _unreadable(self, what: str, key: Any) -> Iterator[None]:
        """A stored row that is not valid (edited by hand, damaged) is a StoreError naming it."""
        try:
            yield
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "value"
            raise StoreError(f"{self.path}: the stored {what} {key!r} cannot be read: "
                             f"{where}: {error['msg']}") from exc  # fmt: skip
        except (ValueError, TypeError) as exc:  # JSONDecodeError included
            raise StoreError(f"{self.path}: the stored {what} {key!r} cannot be read: "
                             f"{type(exc).__name__}: {exc}") from exc  # fmt: skip

    def trace_ids_with_prefix(self, prefix: str, limit: int = 10) -> list[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._rows(
            "SELECT trace_id FROM traces WHERE trace_id LIKE ? ESCAPE '\\' "
            "ORDER BY trace_id LIMIT ?",
            [escaped + "%", limit],
        )
        return [r["trace_id"] for r in rows]

    def trace_summaries(
        self, limit: int | None = 20, *, name: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """The most recently started traces first, without their steps (cheap on a big file).

        Each row has ``trace_id``, ``name``, ``status``, ``start_time``, ``end_time`` (aware
        datetimes), ``duration_ms``, ``run_id``, ``test_id`` and ``steps`` (how many).
        """
        check_query(limit, 0, status)
        clauses = [f"{column} = ?" for column, value in (("name", name), ("status", status))
                   if value is not None]  # fmt: skip
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._rows(
            "SELECT trace_id, name, status, start_time, end_time, duration_ms, run_id, test_id, "
            "(SELECT count(*) FROM steps WHERE steps.trace_id = traces.trace_id) AS steps "
            f"FROM traces{where} ORDER BY start_time DESC, rowid DESC LIMIT ?",
            [*(v for v in (name, status) if v is not None), -1 if limit is None else limit],
        )
        for row in rows:
            with self._unreadable("trace", row["trace_id"]):
                for key in ("start_time", "end_time"):
                    row[key] = _parse_time(row[key])
        return rows

    def trace_owners(self, trace_ids: Iterable[str]) -> dict[str, str | None]:
        """The run of each stored trace among ``trace_ids`` (None: recorded outside a run)."""
        return {row["trace_id"]: row["run_id"] for row in self._lookup(
            "SELECT trace_id, run_id FROM traces WHERE trace_id IN ({})", trace_ids)}  # fmt: skip

    def step_owners(self, step_ids: Iterable[str]) -> dict[str, str]:
        """The trace of each stored step among ``step_ids``."""
        return {row["step_id"]: row["trace_id"] for row in self._lookup(
            "SELECT step_id, trace_id FROM steps WHERE step_id IN ({})", step_ids)}  # fmt: skip

    def _lookup(self, sql: str, keys: Iterable[str]) -> list[dict[str, Any]]:
        keys = list(dict.fromkeys(keys))
        rows: list[dict[str, Any]] = []
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows += self._rows(sql.format(", ".join("?" * len(chunk))), chunk)
        return rows

    def _write_now(
        self, statements: list[tuple[str, Sequence[Any]]], *, strict: bool = False
    ) -> None:
        """Run ``statements`` in one transaction now (runs are written outside the hot path)."""
        if self._pending is not None:
            self._pending.extend(statements)
            return
        try:
            self._check_readable()
            if self.read_only:
                raise self._closed_error()
            self.flush()
            with self._read_lock:
                conn = self._db.conn
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as exc:
                    raise StoreError(f"{self.path}: {exc}") from exc
                try:
                    for sql, args in statements:
                        conn.execute(sql, list(args))
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    _rollback(conn)
                    raise StoreError(f"{self.path}: {exc}") from exc
        except StoreError as exc:
            if self.strict or strict:
                raise
            self._count(exc)

    def save_run(
        self, run: Run, tests: Iterable[dict[str, Any]] = (), *, keep_tests: bool = False
    ) -> None:
        """Insert or update ``run`` and write ``tests`` (keys: ``RUN_TEST_COLUMNS``), in one
        transaction, after every queued write.

        :param keep_tests: a test that already has a row keeps it (its row was written when it
            finished: see :meth:`queue_test`); by default the given rows replace them.
        """
        row = (
            run.run_id, _iso(run.started_at), _iso(run.finished_at), run.git_commit,
            run.git_branch, None if run.git_dirty is None else int(run.git_dirty), run.command,
            json.dumps(run.counts, sort_keys=True), run.status, run.host, run.pid,
        )  # fmt: skip
        insert_test = _INSERT_RUN_TEST.format(verb="IGNORE" if keep_tests else "REPLACE")
        statements: list[tuple[str, Sequence[Any]]] = [(_UPSERT_RUN, row)]
        statements += [(insert_test, run_test_row(run.run_id, test)) for test in tests]
        self._write_now(statements)

    def _run(self, row: dict[str, Any]) -> Run:
        with self._unreadable("run", row["run_id"]):
            row["counts"] = json.loads(row["counts"]) if row["counts"] else {}
            row["git_dirty"] = None if row["git_dirty"] is None else bool(row["git_dirty"])
            return Run.model_validate(row)

    def get_run(self, run_id: str) -> Run | None:
        rows = self._rows("SELECT * FROM runs WHERE run_id = ?", [run_id])
        return self._run(rows[0]) if rows else None

    def list_runs(
        self, limit: int | None = None, offset: int = 0, *, status: RunStatus | None = None
    ) -> list[Run]:
        check_query(limit, offset, status, RUN_STATUSES)
        where = "" if status is None else "WHERE status = ? "
        rows = self._rows(
            f"SELECT * FROM runs {where}ORDER BY started_at DESC, rowid DESC LIMIT ? OFFSET ?",
            [*([] if status is None else [status]), -1 if limit is None else limit, offset],
        )
        return [self._run(r) for r in rows]

    def run_tests(self, run_id: str) -> list[dict[str, Any]]:
        return self._rows(
            f"SELECT {', '.join(RUN_TEST_COLUMNS)} FROM run_tests WHERE run_id = ? "
            "ORDER BY test_id",
            [run_id],
        )

    def delete_run(self, run_id: str) -> None:
        self._write_now([
            ("DELETE FROM steps WHERE trace_id IN (SELECT trace_id FROM traces WHERE run_id = ?)",
             [run_id]),
            ("DELETE FROM traces WHERE run_id = ?", [run_id]),
            ("DELETE FROM run_tests WHERE run_id = ?", [run_id]),
            ("DELETE FROM runs WHERE run_id = ?", [run_id]),
        ])  # fmt: skip


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back the open transaction, unless SQLite already did.

    After some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM...) SQLite rolls the transaction
    back itself; a ROLLBACK then fails with "no transaction is active", and that error must not
    replace the one being raised (the disk is full, not the rollback).
    """
    if conn.in_transaction:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def _parse_time(text: str | None) -> datetime | None:
    """A stored ISO-8601 time as an aware UTC datetime (naive text is UTC)."""
    if text is None:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _test_records(
    run_id: str,
    test: dict[str, Any] | None,
    traces: list[tuple[dict[str, Any], list[dict[str, Any]]]],
) -> list[tuple[str, Any]]:
    """The records of a queued test (see :meth:`SQLiteStore.queue_test`): each trace before its
    steps (foreign key), the test row last.
    """
    records: list[tuple[str, Any]] = []
    for record, steps in traces:
        records.append(("trace_record", record))
        records += [("step", step) for step in steps]
    if test is not None:
        records.append(("run_test", run_test_row(run_id, test)))
    return records


def _prepared(kind: str, payload: Any) -> tuple[str, tuple[Any, ...]]:
    """A queued record as (kind of row, row): the row is built here, on the writer thread."""
    if kind == "step":
        return "step", step_row(payload)
    if kind == "trace_record":
        return "trace", trace_row(payload)
    return kind, payload  # "trace" and "run_test" are queued as rows
