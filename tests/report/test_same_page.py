"""The page is byte for byte the page the previous code made of the same data (session 13
changed how the report's data is built and checked, not what it is): real recordings, odd
metadata a hook or a hand-made record can hold, NaN and infinities anywhere, records and models.

The previous code is kept, frozen, in ``tests/report/previous/``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xray_core import MemoryStore, XRay
from xray_core.recorder import TraceContext
from xray_core.report import Panel, ReportData, TestResult, render_report, write_report
from xray_core.report.payload import build_payload
from xray_core.store.records import trace_from_records

from .previous import render as previous
from .recording import HOSTILE

_GENERATED = re.compile(r'"generated":"[^"]*"')


def same_page(data: ReportData) -> None:
    """The current code's page of ``data`` is the previous code's (but for the time it says
    it was made)."""
    now = _GENERATED.sub("", render_report(data))
    before = _GENERATED.sub("", previous.render_report(data))
    assert now == before


names = st.sampled_from(["price", "rating", "reviews", "", HOSTILE])
items = st.sampled_from(["B01", "B02", "B03", 7, None, HOSTILE])
odd = st.sampled_from([None, 1, 2.5, "x", [], {}, [1, None], {"name": "price"}])
nonfinite = st.sampled_from([math.nan, math.inf, -math.inf])
#: a filter check as the recorder writes it, or what a hand-made record may hold instead
checks = st.one_of(
    st.fixed_dictionaries({"name": names, "passed": st.booleans(), "detail": st.none() | names}),
    st.fixed_dictionaries({"name": st.sampled_from([1, 2.0, True, None]), "passed": odd}),
    st.fixed_dictionaries({"passed": st.booleans()}),  # no name
    odd,
)
evaluations = st.one_of(
    st.fixed_dictionaries({
        "item_id": items,
        "item_data": st.dictionaries(names, st.integers() | st.floats(allow_nan=False)),
        "filters": st.lists(checks, max_size=4) | odd,
        "qualified": st.booleans() | odd,
        "reasoning": st.none() | names,
    }),  # fmt: skip
    st.fixed_dictionaries({"qualified": st.booleans()}),  # no item
    odd,
)
step_plan = st.fixed_dictionaries({
    "name": st.sampled_from(["keyword_generation", "filter", "rank"]),
    "input": st.none() | st.dictionaries(names, st.none() | st.integers() | names, max_size=3),
    "output": st.none() | st.lists(st.none() | names | st.floats(allow_nan=False), max_size=3),
    "reasoning": st.none() | names,
    "evaluations": st.lists(evaluations, max_size=4) | odd,
    "llm": st.booleans(),
    "fails": st.booleans(),
})  # fmt: skip
trace_plan = st.fixed_dictionaries({
    "steps": st.lists(step_plan, max_size=4),
    "test": st.sampled_from(["t.py::test_a", "t.py::test_b", None]),
    "metadata": st.dictionaries(names, st.none() | st.integers() | names, max_size=2),
})  # fmt: skip
#: where a NaN or an infinity may be put in the records afterwards (a hook, a hand-made record)
places = st.sampled_from([
    ("trace", "duration_ms"), ("trace", "metadata"), ("trace", "name"), ("step", "duration_ms"),
    ("step", "start_time"), ("step", "reasoning"), ("step", "error"), ("step", "name"),
    ("step", "parent_id"), ("step", "metadata"), ("step", "input"), ("step", "output"),
])  # fmt: skip


def record(plan: dict[str, Any]) -> TraceContext:
    """Record one trace following ``plan`` with the real recorder; a step's evaluations are
    written into its metadata as they are (what a hand-made record or a hook may hold)."""
    xr = XRay(store=MemoryStore())
    with xr.trace("selection", metadata=plan["metadata"]) as trace:
        for spec in plan["steps"]:
            try:
                with trace.step(spec["name"], input=spec["input"]) as step:
                    if spec["output"] is not None:
                        step.set_output(spec["output"])
                    if spec["reasoning"] is not None:
                        step.set_reasoning(spec["reasoning"])
                    step.set_metadata({"evaluations": spec["evaluations"]})
                    if spec["llm"]:
                        step.add_llm_metadata(model="m", tokens_used=None, temperature=0.5)
                    if spec["fails"]:
                        raise ValueError(spec["name"])
            except ValueError:
                pass
    assert isinstance(trace, TraceContext)
    trace.record["test_id"] = plan["test"]
    return trace


def recorded(plans: list[dict[str, Any]], place: Any, value: float) -> list[Any]:
    traces = [record(plan) for plan in plans]
    if place is not None and traces:
        where, key = place
        targets = [traces[0].record] if where == "trace" else traces[0].steps[:1]
        for target in targets:
            target[key] = {"x": [1, value]} if key in ("metadata", "input", "output") else value
    return [(t.record, t.steps) for t in traces]


tests = st.lists(
    st.builds(
        TestResult,
        st.sampled_from(["t.py::test_a", "t.py::test_b", "t.py::test_c"]),
        st.sampled_from(["passed", "failed", "skipped", "error", "xfailed"]),
        st.none() | st.floats(min_value=0, max_value=1e4) | nonfinite,
        baseline=st.sampled_from([None, "passed", "failed", "missing"]),
        message=st.none() | names,
    ),
    max_size=3,
)


@settings(max_examples=150, deadline=None)
@given(plans=st.lists(trace_plan, max_size=4), place=st.none() | places, value=nonfinite,
       results=tests, models=st.booleans())  # fmt: skip
def test_the_page_of_any_recorded_traces_is_the_previous_codes(
    plans: list[dict[str, Any]], place: Any, value: float, results: list[TestResult],
    models: bool,
) -> None:  # fmt: skip
    traces = recorded(plans, place, value)
    if models:  # the same traces as models (``xray report``'s)
        try:
            traces = [trace_from_records(record, list(steps)) for record, steps in traces]
        except Exception:  # noqa: BLE001 - a NaN where a model refuses one
            return
    same_page(ReportData(title=HOSTILE, traces=traces, tests=results))


def test_the_page_of_the_sample_report_is_the_previous_codes(sample_data: ReportData) -> None:
    same_page(sample_data)


def test_the_written_page_is_the_rendered_page(sample_data: ReportData, tmp_path: Path) -> None:
    """``write_report`` writes the page's bytes as they are made: ``render_report``'s text."""
    sample_data.title = HOSTILE + " caf\u00e9 \u2028"  # beyond ASCII, escaped, in the page
    written = write_report(tmp_path / "r.html", sample_data).read_bytes().decode("utf-8")
    assert _GENERATED.sub("", written) == _GENERATED.sub("", render_report(sample_data))
    assert "caf\u00e9" in written


def test_ties_give_the_first_step_and_trace_as_the_example() -> None:
    """A filter that rejects as many candidates in two steps of one name (in one trace, and in
    two traces) is shown with the first of them, as before."""
    check = {"name": "price", "passed": False, "detail": None}
    evaluation = {"item_id": "B01", "filters": [check, dict(check)], "qualified": False}
    step = {"name": "filter", "input": None, "output": None, "reasoning": None,
            "evaluations": [evaluation, dict(evaluation, item_id="B02")], "llm": False,
            "fails": False}  # fmt: skip
    plan = {"steps": [step, step], "test": "t.py::test_a", "metadata": {}}
    data = ReportData(traces=recorded([plan, plan], None, 0.0))
    same_page(data)
    example = build_payload(data)["overview"]["filters"][0]["example"]
    first = data.traces[0]
    assert isinstance(first, tuple)
    assert (example["trace"], example["step"]) == (first[0]["trace_id"], first[1][0]["step_id"])


def test_filters_named_by_equal_values_of_other_types_stay_apart() -> None:
    """1, True and 1.0 are equal but name three filters ("1", "True", "1.0"), also when one
    evaluation after another names them in the same place."""
    step = {"name": "filter", "input": None, "output": None, "reasoning": None, "llm": False,
            "fails": False, "evaluations": [
                {"item_id": f"B{i}", "filters": [{"name": name, "passed": False}],
                 "qualified": False} for i, name in enumerate([1, True, 1.0, "1", 1])]}  # fmt: skip
    data = ReportData(traces=recorded([{"steps": [step], "test": None, "metadata": {}}], None, 0.0))
    same_page(data)
    filters = build_payload(data)["overview"]["filters"]
    assert sorted((f["filter"], f["rejected"]) for f in filters) == [
        ("1", 3), ("1.0", 1), ("True", 1)]  # fmt: skip


@pytest.mark.parametrize("data", [math.nan, {"n": [math.inf]}, b"bytes", {1, 2}])
def test_a_panel_that_needs_the_general_encoder_gives_the_previous_page(
    sample_data: ReportData, data: Any
) -> None:
    """A panel's data that orjson cannot write as the general encoder does sends the whole
    document to the general path, the traces' texts written ahead included."""
    step_id = next(iter(sample_data.panels))
    sample_data.panels[step_id].append(Panel("odd", data=data))
    sample_data.traces = [*sample_data.traces, *recorded([{"steps": [], "test": None,
                                                           "metadata": {}}], None, 0.0)]  # fmt: skip
    same_page(sample_data)
