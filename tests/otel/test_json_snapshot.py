"""A JSON input/output kept as its text (``json_snapshot``, or ``lazy_json`` unchecked until
read) reads back as the data parsing it gives (``parse_json``): the same for any JSON, and text
that is not JSON stays text."""

from __future__ import annotations

import json
import pickle
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xray_core.otel.mapping import json_snapshot, lazy_json, parse_json
from xray_core.serialize import is_json_text, thaw, thawed, thawed_step
from xray_core.store.rows import to_json

_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text()
    | st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, 1e308, -0.0, "\udce9", "é"])
)  # fmt: skip
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) and type(a) is type(b)


@given(_json, st.sampled_from([None, 2]), st.sampled_from(["", " ", "\n"]))
def test_a_json_text_reads_back_as_parsing_it_gives(data: Any, indent: int | None, pad: str) -> None:
    value = pad + json.dumps(data, indent=indent) + pad  # NaN and infinities as json writes them
    kept = json_snapshot(value)
    assert _same(thaw(kept), parse_json(value))


@given(st.text())
def test_any_text_reads_back_as_parsing_it_gives(value: str) -> None:
    assert _same(thaw(json_snapshot(value)), parse_json(value))


def test_what_orjson_reads_otherwise_goes_the_parsing_way() -> None:
    assert json_snapshot('{"n": 123456789012345678901234567890}') == {
        "n": 123456789012345678901234567890
    }
    assert json_snapshot("[NaN, 1e999]") == ["NaN", "Infinity"]
    assert json_snapshot('"\\udce9"') == "\\udce9"
    assert json_snapshot("not json {") == "not json {"
    assert json_snapshot("null") is None
    assert json_snapshot('{"a": [1, 2.5]}') == b'{"a": [1, 2.5]}'


# -- lazy_json: what step_record keeps (the text, checked when read) reads back the same --


@given(_json, st.sampled_from([None, 2]), st.sampled_from(["", " ", "\n"]))
def test_a_json_text_kept_unchecked_reads_back_as_parsing_it_gives(
    data: Any, indent: int | None, pad: str
) -> None:
    value = pad + json.dumps(data, indent=indent) + pad
    kept = lazy_json(value)
    assert _same(thaw(kept), parse_json(value))
    step = {"input": kept, "output": kept, "name": "n"}
    sent = json.loads(json.dumps(thawed_step(step), default=thawed))  # as an xdist worker sends
    assert _same(sent["input"], parse_json(value)) and _same(sent["output"], parse_json(value))
    assert step["input"] is kept  # the record itself is not changed


@given(st.text())
def test_any_text_kept_unchecked_reads_back_as_parsing_it_gives(value: str) -> None:
    assert _same(thaw(lazy_json(value)), parse_json(value))


def test_text_kept_unchecked_is_checked_when_read_never_before() -> None:
    kept = lazy_json("not json {")
    assert is_json_text(kept) and kept[0] == "not json {"  # nothing checked yet
    assert thaw(kept) == "not json {"  # read: not JSON, so the text it is, as before
    assert thaw(lazy_json("[NaN, 1e999]")) == ["NaN", "Infinity"]
    assert thaw(lazy_json('{"n": 123456789012345678901234567890}')) == {
        "n": 123456789012345678901234567890
    }
    assert lazy_json("null") is None
    assert thaw(lazy_json('"\ud800"')) == "\\ud800"  # not UTF-8: converted when read
    assert lazy_json(3) == 3


def test_text_kept_unchecked_is_never_taken_for_data_nor_data_for_it() -> None:
    """A tuple of the user's (a model built by hand: nothing the recorder keeps is a tuple)
    is data, and an encoder refuses the text kept unchecked rather than write it unread."""
    assert thaw(("[1]", "not a reader")) == ("[1]", "not a reader")
    assert thaw(("[1]",)) == ("[1]",) and not is_json_text(["[1]", lazy_json("[1]")[1]])
    assert thawed_step({"input": ("a", "b"), "output": None}) == {"input": ("a", "b"), "output": None}
    with pytest.raises(TypeError, match="SpanJSON is not JSON serializable"):
        json.dumps({"input": lazy_json("[1]")}, default=thawed)
    with pytest.raises(TypeError):
        orjson.dumps({"input": lazy_json("[1]")})


def test_text_kept_unchecked_survives_pickling() -> None:
    kept = lazy_json('{"a": [1, 2.5]}')
    again = pickle.loads(pickle.dumps(kept))
    assert is_json_text(again) and again[1] is kept[1] and thaw(again) == {"a": [1, 2.5]}


def test_a_store_writes_text_kept_unchecked_as_checked_json() -> None:
    """The SQLite rows hold valid JSON of what the text reads as, never the text unchecked."""
    for value in ('{"a": [1, 2.5]}', "not json {", "[NaN]", " null "):
        written = to_json(lazy_json(value))
        assert written is None if value == " null " else json.loads(written) == parse_json(value)


def test_captured_json_reads_back_the_same_from_sqlite_and_memory(tmp_path: Any) -> None:
    """End to end: spans with JSON values (and text that is not JSON, NaN, a big integer)
    captured into SQLite (checked on its writer thread) and memory read back alike."""
    from opentelemetry.sdk.trace import TracerProvider

    import xray_core
    from xray_core.otel import XRaySpanProcessor
    from xray_core.otel import names as n

    values = ['{"a": [1, 2.5]}', "not json {", "[NaN]", '{"n": 123456789012345678901234567890}']
    traces = []
    for store in (xray_core.SQLiteStore(tmp_path / "x.db", strict=True), xray_core.MemoryStore()):
        provider = TracerProvider()
        provider.add_span_processor(XRaySpanProcessor(xray_core.XRay(store=store)))
        tracer = provider.get_tracer("t")
        with tracer.start_as_current_span("pipeline"):
            for value in values:
                with tracer.start_as_current_span("step") as span:
                    span.set_attribute(n.INPUT_VALUE, value)
                    span.set_attribute(n.INPUT_MIME_TYPE, n.JSON_MIME_TYPE)
        provider.shutdown()
        store.flush()
        [trace] = store.list_traces()
        traces.append(trace)
        store.close()
    with xray_core.SQLiteStore(tmp_path / "x.db", read_only=True) as reader:
        [again] = reader.list_traces()
    for trace in (*traces, again):
        assert [s.input for s in trace.steps[1:]] == [parse_json(v) for v in values]
