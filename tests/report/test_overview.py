"""The run overview's aggregates (xray_core.report.overview), computed once in the payload:
checked on a known run, and against a straightforward recount of recorded traces."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xray_core import MemoryStore, Trace, XRay
from xray_core.report import ReportData, TestResult, render_report
from xray_core.report.overview import DIFFERING_SHOWN, FILTERS_SHOWN, SLOWEST_SHOWN
from xray_core.report.payload import build_payload, list_payload

from .recording import CATALOG, HOSTILE, select_competitors

BASELINE = "tests/test_pipeline.py::test_baseline"
REPEAT = "tests/test_pipeline.py::test_repeat"


def overview_of(data: ReportData) -> dict[str, Any]:
    return build_payload(data)["overview"]


def test_a_known_run(xr: XRay) -> None:
    cheaper = [dict(CATALOG[0], price=9.0), *CATALOG[1:]]  # B01 now fails price
    traces = [
        select_competitors(xr, test_id=REPEAT),
        select_competitors(xr, catalog=cheaper, test_id=REPEAT),
        select_competitors(xr, test_id=REPEAT),
        select_competitors(xr, fail=True, test_id="t.py::test_fails"),
        select_competitors(xr, test_id=None),
    ]
    tests = [TestResult(REPEAT, "passed", baseline="passed"),
             TestResult("t.py::test_fails", "failed", baseline="failed"),
             TestResult("t.py::test_quiet", "skipped")]  # fmt: skip
    ov = overview_of(ReportData(traces=traces, tests=tests))
    assert ov["tests"] == [
        {"id": REPEAT, "outcome": "passed", "baseline": "passed", "dur": None, "traces": 3,
         "failed": 0, "worst": "passed"},
        {"id": "t.py::test_fails", "outcome": "failed", "baseline": "failed", "dur": None,
         "traces": 1, "failed": 1, "worst": "failed"},
        {"id": None, "outcome": None, "baseline": None, "dur": None, "traces": 1, "failed": 0,
         "worst": "passed"},
        {"id": "t.py::test_quiet", "outcome": "skipped", "baseline": None, "dur": None,
         "traces": 0, "failed": 0, "worst": "skipped"},
    ]  # fmt: skip
    assert ov["baselines"] == {"passed": 1, "failed": 1}
    # five candidates in each of the five traces; B02 fails price everywhere, B05 in the trace
    # with the cheaper catalog too, B01 only there
    assert ov["candidates"] == 25
    by_filter = {f["filter"]: f for f in ov["filters"]}
    assert [f["filter"] for f in ov["filters"]] == ["price", "reviews", "rating"]
    assert {k: (v["evaluated"], v["rejected"]) for k, v in by_filter.items()} == {
        "price": (25, 11), "rating": (25, 5), "reviews": (25, 10)}  # fmt: skip
    price = by_filter["price"]
    assert price["step"] == "filter_and_select"
    assert price["example"] == {"trace": traces[1].trace_id,  # three rejected there: the most
                                "step": traces[1].step("filter_and_select").step_id,
                                "item": "B01", "rejected": 3}  # fmt: skip
    assert ov["differing"] == [{
        "test": REPEAT, "step": "filter_and_select", "item": "B01", "qualified": 2, "rejected": 1,
        "qualified_in": {"trace": traces[0].trace_id, "item": "B01",
                         "step": traces[0].step("filter_and_select").step_id},
        "rejected_in": {"trace": traces[1].trace_id, "item": "B01",
                        "step": traces[1].step("filter_and_select").step_id},
    }]  # fmt: skip
    steps = [(s.duration_ms, s.step_id) for t in traces for s in t.steps]
    assert [s["dur"] for s in ov["slowest"]] == sorted((d for d, _ in steps), reverse=True)[:10]
    assert ov["steps_total"] == len(steps) == 20


def test_the_worst_status_of_a_test(xr: XRay) -> None:
    ok, broken = select_competitors(xr, test_id="t::a"), select_competitors(xr, fail=True)
    running = ok.model_copy(update={"trace_id": "r", "status": "running", "test_id": "t::c"})

    def worst(tests: list[TestResult], traces: list[Trace]) -> list[str]:
        return [t["worst"] for t in overview_of(ReportData(traces=traces, tests=tests))["tests"]]

    assert worst([TestResult("t::a", "passed", baseline="missing")], [ok]) == ["baseline failed"]
    assert worst([TestResult("t::a", "xfailed")], [ok]) == ["skipped"]
    assert worst([TestResult("t::a", "error")], [ok]) == ["failed"]
    failing = broken.model_copy(update={"test_id": "t::a"})
    assert worst([TestResult("t::a", "passed", baseline="failed")], [ok, failing]) == ["failed"]
    assert worst([], [running]) == ["running"]


def test_long_lists_are_cut_with_their_full_count(xr: XRay) -> None:
    n = max(FILTERS_SHOWN, DIFFERING_SHOWN) + 5
    traces = []
    for verdict in (True, False):
        with xr.trace("many") as trace, trace.step("s") as step:
            for i in range(n):
                step.add_evaluation(item_id=f"I{i}", qualified=verdict,
                                    filters=[{"name": f"f{i}", "passed": verdict}])  # fmt: skip
        recorded = xr.store.get_trace(trace.trace_id)
        assert recorded is not None
        traces.append(recorded.model_copy(update={"test_id": "t::many"}))
    ov = overview_of(ReportData(traces=traces))
    assert len(ov["filters"]) == FILTERS_SHOWN and ov["filters_total"] == n
    assert len(ov["differing"]) == DIFFERING_SHOWN and ov["differing_total"] == n
    assert len(ov["slowest"]) == 2 <= SLOWEST_SHOWN


def test_free_form_metadata_is_skipped_not_fatal(xr: XRay) -> None:
    with xr.trace("odd") as trace:
        for meta in ({"evaluations": "n/a"}, {"evaluations": [1, {"no": "id"}]},
                     {"evaluations": [{"item_id": 7, "filters": "x"}]},
                     {"evaluations": [{"item_id": 8, "filters": [3, {"passed": False}]}]}):  # fmt: skip
            with trace.step("s") as step:
                step.set_metadata(meta)
    recorded = xr.store.get_trace(trace.trace_id)
    assert recorded is not None
    ov = overview_of(ReportData(traces=[recorded]))
    assert ov["candidates"] == 2 and ov["filters"] == [] and ov["differing"] == []


def test_the_overview_travels_once_in_the_small_document(xr: XRay) -> None:
    data = ReportData(traces=[select_competitors(xr, test_id=HOSTILE)],
                      tests=[TestResult(HOSTILE, "passed")])  # fmt: skip
    payload = build_payload(data)
    assert list_payload(payload)["overview"] == payload["overview"]
    html = render_report(data)
    documents = dict(re.findall(r'<script type="application/json" id="([^"]+)">(.*?)</script>',
                                html, re.S))  # fmt: skip
    assert set(documents) == {"xray-list", "xray-data"}
    assert "overview" not in json.loads(documents["xray-data"])
    small = json.loads(documents["xray-list"])
    assert small["overview"]["tests"][0]["id"] == HOSTILE  # user text, escaped for the element
    assert HOSTILE not in html.split("</title>", 1)[1]


# -- against a straightforward recount ----------------------------------------------------------
evaluation = st.tuples(
    st.sampled_from(["I1", "I2", "I3", "I4"]),
    st.lists(st.tuples(st.sampled_from(["price", "rating", HOSTILE]), st.booleans()), max_size=3),
)
trace_plan = st.tuples(
    st.sampled_from(["t::a", "t::b", None]),
    st.booleans(),  # failed
    st.lists(st.tuples(st.sampled_from(["filter", "rank"]), st.lists(evaluation, max_size=4)),
             max_size=3),  # fmt: skip
)


def record(xr: XRay, plan: tuple[str | None, bool, list[Any]]) -> Trace:
    test_id, failed, steps = plan
    try:
        with xr.trace("pick") as trace:
            for name, evaluations in steps:
                with trace.step(name) as step:
                    for item, checks in evaluations:
                        step.add_evaluation(
                            item_id=item, qualified=all(ok for _, ok in checks),
                            filters=[{"name": f, "passed": ok} for f, ok in checks])  # fmt: skip
            if failed:
                raise RuntimeError("broken")
    except RuntimeError:
        pass
    recorded = xr.store.get_trace(trace.trace_id)
    assert recorded is not None
    return recorded.model_copy(update={"test_id": test_id})


def recount(traces: list[Trace]) -> dict[str, Any]:
    """The overview's figures counted the plain way, from the models."""
    filters: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    verdicts: dict[tuple[str | None, str, str], dict[str, bool]] = defaultdict(dict)
    candidates = 0
    for trace in traces:
        for step in trace.steps:
            for e in step.metadata.get("evaluations", []):
                candidates += 1
                verdicts[(trace.test_id, step.name, e["item_id"])][trace.trace_id] = e["qualified"]
                for name in {f["name"] for f in e["filters"]}:  # a candidate counts once
                    filters[(step.name, name)][0] += 1
                    filters[(step.name, name)][1] += not all(
                        f["passed"] for f in e["filters"] if f["name"] == name)
    differing = {}
    for key, by_trace in verdicts.items():
        q = sum(by_trace.values())
        if 0 < q < len(by_trace):
            differing[key] = (q, len(by_trace) - q)
    per_test: dict[str | None, list[Trace]] = defaultdict(list)
    for trace in traces:
        per_test[trace.test_id].append(trace)
    return {
        "candidates": candidates,
        "filters": {k: tuple(v) for k, v in filters.items()},
        "differing": differing,
        "tests": {k: (len(v), sum(t.status == "failed" for t in v),
                      "failed" if any(t.status == "failed" for t in v) else "passed")
                  for k, v in per_test.items()},  # fmt: skip
        "durations": sorted((s.duration_ms for t in traces for s in t.steps), reverse=True),
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(trace_plan, max_size=6))
def test_aggregates_match_a_recount(plans: list[Any]) -> None:
    xr = XRay(store=MemoryStore())
    traces = [record(xr, plan) for plan in plans]
    ov = overview_of(ReportData(traces=traces))
    expected = recount(traces)
    assert ov["candidates"] == expected["candidates"]
    assert ov["filters_total"] == len(expected["filters"])
    assert {(f["step"], f["filter"]): (f["evaluated"], f["rejected"]) for f in ov["filters"]} == (
        expected["filters"])
    rejected = [f["rejected"] for f in ov["filters"]]
    assert rejected == sorted(rejected, reverse=True)
    for f in ov["filters"]:  # an example is a step of the run where that filter rejected
        if f["rejected"]:
            trace = next(t for t in traces if t.trace_id == f["example"]["trace"])
            step = next(s for s in trace.steps if s.step_id == f["example"]["step"])
            failed = [e["item_id"] for e in step.metadata["evaluations"]
                      if any(c["name"] == f["filter"] and not c["passed"] for c in e["filters"])]
            assert step.name == f["step"] and f["example"]["item"] == failed[0]
            assert f["example"]["rejected"] == len(failed)
        else:
            assert f["example"] is None
    assert ov["differing_total"] == len(expected["differing"])
    assert {(d["test"], d["step"], d["item"]): (d["qualified"], d["rejected"])
            for d in ov["differing"]} == expected["differing"]  # fmt: skip
    assert {t["id"]: (t["traces"], t["failed"], t["worst"]) for t in ov["tests"]} == (
        expected["tests"])
    assert [s["dur"] for s in ov["slowest"]] == expected["durations"][:SLOWEST_SHOWN]
    assert ov["steps_total"] == len(expected["durations"])
