"""Paths and node ids as the user gives them: relative to the directory pytest was started in."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .session import XraySession


def relpath(state: XraySession, path: str | Path) -> str:
    """``path`` relative to the directory pytest was started in (as it is when outside it)."""
    try:
        return str(Path(path).relative_to(state.config.invocation_params.dir))
    except ValueError:
        return str(path)


def test_arg(state: XraySession, nodeid: str) -> str:
    """``nodeid`` (relative to the rootdir) as a pytest argument from where pytest started."""
    item = state.items.get(nodeid)
    if item is not None:  # its real node id: a test id has its surrogates escaped
        nodeid = item.nodeid
    path, sep, rest = nodeid.partition("::")
    where = os.path.relpath(state.config.rootpath / path, state.config.invocation_params.dir)
    return where + sep + rest
