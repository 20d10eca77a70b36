"""Module-level recording for library code: ``trace()``, ``step()`` and ``configure()``.

Nothing is passed around: the current trace and step live in context variables. Outside an active
trace, :func:`step` is a no-op (a shared null object, well under a microsecond), so instrumented
library code costs nothing when nobody records.

The default recorder is built on first use from the environment:

- ``XRAY_ENABLED``: recording is on unless it is ``0``, ``false``, ``no`` or ``off``;
- ``XRAY_DB``: path of a SQLite database to record into; without it traces are kept in a
  bounded in-memory store (the last 1,000 traces).
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .recorder import (
    NULL_STEP,
    NullStep,
    NullTrace,
    StepContext,
    TraceContext,
    XRay,
    _current_trace,
    _guarded,
)

if TYPE_CHECKING:
    from .store.base import Store

F = TypeVar("F", bound=Callable[..., Any])

_FALSE_WORDS = {"0", "false", "no", "off"}
_default: XRay | None = None
_lock = threading.Lock()


def enabled_from_env(environ: dict[str, str] | None = None) -> bool:
    """Whether ``XRAY_ENABLED`` leaves recording on (it does unless it says 0/false/no/off)."""
    value = (environ if environ is not None else os.environ).get("XRAY_ENABLED", "")
    return value.strip().lower() not in _FALSE_WORDS


def _store_from_env() -> Store:
    path = os.environ.get("XRAY_DB")
    if path:
        from .store.sqlite import SQLiteStore

        return SQLiteStore(path)
    from .store.memory import MemoryStore

    return MemoryStore(max_traces=1000)


def get_recorder() -> XRay:
    """The default recorder used by :func:`trace` (built from the environment on first use)."""
    global _default
    recorder = _default
    if recorder is None:
        with _lock:
            if _default is None:
                _default = XRay(store=_store_from_env(), enabled=enabled_from_env())
            recorder = _default
    return recorder


def configure(store: Store | None = None, enabled: bool | None = None) -> XRay:
    """Set the default recorder's store and/or switch recording on or off.

    ``configure(store=S)`` without ``enabled`` changes only the store: recording stays as it was
    (on, unless ``XRAY_ENABLED`` or an earlier ``configure(enabled=False)`` turned it off).
    ``configure(enabled=False)`` turns every ambient ``trace``/``step`` into a no-op and
    ``configure(enabled=True)`` turns them back on. Returns the new default recorder.
    """
    global _default
    with _lock:
        previous = _default
        if store is None:
            store = previous.store if previous is not None else _store_from_env()
        if enabled is None:
            enabled = previous.enabled if previous is not None else enabled_from_env()
        _default = XRay(store=store, enabled=enabled)
        return _default


def trace(name: str, metadata: dict[str, Any] | None = None) -> TraceContext | NullTrace:
    """Record a trace with the default recorder: ``with xray_core.trace("name") as t: ...``."""
    return get_recorder().trace(name, metadata)


class _StepFactory:
    """What ``xray_core.step(name)`` returns: a context manager and a decorator in one."""

    __slots__ = ("name", "input")

    def __init__(self, name: str | None, input: Any) -> None:
        self.name = name
        self.input = input

    def __call__(self, func: F) -> F:
        name = self.name or func.__qualname__
        signature = _signature(func)
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                if _current_trace.get() is None:
                    return await func(*args, **kwargs)
                with _open_step(name, _arguments(signature, args, kwargs)) as step:
                    result = await func(*args, **kwargs)
                    step.set_output(result)
                    return result

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if _current_trace.get() is None:
                return func(*args, **kwargs)
            with _open_step(name, _arguments(signature, args, kwargs)) as step:
                result = func(*args, **kwargs)
                step.set_output(result)
                return result

        return wrapper  # type: ignore[return-value]


def _signature(func: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


def _arguments(signature: inspect.Signature | None, args: Any, kwargs: Any) -> Any:
    def bind() -> Any:
        if signature is None:
            return {"args": list(args), "kwargs": kwargs}
        bound = signature.bind_partial(*args, **kwargs)
        bound.apply_defaults()  # the input is what the call ran with, defaults included
        return {k: v for k, v in bound.arguments.items() if k not in ("self", "cls")}

    return _guarded("binding step arguments", bind) or {}


def _open_step(name: str, input: Any) -> StepContext | NullStep:
    current = _current_trace.get()
    if current is None:
        return NULL_STEP
    return current.step(name, input)


def step(name: str | Callable[..., Any] | None = None, input: Any = None) -> Any:
    """Record a step of the current trace, as a context manager or a decorator.

    ``with xray_core.step("filter", input={...}) as s: s.set_output(...)`` records a step (a
    no-op outside a trace); ``@xray_core.step("filter")`` records each call, its arguments as
    input and its return value as output. ``@xray_core.step`` alone names the step after the
    function.
    """
    current = _current_trace.get()
    if current is None and type(name) is str:  # the no-op path: keep it allocation-free
        null = _NULL_STEPS.get(name)
        if null is None:
            null = _NullOrDecorator(name)
            if len(_NULL_STEPS) < 1024:
                _NULL_STEPS[name] = null
        return null
    if callable(name):
        return _StepFactory(None, None)(name)
    if current is None:
        return _NullOrDecorator(name)
    return _LiveOrDecorator(current, name, input)


class _NullOrDecorator(NullStep):
    """Outside a trace: a no-op step that can still decorate a function."""

    __slots__ = ("name",)

    def __init__(self, name: str | None) -> None:
        self.name = name

    def __call__(self, func: F) -> F:
        return _StepFactory(self.name, None)(func)


_NULL_STEPS: dict[str, _NullOrDecorator] = {}


class _LiveOrDecorator:
    """Inside a trace: enters a real step, or decorates a function when called with one."""

    __slots__ = ("trace", "name", "input", "context")

    def __init__(self, trace: TraceContext, name: str | None, input: Any) -> None:
        self.trace = trace
        self.name = name
        self.input = input
        self.context: StepContext | None = None

    def __enter__(self) -> StepContext:
        self.context = self.trace.step(self.name or "step", self.input)
        return self.context.__enter__()

    def __exit__(self, *exc: Any) -> None:
        assert self.context is not None
        self.context.__exit__(*exc)

    async def __aenter__(self) -> StepContext:
        return self.__enter__()

    async def __aexit__(self, *exc: Any) -> None:
        self.__exit__(*exc)

    def __call__(self, func: F) -> F:
        return _StepFactory(self.name, self.input)(func)


__all__ = ["configure", "enabled_from_env", "get_recorder", "step", "trace"]
