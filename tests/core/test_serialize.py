"""Safe serialization: every type of the documented table, limits, a round trip through SQLite."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
import os
import re
import uuid
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import xray_core as xray
from xray_core.serialize import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_ITEMS,
    MAX_STRING,
    TRUNCATED_KEY,
    _convert,
    escape_surrogates,
    loads_json,
)


class Color(enum.Enum):
    RED = "red"
    NESTED = (1, 2)


class Level(enum.IntEnum):
    HIGH = 3


class Mode(str, enum.Enum):
    FAST = "fast"


@dataclasses.dataclass
class Point:
    x: int
    when: dt.date


class Item(BaseModel):
    sku: str
    price: Decimal
    tags: set[str]


class OnlyRepr:
    __slots__ = ()

    def __repr__(self) -> str:
        return "OnlyRepr()"


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr is broken")


class BrokenDump:
    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        raise ValueError("dump is broken")

    def __repr__(self) -> str:
        return "BrokenDump()"


UID = uuid.UUID("12345678-1234-5678-1234-567812345678")

# (value, what it is stored as): the table of the module docstring and docs/sdk.md
TABLE: list[tuple[str, Any, Any]] = [
    ("datetime", dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc),
     "2024-05-01T12:30:00+00:00"),
    ("naive datetime", dt.datetime(2024, 5, 1, 12, 30, 5), "2024-05-01T12:30:05"),
    ("date", dt.date(2024, 5, 1), "2024-05-01"),
    ("time", dt.time(8, 15, 30), "08:15:30"),
    ("Decimal", Decimal("12.50"), "12.50"),
    ("UUID", UID, "12345678-1234-5678-1234-567812345678"),
    ("Path", PurePosixPath("/data/catalog.json"), "/data/catalog.json"),
    ("set", {3, 1, 2}, [1, 2, 3]),
    ("frozenset", frozenset({"b", "a"}), ["a", "b"]),
    ("mixed set", {1, "a"}, ["a", 1]),  # not comparable: sorted by repr ("'a'" < "1")
    ("tuple", (1, "two"), [1, "two"]),
    ("bytes", b"\x00\xffhi", "base64:AP9oaQ=="),
    ("bytearray", bytearray(b"ab"), "base64:YWI="),
    ("enum", Color.RED, "red"),
    ("enum with tuple value", Color.NESTED, [1, 2]),
    ("int enum", Level.HIGH, 3),
    ("str enum", Mode.FAST, "fast"),
    ("dataclass", Point(1, dt.date(2024, 1, 2)), {"x": 1, "when": "2024-01-02"}),
    ("pydantic model", Item(sku="A1", price=Decimal("9.5"), tags={"b", "a"}),
     {"sku": "A1", "price": "9.5", "tags": ["a", "b"]}),
    ("numpy int", np.int64(7), 7),
    ("numpy float", np.float32(0.5), 0.5),
    ("numpy bool", np.bool_(True), True),
    ("numpy array", np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]),
    ("numpy nan", np.float64("nan"), "NaN"),
    ("NaN", float("nan"), "NaN"),
    ("inf", float("inf"), "Infinity"),
    ("-inf", float("-inf"), "-Infinity"),
    ("only repr", OnlyRepr(), "OnlyRepr()"),
    ("broken repr", BrokenRepr(), "<unreprable BrokenRepr>"),
    ("broken model_dump", BrokenDump(), "BrokenDump()"),
    ("non-str keys", {1: "a", (2, 3): "b", None: "c"}, {"1": "a", "[2, 3]": "b", "None": "c"}),
    ("plain JSON", {"a": [1, 2.5, True, None, "s"]}, {"a": [1, 2.5, True, None, "s"]}),
    ("lone surrogate", os.fsdecode(b"caf\xe9.txt"), "caf\\udce9.txt"),
    ("surrogate key", {"caf\udce9": "caf\udce9"}, {"caf\\udce9": "caf\\udce9"}),
    ("surrogate pair", "\ud83d\ude00", "\\ud83d\\ude00"),  # two lone halves, not one char
    ("Path with surrogate", PurePosixPath(os.fsdecode(b"/data/caf\xe9")), "/data/caf\\udce9"),
    ("valid non-ASCII", {"café": "日本 😀"}, {"café": "日本 😀"}),
]  # fmt: skip


@pytest.mark.parametrize(("value", "expected"), [(v, e) for _, v, e in TABLE],
                         ids=[name for name, _, _ in TABLE])  # fmt: skip
def test_each_documented_type_converts_as_documented(value: Any, expected: Any) -> None:
    assert xray.to_jsonable(value) == expected


class Plain:
    pass


def generate() -> Any:
    yield 1


class FakeFrame:
    """A stand-in for a pandas DataFrame (pandas is not a dependency): ``head`` and ``to_dict``."""

    __module__ = "pandas.core.frame"

    def __init__(self, rows: int) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return self.rows

    def head(self, n: int) -> FakeFrame:
        return FakeFrame(min(n, self.rows))

    def to_dict(self) -> dict[str, Any]:
        return {"price": {i: 9.5 for i in range(self.rows)}, "seen": {0: dt.date(2024, 5, 1)}}


class NotPandas:
    def to_dict(self) -> dict[str, Any]:
        raise AssertionError("only pandas objects are asked for to_dict()")

    def __repr__(self) -> str:
        return "NotPandas()"


def test_pandas_objects_become_their_to_dict_cut_at_1000_rows() -> None:
    assert xray.to_jsonable(FakeFrame(2)) == {
        "price": {"0": 9.5, "1": 9.5}, "seen": {"0": "2024-05-01"}
    }  # fmt: skip
    big = xray.to_jsonable(FakeFrame(MAX_ITEMS + 5))
    assert len(big["price"]) == MAX_ITEMS  # only head(1000) was converted
    assert big[TRUNCATED_KEY] == f"{MAX_ITEMS + 5} rows, {MAX_ITEMS} kept"
    assert xray.to_jsonable(NotPandas()) == "NotPandas()"  # other to_dict()s are never called


def test_default_reprs_lose_their_memory_address() -> None:
    assert xray.to_jsonable(Plain()) == f"<{__name__}.Plain object>"
    assert xray.to_jsonable(generate()) == "<generator object generate>"
    assert xray.to_jsonable([Plain(), Plain()]) == [f"<{__name__}.Plain object>"] * 2
    assert xray.to_jsonable(generate) == "<function generate>"


def test_a_path_is_stored_as_its_text(tmp_path: Path) -> None:
    assert xray.to_jsonable(tmp_path) == str(tmp_path)


def test_cycles_become_a_marker() -> None:
    looped: list[Any] = [1]
    looped.append(looped)
    mapping: dict[str, Any] = {"name": "m"}
    mapping["self"] = mapping

    @dataclasses.dataclass
    class Node:
        child: Any = None

    node = Node()
    node.child = node
    assert xray.to_jsonable(looped) == [1, "<cycle>"]
    assert xray.to_jsonable(mapping) == {"name": "m", "self": "<cycle>"}
    assert xray.to_jsonable(node) == {"child": "<cycle>"}
    shared = [1]
    assert xray.to_jsonable([shared, shared]) == [[1], [1]]  # repeated, not cyclic


def test_oversized_values_are_truncated_with_the_original_size() -> None:
    text = xray.to_jsonable("x" * (MAX_STRING + 5))
    assert text == "x" * MAX_STRING + f"...<truncated: {MAX_STRING + 5} chars>"
    items = xray.to_jsonable(list(range(MAX_ITEMS + 3)))
    assert items[:MAX_ITEMS] == list(range(MAX_ITEMS))
    assert items[MAX_ITEMS:] == [f"<truncated: {MAX_ITEMS + 3} items, {MAX_ITEMS} kept>"]
    mapping = xray.to_jsonable({f"k{i}": i for i in range(MAX_ITEMS + 1)})
    assert len(mapping) == MAX_ITEMS + 1
    assert mapping[TRUNCATED_KEY] == f"{MAX_ITEMS + 1} items, {MAX_ITEMS} kept"
    array = xray.to_jsonable(np.arange(MAX_ITEMS + 10))
    assert array[-1] == f"<truncated: {MAX_ITEMS + 10} items, {MAX_ITEMS} kept>"
    assert len(array) == MAX_ITEMS + 1
    blob = xray.to_jsonable(b"\x01" * (MAX_BYTES + 1))
    assert blob.startswith("base64:") and blob.endswith(f"...<truncated: {MAX_BYTES + 1} bytes>")


def test_deep_nesting_is_cut() -> None:
    deep: list[Any] = []
    cursor = deep
    for _ in range(MAX_DEPTH + 10):
        cursor.append([])
        cursor = cursor[0]
    converted = xray.to_jsonable(deep)
    json.dumps(converted)
    assert "<too deep>" in json.dumps(converted)


def test_the_flat_dict_fast_path_copies_and_still_converts_specials() -> None:
    flat = {"a": 1, "b": "two", "c": 2.5, "d": None, "e": True}
    converted = xray.to_jsonable(flat)
    assert converted == flat and converted is not flat
    assert xray.to_jsonable({"n": float("nan"), "i": float("inf")}) == {
        "n": "NaN", "i": "Infinity"
    }  # fmt: skip
    assert xray.to_jsonable({"long": "y" * (MAX_STRING + 1)})["long"].endswith("chars>")


def test_every_table_type_round_trips_through_sqlite(store: xray.SQLiteStore) -> None:
    values = {name: value for name, value, _ in TABLE}
    looped: list[Any] = []
    looped.append(looped)
    values.update(cycle=looped, huge="z" * (MAX_STRING * 2), many=set(range(MAX_ITEMS * 2)))
    xr = xray.XRay(store=store)
    with xr.trace("types", metadata=values) as trace:
        with trace.step("everything", input=values) as step:
            step.set_output(values)
            step.set_metadata({"values": values})
            step.add_evaluation(UID, item_data=values, qualified=True, reasoning=Decimal("1"))
    stored = store.get_trace(trace.trace_id)
    assert stored is not None
    expected = {name: converted for name, _, converted in TABLE}
    step_read = stored.steps[0]
    for name, converted in expected.items():
        assert step_read.input[name] == converted, name
        assert step_read.output[name] == converted, name
        assert stored.metadata[name] == converted, name
    assert step_read.input["cycle"] == ["<cycle>"]
    assert step_read.evaluations[0].item_id == str(UID)
    assert step_read.evaluations[0].item_data["bytes"] == "base64:AP9oaQ=="
    assert step_read.evaluations[0].reasoning == "1"


#: any code point, lone surrogates included (they are rare in st.characters(): add more)
any_char = st.characters(exclude_categories=()) | st.characters(categories=["Cs"])
any_text = st.text(any_char, max_size=20)

json_leaves = (
    st.none() | st.booleans() | st.integers() | st.floats() | any_text
    | st.binary(max_size=20) | st.decimals() | st.datetimes() | st.dates() | st.uuids()
    | st.sampled_from([Color.RED, Level.HIGH, Mode.FAST])
    | st.builds(OnlyRepr) | st.builds(BrokenRepr)
    | st.builds(np.int32, st.integers(-100, 100)) | st.builds(np.float64, st.floats())
)  # fmt: skip
nested = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=5)
        | st.tuples(children, children)
        | st.frozensets(st.integers() | st.text(max_size=5), max_size=5)
        | st.dictionaries(st.text(any_char, max_size=5) | st.integers() | st.booleans(),
                          children, max_size=5)  # fmt: skip
    ),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nested)
def test_to_jsonable_never_raises_and_is_always_json(value: Any) -> None:
    converted = xray.to_jsonable(value)
    text = json.dumps(converted, allow_nan=False)
    assert json.loads(text) == converted
    json.dumps(converted, ensure_ascii=False).encode("utf-8")  # valid UTF-8: no surrogate left
    assert xray.to_jsonable(converted) == converted  # converting twice changes nothing
    assert loads_json(text) == converted


flat_dicts = st.dictionaries(
    st.text(any_char, max_size=5) | st.integers() | st.sampled_from([Color.RED, Mode.FAST]),
    json_leaves | st.sampled_from(["y" * (MAX_STRING + 1), float("nan"), -math.inf]),
    max_size=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flat_dicts | nested)
def test_the_fast_paths_give_what_the_converter_gives(value: Any) -> None:
    """``to_jsonable``'s inlined checks (a flat dict, plain JSON) decide only who converts."""
    converted = xray.to_jsonable(value)
    assert json.dumps(converted) == json.dumps(_convert(value, set(), 0))


def _unescape(text: str) -> str:
    return re.sub(r"\\u(d[89a-f][0-9a-f]{2})", lambda m: chr(int(m[1], 16)), text)


@settings(max_examples=300, deadline=None)
@given(st.text(any_char, max_size=50))
def test_any_text_becomes_valid_utf8_and_ordinary_text_is_unchanged(text: str) -> None:
    converted = xray.to_jsonable(text)
    assert json.loads(json.dumps(converted).encode("utf-8")) == converted
    assert json.dumps(converted, ensure_ascii=False).encode("utf-8")
    assert xray.to_jsonable({text: [text]}) == {converted: [converted]}  # keys alike
    assert escape_surrogates(converted) == converted
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: each became its escape text, nothing lost
        assert converted != text
        if "\\" not in text:
            assert _unescape(converted) == text
    else:
        assert converted == text and escape_surrogates(text) is text


@settings(max_examples=100, deadline=None)
@given(st.floats())
def test_floats_are_kept_or_named(value: float) -> None:
    converted = xray.to_jsonable(value)
    if math.isfinite(value):
        assert converted == value
    else:
        assert converted in ("NaN", "Infinity", "-Infinity")
