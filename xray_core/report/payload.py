"""ReportData -> the compact JSON document the page's script reads.

The page receives one JSON document (see :func:`build_payload`) embedded in a
``<script type="application/json">`` element, and before it a small one for its header and
list (:func:`list_payload`). :func:`script_json` serializes each and escapes it for that HTML
context, so no user string can close the element or open a comment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from operator import countOf, itemgetter
from typing import TYPE_CHECKING, Any

import orjson

from ..serialize import SNAPSHOT_OPTIONS, escape_surrogates_in, has_nonfinite, thaw
from ..store.base import RunRecord
from .data import Panel, ReportData, TestResult, TraceRecords
from .failure import first_failure_line
from .overview import TraceChecks, run_overview, trace_checks

if TYPE_CHECKING:  # a report of recorded traces (the pytest plugin's) needs no pydantic model
    from ..diff import Change, RunDiff, TraceDiff
    from ..models import Run, Step, Trace
    from ..stability import DecisionStability

#: bytes that must not appear raw inside a <script> element (or that break JS string literals)
_HTML_ESCAPES = (
    (b"<", b"\\u003c"),
    (b">", b"\\u003e"),
    (b"&", b"\\u0026"),
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
)


def script_json(value: Any) -> str:
    """``value`` as JSON that is safe to place verbatim inside a ``<script>`` element.

    ``<``, ``>`` and ``&`` only occur inside JSON strings, where their ``\\u`` escapes decode to
    the same characters; so ``</script>`` or ``<!--`` in user data cannot end the element.
    Values JSON cannot hold (NaN, unknown objects) become strings instead of failing.

    The text is the general encoder's (:func:`general_json`); orjson writes it, about 3x faster
    and without importing pydantic-core, whenever its text is provably the same: plain JSON
    data (dicts with text keys, lists, tuples, text, 64-bit ints, finite floats, bools, None),
    which is what a report of recorded traces holds. orjson refuses everything else (other
    types and subclasses, other keys, bigger ints, lone surrogates, nesting over 255), and a
    NaN or an infinity, which orjson would write as null, is looked for when the text holds a
    null; the general encoder writes those values. A :class:`Snapshot` (a recorded input or
    output) is written as the JSON text it holds.
    """
    return script_bytes(value).decode("utf-8")


def script_bytes(value: Any) -> bytes:
    """:func:`script_json`'s text as UTF-8 bytes (a page written as bytes: no copy decoded)."""
    try:
        raw = orjson.dumps(value, _fragment, SNAPSHOT_OPTIONS)  # refuses what is not plain JSON
        if b"null" in raw and has_nonfinite(value):
            raw = general_json(value)
    except TypeError:  # orjson.JSONEncodeError: not plain JSON data
        raw = general_json(value)
    # U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8: one scan for their first byte (a
    # fast single-byte search) spares the two slower three-byte searches in text without them.
    separators = b"\xe2" in raw
    for needle, escape in _HTML_ESCAPES:
        if (separators or len(needle) == 1) and needle in raw:
            raw = raw.replace(needle, escape)
    return raw


class Snapshot:
    """A step's input or output kept by the recorder as JSON text (``serialize.snapshot``'s
    ``bytes``), placed in a page's document as it is: parsing it to write it again would give
    the same text (the snapshot is kept only when it is the converter's JSON, which holds no NaN
    or infinity). Anything else that is ``bytes`` is user data, never taken for JSON text.
    """

    __slots__ = ("text",)

    def __init__(self, text: bytes) -> None:
        self.text = text

    def data(self) -> Any:
        """The JSON-able data the text holds."""
        return orjson.loads(self.text)


def _fragment(value: Any) -> orjson.Fragment:
    """orjson's ``default``: a :class:`Snapshot`'s text as it is, a :class:`_Finite` trace as
    its text, a :class:`_FiniteList` or :class:`_FiniteDict` as the list's or the dict's text;
    any other type is refused."""
    kind = type(value)
    if kind is Snapshot:
        return orjson.Fragment(value.text)
    if kind is _Finite:
        return orjson.Fragment(value.text)
    if kind is _FiniteList:
        return orjson.Fragment(orjson.dumps(list(value), _fragment, SNAPSHOT_OPTIONS))
    if kind is _FiniteDict:
        return orjson.Fragment(orjson.dumps(dict(value), _fragment, SNAPSHOT_OPTIONS))
    raise TypeError(kind.__name__)


def _general_fallback(value: Any) -> Any:
    """pydantic-core's ``fallback``: a :class:`Snapshot` as its data, anything else as its repr
    (or its type's name when its ``__repr__`` raises: a report is still written)."""
    if type(value) is Snapshot:
        return value.data()
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ in data a user gave
        return f"<{type(value).__name__}>"


def general_json(value: Any) -> bytes:
    """``value`` as JSON bytes by pydantic-core's encoder: NaN and infinities as the strings
    ``"NaN"``, ``"Infinity"``, ``"-Infinity"``, unknown objects as their ``repr``, text that is
    not valid UTF-8 (a lone surrogate) as X-Ray's escape text (not escaped for HTML)."""
    import pydantic_core  # only for what orjson does not write the same way (see script_json)

    try:
        return pydantic_core.to_json(value, inf_nan_mode="strings", fallback=_general_fallback)
    except pydantic_core.PydanticSerializationError:
        # Text that is not valid UTF-8 (a lone surrogate: a file name, a report title from the
        # command line) is written as X-Ray's escape text, on a copy of the data.
        copy = pydantic_core.to_jsonable_python(
            value, inf_nan_mode="strings", fallback=_general_fallback
        )
        return pydantic_core.to_json(escape_surrogates_in(copy))


def build_payload(data: ReportData) -> dict[str, Any]:
    """Everything the page shows, as data with short keys that :func:`script_json` writes: plain
    JSON-able data, but for the recorded inputs and outputs of a report of records, kept as
    their JSON text (:class:`Snapshot`, whose ``data()`` is the value).

    ``overview`` holds the landing view's aggregates (:func:`~.overview.run_overview`).
    """
    tests = _tests(data.tests)
    traces = [_trace(t) for t in data.traces]
    overview = run_overview(tests, traces)
    if type(tests) is _FiniteList and all(type(t) is _Finite for t in traces):
        overview = _FiniteDict(overview)  # made of their values and counts only
    return {
        "title": data.title,
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run": _run(data.run),
        "baseline_run": _run(data.baseline_run),
        "tests": tests,
        "traces": traces,
        "overview": overview,
        "panels": {sid: [_panel(sid, p) for p in panels] for sid, panels in data.panels.items()},
        "comparison": _comparison(data.comparison, data.traces, data.baseline_traces),
        "stability": [_stability(s) for s in data.stability],
    }


def list_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The small document the page shows its header and trace list from, taken from the full
    one (:func:`build_payload`): the page reads it first, and the full one when it has it.

    One row per trace, in the same order as ``payload["traces"]``, each test's outcome, and the
    run overview (the landing view and the list's groups are shown from it).
    """
    traces = payload["traces"]
    rows = [t.row if type(t) is _Finite else _list_row(t) for t in traces]
    tests = [
        {"id": t["id"], "outcome": t["outcome"], "dur": t["dur"], "baseline": t["baseline"]}
        for t in payload["tests"]
    ]
    return {
        "title": payload["title"],
        "generated": payload["generated"],
        "run": payload["run"],
        "overview": payload["overview"],
        "views": {"compare": payload["comparison"] is not None,
                  "stability": bool(payload["stability"])},  # fmt: skip
        # parts of finite documents are finite
        "tests": _FiniteList(tests) if type(payload["tests"]) is _FiniteList else tests,
        "rows": _FiniteList(rows) if all(type(t) is _Finite for t in traces) else rows,
    }


_status = itemgetter("status")


def _list_row(trace: dict[str, Any]) -> dict[str, Any]:
    """A trace's row in the list document (:func:`list_payload`)."""
    steps = trace["steps"]
    return {
        "id": trace["id"],
        "name": trace["name"],
        "status": trace["status"],
        "test": trace["test"],
        "dur": trace["dur"],
        "steps": len(steps),
        "failed": countOf(map(_status, steps), "failed"),
        "rejected": trace["rejected"],
    }


class _FiniteList(list[Any]):
    """A list of plain JSON data proven to hold no NaN or infinity: :func:`script_json`'s
    search for them does not walk into it (it walks only lists and dicts of their own type),
    and orjson hands it to :func:`_fragment` (a subclass is passed to the ``default``), which
    writes it as the list. Readers see a list."""

    __slots__ = ()


class _FiniteDict(dict[str, Any]):
    """A dict of plain JSON data proven to hold no NaN or infinity (see :class:`_FiniteList`)."""

    __slots__ = ()


def _run(run: Run | RunRecord | None) -> dict[str, Any] | None:
    if run is None:
        return None
    if isinstance(run, RunRecord):  # the pytest plugin's: the same JSON, no pydantic
        return run.as_json()
    return run.model_dump(mode="json")


def _test(test: TestResult) -> dict[str, Any]:
    return {
        "id": test.test_id,
        "outcome": test.outcome,
        "dur": test.duration_ms,
        "baseline": test.baseline,
        "message": test.message,
        "why": first_failure_line(test.message),
        "diffs": [_trace_diff(d) for d in test.baseline_diffs],
    }


def _tests(tests: list[TestResult]) -> list[dict[str, Any]]:
    """The tests' documents; a :class:`_FiniteList` when their values provably hold no NaN or
    infinity: text or None, a finite duration, no baseline diffs (walked otherwise)."""
    documents = [_test(t) for t in tests]
    for test in tests:
        duration = test.duration_ms
        if not (
            (duration is None or (type(duration) is float and duration - duration == 0))
            and _TEXT.issuperset(map(type, (test.test_id, test.outcome, test.baseline,
                                           test.message)))  # fmt: skip
            and not test.baseline_diffs
        ):
            return documents
    return _FiniteList(documents)  # ``why`` is a line of ``message``, or None


_TEXT = frozenset((str, type(None)))


class PreparedTrace:
    """A trace's document for the page (one item of ``payload["traces"]``), worked out ahead
    of the report: :class:`~.data.ReportData` may hold it in place of the trace. The run's
    keeper process (:mod:`pytest_xray.keeper`) prepares each trace as its test finishes, so
    the session's end only assembles the page."""

    __slots__ = ("document",)

    def __init__(self, trace: Trace | TraceRecords) -> None:
        self.document = _trace(trace)


def _trace(trace: Trace | TraceRecords | PreparedTrace) -> dict[str, Any]:
    if type(trace) is PreparedTrace:
        return trace.document
    if isinstance(trace, tuple):
        return _recorded_trace(*trace)
    assert not isinstance(trace, PreparedTrace)
    start = trace.start_time
    documents = [_step(s, start) for s in sorted(trace.steps, key=lambda s: s.step_order)]
    checks = trace_checks(documents)
    return _written({
        "id": trace.trace_id,
        "name": trace.name,
        "status": trace.status,
        "test": trace.test_id,
        "run": trace.run_id,
        "start": start.isoformat(),
        "dur": trace.duration_ms,
        "meta": trace.metadata,
        "rejected": checks.rejected,
        "steps": documents,
    }, checks)  # fmt: skip


def _step(step: Step, trace_start: datetime) -> dict[str, Any]:
    return {
        "id": step.step_id,
        "parent": step.parent_id,
        "name": step.name,
        "status": step.status,
        "at": round((step.start_time - trace_start).total_seconds() * 1000.0, 3),
        "dur": step.duration_ms,
        "input": step.input,
        "output": step.output,
        "reasoning": step.reasoning,
        "meta": step.metadata,
        "error": step.error,
    }


def _recorded_trace(record: dict[str, Any], steps: list[dict[str, Any]]) -> dict[str, Any]:
    """:func:`_trace` of the recorder's records: the same document, without building a model.

    The records hold epoch seconds: the trace's start becomes the text the model would give,
    each step's offset is computed in floats (the model's datetimes are rounded to the
    microsecond, so an offset may differ in its last digit).
    """
    started = record["start_time"]
    documents = [_recorded_step(s, started) for s in sorted(steps, key=_step_order)]
    checks = trace_checks(documents)
    get = record.get
    return _written({
        "id": record["trace_id"],
        "name": record["name"],
        "status": record["status"],
        "test": get("test_id"),
        "run": get("run_id"),
        "start": datetime.fromtimestamp(started, tz=timezone.utc).isoformat(),
        "dur": get("duration_ms"),
        "meta": get("metadata", {}),
        "rejected": checks.rejected,
        "steps": documents,
    }, checks)  # fmt: skip


class _Finite(dict[str, Any]):
    """A trace's document with its JSON text, found to hold no NaN or infinity (see
    :func:`_written`), and the count of its filter checks (``checks``, which the run overview
    adds up: see :func:`~.overview.trace_checks`) and its row in the list document.

    :func:`script_json` looks for NaN in a document whose text holds a null by walking it
    (``has_nonfinite``); it does not walk into this subclass, and orjson hands it to
    :func:`_fragment` (a subclass is passed to the ``default``), which places its text as it
    is: the trace is written once. Readers see a dict.
    """

    __slots__ = ("text", "checks", "row")

    def __init__(self, document: dict[str, Any], text: bytes, checks: TraceChecks) -> None:
        super().__init__(document)
        self.text = text
        self.checks = checks
        self.row = _list_row(document)  #: its row in the list document


#: what :func:`_written` reads of a recorded trace's and step's documents as they are: every
#: key of :func:`_recorded_trace` and :func:`_recorded_step` but the metadata (``meta``), the
#: steps, and a step's ``input`` and ``output`` (read apart: the recorder's JSON text or data)
_TRACE_KEYS = ("id", "name", "status", "test", "run", "start", "dur", "rejected")
_STEP_KEYS = ("id", "parent", "name", "status", "at", "dur", "reasoning", "error")
_trace_values = itemgetter(*_TRACE_KEYS)
_step_values = itemgetter(*_STEP_KEYS)
_NULL = b"null"


def _written(trace: dict[str, Any], checks: TraceChecks) -> dict[str, Any]:
    """``trace`` with its JSON text (a :class:`_Finite`) when that text is provably the general
    encoder's, else as it is (the general path writes it).

    orjson writes the document in one call; its text is the general encoder's unless the
    document holds a NaN or an infinity, which orjson writes as ``null``. So a text whose
    nulls are all accounted for holds neither: each ``None`` among the trace's and its steps'
    own values writes one, a recorded input or output kept as the recorder's JSON text (which
    holds no NaN) writes those of its text, and the separators and keys between them write
    none. Only when some null is left over are those values looked at, and then the metadata
    (the bulk: evaluations, LLM metadata) is walked only if the leftover nulls are in it.
    """
    try:
        text = orjson.dumps(trace, _fragment, SNAPSHOT_OPTIONS)
    except TypeError:  # not plain JSON data: the whole document takes the general path
        return trace
    found = text.count(_NULL)
    if not found:
        return _Finite(trace, text, checks)
    nulls = countOf(trace.values(), None)  # C loops: this runs for every trace
    for step in trace["steps"]:
        nulls += countOf(step.values(), None)
        for kept in (step["input"], step["output"]):
            if type(kept) is Snapshot:
                nulls += kept.text.count(_NULL)
    if found == nulls:  # every null is a None among the documents' own values
        return _Finite(trace, text, checks)
    values = list(_trace_values(trace))
    metas = [trace["meta"]]
    known = 0  # nulls in the recorder's JSON texts
    for step in trace["steps"]:
        values += _step_values(step)
        metas.append(step["meta"])
        for kept in (step["input"], step["output"]):
            if type(kept) is Snapshot:
                known += kept.text.count(_NULL)
            else:
                values.append(kept)
    if has_nonfinite(values):
        return trace
    known += orjson.dumps(values, _fragment, SNAPSHOT_OPTIONS).count(_NULL)
    if found != known and has_nonfinite(metas):  # some nulls are the metadata's
        return trace
    return _Finite(trace, text, checks)


def _recorded_step(step: dict[str, Any], trace_start: float) -> dict[str, Any]:
    """:func:`_step` of a step's record."""
    get = step.get
    return {
        "id": step["step_id"],
        "parent": get("parent_id"),
        "name": step["name"],
        "status": get("status", "running"),
        "at": round((step["start_time"] - trace_start) * 1000.0, 3),
        "dur": get("duration_ms"),
        "input": _kept(get("input")),
        "output": _kept(get("output")),
        "reasoning": get("reasoning"),
        "meta": get("metadata", {}),
        "error": get("error"),
    }


_step_order = itemgetter("step_order")


def _kept(value: Any) -> Any:
    """A recorded input or output for the page: the recorder's JSON text (``bytes``) as it is,
    anything else as data (see :func:`~xray_core.serialize.thaw`)."""
    return Snapshot(value) if type(value) is bytes else thaw(value)


def _panel(step_id: str, panel: Panel | Mapping[str, Any]) -> dict[str, Any]:
    """A panel as data; a mapping with a ``title`` is accepted as well as a :class:`Panel`."""
    if isinstance(panel, Mapping) and "title" in panel:
        panel = Panel(str(panel["title"]), panel.get("rows"), panel.get("data"), panel.get("text"))
    if not isinstance(panel, Panel):
        raise TypeError(
            f"custom panel for step {step_id!r} must be an xray_core.report.Panel, "
            f"got {type(panel).__name__}: {panel!r:.80}"
        )
    rows = panel.rows
    if rows is not None and not (
        isinstance(rows, list) and all(isinstance(r, Mapping) for r in rows)
    ):
        raise TypeError(
            f"custom panel {panel.title!r} (step {step_id!r}): rows must be a list of dicts, "
            f"got {rows!r:.80}"
        )
    return {"title": str(panel.title), "rows": rows, "data": panel.data, "text": panel.text}


def _change(change: Change) -> dict[str, Any]:
    from ..diff import DecisionChanged

    found: dict[str, Any] = {
        "kind": type(change).__name__,
        "path": change.path,
        "text": change.describe(),
    }
    if isinstance(change, DecisionChanged):
        found.update(
            step=change.step,
            item=change.item_id,
            flipped=change.flipped,
            before=change.before,
            after=change.after,
            filters=[f.describe() for f in change.filters],
        )
    return found


def _trace_diff(diff: TraceDiff) -> dict[str, Any]:
    from ..diff import DecisionChanged

    decisions = diff.decisions
    others = [c for c in diff.changes if not isinstance(c, DecisionChanged)]
    return {
        "name": diff.name,
        "changes": [_change(c) for c in [*decisions, *others]],
        "drift": [_change(c) for c in diff.drift],
    }


def _comparison(
    comparison: RunDiff | None,
    current: Sequence[Trace | TraceRecords | PreparedTrace],
    baseline: list[Trace],
) -> dict[str, Any] | None:
    if comparison is None:
        return None
    from ..diff import trace_key_map

    models = [_model(t) for t in current]
    ids = {key: t.trace_id for key, t in trace_key_map(models).items()}
    changed = [
        {"key": list(key), "trace": ids.get(key), **_trace_diff(diff)}
        for key, diff in comparison.diffs.items()
        if diff or diff.drift
    ]
    return {
        "changed": changed,
        "same": sum(1 for d in comparison.diffs.values() if not d and not d.drift),
        "added": [{"key": list(k), "trace": ids.get(k)} for k in comparison.added],
        "removed": [{"key": list(k), "trace": None} for k in comparison.removed],
        "baseline_traces": len(baseline),
    }


def _model(trace: Trace | TraceRecords | PreparedTrace) -> Trace:
    if isinstance(trace, tuple):
        from ..store.records import trace_from_records

        return trace_from_records(*trace)
    if isinstance(trace, PreparedTrace):
        raise ValueError("a report comparing runs needs the traces, not their prepared parts")
    return trace


def _stability(entry: DecisionStability) -> dict[str, Any]:
    return {
        "test": entry.test_id,
        "trace": entry.trace_name + (f" [input {entry.group}]" if entry.group else ""),
        "step": entry.step,
        "item": entry.item_id,
        "n": entry.observations,
        "qualified": entry.qualified,
        "rejected": entry.rejected,
        "flips": entry.flips,
        "rate": entry.flip_rate,
        "rejected_by": dict(entry.rejected_by.most_common()),
    }
