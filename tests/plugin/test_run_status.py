"""``--xray-db`` keeps the run as it goes and says how it ended (``Run.status``).

The kill and interrupt cases run pytest as a real process and send it real signals: the test
waits (reading the database read-only) until the tests before a blocking one are kept, then
signals the session while that test blocks.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from xray_core import SQLiteStore

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

QUICK = """
import os
import time

import pytest

import xray_core as xc
from pipeline import select


@pytest.mark.parametrize("n", range({quick}))
def test_quick(n):
    assert select([5, 20 + n]) == "B1"


@pytest.mark.parametrize("n", range({blocking}))
def test_blocks(n):
    with xc.trace("blocking") as trace:
        with trace.step("wait"):
            open(f"waiting-{{n}}", "w").close()
            while not os.path.exists("release"):  # the session is signalled while it waits
                time.sleep(0.01)
"""


def pipeline_tests(quick: int = 3, blocking: int = 1) -> str:
    return QUICK.format(quick=quick, blocking=blocking)


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Read the database read-only (a missing file or table reads as no rows)."""
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.OperationalError:
        return []
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


#: pytest, with Python's own Ctrl-C handler even when this process was started ignoring SIGINT
#: (a shell's background job): ``python -m pytest`` would inherit the ignore
PYTEST = (
    "import signal, sys, pytest; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.exit(pytest.main(sys.argv[1:]))"
)


@pytest.fixture
def start_pytest() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start pytest in a real process (its own process group), output in ``cwd/pytest.log``;
    SIGINT acts as a Ctrl-C. Whatever is still running at the end of the test is killed.
    """
    started: list[subprocess.Popen[bytes]] = []

    def start(cwd: Path, *args: str) -> subprocess.Popen[bytes]:
        with (cwd / "pytest.log").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-c", PYTEST, "-p", "no:cacheprovider", "--xray-db=runs.db",
                 *args],
                cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:  # a failed test left it blocking: kill it and its workers
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)


def wait_for_tests(proc: subprocess.Popen[bytes], db: Path, count: int) -> None:
    """Block until ``count`` test rows of the run are committed (the session still going)."""
    deadline = time.monotonic() + 120  # a safety net only: this waits for rows, not for time
    while len(rows(db, "SELECT test_id FROM run_tests")) < count:
        log = (db.parent / "pytest.log").read_text(errors="replace")
        assert proc.poll() is None, f"pytest ended early ({proc.returncode}):\n{log}"
        assert time.monotonic() < deadline, f"no {count} test rows in time:\n{log}"
        time.sleep(0.02)


def xray(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``xray`` command, as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "xray_core.cli", *args], cwd=cwd, capture_output=True, text=True,
        timeout=120, env={**os.environ, "COLUMNS": "200"}, check=False,
    )  # fmt: skip


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def run_rows(db: Path) -> list[tuple[str, str, str | None]]:
    return [tuple(r) for r in rows(db, "SELECT run_id, status, finished_at FROM runs")]


@posix_only
def test_sigkill_keeps_every_finished_test_and_its_traces(
    project: pytest.Pytester, start_pytest: Callable[..., subprocess.Popen[bytes]]
) -> None:
    project.makepyfile(test_k=pipeline_tests())
    db = project.path / "runs.db"
    proc = start_pytest(project.path)
    wait_for_tests(proc, db, 3)
    proc.kill()
    assert proc.wait(timeout=60) == -signal.SIGKILL

    assert integrity(db) == "ok"
    [(run_id, status, finished_at)] = run_rows(db)
    assert status == "running" and finished_at is None
    with SQLiteStore(db, strict=True) as store:
        run = store.get_run(run_id)
        assert run is not None and run.host == socket.gethostname() and run.pid == proc.pid
        tests = store.run_tests(run_id)
        traces = store.list_traces(None, run_id=run_id)
    assert [(t["test_id"], t["outcome"]) for t in tests] == [
        (f"test_k.py::test_quick[{n}]", "passed") for n in range(3)
    ]
    assert sorted(t.test_id for t in traces) == [f"test_k.py::test_quick[{n}]" for n in range(3)]
    assert all(t.status == "completed" and len(t.steps) == 2 for t in traces)
    assert traces[0].decision("B1").qualified

    listed = xray(project.path, "runs", "--db", "runs.db")
    assert listed.returncode == 0, listed.stderr
    assert "unfinished" in listed.stdout and run_id[:8] in listed.stdout


@posix_only
def test_sigkill_of_a_pytest_xdist_session_keeps_every_finished_test(
    project: pytest.Pytester, start_pytest: Callable[..., subprocess.Popen[bytes]]
) -> None:
    pytest.importorskip("xdist")
    project.makepyfile(test_k=pipeline_tests(quick=6, blocking=2))  # blocking tests come last
    db = project.path / "runs.db"
    proc = start_pytest(project.path, "-n", "2")
    wait_for_tests(proc, db, 6)  # written by the workers as their tests finished
    os.killpg(proc.pid, signal.SIGKILL)  # the controller and both workers
    proc.wait(timeout=60)

    assert integrity(db) == "ok"
    [(run_id, status, _finished)] = run_rows(db)
    assert status == "running"
    with SQLiteStore(db, strict=True) as store:
        tests = [t["test_id"] for t in store.run_tests(run_id)]
        traces = sorted(t.test_id or "" for t in store.list_traces(None, run_id=run_id))
    assert tests == [f"test_k.py::test_quick[{n}]" for n in range(6)]
    assert traces == tests


@posix_only
@posix_only
@pytest.mark.parametrize("group", [False, True], ids=["pytest", "process-group"])
def test_ctrl_c_is_interrupted_and_never_a_decision_change(
    project: pytest.Pytester, start_pytest: Callable[..., subprocess.Popen[bytes]], group: bool
) -> None:
    # group: a terminal's Ctrl-C, which reaches the run's keeper process too (it ignores it:
    # the pytest process finishes the run through it)
    project.makepyfile(test_i=pipeline_tests())
    db = project.path / "runs.db"
    release = project.path / "release"
    release.touch()  # the first run goes through: every test completes
    first = start_pytest(project.path)
    assert first.wait(timeout=120) == 0
    release.unlink()
    waiting = project.path / "waiting-0"
    waiting.unlink()  # the first run's
    proc = start_pytest(project.path)
    wait_for_tests(proc, db, 3 + 4)  # the first run's 4 tests and this one's 3 quick tests
    deadline = time.monotonic() + 120  # a safety net, as in wait_for_tests
    while not waiting.exists():  # the blocking test is inside its step: the Ctrl-C lands there
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    if group:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == pytest.ExitCode.INTERRUPTED
    log = (project.path / "pytest.log").read_text()
    assert "KeyboardInterrupt" in log and "(interrupted) saved to runs.db" in log

    assert integrity(db) == "ok"
    with SQLiteStore(db, strict=True) as store:
        interrupted, completed = store.list_runs()
        tests = store.run_tests(interrupted.run_id)
        blocking = store.list_traces(None, run_id=interrupted.run_id, name="blocking")
    assert (completed.status, interrupted.status) == ("completed", "interrupted")
    assert interrupted.finished_at is not None and interrupted.counts["tests"] == 3
    assert [t["test_id"] for t in tests] == [f"test_i.py::test_quick[{n}]" for n in range(3)]
    # the interrupted test's trace is kept as it was recorded: its step failed on the Ctrl-C
    [trace] = blocking
    assert trace.status == "failed" and "KeyboardInterrupt" in (trace.steps[0].error or "")

    a, b = completed.run_id, interrupted.run_id
    refused = xray(project.path, "diff", a, b, "--db", "runs.db")
    assert refused.returncode == 2, refused.stdout
    assert f"run {b[:8]} was interrupted" in refused.stderr
    assert refused.stdout == ""
    partial = xray(project.path, "diff", a, b, "--partial", "--db", "runs.db")
    assert partial.returncode == 0, partial.stdout + partial.stderr
    assert "KeyboardInterrupt" not in partial.stdout
    assert "partial: only the 3 test(s) that finished in both runs are compared; 1 test(s) " \
           "left out" in partial.stdout  # fmt: skip
    assert "no differences: 3 trace(s) compared" in partial.stdout
    as_json = json.loads(xray(project.path, "diff", a, b, "--partial", "--json",
                              "--db", "runs.db").stdout)  # fmt: skip
    assert as_json["partial"] == {"tests_compared": 3, "tests_left_out": 1}
    assert as_json["differs"] is False

    # latest counts completed runs only: one completed run is not enough for latest~1
    latest = xray(project.path, "diff", "latest~1", "latest", "--db", "runs.db")
    assert latest.returncode == 2
    assert "only 1 completed run(s) recorded (1 more did not complete)" in latest.stderr
    release.touch()
    again = start_pytest(project.path)
    assert again.wait(timeout=120) == 0
    latest = xray(project.path, "diff", "latest~1", "latest", "--db", "runs.db")
    assert latest.returncode == 0, latest.stdout + latest.stderr
    assert f"skipped 1 newer run(s) that did not complete: {b[:8]} (interrupted)" in latest.stderr
    assert f"A: {a[:8]}" in latest.stdout and "no differences: 4 trace(s)" in latest.stdout
    listed = xray(project.path, "runs", "--db", "runs.db")
    assert listed.stdout.count("completed") == 2 and "interrupted" in listed.stdout


@pytest.mark.parametrize("stop", ["-x", "--maxfail=1"])
def test_a_stop_on_failure_is_interrupted(project: pytest.Pytester, stop: str) -> None:
    project.makepyfile(
        test_x="""
        from pipeline import select

        def test_a():
            select([5])
            assert False

        def test_b():
            select([20])
        """
    )
    result = project.runpytest(stop, "--xray-db=runs.db")
    result.assert_outcomes(failed=1)
    with SQLiteStore(project.path / "runs.db", strict=True) as store:
        [run] = store.list_runs()
        assert [t["test_id"] for t in store.run_tests(run.run_id)] == ["test_x.py::test_a"]
    assert run.status == "interrupted" and run.finished_at is not None
    result.stdout.fnmatch_lines(["run * (interrupted) saved to runs.db"])


def test_a_whole_run_is_completed_with_its_process(project: pytest.Pytester) -> None:
    project.makepyfile(test_c="from pipeline import select\n\ndef test_c():\n    select([20])\n")
    project.runpytest("--xray-db=runs.db").assert_outcomes(passed=1)
    with SQLiteStore(project.path / "runs.db", strict=True) as store:
        [run] = store.list_runs()
        assert store.list_runs(status="completed") == [run]
        assert store.list_runs(status="running") == []
    assert run.status == "completed" and run.counts["tests"] == 1
    assert (run.host, run.pid) == (socket.gethostname(), os.getpid())  # in-process pytester


def test_an_internal_error_is_failed_and_keeps_the_finished_tests(
    project: pytest.Pytester,
) -> None:
    project.makeconftest(
        """
        def pytest_runtest_logfinish(nodeid):
            if nodeid.endswith("test_b"):
                raise RuntimeError("a plugin broke")
        """
    )
    project.makepyfile(
        test_f="""
        from pipeline import select

        def test_a():
            select([20])

        def test_b():
            select([20])

        def test_c():
            pass
        """
    )
    result = project.runpytest("--xray-db=runs.db")
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    with SQLiteStore(project.path / "runs.db", strict=True) as store:
        [run] = store.list_runs()
        tests = [t["test_id"] for t in store.run_tests(run.run_id)]
        traces = {t.test_id for t in store.list_traces(None, run_id=run.run_id)}
    assert run.status == "failed"
    assert tests[0] == "test_f.py::test_a" and "test_f.py::test_c" not in tests
    assert "test_f.py::test_a" in traces


def test_the_run_row_exists_while_the_tests_run(project: pytest.Pytester) -> None:
    # A test reads the database its own session writes: its run is there, running, with the
    # tests that finished before it.
    project.makepyfile(
        test_live="""
        import sqlite3

        from pipeline import select

        def test_a():
            select([20])

        def test_b():
            import time
            conn = sqlite3.connect("runs.db")
            for _ in range(3000):  # the keeper commits test_a's row in the background
                try:
                    rows = conn.execute("SELECT test_id FROM run_tests").fetchall()
                except sqlite3.OperationalError:  # the keeper is still making the database
                    rows = []
                if rows:
                    break
                time.sleep(0.01)
            status = conn.execute("SELECT status FROM runs").fetchall()
            assert status == [("running",)]
            assert rows == [("test_live.py::test_a",)]
            assert conn.execute("SELECT count(*) FROM traces").fetchone() == (1,)
        """
    )
    project.runpytest("--xray-db=runs.db").assert_outcomes(passed=2)


def make_v3_database(path: Path) -> None:
    """A database as the previous release wrote it (schema version 3): one run, one test."""
    import sqlite_utils

    from xray_core.store.schema import MIGRATIONS

    conn = sqlite3.connect(path, isolation_level=None)
    for version in (1, 2, 3):
        MIGRATIONS[version](sqlite_utils.Database(conn))
    conn.execute("PRAGMA user_version = 3")
    conn.execute(
        "INSERT INTO runs VALUES ('old-run', '2025-01-01T00:00:00.000000+00:00', "
        "'2025-01-01T00:00:05.000000+00:00', NULL, NULL, NULL, 'pytest --xray-db', "
        "'{\"tests\": 1}')"
    )
    conn.execute(
        "INSERT INTO run_tests VALUES ('old-run', 't.py::test_old', 'passed', NULL, 1.5, NULL)"
    )
    conn.close()


def test_a_version_3_database_is_migrated_with_its_runs_completed(
    project: pytest.Pytester,
) -> None:
    make_v3_database(project.path / "runs.db")
    project.makepyfile(test_m="def test_m():\n    pass\n")
    result = project.runpytest("--xray-db=runs.db")
    result.assert_outcomes(passed=1)
    # two completed runs now: comparing them works
    result.stdout.fnmatch_lines(
        ["Next: compare with the previous run: xray diff --db runs.db latest~1 latest"]
    )
    with SQLiteStore(project.path / "runs.db", strict=True) as store:
        new, old = store.list_runs()
        assert old.run_id == "old-run" and old.status == "completed" and old.pid is None
        assert old.counts == {"tests": 1}
        assert new.status == "completed"
        assert [(t["test_id"], t["duration_ms"]) for t in store.run_tests("old-run")] == [
            ("t.py::test_old", 1.5)
        ]
    assert integrity(project.path / "runs.db") == "ok"
