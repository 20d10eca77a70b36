"""OpenTelemetry spans become X-Ray traces: :class:`XRaySpanProcessor` and :func:`traces_from_spans`.

A span with no parent (or a remote one, or one whose parent is not captured) starts a trace; the
spans under it become its steps, nested by their parent links and ordered by start time. Each
span is a step (:func:`xray_core.otel.mapping.step_record`) — the root span too, since the spans
of instrumented libraries (an OpenAI call) are often roots — except a root span written by
X-Ray's own export (it carries ``xray.trace.metadata``), which is the trace alone.

The processor goes the recorder's way: the trace's record is handed to the recorder's store
(``start_trace`` / ``save_steps`` / ``end_trace``) and to the recorder's observer (the pytest
plugin), so a captured trace is kept, asserted on, baselined and reported like one recorded
with the SDK. It never raises into the pipeline: a span it cannot read is logged and skipped.
"""

from __future__ import annotations

import logging
import operator
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import SpanContext, StatusCode

from ..recorder import _observers
from ..serialize import MAX_STRING
from . import names as n
from .mapping import (
    attributes,
    parse_json,
    seconds,
    span_status,
    step_record,
    steps_in_start_order,
    text,
    verbatim,
)

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import Span

    from ..models import Trace
    from ..recorder import XRay
    from ..store.base import Store

logger = logging.getLogger("xray_core")

#: called with each span and the step made of it, to adjust the step in place
Adjust = Callable[[ReadableSpan, dict[str, Any]], None]


#: a trace record's keys in the recorder's order, with the values of a trace just started
_TRACE_RECORD: dict[str, Any] = dict.fromkeys(
    ("trace_id", "name", "status", "start_time", "end_time", "duration_ms", "metadata", "run_id",
     "test_id")
)  # fmt: skip
_TRACE_RECORD["status"] = "running"


def trace_record(span: Any) -> dict[str, Any]:
    """The record of a trace starting with root ``span`` (as the recorder makes one). Its trace
    id is the one X-Ray's export wrote (``xray.trace_id``); else the OpenTelemetry trace id (32
    hex digits) for a true root, and a new one for a span that continues a trace begun
    elsewhere (two of them must not share an X-Ray trace id)."""
    try:  # the SDK's fields: each property costs a call (the attributes' a copy)
        name, start, parent, context = span._name, span._start_time, span._parent, span._context
        written = span._attributes._dict.get(_TRACE_ID)
    except AttributeError:
        name, start = span.name, span.start_time
        written = _attribute(span, _TRACE_ID)
        try:
            parent, context = span._parent, span._context
        except AttributeError:
            parent, context = span.parent, span.context
    record = _TRACE_RECORD.copy()  # a copy of a dict of the same keys: its table is copied
    if type(written) is str and written:
        # may hold a lone surrogate
        record["trace_id"] = written if written.isascii() else text(written)
    elif parent is None:
        record["trace_id"] = "%032x" % (context[0] if _BY_INDEX else context.trace_id)
    else:
        record["trace_id"] = uuid.uuid4().hex
    record["name"] = (
        name if type(name) is str and name.isascii() and len(name) <= MAX_STRING else text(name)
    )
    record["start_time"] = seconds(start)
    record["metadata"] = {}
    return record


_TRACE_ID = n.TRACE_ID
_START_TIME = operator.attrgetter("_start_time")  # the SDK's fields: a property costs a call
_CONTEXT = operator.attrgetter("_context")
_PARENT = operator.attrgetter("_parent")
_SECOND = operator.itemgetter(1)
_INT_ONLY = frozenset((int,))


def _span_id(span: Any) -> int:
    return span.context.span_id


def span_ids_of(spans: Iterable[Any]) -> list[int]:
    """The span ids of ``spans``, read off the SDK's fields when it has them."""
    try:
        contexts = list(map(_CONTEXT, spans))
    except AttributeError:  # another ReadableSpan-like object: its public properties
        return list(map(_span_id, spans))
    return list(map(_SECOND, contexts)) if _BY_INDEX else [c.span_id for c in contexts]


def in_start_order(spans: list[Any], arrived: list[int] | None = None) -> list[Any]:
    """``spans`` ordered by start time, then by the order they arrived in: ``arrived`` (their
    span ids in that order), else their order in ``spans``. A start time that is no int counts
    as 0. Spans are never compared."""
    try:
        starts = list(map(_START_TIME, spans))
    except AttributeError:  # another ReadableSpan-like object: its public properties
        starts = [span.start_time for span in spans]
    if _INT_ONLY.issuperset(map(type, starts)):
        by_start = dict(zip(starts, spans))
        if len(by_start) == len(spans):  # no two start at the same time: no tie to break
            return [by_start[t] for t in sorted(by_start)]
    ids = span_ids_of(spans)
    rank = {span_id: index for index, span_id in enumerate(ids if arrived is None else arrived)}
    keys = [
        (t if type(t) is int else 0, rank.get(span_id, len(rank)), index)
        for index, (t, span_id) in enumerate(zip(starts, ids))
    ]  # fmt: skip
    return [spans[key[2]] for key in sorted(keys)]


def parent_ids_of(spans: Iterable[Any]) -> list[int | None]:
    """The span ids of the parents of ``spans`` (None for a span without one)."""
    try:  # the SDK's field: its property costs a call
        parents = list(map(_PARENT, spans))
    except AttributeError:
        parents = [span.parent for span in spans]
    return [None if p is None else p[1] if _BY_INDEX else p.span_id for p in parents]


def ended_in_order(
    ended: dict[int, Any], started: list[int], parents: list[int | None]
) -> tuple[list[Any], list[int], list[int | None]]:
    """The spans of ``ended`` (span id -> span) in :func:`in_start_order`, their ids and their
    parents' ids; ``started`` holds the ids of a trace's spans in the order they started,
    ``parents`` their parents' ids. Spans start in the order of their start times, but for
    explicit start times: that order is checked, not sorted again."""
    if len(ended) == len(started):
        ids = started
    else:  # some spans have not ended: left out
        kept = [(i, p) for i, p in zip(started, parents) if i in ended]
        ids, parents = [i for i, _ in kept], [p for _, p in kept]
    spans = [ended[i] for i in ids]
    try:  # the SDK's field (a comprehension: its attribute reads are specialised, not generic)
        starts = [span._start_time for span in spans]
    except AttributeError:  # another ReadableSpan-like object: its public properties
        starts = [span.start_time for span in spans]
    if _INT_ONLY.issuperset(map(type, starts)) and sorted(starts) == starts:
        return spans, ids, parents
    parent_of = dict(zip(ids, parents))
    spans = in_start_order(spans, started)
    ids = span_ids_of(spans)
    return spans, ids, list(map(parent_of.__getitem__, ids))


def finish_trace(
    record: dict[str, Any],
    root: ReadableSpan,
    spans: list[Any],
    span_ids: list[int],
    parent_ids: list[int | None],
    adjust: Adjust | None = None,
    arrived: list[int] | None = None,
) -> list[dict[str, Any]]:
    """Fill in ``record`` from its finished ``root`` span and return the step records of
    ``spans`` (the root among them; the others under it; :func:`in_start_order`) whose span
    ids are ``span_ids`` and whose parents' are ``parent_ids``. ``arrived``: their ids in the
    order they arrived in (else ``span_ids``), which breaks the ties of the step order X-Ray's
    export wrote.
    """
    trace_id = record["trace_id"]
    root_id = _own_id(root)
    meta = _attribute(root, n.TRACE_METADATA)
    trace_only = meta is not None
    if trace_only:
        data = parse_json(meta)
        record["metadata"] = data if type(data) is dict else {"value": data}
    prefix = trace_id + "."
    step_ids: dict[int | None, str] = {
        span_id: f"{prefix}{index}" for index, span_id in enumerate(span_ids)
    }
    # the step ids in the spans' order (a span listed twice has its last one, as it had)
    if len(step_ids) == len(span_ids):
        in_order: Iterable[str] = step_ids.values()
    else:
        in_order = map(step_ids.__getitem__, span_ids)
    arrivals: list[int] = []
    arrival_of: dict[int, int] = {}
    if trace_only:  # the root is no step: its children have no parent step
        below = {k: v for k, v in step_ids.items() if k != root_id}
        parent_steps = list(map(below.get, parent_ids))
        arrival_of = {i: index for index, i in enumerate(span_ids if arrived is None else arrived)}
    else:
        parent_steps = list(map(step_ids.get, parent_ids))  # None: no parent step
    if root_id in span_ids:  # the root's parent (a remote one) is no step of this trace
        if trace_only:  # nor is the root itself a step
            kept = [i for i, span_id in enumerate(span_ids) if span_id != root_id]
            listed = list(in_order)
            in_order, parent_steps = [listed[i] for i in kept], [parent_steps[i] for i in kept]
            spans, span_ids = [spans[i] for i in kept], [span_ids[i] for i in kept]
        elif span_ids.count(root_id) == 1:
            parent_steps[span_ids.index(root_id)] = None
        else:  # listed twice
            for index, span_id in enumerate(span_ids):
                if span_id == root_id:
                    parent_steps[index] = None
    steps: list[dict[str, Any]] = []
    failed = False
    left_out: list[Any] = []
    for span, step_id, parent_id in zip(spans, in_order, parent_steps):
        try:
            step = step_record(span, trace_id, step_id, parent_id, len(steps))
        except Exception:  # noqa: BLE001 - a span that cannot be read at all is left out
            logger.exception("xray: span %r could not be captured; left out", span)
            left_out.append(span)
            continue
        if adjust is not None:
            adjust(span, step)
        if step.get("status") == "failed":
            failed = True
        steps.append(step)
    if trace_only:
        arrivals = [arrival_of[i] for s, i in zip(spans, span_ids) if s not in left_out]
    _end_trace(record, root, failed, trace_only)
    if trace_only:  # written by X-Ray's export: its status, duration, run and test as recorded,
        # and the steps in the order recorded (the spans' order breaks step_order ties)
        ranked = sorted(
            zip(steps, arrivals), key=lambda pair: (_order_of(pair[0]), pair[1])
        )  # fmt: skip
        steps[:] = [step for step, _ in ranked]
        attrs = attributes(root)
        run_id, test_id = record["run_id"], record["test_id"]
        verbatim(record, attrs)
        if run_id is not None or test_id is not None:  # an observer's (the plugin's) come first
            record["run_id"], record["test_id"] = run_id, test_id
    return steps


#: the step ids' suffixes (".0", ".1", ...): a trace's step ids without formatting an int each
_SUFFIXES = tuple(f".{index}" for index in range(256))
_META = n.TRACE_METADATA


def _end_trace(record: dict[str, Any], root: Any, failed: bool, trace_only: bool) -> None:
    """Set the end, duration and status of the trace ``record`` from its finished ``root``
    (``failed``: one of its steps failed; ``trace_only``: written by X-Ray's export, whose
    metadata is kept as written)."""
    try:  # the SDK's fields: each property costs a call
        code, end = root._status._status_code, root._end_time
    except AttributeError:
        code = getattr(getattr(root, "status", None), "status_code", None)
        end = root.end_time
    end = seconds(end)
    record["end_time"] = end
    record["duration_ms"] = (end - record["start_time"]) * 1000.0
    if code is _ERROR:
        status, error = span_status(root, root.events or ())
        record["status"] = "failed" if failed or status == "failed" else "completed"
        if error is not None and not trace_only:  # export wrote the trace's metadata as it was
            record["metadata"]["error"] = error
    else:  # the common case, without copying the root's events (a property) to find none
        record["status"] = "failed" if failed else "completed"


def _attribute(span: Any, key: str) -> Any:
    """One attribute of a span (None when it has none), read without the copy its
    ``attributes`` property makes of them all."""
    try:  # the SDK's BoundedAttributes: the dict it holds (its own get() is Python code)
        raw = span._attributes._dict
    except AttributeError:
        try:
            raw = span._attributes
        except AttributeError:
            raw = span.attributes
    return None if raw is None else raw.get(key)


def _order_of(step: dict[str, Any]) -> int:
    order = step.get("step_order")
    return order if type(order) is int else 0


class CapturedTrace:
    """A trace being captured from spans: what the recorder's observer receives at its end
    (``record`` and ``steps``, as a :class:`~xray_core.recorder.TraceContext` has them)."""

    __slots__ = ("record", "steps", "store", "root_id", "ended", "span_ids", "parent_ids")

    def __init__(self, record: dict[str, Any], store: Store, root_id: int) -> None:
        self.record = record
        self.steps: list[dict[str, Any]] = []
        self.store = store
        self.root_id = root_id
        #: the spans ended so far, by span id
        self.ended: dict[int, ReadableSpan] = {}
        #: the ids of its spans, in the order they started
        self.span_ids = [root_id]
        #: the ids of their parents, in the same order
        self.parent_ids: list[int | None] = [None]

    @property
    def trace_id(self) -> str:
        """The id under which the store keeps this trace."""
        return self.record["trace_id"]

    def to_model(self) -> Trace:
        """The trace as a :class:`~xray_core.models.Trace`."""
        from ..store.records import trace_from_records

        return trace_from_records(self.record, list(self.steps))


def _tuple_layout() -> bool:
    """Whether a ``SpanContext`` is the tuple ``(trace_id, span_id, is_remote, ...)`` it is in
    the SDK today: on the per-span path its fields are then read by index, which costs no call
    (its properties each cost one)."""
    probe = SpanContext(trace_id=3, span_id=5, is_remote=True)
    return isinstance(probe, tuple) and probe[:3] == (3, 5, True) and probe.span_id == 5


_BY_INDEX = _tuple_layout()
_ERROR = StatusCode.ERROR  # looked up once: an enum member's lookup is slow


def _one_trace(steps: list[dict[str, Any]]) -> bool:
    """Whether ``steps`` all belong to the same trace."""
    return len({step.get("trace_id") for step in steps}) <= 1


def _own_id(span: Any) -> int:
    """A span's id, read off the SDK's field when it has it (its property costs a call)."""
    try:
        context = span._context
    except AttributeError:
        return span.context.span_id
    return context[1] if _BY_INDEX else context.span_id


def _guarded(what: str, func: Any, *args: Any) -> None:
    try:
        func(*args)
    except Exception:  # noqa: BLE001 - capture must never crash the observed pipeline
        logger.exception("xray: %s failed; the pipeline goes on", what)


class XRaySpanProcessor(SpanProcessor):
    """A span processor turning the spans it sees into X-Ray traces.

    Add it to the ``TracerProvider`` your pipeline builds (the pytest plugin adds one to the
    global provider by itself)::

        provider = TracerProvider()
        provider.add_span_processor(XRaySpanProcessor())

    :param recorder: the recorder whose store keeps the traces; the default recorder
        (:func:`xray_core.get_recorder`, looked up when a trace starts) when None. Nothing is
        captured while that recorder is disabled.
    :param observed_only: capture only while a trace observer is attached (a pytest session
        with the plugin): what the plugin installs, so that spans outside pytest cost a lookup.
    """

    #: recognised by the plugin: a provider holding one gets no second one
    xray_capture = True

    def __init__(self, recorder: XRay | None = None, *, observed_only: bool = False) -> None:
        self._recorder = recorder
        self._observed_only = observed_only
        #: span id -> its trace, for the spans of traces still open
        self._open: dict[int, CapturedTrace] = {}

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Attach a starting span to its trace, or start a trace with it."""
        try:
            try:  # the SDK's field: its property costs a call
                parent = span._parent
            except AttributeError:
                parent = span.parent
            if parent is not None:
                if _BY_INDEX:  # the SDK's SpanContext is a tuple: its fields cost no call
                    parent_id = parent[1]
                    capture = None if parent[2] else self._open.get(parent_id)
                else:
                    parent_id = parent.span_id
                    capture = None if parent.is_remote else self._open.get(parent_id)
                if capture is not None:
                    context: Any
                    try:  # the SDK's field: its property costs a call
                        context = span._context
                    except AttributeError:
                        context = span.get_span_context()
                    span_id = context[1] if _BY_INDEX else context.span_id
                    self._open[span_id] = capture
                    capture.span_ids.append(span_id)
                    capture.parent_ids.append(parent_id)
                    return
            # a trace starts with this span
            if self._observed_only and not _observers:
                return
            recorder = self._recorder
            if recorder is None:
                from ..ambient import get_recorder

                recorder = get_recorder()
            if not recorder.enabled:
                return
            span_id = _own_id(span)
            record = trace_record(span)
            store = recorder.store
            capture = CapturedTrace(record, store, span_id)
            if _observers:
                _guarded("observing a trace start", _observers[-1].trace_started, record)
            try:  # _guarded, inlined: this runs for every trace
                store.start_trace(record)
            except Exception:  # noqa: BLE001 - capture must never crash the observed pipeline
                logger.exception("xray: storing a trace start failed; the pipeline goes on")
            self._open[span_id] = capture
        except Exception:  # noqa: BLE001 - capture must never crash the observed pipeline
            logger.exception("xray: capturing a span start failed; the pipeline goes on")

    def on_end(self, span: ReadableSpan) -> None:
        """Keep a finished span; when it is its trace's root, finish the trace."""
        try:
            context: Any
            try:  # _own_id, inlined: this runs for every span
                context = span._context
            except AttributeError:
                context = span.context
            span_id = context[1] if _BY_INDEX else context.span_id
            capture = self._open.get(span_id)
            if capture is None:
                return
            capture.ended[span_id] = span
            if span_id == capture.root_id:
                self._finish(capture, span)
        except Exception:  # noqa: BLE001 - capture must never crash the observed pipeline
            logger.exception("xray: capturing a span end failed; the pipeline goes on")

    def _finish(self, capture: CapturedTrace, root: ReadableSpan) -> None:
        open_spans = self._open
        try:  # spans still open now are not part of the trace
            for span_id in capture.span_ids:
                del open_spans[span_id]
        except KeyError:  # a span started twice: its id is listed twice
            for span_id in capture.span_ids:
                open_spans.pop(span_id, None)
        observer = _observers[-1] if _observers else None
        adjust = None if observer is None else getattr(observer, "span_to_step", None)
        started = capture.span_ids
        ended = capture.ended
        capture.ended = {}
        record = capture.record
        found = None
        # The common case, in one pass: every span of the trace has ended, each once, their
        # start times (ints) in the order they started, and the root not written by X-Ray's
        # export (then steps_in_start_order builds the steps, else None: the general way)
        if (
            len(ended) == len(started)  # else a span still open, or one started twice
            and len(started) <= len(_SUFFIXES)
            and _attribute(root, _META) is None
        ):
            try:
                found = steps_in_start_order(
                    ended, started, capture.parent_ids, record["trace_id"], _SUFFIXES
                )  # fmt: skip
            except Exception:  # noqa: BLE001 - a span that cannot be read: the general way logs it
                found = None
        if found is not None:
            steps, failed = found
            if adjust is not None:  # a hook may change a step's status
                failed = False
                for span_id, step in zip(started, steps):
                    adjust(ended[span_id], step)
                    if step.get("status") == "failed":
                        failed = True
            _end_trace(record, root, failed, False)
        else:  # not the common case: the general way
            spans, span_ids, parent_ids = ended_in_order(ended, started, capture.parent_ids)
            steps = finish_trace(record, root, spans, span_ids, parent_ids, adjust, started)
        capture.steps = steps
        store = capture.store
        try:
            save_steps = getattr(store, "save_steps", None)  # a Store's; not every store's
            if save_steps is not None and (adjust is None or _one_trace(steps)):
                save_steps(steps)
            else:  # or a hook moved steps to other traces: each where it says
                for step in steps:
                    store.save_step(step)
        except Exception:  # noqa: BLE001 - capture must never crash the observed pipeline
            logger.exception("xray: storing a step failed; the pipeline goes on")
        try:  # _guarded, inlined: this runs for every trace
            store.end_trace(capture.record)
        except Exception:  # noqa: BLE001 - capture must never crash the observed pipeline
            logger.exception("xray: storing a trace end failed; the pipeline goes on")
        if observer is not None:
            _guarded("observing a trace end", observer.trace_finished, capture)

    def shutdown(self) -> None:
        """Forget the traces still open."""
        self._open.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered: traces are handed over when their root span ends."""
        return True


def records_from_spans(
    spans: Iterable[ReadableSpan], adjust: Adjust | None = None
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Finished spans (from an ``InMemorySpanExporter``, a file, ...) as trace and step records,
    one pair per root span, in the order the roots started. Never raises for malformed spans.
    """
    listed = list(spans)
    by_id = {span.context.span_id: span for span in listed}
    root_of: dict[int, int] = {}

    def find_root(span: ReadableSpan) -> int:
        seen: list[int] = []
        while True:
            span_id = span.context.span_id
            if span_id in root_of:
                found = root_of[span_id]
                break
            seen.append(span_id)
            parent = span.parent
            above = by_id.get(parent.span_id) if parent is not None else None
            if parent is None or above is None or parent.is_remote or parent.span_id in seen:
                found = span_id
                break
            span = above
        for span_id in seen:
            root_of[span_id] = found
        return found

    groups: dict[int, list[ReadableSpan]] = {}
    for span in listed:
        groups.setdefault(find_root(span), []).append(span)
    result = []
    for root_id in sorted(groups, key=lambda r: by_id[r].start_time or 0):
        root = by_id[root_id]
        record = trace_record(root)
        listed_ids = span_ids_of(groups[root_id])
        ordered = in_start_order(groups[root_id], listed_ids)
        steps = finish_trace(
            record, root, ordered, span_ids_of(ordered), parent_ids_of(ordered), adjust,
            listed_ids,
        )  # fmt: skip
        result.append((record, steps))
    return result


def traces_from_spans(
    spans: Iterable[ReadableSpan], adjust: Adjust | None = None
) -> list[Trace]:
    """Finished spans as :class:`~xray_core.models.Trace` objects (see :func:`records_from_spans`)::

        exporter = InMemorySpanExporter()
        ...  # the pipeline runs with a SimpleSpanProcessor(exporter)
        [trace] = traces_from_spans(exporter.get_finished_spans())
        trace.decision("B0X")
    """
    from ..store.records import trace_from_records

    return [trace_from_records(r, s) for r, s in records_from_spans(spans, adjust)]
