"""The SQLite schema: tables, the statements that write them, and migrations.

The schema version lives in ``PRAGMA user_version``; :data:`MIGRATIONS` brings an older database
up to :data:`SCHEMA_VERSION`. Times are stored as UTC ISO-8601 text with microseconds (so text
order is time order) and JSON fields as JSON text; :mod:`xray_core.store.rows` turns the
recorder's records into the rows these statements take.

The migrations take a :class:`sqlite_utils.Database`; sqlite-utils is imported only when a
database is created or upgraded (:func:`xray_core.store.database.migrate`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
#: the step columns holding JSON text
JSON_STEP_FIELDS = ("input", "output", "metadata")
RUN_COLUMNS = (
    "run_id", "started_at", "finished_at", "git_commit", "git_branch", "git_dirty", "command",
    "counts", "status", "host", "pid",
)  # fmt: skip
#: the columns of a ``run_tests`` row (``base.RUN_TEST_COLUMNS``: the same without ``run_id``)
RUN_TEST_ROW_COLUMNS = ("run_id", "test_id", "outcome", "baseline", "duration_ms", "message")


def _values(columns: tuple[str, ...]) -> str:
    return f"({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


#: a trace row, inserted or updated (the recorder writes it when the trace starts and ends)
UPSERT_TRACE = (
    f"INSERT INTO traces {_values(TRACE_COLUMNS)} ON CONFLICT(trace_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in TRACE_COLUMNS[1:])
)
#: a new step row: the recorder's steps are new, and a plain INSERT is the cheapest (an
#: ``OR REPLACE`` with foreign keys on costs half as much again per row); fails on a step id
#: already stored, which :data:`REPLACE_STEP` then writes
INSERT_STEP = f"INSERT INTO steps {_values(STEP_COLUMNS)}"
#: a step row replacing the stored step of the same id
REPLACE_STEP = f"INSERT OR REPLACE INTO steps {_values(STEP_COLUMNS)}"
UPSERT_RUN = (
    f"INSERT INTO runs {_values(RUN_COLUMNS)} ON CONFLICT(run_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in RUN_COLUMNS[1:])
)
#: a test row; the test's latest row wins
REPLACE_RUN_TEST = f"INSERT OR REPLACE INTO run_tests {_values(RUN_TEST_ROW_COLUMNS)}"
#: a test row, unless the test already has one (the kept row wins)
INSERT_RUN_TEST_UNLESS_KEPT = f"INSERT OR IGNORE INTO run_tests {_values(RUN_TEST_ROW_COLUMNS)}"


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
