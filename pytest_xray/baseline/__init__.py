"""Baselines: the one place that owns them.

- :mod:`.files`: where a test's baseline file lives, its text, reading it back safely;
- :mod:`.check`: one ``assert_baseline`` check (compare, or write under ``--xray-update``) and
  its :class:`BaselineResult`;
- :mod:`.unused`: which tests were collected and ran, and which files no test used.
"""

from __future__ import annotations

from .check import (
    BaselineResult,
    check_baseline,
    compare,
    describe,
    overall_verdict,
    refuse_unusable_file,
)
from .files import (
    BaselineFileError,
    NewerFormatError,
    baseline_path,
    baseline_root,
    dumps,
    item_stem,
    load,
    strip_ignored,
)
from .unused import Collected, delete, find_unused

__all__ = [
    "BaselineFileError",
    "BaselineResult",
    "Collected",
    "NewerFormatError",
    "baseline_path",
    "baseline_root",
    "check_baseline",
    "compare",
    "delete",
    "describe",
    "dumps",
    "find_unused",
    "item_stem",
    "load",
    "overall_verdict",
    "refuse_unusable_file",
    "strip_ignored",
]
