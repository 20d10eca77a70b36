"""Run references: how a person names a run of the history on the command line.

A reference is, in this order of precedence:

- ``latest`` or ``latest~N``: the most recent run, or the N-th run before it (runs ordered by
  their start time, the order they were recorded in);
- a run id, or a unique prefix of one;
- a git commit, full SHA or prefix: that commit's most recent run;
- any other git revision (``HEAD~1``, ``main``, ``v1.2``) when the current directory is in a
  git repository: the most recent run of the commit it names.

A prefix matching several runs (or several commits) is refused with the list of candidates.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence

from .exceptions import UnknownRunError
from .models import Run

_LATEST = re.compile(r"latest(?:~(\d+))?")
_MAX_CANDIDATES = 10
#: the longest id or reference looked up (SQLite refuses much longer LIKE patterns)
MAX_ID_LENGTH = 4096


def id_problem(text: str) -> str | None:
    """What makes ``text`` unusable as an id or a reference, or None when it is fine."""
    if "\x00" in text:
        return "contains a NUL character"
    if len(text) > MAX_ID_LENGTH:
        return f"is too long ({len(text)} characters; at most {MAX_ID_LENGTH})"
    return None


def short_id(value: str | None, length: int = 8) -> str:
    """The abbreviated form of a run id or commit SHA shown in listings."""
    return (value or "")[:length]


def describe_run(run: Run) -> str:
    """One line naming a run: short id, start time, short commit and branch."""
    when = run.started_at.strftime("%Y-%m-%d %H:%M:%S")
    where = short_id(run.git_commit) or "no commit"
    if run.git_branch:
        where += f" {run.git_branch}"
    return f"{short_id(run.run_id)} ({when} UTC, {where})"


def latest_index(ref: str) -> int | None:
    """N for ``latest~N`` (0 for ``latest``); None for any other reference."""
    found = _LATEST.fullmatch(ref.strip())
    return None if found is None else int(found.group(1) or 0)


def resolve_run(runs: Sequence[Run], ref: str, *, git_cwd: str | None = None) -> Run:
    """The run named by ``ref`` among ``runs`` (most recently started first, as ``list_runs``).

    :raises UnknownRunError: no run matches, or several do (the message lists them).
    """
    ref = ref.strip()
    if not ref:
        raise UnknownRunError("empty run reference; use a run id, latest, latest~N or a commit")
    problem = id_problem(ref)
    if problem is not None:
        raise UnknownRunError(f"run {ref[:60]!r}{'...' if len(ref) > 60 else ''} {problem}")
    if not runs:
        raise UnknownRunError(f"run {ref!r}: the database has no runs")
    index = latest_index(ref)
    if index is not None:
        return _nth(runs, index, ref)
    for run in runs:
        if run.run_id == ref:
            return run
    candidates = _prefix_candidates(runs, ref.lower())
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise UnknownRunError(
            f"run {ref!r} is ambiguous; it matches: "
            + "; ".join(describe_run(r) for r in candidates[:_MAX_CANDIDATES])
            + (" ..." if len(candidates) > _MAX_CANDIDATES else "")
        )
    sha = _git_revision(ref, git_cwd)
    if sha is not None:
        for run in runs:
            if (run.git_commit or "").lower() == sha:
                return run
        raise UnknownRunError(f"run {ref!r}: commit {short_id(sha)} has no recorded run")
    raise UnknownRunError(
        f"no run matches {ref!r}; recent runs: "
        + "; ".join(describe_run(r) for r in runs[:5])
        + " (also: latest, latest~N, a git commit)"
    )


def _nth(runs: Sequence[Run], n: int, ref: str) -> Run:
    if n >= len(runs):
        raise UnknownRunError(
            f"run {ref!r}: only {len(runs)} run(s) recorded, "
            f"so the oldest is latest~{len(runs) - 1}"
        )
    return runs[n]


def _prefix_candidates(runs: Sequence[Run], prefix: str) -> list[Run]:
    """Runs whose id starts with ``prefix``, plus the latest run of each matching commit."""
    found = [r for r in runs if r.run_id.lower().startswith(prefix)]
    if re.fullmatch(r"[0-9a-f]{4,40}", prefix):
        commits_seen: set[str] = set()
        for run in runs:  # most recent first: the first run of a commit is its latest
            commit = (run.git_commit or "").lower()
            if commit.startswith(prefix) and commit not in commits_seen:
                commits_seen.add(commit)
                if run not in found:
                    found.append(run)
    return found


def _git_revision(ref: str, cwd: str | None) -> str | None:
    """The full SHA git gives for ``ref`` in ``cwd``, or None (not a repository, no such ref)."""
    if ref.startswith("-"):
        return None
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            cwd=cwd, capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    sha = done.stdout.strip().lower()
    return sha if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", sha) else None
