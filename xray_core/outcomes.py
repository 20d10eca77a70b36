"""The closed sets of words that describe a run and its tests: how the run ended, a test's
outcome and its baseline verdict.

Defined once, here, for the pytest plugin (which produces them), the store's ``run_tests`` rows,
the run counters and the report (which read them).
"""

from __future__ import annotations

from typing import Literal, get_args

#: how a run of the history ended: ``running`` while its session goes (and forever when it was
#: killed), ``interrupted`` when it stopped early (Ctrl-C, ``-x``/``--maxfail``, a crashed
#: pytest-xdist worker), ``failed`` on an internal error (here, not in :mod:`xray_core.models`:
#: a recorded pytest session writes its run without pydantic)
RunStatus = Literal["running", "completed", "interrupted", "failed"]
RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)

#: what pytest reported for a test (``error``: failed outside its call, in setup or teardown)
TestOutcome = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]

#: the verdict of one ``assert_baseline`` check (or of a test: the worst of its checks)
BaselineVerdict = Literal["passed", "failed", "written", "missing", "error"]

#: worst first: a test's overall baseline verdict is the first of these among its checks
VERDICT_ORDER: tuple[BaselineVerdict, ...] = ("failed", "error", "missing", "written", "passed")

#: the verdicts that fail the test
FAILING_VERDICTS: frozenset[BaselineVerdict] = frozenset({"failed", "error", "missing"})

#: outcomes counted as passed / failed / skipped in a run's counters
PASSED_OUTCOMES: frozenset[TestOutcome] = frozenset({"passed", "xpassed"})
FAILED_OUTCOMES: frozenset[TestOutcome] = frozenset({"failed", "error"})
SKIPPED_OUTCOMES: frozenset[TestOutcome] = frozenset({"skipped", "xfailed"})


def known_outcome(value: object) -> TestOutcome | Literal["unknown"]:
    """``value`` (read from a database or an import) as an outcome, or ``"unknown"``."""
    for outcome in get_args(TestOutcome):
        if value == outcome:
            return outcome
    return "unknown"


def known_verdict(value: object) -> BaselineVerdict | None:
    """``value`` (read from a database or an import) as a baseline verdict, or None."""
    for verdict in get_args(BaselineVerdict):
        if value == verdict:
            return verdict
    return None
