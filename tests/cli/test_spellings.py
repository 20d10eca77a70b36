"""One ``xray`` command, three spellings: the console script ``xray``, ``python -m xray_core`` and
``python -m xray_core.cli`` (the last two always run this interpreter's X-Ray)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import xray_core.cli

from .conftest import COMMIT_A, XRAY, add_run


def _run(command: list[str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip


def test_python_m_xray_core_is_the_xray_command(tmp_path: Path) -> None:
    package = [sys.executable, "-m", "xray_core"]
    short, long = _run(package, "--help", cwd=tmp_path), _run(XRAY, "--help", cwd=tmp_path)
    assert short.returncode == 0 and short.stderr == ""
    assert short.stdout.startswith("usage: xray ") and "diff" in short.stdout
    assert short.stdout == long.stdout


def test_python_m_xray_core_reads_runs_and_returns_the_exit_status(tmp_path: Path) -> None:
    run = add_run(tmp_path / ".xray" / "runs.db", 10.0, commit=COMMIT_A, index=0)
    listed = _run([sys.executable, "-m", "xray_core"], "runs", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert run.run_id[:8] in listed.stdout
    missing = _run([sys.executable, "-m", "xray_core"], "runs", "--db", "typo.db", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.startswith("xray: error: typo.db") and missing.stderr.count("\n") == 1


def test_the_console_script_and_the_plugin_are_declared() -> None:
    (script,) = entry_points(group="console_scripts", name="xray")
    assert script.value == "xray_core.cli:main" and script.load() is xray_core.cli.main
    (plugin,) = entry_points(group="pytest11", name="xray")
    assert plugin.value == "pytest_xray.plugin"
