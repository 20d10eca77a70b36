"""``assert decision == other`` / ``assert trace == other``: explain the difference in decisions."""

from __future__ import annotations

from typing import Any


def _filters(decision: Any) -> dict[str, Any]:
    return {f.name: f for f in decision.failed_filters + decision.passed_filters}


def decision_lines(left: Any, right: Any) -> list[str]:
    """The differences between two :class:`xray_core.models.Decision` objects, one per line."""
    lines = [f"decisions about {left.item_id!r} differ:"]
    if left.item_id != right.item_id:
        lines[0] = f"decisions about different items: {left.item_id!r} != {right.item_id!r}"
    for name in ("step", "qualified", "reasoning"):
        a, b = getattr(left, name), getattr(right, name)
        if a != b:
            lines.append(f"  {name}: {a!r} != {b!r}")
    before, after = _filters(left), _filters(right)
    for name in list(before) + [n for n in after if n not in before]:
        a, b = before.get(name), after.get(name)
        if a != b:
            lines.append(f"  filter {name!r}: {_filter(a)} != {_filter(b)}")
    if left.item_data != right.item_data:
        lines.append(f"  item_data: {left.item_data!r} != {right.item_data!r}")
    lines.append(f"  left:  {left.explain()}")
    lines.append(f"  right: {right.explain()}")
    return lines


def _filter(value: Any) -> str:
    if value is None:
        return "absent"
    word = "passed" if value.passed else "failed"
    return f"{word} ({value.detail})" if value.detail else word


def trace_lines(left: Any, right: Any) -> list[str]:
    """The semantic diff (``diff_traces``) from ``right`` to ``left``, one change per line."""
    from xray_core.diff import diff_traces

    diff = diff_traces(right, left)
    head = f"traces {left.name!r} and {right.name!r} differ"
    if not diff and not diff.drift:
        # Trace equality compares every field; two runs of one pipeline always differ in ids.
        return [
            f"{head} only in what xray_core.diff_traces ignores (ids, timestamps, durations):",
            (
                "  their steps, decisions and fields are equal; "
                "assert not xray_core.diff_traces(a, b) compares only those"
            ),
        ]
    return [f"{head} (right -> left):"] + [f"  {line}" for line in diff.lines()]


def compare(op: str, left: Any, right: Any, models: Any) -> list[str] | None:
    """The explanation pytest shows for a failed ``left op right``, or None when not ours."""
    if op != "==":
        return None
    if isinstance(left, models.Decision) and isinstance(right, models.Decision):
        return decision_lines(left, right)
    if isinstance(left, models.Trace) and isinstance(right, models.Trace):
        return trace_lines(left, right)
    return None
