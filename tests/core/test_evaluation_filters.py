"""``add_evaluation``'s filters: the common filter dict is built without the converter's copy.

Whatever way a filter is recorded, the result is what the converter's way gives
(``recorder._filter_dict``: ``to_jsonable`` of the filter, then its name, passed and detail),
and a filter changed after it was recorded does not change the trace.
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
    stored = store.get_trace(trace.trace_id)
    assert stored is not None
    (evaluation,) = stored.steps[0].evaluations
    assert [(f.name, f.passed, f.detail) for f in evaluation.filters] == [
        ("price", True, "25.00 <= 40.00")
    ]
