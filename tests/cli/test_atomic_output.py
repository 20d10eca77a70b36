"""``xray export`` and ``xray report``: a write that fails half way keeps the previous file.

The real command runs in a subprocess under a file-size limit (``RLIMIT_FSIZE``, SIGXFSZ
ignored): the disk refuses bytes half way through the output, as a full disk would.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import COMMIT_A, COMMIT_B, add_run

resource = pytest.importorskip("resource")

LIMIT = 64_000  # above the database's shared-memory index (32 KiB), below the outputs


def _limit_file_size() -> None:
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # ignored signals stay ignored across exec
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def xray(*args: object, cwd: Path, limit: bool = False) -> subprocess.CompletedProcess[str]:
    preexec: Callable[[], None] | None = _limit_file_size if limit else None
    return subprocess.run(
        [sys.executable, "-m", "xray_core.cli", *map(str, args)], cwd=cwd, capture_output=True,
        text=True, timeout=120, check=False, preexec_fn=preexec,
    )  # fmt: skip


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """A small run, then a large one (its export and report are larger than LIMIT)."""
    db = tmp_path / "runs.db"
    add_run(db, 10.0, commit=COMMIT_A, index=0)
    add_run(db, 20.0, commit=COMMIT_B, index=1,
            tests=tuple(f"tests/test_pick.py::test_{i}" for i in range(80)))  # fmt: skip
    return db


def test_an_export_failing_half_way_keeps_the_previous_export(runs: Path) -> None:
    folder = runs.parent
    first = xray("export", "latest~1", "-o", "out/e.jsonl", "--db", runs, cwd=folder)
    assert first.returncode == 0, first.stderr
    previous = (folder / "out" / "e.jsonl").read_bytes()
    whole = xray("export", "latest", "-o", "whole.jsonl", "--db", runs, cwd=folder)
    assert whole.returncode == 0 and (folder / "whole.jsonl").stat().st_size > 2 * LIMIT
    failed = xray("export", "latest", "-o", "out/e.jsonl", "--db", runs, cwd=folder, limit=True)
    assert failed.returncode == 2
    assert failed.stderr.strip().endswith("out/e.jsonl: cannot write: File too large")
    assert (folder / "out" / "e.jsonl").read_bytes() == previous
    assert [p.name for p in (folder / "out").iterdir()] == ["e.jsonl"]


def test_a_report_failing_half_way_keeps_the_previous_report(runs: Path) -> None:
    folder = runs.parent
    assert xray("report", "latest~1", "-o", "r.html", "--db", runs, cwd=folder).returncode == 0
    previous = (folder / "r.html").read_bytes()
    failed = xray("report", "latest", "-o", "r.html", "--db", runs, cwd=folder, limit=True)
    assert failed.returncode == 2
    assert "r.html: cannot write the report: File too large" in failed.stderr
    assert (folder / "r.html").read_bytes() == previous
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")], "a temporary left"
