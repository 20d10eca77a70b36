"""The public entry point: find the best competitor of a product, recorded as one trace.

::

    from demo import select_competitor

    select_competitor("B0REF0001")            # -> "B0GOOD001" (catalog values as listed)
    select_competitor("B0REF0001", seed=3)    # prices/ratings/reviews jittered by Random(3)

The trace is called ``"competitor-selection"`` and has three steps: ``keyword_generation``,
``candidate_search`` and ``filter_and_select`` (one evaluation per candidate). Without an
explicit ``recorder`` it is recorded with the ambient API (``xray_core.trace``), so under pytest
the ``xray`` plugin captures it and elsewhere it goes to the default recorder (``XRAY_DB``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import xray_core

from .data import CATALOG, Product, get_product, randomized
from .steps.filter import RULES, CandidateEvaluation, filter_and_select
from .steps.keywords import MockLLM, generate_keywords
from .steps.search import DEFAULT_LIMIT, search_candidates

if TYPE_CHECKING:
    from xray_core import XRay

TRACE_NAME = "competitor-selection"


@dataclass(frozen=True)
class Selection:
    """What the pipeline decided for one product, and the id of the trace that recorded it."""

    product: Product
    keywords: list[str]
    candidates: list[Product]
    evaluations: list[CandidateEvaluation]
    ranking: list[Product]
    trace_id: str | None

    @property
    def competitor(self) -> Product | None:
        """The chosen competitor: the most reviewed qualified candidate, or None."""
        return self.ranking[0] if self.ranking else None

    @property
    def competitor_id(self) -> str | None:
        """The chosen competitor's ASIN, or None."""
        return self.ranking[0].asin if self.ranking else None

    def rejections(self) -> dict[str, int]:
        """How many candidates each filter rejected (a candidate can count for several)."""
        counts = {name: 0 for name in RULES}
        for evaluation in self.evaluations:
            for name in evaluation.failed:
                counts[name] += 1
        return counts


def run_pipeline(
    product: Product | str,
    *,
    seed: int | None = None,
    catalog: Sequence[Product] | None = None,
    recorder: XRay | None = None,
    llm: MockLLM | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Selection:
    """Run the three steps for ``product`` (a :class:`Product` or a reference ASIN).

    :param seed: jitter the catalog's prices, ratings and reviews with ``random.Random(seed)``;
        None uses the catalog's values as listed.
    :param catalog: the products searched (default :data:`demo.data.CATALOG`).
    :param recorder: record with this :class:`xray_core.XRay`; by default the ambient
        ``xray_core.trace`` is used.
    """
    if isinstance(product, str):
        product = get_product(product, catalog or ())
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    products = list(CATALOG if catalog is None else catalog)
    if seed is not None:
        products = randomized(products, seed)
    metadata = {"product_id": product.asin, "title": product.title, "seed": seed}
    tracer = recorder.trace if recorder is not None else xray_core.trace
    with tracer(TRACE_NAME, metadata=metadata) as trace:
        keywords = generate_keywords(product, llm)
        candidates = search_candidates(keywords, products, exclude=product.asin, limit=limit)
        evaluations, ranking = filter_and_select(product, candidates)
        trace.set_metadata({"selected": ranking[0].asin if ranking else None})
    return Selection(product, keywords, candidates, evaluations, ranking, trace.trace_id)


def select_competitor(
    product: Product | str,
    *,
    seed: int | None = None,
    catalog: Sequence[Product] | None = None,
    recorder: XRay | None = None,
) -> str | None:
    """The ASIN of the best competitor of ``product``, or None when no candidate qualifies.

    Same parameters as :func:`run_pipeline`, which also returns the evaluations.
    """
    return run_pipeline(product, seed=seed, catalog=catalog, recorder=recorder).competitor_id
