"""Hypothesis over arbitrary traces: export never raises, every attribute is a valid OpenTelemetry
value that the OTLP encoder serializes, spans are deterministic, and what a capture reads back
(ids, times, JSON values, evaluations) is kept."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from xray_core.models import Evaluation, Step, Trace
from xray_core.otel import names as c
from xray_core.otel import export, trace_spans

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# any character, lone surrogates included (a str can hold them; UTF-8 cannot)
text = st.text(st.characters(blacklist_categories=()), max_size=12)
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=10,
)
filters = st.fixed_dictionaries(
    {"name": text, "passed": st.booleans(), "detail": st.none() | text}
)
evaluations = st.builds(
    lambda item_id, data, fs, qualified, reasoning: {
        "item_id": item_id, "item_data": data, "filters": fs, "qualified": qualified,
        "reasoning": reasoning,
    },
    text, st.dictionaries(text, json_values, max_size=2), st.lists(filters, max_size=3),
    st.booleans(), st.none() | text,
)  # fmt: skip
llm = st.dictionaries(
    st.sampled_from(["model", "tokens_used", "temperature", "prompt", "response", "messages",
                     "prompt_tokens", "completion_tokens", "max_tokens", "provider", "system",
                     "stop", "top_p", "other"]),
    json_values,
)  # fmt: skip
metadata = st.fixed_dictionaries(
    {},
    optional={
        "evaluations": st.lists(evaluations | json_values, max_size=3),
        "llm": llm | json_values,
        "error": text,
        "free": json_values,
    },
)
moments = st.datetimes(timezones=st.just(UTC))
statuses = st.sampled_from(["running", "completed", "failed"])


@st.composite
def traces(draw: st.DrawFn) -> Trace:
    trace_id = draw(text | st.text("0123456789abcdef", min_size=32, max_size=32))
    step_ids = draw(st.lists(text, max_size=4))
    steps = [
        Step(
            step_id=step_id,
            trace_id=trace_id,
            parent_id=draw(st.none() | st.sampled_from(step_ids) | text),
            name=draw(text),
            step_order=draw(st.integers()),
            input=draw(json_values),
            output=draw(json_values),
            reasoning=draw(st.none() | text),
            metadata=draw(metadata),
            status=draw(statuses),
            error=draw(st.none() | text),
            start_time=draw(moments),
            end_time=draw(st.none() | moments),
            duration_ms=draw(st.none() | st.floats()),
        )
        for step_id in step_ids
    ]
    return Trace(
        trace_id=trace_id,
        name=draw(text),
        status=draw(statuses),
        start_time=draw(moments),
        end_time=draw(st.none() | moments),
        duration_ms=draw(st.none() | st.floats()),
        metadata=draw(metadata),
        steps=steps,
        run_id=draw(st.none() | text),
        test_id=draw(st.none() | text),
    )


def valid_value(value: Any) -> bool:
    """An OpenTelemetry attribute value that OTLP carries: a scalar or a homogeneous tuple."""
    if isinstance(value, tuple):
        return len({type(v) for v in value}) <= 1 and all(valid_value(v) for v in value)
    if isinstance(value, str):
        value.encode("utf-8")  # raises on a lone surrogate
        return True
    if type(value) is int:
        return -(2**63) <= value < 2**63
    return type(value) in (bool, float)


def ns(moment: datetime) -> int:
    return min(max((moment - EPOCH) // timedelta(microseconds=1) * 1000, 0), 2**64 - 1)


def same_json(text_value: str, value: Any) -> bool:
    """``text_value`` is ``value`` as JSON (NaN compared as NaN)."""
    return json.dumps(json.loads(text_value)) == json.dumps(value)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traces())
def test_export_never_raises_and_every_attribute_is_valid(trace: Trace) -> None:
    exporter = InMemorySpanExporter()
    assert export(trace, exporter) is SpanExportResult.SUCCESS
    spans: list[ReadableSpan] = list(exporter.get_finished_spans())
    assert len(spans) == 1 + len(trace.steps)
    for span in spans:
        span.name.encode("utf-8")
        assert span.context.is_valid and span.context.trace_id == spans[0].context.trace_id
        assert 0 <= span.start_time <= 2**64 - 1 and 0 <= span.end_time <= 2**64 - 1
        for owner in (span, *span.events):
            assert all(isinstance(k, str) and valid_value(v) for k, v in owner.attributes.items())
    encode_spans(spans).SerializeToString()  # what the OTLP exporters send


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traces())
def test_what_a_capture_reads_back_is_kept(trace: Trace) -> None:
    spans = trace_spans(trace)
    assert [s.to_json() for s in spans] == [s.to_json() for s in trace_spans(trace)]
    root, step_spans = spans[0], spans[1:]
    assert root.start_time == ns(trace.start_time)
    assert same_json(root.attributes[c.TRACE_METADATA], trace.metadata)
    for step, span in zip(trace.steps, step_spans):
        attributes = span.attributes
        assert span.start_time == ns(step.start_time)
        assert span.end_time == ns(step.end_time if step.end_time else step.start_time)
        assert attributes.get(c.UNFINISHED, False) is (step.end_time is None)
        assert attributes[c.STATUS] == step.status
        if step.input is not None:
            assert same_json(attributes[c.INPUT_VALUE], step.input)
        if step.output is not None:
            assert same_json(attributes[c.OUTPUT_VALUE], step.output)
        duration = attributes.get(c.DURATION_MS)
        assert (duration is None) is (step.duration_ms is None)
        if duration is not None and step.duration_ms is not None:
            assert duration == step.duration_ms or math.isnan(duration)
        # the evaluations: in ``metadata`` as recorded, or in the events (and only there)
        kept = json.loads(attributes[c.STEP_METADATA])
        events = [e for e in span.events if e.name == c.EVALUATION_EVENT]
        if "evaluations" in kept or "evaluations" not in step.metadata:
            assert same_json(attributes[c.STEP_METADATA], step.metadata)
            assert events == []
        else:
            rebuilt = [
                Evaluation(
                    item_id=e.attributes[c.EVAL_ITEM_ID],
                    item_data=json.loads(e.attributes[c.EVAL_ITEM_DATA]),
                    filters=json.loads(e.attributes[c.EVAL_FILTERS]),
                    qualified=e.attributes[c.EVAL_QUALIFIED],
                    reasoning=e.attributes.get(c.EVAL_REASONING),
                ).model_dump()
                for e in events
            ]
            assert json.dumps({**kept, "evaluations": rebuilt}, sort_keys=True) == json.dumps(
                step.metadata, sort_keys=True
            ) or not _utf8(step.metadata)


def _utf8(value: Any) -> bool:
    """No lone surrogate anywhere in ``value`` (span text escapes them: not read back equal)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
