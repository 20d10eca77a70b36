"""The recorder: :class:`XRay`, its trace and step contexts, and the observers of finished traces.

The hot path (entering and leaving a step) only builds plain dicts; pydantic models are built when
a trace is read. Every recording operation is guarded: a failure inside X-Ray is logged and never
reaches the observed pipeline. The current trace and step live in :mod:`contextvars`, so threads
and asyncio tasks each see their own.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
import traceback
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .exceptions import StoreError
from .observers import observers as _observers
from orjson import dumps as _orjson_dumps

from .serialize import (
    MAX_ITEMS,
    MAX_STRING,
    SHORT_TEXT,
    SNAPSHOT_OPTIONS,
    escape_surrogates,
    snapshot,
    snapshot_of,
    to_jsonable,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from typing_extensions import Self

    from .models import Trace
    from .store.base import Store

logger = logging.getLogger("xray_core")

_current_trace: ContextVar[TraceContext | None] = ContextVar("xray_trace", default=None)
_current_step: ContextVar[StepContext | None] = ContextVar("xray_step", default=None)


#: "" in the process that started a trace; a random tag in a forked child, so the steps a child
#: adds to a trace it inherited never take the ids of the parent's steps (which go on counting).
_fork_tag = ""
#: a step's id is its trace's id and its suffix: ".0", ".1", ... (".<fork tag>0" in a forked
#: child), written once here rather than formatted for every step
_SUFFIXES = tuple(f".{order}" for order in range(64))

#: trace ids to draw, each 32 random hex digits (128 bits, as many as a UUID's text without
#: dashes). ``os.urandom`` gives them 256 at a time, split in C: drawing one is a ``next()``,
#: several times cheaper than ``uuid.uuid4().hex`` (a system call and a ``UUID`` object per
#: trace), which counts when every test records a trace. Random bits from the system, so a
#: pipeline seeding the ``random`` module cannot make two runs' trace ids equal; a forked
#: child drops the pool it inherited, so it never draws the ids its parent draws next.
_trace_ids: Iterator[str] = iter(())
_TRACE_IDS_AT_ONCE = 256


def _more_trace_ids() -> str:
    """A new trace id from a new pool (the pool is empty; threads racing here each get their
    own pool: all are random)."""
    global _trace_ids
    _trace_ids = iter(os.urandom(16 * _TRACE_IDS_AT_ONCE).hex(" ", 16).split())
    return next(_trace_ids)


def _after_fork_in_child() -> None:
    global _fork_tag, _SUFFIXES, _trace_ids
    _fork_tag = os.urandom(6).hex() + "."
    _SUFFIXES = tuple(f".{_fork_tag}{order}" for order in range(64))
    _trace_ids = iter(())  # a forked child must not draw the ids its parent draws next


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _guarded(what: str, func: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except StoreError:  # raised only by stores created strict=True, which asked for it
        raise
    except Exception:  # noqa: BLE001 - recording must never crash the observed pipeline
        logger.exception("xray: %s failed; the pipeline goes on", what)
        return None


def format_error(exc: BaseException) -> str:
    """``"<ExcType>: <message>"`` on the first line, then the formatted traceback.

    Never raises, even for an exception whose ``__str__`` does.
    """
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ must not replace the user's exception
        message = "<exception str() failed>"
    try:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except Exception:  # noqa: BLE001
        tb = ""
    return escape_surrogates(f"{type(exc).__name__}: {message}\n{tb}".rstrip("\n"))


class XRay:
    """A recorder writing traces into ``store``.

    To record::

        xr = XRay(store=SQLiteStore("traces.db"))
        with xr.trace("competitor-selection", metadata={"product_id": "P1"}) as trace:
            with trace.step("keyword_generation", input={"title": t}) as step:
                step.set_output({"keywords": kws})

    :param store: where traces go; a new :class:`~xray_core.store.memory.MemoryStore` by default.
    :param enabled: when False, ``trace()`` returns a no-op context and nothing is recorded.
    :param exporter: an OpenTelemetry ``SpanExporter``: each finished trace is also sent to it as
        spans, from a background thread (see :mod:`xray_core.otel`; the ``otel`` extra).
    :raises TypeError: ``store`` is not a store, ``enabled`` not a bool or ``exporter`` no span
        exporter (found here, when the recorder is set up, rather than while it records).
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        enabled: bool = True,
        exporter: SpanExporter | None = None,
    ) -> None:
        if store is None:
            from .store.memory import MemoryStore

            store = MemoryStore()
        check_store(store)
        check_enabled(enabled)
        self.store: Store = store
        self.enabled = enabled
        self.exporter = exporter
        #: hands a finished trace to the exporter's queue (None: no export)
        self._hand_off: Any = None
        if exporter is not None:
            check_exporter(exporter)
            from .otel.background import queue_for  # imports OpenTelemetry: only when exporting

            self._hand_off = queue_for(exporter).submit

    def trace(self, name: str, metadata: dict[str, Any] | None = None) -> TraceContext | NullTrace:
        """A context manager (sync or async) recording one trace called ``name``."""
        if not self.enabled:
            return NULL_TRACE
        if self._hand_off is not None:
            return ExportedTrace(self.store, name, metadata, self._hand_off)
        return TraceContext(self.store, name, metadata)


_STORE_METHODS = ("start_trace", "save_step", "end_trace")


def check_enabled(enabled: object) -> None:
    """Raise ``TypeError`` unless ``enabled`` is True or False (``"false"`` would be true)."""
    if type(enabled) is not bool:
        raise TypeError(f"enabled must be True or False, not {type(enabled).__name__}")


def check_exporter(exporter: object) -> None:
    """Raise ``TypeError`` unless ``exporter`` has the ``export`` method of a ``SpanExporter``."""
    if not callable(getattr(exporter, "export", None)):
        raise TypeError(
            "exporter must be an OpenTelemetry SpanExporter (OTLPSpanExporter, "
            f"InMemorySpanExporter, ...); {type(exporter).__name__} has no export()"
        )


def check_store(store: object) -> None:
    """Raise ``TypeError`` unless ``store`` has the methods the recorder writes through."""
    missing = [m for m in _STORE_METHODS if not callable(getattr(store, m, None))]
    if missing:
        raise TypeError(
            "store must be an xray_core store (MemoryStore, SQLiteStore or a Store subclass); "
            f"{type(store).__name__} has no {', '.join(m + '()' for m in missing)}"
        )


#: every key of a trace record, and the value it has until it is known (see TraceContext)
_TRACE_RECORD: dict[str, Any] = {
    "trace_id": "", "name": "", "status": "running", "start_time": 0.0, "end_time": None,
    "duration_ms": None, "metadata": None, "run_id": None, "test_id": None,
}  # fmt: skip
#: every key of a step record, and the value it has until it is known (see StepContext)
_STEP_RECORD: dict[str, Any] = {
    "step_id": "", "trace_id": "", "parent_id": None, "name": "", "step_order": 0,
    "input": None, "output": None, "reasoning": None, "metadata": None, "status": "running",
    "error": None, "start_time": 0.0, "end_time": None, "duration_ms": None,
}  # fmt: skip
# A record kept only by a MemoryStore (see MemoryStore._begin_trace) has no "metadata" key until
# something is written there: a dict holding no container is not tracked by the garbage
# collector, so the young collections that come every few traces do not traverse it. Every
# reader of records takes a missing key as {} (the models' default, `get("metadata") or {}`);
# a store whose start_trace / save_step / end_trace the recorder calls (a store of one's own)
# receives every key, in the same order, as before (see _full_record).
#: a trace record without "metadata" (see above)
_LEAN_TRACE_RECORD = {k: v for k, v in _TRACE_RECORD.items() if k != "metadata"}
#: a step record without "metadata" (see above)
_LEAN_STEP_RECORD = {k: v for k, v in _STEP_RECORD.items() if k != "metadata"}
_new_step = object.__new__
#: a trace's step orders, drawn by ``next(iter(_ORDERS))``: a range's iterator is made without
#: parsing arguments and is no container for the garbage collector to count (itertools.count
#: is both), and ``next()`` on it is one C call, atomic under the GIL as threads need
_ORDERS = range(sys.maxsize)
#: wall-clock time minus perf_counter, for a trace not entered yet (see TraceContext._clock)
_CLOCK = time.time() - time.perf_counter()
_perf_counter = time.perf_counter
_time = time.time
# The context variables' methods, bound once: a call of a module global is a few bytecodes
# fewer than a method look-up on the variable, and they run several times a step.
_get_step = _current_step.get
_set_step = _current_step.set
_reset_step = _current_step.reset
_set_trace = _current_trace.set
_reset_trace = _current_trace.reset


class _Recording:
    """What trace and step contexts share: the record, async entry, status, timing and errors.

    A subclass sets ``record`` (with at least ``trace_id``, ``start_time`` and ``status``) and
    implements ``__enter__``, ``__exit__`` and ``_set_error``.
    """

    __slots__ = ()
    record: dict[str, Any]

    @property
    def trace_id(self) -> str:
        """The id of the trace (for a step: of the trace it belongs to)."""
        return self.record["trace_id"]

    def __enter__(self) -> Self:
        raise NotImplementedError

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def _finish(self, started: float, exc: BaseException | None) -> None:
        record = self.record
        duration = (time.perf_counter() - started) * 1000.0
        record["duration_ms"] = duration
        record["end_time"] = record["start_time"] + duration / 1000.0
        if exc is None or type(exc) is GeneratorExit:  # a generator closed early did not fail
            if record["status"] == "running":
                record["status"] = "completed"
        else:
            record["status"] = "failed"
            self._set_error(format_error(exc))

    def _set_error(self, error: str) -> None:
        raise NotImplementedError


class TraceContext(_Recording):
    """One trace being recorded; returned by ``XRay.trace`` and ``xray_core.trace``."""

    __slots__ = (
        "store", "record", "_entry", "_kept", "_order", "_started", "_clock", "_token",
        "_step_token", "_id",
    )  # fmt: skip

    def __init__(self, store: Store, name: str, metadata: dict[str, Any] | None) -> None:
        self.store = store
        # a copy of a dict of the same keys: faster than a literal. Without "metadata" unless
        # some is given: it is added on entry if the store is one of one's own (see __enter__)
        record = (_LEAN_TRACE_RECORD if metadata is None else _TRACE_RECORD).copy()
        # the id also in a slot: each step reads it there, a few bytecodes fewer than the record
        try:
            record["trace_id"] = self._id = next(_trace_ids)
        except StopIteration:  # once in _TRACE_IDS_AT_ONCE traces
            record["trace_id"] = self._id = _more_trace_ids()
        # _name(name), its common case inlined: see _CHECKED_NAMES
        record["name"] = name if type(name) is str and name in _CHECKED_NAMES else _name(name)
        if metadata is not None:
            record["metadata"] = _as_dict(metadata, "trace metadata")
        self.record = record  # its start_time is set on entry (see to_model before it)
        #: ``[record, step record, ...]``, each step as it ends; for a MemoryStore, the very
        #: list the store keeps (see __enter__)
        self._entry: list[dict[str, Any]] = [record]
        #: whether the store keeps ``_entry`` itself; if not, each step goes to its save_step
        self._kept = False
        self._order = iter(_ORDERS)  # 0, 1, 2, ...: each step's order, atomic under the GIL
        self._started = 0.0
        self._clock = _CLOCK
        # _token and _step_token are set on entry, where __exit__ finds them

    @property
    def name(self) -> str:
        """The trace's name."""
        return self.record["name"]

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The records of the steps ended so far, in the order they ended (a new list)."""
        return self._entry[1:]

    def __enter__(self) -> Self:
        record = self.record
        store = self.store
        # A MemoryStore's own way in: it keeps this trace's list ([record, step, ...]) as the
        # trace's entry, to which each step is then appended in C, without a Python call to
        # save_step (None while this very store's start_trace, save_step or end_trace is
        # replaced: a test's spy sees them all; see MemoryStore._begin).
        try:
            begin = store._begin
        except AttributeError:  # a store that is no Store subclass (see check_store)
            begin = None
        if begin is None and "metadata" not in record:  # a store of one's own gets every key
            record = self.record = _full_record(record, _TRACE_RECORD)
        record["start_time"] = now = _time()
        if _observers:
            _guarded("observing a trace start", _observers[-1].trace_started, record)
        try:
            if begin is None:
                store.start_trace(record)
            else:
                self._entry = begin(store, self._entry)
                self._kept = True
        except StoreError:  # raised only by stores created strict=True, which asked for it
            raise
        except Exception:  # noqa: BLE001 - inlined _guarded: this is the recording hot path
            logger.exception("xray: storing a trace start failed; the pipeline goes on")
        self._token = _set_trace(self)
        # A trace begun inside another trace's step starts with no current step; at the top
        # level there is none already, and the context variable is left alone.
        self._step_token = _set_step(None) if _get_step() is not None else None
        self._started = started = _perf_counter()
        self._clock = now - started  # steps read the time from perf_counter
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        record = self.record
        if exc is None:  # _finish, inlined for the common case: this is the recording hot path
            ended = _perf_counter()
            record["duration_ms"] = (ended - self._started) * 1000.0
            record["end_time"] = ended + self._clock  # start_time is self._started + self._clock
            if record["status"] == "running":
                record["status"] = "completed"
        else:
            self._finish(self._started, exc)
        try:
            if self._step_token is not None:
                _reset_step(self._step_token)
            elif _get_step() is not None:  # a step left open inside the trace
                _set_step(None)
            _reset_trace(self._token)
        except ValueError:  # left in another context (a generator, a callback): unwind by value
            _current_step.set(None)
            _current_trace.set(None)
        store = self.store
        try:
            if not self._kept:
                store.end_trace(record)
            elif self._id not in store._traces:  # type: ignore[attr-defined]
                # MemoryStore.end_trace, inlined: a trace dropped meanwhile is stored again
                store.start_trace(record)
        except StoreError:  # raised only by stores created strict=True, which asked for it
            if exc is None:
                raise
            logger.exception("xray: storing a failed trace failed too")  # keep the user's error
        except Exception:  # noqa: BLE001 - inlined _guarded: this is the recording hot path
            logger.exception("xray: storing a trace end failed; the pipeline goes on")
        finally:  # the observer (the pytest plugin) gets the trace even when a strict store raised
            if _observers:
                _guarded("observing a trace end", _observers[-1].trace_finished, self)

    def _set_error(self, error: str) -> None:
        _metadata(self.record)["error"] = error

    def step(self, name: str, input: Any = None, _into: StepContext | None = None) -> StepContext:
        """A context manager recording one step of this trace (nested under the current step).

        ``_into``: the step object to record it in (``xray_core.step``'s, made before it is
        entered) instead of a new :class:`StepContext`.
        """
        # Built here rather than by ``StepContext(...)`` or a helper: this runs for every step,
        # and each call costs (``StepContext.step`` sets the parent it gives afterwards).
        parent = _get_step()
        order = next(self._order)
        trace_id = self._id
        # a copy of a dict of the same keys: faster than a literal; its "metadata" only for a
        # store of one's own (see _LEAN_STEP_RECORD)
        kept = self._kept
        record = (_LEAN_STEP_RECORD if kept else _STEP_RECORD).copy()
        try:
            record["step_id"] = trace_id + _SUFFIXES[order]
        except IndexError:  # a step past the 64th
            record["step_id"] = f"{trace_id}.{_fork_tag}{order}"
        record["trace_id"] = trace_id
        if parent is not None and parent.trace is self:
            record["parent_id"] = parent.record["step_id"]
        # _name(name), its common case inlined: see _CHECKED_NAMES
        record["name"] = name if type(name) is str and name in _CHECKED_NAMES else _name(name)
        record["step_order"] = order
        if input is not None:  # serialize.snapshot(input), its common case inlined
            try:
                text = _orjson_dumps(input, None, SNAPSHOT_OPTIONS)
            except Exception:  # noqa: BLE001 - a type orjson refuses: the converter's job
                record["input"] = to_jsonable(input)
            else:
                record["input"] = (
                    b"%b" % text
                    if len(text) <= SHORT_TEXT and text.replace(b"null", b"") is text
                    else snapshot_of(input, text)
                )
        if not kept:
            record["metadata"] = {}
        step = _new_step(StepContext) if _into is None else _into
        step.trace = self
        step.record = record
        return step

    def set_metadata(self, data: dict[str, Any]) -> None:
        """Merge ``data`` into the trace's free-form metadata."""
        _metadata(self.record).update(_as_dict(data, "trace.set_metadata"))

    def to_model(self) -> Trace:
        """The trace as recorded so far, as a :class:`~xray_core.models.Trace`."""
        from .store.records import trace_from_records

        record = self.record
        if not self._started:  # not entered yet: it starts now, as far as anyone can tell
            record = {**record, "start_time": time.time()}
        return trace_from_records(record, self._entry[1:])


class StepContext(_Recording):
    """One step being recorded; returned by ``trace.step``, ``step.step`` and ``xray_core.step``
    (which make it: it has no constructor of its own)."""

    __slots__ = ("trace", "record", "_started", "_token")
    trace: TraceContext

    @property
    def step_id(self) -> str:
        """The id of this step (unique in the store)."""
        return self.record["step_id"]

    def __enter__(self) -> Self:
        self._token = _set_step(self)
        self._started = started = _perf_counter()
        # The trace's wall-clock time at this perf_counter value: one clock read, not two.
        self.record["start_time"] = started + self.trace._clock
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        record = self.record
        trace = self.trace
        if exc is None:  # _finish, inlined for the common case: this is the recording hot path
            ended = _perf_counter()
            record["duration_ms"] = (ended - self._started) * 1000.0
            record["end_time"] = ended + trace._clock  # as start_time: one clock read
            if record["status"] == "running":
                record["status"] = "completed"
        else:
            self._finish(self._started, exc)
        try:
            _reset_step(self._token)
        except ValueError:  # left in another context than the one it entered
            _current_step.set(None)
        trace._entry.append(record)
        if trace._kept:  # the store keeps the trace's list: stored
            return
        try:
            trace.store.save_step(record)
        except StoreError:
            if exc is None:
                raise
            logger.exception("xray: storing a failed step failed too")  # keep the user's error
        except Exception:  # noqa: BLE001 - inlined _guarded: this is the recording hot path
            logger.exception("xray: storing a step failed; the pipeline goes on")

    def _set_error(self, error: str) -> None:
        self.record["error"] = error
        self.trace.record["status"] = "failed"

    def step(self, name: str, input: Any = None) -> StepContext:
        """A context manager recording a sub-step of this step."""
        step = self.trace.step(name, input)
        step.record["parent_id"] = self.record["step_id"]  # whichever step is current
        return step

    def set_input(self, data: Any) -> None:
        """Record the step's input (converted by :func:`~xray_core.serialize.to_jsonable`)."""
        self.record["input"] = snapshot(data)

    def set_output(self, data: Any) -> None:
        """Record the step's output (converted the same way)."""
        try:  # serialize.snapshot(data), its common case inlined: nearly every step has one
            text = _orjson_dumps(data, None, SNAPSHOT_OPTIONS)
        except Exception:  # noqa: BLE001 - a type orjson refuses: the converter's job
            self.record["output"] = to_jsonable(data)
            return
        self.record["output"] = (
            b"%b" % text
            if len(text) <= SHORT_TEXT and text.replace(b"null", b"") is text
            else snapshot_of(data, text)
        )

    def set_reasoning(self, text: str) -> None:
        """Record why the step decided what it did, in words."""
        self.record["reasoning"] = (
            text
            if type(text) is str and text.isascii() and len(text) <= MAX_STRING
            else _text(text)
        )

    def set_metadata(self, data: dict[str, Any]) -> None:
        """Merge ``data`` into the step's free-form metadata."""
        _metadata(self.record).update(_as_dict(data, "step.set_metadata"))

    def add_evaluation(
        self,
        item_id: Any,
        item_data: Any = None,
        filters: Any = None,
        qualified: bool = False,
        reasoning: str | None = None,
    ) -> None:
        """Record one candidate's evaluation in ``metadata["evaluations"]``.

        ``filters`` is a list of ``{"name", "passed", "detail"}`` dicts (or
        :class:`~xray_core.models.FilterResult` objects).
        """
        try:  # the type checks inline the common case: this runs once per candidate
            data = {} if item_data is None else to_jsonable(item_data)
            evaluation = {
                "item_id": item_id
                if type(item_id) is str and item_id.isascii() and len(item_id) <= MAX_STRING
                else _text(item_id),
                "item_data": data if type(data) is dict else _as_dict(data, "item_data"),
                "filters": [] if filters is None else _filters(filters),
                "qualified": qualified if type(qualified) is bool else _flag(qualified),
                "reasoning": reasoning
                if reasoning is None
                or (type(reasoning) is str and reasoning.isascii() and len(reasoning) <= MAX_STRING)
                else _text(reasoning),
            }
            record = self.record
            metadata = record.get("metadata")
            if metadata is None:  # _metadata(record), inlined
                metadata = record["metadata"] = {}
            found = metadata.get("evaluations")
            if type(found) is list:  # _append_evaluation's common case, inlined
                found.append(evaluation)
            else:
                _append_evaluation(metadata, evaluation)
        except Exception:  # noqa: BLE001 - recording must never crash the observed pipeline
            logger.exception("xray: add_evaluation(%s) could not be recorded", _text(item_id))

    def add_llm_metadata(
        self,
        model: str,
        tokens_used: int | None = None,
        temperature: float | None = None,
        **kwargs: Any,
    ) -> None:
        """Record an LLM call's configuration in ``metadata["llm"]`` (prompt, response, ...)."""
        if (  # the common call, inlined: what to_jsonable would copy unchanged, built once
            not kwargs
            and type(model) is str
            and model.isascii()
            and len(model) <= MAX_STRING
            and (tokens_used is None or type(tokens_used) is int)
            and (
                temperature is None
                or (type(temperature) is float and temperature - temperature == 0)
                or type(temperature) is int
            )
        ):
            llm = {"model": model, "tokens_used": tokens_used, "temperature": temperature}
        else:
            llm = to_jsonable(
                {"model": model, "tokens_used": tokens_used, "temperature": temperature, **kwargs}
            )
        _metadata(self.record)["llm"] = llm


def _metadata(record: dict[str, Any]) -> dict[str, Any]:
    """``record["metadata"]``, made an empty dict first if the record has none yet (see
    _LEAN_STEP_RECORD)."""
    metadata = record.get("metadata")
    if metadata is None:
        metadata = record["metadata"] = {}
    return metadata


def _full_record(record: dict[str, Any], template: dict[str, Any]) -> dict[str, Any]:
    """``record`` with every key of ``template``, in its order (``metadata`` an empty dict)."""
    full = template.copy()
    full.update(record)
    if full["metadata"] is None:
        full["metadata"] = {}
    return full


def _text(value: Any) -> str:
    """``value`` as (possibly truncated) valid UTF-8 text; never raises."""
    if type(value) is str and value.isascii() and len(value) <= MAX_STRING:
        return value
    converted = to_jsonable(value)
    return converted if type(converted) is str else to_jsonable(str(converted))


#: trace and step names found to be plain ASCII text within MAX_STRING. A plain ``str`` equal
#: to one of these is the same text, so it is recorded as it is after a type test and one set
#: look-up instead of three checks; a name of another type (a str subclass such as a StrEnum
#: member, whose text may differ, or an unhashable object) is not looked up, and goes through
#: :func:`_name`. Bounded: names are few, and a program making a new one per call only fills it
#: once.
_CHECKED_NAMES: set[str] = set()


def _name(value: Any) -> str:
    """A trace or step name as recorded: ``value`` when it is plain ASCII text within
    MAX_STRING (remembered in _CHECKED_NAMES), else its text, or its repr if ``str()`` raises."""
    if type(value) is str and value.isascii() and len(value) <= MAX_STRING:
        if len(_CHECKED_NAMES) < 1024:
            _CHECKED_NAMES.add(value)
        return value
    try:
        return _text(str(value))
    except Exception:  # noqa: BLE001 - a name must never crash the pipeline
        return _text(value)


def _as_dict(value: Any, what: str) -> dict[str, Any]:
    """``value`` converted to a JSON-able dict; a non-mapping is kept as ``{"value": ...}``
    and None is an empty dict."""
    if value is None:
        return {}
    data = to_jsonable(value)
    if isinstance(data, dict):
        return data
    logger.warning("xray: %s expects a dict, got %s", what, type(value).__name__)
    return {"value": data}


def _flag(value: Any) -> bool:
    """``bool(value)``, or False (with a warning) for a value without a truth value."""
    try:
        return bool(value)
    except Exception:  # noqa: BLE001 - e.g. a numpy array of several booleans
        logger.warning("xray: qualified=%s has no truth value; recorded False", _text(value))
        return False


def _filters(value: Any) -> list[dict[str, Any]]:
    """The filters given to ``add_evaluation`` as a list of filter dicts; never raises.

    A list, tuple or other iterable gives one filter per item; a lone filter (a dict, a
    ``FilterResult``, a dataclass) or a value that cannot be iterated is one filter.
    """
    if type(value) is list or type(value) is tuple:
        items: Any = value
    elif isinstance(value, (Mapping, str, bytes)) or _single_object(value):
        items = (value,)
    else:
        try:
            items = list(value)
        except Exception:  # noqa: BLE001 - not iterable, or its __iter__ raises
            items = (value,)
    filters = []
    for item in items:
        # The common filter, inlined (this runs for every filter of every candidate): a dict
        # whose keys are all plain str (so the converter renames none into another) holding a
        # plain text name, a bool and a text detail or None. What to_jsonable + _filter_dict
        # make of it, built without copying it first. Its keys are nearly always the literals
        # "name", "passed", "detail" in that order, the very objects of _NAME, _PASSED and
        # _DETAIL (literals are interned): then the key check is three identity tests.
        name: Any = None  # not str: the converter's way, unless found plain below
        if type(item) is dict:
            try:
                if len(item) == 3:
                    first, second, third = item
                    if first is _NAME and second is _PASSED and third is _DETAIL:
                        name, passed, detail = item["name"], item["passed"], item["detail"]
                    elif type(first) is str and type(second) is str and type(third) is str:
                        name, passed, detail = _filter_fields(item)
                elif len(item) <= MAX_ITEMS and _str_keys(item):
                    name, passed, detail = _filter_fields(item)
            except Exception:  # noqa: BLE001 - changed by another thread meanwhile
                name = None
        if type(name) is str and type(passed) is bool and (detail is None or type(detail) is str):
            filters.append({
                "name": name if name.isascii() and len(name) <= MAX_STRING else _text(name),
                "passed": passed,
                "detail": detail
                if detail is None or (detail.isascii() and len(detail) <= MAX_STRING)
                else _text(detail),
            })  # fmt: skip
        else:
            filters.append(_filter_dict(item))
    return filters


#: a filter dict's keys as the literals of a caller's code are (interned: the same objects)
_NAME, _PASSED, _DETAIL = "name", "passed", "detail"


def _str_keys(item: dict[Any, Any]) -> bool:
    """Whether every key of ``item`` is a plain str."""
    for key in item:
        if type(key) is not str:
            return False
    return True


def _filter_fields(item: dict[str, Any]) -> tuple[Any, Any, Any]:
    """A filter dict's name, passed and detail, as :func:`_filter_dict` reads them."""
    return item.get("name", "?"), item.get("passed", False), item.get("detail")


def _single_object(value: Any) -> bool:
    """A pydantic model or dataclass: iterable perhaps, but one filter."""
    return hasattr(type(value), "model_dump") or dataclasses.is_dataclass(value)


def _append_evaluation(metadata: dict[str, Any], evaluation: dict[str, Any]) -> None:
    """Append to ``metadata["evaluations"]``; a value set there by hand that is not a list is
    kept as the list's first entry (``Step.evaluations`` skips entries that are no evaluation)."""
    found = metadata.get("evaluations")
    if type(found) is list:
        found.append(evaluation)
        return
    if found is not None:
        logger.warning("xray: metadata['evaluations'] was not a list; kept as its first entry")
    metadata["evaluations"] = [evaluation] if found is None else [found, evaluation]


def _filter_dict(value: Any) -> dict[str, Any]:
    data = to_jsonable(value)  # strings inside come back already truncated
    if not isinstance(data, dict):
        return {"name": _text(data), "passed": False, "detail": None}
    name = data.get("name", "?")
    detail = data.get("detail")
    return {
        "name": name if type(name) is str else _text(name),
        "passed": bool(data.get("passed", False)),
        "detail": detail if detail is None or type(detail) is str else _text(detail),
    }


class NullStep:
    """The step returned when nothing is recorded: every method does nothing."""

    __slots__ = ()
    step_id = None
    trace_id = None

    def __enter__(self) -> NullStep:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    async def __aenter__(self) -> NullStep:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def step(self, name: str, input: Any = None) -> NullStep:
        """No-op sub-step."""
        return self

    def _ignore(self, *args: Any, **kwargs: Any) -> None:
        return None

    set_input = set_output = set_reasoning = set_metadata = _ignore
    add_evaluation = add_llm_metadata = _ignore


class NullTrace(NullStep):
    """The trace returned when recording is off."""

    __slots__ = ()
    name = None
    steps: list[dict[str, Any]] = []

    def __enter__(self) -> NullTrace:
        return self

    async def __aenter__(self) -> NullTrace:
        return self


NULL_STEP = NullStep()
NULL_TRACE = NullTrace()


class ExportedTrace(TraceContext):
    """A trace of a recorder with an exporter: once stored, it is handed to the export queue."""

    __slots__ = ("_hand_off",)

    def __init__(
        self, store: Store, name: str, metadata: dict[str, Any] | None, hand_off: Any
    ) -> None:
        super().__init__(store, name, metadata)
        self._hand_off = hand_off

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            super().__exit__(exc_type, exc, tb)
        finally:
            _guarded("handing a trace to its exporter", self._hand_off, self)


def current_trace() -> TraceContext | None:
    """The trace being recorded in this thread or task, if any."""
    return _current_trace.get()


def current_step() -> StepContext | None:
    """The innermost step being recorded in this thread or task, if any."""
    return _get_step()
