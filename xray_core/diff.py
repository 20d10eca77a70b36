"""Semantic diffs of traces: the one engine behind baselines, ``xray diff`` and the report.

A trace is first *normalized* (:func:`normalize_trace`): ids, timestamps and durations dropped,
evaluations keyed by item, LLM metadata and reasoning set apart, the error reduced to its first
line. Two normalized traces are then compared step by step (steps paired by their nesting path
and occurrence) into typed changes. Decision changes, step changes and field changes fail a
comparison; LLM configuration drift and reasoning text are reported as *drift*, apart, unless
``include_llm=True`` / ``include_reasoning=True``.

Ignore patterns are :mod:`fnmatch` globs over change paths such as
``keyword_generation.output.keywords``, ``filter_and_select.evaluations.B0X.item_data.price``,
``trace.metadata.request_id`` or ``*.detail`` (``*`` also matches dots).

Lists of scalars (rankings, selected ids, keywords) are aligned rather than compared position by
position (:mod:`xray_core.align`): an entry that moved is one :class:`ListEntryChanged`, not one
change per shifted position. Its ``path`` names the entry by its index in the current list
(``rank.output.ranking[0]``), a removed entry by its index in the baseline; an ignore pattern
matching the entry's index on *either* side (``paths``) leaves the change out.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .align import EntryEdit, align_entries, is_scalar_list
from .ignore import ignore_patterns, path_ignored
from .models import Trace

TRACE_PATH = "trace"
MAX_DRIFT_LINES = 5  #: drift lines shown by ``str(diff)``; the rest are counted
_UNSET: Any = object()


# -- normalization ------------------------------------------------------------------------------
def normalize_trace(trace: Trace | dict[str, Any]) -> dict[str, Any]:
    """The comparable content of a trace, as sorted, JSON-able data with no volatile fields.

    Accepts a :class:`Trace` or an already normalized dict (returned unchanged), so baselines
    read from JSON and live traces go through the same comparison.
    """
    if isinstance(trace, dict):
        return trace
    ids = {s.step_id: s for s in trace.steps}
    counts: dict[str, int] = {}
    steps = []
    for step in sorted(trace.steps, key=lambda s: s.step_order):
        path = step.name
        parent = ids.get(step.parent_id) if step.parent_id else None
        while parent is not None:
            path = f"{parent.name}/{path}"
            parent = ids.get(parent.parent_id) if parent.parent_id else None
        occurrence = counts.get(path, 0)
        counts[path] = occurrence + 1
        key = path if occurrence == 0 else f"{path}#{occurrence + 1}"
        metadata = {k: v for k, v in step.metadata.items() if k not in ("evaluations", "llm")}
        steps.append(
            {
                "key": key,
                "status": step.status,
                "input": step.input,
                "output": step.output,
                "reasoning": step.reasoning,
                "metadata": metadata,
                "llm": step.llm,
                "evaluations": {
                    e.item_id: {
                        "qualified": e.qualified,
                        "filters": {
                            f.name: {"passed": f.passed, "detail": f.detail} for f in e.filters
                        },
                        "reasoning": e.reasoning,
                        "item_data": e.item_data,
                    }
                    for e in step.evaluations
                },
                "error": step.error.splitlines()[0] if step.error else None,
            }
        )
    return {
        "name": trace.name,
        "status": trace.status,
        "metadata": {k: v for k, v in trace.metadata.items() if k != "error"},
        "steps": steps,
    }


# -- typed changes ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """One difference between two traces. ``path`` is what ignore patterns match."""

    path: str

    @property
    def sort_rank(self) -> int:
        """Display order: decisions first, then steps, then fields, then drift."""
        return 2

    @property
    def paths(self) -> tuple[str, ...]:
        """Every path naming this change; an ignore pattern matching one leaves it out."""
        return (self.path,)

    def describe(self) -> str:
        """The change in words, as one line."""
        raise NotImplementedError


@dataclass(frozen=True)
class StepAdded(Change):
    """A step present only in the current trace."""

    step: str = ""
    status: str = ""
    sort_rank = 1

    def describe(self) -> str:
        return f"step {self.step!r} added ({self.status})"


@dataclass(frozen=True)
class StepRemoved(Change):
    """A step present only in the baseline."""

    step: str = ""
    status: str = ""
    sort_rank = 1

    def describe(self) -> str:
        return f"step {self.step!r} removed (was {self.status})"


@dataclass(frozen=True)
class StatusChanged(Change):
    """A step's (or the trace's) status changed."""

    step: str = ""
    before: str = ""
    after: str = ""
    sort_rank = 1

    def describe(self) -> str:
        what = "trace" if self.step == TRACE_PATH else f"step {self.step!r}"
        return f"{what}: status {self.before} -> {self.after}"


@dataclass(frozen=True)
class FilterFlip:
    """One filter of one candidate whose outcome or detail changed."""

    name: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def describe(self) -> str:
        return f"{self.name}: {_filter_words(self.before)} -> {_filter_words(self.after)}"


def _filter_words(outcome: dict[str, Any] | None) -> str:
    if outcome is None:
        return "absent"
    word = "passed" if outcome.get("passed") else "failed"
    return f"{outcome['detail']} ({word})" if outcome.get("detail") else word


@dataclass(frozen=True)
class DecisionChanged(Change):
    """A candidate's verdict changed, appeared or disappeared, or its filters flipped."""

    step: str = ""
    item_id: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    filters: tuple[FilterFlip, ...] = ()
    sort_rank = 0

    @property
    def flipped(self) -> bool:
        """True when the verdict itself changed (qualified <-> rejected)."""
        return (
            self.before is not None
            and self.after is not None
            and self.before.get("qualified") != self.after.get("qualified")
        )

    def describe(self) -> str:
        text = f"{self.item_id}: {verdict_words(self.before)} -> {verdict_words(self.after)}"
        if self.filters:
            text += " (" + "; ".join(f.describe() for f in self.filters) + ")"
        return f"{text} [step {self.step!r}]"


def verdict_words(evaluation: dict[str, Any] | None) -> str:
    """A normalized evaluation's verdict as a reviewer says it: ``qualified``, ``rejected by
    price, rating`` (its failed filters), ``rejected``, or ``not evaluated`` for None.
    """
    if evaluation is None:
        return "not evaluated"
    if evaluation.get("qualified"):
        return "qualified"
    filters = evaluation.get("filters") or {}
    failed = [name for name, f in filters.items() if not f.get("passed")]
    return "rejected by " + ", ".join(failed) if failed else "rejected"


@dataclass(frozen=True)
class FieldChanged(Change):
    """A value at ``path`` changed (missing values are shown as ``<absent>``)."""

    before: Any = None
    after: Any = None

    def describe(self) -> str:
        before, after = _short(self.before), _short(self.after)
        if isinstance(self.before, list) and isinstance(self.after, list) and (
            before.endswith("...") or after.endswith("...")
        ):  # cut reprs would hide the difference: say what came and went
            return f"{self.path}: {_list_change(self.before, self.after)}"
        return f"{self.path}: {before} -> {after}"


def _list_change(before: list[Any], after: list[Any]) -> str:
    """``"30 -> 29 items; added 'X'; removed 'Y', 'Z'"`` (items compared by their repr)."""
    old, new = Counter(map(repr, before)), Counter(map(repr, after))
    text = f"{len(before)} -> {len(after)} items"
    for word, items in (("added", new - old), ("removed", old - new)):
        if items:
            text += f"; {word} " + _short_join(list(items.elements()))
    return text


def _short_join(reprs: list[str], limit: int = 5) -> str:
    shown = ", ".join(_short_text(r) for r in reprs[:limit])
    return shown + (f" and {len(reprs) - limit} more" if len(reprs) > limit else "")


@dataclass(frozen=True)
class ListEntryChanged(Change):
    """An entry of a list of scalars moved, was inserted or was removed.

    ``old_index``/``new_index`` are 0-based indexes in the baseline and the current list (None
    on the side the entry is absent from); :meth:`describe` counts positions from 1, as a
    ranking does: ``rank.output.ranking: 'B0X' moved #3 -> #1``.
    """

    list_path: str = ""
    value: Any = None
    old_index: int | None = None
    new_index: int | None = None

    @property
    def edit(self) -> EntryEdit:
        """``"moved"``, ``"inserted"`` or ``"removed"``."""
        if self.old_index is None:
            return "inserted"
        return "removed" if self.new_index is None else "moved"

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(f"{self.list_path}[{i}]" for i in (self.old_index, self.new_index)
                     if i is not None)  # fmt: skip

    def describe(self) -> str:
        value = _short(self.value)
        if self.old_index is None:
            return f"{self.list_path}: {value} inserted at #{(self.new_index or 0) + 1}"
        if self.new_index is None:
            return f"{self.list_path}: {value} removed (was #{self.old_index + 1})"
        return f"{self.list_path}: {value} moved #{self.old_index + 1} -> #{self.new_index + 1}"


@dataclass(frozen=True)
class LLMChanged(FieldChanged):
    """LLM call configuration drift (model, temperature, tokens, prompt, ...)."""

    sort_rank = 3


@dataclass(frozen=True)
class ReasoningChanged(FieldChanged):
    """A step's or a candidate's reasoning text changed."""

    sort_rank = 3


def _short(value: Any, limit: int = 80) -> str:
    if value is _UNSET:
        return "<absent>"
    return _short_text(repr(value), limit)


def _short_text(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- the diff -----------------------------------------------------------------------------------
@dataclass
class TraceDiff:
    """The changes from a baseline trace to a current one; falsy when nothing fails."""

    name: str
    changes: list[Change] = field(default_factory=list)
    drift: list[Change] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changes)

    @property
    def decisions(self) -> list[DecisionChanged]:
        """The decision changes, verdict flips first."""
        found = [c for c in self.changes if isinstance(c, DecisionChanged)]
        return sorted(found, key=lambda c: not c.flipped)

    def lines(self, max_drift: int | None = MAX_DRIFT_LINES) -> list[str]:
        """The plain-text rendering, one change per line (drift cut at ``max_drift`` lines)."""
        if not self.changes and not self.drift:
            return [f"trace {self.name!r}: no changes"]
        out = [f"trace {self.name!r}: {len(self.changes)} change(s)"]
        out += [f"  {c.describe()}" for c in self.changes]
        if self.drift:
            out.append(f"  not compared ({len(self.drift)}):")
            out += [f"    {c.describe()}" for c in self.drift[:max_drift]]
            if max_drift is not None and len(self.drift) > max_drift:
                out.append(f"    ... and {len(self.drift) - max_drift} more")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __rich__(self) -> Any:
        from rich.text import Text

        text = Text()
        text.append(f"trace {self.name!r}: ", style="bold")
        text.append(f"{len(self.changes)} change(s)\n", style="red" if self.changes else "green")
        for change in self.changes:
            style = "bold red" if isinstance(change, DecisionChanged) else "yellow"
            text.append(f"  {change.describe()}\n", style=style)
        for change in self.drift[:MAX_DRIFT_LINES]:
            text.append(f"  ~ {change.describe()}\n", style="dim")
        if len(self.drift) > MAX_DRIFT_LINES:
            text.append(f"  ~ ... and {len(self.drift) - MAX_DRIFT_LINES} more\n", style="dim")
        return text


def diff_traces(
    baseline: Trace | dict[str, Any],
    current: Trace | dict[str, Any],
    ignore: str | Sequence[str] = (),
    *,
    tolerance: float = 0.0,
    include_llm: bool = False,
    include_reasoning: bool = False,
) -> TraceDiff:
    """Compare two traces (models or normalized dicts) into a :class:`TraceDiff`.

    :param ignore: glob patterns of change paths to leave out (see the module docstring); one
        string is one pattern, as for ``assert_baseline(ignore=...)``.
    :param tolerance: absolute difference under which two numbers count as equal.
    :param include_llm: make LLM configuration drift fail the comparison.
    :param include_reasoning: make reasoning text changes fail the comparison.
    """
    _check_tolerance(tolerance)
    patterns = ignore_patterns(ignore)
    before, after = normalize_trace(baseline), normalize_trace(current)
    found: list[Change] = []
    if before.get("status") != after.get("status"):
        found.append(
            StatusChanged(TRACE_PATH, TRACE_PATH, str(before.get("status")),
                          str(after.get("status")))  # fmt: skip
        )
    found += _values(f"{TRACE_PATH}.metadata", before.get("metadata"), after.get("metadata"),
                     tolerance)  # fmt: skip
    old = {s["key"]: s for s in before.get("steps", [])}
    new = {s["key"]: s for s in after.get("steps", [])}
    for key in list(old) + [k for k in new if k not in old]:
        if key not in new:
            found.append(StepRemoved(key, key, _status(old[key])))
        elif key not in old:
            found.append(StepAdded(key, key, _status(new[key])))
        else:
            found += _step_changes(key, old[key], new[key], tolerance)
    kept = [c for c in found if not any(path_ignored(p, patterns) for p in c.paths)]
    drift_types = (LLMChanged,) * (not include_llm) + (ReasoningChanged,) * (not include_reasoning)
    changes = [c for c in kept if not isinstance(c, drift_types)]
    drift: list[Change] = [c for c in kept if isinstance(c, drift_types)]
    changes.sort(key=lambda c: (c.sort_rank, not getattr(c, "flipped", False)))
    return TraceDiff(str(after.get("name") or before.get("name")), changes, drift)


def _check_tolerance(tolerance: float) -> None:
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not (
        tolerance >= 0 and math.isfinite(tolerance)
    ):
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance!r}")


def _status(step: dict[str, Any]) -> str:
    """A step's status (absent when ``ignore=`` left it out of a baseline)."""
    return str(step.get("status") or "unknown")


def _step_changes(key: str, old: dict[str, Any], new: dict[str, Any], tol: float) -> list[Change]:
    found: list[Change] = []
    if old.get("status") != new.get("status"):
        found.append(StatusChanged(f"{key}.status", key, _status(old), _status(new)))
    for part in ("input", "output", "metadata", "error"):
        found += _values(f"{key}.{part}", old.get(part), new.get(part), tol)
    found += _values(f"{key}.llm", old.get("llm"), new.get("llm"), tol, kind=LLMChanged)
    if old.get("reasoning") != new.get("reasoning"):
        found.append(
            ReasoningChanged(f"{key}.reasoning", old.get("reasoning"), new.get("reasoning"))
        )
    found += _evaluation_changes(key, old.get("evaluations") or {}, new.get("evaluations") or {},
                                 tol)  # fmt: skip
    return found


def _evaluation_changes(
    key: str, old: dict[str, Any], new: dict[str, Any], tol: float
) -> list[Change]:
    found: list[Change] = []
    for item in list(old) + [i for i in new if i not in old]:
        path = f"{key}.evaluations.{item}"
        a, b = old.get(item), new.get(item)
        if a is None or b is None:
            found.append(DecisionChanged(path, key, item, a, b))
            continue
        fa, fb = a.get("filters") or {}, b.get("filters") or {}
        flips = tuple(
            FilterFlip(name, fa.get(name), fb.get(name))
            for name in list(fa) + [n for n in fb if n not in fa]
            if fa.get(name) != fb.get(name)
        )
        outcome_flips = tuple(
            f for f in flips if (f.before or {}).get("passed") != (f.after or {}).get("passed")
        )
        if a.get("qualified") != b.get("qualified") or outcome_flips:
            found.append(DecisionChanged(path, key, item, a, b, flips))
        else:
            for flip in flips:  # same outcome, other words: an explanation, like reasoning
                found.append(ReasoningChanged(f"{path}.filters.{flip.name}.detail",
                                          (flip.before or {}).get("detail"),
                                          (flip.after or {}).get("detail")))  # fmt: skip
        if a.get("reasoning") != b.get("reasoning"):
            found.append(
                ReasoningChanged(f"{path}.reasoning", a.get("reasoning"), b.get("reasoning"))
            )
        found += _values(f"{path}.item_data", a.get("item_data"), b.get("item_data"), tol)
    return found


def _values(
    path: str, before: Any, after: Any, tol: float, kind: type[FieldChanged] = FieldChanged
) -> list[Change]:
    """Leaf-by-leaf differences between two JSON-able values."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[Change] = []
        for k in list(before) + [k for k in after if k not in before]:
            found += _values(f"{path}.{k}", before.get(k, _UNSET), after.get(k, _UNSET), tol, kind)
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        found = []
        for i, (a, b) in enumerate(zip(before, after, strict=True)):
            found += _values(f"{path}[{i}]", a, b, tol, kind)
        if not found or kind is not FieldChanged or not _scalar_lists(before, after):
            return found
    if kind is FieldChanged and _scalar_lists(before, after):
        return _list_entries(path, before, after, tol)
    if _equal(before, after, tol):
        return []
    return [kind(path, before, after)]


def _scalar_lists(before: Any, after: Any) -> bool:
    return is_scalar_list(before) and is_scalar_list(after)


def _list_entries(path: str, before: list[Any], after: list[Any], tol: float) -> list[Change]:
    """Two lists of scalars, aligned: entries moved, inserted, removed, or replaced in place
    (a replaced entry is a :class:`FieldChanged` at its index in the current list).
    """
    found: list[Change] = []
    for edit in align_entries(before, after):
        if edit.edit == "replaced":
            assert edit.old is not None and edit.new is not None
            found += _values(f"{path}[{edit.new}]", before[edit.old], after[edit.new], tol)
        else:
            index = edit.new if edit.new is not None else edit.old
            value = after[edit.new] if edit.new is not None else before[edit.old or 0]
            found.append(ListEntryChanged(f"{path}[{index}]", path, value, edit.old, edit.new))
    return found


def _equal(a: Any, b: Any, tol: float) -> bool:
    if a is _UNSET or b is _UNSET:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):  # True == 1 in Python, not in a review
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or (tol > 0 and math.isclose(a, b, rel_tol=0.0, abs_tol=tol))
    return bool(a == b)


# -- pairing traces of two runs -----------------------------------------------------------------
TraceKey = tuple[str, str, int]
T = TypeVar("T")


def occurrence_keys(traces: Iterable[T], base: Callable[[T], tuple[str, str]]) -> dict[TraceKey, T]:
    """``traces`` keyed by ``base(trace)`` (test id, trace name) plus its occurrence index.

    The one pairing rule of runs and baselines: the n-th trace of a name in one test pairs with
    the n-th of that name on the other side, in the order given.
    """
    keyed: dict[TraceKey, T] = {}
    seen: dict[tuple[str, str], int] = {}
    for trace in traces:
        test_id, name = base(trace)
        index = seen.get((test_id, name), 0)
        seen[(test_id, name)] = index + 1
        keyed[(test_id, name, index)] = trace
    return keyed


def trace_key_map(traces: Iterable[Trace]) -> dict[TraceKey, Trace]:
    """Traces keyed by (test node id, trace name, occurrence index), in recording order."""
    ordered = sorted(traces, key=lambda t: t.start_time)
    return occurrence_keys(ordered, lambda t: (t.test_id or "", t.name))


@dataclass
class RunDiff:
    """Trace diffs between two runs, paired by (test id, trace name, occurrence)."""

    diffs: dict[TraceKey, TraceDiff] = field(default_factory=dict)
    added: list[TraceKey] = field(default_factory=list)
    removed: list[TraceKey] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or any(self.diffs.values()))

    @property
    def changed(self) -> dict[TraceKey, TraceDiff]:
        """Only the paired traces whose comparison fails."""
        return {k: d for k, d in self.diffs.items() if d}


def diff_paired(
    baseline: Mapping[TraceKey, Trace | dict[str, Any]],
    current: Mapping[TraceKey, Trace | dict[str, Any]],
    ignore: str | Sequence[str] = (),
    **options: Any,
) -> RunDiff:
    """Diff the traces of two sides keyed alike (see :func:`occurrence_keys`).

    Traces under the same key are compared with :func:`diff_traces`; a key on one side only is
    an added or removed trace.
    """
    result = RunDiff()
    for key in sorted(set(baseline) | set(current)):
        if key not in current:
            result.removed.append(key)
        elif key not in baseline:
            result.added.append(key)
        else:
            result.diffs[key] = diff_traces(baseline[key], current[key], ignore, **options)
    return result


def diff_runs(
    baseline: Iterable[Trace],
    current: Iterable[Trace],
    ignore: str | Sequence[str] = (),
    **options: Any,
) -> RunDiff:
    """Diff every trace pair of two runs; unpaired traces count as added or removed."""
    return diff_paired(trace_key_map(baseline), trace_key_map(current), ignore, **options)
