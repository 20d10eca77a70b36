"""Results of the costly endpoints (diffs, stability, report data), kept while their runs stay
as they are.

A result is kept under its request and the *fingerprint* of the data it was computed from: the
database's version (it changes with every commit to the file, whoever makes it) and the runs it
read (their ids, statuses and end times), so a run deleted, re-imported or still recording is
never answered from an old result; a result involving a run still ``running`` is not kept at
all (its status as shown depends on its process being alive).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

#: results kept (the least recently used goes first); a report's data is a few MB at most
MAX_ENTRIES = 32


class ResultCache:
    """A small least-recently-used store of computed results, shared by the worker threads."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, fingerprint: Hashable | None, compute: Callable[[], T]) -> T:
        """The result kept for (``key``, ``fingerprint``), else ``compute()`` (then kept, unless
        ``fingerprint`` is None)."""
        if fingerprint is None:
            return compute()
        full = (key, fingerprint)
        with self._lock:
            if full in self._entries:
                self._entries.move_to_end(full)
                found: T = self._entries[full]
                return found
        value = compute()  # outside the lock: other requests go on meanwhile
        with self._lock:
            self._entries[full] = value
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value
