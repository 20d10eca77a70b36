"""CI shards: the runs of one test suite split over several machines, made one run on import.

Shards are one run when their pytest sessions were given the same run id (``pytest
--xray-run-id=ID`` or ``XRAY_RUN_ID``): random run ids never repeat, so only a user's id makes
two sessions share one. ``xray import`` then merges each shard's record into the stored run
(see :func:`merge_runs`); it refuses a session of the same id that cannot be a shard of it
(another commit, or tests the run already holds: see :func:`shard_problem`), since merging
unrelated runs would be silent damage.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .models import Run, RunStatus

#: how bad each status is: the merged run has its worst shard's
_STATUS_RANK: dict[RunStatus, int] = {"completed": 0, "running": 1, "interrupted": 2, "failed": 3}
#: between the commands of merged shards
COMMAND_SEPARATOR = " ; "


def same_session(a: Run, b: Run) -> bool:
    """Whether ``a`` and ``b`` are records of one pytest session (exported at two moments)."""
    return (a.started_at, a.host, a.pid) == (b.started_at, b.host, b.pid)


def shard_problem(
    stored: Run, shard: Run, stored_tests: Iterable[str], shard_tests: Iterable[str]
) -> str | None:
    """Why ``shard`` (another session with ``stored``'s run id) cannot be merged into it, or None.

    :param stored_tests: the test ids the stored run holds.
    :param shard_tests: the test ids of the shard.
    """
    if stored.git_commit != shard.git_commit:
        return (
            f"it was recorded at commit {shard.git_commit or 'none'}, the stored run at "
            f"{stored.git_commit or 'none'}: shards of one run test one commit"
        )
    both = sorted(set(stored_tests) & set(shard_tests))
    if both:
        more = f" and {len(both) - 1} more" if len(both) > 1 else ""
        return (
            f"test {both[0]!r}{more} ran in both: shards of one run split the tests (a re-run of "
            "a CI build needs a new run id)"
        )
    return None


def _common(values: list[Any]) -> Any:
    return values[0] if len(set(values)) == 1 else None


def _commands(stored: str | None, shard: str | None) -> str | None:
    """``stored`` with ``shard`` appended unless it is one of the commands joined there."""
    if not shard or not stored:
        return stored or shard
    sep = COMMAND_SEPARATOR
    held = stored == shard or stored.startswith(shard + sep) or stored.endswith(sep + shard)
    if held or f"{sep}{shard}{sep}" in stored:
        return stored
    return stored + sep + shard


def merge_runs(stored: Run, shard: Run) -> Run:
    """The record of ``stored`` with ``shard`` merged into it.

    Started at the first start, finished at the last end (unfinished while a shard is), the
    worst status, counts added up, each distinct command once (joined by ``" ; "``), dirty
    when a shard was; the branch, host and pid are kept when every shard has the same. Merging
    a shard without counts again changes nothing (an empty shard is merged on each import).
    """
    runs = (stored, shard)
    ends = [r.finished_at for r in runs]
    dirty = [r.git_dirty for r in runs]
    counts: dict[str, int] = {}
    for run in runs:
        for key, value in run.counts.items():
            counts[key] = counts.get(key, 0) + value
    return stored.model_copy(
        update={
            "started_at": min(r.started_at for r in runs),
            "finished_at": None if None in ends else max(e for e in ends if e is not None),
            "status": max((r.status for r in runs), key=_STATUS_RANK.__getitem__),
            "counts": counts,
            "command": _commands(stored.command, shard.command),
            "git_branch": _common([r.git_branch for r in runs]),
            "git_dirty": True if True in dirty else None if None in dirty else False,
            "host": _common([r.host for r in runs]),
            "pid": stored.pid if (stored.host, stored.pid) == (shard.host, shard.pid) else None,
        }
    )
