"""Installed from a wheel, decisiontracex's modules are imported by Python, not pytest's rewriter.

pytest marks every module of a plugin's distribution for assertion rewriting and compiles each
from source in every process when it cannot cache the result (``PYTHONDONTWRITEBYTECODE``); the
plugin asks pytest's hook to leave all but its entry module to Python's import system
(``pytest_xray.plugin._import_without_rewriting``). This checkout is installed in editable mode,
which pytest never marks, so each test lays out the distribution as pip installs a wheel: the
packages and a ``.dist-info`` whose RECORD lists their files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("pytest_xray", "xray_core")

CONFTEST = """
import json
import os
import sys

from _pytest.assertion.rewrite import AssertionRewritingHook


def pytest_sessionfinish(session):  # a pytest-xdist worker may end before unconfiguring
    config = session.config
    loaded = {
        name: isinstance(getattr(module, "__loader__", None), AssertionRewritingHook)
        for name, module in list(sys.modules.items())
        if name.split(".")[0] in ("pytest_xray", "xray_core", "test_rewritten")
    }
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    with open(os.path.join(str(config.rootpath), f"loaded-{worker}.json"), "w") as out:
        json.dump(loaded, out)
"""

TEST = """
def test_rewritten():
    import xray_core

    with xray_core.trace("t"):
        with xray_core.step("one", input={"x": 1}) as step:
            step.set_output([1, 2])
    seen = 3
    assert seen == 4
"""


def install_as_a_wheel_would(site: Path) -> None:
    """``site`` holds links to this checkout's packages and the distribution's metadata."""
    site.mkdir()
    record = []
    for package in PACKAGES:
        (site / package).symlink_to(ROOT / package, target_is_directory=True)
        record += sorted(
            f"{path.relative_to(ROOT).as_posix()},," for path in (ROOT / package).rglob("*.py")
        )
    info = site / "decisiontracex-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: decisiontracex\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[pytest11]\nxray = pytest_xray.plugin\n")
    (info / "RECORD").write_text("\n".join([*record, f"{info.name}/RECORD,,"]) + "\n")


@pytest.mark.parametrize("args", [(), ("-n", "2")], ids=["one process", "pytest-xdist workers"])
def test_only_the_entry_module_is_rewritten(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    install_as_a_wheel_would(pytester.path / "site")
    monkeypatch.setenv("PYTHONPATH", str(pytester.path / "site"))
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_rewritten=TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert 3 == 4*"])  # the test module is rewritten as ever
    logs = sorted(pytester.path.glob("loaded-*.json"))
    assert len(logs) == (3 if args else 1)
    for log in logs:
        loaded = json.loads(log.read_text())
        rewritten = {name for name, by_pytest in loaded.items() if by_pytest}
        ran_the_test = log.name != "loaded-main.json" or not args  # not the xdist controller
        assert ("test_rewritten" in loaded) is ran_the_test
        expected = {"pytest_xray", "pytest_xray.plugin"} | ({"test_rewritten"} if ran_the_test else set())
        assert rewritten == expected, log.name
        assert {"pytest_xray.session", "pytest_xray.options", "xray_core.observers"} <= set(loaded)


def test_with_assertion_rewriting_off_the_plugin_runs_as_ever(pytester: pytest.Pytester) -> None:
    """``--assert=plain``: pytest installs no rewriting hook; nothing to leave to Python."""
    pytester.makepyfile(test_rewritten=TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--assert=plain")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*1 trace captured in 1 test*"])


OUTER = """
pytest_plugins = ["pytester"]


def test_inline_session(pytester):
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest("-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert "PytestAssertRewriteWarning" not in result.stdout.str()
"""


def test_inline_pytester_sessions_do_not_warn_that_our_modules_were_not_rewritten(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outer session imported ``xray_core`` without rewriting: each inline session marks
    the distribution again and would warn ("Module already imported so cannot be rewritten",
    an error under ``-W error``) but for the ``PYTEST_DONT_REWRITE`` of the packages' docstrings."""
    install_as_a_wheel_would(pytester.path / "site")
    monkeypatch.setenv("PYTHONPATH", str(pytester.path / "site"))
    pytester.makepyfile(test_outer=OUTER.replace("INNER", repr(TEST)))
    result = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_script_that_imports_xray_core_before_running_pytest_gets_no_warning(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_as_a_wheel_would(pytester.path / "site")
    monkeypatch.setenv("PYTHONPATH", str(pytester.path / "site"))
    pytester.makepyfile(test_rewritten=TEST)
    script = "import sys, xray_core, pytest; sys.exit(pytest.main(['-W', 'error', '-p', 'no:cacheprovider']))"
    result = pytester.run(sys.executable, "-c", script)
    result.assert_outcomes(failed=1)
    assert "PytestAssertRewriteWarning" not in result.stdout.str() + result.stderr.str()
