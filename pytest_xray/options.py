"""The plugin's settings: the ``--xray-*`` options and ini values, and what a session resolves
from them (once, from the command line and the ini file)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .constants import DEFAULT_DB, RUN_ID_ENV, UNUSED_POLICIES

if TYPE_CHECKING:
    import pytest


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def add_options(parser: pytest.Parser) -> None:
    """Register the ``--xray-*`` options and their ini twins."""
    group = parser.getgroup("xray", "decision-pipeline tracing (decisiontracex)")
    group.addoption(
        "--xray-report",
        dest="xray_report",
        metavar="PATH",
        default=None,
        help="write the self-contained HTML dashboard of this run to PATH.",
    )
    group.addoption(
        "--xray-db",
        dest="xray_db",
        metavar="PATH",
        nargs="?",
        const="",
        default=None,
        help="keep this run and its traces in SQLite (default .xray/runs.db).",
    )
    group.addoption(
        "--xray-update",
        dest="xray_update",
        action="store_true",
        default=False,
        help="write/refresh baselines; delete unused ones when the whole suite runs.",
    )
    group.addoption(
        "--xray-unused",
        dest="xray_unused",
        metavar="POLICY",
        default=None,
        choices=UNUSED_POLICIES,
        help="unused baselines: report (default), fail (exit 1) or ignore.",
    )
    group.addoption(
        "--xray-run-id",
        dest="xray_run_id",
        metavar="ID",
        default=None,
        help="this run's id (default: a new one; env XRAY_RUN_ID): CI shards that share it "
        "become one run in `xray import`.",
    )
    parser.addini("xray_report", "path of the HTML dashboard written after each run", default="")
    parser.addini("xray_db", "SQLite file keeping every run (like --xray-db=PATH)", default="")
    parser.addini(
        "xray_update",
        "always write/refresh baselines (like --xray-update)",
        type="bool",
        default=False,
    )
    parser.addini("xray_unused", "unused-baseline policy: report, fail or ignore", default="report")
    parser.addini(
        "xray_keeper",
        "write --xray-db and --xray-report in a second process (default true; false: in pytest's)",
        default="true",
    )


class Options(NamedTuple):
    """What this session was asked to do (paths absolute, ``None`` when off).

    A named tuple rather than a frozen dataclass: every pytest process imports this module, and
    a dataclass compiles its generated methods when its class is made (five times the cost).
    """

    db: Path | None = None
    report: Path | None = None
    update: bool = False
    unused: str = "report"
    #: ``--xray-run-id`` / ``XRAY_RUN_ID`` (None: a new random id)
    run_id: str | None = None
    #: ``xray_keeper``: write the run and the report in a second process (see pytest_xray.keeper)
    keeper: bool = True

    @classmethod
    def from_config(cls, config: pytest.Config) -> Options:
        """Command-line values win over ini values; ini paths are relative to the rootdir."""
        return cls(
            db=_db_path(config),
            report=_path(config, "xray_report"),
            update=bool(config.getoption("xray_update")) or _truthy(config.getini("xray_update")),
            unused=_unused(config),
            run_id=_run_id(config),
            keeper=_truthy(config.getini("xray_keeper") or "true"),
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


#: what a given run id may be: it is typed on command lines and shown in URLs (a pattern, not
#: compiled at import: every pytest process imports this module, few are given a run id)
_RUN_ID = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
#: run references (see xray_core.runref) that would hide a run of that id
_REFERENCE = r"latest(?:~\d+)?"


def _run_id(config: pytest.Config) -> str | None:
    import pytest

    given = config.getoption("xray_run_id")
    value, shown = (given, "--xray-run-id") if given is not None else (
        os.environ.get(RUN_ID_ENV), RUN_ID_ENV)  # fmt: skip
    if value is None or (given is None and not value.strip()):  # an empty variable is unset
        return None
    if not re.fullmatch(_RUN_ID, value) or re.fullmatch(_REFERENCE, value):
        raise pytest.UsageError(
            f"{shown}={value!r} is not a usable run id: use 1 to 128 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit, and not 'latest' (e.g. "
            "gha-${{ github.run_id }}-${{ github.run_attempt }})"
        )
    return value
