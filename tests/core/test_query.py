"""Queries over a trace: steps by name, decisions by item, rejected and qualified candidates."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

import xray_core as xray


@pytest.fixture
def trace(record_pipeline: Callable[..., str]) -> xray.Trace:
    store = xray.MemoryStore()
    xr = xray.XRay(store=store)
    trace_id = record_pipeline(xr)
    stored = store.get_trace(trace_id)
    assert stored is not None
    return stored


def test_step_by_name(trace: xray.Trace) -> None:
    assert trace.step("keywords").output == {"keywords": ["steel", "bottle"]}


def test_an_unknown_step_lists_known_names_closest_first(trace: xray.Trace) -> None:
    with pytest.raises(xray.UnknownStepError) as info:
        trace.step("filtr")
    message = str(info.value)
    assert message == "trace 'pipeline' has no step 'filtr'; its steps: 'filter', 'keywords'"
    assert isinstance(info.value, LookupError) and isinstance(info.value, xray.QueryError)
    with pytest.raises(xray.UnknownStepError, match="its steps: 'keywords', 'filter'"):
        trace.step("keyword")


def test_decision_explains_a_rejection(trace: xray.Trace) -> None:
    decision = trace.decision("B0X")
    assert decision.step == "filter"
    assert decision.qualified is False and decision.rejected is True
    assert decision.rejected_by("price") and not decision.rejected_by("rating")
    assert [f.name for f in decision.failed_filters] == ["price"]
    assert [f.name for f in decision.passed_filters] == ["rating"]
    assert decision.item_data == {"price": 9.5}
    assert decision.explain() == (
        "B0X was rejected by 'price' in step 'filter'. price: failed (9.50 < 12.50); "
        "rating: passed (4.5 > 3.8). Reasoning: too cheap"
    )


def test_decision_of_a_qualified_item(trace: xray.Trace) -> None:
    decision = trace.decision("B0Y")
    assert decision.qualified and not decision.rejected_by("price")
    assert decision.explain().startswith("B0Y was qualified in step 'filter'.")


def test_an_unknown_item_lists_evaluated_items_closest_first(trace: xray.Trace) -> None:
    with pytest.raises(xray.UnknownItemError) as info:
        trace.decision("B0Z")
    assert str(info.value) == "trace 'pipeline' evaluated no item 'B0Z'; evaluated items: B0X, B0Y"
    with pytest.raises(xray.UnknownItemError, match="evaluated items: B0Y, B0X"):
        trace.decision("B0Yy")
    with pytest.raises(xray.UnknownItemError, match="step 'keywords' evaluated no item 'B0X'"):
        trace.decision("B0X", step="keywords")
    with pytest.raises(xray.UnknownStepError):
        trace.decision("B0X", step="nope")


def test_rejected_and_qualified(trace: xray.Trace) -> None:
    assert [d.item_id for d in trace.rejected()] == ["B0X"]
    assert [d.item_id for d in trace.qualified()] == ["B0Y"]
    assert [d.item_id for d in trace.decisions()] == ["B0X", "B0Y"]


def test_the_last_evaluation_of_an_item_is_its_decision() -> None:
    store = xray.MemoryStore()
    with xray.XRay(store=store).trace("two rounds") as live:
        with live.step("coarse") as step:
            step.add_evaluation("A", qualified=True)
            step.add_evaluation("B", qualified=True)
        with live.step("fine") as step:
            step.add_evaluation("A", filters=[{"name": "stock", "passed": False}], qualified=False)
    trace = store.get_trace(live.trace_id)
    assert trace is not None
    assert trace.decision("A").step == "fine" and trace.decision("A").rejected_by("stock")
    assert trace.decision("A", step="coarse").qualified
    assert [d.item_id for d in trace.qualified()] == ["B"]
    assert [d.item_id for d in trace.rejected()] == ["A"]


def test_a_trace_without_evaluations_has_no_decisions() -> None:
    store = xray.MemoryStore()
    with xray.XRay(store=store).trace("plain") as live:
        with live.step("only"):
            pass
    trace = store.get_trace(live.trace_id)
    assert trace is not None
    assert trace.decisions() == [] and trace.rejected() == []
    with pytest.raises(xray.UnknownItemError, match="evaluated items: none"):
        trace.decision("A")


def test_names_with_lone_surrogates_are_found_as_given() -> None:
    name = os.fsdecode(b"caf\xe9.txt")  # recorded as "caf\\udce9.txt"
    store = xray.MemoryStore()
    with xray.XRay(store=store).trace("files") as recorded:
        with recorded.step("read " + name) as step:
            step.add_evaluation(name, qualified=False)
    trace = store.get_trace(recorded.trace_id)
    assert trace is not None
    assert trace.step("read " + name) is trace.step("read caf\\udce9.txt")
    assert trace.decision(name).item_id == "caf\\udce9.txt"
    assert trace.decision(name, step="read " + name).rejected
