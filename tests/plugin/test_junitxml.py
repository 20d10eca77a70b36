"""Issue 10 part 3: with ``--junitxml`` each test carries its X-Ray facts as ``<property>``s."""

from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.report.test_render import payload_of

TESTS = """
from pipeline import select

PRICES = [5, 20, 30]


def test_pick(xray):
    select(PRICES)
    xray.assert_baseline()


def test_two(xray):
    select([12], name="first")
    select([13], name="second")


def test_plain():
    assert 1 + 1 == 2
"""


def properties(path: Path) -> dict[str, dict[str, str]]:
    """``{test name: {property: value}}`` of a JUnit XML file (each property once)."""
    found: dict[str, dict[str, str]] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        names = [p.get("name") for p in case.iter("property")]
        assert len(names) == len(set(names)), f"a property repeats in {case.get('name')}: {names}"
        found[str(case.get("name"))] = {
            str(p.get("name")): str(p.get("value")) for p in case.iter("property")
        }
    return found


def db_traces(db: Path) -> dict[str, list[str]]:
    """``{test id: [trace id, ...]}`` kept by ``--xray-db``."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT test_id, trace_id FROM traces ORDER BY start_time").fetchall()
    found: dict[str, list[str]] = {}
    for test, trace in rows:
        found.setdefault(test, []).append(trace)
    return found


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    """A real pytest process (pytest-xdist needs one; the same path for both modes)."""
    return project.runpytest_subprocess("-p", "no:cacheprovider", *args)


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one-process", "xdist"])
def test_properties_name_traces_verdicts_flips_and_the_report_link(
    project: pytest.Pytester, workers: tuple[str, ...]
) -> None:
    project.makepyfile(test_j=TESTS)
    first = run(project, *workers, "--xray-update", "--junitxml=first.xml", "--xray-db=one.db")
    first.assert_outcomes(passed=3)
    props = properties(project.path / "first.xml")
    kept = db_traces(project.path / "one.db")
    assert props["test_pick"] == {
        "xray.trace_ids": kept["test_j.py::test_pick"][0],
        "xray.baseline": "written",
    }
    assert props["test_two"] == {"xray.trace_ids": " ".join(kept["test_j.py::test_two"])}
    assert len(kept["test_j.py::test_two"]) == 2
    assert props["test_plain"] == {}, "a test without traces or baselines gets no property"

    # B2 (30.00) leaves the price range: qualified -> rejected by price
    project.makepyfile(test_j=TESTS.replace("[5, 20, 30]", "[5, 20, 50]"))
    second = run(
        project, *workers, "--junitxml=out/second.xml", "--xray-report=out/r.html",
        "--xray-db=two.db",
    )  # fmt: skip
    second.assert_outcomes(passed=2, failed=1)
    props = properties(project.path / "out" / "second.xml")
    kept = db_traces(project.path / "two.db")
    pick = props["test_pick"]
    assert pick["xray.trace_ids"] == kept["test_j.py::test_pick"][0]
    assert pick["xray.baseline"] == "failed"
    assert re.fullmatch(r"B2: qualified -> rejected by price \(price: 30.00 in \[10.00, 40.00\] \(passed\) -> "
                        r"50.00 in \[10.00, 40.00\] \(failed\)\) \[step 'filter_and_select'\]",
                        pick["xray.flipped"]), pick["xray.flipped"]  # fmt: skip
    report, _, fragment = pick["xray.report"].partition("#")
    assert report == "r.html", "relative to the JUnit file's folder"
    assert fragment == f"trace={pick['xray.trace_ids']}"
    payload = payload_of((project.path / "out" / report).read_text(encoding="utf-8"))
    ids = {t["id"]: t["test"] for t in payload["traces"]}
    assert ids[unquote(fragment.removeprefix("trace="))] == "test_j.py::test_pick"
    two = props["test_two"]
    assert two["xray.report"] == f"r.html#trace={kept['test_j.py::test_two'][0]}"
    assert "xray.baseline" not in two and "xray.flipped" not in two
    assert props["test_plain"] == {}


def test_a_verdict_without_flip_and_the_users_own_properties(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_k="""
        from pipeline import select

        def test_k(xray, record_property):
            record_property("owner", "search-team")
            select([5, 20])
            xray.assert_baseline()
        """
    )
    run(project, "--xray-update").assert_outcomes(passed=1)
    run(project, "--junitxml=j.xml").assert_outcomes(passed=1)
    props = properties(project.path / "j.xml")["test_k"]
    assert props.pop("owner") == "search-team"
    assert props.pop("xray.baseline") == "passed"
    assert set(props) == {"xray.trace_ids"}, "no flip, no report: no property for them"


def test_without_junitxml_no_property_is_added(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        def pytest_runtest_logreport(report):
            if report.when == "teardown":
                assert report.user_properties == [], report.user_properties
        """
    )
    project.makepyfile(test_j=TESTS)
    result = project.runpytest("-p", "no:cacheprovider", "--xray-update")
    result.assert_outcomes(passed=3)
    assert "AssertionError" not in result.stdout.str()


def test_the_report_link_is_relative_to_the_junit_file(project: pytest.Pytester) -> None:
    project.makepyfile(test_l="from pipeline import select\n\ndef test_l():\n    select([5])\n")
    run(project, "--junitxml=ci/junit/j.xml", "--xray-report=ci/html/my report.html").assert_outcomes(
        passed=1)  # fmt: skip
    link = properties(project.path / "ci" / "junit" / "j.xml")["test_l"]["xray.report"]
    href, _, trace = link.partition("#trace=")
    assert href == "../html/my%20report.html"
    assert (project.path / "ci" / "junit" / unquote(href)).resolve() == (
        project.path / "ci" / "html" / "my report.html").resolve()  # fmt: skip
    assert re.fullmatch(r"[0-9a-f]{32}", trace)
