"""What a test gets from the ``xray`` fixture: its traces, decision queries and assertions.

Queries go through :mod:`xray_core` (``Trace.step``, ``Trace.decision``, ``Decision.explain``);
this module only picks the traces and words the failures.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from xray_core.exceptions import QueryError
from xray_core.ignore import ignore_patterns

from .baseline import check_baseline, refuse_unusable_file
from .nodeids import test_id

if TYPE_CHECKING:
    from xray_core.models import Decision, Step, Trace

    from .captured import Captured
    from .session import XraySession


class TraceSelectionError(QueryError):
    """The test recorded no trace, or several when one was asked for."""


F = TypeVar("F", bound=Callable[..., Any])


def _user_facing(method: F) -> F:
    """Raise query errors from the test's line: pytest shows no plugin or xray_core frames."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        try:
            return method(*args, **kwargs)
        except QueryError as exc:
            raise exc.with_traceback(None) from None

    return wrapper  # type: ignore[return-value]


def _no_trace(label: str) -> str:
    from xray_core.recorder import current_trace

    running = current_trace()
    if running is not None:  # traces are captured when they end
        return (
            f"{label} has no finished trace: trace {running.name!r} is still running; "
            "ask after its `with` block ends"
        )
    return (
        f"{label} recorded no trace: is the pipeline instrumented with "
        "xray_core.trace(...) and is recording enabled (XRAY_ENABLED)?"
    )


class TraceView:
    """Queries and assertions over a list of captured traces.

    :param session: the plugin's per-session state.
    :param captured: returns the traces to look at (called on every query, so it stays live).
    :param label: how failure messages name the traces ("test_x", "this capture() block").
    """

    def __init__(
        self, session: XraySession, captured: Callable[[], list[Captured]], label: Callable[[], str]
    ) -> None:
        self._session = session
        self._captured = captured
        self._label = label

    # -- queries --
    @property
    def traces(self) -> list[Trace]:
        """Every trace recorded (in the test, or in the ``capture()`` block), in finishing order."""
        return [c.model() for c in self._captured()]

    @property
    @_user_facing
    def trace(self) -> Trace:
        """The one trace recorded; :class:`TraceSelectionError` when there are none or several."""
        traces = self.traces
        if len(traces) == 1:
            return traces[0]
        if not traces:
            raise TraceSelectionError(_no_trace(self._label()))
        names = ", ".join(repr(t.name) for t in traces)
        raise TraceSelectionError(
            f"{self._label()} recorded {len(traces)} traces ({names}); use xray.traces, or "
            "wrap each pipeline call in `with xray.capture() as cap:` and ask cap.trace"
        )

    @_user_facing
    def step(self, name: str) -> Step:
        """The step called ``name`` of the trace (UnknownStepError lists the steps, closest first)."""
        return self.trace.step(name)

    @_user_facing
    def decision(self, item_id: Any, step: str | None = None) -> Decision:
        """What happened to candidate ``item_id`` (its last evaluation, or in step ``step``)."""
        return self.trace.decision(str(item_id), step=step)

    # -- assertions --
    def _fail(self, decision: Decision, expected: str) -> None:
        __tracebackhide__ = True
        message = f"{decision.headline()}, expected {expected}.\n{decision.details()}".rstrip()
        if self._session.config.getoption("verbose", 0) >= 2:
            data = json.dumps(decision.item_data, indent=2, sort_keys=True, default=str)
            message += f"\nItem data: {data}"
        raise AssertionError(message)

    @_user_facing
    def assert_rejected(
        self, item_id: Any, by: str | None = None, step: str | None = None
    ) -> Decision:
        """Fail unless ``item_id`` was rejected (by filter ``by`` when given); returns the decision."""
        __tracebackhide__ = True
        decision = self.decision(item_id, step=step)
        if decision.qualified or (by is not None and not decision.rejected_by(by)):
            self._fail(decision, "rejected" + (f" by {by!r}" if by else ""))
        return decision

    @_user_facing
    def assert_qualified(self, item_id: Any, step: str | None = None) -> Decision:
        """Fail unless ``item_id`` was qualified (in ``step`` when given); returns the decision."""
        __tracebackhide__ = True
        decision = self.decision(item_id, step=step)
        if not decision.qualified:
            self._fail(decision, "qualified")
        return decision

    @_user_facing
    def assert_step(self, name: str, status: str = "completed") -> Step:
        """Fail unless step ``name`` ended with ``status``; returns the step."""
        __tracebackhide__ = True
        found = self.step(name)
        if found.status != status:
            message = (
                f"step {name!r} of trace {self.trace.name!r} is {found.status}, expected {status}."
            )
            if found.error:
                message += f"\nError: {found.error.splitlines()[0]}"
            raise AssertionError(message)
        return found

    @_user_facing
    def assert_baseline(self, name: str | None = None, ignore: str | Sequence[str] = ()) -> None:
        """Fail unless the decisions equal the reviewed baseline (``--xray-update`` writes it).

        :param name: keep several baselines in one test (one file per name).
        :param ignore: glob patterns (or one pattern) of change paths left out of the baseline
            and the comparison, e.g. ``"keyword_generation.output.keywords"`` or
            ``["*.item_data.price", "*.detail"]``.
        """
        __tracebackhide__ = True
        item = self._session.current
        if item is None:
            raise TraceSelectionError("assert_baseline() was called outside a running test")
        traces = self.traces
        if not traces:
            self.trace  # raises the "recorded no trace" error  # noqa: B018
        try:
            patterns = ignore_patterns(ignore)
        except TypeError as exc:  # the caller's mistake: shown at the test's line
            raise exc.with_traceback(None) from None
        refuse_unusable_file(self._session, item, name)
        result = check_baseline(self._session, item, traces, name, patterns)
        self._session.record_baseline(test_id(item), result)
        if result.message is not None:
            pytest.fail(result.message, pytrace=True)


class XrayFixture(TraceView):
    """The object behind the ``xray`` fixture: it always answers for the *running* test.

    It is session-scoped (hypothesis refuses function-scoped fixtures in ``@given`` tests), so
    every query looks up the test running at the time of the call.
    """

    def __init__(self, session: XraySession) -> None:
        super().__init__(session, self._test_traces, self._test_label)

    def _test_item(self) -> pytest.Item:
        item = self._session.current
        if item is None:
            raise TraceSelectionError("the xray fixture was used outside a running test")
        return item

    def _test_traces(self) -> list[Captured]:
        return list(self._session.traces_of(test_id(self._test_item())))

    def _test_label(self) -> str:
        return f"test {test_id(self._test_item())!r}"

    @contextlib.contextmanager
    def capture(self) -> Iterator[TraceView]:
        """Look only at the traces recorded inside the ``with`` block (one hypothesis example)::

        with xray.capture() as cap:
            pick = select_competitor(product)
        cap.assert_qualified(pick)
        """
        nodeid = test_id(self._test_item())
        start = len(self._session.traces_of(nodeid))
        end: list[int] = []

        def captured() -> list[Captured]:
            traces = self._session.traces_of(nodeid)
            return list(traces[start : end[0] if end else None])

        view = TraceView(self._session, captured, lambda: "this xray.capture() block")
        try:
            yield view
        finally:
            end.append(len(self._session.traces_of(nodeid)))
