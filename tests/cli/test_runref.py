"""Run references: latest, latest~N, id prefixes, commits, git revisions, ambiguity."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from xray_core.exceptions import UnknownRunError
from xray_core.models import Run
from xray_core.runref import describe_run, resolve_run

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _run(run_id: str, commit: str | None, hours: int) -> Run:
    return Run(run_id=run_id, started_at=T0 + timedelta(hours=hours), git_commit=commit,
               git_branch="main")  # fmt: skip


# most recent first, as SQLiteStore.list_runs returns them
RUNS = [
    _run("f00d0003", "c0ffee" + "3" * 34, 3),
    _run("f00d0002", "c0ffee" + "3" * 34, 2),
    _run("beef0001", "deadbeef" + "1" * 32, 1),
    _run("abcd0000", None, 0),
]


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("latest", "f00d0003"),
        ("latest~0", "f00d0003"),
        ("latest~1", "f00d0002"),
        ("latest~3", "abcd0000"),
        ("f00d0002", "f00d0002"),  # exact id
        ("beef", "beef0001"),  # unique id prefix
        ("ABCD", "abcd0000"),  # prefixes are case-insensitive
        ("c0ffee33", "f00d0003"),  # commit prefix: that commit's latest run
        ("deadbeef" + "1" * 32, "beef0001"),  # full commit
    ],
)
def test_resolves(ref: str, expected: str) -> None:
    assert resolve_run(RUNS, ref).run_id == expected


def test_ambiguous_prefix_lists_candidates() -> None:
    with pytest.raises(UnknownRunError, match="ambiguous") as info:
        resolve_run(RUNS, "f00d")
    assert describe_run(RUNS[0]) in str(info.value)
    assert describe_run(RUNS[1]) in str(info.value)


def test_prefix_of_an_id_and_of_a_commit_is_ambiguous() -> None:
    runs = [_run("dead0009", None, 9), *RUNS]
    with pytest.raises(UnknownRunError, match=r"ambiguous.*dead0009.*beef0001"):
        resolve_run(runs, "dead")


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("latest~4", "only 4 run"),
        ("nope", r"no run matches 'nope'; recent runs: f00d0003"),
        ("  ", "empty run reference"),
    ],
)
def test_unknown(ref: str, message: str) -> None:
    with pytest.raises(UnknownRunError, match=message):
        resolve_run(RUNS, ref, git_cwd="/")


def test_no_runs() -> None:
    with pytest.raises(UnknownRunError, match="no runs"):
        resolve_run([], "latest")


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_git_revision_names_its_commit(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    for n in (1, 2):
        (tmp_path / "f.txt").write_text(str(n))
        _git(tmp_path, "add", "f.txt")
        _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", str(n))
    head, parent = _git(tmp_path, "rev-parse", "HEAD"), _git(tmp_path, "rev-parse", "HEAD~1")
    runs = [_run("r2", head, 2), _run("r1", parent, 1)]
    assert resolve_run(runs, "HEAD~1", git_cwd=str(tmp_path)).run_id == "r1"
    assert resolve_run(runs, "HEAD", git_cwd=str(tmp_path)).run_id == "r2"
    with pytest.raises(UnknownRunError, match="has no recorded run"):
        resolve_run([runs[0]], "HEAD~1", git_cwd=str(tmp_path))
