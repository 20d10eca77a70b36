"""Step 2, candidate search: the catalog products whose titles share keywords with the product.

A stand-in for a marketplace search API: a candidate's score is the number of keywords found
among its title's words; candidates are returned best score first (then by ASIN), at most
``limit`` of them, never the product itself.
"""

from __future__ import annotations

import re
from typing import Sequence

import xray_core

from ..data import Product

STEP_NAME = "candidate_search"
DEFAULT_LIMIT = 50

_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def match_score(keywords: Sequence[str], product: Product) -> int:
    """How many of ``keywords`` are words of ``product``'s title."""
    words = set(_WORD.findall(product.title.lower()))
    return sum(1 for keyword in dict.fromkeys(keywords) if keyword.lower() in words)


def find_candidates(
    keywords: Sequence[str],
    catalog: Sequence[Product],
    *,
    exclude: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[tuple[Product, int]]:
    """Catalog products matching at least one keyword, with their scores, best first."""
    if limit < 0:
        raise ValueError(f"search limit must be >= 0, got {limit!r}")
    scored = [(p, match_score(keywords, p)) for p in catalog if p.asin != exclude]
    found = [(p, score) for p, score in scored if score > 0]
    found.sort(key=lambda pair: (-pair[1], pair[0].asin))
    return found[:limit]


def search_candidates(
    keywords: Sequence[str],
    catalog: Sequence[Product],
    *,
    exclude: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[Product]:
    """Search ``catalog`` for competitors matching ``keywords``; recorded as a step."""
    step_input = {"keywords": list(keywords), "catalog_size": len(catalog), "limit": limit}
    with xray_core.step(STEP_NAME, input=step_input) as step:
        found = find_candidates(keywords, catalog, exclude=exclude, limit=limit)
        step.set_output(
            {
                "count": len(found),
                "candidates": [
                    {"item_id": p.asin, "title": p.title, "score": score} for p, score in found
                ],
            }
        )
        step.set_reasoning(
            f"{len(found)} of {len(catalog)} catalog products share at least one keyword "
            f"with {', '.join(keywords) or '(no keywords)'}; best matches first."
            if found
            else f"No catalog product shares a keyword with {', '.join(keywords) or '(none)'}."
        )
        return [p for p, _ in found]
