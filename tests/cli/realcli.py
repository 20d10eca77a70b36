"""The ``xray`` command as a real process: ``[sys.executable, "-m", "xray_core.cli", ...]``."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def xray(
    *args: Any, cwd: Path | None = None, preexec_fn: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``xray ARGS`` with this interpreter; returns the finished process (text output)."""
    return subprocess.run(
        [sys.executable, "-m", "xray_core.cli", *map(str, args)], cwd=cwd, capture_output=True,
        text=True, timeout=120, env={**os.environ, "COLUMNS": "200"}, check=False,
        preexec_fn=preexec_fn,
    )  # fmt: skip


def digest(*paths: Path) -> dict[str, str | None]:
    """The SHA-256 of each file (None when it does not exist)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None for p in paths
    }


def one_line_error(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Assert the command failed with exit 2 and one line on stderr holding every needle."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.endswith("\n") and done.stderr.count("\n") == 1, done.stderr
    for needle in needles:
        assert needle in done.stderr, done.stderr
    return done.stderr
