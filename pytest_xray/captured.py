"""A trace captured during a session, as the recorder's plain records (no pytest here: the
run's keeper process, :mod:`pytest_xray.keeper`, holds them too)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xray_core.models import Trace


class Captured:
    """A trace captured during the session, as the recorder's plain records.

    ``record`` is the trace's dict and ``steps`` its steps' dicts (see
    :mod:`xray_core.recorder`): the writer, the run's counts and the report read them as they
    are, so a session that only records, saves and reports never builds a pydantic model. The
    :class:`~xray_core.models.Trace` is built on first use (the ``xray`` fixture, baselines,
    conftest hooks).
    """

    __slots__ = ("_model", "own", "record", "saved", "steps")

    def __init__(
        self, record: dict[str, Any], steps: list[dict[str, Any]], *, own: bool = True
    ) -> None:
        self.record = record
        self.steps = steps
        #: recorded in this process (False: merged from a pytest-xdist worker, which saved it)
        self.own = own
        #: handed to the ``--xray-db`` writer already (see :mod:`pytest_xray.writer`)
        self.saved = False
        self._model: Trace | None = None

    @property
    def test_id(self) -> str | None:
        """The node id of the test that recorded the trace (None: outside any test)."""
        return self.record["test_id"]

    def model(self) -> Trace:
        """The trace as a :class:`xray_core.models.Trace` (built once)."""
        if self._model is None:
            from xray_core.store.records import trace_from_records

            self._model = trace_from_records(self.record, list(self.steps))
        return self._model
