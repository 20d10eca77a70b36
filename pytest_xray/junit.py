"""``--junitxml``: X-Ray's facts about each test as JUnit ``<property>`` elements.

Registered only when pytest writes a JUnit XML file. When a test's teardown report is made,
the test's trace ids, baseline verdict, flipped decisions and the report's deep link are added
to ``item.user_properties``: pytest's junitxml writes them under the test's ``<testcase>``, and
pytest-xdist ships them from its workers with the report, like ``record_property`` does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

import pytest

from .baseline import compare, overall_verdict
from .nodeids import test_id

if TYPE_CHECKING:
    from .baseline import BaselineResult
    from .session import XraySession

TRACE_IDS: Final = "xray.trace_ids"
BASELINE: Final = "xray.baseline"
FLIPPED: Final = "xray.flipped"
REPORT: Final = "xray.report"
NAMES: Final = (TRACE_IDS, BASELINE, FLIPPED, REPORT)


def flipped(results: list[BaselineResult]) -> list[str]:
    """The decisions whose verdict flipped (qualified <-> rejected) in failed baseline checks."""
    found: list[str] = []
    for result in results:
        if result.verdict != "failed" or result.baseline is None:
            continue
        comparison = compare(result.baseline, result.current or [], result.ignore)
        for diff in comparison.diffs.values():
            found += [change.describe() for change in diff.decisions if change.flipped]
    return found


def properties(state: XraySession, nodeid: str) -> list[tuple[str, str]]:
    """The ``xray.*`` properties of test ``nodeid`` (none when it recorded no trace and checked
    no baseline)."""
    traces = [c.record["trace_id"] for c in state.traces_of(nodeid)]
    results = state.baselines.get(nodeid, [])
    found: list[tuple[str, str]] = []
    if traces:
        found.append((TRACE_IDS, " ".join(traces)))
    verdict = overall_verdict(results)
    if verdict is not None:
        found.append((BASELINE, verdict))
    changes = flipped(results)
    if changes:
        found.append((FLIPPED, "; ".join(changes)))
    report = state.options.report
    if traces and report is not None:
        link = f"{report_href(state.config, report)}#trace={quote(traces[0], safe='')}"
        found.append((REPORT, link))
    return found


def report_href(config: pytest.Config, report: Path) -> str:
    """``report``'s path relative to the JUnit XML file's folder (a CI reader resolves a link
    against the document holding it, and artifacts keep the two files side by side)."""
    xml = Path(config.invocation_params.dir, config.option.xmlpath).resolve()
    return quote(Path(os.path.relpath(report, xml.parent)).as_posix(), safe="/")


class JunitProperties:
    """Adds the ``xray.*`` properties to each test before its teardown report is made."""

    def __init__(self, state: XraySession) -> None:
        self.state = state

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> None:
        """junitxml writes the properties of the teardown report: set them just before it."""
        if call.when != "teardown":
            return
        # a test run again (pytest-rerunfailures) keeps its item: its last run's values count
        kept = [p for p in item.user_properties if p[0] not in NAMES]
        item.user_properties[:] = [*kept, *properties(self.state, test_id(item))]
