"""Which change paths an ``ignore=`` pattern leaves out: one rule for diffs and baseline files.

Kept apart from :mod:`xray_core.diff` so that the pytest plugin can strip baseline files without
importing pydantic in runs that never compare anything.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable


def ignore_patterns(ignore: str | Iterable[str]) -> list[str]:
    """The ``ignore=`` argument as a list of patterns: one string is one pattern.

    ``diff_traces``, ``diff_runs`` and ``assert_baseline`` all take ``ignore`` through here, so
    ``ignore="*.detail"`` means the same everywhere (iterating the string would give ``"*"``,
    which ignores everything). Anything else that is not a string is refused with a TypeError.
    """
    if isinstance(ignore, str):
        return [ignore]
    try:
        patterns = list(ignore)
    except TypeError:
        raise TypeError(
            f"ignore must be a pattern or a list of patterns, got {ignore!r}"
        ) from None
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise TypeError(
                f"ignore patterns must be strings, got {pattern!r} ({type(pattern).__name__})"
            )
    return patterns


def path_ignored(path: str, patterns: Iterable[str]) -> bool:
    """Whether a change at ``path`` is left out by one of the ``ignore=`` glob ``patterns``."""
    return any(_covers(p, path) for p in patterns)


_LITERAL_BRACKETS = {"[": "[[]", "]": "[]]"}  # fnmatch's own way to match a bracket literally


def _covers(pattern: str, path: str) -> bool:
    """``pattern`` names ``path`` or a value above it; ``*``/``?`` are wildcards, brackets literal.

    Brackets are literal because paths contain them (``output.keywords[1]``, ``SKU[1]``): a
    path copied from a diff must ignore what it names, not act as a character class.
    """
    if path == pattern or path.startswith((pattern + ".", pattern + "[")):
        return True
    literal = "".join(_LITERAL_BRACKETS.get(c, c) for c in pattern)
    return fnmatch.fnmatchcase(path, literal)
