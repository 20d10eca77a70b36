"""pytest_xray: the pytest plugin of decisiontracex (entry point ``xray = "pytest_xray.plugin"``).

It captures every trace recorded with :mod:`xray_core` while a test runs, gives tests the
``xray`` fixture (decision queries, assertions, baselines), keeps runs in SQLite (``--xray-db``)
and writes the HTML report (``--xray-report``). Nothing heavy is imported here: pytest imports
this package in every run.

PYTEST_DONT_REWRITE: its modules are imported without assertion rewriting (see
``pytest_xray.plugin``), and pytest need not warn when this package was imported first.
"""

from __future__ import annotations

__all__: list[str] = []
