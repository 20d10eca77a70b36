"""What importing decisiontracex loads: production code imports the SDK, and every pytest run of
a project where it is installed imports the plugin.

pydantic, sqlite-utils, rich, jinja2 and pytest are loaded only by what needs them (reading a
trace back builds pydantic models; ``SQLiteStore`` uses SQLite; the CLI prints with rich).
Each case runs in a new interpreter, so that nothing imported by this test process counts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("pydantic", "pydantic_core", "sqlite_utils", "rich", "jinja2", "pytest",
         "xray_core.models", "xray_core.store.sqlite")  # fmt: skip

REPORT = f"""
import json, sys
print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
"""

TRACING_OFF = """
import xray_core

with xray_core.step("outside_a_trace", input={"a": 1}) as step:  # no trace: a no-op
    step.set_output({"b": 2})


@xray_core.step("decorated")
def double(x):
    return 2 * x


assert double(2) == 4
with xray_core.trace("off") as trace:  # XRAY_ENABLED=0
    with xray_core.step("inside") as step:
        step.add_evaluation(item_id="B0", qualified=True)
assert trace.name is None  # the null trace: nothing was recorded
"""

RECORDING = """
import xray_core

xr = xray_core.XRay(store=xray_core.MemoryStore())
with xr.trace("explicit", metadata={"product_id": "P1"}) as trace:
    with trace.step("keyword_generation", input={"title": "mug"}) as step:
        step.set_output({"keywords": ["mug"]})
        step.set_reasoning("the title's nouns")
        step.add_llm_metadata(model="mock-llm", tokens_used=42, temperature=0.2)
    with trace.step("filter_and_select") as step:
        step.add_evaluation(item_id="B0", item_data={"price": 9.5},
                            filters=[{"name": "price", "passed": False, "detail": "9.50 < 12.50"}],
                            qualified=False, reasoning="too cheap")
with xray_core.trace("ambient"):  # the default recorder: a bounded MemoryStore
    with xray_core.step("one", input={"x": 1}) as step:
        step.set_output([1, 2])
"""

SQLITE = """
import tempfile, os
db = xray_core.SQLiteStore(os.path.join(tempfile.mkdtemp(), "new", "runs.db"))
with xray_core.XRay(store=db).trace("kept") as trace:
    with trace.step("one", input={"x": 1}) as step:
        step.set_output([1, 2])
db.close()
"""

REPORT_OF_RECORDS = """
import tempfile, os
from xray_core.observers import add_observer
from xray_core.report import write_report
from xray_core.report.data import ReportData


class Keep:  # what the pytest plugin does: keep the recorder's records of each trace
    def __init__(self):
        self.records = []

    def trace_started(self, record):
        pass

    def trace_finished(self, context):
        self.records.append((context.record, context.steps))


keep = Keep()
add_observer(keep)
with xr.trace("reported") as trace:
    with trace.step("one", input={"x": 1}) as step:
        step.set_output([1, 2])
write_report(os.path.join(tempfile.mkdtemp(), "report.html"), ReportData(traces=keep.records))
assert len(keep.records) == 1
"""

READ_BACK = """
assert xr.store.get_trace(trace.trace_id).decision("B0").rejected_by("price")
"""


def loaded_after(code: str, **env: str) -> list[str]:
    """The heavy modules in ``sys.modules`` after running ``code`` in a new interpreter."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("XRAY_", "PYTEST_"))}
    done = subprocess.run(
        [sys.executable, "-c", code + REPORT], capture_output=True, text=True, check=False,
        env={**clean, **env}, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_import_and_no_op_steps_load_nothing_heavy() -> None:
    assert loaded_after(TRACING_OFF, XRAY_ENABLED="0") == []


@pytest.mark.parametrize("enabled", ["1", "0"])
def test_recording_into_memory_loads_nothing_heavy(enabled: str) -> None:
    assert loaded_after(RECORDING, XRAY_ENABLED=enabled) == []


def test_recording_into_a_new_sqlite_database_loads_neither_models_nor_sqlite_utils() -> None:
    """sqlite-utils runs the migrations of an older database only; a new file is created in
    plain SQL (a CI job's first ``--xray-db`` run); the store writes records, so pydantic is
    imported by the first read that builds a model."""
    loaded = loaded_after(RECORDING + SQLITE)
    assert "xray_core.store.sqlite" in loaded
    assert not {"pydantic", "xray_core.models", "sqlite_utils", "rich", "jinja2", "pytest"} & set(
        loaded
    )


def test_a_report_of_records_loads_jinja2_but_no_model() -> None:
    """Plain JSON data: orjson writes the page's documents, pydantic-core is not imported."""
    loaded = loaded_after(RECORDING + REPORT_OF_RECORDS)
    assert "jinja2" in loaded
    assert not {"pydantic", "pydantic_core", "xray_core.models", "sqlite_utils", "rich",
                "pytest"} & set(loaded)  # fmt: skip


def test_reading_a_trace_back_builds_the_models() -> None:
    loaded = loaded_after(RECORDING + READ_BACK)
    assert {"pydantic", "xray_core.models"} <= set(loaded)
    assert not {"sqlite_utils", "rich", "jinja2", "pytest"} & set(loaded)


WORKER_TEST = """
import os
import sys

# what only baselines, the controller's end, --xray-db or the report need
NOT_IN_A_WORKER = (
    "pytest_xray.baseline.check", "pytest_xray.baseline.files", "pytest_xray.finish",
    "pytest_xray.summary", "pytest_xray.dashboard", "pytest_xray.history", "pytest_xray.writer",
    "pytest_xray.fixture", "xray_core.atomic", "xray_core.models", "xray_core.store.sqlite",
    "xray_core.recorder", "xray_core.serialize", "xray_core.report", "pytest_xray.baseline",
    "pytest_xray.start",
)


def test_in_a_worker(request):
    assert os.environ.get("PYTEST_XDIST_WORKER"), "not run by a pytest-xdist worker"
    assert request.config.pluginmanager.has_plugin("xray")
    assert [m for m in NOT_IN_A_WORKER if m in sys.modules] == []
"""


def test_an_xdist_worker_that_records_nothing_imports_only_what_it_uses(
    pytester: pytest.Pytester,
) -> None:
    """Each pytest-xdist worker is a new process that imports every module of the plugin it
    uses: one that checks no baseline and writes nothing loads only the session state, its
    collection bookkeeping and the observer stack."""
    from tests.plugin.test_nested_sessions import blocked_plugins

    pytester.makepyfile(test_worker=WORKER_TEST)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", *blocked_plugins())
    result.assert_outcomes(passed=1)


SESSION_TEST = """
def test_records():
    import xray_core

    with xray_core.trace("t"):
        with xray_core.step("one", input={"x": 1}) as step:
            step.set_output([1, 2])
"""

SESSION_CONFTEST = """
import json
import sys


def pytest_unconfigure(config):  # after the plugin's session end: run row, traces, report
    with open("loaded.json", "w") as out:
        json.dump([m for m in ("pydantic", "xray_core.models") if m in sys.modules], out)
"""


def test_a_recorded_session_with_db_and_report_never_imports_pydantic(
    pytester: pytest.Pytester,
) -> None:
    """``--xray-db --xray-report``: the run row goes to the store, the report and the summary
    as a RunRecord, the traces as records: a suite of quick tests does not pay pydantic's
    import (a tenth of a second) when nothing reads a model."""
    from tests.plugin.test_nested_sessions import blocked_plugins

    pytester.makepyfile(test_recorded=SESSION_TEST)
    pytester.makeconftest(SESSION_CONFTEST)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", *blocked_plugins(), "--xray-db=runs.db", "--xray-report=r.html"
    )
    result.assert_outcomes(passed=1)
    assert json.loads((pytester.path / "loaded.json").read_text()) == []
    assert (pytester.path / "r.html").stat().st_size > 0
    import xray_core

    store = xray_core.SQLiteStore(pytester.path / "runs.db")
    try:
        (run,) = store.list_runs()
        assert run.status == "completed" and run.counts["traces"] == 1 and run.pid is not None
        assert len(store.list_traces(run_id=run.run_id)) == 1
    finally:
        store.close()


CHECKER = ("pytest_xray.baseline.check", "pytest_xray.baseline.files", "xray_core.ignore")
CHECKER_CONFTEST = f"""
import json
import sys


def pytest_unconfigure(config):  # after the plugin's session end: run row, traces, report
    with open("loaded.json", "w") as out:
        json.dump([m for m in {CHECKER!r} if m in sys.modules], out)
"""

BASELINE_TEST = """
def test_checks(xray):
    import xray_core

    with xray_core.trace("t"):
        with xray_core.step("one", input={"x": 1}) as step:
            step.set_output([1, 2])
    xray.assert_baseline()
"""


@pytest.mark.parametrize("checks", [False, True], ids=["no baseline", "a baseline"])
def test_the_baseline_checker_is_loaded_only_by_a_session_that_checks_one(
    pytester: pytest.Pytester, checks: bool
) -> None:
    """Its modules (21 KB) are compiled from source at every run where bytecode is not written:
    a recorded session that checks no baseline does not load them, one that checks does, and
    both keep each test's verdict (None, ``written``). Without pytest-xdist: its controller
    imports them when configured (see pytest_xray.xdist)."""
    from tests.plugin.test_nested_sessions import blocked_plugins

    pytester.makepyfile(test_recorded=BASELINE_TEST if checks else SESSION_TEST)
    pytester.makeconftest(CHECKER_CONFTEST)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", *blocked_plugins(), "-p", "no:xdist", "-p", "no:xdist.looponfail",
        "--xray-db=runs.db", "--xray-report=r.html", *(["--xray-update"] if checks else []),
    )  # fmt: skip
    result.assert_outcomes(passed=1)
    loaded = json.loads((pytester.path / "loaded.json").read_text())
    assert loaded == (list(CHECKER) if checks else [])
    import sqlite3

    with sqlite3.connect(pytester.path / "runs.db") as conn:
        verdicts = conn.execute("SELECT baseline FROM run_tests").fetchall()
    assert verdicts == [("written" if checks else None,)]


UNUSED_CONFTEST = """
import json
import sys


def pytest_unconfigure(config):  # after the plugin's session end
    with open("loaded.json", "w") as out:
        json.dump(sorted(m for m in sys.modules if m.startswith(("xray_core", "pytest_xray"))), out)
"""

# what a session that records nothing and writes nothing needs: the plugin, its session state
# and collection bookkeeping, the observer stack, and (pytest-xdist is installed) the
# controller's side of the transport; not its end (nothing to write, check or say)
UNUSED_SESSION_MODULES = {
    "pytest_xray", "pytest_xray.plugin", "pytest_xray.wiring", "pytest_xray.hooks",
    "pytest_xray.session", "pytest_xray.captured", "pytest_xray.collected", "pytest_xray.constants",
    "pytest_xray.nodeids", "pytest_xray.options", "xray_core", "xray_core.lazy",
    "xray_core.observers", "xray_core.surrogates", "pytest_xray.xdist",
}  # fmt: skip


@pytest.mark.parametrize("xdist", [False, True], ids=["one process", "pytest-xdist controller"])
def test_a_session_that_records_and_writes_nothing_imports_only_its_bookkeeping(
    pytester: pytest.Pytester, xdist: bool
) -> None:
    """The plugin is installed but unused (no ``--xray-*`` option, no trace, no baselines
    directory): every pytest run of a project where decisiontracex is installed imports what
    it loads, so neither the recorder, the serializer, the run's rows, the report nor the end's
    summary are imported."""
    from tests.plugin.test_nested_sessions import blocked_plugins

    pytester.makepyfile(test_plain="def test_plain():\n    assert sum(range(4)) == 6\n")
    pytester.makeconftest(UNUSED_CONFTEST)
    args = ("-n", "2") if xdist else ()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *blocked_plugins(), *args)
    result.assert_outcomes(passed=1)
    assert set(json.loads((pytester.path / "loaded.json").read_text())) == UNUSED_SESSION_MODULES
