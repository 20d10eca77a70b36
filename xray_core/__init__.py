"""X-Ray for decision pipelines: record each step's input, output, reasoning and decisions.

::

    import xray_core as xray

    xr = xray.XRay(store=xray.SQLiteStore("traces.db"))
    with xr.trace("competitor-selection") as trace:
        with trace.step("filter_and_select") as step:
            step.add_evaluation(item_id="B0X", item_data={"price": 9.5},
                                filters=[{"name": "price", "passed": False, "detail": "9.50 < 12.50"}],
                                qualified=False, reasoning="too cheap")

PYTEST_DONT_REWRITE: pytest imports this package without rewriting its asserts, where the pytest
plugin is installed (see ``pytest_xray.plugin``), and need not warn when it was imported first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import lazy as _lazy

if TYPE_CHECKING:
    from .ambient import configure, get_recorder, step, trace
    from .diff import RunDiff, TraceDiff, diff_runs, diff_traces, normalize_trace
    from .exceptions import (
        QueryError,
        SchemaVersionError,
        StoreError,
        UnknownItemError,
        UnknownRunError,
        UnknownStepError,
        XRayError,
    )
    from .models import Decision, Evaluation, FilterResult, Run, Step, Trace
    from .recorder import StepContext, TraceContext, XRay, current_step, current_trace
    from .serialize import to_jsonable
    from .stability import DecisionStability, decision_stability
    from .store import MemoryStore, SQLiteStore, Store

__version__ = "0.1.0"

# Public names are imported on first use: the pytest plugin imports ``xray_core.recorder`` in
# every pytest run, and must not pay for pydantic and sqlite-utils when nothing is recorded.
_HOMES = {
    "ambient": ("configure", "get_recorder", "step", "trace"),
    "diff": ("RunDiff", "TraceDiff", "diff_runs", "diff_traces", "normalize_trace"),
    "exceptions": (
        "QueryError", "SchemaVersionError", "StoreError", "UnknownItemError", "UnknownRunError",
        "UnknownStepError", "XRayError",
    ),
    "models": ("Decision", "Evaluation", "FilterResult", "Run", "Step", "Trace"),
    "recorder": ("StepContext", "TraceContext", "XRay", "current_step", "current_trace"),
    "serialize": ("to_jsonable",),
    "stability": ("DecisionStability", "decision_stability"),
    "store": ("MemoryStore", "SQLiteStore", "Store"),
}  # fmt: skip
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

# A literal list, so that tools (type checkers, linters, IDEs) can read it; a test keeps it
# equal to the names of _HOMES.
__all__ = [
    "Decision", "DecisionStability", "Evaluation", "FilterResult", "MemoryStore", "QueryError",
    "Run", "RunDiff", "SQLiteStore", "SchemaVersionError", "Step", "StepContext", "Store",
    "StoreError", "Trace", "TraceContext", "TraceDiff", "UnknownItemError", "UnknownRunError",
    "UnknownStepError", "XRay", "XRayError", "configure", "current_step", "current_trace",
    "decision_stability", "diff_runs", "diff_traces", "get_recorder", "normalize_trace", "step",
    "to_jsonable", "trace",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _HOME_OF, globals(), name)


def __dir__() -> list[str]:
    return _lazy.names(globals(), __all__)
