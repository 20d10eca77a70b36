"""Part 7: under pytest-xdist (``-n 2``) there is one run, one report and the same summary."""

from __future__ import annotations

import sqlite3

import pytest

from xray_core import SQLiteStore

TESTS = """
import pytest
from pipeline import select

@pytest.mark.parametrize("n", range(6))
def test_many(xray, n):
    select([5, 20 + n])
    xray.assert_baseline()

def test_stale():
    pass
"""


def test_one_run_with_every_trace_and_unused_detection(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_x=TESTS.replace(
            "def test_stale():\n    pass",
            "def test_stale(xray):\n    select([1])\n    xray.assert_baseline()",
        )
    )
    project.runpytest("--xray-update").assert_outcomes(passed=7)
    project.makepyfile(test_x=TESTS)
    result = project.runpytest_subprocess(
        "-n", "2", "-p", "no:cacheprovider", "--xray-db=runs.db", "--xray-report=r.html"
    )  # fmt: skip
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(
        [
            "6 traces captured in 6 tests",
            "6 baselines: 6 passed",
            "1 unused baseline:",
            "  __xray_baselines__/test_x.test_stale.json",
            "run * saved to runs.db",
        ]
    )
    store = SQLiteStore(project.path / "runs.db", strict=True)
    [run] = store.list_runs()
    traces = store.list_traces(None, run_id=run.run_id)
    assert len(traces) == 6 and len({t.test_id for t in traces}) == 6
    assert run.counts["tests"] == 7 and run.counts["baseline_passed"] == 6
    assert run.counts["baseline_unused"] == 1
    store.close()
    html = (project.path / "r.html").read_text()
    assert all(f"test_x.py::test_many[{n}]" in html for n in range(6))
    deleted = project.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", "--xray-update")
    deleted.stdout.fnmatch_lines(["1 unused baseline deleted:"])
    assert not (project.path / "__xray_baselines__" / "test_x.test_stale.json").exists()


def test_a_crashed_worker_never_makes_baselines_unused(project: pytest.Pytester) -> None:
    # Its payload (which baselines its tests used) is lost: nothing may be called unused.
    project.makepyfile(
        test_c=TESTS.replace("def test_stale():\n    pass", "def test_crash():\n    os._exit(1)")
        .replace("import pytest", "import os\nimport pytest")
        .replace("range(6)", "range(4)")
    )
    project.runpytest("--xray-update", "-k", "many").assert_outcomes(passed=4, deselected=1)
    result = project.runpytest_subprocess(
        "-n", "2", "--max-worker-restart=0", "-p", "no:cacheprovider", "--xray-update"
    )  # fmt: skip
    assert "unused baselines deleted" not in result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            (
                "error: pytest-xdist worker gw* crashed: its traces and baseline checks are lost, "
                "so unused baselines were not looked for"
            )
        ]
    )
    assert len(list((project.path / "__xray_baselines__").glob("*.json"))) == 4


def test_workers_add_their_tests_to_one_run_without_duplicates(project: pytest.Pytester) -> None:
    project.makepyfile(test_x=TESTS)
    result = project.runpytest_subprocess(
        "-n", "2", "-p", "no:cacheprovider", "--xray-db=runs.db", "--xray-update"
    )  # fmt: skip
    result.assert_outcomes(passed=7)
    db = project.path / "runs.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM traces").fetchone() == (6,)
        assert conn.execute("SELECT count(*) FROM steps").fetchone() == (12,)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with SQLiteStore(db, strict=True) as store:
        [run] = store.list_runs()
        tests = store.run_tests(run.run_id)
    assert run.status == "completed" and run.counts["tests"] == 7
    assert len(tests) == 7
    # the workers knew the baseline verdicts of their tests: their rows carry them
    assert {t["baseline"] for t in tests if "many" in t["test_id"]} == {"written"}


CRASHING = """
import os
import sqlite3
import time

import pytest
from pipeline import select

@pytest.mark.parametrize("n", range(6))
def test_many(xray, n, request):
    select([5, 20 + n])
    xray.assert_baseline()
    with open("ran-" + os.environ.get("PYTEST_XDIST_WORKER", "none"), "a") as ran:
        ran.write(request.node.nodeid + "\\n")

def test_crash():
    # Crash once this worker's writer thread has committed the tests it finished: a crash
    # loses what was still queued (the controller then writes those rows, without verdicts).
    name = "ran-" + os.environ["PYTEST_XDIST_WORKER"]
    ran = set(open(name).read().split()) if os.path.exists(name) else set()
    conn = sqlite3.connect("runs.db")
    for _ in range(6000):  # at most a minute: then the assertions below say what is missing
        if not ran - {row[0] for row in conn.execute("SELECT test_id FROM run_tests")}:
            break
        time.sleep(0.01)
    os._exit(1)
"""


def test_a_crashed_worker_makes_the_run_interrupted_and_keeps_its_tests(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_c=CRASHING)
    project.runpytest("--xray-update", "-k", "many").assert_outcomes(passed=6, deselected=1)
    result = project.runpytest_subprocess(
        "-n", "2", "--max-worker-restart=0", "-p", "no:cacheprovider", "--xray-db=runs.db"
    )  # fmt: skip
    outcomes = result.parseoutcomes()
    with SQLiteStore(project.path / "runs.db", strict=True) as store:
        [run] = store.list_runs()
        tests = {t["test_id"]: t for t in store.run_tests(run.run_id)}
    assert run.status == "interrupted"
    result.stdout.fnmatch_lines(["run * (interrupted) saved to runs.db"])
    # the controller adds the row of the test the worker crashed in
    assert tests["test_c.py::test_crash"]["outcome"] == "error"
    assert "crashed" in tests["test_c.py::test_crash"]["message"]
    # every test reported as passed was kept, with the verdict its worker knew (the crashed
    # worker's verdicts never reached the controller: its own rows carry them)
    passed = [t for t in tests.values() if t["outcome"] == "passed"]
    assert len(passed) == outcomes["passed"] > 0
    assert {t["baseline"] for t in passed} == {"passed"}


def test_a_worker_sends_snapshot_text_as_the_data_it_holds() -> None:
    """The recorder may keep a step's input or output as its JSON text (bytes): the worker's
    JSON to the controller carries the data that text holds, not a failure to encode bytes."""
    import json

    from xray_core.serialize import thawed

    step = {"input": '{"q": ["café", 1.5, null]}'.encode(), "output": [1], "reasoning": "r"}
    sent = json.dumps({"traces": [[{"trace_id": "t"}, [step]]]}, default=thawed)
    assert json.loads(sent)["traces"][0][1] == [
        {"input": {"q": ["café", 1.5, None]}, "output": [1], "reasoning": "r"}
    ]
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        json.dumps({"steps": [{"input": {1}}]}, default=thawed)
