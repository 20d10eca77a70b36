"""Baselines: the one place that owns them.

- :mod:`.files`: where a test's baseline file lives, its text, reading it back safely;
- :mod:`.check`: one ``assert_baseline`` check (compare, or write under ``--xray-update``) and
  its :class:`BaselineResult`;
- :mod:`.unused`: which files no test used (what was collected and ran is
  :class:`pytest_xray.collected.Collected`'s).

The names below are imported from their module on first use: pytest compiles the plugin's
modules from source in every process (each pytest-xdist worker too) when bytecode is not written
(``PYTHONDONTWRITEBYTECODE``, a read-only site-packages), so a session that checks no baseline
does not load :mod:`.check` or :mod:`.files`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xray_core import lazy as _lazy

if TYPE_CHECKING:
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
    from .unused import delete, find_unused

_HOME_OF = {
    **dict.fromkeys(
        ("BaselineResult", "check_baseline", "compare", "describe", "overall_verdict",
         "refuse_unusable_file"), "check"),
    **dict.fromkeys(
        ("BaselineFileError", "NewerFormatError", "baseline_path", "baseline_root", "dumps",
         "item_stem", "load", "strip_ignored"), "files"),
    **dict.fromkeys(("delete", "find_unused"), "unused"),
}  # fmt: skip

__all__ = [
    "BaselineFileError", "BaselineResult", "NewerFormatError", "baseline_path",
    "baseline_root", "check_baseline", "compare", "delete", "describe", "dumps", "find_unused",
    "item_stem", "load", "overall_verdict", "refuse_unusable_file", "strip_ignored",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _HOME_OF, globals(), name)


def __dir__() -> list[str]:
    return _lazy.names(globals(), __all__)
