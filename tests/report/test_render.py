"""The renderer: what each recorded pattern becomes in the page's data, and escaping."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from xray_core import XRay, diff_runs, diff_traces
from xray_core.models import Step, Trace
from xray_core.report import Panel, ReportData, TestResult, render_report, write_report
from xray_core.report.payload import script_json
from xray_core.stability import decision_stability

from .recording import CATALOG, HOSTILE, select_competitors

DATA_RE = re.compile(r'<script type="application/json" id="xray-data">(.*?)</script>', re.DOTALL)
LIST_RE = re.compile(r'<script type="application/json" id="xray-list">(.*?)</script>', re.DOTALL)


def payload_of(html: str) -> dict[str, Any]:
    """The JSON document embedded in a rendered page."""
    match = DATA_RE.search(html)
    assert match is not None, "no embedded data element"
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def list_of(html: str) -> dict[str, Any]:
    """The small document (header and list rows) embedded before the page's code."""
    match = LIST_RE.search(html)
    assert match is not None, "no embedded list element"
    assert html.index('id="xray-list"') < html.index("<script>") < html.index('id="xray-data"')
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def test_the_list_document_has_a_row_per_trace_in_order(sample_data: ReportData) -> None:
    html, payload = rendered(sample_data)
    listed = list_of(html)
    assert [r["id"] for r in listed["rows"]] == [t["id"] for t in payload["traces"]]
    for row, trace in zip(listed["rows"], payload["traces"], strict=True):
        assert row == {
            "id": trace["id"], "name": trace["name"], "status": trace["status"],
            "test": trace["test"], "dur": trace["dur"], "steps": len(trace["steps"]),
            "failed": sum(s["status"] == "failed" for s in trace["steps"]),
            "rejected": trace["rejected"],
        }  # fmt: skip
    assert any(row["failed"] for row in listed["rows"])  # the sample has a failed step
    assert listed["tests"] == [
        {"id": t["id"], "outcome": t["outcome"], "dur": t["dur"], "baseline": t["baseline"]}
        for t in payload["tests"]
    ]
    assert (listed["title"], listed["run"]) == (payload["title"], payload["run"])
    assert listed["views"] == {"compare": False, "stability": False}


def rendered(data: ReportData) -> tuple[str, dict[str, Any]]:
    html = render_report(data)
    return html, payload_of(html)


def step_of(payload: dict[str, Any], trace_index: int, name: str) -> dict[str, Any]:
    return next(s for s in payload["traces"][trace_index]["steps"] if s["name"] == name)


# -- files --------------------------------------------------------------------------------------
def test_write_report_creates_missing_parents(tmp_path: Path, sample_data: ReportData) -> None:
    target = tmp_path / "deep" / "er" / "report.html"
    written = write_report(target, sample_data)
    assert written == target
    html = target.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert payload_of(html)["title"] == "Pipeline regression report"
    assert not [p for p in target.parent.iterdir() if p.name != "report.html"]  # no temp file left


def test_write_report_refuses_a_directory(tmp_path: Path, sample_data: ReportData) -> None:
    with pytest.raises(IsADirectoryError, match=re.escape(str(tmp_path))):
        write_report(tmp_path, sample_data)


def test_page_makes_no_network_request(sample_data: ReportData) -> None:
    html = render_report(sample_data)
    for needle in ("http://", "https://", "<link", "@import", "url(", " src=", "fetch(",
                   "XMLHttpRequest", "WebSocket", "innerHTML", "insertAdjacentHTML",
                   "document.write", "eval("):  # fmt: skip
        assert needle not in html, needle
    assert "default-src 'none'" in html  # the CSP forbids loading anything


def test_the_page_around_ascii_data_is_ascii(xr: XRay) -> None:
    """Our own text (template, CSS, scripts) is ASCII, non-ASCII characters written as escapes:
    one character beyond Latin-1 would make Python hold the whole page, data included, at two
    bytes a character and encode it to UTF-8 character by character when it is written."""
    trace = select_competitors(xr, test_id="tests/test_pipeline.py::test_pick")
    html = render_report(ReportData(title="X-Ray report: suite", traces=[trace]))
    assert payload_of(html)["traces"][0]["id"] == trace.trace_id
    assert html.isascii()
    assert "Search tests, steps, items&#x2026;" in html  # still an ellipsis, as an entity
    assert r'"\u2026"' in html and r'content: "\25B8  "' in html  # JS and CSS escapes


# -- patterns -----------------------------------------------------------------------------------
def test_trace_summary_fields(sample_data: ReportData) -> None:
    _, payload = rendered(sample_data)
    ok, broken, _ = payload["traces"]
    model = sample_data.traces[0]
    assert ok["id"] == model.trace_id and ok["name"] == "competitor-selection"
    assert ok["test"] == "tests/test_pipeline.py::test_selects_best"
    assert ok["status"] == "completed" and broken["status"] == "failed"
    assert ok["rejected"] == len(model.rejected()) == 3
    assert [s["name"] for s in ok["steps"]] == [
        "keyword_generation", "candidate_search", "filter_and_select", "rank"]  # fmt: skip
    assert ok["meta"] == {"product_id": "P1"}


def test_steps_carry_nesting_and_offsets(sample_data: ReportData) -> None:
    _, payload = rendered(sample_data)
    select, rank = step_of(payload, 0, "filter_and_select"), step_of(payload, 0, "rank")
    assert rank["parent"] == select["id"] and select["parent"] is None
    assert 0 <= select["at"] <= rank["at"]
    assert select["at"] + select["dur"] >= rank["at"] + rank["dur"]


def test_evaluations_pattern_travels_whole(sample_data: ReportData) -> None:
    _, payload = rendered(sample_data)
    evaluations = step_of(payload, 0, "filter_and_select")["meta"]["evaluations"]
    assert [e["item_id"] for e in evaluations] == [c["id"] for c in CATALOG]
    b02 = evaluations[1]
    assert b02["qualified"] is False and b02["reasoning"] == "fails price"
    assert b02["filters"][0] == {
        "name": "price",
        "passed": False,
        "detail": "8.00 in [10.00, 40.00]",
    }
    assert b02["item_data"]["rating"] == 4.7


def test_llm_pattern(sample_data: ReportData) -> None:
    _, payload = rendered(sample_data)
    llm = step_of(payload, 0, "keyword_generation")["meta"]["llm"]
    assert llm["model"] == "mock-llm" and llm["tokens_used"] == 42 and llm["temperature"] == 0.2
    assert llm["prompt"].startswith("Keywords for:") and llm["response"]


def test_failed_step_keeps_error_and_traceback(sample_data: ReportData) -> None:
    _, payload = rendered(sample_data)
    rank = step_of(payload, 1, "rank")
    assert rank["status"] == "failed"
    first, *rest = rank["error"].splitlines()
    assert first == "ValueError: ranking exploded"
    assert any("Traceback" in line for line in rest)
    assert payload["traces"][1]["meta"]["error"].startswith("ValueError: ranking exploded")


def test_tests_and_baseline_diffs_flipped_first(sample_data: ReportData) -> None:
    _, payload = rendered(sample_data)
    tests = {t["id"]: t for t in payload["tests"]}
    assert tests["tests/test_other.py::test_without_trace"]["outcome"] == "passed"
    baseline = tests["tests/test_pipeline.py::test_baseline"]
    assert baseline["baseline"] == "failed" and baseline["message"]
    (diff,) = baseline["diffs"]
    first = diff["changes"][0]
    assert first["kind"] == "DecisionChanged" and first["flipped"] is True
    assert first["item"] == "B01" and first["step"] == "filter_and_select"
    assert first["before"]["qualified"] is True and first["after"]["qualified"] is False
    assert first["text"] == sample_data.tests[2].baseline_diffs[0].decisions[0].describe()
    assert first["filters"] == [
        "price: 24.00 in [10.00, 40.00] (passed) -> 9.00 in [10.00, 40.00] (failed)"
    ]
    assert {c["kind"] for c in diff["changes"][1:]} == {"FieldChanged"}
    assert [c["kind"] for c in diff["drift"]] == ["ReasoningChanged"]


def test_unflipped_decisions_come_after_flips(xr: XRay) -> None:
    before = select_competitors(xr)
    catalog = [dict(CATALOG[0], price=9.0), dict(CATALOG[1], reviews=50), *CATALOG[2:]]
    after = select_competitors(xr, catalog=catalog)
    diff = diff_traces(before, after)
    _, payload = rendered(ReportData(traces=[after], tests=[
        TestResult("t::x", "failed", baseline="failed", baseline_diffs=[diff])]))  # fmt: skip
    kinds = [(c["kind"], c.get("flipped")) for c in payload["tests"][0]["diffs"][0]["changes"]]
    assert kinds[:2] == [("DecisionChanged", True), ("DecisionChanged", False)]


def test_custom_panels_by_step(sample_data: ReportData) -> None:
    _, payload = rendered(sample_data)
    select = step_of(payload, 0, "filter_and_select")
    (panel,) = payload["panels"][select["id"]]
    assert panel["title"] == "Price histogram"
    assert panel["rows"] == [{"bucket": "0-10", "count": 1}, {"bucket": "10-40", "count": 3}]
    assert panel["data"] is None and panel["text"] is None


def test_comparison_of_two_runs(xr: XRay) -> None:
    old = [select_competitors(xr, test_id="t::a"), select_competitors(xr, test_id="t::gone")]
    cheaper = [dict(CATALOG[0], price=9.0), *CATALOG[1:]]
    new = [select_competitors(xr, catalog=cheaper, test_id="t::a"),
           select_competitors(xr, test_id="t::new")]  # fmt: skip
    comparison = diff_runs(old, new)
    _, payload = rendered(ReportData(traces=new, baseline_traces=old, comparison=comparison))
    result = payload["comparison"]
    (changed,) = result["changed"]
    assert changed["key"] == ["t::a", "competitor-selection", 0]
    assert changed["trace"] == new[0].trace_id
    assert changed["changes"][0]["item"] == "B01" and changed["changes"][0]["flipped"]
    assert result["added"] == [{"key": ["t::new", "competitor-selection", 0],
                                "trace": new[1].trace_id}]  # fmt: skip
    assert result["removed"] == [{"key": ["t::gone", "competitor-selection", 0], "trace": None}]


def test_stability(xr: XRay) -> None:
    cheaper = [dict(CATALOG[0], price=9.0), *CATALOG[1:]]
    traces = [
        select_competitors(xr, catalog=c, test_id="t::a") for c in (CATALOG, cheaper, CATALOG)
    ]
    _, payload = rendered(ReportData(traces=traces, stability=decision_stability(traces)))
    first = payload["stability"][0]
    assert (first["item"], first["n"], first["flips"], first["rate"]) == ("B01", 3, 2, 1.0)
    assert first["rejected_by"] == {"price": 1}
    assert all(e["flips"] == 0 for e in payload["stability"][1:])


def test_without_run_git_or_tests(xr: XRay) -> None:
    html, payload = rendered(ReportData(traces=[select_competitors(xr)]))
    assert payload["run"] is None and payload["tests"] == [] and payload["comparison"] is None
    assert payload["traces"][0]["test"] is None
    assert "<title>X-Ray report</title>" in html


def test_empty_report_renders() -> None:
    _, payload = rendered(ReportData())
    assert payload["traces"] == [] and payload["stability"] == []


def test_values_json_cannot_hold_become_text() -> None:
    now = datetime.now(timezone.utc)
    step = Step(step_id="s1", trace_id="t1", name="odd", start_time=now,
                output=float("nan"), metadata={"when": object(), "big": float("inf")})  # fmt: skip
    trace = Trace(trace_id="t1", name="odd", start_time=now, steps=[step])
    _, payload = rendered(ReportData(traces=[trace]))
    odd = payload["traces"][0]["steps"][0]
    assert odd["output"] == "NaN" and odd["meta"]["big"] == "Infinity"
    assert odd["meta"]["when"].startswith("<object object")


# -- what broke ---------------------------------------------------------------------------------
MARKUP_FAILURE = (
    "    def test_pick():\n"
    ">       assert pick() == 'B0X', '</script><script>alert(\"x\")</script>'\n"
    'E       AssertionError: </script><script>alert("x")</script>\n'
    "E       assert 'B0Y' == 'B0X'\n"
    "\n"
    "tests/test_pick.py:4: AssertionError"
)


def test_failing_tests_carry_their_first_failure_line(sample_data: ReportData) -> None:
    _, payload = rendered(sample_data)
    why = {t["id"].split("::")[1]: t["why"] for t in payload["tests"]}
    assert why == {"test_selects_best": None, "test_rank_fails": "ValueError: ranking exploded",
                   "test_baseline": "baseline differs: B01 flipped", "test_without_trace": None}  # fmt: skip


def test_a_failure_line_with_markup_stays_inside_the_data() -> None:
    data = ReportData(tests=[TestResult("tests/test_pick.py::test_pick", "failed",
                                        message=MARKUP_FAILURE)])  # fmt: skip
    html, payload = rendered(data)
    assert payload["tests"][0]["why"] == 'AssertionError: </script><script>alert("x")</script>'
    assert "<script>alert" not in html and "</script><script>" not in html
    assert_contained(html)


# -- escaping -----------------------------------------------------------------------------------
def hostile_data(xr: XRay) -> ReportData:
    """Every user-controlled field holds markup that would run script if inserted as HTML."""
    with xr.trace(HOSTILE, metadata={HOSTILE: HOSTILE}) as trace:
        with trace.step(HOSTILE, input={HOSTILE: HOSTILE}) as step:
            step.set_output([HOSTILE])
            step.set_reasoning(HOSTILE)
            step.add_evaluation(item_id=HOSTILE, item_data={HOSTILE: HOSTILE},
                                filters=[{"name": HOSTILE, "passed": False, "detail": HOSTILE}],
                                qualified=False, reasoning=HOSTILE)  # fmt: skip
            step.add_llm_metadata(model=HOSTILE, prompt=HOSTILE, response=HOSTILE)
            step.set_metadata({HOSTILE: {HOSTILE: HOSTILE}})
        try:
            with trace.step("boom"):
                raise RuntimeError(HOSTILE)
        except RuntimeError:
            pass
    recorded = xr.store.get_trace(trace.trace_id)
    assert recorded is not None
    recorded = recorded.model_copy(update={"test_id": f"tests/test_x.py::test[{HOSTILE}]"})
    step_id = recorded.steps[0].step_id
    panels = {step_id: [Panel(HOSTILE, rows=[{HOSTILE: HOSTILE}], data={HOSTILE: [HOSTILE]},
                              text=HOSTILE)]}  # fmt: skip
    tests = [TestResult(recorded.test_id or "", "failed", message=HOSTILE)]
    return ReportData(title=HOSTILE, traces=[recorded], tests=tests, panels=panels)


def assert_contained(html: str) -> None:
    """Exactly our three script elements, no comment, no raw hostile markup."""
    lowered = html.lower()
    assert lowered.count("<script") == 3 and lowered.count("</script") == 3
    assert "<!--" not in html and "<img" not in lowered
    for pattern in (DATA_RE, LIST_RE):
        embedded = pattern.search(html)
        assert embedded is not None
        assert "\u2028" not in embedded.group(1) and "\u2029" not in embedded.group(1)


def test_every_field_is_escaped(xr: XRay) -> None:
    data = hostile_data(xr)
    html, payload = rendered(data)
    assert_contained(html)
    assert f"<title>{escape(HOSTILE)}</title>" in html  # escaped by jinja's autoescape
    trace = payload["traces"][0]
    step, boom = trace["steps"]
    evaluation = step["meta"]["evaluations"][0]
    assert HOSTILE in trace["test"] and trace["name"] == HOSTILE
    assert trace["meta"] == {HOSTILE: HOSTILE}
    assert step["name"] == step["reasoning"] == HOSTILE
    assert step["input"] == {HOSTILE: HOSTILE} and step["output"] == [HOSTILE]
    assert evaluation["item_id"] == evaluation["reasoning"] == HOSTILE
    assert evaluation["filters"] == [{"name": HOSTILE, "passed": False, "detail": HOSTILE}]
    assert evaluation["item_data"] == {HOSTILE: HOSTILE}
    assert step["meta"]["llm"]["model"] == step["meta"]["llm"]["prompt"] == HOSTILE
    assert step["meta"][HOSTILE] == {HOSTILE: HOSTILE}
    assert boom["error"].startswith(f"RuntimeError: {HOSTILE}")
    assert payload["panels"][step["id"]] == [
        {
            "title": HOSTILE,
            "rows": [{HOSTILE: HOSTILE}],
            "data": {HOSTILE: [HOSTILE]},
            "text": HOSTILE,
        }
    ]
    assert payload["tests"][0]["message"] == HOSTILE and payload["title"] == HOSTILE
    listed = list_of(html)
    assert listed["title"] == HOSTILE and listed["rows"][0]["name"] == HOSTILE
    assert HOSTILE in listed["rows"][0]["test"] and HOSTILE in listed["tests"][0]["id"]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>&/!-'\"\\scrip t\u2028\u2029é\x00")), max_size=40))
def test_any_text_round_trips_without_breaking_out(text: str) -> None:
    embedded = script_json({"value": text, text: [text]})
    assert "<" not in embedded and ">" not in embedded and "&" not in embedded
    assert "\u2028" not in embedded and "\u2029" not in embedded
    assert json.loads(embedded) == {"value": text, text: [text]}


# -- size ---------------------------------------------------------------------------------------
def test_size_grows_linearly_and_stays_near_the_json(xr: XRay) -> None:
    traces = [select_competitors(xr, test_id=f"t::{i}") for i in range(200)]
    own = sum(len(t.model_dump_json()) for t in traces)
    small = len(render_report(ReportData(traces=traces[:100])))
    large = len(render_report(ReportData(traces=traces)))
    assert large <= 2 * own
    fixed = 2 * small - large  # the page without any trace
    assert 0 < fixed < 80_000


# -- panels given as data -----------------------------------------------------------------------
def test_panel_as_mapping_is_accepted(sample_data: ReportData) -> None:
    step_id = sample_data.traces[0].steps[0].step_id
    sample_data.panels = {step_id: [{"title": "From a dict", "text": "ok"}]}  # type: ignore[list-item]
    _, payload = rendered(sample_data)
    assert payload["panels"][step_id] == [
        {"title": "From a dict", "rows": None, "data": None, "text": "ok"}
    ]


@pytest.mark.parametrize(
    ("panel", "message"),
    [
        ("just text", r"custom panel for step 'S1' must be an xray_core.report.Panel, got str"),
        (Panel("T", rows=[1, 2]), r"custom panel 'T' \(step 'S1'\): rows must be a list of dicts"),
    ],
)
def test_bad_panel_is_a_clear_error(panel: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        render_report(ReportData(panels={"S1": [panel]}))
