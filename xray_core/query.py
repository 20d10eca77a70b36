"""Questions asked of a trace: its steps by name and the decision taken about each candidate."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from .exceptions import UnknownItemError, UnknownStepError
from .models import Decision, Evaluation, Step, Trace
from .serialize import escape_surrogates


def closest_first(wanted: str, known: Iterable[str]) -> list[str]:
    """``known`` (deduplicated), the names closest to ``wanted`` first."""
    names = list(dict.fromkeys(known))
    matcher = difflib.SequenceMatcher(b=wanted)

    def distance(name: str) -> float:
        matcher.set_seq1(name)
        return -matcher.ratio()

    return sorted(names, key=distance)  # stable: equally close names keep their recorded order


def find_step(trace: Trace, name: str) -> Step:
    """The first step of ``trace`` called ``name`` (given as recorded or as the raw text)."""
    name = escape_surrogates(name) if type(name) is str else name  # as the recorder wrote it
    for step in trace.steps:
        if step.name == name:
            return step
    known = closest_first(name, (s.name for s in trace.steps))
    raise UnknownStepError(
        f"trace {trace.name!r} has no step {name!r}; its steps: "
        + (", ".join(repr(n) for n in known) or "none")
    )


def _decision(step: Step, evaluation: Evaluation) -> Decision:
    return Decision(
        item_id=evaluation.item_id,
        step=step.name,
        qualified=evaluation.qualified,
        failed_filters=evaluation.failed_filters,
        passed_filters=evaluation.passed_filters,
        reasoning=evaluation.reasoning,
        item_data=evaluation.item_data,
    )


def step_decisions(trace: Trace) -> list[tuple[Step, Evaluation]]:
    """Every (step, evaluation) pair of the trace, in step order."""
    return [(step, e) for step in trace.steps for e in step.evaluations]


def find_decision(trace: Trace, item_id: str, step: str | None = None) -> Decision:
    """The decision about ``item_id``: its last evaluation, or its evaluation in step ``step``."""
    item_id = escape_surrogates(str(item_id))  # as the recorder wrote it
    if step is not None:
        step = find_step(trace, step).name  # a clear error for an unknown step name
    found = [
        _decision(s, e)
        for s, e in step_decisions(trace)
        if e.item_id == item_id and (step is None or s.name == step)
    ]
    if found:
        return found[-1]
    known = closest_first(item_id, (e.item_id for _, e in step_decisions(trace)))
    where = f"step {step!r}" if step else f"trace {trace.name!r}"
    raise UnknownItemError(
        f"{where} evaluated no item {item_id!r}; evaluated items: "
        + (", ".join(known[:20]) + (" ..." if len(known) > 20 else "") if known else "none")
    )


def all_decisions(trace: Trace) -> list[Decision]:
    """Each candidate's final decision (its last evaluation), ordered by first evaluation."""
    final: dict[str, Decision] = {}
    for step, evaluation in step_decisions(trace):
        final[evaluation.item_id] = _decision(step, evaluation)
    return list(final.values())
