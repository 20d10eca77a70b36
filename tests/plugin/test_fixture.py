"""Part 2: the ``xray`` fixture's queries, its clear errors, and ``capture()``."""

from __future__ import annotations

import pytest


def test_queries(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_q="""
        from pipeline import select

        def test_queries(xray):
            pick = select([5, 20, 30])
            assert pick == "B1"
            assert xray.trace.name == "selection"
            assert [t.name for t in xray.traces] == ["selection"]
            assert xray.step("filter_and_select").output == {"selected": "B1"}
            assert xray.decision("B0").rejected_by("price")
            assert xray.decision("B2", step="filter_and_select").qualified
            assert xray.assert_qualified(pick).item_id == "B1"
            assert xray.assert_rejected("B0", by="price").failed_filters[0].name == "price"
            assert xray.assert_step("keyword_generation").llm["model"] == "mock-llm"
        """
    )
    project.runpytest().assert_outcomes(passed=1)


def test_no_trace_and_several_traces_are_clear_errors(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_e="""
        import pytest
        from pipeline import select
        from pytest_xray.fixture import TraceSelectionError

        def test_none(xray):
            with pytest.raises(TraceSelectionError, match="recorded no trace"):
                xray.trace

        def test_several(xray):
            select([5], name="first")
            select([6], name="second")
            with pytest.raises(TraceSelectionError) as info:
                xray.decision("B0")
            assert "recorded 2 traces ('first', 'second')" in str(info.value)
            assert "xray.capture()" in str(info.value)
        """
    )
    project.runpytest().assert_outcomes(passed=2)


def test_unknown_step_and_item_list_the_closest_first(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_u="""
        import pytest
        from xray_core import UnknownItemError, UnknownStepError
        from pipeline import select

        def test_unknown(xray):
            select([5, 20])
            with pytest.raises(UnknownStepError) as step:
                xray.step("filter_select")
            assert "its steps: 'filter_and_select', 'keyword_generation'" in str(step.value)
            with pytest.raises(UnknownItemError) as item:
                xray.assert_qualified("B9")
            assert "evaluated no item 'B9'" in str(item.value)
        """
    )
    project.runpytest().assert_outcomes(passed=1)


def test_asking_inside_a_running_trace_says_so(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_r="""
        import xray_core

        def test_inside(xray):
            with xray_core.trace("checkout"):
                xray.step("pay")
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            (
                "E   *TraceSelectionError: test 'test_r.py::test_inside' has no finished trace: "
                "trace 'checkout' is still running; ask after its `with` block ends"
            )
        ]
    )


def test_query_errors_point_at_the_test_line(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_t="""
        from pipeline import select

        def test_none(xray):
            xray.trace.steps

        def test_step(xray):
            select([5])
            xray.step("filter")

        def test_item(xray):
            select([5])
            xray.assert_rejected("B9")
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            ">       xray.trace.steps",
            "E       *TraceSelectionError: test 'test_t.py::test_none' recorded no trace*",
            '>       xray.step("filter")',
            "E       *UnknownStepError: trace 'selection' has no step 'filter'*",
            '>       xray.assert_rejected("B9")',
            "E       *UnknownItemError: trace 'selection' evaluated no item 'B9'*",
        ]
    )
    assert "/pytest_xray/" not in result.stdout.str()  # no plugin frame is shown
    assert "/xray_core/" not in result.stdout.str()


def test_capture_per_loop_iteration(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_c="""
        from pipeline import select

        def test_loop(xray):
            for price in (5, 20, 50):
                with xray.capture() as cap:
                    select([price])
                    assert len(cap.traces) == 1
                assert cap.decision("B0").qualified is (price == 20)
            assert len(xray.traces) == 3
        """
    )
    project.runpytest().assert_outcomes(passed=1)


def test_capture_inside_hypothesis_given(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_h="""
        from hypothesis import given, settings, strategies as st
        from pipeline import select

        @settings(max_examples=20, deadline=None)
        @given(st.lists(st.integers(0, 60), min_size=1, max_size=5))
        def test_property(xray, prices):
            with xray.capture() as cap:
                pick = select(prices)
            if pick is not None:
                cap.assert_qualified(pick)
            for index, price in enumerate(prices):
                if not 10 <= price <= 40:
                    cap.assert_rejected(f"B{index}", by="price")
        """
    )
    result = project.runpytest("-W", "error")
    result.assert_outcomes(passed=1)
    assert "HealthCheck" not in result.stdout.str()


def test_fixture_outside_a_test_is_an_error(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_o="""
        import pytest
        from pytest_xray.fixture import TraceSelectionError

        @pytest.fixture(scope="session")
        def early(xray):
            return xray

        def test_late_use(early):
            assert early.traces == []
        """
    )
    project.runpytest().assert_outcomes(passed=1)
