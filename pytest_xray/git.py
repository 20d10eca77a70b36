"""The git state a run row records: commit, branch, dirty (no pytest here: the run's keeper
process, :mod:`pytest_xray.keeper`, looks it up in place of the pytest process)."""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

from xray_core.surrogates import escape_surrogates

if TYPE_CHECKING:
    from pathlib import Path

#: (full commit SHA, branch, dirty), each None when unknown (outside a repository)
GitState = tuple[str | None, str | None, bool | None]


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return escape_surrogates(os.fsdecode(done.stdout).strip())  # a branch name may not be UTF-8


def git_state(cwd: Path) -> GitState:
    """(full commit SHA, branch, dirty) of the repository at ``cwd``; Nones outside a repo."""
    # one process for both: rev-parse prints the commit, then the branch ("HEAD" when detached);
    # a repository without a commit yet fails
    found = _git(cwd, "rev-parse", "HEAD", "--abbrev-ref", "HEAD")
    commit, _, branch = (found or "").partition("\n")
    if len(commit) != 40:
        return None, None, None
    status = _git(cwd, "status", "--porcelain", "--untracked-files=no")
    return (
        commit,
        (branch if branch and branch != "HEAD" else None),
        (None if status is None else bool(status)),
    )
