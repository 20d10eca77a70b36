"""Part 8: ``pytest_xray_normalize``, ``pytest_xray_trace_captured``, ``pytest_xray_report_panel``."""

from __future__ import annotations

import pytest


def test_normalize_in_place_and_by_return(project: pytest.Pytester) -> None:
    project.makepyfile(
        renaming="""
        def pytest_xray_normalize(trace_dict, item):
            return {**trace_dict, "name": trace_dict["name"].upper()}
        """
    )
    project.makeconftest(
        """
        pytest_plugins = ["renaming"]

        def pytest_xray_normalize(trace_dict, item):
            for step in trace_dict["steps"]:
                step["input"] = None          # in place: inputs are not compared
            trace_dict["metadata"]["test"] = item.name
        """
    )
    project.makepyfile(
        test_n="""
        from pipeline import select

        def test_pick(xray):
            select(PRICES)
            xray.assert_baseline()
        """.replace("PRICES", "[5, 20]")
    )
    project.runpytest("--xray-update").assert_outcomes(passed=1)
    text = (project.path / "__xray_baselines__" / "test_n.test_pick.json").read_text()
    assert '"name": "SELECTION"' in text and '"test": "test_pick"' in text
    assert '"prices"' not in text


def test_trace_captured_sees_model_and_item(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        def pytest_xray_trace_captured(trace, item):
            print("CAPTURED", trace.name, item.name, trace.status, len(trace.steps))
        """
    )
    project.makepyfile(test_c="from pipeline import select\n\ndef test_c():\n    select([5])\n")
    result = project.runpytest("-s")
    result.stdout.fnmatch_lines(["*CAPTURED selection test_c completed 2*"])


def test_report_panel_hook(project: pytest.Pytester) -> None:
    project.makepyfile(
        listing="""
        from xray_core.report.data import Panel

        def pytest_xray_report_panel(step, trace):
            return [Panel(title=f"{step.name} in {trace.name}", text="hi")]
        """
    )
    project.makeconftest(
        """
        import pytest
        from xray_core.report.data import Panel
        from pytest_xray import dashboard, plugin

        pytest_plugins = ["listing"]

        def pytest_xray_report_panel(step, trace):
            if step.llm:
                return Panel(title="LLM cost", rows=[{"tokens": step.llm["tokens_used"]}])
            return None

        @pytest.hookimpl(trylast=True)
        def pytest_sessionfinish(session):
            state = session.config.stash[plugin.session_key]
            data = dashboard.build(state, None)
            print("PANELS", sorted(p.title for ps in data.panels.values() for p in ps))
        """
    )
    project.makepyfile(test_p="from pipeline import select\n\ndef test_p():\n    select([5])\n")
    result = project.runpytest("-s")
    result.stdout.fnmatch_lines(
        [
            (
                "*PANELS [[]'LLM cost', 'filter_and_select in selection', "
                "'keyword_generation in selection'[]]"
            )
        ]
    )


BROKEN_HOOKS = """
def pytest_xray_trace_captured(trace, item):
    raise ValueError(f"no trace may be called {trace.name}")

def pytest_xray_report_panel(step, trace):
    raise KeyError("cost")
"""


def test_a_raising_hook_is_an_error_in_the_summary(project: pytest.Pytester) -> None:
    # The recorder swallows observer errors (it never breaks the pipeline): say them here.
    project.makeconftest(BROKEN_HOOKS)
    project.makepyfile(
        test_h="from pipeline import select\n\ndef test_h():\n    select([5])\n    select([6])\n"
    )
    result = project.runpytest("--xray-report=r.html")
    result.assert_outcomes(passed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "report: r.html",
            (
                "error: pytest_xray_trace_captured raised ValueError: no trace may be called "
                "selection (first in test_h.py::test_h)"
            ),
            (
                "error: pytest_xray_report_panel raised KeyError: 'cost' (first in step "
                "'keyword_generation' of trace 'selection')"
            ),
        ]
    )
    assert len([line for line in result.outlines if line.startswith("error:")]) == 2
