"""Databases as earlier releases wrote them, for the tests of migrations and fallbacks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from xray_core.store.schema import MIGRATIONS


def database_at(path: Path, version: int, *, legacy_trace: bool = True) -> sqlite3.Connection:
    """A new file at ``path`` built by the migrations up to ``version`` (its ``user_version``
    set), open in autocommit; with ``legacy_trace``, holding a completed trace ``old``."""
    conn = sqlite3.connect(path, isolation_level=None)
    for step in range(1, version + 1):
        MIGRATIONS[step](sqlite_utils.Database(conn))
    conn.execute(f"PRAGMA user_version = {version}")
    if legacy_trace:
        conn.execute("INSERT INTO traces (trace_id, name, start_time, status, metadata) "
                     "VALUES ('old', 'legacy', '2025-01-01T00:00:00+00:00', 'completed', '{}')")  # fmt: skip
    return conn
