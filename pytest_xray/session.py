"""Per-session state: traces captured per test, outcomes, baseline bookkeeping, the finish.

One :class:`XraySession` is created per pytest session (kept in ``config.stash``), registered
as a pytest plugin and as the recorder's observer; nothing lives in module globals, so the
nested sessions of ``pytester`` stay apart.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Generator
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import pytest

from xray_core.surrogates import escape_surrogates

from .captured import Captured
from .collected import Collected
from .constants import DB_INPUT_KEY, RUN_ID_INPUT_KEY, WORKER_OUTPUT_KEY
from .nodeids import test_id
from .options import Options

if TYPE_CHECKING:
    from pathlib import Path

    from xray_core.outcomes import TestOutcome
    from xray_core.recorder import TraceContext

    from .baseline.check import BaselineResult
    from .keeper import Keeper
    from .summary import XraySummary
    from .writer import RunWriter


def _outcome(report: pytest.TestReport) -> TestOutcome:
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    if report.failed:
        return "failed" if report.when == "call" else "error"
    return "skipped" if report.skipped else "passed"


class XraySession:
    """What the plugin knows about one pytest session."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.options = Options.from_config(config)
        workerinput = getattr(config, "workerinput", None)
        self.is_worker = workerinput is not None
        self.run_id: str = (
            (workerinput or {}).get(RUN_ID_INPUT_KEY) or self.options.run_id or uuid.uuid4().hex
        )
        self.started = time.time()
        self.finished: float | None = None
        self.current: pytest.Item | None = None
        #: the running test's id (see :func:`pytest_xray.nodeids.test_id`), None between tests
        self.current_id: str | None = None
        self.items: dict[str, pytest.Item] = {}
        self.traces: list[Captured] = []
        self.by_test: dict[str, list[Captured]] = {}
        self.outcomes: dict[str, TestOutcome] = {}
        self.durations: dict[str, float] = {}
        self.messages: dict[str, str] = {}
        self.baselines: dict[str, list[BaselineResult]] = {}
        self.used: set[str] = set()
        self.collected = Collected()
        #: pytest-xdist workers that went down without handing over their state
        self.lost_workers: list[str] = []
        #: "<hook> raised <error>" -> where it first did (the recorder would swallow it unseen)
        self.hook_errors: dict[str, str] = {}
        self.summary: XraySummary | None = None
        #: ``--xray-db``: this process's writer (None without the option, or on a worker when
        #: the controller could not write the run row)
        self.writer: RunWriter | None = None
        #: ``--xray-db`` / ``--xray-report`` written by a second process (see pytest_xray.keeper)
        self.keeper: Keeper | None = None
        #: whether the keeper is used (started when collection is done)
        self.keeper_wanted = False
        #: on the pytest-xdist controller once workers exist: they write their own tests
        self.distributed = False
        #: (commit, branch, dirty) of the rootdir, looked up once per session
        self.git: tuple[str | None, str | None, bool | None] | None = None
        #: failures pytest-xdist workers had writing to ``--xray-db`` (first of each)
        self.worker_db_errors: dict[str, None] = {}

    # -- the recorder's observer (called from any thread) --
    def trace_started(self, record: dict[str, Any]) -> None:
        """Attach a starting trace to the running test and to this run."""
        record["test_id"] = self.current_id
        record["run_id"] = self.run_id

    def trace_finished(self, context: TraceContext) -> None:
        """Keep a finished trace under its test and tell ``pytest_xray_trace_captured``."""
        captured = Captured(context.record, context.steps)
        self.traces.append(captured)
        test = captured.test_id
        if test is not None:
            self.by_test.setdefault(test, []).append(captured)
        hook = self.config.hook.pytest_xray_trace_captured
        if hook.get_hookimpls():
            item = self.items.get(test) if test else None
            try:
                hook(trace=captured.model(), item=item)
            except Exception as exc:  # noqa: BLE001 - reported in the summary instead
                where = f"in {test}" if test else "outside any test"
                self.hook_failed("pytest_xray_trace_captured", exc, where)

    def span_to_step(self, span: Any, step: dict[str, Any]) -> None:
        """Adjust a step captured from an OpenTelemetry span (``pytest_xray_span_to_step``)."""
        from .otel import span_to_step

        span_to_step(self, span, step)

    def hook_failed(self, hook: str, exc: Exception, where: str) -> None:
        """Remember that a user's ``hook`` raised ``exc`` (the summary shows it as an error)."""
        self.hook_errors.setdefault(f"{hook} raised {type(exc).__name__}: {exc}", where)

    def traces_of(self, test_id: str) -> list[Captured]:
        """The traces captured so far while ``test_id`` ran."""
        return self.by_test.get(test_id, [])

    def record_baseline(self, test_id: str, result: BaselineResult) -> None:
        """Remember an ``assert_baseline`` verdict of ``test_id``."""
        self.baselines.setdefault(test_id, []).append(result)
        self.used.add(result.path)

    # -- pytest hooks (this object is registered as a plugin) --
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """``--xray-db``: write the run row now (status ``running``), before any test runs;
        with ``--xray-db`` or ``--xray-report``, start the run's keeper (see
        :mod:`pytest_xray.keeper`) where one is used.

        tryfirst: before pytest-xdist starts the workers, which add their tests to this row.
        """
        options = self.options
        if self.is_worker:
            if options.db is not None and self.config.workerinput.get(DB_INPUT_KEY):  # type: ignore[attr-defined]
                from .writer import RunWriter

                self.writer = RunWriter.open(options.db, self.run_id)
        elif options.db is not None or options.report is not None:
            from .start import start_run

            start_run(self)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """Remember every test collection finds, before any hook filters them."""
        self.collected.found(report)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Remember the collected tests for unused-baseline detection; start the keeper."""
        if self.keeper_wanted and self.keeper is None:
            from .start import start_keeper

            start_keeper(self)
        self.collected.select(session.items)
        if any("::" in str(arg) for arg in self.config.args):
            self.collected.mark_partial("only some node ids were asked for")

    def pytest_collect_directory(self, path: Path) -> None:
        """Remember directories holding baselines, even when none of their modules is left."""
        self.collected.visit(path)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        """Deselected tests keep their baselines: remember them as owners."""
        self.collected.deselect(items)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        """Track the running test: traces started now belong to it."""
        nodeid = test_id(item)
        self.items[nodeid] = item
        previous = self.current, self.current_id
        self.current, self.current_id = item, nodeid
        try:
            return (yield)
        finally:
            self.current, self.current_id = previous

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """A test run again (pytest-rerunfailures) starts afresh: its last run's traces count."""
        nodeid = test_id(item)
        self.baselines.pop(nodeid, None)
        if self.by_test.pop(nodeid, None):
            self.traces = [c for c in self.traces if c.test_id != nodeid]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Record each test's outcome (on the xdist controller too: reports are forwarded)."""
        nodeid = test_id(report)
        self.durations[nodeid] = self.durations.get(nodeid, 0.0) + report.duration * 1000.0
        if report.passed and report.when != "call":
            return  # a passing setup or teardown says nothing new
        outcome = _outcome(report)
        if self.outcomes.get(nodeid) not in ("failed", "error"):
            self.outcomes[nodeid] = outcome
        if report.failed:  # the first failure says why; a teardown error after it is a consequence
            self.messages.setdefault(nodeid, escape_surrogates(report.longreprtext))

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        """``--xray-db``: keep the finished test and its traces (unless workers write them);
        a keeper is handed them for the report too."""
        taker = self.keeper or (None if self.distributed else self.writer)
        if taker is None:
            return
        from .history import test_row

        key = escape_surrogates(nodeid)
        row = test_row(self, key) if self.options.db is not None else None
        taker.keep(row, self.traces_of(key))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Workers hand their state to the controller; otherwise write the DB and report."""
        self.finished = time.time()
        if self.is_worker:
            if self.writer is not None:  # traces recorded outside the tests, then commit
                self.writer.keep(None, self.traces)
                self.writer.close()
            payload = "{}" if self.idle() else self.worker_payload()
            self.config.workeroutput[WORKER_OUTPUT_KEY] = payload  # type: ignore[attr-defined]
            return
        if self.idle():  # nothing to write, check or say: the end's modules are not imported
            return
        from .finish import finish_session

        self.summary = finish_session(self, session)

    def idle(self) -> bool:
        """Whether the plugin had nothing to do: no ``--xray-db`` or ``--xray-report``, no trace,
        baseline, error or lost pytest-xdist worker, and no baselines directory where the
        collected tests live (then no baseline file can be unused either)."""
        return not (
            self.options.db or self.options.report or self.traces or self.baselines
            or self.hook_errors or self.lost_workers or self.worker_db_errors
            or self.collected.holds_baselines()
        )  # fmt: skip

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Print the X-Ray summary when the plugin had something to say."""
        if self.is_worker or self.summary is None or not self.summary.has_content:
            return
        color = self.config.get_terminal_writer().hasmarkup
        terminalreporter.write_sep("-", "xray summary")
        for line in self.summary.render(color=color):
            terminalreporter.write_line(line)

    # -- pytest-xdist transport --
    def worker_payload(self) -> str:
        """This worker's traces (the recorder's records), baseline verdicts, collection and hook
        errors, as JSON.
        """
        traces: list[list[Any]] = []
        default = None
        if self.traces:  # a worker whose tests recorded nothing does not import the serializer
            from xray_core.serialize import thawed, thawed_step

            # a captured span's JSON text (a tuple, kept unchecked) is read now
            traces = [[c.record, list(map(thawed_step, c.steps))] for c in self.traces]
            default = thawed  # a step's input and output may be kept as JSON text (bytes)
        return json.dumps(
            {
                "traces": traces,
                "baselines": {k: [asdict(r) for r in v] for k, v in self.baselines.items()},
                "collected": self.collected.as_dict(),
                "hook_errors": self.hook_errors,
                "db_error": self.writer.error if self.writer is not None else None,
            },
            default=default,
        )
