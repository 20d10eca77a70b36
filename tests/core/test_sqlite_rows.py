"""Record -> row conversion: the fast paths write what the general ones write (the same text
for times; for JSON the same data, compactly written by orjson when it is plain)."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xray_core.store.rows import iso, to_json

GENERAL = json.JSONEncoder(ensure_ascii=False, default=str).encode


@given(st.floats(min_value=0, max_value=253_402_300_799.999, allow_nan=False))
def test_epoch_floats_give_the_text_of_datetime_isoformat(seconds: float) -> None:
    expected = datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="microseconds")
    assert iso(seconds) == expected


@pytest.mark.parametrize("seconds", [0.0, 0.9999995, 1.0000005, 1796002980.9999996,
                                     1796002980.2184196, 86399.9999999, 253402300799.0])  # fmt: skip
def test_epoch_floats_round_like_datetime_at_the_edges(seconds: float) -> None:
    assert iso(seconds) == datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(
        timespec="microseconds"
    )


@given(st.datetimes(timezones=st.one_of(st.none(), st.timezones())))
def test_datetimes_become_utc_text_naive_ones_taken_as_utc(value: datetime) -> None:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    try:
        utc = aware.astimezone(timezone.utc)
    except OverflowError:
        return  # no UTC time for it: both paths refuse it
    assert iso(value) == utc.isoformat(timespec="microseconds")
    assert datetime.fromisoformat(iso(value) or "") == utc


def test_other_times_take_the_general_path() -> None:
    assert iso(None) is None
    assert iso(86400) == "1970-01-02T00:00:00.000000+00:00"  # an int
    assert iso(-1.5) == "1969-12-31T23:59:58.500000+00:00"
    with pytest.raises(ValueError):
        iso(math.nan)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def as_read(text: str | None) -> str:
    """The data a reader of ``text`` gets, written by the general encoder (NaN compares equal)."""
    assert text is not None
    return GENERAL(json.loads(text))


@given(json_values)
def test_json_holds_the_data_of_the_general_encoder(value: Any) -> None:
    for wrapped in ({"v": value}, [value]):
        assert as_read(to_json(wrapped)) == GENERAL(wrapped)
    if value is not None:  # None stays None: the column is NULL
        assert as_read(to_json(value)) == GENERAL(value)


def test_plain_data_is_written_compactly_and_non_finite_floats_by_the_general_encoder() -> None:
    assert to_json({"item": "é", "ok": [True, None, 2.5]}) == '{"item":"é","ok":[true,null,2.5]}'
    assert to_json({"x": math.nan, "y": [None, -math.inf]}) == '{"x": NaN, "y": [null, -Infinity]}'
    assert to_json({"big": 2**70}) == GENERAL({"big": 2**70})  # beyond 64 bits
    assert to_json({"s": "\udce9"}) == GENERAL({"s": "\udce9"})  # a lone surrogate


def test_json_of_what_json_has_no_type_for() -> None:
    assert to_json(None) is None
    assert to_json({}) == "{}"
    assert to_json({"d": Decimal("1.5"), 3: (1, 2)}) == '{"d": "1.5", "3": [1, 2]}'
    assert to_json({"at": datetime(2026, 1, 1) + timedelta(0)}) == '{"at": "2026-01-01 00:00:00"}'
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference"):
        to_json({"loop": cycle})  # the general path names the problem
