"""Shared pieces of the OpenTelemetry tests: a pipeline instrumented with OpenTelemetry only."""

from __future__ import annotations

import pytest

#: the plugin's usual test pipeline (tests/plugin/conftest.py), written with spans instead of
#: the SDK: evaluations are ``xray.evaluation`` events
OTEL_PIPELINE = '''
import json

from opentelemetry import trace

tracer = trace.get_tracer("pipeline")


def select(prices, name="selection", reviews=1500):
    """Keep prices in [10, 40] with more than 100 reviews; the cheapest qualified one wins."""
    with tracer.start_as_current_span(name, attributes={"count": len(prices)}):
        with tracer.start_as_current_span("keyword_generation") as span:
            span.set_attributes({
                "openinference.span.kind": "LLM", "llm.model_name": "mock-llm",
                "llm.token_count.total": 42, "gen_ai.request.temperature": 0.2,
                "input.value": json.dumps({"title": "mug"}), "input.mime_type": "application/json",
                "output.value": json.dumps({"keywords": ["mug", "steel"]}),
                "output.mime_type": "application/json",
            })
        with tracer.start_as_current_span("filter_and_select") as span:
            span.set_attribute("input.value", json.dumps({"prices": prices}))
            span.set_attribute("input.mime_type", "application/json")
            qualified = []
            for index, price in enumerate(prices):
                in_range = 10 <= price <= 40
                enough = reviews > 100
                span.add_event("xray.evaluation", {
                    "xray.item_id": f"B{index}",
                    "xray.item_data": json.dumps({"price": price, "reviews": reviews}),
                    "xray.filter.price.passed": in_range,
                    "xray.filter.price.detail": f"{price:.2f} in [10.00, 40.00]",
                    "xray.filter.reviews.passed": enough,
                    "xray.filter.reviews.detail": f"{reviews} > 100",
                    "xray.qualified": in_range and enough,
                    "xray.reasoning": "in range" if in_range else "outside the price range",
                })
                if in_range and enough:
                    qualified.append((price, f"B{index}"))
            pick = min(qualified)[1] if qualified else None
            span.set_attribute("output.value", json.dumps({"selected": pick}))
            span.set_attribute("output.mime_type", "application/json")
    return pick
'''

#: a conftest as a pipeline's own would set OpenTelemetry up: the SDK's provider, made global
GLOBAL_PROVIDER = '''
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

trace.set_tracer_provider(TracerProvider())
'''


@pytest.fixture
def otel_project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory with ``pipeline.py`` (instrumented with spans) and a conftest that
    sets the global ``TracerProvider``: run it with ``runpytest_subprocess`` (the global
    provider can be set once per process)."""
    pytester.makepyfile(pipeline=OTEL_PIPELINE)
    pytester.makeconftest(GLOBAL_PROVIDER)
    return pytester
