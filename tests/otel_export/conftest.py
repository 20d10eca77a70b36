"""Fixtures of the OpenTelemetry export tests: a fresh default recorder, recorded traces, and an
OTLP/HTTP receiver on localhost that decodes what the real exporter sends."""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

import xray_core as xray
from xray_core import ambient


@pytest.fixture(autouse=True)
def fresh_default_recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts without a default recorder and without X-Ray environment variables."""
    for name in ("XRAY_DB", "XRAY_ENABLED", "XRAY_OTLP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(ambient, "_default", None)
    monkeypatch.setattr(ambient, "_env_exporter", None)
    yield


def record_pipeline(xr: xray.XRay, name: str = "pipeline", fail: bool = False) -> str:
    """Record a trace with every kind of data (nested steps, evaluations, LLM metadata, a failed
    step when ``fail``); returns its id."""
    try:
        with xr.trace(name, metadata={"product_id": "P1"}) as trace:
            with trace.step("keywords", input={"title": "Steel bottle"}) as step:
                step.set_output({"keywords": ["steel", "bottle"]})
                step.set_reasoning("material and kind")
                step.add_llm_metadata(
                    model="mock-llm", tokens_used=42, temperature=0.2, prompt="Title: Steel bottle",
                    response="steel, bottle", prompt_tokens=30, completion_tokens=12,
                )  # fmt: skip
                with step.step("tokenize", input="Steel bottle") as inner:
                    inner.set_output(["Steel", "bottle"])
            with trace.step("filter") as step:
                step.add_evaluation(
                    item_id="B0X", item_data={"price": 9.5},
                    filters=[{"name": "price", "passed": False, "detail": "9.50 < 12.50"},
                             {"name": "rating", "passed": True, "detail": "4.5 > 3.8"}],
                    qualified=False, reasoning="too cheap",
                )  # fmt: skip
                step.add_evaluation(
                    item_id="B0Y", item_data={"price": 20.0},
                    filters=[{"name": "price", "passed": True, "detail": None}],
                    qualified=True,
                )  # fmt: skip
            if fail:
                with trace.step("rank"):
                    raise KeyError("no ranker")
    except KeyError:
        pass
    return trace.trace_id


class Receiver:
    """What an OTLP/HTTP collector received: one decoded request per POST to /v1/traces."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []
        self.content_types: list[str] = []
        self.received = threading.Condition()

    def spans(self) -> list[tuple[object, object, object]]:
        """(resource, scope, span) of every span received, in order."""
        return [
            (resource_spans.resource, scope_spans.scope, span)
            for request in self.requests
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]

    def wait_for_spans(self, count: int, timeout: float = 30.0) -> list[tuple[object, object, object]]:
        with self.received:
            self.received.wait_for(lambda: len(self.spans()) >= count, timeout)
        return self.spans()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An OTLP/HTTP trace receiver on localhost (a thread), decoding each request's protobuf."""
    found: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers["Content-Length"]))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            request = ExportTraceServiceRequest.FromString(body)
            target = found[0]
            with target.received:
                target.requests.append(request)
                target.paths.append(self.path)
                target.content_types.append(self.headers.get("Content-Type", ""))
                target.received.notify_all()
            reply = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
