"""Baseline files: where a test's baseline lives, what it holds, comparing and finding unused ones.

A baseline is ``<module dir>/__xray_baselines__/<module stem>.<test>[.<name>].json`` holding
``{"format": 1, "traces": [...]}``: the test's traces as :func:`xray_core.diff.normalize_trace`
returns them (volatile fields gone), after the ``pytest_xray_normalize`` hook and with the
``ignore=`` paths removed, written with sorted keys so that review diffs stay small.
"""

from __future__ import annotations

import glob
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xray_core.ignore import path_ignored

from .constants import BASELINE_DIR, BASELINE_FORMAT

if TYPE_CHECKING:
    import pytest

    from xray_core.diff import TraceDiff

    from .collected import Collected

_UNSAFE_ID = re.compile(r"[^\w.=+-]")
_UNSAFE_NAME = re.compile(r"[^\w-]")


class BaselineFileError(Exception):
    """A baseline file exists but cannot be read as a baseline."""


def _safe(text: str, unsafe: re.Pattern[str]) -> str:
    cleaned = unsafe.sub("_", text)
    if cleaned == text:
        return text
    # Two ids that clean to the same text must not share a file.
    # surrogatepass: an id with lone surrogates (ids not escaped) hashes too; others unchanged
    return f"{cleaned}-{hashlib.sha1(text.encode('utf-8', 'surrogatepass')).hexdigest()[:6]}"


def item_stem(item: pytest.Item) -> str:
    """The file-name stem of ``item``'s baselines: ``Class.test_name[param-id]``."""
    import pytest

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
        _strip_step(s, patterns) for s in trace.get("steps", []) if not path_ignored(s["key"], patterns)
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


def load(path: Path, shown: str | None = None) -> list[dict[str, Any]]:
    """The traces of the baseline at ``path``; :class:`BaselineFileError` names what is wrong.

    :param shown: how messages name the file (default: ``path``).
    """
    shown = shown or str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineFileError(f"cannot read baseline {shown}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise BaselineFileError(f"baseline {shown} is not valid JSON: {exc}") from exc
    traces = data.get("traces") if isinstance(data, dict) else None
    if not isinstance(traces, list) or not all(
        isinstance(t, dict) and isinstance(t.get("steps"), list) for t in traces
    ):
        raise BaselineFileError(
            f"baseline {shown} has no valid 'traces' list (expected "
            '{"format": 1, "traces": [{"name": ..., "steps": [...]}, ...]}); '
            "re-create it with --xray-update"
        )
    return traces


# -- comparison ---------------------------------------------------------------------------------
@dataclass
class Comparison:
    """The outcome of comparing a test's traces with its baseline."""

    diffs: list[TraceDiff] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        """True when something differs."""
        return bool(self.added or self.removed or any(self.diffs))

    def text(self) -> str:
        """The semantic diff in words (decision flips first, as ``diff_traces`` sorts them)."""
        lines = [str(d) for d in self.diffs if d]
        lines += [f"trace {name} is new (not in the baseline)" for name in self.added]
        lines += [f"trace {name} is missing (only in the baseline)" for name in self.removed]
        return "\n".join(lines)


def _keyed(traces: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    keyed: dict[str, dict[str, Any]] = {}
    seen: dict[str, int] = {}
    for trace in traces:
        name = str(trace.get("name"))
        seen[name] = seen.get(name, 0) + 1
        keyed[repr(name) if seen[name] == 1 else f"{name!r} #{seen[name]}"] = trace
    return keyed


def compare(
    baseline: list[dict[str, Any]], current: list[dict[str, Any]], ignore: Sequence[str]
) -> Comparison:
    """Pair traces by (name, occurrence) and diff each pair with ``xray_core.diff_traces``."""
    from xray_core.diff import diff_traces

    old, new = _keyed(baseline), _keyed(current)
    result = Comparison()
    for key in list(old) + [k for k in new if k not in old]:
        if key not in new:
            result.removed.append(key)
        elif key not in old:
            result.added.append(key)
        else:
            result.diffs.append(diff_traces(old[key], new[key], ignore))
    return result


# -- unused files -------------------------------------------------------------------------------
def _owners(stem: str, stems: dict[str, str]) -> list[str]:
    return [nodeid for s, nodeid in stems.items() if stem == s or stem.startswith(s + ".")]


def find_unused(collected: Collected, used: set[str], passed: set[str]) -> list[Path]:
    """Baseline files of collected modules that no test used.

    A file counts as unused when its test ran and passed without using it, when (whole suite
    selected) no collected test owns it, or when its test module no longer exists (in any
    collected directory, even one with no module left). Files of deselected, skipped or failed
    tests never count.
    """
    unused: list[Path] = []
    roots = {Path(d) / BASELINE_DIR for d in collected.baseline_dirs}
    for module, stems in collected.modules.items():
        root = baseline_root(Path(module))
        roots.add(root)
        prefix = Path(module).stem + "."
        for file in sorted(root.glob(glob.escape(prefix) + "*.json")) if root.is_dir() else ():
            if str(file) in used:
                continue
            owners = _owners(file.name[len(prefix) : -len(".json")], stems)
            if (owners and all(o in passed for o in owners)) or (
                not owners and not collected.partial
            ):
                unused.append(file)
    for root in sorted(r for r in roots if r.is_dir()):
        for file in sorted(root.glob("*.json")):
            if not (root.parent / (file.name.split(".", 1)[0] + ".py")).exists():
                unused.append(file)  # its test module is gone
    return unused


def delete(files: Iterable[Path]) -> None:
    """Remove unused baseline files, and their directory once empty."""
    for file in files:
        file.unlink(missing_ok=True)
        if file.parent.is_dir() and not any(file.parent.iterdir()):
            file.parent.rmdir()
