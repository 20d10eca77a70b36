"""The plugin's settings, resolved once per session from the command line and the ini file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .constants import DEFAULT_DB, UNUSED_POLICIES

if TYPE_CHECKING:
    import pytest


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Options:
    """What this session was asked to do (paths absolute, ``None`` when off)."""

    db: Path | None = None
    report: Path | None = None
    update: bool = False
    unused: str = "report"

    @classmethod
    def from_config(cls, config: pytest.Config) -> Options:
        """Command-line values win over ini values; ini paths are relative to the rootdir."""
        return cls(
            db=_db_path(config),
            report=_path(config, "xray_report"),
            update=bool(config.getoption("xray_update")) or _truthy(config.getini("xray_update")),
            unused=_unused(config),
        )


def _file(base: Path, value: str, shown: str, example: str) -> Path:
    """``value`` resolved against ``base``; a usage error when it names a directory.

    :param shown: how the message names the setting (``--xray-report=out``).
    :param example: a file name to suggest inside that directory (``xray.html``).
    """
    import pytest

    path = (base / value).resolve()
    if path.is_dir() or value.endswith(("/", "\\")):
        raise pytest.UsageError(
            f"{shown} is a directory; give the file to write, e.g. {Path(value) / example}"
        )
    return path


def _path(config: pytest.Config, name: str) -> Path | None:
    given = config.getoption(name)
    if given:
        return _file(config.invocation_params.dir, given, f"--xray-report={given}", "xray.html")
    ini = str(config.getini(name) or "").strip()
    return _file(config.rootpath, ini, f"{name} = {ini!r}", "xray.html") if ini else None


def _db_path(config: pytest.Config) -> Path | None:
    import pytest

    given = config.getoption("xray_db")
    if given:
        candidate = config.invocation_params.dir / given
        if candidate.is_dir() or given.endswith((".py", "/")) or "::" in given:
            raise pytest.UsageError(
                f"--xray-db got {given!r}, which looks like a test path or a directory: write "
                f"the database file with '=' (--xray-db={Path(given) / 'runs.db'}), or put "
                "--xray-db after the test paths"
            )
        return candidate.resolve()
    ini = str(config.getini("xray_db") or "").strip() or (DEFAULT_DB if given == "" else "")
    return _file(config.rootpath, ini, f"xray_db = {ini!r}", "runs.db") if ini else None


def _unused(config: pytest.Config) -> str:
    import pytest

    value = config.getoption("xray_unused") or str(config.getini("xray_unused") or "report")
    value = value.strip().lower()
    if value not in UNUSED_POLICIES:
        raise pytest.UsageError(
            f"xray_unused = {value!r} is not a policy; use one of: {', '.join(UNUSED_POLICIES)}"
        )
    return value
