"""A trace as OpenTelemetry spans: the trace is the root span, each step a child span.

:func:`trace_spans` builds the spans (deterministically: the same trace gives the same span ids,
times and attributes) and :func:`export` hands them to any ``SpanExporter``. The attribute names
are those of :mod:`xray_core.otel.names`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from .. import __version__
from ..models import Step, Trace
from ..serialize import escape_surrogates, to_jsonable
from . import names as c

logger = logging.getLogger("xray_core")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MAX_NS = 2**64 - 1  # OTLP times are unsigned 64-bit nanoseconds
_INT64 = range(-(2**63), 2**63)  # OTLP integer attributes are signed 64-bit
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_STATUS_CODES = {"completed": StatusCode.OK, "failed": StatusCode.ERROR}
#: keys of the LLM metadata that are the call's parameters (``llm.invocation_parameters``)
_PARAMETERS = (
    "temperature", "max_tokens", "top_p", "top_k", "frequency_penalty", "presence_penalty",
    "stop", "seed",
)  # fmt: skip
_LOWER_HEX = frozenset("0123456789abcdef")  # int(..., 16) would also take "0x", "_", spaces
_JSON = json.JSONEncoder(ensure_ascii=False)  # one encoder: json.dumps makes one per call
_scope: InstrumentationScope | None = None
_resource: Resource | None = None

#: what attribute values may be (OpenTelemetry's types; sequences are homogeneous)
Attributes = dict[str, Any]


def export(
    trace: Trace, exporter: SpanExporter, *, resource: Resource | None = None
) -> SpanExportResult:
    """Send ``trace`` to ``exporter`` as spans; returns once ``exporter.export(spans)`` returned.

    :param trace: a trace as a store's ``get_trace`` returns it.
    :param exporter: any OpenTelemetry ``SpanExporter`` (OTLP, console, in-memory, ...).
    :param resource: the spans' resource; by default ``service.name`` ``xray`` (plus what
        ``OTEL_RESOURCE_ATTRIBUTES`` says).
    :returns: what the exporter returned.
    """
    return exporter.export(trace_spans(trace, resource=resource))


def trace_spans(trace: Trace, *, resource: Resource | None = None) -> list[ReadableSpan]:
    """The spans of ``trace``: its root span first, then one span per step in recording order."""
    resource = resource if resource is not None else default_resource()
    scope = _instrumentation_scope()
    trace_id = otel_trace_id(trace.trace_id)
    root = SpanContext(trace_id, root_span_id(trace.trace_id), False, _SAMPLED)
    contexts = {
        step.step_id: SpanContext(trace_id, step_span_id(trace.trace_id, step.step_id), False,
                                  _SAMPLED)
        for step in trace.steps
    }  # fmt: skip
    spans = [_trace_span(trace, root, resource, scope)]
    for step in trace.steps:
        parent = contexts.get(step.parent_id, root) if step.parent_id is not None else root
        spans.append(_step_span(trace, step, contexts[step.step_id], parent, resource, scope))
    return spans


def otel_trace_id(trace_id: str) -> int:
    """The 128-bit span trace id of an X-Ray trace id: the id itself when it is 32 hex digits
    (as the recorder makes them), else a hash of it."""
    if len(trace_id) == 32 and _LOWER_HEX.issuperset(trace_id):
        value = int(trace_id, 16)
        if value:
            return value
    return _hash(trace_id, 16)


def root_span_id(trace_id: str) -> int:
    """The 64-bit span id of a trace's root span (a hash of the trace id)."""
    return _hash(f"trace\0{trace_id}", 8)


def step_span_id(trace_id: str, step_id: str) -> int:
    """The 64-bit span id of a step's span (a hash of the trace and step ids)."""
    return _hash(f"step\0{trace_id}\0{step_id}", 8)


def default_resource() -> Resource:
    """``service.name`` ``xray``, merged with what ``OTEL_RESOURCE_ATTRIBUTES`` says."""
    global _resource
    if _resource is None:
        _resource = Resource.create({"service.name": c.DEFAULT_SERVICE_NAME})
    return _resource


def _instrumentation_scope() -> InstrumentationScope:
    global _scope
    if _scope is None:
        _scope = InstrumentationScope(c.SCOPE_NAME, __version__)
    return _scope


def _hash(text: str, size: int) -> int:
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=size).digest()
    return int.from_bytes(digest, "big") or 1  # 0 is the invalid id


def _trace_span(
    trace: Trace, context: SpanContext, resource: Resource, scope: InstrumentationScope
) -> ReadableSpan:
    attributes: Attributes = {
        c.SPAN_KIND: c.SPAN_KIND_CHAIN,
        c.TRACE_ID: _text(trace.trace_id),
        c.STATUS: trace.status,
        c.TRACE_METADATA: json_text(trace.metadata),
    }
    _set_times(attributes, trace.duration_ms, trace.end_time)
    if trace.run_id is not None:
        attributes[c.RUN_ID] = _text(trace.run_id)
    if trace.test_id is not None:
        attributes[c.TEST_ID] = _text(trace.test_id)
    start = _ns(trace.start_time)
    error = trace.metadata.get("error")
    events = _exception_events(error, start) if isinstance(error, str) else []
    return ReadableSpan(
        name=_text(trace.name),
        context=context,
        parent=None,
        resource=resource,
        attributes=attributes,
        events=events,
        kind=SpanKind.INTERNAL,
        status=_status(trace.status, error if isinstance(error, str) else None),
        start_time=start,
        end_time=_end_ns(start, trace.end_time),
        instrumentation_scope=scope,
    )


def _step_span(
    trace: Trace,
    step: Step,
    context: SpanContext,
    parent: SpanContext,
    resource: Resource,
    scope: InstrumentationScope,
) -> ReadableSpan:
    llm = step.llm
    attributes: Attributes = {
        c.SPAN_KIND: c.SPAN_KIND_LLM if llm is not None else c.SPAN_KIND_CHAIN,
        c.TRACE_ID: _text(trace.trace_id),
        c.STEP_ID: _text(step.step_id),
        c.STEP_ORDER: _int(step.step_order, 0),
        c.STATUS: step.status,
    }
    if step.parent_id is not None:
        attributes[c.PARENT_ID] = _text(step.parent_id)
    _set_times(attributes, step.duration_ms, step.end_time)
    if step.input is not None:
        attributes[c.INPUT_VALUE] = json_text(step.input)
        attributes[c.INPUT_MIME_TYPE] = c.JSON_MIME_TYPE
    if step.output is not None:
        attributes[c.OUTPUT_VALUE] = json_text(step.output)
        attributes[c.OUTPUT_MIME_TYPE] = c.JSON_MIME_TYPE
    if step.reasoning is not None:
        attributes[c.REASONING] = _text(step.reasoning)
    if step.error is not None:
        attributes[c.ERROR] = _text(step.error)
    start = _ns(step.start_time)
    events, metadata = _evaluation_events(step.metadata, start)
    attributes[c.STEP_METADATA] = json_text(metadata)
    if llm is not None:
        attributes.update(llm_attributes(llm))
    if step.error is not None:
        events.extend(_exception_events(step.error, start))
    return ReadableSpan(
        name=_text(step.name),
        context=context,
        parent=parent,
        resource=resource,
        attributes=attributes,
        events=events,
        kind=SpanKind.INTERNAL,
        status=_status(step.status, step.error),
        start_time=start,
        end_time=_end_ns(start, step.end_time),
        instrumentation_scope=scope,
    )


def _set_times(attributes: Attributes, duration_ms: float | None, end: datetime | None) -> None:
    if duration_ms is not None:
        attributes[c.DURATION_MS] = float(duration_ms)
    if end is None:
        attributes[c.UNFINISHED] = True


def _status(status: str, error: str | None) -> Status:
    code = _STATUS_CODES.get(status, StatusCode.UNSET)
    if code is StatusCode.ERROR and error:
        return Status(code, _text(error.partition("\n")[0]))
    return Status(code)


def _exception_events(error: str, timestamp: int) -> list[Event]:
    """The OpenTelemetry ``exception`` event of an error recorded as ``"Type: message\\n..."``."""
    first = error.partition("\n")[0]
    kind, sep, message = first.partition(": ")
    if not sep or not kind.replace(".", "").replace("_", "").isalnum():
        kind, message = "Error", first
    attributes = {
        c.EXCEPTION_TYPE: _text(kind),
        c.EXCEPTION_MESSAGE: _text(message),
        c.EXCEPTION_STACKTRACE: _text(error),
    }
    return [Event(c.EXCEPTION_EVENT, attributes, timestamp)]


def _evaluation_events(
    metadata: dict[str, Any], timestamp: int
) -> tuple[list[Event], dict[str, Any]]:
    """One ``xray.evaluation`` event per evaluation, and the metadata left for ``xray.metadata``.

    The evaluations leave the metadata only when the events hold them exactly (every entry is
    an evaluation as ``add_evaluation`` records it); otherwise they stay in the metadata and no
    event is written, so that a capture finds each evaluation in one place only.
    """
    raw = metadata.get("evaluations")
    if type(raw) is not list or not raw or not all(_recorded_evaluation(e) for e in raw):
        return [], metadata
    events = [Event(c.EVALUATION_EVENT, evaluation_attributes(e), timestamp) for e in raw]
    return events, {key: value for key, value in metadata.items() if key != "evaluations"}


_EVALUATION_KEYS = {"item_id", "item_data", "filters", "qualified", "reasoning"}
_FILTER_KEYS = {"name", "passed", "detail"}


def _recorded_evaluation(entry: Any) -> bool:
    """``entry`` is an evaluation exactly as ``add_evaluation`` records it (its keys, their
    types): the ``xray.evaluation`` event's attributes give it back equal."""
    return (
        type(entry) is dict
        and entry.keys() == _EVALUATION_KEYS
        and type(entry["item_id"]) is str
        and type(entry["item_data"]) is dict
        and type(entry["qualified"]) is bool
        and (entry["reasoning"] is None or type(entry["reasoning"]) is str)
        and type(entry["filters"]) is list
        and all(
            type(f) is dict
            and f.keys() == _FILTER_KEYS
            and type(f["name"]) is str
            and type(f["passed"]) is bool
            and (f["detail"] is None or type(f["detail"]) is str)
            for f in entry["filters"]
        )
    )


def evaluation_attributes(evaluation: Mapping[str, Any]) -> Attributes:
    """The attributes of one candidate's ``xray.evaluation`` event, from an evaluation as
    ``add_evaluation`` records it (``Evaluation.model_dump()`` gives one too)."""
    filters = evaluation["filters"]
    attributes: Attributes = {
        c.EVAL_ITEM_ID: _text(evaluation["item_id"]),
        c.EVAL_QUALIFIED: evaluation["qualified"],
        c.EVAL_ITEM_DATA: json_text(evaluation["item_data"]),
        c.EVAL_FILTERS: json_text(filters),
        c.EVAL_FAILED_FILTERS: tuple(_text(f["name"]) for f in filters if not f["passed"]),
        c.EVAL_PASSED_FILTERS: tuple(_text(f["name"]) for f in filters if f["passed"]),
    }
    if evaluation["reasoning"] is not None:
        attributes[c.EVAL_REASONING] = _text(evaluation["reasoning"])
    return attributes


def llm_attributes(llm: Mapping[str, Any]) -> Attributes:
    """OpenInference ``llm.*`` and OpenTelemetry ``gen_ai.*`` attributes of ``add_llm_metadata``
    metadata (model, token counts, parameters, prompt and response); what is not there is left
    out."""
    attributes: Attributes = {}
    model = llm.get("model")
    if isinstance(model, str):
        attributes[c.LLM_MODEL_NAME] = attributes[c.GEN_AI_REQUEST_MODEL] = _text(model)
    provider = llm.get("provider")
    if isinstance(provider, str):
        attributes[c.LLM_PROVIDER] = _text(provider)
    system = llm.get("system")
    if isinstance(system, str):
        attributes[c.LLM_SYSTEM] = attributes[c.GEN_AI_SYSTEM] = _text(system)
    total = _int(llm.get("tokens_used", llm.get("total_tokens")))
    if total is not None:
        attributes[c.LLM_TOKEN_COUNT_TOTAL] = total
    prompt_tokens = _int(llm.get("prompt_tokens", llm.get("input_tokens")))
    if prompt_tokens is not None:
        attributes[c.LLM_TOKEN_COUNT_PROMPT] = prompt_tokens
        attributes[c.GEN_AI_USAGE_INPUT_TOKENS] = prompt_tokens
    completion_tokens = _int(llm.get("completion_tokens", llm.get("output_tokens")))
    if completion_tokens is not None:
        attributes[c.LLM_TOKEN_COUNT_COMPLETION] = completion_tokens
        attributes[c.GEN_AI_USAGE_OUTPUT_TOKENS] = completion_tokens
    temperature = llm.get("temperature")
    if isinstance(temperature, (int, float)) and not isinstance(temperature, bool):
        attributes[c.GEN_AI_REQUEST_TEMPERATURE] = float(temperature)
    max_tokens = _int(llm.get("max_tokens"))
    if max_tokens is not None:
        attributes[c.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    parameters = {k: llm[k] for k in _PARAMETERS if llm.get(k) is not None}
    if parameters:
        attributes[c.LLM_INVOCATION_PARAMETERS] = json_text(parameters)
    _messages(attributes, c.LLM_INPUT_MESSAGES, llm.get("prompt", llm.get("messages")), "user")
    _messages(attributes, c.LLM_OUTPUT_MESSAGES, llm.get("response"), "assistant")
    return attributes


def _messages(attributes: Attributes, prefix: str, value: Any, role: str) -> None:
    """``prefix.N.message.role``/``.content`` of a text (one message) or a list of messages."""
    if isinstance(value, str):
        messages: Sequence[Any] = [{"role": role, "content": value}]
    elif isinstance(value, list):
        messages = value
    else:
        return
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        found_role, content = message.get("role"), message.get("content")
        if isinstance(found_role, str):
            attributes[f"{prefix}.{index}.{c.MESSAGE_ROLE}"] = _text(found_role)
        if content is not None:
            text = content if isinstance(content, str) else json_text(content)
            attributes[f"{prefix}.{index}.{c.MESSAGE_CONTENT}"] = _text(text)


def json_text(value: Any) -> str:
    """``value`` as JSON text (valid UTF-8, read back equal by ``json.loads``); never raises."""
    try:
        text = _JSON.encode(value)
    except (TypeError, ValueError, RecursionError):  # not JSON data: what the recorder keeps
        text = _JSON.encode(to_jsonable(value))
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: \\u-escaped, which json.loads reads back
            text = json.dumps(json.loads(text), ensure_ascii=True)
    return text


def _text(value: str) -> str:
    if type(value) is str:
        return value if value.isascii() else escape_surrogates(value)
    return escape_surrogates(str(value))


def _int(value: Any, default: int | None = None) -> int | None:
    if type(value) is int and value in _INT64:
        return value
    return default


def _ns(moment: datetime) -> int:
    """Nanoseconds since the epoch, exactly (a datetime holds microseconds)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - _EPOCH
    ns = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    return min(max(ns, 0), _MAX_NS)


def _end_ns(start: int, end: datetime | None) -> int:
    return start if end is None else _ns(end)
