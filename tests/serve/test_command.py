"""``xray serve`` as a real process: where it listens, what it refuses, and that serving never
changes the database, even while a real ``pytest --xray-db`` records into it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import Served, start_server
from .histories import as_version_4, as_version_5, record_history

HERE = Path(__file__).resolve().parent
KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
import histories
from xray_core import SQLiteStore

held = SQLiteStore(sys.argv[1], strict=True)  # open meanwhile: the next close is not the last
histories.record_run(Path(sys.argv[1]), int(sys.argv[3]))
os.kill(os.getpid(), signal.SIGKILL)  # committed, never checkpointed: the run is in the -wal
"""


def xray(*args: Any, code: str = "") -> subprocess.CompletedProcess[str]:
    """``xray ARGS`` in a fresh interpreter (after running ``code``, when given)."""
    command = ["-c", f"{code}\nimport sys\nfrom xray_core.cli import main\nsys.exit(main())",
               *map(str, args)] if code else ["-m", "xray_core.cli", *map(str, args)]  # fmt: skip
    return subprocess.run([sys.executable, *command], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


def one_line_error(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    for needle in needles:
        assert needle in done.stderr, done.stderr
    return done.stderr


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def every_view(server: Served) -> None:
    """One request of each kind the pages make (and a few more)."""
    runs = server.json("/api/runs")["runs"]
    for path, params in (
        ("/", None), ("/runs/latest", None), ("/compare", {"a": "latest~1", "b": "latest"}),
        ("/api/runs/latest", None), ("/api/traces", {"limit": 3}),
        ("/api/diff", {"a": "latest~1", "b": "latest"}), ("/api/stability", None),
        ("/api/history", {"test": "::test_pick", "item": "B02"}),
        ("/api/report", {"run": runs[-1]["run_id"], "base": runs[0]["run_id"]}),
        ("/openapi.json", None),
    ):  # fmt: skip
        assert server.get(path, params).status_code == 200, path


def test_without_the_extra_it_exits_2_naming_the_extra(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    record_history(db, 1)
    blocked = "import sys\nsys.modules['fastapi'] = None\nsys.modules['uvicorn'] = None"
    one_line_error(xray("serve", "--db", db, code=blocked),
                   "xray serve needs the serve extra: pip install 'decisiontracex[serve]'")


def test_other_commands_never_import_the_web_stack(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    record_history(db, 2)
    report = ("import atexit, sys\natexit.register(lambda: print(sorted(m for m in sys.modules "
              "if m.split('.')[0] in ('fastapi', 'uvicorn', 'starlette', 'httpx') "
              "or m.startswith('xray_core.serve')), file=sys.stderr))")  # fmt: skip
    for args in (["runs"], ["diff", "latest~1", "latest"], ["serve", "--help"], ["--help"]):
        done = xray(*args, *(["--db", db] if args[0] in ("runs", "diff") else []), code=report)
        assert done.returncode in (0, 1), done.stderr
        assert done.stderr.strip().splitlines()[-1] == "[]", (args, done.stderr)


def test_it_listens_on_localhost_prints_the_url_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    record_history(db, 2)
    server = start_server(db)
    assert server.url.startswith("http://127.0.0.1:")
    assert f"{db} (read-only) at {server.url}" in server.lines[0]
    assert len(server.json("/api/runs")["runs"]) == 2
    status, err = server.stop()
    assert status == 0 and err == ""


def test_another_host_is_served_only_when_asked_and_with_a_warning(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    record_history(db, 1)
    server = start_server(db, "--host", "0.0.0.0")
    try:
        port = server.url.rsplit(":", 1)[1].strip("/")
        assert server.url == f"http://0.0.0.0:{port}/"
        # any Host header is answered: the name a remote browser uses is not known in advance
        local = server.client.get(f"http://127.0.0.1:{port}/api/runs",
                                  headers={"Host": "build-box.example"})  # fmt: skip
        assert local.status_code == 200
    finally:
        status, err = server.stop()
    assert status == 0
    assert ("xray: warning: serving on 0.0.0.0: anyone who can reach this port reads every "
            "trace of the database (inputs, outputs, reasoning, failure messages)") in err


def test_a_port_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    record_history(db, 1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        one_line_error(xray("serve", "--db", db, "--port", port),
                       f"cannot listen on 127.0.0.1 port {port}", "choose another with --port")


@pytest.mark.parametrize("args, needle", [
    (["--port", "70000"], "expected a port number from 0 to 65535, got 70000"),
    (["--port", "http"], "expected a port number, got 'http'"),
    (["--host", "no-such-host.invalid"], "--host 'no-such-host.invalid': not an address"),
    (["--host", "192.0.2.1"], "cannot listen on 192.0.2.1 port 8765: Cannot assign requested "
                              "address (not an address of this machine: see --host)"),
])  # fmt: skip
def test_bad_host_and_port_are_one_line_errors(tmp_path: Path, args: list[str],
                                               needle: str) -> None:  # fmt: skip
    db = tmp_path / "runs.db"
    record_history(db, 1)
    one_line_error(xray("serve", "--db", db, *args), needle)


def test_a_missing_or_foreign_database_is_refused(tmp_path: Path) -> None:
    one_line_error(xray("serve", "--db", tmp_path / "none.db"), "none.db: no such database file")
    (tmp_path / "text.db").write_text("hello")
    one_line_error(xray("serve", "--db", tmp_path / "text.db"), "not an SQLite database")


def test_an_older_schema_is_refused_untouched(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "runs.db"
    record_history(db, 1)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    before = files_of(tmp_path)
    one_line_error(xray("serve", "--db", db), "its schema is older", "serving never upgrades it")
    assert files_of(tmp_path) == before


@pytest.mark.parametrize("version", [4, 5])
def test_an_older_file_is_served_as_it_is_with_the_same_answers(tmp_path: Path, version: int
                                                                ) -> None:  # fmt: skip
    """Schemas 5 and 6 only added the steps' and the traces' digests (and indexes): a version 4
    or 5 file is served without being upgraded, its answers those of the same history in the
    current schema."""
    import shutil
    import sqlite3

    import sqlite_utils

    from xray_core.store.schema import MIGRATIONS

    current, old = tmp_path / "current" / "runs.db", tmp_path / "old" / "runs.db"
    current.parent.mkdir()
    old.parent.mkdir()
    record_history(current, 4)
    shutil.copyfile(current, old)
    conn = sqlite3.connect(old, isolation_level=None)
    (as_version_4 if version == 4 else as_version_5)(conn)
    conn.close()
    # what as_version_N makes is what version N made: columns and index names
    reference = sqlite3.connect(tmp_path / "reference.db", isolation_level=None)
    for step in range(1, version + 1):
        MIGRATIONS[step](sqlite_utils.Database(reference))

    def layout(path: Path) -> tuple[Any, ...]:
        conn = sqlite3.connect(path)
        try:
            return (conn.execute("SELECT type, name, tbl_name FROM sqlite_master "
                                 "ORDER BY name").fetchall(),  # fmt: skip
                    conn.execute("SELECT * FROM pragma_table_info('steps')").fetchall(),
                    conn.execute("SELECT * FROM pragma_table_info('traces')").fetchall())
        finally:
            conn.close()

    reference.close()
    assert layout(old) == layout(tmp_path / "reference.db")
    before = files_of(old.parent)
    servers = [start_server(current), start_server(old)]
    try:
        runs = servers[0].json("/api/runs")["runs"]
        trace = servers[0].json("/api/traces", {"limit": 1})["traces"][0]["trace_id"]
        for path, params in (
            ("/api/runs", None), (f"/api/traces/{trace}", None),
            ("/api/diff", {"a": "latest~3", "b": "latest"}), ("/api/stability", None),
            ("/api/stability", {"test": "repeat", "last": 2}),
            ("/api/history", {"test": "::test_pick", "item": "B02"}),
            ("/api/report", {"run": runs[0]["run_id"], "base": runs[-1]["run_id"]}),
        ):  # fmt: skip
            assert servers[1].json(path, params) == servers[0].json(path, params), path
    finally:
        for server in servers:
            assert server.stop()[0] == 0
    assert files_of(old.parent) == before


def test_serving_a_closed_database_creates_and_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    record_history(db, 3)
    before = files_of(tmp_path)
    assert set(before) == {"runs.db"}
    server = start_server(db)
    try:
        every_view(server)
    finally:
        assert server.stop()[0] == 0
    assert files_of(tmp_path) == before


def test_serving_never_changes_the_database_nor_its_write_ahead_log(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    record_history(db, 2)
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(db), str(HERE), "2"],
                            capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    wal = db.with_name(db.name + "-wal")
    assert wal.stat().st_size > 0
    before = {name: data for name, data in files_of(tmp_path).items() if not name.endswith("shm")}
    server = start_server(db)
    try:
        assert len(server.json("/api/runs")["runs"]) == 3  # the run in the -wal is read
        every_view(server)
    finally:
        assert server.stop()[0] == 0
    after = {name: data for name, data in files_of(tmp_path).items() if not name.endswith("shm")}
    assert after == before  # the .db and its -wal, byte for byte


SUITE = '''
import time

import xray_core as xray


def test_pick():
    with xray.trace("competitor-selection"):
        with xray.step("filter_and_select") as step:
            step.add_evaluation(item_id="B02", filters=[{"name": "price", "passed": True}],
                                qualified=True)
    time.sleep(1.5)  # the run stays "running" a while: the server must show it so
'''


def test_a_database_being_recorded_into_is_served_and_new_runs_appear(tmp_path: Path) -> None:
    db = tmp_path / ".xray" / "runs.db"
    record_history(db, 2)
    (tmp_path / "test_suite.py").write_text(textwrap.dedent(SUITE))
    server = start_server(db)
    seen: dict[str, set[str]] = {}
    failures: list[Any] = []
    writing = True

    def poll() -> None:
        while writing:
            response = server.get("/api/runs", {"limit": 10})
            if response.status_code != 200:
                failures.append((response.status_code, response.text))
            for run in response.json().get("runs", []):
                seen.setdefault(run["run_id"], set()).add(run["status"])
            time.sleep(0.05)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        for _ in range(3):
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--xray-db={db}",
                 "test_suite.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                env={k: v for k, v in os.environ.items()  # the suite's PYTEST_ADDOPTS kept
                     if not k.startswith("PYTEST_") or k == "PYTEST_ADDOPTS"},
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
    finally:
        writing = False
        poller.join()
    try:
        assert failures == []
        runs = server.json("/api/runs")["runs"]
        assert len(runs) == 5 and all(r["status"] == "completed" for r in runs)
        recorded = [r["run_id"] for r in runs[:3]]
        assert all("running" in seen[r] and "completed" in seen[r] for r in recorded), seen
        latest = server.json("/api/traces", {"run": "latest"})["traces"]
        assert [t["test_id"] for t in latest] == ["test_suite.py::test_pick"]
        history = server.json("/api/history", {"test": "test_suite.py", "item": "B02"})
        assert [e["verdict"] for e in history["runs"]] == ["qualified"] * 3
    finally:
        status, err = server.stop()
    assert status == 0 and "Traceback" not in err
