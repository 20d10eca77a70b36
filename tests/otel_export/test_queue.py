"""The export queue: a slow or failing exporter never slows or fails the pipeline beyond the
bounded queue; drops and failures are counted and logged once; ``XRay(exporter=...)`` and
``configure(exporter=...)`` refuse what is no span exporter."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import xray_core as xray
from xray_core.otel import ExportQueue, queue_for

from .conftest import record_pipeline


class BlockingExporter(SpanExporter):
    """Blocks in ``export`` until released: the slowest exporter there is."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.batches: list[list[str]] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.entered.set()
        self.release.wait()
        self.batches.append([s.name for s in spans if s.parent is None])
        return SpanExportResult.SUCCESS


class RaisingExporter(SpanExporter):
    def __init__(self) -> None:
        self.calls = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.calls += 1
        raise ConnectionError("collector down")


class FailingExporter(SpanExporter):
    def __init__(self) -> None:
        self.calls = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.calls += 1
        return SpanExportResult.FAILURE


def xray_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "xray_core"]


def run_pipeline(xr: xray.XRay, count: int) -> list[str]:
    """Record ``count`` traces in a thread; fails the test if the thread does not finish."""
    ids: list[str] = []
    worker = threading.Thread(target=lambda: ids.extend(record_pipeline(xr, f"t{n}")
                                                        for n in range(count)))  # fmt: skip
    worker.start()
    worker.join(timeout=120)  # a generous bound: a blocked hand-off would never finish
    assert not worker.is_alive(), "the pipeline was blocked by its exporter"
    return ids


def test_a_blocked_exporter_does_not_block_the_pipeline_and_drops_are_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exporter = BlockingExporter()
    export_queue = ExportQueue(exporter, max_queue=5, max_batch=100)
    xr = xray.XRay()
    xr._hand_off = export_queue.submit  # this test's own queue size
    try:
        run_pipeline(xr, 1)
        assert exporter.entered.wait(timeout=60)  # the worker holds trace t0, blocked
        with caplog.at_level(logging.WARNING, logger="xray_core"):
            ids = run_pipeline(xr, 20)
        assert export_queue.dropped == 15  # 5 wait in the queue, the other 15 are dropped
        assert len(xray_warnings(caplog)) == 1 and "queue is full" in xray_warnings(caplog)[0]
        assert all(xr.store.get_trace(i) is not None for i in ids)  # recording lost nothing
        exporter.release.set()
        assert export_queue.flush(timeout=60)
        assert exporter.batches == [["t0"], ["t0", "t1", "t2", "t3", "t4"]]
        assert export_queue.exported == 6 and export_queue.failed == 0
    finally:
        exporter.release.set()
        export_queue.shutdown()


@pytest.mark.parametrize("exporter_type", [RaisingExporter, FailingExporter])
def test_a_failing_exporter_never_fails_the_pipeline(
    exporter_type: type[RaisingExporter | FailingExporter], caplog: pytest.LogCaptureFixture
) -> None:
    exporter = exporter_type()
    xr = xray.XRay(exporter=exporter)
    export_queue = queue_for(exporter)
    try:
        with caplog.at_level(logging.WARNING, logger="xray_core"):
            for n in range(4):
                trace_id = record_pipeline(xr, f"t{n}")
                assert export_queue.flush(timeout=60)  # one export call per trace
                assert xr.store.get_trace(trace_id) is not None
        assert exporter.calls == 4
        assert export_queue.failed == 4 and export_queue.exported == 0
        assert len(xray_warnings(caplog)) == 1  # logged once, counted always
    finally:
        export_queue.shutdown()


def test_a_trace_that_cannot_become_spans_is_counted_and_the_others_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exporter = InMemorySpanExporter()
    export_queue = ExportQueue(exporter)

    class Unreadable:
        def to_model(self) -> object:
            raise ValueError("corrupt")

    xr = xray.XRay()
    try:
        with caplog.at_level(logging.ERROR, logger="xray_core"):
            export_queue.submit(Unreadable())  # type: ignore[arg-type]
            xr._hand_off = export_queue.submit
            record_pipeline(xr, "fine")
            assert export_queue.flush(timeout=60)
        assert export_queue.failed == 1 and export_queue.exported == 1
        assert "fine" in [s.name for s in exporter.get_finished_spans()]
        assert any("could not be turned into spans" in m for m in xray_warnings(caplog))
    finally:
        export_queue.shutdown()


def test_a_trace_finished_after_shutdown_is_dropped_and_counted() -> None:
    exporter = InMemorySpanExporter()
    xr = xray.XRay(exporter=exporter)
    record_pipeline(xr, "before")
    queue_for(exporter).shutdown()
    record_pipeline(xr, "after")
    assert [s.name for s in exporter.get_finished_spans() if s.parent is None] == ["before"]
    assert queue_for(exporter).exported == 1 and queue_for(exporter).dropped == 1


def test_a_failing_trace_is_exported_and_the_error_still_reaches_the_pipeline() -> None:
    exporter = InMemorySpanExporter()
    xr = xray.XRay(exporter=exporter)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            with xr.trace("failing"):
                raise RuntimeError("boom")
        assert queue_for(exporter).flush(timeout=60)
        [span] = exporter.get_finished_spans()
        assert span.attributes["xray.status"] == "failed"
    finally:
        queue_for(exporter).shutdown()


@pytest.mark.parametrize("bad", [object(), "http://localhost:4318", 42])
def test_what_is_no_span_exporter_is_refused_before_anything_changes(bad: object) -> None:
    with pytest.raises(TypeError, match="exporter must be an OpenTelemetry SpanExporter"):
        xray.XRay(exporter=bad)
    before = xray.get_recorder()
    with pytest.raises(TypeError, match="has no export"):
        xray.configure(exporter=bad)
    assert xray.get_recorder() is before


def test_queue_sizes_are_checked() -> None:
    with pytest.raises(ValueError, match="max_queue must be a positive int, not 0"):
        ExportQueue(InMemorySpanExporter(), max_queue=0)
    with pytest.raises(ValueError, match="max_batch must be a positive int, not 1.5"):
        ExportQueue(InMemorySpanExporter(), max_batch=1.5)  # type: ignore[arg-type]


def test_one_queue_per_exporter_however_often_configure_is_called() -> None:
    exporter = InMemorySpanExporter()
    first = xray.configure(exporter=exporter)
    second = xray.configure(enabled=True)
    try:
        assert first is not second and second.exporter is exporter
        with xray.trace("one"):
            pass
        assert queue_for(exporter).flush(timeout=60)
        assert [s.name for s in exporter.get_finished_spans()] == ["one"]
    finally:
        queue_for(exporter).shutdown()


def test_without_an_exporter_traces_are_not_wrapped() -> None:
    from xray_core.recorder import ExportedTrace, TraceContext

    assert type(xray.XRay().trace("t")) is TraceContext
    exporter = InMemorySpanExporter()
    assert type(xray.XRay(exporter=exporter).trace("t")) is ExportedTrace
    assert type(xray.XRay(exporter=exporter, enabled=False).trace("t")).__name__ == "NullTrace"


def test_shutdown_does_not_wait_beyond_its_timeout_for_a_stalled_exporter(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exporter = BlockingExporter()
    export_queue = ExportQueue(exporter)
    xr = xray.XRay()
    xr._hand_off = export_queue.submit
    try:
        run_pipeline(xr, 3)
        assert exporter.entered.wait(timeout=60)
        with caplog.at_level(logging.WARNING, logger="xray_core"):
            export_queue.shutdown(timeout=0)  # returns although the exporter never will
        [message] = xray_warnings(caplog)
        assert message.endswith("traces were not exported before the exporter was shut down "
                                "(it did not keep up)") and message[6].isdigit()  # fmt: skip
    finally:
        exporter.release.set()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_exports_through_a_thread_of_its_own() -> None:
    exporter = InMemorySpanExporter()
    xr = xray.XRay(exporter=exporter)
    export_queue = queue_for(exporter)
    try:
        record_pipeline(xr, "parent")
        assert export_queue.flush(timeout=60)  # the parent's export thread runs
        pid = os.fork()
        if pid == 0:  # the child: the parent's thread is not here
            code = 1
            try:
                record_pipeline(xr, "child")
                flushed = export_queue.flush(timeout=60)
                roots = [s.name for s in exporter.get_finished_spans() if s.parent is None]
                code = 0 if flushed and roots == ["parent", "child"] else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        export_queue.shutdown()


def test_drops_from_many_threads_are_all_counted() -> None:
    exporter = BlockingExporter()
    export_queue = ExportQueue(exporter, max_queue=1)
    xr = xray.XRay()
    xr._hand_off = export_queue.submit
    try:
        run_pipeline(xr, 1)
        assert exporter.entered.wait(timeout=60)  # the worker holds the first trace
        run_pipeline(xr, 1)  # the queue's one place is taken
        threads = [threading.Thread(target=run_pipeline, args=(xr, 50)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert export_queue.dropped == 200
    finally:
        exporter.release.set()
        export_queue.shutdown()
