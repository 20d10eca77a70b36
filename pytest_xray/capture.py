"""Attaching a session to :mod:`xray_core.recorder` as the observer of every trace.

Importing ``xray_core.recorder`` is cheap (the package imports pydantic and sqlite-utils only when
a model or store is first used), so a pytest run whose tests never record pays a few milliseconds.
"""

from __future__ import annotations

from typing import Any


def attach(observer: Any) -> None:
    """Make ``observer`` receive every trace recorded from now on (stacked; see add_observer)."""
    from xray_core.recorder import add_observer

    add_observer(observer)


def detach(observer: Any) -> None:
    """Stop ``observer`` receiving traces."""
    from xray_core.recorder import remove_observer

    remove_observer(observer)
