"""Hook specifications users implement in ``conftest.py`` (added with ``pytest_addhooks``).

See docs/hooks.md for examples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

    from xray_core.models import Step, Trace
    from xray_core.report.data import Panel


@pytest.hookspec
def pytest_xray_normalize(trace_dict: dict[str, Any], item: pytest.Item) -> dict[str, Any] | None:
    """Adjust a normalized trace before it is compared with (or written as) a baseline.

    Modify ``trace_dict`` (the output of :func:`xray_core.diff.normalize_trace`) in place, or
    return a new dict; when several implementations return one, the last returned wins.

    :param trace_dict: the normalized trace: ``name``, ``status``, ``metadata``, ``steps``.
    :param item: the test whose baseline is being checked.
    """


@pytest.hookspec
def pytest_xray_trace_captured(trace: Trace, item: pytest.Item | None) -> None:
    """Observe each trace recorded while a test runs, as soon as it finishes.

    :param trace: the finished :class:`xray_core.models.Trace` (``test_id`` set).
    :param item: the test that was running when the trace started (None outside tests).
    """


@pytest.hookspec
def pytest_xray_report_panel(step: Step, trace: Trace) -> Panel | list[Panel] | None:
    """Add custom panels to a step of the HTML report (``--xray-report``).

    :param step: the step about to be shown.
    :param trace: the trace the step belongs to.
    :return: a :class:`xray_core.report.data.Panel`, a list of them, or None.
    """


@pytest.hookspec
def pytest_xray_span_to_step(span: ReadableSpan, step: dict[str, Any]) -> None:
    """Adjust the step X-Ray made of an OpenTelemetry span (docs/otel.md), in place.

    Every implementation is called, in pluggy's order; the return value is ignored. Change
    ``step``'s values (``name``, ``input``, ``output``, ``reasoning``, ``metadata``,
    ``status``, ``error``); ids, times and order are the trace's and best left alone.

    :param span: the finished span (an ``opentelemetry.sdk.trace.ReadableSpan``).
    :param step: the step record made of it (see xray_core.otel.mapping.step_record).
    """
