"""open_database alone: connect, pragmas, version check, migrations, read-only opening."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils

from xray_core.exceptions import SchemaVersionError, StoreError
from xray_core.store.database import connect, open_database
from xray_core.store.schema import CREATE_CURRENT, MIGRATIONS, SCHEMA_VERSION


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def beside(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir()} - {path.name}


def test_a_new_file_is_created_in_wal_mode_with_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "runs.db"
    conn = open_database(path, timeout=2.5)
    try:
        pragma = {name: conn.execute(f"PRAGMA {name}").fetchone()[0]
                  for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys",
                               "user_version")}  # fmt: skip
        assert pragma == {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 2500,
                          "foreign_keys": 1, "user_version": SCHEMA_VERSION}  # fmt: skip
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables >= {"traces", "steps", "runs", "run_tests"}
        assert not conn.in_transaction  # autocommit: the caller writes BEGIN ... COMMIT
    finally:
        conn.close()


def test_every_writable_connection_has_the_same_pragmas(tmp_path: Path) -> None:
    """synchronous is per connection: the writer thread's (made by connect) must not run at
    the default FULL, an fsync of the WAL at every commit."""
    path = tmp_path / "runs.db"
    open_database(path).close()
    conn = connect(path, timeout=2.5)
    try:
        pragma = {
            name: conn.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
        }
        assert pragma == {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 2500,
                          "foreign_keys": 1}  # fmt: skip
    finally:
        conn.close()


def schema(conn: sqlite3.Connection) -> dict[str, object]:
    """Every table's columns (type, not null, default, key), foreign keys and indexes."""
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    found: dict[str, object] = {}
    for table in tables:
        indexes = {
            (unique, origin, partial, tuple(c[2] for c in conn.execute(f"PRAGMA index_info('{name}')")))
            for _, name, unique, origin, partial in conn.execute(f"PRAGMA index_list('{table}')")
        }  # fmt: skip
        found[table] = (
            [r[1:] for r in conn.execute(f"PRAGMA table_xinfo('{table}')")],
            sorted(r[2:] for r in conn.execute(f"PRAGMA foreign_key_list('{table}')")),
            indexes,
        )
    index_names = "SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL"
    found["index names"] = {r[0] for r in conn.execute(index_names)}
    return found


def test_a_new_database_gets_the_schema_the_migrations_build(tmp_path: Path) -> None:
    """CREATE_CURRENT (a new file, no sqlite-utils) and MIGRATIONS from version 0 agree."""
    migrated = tmp_path / "migrated.db"
    with sqlite3.connect(migrated, isolation_level=None) as conn:
        for target in range(1, SCHEMA_VERSION + 1):
            MIGRATIONS[target](sqlite_utils.Database(conn))
        expected = schema(conn)
    conn.close()
    created = open_database(tmp_path / "new.db")
    try:
        assert created.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert schema(created) == expected
        count = "SELECT count(*) FROM sqlite_master WHERE sql IS NOT NULL"
        assert created.execute(count).fetchone()[0] == len(CREATE_CURRENT)
    finally:
        created.close()


def test_an_older_database_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    with sqlite3.connect(path, isolation_level=None) as old:
        MIGRATIONS[1](sqlite_utils.Database(old))
        old.execute("PRAGMA user_version = 1")
        old.execute("INSERT INTO runs (run_id, started_at, counts) VALUES ('r', '2025', '{}')")
    old.close()
    conn = open_database(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT run_id, status FROM runs").fetchall() == [("r", "completed")]
    finally:
        conn.close()


@pytest.mark.parametrize("read_only", [False, True])
def test_a_newer_schema_is_refused_and_the_file_left_as_it_was(
    tmp_path: Path, read_only: bool
) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before, files = fingerprint(path), beside(path)
    with pytest.raises(SchemaVersionError, match=f"schema version {SCHEMA_VERSION + 1} was"):
        open_database(path, read_only=read_only)
    assert fingerprint(path) == before and beside(path) == files


def test_read_only_opens_a_current_file_without_writing_it_or_creating_a_log(
    tmp_path: Path,
) -> None:
    path = tmp_path / "runs.db"
    open_database(path).close()
    before, files = fingerprint(path), beside(path)
    conn = open_database(path, read_only=True)
    try:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (0,)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("INSERT INTO runs (run_id, started_at) VALUES ('r', 'now')")
    finally:
        conn.close()
    assert fingerprint(path) == before and beside(path) == files == set()


def test_read_only_refuses_an_older_schema_rather_than_migrating_it(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as old:
        MIGRATIONS[1](sqlite_utils.Database(old))
        old.execute("PRAGMA user_version = 1")
    old.close()
    before = fingerprint(path)
    with pytest.raises(StoreError, match="a read-only store does not upgrade it"):
        open_database(path, read_only=True)
    assert fingerprint(path) == before


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p.mkdir(), "cannot open as an X-Ray database"),
        (lambda p: p.write_text("not sqlite, " * 100), "cannot open as an X-Ray database"),
    ],
    ids=["directory", "not-sqlite"],
)
def test_what_cannot_be_opened_is_a_store_error_naming_the_file(
    tmp_path: Path, make: object, expected: str
) -> None:
    path = tmp_path / "runs.db"
    make(path)  # type: ignore[operator]
    with pytest.raises(StoreError, match=expected) as info:
        open_database(path, timeout=0.1)
    assert str(path) in str(info.value) and isinstance(info.value.__cause__, sqlite3.Error)


@pytest.mark.parametrize("exists", [True, False], ids=["current", "new"])
def test_opening_a_current_or_new_database_does_not_import_sqlite_utils(
    tmp_path: Path, exists: bool
) -> None:
    """sqlite-utils runs the migrations only: neither a database already at the current version
    (every run after the first) nor a new one (a CI job's first run) pays for importing it."""
    path = tmp_path / "runs.db"
    if exists:
        open_database(path).close()
    code = (
        "import sys\n"
        "from xray_core.store.database import open_database\n"
        f"open_database({str(path)!r}).close()\n"
        "assert 'sqlite_utils' not in sys.modules, 'sqlite_utils imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert open_database(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_none_and_bytes_are_bound_as_they_are_and_an_apps_adapter_is_kept() -> None:
    """The store registers adapters that return None and bytes as they are (sqlite3 would
    otherwise build an AttributeError message for each such value): NULL and BLOB as before,
    and an adapter the application registered first is not replaced."""
    code = (
        "import sqlite3\n"
        "sqlite3.register_adapter(bytes, lambda b: b.hex())\n"
        "import xray_core.store.database\n"
        "conn = sqlite3.connect(':memory:')\n"
        "print(conn.execute('SELECT ?, typeof(?)', [b'ab', b'ab']).fetchone())\n"
    )
    kept = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert kept.stdout.strip() == "('6162', 'text')"  # the application's own adapter
    import xray_core.store.database  # noqa: F401 - registered on import

    conn = sqlite3.connect(":memory:")
    try:
        found = conn.execute("SELECT ?, typeof(?), ?, typeof(?)",
                             [None, None, b"\x00\xff", b"\x00\xff"]).fetchone()  # fmt: skip
    finally:
        conn.close()
    assert found == (None, "null", b"\x00\xff", "blob")
    assert sqlite3.adapters[(type(None), sqlite3.PrepareProtocol)](None) is None
    data = b"digest"
    assert sqlite3.adapters[(bytes, sqlite3.PrepareProtocol)](data) is data
