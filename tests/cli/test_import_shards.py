"""``xray import`` merges the CI shards of one run (one run id, several pytest sessions)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from xray_core import Run
from xray_core.jsonl import RunBundle

from .conftest import COMMIT_A, COMMIT_B, T0, select_competitors
from .realcli import digest, one_line_error, xray
from .test_import_rules import _bundle, _counts, _rows, _write


def _shard(run_id: str, minutes: int, test: str, **changes: Any) -> RunBundle:
    """One shard's export: test ``test``, one trace, started ``minutes`` after T0."""
    start = T0 + timedelta(minutes=minutes)
    trace = select_competitors(10.0 + minutes, test_id=test, run_id=run_id, when=start)
    bundle = _bundle(run_id, trace, tests=(test,))
    fields: dict[str, Any] = {
        "run_id": run_id, "started_at": start, "finished_at": start + timedelta(minutes=1),
        "git_commit": COMMIT_A, "command": f"pytest {test}", "host": "ci", "pid": 100 + minutes,
        "counts": {"tests": 1, "passed": 1, "traces": 1},
    }  # fmt: skip
    bundle.run = Run(**{**fields, **changes})
    return bundle


def test_shards_in_one_import_and_across_imports(tmp_path: Path) -> None:
    files = [
        _write(tmp_path / f"s{i}.jsonl", [_shard("build-9", i, f"t.py::t{i}")]) for i in range(3)
    ]
    db = tmp_path / "runs.db"
    first = json.loads(xray("import", *files[:2], "--db", db, "--json").stdout)
    assert [(f["added"], f["already_present"], f["merged_shards"], f["tests"], f["traces"])
            for f in first["files"]] == [(["build-9"], [], [], 1, 1),
                                         ([], [], ["build-9"], 1, 1)]  # fmt: skip
    done = xray("import", files[2], "--db", db)
    assert done.stdout == (f"{files[2]}: merged as a shard into run build-9 (1 test(s), "
                           f"1 trace(s) written) in {db}\n")  # fmt: skip
    assert _counts(db) == {"runs": 1, "run_tests": 3, "traces": 3, "steps": 6}
    (run,) = json.loads(xray("runs", "--json", "--db", db).stdout)
    assert run["counts"] == {"tests": 3, "passed": 3, "traces": 3}
    assert run["command"] == "pytest t.py::t0 ; pytest t.py::t1 ; pytest t.py::t2"
    assert Run.model_validate(run).started_at == T0
    assert Run.model_validate(run).finished_at == T0 + timedelta(minutes=3)
    assert _rows(db, "SELECT host, pid FROM runs") == [("ci", None)]


def test_a_refused_shard_leaves_every_file_of_the_import_out(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    stored = _write(tmp_path / "a.jsonl", [_shard("build-9", 0, "t.py::a")])
    assert xray("import", stored, "--db", db).returncode == 0
    before = digest(db)
    good = _write(tmp_path / "good.jsonl", [_shard("other", 5, "t.py::x")])
    moved = _write(tmp_path / "moved.jsonl", [_shard("build-9", 1, "t.py::b", git_commit=COMMIT_B)])
    one_line_error(xray("import", good, moved, "--db", db), f"{moved}: run 'build-9' is already",
                   f"recorded at commit {COMMIT_B}, the stored run at {COMMIT_A}")  # fmt: skip
    twice = _write(tmp_path / "twice.jsonl", [_shard("build-9", 2, "t.py::a")])
    one_line_error(xray("import", good, twice, "--db", db),
                   "test 't.py::a' ran in both")  # fmt: skip
    assert digest(db) == before
