"""The database ``xray serve`` reads, opened read-only: served requests never change a byte of it.

Whole runs and traces are read through a read-only :class:`~xray_core.store.sqlite.SQLiteStore`;
the listings the store has no query for (keyset pages, counts, one item's evaluations across
runs) through one more read-only connection (:class:`~xray_core.store.readonly.ReadOnlyFile`).
Both see what a running ``pytest --xray-db`` commits meanwhile: every read is its own snapshot.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
        self._lock = threading.Lock()

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """The rows of one read-only query (columns by name)."""
        with self._lock:
            try:
                rows = self._connection().execute(sql, list(args)).fetchall()
                if self._file.changed():  # read without locks while a writer started: again
                    rows = self._connection(fresh=True).execute(sql, list(args)).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc
            return rows

    def _connection(self, *, fresh: bool = False) -> sqlite3.Connection:
        if fresh or self._conn is None or self._file.changed():
            if self._conn is not None:
                self._conn.close()
            self._conn = self._file.connect()
            self._conn.row_factory = sqlite3.Row
        return self._conn

    def close(self) -> None:
        """Close both connections."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        self.store.close()


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
