"""Lists of scalars (rankings, selected ids) diff as moves, insertions and removals."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import xray_core as xray
from xray_core.align import MAX_LCS_CELLS, align_entries
from xray_core.diff import FieldChanged, ListEntryChanged


def ranked(ranking: list[Any], **extra: Any) -> xray.Trace:
    """A real recording of a ranking step whose output holds ``ranking``."""
    store = xray.MemoryStore()
    with xray.XRay(store=store).trace("rank-products") as trace:
        with trace.step("rank") as step:
            step.set_output({"ranking": ranking, **extra})
    recorded = store.get_trace(trace.trace_id)
    assert recorded is not None
    return recorded


def as_normalized(ranking: list[Any]) -> dict[str, Any]:
    """The same step as a baseline file holds it (what ``diff_traces`` also accepts)."""
    return {"name": "rank-products", "status": "completed", "metadata": {},
            "steps": [{"key": "rank", "status": "completed", "output": {"ranking": ranking}}]}


def apply_changes(old: list[Any], changes: list[Any]) -> list[Any]:
    """Rebuild the current list from the baseline and the reported changes (the documented
    reading): drop what was removed or moved away, put moved and inserted entries at their new
    index, fill the other places with the remaining entries in order, then apply the values
    replaced in place.
    """
    entries = [c for c in changes if isinstance(c, ListEntryChanged)]
    replaced = [c for c in changes if not isinstance(c, ListEntryChanged)]
    assert all(isinstance(c, FieldChanged) for c in replaced)
    gone = {c.old_index for c in entries if c.old_index is not None}
    rest = iter([v for i, v in enumerate(old) if i not in gone])
    placed = {c.new_index: c.value for c in entries if c.new_index is not None}
    size = len(old) - len(gone) + len(placed)
    new = [placed[i] if i in placed else next(rest) for i in range(size)]
    for change in replaced:
        index = re.fullmatch(r"rank\.output\.ranking\[(\d+)\]", change.path)
        assert index, change.path
        new[int(index.group(1))] = change.after
    return new


def test_a_moved_entry_is_one_change_with_positions_counted_from_1() -> None:
    before = ranked(["B0A", "B0B", "B0X", "B0C"])
    after = ranked(["B0X", "B0A", "B0B", "B0C"])
    diff = xray.diff_traces(before, after)
    [change] = diff.changes
    assert isinstance(change, ListEntryChanged)
    assert (change.edit, change.value, change.old_index, change.new_index) == ("moved", "B0X", 2, 0)
    assert change.path == "rank.output.ranking[0]"
    assert str(diff).splitlines()[1] == "  rank.output.ranking: 'B0X' moved #3 -> #1"


def test_insertions_and_removals_name_their_position() -> None:
    diff = xray.diff_traces(ranked(["B0A", "B0B", "B0Z", "B0C", "B0D"]),
                            ranked(["B0A", "B0Y", "B0B", "B0C", "B0D"]))  # fmt: skip
    assert [c.describe() for c in diff.changes] == [
        "rank.output.ranking: 'B0Y' inserted at #2",
        "rank.output.ranking: 'B0Z' removed (was #3)",
    ]
    assert [(c.edit, c.path) for c in diff.changes] == [
        ("inserted", "rank.output.ranking[1]"), ("removed", "rank.output.ranking[2]"),
    ]  # fmt: skip


def test_a_value_replaced_in_place_stays_a_field_change() -> None:
    diff = xray.diff_traces(ranked(["steel", "bottle"]), ranked(["steel", "flask"]))
    [change] = diff.changes
    assert type(change) is FieldChanged
    assert change.describe() == "rank.output.ranking[1]: 'bottle' -> 'flask'"


def test_an_ignore_on_an_index_matches_the_entry_at_that_index_on_either_side() -> None:
    before, after = ranked(["B0A", "B0B", "B0X"]), ranked(["B0X", "B0A", "B0B"])
    assert xray.diff_traces(before, after)
    for pattern in ("rank.output.ranking[2]", "rank.output.ranking[0]", "rank.output.ranking",
                    "*.ranking[*]"):  # fmt: skip
        assert not xray.diff_traces(before, after, ignore=[pattern]), pattern
    assert xray.diff_traces(before, after, ignore=["rank.output.ranking[1]"])
    removed = xray.diff_traces(ranked(["B0A", "B0B"]), ranked(["B0A"]))
    assert not xray.diff_traces(ranked(["B0A", "B0B"]), ranked(["B0A"]),
                                ignore="rank.output.ranking[1]")  # fmt: skip
    assert [c.paths for c in removed.changes] == [("rank.output.ranking[1]",)]


def test_numbers_keep_their_tolerance_and_flags_are_not_numbers() -> None:
    before, nudged = ranked([1.0, 2.0, 3.0]), ranked([1.01, 2.0, 3.0])
    assert xray.diff_traces(before, nudged)
    assert not xray.diff_traces(before, nudged, tolerance=0.05)
    [change] = xray.diff_traces(ranked([True, 1]), ranked([1, 1])).changes
    assert change.describe() == "rank.output.ranking[0]: True -> 1"
    assert not xray.diff_traces(ranked([1, 2]), ranked([1.0, 2.0]))
    [moved] = xray.diff_traces(ranked([1, True]), ranked([True, 1])).changes  # equal to Python
    assert isinstance(moved, ListEntryChanged) and moved.edit == "moved"


def test_lists_of_records_are_still_compared_position_by_position() -> None:
    before = ranked([], rows=[{"id": "A"}, {"id": "B"}])
    after = ranked([], rows=[{"id": "B"}, {"id": "A"}])
    assert sorted(c.path for c in xray.diff_traces(before, after).changes) == [
        "rank.output.rows[0].id", "rank.output.rows[1].id",
    ]  # fmt: skip


def test_a_long_ranking_beyond_the_exact_alignment_still_rebuilds() -> None:
    ranking = [f"B{i:04d}" for i in range(600)]
    assert len(ranking) ** 2 > MAX_LCS_CELLS  # difflib aligns this one
    changed = [ranking[-1], *ranking[1:300], "NEW", *ranking[300:-1], ranking[0]]
    diff = xray.diff_traces(as_normalized(ranking), as_normalized(changed))
    assert typed(apply_changes(ranking, diff.changes)) == typed(changed)
    assert len(diff.changes) <= 3


def typed(values: list[Any]) -> list[tuple[str, Any]]:
    """Entries as the diff tells them apart: ``True`` is not ``1`` (Python's ``==`` says it is)."""
    return [(type(v).__name__ if isinstance(v, bool) else "other", v) for v in values]


ids = st.sampled_from(["A", "B", "C", "D", "E", "F", 1, 2, 2.5, True, None])


@settings(max_examples=300, deadline=None)
@given(st.lists(ids, max_size=12), st.lists(ids, max_size=12))
def test_applying_the_reported_changes_to_the_old_list_gives_the_new_one(
    old: list[Any], new: list[Any]
) -> None:
    diff = xray.diff_traces(as_normalized(old), as_normalized(new))
    assert typed(apply_changes(old, diff.changes)) == typed(new)
    assert bool(diff) == (typed(old) != typed(new))


@settings(max_examples=300, deadline=None)
@given(st.lists(ids, min_size=1, max_size=15), st.data())
def test_a_list_with_one_moved_entry_gives_exactly_one_change(
    old: list[Any], data: st.DataObject
) -> None:
    source = data.draw(st.integers(0, len(old) - 1), label="from")
    target = data.draw(st.integers(0, len(old) - 1), label="to")
    new = old.copy()
    new.insert(target, new.pop(source))
    changes = xray.diff_traces(as_normalized(old), as_normalized(new)).changes
    if typed(new) == typed(old):  # moved onto itself, or among equal entries
        assert changes == []
    else:
        [change] = changes
        assert isinstance(change, ListEntryChanged) and change.edit == "moved"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=10), st.lists(st.integers(0, 5), max_size=10))
def test_the_alignment_keeps_a_longest_common_subsequence(old: list[int], new: list[int]) -> None:
    edits = align_entries(old, new)
    changed_old = {e.old for e in edits if e.old is not None}
    kept = [v for i, v in enumerate(old) if i not in changed_old]
    assert len(kept) == _lcs_length(old, new)


def _lcs_length(a: list[int], b: list[int]) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        prev = 0
        for j, y in enumerate(b):
            prev, row[j + 1] = row[j + 1], prev + 1 if x == y else max(row[j + 1], row[j])
    return row[-1]
