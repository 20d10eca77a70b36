"""Every finished trace to a ``SpanExporter``, off the recording thread.

The recording thread only puts the finished trace on a bounded queue (:meth:`ExportQueue.submit`);
a daemon thread builds its model and spans and calls the exporter. A slow or failing exporter
therefore never slows or fails the pipeline: when the queue is full a trace is dropped and
counted, and an export that raises or fails is counted; each is logged once. The queue is flushed
when the process exits (for :data:`EXIT_FLUSH_SECONDS` at most).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
import weakref
from typing import Any, Protocol
from urllib.parse import urlsplit

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from .spans import default_resource, trace_spans

logger = logging.getLogger("xray_core")

#: traces waiting for the exporter; beyond this, finished traces are dropped (and counted)
DEFAULT_MAX_QUEUE = 2048
#: traces sent to the exporter in one ``export`` call at most
DEFAULT_MAX_BATCH = 64
#: how long the exit handler waits for the queue to empty
EXIT_FLUSH_SECONDS = 5.0

_STOP = object()
_queues: dict[int, ExportQueue] = {}  # by id() of the SpanExporter, which the queue keeps alive
_queues_lock = threading.Lock()
_live: weakref.WeakSet[ExportQueue] = weakref.WeakSet()


class Finished(Protocol):
    """A finished trace as the recorder hands it over (a ``TraceContext``)."""

    def to_model(self) -> Any:
        """The trace as a :class:`~xray_core.models.Trace`."""


class ExportQueue:
    """A bounded queue of finished traces and the thread that exports them as spans.

    :param exporter: any OpenTelemetry ``SpanExporter``.
    :param max_queue: traces kept waiting at most; more are dropped (and counted).
    :param max_batch: traces sent in one ``exporter.export`` call at most.
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        max_queue: int = DEFAULT_MAX_QUEUE,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        if type(max_queue) is not int or max_queue < 1:
            raise ValueError(f"max_queue must be a positive int, not {max_queue!r}")
        if type(max_batch) is not int or max_batch < 1:
            raise ValueError(f"max_batch must be a positive int, not {max_batch!r}")
        self.exporter = exporter
        self.max_queue = max_queue
        self.max_batch = max_batch
        #: traces handed to the exporter, dropped on a full queue, and whose export failed
        self.exported = 0
        self.dropped = 0
        self.failed = 0
        self._closed = False
        self._warned: set[str] = set()
        self._reset()
        _live.add(self)
        # Made now, not on the export thread: a process may exit right after its first trace,
        # and the exit flush cannot import what registers exit handlers (as resource detection
        # may).
        default_resource()

    def _reset(self) -> None:
        """A new queue and no thread (also in a forked child, where the thread is gone)."""
        self._queue: queue.Queue[Any] = queue.Queue(self.max_queue)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # a forked child must not inherit it held

    def submit(self, trace: Finished) -> None:
        """Queue a finished trace for export; never blocks, never raises (a full queue drops)."""
        if self._thread is None and not self._start():
            self._drop()
            return
        try:
            self._queue.put_nowait(trace)
        except queue.Full:
            self._drop()

    def _drop(self) -> None:
        with self._lock:  # recording threads drop concurrently: no count may be lost
            self.dropped += 1
        if self._closed:
            self._warn_once("closed", "xray: a trace finished after the OpenTelemetry export "
                            "queue was shut down; dropped and counted in ExportQueue.dropped")
        else:
            self._warn_once(
                "dropped",
                "xray: the OpenTelemetry export queue is full (%d traces; the exporter is slower "
                "than the pipeline): traces are dropped and counted in ExportQueue.dropped",
                self.max_queue,
            )

    def _start(self) -> bool:
        """Start the export thread (once); False after :meth:`shutdown`."""
        with self._lock:
            if self._closed:
                return False
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="xray-otel-export", daemon=True)
                thread.start()
                self._thread = thread
                atexit.register(self._at_exit)
            return True

    def _run(self) -> None:
        pending = self._queue
        while True:
            batch = [pending.get()]
            while batch[-1] is not _STOP and len(batch) < self.max_batch:
                try:
                    batch.append(pending.get_nowait())
                except queue.Empty:
                    break
            stop = batch[-1] is _STOP
            traces = batch[:-1] if stop else batch
            try:
                if traces:
                    self._export(traces)
            finally:
                for _ in batch:
                    pending.task_done()
            if stop:
                return

    def _export(self, traces: list[Finished]) -> None:
        spans = []
        built = 0
        for trace in traces:
            try:
                spans.extend(trace_spans(trace.to_model()))
                built += 1
            except Exception:  # noqa: BLE001 - one unreadable trace must not stop the others
                self.failed += 1
                logger.exception("xray: a trace could not be turned into spans; not exported")
        if not spans:
            return
        try:
            result = self.exporter.export(spans)
        except Exception as exc:  # noqa: BLE001 - the exporter's failure is counted and logged
            self.failed += built
            self._warn_once("raised", "xray: the span exporter raised %r; traces are counted in "
                            "ExportQueue.failed and not retried", exc)  # fmt: skip
            return
        if result is SpanExportResult.FAILURE:
            self.failed += built
            self._warn_once("failed", "xray: the span exporter %s failed to export; traces are "
                            "counted in ExportQueue.failed", type(self.exporter).__name__)  # fmt: skip
        else:
            self.exported += built

    def _warn_once(self, what: str, message: str, *args: Any) -> None:
        if what not in self._warned:
            self._warned.add(what)
            logger.warning(message, *args)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued trace went to the exporter; False if ``timeout`` passed first."""
        pending = self._queue
        deadline = None if timeout is None else time.monotonic() + timeout
        with pending.all_tasks_done:
            while pending.unfinished_tasks:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                pending.all_tasks_done.wait(remaining)
        return True

    def shutdown(self, timeout: float | None = EXIT_FLUSH_SECONDS) -> None:
        """Flush (for ``timeout`` seconds at most), stop the thread and shut the exporter down.

        Traces finished afterwards are dropped (and counted).
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread, self._thread = self._thread, None
        if thread is not None:
            if self.flush(timeout):
                self._queue.put(_STOP)
                thread.join(timeout)
            else:
                logger.warning("xray: %d traces were not exported before the exporter was shut "
                               "down (it did not keep up)", self._queue.unfinished_tasks)  # fmt: skip
            atexit.unregister(self._at_exit)
        try:
            self.exporter.shutdown()
        except Exception:  # noqa: BLE001 - at exit: log, never raise
            logger.exception("xray: shutting the span exporter down failed")

    def _at_exit(self) -> None:
        self.shutdown(EXIT_FLUSH_SECONDS)


def queue_for(exporter: SpanExporter) -> ExportQueue:
    """The one export queue of ``exporter`` (made on first use), shared by every recorder that
    exports to it (``configure`` makes a new recorder each time it is called)."""
    with _queues_lock:
        found = _queues.get(id(exporter))
        if found is None or found.exporter is not exporter:
            found = _queues[id(exporter)] = ExportQueue(exporter)
        return found


def otlp_exporter(endpoint: str) -> SpanExporter:
    """The OTLP/HTTP span exporter sending to ``endpoint``: a collector's base URL
    (``http://localhost:4318``, to which ``/v1/traces`` is added) or the full traces URL."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = endpoint.strip()
    if urlsplit(endpoint).path in ("", "/"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    return OTLPSpanExporter(endpoint=endpoint)


def _after_fork_in_child() -> None:
    for found in list(_live):
        found._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
