"""The run row of ``--xray-db``: git state, command line, counts, how the session ended.

The row is written twice (see :mod:`pytest_xray.writer`): when the session starts (status
``running``, no counts) and when it ends (counts, ``finished_at`` and the final status).
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import socket
from collections.abc import Container
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pytest

from xray_core.outcomes import FAILED_OUTCOMES, FAILING_VERDICTS, PASSED_OUTCOMES, SKIPPED_OUTCOMES
from xray_core.serialize import escape_surrogates
from xray_core.store.base import RunRecord

from .git import GitState, git_state

if TYPE_CHECKING:
    from xray_core.models import RunStatus
    from xray_core.outcomes import BaselineVerdict

    from .session import XraySession


def counts(state: XraySession, unused: int) -> dict[str, int]:
    """The run's counters (tests, outcomes, traces, steps, baseline verdicts of each file)."""
    outcomes = list(state.outcomes.values())
    steps = [step for captured in state.traces for step in captured.steps]  # records: no models
    verdicts = [r.verdict for results in state.baselines.values() for r in results]
    return {
        "tests": len(outcomes),
        "passed": sum(o in PASSED_OUTCOMES for o in outcomes),
        "failed": sum(o in FAILED_OUTCOMES for o in outcomes),
        "skipped": sum(o in SKIPPED_OUTCOMES for o in outcomes),
        "traces": len(state.traces),
        "steps": len(steps),
        "failed_steps": sum(step["status"] == "failed" for step in steps),
        "baseline_passed": verdicts.count("passed"),
        "baseline_failed": sum(v in FAILING_VERDICTS for v in verdicts),
        "baseline_written": verdicts.count("written"),
        "baseline_unused": unused,
    }


def final_status(state: XraySession, session: pytest.Session) -> RunStatus:
    """How the session ended: ``failed`` on an internal error; ``interrupted`` when it stopped
    before running every test (Ctrl-C, ``-x``/``--maxfail``, ``pytest.exit``, a collection
    error, a crashed pytest-xdist worker); else ``completed``.
    """
    if session.exitstatus == pytest.ExitCode.INTERNAL_ERROR:
        return "failed"
    stopped = session.shouldfail or session.shouldstop
    if session.exitstatus == pytest.ExitCode.INTERRUPTED or stopped or state.lost_workers:
        return "interrupted"
    return "completed"


def build_run(state: XraySession, status: RunStatus, unused: int | None = None) -> RunRecord:
    """The run of this session, as a :class:`~xray_core.store.base.RunRecord` (no pydantic).

    :param unused: the number of unused baselines, known at the end (None: no counts yet).
    """
    if state.git is None and state.keeper is None:  # once per session: the end reuses it
        state.git = git_state(state.config.rootpath)
    commit, branch, dirty = state.git or (None, None, None)  # a keeper looks it up
    # as xray_core.runstate.this_process, which imports the models
    host, pid = socket.gethostname(), os.getpid()
    args = [str(a) for a in state.config.invocation_params.args]
    finished = state.finished
    return RunRecord(
        run_id=state.run_id,
        started_at=datetime.fromtimestamp(state.started, tz=timezone.utc),
        finished_at=None if finished is None else datetime.fromtimestamp(finished, timezone.utc),
        git_commit=commit,
        git_branch=branch,
        git_dirty=dirty,
        command=escape_surrogates(shlex.join(["pytest", *args])),  # argv may not be UTF-8
        counts={} if unused is None else counts(state, unused),
        status=status,
        host=host,
        pid=pid,
    )


def with_git(state: XraySession, run: RunRecord, known: GitState | None) -> RunRecord:
    """``run`` with the git state its keeper looked up (``known``), or, when the keeper failed
    (None), the one looked up now (the pytest process then writes the run itself)."""
    state.git = git_state(state.config.rootpath) if known is None else known
    commit, branch, dirty = state.git
    return dataclasses.replace(run, git_commit=commit, git_branch=branch, git_dirty=dirty)


def test_row(state: XraySession, test_id: str) -> dict[str, Any] | None:
    """The ``run_tests`` row of ``test_id``: outcome, baseline verdict, duration, failure text
    (None when pytest reported no outcome for it).
    """
    outcome = state.outcomes.get(test_id)
    if outcome is None:
        return None
    return {
        "test_id": test_id,
        "outcome": outcome,
        "baseline": baseline_verdict(state, test_id),
        "duration_ms": round(state.durations.get(test_id, 0.0), 3),
        "message": state.messages.get(test_id),
    }


def baseline_verdict(state: XraySession, test_id: str) -> BaselineVerdict | None:
    """The worst verdict of ``test_id``'s baseline checks (None when it checked none).

    The baseline checker's modules are loaded for a test that checked a baseline (they were,
    by the check itself): a run that checks none does not compile them.
    """
    results = state.baselines.get(test_id)
    if not results:
        return None
    from .baseline import overall_verdict

    return overall_verdict(results)


def test_rows(state: XraySession, kept: Container[str] = ()) -> list[dict[str, Any]]:
    """One row per test with an outcome (see :func:`test_row`), except the ``kept`` ones."""
    rows = (test_row(state, test_id) for test_id in state.outcomes if test_id not in kept)
    return [row for row in rows if row is not None]
