"""SQLiteStore: pragmas, schema and migrations, refusal of newer schemas, errors, reads and runs."""

from __future__ import annotations

import functools
import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

import xray_core as xray
from xray_core.store.base import TraceQuery
from xray_core.store.database import ensure_wal
from xray_core.store.failures import LOGGED_IN_FULL
from xray_core.store.rows import trace_digest
from xray_core.store.schema import MIGRATIONS, SCHEMA_VERSION, STEP_COLUMNS

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def make_trace(trace_id: str, **fields: Any) -> xray.Trace:
    """A finished trace with one step, with ``fields`` overriding the defaults."""
    start = fields.pop("start_time", T0)
    data: dict[str, Any] = {
        "trace_id": trace_id, "name": "pipeline", "status": "completed", "start_time": start,
        "end_time": start + timedelta(milliseconds=5), "duration_ms": 5.0, "metadata": {"i": 1},
        "steps": [{
            "step_id": f"{trace_id}.0", "trace_id": trace_id, "name": "only", "step_order": 0,
            "status": "completed", "start_time": start, "end_time": start, "duration_ms": 0.25,
            "output": {"ok": True},
        }],
    }  # fmt: skip
    data.update(fields)
    return xray.Trace.model_validate(data)


def make_run(run_id: str, started: datetime, **fields: Any) -> xray.Run:
    return xray.Run(run_id=run_id, started_at=started, **fields)


# -- pragmas, schema, migrations ---------------------------------------------------------------
def test_a_new_database_has_wal_busy_timeout_foreign_keys_and_the_schema(
    db_path: Path,
) -> None:
    with xray.SQLiteStore(db_path, strict=True, timeout=2.5) as store:
        conn = store._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db = sqlite_utils.Database(db_path)
    assert set(db.table_names()) >= {"traces", "steps", "runs", "run_tests"}
    indexes = {tuple(i.columns) for t in ("traces", "steps", "runs") for i in db[t].indexes}
    # the seed's (status, name, and since schema 5 the (trace_id, step_order) index carrying
    # each step's digest and ids: its plain trace_id and created_at indexes served no query),
    # then ours (test_id's index is the covering one of the history, with schema 6's digests)
    assert indexes == {
        ("status",), ("name",), ("trace_id", "step_order", "digest", "step_id", "parent_id"),
        ("run_id",), ("test_id", "run_id", "start_time", "name", "trace_id", "digest"),
        ("start_time",),
        ("started_at",), ("git_commit",),
        ("trace_id",), ("step_id",),  # the primary keys' (runs.run_id's is run_id's above)
    }  # fmt: skip
    assert db["steps"].foreign_keys[0].other_table == "traces"
    assert db["run_tests"].foreign_keys[0].other_table == "runs"


def test_foreign_keys_are_enforced(store: xray.SQLiteStore) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        store._conn.execute(
            "INSERT INTO steps (step_id, trace_id, name, status) VALUES ('s', 'nope', 'n', 'x')"
        )


def make_v1_database(path: Path) -> None:
    """A database as the first release wrote it (schema version 1) with one trace."""
    conn = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[1](sqlite_utils.Database(conn))
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO traces (trace_id, name, start_time, status, metadata) "
        "VALUES ('old', 'legacy', '2025-01-01T00:00:00+00:00', 'completed', '{}')"
    )
    conn.close()


def test_an_older_database_is_migrated_in_place_and_keeps_its_data(db_path: Path) -> None:
    make_v1_database(db_path)
    with xray.SQLiteStore(db_path, strict=True) as store:
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        old = store.get_trace("old")
        assert old is not None and old.name == "legacy"
        indexes = {tuple(i.columns) for i in sqlite_utils.Database(db_path)["steps"].indexes}
        assert ("trace_id", "step_order", "digest", "step_id", "parent_id") in indexes
        written = store.save_traces([make_trace("new")])
        assert written == 1 and {t.trace_id for t in store.list_traces()} == {"old", "new"}


def test_every_migration_step_is_registered() -> None:
    assert sorted(MIGRATIONS) == list(range(1, SCHEMA_VERSION + 1))


@pytest.fixture
def newer_db(db_path: Path) -> Path:
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("CREATE TABLE future (x)")
    conn.execute("INSERT INTO future VALUES (1)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    return db_path


def snapshot(path: Path) -> tuple[bytes, int, list[str]]:
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(path.parent))


def test_a_newer_schema_is_refused_under_strict_and_never_altered(newer_db: Path) -> None:
    before = snapshot(newer_db)
    with pytest.raises(xray.SchemaVersionError, match=rf"schema version {SCHEMA_VERSION + 1}.*"
                                                      r"newer X-Ray.*not modified"):  # fmt: skip
        xray.SQLiteStore(newer_db, strict=True)
    assert snapshot(newer_db) == before


def test_a_newer_schema_is_refused_quietly_without_strict(
    newer_db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = snapshot(newer_db)
    store = xray.SQLiteStore(newer_db)
    assert store.errors == 1
    assert "newer X-Ray" in caplog.text
    with xray.XRay(store=store).trace("t") as trace:  # recording goes on, into nothing
        with trace.step("s"):
            pass
    assert store.errors == 4  # the open, the trace start, the step, the trace end
    with pytest.raises(xray.SchemaVersionError):
        store.get_trace(trace.trace_id)
    store.close()
    assert snapshot(newer_db) == before


# -- store errors -------------------------------------------------------------------------------
def record_one(store: xray.Store) -> str:
    with xray.XRay(store=store).trace("t") as trace:
        with trace.step("s") as step:
            step.set_output(1)
    return trace.trace_id


def garbage_file(tmp_path: Path) -> Path:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database" * 100)
    return path


def directory(tmp_path: Path) -> Path:
    path = tmp_path / "dir.db"
    path.mkdir()
    return path


def under_a_file(tmp_path: Path) -> Path:
    (tmp_path / "file").write_text("x")
    return tmp_path / "file" / "x.db"


@pytest.mark.parametrize("make_path", [garbage_file, directory, under_a_file])
def test_an_unusable_path_is_counted_not_raised_unless_strict(
    tmp_path: Path, make_path: Callable[[Path], Path]
) -> None:
    path = make_path(tmp_path)
    with pytest.raises(xray.StoreError, match=str(path.name)):
        xray.SQLiteStore(path, strict=True)
    store = xray.SQLiteStore(path)
    record_one(store)
    assert store.errors == 4
    with pytest.raises(xray.StoreError):
        store.list_traces()
    store.close()


@pytest.fixture
def read_only_db(db_path: Path) -> Iterator[Path]:
    """A valid X-Ray database that this process cannot write (chattr +i when running as root)."""
    xray.SQLiteStore(db_path).close()
    if os.geteuid() != 0:
        db_path.chmod(0o444)
        yield db_path
        db_path.chmod(0o644)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(db_path)]).returncode != 0:
        pytest.skip("running as root without chattr: no way to make a file read-only")
    try:
        yield db_path
    finally:
        subprocess.run([chattr, "-i", str(db_path)], check=True)


def test_a_read_only_database_is_readable_and_writes_are_counted(read_only_db: Path) -> None:
    store = xray.SQLiteStore(read_only_db)
    assert store.list_traces() == []  # reading works
    record_one(store)
    assert store.errors == 3  # trace start, step, trace end
    store.close()
    strict = xray.SQLiteStore(read_only_db, strict=True)
    with pytest.raises(xray.StoreError, match="readonly|read-only"):
        record_one(strict)
    strict.close()


def test_a_database_locked_past_the_timeout_loses_only_the_locked_writes(db_path: Path) -> None:
    store = xray.SQLiteStore(db_path, timeout=0.1)
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process writing for a long time
    try:
        record_one(store)  # does not hang longer than the timeout, does not raise
        assert store.errors == 3
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    kept = record_one(store)
    assert store.get_trace(kept) is not None
    store.close()

    strict = xray.SQLiteStore(db_path, strict=True, timeout=0.1)
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(xray.StoreError, match="locked"):
            record_one(strict)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    strict.close()


def test_a_file_that_cannot_switch_to_wal_gives_up_after_the_timeout() -> None:
    """Some file systems answer the WAL switch with the old mode and no error: never spin."""

    class NoWal:
        def execute(self, sql: str) -> NoWal:
            return self

        def fetchone(self) -> tuple[str]:
            return ("delete",)

    outcome: list[BaseException] = []
    wait = functools.partial(ensure_wal, timeout=0.05)
    worker = threading.Thread(target=lambda: _capture(outcome, wait, NoWal()), daemon=True)
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "the WAL switch loops forever"
    assert isinstance(outcome[0], sqlite3.OperationalError) and "WAL" in str(outcome[0])


def _capture(outcome: list[BaseException], func: Any, *args: Any) -> None:
    try:
        func(*args)
    except BaseException as exc:  # noqa: BLE001 - handed to the test
        outcome.append(exc)


def test_memory_is_refused_with_the_store_to_use_instead(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"':memory:'.*MemoryStore"):
        xray.SQLiteStore(":memory:")
    monkeypatch.setenv("XRAY_DB", ":memory:")
    assert isinstance(xray.get_recorder().store, xray.MemoryStore)
    assert list(tmp_path.iterdir()) == []  # no file called ":memory:"


def test_a_closed_store_counts_writes(db_path: Path) -> None:
    store = xray.SQLiteStore(db_path)
    store.close()
    record_one(store)
    assert store.errors == 3
    store.close()  # closing twice is fine


def test_errors_are_logged_at_first_then_sparsely(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = xray.SQLiteStore(directory(tmp_path))
    for _ in range(700):
        record_one(store)
    assert store.errors == 1 + 700 * 3
    logged = [r for r in caplog.records if r.name == "xray_core"]
    assert LOGGED_IN_FULL <= len(logged) <= LOGGED_IN_FULL + 3


# -- reads, runs and the contract shared with MemoryStore --------------------------------------
@pytest.fixture(params=["sqlite", "memory"])
def any_store(request: pytest.FixtureRequest, db_path: Path) -> Iterator[xray.Store]:
    store: xray.Store
    if request.param == "sqlite":
        store = xray.SQLiteStore(db_path, strict=True)
    else:
        store = xray.MemoryStore()
    yield store
    store.close()


@pytest.mark.parametrize("held", [False, True], ids=["queued", "in a transaction"])
def test_a_trace_saved_again_is_replaced_whole(any_store: xray.Store, held: bool) -> None:
    start = T0 + timedelta(seconds=1)
    second = {"step_id": "t.1", "trace_id": "t", "name": "extra", "step_order": 1,
              "status": "completed", "start_time": start, "end_time": start, "duration_ms": 0.5}
    longer = make_trace("t")
    longer = longer.model_copy(update={"steps": [*longer.steps, xray.Step.model_validate(second)]})
    any_store.save_traces([longer])
    shorter = make_trace("t", metadata={"i": 2})
    if held and isinstance(any_store, xray.SQLiteStore):
        with any_store.transaction():
            any_store.save_traces([shorter])
    else:
        any_store.save_traces([shorter])
    again = any_store.get_trace("t")
    assert again is not None and again == shorter  # the step it no longer has is gone
    if isinstance(any_store, xray.SQLiteStore):  # and its digest is that of the steps it has
        conn = any_store._conn
        assert conn is not None
        steps = conn.execute(f"SELECT {', '.join(STEP_COLUMNS)} FROM steps").fetchall()
        [(digest,)] = conn.execute("SELECT digest FROM traces").fetchall()
        assert len(steps) == 1 and digest == trace_digest(steps)


def test_list_traces_filters_and_paginates_oldest_first(any_store: xray.Store) -> None:
    traces = [
        make_trace("a1", start_time=T0, run_id="r1", test_id="t::one"),
        make_trace("a2", start_time=T0 + timedelta(seconds=1), run_id="r1", test_id="t::two",
                   status="failed", name="other"),
        make_trace("a3", start_time=T0 + timedelta(seconds=2), run_id="r2", test_id="t::one"),
        make_trace("a4", start_time=T0 + timedelta(seconds=2, microseconds=1)),
    ]  # fmt: skip
    assert any_store.save_traces(reversed(traces)) == 4

    def ids(**query: Any) -> list[str]:
        return [t.trace_id for t in any_store.list_traces(**query)]

    assert ids() == ["a1", "a2", "a3", "a4"]
    assert ids(limit=2) == ["a1", "a2"]
    assert ids(limit=2, offset=2) == ["a3", "a4"]
    assert ids(limit=None, offset=3) == ["a4"]
    assert ids(status="failed") == ["a2"]
    assert ids(name="pipeline") == ["a1", "a3", "a4"]
    assert ids(run_id="r1") == ["a1", "a2"]
    assert ids(test_id="t::one") == ["a1", "a3"]
    assert ids(run_id="r2", test_id="t::one") == ["a3"]
    assert ids(since=T0 + timedelta(seconds=1)) == ["a2", "a3", "a4"]
    assert ids(since=(T0 + timedelta(seconds=2)).replace(tzinfo=None)) == ["a3", "a4"]  # naive=UTC
    assert ids(status="completed", limit=1, offset=1) == ["a3"]
    loaded = any_store.get_trace("a2")
    assert loaded == traces[1]  # steps, times and metadata survive exactly


def test_list_traces_and_list_runs_refuse_a_bad_page_or_status(any_store: xray.Store) -> None:
    any_store.save_traces([make_trace("a1")])
    for query, named in (({"limit": -1}, "limit"), ({"offset": -2}, "offset"),
                         ({"limit": 1.5}, "limit"), ({"status": "done"}, "status")):  # fmt: skip
        with pytest.raises(ValueError, match=named):
            any_store.list_traces(**query)
    with pytest.raises(ValueError, match="offset"):
        any_store.list_runs(offset=-1)
    assert [t.trace_id for t in any_store.list_traces(limit=0)] == []
    with pytest.raises(TypeError, match="stauts"):
        any_store.list_traces(stauts="failed")  # type: ignore[call-arg]


def test_list_traces_is_stated_once_for_every_store() -> None:
    """The protocol owns the signature; a store answers a TraceQuery (its filters checked)."""
    assert all("list_traces" not in vars(cls) for cls in (xray.SQLiteStore, xray.MemoryStore))
    query = TraceQuery(None, 0, name="n", since=datetime(2026, 1, 1))
    assert query.since == datetime(2026, 1, 1, tzinfo=timezone.utc)  # naive is UTC
    assert query.equal_filters() == {"name": "n"}
    with pytest.raises(ValueError, match="status must be one of"):
        TraceQuery(status="done")  # type: ignore[arg-type]


def test_get_trace_of_an_unknown_id_is_none(any_store: xray.Store) -> None:
    assert any_store.get_trace("nope") is None


def test_trace_ids_with_prefix_escapes_like_wildcards(any_store: xray.Store) -> None:
    any_store.save_traces([make_trace(i) for i in ("abc1", "abc2", "abd", "a_c", "a%c")])
    assert any_store.trace_ids_with_prefix("abc") == ["abc1", "abc2"]
    assert any_store.trace_ids_with_prefix("a_") == ["a_c"]
    assert any_store.trace_ids_with_prefix("a%") == ["a%c"]
    assert any_store.trace_ids_with_prefix("ab", limit=2) == ["abc1", "abc2"]
    assert any_store.trace_ids_with_prefix("zzz") == []


def test_runs_crud(any_store: xray.Store) -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    first = make_run("run-1", T0, git_commit=sha, git_branch="main", git_dirty=False,
                     command="pytest -q", counts={"passed": 2})  # fmt: skip
    second = make_run("run-2", T0 + timedelta(minutes=1), git_dirty=True)
    any_store.save_run(first, [
        {"test_id": "t::b", "outcome": "passed", "baseline": None, "duration_ms": 1.5},
        {"test_id": "t::a", "outcome": "failed", "baseline": "failed", "duration_ms": 2.0,
         "message": "AssertionError: B0X was qualified"},
    ])  # fmt: skip
    any_store.save_run(second)
    any_store.save_traces([make_trace("x1", run_id="run-1"), make_trace("x2", run_id="run-2")])

    assert any_store.get_run("run-1") == first
    assert any_store.get_run("missing") is None
    assert [r.run_id for r in any_store.list_runs()] == ["run-2", "run-1"]  # newest first
    assert [r.run_id for r in any_store.list_runs(limit=1, offset=1)] == ["run-1"]
    assert [row["test_id"] for row in any_store.run_tests("run-1")] == ["t::a", "t::b"]
    assert any_store.run_tests("run-1")[0] == {
        "test_id": "t::a", "outcome": "failed", "baseline": "failed", "duration_ms": 2.0,
        "message": "AssertionError: B0X was qualified",
    }  # fmt: skip
    assert any_store.run_tests("run-1")[1]["message"] is None
    assert any_store.run_tests("missing") == []

    finished = first.model_copy(update={"finished_at": T0 + timedelta(seconds=30)})
    any_store.save_run(finished)  # an update keeps the test rows
    assert any_store.get_run("run-1") == finished
    assert len(any_store.run_tests("run-1")) == 2

    any_store.delete_run("run-1")
    assert any_store.get_run("run-1") is None
    assert any_store.run_tests("run-1") == []
    assert [t.trace_id for t in any_store.list_traces()] == ["x2"]


def test_a_running_trace_is_readable_with_its_finished_steps(store: xray.SQLiteStore) -> None:
    xr = xray.XRay(store=store)
    with xr.trace("long") as trace:
        with trace.step("done"):
            pass
        reader = xray.SQLiteStore(store.path, strict=True)
        store.flush()
        running = reader.get_trace(trace.trace_id)
        assert running is not None and running.status == "running"
        assert [s.name for s in running.steps] == ["done"]
        reader.close()
    finished = store.get_trace(trace.trace_id)
    assert finished is not None and finished.status == "completed"


def _record_in_forked_child(store: xray.SQLiteStore) -> None:
    record_one(store)
    store.flush()


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # 3.12+: fork with threads
def test_a_store_inherited_by_a_forked_child_still_records(store: xray.SQLiteStore) -> None:
    parent_trace = record_one(store)  # the writer thread exists before the fork
    child = multiprocessing.get_context("fork").Process(
        target=_record_in_forked_child, args=(store,)
    )
    child.start()
    child.join(30)
    assert child.exitcode == 0
    traces = store.list_traces()
    assert len(traces) == 2 and parent_trace in {t.trace_id for t in traces}
    assert all(len(t.steps) == 1 for t in traces)


def test_text_utf8_cannot_encode_is_stored_escaped_not_lost(store: xray.SQLiteStore) -> None:
    name = "report-\udc80.csv"  # a file name decoded with surrogateescape
    with xray.XRay(store=store).trace(name) as trace:
        with trace.step("read", input={"file": name}) as step:
            step.set_reasoning(f"read {name}")
    stored = store.get_trace(trace.trace_id)
    assert store.errors == 0 and stored is not None
    assert stored.name == "report-\\udc80.csv"
    assert stored.steps[0].input == {"file": "report-\\udc80.csv"}  # one representation
    assert stored.steps[0].reasoning == "read report-\\udc80.csv"


def test_a_process_ending_without_closing_its_store_leaves_the_file_whole(db_path: Path) -> None:
    """At exit the store is closed: its last connection checkpoints the log into the file, so
    the file alone (copied, attached to a CI job) holds every trace."""
    code = (
        "import sys, xray_core as xray\n"
        "store = xray.SQLiteStore(sys.argv[1])\n"
        "with xray.XRay(store=store).trace('t') as trace, trace.step('s'):\n"
        "    pass\n"
    )
    subprocess.run([sys.executable, "-c", code, str(db_path)], check=True, timeout=60)
    assert sorted(p.name for p in db_path.parent.iterdir()) == [db_path.name]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM steps").fetchone() == (1,)
    conn.close()


def test_a_relative_path_keeps_naming_the_same_file_after_a_chdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    store = xray.SQLiteStore("rel.db", strict=True)
    monkeypatch.chdir(tmp_path / "b")  # the writer thread connects only on the first write
    trace_id = record_one(store)
    assert store.get_trace(trace_id) is not None
    store.close()
    assert (tmp_path / "a" / "rel.db").exists() and not (tmp_path / "b" / "rel.db").exists()


def _fork_and_exit() -> None:
    os._exit(0)


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # 3.12+: fork with threads
def test_a_forked_child_touches_no_inherited_store_it_does_not_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = xray.SQLiteStore("parent.db", strict=True)
    record_one(store)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    child = multiprocessing.get_context("fork").Process(target=_fork_and_exit)
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert os.listdir(tmp_path / "elsewhere") == []  # no file opened in the child's cwd
    store.close()


def test_opening_a_fresh_file_waits_for_another_process_instead_of_failing(
    db_path: Path,
) -> None:
    # A second process creating the same file at the same moment: SQLite refuses the switch to
    # WAL at once ("database is locked", no busy handler), so the store has to wait and retry.
    blocker = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, blocker.execute, ["ROLLBACK"])
    release.start()
    try:
        with pytest.raises(xray.StoreError, match="locked"):
            xray.SQLiteStore(db_path, strict=True, timeout=0.05)  # gives up after its timeout
        store = xray.SQLiteStore(db_path, strict=True, timeout=10)
    finally:
        release.join()
        blocker.close()
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    record_one(store)
    store.close()
