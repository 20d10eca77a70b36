"""What each endpoint of ``xray serve`` answers: plain functions over the served database.

Every function returns JSON-able data or raises :class:`ApiError` (an HTTP status and a message
naming the parameter and its value); the web layer (:mod:`.app`) only maps URLs onto them.
Listings are keyset-paginated: a page ends with ``next``, an opaque cursor to pass back as
``cursor`` for the following page (None on the last page), so a page costs the same however deep
it is, and runs recorded meanwhile neither repeat nor skip entries.
"""

from __future__ import annotations

import base64
import binascii
import json
from argparse import Namespace
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from ..commands.common import UsageError, match_test, run_json
from ..commands.diff import diff_json, resolve_compared
from ..commands.report import build_report_data, run_test_results
from ..commands.stability import entry_json
from ..exceptions import UnknownRunError
from ..models import Run, Status
from ..report.payload import build_payload, script_json
from ..runref import latest_index, resolve_run
from ..runstate import shown_status
from ..serialize import SNAPSHOT_OPTIONS
from ..stability import stability_of
from .cache import ResultCache
from .content import TraceContents
from .database import ServedDatabase, matching_tests, run_from_row
from .fastdiff import compare_stored

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class JsonText(str):
    """A response already serialized to JSON text (as the costly results are kept)."""


def as_json_text(data: Any, *, floats: bool = True) -> JsonText:
    """``data`` serialized once: NaN as text, ``<>&`` escaped (inert even if sniffed as HTML).

    ``floats=False``: ``data`` holds no float (every number in it comes from a field typed
    ``int``), so no NaN either, and orjson's text of plain data is the report's as it is: the
    search for a NaN through the whole value (``script_json`` makes it when the text holds a
    ``null``) is skipped.
    """
    if not floats:
        try:
            data = orjson.Fragment(orjson.dumps(data, option=SNAPSHOT_OPTIONS))
        except TypeError:  # orjson.JSONEncodeError: not plain data, the general path writes it
            pass
    return JsonText(script_json(data))


class ApiError(Exception):
    """A request the API cannot answer: ``status`` (400 bad parameter, 404 not found)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# -- cursors ------------------------------------------------------------------------------------
def encode_cursor(*key: str) -> str:
    """The opaque cursor of a page's last entry (its sort key)."""
    raw = json.dumps(list(key), ensure_ascii=False).encode("utf-8", "backslashreplace")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(text: str, size: int) -> list[str]:
    """The sort key a cursor holds; a cursor this server did not give is a 400."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        key = json.loads(raw.decode("utf-8"))
    except (ValueError, binascii.Error):  # UnicodeDecodeError and JSONDecodeError included
        key = None
    if not (isinstance(key, list) and len(key) == size and all(isinstance(k, str) for k in key)):
        raise ApiError(400, f"cursor {_shown(text)}: not a cursor this server gave (pass the "
                            "`next` value of the previous page)")  # fmt: skip
    return key


def _shown(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _page(rows: Sequence[Any], limit: int, key: Callable[[Any], tuple[str, ...]]) -> str | None:
    """The cursor of the next page (``rows`` holds one row more than a page when there is one)."""
    return encode_cursor(*key(rows[limit - 1])) if len(rows) > limit else None


# -- runs ---------------------------------------------------------------------------------------
def run_summary(run: Run, traces: int | None = None) -> dict[str, Any]:
    """A run as the listings show it: the stored run, how it ended in words, its trace count."""
    data = run_json(run)
    data["shown_status"] = shown_status(run)
    if traces is not None:
        data["traces"] = traces
    return data


def runs_page(
    db: ServedDatabase, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Runs, most recently started first, with their trace counts."""
    clauses, args = [], []
    if status is not None:
        clauses.append("status = ?")
        args.append(status)
    if cursor is not None:
        clauses.append("(started_at, run_id) < (?, ?)")
        args += decode_cursor(cursor, 2)
    where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
    rows = db.rows(
        "SELECT *, (SELECT count(*) FROM traces WHERE traces.run_id = runs.run_id) AS trace_count "
        f"FROM runs {where}ORDER BY started_at DESC, run_id DESC LIMIT ?",
        [*args, limit + 1],
    )
    return {
        "runs": [run_summary(run_from_row(r), r["trace_count"]) for r in rows[:limit]],
        "next": _page(rows, limit, lambda r: (r["started_at"], r["run_id"])),
    }


def find_run(db: ServedDatabase, ref: str) -> Run:
    """The run named by ``ref``: an id, a unique prefix, latest, latest~N or a git commit."""
    rows = db.rows("SELECT * FROM runs WHERE run_id = ?", [ref])  # a full id: no listing
    index = latest_index(ref)
    if not rows and index is not None:  # latest~N: list_runs' order, without listing them all
        rows = db.rows("SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT 1 "
                       "OFFSET ?", [index])  # fmt: skip
    if rows:
        return run_from_row(rows[0])
    try:
        return resolve_run(db.store.list_runs(), ref)
    except UnknownRunError as exc:
        raise ApiError(404, str(exc)) from None


def run_detail(db: ServedDatabase, ref: str) -> dict[str, Any]:
    """One run: the stored run, its tests (outcome, baseline, failure text), its traces' statuses."""
    run = find_run(db, ref)
    statuses = {
        r["status"]: r["n"]
        for r in db.rows("SELECT status, count(*) AS n FROM traces WHERE run_id = ? "
                         "GROUP BY status", [run.run_id])  # fmt: skip
    }
    data = run_summary(run, sum(statuses.values()))
    data["trace_statuses"] = statuses
    data["tests"] = db.store.run_tests(run.run_id)
    return data


# -- traces -------------------------------------------------------------------------------------
def _like(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere (its wildcards taken literally)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def traces_page(
    db: ServedDatabase,
    *,
    run: str | None = None,
    test: str | None = None,
    name: str | None = None,
    status: Status | None = None,
    q: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Trace summaries (no steps), oldest first, filtered by every given parameter."""
    clauses: list[str] = []
    args: list[Any] = []
    if run:
        run_id = find_run(db, run).run_id
        clauses.append("run_id = ?")
        args.append(run_id)
    else:
        run_id = None
    if test:
        tests = matching_tests(db, test, run_id)
        if not tests:
            return {"traces": [], "next": None}
        clauses.append("test_id IN (SELECT value FROM json_each(?))")
        args.append(json.dumps(tests))
    if name is not None:
        # a run's traces are few: found by run, not among every trace of that name (100 times
        # as long at 500 runs); a name alone is found through its index
        clauses.append("+name = ?" if run_id is not None else "name = ?")
        args.append(name)
    if status is not None:
        # Three statuses, one of them nearly everywhere: the status index would find most rows
        # and sort them all; only a rare status (failed, running) is worth it, without others.
        rare = status != "completed" and not clauses
        clauses.append("status = ?" if rare else "+status = ?")
        args.append(status)
    if q:
        clauses.append("(name LIKE ? ESCAPE '\\' OR test_id LIKE ? ESCAPE '\\' "
                       "OR trace_id LIKE ? ESCAPE '\\')")  # fmt: skip
        args += [_like(q)] * 3
    if cursor is not None:
        start, trace_id = decode_cursor(cursor, 2)
        # the first clause lets SQLite start from the start_time index
        clauses.append("start_time >= ? AND (start_time, trace_id) > (?, ?)")
        args += [start, start, trace_id]
    where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
    rows = db.rows(
        "SELECT trace_id, name, status, start_time, end_time, duration_ms, run_id, test_id, "
        "(SELECT count(*) FROM steps WHERE steps.trace_id = traces.trace_id) AS steps "
        f"FROM traces {where}ORDER BY start_time, trace_id LIMIT ?",
        [*args, limit + 1],
    )
    return {
        "traces": [dict(r) for r in rows[:limit]],
        "next": _page(rows, limit, lambda r: (r["start_time"], r["trace_id"])),
    }


def trace_detail(db: ServedDatabase, trace_id: str) -> dict[str, Any]:
    """One whole trace with its steps (a unique prefix of its id is enough)."""
    trace = db.store.get_trace(trace_id)
    if trace is None:
        found = db.store.trace_ids_with_prefix(trace_id, 6) if trace_id else []
        if len(found) > 1:
            raise ApiError(404, f"trace id {_shown(trace_id)} is ambiguous; it starts: "
                                + ", ".join(found[:5]) + (" ..." if len(found) > 5 else ""))  # fmt: skip
        trace = db.store.get_trace(found[0]) if found else None
    if trace is None:
        raise ApiError(404, f"no trace {_shown(trace_id)} in {db.path}")
    return trace.model_dump(mode="json")


# -- comparisons, stability, report pages -------------------------------------------------------
def fingerprint(db: ServedDatabase, runs: Sequence[Run]) -> tuple[Any, ...] | None:
    """What identifies the data of ``runs`` (None while one is still recording: not cached): the
    database's version (any commit changes it, :meth:`ServedDatabase.version`) and the runs as
    read (a commit between reading them and the version changes them)."""
    if any(r.status == "running" for r in runs):
        return None
    return db.version(), tuple((r.run_id, r.status, r.finished_at) for r in runs)


def diff_page(
    db: ServedDatabase,
    cache: ResultCache,
    contents: TraceContents,
    a: str,
    b: str,
    *,
    test: str | None = None,
    ignore: Sequence[str] = (),
    tolerance: float = 0.0,
    include_llm: bool = False,
    include_reasoning: bool = False,
    partial: bool = False,
) -> JsonText:
    """``xray diff A B --json``: the same resolution of A and B, pairing and rules; ``skipped``
    lists the newer runs that did not complete, which ``latest``/``latest~N`` passed over.

    Traces of the same content are not compared (:func:`.fastdiff.compare_stored`).
    """
    skipped: list[Run] = []
    try:
        runs = resolve_compared(db.store, [a, b], partial=partial, on_skipped=skipped.extend)
    except UnknownRunError as exc:
        raise ApiError(404, str(exc)) from None
    except UsageError as exc:
        raise ApiError(400, str(exc)) from None
    key = ("diff", test, tuple(ignore), tolerance, include_llm, include_reasoning, partial,
           tuple(r.run_id for r in skipped))  # fmt: skip

    def compute() -> JsonText:
        args = Namespace(test=test, ignore=list(ignore), tolerance=tolerance, partial=partial,
                         include_llm=include_llm, include_reasoning=include_reasoning)  # fmt: skip
        try:
            data = diff_json(compare_stored(db, contents, runs, args))
        except UsageError as exc:  # no trace of a matching test
            raise ApiError(404, str(exc)) from None
        except ValueError as exc:  # a bad ignore pattern or tolerance
            raise ApiError(400, str(exc)) from None
        data["skipped"] = [run_summary(r) for r in skipped]
        return as_json_text(data)

    return cache.get(key, fingerprint(db, runs), compute)


def _run_traces(db: ServedDatabase, run: Run, test: str | None) -> list[Any]:
    return [t for t in db.store.list_traces(None, run_id=run.run_id) if match_test(t.test_id, test)]


def stability_page(
    db: ServedDatabase, cache: ResultCache, contents: TraceContents, *, last: int = 10,
    test: str | None = None,
) -> JsonText:  # fmt: skip
    """``xray stability --json --all``: each decision's flips over the last ``last`` runs.

    Only the traces of matching tests are read, each distinct content derived once
    (:mod:`.content`).
    """
    runs = list(reversed(db.store.list_runs(limit=last)))  # oldest first

    def compute() -> JsonText:
        read = contents.runs_traces(db, [r.run_id for r in runs], test)
        traces = [t for run_traces in read for t in run_traces]
        entries = stability_of(t.decisions(by_input=True) for t in traces)
        return as_json_text({
            "runs": [run_summary(r) for r in runs],
            "traces": len(traces),
            "unstable": sum(1 for e in entries if not e.stable),
            "decisions": [entry_json(e) for e in entries],
        })  # fmt: skip

    return cache.get(("stability", test), fingerprint(db, runs), compute)


def report_page(
    db: ServedDatabase, cache: ResultCache, run: str, base: str | None = None
) -> JsonText:
    """The HTML report's data document for ``run`` (compared with ``base`` when given)."""
    runs = [find_run(db, ref) for ref in ([base, run] if base else [run])]

    def compute() -> JsonText:
        args = Namespace(title=_title(runs), ignore=[], tolerance=0.0, include_llm=False,
                         include_reasoning=False)  # fmt: skip
        traces = [_run_traces(db, r, None) for r in runs]
        tests = run_test_results(db.store, runs[-1], None)
        return as_json_text(build_payload(build_report_data(args, runs, traces, tests)))

    return cache.get(("report",), fingerprint(db, runs), compute)


def _title(runs: list[Run]) -> str:
    def name(run: Run) -> str:
        return f"{run.run_id[:8]} @ {(run.git_commit or '')[:8] or 'no commit'}"

    if len(runs) == 1:
        return f"run {name(runs[0])}"
    return f"run {name(runs[-1])} compared with {name(runs[0])}"
