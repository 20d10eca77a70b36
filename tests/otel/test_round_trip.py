"""Export then capture: a trace sent out as spans (``xray_core.otel.export``) and captured back
(``traces_from_spans``, or an ``XRaySpanProcessor`` fed the spans) is the trace recorded."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import xray_core
from xray_core.otel import XRaySpanProcessor, export, trace_spans, traces_from_spans
from xray_core.observers import observers as _observers

from otel_export.conftest import record_pipeline
from otel_export.test_properties import traces


def recorded(fail: bool = True) -> xray_core.Trace:
    xr = xray_core.XRay()
    found = xr.store.get_trace(record_pipeline(xr, fail=fail))
    assert found is not None
    return found


def test_export_then_capture_gives_the_same_trace() -> None:
    original = recorded()
    exporter = InMemorySpanExporter()
    export(original, exporter)
    [captured] = traces_from_spans(exporter.get_finished_spans())
    diff = xray_core.diff_traces(original, captured, include_llm=True, include_reasoning=True)
    assert not diff, str(diff)
    assert captured.model_dump() == original.model_dump()  # ids, order, times, errors too


def test_the_processor_captures_exported_spans_the_same() -> None:
    """Spans handed to a processor as the SDK hands them (on_start, then on_end)."""
    original = recorded()
    store = xray_core.MemoryStore()
    processor = XRaySpanProcessor(xray_core.XRay(store=store))
    spans = trace_spans(original)
    for span in spans:  # parents start before their children
        processor.on_start(span)  # type: ignore[arg-type]
    for span in reversed(spans):  # and end after them
        processor.on_end(span)
    captured = store.get_trace(original.trace_id)
    assert captured is not None
    exclude = {"run_id", "test_id"} if _observers else set()  # the enclosing session's
    assert captured.model_dump(exclude=exclude) == original.model_dump(exclude=exclude)


def _recordable(value: Any) -> bool:
    """JSON the recorder would store: no lone surrogate, no NaN or infinity (to_jsonable makes
    them text: capture reads them back as that text)."""
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False, default=str).encode("utf-8")
    except (UnicodeEncodeError, ValueError):
        return False
    return True


def _acyclic(trace: xray_core.Trace) -> bool:
    parents = {s.step_id: s.parent_id for s in trace.steps}
    for step_id in parents:
        seen = set()
        while step_id is not None and step_id in parents:
            if step_id in seen:
                return False
            seen.add(step_id)
            step_id = parents[step_id]
    return True


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traces())
def test_any_trace_comes_back_without_a_difference(trace: xray_core.Trace) -> None:
    step_ids = [s.step_id for s in trace.steps]
    parents_known = all(s.parent_id is None or s.parent_id in step_ids for s in trace.steps)
    # what the recorder never stores (lone surrogates, NaN), two steps of one id, a step that is
    # its own ancestor (a trace of its own then): export and capture never raise, that is all
    clean = _recordable(trace.model_dump()) and len(set(step_ids)) == len(step_ids)
    captured = traces_from_spans(trace_spans(trace))
    if not (clean and parents_known and _acyclic(trace)):
        return
    [back] = captured
    diff = xray_core.diff_traces(trace, back, include_llm=True, include_reasoning=True)
    assert not diff, str(diff)
    assert len(back.steps) == len(trace.steps)


def test_a_trace_failed_by_a_handled_step_error_comes_back_equal() -> None:
    xr = xray_core.XRay()
    with xr.trace("handled") as trace:
        try:
            with trace.step("flaky"):
                raise TimeoutError("slow upstream")
        except TimeoutError:
            pass
        with trace.step("fallback") as step:
            step.set_output("cached")
    original = xr.store.get_trace(trace.trace_id)
    assert original is not None and original.status == "failed"
    assert "error" not in original.metadata
    [captured] = traces_from_spans(trace_spans(original))
    assert captured.model_dump() == original.model_dump()


def test_an_empty_trace_comes_back_empty() -> None:
    xr = xray_core.XRay()
    with xr.trace("nothing", metadata={"k": [1, 2]}) as trace:
        pass
    original = xr.store.get_trace(trace.trace_id)
    assert original is not None
    [captured] = traces_from_spans(trace_spans(original))
    assert captured.model_dump() == original.model_dump()
