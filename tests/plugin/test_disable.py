"""``-p no:xray`` turns the plugin fully off."""

from __future__ import annotations

import pytest


def test_plugin_off(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_off="""
        from pipeline import select

        def test_plain():
            assert select([20]) == "B0"

        def test_fixture(xray):
            pass
        """
    )
    result = project.runpytest("-p", "no:xray")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*fixture 'xray' not found*"])
    assert "xray summary" not in result.stdout.str()
    assert "--xray-db" in project.runpytest("-p", "no:xray", "--xray-db").stderr.str()


def test_options_are_listed_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "decision-pipeline tracing (decisiontracex):",
            "*--xray-report=PATH*",
            "*--xray-db*",
            "*--xray-update*",
            "*--xray-unused=POLICY*",
            "*xray_db (string):*",
        ]
    )


def test_conftest_hooks_marked_optional_work_with_the_plugin_off(project: pytest.Pytester) -> None:
    # docs/hooks.md: without optionalhook=True, `-p no:xray` stops at "unknown hook".
    project.makeconftest(
        """
        import pytest

        @pytest.hookimpl(optionalhook=True)
        def pytest_xray_trace_captured(trace, item):
            print("CAPTURED", trace.name)
        """
    )
    project.makepyfile(test_h="from pipeline import select\n\ndef test_h():\n    select([5])\n")
    project.runpytest("-p", "no:xray").assert_outcomes(passed=1)
    project.runpytest("-s").stdout.fnmatch_lines(["*CAPTURED selection*"])
