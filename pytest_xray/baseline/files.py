"""Baseline files: where a test's baseline lives, its text, and reading it back safely.

A baseline is ``<module dir>/__xray_baselines__/<module stem>.<test>[.<name>].json`` holding
``{"format": 1, "traces": [...]}``: the test's traces as :func:`xray_core.diff.normalize_trace`
returns them (volatile fields gone), after the ``pytest_xray_normalize`` hook and with the
``ignore=`` paths removed, written with sorted keys so that review diffs stay small.

Reading a file never trusts it: every problem (not UTF-8, not JSON, nested too deeply, the
wrong shape, a newer ``format``) becomes a :class:`BaselineFileError` naming the file, and where
in it the problem is.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from xray_core.ignore import path_ignored

from ..constants import BASELINE_DIR, BASELINE_FORMAT

_UNSAFE_ID = re.compile(r"[^\w.=+-]")
_UNSAFE_NAME = re.compile(r"[^\w-]")

#: deeper files are refused: recorded values stop at 50 levels (``xray_core.serialize``), a
#: normalized trace adds a few, and comparing walks the values recursively
MAX_NESTING = 200


class BaselineFileError(Exception):
    """A baseline file exists but cannot be used as a baseline; ``--xray-update`` rewrites it."""


class NewerFormatError(BaselineFileError):
    """A baseline written by a newer decisiontracex: never read, never overwritten."""


# -- where --------------------------------------------------------------------------------------
def _safe(text: str, unsafe: re.Pattern[str]) -> str:
    cleaned = unsafe.sub("_", text)
    if cleaned == text:
        return text
    # Two ids that clean to the same text must not share a file.
    return f"{cleaned}-{hashlib.sha1(text.encode('utf-8', 'surrogatepass')).hexdigest()[:6]}"


def item_stem(item: pytest.Item) -> str:
    """The file-name stem of ``item``'s baselines: ``Class.test_name[param-id]``."""
    names = [n.name for n in item.listchain() if isinstance(n, pytest.Class)]
    names.append(getattr(item, "originalname", item.name))
    stem = ".".join(names)
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        stem += f"[{_safe(callspec.id, _UNSAFE_ID)}]"
    return stem


def baseline_root(module_path: Path) -> Path:
    """The directory holding the baselines of the test modules beside ``module_path``."""
    return module_path.parent / BASELINE_DIR


def baseline_path(item: pytest.Item, name: str | None = None) -> Path:
    """The baseline file of ``item`` (and of ``name`` when a test keeps several)."""
    stem = item_stem(item)
    if name:
        stem += "." + _safe(str(name), _UNSAFE_NAME)
    return baseline_root(item.path) / f"{item.path.stem}.{stem}.json"


# -- content ------------------------------------------------------------------------------------
def _strip(value: Any, path: str, patterns: Sequence[str]) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip(v, f"{path}.{k}", patterns)
            for k, v in value.items()
            if not path_ignored(f"{path}.{k}", patterns)
        }
    if isinstance(value, list):
        return [_strip(v, f"{path}[{i}]", patterns) for i, v in enumerate(value)]
    return value


def _strip_step(step: dict[str, Any], patterns: Sequence[str]) -> dict[str, Any]:
    key = step["key"]
    kept = {
        part: _strip(value, f"{key}.{part}", patterns)
        for part, value in step.items()
        if part in ("key", "evaluations") or not path_ignored(f"{key}.{part}", patterns)
    }
    evaluations = kept.get("evaluations") or {}
    kept["evaluations"] = {
        item: value
        for item, value in evaluations.items()
        if not path_ignored(f"{key}.evaluations.{item}", patterns)
    }
    return kept


def strip_ignored(trace: dict[str, Any], patterns: Sequence[str]) -> dict[str, Any]:
    """``trace`` (normalized) without the values whose change path matches ``patterns``."""
    if not patterns:
        return trace
    stripped = {k: v for k, v in trace.items() if k != "steps"}
    if path_ignored("trace.status", patterns):
        stripped.pop("status", None)
    stripped["metadata"] = _strip(trace.get("metadata") or {}, "trace.metadata", patterns)
    stripped["steps"] = [
        _strip_step(s, patterns)
        for s in trace.get("steps", [])
        if not path_ignored(s["key"], patterns)
    ]
    return stripped


def dumps(traces: list[dict[str, Any]]) -> str:
    """The text of a baseline file holding ``traces``."""
    return (
        json.dumps(
            {"format": BASELINE_FORMAT, "traces": traces},
            indent=2,
            sort_keys=True,
            ensure_ascii=False,  # reviewers read "é", not "\\u00e9"
        )
        + "\n"
    )


# -- reading ------------------------------------------------------------------------------------
def load(path: Path, shown: str | None = None) -> list[dict[str, Any]]:
    """The traces of the baseline at ``path``; :class:`BaselineFileError` says what is wrong.

    :param shown: how messages name the file (default: ``path``).
    """
    shown = shown or str(path)
    if path.is_dir():
        raise BaselineFileError(f"baseline {shown} is a directory, not a file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BaselineFileError(f"cannot read baseline {shown}: {exc.strerror or exc}") from exc
    return parse(raw, shown)


def parse(raw: bytes, shown: str) -> list[dict[str, Any]]:
    """The traces held by the bytes of a baseline file named ``shown`` in messages."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BaselineFileError(
            f"baseline {shown} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
            f"{exc.start})"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineFileError(f"baseline {shown} is not valid JSON: {exc}") from None
    except RecursionError:
        raise BaselineFileError(
            f"baseline {shown} is nested too deeply to read (more than {MAX_NESTING} levels)"
        ) from None
    problem = _format_problem(data)
    if problem is None and data["format"] > BASELINE_FORMAT:
        raise NewerFormatError(
            f"baseline {shown} has format {data['format']}, newer than this version of "
            f"decisiontracex reads (format {BASELINE_FORMAT})"
        )
    problem = problem or _too_deep(data) or _traces_problem(data["traces"])
    if problem is not None:
        raise BaselineFileError(f"baseline {shown} {problem}")
    traces: list[dict[str, Any]] = data["traces"]
    return traces


def check_format(raw: bytes, shown: str) -> None:
    """Raise :class:`NewerFormatError` when ``raw`` is a baseline of a newer format.

    Anything else wrong with the file is not raised: ``--xray-update`` may rewrite it.
    """
    try:
        parse(raw, shown)
    except NewerFormatError:
        raise
    except BaselineFileError:
        pass


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"the number {value!r}"
    return names.get(type(value), type(value).__name__)


def _too_deep(data: Any) -> str | None:
    """Whether ``data`` nests deeper than :data:`MAX_NESTING` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_NESTING:
            return f"is nested more than {MAX_NESTING} levels deep"
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return None


_EXPECTED = f'{{"format": {BASELINE_FORMAT}, "traces": [{{"name": ..., "steps": [...]}}, ...]}}'


def _format_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return f"holds {_kind(data)}, not a baseline object (expected {_EXPECTED})"
    if "format" not in data:
        return f"has no 'format' field (expected {_EXPECTED})"
    number = data["format"]
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        return f"has 'format' {number!r}, not a format number (expected {BASELINE_FORMAT})"
    if "traces" not in data and number <= BASELINE_FORMAT:
        return f"has no 'traces' list (expected {_EXPECTED})"
    return None


#: field -> the JSON types it may hold, for the parts of a trace the comparison relies on;
#: fields may be absent (``ignore=`` and the normalize hook remove them), other fields are free
_TRACE_FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str,), "status": (str, type(None)), "metadata": (dict,), "steps": (list,),
}  # fmt: skip
_STEP_FIELDS: dict[str, tuple[type, ...]] = {
    "key": (str,), "status": (str, type(None)), "reasoning": (str, type(None)),
    "metadata": (dict, type(None)), "llm": (dict, type(None)), "evaluations": (dict,),
    "error": (str, type(None)),
}  # fmt: skip
_EVALUATION_FIELDS: dict[str, tuple[type, ...]] = {
    "qualified": (bool,), "filters": (dict,), "reasoning": (str, type(None)),
}  # fmt: skip
_FILTER_FIELDS: dict[str, tuple[type, ...]] = {"passed": (bool,), "detail": (str, type(None))}
_TYPE_WORDS = {str: "a string", dict: "an object", list: "a list", bool: "a boolean",
               type(None): "null"}  # fmt: skip


def _fields_problem(
    value: Any, where: str, fields: dict[str, tuple[type, ...]], required: tuple[str, ...] = ()
) -> str | None:
    if not isinstance(value, dict):
        return f"has {_kind(value)} at {where}, expected an object"
    for name in required:
        if name not in value:
            return f"has no {name!r} at {where}"
    for name, types in fields.items():
        if name in value and not isinstance(value[name], types):
            expected = " or ".join(_TYPE_WORDS[t] for t in types)
            return f"has {_kind(value[name])} at {where}.{name}, expected {expected}"
    return None


def _traces_problem(traces: Any) -> str | None:
    """The first place where ``traces`` is not what :func:`dumps` writes, or None."""
    if not isinstance(traces, list):
        return f"has {_kind(traces)} as 'traces', expected a list (expected {_EXPECTED})"
    for i, trace in enumerate(traces):
        where = f"traces[{i}]"
        problem = _fields_problem(trace, where, _TRACE_FIELDS, required=("steps",))
        for j, step in enumerate(trace["steps"] if problem is None else []):
            problem = problem or _step_problem(step, f"{where}.steps[{j}]")
        if problem is not None:
            return problem
    return None


def _step_problem(step: Any, where: str) -> str | None:
    problem = _fields_problem(step, where, _STEP_FIELDS, required=("key",))
    if problem is not None:
        return problem
    for item, evaluation in step.get("evaluations", {}).items():
        at = f"{where}.evaluations.{item}"
        problem = _fields_problem(evaluation, at, _EVALUATION_FIELDS)
        for name, outcome in (evaluation.get("filters", {}) if problem is None else {}).items():
            problem = problem or _fields_problem(outcome, f"{at}.filters.{name}", _FILTER_FIELDS)
        if problem is not None:
            return problem
    return None
