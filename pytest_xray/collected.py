"""What collection found: the tests a session collected, selected, deselected or dropped.

Every pytest process keeps one (each pytest-xdist worker too), so this module only records;
:mod:`pytest_xray.baseline.unused` reads it at the end: which baseline files no test used, and
whether the run was *partial*. A run is partial when some collected test did not run: tests
deselected (``-k``, ``-m``, ``--deselect``, ``--lf``), only some node ids asked for, a collection
error, tests a conftest dropped in ``pytest_collection_modifyitems`` without calling
``pytest_deselected``, or tests left unrun (``-x``/``--maxfail``, Ctrl-C).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from gettext import ngettext
from pathlib import Path
from typing import Any

import pytest

from xray_core.surrogates import escape_surrogates

from .constants import BASELINE_DIR
from .nodeids import test_id


def _tests(n: int) -> str:
    return f"{n} {ngettext('test', 'tests', n)}"


class Collected:
    """The tests collection found (selected, deselected or dropped) and why not all were run."""

    def __init__(self) -> None:
        #: owners of baseline files: every test collection found, whether it ran or not
        self.items: list[pytest.Item] = []
        #: why the selection is partial (empty: every test collection found was selected)
        self.reasons: list[str] = []
        #: node ids selected to run (None until collection finished)
        self.selected: set[str] | None = None
        #: collected directories holding a baselines directory (their modules may all be gone)
        self.baseline_dirs: set[str] = set()
        #: module path -> {baseline stem: node id}, sent by pytest-xdist workers
        self.merged: dict[str, dict[str, str]] = {}
        self._found: dict[str, pytest.Item] = {}
        #: what :meth:`module_dirs` found, until the items change
        self._dirs: dict[Path, bool] | None = None
        self._deselected: set[str] = set()

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
        self._dirs = None
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
        self._dirs = None
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

    def module_dirs(self) -> dict[Path, bool]:
        """Each collected test's directory -> whether it holds baselines (looked up once: the
        end asks whether the session is idle, then which baselines are unused)."""
        if self._dirs is not None:
            return self._dirs
        dirs: dict[Path, bool] = {}
        # by module first: the items of a module share one path object, whose hash is cached
        # (``.parent`` makes a new one per call: a thousand items, a thousand hashes)
        for module in dict.fromkeys(item.path for item in self.items):
            if module.parent not in dirs:
                dirs[module.parent] = (module.parent / BASELINE_DIR).is_dir()
        self._dirs = dirs
        return dirs

    def holds_baselines(self) -> bool:
        """Whether any collected directory holds baselines (or a pytest-xdist worker's did)."""
        return bool(self.baseline_dirs or self.merged) or any(self.module_dirs().values())

    def merge(self, other: dict[str, Any]) -> None:
        """Merge what a pytest-xdist worker collected (see :meth:`as_dict`)."""
        for module, stems in other.get("modules", {}).items():
            self.merged.setdefault(module, {}).update(stems)
        for reason in other.get("reasons", []):
            self.mark_partial(reason)
        self.baseline_dirs.update(other.get("baseline_dirs", []))

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form, for pytest-xdist (see :func:`pytest_xray.xdist.merge_worker`)."""
        from .baseline.unused import stems_by_module

        return {
            "modules": stems_by_module(self),
            "reasons": self.reasons,
            "baseline_dirs": sorted(self.baseline_dirs),
        }
