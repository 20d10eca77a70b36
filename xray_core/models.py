"""Pydantic models of what X-Ray records: traces, steps, evaluations, decisions and runs.

The recorder keeps plain dicts on its hot path (see :mod:`xray_core.recorder`); these models are
built when a trace is read back (``store.get_trace``) and are what tests, diffs, the report and
the CLI work with. No I/O here.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .outcomes import RUN_STATUSES as RUN_STATUSES  # where the run statuses were defined
from .outcomes import RunStatus as RunStatus

Status = Literal["running", "completed", "failed"]


def utc_from_epoch(seconds: float | None) -> datetime | None:
    """Turn an epoch timestamp (as recorded on the hot path) into an aware UTC datetime."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class FilterResult(_Model):
    """One filter applied to one candidate: its name, whether it passed, and why."""

    name: str
    passed: bool
    detail: str | None = None


class Evaluation(_Model):
    """A candidate evaluated by a step (``metadata["evaluations"]``, from ``add_evaluation``)."""

    item_id: str
    item_data: dict[str, Any] = Field(default_factory=dict)
    filters: list[FilterResult] = Field(default_factory=list)
    qualified: bool
    reasoning: str | None = None

    @field_validator("item_id", mode="before")
    @classmethod
    def _item_id_as_text(cls, value: Any) -> str:
        return str(value)

    @property
    def failed_filters(self) -> list[FilterResult]:
        """The filters this candidate did not pass."""
        return [f for f in self.filters if not f.passed]

    @property
    def passed_filters(self) -> list[FilterResult]:
        """The filters this candidate passed."""
        return [f for f in self.filters if f.passed]


class Step(_Model):
    """One recorded step of a trace."""

    step_id: str
    trace_id: str
    parent_id: str | None = None
    name: str
    step_order: int = 0
    input: Any = None
    output: Any = None
    reasoning: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    status: Status = "running"
    error: str | None = None
    start_time: datetime
    end_time: datetime | None = None
    duration_ms: float | None = None

    _utc = field_validator("start_time", "end_time")(_as_utc)

    @property
    def evaluations(self) -> list[Evaluation]:
        """The candidates this step evaluated (empty when it recorded none)."""
        raw = self.metadata.get("evaluations")
        if not isinstance(raw, list):
            return []
        found = []
        for entry in raw:
            if isinstance(entry, dict) and "item_id" in entry:
                try:
                    found.append(Evaluation.model_validate(entry))
                except ValidationError:  # free-form metadata written by hand, not by add_evaluation
                    continue
        return found

    @property
    def llm(self) -> dict[str, Any] | None:
        """The LLM call metadata written by ``add_llm_metadata``, if any."""
        value = self.metadata.get("llm")
        return value if isinstance(value, dict) else None


class Decision(_Model):
    """What a step decided about one candidate, as answered by ``trace.decision(item_id)``."""

    item_id: str
    step: str
    qualified: bool
    failed_filters: list[FilterResult] = Field(default_factory=list)
    passed_filters: list[FilterResult] = Field(default_factory=list)
    reasoning: str | None = None
    item_data: dict[str, Any] = Field(default_factory=dict)

    @property
    def rejected(self) -> bool:
        """True when the candidate was not qualified."""
        return not self.qualified

    def rejected_by(self, filter_name: str) -> bool:
        """True when the candidate was rejected and ``filter_name`` is among the failed filters."""
        return not self.qualified and any(f.name == filter_name for f in self.failed_filters)

    @property
    def verdict(self) -> str:
        """``"qualified"``, or ``"rejected"`` followed by the failed filters (``by 'price'``)."""
        if self.qualified:
            return "qualified"
        failed = ", ".join(repr(f.name) for f in self.failed_filters)
        return f"rejected by {failed}" if failed else "rejected"

    def headline(self) -> str:
        """``"<item> was <verdict> in step '<step>'"``: the first sentence of :meth:`explain`."""
        return f"{self.item_id} was {self.verdict} in step {self.step!r}"

    def details(self) -> str:
        """Each filter with its outcome and detail, then the reasoning: the rest of :meth:`explain`."""
        parts = []
        filters = self.failed_filters + self.passed_filters
        if filters:
            parts.append(
                "; ".join(
                    f"{f.name}: {'passed' if f.passed else 'failed'}"
                    + (f" ({f.detail})" if f.detail else "")
                    for f in filters
                )
                + "."
            )
        if self.reasoning:
            parts.append(f"Reasoning: {self.reasoning}")
        return " ".join(parts)

    def explain(self) -> str:
        """The decision in words: verdict, step, each filter with its detail, and the reasoning."""
        return f"{self.headline()}. {self.details()}".rstrip()


class Trace(_Model):
    """One recorded execution of a pipeline, with its steps in recording order."""

    trace_id: str
    name: str
    status: Status = "running"
    start_time: datetime
    end_time: datetime | None = None
    duration_ms: float | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    steps: list[Step] = Field(default_factory=list)
    run_id: str | None = None
    test_id: str | None = None

    _utc = field_validator("start_time", "end_time")(_as_utc)

    def step(self, name: str) -> Step:
        """The first step called ``name``; :class:`~xray_core.UnknownStepError` if none."""
        from .query import find_step

        return find_step(self, name)

    def decision(self, item_id: str, step: str | None = None) -> Decision:
        """What happened to candidate ``item_id`` (in its last evaluating step, or in ``step``)."""
        from .query import find_decision

        return find_decision(self, item_id, step=step)

    def decisions(self) -> list[Decision]:
        """Every candidate's final decision, in evaluation order."""
        from .query import all_decisions

        return all_decisions(self)

    def rejected(self) -> list[Decision]:
        """The candidates that were finally rejected."""
        return [d for d in self.decisions() if not d.qualified]

    def qualified(self) -> list[Decision]:
        """The candidates that were finally qualified."""
        return [d for d in self.decisions() if d.qualified]


class Run(_Model):
    """One pytest session (or CLI import) kept in the run history."""

    run_id: str
    started_at: datetime
    finished_at: datetime | None = None
    git_commit: str | None = None
    git_branch: str | None = None
    git_dirty: bool | None = None
    command: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    #: a run recorded before statuses existed, or imported from such an export, was completed
    status: RunStatus = "completed"
    #: the machine and process that recorded the run (to tell a live run from a killed one)
    host: str | None = None
    pid: int | None = None

    _utc = field_validator("started_at", "finished_at")(_as_utc)
