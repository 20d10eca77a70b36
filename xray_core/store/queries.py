"""The SQLite store's reads: SQL in, models out.

:class:`Queries` answers every question a store is asked (a trace, a page of traces, runs...)
through one function that runs a query and returns its rows as dicts, so it works on any
connection to an X-Ray database (the store gives it its own, flushed and locked: see
``SQLiteStore._rows``). A stored row that cannot be read (edited by hand, damaged) is a
:class:`~xray_core.exceptions.StoreError` naming it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..exceptions import StoreError
from ..outcomes import RUN_STATUSES
from ..serialize import loads_json
from .base import RUN_TEST_COLUMNS, TraceQuery, check_query
from .rows import iso
from .schema import JSON_STEP_FIELDS

if TYPE_CHECKING:  # imported by the first read that builds a model: a writer never needs them
    from ..models import Run, RunStatus, Trace

#: runs ``sql`` with ``args`` and returns its rows as dicts (column name: value)
Fetch = Callable[[str, Sequence[Any]], list[dict[str, Any]]]
#: ids per ``IN (...)`` query: below SQLite's limit on bound parameters
_CHUNK = 500


class Queries:
    """Reads of an X-Ray database.

    :param fetch: runs a query (see :data:`Fetch`).
    :param name: names the database in errors (the store's path).
    """

    def __init__(self, fetch: Fetch, name: str = "database") -> None:
        self.fetch = fetch
        self.name = name

    # -- traces --
    def get_trace(self, trace_id: str) -> Trace | None:
        """The trace with this id, with its steps, or None."""
        found = self.load_traces("SELECT * FROM traces WHERE trace_id = ?", [trace_id])
        return found[0] if found else None

    def select_traces(self, query: TraceQuery) -> list[Trace]:
        """The traces ``query`` asks for, oldest first (see ``Store.list_traces``)."""
        filters = query.equal_filters()
        clauses = [f"{column} = ?" for column in filters]
        args: list[Any] = list(filters.values())
        if query.since is not None:
            clauses.append("start_time >= ?")
            args.append(iso(query.since))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        limit = -1 if query.limit is None else query.limit
        sql = f"SELECT * FROM traces{where} ORDER BY start_time, rowid LIMIT ? OFFSET ?"
        return self.load_traces(sql, [*args, limit, query.offset])

    def load_traces(self, sql: str, args: Sequence[Any]) -> list[Trace]:
        """The traces of the ``traces`` rows ``sql`` selects, each with its steps."""
        trace_rows = self.fetch(sql, args)
        steps: dict[str, list[dict[str, Any]]] = {r["trace_id"]: [] for r in trace_rows}
        ids = list(steps)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            for row in self.fetch(f"SELECT * FROM steps WHERE trace_id IN ({marks})", chunk):
                steps[row["trace_id"]].append(row)
        return [self.trace_from_rows(row, steps[row["trace_id"]]) for row in trace_rows]

    def trace_from_rows(self, trace: dict[str, Any], steps: list[dict[str, Any]]) -> Trace:
        """The :class:`Trace` of a ``traces`` row and its ``steps`` rows (as stored: JSON text),
        rows of any order; the rows are changed in place.
        """
        # imported by the first read that builds a model, as the models: a writer never reads
        from pydantic_core import from_json

        def loads(text: str) -> Any:
            """:func:`loads_json`'s data, read by pydantic's parser where it can (twice as
            fast); a text it refuses (a lone surrogate's escape, or not JSON) by loads_json,
            which escapes it or says what is wrong."""
            try:
                return from_json(text)
            except ValueError:
                return loads_json(text)

        for row in steps:
            with self._unreadable("step", row["step_id"]):
                for field in JSON_STEP_FIELDS:
                    row[field] = loads(row[field]) if row[field] is not None else None
            row["metadata"] = row["metadata"] or {}
        trace.pop("created_at", None)
        with self._unreadable("trace", trace["trace_id"]):
            trace["metadata"] = loads(trace["metadata"]) if trace["metadata"] else {}
            from .records import trace_from_records

            return trace_from_records(trace, steps)

    def trace_ids_with_prefix(self, prefix: str, limit: int = 10) -> list[str]:
        """Ids of traces starting with ``prefix`` (``%`` and ``_`` are literal), in order."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.fetch(
            "SELECT trace_id FROM traces WHERE trace_id LIKE ? ESCAPE '\\' "
            "ORDER BY trace_id LIMIT ?",
            [escaped + "%", limit],
        )
        return [r["trace_id"] for r in rows]

    def trace_summaries(
        self, limit: int | None = 20, *, name: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """The most recently started traces first, without their steps (see
        ``SQLiteStore.trace_summaries``)."""
        check_query(limit, 0, status)
        filters = {k: v for k, v in (("name", name), ("status", status)) if v is not None}
        # the status index for a rare status only: "completed" is nearly every trace, found
        # sooner walking the start_time index newest first than through its index, then sorted
        where = " WHERE " + " AND ".join(
            f"+{c} = ?" if (c, v) == ("status", "completed") else f"{c} = ?"
            for c, v in filters.items()
        ) if filters else ""  # fmt: skip
        rows = self.fetch(
            "SELECT trace_id, name, status, start_time, end_time, duration_ms, run_id, test_id, "
            "(SELECT count(*) FROM steps WHERE steps.trace_id = traces.trace_id) AS steps "
            f"FROM traces{where} ORDER BY start_time DESC, rowid DESC LIMIT ?",
            [*filters.values(), -1 if limit is None else limit],
        )
        for row in rows:
            with self._unreadable("trace", row["trace_id"]):
                for key in ("start_time", "end_time"):
                    row[key] = parse_time(row[key])
        return rows

    def trace_owners(self, trace_ids: Iterable[str]) -> dict[str, str | None]:
        """The run of each stored trace among ``trace_ids`` (None: recorded outside a run)."""
        rows = self._lookup("SELECT trace_id, run_id FROM traces WHERE trace_id IN ({})",
                            trace_ids)  # fmt: skip
        return {row["trace_id"]: row["run_id"] for row in rows}

    def step_owners(self, step_ids: Iterable[str]) -> dict[str, str]:
        """The trace of each stored step among ``step_ids``."""
        rows = self._lookup("SELECT step_id, trace_id FROM steps WHERE step_id IN ({})", step_ids)
        return {row["step_id"]: row["trace_id"] for row in rows}

    def _lookup(self, sql: str, keys: Iterable[str]) -> list[dict[str, Any]]:
        keys = list(dict.fromkeys(keys))
        rows: list[dict[str, Any]] = []
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            rows += self.fetch(sql.format(", ".join("?" * len(chunk))), chunk)
        return rows

    # -- runs --
    def get_run(self, run_id: str) -> Run | None:
        """The run with this id, or None."""
        rows = self.fetch("SELECT * FROM runs WHERE run_id = ?", [run_id])
        return self._run(rows[0]) if rows else None

    def list_runs(
        self, limit: int | None = None, offset: int = 0, *, status: RunStatus | None = None
    ) -> list[Run]:
        """Runs (only those of ``status`` when given), most recently started first."""
        check_query(limit, offset, status, RUN_STATUSES)
        where = "" if status is None else "WHERE status = ? "
        rows = self.fetch(
            f"SELECT * FROM runs {where}ORDER BY started_at DESC, rowid DESC LIMIT ? OFFSET ?",
            [*([] if status is None else [status]), -1 if limit is None else limit, offset],
        )
        return [self._run(r) for r in rows]

    def count_runs(self, status: RunStatus, limit: int | None = None) -> int:
        """How many runs of ``status`` there are, counting up to ``limit`` (builds no model)."""
        check_query(limit, 0, status, RUN_STATUSES)
        rows = self.fetch(
            "SELECT count(*) AS n FROM (SELECT 1 FROM runs WHERE status = ? LIMIT ?)",
            [status, -1 if limit is None else limit],
        )
        return int(rows[0]["n"])

    def run_tests(self, run_id: str) -> list[dict[str, Any]]:
        """The per-test rows of a run (keys: ``RUN_TEST_COLUMNS``), ordered by test id."""
        return self.fetch(
            f"SELECT {', '.join(RUN_TEST_COLUMNS)} FROM run_tests WHERE run_id = ? "
            "ORDER BY test_id",
            [run_id],
        )

    def _run(self, row: dict[str, Any]) -> Run:
        from ..models import Run

        # no `with self._unreadable(...)`: a listing reads hundreds of runs, and entering a
        # context manager costs as much as validating one; a failure goes through it
        try:
            counts = row["counts"]
            row["counts"] = _decode(counts) if counts else {}
            row["git_dirty"] = None if row["git_dirty"] is None else bool(row["git_dirty"])
            return Run.model_validate(row)
        except (ValueError, TypeError) as exc:  # pydantic's ValidationError included
            with self._unreadable("run", row["run_id"]):
                raise exc from None

    @contextmanager
    def _unreadable(self, what: str, key: Any) -> Iterator[None]:
        """A stored row that is not valid (edited by hand, damaged) is a StoreError naming it."""
        from pydantic import ValidationError  # imported with the models this reads into

        try:
            yield
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "value"
            raise StoreError(f"{self.name}: the stored {what} {key!r} cannot be read: "
                             f"{where}: {error['msg']}") from exc  # fmt: skip
        except (ValueError, TypeError) as exc:  # JSONDecodeError included
            raise StoreError(f"{self.name}: the stored {what} {key!r} cannot be read: "
                             f"{type(exc).__name__}: {exc}") from exc  # fmt: skip


#: ``json.loads`` without its Python-level argument handling (the same decoder)
_decode = json.JSONDecoder().decode


def parse_time(text: str | None) -> datetime | None:
    """A stored ISO-8601 time as an aware UTC datetime (naive text is UTC)."""
    if text is None:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
