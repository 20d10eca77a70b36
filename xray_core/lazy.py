"""Names of a package imported from their modules on first use (PEP 562).

A package's ``__init__`` keeps a literal ``__all__`` (for type checkers and IDEs) and a map from
each name to the submodule that defines it; its module-level ``__getattr__`` and ``__dir__``
delegate here, so ``import package`` stays cheap and a name costs its module's import only when
it is first read.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any


def load(package: str, home_of: Mapping[str, str], namespace: dict[str, Any], name: str) -> Any:
    """``package.name``, imported from its submodule ``home_of[name]`` and kept in the
    package's ``namespace`` (so the next read is a plain global); AttributeError otherwise."""
    module = home_of.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", package), name)
    namespace[name] = value
    return value


def names(namespace: dict[str, Any], all_names: Iterable[str]) -> list[str]:
    """``dir(package)``: what it holds and what it would import on first use."""
    return sorted(set(namespace) | set(all_names))
