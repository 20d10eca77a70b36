"""``--xray-report``: the session as :class:`xray_core.report.data.ReportData`, written as HTML."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .history import baseline_verdict

if TYPE_CHECKING:
    from xray_core.diff import TraceDiff
    from xray_core.store.base import RunRecord
    from xray_core.report.data import Panel, ReportData

    from .baseline import BaselineResult
    from .session import XraySession


def _diffs(results: list[BaselineResult]) -> list[TraceDiff]:
    diffs: list[TraceDiff] = []
    for result in results:
        if result.verdict == "failed" and result.baseline is not None:
            from .baseline import compare  # loaded by the check that failed

            comparison = compare(result.baseline, result.current or [], result.ignore)
            diffs += [d for d in comparison.diffs.values() if d]
    return diffs


def panels(state: XraySession) -> dict[str, list[Panel]]:
    """Custom panels from ``pytest_xray_report_panel``, by step id (models are built for it
    only when a conftest implements the hook)."""
    hook = state.config.hook.pytest_xray_report_panel
    if not hook.get_hookimpls():
        return {}
    found: dict[str, list[Panel]] = {}
    for trace in (c.model() for c in state.traces):
        for step in trace.steps:
            try:
                results = hook(step=step, trace=trace)
            except Exception as exc:  # noqa: BLE001 - a broken panel must not lose the report
                where = f"in step {step.name!r} of trace {trace.name!r}"
                state.hook_failed("pytest_xray_report_panel", exc, where)
                continue
            for result in results:
                for panel in result if isinstance(result, list) else [result]:
                    if panel is not None:
                        found.setdefault(step.step_id, []).append(panel)
    return found


def build(state: XraySession, run: RunRecord | None) -> ReportData:
    """Everything the report shows about this session."""
    from xray_core.report.data import ReportData, TestResult

    tests = [
        TestResult(
            test_id=test_id,
            outcome=outcome,
            duration_ms=state.durations.get(test_id),
            baseline=baseline_verdict(state, test_id),
            baseline_diffs=_diffs(state.baselines.get(test_id, [])),
            message=state.messages.get(test_id),
        )
        for test_id, outcome in state.outcomes.items()
    ]
    title = f"X-Ray report: {state.config.rootpath.name}"
    return ReportData(
        title=title,
        run=run,
        traces=[(c.record, c.steps) for c in state.traces],  # as recorded: no model to build
        tests=tests,
        panels=panels(state),
    )


def write(state: XraySession, run: RunRecord | None, path: Path) -> None:
    """Render the report to ``path`` (parents created)."""
    from xray_core.report import write_report

    write_report(path, build(state, run))
