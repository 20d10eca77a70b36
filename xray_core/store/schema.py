"""The SQLite schema: tables, migrations, and how recorder records become rows.

The schema version lives in ``PRAGMA user_version``; :data:`MIGRATIONS` brings an older database
up to :data:`SCHEMA_VERSION`. Times are stored as UTC ISO-8601 text with microseconds (so text
order is time order) and JSON fields as compact JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import sqlite_utils

SCHEMA_VERSION = 4

TRACE_COLUMNS = (
    "trace_id", "name", "start_time", "end_time", "duration_ms", "metadata", "status",
    "run_id", "test_id",
)  # fmt: skip
STEP_COLUMNS = (
    "step_id", "trace_id", "parent_id", "name", "step_order", "input", "output", "reasoning",
    "metadata", "status", "error", "start_time", "end_time", "duration_ms",
)  # fmt: skip
_JSON_STEP_FIELDS = ("input", "output", "metadata")

_UPSERT_TRACE = (
    f"INSERT INTO traces ({', '.join(TRACE_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(TRACE_COLUMNS))})"
    " ON CONFLICT(trace_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in TRACE_COLUMNS[1:])
)
_INSERT_STEP = (
    f"INSERT OR REPLACE INTO steps ({', '.join(STEP_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(STEP_COLUMNS))})"
)
RUN_COLUMNS = (
    "run_id", "started_at", "finished_at", "git_commit", "git_branch", "git_dirty", "command",
    "counts", "status", "host", "pid",
)  # fmt: skip
_UPSERT_RUN = (
    f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' * len(RUN_COLUMNS))})"
    " ON CONFLICT(run_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in RUN_COLUMNS[1:])
)
_RUN_TEST_COLUMNS = ("run_id", "test_id", "outcome", "baseline", "duration_ms", "message")
#: a test row; ``{verb}`` is ``REPLACE`` (the test's latest row wins) or ``IGNORE`` (kept rows win)
_INSERT_RUN_TEST = (
    f"INSERT OR {{verb}} INTO run_tests ({', '.join(_RUN_TEST_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(_RUN_TEST_COLUMNS))})"
)


def _iso(value: Any) -> str | None:
    """UTC ISO-8601 text with microseconds, so that text order is time order (naive = UTC)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat(timespec="microseconds")
    return datetime.fromtimestamp(value, tz=timezone.utc).isoformat(timespec="microseconds")


_encode = json.JSONEncoder(ensure_ascii=False, default=str).encode  # reused: rows are hot


def _json(value: Any) -> str | None:
    if type(value) is bytes:  # JSON text already: the recorder's snapshot of an input or output
        return value.decode("utf-8")
    return None if value is None else _encode(value)


def trace_row(record: dict[str, Any]) -> tuple[Any, ...]:
    """The ``traces`` row of a trace record (times as ISO-8601 text, metadata as JSON)."""
    return (
        record["trace_id"], record["name"], _iso(record["start_time"]),
        _iso(record.get("end_time")), record.get("duration_ms"),
        _json(record.get("metadata") or {}), record["status"],
        record.get("run_id"), record.get("test_id"),
    )  # fmt: skip


def step_row(record: dict[str, Any]) -> tuple[Any, ...]:
    """The ``steps`` row of a step record."""
    return (
        record["step_id"], record["trace_id"], record.get("parent_id"), record["name"],
        record["step_order"], _json(record.get("input")), _json(record.get("output")),
        record.get("reasoning"), _json(record.get("metadata") or {}), record["status"],
        record.get("error"), _iso(record["start_time"]), _iso(record.get("end_time")),
        record.get("duration_ms"),
    )  # fmt: skip


def run_test_row(run_id: str, test: dict[str, Any]) -> tuple[Any, ...]:
    """The ``run_tests`` row of one test of ``run_id`` (keys: ``RUN_TEST_COLUMNS``)."""
    return (
        run_id, test["test_id"], test.get("outcome"), test.get("baseline"),
        test.get("duration_ms"), test.get("message"),
    )  # fmt: skip


def _scrubbed(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """``row`` with text that UTF-8 cannot encode (lone surrogates) written as ``\\udcxx``."""
    return tuple(
        v.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(v, str) else v
        for v in row
    )


def _create_v1(db: sqlite_utils.Database) -> None:
    db["runs"].create(  # type: ignore[union-attr]
        {"run_id": str, "started_at": str, "finished_at": str, "git_commit": str,
         "git_branch": str, "git_dirty": int, "command": str, "counts": str},
        pk="run_id", not_null={"started_at"},
    )  # fmt: skip
    db["traces"].create(  # type: ignore[union-attr]
        {"trace_id": str, "name": str, "start_time": str, "end_time": str, "duration_ms": float,
         "metadata": str, "status": str, "run_id": str, "test_id": str, "created_at": str},
        pk="trace_id", not_null={"name", "start_time", "status"},
        defaults={"created_at": "CURRENT_TIMESTAMP"},
    )  # fmt: skip
    db["steps"].create(  # type: ignore[union-attr]
        {"step_id": str, "trace_id": str, "parent_id": str, "name": str, "step_order": int,
         "input": str, "output": str, "reasoning": str, "metadata": str, "status": str,
         "error": str, "start_time": str, "end_time": str, "duration_ms": float},
        pk="step_id", not_null={"trace_id", "name", "status"},
        foreign_keys=[("trace_id", "traces", "trace_id")],
    )  # fmt: skip
    db["run_tests"].create(  # type: ignore[union-attr]
        {"run_id": str, "test_id": str, "outcome": str, "baseline": str, "duration_ms": float},
        pk=("run_id", "test_id"), foreign_keys=[("run_id", "runs", "run_id")],
    )  # fmt: skip
    for table, columns in (
        ("traces", ["status"]), ("traces", ["created_at"]), ("traces", ["run_id"]),
        ("traces", ["test_id"]), ("traces", ["name"]), ("steps", ["trace_id"]),
        ("runs", ["started_at"]),
    ):  # fmt: skip
        db[table].create_index(columns, if_not_exists=True)  # type: ignore[union-attr]


def _add_v2_indexes(db: sqlite_utils.Database) -> None:
    """v2: the seed's (trace_id, step_order) index; trace listing by time; runs by commit."""
    for table, columns in (
        ("steps", ["trace_id", "step_order"]), ("traces", ["start_time"]), ("runs", ["git_commit"]),
    ):  # fmt: skip
        db[table].create_index(columns, if_not_exists=True)  # type: ignore[union-attr]


def _add_test_messages(db: sqlite_utils.Database) -> None:
    """v3: the failure text pytest reported for each test of a run (``run_tests.message``)."""
    db["run_tests"].add_column("message", str)  # type: ignore[union-attr]


def _add_run_status(db: sqlite_utils.Database) -> None:
    """v4: how each run ended (``runs.status``: the runs kept so far all completed) and the
    machine and process recording it (``host``, ``pid``: tells a live run from a killed one).
    """
    runs = db["runs"]
    runs.add_column("status", str, not_null_default="completed")  # type: ignore[union-attr]
    runs.add_column("host", str)  # type: ignore[union-attr]
    runs.add_column("pid", int)  # type: ignore[union-attr]


MIGRATIONS: dict[int, Callable[[sqlite_utils.Database], None]] = {
    1: _create_v1,
    2: _add_v2_indexes,
    3: _add_test_messages,
    4: _add_run_status,
}
"""Migration to version N, applied in order to databases below :data:`SCHEMA_VERSION`."""
