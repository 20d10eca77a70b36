"""The filter & select rules at their exact boundaries, and the ranking."""

from __future__ import annotations

import pytest

from demo.data import Product
from demo.steps.filter import evaluate, price_filter, rank, rating_filter, reviews_filter

REFERENCE = Product("B0REFTEST", "Steel Water Bottle", "Kitchen", 25.00, 4.5, 1000)


def candidate(price: float = 20.0, rating: float = 4.5, reviews: int = 500,
              asin: str = "B0CAND001") -> Product:  # fmt: skip
    return Product(asin, "Candidate Water Bottle", "Kitchen", price, rating, reviews)


@pytest.mark.parametrize(
    ("price", "passed", "detail"),
    [
        (12.49, False, "12.49 < 12.50 (0.5x of 25.00)"),
        (12.50, True, "12.50 in [12.50, 50.00]"),
        (22.00, True, "22.00 in [12.50, 50.00]"),
        (50.00, True, "50.00 in [12.50, 50.00]"),
        (50.01, False, "50.01 > 50.00 (2x of 25.00)"),
        (9.50, False, "9.50 < 12.50 (0.5x of 25.00)"),
    ],
)
def test_price_range_includes_both_bounds(price: float, passed: bool, detail: str) -> None:
    outcome = price_filter(candidate(price=price), REFERENCE)
    assert (outcome.name, outcome.passed, outcome.detail) == ("price", passed, detail)


@pytest.mark.parametrize(
    ("rating", "passed", "detail"),
    [(3.79, False, "3.79 <= 3.8"), (3.8, False, "3.80 <= 3.8"), (3.81, True, "3.81 > 3.8")],
)
def test_rating_must_be_strictly_above_3_8(rating: float, passed: bool, detail: str) -> None:
    outcome = rating_filter(candidate(rating=rating), REFERENCE)
    assert (outcome.name, outcome.passed, outcome.detail) == ("rating", passed, detail)


@pytest.mark.parametrize(
    ("reviews", "passed", "detail"),
    [(99, False, "99 <= 100"), (100, False, "100 <= 100"), (101, True, "101 > 100")],
)
def test_reviews_must_be_strictly_more_than_100(reviews: int, passed: bool, detail: str) -> None:
    outcome = reviews_filter(candidate(reviews=reviews), REFERENCE)
    assert (outcome.name, outcome.passed, outcome.detail) == ("reviews", passed, detail)


def test_evaluation_names_every_failed_filter_in_its_reasoning() -> None:
    evaluation = evaluate(candidate(price=4.0, rating=2.1, reviews=8), REFERENCE)
    assert not evaluation.qualified
    assert evaluation.failed == ["price", "rating", "reviews"]
    assert evaluation.reasoning == (
        "Rejected by price, rating and reviews: 4.00 < 12.50 (0.5x of 25.00); 2.10 <= 3.8; 8 <= 100"
    )


def test_evaluation_of_a_qualified_candidate_lists_each_filter() -> None:
    evaluation = evaluate(candidate(), REFERENCE)
    assert evaluation.qualified and evaluation.failed == []
    assert evaluation.reasoning == (
        "Qualified: price 20.00 in [12.50, 50.00]; rating 4.50 > 3.8; reviews 500 > 100"
    )


def test_rank_puts_most_reviews_first_then_rating_then_asin() -> None:
    a = candidate(reviews=300, rating=4.0, asin="B0A")
    b = candidate(reviews=900, rating=4.0, asin="B0B")
    c = candidate(reviews=300, rating=4.6, asin="B0C")
    d = candidate(reviews=300, rating=4.0, asin="B00")
    assert [p.asin for p in rank([a, b, c, d])] == ["B0B", "B0C", "B00", "B0A"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("price", 0.0, "price must be > 0"),
        ("rating", 5.5, "rating must be in [0, 5]"),
        ("reviews", -1, "reviews must be an int >= 0"),
        ("reviews", 3.5, "reviews must be an int >= 0"),
    ],
)
def test_bad_product_values_are_refused_with_the_field_named(
    field: str, value: object, message: str
) -> None:
    values = {"price": 20.0, "rating": 4.5, "reviews": 500, field: value}
    with pytest.raises(ValueError, match=rf"B0BAD: {message}, got {value!r}".replace("[", r"\[")):
        Product("B0BAD", "Bad", "Kitchen", **values)  # type: ignore[arg-type]
