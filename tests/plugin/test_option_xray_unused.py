"""``--xray-unused`` (ini ``xray_unused``): report, fail or ignore unused baselines."""

from __future__ import annotations

import pytest

TEST = """
from pipeline import select

def test_a(xray):
    select([5])
    xray.assert_baseline()
"""


@pytest.fixture
def stale(project: pytest.Pytester) -> pytest.Pytester:
    project.makepyfile(test_s=TEST)
    project.runpytest("--xray-update").assert_outcomes(passed=1)
    project.makepyfile(test_s="def test_a():\n    pass\n")
    return project


def test_fail_policy_turns_the_exit_status_to_1(stale: pytest.Pytester) -> None:
    result = stale.runpytest("--xray-unused=fail")
    result.assert_outcomes(passed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["1 unused baseline:"])


def test_report_policy_keeps_exit_status(stale: pytest.Pytester) -> None:
    assert stale.runpytest("--xray-unused=report").ret == 0


def test_ignore_policy_says_nothing(stale: pytest.Pytester) -> None:
    result = stale.runpytest("--xray-unused=ignore")
    assert result.ret == 0
    assert "xray summary" not in result.stdout.str()


def test_ini_twin_and_bad_value(stale: pytest.Pytester) -> None:
    stale.makeini("[pytest]\nxray_unused = fail\n")
    assert stale.runpytest().ret == 1
    stale.makeini("[pytest]\nxray_unused = sometimes\n")
    result = stale.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*xray_unused = 'sometimes' is not a policy; use one of: report, fail, ignore"]
    )
