"""What every ``xray`` command shares: finding and opening the database, output helpers."""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import os
import sqlite3
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.text import Text

from ..exceptions import XRayError
from ..models import Run, Trace
from ..runref import id_problem, resolve_run
from ..serialize import escape_surrogates
from ..store.readonly import connect_read_only
from ..store.schema import READ_ONLY_FROM, SCHEMA_VERSION
from ..store.sqlite import SQLiteStore

DEFAULT_DB = Path(".xray") / "runs.db"
TEST_HELP = "only tests whose node id contains PATTERN, or matches it as a glob (* ? [)"


class CommandSet:
    """Where each command module adds its subcommand; every one gets the shared options."""

    def __init__(self, subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
        self._subparsers = subparsers
        self._parents = parents

    def add(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        """A new subcommand parser (``--db`` and ``--json`` included)."""
        parser: argparse.ArgumentParser = self._subparsers.add_parser(
            name, parents=self._parents, **kwargs
        )
        return parser


class UsageError(XRayError):
    """The command line asked for something impossible (bad value, missing file, empty DB)."""


@dataclass
class Context:
    """What a command runs with: where its database is, and where its output goes."""

    db: Path | None
    console: Console
    as_json: bool = False

    def db_path(self) -> Path:
        """The database named by ``--db``, else ``.xray/runs.db`` found upwards from here."""
        return self.db if self.db is not None else find_db(Path.cwd())

    def open_store(self, *, write: bool = False) -> AbstractContextManager[SQLiteStore]:
        """The existing database, checked to be an X-Ray one (never creates a file).

        Unless ``write``, neither the file nor its ``-wal`` is ever changed: it is opened
        read-only (a leftover write-ahead log is read, not checkpointed), and a database of an
        older schema (which opening would migrate, locking out the older X-Ray that wrote it) is
        read from a migrated copy.
        """
        path = self.db_path()
        readable = check_db(path)
        if write:
            return _opened(path)
        return _opened(path, copy=not readable, read_only=readable)

    def create_store(self) -> AbstractContextManager[SQLiteStore]:
        """The database, created (with its parent directories) when missing."""
        path = self.db if self.db is not None else _found_or_default(Path.cwd())
        if path.exists():
            check_db(path)
        return _opened(path)

    @property
    def stdout(self) -> IO[str]:
        """Where results go (the process's standard output)."""
        return sys.stdout

    def say(self, text: str | Text) -> None:
        """One result line, never wrapped (user data printed as text, never as markup).

        A lone surrogate (a file name that is not UTF-8) is printed as ``\\udcxx``: an output
        stream that encodes strictly would refuse it.
        """
        line = text.copy() if isinstance(text, Text) else Text(text)
        escaped = escape_surrogates(line.plain)
        if escaped != line.plain:
            line.plain = escaped
        self.console.print(line, soft_wrap=True)

    def print_json(self, data: Any) -> None:
        """Machine-readable output: one JSON document on stdout."""
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@contextmanager
def _opened(path: Path, *, copy: bool = False, read_only: bool = False) -> Iterator[SQLiteStore]:
    with tempfile.TemporaryDirectory(prefix="xray-") if copy else nullcontext() as folder:
        target = _copy(path, Path(folder)) if folder else path
        store = SQLiteStore(target, strict=True, read_only=read_only and not folder)
        store.path = path  # messages name the user's file, not the copy
        try:
            yield store
        finally:
            store.close()


def _copy(path: Path, folder: Path) -> Path:
    """A copy of the database at ``path`` in ``folder``, read through a read-only connection."""
    target = folder / path.name
    source, copy = connect_read_only(path), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    return target


def find_db(start: Path) -> Path:
    """``.xray/runs.db`` in ``start`` or its nearest parent that has one."""
    for folder in (start, *start.parents):
        candidate = folder / DEFAULT_DB
        if candidate.is_file():
            return candidate
    raise UsageError(
        f"no X-Ray database: no {DEFAULT_DB} in {start} or its parents "
        "(record one with `pytest --xray-db`, or pass --db PATH)"
    )


def _found_or_default(start: Path) -> Path:
    try:
        return find_db(start)
    except UsageError:
        return start / DEFAULT_DB


def check_db(path: Path) -> bool:
    """Refuse a missing file, a file that is not SQLite, or a SQLite file X-Ray did not write.

    Read-only: the file is opened with ``mode=ro`` so nothing is created or changed here (a
    database of a newer schema is refused by :class:`SQLiteStore` itself, untouched).

    :returns: whether the database can be read as it is (with ``read_only=True``), without
        being migrated: its schema is the current one, or an older one read as it is
        (``READ_ONLY_FROM``), or a newer one (which is refused).
    """
    if not path.exists():
        raise UsageError(f"{path}: no such database file")
    if path.is_dir():
        raise UsageError(f"{path}: is a directory, not a database file")
    try:
        conn = connect_read_only(path)
    except sqlite3.Error as exc:
        raise UsageError(f"{path}: {_cannot_open(path, exc)}") from None
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = {r[0] for r in rows}
    except sqlite3.Error as exc:
        raise UsageError(f"{path}: not an SQLite database ({exc})") from None
    finally:
        conn.close()
    if version <= SCHEMA_VERSION and "runs" not in tables:
        raise UsageError(f"{path}: an SQLite database, but not an X-Ray one (no runs table)")
    return version >= READ_ONLY_FROM


def _cannot_open(path: Path, exc: sqlite3.Error) -> str:
    """Why SQLite could not open ``path`` for reading, in the user's terms."""
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
        return f"not an SQLite database ({exc})"
    if not os.access(path, os.R_OK):
        return "cannot read the file (permission denied)"
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and not os.access(path.parent, os.W_OK):
        return (f"cannot read it: SQLite needs to create its -shm index beside {wal.name} to read "
                f"that log, and the folder is read-only ({exc}); copy the database and its "
                "-wal file to a writable folder")  # fmt: skip
    return f"cannot open it as an SQLite database ({exc})"


def all_runs(store: SQLiteStore) -> list[Run]:
    """Every run, most recent first; an empty database is a usage error."""
    runs = store.list_runs()
    if not runs:
        raise UsageError(f"{store.path}: the database has no runs yet (record one with "
                         "`pytest --xray-db`)")  # fmt: skip
    return runs


def resolve(store: SQLiteStore, refs: Iterable[str]) -> list[Run]:
    """The runs named by ``refs`` (see :mod:`xray_core.runref`)."""
    runs = all_runs(store)
    return [resolve_run(runs, ref) for ref in refs]


def match_test(test_id: str | None, pattern: str | None) -> bool:
    """Whether a test id is selected by ``--test``: it contains the pattern, or matches it as a
    glob when the pattern has ``*?[`` (a pasted ``test_x[param]`` is taken literally first).
    """
    if not pattern:
        return True
    test_id = test_id or ""
    if pattern in test_id:
        return True
    return any(c in pattern for c in "*?[") and fnmatch.fnmatchcase(test_id, pattern)


def run_traces(store: SQLiteStore, run: Run, pattern: str | None = None) -> list[Trace]:
    """The traces of ``run`` (recording order), only those of tests matching ``pattern``."""
    traces = store.list_traces(None, run_id=run.run_id)
    return [t for t in traces if match_test(t.test_id, pattern)]


def format_ms(value: float | None) -> str:
    """A duration for people: ``850 ms``, ``1.25 s``, or ``-``."""
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.1f} ms"
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.2f} s"


def run_json(run: Run) -> dict[str, Any]:
    """A run as JSON-able data."""
    return run.model_dump(mode="json")


def output_file(text: str) -> str:
    """argparse type: a file name to write (not empty)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a file name, got {text!r}")
    return str(file_path(text))


def file_path(text: str) -> Path:
    """argparse type: a file name (the operating system refuses a NUL character in one)."""
    if "\x00" in text:
        raise argparse.ArgumentTypeError(f"{shown(text)}: a file name cannot contain a NUL "
                                         "character")  # fmt: skip
    return Path(text)


def identifier(text: str) -> str:
    """argparse type: an id, a prefix or a run reference as the database stores ids.

    Lone surrogates (bytes of a non-UTF-8 command line) become ``\\udcxx`` text, as the store
    writes them; a NUL character or more than ``runref.MAX_ID_LENGTH`` characters is refused.
    """
    problem = id_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{shown(text)} {problem}")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def pattern(text: str) -> str:
    """argparse type: a ``--test``/``--ignore`` pattern (the same limits as ids)."""
    problem = id_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{shown(text)} {problem}")
    return text


def text_arg(text: str) -> str:
    """argparse type: free text (a title); undecodable bytes become ``\\udcxx`` text."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def tolerance(text: str) -> float:
    """argparse type: a finite number of at least 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {shown(text)}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {shown(text)}")
    return value


def shown(text: str, limit: int = 60) -> str:
    """A user's value quoted in a message: repr, cut to a readable length."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {shown(text)}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value
