"""Reading baseline files never trusts them: any bytes are either a baseline or a named problem.

Property tests over arbitrary JSON and near-baseline shapes: :func:`parse` returns traces the
comparison engine handles, or raises :class:`BaselineFileError`; nothing else escapes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_xray.baseline import BaselineFileError, NewerFormatError, compare, describe, dumps
from pytest_xray.baseline.files import parse

SHOWN = "__xray_baselines__/test_a.test_x.json"

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)


def baseline_documents(noise: bool) -> st.SearchStrategy[Any]:
    """Baseline-shaped documents; with ``noise``, any field may hold any JSON value instead."""

    def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(*[value] * 4, json_values) if noise else value

    def text(size: int) -> st.SearchStrategy[Any]:
        return maybe(st.none() | st.text(max_size=size))

    filters = st.dictionaries(
        st.sampled_from(["price", "rating"]),
        maybe(st.fixed_dictionaries({}, optional={"passed": maybe(st.booleans()),
                                                  "detail": text(5)})),
        max_size=2,
    )  # fmt: skip
    evaluations = st.dictionaries(
        st.sampled_from(["B0", "B1", "B2"]),
        maybe(st.fixed_dictionaries({}, optional={"qualified": maybe(st.booleans()),
                                                  "filters": maybe(filters),
                                                  "reasoning": text(4), "item_data": json_values})),
        max_size=3,
    )  # fmt: skip
    steps = st.fixed_dictionaries(
        {"key": maybe(st.sampled_from(["a", "b", "a/c", "a#2"]))},
        optional={"status": maybe(st.sampled_from(["completed", "failed"])),
                  "evaluations": maybe(evaluations), "input": json_values, "output": json_values,
                  "metadata": maybe(st.dictionaries(st.text(max_size=3), json_values, max_size=2)),
                  "llm": maybe(st.none() | st.fixed_dictionaries({"model": st.text(max_size=3)})),
                  "reasoning": text(4), "error": text(4)},
    )  # fmt: skip
    traces = st.fixed_dictionaries(
        {"steps": maybe(st.lists(maybe(steps), max_size=3))},
        optional={"name": maybe(st.sampled_from(["selection", "ranking"])),
                  "status": maybe(st.sampled_from(["completed", "failed"])),
                  "metadata": maybe(st.dictionaries(st.text(max_size=3), json_values, max_size=2))},
    )  # fmt: skip
    return st.fixed_dictionaries(
        {"format": maybe(st.just(1)), "traces": maybe(st.lists(maybe(traces), max_size=3))}
    )


documents = st.one_of(json_values, baseline_documents(noise=True), baseline_documents(noise=False))


@settings(max_examples=300, deadline=None)
@given(documents, documents)
def test_any_json_is_a_baseline_or_a_named_problem(document: Any, other: Any) -> None:
    raw = json.dumps(document).encode()
    try:
        stored = parse(raw, SHOWN)
    except BaselineFileError as exc:
        assert str(exc).startswith(f"baseline {SHOWN} ")
        return
    assert not compare(stored, stored, []), "a baseline equals itself"
    try:
        current = parse(json.dumps(other).encode(), SHOWN)
    except BaselineFileError:
        return
    describe(compare(stored, current, ["*.detail"]))  # any two baselines compare, in words


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=60))
def test_any_bytes_are_a_baseline_or_a_named_problem(raw: bytes) -> None:
    try:
        parse(raw, SHOWN)
    except BaselineFileError as exc:
        assert SHOWN in str(exc)


@given(st.integers(min_value=2, max_value=10**30))
def test_every_newer_format_is_refused_with_its_number(number: int) -> None:
    with pytest.raises(NewerFormatError, match=f"has format {number}, newer than"):
        parse(json.dumps({"format": number, "traces": []}).encode(), SHOWN)


def test_what_dumps_writes_parses_back() -> None:
    traces = [{"name": "selection", "status": "completed", "metadata": {}, "steps": [
        {"key": "filter", "status": "completed", "evaluations": {
            "B0": {"qualified": False, "filters": {"price": {"passed": False, "detail": "low"}},
                   "reasoning": None, "item_data": {"price": 5}}}}]}]  # fmt: skip
    assert parse(dumps(traces).encode(), SHOWN) == traces
