"""The recorder's snapshot of a step's input and output (``serialize.snapshot`` / ``thaw``).

A snapshot is JSON text (``bytes``, written by orjson) when that text is provably what
``to_jsonable`` gives, and ``to_jsonable``'s own result otherwise. Either way, reading it back
gives exactly ``to_jsonable(value)``, and changing the value afterwards changes nothing.
"""

from __future__ import annotations

import collections
import enum
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xray_core as xray
from xray_core.serialize import MAX_DEPTH, MAX_ITEMS, MAX_STRING, snapshot, thaw

from .test_serialize import TABLE, any_char, nested


def same(a: Any, b: Any) -> bool:
    """Equal as JSON documents, types included (``1``, ``1.0`` and ``True`` differ)."""
    return json.dumps(a) == json.dumps(b)


def read_back(value: Any, way: str = "snapshot") -> Any:
    """``value`` recorded one way (the recorder inlines the common case of ``snapshot`` for a
    step's ``input=`` and ``set_output``), read back as the trace's reader gets it."""
    if way == "snapshot":
        return thaw(snapshot(value))
    with xray.XRay(store=xray.MemoryStore()).trace("t") as trace:
        with trace.step("s", input=value if way == "input=" else None) as step:
            if way == "set_input":
                step.set_input(value)
            elif way == "set_output":
                step.set_output(value)
    field = "output" if way == "set_output" else "input"
    return thaw(trace.steps[0][field])


WAYS = ["snapshot", "input=", "set_input", "set_output"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nested)
@pytest.mark.parametrize("way", WAYS)
def test_a_snapshot_reads_back_as_to_jsonable_gives(way: str, value: Any) -> None:
    assert same(read_back(value, way), xray.to_jsonable(value))


plain_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats()
    | st.text(any_char, max_size=20),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(any_char, max_size=5), children, max_size=5),
    max_leaves=40,
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_json)
@pytest.mark.parametrize("way", WAYS)
def test_plain_json_with_any_text_and_float_reads_back_as_to_jsonable_gives(
    way: str, value: Any
) -> None:
    assert same(read_back(value, way), xray.to_jsonable(value))


@pytest.mark.parametrize(("value", "expected"), [(v, e) for _, v, e in TABLE],
                         ids=[name for name, _, _ in TABLE])  # fmt: skip
@pytest.mark.parametrize("way", WAYS)
def test_each_documented_type_reads_back_as_documented(way: str, value: Any, expected: Any) -> None:
    assert same(read_back(value, way), expected)


class Text(str):
    pass


class Number(int):
    pass


class Ratio(float):
    pass


class Kind(enum.Enum):
    NAN = float("nan")
    NESTED = {"x": [float("inf")]}
    PLAIN = "plain"


def cycle() -> list[Any]:
    loop: list[Any] = [1]
    loop.append({"back": loop})
    return loop


def nest(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


EDGES: list[tuple[str, Any]] = [
    ("NaN", {"score": float("nan")}),
    ("infinities in a list", [float("inf"), float("-inf"), None]),
    ("null and NaN", {"a": None, "b": [float("nan")], "c": "null"}),
    ("enum holding NaN", [Kind.NAN, Kind.NESTED, Kind.PLAIN]),
    ("huge int", {"n": 2**64, "m": -(2**63) - 1}),
    ("largest ints orjson writes", [2**64 - 1, -(2**63)]),
    ("cycle", cycle()),
    ("non-str keys", {1: "a", None: "b", (1, 2): "c", 1.5: "d"}),
    ("str, int, float subclasses", {"t": Text("x"), "n": Number(3), "r": Ratio(0.5)}),
    ("str subclass key", {Text("k"): 1}),
    ("dict and list subclasses", [collections.OrderedDict(a=1), collections.UserList([1])]),
    ("defaultdict", collections.defaultdict(list, {"a": [1]})),
    ("lone surrogate", {"path": "caf\udce9", "caf\udce9": 1}),
    ("string at the limit", "x" * MAX_STRING),
    ("string over the limit", {"s": "x" * (MAX_STRING + 1)}),
    ("non-ASCII over the limit", ["é" * (MAX_STRING // 2 + 1)]),
    ("container at the limit", list(range(MAX_ITEMS))),
    ("container over the limit", {"ids": list(range(MAX_ITEMS + 1))}),
    ("dict over the limit", {str(i): i for i in range(MAX_ITEMS + 1)}),
    ("nesting at the limit", nest(MAX_DEPTH)),
    ("nesting over the limit", nest(MAX_DEPTH + 1)),
    ("nesting past orjson's limit", nest(300)),
    ("tuple", (1, (2, "three"))),
    ("empty", [{}, [], ""]),
    ("negative zero", -0.0),
]


@pytest.mark.parametrize("value", [v for _, v in EDGES], ids=[name for name, _ in EDGES])
@pytest.mark.parametrize("way", WAYS)
def test_values_orjson_writes_otherwise_read_back_as_to_jsonable_gives(
    way: str, value: Any
) -> None:
    assert same(read_back(value, way), xray.to_jsonable(value))


def test_nan_and_infinity_read_back_as_their_names() -> None:
    assert read_back({"a": float("nan"), "b": [float("-inf")], "c": None}) == {
        "a": "NaN", "b": ["-Infinity"], "c": None
    }  # fmt: skip
    assert not any(isinstance(v, float) and math.isnan(v) for v in read_back([float("nan")]))


def test_plain_json_is_kept_as_its_text_and_anything_else_converted() -> None:
    assert snapshot({"ids": ["a", "b"], "n": 1.5}) == b'{"ids":["a","b"],"n":1.5}'
    assert snapshot({"n": float("nan")}) == {"n": "NaN"}
    assert snapshot({1: "a"}) == {"1": "a"}
    assert snapshot(None) is None


def test_a_value_changed_after_it_was_recorded_does_not_change_the_trace() -> None:
    store = xray.MemoryStore()
    given_input: dict[str, Any] = {"query": "bottle", "filters": {"max_price": 20}}
    output: dict[str, Any] = {"ids": ["A", "B"], "scores": [0.5, 0.25]}
    odd_output: dict[str, Any] = {"when": {1, 2}, "items": [float("nan")]}  # the converter's way
    with xray.XRay(store=store).trace("t") as trace:
        with trace.step("search", input=given_input) as step:
            step.set_output(output)
        with trace.step("odd") as odd:
            odd.set_input(given_input)
            odd.set_output(odd_output)
    given_input["query"] = "changed"
    given_input["filters"]["max_price"] = 1
    output["ids"].append("C")
    output["scores"][0] = 9.0
    odd_output["when"].add(3)
    odd_output["items"].append(1)
    recorded = store.get_trace(trace.trace_id)
    assert recorded is not None
    search, odd_step = recorded.steps
    assert search.input == {"query": "bottle", "filters": {"max_price": 20}}
    assert search.output == {"ids": ["A", "B"], "scores": [0.5, 0.25]}
    assert odd_step.input == search.input
    assert odd_step.output == {"when": [1, 2], "items": ["NaN"]}
