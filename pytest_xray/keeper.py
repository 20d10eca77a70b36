"""The run's keeper: a second process that writes ``--xray-db`` and ``--xray-report``.

Turning each finished test's traces into SQLite rows, and the whole run into the report's page,
is CPU work. Done in the pytest process (a writer thread, then the session's end), it takes the
GIL from the tests, which a thread cannot avoid: a test that computes keeps the GIL, so the
writer's work is added to the suite's time. The keeper does the same work on another core: the
pytest process hands it each finished test's records as they are (pickled, in the order they
finished; a flusher thread writes them to a pipe every 50 ms at most), and at the end the run
row and the report's other data; the keeper writes with the same
:class:`~pytest_xray.writer.RunWriter` and :func:`xray_core.report.write_report` the pytest
process would (the run's end on a thread beside the report's build), and answers with what
happened and the run's git state, which it looked up when it started (``git`` processes the
pytest process does not run). It closes its end of the answer's pipe once the database is
closed: the pytest process's end waits for that, not for the keeper's exit.

Durability: a test's records reach the keeper within 50 ms of its end, and its writer commits
them within 50 ms more; when the pytest process is killed, the keeper reads the end of its input
and commits what it was given.
If the keeper cannot start or stops (its pipe breaks, its answer is missing or unreadable), the
pytest process writes the whole run itself at the end, as it does without a keeper: nothing is
lost, and the summary says so in a note.

The protocol: frames of an 8-byte big-endian length and a pickle (both ends are this package
in the same Python), ``(verb, *arguments)``, answered once, after ``"finish"``; see
:mod:`pytest_xray.keeper_process` for the verbs.
"""

from __future__ import annotations

import dataclasses
import io
import operator
import os
import pickle
import select
import struct
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from xray_core.report.data import ReportData
    from xray_core.store.base import RunRecord

    from .captured import Captured
    from .git import GitState

HEADER = struct.Struct(">Q")
#: how long the end of a session waits for the keeper's answer before writing the run itself
ANSWER_TIMEOUT_S = 600.0
#: the pipe's size asked for (Linux): a burst of tests never waits for the keeper to read
PIPE_SIZE = 1 << 20
#: how long the messages of tests finishing close together are gathered into one write: one
#: wake-up of the keeper (and one system call) per 50 ms, not per test; a SIGKILLed session
#: loses at most these, as the writer thread's 50 ms group commit would
LINGER_S = 0.05


class Framer:
    """Frames messages of the protocol with one pickler and buffer kept from one message to the
    next: making them for each message was a fifth of a test's hand-over. One thread at a time.
    """

    def __init__(self) -> None:
        self._out = io.BytesIO()
        self._pickler = pickle.Pickler(self._out, protocol=pickle.HIGHEST_PROTOCOL)
        # No memo: a third faster, and records hold no cycles (a shared object is written twice)
        self._pickler.fast = True

    def frame(self, message: tuple[Any, ...]) -> bytes:
        """``message`` as one frame of the protocol."""
        out = self._out
        out.seek(0)
        out.truncate()
        out.write(HEADER.pack(0))
        self._pickler.dump(message)
        data = out.getbuffer()
        data[: HEADER.size] = HEADER.pack(len(data) - HEADER.size)
        del data
        return out.getvalue()


def frame(message: tuple[Any, ...]) -> bytes:
    """``message`` as one frame of the protocol."""
    return Framer().frame(message)


def read_frame(source: IO[bytes]) -> tuple[Any, ...] | None:
    """The next message from ``source``, or None at its end (or a frame cut short)."""
    head = source.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    data = source.read(size)
    if len(data) < size:
        return None
    message: tuple[Any, ...] = pickle.loads(data)  # noqa: S301 - our own process wrote it
    return message


def finish_message(
    run: RunRecord | None,
    tests: list[dict[str, Any]],
    traces: list[Captured],
    report: ReportData | None,
    sent: dict[int, int],
) -> tuple[Any, ...]:
    """The ``"finish"`` message of :meth:`Keeper.finish` (``sent``: the position among those
    handed over of each trace handed over, by ``id()`` of its Captured)."""
    remaining = [(c.record, c.steps, c.own) for c in traces if c.own and not c.saved]
    results: list[tuple[Any, ...]] = []
    if report is not None:
        from xray_core.report.data import TestResult

        fields = operator.attrgetter(*(f.name for f in dataclasses.fields(TestResult)))
        results = [fields(test) for test in report.tests]
        references: list[Any] = [sent.get(id(c), (c.record, c.steps)) for c in traces]
        report = dataclasses.replace(report, traces=references, tests=[])
    return ("finish", run, tests, remaining, report, results)


class KeeperAnswer:
    """What the keeper did at the end: the report's outcome and the run's."""

    __slots__ = ("completed_runs", "db_error", "db_started", "git", "report_error")

    def __init__(self, answer: dict[str, Any]) -> None:
        #: None: written; else (kind, message): "os" or "import", as write_report raised them
        self.report_error: tuple[str, str] | None = answer.get("report_error")
        self.db_started: bool = answer.get("db_started", False)
        self.db_error: str | None = answer.get("db_error")
        self.completed_runs: int = answer.get("completed_runs", 0)
        #: the run's (commit, branch, dirty), as the keeper looked them up when it started
        self.git: GitState = answer.get("git", (None, None, None))


class Keeper:
    """The keeper process, as the pytest process sees it. Never raises: a failure is kept in
    :attr:`failure` and every later call does nothing (the session's end writes the run itself).
    """

    def __init__(self, process: subprocess.Popen[bytes], errors: IO[bytes]) -> None:
        self.process = process
        self._errors = errors
        assert process.stdin is not None
        self._fd = process.stdin.fileno()
        #: frames not written to the pipe yet (the flusher thread writes them)
        self._pending: list[bytes] = []
        self._framer = Framer()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        #: what went wrong, completing "the run's keeper process ..." (None: nothing)
        self.failure: str | None = None
        #: position in the keeper's list of each trace handed over, by ``id()`` of its Captured
        self._sent: dict[int, int] = {}
        #: ids of the tests whose row was handed over as they finished
        self.kept: set[str] = set()
        self._flusher = threading.Thread(target=self._flush_loop, name="xray-keeper", daemon=True)
        self._flusher.start()

    @classmethod
    def spawn(cls, db: Path | None, report: Path | None, run_id: str, root: Path) -> Keeper | None:
        """Start a keeper for a run writing ``db`` and/or ``report``; None if it cannot start.

        It looks up the git state of ``root`` (the run row's commit, branch and dirty flag) and
        tells it in its answer: the pytest process runs no ``git`` itself."""
        errors = tempfile.TemporaryFile()  # noqa: SIM115 - kept open for the keeper's lifetime
        try:
            process = subprocess.Popen(  # noqa: S603 - this interpreter, our module
                [sys.executable, "-m", "pytest_xray.keeper_process"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                close_fds=True,
            )
        except (OSError, ValueError):
            errors.close()
            return None
        keeper = cls(process, errors)
        try:
            import fcntl

            fcntl.fcntl(keeper._fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        except (ImportError, AttributeError, OSError):  # not Linux, or over the system's limit
            pass
        keeper.send(("open", None if db is None else str(db), run_id,
                     None if report is None else str(report), str(root)))  # fmt: skip
        return keeper

    def send(self, message: tuple[Any, ...]) -> None:
        """Hand ``message`` over without waiting (the flusher thread writes it within 50 ms)."""
        if self.failure is not None:
            return
        with self._lock:
            try:
                data = self._framer.frame(message)
            except Exception as exc:  # noqa: BLE001 - a record pickle refuses: the end writes all
                self.failure = f"could not be handed a message ({exc!r})"
                return
            self._pending.append(data)
        if not self._wake.is_set():  # set until the flusher has lingered: one wake-up per write
            self._wake.set()

    def start(self, run: RunRecord) -> None:
        """Write the run row (status ``running``)."""
        self.send(("start", run))

    def keep(self, test: dict[str, Any] | None, traces: Iterable[Captured]) -> None:
        """Hand over a finished test's row (None: none) and the traces it recorded here."""
        own = [c for c in traces if c.own and not c.saved]
        for captured in own:
            captured.saved = True
            self._sent[id(captured)] = len(self._sent)
        if test is not None:
            self.kept.add(test["test_id"])
        if test is not None or own:
            self.send(("keep", test, [(c.record, c.steps) for c in own]))

    def finish(
        self,
        run: RunRecord | None,
        tests: list[dict[str, Any]],
        traces: list[Captured],
        report: ReportData | None,
    ) -> KeeperAnswer | None:
        """Hand over the end of the run and wait for the keeper's answer (None: it failed).

        :param run: the final run row (None: no ``--xray-db``).
        :param tests: the rows of the tests not in :attr:`kept` (the keeper would leave out
            those it was handed already).
        :param traces: the session's traces: those not handed over yet are sent now.
        :param report: the report's data (None: no ``--xray-report``); its ``traces`` are sent
            as references to what the keeper holds, its ``tests`` as tuples of their fields
            (a thousand dataclasses took 12 ms to pickle and unpickle, tuples 1 ms).
        """
        self.send(finish_message(run, tests, traces, report, self._sent))
        self._stop_flusher()
        answer = self._answer() if self.failure is None else None
        if answer is None:
            self.close(kill=True)
        # else it closes the database while the summary is printed: close() waits for that
        return answer

    def close(self, kill: bool = False) -> None:
        """Hand over what is pending, end the keeper's input and wait until it is done with the
        run's files (killed first when ``kill``: it failed); the keeper commits what it was
        handed, and after :meth:`finish`, closes the database. Its exit, the system taking back
        its memory, is not waited for: a thread reaps it."""
        self._stop_flusher()
        process = self.process
        if kill and process.poll() is None:
            process.kill()
        if process.stdin is not None:
            try:
                process.stdin.close()
            except OSError:
                pass
        if process.stdout is not None and not process.stdout.closed:
            if not self._done(process.stdout.fileno()):
                process.kill()
            process.stdout.close()
        self._errors.close()
        if process.poll() is None:
            threading.Thread(target=process.wait, name="xray-keeper-reaper", daemon=True).start()

    @staticmethod
    def _done(fd: int) -> bool:
        """Wait for the end of the keeper's answer pipe: it closes it once its database is
        closed, or it is gone. False after :data:`ANSWER_TIMEOUT_S`."""
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return False
            try:
                if not os.read(fd, 1 << 16):
                    return True
            except OSError:
                return True

    def _flush_loop(self) -> None:
        """The flusher thread: what is pending, written every :data:`LINGER_S` at most, and a
        last time when it is stopped (nothing is handed over after that)."""
        while True:
            self._wake.wait()
            # the tests finishing meanwhile go in the same write; the session's end cuts it short
            self._stop.wait(LINGER_S)
            self._wake.clear()
            if not self._write_pending():
                return
            if self._stop.is_set():
                self._write_pending()  # what came while it wrote
                return

    def _stop_flusher(self) -> None:
        """Let the flusher thread write what is pending, and end."""
        if not self._flusher.is_alive():
            return
        self._stop.set()
        self._wake.set()
        self._flusher.join(ANSWER_TIMEOUT_S)
        if self._flusher.is_alive() and self.failure is None:  # a full pipe nobody reads
            self.failure = f"did not read its input within {ANSWER_TIMEOUT_S:.0f} s"

    def _write_pending(self) -> bool:
        """Write the pending frames (blocking); False when the keeper is gone."""
        with self._lock:
            data = b"".join(self._pending)
            self._pending.clear()
        if not data or self.failure is not None:
            return self.failure is None
        try:
            with memoryview(data) as view:
                while view:
                    view = view[os.write(self._fd, view):]
        except (OSError, ValueError) as exc:  # the keeper is gone (BrokenPipeError)
            self.failure = f"stopped ({self._stopped(exc)})"
            return False
        return True

    def _answer(self) -> KeeperAnswer | None:
        process = self.process
        assert process.stdin is not None and process.stdout is not None
        process.stdin.close()  # the end of its input: nothing more comes
        ready = select.select([process.stdout], [], [], ANSWER_TIMEOUT_S)[0]
        if not ready:
            self.failure = f"did not answer within {ANSWER_TIMEOUT_S:.0f} s"
            return None
        try:  # one frame: read as soon as it is written, not when the keeper has exited
            answer = read_frame(process.stdout)
            if answer is None:
                raise EOFError("no answer")
            return KeeperAnswer(answer[0])
        except Exception as exc:  # noqa: BLE001 - stopped before it answered
            self.failure = f"stopped before it answered ({self._stopped(exc)})"
            return None

    def _stopped(self, exc: BaseException) -> str:
        """How the keeper ended, with the end of what it wrote to stderr."""
        code = self.process.poll()
        if code is None:
            try:
                code = self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
        try:
            self._errors.seek(0)
            told = self._errors.read()[-2000:].decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            told = ""
        why = f"exit status {code}" if code is not None else f"{type(exc).__name__}"
        return f"{why}: {told.splitlines()[-1]}" if told else why
