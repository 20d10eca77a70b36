"""xray_core.shards: how the records of CI shards combine, and what is not a shard."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from xray_core.models import RUN_STATUSES, Run
from xray_core.shards import merge_runs, same_session, shard_problem

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
KEYS = ("tests", "passed", "failed", "traces", "steps")


@st.composite
def shards(draw: st.DrawFn) -> Run:
    start = T0 + timedelta(seconds=draw(st.integers(0, 10_000)))
    end = draw(st.none() | st.integers(0, 10_000).map(lambda s: start + timedelta(seconds=s)))
    return Run(
        run_id="ci-1", started_at=start, finished_at=end, git_commit="c" * 40,
        git_branch=draw(st.sampled_from(["main", "dev", None])),
        git_dirty=draw(st.sampled_from([True, False, None])),
        command=draw(st.sampled_from(["pytest tests/a", "pytest tests/ab", "pytest -k 'x or y'"])),
        counts=draw(st.dictionaries(st.sampled_from(KEYS), st.integers(0, 1000))),
        status=draw(st.sampled_from(RUN_STATUSES)),
        host=draw(st.sampled_from(["ci-1", "ci-2"])), pid=draw(st.integers(1, 3)),
    )  # fmt: skip


@given(st.lists(shards(), min_size=1, max_size=5))
def test_merged_record_is_the_same_in_any_order(runs: list[Run]) -> None:
    forward = functools.reduce(merge_runs, runs)
    backward = functools.reduce(merge_runs, reversed(runs))
    for field in ("started_at", "finished_at", "status", "counts", "git_dirty", "host"):
        assert getattr(forward, field) == getattr(backward, field), field
    assert sorted(str(forward.command).split(" ; ")) == sorted(str(backward.command).split(" ; "))


@given(st.lists(shards(), min_size=2, max_size=5))
def test_merged_record_spans_the_shards_and_adds_their_counts(runs: list[Run]) -> None:
    merged = functools.reduce(merge_runs, runs)
    assert merged.run_id == "ci-1"
    assert merged.started_at == min(r.started_at for r in runs)
    ends = [r.finished_at for r in runs]
    assert merged.finished_at == (None if None in ends else max(ends))  # type: ignore[type-var]
    ranks = ["completed", "running", "interrupted", "failed"]
    assert merged.status == max((r.status for r in runs), key=ranks.index)
    for key in KEYS:
        assert merged.counts.get(key, 0) == sum(r.counts.get(key, 0) for r in runs)
    assert merged.git_dirty is (True if any(r.git_dirty for r in runs) else
                                None if None in [r.git_dirty for r in runs] else False)  # fmt: skip
    distinct = list(dict.fromkeys(r.command for r in runs))
    assert merged.command == " ; ".join(distinct)
    if len({r.git_branch for r in runs}) > 1:
        assert merged.git_branch is None


@given(shards())
def test_merging_an_empty_shard_again_changes_nothing(run: Run) -> None:
    empty = run.model_copy(update={"counts": {}, "started_at": run.started_at + timedelta(1)})
    once = merge_runs(run, empty)
    assert merge_runs(once, empty) == once


def test_not_a_shard_another_commit_or_the_same_tests() -> None:
    stored = Run(run_id="ci-1", started_at=T0, git_commit="a" * 40, host="h", pid=1)
    other = stored.model_copy(update={"started_at": T0 + timedelta(seconds=1), "pid": 2})
    assert not same_session(stored, other) and same_session(stored, stored.model_copy())
    assert shard_problem(stored, other, ["t::a"], ["t::b"]) is None
    assert "test 't::a' ran in both" in str(shard_problem(stored, other, ["t::a"], ["t::a"]))
    assert "and 1 more" in str(shard_problem(stored, other, ["t::a", "t::b"], ["t::b", "t::a"]))
    moved = other.model_copy(update={"git_commit": "b" * 40})
    assert f"recorded at commit {'b' * 40}, the stored run at {'a' * 40}" in str(
        shard_problem(stored, moved, [], []))  # fmt: skip
