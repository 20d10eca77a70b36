"""Spans made by the real OpenTelemetry SDK become X-Ray traces (no pytest plugin involved)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry import trace as otel_trace
from opentelemetry.trace import Status, StatusCode

import xray_core
from xray_core.otel import XRaySpanProcessor, records_from_spans, traces_from_spans
from xray_core.otel import names as n


class Rig:
    """A provider whose spans go to an X-Ray MemoryStore and to an in-memory exporter."""

    def __init__(self) -> None:
        self.store = xray_core.MemoryStore()
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(XRaySpanProcessor(xray_core.XRay(store=self.store)))
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("tests")

    def trace(self) -> xray_core.Trace:
        [found] = self.store.list_traces()
        return found


@pytest.fixture
def rig() -> Iterator[Rig]:
    made = Rig()
    yield made
    made.provider.shutdown()


def selection(rig: Rig) -> None:
    """A manually instrumented pipeline: a root, a search, a filter with evaluations, an LLM."""
    tracer = rig.tracer
    with tracer.start_as_current_span(
        "competitor-selection", attributes={n.INPUT_VALUE: "steel mug"}
    ) as root:
        with tracer.start_as_current_span("keyword_generation") as span:
            span.set_attributes({
                n.SPAN_KIND: "LLM", n.LLM_MODEL_NAME: "mock-llm",
                n.LLM_TOKEN_COUNT_PROMPT: 30, n.LLM_TOKEN_COUNT_COMPLETION: 12,
                n.LLM_INVOCATION_PARAMETERS: json.dumps({"temperature": 0.2, "max_tokens": 64}),
                "llm.input_messages.0.message.role": "user",
                "llm.input_messages.0.message.content": "keywords for: steel mug",
                "llm.output_messages.0.message.role": "assistant",
                "llm.output_messages.0.message.content": "mug, steel",
                n.OUTPUT_VALUE: json.dumps({"keywords": ["mug", "steel"]}),
                n.OUTPUT_MIME_TYPE: n.JSON_MIME_TYPE,
            })  # fmt: skip
        with tracer.start_as_current_span("filter_and_select") as span:
            span.set_attribute(n.INPUT_VALUE, json.dumps({"prices": [9.5, 20.0]}))
            span.set_attribute(n.INPUT_MIME_TYPE, n.JSON_MIME_TYPE)
            span.add_event(n.EVALUATION_EVENT, {
                n.EVAL_ITEM_ID: "B0CHEAP", n.EVAL_QUALIFIED: False,
                n.EVAL_ITEM_DATA: json.dumps({"price": 9.5}),
                "xray.filter.price.passed": False, "xray.filter.price.detail": "9.50 < 12.50",
                "xray.filter.rating.passed": True, "xray.filter.rating.detail": "4.5 > 3.8",
                n.EVAL_REASONING: "too cheap",
            })  # fmt: skip
            span.add_event(n.EVALUATION_EVENT, {
                n.EVAL_ITEM_ID: "B0GOOD",
                n.EVAL_FILTERS: json.dumps([{"name": "price", "passed": True, "detail": "ok"}]),
            })  # fmt: skip
            with tracer.start_as_current_span("rank") as rank:
                rank.set_attribute(n.REASONING, "most reviews first")
            span.set_attribute(n.OUTPUT_VALUE, json.dumps({"selected": "B0GOOD"}))
            span.set_attribute(n.OUTPUT_MIME_TYPE, n.JSON_MIME_TYPE)
        root.set_attribute("product_id", "P1")


def test_a_root_span_is_a_trace_and_every_span_a_nested_step(rig: Rig) -> None:
    selection(rig)
    trace = rig.trace()
    [root_span] = [s for s in rig.exporter.get_finished_spans() if s.parent is None]
    assert trace.trace_id == f"{root_span.context.trace_id:032x}"
    assert trace.name == "competitor-selection" and trace.status == "completed"
    names = [s.name for s in sorted(trace.steps, key=lambda s: s.step_order)]
    assert names == ["competitor-selection", "keyword_generation", "filter_and_select", "rank"]
    by_name = {s.name: s for s in trace.steps}
    assert by_name["competitor-selection"].parent_id is None
    assert by_name["keyword_generation"].parent_id == by_name["competitor-selection"].step_id
    assert by_name["rank"].parent_id == by_name["filter_and_select"].step_id
    assert by_name["rank"].reasoning == "most reviews first"
    assert by_name["competitor-selection"].input == "steel mug"  # no mime type: text
    assert by_name["competitor-selection"].metadata == {"attributes": {"product_id": "P1"}}
    assert by_name["filter_and_select"].input == {"prices": [9.5, 20.0]}
    assert by_name["filter_and_select"].output == {"selected": "B0GOOD"}
    for step in trace.steps:  # timing from the spans, inside the trace's
        assert trace.start_time <= step.start_time <= step.end_time <= trace.end_time
        assert step.duration_ms == pytest.approx(
            (step.end_time - step.start_time).total_seconds() * 1000, abs=0.01
        )


def test_llm_attributes_become_the_steps_llm_metadata(rig: Rig) -> None:
    selection(rig)
    step = rig.trace().step("keyword_generation")
    assert step.llm == {
        "model": "mock-llm", "tokens_used": 42, "temperature": 0.2,
        "prompt_tokens": 30, "completion_tokens": 12,
        "invocation_parameters": {"temperature": 0.2, "max_tokens": 64},
        "input_messages": [{"role": "user", "content": "keywords for: steel mug"}],
        "output_messages": [{"role": "assistant", "content": "mug, steel"}],
    }  # fmt: skip
    assert step.metadata["span_kind"] == "LLM"
    assert step.output == {"keywords": ["mug", "steel"]}


def test_gen_ai_attributes_are_read_too(rig: Rig) -> None:
    with rig.tracer.start_as_current_span("chat") as span:
        span.set_attributes({
            n.GEN_AI_SYSTEM: "openai", n.GEN_AI_REQUEST_MODEL: "gpt-4o",
            n.GEN_AI_RESPONSE_MODEL: "gpt-4o-2024-08-06", n.GEN_AI_REQUEST_TEMPERATURE: 0.7,
            n.GEN_AI_USAGE_INPUT_TOKENS: 11, n.GEN_AI_USAGE_OUTPUT_TOKENS: 4,
            "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "hi",
            "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "hello",
            "gen_ai.operation.name": "chat",
        })  # fmt: skip
    assert rig.trace().step("chat").llm == {
        "model": "gpt-4o-2024-08-06", "tokens_used": 15, "temperature": 0.7,
        "prompt_tokens": 11, "completion_tokens": 4, "provider": "openai",
        "input_messages": [{"role": "user", "content": "hi"}],
        "output_messages": [{"role": "assistant", "content": "hello"}],
        "attributes": {"gen_ai.operation.name": "chat"},
    }  # fmt: skip


def test_evaluation_events_are_decisions(rig: Rig) -> None:
    selection(rig)
    trace = rig.trace()
    cheap = trace.decision("B0CHEAP")
    assert cheap.step == "filter_and_select" and not cheap.qualified
    assert [f.name for f in cheap.failed_filters] == ["price"]
    assert cheap.failed_filters[0].detail == "9.50 < 12.50"
    assert [f.name for f in cheap.passed_filters] == ["rating"]
    assert cheap.reasoning == "too cheap" and cheap.item_data == {"price": 9.5}
    good = trace.decision("B0GOOD")  # no xray.qualified: qualified as every filter passed
    assert good.qualified and [f.name for f in good.passed_filters] == ["price"]
    assert [d.item_id for d in trace.rejected()] == ["B0CHEAP"]


def test_an_exception_fails_the_step_and_the_trace(rig: Rig) -> None:
    class PricingError(Exception):
        pass

    with pytest.raises(PricingError):
        with rig.tracer.start_as_current_span("pipeline"):
            with rig.tracer.start_as_current_span("price"):
                raise PricingError("no price for B0X")
    trace = rig.trace()
    assert trace.status == "failed"
    step = trace.step("price")
    assert step.status == "failed"
    assert step.error is not None
    assert step.error.splitlines()[0] == "PricingError: no price for B0X"  # module dropped
    assert "Traceback (most recent call last)" in step.error
    assert trace.metadata["error"].startswith("PricingError: no price for B0X")


def test_an_error_status_without_exception_fails_the_step_with_its_description(rig: Rig) -> None:
    with rig.tracer.start_as_current_span("pipeline"):
        with rig.tracer.start_as_current_span("check") as span:
            span.set_status(Status(StatusCode.ERROR, "quota exceeded"))
        with rig.tracer.start_as_current_span("fine") as span:
            span.set_status(Status(StatusCode.OK))
    trace = rig.trace()
    assert (trace.step("check").status, trace.step("check").error) == (
        "failed", "Error: quota exceeded"
    )
    assert trace.step("fine").status == "completed" and trace.status == "failed"


def test_steps_are_ordered_by_start_time_across_threads(rig: Rig) -> None:
    import threading

    from opentelemetry import context as otel_context

    with rig.tracer.start_as_current_span("pipeline"):
        ctx = otel_context.get_current()
        first = rig.tracer.start_span("first")  # started first, ended last
        done = threading.Event()

        def worker() -> None:
            token = otel_context.attach(ctx)
            with rig.tracer.start_as_current_span("in-thread"):
                pass
            otel_context.detach(token)
            done.set()

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        first.end()
    steps = sorted(rig.trace().steps, key=lambda s: s.step_order)
    assert [s.name for s in steps] == ["pipeline", "first", "in-thread"]
    assert steps[2].parent_id == steps[0].step_id


def test_each_root_is_its_own_trace_and_spans_outside_are_kept_apart(rig: Rig) -> None:
    for name in ("first", "second"):
        with rig.tracer.start_as_current_span(name):
            with rig.tracer.start_as_current_span("child"):
                pass
    traces = rig.store.list_traces()
    assert [(t.name, [s.name for s in t.steps]) for t in traces] == [
        ("first", ["first", "child"]), ("second", ["second", "child"]),
    ]  # fmt: skip
    assert len({t.trace_id for t in traces}) == 2


def test_traces_from_spans_gives_the_same_traces_as_the_processor(rig: Rig) -> None:
    selection(rig)
    [again] = traces_from_spans(rig.exporter.get_finished_spans())
    assert not xray_core.diff_traces(rig.trace(), again, include_llm=True, include_reasoning=True)
    volatile = {"run_id", "test_id"}  # set by the observer (this pytest session) only
    assert again.model_dump(exclude=volatile) == rig.trace().model_dump(exclude=volatile)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    starts=st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=8),
    nested=st.booleans(),
    left_open=st.booleans(),
)
def test_steps_follow_start_time_then_depth_then_end_order_whatever_times_spans_are_given(
    starts: list[int], nested: bool, left_open: bool
) -> None:
    """Explicit start times (ties, out of order): steps by start time; spans starting at the
    same time, a parent before its children (shallower first), then by the order the spans
    ended (spans are followed as they end: the order they started in is not kept; before
    session 12 it broke the ties); a span still open when the root ends is not part of the
    trace."""
    from opentelemetry import trace as otel_trace

    rig = Rig()
    root = rig.tracer.start_span("root", start_time=3)
    parent = root
    children = []
    for index, start in enumerate(starts):
        context = otel_trace.set_span_in_context(parent)
        children.append(rig.tracer.start_span(f"c{index}", context=context, start_time=start))
        if nested:
            parent = children[-1]
    kept = children[:-1] if left_open else children
    for span in reversed(kept):
        span.end(end_time=10)
    root.end(end_time=10)
    if left_open:
        children[-1].end(end_time=11)  # after its trace's root: left out
    steps = sorted(rig.trace().steps, key=lambda s: s.step_order)
    # (start, depth, end order): the kept children end last to first, then the root
    expected = sorted([
        (3, 0, len(kept), "root"),
        *((t, i + 1 if nested else 1, len(kept) - 1 - i, f"c{i}") for i, t in enumerate(starts)),
    ])  # fmt: skip
    kept_names = {"root", *(f"c{i}" for i in range(len(kept)))}
    assert [s.name for s in steps] == [name for *_, name in expected if name in kept_names]
    by_name = {s.name: s for s in steps}
    for index in range(len(kept)):
        above = f"c{index - 1}" if nested and index else "root"
        assert by_name[f"c{index}"].parent_id == by_name[above].step_id
    rig.provider.shutdown()


def test_a_step_names_its_parents_step_however_deep_and_late_it_starts(rig: Rig) -> None:
    """Children of the root, then a deeper span, then more of both (the captured steps find
    a parent that is not the root by its span, from the first such span on)."""
    tracer = rig.tracer
    with tracer.start_as_current_span("root"):
        with tracer.start_as_current_span("a") as a:
            pass
        with tracer.start_as_current_span("b"):
            with tracer.start_as_current_span("c"):
                with tracer.start_as_current_span("e"):
                    pass
        with tracer.start_as_current_span("d"):
            pass
        late = tracer.start_span("f", context=otel_trace.set_span_in_context(a))
        late.end()  # a's child, started after a ended: still a's, within the trace
    steps = sorted(rig.trace().steps, key=lambda s: s.step_order)
    assert [s.name for s in steps] == ["root", "a", "b", "c", "e", "d", "f"]
    by_name = {s.name: s for s in steps}
    parents = {s.name: s.parent_id for s in steps}
    assert parents == {
        "root": None, "a": by_name["root"].step_id, "b": by_name["root"].step_id,
        "c": by_name["b"].step_id, "e": by_name["c"].step_id, "d": by_name["root"].step_id,
        "f": by_name["a"].step_id,
    }  # fmt: skip


def test_a_span_holding_none_or_unknown_attributes_keeps_the_unknown_ones() -> None:
    """Spans of another SDK (or hand-made ReadableSpans) may hold None values, which the
    SDK's spans drop: a None input, output or reasoning is no value, any other attribute
    (None or not) is kept under the metadata's attributes."""
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import SpanContext

    context = SpanContext(trace_id=7, span_id=9, is_remote=False)
    cases = [
        ({n.INPUT_VALUE: "x", n.OUTPUT_VALUE: None}, "x", None, {}),
        ({n.INPUT_VALUE: "x", "extra": None}, "x", None, {"attributes": {"extra": None}}),
        ({n.INPUT_VALUE: None, n.REASONING: "r", "k": 1}, None, "r", {"attributes": {"k": 1}}),
        ({n.OUTPUT_VALUE: "y", n.OUTPUT_MIME_TYPE: "text/plain"}, None, None, {}),
    ]
    for attributes, step_input, reasoning, metadata in cases:
        span = ReadableSpan(
            name="s", context=context, attributes=attributes, start_time=1, end_time=2
        )  # fmt: skip
        [(_, [step])] = records_from_spans([span])
        read = (step["input"], step["reasoning"], step["metadata"])
        assert read == (step_input, reasoning, metadata), attributes


class _StepsByOne:
    """A store of the recorder's duck type (no Store subclass): no save_steps of its own."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def start_trace(self, record: dict[str, Any]) -> None:
        self.calls.append(("start_trace", record["name"]))

    def save_step(self, record: dict[str, Any]) -> None:
        self.calls.append(("save_step", record["name"]))

    def end_trace(self, record: dict[str, Any]) -> None:
        self.calls.append(("end_trace", record["name"]))


class _CountingMemoryStore(xray_core.MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def save_steps(self, records: Any) -> None:
        records = list(records)
        self.batches.append(len(records))
        super().save_steps(records)


def test_a_trace_is_stored_in_one_save_steps_call_or_step_by_step() -> None:
    counting = _CountingMemoryStore()
    by_one = _StepsByOne()
    for store in (counting, by_one):
        provider = TracerProvider()
        provider.add_span_processor(XRaySpanProcessor(xray_core.XRay(store=store)))  # type: ignore[arg-type]
        with provider.get_tracer("t").start_as_current_span("pipeline"):
            for name in ("a", "b"):
                with provider.get_tracer("t").start_as_current_span(name):
                    pass
        provider.shutdown()
    assert counting.batches == [3]
    assert [s.name for s in counting.list_traces()[0].steps] == ["pipeline", "a", "b"]
    assert by_one.calls == [
        ("start_trace", "pipeline"), ("save_step", "pipeline"), ("save_step", "a"),
        ("save_step", "b"), ("end_trace", "pipeline"),
    ]  # fmt: skip


class _OwnSaveStep(xray_core.MemoryStore):
    """A store of one's own overriding save_step alone (as docs/sdk.md shows)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def save_step(self, record: dict[str, Any]) -> None:
        self.seen.append(record["name"])
        super().save_step(record)


def test_a_stores_own_save_step_still_sees_every_captured_step() -> None:
    store = _OwnSaveStep()
    provider = TracerProvider()
    provider.add_span_processor(XRaySpanProcessor(xray_core.XRay(store=store)))
    with provider.get_tracer("t").start_as_current_span("pipeline"):
        with provider.get_tracer("t").start_as_current_span("a"):
            pass
    provider.shutdown()
    assert store.seen == ["pipeline", "a"]
    assert [s.name for s in store.list_traces()[0].steps] == ["pipeline", "a"]


def test_a_store_saves_several_steps_as_it_saves_each() -> None:
    """Store.save_steps (the default: save_step for each) and MemoryStore's keep the same."""
    from xray_core.store.base import Store

    records = []
    with xray_core.XRay(store=xray_core.MemoryStore()).trace("t") as trace:
        for name in ("a", "b"):
            with trace.step(name, input={"n": 1}) as step:
                step.set_output([name])
    records = [dict(r) for r in trace.steps]
    for save_steps in (Store.save_steps, xray_core.MemoryStore.save_steps):
        store = xray_core.MemoryStore()
        store.start_trace(dict(trace.record))
        save_steps(store, records)
        store.save_steps([{**records[0], "trace_id": "elsewhere"}])  # no such trace: dropped
        store.end_trace(dict(trace.record))
        assert store.get_trace(trace.trace_id) == trace.to_model()


def test_a_disabled_recorder_captures_nothing() -> None:
    store = xray_core.MemoryStore()
    provider = TracerProvider()
    provider.add_span_processor(XRaySpanProcessor(xray_core.XRay(store=store, enabled=False)))
    with provider.get_tracer("t").start_as_current_span("pipeline"):
        pass
    assert store.list_traces() == []


def test_observed_only_captures_nothing_without_an_observer() -> None:
    """Outside pytest (a new interpreter: no observer), the plugin's processor keeps nothing."""
    code = """
import xray_core
from opentelemetry.sdk.trace import TracerProvider
from xray_core.otel import XRaySpanProcessor

store = xray_core.MemoryStore()
xray_core.configure(store=store)
provider = TracerProvider()
provider.add_span_processor(XRaySpanProcessor(observed_only=True))
with provider.get_tracer("t").start_as_current_span("pipeline"):
    pass
provider.add_span_processor(XRaySpanProcessor())
with provider.get_tracer("t").start_as_current_span("recorded"):
    pass
print([t.name for t in store.list_traces()])
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["['recorded']"]


# -- malformed spans: steps with what can be read, never an error -------------------------------
KEYS = [
    n.INPUT_VALUE, n.INPUT_MIME_TYPE, n.OUTPUT_VALUE, n.OUTPUT_MIME_TYPE, n.SPAN_KIND, n.METADATA,
    n.REASONING, n.STEP_METADATA, n.TRACE_METADATA, n.LLM_MODEL_NAME, n.LLM_TOKEN_COUNT_PROMPT,
    n.LLM_TOKEN_COUNT_COMPLETION, n.LLM_TOKEN_COUNT_TOTAL, n.LLM_INVOCATION_PARAMETERS,
    n.GEN_AI_REQUEST_TEMPERATURE, n.GEN_AI_USAGE_INPUT_TOKENS, n.LLM_PROMPTS,
    "llm.input_messages.0.message.content", "llm.input_messages.x.message.role",
    "llm.output_messages.", "gen_ai.prompt.1", "gen_ai.completion.0.content", "llm.", "gen_ai.",
    n.EVAL_ITEM_ID, n.EVAL_QUALIFIED, n.EVAL_FILTERS, n.EVAL_ITEM_DATA, "xray.filter.price.passed",
    "xray.filter..detail", "xray.filter.", n.EXCEPTION_TYPE, n.EXCEPTION_MESSAGE,
    n.EXCEPTION_STACKTRACE, n.TRACE_ID, n.STEP_ID, n.PARENT_ID, n.STEP_ORDER, n.STATUS,
    n.DURATION_MS, n.UNFINISHED, n.ERROR, n.RUN_ID, n.TEST_ID,
]  # fmt: skip
JSONISH = st.sampled_from(
    ['{"a": 1}', "[1, 2", "null", "NaN", '{"x": NaN}', "[]", '"s"', "\ud800", '{"evaluations": 3}',
     '[{"name": 1}]', '{"llm": []}', "1e999", '{"a": {"b": [1, {"c": null}]}}']
)  # fmt: skip
SCALAR = st.one_of(
    st.text(max_size=30), JSONISH, st.booleans(), st.integers(), st.floats(allow_nan=True),
)
VALUE = st.one_of(SCALAR, st.lists(st.text(max_size=5), max_size=3),
                  st.lists(st.integers(), max_size=3), st.lists(st.booleans(), max_size=3))
ATTRS = st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=20)), VALUE, max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    root=ATTRS,
    child=ATTRS,
    events=st.lists(
        st.tuples(st.sampled_from([n.EVALUATION_EVENT, n.EXCEPTION_EVENT, "other"]), ATTRS),
        max_size=4,
    ),
    error=st.booleans(),
    name=st.text(max_size=30),
)
# ids written verbatim by export, holding a lone surrogate, are escaped like any other text
@example(root={}, child={n.STEP_ID: "\ud800", n.ERROR: "\udcff"}, events=[], error=False, name="")
@example(root={n.TRACE_ID: "\ud800"}, child={}, events=[], error=False, name="")
def test_arbitrary_attributes_never_raise_and_give_a_readable_trace(
    root: dict[str, Any],
    child: dict[str, Any],
    events: list[tuple[str, dict[str, Any]]],
    error: bool,
    name: str,
) -> None:
    rig = Rig()
    with rig.tracer.start_as_current_span(name, attributes=root):
        with rig.tracer.start_as_current_span("child", attributes=child) as span:
            for event, attributes in events:
                span.add_event(event, attributes)
            if error:
                span.set_status(Status(StatusCode.ERROR, name))
    trace = rig.trace()  # the models validate: every value is JSON-able and well typed
    json.dumps(trace.model_dump(mode="json"))
    child_step = trace.step("child")
    assert child_step.status == ("failed" if error else "completed")
    for evaluation in child_step.evaluations:
        assert isinstance(evaluation.qualified, bool)
    [(record, steps)] = records_from_spans(rig.exporter.get_finished_spans())
    assert len(steps) == len(trace.steps)
    # what a store writes: strict JSON (no NaN, no infinity) in valid UTF-8
    json.dumps([record, steps], allow_nan=False, ensure_ascii=False).encode("utf-8")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=st.lists(st.tuples(st.integers(min_value=0, max_value=20), st.booleans()), max_size=12),
    attributes=st.lists(ATTRS, min_size=1, max_size=3),
    end_order=st.randoms(use_true_random=False),
)
def test_the_processor_makes_the_steps_finished_spans_make(
    shape: list[tuple[int, bool]], attributes: list[dict[str, Any]], end_order: Any
) -> None:
    """Whatever the tree (nesting, errors, attributes, the order the spans end in), the steps
    the processor captures as the spans end are those ``traces_from_spans`` makes of the same
    finished spans afterwards."""
    rig = Rig()
    root = rig.tracer.start_span("root", attributes=attributes[0])
    spans = [root]
    for index, (above, failed) in enumerate(shape):
        parent = spans[above % len(spans)]
        context = otel_trace.set_span_in_context(parent)
        span = rig.tracer.start_span(
            f"s{index}", context=context, attributes=attributes[index % len(attributes)]
        )  # fmt: skip
        if failed:
            span.set_status(Status(StatusCode.ERROR, f"s{index} failed"))
        spans.append(span)
    children = spans[1:]
    end_order.shuffle(children)
    for span in children:
        span.end()
    root.end()
    [again] = traces_from_spans(rig.exporter.get_finished_spans())
    volatile = {"run_id", "test_id"}  # set by the observer (this pytest session) only
    assert again.model_dump(exclude=volatile) == rig.trace().model_dump(exclude=volatile)
    rig.provider.shutdown()


def test_a_captured_trace_is_not_exported_again_by_its_recorders_exporter() -> None:
    """Its spans already went wherever the pipeline's provider sends them: exporting the trace
    made of them would send each span twice. The recorder's own SDK traces are exported."""
    from xray_core.otel import queue_for

    store, again = xray_core.MemoryStore(), InMemorySpanExporter()
    recorder = xray_core.XRay(store=store, exporter=again)
    provider = TracerProvider()
    provider.add_span_processor(XRaySpanProcessor(recorder))
    with provider.get_tracer("tests").start_as_current_span("captured"):
        pass
    with recorder.trace("recorded"):
        pass
    queue_for(again).flush(timeout=10)
    assert sorted(t.name for t in store.list_traces()) == ["captured", "recorded"]
    assert [span.name for span in again.get_finished_spans()] == ["recorded"]
    provider.shutdown()
