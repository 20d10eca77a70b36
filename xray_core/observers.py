"""Who is told about the traces this process records: a stack of observers (the pytest plugin's
session is one).

A module of its own, apart from :mod:`xray_core.recorder`, so that a pytest process whose tests
never record attaches its session without importing the recorder: pytest compiles every module
of a plugin's distribution from source in every process (each pytest-xdist worker too) when
bytecode is not written, and the recorder is the largest of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .recorder import TraceContext


class TraceObserver(Protocol):
    """Receives every trace recorded in this process (the pytest plugin is one)."""

    def trace_started(self, record: dict[str, Any]) -> None:
        """Called when a trace starts; may set ``record["test_id"]`` / ``record["run_id"]``."""

    def trace_finished(self, trace: TraceContext) -> None:
        """Called when a trace ends, with its context (``trace.to_model()`` builds the model)."""


#: the stack; only its last observer is told (the recorder reads it on every trace)
observers: list[TraceObserver] = []


def add_observer(observer: TraceObserver) -> None:
    """Make ``observer`` the one that receives traces until it is removed.

    Observers stack: only the most recently added one is told, so a pytest session run inside
    another (pytester) captures its own traces without the outer session seeing them.
    """
    observers.append(observer)


def remove_observer(observer: TraceObserver) -> None:
    """Stop telling ``observer`` about traces (no error if it was not added)."""
    if observer in observers:
        observers.remove(observer)
