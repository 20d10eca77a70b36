"""A report of the recorder's records (what ``pytest --xray-report`` hands over, no model built)
shows exactly what the report of the same traces as models (``xray report``) shows."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xray_core import MemoryStore, XRay
from xray_core.recorder import TraceContext
from xray_core.report import ReportData, render_report
from xray_core.report.data import TraceRecords
from xray_core.report.payload import (
    _STEP_KEYS,
    _TRACE_KEYS,
    _Finite,
    build_payload,
    general_json,
    script_json,
)
from xray_core.store.records import trace_from_records

from .recording import HOSTILE
from .test_script_json import escaped

text = st.text(max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
step_plan = st.fixed_dictionaries(
    {
        "name": text,
        "input": json_values,
        "output": st.none() | json_values,
        "reasoning": st.none() | text,
        "evaluations": st.lists(st.tuples(text, st.booleans()), max_size=3),
        "llm": st.booleans(),
        "fails": st.booleans(),
        "children": st.integers(0, 2),
    }
)


def record(plan: list[dict[str, Any]], name: str, metadata: dict[str, Any]) -> TraceContext:
    """Record one trace following ``plan`` (a step that fails raises inside the trace)."""
    xr = XRay(store=MemoryStore())
    with xr.trace(name, metadata=metadata) as trace:
        for spec in plan:
            try:
                with trace.step(spec["name"], input=spec["input"]) as step:
                    if spec["output"] is not None:
                        step.set_output(spec["output"])
                    if spec["reasoning"] is not None:
                        step.set_reasoning(spec["reasoning"])
                    for item, qualified in spec["evaluations"]:
                        step.add_evaluation(item_id=item, item_data={"v": item},
                                            filters=[{"name": "f", "passed": qualified}],
                                            qualified=qualified, reasoning=item)  # fmt: skip
                    if spec["llm"]:
                        step.add_llm_metadata(model="m", tokens_used=3, temperature=0.5)
                    for child in range(spec["children"]):
                        with step.step(f"{spec['name']}.{child}"):
                            pass
                    if spec["fails"]:
                        raise ValueError(spec["name"])
            except ValueError:
                pass
    assert isinstance(trace, TraceContext)
    return trace


def both_ways(trace: TraceContext) -> tuple[dict[str, Any], dict[str, Any]]:
    """The payload's trace entry built from the records, and from the model, as the page reads
    it (the JSON text written into the page: the records' inputs and outputs are placed there as
    the recorder's JSON text, the model's as data)."""
    records: TraceRecords = (trace.record, trace.steps)
    model = trace_from_records(trace.record, list(trace.steps))
    from_records = build_payload(ReportData(traces=[records]))["traces"][0]
    from_model = build_payload(ReportData(traces=[model]))["traces"][0]
    return json.loads(script_json(from_records)), json.loads(script_json(from_model))


def assert_same(from_records: dict[str, Any], from_model: dict[str, Any]) -> None:
    """Equal, except that a step's offset may differ in its last digit (see _recorded_trace)."""
    for a, b in zip(from_records["steps"], from_model["steps"], strict=True):
        assert a.pop("at") == pytest.approx(b.pop("at"), abs=0.0011)
    assert from_records == from_model


@settings(max_examples=60, deadline=None)
@given(plan=st.lists(step_plan, max_size=4), name=text, metadata=st.dictionaries(text, json_values))
def test_records_and_models_give_the_same_document(
    plan: list[dict[str, Any]], name: str, metadata: dict[str, Any]
) -> None:
    assert_same(*both_ways(record(plan, name, metadata)))


def test_hostile_text_in_records_is_escaped_like_in_models() -> None:
    trace = record([{"name": HOSTILE, "input": {HOSTILE: HOSTILE}, "output": [HOSTILE],
                     "reasoning": HOSTILE, "evaluations": [(HOSTILE, False)], "llm": True,
                     "fails": True, "children": 1}], HOSTILE, {HOSTILE: HOSTILE})  # fmt: skip
    assert_same(*both_ways(trace))
    page = render_report(ReportData(traces=[(trace.record, trace.steps)]))
    assert "<script>alert" not in page and "<img" not in page
    assert page.lower().count("</script") == 3  # the two data elements and the code


def test_a_comparison_accepts_records() -> None:
    from xray_core import diff_runs

    trace = record([{"name": "s", "input": 1, "output": None, "reasoning": None,
                     "evaluations": [("B1", True)], "llm": False, "fails": False,
                     "children": 0}], "t", {})  # fmt: skip
    model = trace_from_records(trace.record, list(trace.steps))
    data = ReportData(traces=[(trace.record, trace.steps)], baseline_traces=[model],
                      comparison=diff_runs([model], [model]))  # fmt: skip
    comparison = build_payload(data)["comparison"]
    assert comparison["same"] == 1 and comparison["changed"] == []


def test_the_nonfinite_check_reads_every_value_of_a_recorded_trace() -> None:
    """``_checked`` names the keys it reads: a key added to the documents must be added there."""
    trace = record([{"name": "s", "input": 1, "output": None, "reasoning": None,
                     "evaluations": [], "llm": False, "fails": False, "children": 1}], "t", {})  # fmt: skip
    doc = build_payload(ReportData(traces=[(trace.record, trace.steps)]))["traces"][0]
    assert type(doc) is _Finite
    assert set(doc) == {*_TRACE_KEYS, "meta", "steps"}
    for step in doc["steps"]:
        assert set(step) == {*_STEP_KEYS, "meta", "input", "output"}


#: where a hook or a hand-made record can put a NaN or an infinity (the recorder's own values
#: never hold one: its converter writes them as text)
PLACES = [
    ("trace", "duration_ms"), ("trace", "metadata"), ("step", "duration_ms"),
    ("step", "start_time"), ("step", "reasoning"), ("step", "error"), ("step", "name"),
    ("step", "status"), ("step", "parent_id"), ("step", "metadata"), ("step", "input"),
    ("step", "output"), ("child", "metadata"), ("child", "duration_ms"),
]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    plan=st.lists(step_plan, min_size=1, max_size=3),
    place=st.sampled_from(PLACES),
    value=st.sampled_from([float("nan"), float("inf"), float("-inf")]),
    nested=st.booleans(),
)
def test_a_nonfinite_value_in_the_records_is_written_as_the_general_encoder_writes_it(
    plan: list[dict[str, Any]], place: tuple[str, str], value: float, nested: bool
) -> None:
    trace = record(plan, "t", {"k": 1})
    where, key = place
    targets = {"trace": [trace.record], "step": trace.steps[:1],
               "child": [s for s in trace.steps if s.get("parent_id")][:1]}[where]  # fmt: skip
    if not targets:
        return
    nested = nested and key in ("input", "output", "reasoning", "error")  # free-form values
    targets[0][key] = {"x": [1, value]} if nested or key == "metadata" else value
    payload = build_payload(ReportData(traces=[(trace.record, trace.steps)]))
    text = script_json(payload)
    assert text == escaped(general_json(payload))
    assert ("NaN" if value != value else "Infinity") in text
