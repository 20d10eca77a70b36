"""Unused baselines: which tests the session collected and ran, which files nobody used.

Kept cheap: items are only remembered during collection; their baseline names are computed at
the end, and only for modules that have a baselines directory at all.

A run is *partial* when some collected test did not run: tests deselected (``-k``, ``-m``,
``--deselect``, ``--lf``), only some node ids asked for, a collection error, tests a conftest
dropped in ``pytest_collection_modifyitems`` without calling ``pytest_deselected``, or tests
left unrun (``-x``/``--maxfail``, Ctrl-C). Unused files are deleted only after a complete run.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from gettext import ngettext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from xray_core.surrogates import escape_surrogates

from ..constants import BASELINE_DIR
from ..nodeids import test_id

if TYPE_CHECKING:
    from collections.abc import Sequence


def _tests(n: int) -> str:
    return f"{n} {ngettext('test', 'tests', n)}"


class Collected:
    """The tests collection found (selected, deselected or dropped) and whether all were run."""

    def __init__(self) -> None:
        #: owners of baseline files: every test collection found, whether it ran or not
        self.items: list[pytest.Item] = []
        #: why the selection is partial (empty: every test collection found was selected)
        self.reasons: list[str] = []
        #: node ids selected to run (None until collection finished)
        self.selected: set[str] | None = None
        #: collected directories holding a baselines directory (their modules may all be gone)
        self.baseline_dirs: set[str] = set()
        self._found: dict[str, pytest.Item] = {}
        self._deselected: set[str] = set()
        self._merged: dict[str, dict[str, str]] = {}

    # -- what collection reports (called from the session's hooks) --
    def found(self, report: pytest.CollectReport) -> None:
        """Remember the tests a collector reported (before any hook filters them)."""
        if report.failed:
            self.mark_partial("a collection error left tests out")
        for node in report.result:
            if isinstance(node, pytest.Item):
                self._found[test_id(node)] = node

    def deselect(self, items: Sequence[pytest.Item]) -> None:
        """Deselected tests keep their baselines: remember them as owners."""
        self._deselected.update(test_id(i) for i in items)
        self.items.extend(items)
        self.mark_partial(f"{_tests(len(items))} deselected")

    def select(self, items: Sequence[pytest.Item]) -> None:
        """The tests left to run once collection finished; those dropped silently are noticed."""
        self.selected = {test_id(i) for i in items}
        self.items.extend(items)
        dropped = [
            item for nodeid, item in self._found.items()
            if nodeid not in self.selected and nodeid not in self._deselected
        ]  # fmt: skip
        self.items.extend(dropped)
        if dropped:
            self.mark_partial(
                f"{_tests(len(dropped))} left out without pytest_deselected "
                "(a pytest_collection_modifyitems hook?)"
            )

    def selected_by_worker(self, nodeids: Iterable[str]) -> None:
        """What a pytest-xdist worker will run (the controller collects nothing itself)."""
        self.selected = (self.selected or set()) | {escape_surrogates(n) for n in nodeids}

    def mark_partial(self, reason: str) -> None:
        """Record that not every test collection found is selected, and why."""
        if reason not in self.reasons:
            self.reasons.append(reason)

    def visit(self, directory: Path) -> None:
        """Remember ``directory`` (collected) when it holds baselines."""
        if (directory / BASELINE_DIR).is_dir():
            self.baseline_dirs.add(str(directory))

    # -- the verdict --
    @property
    def partial(self) -> bool:
        """True when some tests collection found were not selected to run."""
        return bool(self.reasons)

    def partial_reason(self, ran: Iterable[str]) -> str | None:
        """Why this was not a complete run (None when every test collection found ran)."""
        if self.reasons:
            return self.reasons[0]
        if self.selected is None:
            return "collection did not finish"
        unrun = self.selected - set(ran)
        if unrun:
            return f"{len(unrun)} selected {ngettext('test', 'tests', len(unrun))} did not run"
        return None

    @property
    def modules(self) -> dict[str, dict[str, str]]:
        """Module path -> {baseline stem: node id}, for modules beside a baselines directory."""
        modules = {module: dict(stems) for module, stems in self._merged.items()}
        # by module first: the items of a module share one path object, whose hash is cached
        # (``.parent`` makes a new one per call: a thousand items, a thousand hashes)
        module_has_root: dict[Path, bool] = {}
        dir_has_root: dict[Path, bool] = {}
        for item in self.items:
            module = item.path
            has_root = module_has_root.get(module)
            if has_root is None:
                directory = module.parent
                if directory not in dir_has_root:
                    dir_has_root[directory] = (directory / BASELINE_DIR).is_dir()
                has_root = module_has_root[module] = dir_has_root[directory]
            if has_root:
                from .files import item_stem  # only beside baselines (see the package's doc)

                modules.setdefault(str(item.path), {})[item_stem(item)] = test_id(item)
        return modules

    # -- pytest-xdist transport --
    def merge(self, other: dict[str, Any]) -> None:
        """Merge what a pytest-xdist worker collected (see :meth:`as_dict`)."""
        for module, stems in other.get("modules", {}).items():
            self._merged.setdefault(module, {}).update(stems)
        for reason in other.get("reasons", []):
            self.mark_partial(reason)
        self.baseline_dirs.update(other.get("baseline_dirs", []))

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form, for pytest-xdist."""
        return {
            "modules": self.modules,
            "reasons": self.reasons,
            "baseline_dirs": sorted(self.baseline_dirs),
        }


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
    for module, stems in collected.modules.items():
        from .files import baseline_root  # only beside baselines (see the package's doc)

        root = baseline_root(Path(module))
        roots.add(root)
        prefix = Path(module).stem + "."
        for file in _files(root, glob.escape(prefix) + "*.json"):
            if str(file) in used:
                continue
            owners = _owners(file.name[len(prefix) : -len(".json")], stems)
            if (owners and all(o in passed for o in owners)) or (
                not owners and not collected.partial
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
