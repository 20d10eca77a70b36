"""Where traces and runs are kept: :class:`MemoryStore` and :class:`SQLiteStore`.

Each store is imported on first use (``from xray_core.store import MemoryStore`` works as
usual): a process recording into memory does not load ``SQLiteStore``'s sqlite-utils, and
``import xray_core.store.records`` or ``.memory`` does not bring the other stores along.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import lazy as _lazy

if TYPE_CHECKING:
    from .base import Store
    from .memory import MemoryStore
    from .sqlite import SQLiteStore

__all__ = ["MemoryStore", "SQLiteStore", "Store"]

_HOME_OF = {"MemoryStore": "memory", "SQLiteStore": "sqlite", "Store": "base"}


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _HOME_OF, globals(), name)


def __dir__() -> list[str]:
    return _lazy.names(globals(), __all__)
