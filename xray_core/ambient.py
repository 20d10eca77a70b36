"""Module-level recording for library code: ``trace()``, ``step()`` and ``configure()``.

Nothing is passed around: the current trace and step live in context variables. Outside an active
trace, :func:`step` is a no-op (a shared null object, well under a microsecond), so instrumented
library code costs nothing when nobody records.

The default recorder is built on first use from the environment:

- ``XRAY_ENABLED``: recording is on unless it is ``0``, ``false``, ``no`` or ``off``;
- ``XRAY_DB``: path of a SQLite database to record into (``~`` expanded; never opened while
  recording is off); without it traces are kept in a bounded in-memory store (the last 1,000
  traces).
- ``XRAY_OTLP_ENDPOINT``: an OTLP/HTTP collector (``http://localhost:4318``) to which every
  finished trace is also sent as spans (the ``otel`` extra; see :mod:`xray_core.otel`).
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import threading
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

from .recorder import (
    NULL_STEP,
    check_exporter,
    NullStep,
    NullTrace,
    StepContext,
    TraceContext,
    XRay,
    _current_step,
    _current_trace,
    _perf_counter,
    _set_step,
    check_enabled,
    check_store,
)
from .serialize import MAX_ITEMS, to_jsonable

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from typing_extensions import Self

    from .store.base import Store

F = TypeVar("F", bound=Callable[..., Any])
logger = logging.getLogger("xray_core")

_FALSE_WORDS = {"0", "false", "no", "off"}
_default: XRay | None = None
_stand_in: Store | None = None  # the memory store standing in for XRAY_DB while recording is off
_lock = threading.Lock()
_env_exporter: SpanExporter | None = None  # XRAY_OTLP_ENDPOINT's exporter: one per process


def enabled_from_env(environ: dict[str, str] | None = None) -> bool:
    """Whether ``XRAY_ENABLED`` leaves recording on (it does unless it says 0/false/no/off)."""
    value = (environ if environ is not None else os.environ).get("XRAY_ENABLED", "")
    return value.strip().lower() not in _FALSE_WORDS


def _store_from_env(enabled: bool) -> Store:
    """``XRAY_DB``'s SQLite store, or a bounded memory store.

    While recording is off, ``XRAY_DB`` is not opened (a disabled process must not create files
    nor log that it cannot): a memory store stands in, until :func:`configure` turns recording on.
    """
    global _stand_in
    path = os.path.expanduser(os.environ.get("XRAY_DB", "").strip())
    if path and path != ":memory:" and enabled:
        from .store.sqlite import SQLiteStore

        return SQLiteStore(path)
    from .store.memory import MemoryStore

    store = MemoryStore(max_traces=1000)
    _stand_in = store if path and path != ":memory:" else None
    return store


def _exporter_from_env(enabled: bool) -> SpanExporter | None:
    """``XRAY_OTLP_ENDPOINT``'s OTLP exporter (made once), or None: unset, recording off, or
    the ``otel`` extra not installed (logged: the pipeline records without exporting)."""
    global _env_exporter
    endpoint = os.environ.get("XRAY_OTLP_ENDPOINT", "").strip()
    if not endpoint or not enabled:
        return None
    if _env_exporter is None:
        try:
            from .otel.background import otlp_exporter
        except ImportError as exc:
            logger.warning("xray: XRAY_OTLP_ENDPOINT is set but OpenTelemetry is missing (%s): "
                           "pip install 'decisiontracex[otel]'; traces are not exported", exc)
            return None
        try:
            _env_exporter = otlp_exporter(endpoint)
        except Exception:  # noqa: BLE001 - a bad setting must not stop the pipeline recording
            logger.exception("xray: XRAY_OTLP_ENDPOINT=%r is not usable; traces are not "
                             "exported", endpoint)  # fmt: skip
            return None
    return _env_exporter


def get_recorder() -> XRay:
    """The default recorder used by :func:`trace` (built from the environment on first use)."""
    global _default
    recorder = _default
    if recorder is None:
        with _lock:
            if _default is None:
                enabled = enabled_from_env()
                _default = XRay(
                    store=_store_from_env(enabled),
                    enabled=enabled,
                    exporter=_exporter_from_env(enabled),
                )
            recorder = _default
    return recorder


def configure(
    store: Store | None = None, enabled: bool | None = None, exporter: SpanExporter | None = None
) -> XRay:
    """Set the default recorder's store and/or exporter, and/or switch recording on or off.

    ``configure(store=S)`` without ``enabled`` changes only the store: recording stays as it was
    (on, unless ``XRAY_ENABLED`` or an earlier ``configure(enabled=False)`` turned it off).
    ``configure(enabled=False)`` turns every ambient ``trace``/``step`` into a no-op and
    ``configure(enabled=True)`` turns them back on. ``configure(exporter=E)`` sends every
    finished trace to the OpenTelemetry ``SpanExporter`` E as spans, off the recording thread
    (see :mod:`xray_core.otel`); without ``exporter`` the previous one (or
    ``XRAY_OTLP_ENDPOINT``'s) is kept. Returns the new default recorder.

    :raises TypeError: ``enabled`` is not True, False or None, ``store`` is not a store or
        ``exporter`` no span exporter (nothing is changed then).
    """
    global _default
    if store is not None:  # refused before anything is replaced
        check_store(store)
    if enabled is not None:
        check_enabled(enabled)
    if exporter is not None:
        check_exporter(exporter)
    with _lock:
        previous = _default
        if enabled is None:
            enabled = previous.enabled if previous is not None else enabled_from_env()
        if store is None:
            if previous is None or (enabled and previous.store is _stand_in):
                store = _store_from_env(enabled)
            else:
                store = previous.store
        if exporter is None:
            exporter = previous.exporter if previous is not None else None
            if exporter is None:
                exporter = _exporter_from_env(enabled)
        _default = XRay(store=store, enabled=enabled, exporter=exporter)
        return _default


def trace(name: str, metadata: dict[str, Any] | None = None) -> TraceContext | NullTrace:
    """Record a trace with the default recorder: ``with xray_core.trace("name") as t: ...``."""
    recorder = _default  # get_recorder(), its common case inlined: one call fewer a trace
    return (get_recorder() if recorder is None else recorder).trace(name, metadata)


class _StepFactory:
    """What ``xray_core.step(name)`` returns: a context manager and a decorator in one."""

    __slots__ = ("name", "input")

    def __init__(self, name: str | None, input: Any) -> None:
        self.name = name
        self.input = input

    def __call__(self, func: F) -> F:
        if isinstance(func, (classmethod, staticmethod)):  # decorated above @classmethod
            return type(func)(self(func.__func__))
        name = _step_name(self.name, func)
        if self.input is None:
            inputs = functools.partial(_arguments, _signature(func))
        else:
            inputs = functools.partial(_given, self.input)
        if inspect.isgeneratorfunction(func):
            return _generator_step(func, name, inputs)  # type: ignore[return-value]
        if inspect.isasyncgenfunction(func):
            return _async_generator_step(func, name, inputs)  # type: ignore[return-value]
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                if _current_trace.get() is None:
                    return await func(*args, **kwargs)
                with _open_step(name, inputs(args, kwargs)) as step:
                    result = await func(*args, **kwargs)
                    step.set_output(result)
                    return result

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if _current_trace.get() is None:
                return func(*args, **kwargs)
            with _open_step(name, inputs(args, kwargs)) as step:
                result = func(*args, **kwargs)
                step.set_output(result)
                return result

        return wrapper  # type: ignore[return-value]


class _Yielded:
    """What a generator step yielded, converted when yielded: the first MAX_ITEMS, and a count."""

    __slots__ = ("items", "count")

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.count = 0

    def add(self, value: Any) -> None:
        if self.count < MAX_ITEMS:
            self.items.append(to_jsonable(value))
        self.count += 1

    def output(self) -> list[Any]:
        if self.count <= MAX_ITEMS:
            return self.items
        return [*self.items, f"<truncated: {self.count} items, {MAX_ITEMS} kept>"]


#: what a decorated call records as the step's input, from the call's (args, kwargs)
Inputs = Callable[[tuple[Any, ...], dict[str, Any]], Any]


def _generator_step(func: Callable[..., Any], name: str, inputs: Inputs) -> Callable[..., Any]:
    """One step from the first ``next()`` to the end of the iteration; its output: the items."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        trace = _current_trace.get()
        if trace is None:
            return (yield from func(*args, **kwargs))
        yielded = _Yielded()
        outer = _current_step.get()
        with trace.step(name, inputs(args, kwargs)) as step:
            _current_step.set(outer)  # the step is current only while the generator runs
            try:
                return (yield from _resumed_in(step, func(*args, **kwargs), yielded))
            finally:
                step.record["output"] = yielded.output()

    return wrapper


def _resumed_in(step: Any, gen: Generator[Any, Any, Any], yielded: _Yielded) -> Any:
    """``yield from gen``, with ``step`` as the current step while ``gen`` runs, not between."""
    resume: Callable[[Any], Any] = gen.send
    arg: Any = None
    while True:
        outer = _current_step.get()
        _current_step.set(step)
        try:
            value = resume(arg)
        except StopIteration as stop:
            return stop.value
        finally:
            _current_step.set(outer)
        yielded.add(value)
        try:
            arg, resume = (yield value), gen.send
        except GeneratorExit:  # the consumer stopped early: not a failure
            gen.close()
            raise
        except BaseException as exc:  # noqa: BLE001 - thrown in by the consumer: pass it on
            arg, resume = exc, gen.throw


def _async_generator_step(
    func: Callable[..., Any], name: str, inputs: Inputs
) -> Callable[..., Any]:
    """The async counterpart of :func:`_generator_step`."""

    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        agen = func(*args, **kwargs)
        trace = _current_trace.get()
        outer = _current_step.get()
        recording: StepContext | NullStep = NULL_STEP
        if trace is not None:
            recording = trace.step(name, inputs(args, kwargs))
        yielded = _Yielded()
        with recording as step:
            _current_step.set(outer)  # the step is current only while the generator runs
            inside = step if isinstance(step, StepContext) else None
            resume: Callable[[Any], Any] = agen.asend
            arg: Any = None
            try:
                while True:  # ``yield from`` for async generators, which have none
                    outer = _current_step.get()
                    _current_step.set(inside)
                    try:
                        value = await resume(arg)
                    except StopAsyncIteration:
                        return
                    finally:
                        _current_step.set(outer)
                    if inside is not None:
                        yielded.add(value)
                    try:
                        arg, resume = (yield value), agen.asend
                    except GeneratorExit:  # the consumer stopped early: not a failure
                        await agen.aclose()
                        raise
                    except BaseException as exc:  # noqa: BLE001 - thrown in: pass it on
                        arg, resume = exc, agen.athrow
            finally:
                if inside is not None:
                    inside.record["output"] = yielded.output()

    return wrapper


def _step_name(name: Any, func: Callable[..., Any]) -> Any:
    """The name a decorated function's steps get: ``name``, else the function's ``__qualname__``
    (``Ranker.rank`` for a method, ``outer.<locals>.inner`` for a nested function)."""
    if name is not None and not (type(name) is str and name == ""):
        return name
    for attribute in ("__qualname__", "__name__"):
        found = getattr(func, attribute, None)
        if type(found) is str:
            return found
    return type(func).__qualname__  # a callable object without a name of its own


def _given(input: Any, args: Any, kwargs: Any) -> Any:
    """The ``input=`` given to the decorator, recorded instead of the call's arguments."""
    return input


def _signature(func: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


def _arguments(signature: inspect.Signature | None, args: Any, kwargs: Any) -> Any:
    """The call's arguments by parameter name (defaults included, no ``self``/``cls``).

    Arguments that do not fit the signature are kept as given: the call itself then raises
    and fails the step, which is the user's error to see, not a recording error to log.
    """
    if signature is not None:
        try:
            bound = signature.bind_partial(*args, **kwargs)
        except TypeError:
            pass
        else:
            bound.apply_defaults()  # the input is what the call ran with, defaults included
            return {k: v for k, v in bound.arguments.items() if k not in ("self", "cls")}
    return {"args": list(args), "kwargs": kwargs}


def _open_step(name: str, input: Any) -> StepContext | NullStep:
    current = _current_trace.get()
    if current is None:
        return NULL_STEP
    return current.step(name, input)


class StepOrDecorator(Protocol):
    """What ``xray_core.step(name, input=...)`` returns: a step to enter, or a decorator.

    ``with`` / ``async with`` it to record one step (a :class:`StepContext`, or a
    :class:`NullStep` outside a trace); call it with a function to decorate the function.
    """

    def __enter__(self) -> StepContext | NullStep: ...

    def __exit__(self, *exc: Any) -> None: ...

    async def __aenter__(self) -> StepContext | NullStep: ...

    async def __aexit__(self, *exc: Any) -> None: ...

    def __call__(self, func: F, /) -> F: ...


@overload
def step(name: F, input: Any = None) -> F: ...


@overload
def step(name: str | None = None, input: Any = None) -> StepOrDecorator: ...


def step(name: str | Callable[..., Any] | None = None, input: Any = None) -> Any:
    """Record a step of the current trace, as a context manager or a decorator.

    ``with xray_core.step("filter", input={...}) as s: s.set_output(...)`` records a step (a
    no-op outside a trace); ``@xray_core.step("filter")`` records each call, its arguments as
    input (or ``input=`` when given) and its return value as output. ``@xray_core.step`` alone
    names the step after the function's ``__qualname__`` (``Ranker.rank`` for a method).
    Type checkers see the decorated function's own type for ``@xray_core.step``, and a
    :class:`StepOrDecorator` otherwise.
    """
    current = _current_trace.get()
    if current is None and type(name) is str and input is None:  # no-op path: allocation-free
        null = _NULL_STEPS.get(name)
        if null is None:
            null = _NullOrDecorator(name)
            if len(_NULL_STEPS) < 1024:
                _NULL_STEPS[name] = null
        return null
    if type(name) is not str and callable(name):  # a str is never callable: no call for it
        return _StepFactory(None, input)(name)
    if current is None:
        return _NullOrDecorator(name, input)
    live = _new_live(_LiveOrDecorator)  # built here, without an __init__ call: once per step
    live.trace = current
    live.name = name
    live.input = input
    return live


class _NullOrDecorator(NullStep):
    """Outside a trace: a no-op step that can still decorate a function."""

    __slots__ = ("input", "name")

    def __init__(self, name: str | None, input: Any = None) -> None:
        self.name = name
        self.input = input

    def __call__(self, func: F) -> F:
        return _StepFactory(self.name, self.input)(func)


_NULL_STEPS: dict[str, _NullOrDecorator] = {}


class _LiveOrDecorator(StepContext):
    """Inside a trace: the step itself, recorded when entered; or, called with a function, a
    decorator.

    Made by :func:`step` (it has no constructor of its own), which sets ``trace``, ``name``
    and ``input``; entering it records the step in it (``record``...), so a ``with`` of
    ``xray_core.step`` makes one object, and leaving it is :meth:`StepContext.__exit__` itself.
    """

    __slots__ = ("name", "input")
    name: str | None
    input: Any

    def __enter__(self) -> Self:
        name = self.name
        if name is None or (type(name) is str and name == ""):
            name = "step"
        trace = self.trace
        trace.step(name, self.input, self)
        # StepContext.__enter__, inlined: one call fewer for every ambient step
        self._token = _set_step(self)
        self._started = started = _perf_counter()
        self.record["start_time"] = started + trace._clock
        return self

    def __call__(self, func: F) -> F:
        return _StepFactory(self.name, self.input)(func)


_new_live = object.__new__

__all__ = ["StepOrDecorator", "configure", "enabled_from_env", "get_recorder", "step", "trace"]
