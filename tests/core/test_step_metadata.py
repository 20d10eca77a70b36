"""What ``add_evaluation`` and ``add_llm_metadata`` record: the common values are recorded
without the converter's copy, with the converter's result.

Whatever way a filter is recorded, the result is what the converter's way gives
(``recorder._filter_dict``: ``to_jsonable`` of the filter, then its name, passed and detail),
and a filter changed after it was recorded does not change the trace. ``add_llm_metadata``
records ``to_jsonable`` of its arguments as a dict, whichever way it takes.
"""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xray_core as xray
from xray_core.recorder import _filter_dict, _filters
from xray_core.serialize import MAX_STRING

from .test_serialize import any_char, nested


class Key(enum.Enum):
    """A dict key the converter writes as "name": it may replace a str key "name"."""

    NAME = "name"


class Renamed(str):
    """A str key equal to "passed" that the converter writes as something else."""

    __hash__ = str.__hash__

    def __str__(self) -> str:
        return "renamed"


def spelled(text: str) -> str:
    """An equal str that is not the interned literal (a key built at run time)."""
    return "".join(list(text))


keys = st.sampled_from(["name", "passed", "detail"]).flatmap(
    lambda k: st.sampled_from([k, spelled(k)])
) | st.sampled_from([Key.NAME, Renamed("passed"), 1, True, None, "other"]) | st.text(
    any_char, max_size=4
)  # fmt: skip
values = (
    st.text(any_char, max_size=12)
    | st.sampled_from(["x" * (MAX_STRING + 1), "prix élevé", "caf\udce9", "25.00 <= 40.00"])
    | st.booleans() | st.none() | st.integers() | st.floats() | nested
)  # fmt: skip
filter_dicts = st.dictionaries(keys, values, max_size=5)
one_filter = filter_dicts | nested
plain_filter = st.fixed_dictionaries(
    {"name": st.text(any_char, max_size=12), "passed": st.booleans(),
     "detail": st.none() | st.text(any_char, max_size=12)}  # fmt: skip
)


def same(a: Any, b: Any) -> bool:
    """Equal as JSON documents, types and key order included."""
    return json.dumps(a) == json.dumps(b)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(one_filter | plain_filter, max_size=4))
def test_filters_are_what_the_converter_makes_of_them(filters: list[Any]) -> None:
    assert same(_filters(filters), [_filter_dict(item) for item in filters])


@pytest.mark.parametrize(
    "item",
    [
        {"name": "price", "passed": True, "detail": "25.00 <= 40.00"},  # the literals, in order
        {"detail": None, "passed": False, "name": "stock"},  # another order
        {"name": "price", "passed": True},  # fewer keys
        {"name": "price", "passed": True, "detail": "d", "limit": 40},  # more keys
        {"name": "price", Key.NAME: "renamed", "passed": True},  # a key the converter renames
        {"name": "price", Renamed("passed"): True, "detail": None},  # ... into another key
        {"name": "x" * (MAX_STRING + 1), "passed": True, "detail": "caf\udce9"},  # long, surrogate
        {"name": 7, "passed": 1, "detail": 2.5},  # not text, not a bool
        {"name": "nan", "passed": float("nan"), "detail": None},
    ],
)
def test_each_kind_of_filter_dict(item: dict[Any, Any]) -> None:
    assert same(_filters([item]), [_filter_dict(item)])


def test_a_filter_changed_after_it_was_recorded_does_not_change_the_trace() -> None:
    store = xray.MemoryStore()
    price = {"name": "price", "passed": True, "detail": "25.00 <= 40.00"}
    with xray.XRay(store=store).trace("t") as trace:
        with trace.step("filter") as step:
            step.add_evaluation("B01", filters=[price], qualified=True)
            price["passed"] = False
            price["detail"] = "changed"
    assert trace.trace_id is not None
    stored = store.get_trace(trace.trace_id)
    assert stored is not None
    (evaluation,) = stored.steps[0].evaluations
    assert [(f.name, f.passed, f.detail) for f in evaluation.filters] == [
        ("price", True, "25.00 <= 40.00")
    ]


llm_values = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(any_char, max_size=12)
    | st.sampled_from(["x" * (MAX_STRING + 1), Key.NAME, 3.5]) | nested
)  # fmt: skip
#: what the recorder takes its short way for, and the values beside it that it must not
llm_common = (
    st.sampled_from(["mock-llm", "gpt-ø", "x" * (MAX_STRING + 1), "caf\udce9"])
    | st.text(st.characters(max_codepoint=127), max_size=12)
)
numbers = st.none() | st.booleans() | st.integers() | st.floats() | st.sampled_from([2**80, Key.NAME])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    llm_common | llm_values,
    numbers | llm_values,
    numbers | llm_values,
    st.just({}) | st.dictionaries(st.sampled_from(["prompt", "response", "top_p"]), llm_values, max_size=2),
)
def test_llm_metadata_is_what_the_converter_makes_of_it(
    model: Any, tokens: Any, temperature: Any, extra: dict[str, Any]
) -> None:
    with xray.XRay(store=xray.MemoryStore()).trace("t") as trace:
        with trace.step("llm") as step:
            step.add_llm_metadata(model, tokens, temperature, **extra)
    expected = xray.to_jsonable(
        {"model": model, "tokens_used": tokens, "temperature": temperature, **extra}
    )
    assert same(trace.steps[0]["metadata"]["llm"], expected)


@pytest.mark.parametrize(
    ("model", "tokens", "temperature"),
    [
        ("mock-llm", 42, 0.2),  # the common call
        ("mock-llm", None, None),
        ("mock-llm", True, 1),
        ("mock-llm", 2**80, float("nan")),  # the converter writes "NaN"
        ("mock-llm", 7, float("inf")),
        ("gpt-ø", 7, 0.5),  # not ASCII: checked by the converter
        ("caf\udce9", 7, 0.5),  # a lone surrogate: escaped
        ("x" * (MAX_STRING + 1), 7, 0.5),  # too long: truncated
        (Key.NAME, 7.0, "0.2"),
    ],
)
def test_each_kind_of_llm_call(model: Any, tokens: Any, temperature: Any) -> None:
    with xray.XRay(store=xray.MemoryStore()).trace("t") as trace:
        with trace.step("llm") as step:
            step.add_llm_metadata(model, tokens, temperature)
    expected = {"model": model, "tokens_used": tokens, "temperature": temperature}
    assert same(trace.steps[0]["metadata"]["llm"], xray.to_jsonable(expected))
