"""``xray serve`` shows a run with the report's front page: the list grouped by test and the run
overview as its landing view, from the same payload (real server, headless Chromium)."""

from __future__ import annotations

from typing import Any

from xray_core import Run

from . import test_browser
from .conftest import Served
from .histories import TEST_PICK, TEST_REPEAT
from .test_browser import Watched

# the serve browser tests' fixtures: the session's Chromium, a page watched for errors
browser = test_browser.browser
watched = test_browser.watched


def test_a_run_page_lands_on_the_overview(
    watched: Watched, server: Served, history_db: tuple[Any, list[Run]]
) -> None:
    _, runs = history_db
    run = runs[1]
    overview = server.json("/api/report", {"run": run.run_id})["overview"]
    page = watched.open(f"/runs/{run.run_id}")
    assert page.locator("#run-overview").is_visible()
    test_browser.shot(page, "serve-run-overview.png")
    assert page.inner_text("#ov-tests .ov-summary") == "2 tests: 2 passed · 4 traces, 8 steps"
    assert [r.get_attribute("data-test") for r in page.locator("#ov-tests tbody tr").all()] == [
        TEST_PICK, TEST_REPEAT]  # fmt: skip
    names = [f["filter"] for f in overview["filters"]]
    assert page.locator("#ov-filters li.ov-filter").evaluate_all(
        "nodes => nodes.map(n => n.dataset.filter)") == names  # fmt: skip
    first = overview["filters"][0]
    rate = round(first["rejected"] / first["evaluated"] * 100)
    assert page.locator("#ov-filters .ov-filter-text").first.inner_text() == (
        f" rejected {rate}% of {first['evaluated']} candidates")
    # B03 passes the rating filter of two of test_repeat's traces and fails the third's
    differing = page.locator("#ov-differing tbody tr")
    assert differing.count() == 1 and differing.get_attribute("data-item") == "B03"
    assert "qualified in 2 traces" in differing.inner_text()
    assert "rejected in 1 trace" in differing.inner_text()
    assert page.locator("#trace-list .group").get_attribute("data-test") == TEST_REPEAT
    watched.click(differing.locator("a.ov-rejected"))
    target = page.locator("table.evals tr.target")
    assert target.get_attribute("data-item") == "B03" and "rejected" in target.inner_text()
    assert page.locator("#trace-list .group button").get_attribute("aria-expanded") == "true"
    assert page.locator("#trace-list .row.selected").count() == 1
