"""Step 3, filter & select: keep the candidates within the rules, pick the most reviewed.

The rules, each a named filter recorded with its detail for every candidate:

- ``price``: within 0.5x-2x of the product's price, bounds included
  (``"9.50 < 12.50 (0.5x of 25.00)"``, ``"22.00 in [12.50, 50.00]"``);
- ``rating``: strictly above 3.8 (``"4.50 > 3.8"``, ``"3.80 <= 3.8"``);
- ``reviews``: strictly more than 100 (``"5200 > 100"``, ``"100 <= 100"``).

Qualified candidates are ranked by review count (most first), then rating, then ASIN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import xray_core

from ..data import Product

STEP_NAME = "filter_and_select"
MIN_PRICE_FACTOR = 0.5
MAX_PRICE_FACTOR = 2.0
MIN_RATING = 3.8
MIN_REVIEWS = 100
RULES = {
    "price": f"{MIN_PRICE_FACTOR}x-{MAX_PRICE_FACTOR:g}x of the product's price, bounds included",
    "rating": f"> {MIN_RATING}",
    "reviews": f"> {MIN_REVIEWS}",
}


@dataclass(frozen=True)
class FilterOutcome:
    """One filter's verdict on one candidate, with the numbers behind it."""

    name: str
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """The ``{"name", "passed", "detail"}`` dict that ``add_evaluation`` records."""
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


def price_filter(candidate: Product, product: Product) -> FilterOutcome:
    """Pass when the candidate's price is within 0.5x-2x of ``product``'s price (inclusive)."""
    low = MIN_PRICE_FACTOR * product.price
    high = MAX_PRICE_FACTOR * product.price
    price = candidate.price
    if price < low:
        detail = f"{price:.2f} < {low:.2f} ({MIN_PRICE_FACTOR:g}x of {product.price:.2f})"
    elif price > high:
        detail = f"{price:.2f} > {high:.2f} ({MAX_PRICE_FACTOR:g}x of {product.price:.2f})"
    else:
        detail = f"{price:.2f} in [{low:.2f}, {high:.2f}]"
    return FilterOutcome("price", low <= price <= high, detail)


def rating_filter(candidate: Product, product: Product) -> FilterOutcome:
    """Pass when the candidate's rating is strictly above 3.8."""
    passed = candidate.rating > MIN_RATING
    sign = ">" if passed else "<="
    return FilterOutcome("rating", passed, f"{candidate.rating:.2f} {sign} {MIN_RATING}")


def reviews_filter(candidate: Product, product: Product) -> FilterOutcome:
    """Pass when the candidate has strictly more than 100 reviews."""
    passed = candidate.reviews > MIN_REVIEWS
    sign = ">" if passed else "<="
    return FilterOutcome("reviews", passed, f"{candidate.reviews} {sign} {MIN_REVIEWS}")


FILTERS: tuple[Callable[[Product, Product], FilterOutcome], ...] = (
    price_filter,
    rating_filter,
    reviews_filter,
)
"""Every filter, in the order they are applied and recorded."""


@dataclass(frozen=True)
class CandidateEvaluation:
    """A candidate and every filter's outcome on it."""

    candidate: Product
    filters: tuple[FilterOutcome, ...]

    @property
    def qualified(self) -> bool:
        """Whether the candidate passed every filter."""
        return all(f.passed for f in self.filters)

    @property
    def failed(self) -> list[str]:
        """Names of the filters the candidate failed."""
        return [f.name for f in self.filters if not f.passed]

    @property
    def reasoning(self) -> str:
        """The decision in words, with the numbers of each filter that decided it."""
        if self.qualified:
            return "Qualified: " + "; ".join(f"{f.name} {f.detail}" for f in self.filters)
        failed = [f for f in self.filters if not f.passed]
        names = _join_words([f.name for f in failed])
        return f"Rejected by {names}: " + "; ".join(f.detail for f in failed)


def _join_words(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def evaluate(candidate: Product, product: Product) -> CandidateEvaluation:
    """Apply every filter of :data:`FILTERS` to ``candidate`` against ``product``."""
    return CandidateEvaluation(candidate, tuple(check(candidate, product) for check in FILTERS))


def rank(candidates: Sequence[Product]) -> list[Product]:
    """``candidates`` best first: most reviews, then highest rating, then ASIN."""
    return sorted(candidates, key=lambda p: (-p.reviews, -p.rating, p.asin))


def filter_and_select(
    product: Product, candidates: Sequence[Product]
) -> tuple[list[CandidateEvaluation], list[Product]]:
    """Evaluate every candidate and rank the qualified ones; recorded as a step.

    Returns the evaluations (in candidate order) and the qualified candidates, best first.
    """
    step_input = {"product_id": product.asin, "price": product.price,
                  "candidates": len(candidates), "rules": RULES}  # fmt: skip
    with xray_core.step(STEP_NAME, input=step_input) as step:
        evaluations = [evaluate(c, product) for c in candidates]
        for e in evaluations:
            step.add_evaluation(
                item_id=e.candidate.asin,
                item_data=e.candidate.to_dict(),
                filters=[f.as_dict() for f in e.filters],
                qualified=e.qualified,
                reasoning=e.reasoning,
            )
        ranked = rank([e.candidate for e in evaluations if e.qualified])
        rejected_by: dict[str, list[str]] = {name: [] for name in RULES}
        for e in evaluations:
            for name in e.failed:
                rejected_by[name].append(e.candidate.asin)
        step.set_output(
            {
                "selected": ranked[0].asin if ranked else None,
                "ranking": [p.asin for p in ranked],
                "rejected_by": rejected_by,
            }
        )
        step.set_reasoning(_selection_reasoning(evaluations, ranked, rejected_by))
        return evaluations, ranked


def _selection_reasoning(
    evaluations: Sequence[CandidateEvaluation],
    ranked: Sequence[Product],
    rejected_by: dict[str, list[str]],
) -> str:
    counts = ", ".join(f"{name}: {len(ids)}" for name, ids in rejected_by.items())
    if not evaluations:
        return "No candidates to evaluate; no competitor selected."
    if not ranked:
        return (
            f"None of the {len(evaluations)} candidates passed every filter "
            f"(rejections by {counts}); no competitor selected."
        )
    best = ranked[0]
    return (
        f"{len(ranked)} of {len(evaluations)} candidates passed every filter "
        f"(rejections by {counts}). Selected {best.asin} ({best.title!r}): the most reviewed "
        f"qualified candidate, {best.reviews} reviews."
    )
