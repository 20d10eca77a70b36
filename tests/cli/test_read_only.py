"""Reading commands never change the database nor its ``-wal`` file.

A writer killed with SIGKILL leaves its committed transactions in the write-ahead log. A normal
SQLite connection closing last would checkpoint that log into the database and delete it; the
reading commands open the file read-only, so they read the log and leave both files byte for
byte as they were. A database in a read-only folder can be read.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from xray_core import Run, SQLiteStore
from xray_core.exceptions import SchemaVersionError, StoreError
from xray_core.store.schema import READ_ONLY_FROM, SCHEMA_VERSION

from .conftest import COMMIT_A, COMMIT_B, T0, add_run, select_competitors
from .realcli import digest, one_line_error, xray

TEST_ID = "tests/test_pick.py::test_pick"
KILLED_WRITER = """
import os, signal, sys
from xray_core import SQLiteStore
from xray_core.models import Run, Trace

trace_json, run_json = sys.stdin.read().splitlines()
store = SQLiteStore(sys.argv[1], strict=True)
store.save_traces([Trace.model_validate_json(trace_json)])
store.save_run(Run.model_validate_json(run_json), [{"test_id": sys.argv[2], "outcome": "passed"}])
os.kill(os.getpid(), signal.SIGKILL)  # committed, never checkpointed: all of it in the -wal
"""


def _wal(db: Path) -> Path:
    return db.with_name(db.name + "-wal")


def _shm(db: Path) -> Path:
    return db.with_name(db.name + "-shm")


def kill_a_writer(db: Path, index: int) -> tuple[Run, str]:
    """A real SQLiteStore commits one run with its trace into ``db``, then is killed."""
    run = Run(run_id=uuid.uuid4().hex, started_at=T0 + timedelta(hours=index),
              git_commit=COMMIT_B, git_branch="main", git_dirty=False, command="pytest",
              counts={"tests": 1, "traces": 1})  # fmt: skip
    trace = select_competitors(20.0, test_id=TEST_ID, run_id=run.run_id, when=run.started_at)
    done = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(db), TEST_ID], capture_output=True, text=True,
        input=f"{trace.model_dump_json()}\n{run.model_dump_json()}\n", timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert _wal(db).stat().st_size > 0  # the new run is only in the write-ahead log
    return run, trace.trace_id


@pytest.fixture
def crashed(tmp_path: Path) -> tuple[Path, Run, str]:
    """Two runs checkpointed into the file, a third left in the -wal of a killed writer."""
    db = tmp_path / "history" / "runs.db"
    for index in range(2):
        add_run(db, 10.0, commit=COMMIT_A, index=index)
    assert not _wal(db).exists()
    run, trace_id = kill_a_writer(db, 2)
    return db, run, trace_id


def reading_commands(out: Path, trace_id: str) -> dict[str, list[object]]:
    """Every reading command, writing its own output files (if any) into ``out``."""
    return {
        "runs": ["runs", "--json"],
        "traces": ["traces", "--json"],
        "show": ["show", trace_id[:12], "--json"],
        "diff": ["diff", "latest~1", "latest", "--json"],
        "report": ["report", "latest~1", "latest", "-o", out / "report.html"],
        "stability": ["stability", "--json"],
        "export": ["export", "latest", "-o", out / "export.jsonl"],
    }


def test_reading_commands_read_a_leftover_wal_and_leave_it_byte_for_byte(
    crashed: tuple[Path, Run, str], tmp_path: Path
) -> None:
    db, killed, trace_id = crashed
    before = digest(db, _wal(db))
    out = tmp_path / "out"
    seen = {}
    for name, args in reading_commands(out, trace_id).items():
        done = xray(*args, "--db", db, cwd=tmp_path)
        assert done.returncode in (0, 1), (name, done.stderr)  # diff: 1, the decisions differ
        seen[name] = done.stdout
        assert digest(db, _wal(db)) == before, f"xray {name} changed the database or its -wal"
    # what only the -wal holds was read by every command
    assert json.loads(seen["runs"])[0]["run_id"] == killed.run_id
    assert json.loads(seen["traces"])[0]["trace_id"] == trace_id
    assert json.loads(seen["show"])["run_id"] == killed.run_id
    assert json.loads(seen["diff"])["b"]["run_id"] == killed.run_id
    assert json.loads(seen["stability"])["runs"][-1] == killed.run_id
    assert killed.run_id[:8] in seen["report"] and (out / "report.html").is_file()
    assert killed.run_id in (out / "export.jsonl").read_text(encoding="utf-8")
    with sqlite3.connect(db) as conn:  # and nothing was lost: a writer still finds it all
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 3


def test_reading_a_closed_database_creates_nothing_beside_it(tmp_path: Path) -> None:
    db = tmp_path / "history" / "runs.db"
    for index in range(2):
        add_run(db, 10.0 + 10 * index, commit=COMMIT_A, index=index)
    with SQLiteStore(db) as store:
        trace_id = store.list_traces(1)[0].trace_id
    files = {p.name: p.read_bytes() for p in db.parent.iterdir()}
    assert set(files) == {"runs.db"}  # closed cleanly: no -wal, no -shm
    for name, args in reading_commands(tmp_path / "out", trace_id).items():
        done = xray(*args, "--db", db, cwd=tmp_path)
        assert done.returncode in (0, 1), (name, done.stderr)
        assert {p.name: p.read_bytes() for p in db.parent.iterdir()} == files, name


def test_a_read_only_store_sees_what_a_writer_commits_meanwhile(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    add_run(db, 10.0, commit=COMMIT_A, index=0)
    reader = SQLiteStore(db, strict=True, read_only=True)  # nothing else has it open: no locks
    assert len(reader.list_runs()) == 1
    add_run(db, 10.0, commit=COMMIT_A, index=1)  # a writer opens, commits, checkpoints, closes
    assert len(reader.list_runs()) == 2
    writer = SQLiteStore(db, strict=True)
    writer.save_run(Run(run_id="while-open", started_at=T0 + timedelta(hours=5)))
    assert reader.list_runs()[0].run_id == "while-open"  # read from the writer's -wal
    writer.close()
    reader.close()


def test_a_read_only_store_refuses_writes_and_never_migrates(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    add_run(db, 10.0, commit=COMMIT_A, index=0)
    before = digest(db)
    strict = SQLiteStore(db, strict=True, read_only=True)
    assert repr(strict).endswith("read_only=True)")
    with pytest.raises(StoreError, match="opened read-only"):
        strict.save_run(Run(run_id="new", started_at=T0))
    with pytest.raises(StoreError, match="opened read-only"):
        strict.save_traces([select_competitors(1.0, test_id="t", run_id="r", when=T0)])
    strict.close()
    lenient = SQLiteStore(db, read_only=True)
    lenient.save_run(Run(run_id="new", started_at=T0))
    assert lenient.errors == 1 and [r.run_id for r in lenient.list_runs()] != ["new"]
    lenient.close()
    assert digest(db) == before

    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {READ_ONLY_FROM - 1}")
    conn.close()
    older = digest(db)
    with pytest.raises(StoreError, match="older than this X-Ray reads as it is .* does not upgrade it"):
        SQLiteStore(db, strict=True, read_only=True)
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    newer = digest(db)
    assert older != newer
    with pytest.raises(SchemaVersionError, match="newer X-Ray"):
        SQLiteStore(db, strict=True, read_only=True)
    assert digest(db) == newer
    with pytest.raises(StoreError, match="cannot open"):
        SQLiteStore(tmp_path / "missing" / "runs.db", strict=True, read_only=True)
    assert not (tmp_path / "missing").exists()


# -- a read-only folder ---------------------------------------------------------------------------
NOBODY = 65534


def _as_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


class ReadOnlyFolders:
    """Makes folders read-only for the user the command runs as (``preexec_fn``).

    chmod does not stop root: as root the command runs as ``nobody`` when that user can run this
    Python, else the folder and its files get the immutable attribute (``chattr +i``), which
    stops root too.
    """

    def __init__(self, preexec_fn: Callable[[], None] | None, chattr: str | None) -> None:
        self.preexec_fn = preexec_fn
        self.chattr = chattr
        self.frozen: list[Path] = []

    def freeze(self, folder: Path) -> None:
        for path in [*folder.iterdir(), folder]:
            path.chmod(0o555 if path.is_dir() else 0o444)
            if self.chattr:
                subprocess.run([self.chattr, "+i", str(path)], check=True)
                self.frozen.append(path)

    def thaw(self) -> None:
        for path in reversed(self.frozen):
            subprocess.run([self.chattr or "chattr", "-i", str(path)], check=True)


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder `nobody` can reach (pytest's tmp_path is private to its user)."""
    folder = Path(tempfile.mkdtemp(prefix="xray-ro-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(folder)


@pytest.fixture
def read_only(shared_folder: Path) -> Iterator[ReadOnlyFolders]:
    """How to make a folder read-only for the reading command, whoever runs the tests."""
    if os.geteuid() != 0:
        yield ReadOnlyFolders(None, None)
        return
    try:
        probe = subprocess.run([sys.executable, "-c", "import xray_core.cli"],
                               preexec_fn=_as_nobody, capture_output=True, check=False)  # fmt: skip
    except PermissionError:  # this Python lives where nobody may not go
        probe = None
    if probe is not None and probe.returncode == 0:
        yield ReadOnlyFolders(_as_nobody, None)
        return
    chattr = shutil.which("chattr")
    trial = shared_folder / "trial"
    trial.mkdir()
    if chattr is None or subprocess.run([chattr, "+i", str(trial)], capture_output=True,
                                        check=False).returncode != 0:  # fmt: skip
        pytest.skip("running as root: `nobody` cannot run this Python (it lives in a private "
                    "folder) and chattr +i is not available, so no folder is read-only for root")
    subprocess.run([chattr, "-i", str(trial)], check=True)
    trial.rmdir()
    folders = ReadOnlyFolders(None, chattr)
    try:
        yield folders
    finally:
        folders.thaw()


def test_a_database_in_a_read_only_folder_can_be_read(
    shared_folder: Path, read_only: ReadOnlyFolders
) -> None:
    clean = shared_folder / "clean"
    add_run(clean / "runs.db", 10.0, commit=COMMIT_A, index=0)  # closed: no -wal, no -shm
    crashed = shared_folder / "crashed"
    add_run(crashed / "runs.db", 10.0, commit=COMMIT_A, index=0)
    killed, _ = kill_a_writer(crashed / "runs.db", 1)  # its -wal and -shm stay
    for folder in (clean, crashed):
        read_only.freeze(folder)
    as_reader = read_only.preexec_fn
    for folder, runs in ((clean, 1), (crashed, 2)):
        db = folder / "runs.db"
        before = digest(db, _wal(db))
        done = xray("runs", "--json", "--db", db, cwd=shared_folder, preexec_fn=as_reader)
        assert done.returncode == 0, done.stderr
        assert "attempt to write a readonly database" not in done.stderr
        assert len(json.loads(done.stdout)) == runs
        assert digest(db, _wal(db)) == before
    done = xray("traces", "--db", crashed / "runs.db", cwd=shared_folder, preexec_fn=as_reader)
    assert done.returncode == 0 and killed.run_id[:8] not in done.stdout  # trace ids, not runs


def test_a_log_that_cannot_be_indexed_in_a_read_only_folder_is_explained(
    shared_folder: Path, read_only: ReadOnlyFolders
) -> None:
    folder = shared_folder / "copied"
    add_run(folder / "runs.db", 10.0, commit=COMMIT_A, index=0)
    kill_a_writer(folder / "runs.db", 1)
    _shm(folder / "runs.db").unlink()  # e.g. only the .db and its -wal were copied here
    read_only.freeze(folder)
    done = xray("runs", "--db", folder / "runs.db", cwd=shared_folder,
                preexec_fn=read_only.preexec_fn)  # fmt: skip
    one_line_error(done, "SQLite needs to create its -shm index beside runs.db-wal",
                   "the folder is read-only", "copy the database and its -wal file")  # fmt: skip
    assert "attempt to write a readonly database" not in done.stderr
