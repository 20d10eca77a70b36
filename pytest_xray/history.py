"""The run row of ``--xray-db``: git state, command line, counts, and writing it with its traces."""

from __future__ import annotations

import os
import shlex
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xray_core.outcomes import FAILED_OUTCOMES, FAILING_VERDICTS, PASSED_OUTCOMES, SKIPPED_OUTCOMES
from xray_core.serialize import escape_surrogates

from .baseline import overall_verdict

if TYPE_CHECKING:
    from xray_core.models import Run, Trace

    from .session import XraySession


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return escape_surrogates(os.fsdecode(done.stdout).strip())  # a branch name may not be UTF-8


def git_state(cwd: Path) -> tuple[str | None, str | None, bool | None]:
    """(full commit SHA, branch, dirty) of the repository at ``cwd``; Nones outside a repo."""
    commit = _git(cwd, "rev-parse", "--verify", "HEAD")
    if commit is None or len(commit) != 40:
        return None, None, None
    branch = _git(cwd, "rev-parse", "--abbrev-ref", "HEAD")
    status = _git(cwd, "status", "--porcelain", "--untracked-files=no")
    return (
        commit,
        (branch if branch and branch != "HEAD" else None),
        (None if status is None else bool(status)),
    )


def counts(state: XraySession, unused: int) -> dict[str, int]:
    """The run's counters (tests, outcomes, traces, steps, baseline verdicts of each file)."""
    outcomes = list(state.outcomes.values())
    traces = [c.model() for c in state.traces]
    verdicts = [r.verdict for results in state.baselines.values() for r in results]
    return {
        "tests": len(outcomes),
        "passed": sum(o in PASSED_OUTCOMES for o in outcomes),
        "failed": sum(o in FAILED_OUTCOMES for o in outcomes),
        "skipped": sum(o in SKIPPED_OUTCOMES for o in outcomes),
        "traces": len(traces),
        "steps": sum(len(t.steps) for t in traces),
        "failed_steps": sum(s.status == "failed" for t in traces for s in t.steps),
        "baseline_passed": verdicts.count("passed"),
        "baseline_failed": sum(v in FAILING_VERDICTS for v in verdicts),
        "baseline_written": verdicts.count("written"),
        "baseline_unused": unused,
    }


def build_run(state: XraySession, unused: int) -> Run:
    """The :class:`xray_core.models.Run` of this session."""
    from xray_core.models import Run, utc_from_epoch

    commit, branch, dirty = git_state(state.config.rootpath)
    args = [str(a) for a in state.config.invocation_params.args]
    return Run(
        run_id=state.run_id,
        started_at=datetime.fromtimestamp(state.started, tz=timezone.utc),
        finished_at=utc_from_epoch(state.finished),
        git_commit=commit,
        git_branch=branch,
        git_dirty=dirty,
        command=escape_surrogates(shlex.join(["pytest", *args])),  # argv may not be UTF-8
        counts=counts(state, unused),
    )


def test_rows(state: XraySession) -> list[dict[str, Any]]:
    """One row per test for ``run_tests``: test_id, outcome, baseline verdict, duration, failure."""
    return [
        {
            "test_id": test_id,
            "outcome": outcome,
            "baseline": overall_verdict(state.baselines.get(test_id, [])),
            "duration_ms": round(state.durations.get(test_id, 0.0), 3),
            "message": state.messages.get(test_id),
        }
        for test_id, outcome in state.outcomes.items()
    ]


def save(path: Path, run: Run, tests: list[dict[str, Any]], traces: list[Trace]) -> None:
    """Write the run, its test rows and its traces (strict: failures raise StoreError)."""
    from xray_core.store.sqlite import SQLiteStore

    store = SQLiteStore(path, strict=True)
    try:
        store.save_traces(traces)
        store.save_run(run, tests=tests)
    finally:
        store.close()
