"""The SQLite schema: tables, the statements that write them, and migrations.

The schema version lives in ``PRAGMA user_version``; :data:`MIGRATIONS` brings an older database
up to :data:`SCHEMA_VERSION`. Times are stored as UTC ISO-8601 text with microseconds (so text
order is time order) and JSON fields as JSON text; :mod:`xray_core.store.rows` turns the
recorder's records into the rows these statements take.

A new, empty database is given the current schema at once by :data:`CREATE_CURRENT` (plain SQL:
a CI job's fresh ``--xray-db`` file does not pay for importing sqlite-utils, and numpy with it
when installed); :data:`MIGRATIONS` take a :class:`sqlite_utils.Database`, and sqlite-utils is
imported only when an older database is upgraded (:func:`xray_core.store.database.migrate`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

SCHEMA_VERSION = 6
#: the oldest version read as it is by a read-only connection (``xray serve``, the reading
#: commands): versions 5 and 6 only added a column each, which readers find NULL or absent, and
#: indexes
READ_ONLY_FROM = 4

TRACE_COLUMNS = (
    "trace_id", "name", "start_time", "end_time", "duration_ms", "metadata", "status",
    "run_id", "test_id",
)  # fmt: skip
#: the columns of a written trace row: :data:`TRACE_COLUMNS` and the trace's digest (schema 6,
#: see ``rows.trace_digest``; read apart, as files of versions 4 and 5 have no such column)
TRACE_ROW_COLUMNS = (*TRACE_COLUMNS, "digest")
STEP_COLUMNS = (
    "step_id", "trace_id", "parent_id", "name", "step_order", "input", "output", "reasoning",
    "metadata", "status", "error", "start_time", "end_time", "duration_ms", "digest",
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
    f"INSERT INTO traces {_values(TRACE_ROW_COLUMNS)} ON CONFLICT(trace_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in TRACE_ROW_COLUMNS[1:])
)
#: a new step row: the recorder's steps are new, and a plain INSERT is the cheapest (an
#: ``OR REPLACE`` with foreign keys on costs half as much again per row); fails on a step id
#: already stored, which :data:`REPLACE_STEP` then writes
INSERT_STEP = f"INSERT INTO steps {_values(STEP_COLUMNS)}"
#: a step row replacing the stored step of the same id
REPLACE_STEP = f"INSERT OR REPLACE INTO steps {_values(STEP_COLUMNS)}"
#: a trace's stored steps removed, before it is saved again whole (its steps then are the new
#: ones only, as the stores' ``save_traces`` says)
DELETE_TRACE_STEPS = "DELETE FROM steps WHERE trace_id = ?"
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


def _add_step_digests(db: sqlite_utils.Database) -> None:
    """v5: a digest of each step's content (``steps.digest``, see ``rows.step_digest``), carried
    by the ``(trace_id, step_order)`` index so that readers compare steps without reading their
    text; a covering index for a test's traces run by run (the history's query); and without
    the indexes no query uses (``created_at``) or that another index's prefix serves
    (``steps(trace_id)``, ``traces(test_id)``), which every write paid for. Steps stored before
    keep a NULL digest (readers fall back to their text): rewriting every row would hold the
    write lock for as long as the history is big.
    """
    db["steps"].add_column("digest", bytes)  # type: ignore[union-attr]
    for name in ("idx_steps_trace_id", "idx_steps_trace_id_step_order", "idx_traces_test_id",
                 "idx_traces_created_at"):  # fmt: skip
        db.execute(f'DROP INDEX IF EXISTS "{name}"')
    for statement in _V5_INDEXES:
        db.execute(statement)


#: the indexes version 5 adds
_V5_INDEXES = (
    'CREATE INDEX "idx_steps_content" ON "steps" '
    '("trace_id", "step_order", "digest", "step_id", "parent_id")',
    'CREATE INDEX "idx_traces_test_run" ON "traces" '
    '("test_id", "run_id", "start_time", "name", "trace_id")',
)


def _add_trace_digests(db: sqlite_utils.Database) -> None:
    """v6: a digest of each trace's steps (``traces.digest``, see ``rows.trace_digest``), carried
    by the covering index of a test's traces (``idx_traces_test_content``, which replaces
    version 5's ``idx_traces_test_run``), so that an item's history reads the steps of one trace
    per distinct content rather than every step of every trace. Traces stored before keep a
    NULL digest (readers fall back to their steps), for the reason given in version 5.
    """
    db["traces"].add_column("digest", bytes)  # type: ignore[union-attr]
    db.execute('DROP INDEX IF EXISTS "idx_traces_test_run"')
    db.execute(_V6_INDEX)


#: the index version 6 adds (in place of version 5's ``idx_traces_test_run``)
_V6_INDEX = (
    'CREATE INDEX "idx_traces_test_content" ON "traces" '
    '("test_id", "run_id", "start_time", "name", "trace_id", "digest")'
)

#: the current schema, created in one go in a new, empty database: the same tables, columns,
#: keys and indexes as :data:`MIGRATIONS` applied from version 0 (a test compares the two)
CREATE_CURRENT = (
    """CREATE TABLE "runs" ("run_id" TEXT PRIMARY KEY, "started_at" TEXT NOT NULL,
       "finished_at" TEXT, "git_commit" TEXT, "git_branch" TEXT, "git_dirty" INTEGER,
       "command" TEXT, "counts" TEXT, "status" TEXT NOT NULL DEFAULT 'completed', "host" TEXT,
       "pid" INTEGER)""",
    """CREATE TABLE "traces" ("trace_id" TEXT PRIMARY KEY, "name" TEXT NOT NULL,
       "start_time" TEXT NOT NULL, "end_time" TEXT, "duration_ms" REAL, "metadata" TEXT,
       "status" TEXT NOT NULL, "run_id" TEXT, "test_id" TEXT,
       "created_at" TEXT DEFAULT CURRENT_TIMESTAMP, "digest" BLOB)""",
    """CREATE TABLE "steps" ("step_id" TEXT PRIMARY KEY,
       "trace_id" TEXT NOT NULL REFERENCES "traces"("trace_id"), "parent_id" TEXT,
       "name" TEXT NOT NULL, "step_order" INTEGER, "input" TEXT, "output" TEXT,
       "reasoning" TEXT, "metadata" TEXT, "status" TEXT NOT NULL, "error" TEXT,
       "start_time" TEXT, "end_time" TEXT, "duration_ms" REAL, "digest" BLOB)""",
    """CREATE TABLE "run_tests" ("run_id" TEXT REFERENCES "runs"("run_id"), "test_id" TEXT,
       "outcome" TEXT, "baseline" TEXT, "duration_ms" REAL, "message" TEXT,
       PRIMARY KEY ("run_id", "test_id"))""",
    'CREATE INDEX "idx_traces_status" ON "traces" ("status")',
    'CREATE INDEX "idx_traces_run_id" ON "traces" ("run_id")',
    'CREATE INDEX "idx_traces_name" ON "traces" ("name")',
    'CREATE INDEX "idx_runs_started_at" ON "runs" ("started_at")',
    'CREATE INDEX "idx_traces_start_time" ON "traces" ("start_time")',
    'CREATE INDEX "idx_runs_git_commit" ON "runs" ("git_commit")',
    _V5_INDEXES[0],
    _V6_INDEX,
)  # fmt: skip

MIGRATIONS: dict[int, Callable[[sqlite_utils.Database], None]] = {
    1: _create_v1,
    2: _add_v2_indexes,
    3: _add_test_messages,
    4: _add_run_status,
    5: _add_step_digests,
    6: _add_trace_digests,
}
"""Migration to version N, applied in order to databases below :data:`SCHEMA_VERSION`."""
