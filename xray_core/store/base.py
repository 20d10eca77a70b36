"""The interface every store implements."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # recording into a store needs no pydantic: models are built on reads
    from typing_extensions import Self

    from ..models import Run, RunStatus, Status, Trace

#: the keys of each row returned by :meth:`Store.run_tests`
RUN_TEST_COLUMNS = ("test_id", "outcome", "baseline", "duration_ms", "message")
STATUSES = ("running", "completed", "failed")


@dataclass(frozen=True)
class RunRecord:
    """A run as the pytest plugin writes it: the fields of :class:`xray_core.models.Run`, in a
    plain dataclass. A recorded pytest session never needs pydantic (its import is a tenth of a
    second): stores write this record as it is, the report and the summary read its fields, and
    :meth:`model` builds the model for whoever wants one.
    """

    run_id: str
    started_at: datetime
    finished_at: datetime | None = None
    git_commit: str | None = None
    git_branch: str | None = None
    git_dirty: bool | None = None
    command: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    status: RunStatus = "completed"
    host: str | None = None
    pid: int | None = None

    def model(self) -> Run:
        """The record as a :class:`xray_core.models.Run` (validated)."""
        from ..models import Run

        return Run.model_validate(self.__dict__)

    def as_json(self) -> dict[str, Any]:
        """What ``self.model().model_dump(mode="json")`` gives, without pydantic."""
        data = dict(self.__dict__)
        for key in ("started_at", "finished_at"):
            value = data[key]
            if value is not None:
                utc = value.astimezone(timezone.utc) if value.tzinfo else value
                data[key] = utc.replace(tzinfo=None).isoformat() + "Z"
        data["counts"] = dict(self.counts)
        return data


def check_query(
    limit: int | None,
    offset: int,
    status: str | None = None,
    statuses: tuple[str, ...] = STATUSES,
) -> None:
    """Raise ``ValueError`` naming the argument when a page or a status filter makes no sense.

    :param statuses: the statuses ``status`` may be (a trace's by default; a run's: RUN_STATUSES).
    """
    for name, value in (("limit", limit), ("offset", offset)):
        if value is None and name == "limit":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    if status is not None and status not in statuses:
        raise ValueError(f"status must be one of {', '.join(statuses)}; got {status!r}")


@dataclass(frozen=True)
class TraceQuery:
    """What :meth:`Store.list_traces` asks for: every given filter, then a page.

    Made by ``list_traces`` (which checks it: see :func:`check_query`), handed to the store's
    :meth:`Store._select_traces`. ``since`` is aware (a naive datetime is taken as UTC).
    """

    limit: int | None = 100
    offset: int = 0
    status: Status | None = None
    name: str | None = None
    run_id: str | None = None
    test_id: str | None = None
    since: datetime | None = None

    def __post_init__(self) -> None:
        check_query(self.limit, self.offset, self.status)
        if self.since is not None and self.since.tzinfo is None:
            object.__setattr__(self, "since", self.since.replace(tzinfo=timezone.utc))

    def equal_filters(self) -> dict[str, str]:
        """The filters given that a trace field must equal (``status``, ``name``, ...)."""
        fields = {"status": self.status, "name": self.name, "run_id": self.run_id,
                  "test_id": self.test_id}  # fmt: skip
        return {key: value for key, value in fields.items() if value is not None}

    def matches(self, trace: Trace) -> bool:
        """Whether ``trace`` passes every filter."""
        return all(getattr(trace, k) == v for k, v in self.equal_filters().items()) and (
            self.since is None or trace.start_time >= self.since
        )


class Store(abc.ABC):
    """Keeps traces and runs. The recorder writes plain-dict records; reads return models.

    Writes never raise into the observed pipeline unless the store was created ``strict=True``;
    failures are logged and counted in :attr:`errors`.
    """

    strict: bool = False
    errors: int = 0
    #: the recorder's own way into the store, read once a trace: None (every trace and step
    #: through the methods below) but for a MemoryStore (see ``MemoryStore._begin``)
    _begin: Any = None

    # -- recording (hot path: records are the recorder's dicts, see xray_core.recorder) --
    @abc.abstractmethod
    def start_trace(self, record: dict[str, Any]) -> None:
        """A trace started (status ``running``)."""

    @abc.abstractmethod
    def save_step(self, record: dict[str, Any]) -> None:
        """A step finished."""

    def save_steps(self, records: Iterable[dict[str, Any]]) -> None:
        """Several finished steps of one trace at once, in order (a trace captured from spans
        hands over all of its steps when its root span ends); the same as :meth:`save_step`
        for each."""
        for record in records:
            self.save_step(record)

    @abc.abstractmethod
    def end_trace(self, record: dict[str, Any]) -> None:
        """A trace finished; every step saved before is durable when this returns."""

    # -- whole traces and runs --
    @abc.abstractmethod
    def save_traces(self, traces: Iterable[Trace]) -> int:
        """Insert or replace complete traces (with their steps); returns how many were written."""

    @abc.abstractmethod
    def get_trace(self, trace_id: str) -> Trace | None:
        """The trace with this id, with its steps, or None."""

    def list_traces(
        self,
        limit: int | None = 100,
        offset: int = 0,
        *,
        status: Status | None = None,
        name: str | None = None,
        run_id: str | None = None,
        test_id: str | None = None,
        since: datetime | None = None,
    ) -> list[Trace]:
        """Traces matching every given filter, oldest first, paginated by ``limit``/``offset``.

        :param limit: at most this many traces (None: all of them).
        :param since: only traces started at or after this time (naive: UTC).
        :raises ValueError: a negative or non-integer page, or an unknown status.

        This method is final: a store implements :meth:`_select_traces`.
        """
        return self._select_traces(TraceQuery(limit, offset, status, name, run_id, test_id, since))

    @abc.abstractmethod
    def _select_traces(self, query: TraceQuery) -> list[Trace]:
        """The traces ``query`` asks for (see :meth:`list_traces`), oldest first."""

    @abc.abstractmethod
    def trace_ids_with_prefix(self, prefix: str, limit: int = 10) -> list[str]:
        """Ids of traces starting with ``prefix`` (to resolve abbreviated ids)."""

    @abc.abstractmethod
    def save_run(self, run: Run | RunRecord, tests: Iterable[dict[str, Any]] = ()) -> None:
        """Insert or update a run, with optional per-test rows (keys: RUN_TEST_COLUMNS)."""

    @abc.abstractmethod
    def get_run(self, run_id: str) -> Run | None:
        """The run with this id, or None."""

    @abc.abstractmethod
    def list_runs(
        self, limit: int | None = None, offset: int = 0, *, status: RunStatus | None = None
    ) -> list[Run]:
        """Runs (only those of ``status`` when given), most recently started first."""

    @abc.abstractmethod
    def run_tests(self, run_id: str) -> list[dict[str, Any]]:
        """The per-test rows of a run (keys: RUN_TEST_COLUMNS), ordered by test id."""

    @abc.abstractmethod
    def delete_run(self, run_id: str) -> None:
        """Delete a run, its test rows and its traces."""

    def flush(self) -> None:
        """Make every write so far durable (a no-op for stores without buffering)."""

    def close(self) -> None:
        """Flush and release resources."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
