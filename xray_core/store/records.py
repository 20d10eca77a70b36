"""Conversions between the recorder's plain-dict records and the pydantic models."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..models import Step, Trace, utc_from_epoch
from ..serialize import thaw

_TIME_FIELDS = ("start_time", "end_time")
#: the fields the recorder keeps as :func:`~xray_core.serialize.snapshot` (maybe JSON text)
_SNAPSHOT_FIELDS = ("input", "output")


def _with_datetimes(record: dict[str, Any]) -> dict[str, Any]:
    data = dict(record)
    for key in _TIME_FIELDS:
        value = data.get(key)
        if isinstance(value, (int, float)):
            data[key] = utc_from_epoch(value)
    return data


def _step_data(record: dict[str, Any]) -> dict[str, Any]:
    data = _with_datetimes(record)
    for key in _SNAPSHOT_FIELDS:
        value = data.get(key)
        if isinstance(value, bytes) or type(value) is tuple:  # a snapshot's JSON text, or
            data[key] = thaw(value)  # a JSONText (checked now)
    return data


def trace_from_records(trace: dict[str, Any], steps: Iterable[dict[str, Any]]) -> Trace:
    """Build a :class:`Trace` from a trace record and its step records (ordered by step_order).

    A step record's ``input`` and ``output`` are JSON-able data or, as the recorder keeps them,
    their JSON text (see :func:`~xray_core.serialize.snapshot`): parsed here, when read.
    """
    ordered = sorted(steps, key=lambda s: s["step_order"])
    data = _with_datetimes(trace)
    data["steps"] = [Step.model_validate(_step_data(s)) for s in ordered]
    return Trace.model_validate(data)


def trace_to_records(trace: Trace) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Split a :class:`Trace` into a trace record and step records (datetimes kept)."""
    record = trace.model_dump(exclude={"steps"})
    return record, [step.model_dump() for step in trace.steps]
