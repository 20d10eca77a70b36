"""OpenTelemetry spans become X-Ray traces: :class:`XRaySpanProcessor` and :func:`traces_from_spans`.

A span with no parent (or a remote one, or one whose parent is not captured) starts a trace; the
spans under it become its steps, nested by their parent links and ordered by start time. Each
span is a step (:func:`xray_core.otel.mapping.step_record`) — the root span too, since the spans
of instrumented libraries (an OpenAI call) are often roots — except a root span written by
X-Ray's own export (it carries ``xray.trace.metadata``), which is the trace alone.

The processor follows spans as they end: ``on_start`` only starts a trace with a span that has
no captured parent (its test and run are taken then, as an SDK trace's are when it starts); a
span under a captured root costs ``on_start`` a look-up, and ``on_end`` keeps it in its
OpenTelemetry trace id's list (a child of the captured root started last costs neither
look-up: its parent is that root's very ``SpanContext``). When a root ends, the spans under it
in that list (children before it, in end order) become the steps, in start order; those of
the trace id's other open roots stay, and the list goes with the trace id's last root.

The processor goes the recorder's way: the trace's record is handed to the recorder's store
(``start_trace`` / ``save_steps`` / ``end_trace``) and to the recorder's observer (the pytest
plugin), so a captured trace is kept, asserted on, baselined and reported like one recorded
with the SDK. It never raises into the pipeline: a span it cannot read is logged and skipped.
"""

from __future__ import annotations

import logging
import operator
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import StatusCode

from ..observers import observers as _observers
from ..serialize import MAX_STRING
from . import names as n
from .mapping import (
    BY_INDEX,
    attributes,
    own_id,
    parse_json,
    span_status,
    step_record,
    steps_in_end_order,
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
    # seconds(start), inlined: this runs for every trace
    record["start_time"] = start / 1e9 if type(start) is int else time.time()
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


def in_start_order(
    spans: list[Any], arrived: list[int] | None = None, depths: dict[int, int] | None = None
) -> list[Any]:
    """``spans`` ordered by start time; spans starting at the same time by their depth in the
    trace (``depths``: span id -> depth; a parent before its children), then by the order they
    arrived in: ``arrived`` (their span ids in that order), else their order in ``spans``. A
    start time that is no int counts as 0. Spans are never compared."""
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
    depth = {} if depths is None else depths
    keys = [
        (t if type(t) is int else 0, depth.get(span_id, 0), rank.get(span_id, len(rank)), index)
        for index, (t, span_id) in enumerate(zip(starts, ids))
    ]  # fmt: skip
    return [spans[key[3]] for key in sorted(keys)]


def depths_under(
    span_ids: list[int], parent_ids: list[int | None], root_id: int
) -> dict[int, int]:
    """Each span's depth under the root ``root_id`` (0; its children 1, ...) following the
    parent links among ``span_ids`` (``parent_ids``: their parents' ids, None for none); -1 for
    a span whose chain of parents does not reach the root (its parent is not among them, or the
    chain loops)."""
    parent_of = dict(zip(span_ids, parent_ids))
    depth: dict[int, int] = {root_id: 0}
    for span_id in span_ids:
        chain: list[int] = []
        current: int | None = span_id
        while current not in depth:
            if current is None or current not in parent_of or current in chain:
                found = -1
                break
            chain.append(current)
            current = parent_of[current]
        else:
            found = depth[current]
        for offset, member in enumerate(reversed(chain), 1):
            depth[member] = -1 if found < 0 else found + offset
    return depth


def parent_ids_of(spans: Iterable[Any]) -> list[int | None]:
    """The span ids of the parents of ``spans`` (None for a span without one)."""
    try:  # the SDK's field: its property costs a call
        parents = list(map(_PARENT, spans))
    except AttributeError:
        parents = [span.parent for span in spans]
    return [None if p is None else p[1] if _BY_INDEX else p.span_id for p in parents]


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
    end = end / 1e9 if type(end) is int else time.time()  # seconds(end), inlined
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

    __slots__ = ("record", "steps", "store", "root_id", "key")

    def __init__(self, record: dict[str, Any], store: Store, root_id: int, key: int = 0) -> None:
        self.record = record
        self.steps: list[dict[str, Any]] = []
        self.store = store
        self.root_id = root_id
        #: the OpenTelemetry trace id of its spans
        self.key = key

    @property
    def trace_id(self) -> str:
        """The id under which the store keeps this trace."""
        return self.record["trace_id"]

    def to_model(self) -> Trace:
        """The trace as a :class:`~xray_core.models.Trace`."""
        from ..store.records import trace_from_records

        return trace_from_records(self.record, list(self.steps))


_BY_INDEX = BY_INDEX
#: ``XRaySpanProcessor._hot`` when no captured root is: a context no span has as its parent
_COLD: tuple[Any, list[Any], int] = (object(), [], -1)
_own_id = own_id
_ERROR = StatusCode.ERROR  # looked up once: an enum member's lookup is slow


def _one_trace(steps: list[dict[str, Any]]) -> bool:
    """Whether ``steps`` all belong to the same trace."""
    return len({step.get("trace_id") for step in steps}) <= 1


def _guarded(what: str, func: Any, *args: Any) -> None:
    try:
        func(*args)
    except Exception:  # noqa: BLE001 - capture must never crash the observed pipeline
        logger.exception("xray: %s failed; the pipeline goes on", what)


def _local_parent_ids(spans: list[Any]) -> list[int | None]:
    """The span ids of the local parents of ``spans`` (None for a span without one or with a
    remote one)."""
    try:  # the SDK's field: its property costs a call
        parents = list(map(_PARENT, spans))
    except AttributeError:
        parents = [span.parent for span in spans]
    if _BY_INDEX:
        return [None if p is None or p[2] else p[1] for p in parents]
    return [None if p is None or p.is_remote else p.span_id for p in parents]


def _under_root(
    spans: list[Any], root_id: int
) -> tuple[list[Any], list[int], list[int | None], list[int], list[Any]]:
    """The general way to a trace's steps: of ``spans`` (spans of one trace id, in the order
    they ended), the descendants of the root ``root_id`` (the root among them), in
    :func:`in_start_order` (ties: a parent before its children, then the order they ended),
    their ids, their parents' ids and their ids in the order they ended; then the spans not
    under the root. A span listed twice counts once, as it ended last."""
    ids = span_ids_of(spans)
    parents = _local_parent_ids(spans)
    depth = depths_under(ids, parents, root_id)
    last = {span_id: index for index, span_id in enumerate(ids)}
    kept = [i for i, span_id in enumerate(ids) if depth[span_id] >= 0 and last[span_id] == i]
    rest = [spans[i] for i, span_id in enumerate(ids) if depth[span_id] < 0]
    arrived = [ids[i] for i in kept]
    parent_of = {ids[i]: parents[i] for i in kept}
    ordered = in_start_order([spans[i] for i in kept], arrived, depth)
    ordered_ids = span_ids_of(ordered)
    return ordered, ordered_ids, list(map(parent_of.__getitem__, ordered_ids)), arrived, rest


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
        #: OpenTelemetry trace id -> its spans ended so far (in that order), while a captured
        #: root of it is open: the roots' descendants, and each root's own span last
        self._ended: dict[int, list[Any]] = {}
        #: the captured roots still open, by span id: their trace's record, store and
        #: OpenTelemetry trace id
        self._roots: dict[int, tuple[dict[str, Any], Store, int]] = {}
        #: OpenTelemetry trace id -> how many of its captured roots are open beyond one (none
        #: for a trace id with one open captured root, the common case)
        self._others: dict[int, int] = {}
        #: OpenTelemetry trace id -> the ids of its captured spans, for a trace id whose first
        #: captured root has a local parent that is not captured (started before capture
        #: began): there a span is captured when its parent is. Elsewhere every local span of
        #: a trace id with a captured root open is under one of its roots
        self._tracked: dict[int, set[int]] = {}
        #: held to add or remove a root (a trace id's roots may start and end on several threads)
        self._lock = threading.Lock()
        #: the ``SpanContext`` of the captured root started last, its trace id's list (in
        #: ``_ended``) and its span id, while it is open and its trace id is not ``_tracked``:
        #: a span whose parent is that very object is followed without hashing a trace id
        #: (most spans: a pipeline's children of its root). One attribute, set and read whole.
        self._hot: tuple[Any, list[Any], int] = _COLD

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Start a trace with a span that has no captured parent; a span under a captured one
        costs nothing more here: it is followed when it ends."""
        try:
            try:  # the SDK's field: its property costs a call
                parent = span._parent
            except AttributeError:
                parent = span.parent
            if parent is self._hot[0]:  # a child of the captured root started last
                return
            # a local parent's trace id is the span's: read off the parent, no other field
            if parent is not None:
                if _BY_INDEX:  # the SDK's SpanContext is a tuple: its fields cost no call
                    under = not parent[2] and parent[0] in self._ended
                else:
                    under = not parent.is_remote and parent.trace_id in self._ended
                if under:
                    if not self._tracked:  # under the trace id's captured root
                        return
                    key, parent_id = (
                        (parent[0], parent[1]) if _BY_INDEX else (parent.trace_id, parent.span_id)
                    )  # fmt: skip
                    tracked = self._tracked.get(key)
                    if tracked is None:
                        return
                    if parent_id in tracked:
                        tracked.add(_own_id(span))
                        return
            context: Any
            try:  # the SDK's field: its property costs a call
                context = span._context
            except AttributeError:
                context = span.get_span_context()
            self._start(span, context, parent)
        except Exception:  # noqa: BLE001 - capture must never crash the observed pipeline
            logger.exception("xray: capturing a span start failed; the pipeline goes on")

    def _start(self, span: Span, context: Any, parent: Any) -> None:
        """Start a trace with ``span`` (its ``context``; its ``parent``: None, remote or not
        captured), unless nothing is captured now."""
        if self._observed_only and not _observers:
            return
        recorder = self._recorder
        if recorder is None:
            from ..ambient import get_recorder

            recorder = get_recorder()
        if not recorder.enabled:
            return
        if _BY_INDEX:
            key, span_id = context[0], context[1]
            local_parent = parent is not None and not parent[2]
        else:
            key, span_id = context.trace_id, context.span_id
            local_parent = parent is not None and not parent.is_remote
        record = trace_record(span)
        store = recorder.store
        if _observers:  # the trace's test and run: those of the moment its root starts
            _guarded("observing a trace start", _observers[-1].trace_started, record)
        try:  # _guarded, inlined: this runs for every trace
            store.start_trace(record)
        except Exception:  # noqa: BLE001 - capture must never crash the observed pipeline
            logger.exception("xray: storing a trace start failed; the pipeline goes on")
        lock = self._lock
        lock.acquire()  # not `with`: its __enter__ and __exit__ calls cost twice as much
        try:
            if key not in self._ended:
                ended: list[Any] = []
                self._ended[key] = ended
                if local_parent:  # its parent is not captured: nor may its siblings be
                    self._tracked[key] = {span_id}
                else:
                    self._hot = (context, ended, span_id)
            else:
                if span_id not in self._roots:  # else started twice: the last start counts
                    self._others[key] = self._others.get(key, 0) + 1
                tracked = self._tracked.get(key) if self._tracked else None
                if tracked is not None:
                    tracked.add(span_id)
            self._roots[span_id] = (record, store, key)  # a CapturedTrace at its end
        finally:
            lock.release()

    def on_end(self, span: ReadableSpan) -> None:
        """Keep a finished span of a trace being captured; when it is a root, finish its trace."""
        try:
            context: Any
            try:  # the SDK's fields: a property costs a call
                hot = self._hot  # read once: another thread may set it
                if span._parent is hot[0]:  # a child of the captured root started last
                    hot[1].append(span)
                    return
                context = span._context
            except AttributeError:
                context = span.context
            if _BY_INDEX:  # the SDK's SpanContext is a tuple: its fields cost no call
                ended = self._ended.get(context[0])
                if ended is None:  # no captured root of its trace is open
                    return
                ended.append(span)
                if context[1] in self._roots:
                    self._finish(context[1], span, ended)
            else:
                ended = self._ended.get(context.trace_id)
                if ended is None:
                    return
                ended.append(span)
                if context.span_id in self._roots:
                    self._finish(context.span_id, span, ended)
        except Exception:  # noqa: BLE001 - capture must never crash the observed pipeline
            logger.exception("xray: capturing a span end failed; the pipeline goes on")

    def _finish(self, root_id: int, root: ReadableSpan, ended: list[Any]) -> None:
        lock = self._lock
        lock.acquire()  # not `with`: its __enter__ and __exit__ calls cost twice as much
        try:
            begun = self._roots.pop(root_id, None)
            if begun is None:  # finished meanwhile (the same span ended twice at once)
                return
            if self._hot[2] == root_id:  # its children are followed the general way from now
                self._hot = _COLD
            record, store, key = begun
            others = self._others
            alone = not others or key not in others
            if alone:  # the trace id's spans go with its last open root
                del self._ended[key]
                if self._tracked:
                    self._tracked.pop(key, None)
            elif others[key] == 1:
                del others[key]
            else:
                others[key] -= 1
            spans = ended[:]  # taken with the lock: another root's finish changes the list
        finally:
            lock.release()
        if spans[-1] is not root:  # a span ended on another thread meanwhile: not the root's
            spans = spans[: _index_of(spans, root) + 1]
        taken = len(spans)
        observer = _observers[-1] if _observers else None
        adjust = None if observer is None else getattr(observer, "span_to_step", None)
        found = None
        # The common case, in one pass: the spans ended in the order they started (each after
        # its parent started and before the next span started: a flat trace), and the root is
        # not written by X-Ray's export (then steps_in_end_order builds the steps, else None)
        try:  # _attribute, inlined: the SDK's dict inside its BoundedAttributes
            meta = root._attributes._dict.get(_META)  # type: ignore[union-attr]
        except AttributeError:
            meta = _attribute(root, _META)
        if taken <= len(_SUFFIXES) and meta is None:
            try:
                found = steps_in_end_order(spans, root_id, record["trace_id"], _SUFFIXES)
            except Exception:  # noqa: BLE001 - a span that cannot be read: the general way logs it
                found = None
        rest: list[Any] = []
        if found is not None:
            steps, failed = found
            if adjust is not None:  # a hook may change a step's status
                failed = False
                for span, step in zip([root, *spans[:-1]], steps):
                    adjust(span, step)
                    if step.get("status") == "failed":
                        failed = True
            _end_trace(record, root, failed, False)
        else:  # not the common case: the general way
            ordered, span_ids, parent_ids, arrived, rest = _under_root(spans, root_id)
            steps = finish_trace(record, root, ordered, span_ids, parent_ids, adjust, arrived)
        if not alone:  # the spans of the trace id's other roots stay for them
            with self._lock:
                ended[:taken] = rest
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
            store.end_trace(record)
        except Exception:  # noqa: BLE001 - capture must never crash the observed pipeline
            logger.exception("xray: storing a trace end failed; the pipeline goes on")
        if observer is not None:
            capture = CapturedTrace(record, store, root_id, key)
            capture.steps = steps
            _guarded("observing a trace end", observer.trace_finished, capture)

    def shutdown(self) -> None:
        """Forget the traces still open."""
        with self._lock:
            self._hot = _COLD
            self._ended.clear()
            self._roots.clear()
            self._others.clear()
            self._tracked.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered: traces are handed over when their root span ends."""
        return True


def _index_of(spans: list[Any], span: Any) -> int:
    """Where ``span`` itself (not an equal one) is in ``spans``."""
    for index, listed in enumerate(spans):
        if listed is span:
            return index
    raise ValueError("span not listed")


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
        depths = depths_under(listed_ids, _local_parent_ids(groups[root_id]), root_id)
        ordered = in_start_order(groups[root_id], listed_ids, depths)
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
