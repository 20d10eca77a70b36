"""How the processor follows spans (session 12: in ``on_end`` only, by OpenTelemetry trace id):
which spans make up which trace, what it keeps in memory, and which test a trace belongs to."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

import xray_core
from xray_core.otel import XRaySpanProcessor, traces_from_spans
from xray_core.otel.capture import _COLD


class Rig:
    """A provider whose spans go to an X-Ray MemoryStore (through ``processor``) and to an
    in-memory exporter."""

    def __init__(self, recorder: xray_core.XRay | None = None) -> None:
        self.store = xray_core.MemoryStore(max_traces=1000)
        self.processor = XRaySpanProcessor(recorder or xray_core.XRay(store=self.store))
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(self.processor)
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("tests")

    def traces(self) -> dict[str, list[tuple[str, str | None]]]:
        """Each trace's name -> its steps' names and their parents' names, in step order."""
        found: dict[str, list[tuple[str, str | None]]] = {}
        for trace in self.store.list_traces():
            steps = sorted(trace.steps, key=lambda s: s.step_order)
            names = {s.step_id: s.name for s in steps}
            found[trace.name] = [(s.name, names.get(s.parent_id or "")) for s in steps]
        return found

    def kept(self) -> int:
        """How many spans, roots and trace ids the processor still holds (the root whose
        children it follows without a look-up counted once more)."""
        p = self.processor
        held = sum(map(len, p._ended.values())) + len(p._roots) + len(p._ended) + len(p._tracked)
        return held + (p._hot is not _COLD)


def under(span: Any) -> Any:
    return otel_trace.set_span_in_context(span)


def remote_parent(trace_id: int = 0x5CE0E5, span_id: int = 0x7A) -> Any:
    """A context whose span is remote (as a propagator extracts it from a request)."""
    context = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(1))
    return under(NonRecordingSpan(context))


def test_several_local_roots_under_one_remote_parent_are_each_a_trace() -> None:
    """Two requests of the same distributed trace, interleaved: each local root is a trace of
    its own spans; a span ending after its root is in neither, even while the trace id's other
    root is still open; nothing is kept once both have ended."""
    rig = Rig()
    tracer = rig.tracer
    first = tracer.start_span("first", context=remote_parent())
    second = tracer.start_span("second", context=remote_parent())
    a = tracer.start_span("a", context=under(first))
    b = tracer.start_span("b", context=under(second))
    b_late = tracer.start_span("b-late", context=under(second))
    a_inner = tracer.start_span("a-inner", context=under(a))
    b.end()
    a_inner.end()
    second.end()
    b_late.end()  # after its root: left out, though the trace id's other root is open
    a.end()
    first.end()
    assert rig.traces() == {
        "first": [("first", None), ("a", "first"), ("a-inner", "a")],
        "second": [("second", None), ("b", "second")],
    }  # fmt: skip
    ids = {t.name: t.trace_id for t in rig.store.list_traces()}
    assert len(set(ids.values())) == 2 and "%032x" % 0x5CE0E5 not in ids.values()
    assert rig.kept() == 0


def test_a_root_under_a_remote_copy_of_a_local_span_is_its_own_trace() -> None:
    """A service calling itself with the context propagated (the same trace id, the parent
    remote): the server's spans make the server root's trace, not the client's."""
    rig = Rig()
    tracer = rig.tracer
    with tracer.start_as_current_span("client") as client:
        with tracer.start_as_current_span("call") as call:
            ctx = call.get_span_context()
            remote = SpanContext(ctx.trace_id, ctx.span_id, True, ctx.trace_flags)
            with tracer.start_as_current_span("server", context=under(NonRecordingSpan(remote))):
                with tracer.start_as_current_span("handler"):
                    pass
        with tracer.start_as_current_span("after"):
            pass
    assert rig.traces() == {
        "client": [("client", None), ("call", "client"), ("after", "client")],
        "server": [("server", None), ("handler", "server")],
    }  # fmt: skip
    by_name = {t.name: t.trace_id for t in rig.store.list_traces()}
    assert by_name["client"] == "%032x" % client.get_span_context().trace_id
    assert rig.kept() == 0


def test_a_span_ending_after_its_root_is_left_out_and_not_kept() -> None:
    rig = Rig()
    root = rig.tracer.start_span("root")
    child = rig.tracer.start_span("child", context=under(root))
    below = rig.tracer.start_span("below", context=under(child))
    below.end()  # its parent is still open when the root ends: left out with it
    root.end()
    child.end()
    assert rig.traces() == {"root": [("root", None)]}
    assert rig.kept() == 0


def test_a_span_started_after_its_root_ended_starts_a_trace_of_its_own() -> None:
    """As before session 12: its parent's trace is handed over already."""
    rig = Rig()
    with rig.tracer.start_as_current_span("root") as root:
        pass
    with rig.tracer.start_as_current_span("late", context=under(root)):
        with rig.tracer.start_as_current_span("late-child"):
            pass
    assert rig.traces() == {
        "root": [("root", None)], "late": [("late", None), ("late-child", "late")],
    }  # fmt: skip
    assert rig.kept() == 0


def test_a_span_started_under_an_ended_root_while_another_root_of_its_trace_is_open() -> None:
    """The one case session 12 left out on purpose (before, it started a trace of its own):
    its trace id's list is still there, for the other root, so it is followed and then found
    under no open root; it is not kept once that root ends."""
    rig = Rig()
    first = rig.tracer.start_span("first", context=remote_parent())
    second = rig.tracer.start_span("second", context=remote_parent())
    first.end()
    with rig.tracer.start_as_current_span("late", context=under(first)):
        pass
    second.end()
    assert rig.traces() == {"first": [("first", None)], "second": [("second", None)]}
    assert rig.kept() == 0


def test_spans_under_a_parent_started_before_capture_each_start_a_trace() -> None:
    """A span whose parent is not captured (it started before the processor was added) starts
    a trace, and so does each of its siblings; their children are theirs."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests")
    outer = tracer.start_span("outer")
    store = xray_core.MemoryStore()
    processor = XRaySpanProcessor(xray_core.XRay(store=store))
    provider.add_span_processor(processor)
    with tracer.start_as_current_span("one", context=under(outer)):
        with tracer.start_as_current_span("one-child"):
            with tracer.start_as_current_span("one-grandchild"):
                pass
    two = tracer.start_span("two", context=under(outer))  # a sibling, while "one" is open
    three = tracer.start_span("three", context=under(outer))
    with tracer.start_as_current_span("three-child", context=under(three)):
        pass
    two.end()
    three.end()
    outer.end()
    traces = {t.name: sorted(s.name for s in t.steps) for t in store.list_traces()}
    assert traces == {
        "one": ["one", "one-child", "one-grandchild"], "two": ["two"],
        "three": ["three", "three-child"],
    }  # fmt: skip
    assert not processor._ended and not processor._roots and not processor._tracked
    assert processor._hot is _COLD


def test_a_root_that_never_ends_keeps_its_spans_until_shutdown() -> None:
    """What the processor holds: the ended spans of trace ids whose captured root is open; the
    spans of a root that never ends stay until the provider shuts down (as before)."""
    rig = Rig()
    for _ in range(3):
        with rig.tracer.start_as_current_span("done"):
            with rig.tracer.start_as_current_span("step"):
                pass
    assert rig.kept() == 0
    stuck = rig.tracer.start_span("stuck")
    for _ in range(3):
        with rig.tracer.start_as_current_span("step", context=under(stuck)):
            pass
    assert rig.kept() == 3 + 1 + 1 + 1  # its three ended spans, its root, its trace id, and
    # it is the root whose children are followed without a look-up
    rig.provider.shutdown()
    assert rig.kept() == 0
    assert [t.name for t in rig.store.list_traces()] == ["done"] * 3 + ["stuck"]
    assert rig.store.list_traces()[-1].status == "running"


def test_nothing_is_kept_of_spans_that_are_not_captured() -> None:
    rig = Rig(xray_core.XRay(store=xray_core.MemoryStore(), enabled=False))
    with rig.tracer.start_as_current_span("pipeline"):
        with rig.tracer.start_as_current_span("step"):
            assert rig.kept() == 0
    assert rig.kept() == 0


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shapes=st.lists(
        st.tuples(
            st.sampled_from(["fresh", "remote-a", "remote-b"]),  # roots may share a trace id
            st.lists(st.integers(min_value=0, max_value=9), max_size=5),  # each child's parent
        ),
        min_size=1,
        max_size=4,
    ),
    order=st.randoms(use_true_random=False),
)
def test_interleaved_traces_are_each_whole_whichever_root_started_last(
    shapes: list[tuple[str, list[int]]], order: Any
) -> None:
    """Traces whose spans start and end interleaved on one thread (the children of the root
    started last are followed without a look-up, the others by their trace id): each trace
    holds the steps ``traces_from_spans`` makes of its finished spans, and nothing stays."""
    rig = Rig()
    parents = {"remote-a": remote_parent(0xA), "remote-b": remote_parent(0xB)}
    # each trace's events in its own order (the root starts first and ends last; a child
    # starts after its parent, the children end in any order), then all of them interleaved
    queues: list[list[tuple[str, int, int]]] = []
    for number, (kind, above) in enumerate(shapes):
        ends = [("end", number, index) for index in range(1, len(above) + 1)]
        order.shuffle(ends)
        starts = [("start", number, index) for index in range(len(above) + 1)]
        queues.append([*starts, *ends, ("end", number, 0)])
    spans: dict[tuple[int, int], Any] = {}
    while any(queues):
        queue = order.choice([q for q in queues if q])
        what, number, index = queue.pop(0)
        if what == "end":
            spans[number, index].end()
            continue
        kind, above = shapes[number]
        if index == 0:
            context = parents.get(kind)
        else:
            context = under(spans[number, above[index - 1] % index])
        spans[number, index] = rig.tracer.start_span(f"t{number}.{index}", context=context)

    def shape(trace: Any) -> list[tuple[Any, ...]]:
        steps = sorted(trace.steps, key=lambda s: s.step_order)
        names = {s.step_id: s.name for s in steps}
        return [(s.name, names.get(s.parent_id or ""), s.status) for s in steps]

    expected = {t.name: shape(t) for t in traces_from_spans(rig.exporter.get_finished_spans())}
    assert {t.name: shape(t) for t in rig.store.list_traces(limit=None)} == expected
    assert len(expected) == len(shapes)
    assert rig.kept() == 0


def test_ties_a_parent_before_its_children_then_the_order_spans_ended() -> None:
    """Spans starting at the same time (a coarse clock, explicit times): a parent's step before
    its children's, whatever the end order; siblings in the order they ended (before session
    12: the order they started). ``traces_from_spans`` orders them the same way."""
    rig = Rig()
    tracer = rig.tracer
    root = tracer.start_span("root", start_time=5)
    first = tracer.start_span("first", context=under(root), start_time=5)
    inner = tracer.start_span("inner", context=under(first), start_time=5)
    second = tracer.start_span("second", context=under(root), start_time=5)
    inner.end(end_time=6)
    second.end(end_time=7)  # started after "first", ended before it
    first.end(end_time=8)
    root.end(end_time=9)
    expected = [("root", None), ("second", "root"), ("first", "root"), ("inner", "first")]
    assert rig.traces() == {"root": expected}
    [again] = traces_from_spans(rig.exporter.get_finished_spans())
    steps = sorted(again.steps, key=lambda s: s.step_order)
    names = {s.step_id: s.name for s in steps}
    assert [(s.name, names.get(s.parent_id or "")) for s in steps] == expected


def test_traces_on_many_threads_at_once_are_each_whole() -> None:
    """Threads capturing traces at the same time, some roots of one trace id (the same remote
    parent) starting and ending together: every trace holds its own spans, nothing stays."""
    rig = Rig()
    tracer = rig.tracer
    start = threading.Barrier(6)

    def work(index: int) -> None:
        start.wait()
        for round_ in range(40):
            context = remote_parent(0xF00D + round_) if index % 2 else None
            with tracer.start_as_current_span(f"t{index}", context=context):
                for step in range(3):
                    with tracer.start_as_current_span(f"t{index}.{step}"):
                        with tracer.start_as_current_span(f"t{index}.{step}.x"):
                            pass

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    traces = rig.store.list_traces(limit=None)
    assert len(traces) == 6 * 40
    for trace in traces:
        names = [s.name for s in sorted(trace.steps, key=lambda s: s.step_order)]
        t = trace.name
        assert names == [t, f"{t}.0", f"{t}.0.x", f"{t}.1", f"{t}.1.x", f"{t}.2", f"{t}.2.x"]
        assert trace.status == "completed"
    assert rig.kept() == 0


ACROSS_TESTS = '''
import threading

from opentelemetry import trace

tracer = trace.get_tracer("pipeline")
held = {}


def test_one(xray):
    held["span"] = tracer.start_span("begun-in-one")
    started = threading.Event()
    held["go"] = threading.Event()

    def background():
        with tracer.start_as_current_span("thread-begun-in-one"):
            started.set()
            held["go"].wait(30)
            with tracer.start_as_current_span("thread-step"):
                pass

    held["thread"] = threading.Thread(target=background)
    held["thread"].start()
    started.wait(30)


def test_two(xray):
    with tracer.start_as_current_span("step", context=trace.set_span_in_context(held["span"])):
        pass
    held["span"].end()
    held["go"].set()
    held["thread"].join(30)
    with tracer.start_as_current_span("own"):
        pass
'''


def test_a_trace_belongs_to_the_test_running_when_its_root_started(
    otel_project: pytest.Pytester,
) -> None:
    """A root started in one test and ended in the next (here, or on a thread of its own)
    belongs to the first: a trace's test and run are taken when its root starts."""
    otel_project.makepyfile(test_across=ACROSS_TESTS)
    otel_project.runpytest_subprocess("--xray-db").assert_outcomes(passed=2)
    with sqlite3.connect(otel_project.path / ".xray" / "runs.db") as conn:
        rows = conn.execute("SELECT name, test_id, status FROM traces ORDER BY name").fetchall()
        steps = conn.execute("SELECT name FROM steps ORDER BY name").fetchall()
    assert rows == [
        ("begun-in-one", "test_across.py::test_one", "completed"),
        ("own", "test_across.py::test_two", "completed"),
        ("thread-begun-in-one", "test_across.py::test_one", "completed"),
    ]  # fmt: skip
    assert [name for (name,) in steps] == [
        "begun-in-one", "own", "step", "thread-begun-in-one", "thread-step",
    ]  # fmt: skip
