"""The demo's fixture data: the products we look for competitors of, and the catalog searched.

The catalog is built so that every filter outcome shows up, for any seed:

- candidates that pass every filter (``B0GOOD001`` .. ``B0GOOD003``, ``B0BUDS001`` ..);
- candidates that fail exactly one filter (``B0CHEAP01`` and ``B0PRICEY1``: price,
  ``B0LOWRATE``: rating, ``B0FEWREV1``: reviews), two (``B0TWOFAIL``: price and rating) or all
  three (``B0BADALL1``);
- boundary cases kept exactly as listed under randomization (``fixed=True``): ``B0EDGE001`` at
  exactly 0.5x the product's price and ``B0EDGE002`` at exactly 2x (both qualify: the price range
  is inclusive), ``B0EDGE003`` with a rating of exactly 3.8 and ``B0EDGE004`` with exactly 100
  reviews (both rejected: those filters are strict);
- ``B0FLAKY01``, close to the rating and review thresholds, whose decision flips between seeds;
- a product none of whose candidates qualify (``B0REF0003``, the yoga mat) and one the search
  finds nothing for (``B0REF0004``, the skillet).

Randomization (:func:`randomized`) moves prices by up to 5 %, ratings by up to 0.1 and review
counts by up to 10 %, never far enough to change the outcomes above (except ``B0FLAKY01``'s), so
the competitor chosen for each reference product is the same for every seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any, Iterable, Sequence

PRICE_JITTER = 0.05
RATING_JITTER = 0.1
REVIEWS_JITTER = 0.10


class UnknownProductError(LookupError):
    """An ASIN that is neither a reference product nor in the catalog."""


@dataclass(frozen=True)
class Product:
    """A product listing: an ASIN-like id, a title, a price in dollars, a rating and reviews.

    ``fixed`` products keep their values under :func:`randomized` (the boundary cases).
    """

    asin: str
    title: str
    category: str
    price: float
    rating: float
    reviews: int
    fixed: bool = False

    def __post_init__(self) -> None:
        if not self.asin or not isinstance(self.asin, str):
            raise ValueError(f"Product.asin must be a non-empty string, got {self.asin!r}")
        if not self.price > 0:
            raise ValueError(f"Product {self.asin}: price must be > 0, got {self.price!r}")
        if not 0 <= self.rating <= 5:
            raise ValueError(f"Product {self.asin}: rating must be in [0, 5], got {self.rating!r}")
        if isinstance(self.reviews, bool) or not isinstance(self.reviews, int) or self.reviews < 0:
            raise ValueError(
                f"Product {self.asin}: reviews must be an int >= 0, got {self.reviews!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The fields a decision is taken on (recorded as an evaluation's ``item_data``)."""
        return {
            "title": self.title,
            "category": self.category,
            "price": self.price,
            "rating": self.rating,
            "reviews": self.reviews,
        }


REFERENCE_PRODUCTS: tuple[Product, ...] = (
    Product("B0REF0001", "Stainless Steel Water Bottle 32oz", "Kitchen", 25.00, 4.6, 8100),
    Product("B0REF0002", "Wireless Bluetooth Earbuds", "Electronics", 40.00, 4.3, 15000),
    Product("B0REF0003", "Non-Slip Yoga Mat 6mm", "Sports", 30.00, 4.5, 2600),
    Product("B0REF0004", "Cast Iron Skillet 12in", "Kitchen", 35.00, 4.7, 9900),
)
"""The products the pipeline finds a competitor for, in the order ``python -m demo`` runs them."""

CATALOG: tuple[Product, ...] = (
    # Water bottles (for B0REF0001: price range [12.50, 50.00])
    Product("B0GOOD001", "Insulated Steel Water Bottle", "Kitchen", 22.00, 4.5, 5200),
    Product("B0GOOD002", "Steel Water Bottle with Straw", "Kitchen", 28.00, 4.3, 1800),
    Product("B0GOOD003", "Leakproof Water Bottle 24oz", "Kitchen", 35.00, 4.1, 640),
    Product("B0CHEAP01", "Plastic Water Bottle 2-Pack", "Kitchen", 9.50, 4.4, 3000),
    Product("B0PRICEY1", "Titanium Water Bottle Deluxe", "Kitchen", 89.00, 4.7, 900),
    Product("B0LOWRATE", "Budget Steel Bottle", "Kitchen", 18.00, 3.2, 450),
    Product("B0FEWREV1", "Smart Water Bottle Tracker", "Kitchen", 24.00, 4.9, 12),
    Product("B0BADALL1", "Leaky Kids Water Bottle", "Kitchen", 4.00, 2.1, 8),
    Product("B0TWOFAIL", "Glass Water Bottle Sleeve", "Kitchen", 8.00, 3.5, 2400),
    Product("B0EDGE001", "Slim Water Bottle", "Kitchen", 12.50, 4.0, 300, fixed=True),
    Product("B0EDGE002", "Copper Water Bottle", "Kitchen", 50.00, 4.2, 700, fixed=True),
    Product("B0EDGE003", "Folding Water Bottle", "Kitchen", 20.00, 3.8, 900, fixed=True),
    Product("B0EDGE004", "Sports Water Bottle", "Kitchen", 30.00, 4.6, 100, fixed=True),
    Product("B0FLAKY01", "Filter Water Bottle", "Kitchen", 26.00, 3.85, 105),
    # Earbuds (for B0REF0002: price range [20.00, 80.00])
    Product("B0BUDS001", "Wireless Earbuds Pro", "Electronics", 45.00, 4.4, 12000),
    Product("B0BUDS002", "Bluetooth Sport Earbuds", "Electronics", 35.00, 4.0, 2300),
    Product("B0BUDS003", "Wireless Earbuds Lite", "Electronics", 29.00, 4.2, 2250),
    Product("B0BUDSCHP", "Wired Earbuds Basic", "Electronics", 12.00, 3.9, 800),
    Product("B0BUDSBAD", "Studio Wireless Earbuds", "Electronics", 150.00, 4.6, 50),
    # Yoga mats (for B0REF0003: price range [15.00, 60.00]); none of them qualifies
    Product("B0MAT0001", "Thin Yoga Mat", "Sports", 8.00, 4.2, 500),
    Product("B0MAT0002", "Thick Yoga Mat", "Sports", 35.00, 3.5, 900),
    Product("B0MAT0003", "Travel Yoga Mat", "Sports", 28.00, 4.6, 40),
)
"""The fixture catalog the candidate search runs over (values before randomization)."""


def get_product(asin: str, catalog: Iterable[Product] = ()) -> Product:
    """The reference product (or, failing that, the ``catalog`` product) with this ASIN."""
    for product in (*REFERENCE_PRODUCTS, *catalog):
        if product.asin == asin:
            return product
    known = ", ".join(p.asin for p in REFERENCE_PRODUCTS)
    raise UnknownProductError(f"unknown product {asin!r}; the reference products are: {known}")


def randomized(catalog: Sequence[Product], seed: int) -> list[Product]:
    """``catalog`` with prices, ratings and review counts jittered by ``random.Random(seed)``.

    Prices move by up to 5 % (rounded to cents), ratings by up to 0.1 (kept in [0, 5]) and review
    counts by up to 10 %. ``fixed`` products are returned unchanged. The same seed always gives
    the same catalog; the global random generator is never used.
    """
    rng = random.Random(seed)
    result = []
    for product in catalog:
        # Draw for every product so that fixing one does not shift the others' values.
        price_factor = rng.uniform(1 - PRICE_JITTER, 1 + PRICE_JITTER)
        rating_delta = rng.uniform(-RATING_JITTER, RATING_JITTER)
        reviews_factor = rng.uniform(1 - REVIEWS_JITTER, 1 + REVIEWS_JITTER)
        if product.fixed:
            result.append(product)
            continue
        result.append(
            replace(
                product,
                price=max(0.01, round(product.price * price_factor, 2)),
                rating=min(5.0, max(0.0, round(product.rating + rating_delta, 2))),
                reviews=max(0, round(product.reviews * reviews_factor)),
            )
        )
    return result
