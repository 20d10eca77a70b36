"""Keyword generation (mock LLM) and candidate search, without the pytest plugin."""

from __future__ import annotations

import pytest

import xray_core
from demo.data import CATALOG, REFERENCE_PRODUCTS, Product, UnknownProductError, get_product
from demo.steps.keywords import MockLLM, extract_keywords, generate_keywords, parse_keywords
from demo.steps.search import find_candidates, search_candidates


def test_keywords_drop_sizes_and_filler_words() -> None:
    assert extract_keywords("Stainless Steel Water Bottle 32oz") == [
        "stainless", "steel", "water", "bottle",
    ]  # fmt: skip
    assert extract_keywords("Non-Slip Yoga Mat 6mm") == ["non-slip", "yoga", "mat"]
    assert extract_keywords("The Pro Bottle with a Bottle") == ["bottle"]


def test_mock_llm_answers_from_the_title_line_and_counts_tokens() -> None:
    completion = MockLLM().complete("Product title: Cast Iron Skillet 12in\nCategory: Kitchen")
    assert completion.text == "cast, iron, skillet"
    assert parse_keywords(completion.text) == ["cast", "iron", "skillet"]
    assert completion.tokens_used == 8 + 3  # one token per word


def test_mock_llm_refuses_a_prompt_without_a_title() -> None:
    with pytest.raises(ValueError, match="no 'Product title:' line"):
        MockLLM().complete("hello")


def test_keyword_step_records_the_llm_call() -> None:
    recorder = xray_core.XRay(store=xray_core.MemoryStore())
    with recorder.trace("t") as trace:
        keywords = generate_keywords(REFERENCE_PRODUCTS[0])
    step = recorder.store.get_trace(trace.trace_id).step("keyword_generation")
    assert step.output == {"keywords": keywords}
    llm = step.llm
    assert llm is not None
    assert (llm["model"], llm["temperature"]) == ("mock-llm-1", 0.2)
    assert "Product title: Stainless Steel Water Bottle 32oz" in llm["prompt"]
    assert llm["response"] == "stainless, steel, water, bottle"
    assert llm["tokens_used"] > 0
    assert "dropped sizes and filler words (32oz)" in step.reasoning


def test_search_finds_only_the_products_sharing_a_keyword_best_first() -> None:
    found = find_candidates(["wireless", "bluetooth", "earbuds"], CATALOG)
    ids = [p.asin for p, _ in found]
    assert set(ids) == {"B0BUDS001", "B0BUDS002", "B0BUDS003", "B0BUDSCHP", "B0BUDSBAD"}
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True)
    assert found[0][1] == 2


def test_search_excludes_the_product_itself_and_respects_the_limit() -> None:
    own = Product("B0OWN0001", "Steel Water Bottle", "Kitchen", 25.0, 4.0, 200)
    found = find_candidates(["water", "bottle"], [own, *CATALOG], exclude="B0OWN0001", limit=3)
    assert len(found) == 3 and "B0OWN0001" not in [p.asin for p, _ in found]
    with pytest.raises(ValueError, match="search limit must be >= 0, got -1"):
        find_candidates(["water"], CATALOG, limit=-1)


def test_each_reference_product_finds_only_its_own_kind() -> None:
    expected_prefix = {"B0REF0001": ("B0GOOD", "B0CHEAP", "B0PRICEY", "B0LOWRATE", "B0FEWREV",
                                     "B0BADALL", "B0TWOFAIL", "B0EDGE", "B0FLAKY"),
                       "B0REF0002": ("B0BUDS",), "B0REF0003": ("B0MAT",), "B0REF0004": ()}  # fmt: skip
    for product in REFERENCE_PRODUCTS:
        found = search_candidates(extract_keywords(product.title), CATALOG)
        prefixes = expected_prefix[product.asin]
        assert all(p.asin.startswith(prefixes) for p in found), product.asin
    assert search_candidates(["cast", "iron", "skillet"], CATALOG) == []


def test_unknown_product_is_named_with_the_known_ones() -> None:
    with pytest.raises(UnknownProductError, match=r"unknown product 'B0NOPE'.*B0REF0001"):
        get_product("B0NOPE")
    assert get_product("B0CHEAP01", CATALOG).price == 9.50
