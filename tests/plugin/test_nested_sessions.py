"""Suites that run pytest inside pytest (pytest-xdist's own, this one) with the plugin installed
but unused: the inner sessions import nothing heavy and the plugin keeps none of them alive.

pytester's inline runs drop every module first imported during them, so a module an inner
session imports is imported again by the next one (and the package it belongs to keeps the
previous copy alive as an attribute). The plugin must therefore not import pydantic or the
models when nothing was recorded, and must let go of each session (the recorder's observer
stack is module-global: a session left on it would stay alive, and would receive the traces
of the session around it).
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest

INNER = """
def test_inner(request):
    assert request.config.pluginmanager.has_plugin("xray")  # installed, in every worker
"""

OUTER = """
import gc
import sys
import types

import pytest

SESSIONS = 3
HEAVY = ("pydantic", "xray_core.models", "sqlite_utils", "jinja2")
OURS = ("xray_core", "pytest_xray")
BLOCKED = BLOCKED_PLUGINS


def stray_modules(prefixes):
    # module objects alive but no longer in sys.modules: a finished session's imports, kept
    gc.collect()
    return sorted(
        o.__name__ for o in gc.get_objects()
        if isinstance(o, types.ModuleType) and o.__name__.startswith(prefixes)
        and sys.modules.get(o.__name__) is not o
    )


@pytest.mark.parametrize("n", range(SESSIONS))
def test_inline_xdist_session(pytester, n):
    pytester.makepyfile(test_inner=INNER)
    pytester.runpytest("-n", "2", "-p", "no:cacheprovider", *BLOCKED).assert_outcomes(passed=1)


def test_after_the_inline_sessions(request):
    from pytest_xray.plugin import session_key
    from xray_core.observers import observers

    assert [m for m in HEAVY if m in sys.modules] == []
    assert stray_modules(HEAVY + OURS) == []
    # only this session observes traces: each inner one took itself off the stack
    assert observers == [request.config.stash[session_key]]
"""

LOOP = """
import gc
import sys

import pytest

SESSIONS = 3


class Probe:
    def __init__(self):
        self.loaded = []

    def pytest_sessionfinish(self, session):
        self.loaded.append(session.config.pluginmanager.has_plugin("xray"))


def live_sessions():
    gc.collect()
    return sum(type(o).__name__ == "XraySession" for o in gc.get_objects())


probe = Probe()
for _ in range(SESSIONS):
    saved = dict(sys.modules)  # as pytester's inline runs do
    args = ["-q", "-p", "no:cacheprovider", "-n", "2", *BLOCKED_PLUGINS, "test_inner.py"]
    code = pytest.main(args, plugins=[probe])
    sys.modules.clear()
    sys.modules.update(saved)
    assert code == 0, code
print("plugin loaded in each session:", probe.loaded)
print("live XraySession objects:", live_sessions())
"""


def blocked_plugins() -> list[str]:
    """``-p no:NAME`` for the installed plugins other than decisiontracex and pytest-xdist.

    Some keep each finished session alive by themselves: pytest marks a plugin's whole
    distribution for assertion rewriting, so a module the plugin imports during an inline
    session has that session's rewrite hook as its loader (hence its config and every plugin
    registered in it); hypothesis' modules stay referenced from ``typing``'s cache.
    """
    keep = {"decisiontracex", "pytest-xdist"}
    names = {
        ep.name
        for ep in importlib.metadata.entry_points(group="pytest11")
        if ep.dist is None or ep.dist.name not in keep
    }
    return [arg for name in sorted(names) for arg in ("-p", f"no:{name}")]


def test_inline_sessions_import_nothing_heavy(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["pytester"]\n')
    outer = OUTER.replace("BLOCKED_PLUGINS", repr(blocked_plugins()))
    pytester.makepyfile(test_outer=outer.replace("INNER", repr(INNER)))
    # a new process: this one has imported pydantic and the models already
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *blocked_plugins())
    result.assert_outcomes(passed=4)


def test_no_session_is_kept_alive(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=INNER)
    script = pytester.path / "loop.py"
    script.write_text(LOOP.replace("BLOCKED_PLUGINS", repr(blocked_plugins())), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], cwd=pytester.path, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "plugin loaded in each session: [True, True, True]" in done.stdout
    assert "live XraySession objects: 0" in done.stdout, done.stdout


RECORDING_OUTER = '''
RECORDS = """
import xray_core

def test_records():
    with xray_core.trace("first"):
        pass
"""

ASKS_INSIDE = """
import xray_core

def test_asks(xray):
    with xray_core.trace("checkout"):
        xray.step("pay")
"""


def test_an_inline_session_that_records(pytester):
    pytester.makepyfile(test_a=RECORDS)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_later_one_asks_the_recorder_it_records_with(pytester):
    pytester.makepyfile(test_b=ASKS_INSIDE)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*has no finished trace: trace 'checkout' is still running*"])
'''


def test_inline_sessions_record_with_the_recorder_the_fixture_asks(
    pytester: pytest.Pytester,
) -> None:
    """The first inline session to record imports the recorder, and ``xray_core`` keeps the
    names it handed out (``trace``) after pytester dropped that copy of the module: the plugin
    imports the recorder up front in a session configured with pytester (``-p pytester``, or
    ``pytest_plugins`` in a root conftest), so a later session's fixture asks the recorder its
    traces run in."""
    pytester.makepyfile(test_outer=RECORDING_OUTER)
    result = pytester.runpytest_subprocess(
        "-p", "pytester", "-p", "no:cacheprovider", *blocked_plugins()
    )
    result.assert_outcomes(passed=2)
