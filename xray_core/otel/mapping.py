"""One finished OpenTelemetry span as an X-Ray step record (see docs/otel.md, "Capture").

The record is the dict the recorder builds for a step (``step_id``, ``parent_id``, ``name``,
``input``, ``output``, ``reasoning``, ``metadata``, ``status``, ``error``, times), so a captured
span goes wherever a recorded step goes. The mapping follows the OpenInference semantic
conventions and the OpenTelemetry ``gen_ai.*`` ones; the ``xray.*`` names (:mod:`.names`) add
evaluations, reasoning and metadata. An attribute of the wrong type or a value that does not
parse is kept as it came (or left out) — reading a span never raises.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from opentelemetry.trace import SpanContext, StatusCode

from ..serialize import (
    MAX_DEPTH,
    MAX_ITEMS,
    MAX_STRING,
    TextReader,
    escape_surrogates,
    escape_surrogates_in,
    thaw,
    to_jsonable,
)
from . import names as n

logger = logging.getLogger("xray_core")

_MISSING: Any = object()
_ERROR = StatusCode.ERROR  # looked up once: an enum member's lookup is slow


def text(value: Any) -> str:
    """``value`` as valid, bounded text; never raises."""
    if type(value) is str and value.isascii() and len(value) <= MAX_STRING:
        return value
    try:
        converted = to_jsonable(value if type(value) is str else str(value))
    except Exception:  # noqa: BLE001 - a broken __str__
        converted = to_jsonable(value)
    return converted if type(converted) is str else str(converted)


def _jsonable(value: Any) -> Any:
    """An attribute value as JSON-able data (the SDK keeps sequences as tuples)."""
    kind = type(value)
    if kind is str:
        return value if value.isascii() and len(value) <= MAX_STRING else to_jsonable(value)
    if kind is bool or kind is int:
        return value
    return to_jsonable(list(value) if kind is tuple else value)


def _finite(literal: str) -> Any:
    value = float(literal)  # "1e999" is inf: stored as to_jsonable stores it
    if value - value == 0:
        return value
    return "Infinity" if value > 0 else "-Infinity"


# json.loads without its Python-level wrapping; NaN and infinities become to_jsonable's text
_scan = json.JSONDecoder(parse_constant=str, parse_float=_finite).scan_once  # type: ignore[attr-defined]
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def parse_json(value: Any) -> Any:
    """A JSON attribute's data; text that is not JSON is kept as text (never raises)."""
    if type(value) is not str:
        return _jsonable(value)
    try:
        data, end = _scan(value, 0)
    except (StopIteration, ValueError, RecursionError):
        end = -1
    if end != len(value):  # not JSON, or around whitespace: json.loads says which
        try:
            data = json.loads(value, parse_constant=str, parse_float=_finite)
        except (ValueError, RecursionError):
            return _jsonable(value)
    if value.isascii():  # then no lone surrogate, unless written as an escape
        if "\\u" in value and _SURROGATE_ESCAPE.search(value):
            data = escape_surrogates_in(data)
        # Short JSON cannot hold what to_jsonable bounds: a string over MAX_STRING, a container
        # over MAX_ITEMS (each entry takes two characters), nesting deeper than MAX_DEPTH
        size = len(value)
        if size <= 2 * MAX_DEPTH or (
            size <= 2 * MAX_ITEMS and value.count("[") + value.count("{") <= MAX_DEPTH
        ):
            return data
    return to_jsonable(data)


_orjson_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError
#: 19 digits in a row: an integer literal this long may be over 64 bits, which orjson reads as
#: a float (json as an int); looked for in the text with every digit made a "0" (in C)
_ZEROED = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19
#: JSON text this short is within the converter's limits (see parse_json) without counting
_SHORT_JSON = 2 * MAX_DEPTH


def json_snapshot(value: Any) -> Any:
    """A JSON ``input.value``/``output.value`` as the recorder's snapshot keeps a value
    (:func:`xray_core.serialize.snapshot`): its JSON text as UTF-8 ``bytes``, parsed when the
    trace is read. orjson checks the text (in C, faster than :mod:`json` parses it); what it
    refuses — text that is not JSON, NaN, a lone surrogate — or may read otherwise than
    :mod:`json` (an integer over 64 bits) goes through :func:`parse_json`, which keeps it as
    the text it is or converts it. ``thaw`` of the bytes is ``parse_json(value)``. Never raises.
    """
    if type(value) is not str or len(value) > 2 * MAX_ITEMS:
        return parse_json(value)
    try:
        if _orjson_loads(value) is None:  # "null": None, as the recorder keeps no input
            return None
    except _JSONDecodeError:
        return parse_json(value)
    encoded = value.encode()
    size = len(encoded)
    if size > _SHORT_JSON and value.count("[") + value.count("{") > MAX_DEPTH:
        return parse_json(value)
    if size >= 19 and _LONG_NUMBER in encoded.translate(_ZEROED):
        return parse_json(value)
    return encoded


class SpanJSON(TextReader):
    """Reads a JSON ``input.value``/``output.value`` kept as the span's text, unchecked (the
    :data:`~xray_core.serialize.JSONText` ``(text, SPAN_JSON)``): :meth:`data` is what
    :func:`json_snapshot` of the text reads back as (the text's data, or the text itself when
    it is not JSON), so keeping it unchecked changes nothing but when the check runs (when the
    trace is read, or on a store's writer thread), never on the pipeline's.
    """

    __slots__ = ()

    def data(self, text: str) -> Any:
        """The data of the JSON ``text``, checked now (:func:`json_snapshot`); never raises."""
        return thaw(json_snapshot(text))

    def __reduce__(self) -> str:
        return "SPAN_JSON"  # pickled as the module's one reader, which identity tests expect


#: the reader of every JSON value a step keeps unchecked: ``(text, SPAN_JSON)``
SPAN_JSON = SpanJSON()


def lazy_json(value: Any) -> Any:
    """A JSON ``input.value``/``output.value`` as a step keeps it: the
    :data:`~xray_core.serialize.JSONText` ``(value, SPAN_JSON)``, checked when read;
    ``"null"`` is no value (None, as :func:`json_snapshot` reads it); what is not text goes
    :func:`json_snapshot`'s way now. Never raises."""
    if type(value) is str and value != "null":
        return (value, SPAN_JSON)
    return json_snapshot(value)


def _json_object(value: Any) -> dict[str, Any] | None:
    """A JSON-object attribute as a dict, or None when it is missing or not an object."""
    if value is _MISSING or value is None:
        return None
    data = parse_json(value)
    return data if type(data) is dict else None


def io_value(value: Any, mime_type: Any) -> Any:
    """``input.value``/``output.value``: parsed when its mime type says JSON, else as it is."""
    if value is _MISSING:
        return None
    if type(mime_type) is str and "json" in mime_type:
        return parse_json(value)
    return _jsonable(value)


def _int(value: Any) -> int | None:
    """A token count: an int, or a float or text that is one; else None."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is str:
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _float(value: Any) -> float | None:
    """A finite number (a temperature), or text that is one; else None (NaN is no temperature)."""
    if type(value) is int:
        return value
    if type(value) is str:
        try:
            value = float(value)
        except ValueError:
            return None
    if type(value) is float and value - value == 0:
        return value
    return None


def _messages(attrs: dict[str, Any], prefix: str, strip: str) -> list[dict[str, Any]]:
    """``<prefix>.<i>.<strip><field>`` attributes as a list of message dicts, by index."""
    found: dict[int, dict[str, Any]] = {}
    start = len(prefix) + 1
    for key in [k for k in attrs if k.startswith(prefix) and k[start - 1 : start] == "."]:
        index, _, field = key[start:].partition(".")
        if not index.isdigit() or not field:
            continue
        value = attrs.pop(key)
        found.setdefault(int(index), {})[field.removeprefix(strip)] = _jsonable(value)
    return [found[i] for i in sorted(found)]


def _first(attrs: dict[str, Any], *keys: str) -> tuple[str, Any]:
    """The first of ``keys`` present and its value (every one of them is taken out of
    ``attrs``); ``("", None)`` when none is."""
    found: tuple[str, Any] = ("", None)
    for key in keys:
        value = attrs.pop(key, _MISSING)
        if value is not _MISSING and not found[0]:
            found = (key, value)
    return found


def llm_metadata(attrs: dict[str, Any]) -> dict[str, Any]:
    """``llm.*``/``gen_ai.*`` attributes as ``metadata["llm"]`` (the keys of
    ``add_llm_metadata``: ``model``, ``tokens_used``, ``temperature``, then the rest).

    ``attrs`` holds only those attributes; it is emptied. A value that does not read as what
    its name says (tokens that are no integer) is kept under ``"attributes"``.
    """
    unread: dict[str, Any] = {}

    def number(keys: tuple[str, ...], convert: Any) -> Any:
        key, value = _first(attrs, *keys)
        converted = None if value is None else convert(value)
        if converted is None and value is not None:
            unread[key] = value
        return converted

    raw_params = attrs.pop(n.LLM_INVOCATION_PARAMETERS, _MISSING)
    params = _json_object(raw_params)
    if params is None and raw_params is not _MISSING:
        unread[n.LLM_INVOCATION_PARAMETERS] = raw_params
    model = _first(attrs, n.LLM_MODEL_NAME, n.GEN_AI_RESPONSE_MODEL, n.GEN_AI_REQUEST_MODEL)[1]
    prompt = number((n.LLM_TOKEN_COUNT_PROMPT, n.GEN_AI_USAGE_INPUT_TOKENS,
                     n.GEN_AI_USAGE_PROMPT_TOKENS), _int)  # fmt: skip
    completion = number((n.LLM_TOKEN_COUNT_COMPLETION, n.GEN_AI_USAGE_OUTPUT_TOKENS,
                         n.GEN_AI_USAGE_COMPLETION_TOKENS), _int)  # fmt: skip
    total = number((n.LLM_TOKEN_COUNT_TOTAL,), _int)
    if total is None and prompt is not None and completion is not None:
        total = prompt + completion
    temperature = number((n.GEN_AI_REQUEST_TEMPERATURE,), _float)
    if temperature is None and params is not None:
        temperature = _float(params.get("temperature"))
    llm: dict[str, Any] = {
        "model": None if model is None else text(model),
        "tokens_used": total,
        "temperature": temperature,
    }
    if prompt is not None:
        llm["prompt_tokens"] = prompt
    if completion is not None:
        llm["completion_tokens"] = completion
    provider = _first(
        attrs, n.LLM_PROVIDER, n.GEN_AI_PROVIDER_NAME, n.LLM_SYSTEM, n.GEN_AI_SYSTEM
    )[1]
    if provider is not None:
        llm["provider"] = _jsonable(provider)
    if params is not None:
        llm["invocation_parameters"] = params
    for key, prefix, strip in (
        ("input_messages", n.LLM_INPUT_MESSAGES, "message."),
        ("output_messages", n.LLM_OUTPUT_MESSAGES, "message."),
        ("input_messages", n.GEN_AI_PROMPT, ""),
        ("output_messages", n.GEN_AI_COMPLETION, ""),
    ):
        messages = _messages(attrs, prefix, strip)
        if messages and key not in llm:
            llm[key] = messages
    for key, attribute in (("prompts", n.LLM_PROMPTS), ("prompt_template", n.LLM_PROMPT_TEMPLATE),
                           ("finish_reasons", n.GEN_AI_FINISH_REASONS)):  # fmt: skip
        value = attrs.pop(attribute, _MISSING)
        if value is not _MISSING:
            llm[key] = _jsonable(value)
    unread.update(attrs)
    if unread:
        llm["attributes"] = {key: _jsonable(value) for key, value in unread.items()}
    return llm


def _filter(data: Any) -> dict[str, Any]:
    if type(data) is not dict:
        return {"name": text(data), "passed": False, "detail": None}
    detail = data.get("detail")
    return {
        "name": text(data.get("name", "?")),
        "passed": data.get("passed") is True,
        "detail": None if detail is None else text(detail),
    }


def evaluation(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    """An ``xray.evaluation`` event's attributes as an evaluation (None without an item id).

    ``xray.qualified`` missing: qualified when every filter passed (and there is one).
    """
    item_id = attrs.get(n.EVAL_ITEM_ID)
    if item_id is None:
        return None
    filters: list[dict[str, Any]] = []
    listed = attrs.get(n.EVAL_FILTERS)
    if listed is not None:
        data = parse_json(listed)
        filters.extend(_filter(f) for f in (data if type(data) is list else [data]))
    by_name: dict[str, dict[str, Any]] = {}
    for key, value in attrs.items():
        if not key.startswith(n.EVAL_FILTER_PREFIX):
            continue
        name, dot, field = key[len(n.EVAL_FILTER_PREFIX) :].rpartition(".")
        if not dot or field not in ("passed", "detail"):
            continue
        entry = by_name.setdefault(name, {"name": text(name), "passed": False, "detail": None})
        if field == "passed":
            entry["passed"] = value is True
        else:
            entry["detail"] = text(value)
    filters.extend(by_name.values())
    qualified = attrs.get(n.EVAL_QUALIFIED)
    if type(qualified) is not bool:
        qualified = bool(filters) and all(f["passed"] for f in filters)
    item_data = _json_object(attrs.get(n.EVAL_ITEM_DATA, _MISSING))
    reasoning = attrs.get(n.EVAL_REASONING)
    return {
        "item_id": text(item_id),
        "item_data": {} if item_data is None else item_data,
        "filters": filters,
        "qualified": qualified,
        "reasoning": reasoning
        if reasoning is None or (type(reasoning) is str and reasoning.isascii()
                                 and len(reasoning) <= MAX_STRING)
        else text(reasoning),
    }


def exception_error(attrs: Mapping[str, Any]) -> str:
    """An ``exception`` event as a step error: ``"<Type>: <message>"``, then the stack trace."""
    # the SDK names it "<module>.<qualname>"; X-Ray errors start with the class name alone
    kind = text(attrs.get(n.EXCEPTION_TYPE) or "Exception").rpartition(".")[2] or "Exception"
    message = text(attrs.get(n.EXCEPTION_MESSAGE) or "")
    stack = attrs.get(n.EXCEPTION_STACKTRACE)
    head = f"{kind}: {message}"
    return head if not stack else f"{head}\n{text(stack)}".rstrip("\n")


def seconds(nanoseconds: Any) -> float:
    """An OpenTelemetry time (ns since the epoch) in seconds; now when it is missing."""
    return nanoseconds / 1e9 if type(nanoseconds) is int else time.time()


def span_status(span: Any, events: Iterable[Any]) -> tuple[str, str | None]:
    """``("failed", error)`` for a span whose status is ERROR, else ``("completed", None)``.

    The error is the span's last ``exception`` event, else the status description.
    """
    status = getattr(span, "status", None)
    code = getattr(status, "status_code", None)
    if code is not _ERROR:
        return "completed", None
    error = None
    for event in events:
        if event.name == n.EXCEPTION_EVENT:
            error = exception_error(event.attributes or {})
    if error is None:
        description = getattr(status, "description", None)
        error = f"Error: {text(description)}" if description else "Error: span status ERROR"
    return "failed", error


def attributes(holder: Any) -> dict[str, Any]:
    """A span's or event's attributes as a plain dict of its own (the SDK's are read-only)."""
    raw = holder.attributes
    return {} if raw is None else _copy(raw)


def _copy(raw: Any) -> dict[str, Any]:
    try:
        copied = raw.copy()  # BoundedAttributes and mappingproxy copy what they hold as a dict
    except Exception:  # noqa: BLE001 - a mapping without copy()
        return dict(raw)
    return copied if type(copied) is dict else dict(copied)


# module globals: read faster than attributes of the names module, once per span each
_INPUT_VALUE, _INPUT_MIME_TYPE = n.INPUT_VALUE, n.INPUT_MIME_TYPE
_OUTPUT_VALUE, _OUTPUT_MIME_TYPE = n.OUTPUT_VALUE, n.OUTPUT_MIME_TYPE
_JSON, _REASONING, _TRACE_METADATA = n.JSON_MIME_TYPE, n.REASONING, n.TRACE_METADATA
_STEP_ID, _STATUS = n.STEP_ID, n.STATUS
#: a step record's keys in the recorder's order, with the values of a completed step
_STEP_RECORD: dict[str, Any] = dict.fromkeys(
    ("step_id", "trace_id", "parent_id", "name", "step_order", "input", "output", "reasoning",
     "metadata", "status", "error", "start_time", "end_time", "duration_ms")
)  # fmt: skip
_STEP_RECORD["status"] = "completed"
#: the attributes step_record reads itself (none of them goes to the metadata)
_READ = (_INPUT_VALUE, _INPUT_MIME_TYPE, _OUTPUT_VALUE, _OUTPUT_MIME_TYPE, _REASONING,
         _TRACE_METADATA)  # fmt: skip
_READ_SET = frozenset(_READ)


_SPAN_JSON = SPAN_JSON


def _span_value(value: Any, mime_type: Any) -> Any:
    """An ``input.value``/``output.value`` that is there, as a step keeps it: ASCII text without
    a mime type as it is, JSON as its text checked when read (:func:`lazy_json`), anything else
    as :func:`io_value` reads it."""
    if mime_type is None:
        if type(value) is str and value.isascii() and len(value) <= MAX_STRING:
            return value
        return io_value(value, None)
    return lazy_json(value) if mime_type == _JSON else io_value(value, mime_type)


def step_record(
    span: Any, trace_id: str, step_id: str, parent_id: str | None, order: int
) -> dict[str, Any]:
    """The X-Ray step record of a finished span (``ReadableSpan``). Never raises for any
    attributes or events; a span that cannot be read at all raises (the caller logs it).

    Written for speed (it runs once per span): the attributes are read where the SDK keeps
    them, copied only when some are left for the metadata, and a JSON input or output is kept
    as its text, checked when read (:func:`lazy_json`).
    """
    try:  # the SDK's fields: its properties copy (attributes, events) and cost a call each;
        # its BoundedAttributes and BoundedList hold a dict and a deque, read as they are
        raw = span._attributes._dict
        events = span._events._dq
        start = span._start_time
        end = span._end_time
        name = span._name
        failed = span._status._status_code is _ERROR
    except AttributeError:  # another ReadableSpan-like object: its public properties
        raw, events, start, end, name = (
            span.attributes, span.events, span.start_time, span.end_time, span.name,
        )  # fmt: skip
        failed = getattr(getattr(span, "status", None), "status_code", None) is _ERROR
        if type(raw) is not dict:
            raw = {} if raw is None else _copy(raw)
    # None: no input (a None value would be read as None too). _span_value's common cases are
    # inlined (nearly every span has an input and an output): ASCII text without a mime type is
    # kept as it is, JSON text unchecked as (text, SPAN_JSON) (lazy_json)
    # read: how many of the attributes read here the span has (a None value is not counted):
    # a span holding only those (len(raw) == read, the common case) needs no set test below
    step_input = raw.get(_INPUT_VALUE)
    if step_input is None:
        read = 0
    else:
        mime_type = raw.get(_INPUT_MIME_TYPE)
        if mime_type is None:
            read = 1
            if not (type(step_input) is str and step_input.isascii()
                    and len(step_input) <= MAX_STRING):  # fmt: skip
                step_input = io_value(step_input, None)
        else:
            read = 2
            if mime_type == _JSON and type(step_input) is str and step_input != "null":
                step_input = (step_input, _SPAN_JSON)
            else:
                step_input = _span_value(step_input, mime_type)
    output = raw.get(_OUTPUT_VALUE)
    if output is not None:
        mime_type = raw.get(_OUTPUT_MIME_TYPE)
        if mime_type is None:
            read += 1
            if not (type(output) is str and output.isascii() and len(output) <= MAX_STRING):
                output = io_value(output, None)
        else:
            read += 2
            if mime_type == _JSON and type(output) is str and output != "null":
                output = (output, _SPAN_JSON)
            else:
                output = _span_value(output, mime_type)
    reasoning = raw.get(_REASONING)
    if reasoning is not None:
        read += 1
        if not (type(reasoning) is str and reasoning.isascii() and len(reasoning) <= MAX_STRING):
            reasoning = text(reasoning)
    start = start / 1e9 if type(start) is int else time.time()
    end = end / 1e9 if type(end) is int else start
    record = _STEP_RECORD.copy()  # a copy of a dict of the same keys: its table is copied
    record["step_id"] = step_id
    record["trace_id"] = trace_id
    record["parent_id"] = parent_id
    record["name"] = (
        name if type(name) is str and name.isascii() and len(name) <= MAX_STRING else text(name)
    )
    record["step_order"] = order
    record["input"] = step_input
    record["output"] = output
    record["reasoning"] = reasoning
    record["metadata"] = {}
    record["start_time"] = start
    record["end_time"] = end
    record["duration_ms"] = (end - start) * 1000.0
    if failed:
        record["status"], record["error"] = span_status(span, events)
    if len(raw) != read and not _READ_SET.issuperset(raw):
        # attributes left: a copy without those read, for the metadata
        attrs = dict(raw)
        pop = attrs.pop
        for key in _READ:
            pop(key, None)
        if _STEP_ID in attrs or _STATUS in attrs:
            verbatim(record, attrs)
        if attrs or events:
            record["metadata"] = metadata(attrs, events)
    elif events:
        record["metadata"] = metadata({}, events)
    return record


def steps_in_end_order(
    spans: list[Any], root_id: Any, trace_id: str, suffixes: tuple[str, ...]
) -> tuple[list[dict[str, Any]], bool] | None:
    """The step records (:func:`step_record`) of a trace's finished spans, and whether one
    failed, when the order the spans ended in is the order of their start times: ``spans``
    holds them in the order they ended, the root (whose span id is ``root_id``) last; its step
    comes first. The step ids are ``trace_id`` and ``suffixes`` (one per span), a parent's step
    id that of its span. None as soon as a start time is no int or not later than the one
    before (the root's first), or a span's parent is neither the root nor a span before it (a
    nested span ends before its parent; a span not under the root): the caller then orders
    the spans the general way. Raises as :func:`step_record` does.
    """
    root = spans[-1]
    try:  # the SDK's fields: a property costs a call
        last = root._start_time
        root_context = root._context  # a child's parent, as the SDK starts it (the same object)
    except AttributeError:
        last, root_context = root.start_time, None
    if type(last) is not int:
        return None
    root_step = trace_id + suffixes[0]
    record = step_record(root, trace_id, root_step, None, 0)
    failed_step = record["status"] == "failed"
    records: list[dict[str, Any]] = [record]
    append = records.append
    #: span id -> step id, made when a span's parent is not the root (most spans' parent is)
    step_of: dict[Any, str] | None = None
    order = 0
    for span in spans[:-1]:  # the root's step is made first
        order += 1
        try:  # the SDK's fields: a property costs a call
            start = span._start_time
            parent = span._parent
        except AttributeError:
            start, parent = span.start_time, span.parent
        if type(start) is not int or start <= last:
            return None
        last = start
        step_id = trace_id + suffixes[order]
        if parent is root_context and parent is not None:
            parent_step = root_step
        else:
            if parent is None:
                return None
            if BY_INDEX:  # the SDK's SpanContext is a tuple: its fields cost no call
                parent_id, remote = parent[1], parent[2]
            else:
                parent_id, remote = parent.span_id, parent.is_remote
            if remote:
                return None
            if parent_id == root_id:
                parent_step = root_step
            else:
                if step_of is None:  # the spans before this one (a record's step id may
                    # be another, written by X-Ray's export: children follow the span's)
                    step_of = {root_id: root_step}
                    for before, suffix in zip(spans[: order - 1], suffixes[1:]):
                        step_of[own_id(before)] = trace_id + suffix
                found = step_of.get(parent_id)
                if found is None:  # its parent is not before it
                    return None
                parent_step = found
        if step_of is not None:
            step_of[own_id(span)] = step_id
        record = step_record(span, trace_id, step_id, parent_step, order)
        if record["status"] == "failed":
            failed_step = True
        append(record)
    return records, failed_step


def _tuple_layout() -> bool:
    """Whether a ``SpanContext`` is the tuple ``(trace_id, span_id, is_remote, ...)`` it is in
    the SDK today: on the per-span path its fields are then read by index, which costs no call
    (its properties each cost one)."""
    probe = SpanContext(trace_id=3, span_id=5, is_remote=True)
    return isinstance(probe, tuple) and probe[:3] == (3, 5, True) and probe.span_id == 5


#: whether the SDK's ``SpanContext`` fields are read by index (:func:`_tuple_layout`)
BY_INDEX = _tuple_layout()


def own_id(span: Any) -> int:
    """A span's id, read off the SDK's field when it has it (its property costs a call)."""
    try:
        context = span._context
    except AttributeError:
        return span.context.span_id
    return context[1] if BY_INDEX else context.span_id


_STATUSES = ("running", "completed", "failed")


def verbatim(record: dict[str, Any], attrs: dict[str, Any]) -> None:
    """Set what X-Ray's export writes as it was recorded (``xray.step_id``, ``xray.status``, ...)
    on a trace or step ``record``; values of the wrong type are left out."""
    pop = attrs.pop
    for key, field in ((n.STEP_ID, "step_id"), (n.PARENT_ID, "parent_id"),
                       (n.RUN_ID, "run_id"), (n.TEST_ID, "test_id")):  # fmt: skip
        value = pop(key, None)
        if type(value) is str and field in record:
            record[field] = escape_surrogates(value)
    error = pop(n.ERROR, None)
    if "error" in record:  # a step: export writes its error, or none when it had none
        record["error"] = escape_surrogates(error) if type(error) is str else None
    order = pop(n.STEP_ORDER, None)
    if type(order) is int and "step_order" in record:
        record["step_order"] = order
    status = pop(n.STATUS, None)
    if status in _STATUSES:
        record["status"] = status
    duration = pop(n.DURATION_MS, None)
    if type(duration) is float or type(duration) is int:
        duration = float(duration)
        record["duration_ms"] = duration if duration - duration == 0 else None
    if pop(n.UNFINISHED, None) is True:
        record["end_time"] = None
        if duration is None:
            record["duration_ms"] = None
    pop(n.TRACE_ID, None)


def metadata(attrs: dict[str, Any], events: Iterable[Any]) -> dict[str, Any]:
    """The step's metadata from the attributes left after input, output and reasoning:
    ``xray.metadata``, OpenInference ``metadata``, the span kind, the LLM call, the
    evaluations and every other attribute (under ``"attributes"``). Empties ``attrs``."""
    rest: dict[str, Any] | None = None
    raw = attrs.pop(n.STEP_METADATA, _MISSING)
    written = raw is not _MISSING  # by X-Ray's export: the metadata as recorded, kept as it is
    data = _json_object(raw)
    if data is None:
        data = {}
        if raw is not _MISSING:
            rest = {n.STEP_METADATA: _jsonable(raw)}
    raw = attrs.pop(n.METADATA, _MISSING)
    extra = _json_object(raw)
    if extra is not None:
        for key, value in extra.items():
            data.setdefault(key, value)
    elif raw is not _MISSING:
        rest = {**(rest or {}), n.METADATA: _jsonable(raw)}
    kind = attrs.pop(n.SPAN_KIND, None)
    if kind is not None and not written:
        data.setdefault("span_kind", text(kind))
    llm: dict[str, Any] | None = None
    for key, value in attrs.items():
        if key.startswith("llm.") or key.startswith("gen_ai."):
            if llm is None:
                llm = {}
            llm[key] = value
        else:
            if rest is None:
                rest = {}
            rest[text(key)] = _jsonable(value)
    attrs.clear()
    if llm is not None and "llm" not in data:
        data["llm"] = llm_metadata(llm)
    elif kind == "LLM" and "llm" not in data and not written:
        data["llm"] = {"model": None, "tokens_used": None, "temperature": None}
    if rest:
        data.setdefault("attributes", rest)
    evaluations = [
        e
        for e in (evaluation(attributes(ev)) for ev in events if ev.name == n.EVALUATION_EVENT)
        if e is not None
    ]
    if evaluations:
        found = data.get("evaluations")
        data["evaluations"] = (found if type(found) is list else []) + evaluations
    return data
