"""Decision stability: how often each candidate's verdict flips across repeated executions.

The signal for a non-deterministic pipeline: the same test run over several runs (or one test
recording many traces, as hypothesis examples or repeated runs do) should decide the same way
*on the same input*. Traces are grouped by an input signature (:func:`input_signature`) and only
traces of one group are compared, so a hypothesis test whose examples differ never counts its
different inputs' different verdicts as flips.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import chain
from dataclasses import dataclass, field
from operator import ne
from typing import Any, NamedTuple

from .diff import normalize_trace
from .models import Trace

#: the trace metadata key naming what a trace's input is, for stability: traces with the same
#: value are compared with each other, and only with each other
STABILITY_KEY = "stability_key"
StabilityKey = tuple[str, str, str, str, str]  # test id, trace name, group, step, item
GroupKey = tuple[str, str, str]  # test id, trace name, input signature


@dataclass
class DecisionStability:
    """One candidate's decisions in one step of one test's trace, across executions."""

    test_id: str
    trace_name: str
    step: str
    item_id: str
    verdicts: list[bool] = field(default_factory=list)  #: qualified?, in execution order
    rejected_by: Counter[str] = field(default_factory=Counter)  #: failed filter -> times
    #: the input group compared (its ``stability_key``, or its input as compact JSON); empty
    #: when the test's traces of that name all had one input, or when traces were pooled
    group: str = ""

    @property
    def observations(self) -> int:
        """How many times the decision was taken."""
        return len(self.verdicts)

    @property
    def qualified(self) -> int:
        """How many times the candidate was qualified."""
        return sum(self.verdicts)

    @property
    def rejected(self) -> int:
        """How many times the candidate was rejected."""
        return self.observations - self.qualified

    @property
    def flips(self) -> int:
        """How many times the verdict changed from one execution to the next."""
        return sum(map(ne, self.verdicts, self.verdicts[1:]))

    @property
    def flip_rate(self) -> float:
        """Flips per chance to flip (0.0 = stable, 1.0 = changes every time)."""
        return self.flips / (self.observations - 1) if self.observations > 1 else 0.0

    @property
    def stable(self) -> bool:
        """True when every execution decided the same way."""
        return self.flips == 0


def input_signature(trace: Trace) -> str:
    """What identifies a trace's input, for comparing like with like.

    The trace metadata's ``stability_key`` when it has one (``xray.trace(name,
    metadata={"stability_key": case_id})``), else a hash of the trace's metadata and its first
    step's input: two executions on the same input have the same signature.
    """
    if STABILITY_KEY in trace.metadata:
        return _key_text(trace.metadata[STABILITY_KEY])
    roots = sorted((s for s in trace.steps if s.parent_id is None), key=lambda s: s.step_order)
    metadata = {k: v for k, v in trace.metadata.items() if k != "error"}
    data = {"metadata": metadata, "input": roots[0].input if roots else None}
    text = json.dumps(data, sort_keys=True, default=repr, ensure_ascii=False)
    return "input " + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _key_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=repr)


def input_label(trace: Trace, limit: int = 48) -> str:
    """A trace's input for people: its ``stability_key``, else its first step's input (or its
    metadata) as compact JSON, cut at ``limit`` characters."""
    if STABILITY_KEY in trace.metadata:
        return _key_text(trace.metadata[STABILITY_KEY])
    roots = sorted((s for s in trace.steps if s.parent_id is None), key=lambda s: s.step_order)
    shown = roots[0].input if roots and roots[0].input is not None else trace.metadata
    text = json.dumps(shown, sort_keys=True, default=repr, ensure_ascii=False,
                      separators=(",", ":"))  # fmt: skip
    return text if len(text) <= limit else text[: limit - 3] + "..."


def input_groups(traces: Iterable[Trace], *, by_input: bool = True) -> Counter[GroupKey]:
    """How many traces each (test id, trace name, input signature) group holds.

    With ``by_input=False`` every trace of a test and name is one group (signature ``""``).
    """
    return Counter(_group_key(t, by_input) for t in traces)


def _group_key(trace: Trace, by_input: bool) -> GroupKey:
    return (trace.test_id or "", trace.name, input_signature(trace) if by_input else "")


def _labels(groups: dict[str, str]) -> dict[str, str]:
    """Each group's label, when there are several (a label two groups share gets its hash)."""
    if len(groups) < 2:
        return {}
    shared = Counter(groups.values())
    return {
        signature: label if shared[label] == 1 or signature == label
        else f"{label} ({signature.removeprefix('input ')})"
        for signature, label in groups.items()
    }  # fmt: skip


class TraceDecisions(NamedTuple):
    """What stability reads of one trace: who recorded it, its input group, its decisions."""

    test_id: str
    name: str
    #: the input signature (:func:`input_signature`; ``""`` when traces are pooled)
    group: str
    label: str  #: the input for people (:func:`input_label`)
    #: (step key, item id, qualified, failed filters) of each decision, in the trace's order
    decisions: tuple[tuple[str, str, bool, tuple[str, ...]], ...]


def decisions_of(normalized: dict[str, Any]) -> tuple[tuple[str, str, bool, tuple[str, ...]], ...]:
    """The decisions of a normalized trace (:func:`~xray_core.diff.normalize_trace`).

    Steps are keyed as diffs pair them (path and occurrence: ``filter#2``), and each step keeps
    its last evaluation of an item: one observation per execution, as in a diff.
    """
    return tuple(
        (step["key"], item_id, evaluation["qualified"],
         tuple(n for n, f in evaluation["filters"].items() if not f["passed"]))
        for step in normalized["steps"]
        for item_id, evaluation in step["evaluations"].items()
    )  # fmt: skip


def trace_decisions(trace: Trace, *, by_input: bool = True) -> TraceDecisions:
    """What :func:`stability_of` reads of ``trace``."""
    return TraceDecisions(trace.test_id or "", trace.name,
                          input_signature(trace) if by_input else "", input_label(trace),
                          decisions_of(normalize_trace(trace)))  # fmt: skip


def decision_stability(
    traces: Iterable[Trace], *, by_input: bool = True
) -> list[DecisionStability]:
    """Stability of every (test, trace name, input group, step, item) decision over ``traces``.

    Traces are compared only with traces of the same input (see :func:`input_signature`);
    ``by_input=False`` pools every trace of a test and name, whatever its input. A group's
    label is set (``DecisionStability.group``) only when a test's traces of a name had several.

    Steps are named as diffs name them: a nested step by its path (``select/rank``), a repeated
    one by its occurrence (``filter#2``); an item evaluated twice in one step counts once (its
    last evaluation), as ``trace.decision`` answers.

    ``traces`` must be in execution order (runs oldest first, then recording order); the result
    lists unstable decisions first (highest flip rate, then most observations).
    """
    return stability_of(trace_decisions(t, by_input=by_input) for t in traces)


def stability_of(traces: Iterable[TraceDecisions]) -> list[DecisionStability]:
    """:func:`decision_stability` of traces already read (:func:`trace_decisions`), in
    execution order."""
    by_key: dict[StabilityKey, list[tuple[bool, tuple[str, ...]]]] = {}
    signatures: defaultdict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    # Traces of one content decide alike (a test run again on the same input): where each of
    # their decisions goes is worked out once per (test, name, group, decisions)
    placed: dict[tuple[Any, ...], list[tuple[Any, tuple[bool, tuple[str, ...]]]]] = {}
    for trace in traces:
        test_id, name, group = trace.test_id, trace.name, trace.group
        groups = signatures[(test_id, name)]
        if group not in groups:
            groups[group] = trace.label
        where = (test_id, name, group, trace.decisions)
        targets = placed.get(where)
        if targets is None:
            targets = placed[where] = []
            for step_key, item_id, qualified, failed in trace.decisions:
                seen = by_key.setdefault((test_id, name, group, step_key, item_id), [])
                targets.append((seen.append, (qualified, failed)))
        for append, decision in targets:
            append(decision)
    labels = {key: _labels(groups) for key, groups in signatures.items()}
    found = []
    for (test_id, name, group, step_key, item_id), seen in by_key.items():
        label = labels[(test_id, name)].get(group, "")
        entry = DecisionStability(test_id, name, step_key, item_id, group=label)
        entry.verdicts = [qualified for qualified, _ in seen]
        entry.rejected_by.update(chain.from_iterable(f for qualified, f in seen if not qualified))
        found.append(entry)
    return sorted(
        found,
        key=lambda s: (-s.flip_rate, -s.observations, s.test_id, s.step, s.item_id, s.group),
    )
