"""Decision stability: how often each candidate's verdict flips across repeated executions.

The signal for a non-deterministic pipeline: the same test run over several runs (or one test
recording many traces, as hypothesis examples or repeated runs do) should decide the same way.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from .diff import normalize_trace
from .models import Trace

StabilityKey = tuple[str, str, str, str]


@dataclass
class DecisionStability:
    """One candidate's decisions in one step of one test's trace, across executions."""

    test_id: str
    trace_name: str
    step: str
    item_id: str
    verdicts: list[bool] = field(default_factory=list)  #: qualified?, in execution order
    rejected_by: Counter[str] = field(default_factory=Counter)  #: failed filter -> times

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
        return sum(a != b for a, b in zip(self.verdicts, self.verdicts[1:], strict=False))

    @property
    def flip_rate(self) -> float:
        """Flips per chance to flip (0.0 = stable, 1.0 = changes every time)."""
        return self.flips / (self.observations - 1) if self.observations > 1 else 0.0

    @property
    def stable(self) -> bool:
        """True when every execution decided the same way."""
        return self.flips == 0


def decision_stability(traces: Iterable[Trace]) -> list[DecisionStability]:
    """Stability of every (test, trace name, step, item) decision over ``traces``.

    Steps are named as diffs name them: a nested step by its path (``select/rank``), a repeated
    one by its occurrence (``filter#2``); an item evaluated twice in one step counts once (its
    last evaluation), as ``trace.decision`` answers.

    ``traces`` must be in execution order (runs oldest first, then recording order); the result
    lists unstable decisions first (highest flip rate, then most observations).
    """
    by_key: defaultdict[StabilityKey, list[tuple[bool, list[str]]]] = defaultdict(list)
    for trace in traces:
        # Steps are keyed as diffs pair them (path and occurrence: "filter#2"), and each step
        # keeps its last evaluation of an item: one observation per execution, as in a diff.
        for step in normalize_trace(trace)["steps"]:
            for item_id, evaluation in step["evaluations"].items():
                key = (trace.test_id or "", trace.name, step["key"], item_id)
                failed = [n for n, f in evaluation["filters"].items() if not f["passed"]]
                by_key[key].append((evaluation["qualified"], failed))
    found = []
    for key, seen in by_key.items():
        entry = DecisionStability(*key)
        for qualified, failed in seen:
            entry.verdicts.append(qualified)
            if not qualified:
                entry.rejected_by.update(failed)
        found.append(entry)
    return sorted(
        found, key=lambda s: (-s.flip_rate, -s.observations, s.test_id, s.step, s.item_id)
    )
