"""The database ``xray serve`` reads, opened read-only: served requests never change a byte of it.

Whole runs and traces are read through a read-only :class:`~xray_core.store.sqlite.SQLiteStore`;
the listings the store has no query for (keyset pages, counts, one item's evaluations across
runs) through one more read-only connection (:class:`~xray_core.store.readonly.ReadOnlyFile`).
Both see what a running ``pytest --xray-db`` commits meanwhile: every read is its own snapshot,
and :meth:`ServedDatabase.version` tells whether anything was committed since a result was read.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..commands.common import match_test
from ..exceptions import StoreError
from ..models import Run
from ..store.readonly import ReadOnlyFile
from ..store.sqlite import SQLiteStore


class ServedDatabase:
    """One database file, read-only, shared by the server's worker threads.

    :param path: an X-Ray database of the current schema (see ``commands.common.check_db``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.store = SQLiteStore(path, strict=True, read_only=True)
        self._file = ReadOnlyFile(path, check_same_thread=False)
        self._conn: sqlite3.Connection | None = None
        self._connections = 0  # connections made so far: a new one restarts data_version
        self._lock = threading.Lock()

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """The rows of one read-only query (columns by name)."""
        return self._read(sql, args, sqlite3.Row)

    def tuples(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read-only query as plain tuples (the cheapest, for many rows)."""
        return self._read(sql, args, None)

    def _read(self, sql: str, args: Sequence[Any], factory: Any) -> list[Any]:
        with self._lock:
            try:
                rows = self._execute(self._connection(), sql, args, factory)
                if self._file.changed():  # read without locks while a writer started: again
                    rows = self._execute(self._connection(fresh=True), sql, args, factory)
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc
            return rows

    def version(self) -> tuple[int, int]:
        """What changes whenever data may have changed since: any commit to the file by another
        connection (``PRAGMA data_version``, which reads no table), or the file being reopened
        (an unlocked file that changed). Equal versions: the same data."""
        with self._lock:
            try:
                conn = self._connection()
                return self._connections, conn.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc

    @staticmethod
    def _execute(conn: sqlite3.Connection, sql: str, args: Sequence[Any], factory: Any
                 ) -> list[Any]:  # fmt: skip
        cursor = conn.cursor()
        cursor.row_factory = factory
        return cursor.execute(sql, list(args)).fetchall()

    def _connection(self, *, fresh: bool = False) -> sqlite3.Connection:
        if fresh or self._conn is None or self._file.changed():
            if self._conn is not None:
                self._conn.close()
            self._conn = self._file.connect()
            self._conn.row_factory = sqlite3.Row
            self._connections += 1
        return self._conn

    def close(self) -> None:
        """Close both connections."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        self.store.close()


def matching_tests(db: ServedDatabase, pattern: str, run_id: str | None = None) -> list[str]:
    """The test ids of stored traces (of ``run_id`` when given) that ``pattern`` selects, as
    ``--test`` does: the id contains it, or matches it as a glob."""
    if run_id is not None:
        rows = db.rows("SELECT DISTINCT test_id FROM traces WHERE run_id = ?", [run_id])
    else:  # from one distinct id to the next through the index, not over every trace
        rows = db.rows("WITH RECURSIVE ids(id) AS (SELECT min(test_id) FROM traces UNION ALL "
                       "SELECT (SELECT min(test_id) FROM traces WHERE test_id > ids.id) FROM ids "
                       "WHERE ids.id IS NOT NULL) SELECT id FROM ids")  # fmt: skip
    return [r[0] for r in rows if r[0] is not None and match_test(r[0], pattern)]


def run_from_row(row: sqlite3.Row) -> Run:
    """A ``runs`` row (every column) as a :class:`Run`."""
    data = {key: row[key] for key in row.keys() if key in Run.model_fields}
    data["counts"] = json.loads(data["counts"]) if data.get("counts") else {}
    if data.get("git_dirty") is not None:
        data["git_dirty"] = bool(data["git_dirty"])
    try:
        return Run.model_validate(data)
    except ValueError as exc:
        raise StoreError(f"the stored run {row['run_id']!r} cannot be read: {exc}") from None
