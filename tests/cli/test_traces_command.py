"""``xray traces``: every recorded trace, newest first, including those recorded with XRAY_DB."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from xray_core import SQLiteStore

from .conftest import COMMIT_A, add_run
from .realcli import xray

PRODUCTION = """
import sys
import xray_core as xray

for name in sys.argv[1:]:
    try:
        with xray.trace(name, metadata={"request": name}) as trace:
            with xray.step("lookup") as step:
                step.set_output({"found": name != "broken"})
            with xray.step("answer"):
                if name == "broken":
                    raise RuntimeError("no answer")
    except RuntimeError:
        pass
    print(trace.trace_id)
"""


def record_with_xray_db(db: Path, *names: str) -> list[str]:
    """Record one trace per name with ``XRAY_DB`` in a process of its own (no pytest)."""
    done = subprocess.run([sys.executable, "-c", PRODUCTION, *names], capture_output=True,
                          env={**os.environ, "XRAY_DB": str(db)}, text=True, timeout=120,
                          check=True)  # fmt: skip
    return done.stdout.split()


def test_traces_lists_production_and_test_traces_newest_first(tmp_path: Path) -> None:
    db = tmp_path / ".xray" / "runs.db"
    run = add_run(db, 10.0, commit=COMMIT_A, index=-100_000)  # started in 2014: the oldest
    ids = record_with_xray_db(db, "search", "broken")
    done = xray("traces", cwd=tmp_path)  # the database found from the current folder
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("3 trace(s), most recent first (times in UTC)")
    rows = [line for line in lines if line.startswith(" ") and line.split()[0] != "trace"]
    assert [row.split()[0] for row in rows] == [ids[1][:8], ids[0][:8], _ids(db, run.run_id)]
    broken, search, from_test = rows
    assert "broken" in broken and "failed" in broken and broken.rstrip().endswith("—")
    assert "search" in search and "completed" in search and search.split()[5] == "2"  # steps
    assert from_test.rstrip().endswith("tests/test_pick.py::test_pick")
    assert lines[-1] == f"see one with: xray show {ids[1][:8]}"
    shown = xray(*shlex.split(lines[-1].removeprefix("see one with: xray ")), cwd=tmp_path)
    assert shown.returncode == 0 and ids[1] in shown.stdout  # the hint works verbatim


def _ids(db: Path, run_id: str) -> str:
    with SQLiteStore(db, strict=True, read_only=True) as store:
        return store.list_traces(1, run_id=run_id)[0].trace_id[:8]


def test_traces_filters_limit_and_json(tmp_path: Path) -> None:
    db = tmp_path / "prod.db"
    ids = record_with_xray_db(db, "search", "broken", "search", "other")
    done = xray("traces", "--db", db, "--name", "search", "--json")
    listed = json.loads(done.stdout)
    assert [t["trace_id"] for t in listed] == [ids[2], ids[0]]
    assert set(listed[0]) == {"trace_id", "name", "status", "start_time", "end_time",
                              "duration_ms", "run_id", "test_id", "steps"}  # fmt: skip
    assert (listed[0]["run_id"], listed[0]["test_id"], listed[0]["steps"]) == (None, None, 2)
    failed = json.loads(xray("traces", "--db", db, "--status", "failed", "--json").stdout)
    assert [t["trace_id"] for t in failed] == [ids[1]]
    done = xray("traces", "--db", db, "--limit", "1")
    assert "1 trace(s), most recent first (times in UTC); --limit N shows more" in done.stdout
    assert ids[3][:8] in done.stdout and ids[2][:8] not in done.stdout
    assert done.stdout.splitlines()[-1] == f"see one with: xray show {ids[3][:8]} --db {db}"
    none = xray("traces", "--db", db, "--name", "nothing")
    assert (none.returncode, none.stdout) == (0, f"no trace matching the filters in {db}\n")
    bad = xray("traces", "--db", db, "--status", "lost")
    assert bad.returncode == 2 and "argument --status: invalid choice: 'lost'" in bad.stderr


def test_traces_of_an_empty_database(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    SQLiteStore(db, strict=True).close()
    done = xray("traces", "--db", db)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"no trace in {db}\n", "")
    assert json.loads(xray("traces", "--db", db, "--json").stdout) == []
