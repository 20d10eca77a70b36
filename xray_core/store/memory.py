"""An in-process store: dicts in memory, optionally bounded."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .base import RUN_TEST_COLUMNS, RunRecord, Store, TraceQuery, check_query

#: the methods the recorder calls on a store of one's own (see MemoryStore._begin)
_RECORDING_METHODS = frozenset(("start_trace", "save_step", "end_trace"))

if TYPE_CHECKING:  # recording keeps plain dicts: pydantic is imported by the first read
    from ..models import Run, RunStatus, Trace


class MemoryStore(Store):
    """Keeps traces in memory.

    :param max_traces: keep only the most recent traces (the oldest are dropped); None keeps all.
    """

    def __init__(self, max_traces: int | None = None) -> None:
        self.max_traces = max_traces
        #: trace id -> ``[trace record, step record, ...]``, oldest trace first. One list per
        #: trace, not a (record, steps) pair: one object fewer for the garbage collector to
        #: visit, for every trace kept. A bounded store drops its oldest: an OrderedDict finds
        #: it in O(1), where a dict with many deletions at its front scans past them.
        self._traces: dict[str, list[dict[str, Any]]] = {} if max_traces is None else OrderedDict()
        self._runs: dict[str, tuple[Run, list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()
        # What the recorder reads (store._begin, a function kept as data: read without binding):
        # this store's _begin_trace, or None while one of this very store's start_trace,
        # save_step or end_trace is replaced (a test's spy: it then sees every call). Kept up to
        # date by __setattr__ and __delattr__, so the recorder reads one attribute a trace.
        # Looking through the instance's __dict__ instead cost about 1,500 instructions a trace,
        # most of it after the look-up: a __dict__ once asked for makes every attribute of the
        # store slower to read (_own_way_in never asks for it). Store._begin (None) for a subclass
        # whose __init__ does not call this one.
        self._begin = self._own_way_in()

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in _RECORDING_METHODS:  # a spy on this very store, or the method put back
            object.__setattr__(self, "_begin", self._own_way_in())

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        if name in _RECORDING_METHODS:  # a spy removed
            object.__setattr__(self, "_begin", self._own_way_in())

    def _own_way_in(
        self,
    ) -> Callable[[MemoryStore, list[dict[str, Any]]], list[dict[str, Any]]] | None:
        """This store's class's :attr:`_begin_trace`, or None if one of its ``start_trace``,
        ``save_step`` and ``end_trace`` is not its class's own method bound to it."""
        cls = type(self)
        for name in _RECORDING_METHODS:
            found = getattr(self, name)
            if getattr(found, "__self__", None) is not self or getattr(
                found, "__func__", None
            ) is not getattr(cls, name):
                return None
        return cls._begin_trace

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if (
            cls.start_trace is not MemoryStore.start_trace
            or cls.save_step is not MemoryStore.save_step
            or cls.end_trace is not MemoryStore.end_trace
        ):  # its own start_trace, save_step and end_trace see every record, with every key
            cls._begin_trace = None

    def start_trace(self, record: dict[str, Any]) -> None:
        self._keep([record])

    def _keep(self, entry: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """:meth:`start_trace` of ``entry[0]``, keeping ``entry`` (``[record, step, ...]``)
        as the trace's list; returns the list kept."""
        traces = self._traces
        record = entry[0]
        trace_id = record["trace_id"]
        # A new trace in an unbounded store is one dict assignment, atomic under the GIL: no
        # lock to take (taking it costs more than the rest of this method). Readers copy what
        # they iterate in one C call, which no assignment can interleave.
        if trace_id in traces:  # started again: kept as the newest, without its steps
            return self._put(record, [])
        max_traces = self.max_traces
        if max_traces is None:
            traces[trace_id] = entry
            return entry
        with self._lock:  # a bounded store: the new trace, then the oldest beyond the bound
            traces[trace_id] = entry
            while len(traces) > max_traces:
                del traces[next(iter(traces))]
        return entry

    #: The recorder's way in (``TraceContext.__enter__``): :meth:`_keep` of the trace's list
    #: (``[record]``), to which the recorder then appends each step of the trace: what
    #: :meth:`save_step` does, without a Python call per step. A step of a trace dropped
    #: meanwhile (beyond ``max_traces``, or by :meth:`delete_run`) goes to a list no longer
    #: kept, as ``save_step`` drops it; the trace's end stores it again, as :meth:`end_trace`
    #: does. None in a subclass with a ``start_trace``, ``save_step`` or ``end_trace`` of its
    #: own, which the recorder then calls.
    _begin_trace: Callable[[MemoryStore, list[dict[str, Any]]], list[dict[str, Any]]] | None = _keep

    def _put(self, record: dict[str, Any], steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Keep a trace as the newest, dropping the oldest beyond ``max_traces``; returns its
        list."""
        with self._lock:
            traces = self._traces
            traces.pop(record["trace_id"], None)
            traces[record["trace_id"]] = entry = [record, *steps]
            while self.max_traces is not None and len(traces) > self.max_traces:
                del traces[next(iter(traces))]  # the oldest (max_traces may be set later)
        return entry

    def _items(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """Every (trace id, entry), oldest first: a copy to iterate while recording goes on.

        The copy is one C call, which a recording thread's lock-free ``start_trace`` cannot
        interleave, unless a garbage collection inside it runs a finalizer that lets another
        thread in: then the copy raises and is taken again.
        """
        while True:
            try:
                return list(self._traces.items())
            except RuntimeError:  # "changed size during iteration": see above
                continue

    def save_step(self, record: dict[str, Any]) -> None:
        entry = self._traces.get(record["trace_id"])
        if entry is not None:
            entry.append(record)

    def save_steps(self, records: Iterable[dict[str, Any]]) -> None:
        if type(self).save_step is not MemoryStore.save_step:  # a subclass's save_step sees each
            super().save_steps(records)
            return
        steps = records if type(records) is list else list(records)
        if steps:  # steps of one trace (see Store.save_steps): its list extended at once
            entry = self._traces.get(steps[0]["trace_id"])
            if entry is not None:
                entry.extend(steps)

    def end_trace(self, record: dict[str, Any]) -> None:
        if record["trace_id"] not in self._traces:
            self.start_trace(record)

    def save_traces(self, traces: Iterable[Trace]) -> int:
        from .records import trace_to_records

        count = 0
        for trace in traces:
            self._put(*trace_to_records(trace))
            count += 1
        return count

    def get_trace(self, trace_id: str) -> Trace | None:
        from .records import trace_from_records

        entry = self._traces.get(trace_id)
        return None if entry is None else trace_from_records(entry[0], entry[1:])

    def _select_traces(self, query: TraceQuery) -> list[Trace]:
        from .records import trace_from_records

        traces = [trace_from_records(entry[0], entry[1:]) for _, entry in self._items()]
        matching = sorted((t for t in traces if query.matches(t)), key=lambda t: t.start_time)
        end = None if query.limit is None else query.offset + query.limit
        return matching[query.offset : end]

    def trace_ids_with_prefix(self, prefix: str, limit: int = 10) -> list[str]:
        return sorted(t for t, _ in self._items() if t.startswith(prefix))[:limit]

    def save_run(self, run: Run | RunRecord, tests: Iterable[dict[str, Any]] = ()) -> None:
        if isinstance(run, RunRecord):
            run = run.model()
        rows = list(tests)
        previous = self._runs.get(run.run_id)
        self._runs[run.run_id] = (run, rows or (previous[1] if previous else []))

    def get_run(self, run_id: str) -> Run | None:
        entry = self._runs.get(run_id)
        return None if entry is None else entry[0]

    def list_runs(
        self, limit: int | None = None, offset: int = 0, *, status: RunStatus | None = None
    ) -> list[Run]:
        from ..outcomes import RUN_STATUSES

        check_query(limit, offset, status, RUN_STATUSES)
        runs = sorted(
            (r for r, _ in self._runs.values() if status is None or r.status == status),
            key=lambda r: r.started_at,
            reverse=True,
        )
        end = None if limit is None else offset + limit
        return runs[offset:end]

    def run_tests(self, run_id: str) -> list[dict[str, Any]]:
        entry = self._runs.get(run_id)
        rows = [{k: row.get(k) for k in RUN_TEST_COLUMNS} for row in entry[1]] if entry else []
        return sorted(rows, key=lambda row: row["test_id"])

    def delete_run(self, run_id: str) -> None:
        self._runs.pop(run_id, None)
        with self._lock:
            for trace_id, entry in self._items():
                if entry[0].get("run_id") == run_id:
                    self._traces.pop(trace_id, None)
