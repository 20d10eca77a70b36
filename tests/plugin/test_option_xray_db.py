"""``--xray-db[=PATH]`` (ini ``xray_db``): one run row with git state, counts, tests and traces."""

from __future__ import annotations

import shlex
import sqlite3
import subprocess
import sys

import pytest

from xray_core import SQLiteStore

TESTS = """
import pytest
from pipeline import select

def test_pass(xray):
    select([5, 20])
    select([30], name="again")

def test_fail():
    select([5])
    assert False

@pytest.mark.skip
def test_skip():
    pass

def test_baseline(xray):
    select([5])
    xray.assert_baseline()
"""


def only_run(path):
    store = SQLiteStore(path, strict=True)
    try:
        [run] = store.list_runs()
        return run, store.run_tests(run.run_id), store.list_traces(None, run_id=run.run_id)
    finally:
        store.close()


def test_run_row_tests_and_traces(project: pytest.Pytester) -> None:
    project.makepyfile(test_db=TESTS)
    result = project.runpytest("--xray-db")
    result.assert_outcomes(passed=1, failed=2, skipped=1)
    result.stdout.fnmatch_lines(
        ["run * saved to .xray/runs.db", "Next: create the missing baselines with: *"]
    )
    run, tests, traces = only_run(project.path / ".xray" / "runs.db")
    assert run.git_commit is None and run.git_branch is None and run.git_dirty is None
    assert run.command.startswith("pytest --xray-db")
    assert run.started_at <= run.finished_at
    assert run.counts == {
        "tests": 4,
        "passed": 1,
        "failed": 2,
        "skipped": 1,
        "traces": 4,
        "steps": 8,
        "failed_steps": 0,
        "baseline_passed": 0,
        "baseline_failed": 1,
        "baseline_written": 0,
        "baseline_unused": 0,
    }
    assert [(t["test_id"], t["outcome"], t["baseline"]) for t in tests] == [
        ("test_db.py::test_baseline", "failed", "missing"),
        ("test_db.py::test_fail", "failed", None),
        ("test_db.py::test_pass", "passed", None),
        ("test_db.py::test_skip", "skipped", None),
    ]
    assert all(t["duration_ms"] >= 0 for t in tests)
    messages = {t["test_id"]: t["message"] for t in tests}
    assert "assert False" in messages["test_db.py::test_fail"]
    assert messages["test_db.py::test_pass"] is None
    assert sorted((t.test_id, t.name) for t in traces) == [
        ("test_db.py::test_baseline", "selection"),
        ("test_db.py::test_fail", "selection"),
        ("test_db.py::test_pass", "again"),
        ("test_db.py::test_pass", "selection"),
    ]
    assert traces[0].step("filter_and_select").evaluations[0].item_id == "B0"


def test_git_state_is_recorded(project: pytest.Pytester) -> None:
    project.makepyfile(test_g="from pipeline import select\n\ndef test_g():\n    select([5])\n")
    git = ["git", "-c", "user.email=x@example.com", "-c", "user.name=x"]
    for args in (["init", "-q", "-b", "trunk"], ["add", "."], ["commit", "-q", "-m", "one"]):
        subprocess.run([*git, *args], cwd=project.path, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project.path, check=True, capture_output=True, text=True
    ).stdout.strip()
    project.runpytest("--xray-db=runs.db").assert_outcomes(passed=1)
    run, _, _ = only_run(project.path / "runs.db")
    assert (run.git_commit, run.git_branch, run.git_dirty) == (head, "trunk", False)
    (project.path / "pipeline.py").write_text((project.path / "pipeline.py").read_text() + "\n")
    result = project.runpytest("--xray-db=runs.db")
    result.stdout.fnmatch_lines([f"run * saved to runs.db (commit {head[:10]} on trunk, dirty)"])


def test_path_parents_are_created_and_runs_accumulate(project: pytest.Pytester) -> None:
    project.makepyfile(test_p="from pipeline import select\n\ndef test_p():\n    select([5])\n")
    project.runpytest("--xray-db=deep/er/history.db").assert_outcomes(passed=1)
    project.runpytest("--xray-db=deep/er/history.db").assert_outcomes(passed=1)
    store = SQLiteStore(project.path / "deep" / "er" / "history.db", strict=True)
    assert len(store.list_runs()) == 2
    assert len(store.list_traces(None)) == 2
    store.close()


def test_ini_twin(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nxray_db = history/runs.db\n")
    project.makepyfile(test_i="def test_i():\n    pass\n")
    project.runpytest().assert_outcomes(passed=1)
    run, tests, _ = only_run(project.path / "history" / "runs.db")
    assert run.counts["tests"] == 1 and tests[0]["outcome"] == "passed"


def test_a_test_path_after_the_option_is_a_usage_error(project: pytest.Pytester) -> None:
    (project.path / "tests").mkdir()
    result = project.runpytest("--xray-db", "tests")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--xray-db got 'tests', which looks like a test path*"])


def test_newer_database_is_refused_and_fails_the_run(project: pytest.Pytester) -> None:
    db = project.path / "new.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 999")
    project.makepyfile(test_n="def test_n():\n    pass\n")
    result = project.runpytest("--xray-db=new.db")
    result.assert_outcomes(passed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["error: the run was not saved to *new.db: *schema version 999*"])


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (["--xray-db=out"], "", "--xray-db got 'out', which looks like a test path or a dir*"),
        ([], "xray_db = out", "xray_db = 'out' is a directory; give the file*, e.g. out/runs.db"),
    ],
    ids=["option", "ini"],
)
def test_a_directory_is_a_usage_error(
    project: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    (project.path / "out").mkdir()
    project.makeini(f"[pytest]\n{ini}\n")
    project.makepyfile(test_d="def test_d():\n    raise AssertionError('must not run')\n")
    result = project.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


def next_command(result: pytest.RunResult) -> list[str]:
    """The command of the summary's "Next: ... with: xray ..." line, ready to run."""
    [line] = [line for line in result.outlines if line.startswith("Next:")]
    command = shlex.split(line.split(": ", 2)[-1])
    assert command[0] == "xray", line
    return [sys.executable, "-m", "xray_core.cli", *command[1:]]


@pytest.mark.parametrize("db", ["", "=history/my runs.db"], ids=["default", "custom path"])
def test_the_next_step_after_a_run_is_a_command_that_works(
    project: pytest.Pytester, db: str
) -> None:
    project.makepyfile(test_n="from pipeline import select\n\ndef test_n():\n    select([20])\n")
    first = project.runpytest(f"--xray-db{db}")
    first.assert_outcomes(passed=1)
    command = next_command(first)
    assert "diff" not in command  # one run: nothing to compare with yet
    done = subprocess.run(command, cwd=project.path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "1 run(s), most recent first" in done.stdout

    second = project.runpytest(f"--xray-db{db}")
    command = next_command(second)
    assert command[3] == "diff" and command[-2:] == ["latest~1", "latest"]
    done = subprocess.run(command, cwd=project.path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no differences: 1 trace(s) compared" in done.stdout


def test_after_an_interrupted_run_the_next_step_is_no_comparison(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_s="def test_a():\n    assert False\n\ndef test_b():\n    pass\n")
    project.runpytest("--xray-db").assert_outcomes(failed=1, passed=1)
    stopped = project.runpytest("--xray-db", "-x")
    stopped.stdout.fnmatch_lines(
        ["run * (interrupted) saved to .xray/runs.db", "Next: see the kept runs with: xray runs"]
    )
