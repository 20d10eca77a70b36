"""``--xray-report=PATH`` (ini ``xray_report``): one self-contained HTML file per session."""

from __future__ import annotations

import pytest

TESTS = """
from pipeline import select

def test_pick(xray):
    select([5, 20], name="pick<script>")
    xray.assert_baseline()
"""


def test_report_is_written_with_tests_traces_and_diffs(project: pytest.Pytester) -> None:
    project.makepyfile(test_r=TESTS)
    project.runpytest("--xray-update").assert_outcomes(passed=1)
    project.makepyfile(test_r=TESTS.replace("[5, 20]", "[15, 20]"))
    result = project.runpytest("--xray-report=out/report.html")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["report: out/report.html"])
    html = (project.path / "out" / "report.html").read_text()
    assert "test_r.py::test_pick" in html
    assert "pick<script>" not in html, "user data is escaped"
    assert "B0" in html


def test_report_data_built_by_the_plugin(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        import pytest
        from pytest_xray import dashboard, plugin

        @pytest.hookimpl(trylast=True)
        def pytest_sessionfinish(session):
            state = session.config.stash[plugin.session_key]
            data = dashboard.build(state, None)
            print("TESTS", [(t.test_id, t.outcome, t.baseline, len(t.baseline_diffs))
                            for t in data.tests])
            print("TRACES", [record["test_id"] for record, steps in data.traces])
        """
    )
    project.makepyfile(test_r=TESTS)
    project.runpytest("--xray-update")
    project.makepyfile(test_r=TESTS.replace("[5, 20]", "[15, 20]"))
    result = project.runpytest("-s", "--xray-report=r.html")
    result.stdout.fnmatch_lines(
        [
            "*TESTS [[]('test_r.py::test_pick', 'failed', 'failed', 1)[]]",
            "TRACES [[]'test_r.py::test_pick'[]]",
        ]
    )


def test_ini_twin(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nxray_report = reports/x.html\n")
    project.makepyfile(test_i="from pipeline import select\n\ndef test_i():\n    select([5])\n")
    project.runpytest().assert_outcomes(passed=1)
    assert (project.path / "reports" / "x.html").is_file()


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (["--xray-report=out"], "", "--xray-report=out is a directory; give the file*/xray.html"),
        ([], "xray_report = out/", "xray_report = 'out/' is a directory; give the file*"),
    ],
    ids=["option", "ini"],
)
def test_a_directory_is_a_usage_error(
    project: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    (project.path / "out").mkdir()
    project.makeini(f"[pytest]\n{ini}\n")
    project.makepyfile(test_d="def test_d():\n    raise AssertionError('must not run')\n")
    result = project.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


def test_a_report_that_cannot_be_written_leaves_the_run_finished_in_the_db(
    project: pytest.Pytester,
) -> None:
    """The report is written before the run is finished in the DB (so the writer thread commits
    the last tests meanwhile): when it fails, the run is finished all the same, and the
    summary gives the DB's lines, then the report's error."""
    import xray_core

    project.makepyfile(test_r=TESTS.replace("    xray.assert_baseline()\n", ""))
    (project.path / "taken").write_text("a file, not a folder")
    result = project.runpytest_subprocess(
        "--xray-db=runs.db", "--xray-report=taken/report.html", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1)
    assert result.ret == 1
    lines = result.stdout.lines
    saved = next(i for i, line in enumerate(lines) if "runs.db" in line)
    error = next(i for i, line in enumerate(lines) if "the report was not written to" in line)
    assert saved < error, lines
    store = xray_core.SQLiteStore(project.path / "runs.db")
    try:
        (run,) = store.list_runs()
        traces = store.list_traces(limit=None)
    finally:
        store.close()
    assert run.status == "completed" and run.finished_at is not None
    assert run.counts["tests"] == 1 and [t.test_id for t in traces] == ["test_r.py::test_pick"]


GC_CONFTEST = """
import gc

import pytest

seen = []


def pytest_xray_report_panel(step, trace):
    seen.append(gc.isenabled())


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    print("DURING-END", sorted(set(seen)), "AFTER", gc.isenabled())
"""


@pytest.mark.parametrize("disabled_by_test", [False, True])
def test_the_collector_is_paused_during_the_session_end_and_left_as_it_was(
    project: pytest.Pytester, disabled_by_test: bool
) -> None:
    project.makeconftest(GC_CONFTEST)
    project.makepyfile(
        test_gc=f"""
        import gc
        from pipeline import select

        def test_pick():
            assert gc.isenabled()
            select([5, 20])
            if {disabled_by_test}:
                gc.disable()
        """
    )
    result = project.runpytest_subprocess("--xray-report=report.html", "-s")
    result.assert_outcomes(passed=1)
    after = not disabled_by_test  # the user's choice stands
    result.stdout.fnmatch_lines([f"DURING-END [[]False[]] AFTER {after}"])
    assert (project.path / "report.html").is_file()
