"""Part 3: failure messages in words, ``-vv`` item data, and ``==`` on decisions and traces."""

from __future__ import annotations

import re

import pytest


def lines_in_order(result: pytest.RunResult, expected: list[str]) -> None:
    """Like fnmatch_lines, but literal text ("*" at the start still means "anything before")."""
    result.stdout.re_match_lines(
        [(".*" + re.escape(e[1:]) if e.startswith("*") else re.escape(e)) + "$" for e in expected]
    )


TESTS = """
from pipeline import select

def test_expected_rejected(xray):
    select([22])
    xray.assert_rejected("B0", by="price")

def test_expected_qualified(xray):
    select([5])
    xray.assert_qualified("B0")

def test_rejected_by_another_filter(xray):
    select([5], reviews=50)
    xray.assert_rejected("B0", by="color")
"""


def test_decision_failures_are_in_words(project: pytest.Pytester) -> None:
    project.makepyfile(test_m=TESTS)
    result = project.runpytest()
    result.assert_outcomes(failed=3)
    lines_in_order(
        result,
        [
            '>       xray.assert_rejected("B0", by="price")',
            (
                "E       AssertionError: B0 was qualified in step 'filter_and_select', "
                "expected rejected by 'price'."
            ),
            (
                "E       price: passed (22.00 in [10.00, 40.00]); reviews: passed (1500 > 100). "
                "Reasoning: in range"
            ),
            "*B0 was rejected by 'price' in step 'filter_and_select', expected qualified.",
            (
                "E       price: failed (5.00 in [10.00, 40.00]); reviews: passed (1500 > 100). "
                "Reasoning: outside the price range"
            ),
            (
                "*B0 was rejected by 'price', 'reviews' in step 'filter_and_select', "
                "expected rejected by 'color'."
            ),
        ],
    )
    # __tracebackhide__: the plugin's frames are not shown
    assert "pytest_xray/fixture.py" not in result.stdout.str()
    assert "Item data" not in result.stdout.str()


def test_very_verbose_adds_the_item_data(project: pytest.Pytester) -> None:
    project.makepyfile(test_m=TESTS)
    result = project.runpytest("-vv", "-k", "expected_rejected")
    result.stdout.fnmatch_lines(["E       Item data: {", 'E         "price": 22,'])


def test_assert_step_names_the_status_and_error(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_s="""
        import pytest
        import xray_core

        def test_failed_step(xray):
            with pytest.raises(ValueError):
                with xray_core.trace("t") as trace:
                    with trace.step("parse"):
                        raise ValueError("bad row 3")
            xray.assert_step("parse")

        def test_expected_failure(xray):
            with pytest.raises(ValueError):
                with xray_core.trace("t") as trace:
                    with trace.step("parse"):
                        raise ValueError("bad row 3")
            xray.assert_step("parse", status="failed")
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: step 'parse' of trace 't' is failed, expected completed.",
            "E       Error: ValueError: bad row 3",
        ]
    )


def test_assertrepr_for_decisions_and_traces(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_r="""
        from pipeline import select

        def test_decisions(xray):
            with xray.capture() as cheap:
                select([5])
            with xray.capture() as fine:
                select([20])
            assert cheap.decision("B0") == fine.decision("B0")

        def test_traces(xray):
            with xray.capture() as cheap:
                select([5])
            with xray.capture() as fine:
                select([20])
            assert fine.trace == cheap.trace
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=2)
    lines_in_order(
        result,
        [
            "E       AssertionError: assert decisions about 'B0' differ:",
            "E           qualified: False != True",
            (
                "E           filter 'price': failed (5.00 in [10.00, 40.00]) != "
                "passed (20.00 in [10.00, 40.00])"
            ),
            "*traces 'selection' and 'selection' differ (right -> left):",
            (
                "*B0: rejected by price -> qualified (price: 5.00 in [10.00, 40.00] (failed) -> "
                "20.00 in [10.00, 40.00] (passed)) [step 'filter_and_select']"
            ),
        ],
    )


def test_assertrepr_for_traces_equal_in_decisions(project: pytest.Pytester) -> None:
    # Trace equality compares ids and timestamps too: say so instead of listing "no changes".
    project.makepyfile(
        test_s="""
        from pipeline import select

        def test_same(xray):
            with xray.capture() as first:
                select([5, 20])
            with xray.capture() as again:
                select([5, 20])
            assert again.trace == first.trace
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            (
                "E       AssertionError: assert traces 'selection' and 'selection' differ only in "
                "what xray_core.diff_traces ignores (ids, timestamps, durations):"
            ),
            (
                "E           their steps, decisions and fields are equal; "
                "assert not xray_core.diff_traces(a, b) compares only those"
            ),
        ]
    )
    assert "no changes" not in result.stdout.str()
