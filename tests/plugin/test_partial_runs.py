"""Unused baselines are deleted only when every test collection found ran.

A conftest that drops tests in ``pytest_collection_modifyitems`` without calling
``pytest_deselected`` makes a partial run exactly like ``-k``: the dropped tests keep their
baselines, and nothing is deleted. The same holds under pytest-xdist.
"""

from __future__ import annotations

import importlib.util

import pytest

TESTS = """
from pipeline import select

def test_keep(xray):
    select([5, 20])
    xray.assert_baseline()

def test_slow(xray):
    select([30])
    xray.assert_baseline()

def test_old(xray):
    select([20])
    xray.assert_baseline()
"""

DROPPING_CONFTEST = """
def pytest_collection_modifyitems(config, items):
    # the usual "skip slow tests unless asked" filter, done without pytest_deselected
    items[:] = [item for item in items if "slow" not in item.name]
"""

NO_XDIST = importlib.util.find_spec("xdist") is None
ENGINES = [
    pytest.param([], id="no-xdist"),
    pytest.param(["-n", "2"], id="xdist",
                 marks=pytest.mark.skipif(NO_XDIST, reason="needs pytest-xdist")),
]  # fmt: skip


@pytest.fixture
def stale(project: pytest.Pytester) -> pytest.Pytester:
    """Three reviewed baselines; then test_old stops using its baseline (it is unused)."""
    project.makepyfile(test_p=TESTS)
    project.runpytest("--xray-update").assert_outcomes(passed=3)
    project.makepyfile(test_p=TESTS.replace("select([20])\n    xray.assert_baseline()", "pass"))
    return project


def baselines(pytester: pytest.Pytester) -> list[str]:
    return sorted(p.name for p in (pytester.path / "__xray_baselines__").glob("*.json"))


ALL = ["test_p.test_keep.json", "test_p.test_old.json", "test_p.test_slow.json"]


@pytest.mark.parametrize("engine", ENGINES)
def test_tests_dropped_by_a_conftest_make_a_partial_run(
    stale: pytest.Pytester, engine: list[str]
) -> None:
    stale.makeconftest(DROPPING_CONFTEST)
    result = stale.runpytest_subprocess("--xray-update", "-p", "no:cacheprovider", *engine)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "1 unused baseline:",
            "  __xray_baselines__/test_p.test_old.json",
            (
                "  not deleted: not every collected test ran (1 test left out without "
                "pytest_deselected (a pytest_collection_modifyitems hook?))"
            ),
            "Next: run the whole suite with --xray-update to delete unused baselines.",
        ]
    )
    assert "test_slow" not in result.stdout.str().split("xray summary")[1]
    assert baselines(stale) == ALL, "the dropped test's baseline and the unused one are kept"
    stale.makeconftest("")  # the whole suite runs: now the unused baseline goes
    full = stale.runpytest_subprocess("--xray-update", "-p", "no:cacheprovider", *engine)
    full.stdout.fnmatch_lines(["1 unused baseline deleted:", "  *test_p.test_old.json"])
    assert baselines(stale) == ["test_p.test_keep.json", "test_p.test_slow.json"]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_conftest_calling_pytest_deselected_is_a_partial_run_too(
    stale: pytest.Pytester, engine: list[str]
) -> None:
    stale.makeconftest(
        DROPPING_CONFTEST.replace(
            "    items[:] =",
            "    config.hook.pytest_deselected(items=[i for i in items if 'slow' in i.name])\n"
            "    items[:] =",
        )
    )
    result = stale.runpytest_subprocess("--xray-update", "-p", "no:cacheprovider", *engine)
    assert result.parseoutcomes()["passed"] == 2  # (xdist's controller counts no deselected)
    result.stdout.fnmatch_lines(["  not deleted: not every collected test ran (1 test deselected)"])
    assert baselines(stale) == ALL


def test_tests_left_unrun_by_x_make_a_partial_run(stale: pytest.Pytester) -> None:
    stale.makepyfile(
        test_q_broken="def test_broken():\n    assert False\n",  # after test_p: stops the run
        test_r_later="def test_never_run():\n    pass\n",
    )
    result = stale.runpytest("--xray-update", "-x")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "1 unused baseline:",
            "  __xray_baselines__/test_p.test_old.json",
            "  not deleted: not every collected test ran (1 selected test did not run)",
        ]
    )
    assert baselines(stale) == ALL


def test_a_collection_error_makes_a_partial_run(stale: pytest.Pytester) -> None:
    stale.makepyfile(test_broken="import no_such_module_here\n")
    result = stale.runpytest("--xray-update", "--continue-on-collection-errors")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        ["  not deleted: not every collected test ran (a collection error left tests out)"]
    )
    assert baselines(stale) == ALL


def test_a_complete_run_with_a_failure_still_deletes(stale: pytest.Pytester) -> None:
    # every test ran: a failed test keeps its own baseline, an unused one still goes
    stale.makepyfile(
        test_p=TESTS.replace("select([20])\n    xray.assert_baseline()", "pass").replace(
            "select([30])", "select([30])\n    assert False"
        )
    )
    result = stale.runpytest("--xray-update")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["1 unused baseline deleted:", "  *test_p.test_old.json"])
    assert baselines(stale) == ["test_p.test_keep.json", "test_p.test_slow.json"]
