"""The pytest plugin's entry point (``xray = "pytest_xray.plugin"``, disabled by ``-p no:xray``):
it adds the hook specs and registers the plugin's wiring, :mod:`pytest_xray.wiring`.

pytest imports this module through its assertion rewriter, which compiles it from source where
it cannot cache the result (see :func:`_import_without_rewriting`): it is kept this small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .session import XraySession

session_key: pytest.StashKey[XraySession] = pytest.StashKey()
#: the top-level packages of decisiontracex's distribution
OUR_PACKAGES = ("pytest_xray", "xray_core")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Add the ``pytest_xray_*`` hook specs (see docs/hooks.md) and register the wiring.

    The first hook pytest calls on this module, as soon as it has imported it: from here on,
    our modules are imported without assertion rewriting.
    """
    _import_without_rewriting(pluginmanager)
    from . import hooks, wiring

    pluginmanager.add_hookspecs(hooks)
    pluginmanager.register(wiring, "xray-wiring")


def _import_without_rewriting(pluginmanager: pytest.PytestPluginManager) -> None:
    """Leave the rest of decisiontracex's modules to Python's import system.

    pytest marks every module of a plugin's distribution for assertion rewriting, and imports
    them through its own hook, which parses and compiles each one from source wherever it cannot
    cache the result (``PYTHONDONTWRITEBYTECODE``, a read-only site-packages): in every pytest
    process, each pytest-xdist worker too. Ours hold no ``assert`` a test relies on (their checks
    raise their own errors), so Python's import system loads them instead, from the bytecode pip
    compiled at install, as it already does in an editable install (which pytest never marks).
    This module and the package's ``__init__`` are rewritten before it runs. pytest has no public
    call for this: where its hook does not look as expected, everything is rewritten as before.
    """
    hook = getattr(pluginmanager, "rewrite_hook", None)
    marked = getattr(hook, "_must_rewrite", None)
    decided = getattr(hook, "_marked_for_rewrite_cache", None)
    if isinstance(marked, set) and isinstance(decided, dict):
        marked.difference_update(OUR_PACKAGES)
        decided.clear()
