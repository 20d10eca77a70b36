"""Issue 10 part 3: CI shards (``pytest --xray-db`` on N machines sharing ``--xray-run-id``)
are exported, imported into one history and reported as one run.

Every step is the real thing: pytest sessions in their own processes (one under pytest-xdist),
a real git repository, and the ``xray`` command as a real process.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.cli.realcli import digest, one_line_error, xray
from tests.report.test_render import payload_of

SHARD_A = """
from pipeline import select

def test_a1():
    assert select([5, 20, 30]) == "B1"

def test_a2():
    select([15], name="single")
"""
SHARD_B = """
from pipeline import select

def test_b1():
    select([25, 35], name="pair")

def test_b2():
    select([50], name="too-dear")
    assert False, "fails on purpose"
"""
SHARD_C = """
from pipeline import select

def test_c1():
    select([11])

def test_c2():
    select([12, 13])

def test_c3():
    select([14, 41])
"""


def git(path: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=ci@example.com", "-c", "user.name=CI", *args],
        cwd=path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def commit(path: Path, message: str) -> str:
    git(path, "add", "-A", "--", "*.py")
    git(path, "commit", "-q", "-m", message)
    return git(path, "rev-parse", "HEAD")


def shard(project: pytest.Pytester, db: str, *args: str) -> pytest.RunResult:
    """One CI machine: a real pytest process writing its own database."""
    return project.runpytest_subprocess("-p", "no:cacheprovider", f"--xray-db={db}", *args)


def trace_ids(*dbs: Path) -> set[str]:
    found: set[str] = set()
    for db in dbs:
        with sqlite3.connect(db) as conn:
            found |= {row[0] for row in conn.execute("SELECT trace_id FROM traces")}
    return found


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert (done.returncode, done.stderr) == (0, ""), (done.returncode, done.stderr)
    return done.stdout


@pytest.fixture
def suite(project: pytest.Pytester) -> pytest.Pytester:
    project.makepyfile(test_a=SHARD_A, test_b=SHARD_B, test_c=SHARD_C)
    git(project.path, "init", "-q")
    return project


def test_three_shards_become_one_run_in_one_history(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = suite.path
    first_commit = commit(path, "first")
    # three machines of one CI build: the id by option, by environment, and under pytest-xdist
    shard(suite, "s1.db", "test_a.py", "--xray-run-id=ci-42").assert_outcomes(passed=2)
    monkeypatch.setenv("XRAY_RUN_ID", "ci-42")
    shard(suite, "s2.db", "test_b.py").assert_outcomes(passed=1, failed=1)
    shard(suite, "s3.db", "-k", "test_c", "-n", "2").assert_outcomes(passed=3)
    # a fourth machine whose share of the suite is empty: its run holds no test
    assert shard(suite, "s4.db", "-k", "nothing_matches").ret == pytest.ExitCode.NO_TESTS_COLLECTED
    monkeypatch.delenv("XRAY_RUN_ID")
    shards = [path / f"s{i}.db" for i in (1, 2, 3, 4)]
    exports = [path / f"s{i}.jsonl" for i in (1, 2, 3, 4)]
    for db, export in zip(shards, exports, strict=True):
        ok(xray("export", "latest", "-o", export, "--db", db))

    merged = path / "history" / "runs.db"
    lines = ok(xray("import", *exports, "--db", merged)).splitlines()
    assert lines == [
        f"{exports[0]}: 1 run(s) added, 0 already present (2 trace(s) written) in {merged}",
        f"{exports[1]}: merged as a shard into run ci-42 (2 test(s), 2 trace(s) written) in "
        f"{merged}",
        f"{exports[2]}: merged as a shard into run ci-42 (3 test(s), 3 trace(s) written) in "
        f"{merged}",
        f"{exports[3]}: merged as a shard into run ci-42 (0 test(s), 0 trace(s) written) in "
        f"{merged}",
    ]

    (run,) = json.loads(ok(xray("runs", "--json", "--db", merged)))
    assert run["run_id"] == "ci-42" and run["status"] == "completed"
    assert run["git_commit"] == first_commit
    counts = run["counts"]
    assert (counts["tests"], counts["passed"], counts["failed"], counts["traces"]) == (7, 6, 1, 7)
    assert counts["steps"] == 14
    commands = run["command"].split(" ; ")
    assert len(commands) == 4, commands
    asked_for = ["test_a.py", "test_b.py", "-k test_c -n 2", "-k nothing_matches"]
    for command, asked in zip(commands, asked_for, strict=True):
        assert asked in command, (asked, command)
    assert all(c.startswith("pytest ") for c in commands)

    # the dashboard of the one run: every shard's tests and traces
    ok(xray("report", "latest", "-o", path / "report.html", "--db", merged))
    payload = payload_of((path / "report.html").read_text(encoding="utf-8"))
    outcomes = {t["id"]: t["outcome"] for t in payload["tests"]}
    assert outcomes == {
        "test_a.py::test_a1": "passed", "test_a.py::test_a2": "passed",
        "test_b.py::test_b1": "passed", "test_b.py::test_b2": "failed",
        "test_c.py::test_c1": "passed", "test_c.py::test_c2": "passed",
        "test_c.py::test_c3": "passed",
    }  # fmt: skip
    assert {t["id"] for t in payload["traces"]} == trace_ids(*shards)
    assert len(trace_ids(*shards)) == 7

    # importing a shard again (the empty one too) adds nothing and changes nothing
    before = digest(merged)
    for export in (exports[1], exports[3]):
        again = ok(xray("import", export, "--db", merged))
        assert again == f"{export}: nothing added: its 1 run(s) were already present in {merged}\n"
    assert digest(merged) == before

    # a session that is not a shard of ci-42: the same tests again, then another commit
    shard(suite, "again.db", "test_a.py", "--xray-run-id=ci-42").assert_outcomes(passed=2)
    ok(xray("export", "latest", "-o", path / "again.jsonl", "--db", path / "again.db"))
    one_line_error(xray("import", path / "again.jsonl", "--db", merged),
                   "run 'ci-42' is already in", "cannot be a shard of it",
                   "test 'test_a.py::test_a1' and 1 more ran in both")  # fmt: skip
    (path / "test_a.py").write_text(SHARD_A.replace("[5, 20, 30]", "[5, 45, 30]").replace(
        '"B1"', '"B2"'))  # fmt: skip
    second_commit = commit(path, "second: B1 costs 45")
    shard(suite, "late.db", "test_c.py", "--xray-run-id=ci-42").assert_outcomes(passed=3)
    ok(xray("export", "latest", "-o", path / "late.jsonl", "--db", path / "late.db"))
    one_line_error(xray("import", path / "late.jsonl", "--db", merged),
                   f"recorded at commit {second_commit}, the stored run at {first_commit}",
                   "nothing was imported")  # fmt: skip
    assert digest(merged) == before

    # the next build (unsharded here): diff and history see the shards as one run
    shard(suite, "next.db").assert_outcomes(passed=6, failed=1)
    ok(xray("export", "latest", "-o", path / "next.jsonl", "--db", path / "next.db"))
    ok(xray("import", path / "next.jsonl", "--db", merged))
    diff = xray("diff", "ci-42", "latest", "--db", merged)
    assert diff.returncode == 1, diff.stderr
    assert "B1: qualified -> rejected by price" in diff.stdout
    assert "7 trace(s) compared" in diff.stdout, diff.stdout
    history = json.loads(ok(xray("history", "test_a1", "--item", "B1", "--json", "--db", merged)))
    assert [r["run_id"] for r in history["runs"]][:1] == ["ci-42"], history["runs"]
    assert len(history["runs"]) == 2


@pytest.mark.parametrize(("args", "env", "message"), [
    (("--xray-run-id=latest",), None, "--xray-run-id='latest' is not a usable run id"),
    (("--xray-run-id=a b",), None, "--xray-run-id='a b' is not a usable run id"),
    ((), "-x", "XRAY_RUN_ID='-x' is not a usable run id"),
])  # fmt: skip
def test_an_unusable_run_id_is_a_usage_error(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...], env: str | None, message: str,
) -> None:  # fmt: skip
    if env is not None:
        monkeypatch.setenv("XRAY_RUN_ID", env)
    result = shard(suite, "runs.db", "test_a.py", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
    assert not (suite.path / "runs.db").exists()


def test_a_run_id_already_in_the_database_is_refused(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    shard(suite, "runs.db", "test_a.py", "--xray-run-id=ci-7").assert_outcomes(passed=2)
    before = digest(suite.path / "runs.db")
    monkeypatch.setenv("XRAY_RUN_ID", "ci-7")
    again = shard(suite, "runs.db", "test_c.py")
    assert again.ret == pytest.ExitCode.USAGE_ERROR
    assert "run 'ci-7' is already in" in again.stderr.str()
    assert digest(suite.path / "runs.db") == before
    monkeypatch.setenv("XRAY_RUN_ID", "")  # an empty variable is no id: a new run
    shard(suite, "runs.db", "test_c.py").assert_outcomes(passed=3)
    (first, second) = json.loads(ok(xray("runs", "--json", "--db", suite.path / "runs.db")))
    assert second["run_id"] == "ci-7" and len(first["run_id"]) == 32
