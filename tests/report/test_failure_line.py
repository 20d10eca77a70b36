"""The first failure line: the one line of a test's failure text the landing page shows."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xray_core.report.failure import MAX_LINE, first_failure_line

from .test_plugin_report import PIPELINE

FAILURES = """
import pytest
from pipeline import select


@pytest.fixture
def database():
    raise RuntimeError("database is down")


def f():
    return 1


def test_rewritten_assert():
    assert f() == 2


def test_xray_assertion(xray):
    select([12.0, 30.0])
    xray.assert_rejected("B1", by="price")


def test_chained():
    try:
        {}["x"]
    except KeyError as exc:
        raise RuntimeError("bad config") from exc


def test_during_handling():
    try:
        1 / 0
    except ZeroDivisionError:
        raise LookupError("no fallback")


def test_bare():
    raise ValueError


def test_multiline():
    raise ValueError("first line\\nsecond line")


def test_markup():
    assert False, '<script>alert("x")</script>'


def test_setup_error(database):
    pass


def test_teardown_error(request):
    request.addfinalizer(lambda: 1 / 0)
"""

RECORDER = """
import json


def pytest_runtest_logreport(report):
    if report.failed:
        crash = getattr(report.longrepr, "reprcrash", None)
        with open("failures.jsonl", "a", encoding="utf-8") as out:
            out.write(json.dumps({"test": report.nodeid, "text": report.longreprtext,
                                  "crash": crash.message if crash else None}) + "\\n")
"""


def failures(pytester: pytest.Pytester, *args: str) -> dict[str, dict[str, str | None]]:
    """Run the suite of failures; each failing test's failure text and pytest's crash line."""
    (pytester.path / "failures.jsonl").unlink(missing_ok=True)
    pytester.runpytest("-p", "no:cacheprovider", *args)
    lines = (pytester.path / "failures.jsonl").read_text(encoding="utf-8").splitlines()
    return {row["test"]: row for row in map(json.loads, lines)}


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(pipeline=PIPELINE, test_failures=FAILURES)
    pytester.makeconftest(RECORDER)
    return pytester


@pytest.mark.parametrize("style", ["auto", "long", "short", "line", "native", "no"],
                         ids=["auto", "long", "short", "line", "native", "no"])  # fmt: skip
def test_the_line_is_the_one_pytest_reports(suite: pytest.Pytester, style: str) -> None:
    found = failures(suite, f"--tb={style}")
    assert len(found) == 9
    for test, row in found.items():
        crash, line = row["crash"], first_failure_line(row["text"])
        assert crash is not None and line is not None, test
        expected = crash.splitlines()[0].strip()
        if style == "native":  # pytest's crash line of a rewritten assert drops this prefix
            line, expected = (s.removeprefix("AssertionError: ") for s in (line, expected))
        assert line == expected, test


def test_lines_of_typical_failures(suite: pytest.Pytester) -> None:
    lines = {t.split("::")[1]: first_failure_line(r["text"]) for t, r in failures(suite).items()}
    assert lines == {
        "test_rewritten_assert": "assert 1 == 2",
        "test_xray_assertion": "AssertionError: B1 was qualified in step 'filter_and_select', "
                               "expected rejected by 'price'.",
        "test_chained": "RuntimeError: bad config",  # the last exception, not its cause
        "test_during_handling": "LookupError: no fallback",
        "test_bare": "ValueError",
        "test_multiline": "ValueError: first line",
        "test_markup": 'AssertionError: <script>alert("x")</script>',
        "test_setup_error": "RuntimeError: database is down",
        "test_teardown_error": "ZeroDivisionError: division by zero",
    }  # fmt: skip


def test_failures_without_pytests_error_lines(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(RECORDER)
    pytester.makepyfile(test_plain="""
        import pytest

        def test_missing_fixture(nope):
            pass

        def test_no_traceback():
            pytest.fail("the service answered 503\\nretry later", pytrace=False)
    """)  # fmt: skip
    lines = {t.split("::")[1]: first_failure_line(r["text"]) for t, r in failures(pytester).items()}
    assert lines == {
        "test_missing_fixture": "fixture 'nope' not found",
        "test_no_traceback": "the service answered 503",
    }


def test_a_long_line_is_cut() -> None:
    line = first_failure_line("    assert x\nE   AssertionError: " + "x" * 1000)
    assert line is not None and len(line) == MAX_LINE and line.endswith("…")
    assert line.startswith("AssertionError: xxx")


@pytest.mark.parametrize("message", [None, "", " \n\t\n"], ids=["none", "empty", "blank"])
def test_no_text_no_line(message: str | None) -> None:
    assert first_failure_line(message) is None


# -- properties -----------------------------------------------------------------------------------
one_line = st.text(min_size=1).filter(lambda s: len(s.splitlines()) == 1)


@given(st.text())
def test_any_text_gives_one_stripped_line_of_it(message: str) -> None:
    line = first_failure_line(message)
    if not message.strip():
        assert line is None
        return
    assert line is not None and line == line.strip() and len(line.splitlines()) == 1
    assert len(line) <= MAX_LINE
    assert line.removesuffix("…").rstrip() in message


@given(
    st.lists(one_line.filter(lambda s: not s.startswith("E")), max_size=5),
    st.text(" ", min_size=1, max_size=8),
    one_line.filter(lambda s: s.strip() != ""),
    st.lists(one_line, max_size=5),
)
def test_the_first_marked_line_wins(
    before: list[str], indent: str, error: str, after: list[str]
) -> None:
    message = "\n".join([*before, "E" + indent + error, *after])
    line = first_failure_line(message)
    assert line is not None
    expected = error.strip()
    if len(expected) > MAX_LINE:
        expected = expected[: MAX_LINE - 1].rstrip() + "…"
    assert line == expected
