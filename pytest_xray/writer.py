"""``--xray-db`` keeps the run as it goes: the run row at the start, each test when it finishes.

When the session starts, the controller (or the only process) writes the run row with status
``running``. When a test finishes (``pytest_runtest_logfinish``), its traces and its
``run_tests`` row are handed to the store's writer thread as the recorder's plain records: the
test's thread neither builds models nor waits for the disk, and the writer commits the tests
finished within 50 ms of each other in one transaction. Under pytest-xdist each worker writes its own tests into the same
file (WAL mode lets the processes share it); the controller writes the run row at both ends. So
a session killed at any moment (SIGKILL, the OOM killer, a CI timeout) leaves every test that
finished before the kill and its traces, in a consistent database, with its run still
``running``. At the end the run row gets its counts, ``finished_at`` and final status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from xray_core.store.base import RunRecord
    from xray_core.store.sqlite import SQLiteStore

    from .captured import Captured


class RunWriter:
    """This process's share of writing one run into the ``--xray-db`` database.

    Never raises: the first failure is kept in :attr:`error` (the summary reports it) and later
    writes are still tried, so one bad record loses only itself.
    """

    def __init__(self, path: Path, run_id: str) -> None:
        self.path = path
        self.run_id = run_id
        self.store: SQLiteStore | None = None
        #: the first failure, as a sentence naming the database
        self.error: str | None = None
        #: whether the run row was written at the start (workers only add tests to it)
        self.started = False
        #: ids of the tests whose row was handed to the store as they finished
        self.kept: set[str] = set()

    @classmethod
    def open(cls, path: Path, run_id: str) -> RunWriter:
        """A writer on the database at ``path`` (created when missing)."""
        from xray_core.store.sqlite import SQLiteStore

        writer = cls(path, run_id)
        try:
            writer.store = SQLiteStore(path, strict=True)
        except Exception as exc:  # noqa: BLE001 - reported in the summary, the tests go on
            writer.failed(exc)
        return writer

    def failed(self, exc: BaseException) -> None:
        """Remember ``exc`` when it is the first failure."""
        if self.error is None:
            self.error = f"{exc}"

    def start(self, run: RunRecord) -> None:
        """Write the run row (status ``running``) before any test finishes."""
        if self.store is None:
            return
        try:
            self.store.save_run(run)
        except Exception as exc:  # noqa: BLE001
            self.failed(exc)
            self.close()
            return
        self.started = True

    def keep(self, test: dict[str, Any] | None, traces: list[Captured]) -> None:
        """Queue a finished test's row (None: traces alone) and the traces recorded here."""
        own = [c for c in traces if c.own and not c.saved]
        for captured in own:
            captured.saved = True
        if self.store is None or (test is None and not own):
            return
        records = [(c.record, c.steps) for c in own]
        try:
            self.store.queue_test(self.run_id, test, records)
        except Exception as exc:  # noqa: BLE001
            self.failed(exc)
        else:
            if test is not None:
                self.kept.add(test["test_id"])

    def finish(self, run: RunRecord, tests: list[dict[str, Any]], traces: list[Captured]) -> None:
        """Write what is left: traces not kept yet, tests without a row, the final run row.

        Test rows written as the tests finished are kept: under pytest-xdist the controller
        does not know the baseline verdicts of a worker that crashed, the worker did. The rows
        this writer kept already are not written again.
        """
        self.keep(None, traces)
        tests = [row for row in tests if row["test_id"] not in self.kept]
        if self.store is None or not self.started:
            return
        try:
            self.store.flush()  # a failed earlier write is reported, and must not stop the end
        except Exception as exc:  # noqa: BLE001
            self.failed(exc)
        try:
            self.store.save_run(run, tests, keep_tests=True)
        except Exception as exc:  # noqa: BLE001
            self.failed(exc)

    def end(
        self, run: RunRecord, tests: list[dict[str, Any]], traces: list[Captured]
    ) -> tuple[bool, str | None, int]:
        """:meth:`finish`, then :meth:`close`: (whether the run row was written, the first
        failure, the completed runs counted up to 2 for the summary's hint)."""
        self.finish(run, tests, traces)
        completed = self.completed_runs(limit=2) if self.started else 0
        self.close()
        return self.started, self.error, completed

    def completed_runs(self, limit: int) -> int:
        """How many completed runs the database holds, counting up to ``limit``."""
        if self.store is None:
            return 0
        try:
            return self.store.count_runs("completed", limit)
        except Exception:  # noqa: BLE001 - only a hint depends on it
            return 0

    def close(self) -> None:
        """Commit every queued write and release the database."""
        store, self.store = self.store, None
        if store is None:
            return
        try:
            store.close()
        except Exception as exc:  # noqa: BLE001
            self.failed(exc)
