"""The run overview as it was computed before session 13 (frozen reference, see payload.py).

The run overview: what the report's landing view shows, computed once from the page's data.

:func:`run_overview` reads the traces and tests as :func:`~xray_core.report.payload.build_payload`
writes them (the same plain dicts for a report of models and of recorded records) and returns
the aggregates the page renders without recounting anything: each test's traces and worst
status (the list's groups), the baselines' verdicts, rejections per filter across the whole run,
the candidates whose verdict differs between traces of the same test, and the slowest steps.
Every entry names the trace, step and item it links to. Long lists are cut to their first
entries (the most telling ones), with the full count beside them, so the page stays small.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from xray_core.outcomes import FAILED_OUTCOMES, FAILING_VERDICTS, SKIPPED_OUTCOMES

#: a test's (or a group of traces') worst status, worst first
Worst = Literal["failed", "baseline failed", "running", "skipped", "passed"]
WORST_ORDER: tuple[Worst, ...] = ("failed", "baseline failed", "running", "skipped", "passed")

#: at most this many entries of each list (the count of all is given beside them)
FILTERS_SHOWN = 30
DIFFERING_SHOWN = 50
SLOWEST_SHOWN = 10


def run_overview(tests: Sequence[dict[str, Any]], traces: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The landing view's aggregates of a page's ``tests`` and ``traces`` (payload dicts)."""
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


def _worst(statuses: Iterator[Worst]) -> Worst:
    return min(statuses, key=WORST_ORDER.index, default="passed")


def _test_status(test: dict[str, Any] | None) -> Worst:
    if test is None:
        return "passed"
    if test["outcome"] in FAILED_OUTCOMES:
        return "failed"
    if test.get("baseline") in FAILING_VERDICTS:
        return "baseline failed"
    return "skipped" if test["outcome"] in SKIPPED_OUTCOMES else "passed"


def _trace_status(trace: dict[str, Any]) -> Worst:
    status = trace["status"]
    return "failed" if status == "failed" else "running" if status == "running" else "passed"


def _test_groups(
    tests: Sequence[dict[str, Any]], traces: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One entry per test id (traces recorded outside a test: id None), in the list's order:
    first the tests in the order of their first trace, then the tests that recorded none."""
    by_id = {t["id"]: t for t in tests}
    groups: dict[str | None, list[dict[str, Any]]] = {}
    for trace in traces:
        groups.setdefault(trace["test"], []).append(trace)
    for test in tests:
        groups.setdefault(test["id"], [])
    out = []
    for test_id, members in groups.items():
        known = by_id.get(test_id)
        statuses = [_test_status(known), *(_trace_status(t) for t in members)]
        out.append({
            "id": test_id,
            "outcome": None if known is None else known["outcome"],
            "baseline": None if known is None else known.get("baseline"),
            "dur": None if known is None else known.get("dur"),
            "traces": len(members),
            "failed": sum(1 for t in members if t["status"] == "failed"),
            "worst": _worst(iter(statuses)),
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
    """One filter of one step name, counted across the run (slots: this runs per check)."""

    __slots__ = ("step", "name", "evaluated", "rejected", "seen", "failed", "in_step",
                 "here", "first", "most", "example")  # fmt: skip

    def __init__(self, step: str, name: str) -> None:
        self.step, self.name = step, name
        self.evaluated = self.rejected = self.here = self.most = 0
        self.seen = self.failed = self.in_step = -1  # the last evaluation / step counted
        self.first = ""
        self.example: dict[str, Any] | None = None


def _filter_rejections(traces: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Per (step name, filter name): the candidates it evaluated and rejected across the run, most
    rejections first, each with the step where it rejected most as an example; and the number
    of candidate evaluations in the run. A candidate counts once per filter (a filter named
    twice in one evaluation rejects it if it failed either time)."""
    found: dict[tuple[str, str], _Tally] = {}
    evaluated = 0  # also the serial number of the evaluation being counted
    steps = 0
    for trace in traces:
        for step in trace["steps"]:
            steps += 1
            touched: list[_Tally] = []
            step_name = step["name"]
            for evaluation in _evaluations(step):  # the loops below run for every filter check
                evaluated += 1
                filters = evaluation.get("filters")
                if not isinstance(filters, list):
                    continue
                for check in filters:
                    if not isinstance(check, dict) or "name" not in check:
                        continue
                    name = check["name"]
                    key = (step_name, name if type(name) is str else str(name))
                    tally = found.get(key)
                    if tally is None:
                        tally = found[key] = _Tally(*key)
                    if tally.seen != evaluated:
                        tally.seen = evaluated
                        tally.evaluated += 1
                    if check.get("passed") or tally.failed == evaluated:
                        continue
                    tally.failed = evaluated
                    tally.rejected += 1
                    if tally.in_step != steps:
                        tally.in_step, tally.here = steps, 0
                        tally.first = str(evaluation["item_id"])
                        touched.append(tally)
                    tally.here += 1
            for tally in touched:
                if tally.here > tally.most:
                    tally.most = tally.here
                    tally.example = {"trace": trace["id"], "step": step["id"],
                                     "item": tally.first, "rejected": tally.here}  # fmt: skip
    ordered = sorted(found.values(), key=lambda t: (-t.rejected, -t.evaluated))
    return [
        {"step": t.step, "filter": t.name, "evaluated": t.evaluated, "rejected": t.rejected,
         "example": t.example}  # fmt: skip
        for t in ordered
    ], evaluated


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


def _slowest_steps(traces: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The :data:`SLOWEST_SHOWN` longest steps of the run, longest first."""
    timed = [
        (step["dur"], trace, step)
        for trace in traces
        for step in trace["steps"]
        if isinstance(step.get("dur"), (int, float)) and step["dur"] == step["dur"]  # not NaN
    ]
    return [
        {"trace": trace["id"], "step": step["id"], "name": step["name"], "dur": dur,
         "trace_name": trace["name"], "test": trace["test"]}  # fmt: skip
        for dur, trace, step in heapq.nlargest(SLOWEST_SHOWN, timed, key=lambda t: t[0])
    ]
