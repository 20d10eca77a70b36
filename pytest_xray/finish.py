"""The end of a session: unused baselines, the run in the DB, the report, the exit status."""

from __future__ import annotations

import gc
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# Imported with this module: at the session's end, or when a session that runs pytester's inline
# sessions is configured (see plugin.pytest_configure). The run's rows (.history), the report
# (.dashboard) and the writer are imported where ``--xray-db`` or ``--xray-report`` asks for
# them, and the checker's modules (baseline.check, .files) by the first baseline check: pytest
# compiles every module it imports from source when bytecode is not written.
from .baseline.unused import delete, find_unused, partial_reason
from .constants import DEFAULT_DB, EXIT_STATUS_FAIL_UNUSED
from .paths import relpath
from .summary import build_summary

if TYPE_CHECKING:
    from xray_core.store.base import RunRecord

    from .keeper import KeeperAnswer
    from .session import XraySession
    from .summary import XraySummary


def finish_session(state: XraySession, session: pytest.Session) -> XraySummary:
    """Do everything the session asked for at its end and return the summary to print."""
    with paused_collector():
        return _finish(state, session)


@contextmanager
def paused_collector() -> Iterator[None]:
    """Python's cyclic garbage collector paused for the block (restored as it was after).

    The session's end builds the report's data, tens of thousands of dicts and lists, which
    are freed by reference counting when the page is written; meanwhile they make the collector
    run a full collection (over every live object of the process, pytest's included) that finds
    nothing to free. Anything the block leaves as a cycle is collected after it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _finish(state: XraySession, session: pytest.Session) -> XraySummary:
    unused, partial = _unused_baselines(state, session)
    # deleted only when every test collection found ran: others may still use their files
    deleted = bool(unused) and state.options.update and partial is None
    problems = delete(unused) if deleted else []
    summary = build_summary(state, unused, deleted, partial)
    summary.errors += problems
    run = None
    if state.options.db or state.options.report:
        from .history import build_run, final_status, with_git

        status = final_status(state, session)  # before this plugin changes the exit status
        run = build_run(state, status, 0 if deleted else len(unused))
    written: tuple[str | None, str | None] = (None, None)
    answer = _keeper_finish(state, run, summary) if state.keeper is not None else None
    if run is not None and state.keeper is not None:  # its keeper looked the git state up
        run = with_git(state, run, None if answer is None else answer.git)
    try:
        if state.options.report:
            # Before the run is finished in the DB: meanwhile the writer thread commits the
            # last tests (SQLite lets go of the GIL while it writes), so little is left to wait
            # for when _save_run flushes it. Its outcome is reported after the DB's, as ever.
            if answer is not None:
                written = _report_outcome(state, answer.report_error)
            else:
                written = _write_report(state, run)
    finally:  # the run row is finished even if the report broke
        if state.options.db:
            _save_run(state, run, summary, answer)
    path, error = written
    summary.report_path = path
    if error is not None:
        summary.errors.append(error)
    summary.errors += _problems(state)
    failing_unused = unused and not deleted and state.options.unused == "fail"
    if (failing_unused or summary.errors) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode(EXIT_STATUS_FAIL_UNUSED)
    return summary


def _unused_baselines(state: XraySession, session: pytest.Session) -> tuple[list[Path], str | None]:
    """The unused baseline files, and why this run is partial (None: every test ran)."""
    if state.options.unused == "ignore" and not state.options.update:
        return [], None
    if state.lost_workers:  # which baselines their tests used is unknown
        return [], None
    unused = find_unused(state.collected, state.used, _passed(state))
    partial = partial_reason(state.collected, state.outcomes)
    if partial is None and session.shouldfail:
        partial = str(session.shouldfail)
    return unused, partial


def _passed(state: XraySession) -> set[str]:
    """Node ids of tests that ran and passed (only they can leave a baseline unused)."""
    return {n for n, outcome in state.outcomes.items() if outcome == "passed"}


def _problems(state: XraySession) -> list[str]:
    """What went wrong outside the tests: crashed xdist workers, raising conftest hooks."""
    lost = [
        f"pytest-xdist worker {worker} crashed: its traces and baseline checks are lost, "
        "so unused baselines were not looked for"
        for worker in state.lost_workers
    ]
    return lost + [f"{error} (first {where})" for error, where in state.hook_errors.items()]


def _keeper_finish(
    state: XraySession, run: RunRecord | None, summary: XraySummary
) -> KeeperAnswer | None:
    """The run's end written by its keeper (see :mod:`pytest_xray.keeper`); None when the
    keeper failed, and then nothing counts as handed over: the caller writes it all."""
    from .dashboard import build
    from .history import test_rows

    keeper = state.keeper
    assert keeper is not None
    db, report = state.options.db, state.options.report
    data = build(state, run) if report is not None else None
    tests = test_rows(state, kept=keeper.kept) if db else []
    answer = keeper.finish(run if db else None, tests, state.traces, data)
    if answer is None:
        for captured in state.traces:
            captured.saved = False
        written = " and ".join(relpath(state, p) for p in (db, report) if p is not None)
        summary.notes.append(f"the run's keeper process {keeper.failure}: pytest wrote {written}")
    return answer


def _save_run(
    state: XraySession, run: RunRecord | None, summary: XraySummary, answer: KeeperAnswer | None
) -> None:
    """Finish the run kept as the session went (see :mod:`pytest_xray.writer`), or see how its
    keeper did (``answer``)."""
    from .history import test_rows
    from .writer import RunWriter

    writer, db = state.writer, state.options.db
    assert db is not None and run is not None
    if answer is not None:
        started, error, completed = answer.db_started, answer.db_error, answer.completed_runs
    else:
        if writer is None and state.keeper_wanted:  # the keeper failed or never started
            writer = state.writer = RunWriter.open(db, state.run_id)
            writer.start(run)
        if writer is None:  # the session ended before it started (another plugin's hook raised)
            summary.errors.append(f"the run was not saved to {db}: the session never started")
            return
        # the rest were kept as the tests finished
        started, error, completed = writer.end(run, test_rows(state, kept=writer.kept), state.traces)
    for problem in state.worker_db_errors:
        summary.errors.append(f"a pytest-xdist worker could not save its tests to {db}: {problem}")
    if not started:
        summary.errors.append(f"the run was not saved to {db}: {error}")
        return
    summary.completed_runs = completed
    if error is not None:
        summary.errors.append(f"part of the run may be missing from {db}: {error}")
    summary.db_path = relpath(state, db)
    summary.db_option = _db_option(state, db)
    summary.run = run


def _db_option(state: XraySession, db: Path) -> str:
    """`` --db PATH`` when ``xray`` started where pytest was would not find ``db`` by itself.

    The command looks for ``.xray/runs.db`` in its current directory and then upwards.
    """
    start = state.config.invocation_params.dir
    for folder in (start, *start.parents):
        candidate = folder / DEFAULT_DB
        if candidate.is_file():
            if candidate.resolve() == db.resolve():
                return ""
            break
    return f" --db {shlex.quote(relpath(state, db))}"


def _write_report(state: XraySession, run: RunRecord | None) -> tuple[str | None, str | None]:
    """Write the report: (its path as the summary shows it, None) or (None, why it was not)."""
    from .dashboard import write

    assert state.options.report is not None
    try:
        write(state, run, state.options.report)
    except ImportError as exc:
        return _report_outcome(state, ("import", str(exc)))
    except OSError as exc:
        return _report_outcome(state, ("os", str(exc)))
    return _report_outcome(state, None)


def _report_outcome(
    state: XraySession, error: tuple[str, str] | None
) -> tuple[str | None, str | None]:
    """(the report's path as the summary shows it, None), or (None, why it was not written)
    from ``error``: None, or ("import" | "os", the exception's text)."""
    path = state.options.report
    assert path is not None
    if error is None:
        return relpath(state, path), None
    kind, message = error
    if kind == "import":
        return None, f"the report was not written: {message}"
    return None, f"the report was not written to {path}: {message}"
