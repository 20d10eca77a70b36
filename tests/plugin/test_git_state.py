"""``git_state``: the commit, branch and dirty flag a run row records, from real repositories."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pytest_xray.git import git_state

GIT = ["git", "-c", "user.email=x@example.com", "-c", "user.name=x"]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def test_outside_a_repository_nothing_is_known(tmp_path: Path) -> None:
    assert git_state(tmp_path) == (None, None, None)


def test_a_repository_without_a_commit_has_no_state(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "trunk")
    assert git_state(tmp_path) == (None, None, None)


def test_commit_branch_and_dirty(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "trunk")
    (tmp_path / "a.txt").write_text("one\n")
    (tmp_path / "HEAD").write_text("a file named like the revision\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "one")
    head = git(tmp_path, "rev-parse", "HEAD")
    assert git_state(tmp_path) == (head, "trunk", False)
    (tmp_path / "a.txt").write_text("two\n")
    assert git_state(tmp_path) == (head, "trunk", True)


def test_a_detached_head_has_no_branch(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "trunk")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "one")
    head = git(tmp_path, "rev-parse", "HEAD")
    git(tmp_path, "checkout", "-q", "--detach")
    assert git_state(tmp_path) == (head, None, False)
