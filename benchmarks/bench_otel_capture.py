"""Capture cost per span: an OpenTelemetry span turned into an X-Ray step vs the same step
recorded with the SDK (issue 10: capture must not cost more per span than recording).

The spans are real: made once by the SDK's tracer (OpenInference attributes: the input and output
as JSON with their mime type, the reasoning), then handed to :class:`XRaySpanProcessor` as the
SDK hands them (``on_start``, ``on_end``; the root's end builds the steps and stores them). What
making the span itself costs is the pipeline's, not the capture's, and is not counted. The SDK
records the same step (``trace.step`` with the input, ``set_output``, ``set_reasoning``). Both
write into a MemoryStore, in traces of :data:`STEPS` steps; the figure is the time per child
span (per step), the roots' (the traces') share included — a captured root is also a step, so
capture does one step more per trace than the SDK.
"""

from __future__ import annotations

import gc
import json
from typing import Any, Callable

import xray_core

from .harness import Figure, check, interleaved_medians

GROUP = "otel capture"
INPUT: dict[str, str | int] = {"query": "steel water bottle", "limit": 10}
OUTPUT: dict[str, str | int] = {"count": 3, "best": "B0GOOD001"}
REASONING = "3 candidates share a keyword; best match first"
INPUT_TEXT = "steel water bottle, at most 10"
OUTPUT_TEXT = "3 found; best B0GOOD001"
#: child spans (steps) per trace: a pipeline's trace is a handful of steps, not thousands
STEPS = 10


def finished_spans(n: int, as_json: bool = True) -> list[list[Any]]:
    """``n`` child spans carrying the step's data, under roots of :data:`STEPS` children each,
    as the SDK ends them: one ``[root, *children]`` list per trace.

    :param as_json: input and output as JSON (as OpenInference writes a call's arguments and
        result), else as text (no mime type: kept as the text it is).
    """
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from xray_core.otel import names

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("benchmarks")
    attributes: dict[str, Any] = {
        names.INPUT_VALUE: json.dumps(INPUT), names.INPUT_MIME_TYPE: names.JSON_MIME_TYPE,
        names.OUTPUT_VALUE: json.dumps(OUTPUT), names.OUTPUT_MIME_TYPE: names.JSON_MIME_TYPE,
        names.REASONING: REASONING,
    }  # fmt: skip
    if not as_json:
        attributes = {names.INPUT_VALUE: INPUT_TEXT, names.OUTPUT_VALUE: OUTPUT_TEXT,
                      names.REASONING: REASONING}  # fmt: skip
    traces = []
    for first in range(0, n, STEPS):
        exporter.clear()
        with tracer.start_as_current_span("bench"):
            for _ in range(min(STEPS, n - first)):
                with tracer.start_as_current_span("search", attributes=attributes):
                    pass
        spans = list(exporter.get_finished_spans())
        traces.append([spans[-1], *spans[:-1]])  # the root first, as it starts first
    provider.shutdown()
    return traces


def capture_loop(
    n: int, as_json: bool = True, store: xray_core.Store | None = None
) -> Callable[[], None]:
    """``n`` child spans (and their roots) captured by an ``XRaySpanProcessor`` into ``store``."""
    from xray_core.otel import XRaySpanProcessor

    traces = finished_spans(n, as_json)
    store = store if store is not None else xray_core.MemoryStore(max_traces=2)
    processor = XRaySpanProcessor(xray_core.XRay(store=store))

    def run() -> None:
        for root, *children in traces:
            processor.on_start(root)  # type: ignore[arg-type]
            for span in children:
                processor.on_start(span)  # type: ignore[arg-type]
                processor.on_end(span)
            processor.on_end(root)

    return run


def sdk_loop(n: int, as_json: bool = True) -> Callable[[], None]:
    """``n`` steps of the same data recorded with ``trace.step``, in traces of :data:`STEPS`."""
    recorder = xray_core.XRay(store=xray_core.MemoryStore(max_traces=2))
    given, result = (INPUT, OUTPUT) if as_json else (INPUT_TEXT, OUTPUT_TEXT)
    sizes = [min(STEPS, n - first) for first in range(0, n, STEPS)]

    def run() -> None:
        for size in sizes:
            with recorder.trace("bench") as trace:
                for _ in range(size):
                    with trace.step("search", input=given) as step:
                        step.set_output(result)
                        step.set_reasoning(REASONING)

    return run


def check_same_steps() -> None:
    """Both sides make the same step (a benchmark of different work would mean nothing)."""
    from xray_core.otel import traces_from_spans

    for as_json, given, result in ((True, INPUT, OUTPUT), (False, INPUT_TEXT, OUTPUT_TEXT)):
        [spans] = finished_spans(1, as_json)
        [captured] = traces_from_spans(spans)
        step = captured.steps[1]
        if (step.input, step.output, step.reasoning) != (given, result, REASONING):
            raise RuntimeError(f"the captured step differs from the SDK's: {step!r}")


def run(quick: bool = False) -> list[Figure]:
    """µs per step: captured from a span vs recorded with the SDK (target: no more)."""
    check_same_steps()
    n, repeat = (500, 5) if quick else (5_000, 11)
    loops = {"capture": capture_loop(n), "sdk": sdk_loop(n),
             "capture_text": capture_loop(n, False), "sdk_text": sdk_loop(n, False)}  # fmt: skip
    # The spans made up front stay alive for the whole benchmark (a pipeline's spans live and
    # die with their trace): frozen out of the garbage collector, they are not traversed again
    # by every collection the contenders' own allocations trigger (which tripled the capture's
    # figure and blurred both).
    gc.collect()
    gc.freeze()
    try:
        us = {k: v / n * 1e6 for k, v in interleaved_medians(loops, repeat=repeat).items()}
    finally:
        gc.unfreeze()
    figures = []
    for label, key in (("JSON input/output", ""), ("text input/output", "_text")):
        figure = Figure(GROUP, f"span -> step, {label}", us["capture" + key], "µs",
                        "SDK trace.step", us["sdk" + key], "<= 1x")  # fmt: skip
        figure.met = check(figure.ratio, "<=", 1.0)
        figures.append(figure)
    return figures
