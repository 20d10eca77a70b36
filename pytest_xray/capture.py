"""Attaching a session's observer to :mod:`xray_core.recorder` without importing it early.

Importing ``xray_core`` costs a quarter of a second (pydantic, sqlite-utils); a pytest run whose
tests never record must not pay it. So when the recorder is not imported yet, the observer waits
in a meta-path finder and is added the moment anything imports ``xray_core.recorder``.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

RECORDER = "xray_core.recorder"


class _Loader(importlib.abc.Loader):
    """Runs the real loader, then hands the pending observers to the fresh module."""

    def __init__(self, loader: Any, finder: _PendingObservers) -> None:
        self.loader = loader
        self.finder = finder

    def create_module(self, spec: Any) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # Put the real loader back so tracebacks and importlib.resources see it.
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        self.finder.release(module)


class _PendingObservers(importlib.abc.MetaPathFinder):
    """Observers waiting for ``xray_core.recorder``, in the order their sessions started."""

    def __init__(self) -> None:
        self.pending: list[Any] = []

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: Any = None) -> Any:
        if fullname != RECORDER:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _Loader(spec.loader, self)
                return spec
        return None

    def release(self, module: ModuleType) -> None:
        for observer in self.pending:
            module.add_observer(observer)
            _attached[id(observer)] = module
        self.pending.clear()
        if self in sys.meta_path:
            sys.meta_path.remove(self)


_finder = _PendingObservers()
#: which recorder module each observer was added to (pytester may re-import xray_core)
_attached: dict[int, ModuleType] = {}


def attach(observer: Any) -> None:
    """Make ``observer`` receive traces now, or as soon as the recorder is imported."""
    module = sys.modules.get(RECORDER)
    if module is not None:
        module.add_observer(observer)
        _attached[id(observer)] = module
        return
    _finder.pending.append(observer)
    # First in line: pytest's assertion rewriter (inserted before us) would otherwise load
    # xray_core itself, since pytest marks the modules of entry-point plugins for rewriting.
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    sys.meta_path.insert(0, _finder)


def ensure(observer: Any) -> None:
    """Attach ``observer`` if the recorder was imported in a way the finder did not see.

    Cheap enough to call before every test: two dict look-ups when all is well.
    """
    module = sys.modules.get(RECORDER)
    if module is None or _attached.get(id(observer)) is module:
        return
    if observer in _finder.pending:
        _finder.pending.remove(observer)
    module.add_observer(observer)
    _attached[id(observer)] = module


def detach(observer: Any) -> None:
    """Stop ``observer`` receiving traces (whether it was added yet or still waiting)."""
    if observer in _finder.pending:
        _finder.pending.remove(observer)
        if not _finder.pending and _finder in sys.meta_path:
            sys.meta_path.remove(_finder)
    module = _attached.pop(id(observer), None)
    if module is not None:
        module.remove_observer(observer)
