"""Results of the costly endpoints (diffs, stability, report data), kept while their runs stay
as they are.

A run that has ended does not change: its traces and tests are final. A result is kept under its
request and the *fingerprint* of the runs it was computed from (their ids, statuses, end times
and trace counts), so a run deleted, re-imported or still recording is never answered from an
old result; a result involving a run still ``running`` is not kept at all.
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
