"""The attribute convention between X-Ray traces and OpenTelemetry spans, defined once.

Export (:mod:`xray_core.otel.spans`) writes spans with these names and capture reads them back
with the same names; docs/otel.md shows them as a mapping table. Nothing here imports
OpenTelemetry.

A trace becomes a root span and each step a child span of it (or of its parent step's span).
Names from the `OpenInference semantic conventions
<https://github.com/Arize-ai/openinference/blob/main/spec/semantic_conventions.md>`_ (``input.*``,
``output.*``, ``metadata``, ``llm.*``, ``openinference.span.kind``) and the OpenTelemetry GenAI
conventions (``gen_ai.*``) are used where they exist, ``xray.*`` names for the rest.

What a capture reads back to rebuild an equal trace (the other names are views for backends):

- ids, order, status and timing: the ``xray.*`` span attributes below, span start/end times;
- input/output: ``input.value``/``output.value`` (JSON text, ``application/json``);
- metadata: ``metadata`` (JSON text of the step's metadata). When every entry of the step's
  ``metadata["evaluations"]`` is an evaluation as ``add_evaluation`` records it, the entries are
  not in ``metadata`` but each is one ``xray.evaluation`` span event, in order; otherwise
  ``metadata`` keeps the list as it is (the events are still written for backends);
- error: ``xray.error`` (a step's error text, verbatim); a trace's error is in its metadata.
"""

from __future__ import annotations

from typing import Literal, get_args

# -- OpenInference --------------------------------------------------------------------------
#: the OpenInference span kind: ``LLM`` for a step with LLM metadata, else ``CHAIN``
OPENINFERENCE_SPAN_KIND = "openinference.span.kind"
SpanKindName = Literal["CHAIN", "LLM"]
SPAN_KIND_CHAIN: SpanKindName = "CHAIN"
SPAN_KIND_LLM: SpanKindName = "LLM"
INPUT_VALUE = "input.value"
INPUT_MIME_TYPE = "input.mime_type"
OUTPUT_VALUE = "output.value"
OUTPUT_MIME_TYPE = "output.mime_type"
#: the mime type of every ``input.value``/``output.value`` X-Ray writes (the value is JSON text)
JSON_MIME_TYPE = "application/json"
#: JSON text of the trace's or step's metadata (evaluations written as events left out)
METADATA = "metadata"
LLM_MODEL_NAME = "llm.model_name"
LLM_PROVIDER = "llm.provider"
LLM_SYSTEM = "llm.system"
LLM_TOKEN_COUNT_PROMPT = "llm.token_count.prompt"
LLM_TOKEN_COUNT_COMPLETION = "llm.token_count.completion"
LLM_TOKEN_COUNT_TOTAL = "llm.token_count.total"
#: JSON text of the call's parameters (temperature, max_tokens, top_p, ...)
LLM_INVOCATION_PARAMETERS = "llm.invocation_parameters"
#: ``llm.input_messages.0.message.role`` / ``.content``: the prompt, as one user message
LLM_INPUT_MESSAGES = "llm.input_messages"
#: ``llm.output_messages.0.message.role`` / ``.content``: the response, as one assistant message
LLM_OUTPUT_MESSAGES = "llm.output_messages"
MESSAGE_ROLE = "message.role"
MESSAGE_CONTENT = "message.content"

# -- OpenTelemetry GenAI ------------------------------------------------------------------------
GEN_AI_SYSTEM = "gen_ai.system"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature"
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"

# -- OpenTelemetry exceptions (semantic conventions) -------------------------------------------
EXCEPTION_EVENT = "exception"
EXCEPTION_TYPE = "exception.type"
EXCEPTION_MESSAGE = "exception.message"
EXCEPTION_STACKTRACE = "exception.stacktrace"

# -- X-Ray ---------------------------------------------------------------------------------------
#: what a span stands for: the trace (the root span) or one step
XrayKind = Literal["trace", "step"]
XRAY_KINDS: tuple[XrayKind, ...] = get_args(XrayKind)
XRAY_KIND = "xray.kind"
#: the X-Ray trace id, verbatim (the span's 128-bit trace id is derived from it), on every span
XRAY_TRACE_ID = "xray.trace_id"
XRAY_STEP_ID = "xray.step_id"
#: the step's ``parent_id`` verbatim (set only when the step has one)
XRAY_PARENT_ID = "xray.parent_id"
XRAY_STEP_ORDER = "xray.step_order"
#: ``running``, ``completed`` or ``failed`` (the span status says OK/ERROR/UNSET for backends)
XRAY_STATUS = "xray.status"
#: the recorded duration in milliseconds (measured on a monotonic clock, so not end - start)
XRAY_DURATION_MS = "xray.duration_ms"
#: True when the trace or step has no end time (the span then ends when it starts)
XRAY_UNFINISHED = "xray.unfinished"
XRAY_REASONING = "xray.reasoning"
XRAY_ERROR = "xray.error"
XRAY_RUN_ID = "xray.run_id"
XRAY_TEST_ID = "xray.test_id"

#: the span event of one evaluated candidate, in evaluation order
EVALUATION_EVENT = "xray.evaluation"
EVALUATION_ITEM_ID = "xray.item_id"
EVALUATION_QUALIFIED = "xray.qualified"
EVALUATION_REASONING = "xray.reasoning"
#: JSON text of the candidate's ``item_data``
EVALUATION_ITEM_DATA = "xray.item_data"
#: JSON text of the filter list: ``[{"name", "passed", "detail"}, ...]`` (each filter's
#: pass/fail and detail, in order)
EVALUATION_FILTERS = "xray.filters"
#: the names of the filters the candidate failed (for a backend's query: ``rejected by price``)
EVALUATION_FAILED_FILTERS = "xray.failed_filters"
#: the names of the filters the candidate passed
EVALUATION_PASSED_FILTERS = "xray.passed_filters"

#: the instrumentation scope of every exported span
SCOPE_NAME = "xray_core"
#: ``service.name`` of the resource when the caller gives none
DEFAULT_SERVICE_NAME = "xray"
