"""The run overview: what the report's landing view shows, computed once from the page's data.

:func:`run_overview` reads the traces and tests as :func:`~xray_core.report.payload.build_payload`
writes them (the same plain dicts for a report of models and of recorded records) and returns
the aggregates the page renders without recounting anything: each test's traces and worst
status (the list's groups), the baselines' verdicts, rejections per filter across the whole run,
the candidates whose verdict differs between traces of the same test, and the slowest steps.
Every entry names the trace, step and item it links to. Long lists are cut to their first
entries (the most telling ones), with the full count beside them, so the page stays small.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any, Literal

from ..outcomes import FAILED_OUTCOMES, FAILING_VERDICTS, SKIPPED_OUTCOMES

#: a test's (or a group of traces') worst status, worst first
Worst = Literal["failed", "baseline failed", "running", "skipped", "passed"]
WORST_ORDER: tuple[Worst, ...] = ("failed", "baseline failed", "running", "skipped", "passed")

#: at most this many entries of each list (the count of all is given beside them)
FILTERS_SHOWN = 30
DIFFERING_SHOWN = 50
SLOWEST_SHOWN = 10


def run_overview(tests: Sequence[dict[str, Any]], traces: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The landing view's aggregates of a page's ``tests`` and ``traces`` (payload dicts).

    A trace's document may carry its own count of its filter checks, made with the document
    (a ``checks`` attribute, see :func:`trace_checks`): the run's counts then add those up
    instead of reading every check of the run again.
    """
    filters, evaluated = _filter_rejections(traces)
    differing = _differing_verdicts(traces)
    slowest = _slowest_steps(traces)
    return {
        "tests": _test_groups(tests, traces),
        "baselines": dict(Counter(t["baseline"] for t in tests if t.get("baseline"))),
        "candidates": evaluated,
        "filters": filters[:FILTERS_SHOWN],
        "filters_total": len(filters),
        "differing": differing[:DIFFERING_SHOWN],
        "differing_total": len(differing),
        "slowest": slowest,
        "steps_total": sum(len(t["steps"]) for t in traces),
    }


#: each status's place in :data:`WORST_ORDER` (the smallest is the worst)
_RANK: dict[str, int] = {status: rank for rank, status in enumerate(WORST_ORDER)}
_FAILED, _RUNNING, _PASSED = _RANK["failed"], _RANK["running"], _RANK["passed"]


def _test_status(test: dict[str, Any]) -> Worst:
    if test["outcome"] in FAILED_OUTCOMES:
        return "failed"
    if test.get("baseline") in FAILING_VERDICTS:
        return "baseline failed"
    return "skipped" if test["outcome"] in SKIPPED_OUTCOMES else "passed"


def _test_groups(
    tests: Sequence[dict[str, Any]], traces: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One entry per test id (traces recorded outside a test: id None), in the list's order:
    first the tests in the order of their first trace, then the tests that recorded none.

    Its worst status is the worst of its test's (failed, baseline failed, skipped or passed)
    and its traces' (failed, running, or else passed).
    """
    by_id = {t["id"]: t for t in tests}
    groups: dict[str | None, list[str]] = {}  # test id -> its traces' statuses
    for trace in traces:
        test_id = trace["test"]
        statuses = groups.get(test_id)
        if statuses is None:
            groups[test_id] = [trace["status"]]
        else:
            statuses.append(trace["status"])
    for test in tests:
        groups.setdefault(test["id"], [])
    out = []
    for test_id, statuses in groups.items():
        known = by_id.get(test_id)
        rank = _PASSED if known is None else _RANK[_test_status(known)]
        failed = statuses.count("failed")
        if failed:
            rank = _FAILED
        elif rank > _RUNNING and "running" in statuses:
            rank = _RUNNING
        if known is None:
            out.append({"id": test_id, "outcome": None, "baseline": None, "dur": None,
                        "traces": len(statuses), "failed": failed, "worst": WORST_ORDER[rank]})  # fmt: skip
            continue
        out.append({
            "id": test_id,
            "outcome": known["outcome"],
            "baseline": known.get("baseline"),
            "dur": known.get("dur"),
            "traces": len(statuses),
            "failed": failed,
            "worst": WORST_ORDER[rank],
        })  # fmt: skip
    return out


def _evaluations(step: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The step's evaluations that name an item (metadata is free-form: others are skipped)."""
    meta = step.get("meta")
    evaluations = meta.get("evaluations") if isinstance(meta, dict) else None
    if isinstance(evaluations, list):
        for evaluation in evaluations:
            if isinstance(evaluation, dict) and "item_id" in evaluation:
                yield evaluation


class _Tally:
    """One filter of one step name in one trace (slots: this runs per check)."""

    __slots__ = ("step", "name", "evaluated", "rejected", "seen", "failed", "in_step",
                 "here", "first", "most", "step_id", "item")  # fmt: skip

    def __init__(self, step: Any, name: str) -> None:
        self.step, self.name = step, name
        self.evaluated = self.rejected = self.here = self.most = 0
        self.seen = self.failed = self.in_step = -1  # the last evaluation / step counted
        self.first = ""
        self.step_id: Any = None  # where it rejected most (``most`` candidates): step, item
        self.item = ""


class TraceChecks:
    """A trace's filter checks, counted once (:func:`trace_checks`): the candidates its
    final evaluations rejected, its evaluations, and per (step name, filter name) in the order
    first met, the candidates evaluated and rejected, and the step where most were rejected."""

    __slots__ = ("rejected", "evaluated", "tallies")

    def __init__(self, rejected: int, evaluated: int, tallies: list[_Tally]) -> None:
        self.rejected = rejected
        self.evaluated = evaluated
        self.tallies = tallies


#: a filter without a name (``check.get``'s default: no name is this object)
_NO_NAME = object()


def trace_checks(steps: Sequence[dict[str, Any]]) -> TraceChecks:
    """Count the filter checks of a trace's steps (payload dicts, in order), in one pass.

    A candidate counts once per filter and evaluation (a filter named twice in one evaluation
    rejects it if it failed either time); its final verdict is its last evaluation's (by
    ``item_id``, across the steps). Evaluations that name no item and checks that name no
    filter are skipped (metadata is free-form).
    """
    final: dict[str, bool] = {}  # item -> its last verdict
    by_step: dict[Any, dict[str, _Tally]] = {}  # step name -> filter name -> its tally
    tallies: list[_Tally] = []  # in the order first met
    serial = 0  # the evaluation being counted
    for index, step in enumerate(steps):
        meta = step.get("meta")
        evaluations = meta.get("evaluations") if isinstance(meta, dict) else None
        if not isinstance(evaluations, list):
            continue
        step_name = step["name"]
        named = by_step.get(step_name)
        if named is None:
            named = by_step[step_name] = {}
        touched: list[_Tally] = []
        for evaluation in evaluations:  # the loops below run for every filter check
            if not isinstance(evaluation, dict) or "item_id" not in evaluation:
                continue
            item = evaluation["item_id"]
            final[item if type(item) is str else str(item)] = bool(evaluation.get("qualified"))
            serial += 1
            filters = evaluation.get("filters")
            if not isinstance(filters, list):
                continue
            for check in filters:
                if not isinstance(check, dict):
                    continue
                name = check.get("name", _NO_NAME)
                if type(name) is not str:
                    if name is _NO_NAME:
                        continue
                    name = str(name)
                tally = named.get(name)
                if tally is None:
                    tally = named[name] = _Tally(step_name, name)
                    tallies.append(tally)
                if tally.seen != serial:
                    tally.seen = serial
                    tally.evaluated += 1
                if check.get("passed") or tally.failed == serial:
                    continue
                tally.failed = serial
                tally.rejected += 1
                if tally.in_step != index:
                    tally.in_step, tally.here = index, 0
                    tally.first = str(item)
                    touched.append(tally)
                tally.here += 1
        for tally in touched:
            if tally.here > tally.most:
                tally.most, tally.step_id, tally.item = tally.here, step["id"], tally.first
    return TraceChecks(list(final.values()).count(False), serial, tallies)


class _Total:
    """One filter of one step name across the run."""

    __slots__ = ("step", "name", "evaluated", "rejected", "most", "example")

    def __init__(self, step: Any, name: str) -> None:
        self.step, self.name = step, name
        self.evaluated = self.rejected = self.most = 0
        self.example: dict[str, Any] | None = None


def _filter_rejections(traces: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Per (step name, filter name): the candidates it evaluated and rejected across the run, most
    rejections first, each with the step where it rejected most as an example (the first such
    step); and the number of candidate evaluations in the run (see :func:`trace_checks`)."""
    found: dict[tuple[Any, str], _Total] = {}
    evaluated = 0
    for trace in traces:
        checks = getattr(trace, "checks", None)
        if checks is None:  # a document made without its count
            checks = trace_checks(trace["steps"])
        evaluated += checks.evaluated
        for tally in checks.tallies:
            key = (tally.step, tally.name)
            total = found.get(key)
            if total is None:
                total = found[key] = _Total(*key)
            total.evaluated += tally.evaluated
            total.rejected += tally.rejected
            if tally.most > total.most:
                total.most = tally.most
                total.example = {"trace": trace["id"], "step": tally.step_id,
                                 "item": tally.item, "rejected": tally.most}  # fmt: skip
    ordered = sorted(found.values(), key=_most_rejected)
    return [
        {"step": t.step, "filter": t.name, "evaluated": t.evaluated, "rejected": t.rejected,
         "example": t.example}  # fmt: skip
        for t in ordered
    ], evaluated


def _most_rejected(total: _Total) -> tuple[int, int]:
    return -total.rejected, -total.evaluated


def _differing_verdicts(traces: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Candidates (test, step name, item) qualified in some traces of their test and rejected
    in others (a trace's verdict: its last evaluation of the item in a step of that name),
    the most evenly split first."""
    verdicts: dict[tuple[str | None, str, str], dict[bool, list[tuple[str, str]]]] = {}
    per_test = Counter(trace["test"] for trace in traces)
    for trace in traces:
        if per_test[trace["test"]] < 2:  # a verdict can only differ between two traces
            continue
        final: dict[tuple[str, str], tuple[bool, str]] = {}
        for step in trace["steps"]:
            for evaluation in _evaluations(step):
                final[(step["name"], str(evaluation["item_id"]))] = (
                    bool(evaluation.get("qualified")), step["id"])
        for (step_name, item), (qualified, step_id) in final.items():
            seen = verdicts.setdefault((trace["test"], step_name, item), {True: [], False: []})
            seen[qualified].append((trace["id"], step_id))
    out: list[dict[str, Any]] = []
    for (test_id, step_name, item), seen in verdicts.items():
        if seen[True] and seen[False]:
            (q_trace, q_step), (r_trace, r_step) = seen[True][0], seen[False][0]
            out.append({
                "test": test_id, "step": step_name, "item": item,
                "qualified": len(seen[True]), "rejected": len(seen[False]),
                "qualified_in": {"trace": q_trace, "step": q_step, "item": item},
                "rejected_in": {"trace": r_trace, "step": r_step, "item": item},
            })  # fmt: skip
    out.sort(key=lambda e: -min(int(e["qualified"]), int(e["rejected"])))
    return out


_duration = itemgetter(0)


def _slowest_steps(traces: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The :data:`SLOWEST_SHOWN` longest steps of the run, longest first (the first recorded
    first among steps of the same duration)."""
    timed = []
    for trace in traces:
        for step in trace["steps"]:
            dur = step.get("dur")
            if isinstance(dur, (int, float)) and dur == dur:  # not NaN
                timed.append((dur, trace, step))
    timed.sort(key=_duration, reverse=True)  # stable: in recorded order among equals
    return [
        {"trace": trace["id"], "step": step["id"], "name": step["name"], "dur": dur,
         "trace_name": trace["name"], "test": trace["test"]}  # fmt: skip
        for dur, trace, step in timed[:SLOWEST_SHOWN]
    ]
