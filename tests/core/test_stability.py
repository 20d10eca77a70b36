"""Decision stability across repeated executions: flips, flip rate and what rejected an item."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import xray_core as xray
from xray_core.stability import decision_stability, input_groups, input_label, input_signature


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


# -- grouping by input ----------------------------------------------------------------------------
def priced(store: xray.MemoryStore, price: float, qualified: bool, *, key: object = None,
           test_id: str = "t::h") -> xray.Trace:  # fmt: skip
    """One execution of a pricing pipeline on ``price`` (the first step's input)."""
    metadata = {} if key is None else {"stability_key": key}
    with xray.XRay(store=store).trace("pricing", metadata=metadata) as trace:
        trace.record["test_id"] = test_id
        with trace.step("filter", input={"price": price}) as step:
            step.add_evaluation("B0X", qualified=qualified,
                                filters=[{"name": "price", "passed": qualified}])  # fmt: skip
    found = store.get_trace(trace.trace_id)
    assert found is not None
    return found


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([5.0, 9.5, 12.0, 30.0, 99.0]), min_size=2, max_size=12))
def test_different_inputs_deciding_differently_are_not_flips(prices: list[float]) -> None:
    store = xray.MemoryStore()
    traces = [priced(store, p, qualified=p >= 10) for p in prices]  # decided by the input
    assert all(s.flips == 0 for s in xray.decision_stability(traces))
    groups = input_groups(traces)
    assert len(groups) == len(set(prices)) and sum(groups.values()) == len(prices)
    pooled = xray.decision_stability(traces, by_input=False)  # the behaviour before groups
    changes = sum(a != b for a, b in zip(prices, prices[1:]) if (a >= 10) != (b >= 10))
    assert sum(s.flips for s in pooled) == changes


@settings(max_examples=100, deadline=None)
@given(st.lists(st.booleans(), min_size=2, max_size=12), st.sampled_from([5.0, 30.0]))
def test_the_same_input_deciding_differently_flips(verdicts: list[bool], price: float) -> None:
    store = xray.MemoryStore()
    traces = [priced(store, price, qualified=v) for v in verdicts]
    [entry] = xray.decision_stability(traces)
    assert entry.flips == sum(a != b for a, b in zip(verdicts, verdicts[1:]))
    assert entry.group == ""  # one input: nothing to tell apart


def test_a_stability_key_names_the_group_and_labels_tell_groups_apart() -> None:
    store = xray.MemoryStore()
    traces = [priced(store, 9.5, True, key="case-1"), priced(store, 30.0, False, key="case-1"),
              priced(store, 9.5, True, key="case-2"), priced(store, 9.5, True, key="case-2")]
    entries = xray.decision_stability(traces)
    assert [(e.group, e.flips) for e in entries] == [("case-1", 1), ("case-2", 0)]
    assert input_signature(traces[0]) == input_label(traces[0]) == "case-1"
    assert input_label(priced(store, 9.5, True, key={"case": 3})) == '{"case": 3}'
    unkeyed = [priced(store, 9.5, True), priced(store, 30.0, True)]
    assert {e.group for e in xray.decision_stability(unkeyed)} == {
        '{"price":9.5}', '{"price":30.0}'}  # fmt: skip
    assert input_signature(unkeyed[0]).startswith("input ")
    assert input_signature(unkeyed[0]) == input_signature(priced(store, 9.5, False))
