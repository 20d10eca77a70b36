"""Traces read for diffs and stability, each derived once per distinct *content*.

A diff or a stability reads the comparable content of traces (:func:`~xray_core.diff.
normalize_trace`), never their ids or times; and a pipeline run again on the same input mostly
records the same content (the same test's trace in consecutive runs, hypothesis examples
replayed). So the rows of a trace are read as stored (JSON text, no parsing), their content
becomes a key (names, nesting, order, statuses and the stored JSON text, ids and times left
out), and the costly part (JSON parsing, pydantic validation, normalization) runs once per key
through the store's own path, :meth:`~xray_core.store.queries.Queries.trace_from_rows`. A key is
the content itself, so what is kept never goes stale, whatever is recorded or deleted meanwhile.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cached_property
from operator import itemgetter
from typing import Any, NamedTuple

from ..commands.common import match_test
from ..diff import normalize_trace
from ..models import Trace
from ..stability import TraceDecisions, decisions_of, input_label, input_signature
from ..store.queries import Queries, parse_time
from ..store.schema import STEP_COLUMNS, TRACE_COLUMNS
from .database import ServedDatabase, matching_tests

#: distinct contents kept (the least recently used goes first)
MAX_CONTENTS = 4096
#: the step columns as read: ids, then the content (``[3:_S_END]``; the parent is content
#: through its place in the trace, not its id), then times
_STEP_CONTENT = ("name", "step_order", "status", "input", "output", "reasoning", "metadata",
                 "error")  # fmt: skip
_STEP_SELECT = ("step_id", "trace_id", "parent_id", *_STEP_CONTENT,
                *(c for c in STEP_COLUMNS if c not in _STEP_CONTENT and c not in
                  ("step_id", "trace_id", "parent_id", "digest")))  # fmt: skip
#: the step columns read for a digest key: all in the ``idx_steps_content`` index (schema 5)
_DIGEST_SELECT = ("step_id", "trace_id", "parent_id", "step_order", "digest")
_D_ORDER, _D_DIGEST = 3, 4
_S_ORDER, _S_END = _STEP_SELECT.index("step_order"), 3 + len(_STEP_CONTENT)
_T_NAME, _T_START, _T_METADATA, _T_STATUS, _T_RUN, _T_TEST = (
    TRACE_COLUMNS.index(c)
    for c in ("name", "start_time", "metadata", "status", "run_id", "test_id")
)
_NO_PARENT, _UNKNOWN_PARENT = -1, -2
_NAN = "NaN"  #: how JSON writes a NaN (a text "NaN" also matches: then the pair is compared)


class Content:
    """What is derived from one content, each part computed on first use.

    :param trace: a stored trace of this content (its ids and times are not part of it).
    """

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    @cached_property
    def normalized(self) -> dict[str, Any]:
        """:func:`~xray_core.diff.normalize_trace` of the content."""
        return normalize_trace(self.trace)

    @cached_property
    def signature(self) -> str:
        """:func:`~xray_core.stability.input_signature` of the content."""
        return input_signature(self.trace)

    @cached_property
    def label(self) -> str:
        """:func:`~xray_core.stability.input_label` of the content."""
        return input_label(self.trace)

    @cached_property
    def decisions(self) -> tuple[tuple[str, str, bool, tuple[str, ...]], ...]:
        """:func:`~xray_core.stability.decisions_of` the normalized content."""
        return decisions_of(self.normalized)

    @cached_property
    def has_nan(self) -> bool:
        """Whether a value is NaN somewhere (NaN differs from itself: a diff reports it)."""
        return _NAN in json.dumps(self.normalized, default=repr)


class StoredTrace(NamedTuple):
    """One trace as read: its identity, and its content's key and derived parts."""

    trace_id: str
    name: str
    test_id: str | None
    start_text: str  #: ``start_time`` as stored (parsed when asked: stability never asks)
    key: tuple[Any, ...]
    content: Content

    @property
    def start_time(self) -> datetime:
        """When the trace started (aware, UTC)."""
        start = parse_time(self.start_text)
        assert start is not None  # a NOT NULL column
        return start

    @property
    def normalized(self) -> dict[str, Any]:
        """:func:`~xray_core.diff.normalize_trace` of the trace (of its content: the same for
        every trace of that content)."""
        return self.content.normalized

    def decisions(self, *, by_input: bool) -> TraceDecisions:
        """What :func:`~xray_core.stability.stability_of` reads of this trace."""
        content = self.content
        return TraceDecisions(self.test_id or "", self.name,
                              content.signature if by_input else "", content.label,
                              content.decisions)  # fmt: skip


class TraceContents:
    """Reads traces of runs, deriving each distinct content once (shared by worker threads)."""

    def __init__(self, max_entries: int = MAX_CONTENTS) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[Any, ...], Content] = OrderedDict()
        self._lock = threading.Lock()

    def run_traces(
        self, db: ServedDatabase, run_id: str, pattern: str | None = None
    ) -> list[StoredTrace]:
        """The traces of ``run_id`` in recording order (``start_time``, then as stored), only
        those of tests matching ``pattern`` (as ``--test``), as ``run_traces`` selects them."""
        return self.runs_traces(db, [run_id], pattern)[0]

    def runs_traces(
        self, db: ServedDatabase, run_ids: Sequence[str], pattern: str | None = None
    ) -> list[list[StoredTrace]]:
        """:meth:`run_traces` of each of ``run_ids``, read in two to four queries.

        A trace with a digest of its own (schema 6) is keyed by it; one whose steps all carry a
        digest (schema 5) by those, read from an index; only the first trace of each content not
        kept yet is read in full. The others
        (a schema 4 file, steps stored before the upgrade) are keyed by their text, as read.
        """
        clauses, args = ["run_id IN (SELECT value FROM json_each(?))"], [json.dumps(run_ids)]
        if pattern:
            tests = matching_tests(db, pattern, run_ids[0] if len(run_ids) == 1 else None)
            # "+test_id": the runs are few, a test's traces span the whole history: the run_id
            # index finds them, not the test_id index
            clauses.append("(+test_id IN (SELECT value FROM json_each(?))"
                           + (" OR test_id IS NULL)" if match_test(None, pattern) else ")"))  # fmt: skip
            args.append(json.dumps(tests))
        where = " AND ".join(clauses)
        # "+start_time": found through the run_id index and sorted, not by walking the
        # start_time index over every trace
        by_trace_digest = has_trace_digests(db)
        columns = (*TRACE_COLUMNS, "digest") if by_trace_digest else TRACE_COLUMNS
        trace_rows = db.tuples(f"SELECT {', '.join(columns)} FROM traces WHERE {where} "
                               "ORDER BY +start_time, rowid", args)  # fmt: skip
        keys: list[tuple[Any, ...] | None] = [None] * len(trace_rows)
        if by_trace_digest:  # schema 6: a trace's digest stands for its steps' (trace_digest)
            # (a key of its own kind: its fourth item is bytes, a step's entry in the others)
            keys = [None if r[-1] is None else (r[_T_NAME], r[_T_STATUS], r[_T_METADATA], r[-1])
                    for r in trace_rows]  # fmt: skip
            trace_rows = [r[:-1] for r in trace_rows]
        if trace_rows and None in keys and has_digests(db):
            if all(key is None for key in keys):
                step_args, step_where = args, f"SELECT trace_id FROM traces WHERE {where}"
            else:  # only the traces without a digest of their own
                step_args = [json.dumps([r[0] for r, k in zip(trace_rows, keys, strict=True)
                                         if k is None])]  # fmt: skip
                step_where = "SELECT value FROM json_each(?)"
            digests: dict[str, list[tuple[Any, ...]]] = {
                r[0]: [] for r, k in zip(trace_rows, keys, strict=True) if k is None}
            for row in db.tuples(f"SELECT {', '.join(_DIGEST_SELECT)} FROM steps WHERE trace_id "
                                 f"IN ({step_where})", step_args):  # fmt: skip
                of_trace = digests.get(row[1])
                if of_trace is not None:
                    of_trace.append(row)
            keys = [digest_key(row, digests[row[0]]) if key is None else key
                    for row, key in zip(trace_rows, keys, strict=True)]  # fmt: skip
        found = self._kept({key for key in keys if key is not None})
        # read in full: the traces without a digest key, and the first of each content not kept
        wanted: dict[str, None] = {}
        firsts: set[tuple[Any, ...]] = set()
        for row, key in zip(trace_rows, keys, strict=True):
            if key is None:
                wanted[row[0]] = None
            elif key not in found and key not in firsts:
                firsts.add(key)
                wanted[row[0]] = None
        steps: dict[str, list[tuple[Any, ...]]] = {trace_id: [] for trace_id in wanted}
        if wanted:
            if len(wanted) == len(trace_rows):
                text_args, text_where = args, f"SELECT trace_id FROM traces WHERE {where}"
            else:
                text_args, text_where = [json.dumps(list(wanted))], "SELECT value FROM json_each(?)"
            for row in db.tuples(f"SELECT {', '.join(_STEP_SELECT)} FROM steps WHERE trace_id "
                                 f"IN ({text_where})", text_args):  # fmt: skip
                of_trace = steps.get(row[1])
                if of_trace is not None:
                    of_trace.append(row)
        full = [key if key is not None else content_key(row, steps[row[0]])
                for row, key in zip(trace_rows, keys, strict=True)]  # fmt: skip
        contents = self._contents(full, trace_rows, steps, found)
        by_run: dict[str, list[StoredTrace]] = {run_id: [] for run_id in run_ids}
        for row, key in zip(trace_rows, full, strict=True):
            by_run[row[_T_RUN]].append(StoredTrace(row[0], row[_T_NAME], row[_T_TEST],
                                                   row[_T_START], key, contents[key]))  # fmt: skip
        return [by_run[run_id] for run_id in run_ids]

    def _kept(self, keys: Iterable[tuple[Any, ...]]) -> dict[tuple[Any, ...], Content]:
        """The kept contents of ``keys`` (the others are left out), looked up in one go."""
        found: dict[tuple[Any, ...], Content] = {}
        with self._lock:
            for key in keys:
                content = self._entries.get(key)
                if content is not None:
                    self._entries.move_to_end(key)
                    found[key] = content
        return found

    def _contents(
        self, keys: list[tuple[Any, ...]], traces: list[tuple[Any, ...]],
        steps: dict[str, list[tuple[Any, ...]]], found: dict[tuple[Any, ...], Content],
    ) -> dict[tuple[Any, ...], Content]:  # fmt: skip
        """The content of each distinct key (``keys[i]``: the key of ``traces[i]``): those in
        ``found`` as they are, kept ones looked up in one go, the others built from their first
        trace (whose steps ``steps`` holds)."""
        first: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for key, trace in zip(keys, traces, strict=True):
            if key not in found:
                first.setdefault(key, trace)
        found.update(self._kept(first))
        built = {
            key: Content(Queries(_no_fetch).trace_from_rows(
                dict(zip(TRACE_COLUMNS, trace, strict=True)),
                [dict(zip(_STEP_SELECT, s, strict=True)) for s in steps[trace[0]]]))
            for key, trace in first.items() if key not in found
        }  # fmt: skip
        if built:
            with self._lock:
                for key, content in built.items():
                    found[key] = self._entries.setdefault(key, content)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return found


def has_digests(db: ServedDatabase) -> bool:
    """Whether the steps have a ``digest`` column (schema 5; ``xray serve`` reads version 4 too,
    and a file it serves may be upgraded meanwhile by a recording run)."""
    return bool(db.tuples("SELECT count(*) FROM pragma_table_info('steps') "
                          "WHERE name = 'digest'")[0][0])  # fmt: skip


def has_trace_digests(db: ServedDatabase) -> bool:
    """Whether the traces have a ``digest`` column (schema 6; read alongside versions 4 and 5,
    as :func:`has_digests` says)."""
    return bool(db.tuples("SELECT count(*) FROM pragma_table_info('traces') "
                          "WHERE name = 'digest'")[0][0])  # fmt: skip


def digest_key(trace: tuple[Any, ...], steps: Sequence[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    """:func:`content_key` from the steps' digests (``_DIGEST_SELECT``), without their text:
    equal keys, equal traces but for ids and times. None when a step has no digest (stored
    before schema 5).
    """
    ordered = sorted(steps, key=itemgetter(_D_ORDER))
    if len({s[_D_ORDER] for s in ordered}) != len(ordered):
        return ("trace", trace[0])
    place = {s[0]: i for i, s in enumerate(ordered)}
    key: list[Any] = [trace[_T_NAME], trace[_T_STATUS], trace[_T_METADATA]]
    for s in ordered:
        if s[_D_DIGEST] is None:
            return None
        # three items, where a text key's steps have two: a digest key never equals a text key
        key.append((_NO_PARENT if s[2] is None else place.get(s[2], _UNKNOWN_PARENT),
                    s[_D_ORDER], s[_D_DIGEST]))  # fmt: skip
    return tuple(key)


def content_key(trace: tuple[Any, ...], steps: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    """The content of a trace's rows (``TRACE_COLUMNS``; steps: ``_STEP_SELECT``): equal keys,
    equal traces but for ids and times.

    Steps in ``step_order`` (a trace whose steps share an order keeps its own key: which of them
    comes first is the store's choice), each parent named by its place in that order.
    """
    ordered = sorted(steps, key=itemgetter(_S_ORDER))
    if len({s[_S_ORDER] for s in ordered}) != len(ordered):
        return ("trace", trace[0])
    place = {s[0]: i for i, s in enumerate(ordered)}
    return (
        trace[_T_NAME], trace[_T_STATUS], trace[_T_METADATA],
        *((_NO_PARENT if s[2] is None else place.get(s[2], _UNKNOWN_PARENT), s[3:_S_END])
          for s in ordered),
    )  # fmt: skip


def _no_fetch(sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
    raise AssertionError("trace_from_rows runs no query")  # pragma: no cover
