"""Unused baselines: which baseline files no test used, whether the run was complete, and
deleting them (only after a complete run).

Read at the session's end from what :class:`pytest_xray.collected.Collected` recorded.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from gettext import ngettext
from pathlib import Path
from typing import TYPE_CHECKING

from ..constants import BASELINE_DIR
from ..nodeids import test_id

if TYPE_CHECKING:
    from ..collected import Collected


def partial_reason(collected: Collected, ran: Iterable[str]) -> str | None:
    """Why this was not a complete run (None when every test collection found ran)."""
    if collected.reasons:
        return collected.reasons[0]
    if collected.selected is None:
        return "collection did not finish"
    unrun = collected.selected - set(ran)
    if unrun:
        return f"{len(unrun)} selected {ngettext('test', 'tests', len(unrun))} did not run"
    return None


def stems_by_module(collected: Collected) -> dict[str, dict[str, str]]:
    """Module path -> {baseline stem: node id}, for modules beside a baselines directory."""
    modules = {module: dict(stems) for module, stems in collected.merged.items()}
    dirs = collected.module_dirs()
    beside: dict[Path, bool] = {}  # by module: ``.parent`` makes a new path (and hash) per call
    for item in collected.items:
        module = item.path
        if module not in beside:
            beside[module] = dirs[module.parent]
        if beside[module]:
            from .files import item_stem  # only beside baselines (see the package's doc)

            modules.setdefault(str(item.path), {})[item_stem(item)] = test_id(item)
    return modules


def _owners(stem: str, stems: dict[str, str]) -> list[str]:
    return [nodeid for s, nodeid in stems.items() if stem == s or stem.startswith(s + ".")]


def _files(root: Path, pattern: str) -> list[Path]:
    """The baseline files (regular files only: a directory is never taken for one)."""
    return sorted(f for f in root.glob(pattern) if f.is_file()) if root.is_dir() else []


def find_unused(collected: Collected, used: set[str], passed: set[str]) -> list[Path]:
    """Baseline files of collected modules that no test used.

    A file counts as unused when its test ran and passed without using it, when (whole suite
    selected) no collected test owns it, or when its test module no longer exists (in any
    collected directory, even one with no module left). Files of deselected, skipped or failed
    tests never count.
    """
    unused: list[Path] = []
    roots = {Path(d) / BASELINE_DIR for d in collected.baseline_dirs}
    for module, stems in stems_by_module(collected).items():
        from .files import baseline_root  # only beside baselines (see the package's doc)

        root = baseline_root(Path(module))
        roots.add(root)
        prefix = Path(module).stem + "."
        for file in _files(root, glob.escape(prefix) + "*.json"):
            if str(file) in used:
                continue
            owners = _owners(file.name[len(prefix) : -len(".json")], stems)
            if (owners and all(o in passed for o in owners)) or (
                not owners and not collected.reasons
            ):
                unused.append(file)
    for root in sorted(roots):
        for file in _files(root, "*.json"):
            if not (root.parent / (file.name.split(".", 1)[0] + ".py")).exists():
                unused.append(file)  # its test module is gone
    return unused


def delete(files: Iterable[Path]) -> list[str]:
    """Remove unused baseline files, and their directory once empty; returns what failed."""
    problems = []
    for file in files:
        try:
            file.unlink(missing_ok=True)
            if file.parent.is_dir() and not any(file.parent.iterdir()):
                file.parent.rmdir()
        except OSError as exc:
            problems.append(f"unused baseline {file} was not deleted: {exc.strerror or exc}")
    return problems
