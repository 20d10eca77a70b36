"""What the HTML report is rendered from: the contract between its producers and the renderer.

The pytest plugin (``--xray-report``) and the ``xray report`` command both build a
:class:`ReportData` and hand it to :func:`xray_core.report.write_report`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # annotations only: building a report from records needs no pydantic
    from ..diff import RunDiff, TraceDiff
    from ..models import Run, Trace
    from .payload import PreparedTrace
    from ..outcomes import BaselineVerdict, TestOutcome
    from ..stability import DecisionStability
    from ..store.base import RunRecord

#: a trace as the recorder keeps it: its record and its steps' records (plain dicts, see
#: :mod:`xray_core.recorder`; ``TraceContext.record`` and ``TraceContext.steps``)
TraceRecords = tuple[dict[str, Any], list[dict[str, Any]]]


@dataclass
class TestResult:
    """One test of the run, as the report lists it."""

    __test__ = False  # not a pytest test class, despite its name

    test_id: str
    outcome: TestOutcome | Literal["unknown"]  #: unknown: a stored row without a known outcome
    duration_ms: float | None = None
    #: the worst verdict of the test's baseline checks, or None (no assert_baseline)
    baseline: BaselineVerdict | None = None
    #: the semantic diffs of a failed baseline (one per compared trace), flipped decisions first
    baseline_diffs: list[TraceDiff] = field(default_factory=list)
    #: the failure text pytest reported (longrepr), when the test failed
    message: str | None = None


@dataclass
class Panel:
    """A custom panel added by the ``pytest_xray_report_panel`` hook for one step.

    ``rows`` (a list of flat dicts) is shown as a table; ``data`` as a collapsible JSON tree;
    ``text`` as preformatted text. All are rendered as text, never as HTML.
    """

    title: str
    rows: list[dict[str, Any]] | None = None
    data: Any = None
    text: str | None = None


@dataclass
class ReportData:
    """Everything one report shows."""

    title: str = "X-Ray report"
    #: the run (the pytest plugin's as a RunRecord: the page shows both alike)
    run: Run | RunRecord | None = None
    #: the run's traces, as models or as the recorder's records (the pytest plugin hands its
    #: captured records: the page shows both alike, and no model is built for it), or each
    #: already worked out into its part of the page (a PreparedTrace; not with ``comparison``)
    traces: Sequence[Trace | TraceRecords | PreparedTrace] = field(default_factory=list)
    tests: list[TestResult] = field(default_factory=list)
    #: custom panels by step_id
    panels: dict[str, list[Panel]] = field(default_factory=dict)
    #: a second run to compare ``run`` against (``xray report RUN_A RUN_B``)
    baseline_run: Run | None = None
    baseline_traces: list[Trace] = field(default_factory=list)
    comparison: RunDiff | None = None
    #: decision stability over several runs or repeated traces (unstable first)
    stability: list[DecisionStability] = field(default_factory=list)
