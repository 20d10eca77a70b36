"""The real OTLP/HTTP exporter sending X-Ray traces to a receiver on localhost, which decodes the
protobuf with opentelemetry-proto: synchronously with ``export``, in the background with
``configure(exporter=...)``, and from ``XRAY_OTLP_ENDPOINT`` in a process that then exits."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from opentelemetry.sdk.trace.export import SpanExportResult

import xray_core as xray
from xray_core.otel import names as c
from xray_core.otel import export, queue_for, trace_spans

from .conftest import Receiver, record_pipeline

ROOT = Path(__file__).resolve().parents[2]


def value(any_value: AnyValue) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return tuple(value(v) for v in any_value.array_value.values)
    return getattr(any_value, kind)


def attributes(span: Any) -> dict[str, Any]:
    return {kv.key: value(kv.value) for kv in span.attributes}


def test_export_sends_the_spans_over_otlp_http_before_it_returns(receiver: Receiver) -> None:
    xr = xray.XRay()
    trace = xr.store.get_trace(record_pipeline(xr, fail=True))
    assert trace is not None
    exporter = OTLPSpanExporter(endpoint=f"{receiver.url}/v1/traces")
    try:
        assert export(trace, exporter) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    assert len(receiver.requests) == 1 and receiver.paths == ["/v1/traces"]  # no waiting
    assert receiver.content_types == ["application/x-protobuf"]
    received = receiver.spans()
    expected = trace_spans(trace)
    assert [span.name for _, _, span in received] == [s.name for s in expected]
    resource, scope, _ = received[0]
    assert {kv.key: value(kv.value) for kv in resource.attributes}["service.name"] == "xray"
    assert scope.name == "xray_core"
    for (_, _, span), sdk_span in zip(received, expected):
        assert span.trace_id == bytes.fromhex(trace.trace_id)
        assert span.span_id == sdk_span.context.span_id.to_bytes(8, "big")
        parent = sdk_span.parent
        assert span.parent_span_id == (parent.span_id.to_bytes(8, "big") if parent else b"")
        assert (span.start_time_unix_nano, span.end_time_unix_nano) == (
            sdk_span.start_time, sdk_span.end_time
        )
        assert span.kind == Span.SPAN_KIND_INTERNAL
        assert attributes(span) == dict(sdk_span.attributes)
        assert [(e.name, attributes(e), e.time_unix_nano) for e in span.events] == [
            (e.name, dict(e.attributes), e.timestamp) for e in sdk_span.events
        ]
        assert span.status.code == sdk_span.status.status_code.value
    by_name = {span.name: span for _, _, span in received}
    assert by_name["rank"].status.code == Status.STATUS_CODE_ERROR
    assert by_name["rank"].status.message == "KeyError: 'no ranker'"
    filter_events = by_name["filter"].events
    assert [attributes(e)[c.EVAL_ITEM_ID] for e in filter_events] == ["B0X", "B0Y"]
    assert attributes(filter_events[0])[c.EVAL_FAILED_FILTERS] == ("price",)
    assert attributes(by_name["keywords"])[c.LLM_TOKEN_COUNT_TOTAL] == 42


def test_configure_exporter_sends_every_finished_trace(receiver: Receiver) -> None:
    exporter = OTLPSpanExporter(endpoint=f"{receiver.url}/v1/traces")
    recorder = xray.configure(exporter=exporter)
    try:
        with xray.trace("first"):
            with xray.step("a") as step:
                step.set_output({"n": 1})
        with xray.trace("second"):
            pass
        assert queue_for(exporter).flush(timeout=30)
    finally:
        queue_for(exporter).shutdown()
    names = [span.name for _, _, span in receiver.spans()]
    assert sorted(names) == ["a", "first", "second"]
    assert queue_for(exporter).exported == 2 and queue_for(exporter).dropped == 0
    assert recorder.exporter is exporter
    assert xray.configure(enabled=True).exporter is exporter  # kept by a later configure()


SCRIPT = """
import xray_core

for n in range(3):
    with xray_core.trace(f"job-{n}", metadata={"n": n}):
        with xray_core.step("work", input={"n": n}) as step:
            step.set_output(n * n)
print("recorded")
"""


def test_xray_otlp_endpoint_exports_and_flushes_at_exit(
    receiver: Receiver, tmp_path: Path
) -> None:
    script = tmp_path / "pipeline.py"
    script.write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    env = {"PATH": "", "PYTHONPATH": str(ROOT), "XRAY_OTLP_ENDPOINT": f" {receiver.url}/ "}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "recorded\n" and done.stderr == ""
    # the process exited right after its last trace: the exit handler flushed the queue
    received = receiver.spans()
    assert sorted(span.name for _, _, span in received) == ["job-0", "job-1", "job-2"] + ["work"] * 3
    assert set(receiver.paths) == {"/v1/traces"}  # the base URL got the traces path
    roots = [span for _, _, span in received if span.name.startswith("job-")]
    assert sorted(attributes(span)[c.TRACE_METADATA] for span in roots) == [
        '{"n": 0}', '{"n": 1}', '{"n": 2}'
    ]


def test_xray_otlp_endpoint_is_not_used_while_recording_is_off(
    receiver: Receiver, tmp_path: Path
) -> None:
    script = tmp_path / "pipeline.py"
    script.write_text(textwrap.dedent(SCRIPT) + (
        "import sys\nprint(sorted(m for m in sys.modules if m.startswith('opentelemetry'))[:1])\n"
    ), encoding="utf-8")  # fmt: skip
    env = {"PATH": "", "PYTHONPATH": str(ROOT), "XRAY_OTLP_ENDPOINT": receiver.url,
           "XRAY_ENABLED": "0"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "recorded\n[]\n"  # not even imported
    assert receiver.requests == []


WITHOUT_OTEL = """
import sys


class NoOpenTelemetry:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "opentelemetry":
            raise ImportError(f"No module named {name!r}")


sys.meta_path.insert(0, NoOpenTelemetry())
""" + SCRIPT


def test_xray_otlp_endpoint_without_the_extra_warns_and_records(tmp_path: Path) -> None:
    script = tmp_path / "pipeline.py"
    script.write_text(WITHOUT_OTEL, encoding="utf-8")
    env = {"PATH": "", "PYTHONPATH": str(ROOT), "XRAY_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "recorded\n"
    assert done.stderr.count("XRAY_OTLP_ENDPOINT is set but OpenTelemetry is missing") == 1
    assert "pip install 'decisiontracex[otel]'" in done.stderr
