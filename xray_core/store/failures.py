"""A store's failures: counted, logged without flooding the log, the first one kept to raise."""

from __future__ import annotations

import logging
import threading

from ..exceptions import StoreError

logger = logging.getLogger("xray_core")

#: the first failures are logged in full; after that, one line per thousand
LOGGED_IN_FULL = 10


class Failures:
    """What a store could not do.

    :param strict: keep the first failure, for the store to raise it (:meth:`take`).
    """

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        #: records that could not be written, plus failed opens
        self.count = 0
        self._first: StoreError | None = None
        self._lock = threading.Lock()

    def record(self, exc: BaseException, records: int = 1, *, keep: bool = False) -> None:
        """Count ``records`` lost to ``exc`` and log it; with ``keep`` (and ``strict``), keep
        ``exc`` unless an earlier failure is kept already.
        """
        with self._lock:
            self.count += records
            total = self.count
            if keep and self.strict and self._first is None and isinstance(exc, StoreError):
                self._first = exc
        # A line per 1,000 after the first ones keeps logs usable when a database stays
        # unwritable for a long-running process.
        if total - records < LOGGED_IN_FULL or total // 1000 > (total - records) // 1000:
            logger.error("xray: %s (%d store error(s) so far)", exc, total)

    def take(self) -> StoreError | None:
        """The kept failure, which is then forgotten (the next one is kept)."""
        with self._lock:
            first, self._first = self._first, None
        return first

    def forked(self) -> None:
        """In a forked child: the lock may be held by a thread that does not exist there."""
        self._lock = threading.Lock()
