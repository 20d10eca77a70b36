"""Decision stability across repeated executions: flips, flip rate and what rejected an item."""

from __future__ import annotations

import xray_core as xray
from xray_core.stability import decision_stability


def run(store: xray.MemoryStore, verdicts: dict[str, bool], test_id: str = "t::a") -> None:
    with xray.XRay(store=store).trace("pipeline") as trace:
        trace.record["test_id"] = test_id
        with trace.step("filter") as step:
            for item, qualified in verdicts.items():
                filters = [{"name": "price", "passed": qualified, "detail": None}]
                step.add_evaluation(item, filters=filters, qualified=qualified)


def test_flip_rate_and_counts_across_executions() -> None:
    store = xray.MemoryStore()
    for verdict in (True, False, True, True):
        run(store, {"steady": True, "flaky": verdict})
    run(store, {"steady": True}, test_id="t::b")
    report = decision_stability(store.list_traces(limit=None))
    flaky, *rest = report  # unstable decisions come first
    assert (flaky.item_id, flaky.test_id, flaky.step) == ("flaky", "t::a", "filter")
    assert flaky.verdicts == [True, False, True, True]
    assert (flaky.observations, flaky.qualified, flaky.rejected, flaky.flips) == (4, 3, 1, 2)
    assert flaky.flip_rate == 2 / 3 and not flaky.stable
    assert flaky.rejected_by == {"price": 1}
    steady = {(s.test_id, s.item_id): s for s in rest}
    assert steady[("t::a", "steady")].stable and steady[("t::a", "steady")].flip_rate == 0.0
    assert steady[("t::a", "steady")].observations == 4
    assert steady[("t::b", "steady")].observations == 1  # other tests are kept apart
    assert [s.observations for s in rest] == [4, 1]  # then most observed first


def test_no_traces_no_stability() -> None:
    assert decision_stability([]) == []


def test_a_step_repeated_within_a_trace_is_not_an_execution() -> None:
    """Two rounds of one step in every trace, each deciding the same way each time: stable."""
    store = xray.MemoryStore()
    for _ in range(3):
        with xray.XRay(store=store).trace("pipeline") as trace:
            for round_qualifies in (False, True):
                with trace.step("filter") as step:
                    step.add_evaluation("B0X", qualified=round_qualifies)
                    step.add_evaluation("B0X", qualified=round_qualifies)  # re-evaluated
    report = decision_stability(store.list_traces(limit=None))
    assert [(s.step, s.verdicts) for s in report] == [
        ("filter", [False, False, False]), ("filter#2", [True, True, True]),
    ]  # fmt: skip
    assert all(s.stable for s in report)
