"""The run's keeper process (``pytest_xray.keeper``): it writes ``--xray-db`` and
``--xray-report`` in place of the pytest process, and when it cannot, the pytest process does,
losing nothing.

The sessions run as real processes (``runpytest_subprocess``): the keeper is a real child
process, killed with a real signal.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_xray.captured import Captured
from pytest_xray.keeper import Framer, finish_message, frame, read_frame
from pytest_xray.keeper_process import RunKeeper
from xray_core import MemoryStore, XRay
from xray_core.report import ReportData, TestResult, write_report
from xray_core.store.base import RunRecord

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

TESTS = """
from pipeline import select

def test_a():
    assert select([5, 20]) == "B1"

def test_b():
    assert select([30, 12]) == "B1"
"""

#: a conftest that writes what of the run's writing the pytest process did: the database
#: modules it imported, and whether it loaded the report's template (rendered a page)
MODULES_SEEN = """
import json, sys

def pytest_unconfigure(config):
    seen = [m for m in ("xray_core.store.sqlite", "xray_core.store.writer") if m in sys.modules]
    render = sys.modules.get("xray_core.report.render")
    if render is not None and render._template.cache_info().currsize:
        seen.append("a page rendered")
    with open("modules.json", "w") as out:
        json.dump(seen, out)
"""

#: kills the keeper (the pytest process's child running pytest_xray.keeper_process)
KILL_THE_KEEPER = """
import os, signal, time

def keeper_pid():
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except OSError:
            continue
        if ppid == os.getpid() and b"pytest_xray.keeper_process" in command:
            return int(entry)
    return None

def test_kill_the_keeper():
    pid = keeper_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while keeper_pid() == pid:  # the killed child stays a zombie until the plugin reaps it
        with open(f"/proc/{pid}/stat") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        assert time.monotonic() < deadline
        time.sleep(0.01)
"""


def stored(db: Path) -> dict[str, Any]:
    """What a run wrote, without its ids and times: tests, traces and their steps' data."""
    conn = sqlite3.connect(db)
    try:
        [(status, counts)] = conn.execute("SELECT status, counts FROM runs").fetchall()
        tests = conn.execute(
            "SELECT test_id, outcome FROM run_tests ORDER BY test_id"
        ).fetchall()
        traces = conn.execute(
            "SELECT t.test_id, t.name, s.name, s.input, s.output, s.metadata FROM traces t "
            "JOIN steps s ON s.trace_id = t.trace_id ORDER BY t.test_id, s.step_order"
        ).fetchall()
    finally:
        conn.close()
    counts = json.loads(counts)
    return {"status": status, "counts": counts, "tests": tests, "traces": traces}


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest_subprocess(
        "-p", "no:cacheprovider", "--xray-db=runs.db", "--xray-report=report.html", *args
    )


def test_the_keeper_writes_the_run_and_the_report_the_pytest_process_would(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_k=TESTS)
    project.makeconftest(MODULES_SEEN)
    run(project).assert_outcomes(passed=2)
    # the pytest process neither opened the database nor rendered the page: the keeper did
    assert json.loads((project.path / "modules.json").read_text()) == []
    kept = stored(project.path / "runs.db")
    page = (project.path / "report.html").read_text(encoding="utf-8")

    (project.path / "runs.db").rename(project.path / "kept.db")
    itself = run(project, "-o", "xray_keeper=false")
    itself.assert_outcomes(passed=2)
    assert json.loads((project.path / "modules.json").read_text()) == [
        "xray_core.store.sqlite", "xray_core.store.writer", "a page rendered"
    ]  # fmt: skip
    assert stored(project.path / "runs.db") == kept
    assert kept["status"] == "completed" and kept["counts"]["tests"] == 2
    assert [t for t, _ in kept["tests"]] == ["test_k.py::test_a", "test_k.py::test_b"]
    assert len(kept["traces"]) == 4  # two steps in each test's trace
    assert "test_k.py::test_a" in page and "filter_and_select" in page
    assert "note:" not in "".join(itself.outlines)


def test_the_database_is_closed_when_the_pytest_process_has_ended(
    project: pytest.Pytester,
) -> None:
    # the keeper answers, then the pytest process prints its summary while the keeper ends: it
    # must not end before the keeper has closed the database (the log checkpointed into the
    # file and removed), or a user's next step (moving the file) could race the keeper
    project.makepyfile(test_k=TESTS)
    for attempt in range(3):
        db = project.path / f"runs{attempt}.db"
        result = project.runpytest_subprocess("-p", "no:cacheprovider", f"--xray-db={db.name}",
                                              "--xray-report=report.html")  # fmt: skip
        result.assert_outcomes(passed=2)
        assert sorted(p.name for p in project.path.glob(f"{db.name}*")) == [db.name]
        assert stored(db)["counts"]["tests"] == 2


def git_run(db: Path) -> tuple[Any, ...]:
    conn = sqlite3.connect(db)
    try:
        [row] = conn.execute("SELECT git_commit, git_branch, git_dirty FROM runs").fetchall()
    finally:
        conn.close()
    return tuple(row)


@linux_only
def test_the_git_state_the_keeper_looks_up_is_the_one_pytest_would(
    project: pytest.Pytester,
) -> None:
    # the keeper runs git in place of the pytest process: the run row, the report and the
    # summary show what the pytest process writing the run itself shows, and when the keeper
    # is killed, the pytest process looks it up at the end
    project.makepyfile(test_k=TESTS, test_l=KILL_THE_KEEPER.replace("def test_", "def killing_"))
    git = ["git", "-c", "user.email=x@example.com", "-c", "user.name=x"]
    for args in (["init", "-q", "-b", "trunk"], ["add", "."], ["commit", "-q", "-m", "one"]):
        subprocess.run([*git, *args], cwd=project.path, check=True, capture_output=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project.path, check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    (project.path / "pipeline.py").write_text(
        (project.path / "pipeline.py").read_text() + "\n# changed\n"
    )
    shown = f"run * saved to *.db (commit {head[:10]} on trunk, dirty)"
    for name, args in (("kept", ()), ("itself", ("-o", "xray_keeper=false")),
                       ("killed", ("-o", "python_functions=killing_ test_"))):  # fmt: skip
        result = project.runpytest_subprocess(
            "-p", "no:cacheprovider", f"--xray-db={name}.db", f"--xray-report={name}.html", *args
        )
        result.assert_outcomes(passed=3 if name == "killed" else 2)
        result.stdout.fnmatch_lines([shown])
        assert ("note: the run's keeper process stopped" in result.stdout.str()) == (
            name == "killed"
        )
        assert git_run(project.path / f"{name}.db") == (head, "trunk", 1)
        page = (project.path / f"{name}.html").read_text(encoding="utf-8")
        assert head in page


@linux_only
def test_a_killed_keeper_loses_nothing_the_pytest_process_writes_the_run(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_k=TESTS, test_l=KILL_THE_KEEPER, test_m=TESTS)
    result = run(project)
    result.assert_outcomes(passed=5)
    assert result.ret == 0  # the run was written: a note, not an error
    result.stdout.fnmatch_lines([
        "report: report.html",
        "run * saved to runs.db",
        "note: the run's keeper process stopped (exit status -9*): pytest wrote runs.db and "
        "report.html",
    ])  # fmt: skip
    kept = stored(project.path / "runs.db")
    assert kept["status"] == "completed" and kept["counts"]["tests"] == 5
    assert [t for t, _ in kept["tests"]] == [
        "test_k.py::test_a", "test_k.py::test_b", "test_l.py::test_kill_the_keeper",
        "test_m.py::test_a", "test_m.py::test_b",
    ]  # fmt: skip
    # every trace once: those the keeper had written are replaced whole, not doubled
    assert [(t, name) for t, _, name, *_ in kept["traces"]] == [
        (test, step)
        for test in ("test_k.py::test_a", "test_k.py::test_b", "test_m.py::test_a",
                     "test_m.py::test_b")
        for step in ("keyword_generation", "filter_and_select")
    ]  # fmt: skip
    page = (project.path / "report.html").read_text(encoding="utf-8")
    assert "test_m.py::test_b" in page and "test_k.py::test_a" in page


def test_a_keeper_that_cannot_start_leaves_the_work_to_the_pytest_process(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_k=TESTS)
    project.makeconftest(
        MODULES_SEEN + "\n\ndef pytest_configure(config):\n"
        "    sys.executable = '/nonexistent/python'  # no interpreter to start it with\n"
    )
    result = run(project)
    result.assert_outcomes(passed=2)
    assert json.loads((project.path / "modules.json").read_text()) == [
        "xray_core.store.sqlite", "xray_core.store.writer", "a page rendered"
    ]  # fmt: skip
    kept = stored(project.path / "runs.db")
    assert kept["status"] == "completed" and len(kept["tests"]) == 2
    assert (project.path / "report.html").is_file()
    assert "note:" not in "".join(result.outlines)


messages = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    | st.binary(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=30,
).map(lambda value: ("keep", value))


@given(messages, messages)
def test_messages_are_read_back_as_written_and_a_cut_frame_is_the_end(
    first: tuple[Any, ...], second: tuple[Any, ...]
) -> None:
    data = frame(first) + frame(second)
    source = io.BytesIO(data)
    assert read_frame(source) == first
    assert read_frame(source) == second
    assert read_frame(source) is None
    for cut in (1, len(frame(first)) + 5, len(data) - 1):
        source = io.BytesIO(data[:cut])
        while (message := read_frame(source)) is not None:
            assert message == first  # only a whole frame is ever read


@given(messages, messages)
def test_a_framer_kept_between_messages_frames_each_as_on_its_own(
    first: tuple[Any, ...], second: tuple[Any, ...]
) -> None:
    # the keeper's pickler and buffer serve every message of a session: nothing of a message
    # (nor of one that failed to pickle halfway) stays in the next frame
    framer = Framer()
    assert framer.frame(second) == frame(second)
    with pytest.raises(TypeError, match="cannot pickle 'generator'"):
        framer.frame(("keep", [first, (n for n in ())]))
    data = framer.frame(first) + framer.frame(second)
    assert data == frame(first) + frame(second)
    source = io.BytesIO(data)
    assert read_frame(source) == first
    assert read_frame(source) == second


HOSTILE = "</script><!--<b>&amp;\u2028'\"\ud800"


def recorded(count: int) -> list[Captured]:
    """``count`` traces really recorded, as the plugin captures them (test and run ids set)."""
    xr = XRay(store=MemoryStore())
    captured = []
    for n in range(count):
        with xr.trace(f"trace {n}", metadata={"n": n, "text": HOSTILE}) as trace:
            with trace.step("filter", input={"price": 20.0 + n}) as step:
                for item in ("B1", "B2"):
                    step.add_evaluation(item_id=item, item_data={"id": item},
                                        filters=[{"name": "price", "passed": item == "B1"}],
                                        qualified=item == "B1", reasoning=HOSTILE)  # fmt: skip
                step.set_output({"selected": "B1"})
        trace.record.update(test_id=f"test_k.py::test_{n}", run_id="run")
        captured.append(Captured(trace.record, trace.steps))
    return captured


results = st.builds(
    TestResult,
    test_id=st.sampled_from(["test_k.py::test_0", "test_k.py::test_1", "test_k.py::other"]),
    outcome=st.sampled_from(["passed", "failed", "skipped", "error", "xfailed", "unknown"]),
    duration_ms=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    baseline=st.sampled_from([None, "passed", "failed", "written", "missing", "error"]),
    message=st.none() | st.text() | st.just(HOSTILE),
)


def page(path: Path) -> bytes:
    """The page's bytes but its time of writing (to the second)."""
    return re.sub(rb'"generated":"[^"]*"', b'"generated":""', path.read_bytes())


@given(st.lists(results, max_size=4, unique_by=lambda t: t.test_id), st.integers(0, 3))
def test_the_report_through_the_keeper_is_the_page_write_report_makes(
    tests: list[TestResult], handed_over: int
) -> None:
    # the "finish" message as the pytest process frames it (the tests' results as tuples, the
    # traces handed over as they finished referred to by position), read by a real RunKeeper:
    # the same bytes as the page of the same data written in the pytest process
    captured = recorded(3)
    run = RunRecord(run_id="run", started_at=datetime(2026, 11, 30, tzinfo=timezone.utc),
                    command="pytest", status="completed", counts={"tests": len(tests)})  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_report(root / "expected.html", ReportData(
            title="X-Ray report: k", run=run, tests=list(tests),
            traces=[(c.record, c.steps) for c in captured],
        ))  # fmt: skip
        keeper = RunKeeper()
        keeper.open(None, "run", str(root / "kept.html"), str(root))  # not a repository
        sent: dict[int, int] = {}
        for c in captured[:handed_over]:
            keeper.keep(None, [(c.record, c.steps)])
            sent[id(c)] = len(sent)
        data = ReportData(title="X-Ray report: k", run=run, tests=list(tests),
                          traces=[(c.record, c.steps) for c in captured])  # fmt: skip
        message = read_frame(io.BytesIO(frame(finish_message(None, [], captured, data, sent))))
        assert message is not None and message[0] == "finish"
        answer = keeper.finish(*message[1:])
        keeper.close()
        assert answer == {"git": (None, None, None), "report_error": None}
        assert page(root / "kept.html") == page(root / "expected.html")
        assert data.tests == tests  # the pytest process's data is left as it was
