"""The demo's decisions, asserted with the ``xray`` fixture and reviewed baselines.

Run ``pytest demo/tests --xray-update`` after an intended change of decisions, review the diff of
``demo/tests/__xray_baselines__/`` and commit it.
"""

from __future__ import annotations

import pytest

from demo import REFERENCE_PRODUCTS, run_pipeline, select_competitor

STEPS = ["keyword_generation", "candidate_search", "filter_and_select"]


@pytest.mark.parametrize("asin", [p.asin for p in REFERENCE_PRODUCTS])
def test_reference_products_match_their_baseline(xray, asin: str) -> None:
    run_pipeline(asin, seed=7)
    assert [s.name for s in xray.trace.steps] == STEPS
    xray.assert_baseline()


def test_the_most_reviewed_qualified_bottle_wins(xray) -> None:
    pick = select_competitor("B0REF0001")
    assert pick == "B0GOOD001"
    xray.assert_qualified(pick)
    assert xray.step("filter_and_select").output["selected"] == pick
    xray.assert_rejected("B0CHEAP01", by="price")
    xray.assert_rejected("B0PRICEY1", by="price")
    xray.assert_rejected("B0LOWRATE", by="rating")
    xray.assert_rejected("B0FEWREV1", by="reviews")
    decision = xray.assert_rejected("B0TWOFAIL")
    assert sorted(f.name for f in decision.failed_filters) == ["price", "rating"]


def test_boundaries(xray) -> None:
    select_competitor("B0REF0001", seed=3)
    assert xray.assert_qualified("B0EDGE001").passed_filters[0].detail == "12.50 in [12.50, 50.00]"
    xray.assert_qualified("B0EDGE002")  # exactly 2x: the price range is inclusive
    assert xray.assert_rejected("B0EDGE003", by="rating").failed_filters[0].detail == "3.80 <= 3.8"
    xray.assert_rejected("B0EDGE004", by="reviews")  # exactly 100 reviews: strict
    for step in STEPS:
        xray.assert_step(step)


def test_no_yoga_mat_qualifies(xray) -> None:
    assert select_competitor("B0REF0003") is None
    assert xray.trace.qualified() == []
    assert {d.item_id for d in xray.trace.rejected()} == {"B0MAT0001", "B0MAT0002", "B0MAT0003"}
    assert xray.step("filter_and_select").output["selected"] is None


def test_nothing_found_for_the_skillet(xray) -> None:
    assert select_competitor("B0REF0004") is None
    assert xray.step("candidate_search").output["count"] == 0
    assert xray.trace.decisions() == []


def test_the_competitor_is_the_same_for_every_seed(xray) -> None:
    for seed in range(5):
        with xray.capture() as cap:
            pick = select_competitor("B0REF0002", seed=seed)
        assert pick == "B0BUDS001"
        cap.assert_qualified(pick)
        assert cap.trace.metadata["seed"] == seed
    assert len(xray.traces) == 5
