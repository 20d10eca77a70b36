"""The pytest plugin's wiring: options, the per-session object, OpenTelemetry capture and the
fixture. Registered by :mod:`pytest_xray.plugin`, the entry point.

Everything else lives in the modules next to this one and is imported lazily: pytest imports
this module in every run of every project where decisiontracex is installed.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import pytest

from .plugin import session_key

if TYPE_CHECKING:
    from .fixture import XrayFixture


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``--xray-*`` options and their ini twins."""
    from .options import add_options

    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Create this session's state, register it as a plugin and as the trace observer."""
    from xray_core.observers import add_observer

    from .session import XraySession

    state = XraySession(config)
    config.stash[session_key] = state
    config.pluginmanager.register(state, f"xray-session-{id(state)}")
    if getattr(config.option, "xmlpath", None):  # --junitxml
        from .junit import JunitProperties

        config.pluginmanager.register(JunitProperties(state), f"xray-junit-{id(state)}")
    if not state.is_worker:
        if config.pluginmanager.has_plugin("pytester"):
            # pytester's inline sessions drop every module first imported during them, and
            # keep the dropped copies alive: what their ends use is imported now, once, by the
            # session that runs them (tests/plugin/test_nested_sessions.py). Any other session
            # imports it at its end, and only what there is to do. The recorder too: `xray_core`
            # keeps the names it hands out, so a later inline session would record with a
            # dropped copy of it while the fixture asked a new one which trace is running.
            from xray_core import ambient, recorder  # noqa: F401 - see below

            from . import dashboard, finish, history, start, writer  # noqa: F401
            from .baseline import check  # noqa: F401 - pytest-xdist workers' verdicts

        if config.pluginmanager.hasplugin("xdist"):
            from .xdist import XdistController

            config.pluginmanager.register(XdistController(state), f"xray-xdist-{id(state)}")
    add_observer(state)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Detach and unregister this session's state."""
    from xray_core.observers import remove_observer

    state = config.stash.get(session_key, None)
    if state is None:
        return
    remove_observer(state)
    if state.keeper is not None:  # reaped (it closed the database), or commits what it has
        state.keeper.close()
    for name in (f"xray-session-{id(state)}", f"xray-xdist-{id(state)}", f"xray-junit-{id(state)}"):
        plugin = config.pluginmanager.get_plugin(name)
        if plugin is not None:
            config.pluginmanager.unregister(plugin)
    del config.stash[session_key]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Capture the OpenTelemetry spans of the test, when the pipeline uses OpenTelemetry."""
    if "opentelemetry.sdk.trace" in sys.modules:
        from .otel import install

        install()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """As in setup: a fixture may have set the global ``TracerProvider`` since."""
    if "opentelemetry.sdk.trace" in sys.modules:
        from .otel import install

        install()


def pytest_assertrepr_compare(config: pytest.Config, op: str, left: Any, right: Any) -> Any:
    """Explain a failed ``==`` between two decisions or two traces in decision terms."""
    models = sys.modules.get("xray_core.models")
    if models is None:  # neither side can be ours: skip the work
        return None
    from .assertrepr import compare

    return compare(op, left, right, models)


@pytest.fixture(scope="session")
def xray(request: pytest.FixtureRequest) -> XrayFixture:
    """The traces of the running test, decision queries and assertions, and baselines.

    Example::

        def test_cheap_candidates_are_rejected(xray):
            pick = select_competitor(product, seed=7)
            xray.assert_rejected("B0CHEAP", by="price")
            xray.assert_qualified(pick)
            xray.assert_baseline()

    Session-scoped so that hypothesis ``@given`` tests can use it: it always answers for the
    test running when it is called; use ``with xray.capture() as cap:`` per example.
    """
    from .fixture import XrayFixture

    return XrayFixture(request.config.stash[session_key])
