"""Record -> row conversion: the fast paths write what the general ones write (the same text
for times; for JSON the same data, compactly written by orjson when it is plain)."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from itertools import chain
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xray_core.store.rows import iso, step_row, step_values, to_json

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


# -- many steps' rows at once (rows.step_values, the writer thread's path for recorded steps) --

#: float times the fast path must round as datetime does: ties at the microsecond (k/128 of a
#: second is exact in binary and k * 7812.5 us a half), carries into the next second, times
#: below 8192 s (whose fraction times 1e6 is rounded twice), the last second of year 9999
TIMES = st.one_of(
    st.floats(min_value=0, max_value=253_402_300_799.999, allow_nan=False),
    st.builds(lambda s, k: s + k / 128, st.integers(0, 2**33), st.integers(0, 127)),
    st.builds(lambda s: s + 0.9999996, st.integers(1_700_000_000, 1_900_000_000)),
    st.sampled_from([0.0, 0.9999995, 1796002980.9999996, 253402300799.99]),
)
TEXTS = st.one_of(st.none(), st.text(max_size=12), st.just("lone \udc80"))
STEP_FIELDS = {
    "parent_id": st.one_of(st.none(), st.text(max_size=5)),
    "input": st.one_of(st.none(), st.binary(max_size=0).map(lambda _: b'{"q":1}'),
                       st.dictionaries(st.text(max_size=3), st.integers())),
    "output": st.one_of(st.none(), st.just(b'{"a":[1,2]}'), st.lists(st.integers(), max_size=3)),
    "reasoning": TEXTS,
    "metadata": st.one_of(st.none(), st.just({}), st.dictionaries(st.text(max_size=3), TEXTS)),
    "error": TEXTS,
    "end_time": st.one_of(st.none(), TIMES,
                          st.datetimes(timezones=st.one_of(st.none(), st.just(timezone.utc)))),
    "duration_ms": st.one_of(st.none(), st.floats(allow_nan=False)),
}  # fmt: skip


@st.composite
def step_records(draw: st.DrawFn) -> dict[str, Any]:
    """A step record as the recorder writes it, some optional keys left out."""
    record = {
        "step_id": draw(st.text(min_size=1, max_size=8)),
        "trace_id": draw(st.text(min_size=1, max_size=8)),
        "name": draw(st.text(max_size=10)),
        "step_order": draw(st.integers(0, 1000)),
        "status": draw(st.sampled_from(["completed", "error"])),
        "start_time": draw(TIMES),
    }
    for key, values in STEP_FIELDS.items():
        if draw(st.booleans()) or key in ("input", "output", "end_time"):
            record[key] = draw(values)
    return record


@given(st.lists(step_records(), max_size=8))
def test_many_steps_values_are_their_rows_values_row_after_row(records: list[dict[str, Any]]
                                                               ) -> None:  # fmt: skip
    expected = list(chain.from_iterable(map(step_row, records)))
    assert step_values(records) == expected


@given(st.lists(st.builds(lambda t: {"step_id": "s", "trace_id": "t", "name": "n",
                                     "step_order": 0, "status": "completed", "start_time": t,
                                     "end_time": t, "input": b"{}", "output": b"{}"}, TIMES),
                min_size=1, max_size=50))  # fmt: skip
def test_many_float_times_give_the_text_of_iso(records: list[dict[str, Any]]) -> None:
    values = step_values(records)
    assert values[11::15] == [iso(r["start_time"]) for r in records] == values[12::15]


def test_a_batch_with_a_record_step_row_refuses_raises_what_step_row_raises() -> None:
    good = {"step_id": "s", "trace_id": "t", "name": "n", "step_order": 0, "status": "ok",
            "start_time": 1.5}  # fmt: skip
    with pytest.raises(KeyError, match="status"):
        step_values([good, {k: v for k, v in good.items() if k != "status"}])
    with pytest.raises(TypeError):  # a name that is no text cannot be hashed
        step_values([good, dict(good, name=3)])


def test_records_of_a_dict_subclass_are_read_through_their_own_methods() -> None:
    class Defaults(dict):  # type: ignore[type-arg]
        def get(self, key: str, default: Any = None) -> Any:
            return super().get(key, "from get" if key == "reasoning" else default)

    record = Defaults(step_id="s", trace_id="t", name="n", step_order=0, status="ok",
                      start_time=1.5)  # fmt: skip
    assert step_values([record]) == list(step_row(record))
    assert step_values([record])[7] == "from get"
