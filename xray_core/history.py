"""A decision's history across runs: each run's verdict on one item, and where it changed.

The run history keeps every run with its commit; :func:`decision_histories` follows each
(test, trace name, step, item) decision through runs given oldest first. A run in which the test
did not finish says ``not run`` — never a change: an interrupted run, a deselected test or a
test added later does not flip a decision. Steps are named as diffs name them (``select/rank``,
``filter#2``), and verdicts are worded as diffs word them (``qualified``, ``rejected by price``).
Where the item stands in the lists of ids the steps output (a ranking, the selected set) is
compared from run to run with the diff's alignment: ``rank.output.ranking: 'B0X' moved #3 -> #1``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from .diff import ListEntryChanged, diff_traces, normalize_trace, verdict_words
from .models import Run, Trace

#: ``decided``: the item was evaluated; ``not evaluated``: the test ran, the item was not
#: evaluated in that step (a verdict too); ``not run``: the test did not finish in that run.
ObservationState = Literal["decided", "not evaluated", "not run"]
NOT_RUN = "not run"
HistoryKey = tuple[str, str, str, str]  # test id, trace name, step key, item id


class NormalizedTrace(Protocol):
    """A trace read with its :func:`~xray_core.diff.normalize_trace` already made (``xray
    serve``'s ``StoredTrace``, which makes it once per distinct content)."""

    @property
    def test_id(self) -> str | None: ...  # noqa: D102
    @property
    def name(self) -> str: ...  # noqa: D102
    @property
    def normalized(self) -> dict[str, Any]: ...  # noqa: D102


@dataclass(frozen=True)
class RunRecord:
    """What one run says about the followed tests: the tests it finished, and their traces
    (each a :class:`Trace`, or a :class:`NormalizedTrace`), in recording order."""

    run: Run
    tests: frozenset[str]  #: the tests the run finished (only these count)
    traces: Sequence[Trace | NormalizedTrace] = ()


@dataclass(frozen=True)
class Observation:
    """One run's verdict on one decision."""

    run: Run
    state: ObservationState
    verdict: str  #: ``qualified``, ``rejected by price``, ``not evaluated``, ``not run``, ...
    qualified: bool | None = None  #: None when not decided, or the run's traces disagree
    #: the deciding filters, ``"price: 9.50 < 12.50"`` (the failed ones when rejected)
    filters: tuple[str, ...] = ()
    changed: bool = False  #: the verdict differs from the previous run that ran the test
    #: how the item moved in the steps' output lists since the previous run that ran the test
    moves: tuple[str, ...] = ()

    @property
    def detail(self) -> str:
        """The deciding filters' details on one line."""
        return "; ".join(self.filters)

    @property
    def counted(self) -> bool:
        """Whether this run took part in the decision (the test finished in it)."""
        return self.state != "not run"


@dataclass(frozen=True)
class Streak:
    """Consecutive counted runs with the same verdict."""

    verdict: str
    observations: tuple[Observation, ...]

    @property
    def first(self) -> Observation:
        """The run where this verdict appeared."""
        return self.observations[0]

    @property
    def last(self) -> Observation:
        """The last run with this verdict."""
        return self.observations[-1]


@dataclass
class DecisionHistory:
    """One decision (test, trace name, step, item) run by run, oldest first."""

    test_id: str
    trace_name: str
    step: str
    item_id: str
    observations: list[Observation] = field(default_factory=list)

    @property
    def key(self) -> HistoryKey:
        """(test id, trace name, step, item id)."""
        return (self.test_id, self.trace_name, self.step, self.item_id)

    @property
    def streaks(self) -> list[Streak]:
        """The counted runs grouped into runs of the same verdict, oldest first."""
        found: list[Streak] = []
        for obs in self.observations:
            if not obs.counted:
                continue
            if found and found[-1].verdict == obs.verdict:
                found[-1] = Streak(obs.verdict, (*found[-1].observations, obs))
            else:
                found.append(Streak(obs.verdict, (obs,)))
        return found

    @property
    def changes(self) -> int:
        """How many times the verdict changed between runs that ran the test."""
        return max(len(self.streaks) - 1, 0)

    @property
    def current(self) -> Streak | None:
        """The latest verdict and the runs it has held for (None if the test never ran)."""
        streaks = self.streaks
        return streaks[-1] if streaks else None

    @property
    def previous(self) -> Streak | None:
        """The verdict before the current one (None when it never changed)."""
        streaks = self.streaks
        return streaks[-2] if len(streaks) > 1 else None


def decision_histories(records: Iterable[RunRecord]) -> list[DecisionHistory]:
    """Every decision taken in ``records`` (runs oldest first), run by run.

    In one run a test may record several traces of a name (hypothesis examples, repeats): their
    verdicts on an item agree, or the run's verdict is ``mixed (qualified x2, rejected by price
    x1)``. Histories are sorted by test, trace name, step and item.
    """
    records = list(records)
    indexed = [_index(record) for record in records]
    keys: set[HistoryKey] = set()
    for by_trace in indexed:
        for (test_id, name), traces in by_trace.items():
            for normalized in traces:
                for step in normalized["steps"]:
                    keys.update((test_id, name, step["key"], item) for item in step["evaluations"])
    # A run's outputs, and how they changed since an earlier run's, are the same for every item
    # of a (test, trace name): worked out once per pair of runs, not once per item and step.
    outputs_of: dict[tuple[int, tuple[str, str]], dict[str, Any] | None] = {}
    changes_of: dict[tuple[int, int, tuple[str, str]], list[Any]] = {}
    histories = []
    for key in sorted(keys):
        history = DecisionHistory(*key)
        pair = key[:2]
        last: str | None = None
        before: int | None = None  # the index of the previous run that ran the test
        for index, (record, by_trace) in enumerate(zip(records, indexed, strict=True)):
            obs = _observe(record, by_trace, key)
            if obs.counted:
                moves: tuple[str, ...] = ()
                if before is not None:
                    found = (before, index, pair)
                    changes = changes_of.get(found)
                    if changes is None:
                        changes = changes_of[found] = (
                            [] if _same_last(indexed[before], indexed[index], pair)
                            else _list_changes(_outputs_of(outputs_of, indexed, before, pair),
                                               _outputs_of(outputs_of, indexed, index, pair))
                        )  # fmt: skip
                    moves = tuple(c.describe() for c in changes if c.value == key[3])
                obs = replace(obs, changed=last is not None and last != obs.verdict, moves=moves)
                last, before = obs.verdict, index
            history.observations.append(obs)
        histories.append(history)
    return histories


def _outputs_of(
    kept: dict[tuple[int, tuple[str, str]], dict[str, Any] | None],
    indexed: list[dict[tuple[str, str], list[dict[str, Any]]]],
    index: int,
    pair: tuple[str, str],
) -> dict[str, Any] | None:
    """:func:`_outputs` of run ``index``'s traces of ``pair`` (test, trace name), made once."""
    found = (index, pair)
    if found not in kept:
        kept[found] = _outputs(indexed[index].get(pair, []))
    return kept[found]


def _same_last(
    a: dict[tuple[str, str], list[dict[str, Any]]], b: dict[tuple[str, str], list[dict[str, Any]]],
    pair: tuple[str, str],
) -> bool:
    """Whether two runs' last traces of ``pair`` are one normalized content (traces read as
    ``xray serve`` reads them share it): their outputs cannot differ."""
    first, second = a.get(pair), b.get(pair)
    return bool(first and second) and first[-1] is second[-1]  # type: ignore[index]


def _outputs(traces: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The steps' outputs of the run's last trace of the name, as a trace diffs can compare."""
    if not traces:
        return None
    steps = [{"key": s["key"], "output": s.get("output")} for s in traces[-1]["steps"]]
    return {"name": traces[-1].get("name"), "steps": steps}


def _list_changes(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> list[ListEntryChanged]:
    """How ids moved, came or went in the lists the steps output, from ``before`` to ``after``."""
    if before is None or after is None:
        return []
    return [c for c in diff_traces(before, after).changes if isinstance(c, ListEntryChanged)]


def _index(record: RunRecord) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The record's traces of finished tests, normalized, by (test id, trace name)."""
    found: defaultdict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for trace in record.traces:
        test_id = trace.test_id or ""
        if test_id in record.tests:
            found[(test_id, trace.name)].append(
                normalize_trace(trace) if isinstance(trace, Trace) else trace.normalized)
    return found


def _observe(
    record: RunRecord, by_trace: dict[tuple[str, str], list[dict[str, Any]]], key: HistoryKey
) -> Observation:
    test_id, name, step_key, item = key
    if test_id not in record.tests:
        return Observation(record.run, "not run", NOT_RUN)
    evaluations = [_evaluation(t, step_key, item) for t in by_trace.get((test_id, name), [])]
    if not evaluations:
        evaluations = [None]  # the test finished without recording this trace
    words = [verdict_words(e) for e in evaluations]
    counts = Counter(words)
    if len(counts) > 1:
        mixed = ", ".join(f"{w} x{n}" for w, n in counts.most_common())
        return Observation(record.run, "decided", f"mixed ({mixed})")
    final = evaluations[-1]
    if final is None:
        return Observation(record.run, "not evaluated", words[0])
    qualified = bool(final.get("qualified"))
    return Observation(record.run, "decided", words[0], qualified, _detail(final, qualified))


def _evaluation(normalized: dict[str, Any], step_key: str, item: str) -> dict[str, Any] | None:
    for step in normalized["steps"]:
        if step["key"] == step_key:
            found: dict[str, Any] | None = step["evaluations"].get(item)
            return found
    return None


def _detail(evaluation: dict[str, Any], qualified: bool) -> tuple[str, ...]:
    """The details of the filters that decided: the failed ones, or every one when qualified."""
    filters = evaluation.get("filters") or {}
    return tuple(
        f"{name}: {f.get('detail')}" if f.get("detail") else name
        for name, f in filters.items()
        if qualified or not f.get("passed")
    )
