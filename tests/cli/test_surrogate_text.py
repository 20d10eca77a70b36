"""Lone surrogates already kept as ``\\udcxx`` JSON escapes (a database recorded by an older X-Ray,
an export edited by hand) are read back as X-Ray's escape text: `xray report`, `export` and
`import` work on them (the recorder's side is in tests/plugin/test_non_utf8_text.py)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from xray_core import Run, SQLiteStore, Trace

RAW = "caf\udce9.txt"  # os.fsdecode(b"caf\xe9.txt")
ESCAPED = "caf\\udce9.txt"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def xray_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real ``xray`` command, as a subprocess of this Python."""
    return subprocess.run(
        [sys.executable, "-m", "xray_core.cli", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, encoding="utf-8", timeout=120, check=False,
    )  # fmt: skip


def trace_with_surrogates(run_id: str) -> Trace:
    """A trace whose JSON fields hold lone surrogates (what older recorders let through)."""
    return Trace.model_validate({
        "trace_id": "t" * 32, "name": "import", "status": "completed", "start_time": T0,
        "run_id": run_id, "test_id": "tests/test_a.py::test_a",
        "metadata": {"file": RAW, RAW: "key"},
        "steps": [{"step_id": "t" * 32 + ".0", "trace_id": "t" * 32, "name": "read",
                   "start_time": T0, "status": "completed", "input": {"path": RAW},
                   "output": [RAW], "metadata": {"evaluations": [
                       {"item_id": "B01", "item_data": {"file": RAW}, "qualified": True,
                        "filters": [{"name": "exists", "passed": True, "detail": RAW}]}]}}],
    })  # fmt: skip


def test_a_database_holding_surrogate_escapes_is_reported_and_exported(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    run = Run(run_id="r" * 32, started_at=T0, command="pytest --xray-db")
    with SQLiteStore(db, strict=True) as store:
        store.save_traces([trace_with_surrogates(run.run_id)])
        store.save_run(run, [{"test_id": "tests/test_a.py::test_a", "outcome": "passed"}])
    with sqlite3.connect(db) as conn:  # the JSON text holds the escape, as older versions wrote
        [(stored,)] = conn.execute("SELECT input FROM steps").fetchall()
    assert json.loads(stored) == {"path": RAW}

    with SQLiteStore(db) as store:
        [trace] = store.list_traces(None, run_id=run.run_id)
    assert trace.metadata == {"file": ESCAPED, ESCAPED: "key"}
    assert trace.steps[0].input == {"path": ESCAPED} and trace.steps[0].output == [ESCAPED]
    assert trace.steps[0].evaluations[0].filters[0].detail == ESCAPED

    report = xray_cli("report", "latest", "--db", db, "-o", tmp_path / "r.html", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert json.dumps(ESCAPED)[1:-1] in (tmp_path / "r.html").read_text(encoding="utf-8")
    export = xray_cli("export", "latest", "--db", db, "-o", tmp_path / "e.jsonl", cwd=tmp_path)
    assert export.returncode == 0, export.stderr
    lines = (tmp_path / "e.jsonl").read_text(encoding="utf-8").splitlines()
    [exported] = [json.loads(line)["trace"] for line in lines if '"type": "trace"' in line]
    assert exported["steps"][0]["input"] == {"path": ESCAPED}


def test_an_export_holding_surrogate_escapes_is_imported(tmp_path: Path) -> None:
    run = Run(run_id="r" * 32, started_at=T0, command="pytest --xray-db")
    trace = trace_with_surrogates(run.run_id).model_dump(mode="python")
    lines = [
        {"format": "xray-runs", "version": 1},
        {"type": "run", "run": run.model_dump(mode="json"), "tests": 1, "traces": 1},
        {"type": "test", "run_id": run.run_id, "test_id": f"tests/test_a.py::test_a[{RAW}]",
         "outcome": "failed", "message": f"cannot open {RAW}"},
        {"type": "trace", "trace": json.loads(json.dumps(trace, default=str))},
    ]  # fmt: skip
    source = tmp_path / "hand.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="ascii")
    assert "\\udce9" in source.read_text(encoding="ascii")  # JSON escapes of the surrogate

    imported = xray_cli("import", source, "--db", tmp_path / "runs.db", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    with SQLiteStore(tmp_path / "runs.db", strict=True) as store:
        [test] = store.run_tests(run.run_id)
        [stored] = store.list_traces(None, run_id=run.run_id)
    assert test["test_id"] == f"tests/test_a.py::test_a[{ESCAPED}]"
    assert test["message"] == f"cannot open {ESCAPED}"
    assert stored.steps[0].output == [ESCAPED]
    export = xray_cli("export", run.run_id, "--db", tmp_path / "runs.db", "-o",
                      tmp_path / "again.jsonl", cwd=tmp_path)  # fmt: skip
    assert export.returncode == 0, export.stderr
