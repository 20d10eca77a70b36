"""pytest_xray: the pytest plugin of decisiontracex (entry point ``xray = "pytest_xray.plugin"``).

It captures every trace recorded with :mod:`xray_core` while a test runs, gives tests the
``xray`` fixture (decision queries, assertions, baselines), keeps runs in SQLite (``--xray-db``)
and writes the HTML report (``--xray-report``). Nothing heavy is imported here: pytest imports
this package in every run.
"""

from __future__ import annotations

__all__: list[str] = []
