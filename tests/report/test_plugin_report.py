"""``pytest --xray-report=PATH`` end to end: a small instrumented suite, in-process and -n 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import xray_core  # noqa: F401 - imported once, so in-process pytester runs do not re-import it

from .test_render import payload_of

PIPELINE = """
import xray_core as xc


def select(prices):
    with xc.trace("selection") as trace:
        with trace.step("filter_and_select", input={"prices": prices}) as step:
            for index, price in enumerate(prices):
                ok = 10 <= price <= 40
                step.add_evaluation(item_id=f"B{index}", item_data={"price": price},
                                    filters=[{"name": "price", "passed": ok,
                                              "detail": f"{price} in [10, 40]"}],
                                    qualified=ok, reasoning="in range" if ok else "out of range")
            step.set_output({"kept": [p for p in prices if 10 <= p <= 40]})
"""

TESTS = """
import os
import pytest
from pipeline import select

PRICES = [float(p) for p in os.environ.get("PRICES", "12 50 30").split()]


def test_selects(xray):
    select(PRICES)
    xray.assert_rejected("B1", by="price")


def test_baseline(xray):
    select(PRICES)
    xray.assert_baseline()


def test_fails():
    select([5.0])
    assert False, "this test fails on purpose"


@pytest.mark.parametrize("n", range(4))
def test_many(n):
    select([10.0 + n])


def test_no_trace():
    pass
"""

CONFTEST = """
from xray_core.report import Panel


def pytest_xray_report_panel(step, trace):
    if step.name == "filter_and_select":
        return Panel("Kept prices", rows=[{"price": p} for p in step.output["kept"]])
    return None
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(pipeline=PIPELINE, test_suite=TESTS)
    pytester.makeconftest(CONFTEST)
    return pytester


def read_report(path: Path) -> dict[str, Any]:
    assert path.is_file(), f"no report at {path}"
    return payload_of(path.read_text(encoding="utf-8"))


def check_suite_report(payload: dict[str, Any]) -> None:
    tests = {t["id"]: t for t in payload["tests"]}
    assert tests["test_suite.py::test_selects"]["outcome"] == "passed"
    assert tests["test_suite.py::test_fails"]["outcome"] == "failed"
    assert "this test fails on purpose" in tests["test_suite.py::test_fails"]["message"]
    assert tests["test_suite.py::test_no_trace"]["outcome"] == "passed"
    by_test = {t["test"]: t for t in payload["traces"]}
    assert len(payload["traces"]) == 7
    assert set(by_test) == {"test_suite.py::test_selects", "test_suite.py::test_baseline",
                            "test_suite.py::test_fails",
                            *(f"test_suite.py::test_many[{n}]" for n in range(4))}  # fmt: skip
    selects = by_test["test_suite.py::test_selects"]
    assert selects["rejected"] == 1
    (panel,) = payload["panels"][selects["steps"][0]["id"]]
    assert panel["title"] == "Kept prices" and panel["rows"] == [{"price": 12.0}, {"price": 30.0}]


def test_report_of_a_session(suite: pytest.Pytester) -> None:
    suite.runpytest("--xray-update").assert_outcomes(passed=7, failed=1)
    result = suite.runpytest("--xray-report=out/nested/report.html")
    result.assert_outcomes(passed=7, failed=1)
    payload = read_report(suite.path / "out" / "nested" / "report.html")
    check_suite_report(payload)
    assert payload["run"] is None or payload["run"]["run_id"]


def test_report_shows_a_failed_baseline(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.runpytest("--xray-update").assert_outcomes(passed=7, failed=1)
    monkeypatch.setenv("PRICES", "12 30 30")  # B1 now qualifies
    result = suite.runpytest("--xray-report=report.html")
    result.assert_outcomes(passed=5, failed=3)
    tests = {t["id"]: t for t in read_report(suite.path / "report.html")["tests"]}
    baseline = tests["test_suite.py::test_baseline"]
    assert baseline["baseline"] == "failed"
    (diff,) = baseline["diffs"]
    first = diff["changes"][0]
    assert (first["kind"], first["item"], first["flipped"]) == ("DecisionChanged", "B1", True)


def test_report_under_xdist(suite: pytest.Pytester) -> None:
    suite.runpytest("--xray-update").assert_outcomes(passed=7, failed=1)
    result = suite.runpytest_subprocess(
        "-n", "2", "--xray-report=report.html", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=7, failed=1)
    payload = read_report(suite.path / "report.html")
    check_suite_report(payload)
    assert len({t["id"] for t in payload["traces"]}) == 7
    assert json.dumps(payload)  # one complete document, not one per worker
