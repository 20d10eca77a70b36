"""The end of a session: unused baselines, the run in the DB, the report, the exit status."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .baseline import delete, find_unused
from .constants import EXIT_STATUS_FAIL_UNUSED

if TYPE_CHECKING:
    from pathlib import Path

    from xray_core.models import Run

    from .session import XraySession
    from .summary import XraySummary


def finish_session(state: XraySession, session: pytest.Session) -> XraySummary:
    """Do everything the session asked for at its end and return the summary to print."""
    from .summary import build_summary

    unused: list[Path] = []
    deleted = False
    if state.options.unused != "ignore" or state.options.update:
        unused = find_unused(state.collected, state.used, state.unused_candidates_passed())
        if (
            unused
            and state.options.update
            and not state.collected.partial
            and not session.shouldfail
        ):
            delete(unused)
            deleted = True
    summary = build_summary(state, unused, deleted)
    run = None
    if state.options.db or state.options.report:
        from .history import build_run

        run = build_run(state, 0 if deleted else len(unused))
    if state.options.db:
        _save_run(state, run, summary)
    if state.options.report:
        _write_report(state, run, summary)
    failing_unused = unused and not deleted and state.options.unused == "fail"
    if (failing_unused or summary.errors) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode(EXIT_STATUS_FAIL_UNUSED)
    return summary


def _save_run(state: XraySession, run: Run | None, summary: XraySummary) -> None:
    from xray_core.exceptions import XRayError

    from .history import save, test_rows

    assert state.options.db is not None and run is not None
    try:
        save(state.options.db, run, test_rows(state), [c.model() for c in state.traces])
    except (XRayError, OSError) as exc:
        summary.errors.append(f"the run was not saved to {state.options.db}: {exc}")
        return
    summary.db_path = state.relpath(state.options.db)
    summary.run = run


def _write_report(state: XraySession, run: Run | None, summary: XraySummary) -> None:
    from .dashboard import write

    assert state.options.report is not None
    try:
        write(state, run, state.options.report)
    except ImportError as exc:
        summary.errors.append(f"the report was not written: {exc}")
    except OSError as exc:
        summary.errors.append(f"the report was not written to {state.options.report}: {exc}")
    else:
        summary.report_path = state.relpath(state.options.report)
