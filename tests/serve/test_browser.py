"""``xray serve``'s pages in real headless Chromium (Debian's /usr/bin/chromium, Playwright),
against the real server: the runs list, a run opened like a report, two runs compared, an item's
history followed across commits, the stability; with the pages' own Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from xray_core import Run

from tests.chromium import ARTIFACTS, require_playwright

from .conftest import Served
from .histories import FLIP_AT, HOSTILE, TEST_PICK, TEST_REPEAT

History = tuple[Path, list[Run]]

require_playwright()  # skips this module without Chromium or Playwright (an error in CI)


@pytest.fixture
def browser(chromium: Any) -> Any:
    return chromium


@dataclass
class Watched:
    """A page of the server and everything suspicious it did: dialogs, console/script errors."""

    page: Any
    base: str
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: str, ready: str = "true") -> Any:
        """Go to a path of the server and wait until the page says it rendered ``ready``."""
        self.page.goto(self.base + path.lstrip("/"))
        self.page.wait_for_selector(f"body[data-ready='{ready}']")
        return self.page

    def follow(self, target: Any, ready: str = "true") -> None:
        """Click a link to another page of the server and wait until it rendered."""
        with self.page.expect_navigation():
            (self.page.locator(target) if isinstance(target, str) else target).click()
        self.page.wait_for_selector(f"body[data-ready='{ready}']")

    def expect_failed_request(self, status: int) -> None:
        """The API answered ``status`` once, as the test intended (Chromium logs it)."""
        self.errors.remove(f"Failed to load resource: the server responded with a status of "
                           f"{status} (Not Found)")  # fmt: skip

    def click(self, target: Any) -> None:
        """Click a link within the page and wait until it routed (and rendered) there."""
        before = self.page.get_attribute("body", "data-routed")
        (self.page.locator(target) if isinstance(target, str) else target).click()
        # a selector, not wait_for_function: the page's policy forbids eval, as it should
        self.page.wait_for_selector(f"body:not([data-routed='{before}'])", state="attached")


@pytest.fixture
def watched(browser: Any, server: Served) -> Iterator[Watched]:
    # The pages' own Content-Security-Policy applies (no bypass): it must let them fetch the API.
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    seen = Watched(page, server.url)

    def on_dialog(dialog: Any) -> None:
        seen.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    yield seen
    context.close()
    assert seen.errors == [] and seen.dialogs == []


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def test_the_runs_list_shows_status_and_commit_newest_first(
    watched: Watched, history_db: History
) -> None:
    _, runs = history_db
    page = watched.open("/", "runs")
    rows = page.locator("tr.run-row")
    assert [r.get_attribute("data-run") for r in rows.all()] == [r.run_id for r in reversed(runs)]
    newest = rows.first.inner_text()
    assert "completed" in newest and runs[-1].git_commit[:10] in newest and "main" in newest
    assert "6 runs, most recent first." in page.inner_text(".view-head")
    shot(page, "serve-runs.png")


def test_a_run_opens_like_a_report_and_deep_links_reach_an_item(
    watched: Watched, history_db: History
) -> None:
    _, runs = history_db
    page = watched.open("/", "runs")
    watched.follow(page.locator(f"tr[data-run='{runs[1].run_id}'] a.run-link"))
    assert page.url.endswith(f"/runs/{runs[1].run_id}")
    # test_repeat's three traces are one group (collapsed), test_pick's one trace a row
    assert page.locator("#trace-list .row").count() == 1
    assert page.locator("#trace-list .group").all_inner_texts() == [f"▸\n{TEST_REPEAT}\n3 traces\npassed"]
    page.uncheck("#grouped")  # the flat list
    assert page.locator("#trace-list .row").count() == 4
    assert f"commit {runs[1].git_commit[:10]}" in page.inner_text("header.top")
    watched.click(page.locator("#trace-list .row").first)
    watched.click(page.locator(".wf-row", has_text="filter_and_select"))
    rows = page.locator("table.evals tbody tr")
    assert [r.get_attribute("data-item") for r in rows.all()] == ["B01", "B02", "B03", "B04"]
    # the fragment is a URL: opened anew, it shows the same step with the item picked out
    deep = page.url + "&item=B02"
    page.goto("about:blank")
    page.goto(deep)
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator("table.evals tr.target").get_attribute("data-item") == "B02"
    assert "qualified" in page.inner_text("tr.target")


def test_two_runs_are_compared_from_the_runs_list(watched: Watched, history_db: History) -> None:
    _, runs = history_db
    page = watched.open("/", "runs")
    for run in (runs[FLIP_AT], runs[FLIP_AT - 1]):
        page.check(f"input[data-run='{run.run_id}']")
    watched.follow("#compare-selected")
    assert f"a={runs[FLIP_AT - 1].run_id}" in page.url and f"b={runs[FLIP_AT].run_id}" in page.url
    assert not page.locator("#view-compare").is_hidden()
    view = page.inner_text("#view-compare")
    assert runs[FLIP_AT - 1].run_id[:12] in view and runs[FLIP_AT].run_id[:12] in view
    flipped = page.locator("table.decisions tr.flipped")
    assert flipped.count() == 4  # B02 in test_pick's trace and in test_repeat's three
    assert "B02" in flipped.first.inner_text() and "rejected" in flipped.first.inner_text()
    shot(page, "serve-compare.png")


def test_an_items_history_is_followed_from_a_run_across_commits(
    watched: Watched, history_db: History
) -> None:
    _, runs = history_db
    page = watched.open(f"/runs/{runs[0].run_id}")
    watched.click(page.locator("#trace-list .row", has_text=TEST_PICK))
    watched.click(page.locator(".wf-row", has_text="filter_and_select"))
    watched.follow(page.locator("tr[data-item=B02] a.history-link"), "history")
    assert page.locator("input[name=test]").input_value() == TEST_PICK
    entries = page.locator("li.tl-entry")
    assert [e.get_attribute("data-run") for e in entries.all()] == [r.run_id for r in runs]
    assert [("changed" in (e.get_attribute("class") or "")) for e in entries.all()] == [
        i == FLIP_AT for i in range(6)]  # fmt: skip
    assert "price: 15.00 vs min 20.00" in entries.nth(FLIP_AT).inner_text()
    headline = page.inner_text(".history-headline")
    assert "B02: rejected by price since " + runs[FLIP_AT].git_commit[:10] in headline
    assert f"qualified in the {FLIP_AT} runs before" in headline
    assert page.locator(".strip .cell").count() == 6
    shot(page, "serve-history.png")
    watched.follow(entries.nth(FLIP_AT).locator("a.tl-open"))
    assert page.url.split("#")[0].endswith(f"/runs/{runs[FLIP_AT].run_id}")
    assert page.locator("table.evals tr.target").get_attribute("data-item") == "B02"
    assert "rejected" in page.inner_text("tr.target")


def test_the_history_form_and_its_deep_link(watched: Watched) -> None:
    page = watched.open("/#/history", "history")
    page.fill("input[name=test]", TEST_REPEAT)
    page.fill("input[name=item]", "B03")
    page.fill("input[name=last]", "3")
    watched.click("form.query-form button")
    page.wait_for_selector("body[data-ready='history'] li.tl-entry")
    assert page.locator("li.tl-entry").count() == 3
    assert "mixed: qualified; rejected by rating" in page.inner_text("li.tl-entry >> nth=0")
    query = urlencode({"test": TEST_REPEAT, "item": "B03", "last": "3"})
    assert page.url.endswith("/#/history?" + query)
    page = watched.open("/#/history?" + urlencode({"test": "nope", "item": "B03"}), "history")
    assert "test 'nope': no stored trace belongs to a matching test" in page.inner_text(".notice")
    watched.expect_failed_request(404)


def test_stability_over_the_last_runs(watched: Watched) -> None:
    page = watched.open("/#/stability?last=3", "stability")
    assert "Over the last 3 runs (13 traces)." in page.inner_text("#app")
    rows = page.locator("table.stability tbody tr")
    assert rows.count() == 1 and "B03" in rows.first.inner_text()
    page.uncheck("#unstable-only")
    assert rows.count() > 1
    watched.click("#tabs a[data-view=runs]")
    page.wait_for_selector("tr.run-row")


def test_hostile_names_stay_text_in_every_view(watched: Watched, history_db: History) -> None:
    _, runs = history_db
    hostile_test = f"tests/test_hostile.py::test_x[{HOSTILE}]"
    page = watched.open(f"/runs/{runs[-1].run_id}")
    row = page.locator("#trace-list .row", has_text="test_hostile")
    assert HOSTILE in row.inner_text() and hostile_test in row.inner_text()
    watched.click(row)
    watched.click(page.locator(".wf-row", has_text="filter_and_select"))
    assert page.locator("table.evals tr").filter(has_text=HOSTILE + "B02").count() == 1
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 2  # the page's data and its code, no other
    watched.follow(page.locator("table.evals tr").filter(has_text=HOSTILE + "B02")
                   .locator("a.history-link"), "history")  # fmt: skip
    assert page.locator("input[name=item]").input_value() == HOSTILE + "B02"
    assert page.locator("li.tl-entry").count() == 1
    assert HOSTILE + "B02" in page.inner_text(".history-headline")
    assert page.locator("img").count() == 0 and page.locator("script").count() == 1


def test_an_unknown_run_page_says_so(watched: Watched) -> None:
    page = watched.open("/runs/nosuchrun", "error")
    assert "no run matches 'nosuchrun'" in page.inner_text(".load-error")
    watched.expect_failed_request(404)
    watched.follow("text=← all runs", "runs")
