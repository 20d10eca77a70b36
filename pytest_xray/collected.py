"""What the unused-baseline detection needs to know about the collected tests.

Kept cheap: items are only remembered during collection; their baseline names are computed at
the end, and only for modules that have a baselines directory at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .nodeids import test_id

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


class Collected:
    """The collected tests (deselected ones included) and whether the selection was partial."""

    def __init__(self) -> None:
        self.items: list[pytest.Item] = []
        #: True when some tests were deselected or only some node ids were asked for
        self.partial = False
        #: collected directories holding a baselines directory (their modules may all be gone)
        self.baseline_dirs: set[str] = set()
        self._merged: dict[str, dict[str, str]] = {}

    def add(self, items: Iterable[pytest.Item]) -> None:
        """Remember ``items`` (selected or deselected)."""
        self.items.extend(items)

    def visit(self, directory: Path) -> None:
        """Remember ``directory`` (collected) when it holds baselines."""
        from .constants import BASELINE_DIR

        if (directory / BASELINE_DIR).is_dir():
            self.baseline_dirs.add(str(directory))

    @property
    def modules(self) -> dict[str, dict[str, str]]:
        """Module path -> {baseline stem: node id}, for modules beside a baselines directory."""
        from .baseline import baseline_root, item_stem

        modules = {module: dict(stems) for module, stems in self._merged.items()}
        has_root: dict[object, bool] = {}
        for item in self.items:
            directory = item.path.parent
            if directory not in has_root:
                has_root[directory] = baseline_root(item.path).is_dir()
            if has_root[directory]:
                modules.setdefault(str(item.path), {})[item_stem(item)] = test_id(item)
        return modules

    def merge(self, other: dict[str, Any]) -> None:
        """Merge what a pytest-xdist worker collected (see :meth:`as_dict`)."""
        for module, stems in other.get("modules", {}).items():
            self._merged.setdefault(module, {}).update(stems)
        self.partial = self.partial or bool(other.get("partial"))
        self.baseline_dirs.update(other.get("baseline_dirs", []))

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form, for pytest-xdist."""
        return {
            "modules": self.modules,
            "partial": self.partial,
            "baseline_dirs": sorted(self.baseline_dirs),
        }
