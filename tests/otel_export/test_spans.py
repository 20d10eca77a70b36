"""``xray_core.otel.export``: a recorded trace as OpenTelemetry spans, read back from the SDK's
InMemorySpanExporter — every field mapped, parent links, times, errors and evaluations."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import xray_core as xray
from xray_core.models import Trace
from xray_core.otel import names as c
from xray_core.otel import export, trace_spans

from .conftest import record_pipeline


def ns(moment: datetime | None) -> int:
    assert moment is not None
    return round((moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) / timedelta(microseconds=1)) * 1000


def exported(trace: Trace) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    assert export(trace, exporter) is SpanExportResult.SUCCESS
    return list(exporter.get_finished_spans())


def recorded(fail: bool = False) -> Trace:
    xr = xray.XRay()
    trace = xr.store.get_trace(record_pipeline(xr, fail=fail))
    assert trace is not None
    return trace


def by_name(spans: list[ReadableSpan]) -> dict[str, ReadableSpan]:
    return {span.name: span for span in spans}


def test_export_is_synchronous_and_sends_the_root_span_then_one_span_per_step() -> None:
    trace = recorded()
    spans = exported(trace)  # returned: the exporter already holds them
    assert [s.name for s in spans] == ["pipeline", "keywords", "tokenize", "filter"]
    assert len({s.context.span_id for s in spans}) == 4
    assert {s.context.trace_id for s in spans} == {int(trace.trace_id, 16)}
    assert all(s.kind is SpanKind.INTERNAL and s.context.trace_flags.sampled for s in spans)
    assert {s.instrumentation_scope.name for s in spans} == {"xray_core"}
    assert {s.resource.attributes["service.name"] for s in spans} == {"xray"}


def test_parent_links_follow_the_steps() -> None:
    spans = by_name(exported(recorded()))
    root = spans["pipeline"]
    assert root.parent is None
    assert spans["keywords"].parent.span_id == root.context.span_id
    assert spans["filter"].parent.span_id == root.context.span_id
    assert spans["tokenize"].parent.span_id == spans["keywords"].context.span_id
    assert spans["tokenize"].attributes[c.PARENT_ID] == spans["keywords"].attributes[c.STEP_ID]
    assert c.PARENT_ID not in spans["keywords"].attributes


def test_times_are_the_recorded_ones_to_the_nanosecond() -> None:
    trace = recorded()
    spans = by_name(exported(trace))
    assert (spans["pipeline"].start_time, spans["pipeline"].end_time) == (
        ns(trace.start_time), ns(trace.end_time)
    )
    for step in trace.steps:
        span = spans[step.name]
        assert (span.start_time, span.end_time) == (ns(step.start_time), ns(step.end_time))
        assert span.attributes[c.DURATION_MS] == step.duration_ms
        assert span.attributes[c.STEP_ORDER] == step.step_order
        assert c.UNFINISHED not in span.attributes


def test_trace_fields_on_the_root_span() -> None:
    trace = recorded().model_copy(update={"run_id": "run-1", "test_id": "tests/test_a.py::test_b"})
    root = exported(trace)[0]
    assert dict(root.attributes) == {
        c.SPAN_KIND: "CHAIN",
        c.TRACE_ID: trace.trace_id,
        c.STATUS: "completed",
        c.DURATION_MS: trace.duration_ms,
        c.TRACE_METADATA: '{"product_id": "P1"}',
        c.RUN_ID: "run-1",
        c.TEST_ID: "tests/test_a.py::test_b",
    }
    assert root.status.status_code is StatusCode.OK and root.events == ()


def test_input_output_and_reasoning_as_openinference_attributes() -> None:
    trace = recorded()
    spans = by_name(exported(trace))
    keywords, tokenize, filter_ = spans["keywords"], spans["tokenize"], spans["filter"]
    assert keywords.attributes[c.INPUT_VALUE] == '{"title": "Steel bottle"}'
    assert keywords.attributes[c.OUTPUT_VALUE] == '{"keywords": ["steel", "bottle"]}'
    assert keywords.attributes[c.INPUT_MIME_TYPE] == "application/json"
    assert keywords.attributes[c.OUTPUT_MIME_TYPE] == "application/json"
    assert keywords.attributes[c.REASONING] == "material and kind"
    assert json.loads(tokenize.attributes[c.INPUT_VALUE]) == "Steel bottle"  # text is JSON too
    # a step with no input, output or reasoning has none of those attributes
    assert not {c.INPUT_VALUE, c.OUTPUT_VALUE, c.INPUT_MIME_TYPE, c.REASONING} & set(
        filter_.attributes
    )
    step = trace.step("keywords")
    assert keywords.attributes[c.STEP_ID] == step.step_id
    assert keywords.attributes[c.TRACE_ID] == trace.trace_id
    assert keywords.attributes[c.STATUS] == "completed"
    assert keywords.status.status_code is StatusCode.OK


def test_llm_metadata_as_llm_and_gen_ai_attributes() -> None:
    spans = by_name(exported(recorded()))
    attributes = spans["keywords"].attributes
    assert attributes[c.SPAN_KIND] == "LLM"
    assert spans["filter"].attributes[c.SPAN_KIND] == "CHAIN"
    assert {k: v for k, v in attributes.items() if k.startswith(("llm.", "gen_ai."))} == {
        "llm.model_name": "mock-llm",
        "gen_ai.request.model": "mock-llm",
        "llm.token_count.total": 42,
        "llm.token_count.prompt": 30,
        "llm.token_count.completion": 12,
        "gen_ai.usage.input_tokens": 30,
        "gen_ai.usage.output_tokens": 12,
        "gen_ai.request.temperature": 0.2,
        "llm.invocation_parameters": '{"temperature": 0.2}',
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "Title: Steel bottle",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": "steel, bottle",
    }
    # the LLM metadata itself is kept whole in ``metadata`` (keys the attributes do not name too)
    assert json.loads(attributes[c.STEP_METADATA])["llm"]["tokens_used"] == 42


def test_each_evaluation_is_an_xray_evaluation_event() -> None:
    trace = recorded()
    span = by_name(exported(trace))["filter"]
    assert [e.name for e in span.events] == ["xray.evaluation", "xray.evaluation"]
    rejected, qualified = (dict(e.attributes) for e in span.events)
    assert rejected == {
        c.EVAL_ITEM_ID: "B0X",
        c.EVAL_QUALIFIED: False,
        c.EVAL_REASONING: "too cheap",
        c.EVAL_ITEM_DATA: '{"price": 9.5}',
        c.EVAL_FILTERS: json.dumps([
            {"name": "price", "passed": False, "detail": "9.50 < 12.50"},
            {"name": "rating", "passed": True, "detail": "4.5 > 3.8"},
        ]),
        c.EVAL_FAILED_FILTERS: ("price",),
        c.EVAL_PASSED_FILTERS: ("rating",),
    }
    assert qualified[c.EVAL_QUALIFIED] is True and c.EVAL_REASONING not in qualified
    assert json.loads(qualified[c.EVAL_FILTERS])[0]["detail"] is None
    assert all(e.timestamp == ns(trace.step("filter").start_time) for e in span.events)
    # the events hold the evaluations exactly: ``metadata`` leaves them out
    assert json.loads(span.attributes[c.STEP_METADATA]) == {}


def test_evaluations_written_by_hand_stay_in_metadata() -> None:
    xr = xray.XRay()
    with xr.trace("t") as t:
        with t.step("s") as step:
            step.add_evaluation(item_id="B1", qualified=True)
            step.set_metadata({"evaluations": [*step.record["metadata"]["evaluations"],
                                               {"note": "not an evaluation"}]})  # fmt: skip
    trace = xr.store.get_trace(t.trace_id)
    span = exported(trace)[1]
    assert json.loads(span.attributes[c.STEP_METADATA]) == trace.steps[0].metadata  # kept whole
    assert span.events == ()  # each evaluation in one place only


def test_a_failed_step_and_trace_record_status_and_exception() -> None:
    trace = recorded(fail=True)
    spans = by_name(exported(trace))
    rank, root = spans["rank"], spans["pipeline"]
    error = trace.step("rank").error
    assert error is not None and error.startswith("KeyError: 'no ranker'")
    assert rank.status.status_code is StatusCode.ERROR
    assert rank.status.description == "KeyError: 'no ranker'"
    assert rank.attributes[c.STATUS] == "failed"
    assert rank.attributes[c.ERROR] == error
    [event] = rank.events
    assert event.name == "exception" and dict(event.attributes) == {
        c.EXCEPTION_TYPE: "KeyError",
        c.EXCEPTION_MESSAGE: "'no ranker'",
        c.EXCEPTION_STACKTRACE: error,
    }
    assert root.status.status_code is StatusCode.ERROR
    assert root.attributes[c.STATUS] == "failed"
    assert [e.name for e in root.events] == ["exception"]
    assert json.loads(root.attributes[c.TRACE_METADATA])["error"] == trace.metadata["error"]
    assert spans["keywords"].status.status_code is StatusCode.OK


def test_an_unfinished_trace_and_step_end_when_they_start() -> None:
    xr = xray.XRay()
    with xr.trace("open") as t:
        with t.step("running") as step:
            trace = t.to_model()  # read while both run
    assert trace.status == "running" and trace.steps == []
    running = step.record.copy()
    trace = trace.model_copy(update={"end_time": None, "duration_ms": None})
    from xray_core.models import Step, utc_from_epoch

    open_step = Step.model_validate(
        {**running, "status": "running", "end_time": None, "duration_ms": None,
         "start_time": utc_from_epoch(running["start_time"])}
    )  # fmt: skip
    spans = exported(trace.model_copy(update={"steps": [open_step]}))
    for span in spans:
        assert span.end_time == span.start_time
        assert span.attributes[c.UNFINISHED] is True
        assert span.attributes[c.STATUS] == "running"
        assert span.status.status_code is StatusCode.UNSET
        assert c.DURATION_MS not in span.attributes


def test_spans_are_deterministic() -> None:
    trace = recorded()
    first, second = trace_spans(trace), trace_spans(trace)
    assert [s.to_json() for s in first] == [s.to_json() for s in second]


def test_a_trace_id_that_is_not_hex_still_gives_valid_ids() -> None:
    trace = recorded()
    renamed = trace.model_copy(update={"trace_id": "imported:run-7/a"})
    spans = exported(renamed)
    assert len({s.context.trace_id for s in spans}) == 1
    assert spans[0].context.trace_id not in (0, int(trace.trace_id, 16))
    assert spans[0].attributes[c.TRACE_ID] == "imported:run-7/a"
    assert all(s.context.is_valid for s in spans)


def test_a_parent_id_of_no_exported_step_hangs_under_the_root() -> None:
    trace = recorded()
    orphan = trace.steps[2].model_copy(update={"parent_id": "gone"})
    spans = exported(trace.model_copy(update={"steps": [trace.steps[0], orphan]}))
    assert spans[2].parent.span_id == spans[0].context.span_id
    assert spans[2].attributes[c.PARENT_ID] == "gone"


@pytest.mark.parametrize(
    "llm, expected",
    [
        ({"model": "m", "messages": [{"role": "system", "content": "be brief"},
                                     {"role": "user", "content": {"q": 1}}]},
         {"llm.input_messages.0.message.role": "system",
          "llm.input_messages.0.message.content": "be brief",
          "llm.input_messages.1.message.role": "user",
          "llm.input_messages.1.message.content": '{"q": 1}'}),
        ({"model": "m", "provider": "openai", "system": "openai", "max_tokens": 5, "top_p": 0.5},
         {"llm.provider": "openai", "llm.system": "openai", "gen_ai.system": "openai",
          "gen_ai.request.max_tokens": 5,
          "llm.invocation_parameters": '{"max_tokens": 5, "top_p": 0.5}'}),
        # not OpenTelemetry values (beyond 64 bits, a bool as a count): left out; parameters as given
        ({"model": "m", "tokens_used": 2**70, "temperature": "hot", "input_tokens": True},
         {"llm.invocation_parameters": '{"temperature": "hot"}'}),
    ],
)  # fmt: skip
def test_llm_metadata_variants(llm: dict[str, object], expected: dict[str, object]) -> None:
    trace = recorded()
    step = trace.steps[0].model_copy(update={"metadata": {"llm": llm}})
    attributes = exported(trace.model_copy(update={"steps": [step]}))[1].attributes
    found = {
        k: v for k, v in attributes.items()
        if k.startswith(("llm.", "gen_ai.")) and k not in ("llm.model_name", "gen_ai.request.model")
    }  # fmt: skip
    assert found == expected


@pytest.mark.parametrize("trace_id", ["0x" + "a" * 30, "A" * 32, " " + "a" * 31, "a_" + "b" * 30])
def test_only_32_lowercase_hex_digits_are_taken_as_the_span_trace_id(trace_id: str) -> None:
    from xray_core.otel.spans import otel_trace_id

    assert otel_trace_id(trace_id) != int(trace_id.replace("0x", "00").replace("_", "0"), 16)
    assert otel_trace_id("0" * 31 + "7") == 7 and otel_trace_id("0" * 32) != 0
