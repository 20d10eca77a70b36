"""The span attribute and event names X-Ray reads (capture) and writes (export).

OpenInference semantic conventions (https://github.com/Arize-ai/openinference) and the
OpenTelemetry ``gen_ai.*`` conventions give the step's input, output and LLM call; the ``xray.*``
names are our own documented convention for what those conventions have no name for
(evaluations, reasoning, free-form metadata). docs/otel.md has the table.
"""

from __future__ import annotations

from typing import Final, Literal

# -- OpenInference ---------------------------------------------------------------------------
SPAN_KIND: Final = "openinference.span.kind"
INPUT_VALUE: Final = "input.value"
INPUT_MIME_TYPE: Final = "input.mime_type"
OUTPUT_VALUE: Final = "output.value"
OUTPUT_MIME_TYPE: Final = "output.mime_type"
JSON_MIME_TYPE: Final = "application/json"
TEXT_MIME_TYPE: Final = "text/plain"
#: OpenInference's free-form metadata (a JSON object), merged into the step's metadata
METADATA: Final = "metadata"

LLM_MODEL_NAME: Final = "llm.model_name"
LLM_PROVIDER: Final = "llm.provider"
LLM_SYSTEM: Final = "llm.system"
LLM_INVOCATION_PARAMETERS: Final = "llm.invocation_parameters"
LLM_TOKEN_COUNT_PROMPT: Final = "llm.token_count.prompt"
LLM_TOKEN_COUNT_COMPLETION: Final = "llm.token_count.completion"
LLM_TOKEN_COUNT_TOTAL: Final = "llm.token_count.total"
LLM_PROMPTS: Final = "llm.prompts"
LLM_PROMPT_TEMPLATE: Final = "llm.prompt_template.template"
#: ``llm.input_messages.<i>.message.<field>`` (role, content, ...)
LLM_INPUT_MESSAGES: Final = "llm.input_messages"
LLM_OUTPUT_MESSAGES: Final = "llm.output_messages"

# -- OpenTelemetry gen_ai.* ------------------------------------------------------------------
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_SYSTEM: Final = "gen_ai.system"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_PROMPT_TOKENS: Final = "gen_ai.usage.prompt_tokens"  # the older name
GEN_AI_USAGE_COMPLETION_TOKENS: Final = "gen_ai.usage.completion_tokens"  # the older name
GEN_AI_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
#: ``gen_ai.prompt.<i>.<field>`` / ``gen_ai.completion.<i>.<field>`` (the older message form)
GEN_AI_PROMPT: Final = "gen_ai.prompt"
GEN_AI_COMPLETION: Final = "gen_ai.completion"

# -- OpenTelemetry exceptions ----------------------------------------------------------------
EXCEPTION_EVENT: Final = "exception"
EXCEPTION_TYPE: Final = "exception.type"
EXCEPTION_MESSAGE: Final = "exception.message"
EXCEPTION_STACKTRACE: Final = "exception.stacktrace"

# -- ours: xray.* ----------------------------------------------------------------------------
#: one span event per evaluated candidate
EVALUATION_EVENT: Final = "xray.evaluation"
#: the evaluated candidate's id (any value; kept as text)
EVAL_ITEM_ID: Final = "xray.item_id"
#: bool: did the candidate qualify
EVAL_QUALIFIED: Final = "xray.qualified"
#: the candidate's data, a JSON object
EVAL_ITEM_DATA: Final = "xray.item_data"
#: why, in words
EVAL_REASONING: Final = "xray.reasoning"
#: every filter as a JSON list of ``{"name", "passed", "detail"}``
EVAL_FILTERS: Final = "xray.filters"
#: one filter by name: ``xray.filter.<name>.passed`` (bool) and ``xray.filter.<name>.detail``
EVAL_FILTER_PREFIX: Final = "xray.filter."
EVAL_FILTER_PASSED: Final = ".passed"
EVAL_FILTER_DETAIL: Final = ".detail"

#: the step's reasoning (text)
REASONING: Final = "xray.reasoning"
#: the step's free-form metadata, a JSON object
STEP_METADATA: Final = "xray.metadata"
#: on a root span written by X-Ray's export: the trace's metadata (a JSON object); a root span
#: carrying it is the trace itself, not also a step
TRACE_METADATA: Final = "xray.trace.metadata"

#: OpenInference span kinds (``openinference.span.kind``)
SpanKind = Literal[
    "LLM", "CHAIN", "TOOL", "RETRIEVER", "EMBEDDING", "AGENT", "RERANKER", "GUARDRAIL",
    "EVALUATOR", "UNKNOWN",
]  # fmt: skip
#: the span kinds export writes: ``LLM`` for a step with LLM metadata, else ``CHAIN``
SPAN_KIND_LLM: Final = "LLM"
SPAN_KIND_CHAIN: Final = "CHAIN"
#: ``llm.{input,output}_messages.<i>.message.role`` / ``.content``
MESSAGE_ROLE: Final = "message.role"
MESSAGE_CONTENT: Final = "message.content"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"

# -- ours: what export (xray_core.otel.spans) writes so that a capture rebuilds the trace equal --
# Ids, order, status and timing, verbatim; the span's own ids are derived from them (a 32-hex
# trace id is the span trace id itself) and its start/end times are the recorded ones.
#: the X-Ray trace id (on every span)
TRACE_ID: Final = "xray.trace_id"
#: the step's id (on step spans)
STEP_ID: Final = "xray.step_id"
#: the step's ``parent_id`` (set only when it has one; the span's parent is that step's span)
PARENT_ID: Final = "xray.parent_id"
#: the step's ``step_order`` (int)
STEP_ORDER: Final = "xray.step_order"
#: ``running``, ``completed`` or ``failed`` (the span status says UNSET, OK or ERROR)
STATUS: Final = "xray.status"
#: the recorded duration in ms (float; measured on a monotonic clock, so not end - start)
DURATION_MS: Final = "xray.duration_ms"
#: True when the trace or step has no end time (its span then ends when it starts)
UNFINISHED: Final = "xray.unfinished"
#: the step's error text, verbatim (``"Type: message"`` then the traceback); an ``exception``
#: event is written too, for backends. A trace's error is in its metadata (``error``).
ERROR: Final = "xray.error"
#: the trace's ``run_id`` / ``test_id`` (root span, when set)
RUN_ID: Final = "xray.run_id"
TEST_ID: Final = "xray.test_id"
#: the names of the filters a candidate failed / passed (string arrays, on ``xray.evaluation``
#: events, for a backend's queries; ``xray.filters`` holds the filters exactly)
EVAL_FAILED_FILTERS: Final = "xray.failed_filters"
EVAL_PASSED_FILTERS: Final = "xray.passed_filters"
# Export writes the step's metadata as ``xray.metadata`` (the trace's as ``xray.trace.metadata``)
# with one exception: when every entry of ``metadata["evaluations"]`` is an evaluation as
# ``add_evaluation`` records it, the entries are not in ``xray.metadata`` but each is one
# ``xray.evaluation`` event, in order. Otherwise the list stays in ``xray.metadata`` and no
# evaluation event is written: either way a capture finds each evaluation in one place only.

#: the instrumentation scope of every exported span
SCOPE_NAME: Final = "xray_core"
#: ``service.name`` of the exported spans' resource when the caller gives none
DEFAULT_SERVICE_NAME: Final = "xray"
