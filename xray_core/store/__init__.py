"""Where traces and runs are kept: :class:`MemoryStore` and :class:`SQLiteStore`.

Each store is imported on first use (``from xray_core.store import MemoryStore`` works as
usual): a process recording into memory does not load ``SQLiteStore``'s sqlite-utils, and
``import xray_core.store.records`` or ``.memory`` does not bring the other stores along.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Store
    from .memory import MemoryStore
    from .sqlite import SQLiteStore

__all__ = ["MemoryStore", "SQLiteStore", "Store"]

_HOME_OF = {"MemoryStore": "memory", "SQLiteStore": "sqlite", "Store": "base"}


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
