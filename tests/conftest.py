"""Shared by every test: imports the in-process pytester tests reuse, and the environment of the
pytest sessions the tests start.

pytester drops every module first imported inside an in-process run, so without these imports
each run would import them again (and assertion-rewrite hypothesis, the package of a pytest plugin).
"""

from __future__ import annotations

import compileall
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis.internal.observability  # noqa: F401 - hypothesis' terminal summary needs it
import pytest

import pytest_xray
import xray_core
import xray_core.diff  # noqa: F401
import xray_core.report  # noqa: F401
import xray_core.store.sqlite  # noqa: F401


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for every browser test of the session (tests/chromium.py)."""
    from tests.chromium import launch

    yield from launch()


@pytest.fixture(scope="session", autouse=True)
def our_bytecode_written() -> None:
    """Write the bytecode of ``xray_core`` and ``pytest_xray``, as installing a wheel does.

    The suite starts a few hundred processes (``xray`` commands, pytest sessions and their
    pytest-xdist workers). From an editable checkout under ``PYTHONDONTWRITEBYTECODE=1`` (common in
    CI images) each would compile every module of ours it imports from source, about 70 ms a
    process; an installed copy has its bytecode. Python checks each file's bytecode against its
    source, so an edited module is compiled again. (Tests about what a process compiles from
    source count the modules it imports, which bytecode does not change.)
    """
    for package in (xray_core, pytest_xray):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)


#: Hypothesis' pytest plugin imports all of hypothesis at every session's end (its terminal
#: summary): 0.7 s of CPU in each pytest process the tests start (each pytest-xdist worker too),
#: for sessions whose tests never use hypothesis. The sessions the tests start run without it;
#: a test whose inner session uses hypothesis starts it without ``PYTEST_ADDOPTS``
#: (tests/cli/test_stability_groups.py).
WITHOUT_HYPOTHESIS = "-p no:hypothesispytest"


@pytest.fixture(scope="session", autouse=True)
def inner_sessions_without_hypothesis_plugin() -> Iterator[None]:
    """The pytest sessions started by session- and module-scoped fixtures and by tests (whose
    own ``PYTEST_ADDOPTS`` is this, not the outer session's: pytester does the same)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTEST_ADDOPTS", WITHOUT_HYPOTHESIS)
        yield


@pytest.fixture(autouse=True)
def pytester_sessions_without_hypothesis_plugin(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pytester removes ``PYTEST_ADDOPTS`` for its inner sessions: set it back after it."""
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")
        monkeypatch.setenv("PYTEST_ADDOPTS", WITHOUT_HYPOTHESIS)
