"""The run's keeper process (``python -m pytest_xray.keeper_process``); see
:mod:`pytest_xray.keeper` for why it exists and what the pytest process hands it.

It reads messages from stdin until ``"finish"``, whose answer it writes to stdout, or until its
input ends (the pytest process is gone): then it commits what it was given and exits. Verbs:

- ``("open", db, run_id, report)``: the run's database (str or None) and report path;
- ``("start", run)``: the run row, status ``running``;
- ``("keep", test_row, [(record, steps), ...])``: a finished test's row and traces;
- ``("finish", run, test_rows, [(record, steps, own), ...], report_data)``: the report (its
  traces given, or referred to by their position among those kept), then the run's end.

pytest is not imported here: the keeper starts while the pytest process collects.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

from .captured import Captured
from .keeper import frame, read_frame

if TYPE_CHECKING:
    from xray_core.report.data import ReportData, TraceRecords
    from xray_core.report.payload import PreparedTrace
    from xray_core.store.base import RunRecord

    from .writer import RunWriter


class RunKeeper:
    """What the keeper holds: the run's writer (``--xray-db``) and every trace handed over."""

    def __init__(self) -> None:
        self.writer: RunWriter | None = None
        self.report: Path | None = None
        self.traces: list[PreparedTrace | TraceRecords] = []

    def open(self, db: str | None, run_id: str, report: str | None) -> None:
        """Open the run's database (created when missing) and remember the report's path."""
        if db is not None:
            from .writer import RunWriter

            self.writer = RunWriter.open(Path(db), run_id)
        self.report = None if report is None else Path(report)
        if report is not None:
            from xray_core.report.render import prepare

            prepare()

    def start(self, run: RunRecord) -> None:
        """Write the run row."""
        if self.writer is not None:
            self.writer.start(run)

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
    ) -> dict[str, Any]:
        """Write the report, then the run's end; the answer for the pytest process."""
        answer: dict[str, Any] = {}
        if report is not None:
            answer["report_error"] = self._write_report(report)
        if self.writer is not None and run is not None:
            traces = [Captured(r, s, own=own) for r, s, own in remaining]
            started, error, completed = self.writer.end(run, tests, traces)
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


def _prepared(trace: TraceRecords) -> PreparedTrace | TraceRecords:
    """The trace's part of the report, or the trace as it is when that fails (the report's
    end then tries again, and says what failed)."""
    from xray_core.report.payload import PreparedTrace

    try:
        return PreparedTrace(trace)
    except Exception:  # noqa: BLE001 - one odd trace must not stop the keeper
        return trace


def serve(source: IO[bytes], answer_fd: int) -> int:
    """Handle the messages of ``source``; answer ``"finish"`` on ``answer_fd``."""
    keeper = RunKeeper()
    try:
        while True:
            message = read_frame(source)
            if message is None:  # the pytest process is gone: keep what it handed over
                return 0
            verb, *arguments = message
            if verb == "finish":
                answer = frame((keeper.finish(*arguments),))
                with os.fdopen(answer_fd, "wb") as out:
                    out.write(answer)
                return 0
            getattr(keeper, verb)(*arguments)
    finally:
        keeper.close()


def main() -> NoReturn:
    """Run as the keeper of one pytest session."""
    # Ctrl-C reaches the whole process group: the pytest process handles it and still finishes
    # the run through this process, which must outlive it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answer_fd = os.dup(1)
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the answer
    code = serve(sys.stdin.buffer, answer_fd)
    # Everything is committed and closed: the pytest process waits for this process's end,
    # which freeing a run's worth of objects and modules one by one would only delay.
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
