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


def _path(config: pytest.Config, name: str) -> Path | None:
    given = config.getoption(name)
    if given:
        return (config.invocation_params.dir / given).resolve()
    ini = str(config.getini(name) or "").strip()
    return (config.rootpath / ini).resolve() if ini else None


def _db_path(config: pytest.Config) -> Path | None:
    import pytest

    given = config.getoption("xray_db")
    if given:
        candidate = config.invocation_params.dir / given
        if candidate.is_dir() or given.endswith(".py") or "::" in given:
            raise pytest.UsageError(
                f"--xray-db got {given!r}, which looks like a test path: write the database "
                "path with '=' (--xray-db=PATH), or put --xray-db after the test paths"
            )
        return candidate.resolve()
    ini = str(config.getini("xray_db") or "").strip()
    if given == "":  # --xray-db without a value
        return (config.rootpath / (ini or DEFAULT_DB)).resolve()
    return (config.rootpath / ini).resolve() if ini else None


def _unused(config: pytest.Config) -> str:
    import pytest

    value = config.getoption("xray_unused") or str(config.getini("xray_unused") or "report")
    value = value.strip().lower()
    if value not in UNUSED_POLICIES:
        raise pytest.UsageError(
            f"xray_unused = {value!r} is not a policy; use one of: {', '.join(UNUSED_POLICIES)}"
        )
    return value
