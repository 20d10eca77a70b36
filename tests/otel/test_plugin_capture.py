"""The plugin captures the spans of each test: decisions, baselines, ``--xray-db``, the report,
the CLI and hooks treat them as they treat traces recorded with the SDK.

Sessions run in a subprocess: the pipeline sets the global ``TracerProvider``, which
OpenTelemetry lets a process set only once.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = '''
from pipeline import select


def test_decisions(xray):
    assert select([5, 20, 30]) == "B1"
    assert xray.trace.name == "selection"
    xray.assert_rejected("B0", by="price")
    xray.assert_qualified("B1")
    assert xray.step("keyword_generation").llm["model"] == "mock-llm"
    assert xray.step("filter_and_select").output == {"selected": "B1"}
    assert xray.decision("B0").failed_filters[0].detail == "5.00 in [10.00, 40.00]"


def test_wrong_expectation(xray):
    select([5, 20])
    xray.assert_qualified("B0")
'''


def test_assertions_on_decisions_from_spans(otel_project: pytest.Pytester) -> None:
    otel_project.makepyfile(test_spans=TESTS)
    result = otel_project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "B0 was rejected by 'price' in step 'filter_and_select', expected qualified." in out
    assert "price: failed (5.00 in [10.00, 40.00]); reviews: passed (1500 > 100)." in out
    assert "2 traces captured in 2 tests" in out


BASELINE_TEST = '''
from pipeline import select

def test_pick(xray):
    select(PRICES)
    xray.assert_baseline()
'''


def test_baselines_of_captured_traces(otel_project: pytest.Pytester) -> None:
    otel_project.makepyfile(test_b=BASELINE_TEST.replace("PRICES", "[5, 20]"))
    otel_project.runpytest_subprocess("--xray-update").assert_outcomes(passed=1)
    [written] = (otel_project.path / "__xray_baselines__").rglob("*.json")
    baseline = json.loads(written.read_text())
    keys = [s["key"] for s in baseline["traces"][0]["steps"]]
    assert keys == ["selection", "selection/keyword_generation", "selection/filter_and_select"]
    otel_project.runpytest_subprocess().assert_outcomes(passed=1)
    otel_project.makepyfile(test_b=BASELINE_TEST.replace("PRICES", "[15, 20]"))
    result = otel_project.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*B0*rejected*qualified*"])


DB_TESTS = '''
from pipeline import select

def test_one(xray):
    select([5, 20])

def test_two(xray):
    select([25], name="second")
'''


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xray_core.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_xray_db_keeps_captured_traces_for_the_cli(otel_project: pytest.Pytester) -> None:
    otel_project.makepyfile(test_db=DB_TESTS)
    otel_project.runpytest_subprocess("--xray-db").assert_outcomes(passed=2)
    db = otel_project.path / ".xray" / "runs.db"
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT trace_id, name, test_id FROM traces ORDER BY name").fetchall()
        steps = conn.execute("SELECT name FROM steps ORDER BY name").fetchall()
    assert [(name, test) for _, name, test in rows] == [
        ("second", "test_db.py::test_two"), ("selection", "test_db.py::test_one"),
    ]  # fmt: skip
    assert all(re.fullmatch("[0-9a-f]{32}", trace_id) for trace_id, _, _ in rows)
    assert len(steps) == 6
    shown = cli("show", rows[1][0], "--db", str(db), cwd=otel_project.path)
    assert shown.returncode == 0, shown.stderr
    for text in ("selection", "keyword_generation", "filter_and_select", "B0", "price"):
        assert text in shown.stdout
    runs = cli("runs", "--db", str(db), "--json", cwd=otel_project.path)
    assert runs.returncode == 0, runs.stderr
    [run] = json.loads(runs.stdout)
    assert run["status"] == "completed" and run["counts"]["tests"] == 2
    assert (run["counts"]["traces"], run["counts"]["steps"]) == (2, 6)


DATA_RE = re.compile(r'<script type="application/json" id="xray-data">(.*?)</script>', re.DOTALL)


def test_report_shows_captured_traces(otel_project: pytest.Pytester) -> None:
    otel_project.makepyfile(test_r=DB_TESTS)
    otel_project.runpytest_subprocess("--xray-report=report.html").assert_outcomes(passed=2)
    html = (otel_project.path / "report.html").read_text()
    match = DATA_RE.search(html)
    assert match is not None
    payload = json.loads(match.group(1))
    traces = {t["name"]: t for t in payload["traces"]}
    assert set(traces) == {"selection", "second"}
    selection = traces["selection"]
    assert selection["test"] == "test_r.py::test_one" and selection["rejected"] == 1
    by_name = {s["name"]: s for s in selection["steps"]}
    assert by_name["filter_and_select"]["parent"] == by_name["selection"]["id"]
    assert by_name["keyword_generation"]["meta"]["llm"]["tokens_used"] == 42
    assert [e["item_id"] for e in by_name["filter_and_select"]["meta"]["evaluations"]] == [
        "B0", "B1",
    ]  # fmt: skip


HOOK_CONFTEST = '''
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

trace.set_tracer_provider(TracerProvider())


def pytest_xray_span_to_step(span, step):
    if step["name"] == "keyword_generation":
        step["name"] = "keywords"
        step["reasoning"] = "span " + span.name + " renamed by the conftest"
    if step["name"] == "filter_and_select":
        raise RuntimeError("a broken hook")
'''


def test_the_span_to_step_hook_adjusts_steps(otel_project: pytest.Pytester) -> None:
    otel_project.makeconftest(HOOK_CONFTEST)
    otel_project.makepyfile(
        test_h='''
from pipeline import select

def test_h(xray):
    select([5, 20])
    step = xray.step("keywords")
    assert step.reasoning == "span keyword_generation renamed by the conftest"
    xray.assert_rejected("B0", by="price")  # the step the hook failed on is kept as mapped
'''
    )
    result = otel_project.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*pytest_xray_span_to_step raised RuntimeError: a broken hook*"])


BAD_VALUES_CONFTEST = '''
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

trace.set_tracer_provider(TracerProvider())


class Loud:
    def __repr__(self):
        raise RuntimeError("no repr")


def pytest_xray_span_to_step(span, step):
    if step["name"] == "keyword_generation":
        step["name"] = {"not": "text"}
        step["metadata"] = "not a dict"
        step["status"] = Loud()
        step["input"] = {3, 1, 2}  # converted as the recorder converts a set
        step["extra"] = 1
    if step["name"] == "filter_and_select":
        step["reasoning"] = "half done"
        del step["output"]
        raise RuntimeError("broken after a change")
    if step["name"] == "selection":  # the root's step, changed in place
        step["metadata"]["odd"] = Loud()
        step["metadata"][7] = {2, 1}
'''


def test_values_a_step_cannot_hold_are_reported_and_the_mapped_ones_kept(
    otel_project: pytest.Pytester,
) -> None:
    """A hook that writes a name that is not text, metadata that is not a dict, an unknown
    status or field never fails the test nor the report: each is named in the summary and the
    field keeps its mapped value; a hook that raises leaves the step as mapped."""
    otel_project.makeconftest(BAD_VALUES_CONFTEST)
    otel_project.makepyfile(
        test_v='''
from pipeline import select

def test_v(xray):
    select([5, 20])
    step = xray.step("keyword_generation")
    assert step.status == "completed" and step.input == [1, 2, 3]
    assert isinstance(step.metadata, dict)
    chosen = xray.step("filter_and_select")
    assert chosen.reasoning != "half done" and chosen.output is not None
    root = xray.step("selection")
    assert isinstance(root.metadata["odd"], str) and root.metadata["7"] == [1, 2]
    xray.assert_rejected("B0", by="price")
'''
    )
    result = otel_project.runpytest_subprocess("--xray-report=report.html", "--xray-db=runs.db")
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    for reported in (
        "step['name'] = {'not': 'text'}: must be non-empty text",
        "step['metadata'] = 'not a dict': metadata is a dict, not str",
        "step['status'] = <Loud>: must be one of running, completed, failed",
        "step['extra'] = 1: not a field of a step",
        "raised RuntimeError: broken after a change",
    ):
        assert reported in out, reported
    assert (otel_project.path / "report.html").stat().st_size > 0
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_malformed_spans_never_fail_a_test(otel_project: pytest.Pytester) -> None:
    otel_project.makepyfile(
        test_m='''
from opentelemetry import trace

tracer = trace.get_tracer("m")


def test_m(xray):
    with tracer.start_as_current_span("bad", attributes={
        "input.value": "{not json", "input.mime_type": "application/json",
        "output.value": 3, "output.mime_type": 7, "llm.token_count.prompt": "many",
        "llm.invocation_parameters": "[", "xray.metadata": "[1]", "metadata": "{",
    }) as span:
        span.add_event("xray.evaluation", {"xray.qualified": "yes"})  # no item id
        span.add_event("xray.evaluation", {"xray.item_id": 7, "xray.filters": "{bad",
                                           "xray.qualified": "no"})
        span.add_event("exception", {"exception.type": 5})
    step = xray.step("bad")
    assert step.input == "{not json" and step.output == 3
    assert step.llm["attributes"] == {
        "llm.token_count.prompt": "many", "llm.invocation_parameters": "[",
    }
    assert step.metadata["attributes"] == {"xray.metadata": "[1]", "metadata": "{"}
    [evaluation] = step.evaluations
    assert evaluation.item_id == "7" and evaluation.qualified is False
    assert evaluation.filters[0].name == "{bad"
'''
    )
    otel_project.runpytest_subprocess().assert_outcomes(passed=1)


def test_a_pipelines_own_provider_with_the_processor_is_captured_once(
    pytester: pytest.Pytester,
) -> None:
    """Documented for pipelines that build their own provider; made global too, the plugin
    adds no second processor to it (each span would become two steps)."""
    pytester.makepyfile(
        test_own='''
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from xray_core.otel import XRaySpanProcessor

own = TracerProvider()
own.add_span_processor(XRaySpanProcessor())
shared = TracerProvider()
shared.add_span_processor(XRaySpanProcessor())
trace.set_tracer_provider(shared)


def test_own(xray):
    with own.get_tracer("p").start_as_current_span("private"):
        pass
    assert [s.name for s in xray.trace.steps] == ["private"]


def test_global(xray):
    with trace.get_tracer("p").start_as_current_span("shared"):
        pass
    assert [s.name for s in xray.trace.steps] == ["shared"]
    assert len(shared._active_span_processor._span_processors) == 1
'''
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=2)


def test_no_capture_without_a_global_sdk_provider(pytester: pytest.Pytester) -> None:
    """No provider set: OpenTelemetry's spans are no-ops, and the plugin leaves them alone."""
    pytester.makepyfile(
        test_none='''
from opentelemetry import trace


def test_none(xray):
    with trace.get_tracer("p").start_as_current_span("nothing"):
        pass
    assert xray.traces == []
'''
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_nothing_of_opentelemetry_is_imported_when_the_pipeline_does_not_use_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_plain='''
import sys

import xray_core


def test_plain(xray):
    with xray_core.trace("sdk"):
        with xray_core.step("one"):
            pass
    assert xray.trace.name == "sdk"
    loaded = [m for m in sys.modules if m.startswith(("opentelemetry", "xray_core.otel",
                                                        "pytest_xray.otel"))]
    assert loaded == []
'''
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_captured_json_values_cross_from_xdist_workers_as_their_data(
    otel_project: pytest.Pytester,
) -> None:
    """A worker keeps a span's JSON input unchecked (a tuple, which ``json`` would write as a
    list): what it sends the controller is the data it reads as, which the report shows."""
    otel_project.makepyfile(test_r=DB_TESTS)
    result = otel_project.runpytest_subprocess("-n", "2", "--xray-report=report.html")
    result.assert_outcomes(passed=2)
    match = DATA_RE.search((otel_project.path / "report.html").read_text())
    assert match is not None
    traces = {t["name"]: t for t in json.loads(match.group(1))["traces"]}
    steps = {s["name"]: s for s in traces["selection"]["steps"]}
    assert steps["keyword_generation"]["input"] == {"title": "mug"}
    assert steps["keyword_generation"]["output"] == {"keywords": ["mug", "steel"]}
    assert steps["filter_and_select"]["input"] == {"prices": [5, 20]}


def test_spans_are_captured_in_pytest_xdist_workers(otel_project: pytest.Pytester) -> None:
    otel_project.makepyfile(test_db=DB_TESTS)
    otel_project.runpytest_subprocess("-n", "2", "--xray-db").assert_outcomes(passed=2)
    with sqlite3.connect(otel_project.path / ".xray" / "runs.db") as conn:
        rows = conn.execute("SELECT name, test_id FROM traces ORDER BY name").fetchall()
        runs = conn.execute("SELECT count(*) FROM runs").fetchone()
    assert rows == [("second", "test_db.py::test_two"), ("selection", "test_db.py::test_one")]
    assert runs == (1,)
