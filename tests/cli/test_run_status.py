"""``xray runs`` shows how each run ended; ``xray diff`` compares completed runs only.

The command runs as a real process: ``python -m xray_core.cli``.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

from xray_core import Run, SQLiteStore
from xray_core.models import RunStatus

from .conftest import COMMIT_A, COMMIT_B, add_run

History = tuple[Path, list[Run]]
PICK, CUT = "tests/test_pick.py::test_pick", "tests/test_pick.py::test_cut"


def xray(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xray_core.cli", *map(str, args)], capture_output=True, text=True,
        timeout=120, env={**os.environ, "COLUMNS": "200"}, check=False,
    )  # fmt: skip


def mark(db: Path, run: Run, status: RunStatus, pid: int | None = None) -> Run:
    """Give ``run`` another status (and this host with ``pid``) in the database."""
    changed = run.model_copy(update={"status": status, "host": socket.gethostname(), "pid": pid})
    with SQLiteStore(db, strict=True) as store:
        store.save_run(changed)
    return changed


def add_interrupted(db: Path, index: int) -> Run:
    """A run whose test_cut was interrupted: its trace was kept, its test row never written."""
    run = add_run(db, 30.0, commit=COMMIT_B, index=index, tests=(PICK, CUT))
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM run_tests WHERE run_id = ? AND test_id = ?", (run.run_id, CUT))
    return mark(db, run, "interrupted")


def gone_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def test_runs_shows_each_status(history: History) -> None:
    db, runs = history
    interrupted = add_interrupted(db, 3)
    failed = mark(db, add_run(db, 10.0, commit=COMMIT_A, index=4), "failed")
    live = mark(db, add_run(db, 10.0, commit=COMMIT_A, index=5), "running", os.getpid())
    killed = mark(db, add_run(db, 10.0, commit=COMMIT_A, index=6), "running", gone_pid())
    listed = xray("runs", "--db", db)
    assert listed.returncode == 0, listed.stderr
    ids = {r.run_id[:8] for r in [*runs, interrupted, failed, live, killed]}
    # columns: run, started (date, time), commit (sha, branch), status, ...
    status_of = {
        line.split()[0]: line.split()[5]
        for line in listed.stdout.splitlines()
        if line.split() and line.split()[0] in ids
    }
    assert status_of == {
        runs[0].run_id[:8]: "completed", runs[1].run_id[:8]: "completed",
        runs[2].run_id[:8]: "completed", interrupted.run_id[:8]: "interrupted",
        failed.run_id[:8]: "failed", live.run_id[:8]: "running",
        killed.run_id[:8]: "unfinished",
    }  # fmt: skip
    as_json = json.loads(xray("runs", "--db", db, "--json").stdout)
    assert [r["status"] for r in as_json] == ["running", "running", "failed", "interrupted",
                                              "completed", "completed", "completed"]  # fmt: skip


def test_latest_skips_runs_that_did_not_complete_and_says_so(history: History) -> None:
    db, runs = history
    interrupted = add_interrupted(db, 3)
    done = xray("diff", "--db", db, "latest~1", "latest")
    assert done.returncode == 1  # runs[1] -> runs[2]: B02 flips, as without the interruption
    assert f"A: {runs[1].run_id[:8]}" in done.stdout and f"B: {runs[2].run_id[:8]}" in done.stdout
    assert "B02: qualified -> rejected by price" in done.stdout
    assert done.stderr == (
        "xray: note: latest and latest~N count completed runs only; skipped 1 newer run(s) that "
        f"did not complete: {interrupted.run_id[:8]} (interrupted)\n"
    )
    too_far = xray("diff", "--db", db, "latest~3", "latest")
    assert too_far.returncode == 2
    assert "only 3 completed run(s) recorded (1 more did not complete)" in too_far.stderr


def test_a_run_that_did_not_complete_is_refused_naming_its_status(history: History) -> None:
    db, runs = history
    interrupted = add_interrupted(db, 3)
    killed = mark(db, add_run(db, 10.0, commit=COMMIT_A, index=4), "running", gone_pid())
    for run, words in ((interrupted, "was interrupted"), (killed, "did not finish")):
        refused = xray("diff", "--db", db, runs[2].run_id, run.run_id[:10])
        assert refused.returncode == 2 and refused.stdout == ""
        assert refused.stderr.startswith(f"xray: error: run {run.run_id[:8]} {words}")
        assert "--partial" in refused.stderr


def test_partial_compares_only_the_tests_both_runs_finished(history: History) -> None:
    db, runs = history
    # the completed run before it had both tests
    before = add_run(db, 20.0, commit=COMMIT_B, index=3, tests=(PICK, CUT))
    interrupted = add_interrupted(db, 4)
    done = xray("diff", "--db", db, before.run_id, interrupted.run_id, "--partial")
    assert done.returncode == 1, done.stderr  # min price 20 -> 30: B03 now fails price too
    assert "B03: rejected by rating -> rejected by price, rating" in done.stdout
    assert f"note: B: run {interrupted.run_id[:8]} was interrupted" in done.stdout
    assert ("partial: only the 1 test(s) that finished in both runs are compared; "
            "1 test(s) left out") in done.stdout  # fmt: skip
    assert CUT not in done.stdout  # neither compared nor listed as only in A/B
    assert "1 trace(s) compared" in done.stdout and "0 only in A, 0 only in B" in done.stdout
    data = json.loads(xray("diff", "--db", db, before.run_id, interrupted.run_id, "--partial",
                           "--json").stdout)  # fmt: skip
    assert data["partial"] == {"tests_compared": 1, "tests_left_out": 1}
    assert data["b"]["status"] == "interrupted"
    # two completed runs: --partial changes nothing
    same = xray("diff", "--db", db, runs[0].run_id, runs[1].run_id, "--partial", "--json")
    assert json.loads(same.stdout)["partial"] is None
