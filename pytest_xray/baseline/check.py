"""One ``assert_baseline`` check: compare the test's traces with its file, or write the file.

The comparison is :mod:`xray_core.diff`'s: traces are paired by (name, occurrence) with
:func:`~xray_core.diff.occurrence_keys` and compared with :func:`~xray_core.diff.diff_paired`,
the same engine and pairing as ``xray diff``.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from xray_core.atomic import write_text_atomic
from xray_core.outcomes import VERDICT_ORDER, BaselineVerdict

from ..constants import MAX_FILE_NAME_BYTES
from ..nodeids import test_id
from ..paths import relpath, test_arg
from .files import (
    BaselineFileError,
    NewerFormatError,
    baseline_path,
    check_format,
    dumps,
    load,
    strip_ignored,
)

if TYPE_CHECKING:
    from xray_core.diff import RunDiff, TraceKey
    from xray_core.models import Trace

    from ..session import XraySession


@dataclass
class BaselineResult:
    """One ``assert_baseline`` call: its file and verdict (plus the data of a failed diff)."""

    path: str
    verdict: BaselineVerdict
    message: str | None = None
    baseline: list[dict[str, Any]] | None = None
    current: list[dict[str, Any]] | None = None
    ignore: list[str] = field(default_factory=list)


def overall_verdict(results: list[BaselineResult]) -> BaselineVerdict | None:
    """The worst verdict of a test's baseline checks (None when it checked none)."""
    if not results:  # most tests: this runs for each one as it finishes, and at the end
        return None
    verdicts = {r.verdict for r in results}
    return next((v for v in VERDICT_ORDER if v in verdicts), None)


# -- comparing ----------------------------------------------------------------------------------
def compare(
    baseline: list[dict[str, Any]], current: list[dict[str, Any]], ignore: list[str]
) -> RunDiff:
    """Pair the traces by (name, occurrence) and diff each pair (falsy when nothing differs)."""
    from xray_core.diff import diff_paired, occurrence_keys  # pydantic: only when comparing

    def key(trace: dict[str, Any]) -> tuple[str, str]:
        return "", str(trace.get("name"))

    old, new = occurrence_keys(baseline, key), occurrence_keys(current, key)
    return diff_paired(old, new, ignore)


def _trace_label(key: TraceKey) -> str:
    _, name, index = key
    return repr(name) if index == 0 else f"{name!r} #{index + 1}"


def describe(comparison: RunDiff) -> str:
    """The semantic diff in words (decision flips first, as ``diff_traces`` sorts them)."""
    lines = [str(d) for d in comparison.diffs.values() if d]
    lines += [f"trace {_trace_label(k)} is new (not in the baseline)" for k in comparison.added]
    lines += [
        f"trace {_trace_label(k)} is missing (only in the baseline)" for k in comparison.removed
    ]
    return "\n".join(lines)


# -- checking -----------------------------------------------------------------------------------
def refuse_unusable_file(session: XraySession, item: pytest.Item, name: str | None) -> None:
    """Fail the test when its baseline file cannot work: a name too long, or checked twice."""
    __tracebackhide__ = True
    path = baseline_path(item, name)
    size = len(path.name.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_NAME_BYTES:
        pytest.fail(
            f"the baseline file name of this test would be {size} bytes, more than file systems "
            f"allow ({MAX_FILE_NAME_BYTES}): give the test a shorter id, e.g. "
            'pytest.param(..., id="short"), or a shorter name='
        )
    # Two checks of one file would each overwrite it under --xray-update, then fail each other.
    if any(r.path == str(path) for r in session.baselines.get(test_id(item), [])):
        pytest.fail(
            f"assert_baseline() already checked {relpath(session, path)} in this test; "
            'give each call its own name=, e.g. assert_baseline(name="second")'
        )


def _current(
    session: XraySession, item: pytest.Item, traces: list[Trace], ignore: list[str]
) -> list[dict[str, Any]]:
    from xray_core.diff import normalize_trace  # pydantic: only when a test checks a baseline

    hook = session.config.hook.pytest_xray_normalize
    current = []
    for trace in traces:
        data = json.loads(json.dumps(normalize_trace(trace)))  # a private copy the hook may edit
        for returned in hook(trace_dict=data, item=item):
            if isinstance(returned, dict):
                data = returned
        current.append(strip_ignored(data, ignore))
    return current


def check_baseline(
    session: XraySession,
    item: pytest.Item,
    traces: list[Trace],
    name: str | None,
    ignore: list[str],
) -> BaselineResult:
    """Compare (or, under ``--xray-update``, write) the baseline of ``item``."""
    path = baseline_path(item, name)
    shown = relpath(session, path)
    current = _current(session, item, traces, ignore)
    command = f"pytest --xray-update {shlex.quote(test_arg(session, item.nodeid))}"
    if session.options.update:
        return _update(path, shown, dumps(current), command)
    if not path.exists() and not path.is_symlink():
        message = f"no baseline {shown} for this test yet.\nCreate it with: {command}"
        return BaselineResult(str(path), "missing", message)
    try:
        stored = load(path, shown)
    except NewerFormatError as exc:
        return BaselineResult(str(path), "error", f"{exc}\n{_newer_advice(command)}")
    except BaselineFileError as exc:
        return BaselineResult(str(path), "error", f"{exc}\n{_repair_advice(path, command)}")
    comparison = compare(stored, current, ignore)
    if not comparison:
        return BaselineResult(str(path), "passed")
    message = (
        f"decisions differ from the baseline {shown}:\n{describe(comparison)}\n"
        f"If the new decisions are right, accept them with: {command}"
    )
    return BaselineResult(str(path), "failed", message, stored, current, ignore)


def _newer_advice(command: str) -> str:
    return (
        "It is not read, and --xray-update does not overwrite it: upgrade decisiontracex "
        f"(pip install -U decisiontracex), or delete the file and re-create it with: {command}"
    )


def _repair_advice(path: Path, command: str) -> str:
    if path.is_dir() and any(path.iterdir()):
        return (
            "Remove that directory (--xray-update never deletes a directory holding files), "
            f"then create the baseline with: {command}"
        )
    return f"Rewrite it with: {command}"


def _same_text(raw: bytes, text: str) -> bool:
    try:
        return raw.decode("utf-8").replace("\r\n", "\n") == text  # a CRLF checkout is the same
    except UnicodeDecodeError:
        return False


def _update(path: Path, shown: str, text: str, command: str) -> BaselineResult:
    """Write ``text`` to ``path`` unless it already holds it; refuse to overwrite a newer format."""
    existed = path.exists()
    try:
        if path.is_dir():
            if any(path.iterdir()):
                message = f"baseline {shown} is a directory, not a file.\n"
                return BaselineResult(str(path), "error", message + _repair_advice(path, command))
            path.rmdir()  # an empty directory in the file's place: nothing is lost
        elif path.exists():
            raw = path.read_bytes()
            if _same_text(raw, text):
                return BaselineResult(str(path), "passed")
            check_format(raw, shown)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, text, newline="\n")
    except NewerFormatError as exc:
        return BaselineResult(str(path), "error", f"{exc}\n{_newer_advice(command)}")
    except OSError as exc:
        message = f"cannot write baseline {shown}: {exc.strerror or exc}"
        if existed and path.is_file():
            message += " (the previous file is unchanged)"
        return BaselineResult(str(path), "error", message)
    return BaselineResult(str(path), "written")
