"""The report's payload as it was written before session 13 (frozen: the reference the
current code is checked against, byte for byte; see tests/report/test_same_page.py).

ReportData -> the compact JSON document the page's script reads.

The page receives one JSON document (see :func:`build_payload`) embedded in a
``<script type="application/json">`` element, and before it a small one for its header and
list (:func:`list_payload`). :func:`script_json` serializes each and escapes it for that HTML
context, so no user string can close the element or open a comment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import orjson

import enum

from xray_core.serialize import SNAPSHOT_OPTIONS, escape_surrogates_in, thaw
from xray_core.store.base import RunRecord
from xray_core.report.data import Panel, ReportData, TestResult, TraceRecords
from xray_core.report.failure import first_failure_line
from .overview import run_overview

if TYPE_CHECKING:  # a report of recorded traces (the pytest plugin's) needs no pydantic model
    from xray_core.diff import Change, RunDiff, TraceDiff
    from xray_core.models import Run, Step, Trace
    from xray_core.stability import DecisionStability

def has_nonfinite(value: Any) -> bool:
    """Whether a value orjson accepted holds a NaN or an infinity, at any depth."""
    kind = type(value)
    if kind is float:
        return value - value != 0
    if kind is dict:
        items: Any = value.values()
    elif kind is list or kind is tuple:
        items = value
    else:
        return isinstance(value, enum.Enum) and has_nonfinite(value.value)
    for item in items:
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if has_nonfinite(item):
            return True
    return False


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
    return raw.decode("utf-8")


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
    its dict's text; any other type is refused."""
    kind = type(value)
    if kind is Snapshot:
        return orjson.Fragment(value.text)
    if kind is _Finite:
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
    tests = [_test(t) for t in data.tests]
    traces = [_trace(t) for t in data.traces]
    return {
        "title": data.title,
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run": _run(data.run),
        "baseline_run": _run(data.baseline_run),
        "tests": tests,
        "traces": traces,
        "overview": run_overview(tests, traces),
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
    return {
        "title": payload["title"],
        "generated": payload["generated"],
        "run": payload["run"],
        "overview": payload["overview"],
        "views": {"compare": payload["comparison"] is not None,
                  "stability": bool(payload["stability"])},  # fmt: skip
        "tests": [
            {"id": t["id"], "outcome": t["outcome"], "dur": t["dur"], "baseline": t["baseline"]}
            for t in payload["tests"]
        ],
        "rows": [
            {
                "id": t["id"],
                "name": t["name"],
                "status": t["status"],
                "test": t["test"],
                "dur": t["dur"],
                "steps": len(t["steps"]),
                "failed": sum(1 for s in t["steps"] if s["status"] == "failed"),
                "rejected": t["rejected"],
            }
            for t in payload["traces"]
        ],
    }


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


def _trace(trace: Trace | TraceRecords) -> dict[str, Any]:
    if isinstance(trace, tuple):
        return _recorded_trace(*trace)
    start = trace.start_time
    steps = sorted(trace.steps, key=lambda s: s.step_order)
    return {
        "id": trace.trace_id,
        "name": trace.name,
        "status": trace.status,
        "test": trace.test_id,
        "run": trace.run_id,
        "start": start.isoformat(),
        "dur": trace.duration_ms,
        "meta": trace.metadata,
        "rejected": _rejected_count(s.metadata for s in steps),
        "steps": [_step(s, start) for s in steps],
    }


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
    ordered = sorted(steps, key=_step_order)
    get = record.get
    return _checked({
        "id": record["trace_id"],
        "name": record["name"],
        "status": record["status"],
        "test": get("test_id"),
        "run": get("run_id"),
        "start": datetime.fromtimestamp(started, tz=timezone.utc).isoformat(),
        "dur": get("duration_ms"),
        "meta": get("metadata", {}),
        "rejected": _rejected_count([s.get("metadata", {}) for s in ordered]),
        "steps": [_recorded_step(s, started) for s in ordered],
    })  # fmt: skip


class _Finite(dict[str, Any]):
    """A recorded trace's document found to hold no NaN or infinity (see :func:`_checked`).

    :func:`script_json` looks for them in a document whose text holds a null by walking it
    (``has_nonfinite``), which visits every value of every evaluation of every trace; it does
    not walk into this subclass, and orjson hands it to :func:`_fragment` (a subclass is passed
    to the ``default``), which writes its text as the dict's. Readers see a dict.
    """

    __slots__ = ()


#: what :func:`_checked` reads of a recorded trace's and step's documents as they are: every
#: key of :func:`_recorded_trace` and :func:`_recorded_step` but the metadata (``meta``), the
#: steps, and a step's ``input`` and ``output`` (skipped when they are the recorder's JSON text)
_TRACE_KEYS = ("id", "name", "status", "test", "run", "start", "dur", "rejected")
_STEP_KEYS = ("id", "parent", "name", "status", "at", "dur", "reasoning", "error")
_trace_values = itemgetter(*_TRACE_KEYS)
_step_values = itemgetter(*_STEP_KEYS)


def _checked(trace: dict[str, Any]) -> dict[str, Any]:
    """``trace`` as a :class:`_Finite` when it provably holds no NaN or infinity, else as it is.

    Its metadata (the bulk: evaluations, LLM metadata) is checked with one orjson call per
    trace, walked only when that text holds a null; the trace's and its steps' other values
    (but for the inputs and outputs kept as the recorder's JSON text, which holds none) are
    checked as they are. A value orjson refuses leaves the trace to the general path.
    """
    metas = [trace["meta"]]
    others = list(_trace_values(trace))
    for step in trace["steps"]:
        metas.append(step["meta"])
        others += _step_values(step)
        for kept in (step["input"], step["output"]):
            if type(kept) is not Snapshot:
                others.append(kept)
    try:
        text = orjson.dumps(metas, None, SNAPSHOT_OPTIONS)
    except TypeError:  # not plain JSON data: the whole document takes the general path
        return trace
    if (b"null" in text and has_nonfinite(metas)) or has_nonfinite(others):
        return trace
    return _Finite(trace)


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


def _rejected_count(metadata: Iterable[dict[str, Any]]) -> int:
    """Candidates whose final (last) evaluation rejected them, read from the steps' metadata."""
    final: dict[str, bool] = {}
    for meta in metadata:
        evaluations = meta.get("evaluations")
        if not isinstance(evaluations, list):
            continue
        for evaluation in evaluations:  # this runs for every evaluation of the run
            if isinstance(evaluation, dict) and "item_id" in evaluation:
                item = evaluation["item_id"]
                final[item if type(item) is str else str(item)] = bool(evaluation.get("qualified"))
    return list(final.values()).count(False)


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
    from xray_core.diff import DecisionChanged

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
    from xray_core.diff import DecisionChanged

    decisions = diff.decisions
    others = [c for c in diff.changes if not isinstance(c, DecisionChanged)]
    return {
        "name": diff.name,
        "changes": [_change(c) for c in [*decisions, *others]],
        "drift": [_change(c) for c in diff.drift],
    }


def _comparison(
    comparison: RunDiff | None,
    current: Sequence[Trace | TraceRecords],
    baseline: list[Trace],
) -> dict[str, Any] | None:
    if comparison is None:
        return None
    from xray_core.diff import trace_key_map
    from xray_core.store.records import trace_from_records

    models = [trace_from_records(*t) if isinstance(t, tuple) else t for t in current]
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
