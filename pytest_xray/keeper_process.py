"""The run's keeper process (``python -m pytest_xray.keeper_process``); see
:mod:`pytest_xray.keeper` for why it exists and what the pytest process hands it.

It reads messages from stdin until ``"finish"``, whose answer it writes to stdout, or until its
input ends (the pytest process is gone): then it commits what it was given and exits. Verbs:

- ``("open", db, run_id, report, root)``: the run's database (str or None), report path (str or
  None) and root directory, whose git state (``git_state``) the run row records;
- ``("start", run)``: the run row, status ``running``;
- ``("keep", test_row, [(record, steps), ...])``: a finished test's row and traces;
- ``("finish", run, test_rows, [(record, steps, own), ...], report_data, test_results)``: the
  report (its traces given, or referred to by their position among those kept; its tests
  given apart, as tuples of :class:`~xray_core.report.data.TestResult`'s fields), then the
  run's end (the rows of the tests not kept yet).

pytest is not imported here: it would only delay the keeper's start.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import signal
import sys
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

from xray_core.store.base import RunRecord

from .captured import Captured
from .git import GitState, git_state
from .keeper import frame, read_frame

if TYPE_CHECKING:
    from xray_core.report.data import ReportData, TraceRecords
    from xray_core.report.payload import PreparedTrace

    from .writer import RunWriter


class RunKeeper:
    """What the keeper holds: the run's writer (``--xray-db``) and every trace handed over."""

    def __init__(self) -> None:
        self.writer: RunWriter | None = None
        self.report: Path | None = None
        self.traces: list[PreparedTrace | TraceRecords] = []
        #: the run's (commit, branch, dirty): the pytest process leaves them to this process
        self.git: GitState = (None, None, None)

    def open(self, db: str | None, run_id: str, report: str | None, root: str) -> None:
        """Look up the git state of ``root``, open the run's database (created when missing)
        and remember the report's path."""
        self.git = git_state(Path(root))
        if db is not None:
            from .writer import RunWriter

            self.writer = RunWriter.open(Path(db), run_id)
        self.report = None if report is None else Path(report)
        if report is not None:
            from xray_core.report.render import prepare

            prepare()

    def start(self, run: RunRecord) -> None:
        """Write the run row (with the git state looked up here)."""
        if self.writer is not None:
            self.writer.start(self._with_git(run))

    def _with_git(self, run: RunRecord) -> RunRecord:
        commit, branch, dirty = self.git
        return dataclasses.replace(run, git_commit=commit, git_branch=branch, git_dirty=dirty)

    def keep(self, test: dict[str, Any] | None, traces: list[TraceRecords]) -> None:
        """Queue a finished test's row and traces for the database; work out each trace's part
        of the report now (the report's end then only assembles)."""
        if self.report is not None:
            self.traces += [_prepared(trace) for trace in traces]
        if self.writer is not None:
            self.writer.keep(test, [Captured(record, steps) for record, steps in traces])

    def finish(
        self,
        run: RunRecord | None,
        tests: list[dict[str, Any]],
        remaining: list[tuple[dict[str, Any], list[dict[str, Any]], bool]],
        report: ReportData | None,
        results: list[tuple[Any, ...]],
    ) -> dict[str, Any]:
        """Write the report and the run's end; the answer for the pytest process.

        The run's end (the last rows committed, the run row, the database closed and its log
        checkpointed into the file) runs on a thread while the report is built: it is mostly
        SQLite's work and the disk's, which let go of the GIL, so the answer waits for the
        longer of the two, not for both.
        """
        answer: dict[str, Any] = {"git": self.git}
        ending: _Ending | None = None
        if report is not None:
            from xray_core.report.data import TestResult

            report.tests = [TestResult(*fields) for fields in results]
            if isinstance(report.run, RunRecord):
                report.run = self._with_git(report.run)
        if self.writer is not None and run is not None:
            run = self._with_git(run)
            traces = [Captured(r, s, own=own) for r, s, own in remaining]
            # its few steps that need the GIL (and the writer thread's last rows) get it without
            # waiting the default 5 ms switch interval of the report's thread each time
            sys.setswitchinterval(0.0005)
            ending = _Ending(self.writer, run, tests, traces)
        if report is not None:
            answer["report_error"] = self._write_report(report)
        if ending is not None:
            started, error, completed = ending.outcome()
            answer.update(db_started=started, db_error=error, completed_runs=completed)
        return answer

    def _write_report(self, report: ReportData) -> tuple[str, str] | None:
        from xray_core.report import write_report

        assert self.report is not None
        held = self.traces
        report.traces = [held[t] if type(t) is int else t for t in report.traces]
        try:
            write_report(self.report, report)
        except ImportError as exc:
            return "import", str(exc)
        except OSError as exc:
            return "os", str(exc)
        return None

    def close(self) -> None:
        """Commit what is queued and release the database."""
        if self.writer is not None:
            self.writer.close()


class _Ending(threading.Thread):
    """:meth:`RunWriter.end <pytest_xray.writer.RunWriter.end>` on a thread of its own."""

    def __init__(
        self, writer: RunWriter, run: RunRecord, tests: list[dict[str, Any]], traces: list[Captured]
    ) -> None:
        super().__init__(name="xray-keeper-end", daemon=True)
        self._call = (writer, run, tests, traces)
        self._outcome: tuple[bool, str | None, int] | None = None
        self.start()

    def run(self) -> None:
        writer, run, tests, traces = self._call
        try:
            self._outcome = writer.end(run, tests, traces)
        except BaseException as exc:  # noqa: BLE001 - end never raises; told as a db error
            self._outcome = (writer.started, f"{exc!r}", 0)

    def outcome(self) -> tuple[bool, str | None, int]:
        """(whether the run row was written, the first failure, the completed runs)."""
        self.join()
        assert self._outcome is not None
        return self._outcome


def _prepared(trace: TraceRecords) -> PreparedTrace | TraceRecords:
    """The trace's part of the report, or the trace as it is when that fails (the report's
    end then tries again, and says what failed)."""
    from xray_core.report.payload import PreparedTrace

    try:
        return PreparedTrace(trace)
    except Exception:  # noqa: BLE001 - one odd trace must not stop the keeper
        return trace


def serve(keeper: RunKeeper, source: IO[bytes], answer: IO[bytes]) -> int:
    """Handle the messages of ``source``; answer ``"finish"`` on ``answer``; then close the
    run's database."""
    try:
        while True:
            message = read_frame(source)
            if message is None:  # the pytest process is gone: keep what it handed over
                return 0
            verb, *arguments = message
            if verb == "finish":
                answer.write(frame((keeper.finish(*arguments),)))
                answer.flush()
                return 0
            getattr(keeper, verb)(*arguments)
    finally:
        keeper.close()
        # the end of the answer's pipe tells the pytest process the database is closed: its
        # own end waits for that, not for this process's exit
        answer.close()


def main() -> NoReturn:
    """Run as the keeper of one pytest session."""
    # Ctrl-C reaches the whole process group: the pytest process handles it and still finishes
    # the run through this process, which must outlive it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The records handed over hold no cycles (a session's worth is freed by reference counting
    # at most), while the collector, run as they pile up, walks all of them again and again:
    # at the end, unpickling the run's last message set off full collections that took longer
    # than the report (docs/performance.md, "Session 14" under the plugin suite).
    gc.disable()
    answer = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the answer
    keeper = RunKeeper()
    code = serve(keeper, sys.stdin.buffer, answer)
    sys.stderr.flush()
    # Everything is committed and closed: the run's objects (``keeper`` holds them) and
    # modules are not freed one by one (25 ms), the system takes the memory back at once.
    os._exit(code)


if __name__ == "__main__":
    main()
