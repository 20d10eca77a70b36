"""Opening a SQLite file for reading only: neither the database nor its ``-wal`` file changes.

A normal connection that closes last checkpoints a leftover write-ahead log (``-wal``) into the
database and deletes the log: a reading command would then rewrite the user's file. A ``mode=ro``
connection opens the file read-only, so it reads the log (every committed transaction, even those
of a process killed before it checkpointed) without ever writing it back. Only the ``-shm`` index
may be rebuilt: SQLite derives it from the log, it holds no data.

A WAL database that no connection has open has no ``-wal`` and no ``-shm`` beside it, and the
file holds everything. A ``mode=ro`` connection would create both (empty), so such a file is read
as ``immutable`` instead: no lock, nothing created, which also works in a read-only folder where
SQLite could not create them. Without locks a writer starting meanwhile could change the file
under the reader: :meth:`ReadOnlyFile.changed` tells, and the reader then reconnects with locks.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

_WAL_MODE = b"\x02\x02"  # bytes 18-19 of the header: the file format of a WAL database


class ReadOnlyFile:
    """Connections to one database file that never write it nor its ``-wal`` file.

    :param path: the database file.
    :param timeout: seconds to wait for a lock held by a writer.
    :param check_same_thread: as for :func:`sqlite3.connect`.
    """

    def __init__(
        self, path: str | Path, *, timeout: float = 5.0, check_same_thread: bool = True
    ) -> None:
        self.path = Path(path).resolve()  # SQLite keeps the -wal beside the real file
        self.timeout = timeout
        self.check_same_thread = check_same_thread
        self._unlocked: tuple[int, ...] | None = None  # the file's state when read unlocked

    def connect(self) -> sqlite3.Connection:
        """A new read-only connection (unlocked ``immutable`` when nothing else has it open).

        :raises sqlite3.Error: the file cannot be read (missing, not SQLite, unreadable); the
            error is the one SQLite gave for the ``mode=ro`` opening.
        """
        if self._is_wal() and not self._logs_exist(shm=True):
            return self._immutable()
        self._unlocked = None
        conn = self._open("mode=ro")
        try:
            conn.execute("PRAGMA user_version").fetchone()  # opens the file, its -wal and -shm
            return conn
        except sqlite3.OperationalError as exc:
            conn.close()
            if self._logs_exist(shm=False):
                raise
            first = exc  # e.g. no -shm can be created: the file alone holds the data
        try:
            return self._immutable()
        except sqlite3.Error:
            raise first from None

    def changed(self) -> bool:
        """Whether a file read unlocked may have been written since (reconnect to read it)."""
        return self._unlocked is not None and (
            self._logs_exist(shm=True) or self._signature() != self._unlocked
        )

    def _immutable(self) -> sqlite3.Connection:
        signature = self._signature()
        conn = self._open("mode=ro&immutable=1")
        try:
            conn.execute("PRAGMA user_version").fetchone()
        except sqlite3.Error:
            conn.close()
            raise
        self._unlocked = signature
        return conn

    def _open(self, options: str) -> sqlite3.Connection:
        return sqlite3.connect(
            f"{self.path.as_uri()}?{options}", uri=True, timeout=self.timeout,
            isolation_level=None, check_same_thread=self.check_same_thread,
        )  # fmt: skip

    def _is_wal(self) -> bool:
        try:
            with self.path.open("rb") as handle:
                return handle.read(20)[18:20] == _WAL_MODE
        except OSError:
            return False  # let SQLite say what is wrong with it

    def _logs_exist(self, *, shm: bool) -> bool:
        """Whether a rollback journal or a non-empty write-ahead log is beside the file; with
        ``shm``, whether any of a journal, a log (even empty) or an ``-shm`` is."""
        for suffix in ("-journal", "-wal", "-shm"):
            try:
                size = os.stat(f"{self.path}{suffix}").st_size
            except FileNotFoundError:
                continue
            except OSError:
                return True  # cannot tell: assume it is there
            if shm or suffix == "-journal" or (suffix == "-wal" and size > 0):
                return True
        return False

    def _signature(self) -> tuple[int, ...]:
        try:
            info = os.stat(self.path)
        except OSError:
            return ()
        return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def connect_read_only(
    path: str | Path, *, timeout: float = 5.0, check_same_thread: bool = True
) -> sqlite3.Connection:
    """One read-only connection to ``path`` (see :class:`ReadOnlyFile`), for a short read."""
    return ReadOnlyFile(path, timeout=timeout, check_same_thread=check_same_thread).connect()
