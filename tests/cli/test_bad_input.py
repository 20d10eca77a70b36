"""Every bad input to the ``xray`` command (a subprocess): one line on stderr, exit 2, no traceback.

Databases are checked byte for byte afterwards: reading never creates or alters a file.
"""

from __future__ import annotations

import shlex
import sqlite3
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from xray_core import SQLiteStore
from xray_core.store.schema import SCHEMA_VERSION

from .conftest import COMMIT_A, XRAY, add_run, run_xray


def _one_line_error(done: object, *needles: str) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)  # type: ignore[attr-defined]
    err: str = done.stderr  # type: ignore[attr-defined]
    assert done.stdout == "" and "Traceback" not in err  # type: ignore[attr-defined]
    assert err.endswith("\n") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err
    return err


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _not_sqlite(path: Path) -> None:
    path.write_text("these are not the bytes of a database\n" * 20)


def _foreign_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.commit()
    conn.close()


def _newer_schema(path: Path) -> None:
    add_run(path, 10.0, commit=COMMIT_A, index=0)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()


def _empty(path: Path) -> None:
    SQLiteStore(path, strict=True).close()


BAD_DBS: dict[str, tuple[Callable[[Path], None], str]] = {
    "not sqlite": (_not_sqlite, "not an SQLite database"),
    "foreign sqlite": (_foreign_sqlite, "not an X-Ray one (no runs table)"),
    "newer schema": (_newer_schema, f"schema version {SCHEMA_VERSION + 1} was written by a newer"),
    "empty": (_empty, "the database has no runs yet"),
}
COMMANDS = {
    "runs": ["runs"],
    "diff": ["diff", "latest~1", "latest"],
    "report": ["report", "-o", "r.html"],
    "export": ["export", "latest", "-o", "e.jsonl"],
    "stability": ["stability"],
}


@pytest.mark.parametrize("kind", BAD_DBS)
def test_bad_database(tmp_path: Path, kind: str) -> None:
    make, message = BAD_DBS[kind]
    db = tmp_path / "runs.db"
    make(db)
    before = _snapshot(tmp_path)
    done = run_xray("runs", "--db", db, cwd=tmp_path)
    _one_line_error(done, f"xray: error: {db}", message)
    assert _snapshot(tmp_path) == before  # untouched, nothing created beside it


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_database_is_never_created(tmp_path: Path, command: str) -> None:
    done = run_xray(*COMMANDS[command], "--db", "nowhere/runs.db", cwd=tmp_path)
    _one_line_error(done, "xray: error: nowhere/runs.db: no such database file")
    assert list(tmp_path.iterdir()) == []


def test_no_database_found_upwards(tmp_path: Path) -> None:
    done = run_xray("show", "abc", cwd=tmp_path)
    _one_line_error(done, "no X-Ray database: no .xray/runs.db in", "pass --db PATH")
    assert list(tmp_path.iterdir()) == []


def test_unknown_and_ambiguous_runs(tmp_path: Path) -> None:
    db = tmp_path / ".xray" / "runs.db"
    for index, run_id in enumerate(("abc123", "abd456")):
        add_run(db, 10.0, commit=COMMIT_A, index=index, run_id=run_id)
    err = _one_line_error(run_xray("diff", "ab", "latest", cwd=tmp_path), "run 'ab' is ambiguous")
    assert "abc123 (" in err and "abd456 (" in err
    _one_line_error(run_xray("diff", "latest", "zzz", cwd=tmp_path), "no run matches 'zzz'",
                    "recent runs: abd456")  # fmt: skip
    _one_line_error(run_xray("export", "latest~2", "-o", "x.jsonl", cwd=tmp_path),
                    "only 2 run(s) recorded")  # fmt: skip


def test_malformed_jsonl_imports_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"format": "xray-runs", "version": 1}\n'
                   '{"type": "run", "run": {"run_id": "r1", "started_at": "2026-01-01"}}\n'
                   '{"type": "trace", "trace": 7}\n')  # fmt: skip
    db = tmp_path / "target.db"
    done = run_xray("import", "--db", db, bad, cwd=tmp_path)
    _one_line_error(done, f"{bad}:3: invalid trace", "nothing was imported")
    assert not db.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["runs", "--limit", "many"], "expected a whole number, got 'many'"),
        (["prune"], "one of the arguments --keep --before is required"),
        (["diff", "latest"], "the following arguments are required: B"),
        (["export", "latest", "-o", ""], "argument -o/--output: expected a file name"),
        (["report", "-o", " "], "argument -o/--output: expected a file name"),
    ],
)
def test_usage_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    _one_line_error(run_xray(*args, cwd=tmp_path), message, "--help")


def test_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    for index in range(30):
        add_run(db, 10.0, commit=COMMIT_A, index=index, repeats=2)
    refs = " ".join(f"latest~{n}" for n in range(30))  # about 200 kB: more than a pipe buffer
    xray = shlex.join([*XRAY, "export", "--db", str(db)])
    done = subprocess.run(f"{xray} {refs} -o - | head -c 10", shell=True,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.stdout == '{"format":' and done.stderr == ""


def _older_schema(path: Path) -> None:
    """A database written by an X-Ray of schema version 2 (rollback journal, one run)."""
    import sqlite_utils

    from xray_core.store.schema import MIGRATIONS

    conn = sqlite3.connect(path, isolation_level=None)
    for version in (1, 2):
        MIGRATIONS[version](sqlite_utils.Database(conn))
    conn.execute("INSERT INTO runs (run_id, started_at, counts) VALUES "
                 "('0ld0ld', '2026-03-01T12:00:00.000000+00:00', '{}')")  # fmt: skip
    conn.execute("PRAGMA user_version = 2")
    conn.close()


@pytest.mark.parametrize("command", ["runs", "show", "export"])
def test_reading_an_older_schema_leaves_it_as_it_was(tmp_path: Path, command: str) -> None:
    db = tmp_path / "runs.db"
    _older_schema(db)
    before = _snapshot(tmp_path)
    args = {"runs": ["runs", "--json"], "show": ["show", "nope"],
            "export": ["export", "latest", "-o", "-"]}[command]  # fmt: skip
    done = run_xray(*args, "--db", db, cwd=tmp_path)
    if command == "show":
        _one_line_error(done, f"xray: error: {db}: no trace id starts with 'nope'")
    else:
        assert done.returncode == 0 and "0ld0ld" in done.stdout, done.stderr
    assert _snapshot(tmp_path) == before  # still version 2: an older X-Ray can go on using it
