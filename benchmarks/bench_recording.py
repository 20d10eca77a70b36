"""Recording cost per step, in memory: X-Ray vs an OpenTelemetry span vs a bare dict recorder.

Every contender records the same step: enter, a small input dict, a small output dict and a
reasoning string, exit. OpenTelemetry gets the same data as span attributes, with the SDK's
``TracerProvider`` + ``SimpleSpanProcessor`` + ``InMemorySpanExporter``. The floor is a bare
recorder appending a dict of the same fields with ``time.perf_counter()`` stamps.

Also: what ``xray_core.step`` costs outside a trace (the instrumented library with nobody
recording), as a context manager and as a decorated call, over the same code without it.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import xray_core

from .harness import Figure, check, interleaved_medians

GROUP = "recording"
INPUT: dict[str, str | int] = {"query": "steel water bottle", "limit": 10}
OUTPUT: dict[str, str | int] = {"count": 3, "best": "B0GOOD001"}
REASONING = "3 candidates share a keyword; best match first"


class BareStep:
    """The floor: a step that only stamps times and appends its dict."""

    __slots__ = ("record", "steps")

    def __init__(self, steps: list[dict[str, Any]], name: str, input: Any) -> None:
        self.steps = steps
        self.record = {"name": name, "input": input, "output": None, "reasoning": None,
                       "start": 0.0, "end": 0.0}  # fmt: skip

    def __enter__(self) -> BareStep:
        self.record["start"] = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.record["end"] = time.perf_counter()
        self.steps.append(self.record)

    def set_output(self, data: Any) -> None:
        self.record["output"] = data

    def set_reasoning(self, text: str) -> None:
        self.record["reasoning"] = text


def xray_loop(n: int) -> Callable[[], None]:
    """``n`` steps recorded with ``trace.step`` into a fresh MemoryStore trace."""
    recorder = xray_core.XRay(store=xray_core.MemoryStore(max_traces=2))

    def run() -> None:
        with recorder.trace("bench") as trace:
            for _ in range(n):
                with trace.step("search", input=INPUT) as step:
                    step.set_output(OUTPUT)
                    step.set_reasoning(REASONING)

    return run


def ambient_loop(n: int) -> Callable[[], None]:
    """``n`` steps recorded with the ambient ``xray_core.step`` inside a trace."""
    recorder = xray_core.XRay(store=xray_core.MemoryStore(max_traces=2))

    def run() -> None:
        with recorder.trace("bench"):
            for _ in range(n):
                with xray_core.step("search", input=INPUT) as step:
                    step.set_output(OUTPUT)
                    step.set_reasoning(REASONING)

    return run


def otel_loop(n: int) -> Callable[[], None]:
    """``n`` OpenTelemetry spans carrying the same data as attributes."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("benchmarks")
    attributes = {f"input.{k}": v for k, v in INPUT.items()}

    def run() -> None:
        exporter.clear()
        with tracer.start_as_current_span("bench"):
            for _ in range(n):
                with tracer.start_as_current_span("search", attributes=attributes) as span:
                    span.set_attributes({f"output.{k}": v for k, v in OUTPUT.items()})
                    span.set_attribute("reasoning", REASONING)

    return run


def bare_loop(n: int) -> Callable[[], None]:
    """``n`` steps recorded by :class:`BareStep` (the floor)."""

    def run() -> None:
        steps: list[dict[str, Any]] = []
        for _ in range(n):
            with BareStep(steps, "search", INPUT) as step:
                step.set_output(OUTPUT)
                step.set_reasoning(REASONING)

    return run


def _work(x: int) -> int:
    return x


@xray_core.step("work")
def _decorated_work(x: int) -> int:
    return x


def plain_calls(n: int) -> Callable[[], None]:
    """``n`` calls of a trivial function."""

    def run() -> None:
        for i in range(n):
            _work(i)

    return run


def decorated_calls(n: int) -> Callable[[], None]:
    """``n`` calls of the same function decorated with ``@xray_core.step``, outside a trace."""

    def run() -> None:
        for i in range(n):
            _decorated_work(i)

    return run


def with_step_calls(n: int) -> Callable[[], None]:
    """``n`` calls each wrapped in ``with xray_core.step(...)``, outside a trace."""

    def run() -> None:
        for i in range(n):
            with xray_core.step("work"):
                _work(i)

    return run


def recording_figures(quick: bool) -> list[Figure]:
    """µs per recorded step: ours (explicit and ambient) vs OpenTelemetry and the floor."""
    n, repeat = (2_000, 5) if quick else (20_000, 11)
    loops = {"xray": xray_loop(n), "ambient": ambient_loop(n), "otel": otel_loop(n),
             "bare": bare_loop(n)}  # fmt: skip
    us = {k: v / n * 1e6 for k, v in interleaved_medians(loops, repeat=repeat).items()}
    figures = []
    for name, key in (("trace.step", "xray"), ("ambient xray_core.step", "ambient")):
        versus_otel = Figure(GROUP, f"{name} per step", us[key], "µs", "OpenTelemetry span",
                             us["otel"], "<= 0.25x")  # fmt: skip
        versus_otel.met = check(versus_otel.ratio, "<=", 0.25)
        versus_bare = Figure(GROUP, f"{name} per step", us[key], "µs", "bare dict recorder",
                             us["bare"], "<= 6x")  # fmt: skip
        versus_bare.met = check(versus_bare.ratio, "<=", 6.0)
        figures += [versus_otel, versus_bare]
    otel_vs_bare = Figure(GROUP, "OpenTelemetry span per step", us["otel"], "µs",
                          "bare dict recorder", us["bare"])  # fmt: skip
    return [*figures, otel_vs_bare]


def idle_figures(quick: bool) -> list[Figure]:
    """µs per call of ``xray_core.step`` outside a trace vs the same code without it."""
    if xray_core.current_trace() is not None:
        raise RuntimeError("the no-trace figures must be measured outside any trace")
    n, repeat = (50_000, 5) if quick else (300_000, 11)
    loops = {"plain": plain_calls(n), "decorated": decorated_calls(n),
             "with": with_step_calls(n)}  # fmt: skip
    us = {k: v / n * 1e6 for k, v in interleaved_medians(loops, repeat=repeat).items()}
    figures = []
    for name, key in (("@step call, no trace", "decorated"), ("with step(), no trace", "with")):
        figure = Figure(GROUP, name, us[key], "µs", "plain call", us["plain"], "<= +0.5 µs")
        figure.met = us[key] - us["plain"] <= 0.5
        figures.append(figure)
    return figures


def run(quick: bool = False) -> list[Figure]:
    """Every recording figure (see the module docstring)."""
    return recording_figures(quick) + idle_figures(quick)
