"""Shared pieces of the plugin's pytester tests: a tiny instrumented pipeline."""

from __future__ import annotations

import pytest

PIPELINE = '''
import xray_core as xc


def select(prices, name="selection", reviews=1500):
    """Keep prices in [10, 40] with more than 100 reviews; the cheapest qualified one wins."""
    with xc.trace(name, metadata={"count": len(prices)}) as trace:
        with trace.step("keyword_generation", input={"title": "mug"}) as step:
            step.set_output({"keywords": ["mug", "steel"]})
            step.add_llm_metadata(model="mock-llm", tokens_used=42, temperature=0.2)
        with trace.step("filter_and_select", input={"prices": prices}) as step:
            qualified = []
            for index, price in enumerate(prices):
                in_range = 10 <= price <= 40
                enough = reviews > 100
                step.add_evaluation(
                    item_id=f"B{index}",
                    item_data={"price": price, "reviews": reviews},
                    filters=[
                        {"name": "price", "passed": in_range,
                         "detail": f"{price:.2f} in [10.00, 40.00]"},
                        {"name": "reviews", "passed": enough, "detail": f"{reviews} > 100"},
                    ],
                    qualified=in_range and enough,
                    reasoning="in range" if in_range else "outside the price range",
                )
                if in_range and enough:
                    qualified.append((price, f"B{index}"))
            pick = min(qualified)[1] if qualified else None
            step.set_output({"selected": pick})
    return pick
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory with ``pipeline.py`` (the instrumented pipeline) in it."""
    pytester.makepyfile(pipeline=PIPELINE)
    return pytester
