"""Part 1: every trace recorded while a test runs is attached to it, fixture or not."""

from __future__ import annotations

import pytest


def test_traces_are_attached_without_the_fixture(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        seen = []

        def pytest_xray_trace_captured(trace, item):
            seen.append((trace.test_id, item.nodeid if item else None, trace.name))

        def pytest_sessionfinish(session):
            print("SEEN", sorted(seen))
        """
    )
    project.makepyfile(
        test_a="""
        from pipeline import select

        def test_one():
            select([5, 20], name="one")

        def test_none():
            pass
        """
    )
    result = project.runpytest("-s")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*SEEN [[]('test_a.py::test_one', 'test_a.py::test_one', 'one')[]]"]
    )


def test_setup_teardown_threads_and_tasks_are_captured(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_b="""
        import asyncio
        import threading

        import pytest
        import xray_core
        from pipeline import select

        @pytest.fixture
        def around():
            select([1], name="setup")
            yield
            select([2], name="teardown")

        def test_all(around, xray):
            worker = threading.Thread(target=select, args=([3],), kwargs={"name": "thread"})
            worker.start()
            worker.join()

            async def record():
                async with xray_core.trace("task"):
                    await asyncio.sleep(0)

            async def main():
                await asyncio.gather(
                    asyncio.to_thread(select, [4], name="to_thread"),
                    asyncio.create_task(record()),
                )

            asyncio.run(main())
            assert sorted(t.name for t in xray.traces) == [
                "setup", "task", "thread", "to_thread"]

        def test_after(xray):
            assert xray.traces == []
        """
    )
    result = project.runpytest()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["5 traces captured in 1 test"])


def test_traces_outside_tests_are_not_attached(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        from pipeline import select

        def pytest_collection_finish(session):
            select([9], name="collection")
        """
    )
    project.makepyfile(test_c="def test_x(xray):\n    assert xray.traces == []\n")
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["1 trace captured in 0 tests"])


def test_no_recording_means_no_heavy_import_and_no_summary(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import sys

        def pytest_unconfigure(config):  # after the plugin's session finish
            heavy = [m for m in ("pydantic", "sqlite_utils") if m in sys.modules]
            print("heavy modules at exit:", heavy)
        """
    )
    pytester.makepyfile(
        test_d="""
        import sys

        def test_plain():
            assert "xray_core.observers" in sys.modules  # the observer is attached
            assert "xray_core.recorder" not in sys.modules  # imported by the first trace
            assert "pydantic" not in sys.modules and "sqlite_utils" not in sys.modules
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    assert "xray summary" not in result.stdout.str()
    result.stdout.fnmatch_lines(["heavy modules at exit: []"])


def test_import_during_a_test_is_still_captured(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_e="""
        import sys

        def test_late():
            assert "xray_core.models" not in sys.modules
            import xray_core
            with xray_core.trace("late"):
                pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["1 trace captured in 1 test"])
