"""Sequence alignment of two lists of scalars: which entries were kept, moved, inserted, removed.

The diff of a ranking or a selected set (``["B0X", "B0Y", ...]``) reads as moves rather than
one change per shifted position. :func:`align_entries` finds a longest common subsequence of the
two lists (the entries kept in order); an entry removed at one place and inserted at another
with the same value is a *move*; what is left over inside one gap of the alignment is a value
replaced in place, or a plain insertion or removal.

Entries are compared by type and value: ``1`` and ``1.0`` are the same entry, ``True`` and ``1``
are not (as in :func:`xray_core.diff.diff_traces`).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Literal

#: Above this many cells (entries of one side x the other, once the common head and tail are
#: cut), the exact LCS table costs too much and difflib's matcher aligns instead: it finds long
#: common runs, not always the longest subsequence, so a few more entries may show as moved.
MAX_LCS_CELLS = 250_000

EntryEdit = Literal["moved", "inserted", "removed", "replaced"]


@dataclass(frozen=True)
class Edit:
    """One entry's fate: ``old``/``new`` are 0-based indexes in the old and new list.

    ``moved`` and ``replaced`` have both, ``inserted`` only ``new``, ``removed`` only ``old``.
    """

    edit: EntryEdit
    old: int | None
    new: int | None


def is_scalar_list(value: Any) -> bool:
    """A list whose entries are all JSON scalars (ids, names, numbers, flags, null)."""
    return isinstance(value, list) and all(
        entry is None or isinstance(entry, (str, int, float, bool)) for entry in value
    )


def _key(entry: Any) -> Hashable:
    if isinstance(entry, bool):  # True == 1 in Python, not in a review
        return ("bool", entry)
    if isinstance(entry, (int, float)):
        return ("number", entry)
    return (type(entry).__name__, entry)


def align_entries(old: Sequence[Any], new: Sequence[Any]) -> list[Edit]:
    """The edits turning the scalar list ``old`` into ``new``, in the order of the new list.

    Entries not mentioned are kept, in the same relative order. Applying the edits (take the
    kept entries, then put every moved, inserted and replaced entry at its ``new`` index in
    increasing order) gives ``new`` back. A list with one entry moved gives one edit.
    """
    a, b = [_key(x) for x in old], [_key(x) for x in new]
    gaps = _gaps(a, b)
    removed: defaultdict[Hashable, deque[int]] = defaultdict(deque)
    for i1, i2, _, _ in gaps:
        for i in range(i1, i2):
            removed[a[i]].append(i)
    moved_from: dict[int, int] = {}  # new index -> old index
    for _, _, j1, j2 in gaps:
        for j in range(j1, j2):
            if removed[b[j]]:
                moved_from[j] = removed[b[j]].popleft()
    taken = set(moved_from.values())
    edits: list[Edit] = []
    for i1, i2, j1, j2 in gaps:
        left_old = [i for i in range(i1, i2) if i not in taken]
        left_new = [j for j in range(j1, j2) if j not in moved_from]
        replaced = dict(zip(left_new, left_old, strict=False))
        for i in left_old[len(left_new) :]:
            edits.append(Edit("removed", i, None))
        for j in range(j1, j2):
            if j in moved_from:
                edits.append(Edit("moved", moved_from[j], j))
            elif j in replaced:
                edits.append(Edit("replaced", replaced[j], j))
            else:
                edits.append(Edit("inserted", None, j))
    return edits


Gap = tuple[int, int, int, int]  # old[i1:i2] stands where new[j1:j2] stands


def _gaps(a: list[Hashable], b: list[Hashable]) -> list[Gap]:
    """The non-matching stretches of an alignment of ``a`` and ``b`` (``i1, i2, j1, j2``)."""
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    mid_a, mid_b = a[head : len(a) - tail], b[head : len(b) - tail]
    if len(mid_a) * len(mid_b) <= MAX_LCS_CELLS:
        matches = _lcs_matches(mid_a, mid_b)
    else:
        blocks = SequenceMatcher(None, mid_a, mid_b, autojunk=False).get_matching_blocks()
        matches = [(blk.a + k, blk.b + k) for blk in blocks for k in range(blk.size)]
    gaps: list[Gap] = []
    i = j = 0
    for mi, mj in [*matches, (len(mid_a), len(mid_b))]:
        if i < mi or j < mj:
            gaps.append((head + i, head + mi, head + j, head + mj))
        i, j = mi + 1, mj + 1
    return gaps


def _lcs_matches(a: list[Hashable], b: list[Hashable]) -> list[tuple[int, int]]:
    """Index pairs of one longest common subsequence of ``a`` and ``b``, in order."""
    n, m = len(a), len(b)
    if not n or not m:
        return []
    # lengths[i][j]: LCS length of a[i:] and b[j:]
    lengths = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = lengths[i], lengths[i + 1]
        ai = a[i]
        for j in range(m - 1, -1, -1):
            row[j] = below[j + 1] + 1 if ai == b[j] else max(below[j], row[j + 1])
    matches = []
    i = j = 0
    while i < n and j < m:
        if a[i] == b[j]:
            matches.append((i, j))
            i, j = i + 1, j + 1
        elif lengths[i + 1][j] >= lengths[i][j + 1]:
            i += 1
        else:
            j += 1
    return matches
