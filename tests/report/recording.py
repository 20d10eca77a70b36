"""Report test data, made by really recording a small filter-and-select pipeline."""

from __future__ import annotations

import contextlib
from typing import Any

from xray_core import Trace, XRay, diff_traces
from xray_core.models import Run
from xray_core.report import Panel, ReportData, TestResult

PRODUCT = {"id": "P1", "title": "Steel water bottle 750ml", "price": 20.0}
CATALOG = [
    {"id": "B01", "price": 24.0, "rating": 4.5, "reviews": 1520},
    {"id": "B02", "price": 8.0, "rating": 4.7, "reviews": 300},
    {"id": "B03", "price": 19.0, "rating": 3.1, "reviews": 90},
    {"id": "B04", "price": 31.0, "rating": 4.2, "reviews": 640},
    {"id": "B05", "price": 55.0, "rating": 4.9, "reviews": 12},
]
HOSTILE = "</script><script>alert(1)</script><!--<img src=x onerror=alert(2)>&amp;\u2028'\""


def filters_for(product: dict[str, Any], item: dict[str, Any]) -> list[dict[str, Any]]:
    """The demo's three filters, with their details in words."""
    low, high = product["price"] * 0.5, product["price"] * 2
    return [
        {"name": "price", "passed": low <= item["price"] <= high,
         "detail": f"{item['price']:.2f} in [{low:.2f}, {high:.2f}]"},
        {"name": "rating", "passed": item["rating"] > 3.8, "detail": f"{item['rating']} > 3.8"},
        {"name": "reviews", "passed": item["reviews"] > 100, "detail": f"{item['reviews']} > 100"},
    ]  # fmt: skip


def select_competitors(
    xr: XRay,
    product: dict[str, Any] = PRODUCT,
    catalog: list[dict[str, Any]] = CATALOG,
    *,
    fail: bool = False,
    name: str = "competitor-selection",
    test_id: str | None = None,
) -> Trace:
    """Run the pipeline under ``xr`` and return the recorded trace (its test id set)."""
    with (
        contextlib.suppress(ValueError),
        xr.trace(name, metadata={"product_id": product["id"]}) as trace,
    ):
        with trace.step("keyword_generation", input={"title": product["title"]}) as step:
            keywords = product["title"].lower().split()[:3]
            step.set_output({"keywords": keywords})
            step.set_reasoning("Kept material and capacity words")
            step.add_llm_metadata(model="mock-llm", tokens_used=42, temperature=0.2,
                                  prompt=f"Keywords for: {product['title']}",
                                  response=", ".join(keywords))  # fmt: skip
        with trace.step("candidate_search", input={"keywords": keywords}) as step:
            step.set_output({"found": len(catalog)})
        with trace.step("filter_and_select") as step:
            qualified = []
            for item in catalog:
                checks = filters_for(product, item)
                ok = all(f["passed"] for f in checks)
                failed = [f["name"] for f in checks if not f["passed"]]
                step.add_evaluation(item_id=item["id"], item_data=item, filters=checks,
                                    qualified=ok,
                                    reasoning="passes every filter" if ok
                                    else "fails " + ", ".join(failed))  # fmt: skip
                if ok:
                    qualified.append(item)
            with step.step("rank", input={"qualified": len(qualified)}) as sub:
                if fail:
                    raise ValueError("ranking exploded")
                best = max(qualified, key=lambda i: i["reviews"])
                sub.set_output({"selected": best["id"]})
            step.set_output({"selected": best["id"]})
    recorded = xr.store.get_trace(trace.trace_id)
    assert recorded is not None
    return recorded.model_copy(update={"test_id": test_id})


def make_sample_data(xr: XRay) -> ReportData:
    """The data behind :func:`sample_data` (also used to take the docs screenshot)."""
    ok = select_competitors(xr, test_id="tests/test_pipeline.py::test_selects_best")
    broken = select_competitors(xr, fail=True, test_id="tests/test_pipeline.py::test_rank_fails")
    cheaper = [dict(CATALOG[0], price=9.0), *CATALOG[1:]]
    before = select_competitors(xr, test_id="tests/test_pipeline.py::test_baseline")
    after = select_competitors(xr, catalog=cheaper, test_id="tests/test_pipeline.py::test_baseline")
    tests = [
        TestResult("tests/test_pipeline.py::test_selects_best", "passed", 12.0, baseline="passed"),
        TestResult("tests/test_pipeline.py::test_rank_fails", "failed", 8.0,
                   message="ValueError: ranking exploded"),
        TestResult("tests/test_pipeline.py::test_baseline", "failed", 9.0, baseline="failed",
                   baseline_diffs=[diff_traces(before, after)],
                   message="baseline differs: B01 flipped"),
        TestResult("tests/test_other.py::test_without_trace", "passed", 1.0),
    ]  # fmt: skip
    select = ok.step("filter_and_select")
    panels = {
        select.step_id: [
            Panel(
                "Price histogram",
                rows=[{"bucket": "0-10", "count": 1}, {"bucket": "10-40", "count": 3}],
            )
        ]
    }
    run = Run(run_id="run-0001", started_at=ok.start_time, git_commit="a" * 40, git_branch="main",
              git_dirty=False, command="pytest tests")  # fmt: skip
    return ReportData(title="Pipeline regression report", run=run, traces=[ok, broken, after],
                      tests=tests, panels=panels)  # fmt: skip
