"""Where traces and runs are kept: :class:`MemoryStore` and :class:`SQLiteStore`."""

from __future__ import annotations

from .base import Store
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = ["MemoryStore", "SQLiteStore", "Store"]
