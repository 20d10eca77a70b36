"""Debian's Chromium driven by Playwright: what the browser tests share.

One browser serves the whole session (``chromium`` in tests/conftest.py): launching it costs
about 2 s, and every test opens its own browser context (its own cookies, storage and pages).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def require_playwright() -> Any:
    """Playwright's ``sync_api``; skips the calling module when Chromium or Playwright is
    missing, except in CI (``CI`` set), where either is an error."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium", pytrace=False)
        pytest.skip(
            f"{CHROMIUM} is not installed (apt-get install -y chromium)", allow_module_level=True
        )
    if os.environ.get("CI"):
        from playwright import sync_api  # in CI a missing Playwright is an error, not a skip

        return sync_api
    return pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed: the `test` extra has it"
    )


def launch() -> Iterator[Any]:
    """A launched headless Chromium, closed when the generator is."""
    sync_api = require_playwright()
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()
