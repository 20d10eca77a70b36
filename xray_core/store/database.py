"""Opening an X-Ray database: connect, set the pragmas, check the schema version, migrate.

:func:`open_database` is the one way the store opens a file, for writing (WAL, migrations) or
for reading only (nothing written: see :mod:`xray_core.store.readonly`); :func:`connect` makes
the further connections of a writable store (its writer thread's).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Any

from ..exceptions import SchemaVersionError, StoreError
from .readonly import ReadOnlyFile
from .schema import CREATE_CURRENT, MIGRATIONS, READ_ONLY_FROM, SCHEMA_VERSION

#: seconds a write waits for another process's write lock (and opening, for its WAL switch)
BUSY_TIMEOUT_S = 30.0


def _bind_plainly() -> None:
    """Have ``sqlite3`` bind None and ``bytes`` through an adapter that returns them as they are.

    ``sqlite3`` binds ints, floats and text directly, but passes None and ``bytes`` (the steps'
    NULL columns, their digests) through its adaptation protocol, which looks for an
    ``__adapt__`` on its protocol type and builds an AttributeError message on the way (2,100
    instructions a value, about a tenth of the writer's work per small step). A registered
    adapter is found first; these return the value itself (what is bound is unchanged: NULL,
    BLOB). An adapter registered before, by the application, is kept.
    """
    nothing: dict[None, None] = {}
    adapters: tuple[tuple[type[Any], Callable[[Any], Any]], ...] = (
        (type(None), nothing.get), (bytes, bytes),  # C callables: f(x) is x
    )  # fmt: skip
    for kind, same in adapters:
        if (kind, sqlite3.PrepareProtocol) not in sqlite3.adapters:
            sqlite3.register_adapter(kind, same)


_bind_plainly()


def connect(path: str | Path, *, timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """A writable connection, usable from any thread: no implicit transactions (the caller
    writes ``BEGIN IMMEDIATE`` ... ``COMMIT``), ``busy_timeout`` from ``timeout``, foreign keys
    on, ``synchronous=NORMAL``.

    :raises sqlite3.Error: SQLite cannot open the file.
    """
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        # Per connection, not per file: without it the writer thread's connection would run at
        # the default FULL, an fsync of the WAL at every commit (see docs/storage.md).
        conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def open_database(
    path: str | Path,
    *,
    timeout: float = BUSY_TIMEOUT_S,
    read_only: bool = False,
    connector: Callable[[], sqlite3.Connection] | None = None,
) -> sqlite3.Connection:
    """A connection to the X-Ray database at ``path``, its schema the current one.

    Writable (the default): missing parent directories are created, the file is switched to
    WAL (waiting up to ``timeout`` for other processes opening it) with ``synchronous=NORMAL``,
    and a new or older database is migrated (in one transaction, once even when several
    processes open it at the same moment).

    ``read_only``: neither the file nor its ``-wal`` is written (see
    :class:`~xray_core.store.readonly.ReadOnlyFile`); a database of a schema older than
    :data:`~.schema.READ_ONLY_FROM` is refused rather than migrated (version 4 is read as it is).

    :param connector: makes the connection (default: :func:`connect`, or a ``ReadOnlyFile``'s
        ``connect`` when ``read_only``); a store passes its own to keep one way of connecting.
    :raises SchemaVersionError: the database was written by a newer X-Ray; it is not modified.
    :raises StoreError: the file cannot be opened or prepared (named, with SQLite's reason).
    """
    if connector is None:
        if read_only:
            connector = ReadOnlyFile(path, timeout=timeout, check_same_thread=False).connect
        else:
            connector = partial(connect, path, timeout=timeout)
    conn: sqlite3.Connection | None = None
    try:
        if not read_only:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = connector()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except (OSError, sqlite3.Error) as exc:
        if conn is not None:
            conn.close()
        raise StoreError(f"{path}: cannot open as an X-Ray database: {exc}") from exc
    try:
        _check_version(path, version, read_only=read_only)
        if not read_only:
            ensure_wal(conn, timeout=timeout)
            conn.execute("PRAGMA synchronous = NORMAL")
            if version < SCHEMA_VERSION:
                migrate(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"{path}: cannot prepare the database: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _check_version(path: str | Path, version: int, *, read_only: bool) -> None:
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{path}: schema version {version} was written by a newer X-Ray "
            f"(this one reads up to {SCHEMA_VERSION}); upgrade decisiontracex. "
            "The database was not modified."
        )
    if read_only and version < READ_ONLY_FROM:
        raise StoreError(
            f"{path}: schema version {version} is older than this X-Ray reads as it is "
            f"({READ_ONLY_FROM} to {SCHEMA_VERSION}) and a read-only store does not upgrade it; "
            "open it once without read_only=True. The database was not modified."
        )


def ensure_wal(conn: sqlite3.Connection, *, timeout: float = BUSY_TIMEOUT_S) -> None:
    """Switch the file to WAL, waiting up to ``timeout`` for other processes opening it.

    SQLite answers "database is locked" to a journal-mode change at once, without calling the
    busy handler, while another connection (say, a second process creating the same file)
    holds a lock: so retry here until the file is in WAL mode or the timeout passes. A file
    system without WAL support answers with the old mode and no error: the same timeout ends
    that wait too.

    :raises sqlite3.OperationalError: still not in WAL mode after ``timeout``.
    """
    deadline = time.monotonic() + timeout
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


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the database up to :data:`SCHEMA_VERSION`, in one ``BEGIN IMMEDIATE`` transaction.

    The version is read again under the write lock: another process may have migrated the file
    since this one looked. A new, empty database gets the current schema directly
    (:data:`~.schema.CREATE_CURRENT`); only an older one imports sqlite-utils for the migrations.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        empty = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        if version == 0 and empty:
            for statement in CREATE_CURRENT:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version < SCHEMA_VERSION:
            import sqlite_utils  # for the migrations only: a new or current database never needs it

            db = sqlite_utils.Database(conn)
            for target in range(version + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[target](db)
                conn.execute(f"PRAGMA user_version = {target}")
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise


def rollback(conn: sqlite3.Connection) -> None:
    """Roll back the open transaction, unless SQLite already did.

    After some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM...) SQLite rolls the transaction
    back itself; a ROLLBACK then fails with "no transaction is active", and that error must not
    replace the one being raised (the disk is full, not the rollback).
    """
    if conn.in_transaction:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
