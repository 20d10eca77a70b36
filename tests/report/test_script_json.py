"""The report's JSON encoder: orjson's fast path writes exactly the general encoder's text."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from xray_core.report.payload import _HTML_ESCAPES, Snapshot, general_json, script_json
from xray_core.serialize import snapshot


class Colour(enum.Enum):
    RED = "red"
    NAN = math.nan
    BIG = 2**70


class Level(enum.IntEnum):
    LOW = 1


class Name(str):
    pass


@dataclasses.dataclass
class Point:
    x: float
    y: Any


def escaped(raw: bytes) -> str:
    """``general_json``'s text as ``script_json`` escapes it for a <script> element."""
    for needle, escape in _HTML_ESCAPES:
        raw = raw.replace(needle, escape)
    return raw.decode("utf-8")


#: a recorded input or output as the report of records holds it: the recorder's JSON text
snapshots = (
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=8,
    )
    .map(snapshot)
    .filter(lambda kept: type(kept) is bytes)
    .map(Snapshot)
)
scalars = st.one_of(
    snapshots,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),  # beyond 64 bits: the general path
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),  # lone surrogates included: the general path escapes them
    st.sampled_from([Colour.RED, Colour.NAN, Colour.BIG, Level.LOW, Name("n"), b"bytes",
                     uuid.UUID(int=7), datetime.datetime(2026, 11, 30, 7, 0, 1, 5),
                     Point(1.5, [math.inf]), {1, 2}, math.nan]),  # fmt: skip
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=5), inner, max_size=5),
        st.dictionaries(st.integers(), inner, max_size=2),  # keys that are not text
    ),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None)
@given(values)
def test_the_fast_path_writes_the_general_encoders_text(value: Any) -> None:
    assert script_json(value) == escaped(general_json(value))


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_finite_float_is_written_alike(number: float) -> None:
    assert script_json({"f": [number, -number]}) == escaped(general_json({"f": [number, -number]}))


def test_a_snapshot_is_written_as_its_text_and_bytes_as_user_data() -> None:
    kept = snapshot({"price": 2.5, "ids": ["B1", None], "note": "</script>"})
    assert type(kept) is bytes
    assert script_json({"input": Snapshot(kept)}) == (
        '{"input":{"price":2.5,"ids":["B1",null],"note":"\\u003c/script\\u003e"}}'
    )
    # bytes that are not a Snapshot are user data (a panel's), never placed as JSON text
    assert script_json({"data": b'{"x":1}', "n": math.nan}) == (
        escaped(general_json({"data": b'{"x":1}', "n": math.nan}))
    )
    assert '"x"' not in script_json({"data": b'{"x":1}'})


def test_non_finite_floats_and_unknown_objects_become_strings() -> None:
    written = script_json({"a": [math.nan, None, -math.inf], "e": Colour.NAN, "s": {3}})
    assert written == '{"a":["NaN",null,"-Infinity"],"e":"NaN","s":[3]}'


class _NoRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_an_object_whose_repr_raises_is_written_as_its_type_name() -> None:
    """Data a user gave (a panel's rows, a hook's metadata) never stops the report."""
    assert script_json({"odd": _NoRepr(), "n": 1}) == r'{"odd":"\u003c_NoRepr\u003e","n":1}'
