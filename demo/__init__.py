"""The demo: a competitor-selection pipeline instrumented with ``xray_core``.

::

    from demo import select_competitor

    select_competitor("B0REF0001", seed=7)   # -> "B0GOOD001"

Three steps, each its own module under :mod:`demo.steps`: keyword generation by a mock LLM,
candidate search over a fixture catalog (:mod:`demo.data`), and filter & select (price within
0.5x-2x of the product's price, rating > 3.8, reviews > 100, ranked by review count).
"""

from __future__ import annotations

from .data import (
    CATALOG,
    REFERENCE_PRODUCTS,
    Product,
    UnknownProductError,
    get_product,
    randomized,
)
from .pipeline import TRACE_NAME, Selection, run_pipeline, select_competitor

__all__ = [
    "CATALOG", "REFERENCE_PRODUCTS", "TRACE_NAME", "Product", "Selection", "UnknownProductError",
    "get_product", "randomized", "run_pipeline", "select_competitor",
]  # fmt: skip
